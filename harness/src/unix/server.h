/* server.h - the server under test, as a supervised child process.
 *
 * It runs in its own process group (so that everything it forks can be
 * stopped at once), as the scenario's server user (dropped and verified),
 * in its working directory, with the scenario's umask and environment,
 * stderr to a file, and the seccomp supervisor's filter installed just
 * before exec.
 */
#ifndef PF_SERVER_H
#define PF_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define PF_SERVER_MAX_GROUPS 64

/* Who the server runs as, and with what environment. */
struct pf_server_identity {
    bool drop;           /* change credentials; false: keep the harness's (root) */
    uid_t uid;
    gid_t gid;
    gid_t groups[PF_SERVER_MAX_GROUPS];   /* supplementary groups, exactly */
    size_t ngroups;
    char *const *envp;   /* the server's whole environment, NULL-terminated */
};

struct pf_server_proc {
    pid_t pid;
    int pidfd;
    int sup_sock;        /* parent end: the supervisor's fd arrives here */
    bool exited;
    int status;          /* waitpid status once exited */
    bool stopped_by_us;
};

/* Starts argv as `id`, in cwd (entered after the drop: the server's user
 * must be able to reach it). Returns 0, or -1 with err set (a failed or
 * unverifiable drop and exec failure included). */
int pf_server_spawn(struct pf_server_proc *sp, char *const argv[],
                    const struct pf_server_identity *id, const char *cwd,
                    mode_t umask_, unsigned supervised_ops, const char *stderr_path,
                    const char *stdout_path, char *err, size_t errlen);

/* Reaps the server if it exited; true once it has. */
bool pf_server_reap(struct pf_server_proc *sp);

/* SIGTERM to the group, up to grace_ns for it to go, then SIGKILL. The caller
 * keeps serving the supervisor meanwhile through `pump` (may be NULL). */
void pf_server_stop(struct pf_server_proc *sp, int64_t grace_ns,
                    void (*pump)(void *ctx, int timeout_ms), void *ctx);

#endif
