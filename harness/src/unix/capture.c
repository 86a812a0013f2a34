/* capture.c - the server's output, capped (see capture.h). */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../text.h"
#include "../util.h"

#define READ_CHUNK 65536
#define READS_PER_TURN 4

int pf_capture_open(struct pf_capture *c, int dirfd, const char *name, int pipe_fd,
                    char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->pipe_fd = pipe_fd;
    c->file_fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0644);
    if (c->file_fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;   /* a full disk loses output, not the run */
        p += w;
        n -= (size_t)w;
    }
}

static void to_ring(struct pf_capture *c, const char *p, size_t n)
{
    if (!c->ring)
        c->ring = pf_xmalloc(PF_CAPTURE_TAIL);
    if (n > PF_CAPTURE_TAIL) {
        p += n - PF_CAPTURE_TAIL;
        n = PF_CAPTURE_TAIL;
    }
    while (n > 0) {
        size_t room = PF_CAPTURE_TAIL - c->ring_pos;
        size_t k = n < room ? n : room;
        memcpy(c->ring + c->ring_pos, p, k);
        c->ring_pos = (c->ring_pos + k) % PF_CAPTURE_TAIL;
        if (c->ring_len < PF_CAPTURE_TAIL)
            c->ring_len = c->ring_len + k > PF_CAPTURE_TAIL ? PF_CAPTURE_TAIL : c->ring_len + k;
        p += k;
        n -= k;
    }
}

static void take(struct pf_capture *c, const char *p, size_t n)
{
    c->total += n;
    if (!c->head_full) {
        size_t room = PF_CAPTURE_HEAD - c->head;
        size_t k = n;
        if (k > room) {
            /* End the beginning before a character the cap would split. */
            k = room;
            while (k > 0 && room - k < 3 && ((unsigned char)p[k] & 0xC0) == 0x80)
                k--;
            c->head_full = true;
        }
        write_all(c->file_fd, p, k);
        c->head += k;
        p += k;
        n -= k;
    }
    if (n > 0)
        to_ring(c, p, n);
}

static bool read_some(struct pf_capture *c, int rounds)
{
    char buf[READ_CHUNK];
    for (int i = 0; c->pipe_fd >= 0 && i < rounds; i++) {
        ssize_t n = read(c->pipe_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0) {
                close(c->pipe_fd);
                c->pipe_fd = -1;
            }
            return false;
        }
        take(c, buf, (size_t)n);
    }
    return c->pipe_fd >= 0;
}

void pf_capture_read(struct pf_capture *c)
{
    read_some(c, READS_PER_TURN);
}

void pf_capture_finish(struct pf_capture *c)
{
    while (read_some(c, READS_PER_TURN))
        ;
    if (c->pipe_fd >= 0)
        close(c->pipe_fd);
    c->pipe_fd = -1;
    if (c->file_fd < 0)
        return;
    if (c->ring_len) {
        /* The ring in order, from its oldest byte, starting on a character. */
        char *tail = pf_xmalloc(c->ring_len);
        size_t first = c->ring_len < PF_CAPTURE_TAIL ? 0 : c->ring_pos;
        memcpy(tail, c->ring + first, c->ring_len - first);
        memcpy(tail + (c->ring_len - first), c->ring, first);
        size_t from = pf_utf8_boundary(tail, c->ring_len, 0);
        uint64_t dropped = c->total - c->head - (c->ring_len - from);
        if (dropped) {
            char note[96];
            int len = snprintf(note, sizeof note, "\n[pipefault: %llu bytes not kept]\n",
                               (unsigned long long)dropped);
            write_all(c->file_fd, note, (size_t)len);
        }
        write_all(c->file_fd, tail + from, c->ring_len - from);
        free(tail);
    }
    free(c->ring);
    c->ring = NULL;
    close(c->file_fd);
    c->file_fd = -1;
}
