/* capture.h - what the server writes on stdout and stderr, kept within a cap.
 *
 * The server's output goes through a pipe that the harness's loop reads, so
 * that a server writing gigabytes costs the store at most PF_CAPTURE_HEAD +
 * PF_CAPTURE_TAIL bytes: the beginning (start-up messages) and the end (why
 * it stopped), with a line "[pipefault: N bytes not kept]" between them when
 * it was cut. Cuts fall on UTF-8 character boundaries. The file is created
 * in the scenario's directory, never following a link, never reusing a file.
 */
#ifndef PF_CAPTURE_H
#define PF_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PF_CAPTURE_HEAD (512u * 1024u)
#define PF_CAPTURE_TAIL (512u * 1024u)

struct pf_capture {
    int pipe_fd;        /* read end, non-blocking; -1 once at end of file */
    int file_fd;        /* the file in the scenario's directory */
    uint64_t total;     /* bytes the server wrote */
    size_t head;        /* bytes written to the file as the beginning */
    bool head_full;
    char *ring;         /* the last PF_CAPTURE_TAIL bytes, once past the head */
    size_t ring_len, ring_pos;
};

/* Creates `name` in dirfd (O_EXCL|O_NOFOLLOW) to hold what arrives on
 * pipe_fd (taken over). 0, or -1 with err set. */
int pf_capture_open(struct pf_capture *c, int dirfd, const char *name, int pipe_fd,
                    char *err, size_t errlen);

/* Reads what the pipe holds now (a bounded amount, so the loop goes on). */
void pf_capture_read(struct pf_capture *c);

/* Reads what is left (until end of file or nothing more is there), writes
 * the kept end and closes everything. */
void pf_capture_finish(struct pf_capture *c);

#endif
