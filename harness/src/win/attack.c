/* attack.c - a win32 run's attackers: squatter.exe and first_server.exe
 * under Wine.
 *
 * The same attacks as on Linux (docs/attackers.md), with Windows programs:
 * the squatter (harness/win32/squatter.c) creates the run's pipe with a
 * NULL DACL and serves it; for run-server, first_server.exe starts the
 * server's own command without the agent and tells its pid. Both report on
 * the host channel like every other Win32 program. Here: when each one
 * starts (before the server, waiting for the hold that places an in-gap
 * squat, or DELAY after the server started serving), what its lines mean
 * as trace events (src "attacker", as on Linux), who served an attempt
 * (served_by.c, from the pid the client read with
 * GetNamedPipeServerProcessId), and that every one is gone at the end.
 *
 * Under Wine every process runs as the one account: an attacker's account
 * is the scenario's name for it, not another Windows user, and a
 * run-server copy is the same program under the same account, started
 * earlier. What the squatter can do to a client (impersonate it) is
 * measured all the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../served_by.h"
#include "../util.h"
#include "win_run.h"
#include "../trace_names.h"

static json_object *base_fields(const struct win_run *wr, size_t i)
{
    const struct pf_attacker *a = &wr->sc->attackers[i];
    json_object *o = json_object_new_object();
    json_object_object_add(o, "account", json_object_new_string(a->account));
    json_object_object_add(o, "action", json_object_new_string(pf_attack_action_name(a->action)));
    json_object_object_add(o, "when", json_object_new_string(pf_attack_when_name(a->when)));
    json_object_object_add(o, "pid", json_object_new_int(wr->sq[i].pid));
    json_object_object_add(o, "win_pid", wr->sq[i].win_pid > 0 ?
                           json_object_new_int64(wr->sq[i].win_pid) : NULL);
    return o;
}

/* Starts attacker i's program: squatter.exe (wait_go: for an in-gap squat),
 * or for run-server first_server.exe with the server's own command line (the
 * plan's argv, its program as a Z: path), without the agent. */
static int start_squatter(struct win_run *wr, size_t i, bool wait_go)
{
    struct pf_run *run = wr->run;
    const struct pf_attacker *a = &wr->sc->attackers[i];
    struct win_squatter *sq = &wr->sq[i];
    bool run_server = a->action == PF_ATTACK_RUN_SERVER;
    char errpath[PATH_MAX];
    snprintf(errpath, sizeof errpath, "%s/attacker-%s.stderr", run->outdir, a->account);
    int errfd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    int in[2];
    if (errfd < 0 || pipe2(in, O_CLOEXEC) < 0) {
        snprintf(run->error, sizeof run->error, "cannot set up attacker %s's stdio: %s",
                 a->account, strerror(errno));
        if (errfd >= 0)
            close(errfd);
        return -1;
    }
    char *argv[84];
    size_t argc = 0;
    argv[argc++] = pf_xasprintf("%s/%s", wr->dir, run_server ? "first_server.exe" :
                                "squatter.exe");
    argv[argc++] = pf_xstrdup(wr->plan.endpoint);
    argv[argc++] = pf_xstrdup(a->account);
    if (!run_server)
        argv[argc++] = pf_xstrdup(wait_go ? "wait" : "now");
    for (size_t k = 0; run_server && k < wr->plan.argc && argc + 1 < sizeof argv / sizeof *argv;
         k++) {
        char win[PATH_MAX];
        const char *arg = wr->plan.argv[k];
        if (k == 0 && arg[0] == '/') {
            pf_wine_path(arg, win, sizeof win);
            arg = win;
        }
        argv[argc++] = pf_xstrdup(arg);
    }
    argv[argc] = NULL;
    char *env[] = {wr->env_channel, NULL};
    /* A server copy's output goes where its errors go, like the server's. */
    sq->pid = pf_wine_spawn(wr->wine, argv, env, in[0], run_server ? errfd : -1, errfd);
    for (size_t k = 0; k < argc; k++)
        free(argv[k]);
    close(in[0]);
    close(errfd);
    sq->in_fd = in[1];
    if (sq->pid < 0) {
        snprintf(run->error, sizeof run->error, "cannot start attacker %s: %s", a->account,
                 strerror(errno));
        close(sq->in_fd);
        sq->in_fd = -1;
        return -1;
    }
    sq->started = true;
    sq->started_ns = pf_clock_ns();
    pf_trace_emit(&run->trace, "attacker", "attacker_start", base_fields(wr, i));
    return 0;
}

void win_attack_init(struct win_run *wr)
{
    size_t n = wr->sc->nattackers ? wr->sc->nattackers : 1;
    wr->sq = pf_xcalloc(n, sizeof *wr->sq);
    for (size_t i = 0; i < wr->sc->nattackers; i++)
        wr->sq[i].in_fd = -1;
}

enum pf_run_status win_attack_before_server(struct win_run *wr)
{
    const struct pf_scenario *sc = wr->sc;
    int64_t deadline = pf_clock_ns() + sc->server.ready_timeout_ns;
    for (size_t i = 0; i < sc->nattackers; i++) {
        const struct pf_attacker *a = &sc->attackers[i];
        bool run_server = a->action == PF_ATTACK_RUN_SERVER;
        if (!run_server && a->when != PF_ATTACK_BEFORE_SERVER && a->when != PF_ATTACK_IN_GAP)
            continue;
        if (start_squatter(wr, i, a->when == PF_ATTACK_IN_GAP) < 0)
            return PF_RUN_HARNESS;
        if (a->when == PF_ATTACK_IN_GAP)
            continue;
        /* The server starts once the squat was made or refused. */
        struct win_squatter *sq = &wr->sq[i];
        while (!sq->reported && !pf_interrupted && pf_clock_ns() < deadline) {
            int st;
            if (!sq->exited && waitpid(sq->pid, &st, WNOHANG) == sq->pid) {
                /* Its last lines may still be on the way: read them first. */
                sq->exited = true;
                sq->status = st;
                deadline = pf_clock_ns() + DRAIN_NS;
            }
            win_pump(wr, 20);
        }
        if (pf_interrupted) {
            snprintf(wr->run->error, sizeof wr->run->error, "interrupted");
            return PF_RUN_HARNESS;
        }
        if (!sq->reported && run_server) {
            /* As on Linux: a copy that never listened is a fact of the run,
             * judged with the rest (the real server still starts). */
            json_object *o = base_fields(wr, i);
            json_object_object_add(o, "outcome", json_object_new_string(sq->exited ? "exited"
                                                                        : "timeout"));
            json_object_object_add(o, "errno", json_object_new_int(0));
            json_object_object_add(o, "key", NULL);
            json_object_object_add(o, "created_name", NULL);
            pf_trace_emit(&wr->run->trace, "attacker", "squat", o);
            sq->reported = true;
        }
        if (!sq->reported) {
            snprintf(wr->run->error, sizeof wr->run->error, "attacker %s's squatter did not "
                     "report its squat within %.1fs (server.ready_timeout)", a->account,
                     (double)sc->server.ready_timeout_ns / 1e9);
            return PF_RUN_HARNESS;
        }
    }
    return PF_RUN_OK;
}

void win_attack_held(struct win_run *wr, long rule)
{
    for (size_t i = 0; i < wr->sc->nattackers; i++) {
        struct win_squatter *sq = &wr->sq[i];
        if (wr->sc->attackers[i].gap_rule != rule || !sq->started || sq->told_go ||
            sq->in_fd < 0)
            continue;
        sq->told_go = true;
        if (write(sq->in_fd, "go\n", 3) != 3)
            fprintf(stderr, "pipefault: cannot tell attacker %s to go: %s\n",
                    wr->sc->attackers[i].account, strerror(errno));
    }
}

enum pf_run_status win_attack_tick(struct win_run *wr, int64_t now)
{
    const struct pf_scenario *sc = wr->sc;
    for (size_t i = 0; wr->serving_ns && i < sc->nattackers; i++) {
        const struct pf_attacker *a = &sc->attackers[i];
        struct win_squatter *sq = &wr->sq[i];
        if (a->when != PF_ATTACK_AFTER_START || a->action != PF_ATTACK_SQUAT)
            continue;
        if (!sq->started && now >= pf_ns_add_sat(wr->serving_ns, a->delay_ns) &&
            start_squatter(wr, i, false) < 0)
            return PF_RUN_HARNESS;
        if (sq->started && !sq->reported && !sq->exited &&
            now >= sq->started_ns + sc->server.ready_timeout_ns) {
            snprintf(wr->run->error, sizeof wr->run->error, "attacker %s's squatter did not "
                     "report its squat within %.1fs (server.ready_timeout)", a->account,
                     (double)sc->server.ready_timeout_ns / 1e9);
            return PF_RUN_HARNESS;
        }
    }
    return PF_RUN_OK;
}

bool win_attack_clients_may_start(struct win_run *wr)
{
    for (size_t i = 0; i < wr->sc->nattackers; i++) {
        struct win_squatter *sq = &wr->sq[i];
        if (wr->sc->attackers[i].when != PF_ATTACK_AFTER_START || sq->reported)
            continue;
        int st;
        if (sq->started && !sq->exited && waitpid(sq->pid, &st, WNOHANG) == sq->pid) {
            sq->exited = true;   /* gone without a squat: nothing more to wait for */
            sq->status = st;
        }
        if (!sq->exited)
            return false;
    }
    return true;
}

/* The attacker whose squatter this connection is (its hello named it). */
static long squatter_of(struct win_run *wr, const struct pf_win_conn *c)
{
    for (size_t i = 0; i < wr->sc->nattackers; i++)
        if (!strcmp(wr->sc->attackers[i].account, c->label))
            return (long)i;
    return -1;
}

void win_attack_client_hello(struct win_run *wr, json_object *ev)
{
    const char *account = pf_json_str(ev, PF_F_ACCOUNT);
    if (!account || wr->nclient_pids >= MAX_CLIENTS)
        return;
    wr->client_pids[wr->nclient_pids].pid = pf_json_int(ev, PF_F_PID, 0);
    snprintf(wr->client_pids[wr->nclient_pids].account,
             sizeof wr->client_pids[wr->nclient_pids].account, "%s", account);
    wr->nclient_pids++;
}

static const char *account_of_pid(const struct win_run *wr, int64_t pid)
{
    for (size_t i = 0; i < wr->nclient_pids; i++)
        if (wr->client_pids[i].pid == pid)
            return wr->client_pids[i].account;
    return NULL;
}

void win_attack_line(struct win_run *wr, struct pf_win_conn *c, const char *name,
                     json_object *ev, int64_t t)
{
    long i = squatter_of(wr, c);
    if (i < 0)
        return;
    struct win_squatter *sq = &wr->sq[i];
    const char *account = wr->sc->attackers[i].account;
    if (!strcmp(name, "hello")) {
        sq->win_pid = pf_json_int(ev, PF_F_PID, 0);
        return;
    }
    json_object *o = base_fields(wr, (size_t)i);
    if (!strcmp(name, "squat")) {
        const char *outcome = pf_json_str(ev, PF_F_OUTCOME), *key = pf_json_str(ev, "key");
        sq->reported = true;
        sq->squatted = outcome && !strcmp(outcome, "ok");
        json_object_object_add(o, "outcome", json_object_new_string(outcome ? outcome : "?"));
        json_object_object_add(o, "errno", json_object_new_int64(pf_json_int(ev, "errno", 0)));
        json_object_object_add(o, "key", key ? json_object_new_string(key) : NULL);
        json_object_object_add(o, "created_name", json_object_get(pf_json_get(ev,
                                                                              "created_name")));
        pf_trace_emit_at(&wr->run->trace, t, "attacker", "squat", o);
        /* Made or refused, the squat is over: an in-gap hold ends here. */
        pf_holds_event(wr->holds, account, PF_SQUAT_EVENT, t);
    } else if (!strcmp(name, "squatter_connection")) {
        int64_t peer = pf_json_int(ev, "peer_pid", 0);
        const char *acc = account_of_pid(wr, peer);
        json_object_object_add(o, "peer_pid", json_object_new_int64(peer));
        json_object_object_add(o, "peer_account", acc ? json_object_new_string(acc) : NULL);
        json_object_object_add(o, "bytes", json_object_new_int64(pf_json_int(ev, "bytes", 0)));
        /* The same count under the name Linux uses: what the client sent. */
        json_object_object_add(o, "bytes_received",
                               json_object_new_int64(pf_json_int(ev, "bytes", 0)));
        json_object_object_add(o, "impersonated",
                               json_object_get(pf_json_get(ev, "impersonated")));
        json_object_object_add(o, "impersonation_level",
                               json_object_get(pf_json_get(ev, "impersonation_level")));
        json_object_object_add(o, "impersonation_error",
                               json_object_get(pf_json_get(ev, "impersonation_error")));
        pf_trace_emit_at(&wr->run->trace, t, "attacker", "squatter_connection", o);
    } else {
        json_object_put(o);
    }
}

static bool same_process(long peer, long pid)
{
    return peer == pid;
}

const char *win_attack_served_by(const struct win_run *wr, int64_t peer, char *buf, size_t n)
{
    struct pf_party parties[MAX_CLIENTS];
    size_t np = 0;
    for (size_t i = 0; wr->sq && i < wr->sc->nattackers && np + 1 < MAX_CLIENTS; i++)
        if (wr->sq[i].started)
            parties[np++] = (struct pf_party){(long)wr->sq[i].win_pid,
                                              wr->sc->attackers[i].account};
    parties[np++] = (struct pf_party){(long)wr->server_win_pid, NULL};
    return pf_served_by((long)peer, parties, np, same_process, buf, n);
}

void win_attack_stop(struct win_run *wr)
{
    if (!wr->sq)
        return;
    int64_t until = pf_clock_ns() + STOP_GRACE_NS;
    for (size_t i = 0; i < wr->sc->nattackers; i++)
        if (wr->sq[i].in_fd >= 0) {
            close(wr->sq[i].in_fd);   /* end of stdin ends a squatter */
            wr->sq[i].in_fd = -1;
        }
    for (size_t i = 0; i < wr->sc->nattackers; i++) {
        struct win_squatter *sq = &wr->sq[i];
        if (!sq->started)
            continue;
        bool was_running = !sq->exited;
        while (!sq->exited) {
            int st;
            pid_t r = waitpid(sq->pid, &st, WNOHANG);
            if (r == sq->pid || (r < 0 && errno != EINTR)) {
                sq->exited = true;
                sq->status = r == sq->pid ? st : 0;
                break;
            }
            if (pf_clock_ns() >= until) {
                kill(-sq->pid, SIGKILL);
                kill(sq->pid, SIGKILL);
                while (waitpid(sq->pid, &st, 0) < 0 && errno == EINTR)
                    ;
                sq->exited = true;
                sq->status = st;
                wr->attack_stragglers = true;
                break;
            }
            win_pump(wr, 20);
        }
        json_object *o = base_fields(wr, i);
        pf_json_add_wait_status(o, sq->status);
        json_object_object_add(o, "stopped_by_harness", json_object_new_boolean(was_running));
        pf_trace_emit(&wr->run->trace, "attacker", "attacker_exit", o);
        sq->started = false;
    }
    free(wr->sq);
    wr->sq = NULL;
}
