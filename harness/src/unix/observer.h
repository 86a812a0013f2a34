/* observer.h - the endpoint's instances, as seen by inotify and stat.
 *
 * Every time the endpoint path is created anew it is a new instance,
 * identified by (dev, inode) and numbered in order of birth. The observer
 * records each instance's permissions as they change. It learns of changes
 * two ways: inotify on the endpoint's directory (the server running freely),
 * and the supervisor's hook (the server stopped at a syscall: exact state).
 */
#ifndef PF_OBSERVER_H
#define PF_OBSERVER_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "../events.h"
#include "supervisor.h"

#define PF_MAX_INSTANCES 4096

struct pf_instance_rec {
    dev_t dev;
    ino_t ino;
    bool accepting;
    json_object *perm;         /* last recorded */
};

struct pf_observer {
    struct pf_trace *trace;
    char path[PATH_MAX];       /* endpoint: absolute path, or abstract name */
    char dir[PATH_MAX];
    char base[NAME_MAX + 1];
    bool abstract, is_socket;
    int ifd;                   /* inotify, -1 for abstract */
    struct pf_instance_rec inst[PF_MAX_INSTANCES];
    int n;                     /* instances so far; ids are 1..n */
    int current;               /* id of the instance at the path now, 0 none */
    mode_t umask_;             /* the server's umask as last read */
    uid_t server_uid;
    gid_t server_gid;
    pid_t server_pid;
};

int pf_observer_open(struct pf_observer *o, struct pf_trace *trace,
                     const char *endpoint, enum pf_endpoint_kind kind,
                     char *err, size_t errlen);
void pf_observer_close(struct pf_observer *o);

/* Reads and records every queued inotify event. `exact` is true when the
 * server is stopped (called from the supervisor hook). */
void pf_observer_drain(struct pf_observer *o, bool exact);

/* The supervisor hooks: a watched syscall arrived (observe), and it is
 * about to run, after any delay or hold (proceed). */
int pf_observer_on_syscall(void *ctx, const struct pf_sc_event *e);
void pf_observer_on_proceed(void *ctx, const struct pf_sc_event *e, int instance);

/* Reads a process's umask from /proc/PID/status; -1 if unknown. */
int pf_proc_umask(pid_t pid);

#endif
