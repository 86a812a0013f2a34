/* backend.c - the win32 backend: a scenario's server and clients under Wine.
 *
 * The server runs UNMODIFIED inside a launcher that loads the pipefault
 * agent into it before its first instruction (harness/win32/launch.c,
 * agent.c); the agent reports every pipe instance and applies the faults
 * inside the Win32 calls. Clients are harness programs (client.c) that
 * connect on the scenario's schedule. All of them report over one TCP
 * channel (channel.h). This file is the lifecycle and the loop: writes
 * the agent's fault rules, starts the server through the launcher with the
 * plan's argv, polls the channel, and stops everything when the clients are
 * done, the deadline passes or the user interrupts. The lines themselves
 * are agent_events.c's, holds agent_holds.c's, clients clients.c's, and
 * the platform probe probe.c's.
 *
 * Wine runs every process as one account: the platform event says
 * single_account, and the checker reports cross-account expectations as
 * held: null. Running clients as other accounts is launch.exe's --as mode,
 * for Windows (docs/win32.md).
 */
#include "limits.h"
#include "../run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../faults.h"
#include "../util.h"
#include "win_run.h"
#include "wine_cache.h"
#include "../trace_names.h"

/* The agent's rules: those aimed at the server, in the wire form of
 * faults.h, which the agent decodes with the same code. */
static enum pf_run_status write_faults(struct win_run *wr)
{
    snprintf(wr->faults_path, sizeof wr->faults_path, "%s/faults.txt", wr->run->workdir);
    FILE *fp = fopen(wr->faults_path, "we");
    if (!fp) {
        snprintf(wr->run->error, sizeof wr->run->error, "cannot write %.300s: %s", wr->faults_path,
                 strerror(errno));
        return PF_RUN_HARNESS;
    }
    for (size_t i = 0; i < wr->sc->nfaults; i++) {
        const struct pf_fault *f = &wr->sc->faults[i];
        if (f->target && strcmp(f->target, "server"))
            continue;
        char line[PF_FAULT_LINE_MAX];
        if (pf_fault_encode(f, i, line, sizeof line) < 0) {
            snprintf(wr->run->error, sizeof wr->run->error,
                     "%.200s: faults[%zu]: cannot be passed to the Win32 agent (an until name "
                     "with white space, or too long)", wr->sc->file, i);
            fclose(fp);
            return PF_RUN_BROKE;
        }
        fputs(line, fp);
    }
    if (fclose(fp) != 0) {
        snprintf(wr->run->error, sizeof wr->run->error, "cannot write %.300s: %s", wr->faults_path,
                 strerror(errno));
        return PF_RUN_HARNESS;
    }
    return PF_RUN_OK;
}

static enum pf_run_status start_server(struct win_run *wr)
{
    struct pf_run *run = wr->run;
    char agent[PATH_MAX], win[PATH_MAX];
    snprintf(agent, sizeof agent, "%s/pfagent.dll", wr->dir);
    pf_wine_path(agent, win, sizeof win);
    /* launch.exe AGENT PROGRAM ARGS...: the plan's argv, whose program, a
     * Unix path, becomes its Z: path for CreateProcessW. */
    wr->server_argv[wr->server_argc++] = pf_xasprintf("%s/launch.exe", wr->dir);
    wr->server_argv[wr->server_argc++] = pf_xstrdup(win);
    for (size_t i = 0; i < wr->plan.argc && wr->server_argc < 78; i++) {
        const char *arg = wr->plan.argv[i];
        if (i == 0 && arg[0] == '/') {
            pf_wine_path(arg, win, sizeof win);
            arg = win;
        }
        wr->server_argv[wr->server_argc++] = pf_xstrdup(arg);
    }
    wr->server_argv[wr->server_argc] = NULL;

    char errpath[PATH_MAX];
    snprintf(errpath, sizeof errpath, "%s/server.stderr", run->outdir);
    int errfd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int in[2];
    if (errfd < 0 || pipe2(in, O_CLOEXEC) < 0) {
        snprintf(run->error, sizeof run->error, "cannot set up the server's stdio: %s",
                 strerror(errno));
        if (errfd >= 0)
            close(errfd);
        return PF_RUN_HARNESS;
    }
    char *env[] = {wr->env_channel, wr->env_seed, wr->env_faults, NULL};
    wr->server_pid = pf_wine_spawn(wr->wine, wr->server_argv, env, in[0], errfd, errfd);
    close(in[0]);
    close(errfd);
    wr->server_in = in[1];
    if (wr->server_pid < 0) {
        snprintf(run->error, sizeof run->error, "cannot start the server: %s", strerror(errno));
        close(wr->server_in);
        wr->server_in = -1;
        return PF_RUN_HARNESS;
    }
    wr->server_start_ns = pf_clock_ns();
    json_object *argv = json_object_new_array();
    for (size_t i = 0; i < wr->server_argc; i++)
        json_object_array_add(argv, json_object_new_string(wr->server_argv[i]));
    json_object *f = json_object_new_object();
    json_object_object_add(f, PF_F_PID, json_object_new_int(wr->server_pid));
    json_object_object_add(f, PF_F_ARGV, argv);
    json_object_object_add(f, PF_F_UMASK, NULL);
    win_trace_event(wr, PF_EV_SERVER_START, f);
    return PF_RUN_OK;
}

/* ---- the loop --------------------------------------------------------- */

void win_pump(struct win_run *wr, int timeout_ms)
{
    struct pollfd pfd[PF_WIN_MAX_CONNS + 1];
    size_t n = pf_win_channel_pollfds(&wr->ch, pfd, PF_WIN_MAX_CONNS + 1);
    int r = poll(pfd, n, timeout_ms);
    if (r > 0)
        pf_win_channel_dispatch(&wr->ch, pfd, n, win_on_line, wr);
}

static void reap(struct win_run *wr)
{
    int st;
    if (!wr->server_exited && wr->server_pid > 0 && waitpid(wr->server_pid, &st, WNOHANG) > 0) {
        wr->server_exited = true;
        wr->server_status = st;
    }
    for (size_t i = 0; i < wr->nclients; i++)
        if (!wr->clients[i].exited && waitpid(wr->clients[i].pid, &st, WNOHANG) > 0)
            wr->clients[i].exited = true;
}

static bool clients_done(struct win_run *wr)
{
    if (!wr->clients_started)
        return false;
    for (size_t i = 0; i < wr->nclients; i++)
        if (!wr->clients[i].exited)
            return false;
    return pf_win_channel_open_count(&wr->ch, ROLE_CLIENT) == 0;
}

static const char *main_loop(struct win_run *wr)
{
    struct pf_run *run = wr->run;
    for (;;) {
        if (pf_interrupted)
            return "interrupted";
        int64_t now = pf_clock_ns();
        if (now >= run->deadline_ns) {
            snprintf(run->error, sizeof run->error, "timed out after %.1fs (server.timeout)",
                     (double)wr->sc->server.timeout_ns / 1e9);
            return "timeout";
        }
        bool waiting = !wr->ready && !wr->clients_started;
        if (waiting && now >= wr->server_start_ns + wr->sc->server.ready_timeout_ns &&
            wr->foreign[0]) {
            snprintf(run->error, sizeof run->error,
                     "the server created the pipe %.200s but never the run's endpoint %.200s "
                     "within %.1fs: pass it {endpoint}", wr->foreign, wr->plan.endpoint,
                     (double)wr->sc->server.ready_timeout_ns / 1e9);
            return "error";
        }
        if (waiting && now >= wr->server_start_ns + wr->sc->server.ready_timeout_ns) {
            snprintf(run->error, sizeof run->error,
                     "the server created no pipe instance within %.1fs (server.ready_timeout)",
                     (double)wr->sc->server.ready_timeout_ns / 1e9);
            return "error";
        }
        win_pump(wr, 20);
        reap(wr);
        /* after-start squats count from when the server started serving (or
         * gave up), whatever the machine's speed; the clients wait for them. */
        if (!wr->serving_ns && (wr->server_exited ||
                                now >= wr->server_start_ns + wr->sc->server.ready_timeout_ns))
            wr->serving_ns = now;
        if (win_attack_tick(wr, pf_clock_ns()) != PF_RUN_OK) {
            wr->harness_error = true;
            return "error";
        }
        if (wr->ready && !wr->clients_started && win_attack_clients_may_start(wr))
            win_start_clients(wr);
        if (clients_done(wr))
            return "clients-done";
        /* With attackers a server that exits (the name was taken) is judged:
         * the clients run against whoever holds the name. */
        if (wr->server_exited && wr->sc->nattackers) {
            if (!wr->clients_started && win_attack_clients_may_start(wr))
                win_start_clients(wr);
            if (wr->clients_started && !wr->nclients)
                return "clients-done";
        } else if (wr->server_exited) {
            win_pump(wr, 0);
            snprintf(run->error, sizeof run->error,
                     "the server exited (status %d) before the clients were done",
                     WIFEXITED(wr->server_status) ? WEXITSTATUS(wr->server_status) : -1);
            return "server-exited";
        }
    }
}

static bool wait_gone(struct win_run *wr, pid_t pid, bool *exited, int *status, int64_t until)
{
    while (!*exited) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            *exited = true;
            if (status)
                *status = st;
            break;
        }
        if (r < 0 && errno != EINTR) {
            *exited = true;
            break;
        }
        if (pf_clock_ns() >= until)
            return false;
        win_pump(wr, 20);
    }
    return true;
}

/* Stops the server (stdin EOF, then kill), the clients, drains the channel.
 * Anything that would not stop means the prefix is cleaned with wineserver -k. */
static void stop_all(struct win_run *wr)
{
    bool stragglers = false;
    if (wr->server_in >= 0) {
        close(wr->server_in);
        wr->server_in = -1;
    }
    if (wr->server_pid > 0) {
        wr->stopped_by_us = !wr->server_exited;
        if (!wait_gone(wr, wr->server_pid, &wr->server_exited, &wr->server_status,
                       pf_clock_ns() + STOP_GRACE_NS)) {
            kill(-wr->server_pid, SIGKILL);
            kill(wr->server_pid, SIGKILL);
            wait_gone(wr, wr->server_pid, &wr->server_exited, &wr->server_status, INT64_MAX);
            stragglers = true;
        }
    }
    for (size_t i = 0; i < wr->nclients; i++) {
        struct client_proc *cp = &wr->clients[i];
        if (!wait_gone(wr, cp->pid, &cp->exited, NULL, pf_clock_ns() + (cp->exited ? 0 : 200000000LL))) {
            kill(-cp->pid, SIGKILL);
            kill(cp->pid, SIGKILL);
            wait_gone(wr, cp->pid, &cp->exited, NULL, INT64_MAX);
            stragglers = true;
        }
    }
    win_attack_stop(wr);
    stragglers |= wr->attack_stragglers;
    int64_t until = pf_clock_ns() + DRAIN_NS;
    while (pf_win_channel_open_count(&wr->ch, ROLE_AGENT) +
               pf_win_channel_open_count(&wr->ch, ROLE_CLIENT) > 0 &&
           pf_clock_ns() < until)
        win_pump(wr, 20);
    if (stragglers)
        pf_wine_kill_all(wr->wine);
}

static void record_server(struct win_run *wr)
{
    if (wr->server_pid <= 0)
        return;
    int st = wr->server_status;
    bool exited = wr->server_exited;
    json_object *f = json_object_new_object();
    json_object_object_add(f, PF_F_PID, json_object_new_int(wr->server_pid));
    json_object_object_add(f, PF_F_STATUS,
                           exited && WIFEXITED(st) ? json_object_new_int(WEXITSTATUS(st)) : NULL);
    json_object_object_add(f, PF_F_SIGNAL,
                           exited && WIFSIGNALED(st) ? json_object_new_int(WTERMSIG(st)) : NULL);
    json_object_object_add(f, PF_F_EXPECTED, json_object_new_boolean(wr->stopped_by_us));
    win_trace_event(wr, PF_EV_SERVER_EXIT, f);

    json_object *s = json_object_new_object();
    json_object *argv = json_object_new_array();
    for (size_t i = 0; i < wr->server_argc; i++)
        json_object_array_add(argv, json_object_new_string(wr->server_argv[i]));
    json_object_object_add(s, "pid", json_object_new_int(wr->server_pid));
    json_object_object_add(s, "argv", argv);
    json_object_object_add(s, "exit_status", exited && WIFEXITED(st) ? json_object_new_int(WEXITSTATUS(st)) : NULL);
    json_object_object_add(s, "signal", exited && WIFSIGNALED(st) ? json_object_new_int(WTERMSIG(st)) : NULL);
    wr->run->server = s;
}

/* ---- the backend ------------------------------------------------------ */

static const char *win32_unavailable(const struct pf_run_env *env)
{
    return pf_wine_missing(env->win32_dir);
}

static enum pf_run_status win32_run_scenario(struct pf_run *run)
{
    struct win_run *wr = pf_xcalloc(1, sizeof *wr);
    wr->run = run;
    wr->sc = run->sc;
    wr->server_in = -1;
    wr->ch.lfd = -1;
    snprintf(wr->dir, sizeof wr->dir, "%s", run->win32_dir);

    enum pf_run_status rc = PF_RUN_OK;
    const char *reason = "error";
    char err[512];
    const char *missing = pf_wine_missing(wr->dir);
    if (missing) {
        snprintf(run->skip_reason, sizeof run->skip_reason, "%s", missing);
        free(wr);
        return PF_RUN_OK;
    }
    if (wr->sc->endpoint.kind != PF_EP_NPIPE) {
        snprintf(run->error, sizeof run->error, "%s: win32 scenarios need endpoint kind npipe",
                 wr->sc->file);
        free(wr);
        return PF_RUN_BROKE;
    }
    for (size_t i = 0; i < wr->sc->nfaults; i++) {
        const char *target = wr->sc->faults[i].target;
        if (target && strcmp(target, "server")) {
            snprintf(run->error, sizeof run->error,
                     "%.200s: faults[%zu]: faults on the harness's clients (target: %.64s) "
                     "are not supported on win32", wr->sc->file, i, target);
            free(wr);
            return PF_RUN_BROKE;
        }
    }
    /* The plan looks fixtures up in the programs directory itself. */
    char abs_dir[PATH_MAX];
    if (realpath(wr->dir, abs_dir))
        snprintf(wr->dir, sizeof wr->dir, "%s", abs_dir);
    if (pf_plan_build(&wr->plan, run, wr->dir, err, sizeof err) < 0) {
        snprintf(run->error, sizeof run->error, "%s", err);
        free(wr);
        return PF_RUN_BROKE;
    }
    int64_t t_session = pf_clock_ns();
    wr->holds = pf_holds_new();
    wr->wine = pf_wine_session(err, sizeof err);
    if (!wr->wine) {
        snprintf(run->error, sizeof run->error, "%s", err);
        pf_plan_free(&wr->plan);
        win_holds_free(wr);
        free(wr);
        return PF_RUN_HARNESS;
    }
    /* Creating the prefix (first win32 scenario of the run) is Wine's
     * start-up, not the scenario's: it does not count against its timeout
     * nor in its duration, and is told on a line of its own. */
    static bool prefix_told;
    int64_t startup = pf_clock_ns() - t_session;
    run->deadline_ns += startup;
    if (!prefix_told) {
        prefix_told = true;
        run->platform_startup_ns = startup;
        fprintf(stderr, "pipefault: Wine prefix %s started in %.1f s (%s; not counted in the "
                "scenario's duration)\n", wr->wine->prefix, (double)startup / 1e9,
                !wr->wine->from_cache ? "created without the cache" :
                wr->wine->cache_built ? "cache built first" : "copied from the cache");
    }
    if (!pf_win_channel_open(&wr->ch, err, sizeof err)) {
        snprintf(run->error, sizeof run->error, "%s", err);
        rc = PF_RUN_HARNESS;
        goto out;
    }
    snprintf(wr->env_channel, sizeof wr->env_channel, "PF_CHANNEL=127.0.0.1:%d", wr->ch.port);
    snprintf(wr->env_seed, sizeof wr->env_seed, "PF_SEED=%llu", (unsigned long long)run->seed);
    rc = win_probe(wr);
    if (rc == PF_RUN_OK)
        rc = write_faults(wr);
    if (rc == PF_RUN_OK) {
        char win[PATH_MAX];
        pf_wine_path(wr->faults_path, win, sizeof win);
        snprintf(wr->env_faults, sizeof wr->env_faults, "PF_FAULTS=%s", win);
        win_emit_accounts(wr);
        win_attack_init(wr);
        rc = win_attack_before_server(wr);
    }
    if (rc == PF_RUN_OK) {
        rc = start_server(wr);
    }
    if (rc == PF_RUN_OK) {
        reason = main_loop(wr);
        if (strcmp(reason, "clients-done"))
            rc = pf_interrupted || wr->harness_error ? PF_RUN_HARNESS : PF_RUN_BROKE;
        if (!strcmp(reason, "interrupted"))
            snprintf(run->error, sizeof run->error, "interrupted");
    }
    stop_all(wr);
    record_server(wr);
out:;
    json_object *f = json_object_new_object();
    json_object_object_add(f, PF_F_REASON, json_object_new_string(reason));
    win_trace_event(wr, PF_EV_SCENARIO_END, f);
    pf_win_channel_close(&wr->ch);
    for (size_t i = 0; i < wr->server_argc; i++)
        free(wr->server_argv[i]);
    pf_plan_free(&wr->plan);
    win_holds_free(wr);
    free(wr);
    return rc;
}

static enum pf_run_status win32_run(struct pf_run *run)
{
    return win32_run_scenario(run);
}

const struct pf_backend pf_backend_win32 = {
    .name = "win32",
    .platform = PF_PLATFORM_WIN32,
    .check = pf_win32_check,
    .unavailable = win32_unavailable,
    .sweep = pf_wine_clean,
    .clean_cache = pf_wine_cache_clean,
    .run = win32_run,
};
