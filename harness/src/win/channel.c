/* channel.c - TCP listener and line-buffered connections (see channel.h). */
#include "channel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../util.h"

bool pf_win_channel_open(struct pf_win_channel *ch, char *err, size_t errlen)
{
    memset(ch, 0, sizeof *ch);
    ch->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (ch->lfd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return false;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t len = sizeof sa;
    if (bind(ch->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ch->lfd, 64) < 0 ||
        getsockname(ch->lfd, (struct sockaddr *)&sa, &len) < 0) {
        snprintf(err, errlen, "listening on 127.0.0.1: %s", strerror(errno));
        close(ch->lfd);
        ch->lfd = -1;
        return false;
    }
    ch->port = ntohs(sa.sin_port);
    return true;
}

void pf_win_channel_close(struct pf_win_channel *ch)
{
    for (size_t i = 0; i < ch->nconns; i++) {
        if (ch->conns[i].fd >= 0)
            close(ch->conns[i].fd);
        free(ch->conns[i].buf);
    }
    ch->nconns = 0;
    if (ch->lfd >= 0)
        close(ch->lfd);
    ch->lfd = -1;
}

size_t pf_win_channel_pollfds(struct pf_win_channel *ch, struct pollfd *pfd, size_t max)
{
    size_t n = 0;
    if (ch->lfd >= 0 && n < max)
        pfd[n++] = (struct pollfd){.fd = ch->lfd, .events = POLLIN};
    for (size_t i = 0; i < ch->nconns && n < max; i++)
        if (!ch->conns[i].eof)
            pfd[n++] = (struct pollfd){.fd = ch->conns[i].fd, .events = POLLIN};
    return n;
}

static struct pf_win_conn *conn_of(struct pf_win_channel *ch, int fd)
{
    for (size_t i = 0; i < ch->nconns; i++)
        if (ch->conns[i].fd == fd)
            return &ch->conns[i];
    return NULL;
}

static void accept_all(struct pf_win_channel *ch)
{
    for (;;) {
        int fd = accept4(ch->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        if (ch->nconns == PF_WIN_MAX_CONNS) {
            fprintf(stderr, "pipefault: too many Win32 program connections\n");
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct pf_win_conn *c = &ch->conns[ch->nconns++];
        memset(c, 0, sizeof *c);
        c->fd = fd;
    }
}

static int read_lines(struct pf_win_conn *c, pf_win_line_fn fn, void *ctx)
{
    int lines = 0;
    for (;;) {
        if (c->cap - c->len < 4096) {
            c->cap = c->cap ? c->cap * 2 : 16384;
            c->buf = pf_xreallocarray(c->buf, c->cap, 1);
        }
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r <= 0) {
            c->eof = true;
            break;
        }
        c->len += (size_t)r;
    }
    char *start = c->buf;
    char *nl;
    while (c->len && (nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
        *nl = '\0';
        json_object *ev = json_tokener_parse(start);
        if (ev && json_object_is_type(ev, json_type_object)) {
            fn(ctx, c, ev);
            lines++;
        } else {
            fprintf(stderr, "pipefault: unreadable line from a Win32 program: %.200s\n", start);
        }
        json_object_put(ev);
        start = nl + 1;
    }
    size_t rest = c->len - (size_t)(start - c->buf);
    memmove(c->buf, start, rest);
    c->len = rest;
    return lines;
}

int pf_win_channel_dispatch(struct pf_win_channel *ch, const struct pollfd *pfd, size_t n,
                            pf_win_line_fn fn, void *ctx)
{
    int lines = 0;
    for (size_t i = 0; i < n; i++) {
        if (!pfd[i].revents)
            continue;
        if (pfd[i].fd == ch->lfd) {
            accept_all(ch);
            continue;
        }
        struct pf_win_conn *c = conn_of(ch, pfd[i].fd);
        if (c && !c->eof)
            lines += read_lines(c, fn, ctx);
    }
    return lines;
}

bool pf_win_channel_send(struct pf_win_conn *c, const char *line)
{
    size_t len = strlen(line), off = 0;
    while (off < len) {
        ssize_t w = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return false;
        off += (size_t)w;
    }
    return true;
}

size_t pf_win_channel_open_count(const struct pf_win_channel *ch, int role)
{
    size_t n = 0;
    for (size_t i = 0; i < ch->nconns; i++)
        if (!ch->conns[i].eof && ch->conns[i].role == role)
            n++;
    return n;
}
