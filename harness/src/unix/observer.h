/* observer.h - the endpoint's instances, as seen by inotify and stat.
 *
 * Every inode that appears on the endpoint path is a new instance,
 * identified by (dev, inode) and numbered in order of birth; one made under
 * another name in the endpoint's directory and renamed or linked onto the
 * endpoint keeps what it went through before. The observer
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

/* An instance: an inode that has been on the endpoint name. */
struct pf_instance_rec {
    dev_t dev;
    ino_t ino;
    bool accepting;
    json_object *perm;         /* last recorded */
    int64_t seen_t;            /* perm was read at or after this (trace ns) */
};

/* A socket or FIFO made in the endpoint's directory under another name: it
 * may land on the endpoint name later (rename or link into place), and then
 * it is an instance with everything it went through before, birth state and
 * listen() included. */
struct pf_candidate {
    dev_t dev;
    ino_t ino;
    char *created_as;          /* absolute path it was first seen under */
    char *name;                /* its latest name in the directory */
    json_object *history;      /* [{t, perm, evidence}], the first is its birth */
    json_object *deflt;        /* its `default` perm */
    const char *default_evidence;
    int64_t accepting_t;       /* trace ns of its listen/open, -1 none */
    const char *accepting_evidence;
};

/* A create call seen while its thread was stopped: what the new inode will
 * be given, kept until the inode shows up under that name. */
struct pf_creation {
    char name[NAME_MAX + 1];   /* in the endpoint's directory */
    json_object *deflt;        /* with the run's starting umask: `default` */
    json_object *actual;       /* with the thread's umask and create mode */
    const char *default_evidence;   /* "creator", or "server" if the
                                       thread's credentials were unreadable */
    bool dgram;                /* a datagram socket: it receives from birth */
};

struct pf_observer {
    struct pf_trace *trace;
    char path[PATH_MAX];       /* endpoint: absolute path, or abstract name */
    char dir[PATH_MAX];
    char base[NAME_MAX + 1];
    bool abstract, is_socket;
    int ifd;                   /* inotify, -1 for abstract */
    struct pf_instance_rec *inst;   /* grows; ids are 1..n */
    int n;                     /* instances so far */
    size_t cap;
    struct pf_candidate *cand;
    size_t ncand, capcand;
    struct pf_creation *made;
    size_t nmade, capmade;
    int current;               /* id of the instance at the path now, 0 none */
    int64_t read_t;            /* when the endpoint's current read began */
    mode_t umask_;             /* the server's umask as last read */
    mode_t start_umask;        /* the run's starting umask (the scenario's) */
    uid_t server_uid;          /* the server's fsuid/fsgid at start: the */
    gid_t server_gid;          /* creator when no create call was seen */
    pid_t server_pid;
};

int pf_observer_open(struct pf_observer *o, struct pf_trace *trace,
                     const char *endpoint, enum pf_endpoint_kind kind,
                     char *err, size_t errlen);
void pf_observer_close(struct pf_observer *o);

/* The server process: reads its fsuid/fsgid now (the credentials a birth
 * seen only by inotify is judged against). */
void pf_observer_set_server(struct pf_observer *o, pid_t pid);

/* Reads and records every queued inotify event. `exact` is true when the
 * server is stopped (called from the supervisor hook). */
void pf_observer_drain(struct pf_observer *o, bool exact);

/* The supervisor hooks: a watched syscall arrived (observe), and it is
 * about to run, after any delay or hold (proceed). */
int pf_observer_on_syscall(void *ctx, const struct pf_sc_event *e);
void pf_observer_on_proceed(void *ctx, const struct pf_sc_event *e, int instance);

/* Reads a process's umask from /proc/PID/status; false if unknown. */
bool pf_proc_umask(pid_t pid, mode_t *umask_out);

#endif
