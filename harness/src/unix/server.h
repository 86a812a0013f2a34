/* server.h - the server under test, as a supervised child process.
 *
 * It runs in the scenario's cgroup (see contain.h) and its own process
 * group, in the scenario's private directory, with the scenario's umask,
 * stdout and stderr to pipes the harness reads (see capture.h), and the
 * seccomp supervisor's filter installed just before exec.
 */
#ifndef PF_SERVER_H
#define PF_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct pf_server_proc {
    pid_t pid;
    int pidfd;
    int sup_sock;        /* parent end: the supervisor's fd arrives here */
    int stdout_fd;       /* read ends of the server's stdout and stderr pipes */
    int stderr_fd;
    bool exited;
    int status;          /* waitpid status once exited */
    bool stopped_by_us;
};

/* Starts argv; its child first writes itself into contain_fd (a cgroup's
 * cgroup.procs, or -1). Returns 0, or -1 with err set (exec failure
 * included); the output pipes are open either way. */
int pf_server_spawn(struct pf_server_proc *sp, char *const argv[], const char *cwd,
                    mode_t umask_, unsigned supervised_ops, int contain_fd,
                    char *err, size_t errlen);

/* Reaps the server if it exited; true once it has. */
bool pf_server_reap(struct pf_server_proc *sp);

/* SIGTERM to the group, up to grace_ns for it to go, then SIGKILL. The caller
 * keeps serving the supervisor meanwhile through `pump` (may be NULL). */
void pf_server_stop(struct pf_server_proc *sp, int64_t grace_ns,
                    void (*pump)(void *ctx, int timeout_ms), void *ctx);

#endif
