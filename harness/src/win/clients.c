/* clients.c - the harness's client processes under Wine, from the plan,
 * and the `account` events (under Wine every process is the one user).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../util.h"
#include "win_run.h"
#include "../trace_names.h"

/* Bytes as hex for client.exe's command line ("-" for none): a command
 * line cannot carry every byte (NUL never occurs: the loader refuses it). */
static char *hex_arg(const char *bytes)
{
    if (!bytes)
        return pf_xstrdup("-");
    size_t n = strlen(bytes);
    char *out = pf_xmalloc(2 * n + 1);
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", (unsigned char)bytes[i]);
    out[2 * n] = 0;
    return out;
}

/* A command client (clients[].command): command_client.exe starts the
 * user's program in a kill-on-close job and reports its Windows pid and
 * exit code on the channel; its output goes to client-<account>-<n>.stdout
 * and .stderr in the scenario's store directory. */
static pid_t spawn_command(struct win_run *wr, const struct pf_plan_client *pc)
{
    char name[96], *argv[PF_MAX_ARGV + 4];
    size_t argc = 0;
    int fds[2];
    for (int k = 0; k < 2; k++) {
        snprintf(name, sizeof name, "client-%s-%d.%s", pc->account->name, pc->index,
                 k ? "stderr" : "stdout");
        fds[k] = pf_store_create(wr->run->outdir_fd, name);
    }
    if (fds[0] < 0 || fds[1] < 0) {
        for (int k = 0; k < 2; k++)
            if (fds[k] >= 0)
                close(fds[k]);
        return -1;
    }
    argv[argc++] = pf_xasprintf("%s/command_client.exe", wr->dir);
    argv[argc++] = pf_xstrdup(pc->label);
    argv[argc++] = pf_xstrdup(pc->account->name);
    for (size_t k = 0; pc->argv[k] && argc + 1 < sizeof argv / sizeof *argv; k++) {
        char win[PATH_MAX];
        const char *arg = pc->argv[k];
        if (k == 0 && arg[0] == '/') {   /* a Unix path: its Z: form for CreateProcessW */
            pf_wine_path(arg, win, sizeof win);
            arg = win;
        }
        argv[argc++] = pf_xstrdup(arg);
    }
    argv[argc] = NULL;
    char *env[] = {wr->env_channel, NULL};
    pid_t pid = pf_wine_spawn(wr->wine, argv, env, -1, fds[0], fds[1]);
    for (size_t k = 0; k < argc; k++)
        free(argv[k]);
    close(fds[0]);
    close(fds[1]);
    return pid;
}

void win_start_clients(struct win_run *wr)
{
    char exe[PATH_MAX];
    snprintf(exe, sizeof exe, "%s/client.exe", wr->dir);
    wr->clients_started = true;
    for (size_t i = 0; i < wr->plan.nclients && wr->nclients < MAX_CLIENTS; i++) {
        const struct pf_plan_client *pc = &wr->plan.clients[i];
        struct client_proc *cp = &wr->clients[wr->nclients];
        snprintf(cp->label, sizeof cp->label, "%s", pc->label);
        if (pc->argv) {
            cp->pid = spawn_command(wr, pc);
            if (cp->pid < 0) {
                fprintf(stderr, "pipefault: cannot start client %s: %s\n", cp->label,
                        strerror(errno));
                continue;
            }
            wr->nclients++;
            continue;
        }
        char attempts[24], interval[24], start[24], seed[48];
        snprintf(attempts, sizeof attempts, "%d", pc->spec->attempts);
        snprintf(interval, sizeof interval, "%lld", (long long)pc->spec->interval_ns);
        snprintf(start, sizeof start, "%lld", (long long)pc->spec->start_ns);
        snprintf(seed, sizeof seed, "PF_SEED=%llu", (unsigned long long)pc->seed);
        char read_timeout[24];
        snprintf(read_timeout, sizeof read_timeout, "%lld",
                 (long long)pc->spec->read_timeout_ns);
        char *send = hex_arg(pc->spec->send), *expect = hex_arg(pc->spec->expect);
        char *argv[] = {exe, wr->plan.endpoint, cp->label, pc->spec->account, attempts, interval,
                        start, (char *)pf_client_protocol_name(pc->spec->protocol),
                        read_timeout, send, expect,
                        pc->spec->until_accepting ? "accepting" : "all", NULL};
        char *env[] = {wr->env_channel, seed, NULL};
        cp->pid = pf_wine_spawn(wr->wine, argv, env, -1, -1, STDERR_FILENO);
        free(send);
        free(expect);
        if (cp->pid < 0) {
            fprintf(stderr, "pipefault: cannot start client %s: %s\n", cp->label,
                    strerror(errno));
            continue;
        }
        wr->nclients++;
    }
}

void win_emit_accounts(struct win_run *wr)
{
    const char *user = getenv("USER");
    for (size_t i = 0; i < wr->sc->naccounts; i++) {
        const struct pf_account *a = &wr->sc->accounts[i];
        json_object *f = json_object_new_object();
        json_object_object_add(f, PF_F_NAME, json_object_new_string(a->name));
        /* Wine: every process runs as the one user that runs Wine. */
        json_object_object_add(f, PF_F_USER, json_object_new_string(user ? user : "wine"));
        json_object_object_add(f, PF_F_UID, json_object_new_int64((int64_t)getuid()));
        json_object_object_add(f, PF_F_GID, json_object_new_int64((int64_t)getgid()));
        json_object_object_add(f, PF_F_GROUPS, json_object_new_array());
        json_object_object_add(f, PF_F_ALLOWED, json_object_new_boolean(a->allowed));
        json_object_object_add(f, PF_F_SINGLE_ACCOUNT, json_object_new_boolean(1));
        win_trace_event(wr, PF_EV_ACCOUNT, f);
    }
}
