/* server.c - starting and stopping the server under test.
 *
 * The child sets itself up in this order, each step reported by stage if it
 * fails: output redirected (as root: the files are the harness's), then the
 * credentials dropped to the server's user and verified like the clients'
 * (uid, gid, groups, root cannot be regained), then the working directory
 * entered (as that user), the umask set, and last the seccomp filter
 * installed, just before exec.
 *
 * The filter comes after the drop. A filter with a user-notification
 * listener needs CAP_SYS_ADMIN or no_new_privs; pipefault always sets
 * no_new_privs (seccomp_setup.c), so installing it needs no privilege and
 * nothing runs as root between the drop and exec. no_new_privs also means
 * that a setuid/setgid program or one with file capabilities, executed by
 * the server or anything it starts, gains nothing: the server stays the
 * user the scenario says, whatever it runs (docs/scenario-format.md).
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../events.h"
#include "client.h"
#include "contain.h"
#include "supervisor.h"

static bool same_groups(const gid_t *want, size_t nwant)
{
    gid_t have[PF_SERVER_MAX_GROUPS + 1];
    int n = getgroups(PF_SERVER_MAX_GROUPS + 1, have);
    if (n < 0 || (size_t)n != nwant)
        return false;
    /* The kernel keeps the list sorted: compare as sets. */
    for (size_t i = 0; i < nwant; i++) {
        bool found = false;
        for (int k = 0; k < n && !found; k++)
            found = have[k] == want[i];
        if (!found)
            return false;
    }
    return true;
}

/* setgroups -> setresgid -> setresuid, then proof: every id is the one
 * asked for and, for a user other than root, root cannot be had back. */
static int drop_privileges(const struct pf_server_identity *id)
{
    if (setgroups(id->ngroups, id->groups) < 0 || setresgid(id->gid, id->gid, id->gid) < 0 ||
        setresuid(id->uid, id->uid, id->uid) < 0)
        return -1;
    uid_t r, e, s;
    gid_t rg, eg, sg;
    errno = EPERM;
    if (getresuid(&r, &e, &s) < 0 || r != id->uid || e != id->uid || s != id->uid ||
        getresgid(&rg, &eg, &sg) < 0 || rg != id->gid || eg != id->gid || sg != id->gid ||
        !same_groups(id->groups, id->ngroups))
        return -1;
    if (id->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

enum { STAGE_JOIN = 5, STAGE_DROP = 6 };   /* indexes in the stages below */

/* Child side; never returns. Reports a failure before exec as an int errno
 * plus a stage byte on `status_fd`, which exec closes on success. out_fd and
 * err_fd are the write ends of the pipes the harness reads. */
static void child(char *const argv[], const struct pf_server_identity *id, const char *cwd,
                  mode_t umask_, unsigned ops, int sup_sock, int status_fd, int contain_fd,
                  int out_fd, int err_fd)
{
    /* Into the scenario's cgroup before anything else: all the server will
     * ever start is born there. */
    int stage = STAGE_JOIN;
    if (pf_contain_join(contain_fd) < 0)
        goto fail;
    if (contain_fd >= 0)
        close(contain_fd);
    pf_child_detach(false);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int in = open("/dev/null", O_RDONLY);
    stage = 1;
    if (in < 0 || dup2(in, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        goto fail;
    stage = STAGE_DROP;
    if (id->drop) {
        pid_t parent = getppid();
        if (drop_privileges(id) < 0)
            goto fail;
        /* Changing credentials clears the death signal: set it again, and
         * make sure the harness did not go in between. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
    }
    stage = 2;
    if (chdir(cwd) < 0)
        goto fail;
    umask(umask_);
    stage = 3;
    if (pf_supervisor_install(ops, sup_sock) < 0)
        goto fail;
    /* From here on every watched syscall waits for the supervisor, which
     * the parent starts only after exec: make none before execve (sup_sock
     * is close-on-exec, so exec itself closes it). */
    stage = 4;
    pf_server_exec(argv, id->envp);
fail:;
    int e[2] = {errno, stage};
    if (write(status_fd, e, sizeof e) < 0)
        _exit(127);
    _exit(127);
}

const char *pf_server_path(char *const envp[])
{
    const char *path = PF_SERVER_PATH;
    for (size_t i = 0; envp && envp[i]; i++)
        if (!strncmp(envp[i], "PATH=", 5))
            path = envp[i] + 5;
    return path;
}

/* A command named without a slash ("node", "redis-server") is looked up in
 * the PATH of the environment it will run with, not the harness's, as a
 * shell would; an empty entry is the working directory. Not execvpe: it
 * searches the caller's PATH. Returns only on failure, errno EACCES (or
 * whatever stopped a file that was found) if one was found, else ENOENT. */
void pf_server_exec(char *const argv[], char *const envp[])
{
    if (strchr(argv[0], '/')) {
        execve(argv[0], argv, envp);
        return;
    }
    int found = 0;
    char file[PATH_MAX];
    for (const char *p = pf_server_path(envp);;) {
        const char *end = strchrnul(p, ':');
        int n = (int)(end - p);
        int len = snprintf(file, sizeof file, "%.*s%s%s", n, p, n ? "/" : "", argv[0]);
        if (len > 0 && (size_t)len < sizeof file) {
            execve(file, argv, envp);
            if (errno != ENOENT && errno != ENOTDIR && !found)
                found = errno;
        }
        if (!*end)
            break;
        p = end + 1;
    }
    errno = found ? found : ENOENT;
}

static void close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    p[0] = p[1] = -1;
}

int pf_server_spawn(struct pf_server_proc *sp, char *const argv[],
                    const struct pf_server_identity *id, const char *cwd,
                    mode_t umask_, unsigned ops, int contain_fd, char *err, size_t errlen)
{
    static const char *stages[] = {"set up", "redirect output", "enter its directory",
                                   "install the seccomp supervisor", "execute",
                                   "join the scenario's cgroup",
                                   "drop to its user (and prove it)"};
    char where[PATH_MAX + 64] = "", who[64] = "";
    memset(sp, 0, sizeof *sp);
    sp->pidfd = -1;
    sp->stdout_fd = sp->stderr_fd = -1;
    int socks[2] = {-1, -1}, status[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, socks) < 0 ||
        pipe2(status, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
        pipe2(errp, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot start server: %s", strerror(errno));
        close_pair(socks), close_pair(status), close_pair(out), close_pair(errp);
        return -1;
    }
    /* The harness's ends: read by its loop, never blocking it. */
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot fork server: %s", strerror(errno));
        close_pair(socks), close_pair(status), close_pair(out), close_pair(errp);
        return -1;
    }
    if (pid == 0) {
        close(socks[0]);
        close(status[0]);
        child(argv, id, cwd, umask_, ops, socks[1], status[1], contain_fd, out[1], errp[1]);
    }
    close(socks[1]);
    close(status[1]);
    close(out[1]);
    close(errp[1]);
    sp->stdout_fd = out[0];
    sp->stderr_fd = errp[0];
    /* Also set from here: the group must exist before we may signal it. */
    setpgid(pid, pid);
    sp->pid = pid;
    sp->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    sp->sup_sock = socks[0];

    int e[2];
    ssize_t n;
    while ((n = read(status[0], e, sizeof e)) < 0 && errno == EINTR)
        ;
    close(status[0]);
    if (n == (ssize_t)sizeof e) {
        size_t nstages = sizeof stages / sizeof *stages;
        if (e[1] == 2)
            snprintf(where, sizeof where, " %s", cwd);
        if (id->drop && (e[1] == 2 || e[1] == STAGE_DROP))
            snprintf(who, sizeof who, " as uid %ld gid %ld", (long)id->uid, (long)id->gid);
        if (e[1] == 4 && !strchr(argv[0], '/') && e[0] == ENOENT)
            snprintf(err, errlen, "cannot execute %s: not found in the server's PATH (%s)",
                     argv[0], pf_server_path(id->envp));
        else if (e[1] == 4)
            snprintf(err, errlen, "cannot execute %s: %s", argv[0], strerror(e[0]));
        else
            snprintf(err, errlen, "server %s: could not %s%s%s: %s", argv[0],
                     stages[e[1] >= 0 && (size_t)e[1] < nstages ? e[1] : 0], where, who,
                     strerror(e[0]));
        waitpid(pid, &sp->status, 0);
        sp->exited = true;
        close(sp->sup_sock);
        sp->sup_sock = -1;
        if (sp->pidfd >= 0)
            close(sp->pidfd);
        sp->pidfd = -1;
        return -1;
    }
    return 0;
}

bool pf_server_reap(struct pf_server_proc *sp)
{
    if (sp->exited)
        return true;
    if (sp->pid > 0 && waitpid(sp->pid, &sp->status, WNOHANG) == sp->pid)
        sp->exited = true;
    return sp->exited;
}

void pf_server_stop(struct pf_server_proc *sp, int64_t grace_ns,
                    void (*pump)(void *ctx, int timeout_ms), void *ctx)
{
    if (sp->pid <= 0)
        return;
    if (!pf_server_reap(sp)) {
        sp->stopped_by_us = true;
        kill(-sp->pid, SIGTERM);
        int64_t until = pf_clock_ns() + grace_ns;
        while (!pf_server_reap(sp) && pf_clock_ns() < until) {
            /* A server held at a syscall cannot see SIGTERM until the
             * supervisor answers: keep answering while we wait. */
            if (pump)
                pump(ctx, 10);
            else {
                struct pollfd p = {.fd = sp->pidfd, .events = POLLIN};
                poll(&p, 1, 10);
            }
        }
        if (!pf_server_reap(sp)) {
            kill(-sp->pid, SIGKILL);
            waitpid(sp->pid, &sp->status, 0);
            sp->exited = true;
        }
    }
    /* Whatever the server forked may still live in its group. */
    kill(-sp->pid, SIGKILL);
    if (sp->pidfd >= 0)
        close(sp->pidfd);
    sp->pidfd = -1;
    if (sp->sup_sock >= 0)
        close(sp->sup_sock);
    sp->sup_sock = -1;
}
