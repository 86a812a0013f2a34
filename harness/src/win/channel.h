/* channel.h - the host end of the Win32 programs' reporting channel.
 *
 * A TCP listener on 127.0.0.1 (an ephemeral port, passed to the programs as
 * PF_CHANNEL): Wine maps winsock onto the host's sockets, so Windows programs
 * and the harness talk without shared files or polling. Each program opens
 * one connection and writes JSON Lines (pfw.h); the agent also reads
 * "release N" commands on its connection. Lines are parsed here and handed
 * to a callback; nothing here knows what the events mean.
 */
#ifndef PF_WIN_CHANNEL_H
#define PF_WIN_CHANNEL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define PF_WIN_MAX_CONNS 128

struct pf_win_conn {
    int fd;
    char *buf;
    size_t len, cap;
    bool eof;
    /* Set by the user of the channel (from the connection's hello). */
    int role;                  /* 0 unknown */
    bool clock_raw;            /* qpc_ns is CLOCK_MONOTONIC_RAW */
    int64_t clock_offset_ns;   /* else: add this to qpc_ns for CLOCK_MONOTONIC */
    char label[64];
};

struct pf_win_channel {
    int lfd;
    int port;
    struct pf_win_conn conns[PF_WIN_MAX_CONNS];
    size_t nconns;
};

typedef void (*pf_win_line_fn)(void *ctx, struct pf_win_conn *c, json_object *ev);

/* Listens on 127.0.0.1; false with the reason in err. */
bool pf_win_channel_open(struct pf_win_channel *ch, char *err, size_t errlen);
void pf_win_channel_close(struct pf_win_channel *ch);

/* Fills pollfds for the listener and every open connection; returns count. */
size_t pf_win_channel_pollfds(struct pf_win_channel *ch, struct pollfd *pfd, size_t max);

/* Handles whatever poll() reported for the fds from pollfds: accepts,
 * reads, and calls fn for every complete line that is a JSON object.
 * Returns the number of lines handled. */
int pf_win_channel_dispatch(struct pf_win_channel *ch, const struct pollfd *pfd, size_t n,
                            pf_win_line_fn fn, void *ctx);

/* Sends a command line ("release 3\n") on a connection; false if it is gone. */
bool pf_win_channel_send(struct pf_win_conn *c, const char *line);

/* Open connections (not at EOF) with this role. */
size_t pf_win_channel_open_count(const struct pf_win_channel *ch, int role);

#endif
