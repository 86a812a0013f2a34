/* peer.c - which endpoint inode served a client's connection (see peer.h).
 *
 * A connection to a listening unix socket goes through three states, and
 * the kernel's sock_diag interface (NETLINK_SOCK_DIAG, open to every user)
 * can name the socket file behind the server's end in the first two:
 *
 *   queued    the server end is an embryo socket with no inode of its own,
 *             so it cannot be looked up; but the listener lists the client
 *             sockets waiting in its queue (UNIX_DIAG_ICONS), and its own
 *             bound file (UNIX_DIAG_VFS) is the endpoint instance.
 *   accepted  the client's socket names its peer (UNIX_DIAG_PEER), and the
 *             accepted socket shares the listener's bound file, so its
 *             UNIX_DIAG_VFS is the instance.
 *   closed    the server's end is gone: nothing can be asked.
 *
 * The client asks right after connect() returns, queued first (the likely
 * state), then accepted. A connection can move from one to the next between
 * the two questions (between dequeue and graft, for an instant, it is in
 * neither), so the pair is asked a few times while the server's end is
 * still open.
 */
#include "peer.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define TRIES 4
#define TCP_LISTEN_STATE 10   /* sock_diag reuses the TCP state numbers */

/* What one sock_diag answer said about one socket. */
struct diag_answer {
    uint32_t ino;
    uint32_t peer;
    bool has_vfs;
    uint32_t vfs_dev, vfs_ino;
    bool queues_me;           /* ICONS lists the asking client's socket */
};

/* Sends `req` and hands every answer to `seen`; stops early when it
 * returns true. Returns 1 if stopped, 0 at the end, -1 with errno on error. */
static int diag(const struct unix_diag_req *r, bool dump, uint32_t me,
                bool (*seen)(const struct diag_answer *, void *), void *ctx)
{
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0)
        return -1;
    struct {
        struct nlmsghdr h;
        struct unix_diag_req r;
    } req = {
        .h = {.nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
              .nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0)},
        .r = *r,
    };
    if (send(nl, &req, sizeof req, 0) < 0) {
        int e = errno;
        close(nl);
        errno = e;
        return -1;
    }
    static char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
    int rc = 0;
    for (;;) {
        ssize_t n = recv(nl, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -1 : 0;
            break;
        }
        size_t left = (size_t)n;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, left);
             h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type == NLMSG_DONE)
                goto out;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);
                errno = -e->error;
                rc = -1;
                goto out;
            }
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
                continue;
            const struct unix_diag_msg *m = NLMSG_DATA(h);
            struct diag_answer a = {.ino = m->udiag_ino};
            int alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
            for (struct rtattr *at = (struct rtattr *)(m + 1); RTA_OK(at, alen);
                 at = RTA_NEXT(at, alen)) {
                size_t len = RTA_PAYLOAD(at);
                if (at->rta_type == UNIX_DIAG_PEER && len >= sizeof(uint32_t)) {
                    memcpy(&a.peer, RTA_DATA(at), sizeof a.peer);
                } else if (at->rta_type == UNIX_DIAG_VFS &&
                           len >= sizeof(struct unix_diag_vfs)) {
                    struct unix_diag_vfs v;
                    memcpy(&v, RTA_DATA(at), sizeof v);
                    a.has_vfs = true;
                    a.vfs_dev = v.udiag_vfs_dev;
                    a.vfs_ino = v.udiag_vfs_ino;
                } else if (at->rta_type == UNIX_DIAG_ICONS) {
                    for (size_t i = 0; i + sizeof(uint32_t) <= len; i += sizeof(uint32_t)) {
                        uint32_t c;
                        memcpy(&c, (char *)RTA_DATA(at) + i, sizeof c);
                        if (c == me)
                            a.queues_me = true;
                    }
                }
            }
            if (seen(&a, ctx)) {
                rc = 1;
                goto out;
            }
        }
        if (!dump)
            break;
    }
out:;
    int e = errno;
    close(nl);
    errno = e;
    return rc;
}

static bool first_answer(const struct diag_answer *a, void *ctx)
{
    *(struct diag_answer *)ctx = *a;
    return true;
}

static bool listener_queueing_me(const struct diag_answer *a, void *ctx)
{
    if (!a->queues_me)
        return false;
    *(struct diag_answer *)ctx = *a;
    return true;
}

/* sock_diag gives the file's device as the kernel's own dev_t (12-bit
 * major above a 20-bit minor); stat() gives the user-space encoding. */
static void format_key(const struct diag_answer *a, char *key, size_t keylen)
{
    dev_t dev = makedev(a->vfs_dev >> 20, a->vfs_dev & 0xfffff);
    snprintf(key, keylen, "%lu:%lu", (unsigned long)dev, (unsigned long)a->vfs_ino);
}

/* The answer's file, or why there is none. */
static int keyed(const struct diag_answer *a, char *key, size_t keylen, const char **why)
{
    if (!a->has_vfs) {
        *why = "abstract";
        return -1;
    }
    format_key(a, key, keylen);
    return 0;
}

int pf_peer_socket_key(int fd, char *key, size_t keylen, const char **why)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        *why = "fstat";
        return -1;
    }
    uint32_t me = (uint32_t)st.st_ino;
    const uint32_t nocookie[2] = {~0U, ~0U};
    for (int i = 0; i < TRIES; i++) {
        /* queued: the listener that lists us in its accept queue */
        struct unix_diag_req q = {
            .sdiag_family = AF_UNIX,
            .udiag_states = 1u << TCP_LISTEN_STATE,
            .udiag_show = UDIAG_SHOW_ICONS | UDIAG_SHOW_VFS,
        };
        struct diag_answer a;
        int rc = diag(&q, true, me, listener_queueing_me, &a);
        if (rc == 1)
            return keyed(&a, key, keylen, why);
        if (rc < 0)
            break;
        /* accepted: our peer, then its file */
        struct unix_diag_req p = {
            .sdiag_family = AF_UNIX,
            .udiag_ino = me,
            .udiag_show = UDIAG_SHOW_PEER,
        };
        memcpy(p.udiag_cookie, nocookie, sizeof nocookie);
        a = (struct diag_answer){0};
        if (diag(&p, false, me, first_answer, &a) < 0)
            break;
        if (a.peer) {
            struct unix_diag_req v = {
                .sdiag_family = AF_UNIX,
                .udiag_ino = a.peer,
                .udiag_show = UDIAG_SHOW_VFS,
            };
            memcpy(v.udiag_cookie, nocookie, sizeof nocookie);
            struct diag_answer b = {0};
            if (diag(&v, false, me, first_answer, &b) == 1)
                return keyed(&b, key, keylen, why);
            /* closed between the two questions: ask again, below */
        }
        struct pollfd pfd = {.fd = fd, .events = POLLRDHUP};
        if (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP))) {
            *why = "server-closed";
            return -1;
        }
    }
    *why = "sock-diag";
    return -1;
}

int pf_peer_fifo_key(int fd, char *key, size_t keylen, const char **why)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        *why = "fstat";
        return -1;
    }
    snprintf(key, keylen, "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
    return 0;
}
