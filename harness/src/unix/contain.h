/* contain.h - every process the server starts ends with its scenario.
 *
 * A server may fork, call setsid(), double-fork into a daemon or start a
 * new process group: no parent link, session or group holds on to what it
 * started. A cgroup v2 directory does: every descendant is born in it and
 * only root can move it out. Each scenario's server runs in
 *
 *     <cgroup2 mount>/pipefault/<run id>-<harness pid>/<n>-<scenario>
 *
 * and at the end `cgroup.kill` ends all of it at once. The harness pid in the
 * run's directory name lets `pipefault clean` (and the start of every run)
 * find and kill what a SIGKILLed harness left running.
 *
 * Without a writable cgroup v2 hierarchy, the harness becomes a child
 * subreaper instead: orphans of the server are re-parented to it, and it
 * kills all its descendants but the clients at the end. That fallback
 * cannot outlive the harness (see docs/security.md).
 */
#ifndef PF_CONTAIN_H
#define PF_CONTAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum pf_contain_kind {
    PF_CONTAIN_NONE,       /* not opened */
    PF_CONTAIN_CGROUP,
    PF_CONTAIN_SUBREAPER,
};

struct pf_contain {
    enum pf_contain_kind kind;
    int dirfd;             /* the scenario's cgroup directory */
    int rundirfd;          /* pipefault/<run>-<pid>, which holds it */
    int events_fd;         /* its cgroup.events */
    char name[96];         /* the scenario's directory name in rundirfd */
    char path[512];        /* the whole path, for messages and the trace */
    char fallback_why[160];/* subreaper: why no cgroup */
};

/* Creates the scenario's cgroup (or, when cgroup v2 is not usable, sets the
 * harness up as a subreaper). `seq` keeps names of one run distinct.
 * 0, or -1 with err set. */
int pf_contain_open(struct pf_contain *c, const char *run_id, unsigned seq,
                    const char *scenario, char *err, size_t errlen);

/* An fd (O_CLOEXEC) of the cgroup's cgroup.procs for the server's child to
 * join before it does anything else; -1 in the fallback. Caller closes. */
int pf_contain_procs_fd(const struct pf_contain *c);

/* Child side: moves the calling process into the cgroup. 0 or -1 (errno). */
int pf_contain_join(int procs_fd);

/* A process still contained, other than those in skip[] (the clients, in
 * the fallback); 0 if none. */
pid_t pf_contain_member(const struct pf_contain *c, const pid_t *skip, size_t nskip);

/* Kills every contained process, waits until none is left (at most
 * wait_ns) and removes the cgroup. 0, or -1 with err naming what stays. */
int pf_contain_end(struct pf_contain *c, const pid_t *skip, size_t nskip, int64_t wait_ns,
                   char *err, size_t errlen);

/* After the run's last scenario: removes the run's cgroup directory. */
void pf_contain_end_run(const char *run_id);

/* Kills and removes the cgroups of runs whose harness is gone; returns how
 * many runs it cleaned. */
int pf_contain_sweep(void);

#endif
