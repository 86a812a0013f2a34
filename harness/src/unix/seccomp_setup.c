/* seccomp_setup.c - putting the server under the filter and handing its
 * notification fd to the harness.
 *
 * The child side runs after fork and before exec, so it allocates nothing of
 * its own and makes no syscall that the new filter could stop (a stopped
 * child would wait for a parent that is still waiting for it). The parent
 * side receives the fd, or the child's errno when installing failed, over
 * the unix socket the two share.
 */
#include <errno.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "syscalls.h"

/* Room for the exported program; ~30 rules need well under 200 insns. */
#define MAX_INSNS 1024
static struct sock_filter filter_buf[MAX_INSNS];

/* libseccomp builds the program; the raw seccomp() syscall loads it so that
 * SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV can be asked for (libseccomp 2.5
 * has no attribute for it). That flag keeps a received notification alive
 * through non-fatal signals (Go's SIGURG preemption, SIGCHLD, timers):
 * without it the kernel withdraws the notification and the thread restarts
 * the syscall, which the supervisor must then recognise as the same call. */
static int export_program(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
    int mfd = memfd_create("pipefault-filter", MFD_CLOEXEC);
    if (mfd < 0)
        return -1;
    int rc = seccomp_export_bpf(ctx, mfd);
    off_t size = rc == 0 ? lseek(mfd, 0, SEEK_END) : -1;
    if (rc != 0 || size <= 0 || size > (off_t)sizeof filter_buf ||
        size % (off_t)sizeof(struct sock_filter) != 0 ||
        pread(mfd, filter_buf, (size_t)size, 0) != size) {
        close(mfd);
        errno = rc < 0 ? -rc : EINVAL;
        return -1;
    }
    close(mfd);
    prog->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
    prog->filter = filter_buf;
    return 0;
}

static int load_filter(unsigned ops, bool *killable_wait)
{
    *killable_wait = false;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;

    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) {
        errno = ENOMEM;
        return -1;
    }
    /* Calls of a foreign ABI (int 0x80 from a 64-bit process) are let
     * through rather than killing the server. */
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
    int nrs[64];
    size_t n = pf_sc_syscalls(ops, nrs, sizeof nrs / sizeof nrs[0]);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nrs[i], 0);
    if (rc != 0) {
        seccomp_release(ctx);
        errno = -rc;
        return -1;
    }

    int fd = -1;
    struct sock_fprog prog;
    if (export_program(ctx, &prog) == 0) {
        /* The variable exists to exercise the older kernels' path. */
        const char *off = getenv("PIPEFAULT_SECCOMP_NO_WAIT_KILLABLE");
        if (!off || !*off || !strcmp(off, "0")) {
            fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                              SECCOMP_FILTER_FLAG_NEW_LISTENER |
                              SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
            if (fd >= 0)
                *killable_wait = true;
        } else {
            errno = EINVAL;
        }
        if (fd < 0 && errno == EINVAL) /* kernel < 5.19 */
            fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                              SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    } else {
        rc = seccomp_load(ctx);
        if (rc == 0)
            fd = seccomp_notify_fd(ctx);
        else
            errno = -rc;
    }
    int saved = errno;
    seccomp_release(ctx);
    errno = saved;
    return fd;
}

int pf_supervisor_install(unsigned ops, int sock)
{
    bool killable;
    int fd = load_filter(ops, &killable);
    int status = fd < 0 ? errno : 0;

    /* One int (0 or the errno of the failure) and, on success, the fd. */
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { &status, sizeof status };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (fd >= 0) {
        memset(cbuf, 0, sizeof cbuf);
        msg.msg_control = cbuf;
        msg.msg_controllen = sizeof cbuf;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    }
    ssize_t n;
    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    /* The notification fd is close-on-exec; closing it here would itself be
     * a notified syscall when `close` is intercepted. */
    if (status) {
        errno = status;
        return -1;
    }
    return n == (ssize_t)sizeof status ? 0 : -1;
}

int pf_sc_receive_fd(int sock)
{
    int status = 0;
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { &status, sizeof status };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = cbuf, .msg_controllen = sizeof cbuf,
    };
    ssize_t n;
    do {
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    int fd = -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
        memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    if (n != (ssize_t)sizeof status) {
        /* The child died before installing. */
        if (fd >= 0)
            close(fd);
        errno = ECHILD;
        return -1;
    }
    if (status) {
        if (fd >= 0)
            close(fd);
        errno = status;
        return -1;
    }
    if (fd < 0)
        errno = EPROTO;
    return fd;
}

const char *pf_supervisor_unsupported(void)
{
    char avail[256] = "";
    FILE *fp = fopen("/proc/sys/kernel/seccomp/actions_avail", "re");
    if (!fp)
        return "seccomp is not available (no /proc/sys/kernel/seccomp/actions_avail)";
    if (!fgets(avail, sizeof avail, fp))
        avail[0] = '\0';
    fclose(fp);
    if (!strstr(avail, "user_notif"))
        return "the kernel lacks seccomp user notification (needs Linux >= 5.0 "
               "with user_notif in /proc/sys/kernel/seccomp/actions_avail)";
    if (seccomp_api_get() < 5)
        return "libseccomp reports API level < 5: no user notification support";
    return NULL;
}
