/* client.h - a client process: connects to the endpoint as a real account.
 *
 * Clients are the harness's own code in a forked process that has dropped
 * to the account's uid, gid and groups (verified before the first attempt).
 * Each attempt is reported to the harness as one JSON line on a pipe; the
 * harness turns the lines into `attempt` and `fault` events. A client held by
 * a fault waits for one byte on its control pipe ('r'); the same pipe says
 * when an endpoint instance starts ('A') or stops ('N') accepting.
 */
#ifndef PF_CLIENT_H
#define PF_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "../plan.h"
#include "accounts.h"

struct linux_run;

struct pf_client_proc {
    pid_t pid;
    int pidfd;
    int report_fd;           /* harness reads lines from here */
    int control_fd;          /* harness writes releases here */
    char buf[8192];          /* partial line */
    size_t buflen;
    bool eof, exited;
    const struct pf_plan_client *plan;
    int held_rule;           /* rule index it waits on, -1 none */
    long hold_id;            /* its hold in the backend's hold engine */
    struct linux_run *run;   /* the backend's run, for the hold's release */
};

struct pf_client_env {
    const struct pf_scenario *sc;
    const char *endpoint;
    int64_t trace_start_ns;  /* the trace's clock zero */
    int64_t start_ns;        /* absolute time of the schedule's zero */
    int64_t deadline_ns;     /* absolute */
};

/* Drops to u's uid, gid and groups, and verifies it (root cannot be
 * regained). Every process the harness runs as an account goes through it. */
int pf_drop_privileges(const struct pf_user *u);
/* Closes every descriptor but stdio, `a` and `b` (in a forked child). */
int pf_close_inherited(int a, int b);
/* In a child the harness forked (a client, a squatter, a server, a user's
 * program): its own process group, so that it is stopped as one and a
 * terminal's Ctrl-C reaches the harness only; SIGINT and SIGTERM at their
 * default; nothing blocked; SIGPIPE ignored for the harness's own programs
 * (they handle EPIPE), default for anything that will exec a user's. */
void pf_child_detach(bool ignore_sigpipe);

/* In a client or squatter child: writes one line (fmt + '\n') to the
 * harness in a single write, so lines never interleave; a line too long is
 * dropped; a harness that is gone ends the child (exit 3). */
void pf_report_line(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Forks the client process for `pc` as user `u`. */
int pf_client_spawn(struct pf_client_proc *cp, const struct pf_plan_client *pc,
                    const struct pf_user *u, const struct pf_client_env *env,
                    char *err, size_t errlen);

#endif
