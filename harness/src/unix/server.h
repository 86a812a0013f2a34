/* server.h - the server under test, as a supervised child process.
 *
 * It runs in the scenario's cgroup (see contain.h) and its own process
 * group, as the scenario's server user (dropped and verified), in its
 * working directory, with the scenario's umask and environment, stdout and
 * stderr to pipes the harness reads (see capture.h), and the seccomp
 * supervisor's filter installed just before exec.
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
    int stdout_fd;       /* read ends of the server's stdout and stderr pipes */
    int stderr_fd;
    bool exited;
    int status;          /* waitpid status once exited */
    bool stopped_by_us;
};

/* Starts argv as `id`, in cwd (entered after the drop: the server's user
 * must be able to reach it); its child first writes itself into contain_fd
 * (a cgroup's cgroup.procs, or -1). Returns 0, or -1 with err set (a failed
 * or unverifiable drop and exec failure included); the output pipes are
 * open either way. */
int pf_server_spawn(struct pf_server_proc *sp, char *const argv[],
                    const struct pf_server_identity *id, const char *cwd,
                    mode_t umask_, unsigned supervised_ops, int contain_fd,
                    char *err, size_t errlen);

/* Reaps the server if it exited; true once it has. */
bool pf_server_reap(struct pf_server_proc *sp);

/* SIGTERM to the group, up to grace_ns for it to go, then SIGKILL. The caller
 * keeps serving the supervisor meanwhile through `pump` (may be NULL). */
void pf_server_stop(struct pf_server_proc *sp, int64_t grace_ns,
                    void (*pump)(void *ctx, int timeout_ms), void *ctx);

/* The PATH a server gets unless server.env says otherwise. */
#define PF_SERVER_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* execve of a server command: a name without a slash is looked up in the
 * PATH of envp (pf_server_path). Returns only on failure, with errno set. */
void pf_server_exec(char *const argv[], char *const envp[]);
/* The PATH in envp, or the default servers get. */
const char *pf_server_path(char *const envp[]);

#endif
