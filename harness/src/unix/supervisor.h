/* supervisor.h - seccomp user-notification supervisor for the server.
 *
 * The server process installs a filter just before exec that turns the
 * syscalls behind the endpoint operations (bind, mknod, chmod family, listen,
 * ...) into notifications to the harness. The harness sees each one while the
 * calling thread is stopped at syscall entry, lets the observer read the
 * endpoint's exact state, applies the scenario's faults (delay, hold, fail)
 * and lets the call continue. Works on any binary: static, Go, Python.
 */
#ifndef PF_SUPERVISOR_H
#define PF_SUPERVISOR_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "../events.h"
#include "../scenario.h"

/* One intercepted syscall, decoded. */
struct pf_sc_event {
    pid_t pid, tid;
    enum pf_fault_op op;
    const char *name;       /* "bind", "fchmodat", ... */
    char path[PATH_MAX];    /* absolute path it concerns, "" if none/unknown;
                               for an fd on a bound unix socket: its bound path;
                               abstract names as "@name" */
    int fd;                 /* fd argument, -1 if none */
    int mode;               /* chmod family / mknod / umask: the mode argument, else -1 */
    /* create (bind, mknod): the calling thread's fsuid and fsgid, read
     * while it is stopped, i.e. the owner and group the kernel will give
     * the new inode (before any setgid directory rule). */
    bool creds_known;
    uid_t fsuid;
    gid_t fsgid;
    /* listen: the file the socket is bound to, whatever name it has now
     * (sock_diag UDIAG_SHOW_VFS of the socket). */
    bool node_known;
    dev_t node_dev;
    ino_t node_ino;
    /* bind, listen: the socket's type (SOCK_STREAM, SOCK_DGRAM, ...), 0 if
     * unknown. A datagram socket receives from its bind on: no listen. */
    int sock_type;
};

/* What the observe hook says besides an instance id (> 0). */
enum { PF_SC_UNRELATED = -1, PF_SC_NO_INSTANCE = 0 };

struct pf_supervisor_hooks {
    void *ctx;
    /* Called for every intercepted syscall while the thread is stopped at its
     * entry. Returns the instance id it concerns (>0), PF_SC_NO_INSTANCE if
     * it concerns the endpoint but no instance yet (e.g. bind before the
     * inode exists), or PF_SC_UNRELATED if it does not concern the endpoint
     * at all: then no fault applies and nothing is traced. */
    int (*observe)(void *ctx, const struct pf_sc_event *e);
    /* Optional (may be NULL). Called for an endpoint-related call (observe
     * returned >= 0) right before it is let run, after any delay or hold,
     * with the thread still stopped: the moment the call really goes ahead
     * (e.g. when a delayed listen() makes the instance accepting). Not
     * called for a call failed by a fault, nor for one whose thread died. */
    void (*proceed)(void *ctx, const struct pf_sc_event *e, int instance);
    /* Optional: a hold of rule `rule` has just begun (the thread is held
     * at the entry of its call), e.g. to start what the hold waits for. */
    void (*held)(void *held_ctx, size_t rule);
    void *held_ctx;
};

struct pf_supervisor;

/* Bit mask of enum pf_fault_op: the operations to intercept for a scenario
 * (those the observer needs plus those faults target on the server). */
unsigned pf_supervisor_ops(const struct pf_scenario *sc);

/* Child side, after fork and before exec: installs the filter for `ops`,
 * sends the notification fd over the unix socket `sock`. Async-signal-safe
 * enough for a forked child (no malloc after fork beyond libseccomp's). */
int pf_supervisor_install(unsigned ops, int sock);

/* Parent side: receives the notification fd from `sock` and starts. NULL
 * with errno set if the kernel lacks user notification (exit 3 upstream). */
struct pf_supervisor *pf_supervisor_start(int sock,
                                          const struct pf_scenario *sc,
                                          uint64_t seed,
                                          struct pf_trace *trace,
                                          const struct pf_supervisor_hooks *h);

/* The server's own pid, for rules with `process: main|child`. */
void pf_supervisor_set_server(struct pf_supervisor *s, pid_t pid);

int pf_supervisor_fd(const struct pf_supervisor *s);          /* for poll() */
void pf_supervisor_dispatch(struct pf_supervisor *s);         /* fd readable */
/* abs ns, PF_NO_DEADLINE (holds.h) when none */
int64_t pf_supervisor_next_deadline(const struct pf_supervisor *s);
void pf_supervisor_tick(struct pf_supervisor *s);             /* due delays/hold timeouts */
/* Something happened elsewhere (e.g. account "mallory" did "attempt") at
 * absolute CLOCK_MONOTONIC time t: releases the holds waiting for it that
 * began before t. (The report of an event can arrive after a hold began
 * although the event itself happened before; it must not release it.) */
void pf_supervisor_notify(struct pf_supervisor *s, const char *account,
                          const char *event, int64_t t);
/* Per-rule fire counts for results. */
long pf_supervisor_fired(const struct pf_supervisor *s, size_t rule);
/* Releases everything still held and frees. */
void pf_supervisor_free(struct pf_supervisor *s);

/* Returns NULL if this kernel supports what the supervisor needs, else why. */
const char *pf_supervisor_unsupported(void);

#endif
