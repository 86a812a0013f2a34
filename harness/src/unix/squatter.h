/* squatter.h - an attacker process: another account that takes the endpoint.
 *
 * The squatter is the harness's own code in a forked process dropped to the
 * attacker's account exactly as clients are (pf_drop_privileges). It makes
 * the endpoint first and permissively - a unix socket bound, listening and
 * chmod 0666; a FIFO made 0666 and held open; an abstract name bound - and
 * serves it as a server would: it accepts, writes a short reply, and reports
 * every connection with the client's pid and uid (SO_PEERCRED). A run-server
 * attacker is the same process execing the scenario's server command instead.
 *
 * Reports are JSON lines on a pipe, as clients give them:
 *   {"ev":"squat","outcome":"ok"|"EACCES"|...,"errno":N,"key":"dev:ino"|null,"t":ABS}
 *   {"ev":"squatter_connection","peer_pid":P,"peer_uid":U,"bytes_received":N}
 *      (N: what the client sent after the greeting, until it closed or 250 ms)
 *   {"ev":"squatter_read","bytes":N}            (FIFO: who wrote cannot be told)
 * A squatter started with `wait_go` makes nothing until pf_squatter_go().
 */
#ifndef PF_SQUATTER_H
#define PF_SQUATTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "../scenario.h"
#include "accounts.h"

struct pf_squatter {
    const struct pf_attacker *spec;
    pid_t pid;               /* also its process group: all it started */
    int pidfd;
    int report_fd;           /* harness reads lines here; -1 for run-server */
    int control_fd;          /* 'g': make the endpoint now */
    char buf[4096];
    size_t buflen;
    bool eof, exited, told_go;
    bool reported;           /* said how its squat went */
    bool squatted;           /* ... and it made its endpoint */
    char key[64];            /* dev:ino of what it made, "" unknown */
    int status;
};

/* Forks the squatter for attacker `a` as `u`, on `endpoint` of `kind`. */
int pf_squatter_spawn(struct pf_squatter *sq, const struct pf_attacker *a,
                      const struct pf_user *u, enum pf_endpoint_kind kind,
                      const char *endpoint, bool wait_go, char *err, size_t errlen);

/* Forks the scenario's server command `argv` as attacker `u`, in `cwd`, its
 * output to the given files: the run-server attack. */
int pf_squatter_exec(struct pf_squatter *sq, const struct pf_attacker *a,
                     const struct pf_user *u, char *const argv[], const char *cwd,
                     mode_t umask_, const char *stdout_path, const char *stderr_path,
                     char *err, size_t errlen);

/* Tells a squatter that waits to make its endpoint now. */
void pf_squatter_go(struct pf_squatter *sq);

/* Kills its whole process group and waits for it. Safe to call twice. */
void pf_squatter_stop(struct pf_squatter *sq);

#endif
