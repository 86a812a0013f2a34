/* command_client.c - a client that is the user's own program.
 *
 * The harness's clients show what the permissions admit; a command client
 * shows what a real client program or library does when someone else
 * answers at the endpoint: verify the peer and hang up, or trust it. The
 * program runs as the client's account through the same verified privilege
 * drop as the harness's clients (a client left as root would reach
 * anything), in its own process group, killed and waited for with the
 * others. The harness cannot see inside it: it records only its pid and
 * exit status; what it sent to an attacker is the squatters' record.
 */
#include "command_client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../run.h"
#include "server.h"

/* Its stdout and stderr files in the scenario's store directory, never
 * through a link, never an existing file. */
static int open_output(int dirfd, const char *label, const char *ext)
{
    char name[96];
    snprintf(name, sizeof name, "client-%s.%s", label, ext);
    for (char *c = name; *c; c++)
        if (*c == '#')
            *c = '-';
    return pf_store_create(dirfd, name);
}

int pf_command_client_spawn(struct pf_client_proc *cp, const struct pf_plan_client *pc,
                            const struct pf_user *u, int outdir_fd, const char *cwd,
                            char *err, size_t errlen)
{
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = open_output(outdir_fd, pc->label, "stdout");
    int errf = open_output(outdir_fd, pc->label, "stderr");
    if (in < 0 || out < 0 || errf < 0) {
        snprintf(err, errlen, "client %s: cannot open its output files: %s", pc->label,
                 strerror(errno));
        goto closing;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot start client %s: %s", pc->label, strerror(errno));
        goto closing;
    }
    if (pid == 0) {
        pf_child_detach(false);
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errf, 2) < 0 ||
            pf_close_inherited(0, 1) < 0 || pf_drop_privileges(u) < 0 || chdir(cwd) < 0)
            _exit(126);
        prctl(PR_SET_PDEATHSIG, SIGKILL);   /* after the drop, which clears it */
        /* Never the harness's (root's) environment: what a server gets,
         * for this account, at home in the run directory. */
        char home[PATH_MAX + 8], user[48], logname[48];
        snprintf(home, sizeof home, "HOME=%s", cwd);
        snprintf(user, sizeof user, "USER=%s", u->name);
        snprintf(logname, sizeof logname, "LOGNAME=%s", u->name);
        char *envp[] = {"PATH=" PF_SERVER_PATH, home, user, logname, "SHELL=/bin/sh",
                        "LANG=C.UTF-8", NULL};
        pf_server_exec(pc->argv, envp);
        _exit(127);
    }
    setpgid(pid, pid);   /* also here: no window where it shares ours */
    close(in), close(out), close(errf);
    memset(cp, 0, sizeof *cp);
    cp->pid = pid;
    cp->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    cp->report_fd = cp->control_fd = -1;
    cp->eof = true;      /* no report pipe: its exit is all it says */
    cp->plan = pc;
    cp->held_rule = -1;
    return 0;
closing:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (errf >= 0)
        close(errf);
    return -1;
}
