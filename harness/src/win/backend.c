/* backend.c - the win32 backend: a scenario's server and clients under Wine.
 *
 * The server runs UNMODIFIED inside a launcher that loads the pipefault
 * agent into it before its first instruction (harness/win32/launch.c,
 * agent.c); the agent reports every pipe instance and applies the faults
 * inside the Win32 calls. Clients are harness programs (client.c) that
 * connect on the scenario's schedule. All of them report over one TCP
 * channel (channel.h); this file turns their lines into trace events on the
 * trace clock, releases holds when their `until` happened, and stops
 * everything when the clients are done, the deadline passes or the user
 * interrupts. A probe program first measures the platform's default pipe SD
 * and normalises the intended SDDL the same way (`platform` event).
 *
 * Wine runs every process as one account: the platform event says
 * single_account, and the checker reports cross-account expectations as
 * held: null. Running clients as other accounts is launch.exe's --as mode,
 * for Windows (docs/win32.md).
 */
#include "../run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "channel.h"
#include "wine.h"

#ifndef PF_FIXTURE_DIR
#define PF_FIXTURE_DIR "."
#endif

enum { ROLE_AGENT = 1, ROLE_CLIENT = 2 };

#define STOP_GRACE_NS (3LL * 1000000000LL)
#define DRAIN_NS (1LL * 1000000000LL)
#define MAX_CLIENTS 256
#define MAX_HOLDS 64

struct client_proc {
    pid_t pid;
    bool exited;
    char label[48];
};

struct pending_hold {
    int id;
    struct pf_win_conn *conn;
    char account[128];
    char event[64];
};

struct win_run {
    struct pf_run *run;
    const struct pf_scenario *sc;
    struct pf_wine *wine;
    struct pf_win_channel ch;
    char dir[PATH_MAX / 2];       /* the cross-built programs */
    char pipe[256];               /* \\.\pipe\pipefault-RUN-NAME */
    char faults_path[PATH_MAX / 2];
    char env_channel[64], env_seed[64], env_faults[PATH_MAX + 16];
    char *server_argv[80];
    size_t server_argc;
    pid_t server_pid;
    int server_in;                /* closing it stops a fixture */
    int server_status;
    bool server_exited, stopped_by_us;
    int64_t server_start_ns;
    bool ready;                   /* the server created its first instance */
    struct client_proc clients[MAX_CLIENTS];
    size_t nclients;
    bool clients_started;
    struct pending_hold holds[MAX_HOLDS];
    size_t nholds;
    /* Which instance each client process (Windows pid) last connected to,
     * from the agent's "connected" lines: names the instance of an attempt. */
    struct { int64_t client_pid; int id; } conn_of[MAX_CLIENTS];
    size_t nconn_of;
};

/* ---- small helpers ---------------------------------------------------- */

static void trace_event(struct win_run *wr, const char *ev, json_object *f)
{
    pf_trace_emit(&wr->run->trace, "harness", ev, f);
}

static char *dupf(const char *fmt, const char *a, const char *b)
{
    char buf[PATH_MAX + 64];
    snprintf(buf, sizeof buf, fmt, a, b);
    return strdup(buf);
}

/* The trace time of a Win32 program's clock reading (see pf_win_conn). */
static int64_t to_trace(struct win_run *wr, const struct pf_win_conn *c, int64_t qpc_ns)
{
    int64_t mono = c->clock_raw ? qpc_ns + wr->wine->mono_minus_raw_ns
                                : qpc_ns + c->clock_offset_ns;
    return mono - wr->run->trace.start_ns;
}

static int64_t num(json_object *o, const char *key, int64_t def)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : def;
}

static const char *str(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : NULL;
}

/* ---- holds ------------------------------------------------------------ */

/* Something happened (account did event): release the holds waiting on it. */
static void notify(struct win_run *wr, const char *account, const char *event)
{
    for (size_t i = 0; i < wr->nholds;) {
        struct pending_hold *h = &wr->holds[i];
        if (!strcmp(h->account, account) && !strcmp(h->event, event)) {
            char line[32];
            snprintf(line, sizeof line, "release %d\n", h->id);
            if (!h->conn->eof && pf_win_channel_send(h->conn, line) < 0)
                fprintf(stderr, "pipefault: cannot release hold %d: agent gone\n", h->id);
            wr->holds[i] = wr->holds[--wr->nholds];
            continue;
        }
        i++;
    }
}

static void hold_started(struct win_run *wr, struct pf_win_conn *c, json_object *ev)
{
    const char *acct = str(ev, "until_account"), *what = str(ev, "until_event");
    if (!acct || !what || wr->nholds == MAX_HOLDS)
        return;  /* no `until`: only the timeout ends it, in the agent */
    struct pending_hold *h = &wr->holds[wr->nholds++];
    h->id = (int)num(ev, "hold", 0);
    h->conn = c;
    snprintf(h->account, sizeof h->account, "%s", acct);
    snprintf(h->event, sizeof h->event, "%s", what);
}

static void hold_ended(struct win_run *wr, json_object *ev)
{
    int id = (int)num(ev, "hold", 0);
    for (size_t i = 0; i < wr->nholds; i++)
        if (wr->holds[i].id == id) {
            wr->holds[i] = wr->holds[--wr->nholds];
            return;
        }
}

/* ---- clients ---------------------------------------------------------- */

static void start_clients(struct win_run *wr)
{
    const struct pf_scenario *sc = wr->sc;
    char exe[PATH_MAX];
    snprintf(exe, sizeof exe, "%s/client.exe", wr->dir);
    char *env[] = {wr->env_channel, NULL};
    wr->clients_started = true;
    for (size_t i = 0; i < sc->nclients; i++) {
        const struct pf_client *cl = &sc->clients[i];
        for (int k = 1; k <= cl->count && wr->nclients < MAX_CLIENTS; k++) {
            struct client_proc *cp = &wr->clients[wr->nclients];
            snprintf(cp->label, sizeof cp->label, "%s#%d", cl->account, k);
            char attempts[24], interval[24], start[24];
            snprintf(attempts, sizeof attempts, "%d", cl->attempts);
            snprintf(interval, sizeof interval, "%lld", (long long)cl->interval_ns);
            snprintf(start, sizeof start, "%lld", (long long)cl->start_ns);
            char *argv[] = {exe, wr->pipe, cp->label, cl->account, attempts, interval, start,
                            NULL};
            cp->pid = pf_wine_spawn(wr->wine, argv, env, -1, -1, STDERR_FILENO);
            if (cp->pid < 0) {
                fprintf(stderr, "pipefault: cannot start client %s: %s\n", cp->label,
                        strerror(errno));
                continue;
            }
            wr->nclients++;
        }
    }
}

/* ---- events from the Win32 programs ----------------------------------- */

static void on_hello(struct win_run *wr, struct pf_win_conn *c, json_object *ev)
{
    const char *role = str(ev, "role");
    c->role = role && !strcmp(role, "agent") ? ROLE_AGENT : ROLE_CLIENT;
    const char *label = str(ev, "client");
    snprintf(c->label, sizeof c->label, "%s", label ? label : (role ? role : "?"));
    /* Is this program's QueryPerformanceCounter our CLOCK_MONOTONIC_RAW? A
     * reading taken just before the line was sent must map to a moment just
     * before now. If not (another Wine, real Windows), align on the hello
     * itself: exact to the channel's latency. */
    int64_t qpc = num(ev, "qpc_ns", 0), now = pf_clock_ns();
    int64_t lag = now - (qpc + wr->wine->mono_minus_raw_ns);
    c->clock_raw = lag >= 0 && lag < 2000000000LL;
    c->clock_offset_ns = now - qpc;
}

static void on_line(void *ctx, struct pf_win_conn *c, json_object *ev)
{
    struct win_run *wr = ctx;
    const char *name = str(ev, "ev");
    if (!name)
        return;
    if (!strcmp(name, "hello")) {
        on_hello(wr, c, ev);
        return;
    }
    if (!strcmp(name, "connected")) {
        int64_t pid = num(ev, "client_pid", 0);
        size_t i = 0;
        while (i < wr->nconn_of && wr->conn_of[i].client_pid != pid)
            i++;
        if (i == wr->nconn_of && wr->nconn_of < MAX_CLIENTS)
            wr->nconn_of++;
        /* A second connection of one client process before its attempt
         * ended cannot be told apart: neither is credited (id -1). */
        if (i < wr->nconn_of) {
            bool again = wr->conn_of[i].client_pid == pid;
            wr->conn_of[i].client_pid = pid;
            wr->conn_of[i].id = again ? -1 : (int)num(ev, "id", 0);
        }
        return;
    }
    if (!strcmp(name, "unseen_instance")) {
        if (!wr->run->error[0])
            snprintf(wr->run->error, sizeof wr->run->error,
                     "the server uses pipe handles pipefault did not see created (%.200s); "
                     "pipefault cannot judge this server",
                     str(ev, "how") ? str(ev, "how") : "?");
        return;
    }
    int64_t t = to_trace(wr, c, num(ev, "qpc_ns", 0));
    json_object *f = json_object_new_object();
    json_object_object_foreach(ev, key, val) {
        if (!strcmp(key, "ev") || !strcmp(key, "qpc_ns"))
            continue;
        if (!strcmp(key, "t_end_qpc_ns"))
            json_object_object_add(f, "t_end",
                                   json_object_new_int64(to_trace(wr, c, json_object_get_int64(val))));
        else if (!strcmp(key, "t_call_ns"))
            json_object_object_add(f, "t_call",
                                   json_object_new_int64(to_trace(wr, c, json_object_get_int64(val))));
        else
            json_object_object_add(f, key, json_object_get(val));
    }
    if (!strcmp(name, "attempt") && str(ev, "outcome") && !strcmp(str(ev, "outcome"), "ok")) {
        /* The agent's "connected" line was sent before the server replied,
         * so before this attempt could end. */
        int64_t pid = num(ev, "pid", -1);
        for (size_t i = 0; i < wr->nconn_of; i++)
            if (wr->conn_of[i].client_pid == pid) {
                if (wr->conn_of[i].id > 0)
                    json_object_object_add(f, "instance",
                                           json_object_new_int(wr->conn_of[i].id));
                wr->conn_of[i].client_pid = -1;  /* one attempt per connection */
            }
    }
    pf_trace_emit_at(&wr->run->trace, t, c->role == ROLE_AGENT ? "win-agent" : "win-client",
                     name, f);

    if (!strcmp(name, "instance_birth") && !wr->ready) {
        wr->ready = true;
        start_clients(wr);
    } else if (!strcmp(name, "fault")) {
        const char *d = str(ev, "decision");
        if (d && !strcmp(d, "held"))
            hold_started(wr, c, ev);
        else if (d && (!strcmp(d, "released") || !strcmp(d, "timed-out")))
            hold_ended(wr, ev);
    } else if (!strcmp(name, "attempt")) {
        const char *acct = str(ev, "account"), *outcome = str(ev, "outcome");
        if (acct && outcome) {
            notify(wr, acct, "attempt");
            notify(wr, acct, !strcmp(outcome, "ok") ? "admitted" : "refused");
            if (!strcmp(outcome, "ERROR_ACCESS_DENIED"))
                notify(wr, acct, "denied");
        }
    }
}

/* ---- set-up ----------------------------------------------------------- */

/* Runs probe.exe and emits the `platform` event. */
static int probe(struct win_run *wr)
{
    struct pf_run *run = wr->run;
    char exe[PATH_MAX];
    snprintf(exe, sizeof exe, "%s/probe.exe", wr->dir);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(run->error, sizeof run->error, "pipe: %s", strerror(errno));
        return -2;
    }
    char *argv[] = {exe, wr->sc->intended.sddl, NULL};
    pid_t pid = pf_wine_spawn(wr->wine, argv, NULL, -1, p[1], STDERR_FILENO);
    close(p[1]);
    char out[16384];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof out - 1 && (n = read(p[0], out + len, sizeof out - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        len += (size_t)n;
    }
    out[len] = '\0';
    close(p[0]);
    int st = 0;
    if (pid > 0)
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    json_object *pr = pid > 0 ? json_tokener_parse(out) : NULL;
    if (!pr || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        json_object_put(pr);
        snprintf(run->error, sizeof run->error,
                 "the Win32 probe failed (exit %d): cannot measure the default pipe SD",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return -2;
    }
    json_object *intended = NULL;
    json_object_object_get_ex(pr, "intended", &intended);
    if (intended && str(intended, "error")) {
        snprintf(run->error, sizeof run->error, "%s: intended.sddl: %s", wr->sc->file,
                 str(intended, "error"));
        json_object_put(pr);
        return -1;
    }
    json_object *f = json_object_new_object();
    json_object_object_foreach(pr, key, val) {
        if (strcmp(key, "ev") && strcmp(key, "qpc_ns"))
            json_object_object_add(f, key, json_object_get(val));
    }
    json_object_object_add(f, "wine", json_object_new_string(wr->wine->version));
    json_object_object_add(f, "endpoint", json_object_new_string(wr->pipe));
    json_object_object_add(f, "endpoint_kind", json_object_new_string("npipe"));
    json_object_object_add(f, "clock", json_object_new_string(
        "QueryPerformanceCounter = CLOCK_MONOTONIC_RAW, checked per program"));
    json_object_object_add(f, "prefix_start_ms",
                           json_object_new_int64(wr->wine->first_start_ns / 1000000));
    trace_event(wr, "platform", f);
    json_object_put(pr);
    return 0;
}

static void emit_accounts(struct win_run *wr)
{
    const char *user = getenv("USER");
    for (size_t i = 0; i < wr->sc->naccounts; i++) {
        const struct pf_account *a = &wr->sc->accounts[i];
        json_object *f = json_object_new_object();
        json_object_object_add(f, "name", json_object_new_string(a->name));
        /* Wine: every process runs as the one user that runs Wine. */
        json_object_object_add(f, "user", json_object_new_string(user ? user : "wine"));
        json_object_object_add(f, "uid", json_object_new_int64((int64_t)getuid()));
        json_object_object_add(f, "gid", json_object_new_int64((int64_t)getgid()));
        json_object_object_add(f, "groups", json_object_new_array());
        json_object_object_add(f, "allowed", json_object_new_boolean(a->allowed));
        json_object_object_add(f, "single_account", json_object_new_boolean(1));
        trace_event(wr, "account", f);
    }
}

/* The agent's rules: those aimed at the server, numbers only (agent.c). */
static int write_faults(struct win_run *wr)
{
    snprintf(wr->faults_path, sizeof wr->faults_path, "%s/faults.txt", wr->run->workdir);
    FILE *fp = fopen(wr->faults_path, "we");
    if (!fp) {
        snprintf(wr->run->error, sizeof wr->run->error, "cannot write %.300s: %s", wr->faults_path,
                 strerror(errno));
        return -2;
    }
    for (size_t i = 0; i < wr->sc->nfaults; i++) {
        const struct pf_fault *f = &wr->sc->faults[i];
        if (f->target && strcmp(f->target, "server"))
            continue;
        fprintf(fp, "%zu %d %d %d %lld %lld %lld %d %ld %ld %d %.17g %s %s\n", i, (int)f->op,
                (int)f->phase, (int)f->action, (long long)f->delay_min_ns,
                (long long)f->delay_max_ns, (long long)f->timeout_ns, f->err, f->when_first,
                f->when_step, f->when_onwards ? 1 : 0, f->probability,
                f->until_account ? f->until_account : "-",
                f->until_event ? f->until_event : "-");
    }
    fclose(fp);
    return 0;
}

static int start_server(struct win_run *wr)
{
    struct pf_run *run = wr->run;
    const struct pf_scenario *sc = wr->sc;
    char agent[PATH_MAX], win[PATH_MAX];
    snprintf(agent, sizeof agent, "%s/pfagent.dll", wr->dir);
    pf_wine_path(agent, win, sizeof win);
    wr->server_argv[wr->server_argc++] = dupf("%s/launch.exe", wr->dir, "");
    wr->server_argv[wr->server_argc++] = strdup(win);
    if (sc->server.fixture) {
        char exe[PATH_MAX];
        snprintf(exe, sizeof exe, "%s/%s.exe", wr->dir, sc->server.fixture);
        if (access(exe, R_OK) != 0) {
            snprintf(run->error, sizeof run->error,
                     "%.150s: server.fixture '%.64s': no such built Win32 fixture (%.200s)", sc->file,
                     sc->server.fixture, exe);
            return -1;
        }
        pf_wine_path(exe, win, sizeof win);
        wr->server_argv[wr->server_argc++] = strdup(win);
        wr->server_argv[wr->server_argc++] = strdup(wr->pipe);
        wr->server_argv[wr->server_argc++] = strdup(sc->intended.sddl ? sc->intended.sddl : "D:");
    }
    /* {endpoint} and {rundir} in command and args; a Unix path as the
     * program becomes its Z: path for CreateProcessW. */
    for (int part = 0; part < 2; part++) {
        char **list = part ? sc->server.args : sc->server.command;
        size_t n = part ? sc->server.nargs : sc->server.ncommand;
        for (size_t i = 0; i < n && wr->server_argc < 78; i++) {
            char buf[PATH_MAX * 2];
            size_t o = 0;
            for (const char *s = list[i]; *s && o < sizeof buf - 1;) {
                const char *rep = NULL;
                if (!strncmp(s, "{endpoint}", 10)) {
                    rep = wr->pipe;
                    s += 10;
                } else if (!strncmp(s, "{rundir}", 8)) {
                    rep = run->workdir;
                    s += 8;
                }
                if (rep) {
                    o += (size_t)snprintf(buf + o, sizeof buf - o, "%s", rep);
                    if (o >= sizeof buf)
                        o = sizeof buf - 1;
                } else {
                    buf[o++] = *s++;
                }
            }
            buf[o] = '\0';
            if (!part && i == 0 && buf[0] == '/') {
                pf_wine_path(buf, win, sizeof win);
                wr->server_argv[wr->server_argc++] = strdup(win);
            } else {
                wr->server_argv[wr->server_argc++] = strdup(buf);
            }
        }
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
        return -2;
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
        return -2;
    }
    wr->server_start_ns = pf_clock_ns();
    json_object *argv = json_object_new_array();
    for (size_t i = 0; i < wr->server_argc; i++)
        json_object_array_add(argv, json_object_new_string(wr->server_argv[i]));
    json_object *f = json_object_new_object();
    json_object_object_add(f, "pid", json_object_new_int(wr->server_pid));
    json_object_object_add(f, "argv", argv);
    json_object_object_add(f, "umask", NULL);
    trace_event(wr, "server_start", f);
    return 0;
}

/* ---- the loop --------------------------------------------------------- */

static void pump(struct win_run *wr, int timeout_ms)
{
    struct pollfd pfd[PF_WIN_MAX_CONNS + 1];
    size_t n = pf_win_channel_pollfds(&wr->ch, pfd, PF_WIN_MAX_CONNS + 1);
    int r = poll(pfd, n, timeout_ms);
    if (r > 0)
        pf_win_channel_dispatch(&wr->ch, pfd, n, on_line, wr);
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
        if (!wr->ready && now >= wr->server_start_ns + wr->sc->server.ready_timeout_ns) {
            snprintf(run->error, sizeof run->error,
                     "the server created no pipe instance within %.1fs (server.ready_timeout)",
                     (double)wr->sc->server.ready_timeout_ns / 1e9);
            return "error";
        }
        pump(wr, 20);
        reap(wr);
        if (clients_done(wr))
            return "clients-done";
        if (wr->server_exited) {
            pump(wr, 0);
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
        pump(wr, 20);
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
    int64_t until = pf_clock_ns() + DRAIN_NS;
    while (pf_win_channel_open_count(&wr->ch, ROLE_AGENT) +
               pf_win_channel_open_count(&wr->ch, ROLE_CLIENT) > 0 &&
           pf_clock_ns() < until)
        pump(wr, 20);
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
    json_object_object_add(f, "pid", json_object_new_int(wr->server_pid));
    json_object_object_add(f, "status", exited && WIFEXITED(st) ? json_object_new_int(WEXITSTATUS(st)) : NULL);
    json_object_object_add(f, "signal", exited && WIFSIGNALED(st) ? json_object_new_int(WTERMSIG(st)) : NULL);
    json_object_object_add(f, "expected", json_object_new_boolean(wr->stopped_by_us));
    trace_event(wr, "server_exit", f);

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
    char dir[PATH_MAX];
    pf_wine_programs_dir(env->fixture_dir ? env->fixture_dir : PF_FIXTURE_DIR, dir, sizeof dir);
    return pf_wine_missing(dir);
}

static int win32_run_scenario(struct pf_run *run)
{
    struct win_run *wr = calloc(1, sizeof *wr);
    if (!wr) {
        snprintf(run->error, sizeof run->error, "out of memory");
        return -2;
    }
    wr->run = run;
    wr->sc = run->sc;
    wr->server_in = -1;
    wr->ch.lfd = -1;
    pf_wine_programs_dir(run->fixture_dir ? run->fixture_dir : PF_FIXTURE_DIR, wr->dir,
                         sizeof wr->dir);
    snprintf(wr->pipe, sizeof wr->pipe, "\\\\.\\pipe\\pipefault-%s-%s", run->run_id,
             wr->sc->endpoint.path ? wr->sc->endpoint.path : "pipe");

    int rc = 0;
    const char *reason = "error";
    char err[512];
    const char *missing = pf_wine_missing(wr->dir);
    if (missing) {
        snprintf(run->skip_reason, sizeof run->skip_reason, "%s", missing);
        free(wr);
        return 0;
    }
    if (wr->sc->endpoint.kind != PF_EP_NPIPE) {
        snprintf(run->error, sizeof run->error, "%s: win32 scenarios need endpoint kind npipe",
                 wr->sc->file);
        free(wr);
        return -1;
    }
    for (size_t i = 0; i < wr->sc->nfaults; i++) {
        const char *target = wr->sc->faults[i].target;
        if (target && strcmp(target, "server")) {
            snprintf(run->error, sizeof run->error,
                     "%.200s: faults[%zu]: faults on the harness's clients (target: %.64s) "
                     "are not supported on win32", wr->sc->file, i, target);
            free(wr);
            return -1;
        }
    }
    int64_t t_session = pf_clock_ns();
    wr->wine = pf_wine_session(err, sizeof err);
    if (!wr->wine) {
        snprintf(run->error, sizeof run->error, "%s", err);
        free(wr);
        return -2;
    }
    /* Creating the prefix (first win32 scenario of the run) is Wine's
     * start-up, not the scenario's: it does not count against its timeout. */
    run->deadline_ns += pf_clock_ns() - t_session;
    if (pf_win_channel_open(&wr->ch, err, sizeof err) < 0) {
        snprintf(run->error, sizeof run->error, "%s", err);
        rc = -2;
        goto out;
    }
    snprintf(wr->env_channel, sizeof wr->env_channel, "PF_CHANNEL=127.0.0.1:%d", wr->ch.port);
    snprintf(wr->env_seed, sizeof wr->env_seed, "PF_SEED=%llu", (unsigned long long)run->seed);
    rc = probe(wr);
    if (rc == 0)
        rc = write_faults(wr);
    if (rc == 0) {
        char win[PATH_MAX];
        pf_wine_path(wr->faults_path, win, sizeof win);
        snprintf(wr->env_faults, sizeof wr->env_faults, "PF_FAULTS=%s", win);
        emit_accounts(wr);
        rc = start_server(wr);
    }
    if (rc == 0) {
        reason = main_loop(wr);
        if (strcmp(reason, "clients-done"))
            rc = pf_interrupted ? -2 : -1;
        if (!strcmp(reason, "interrupted"))
            snprintf(run->error, sizeof run->error, "interrupted");
    }
    stop_all(wr);
    record_server(wr);
out:;
    json_object *f = json_object_new_object();
    json_object_object_add(f, "reason", json_object_new_string(reason));
    trace_event(wr, "scenario_end", f);
    pf_win_channel_close(&wr->ch);
    for (size_t i = 0; i < wr->server_argc; i++)
        free(wr->server_argv[i]);
    free(wr);
    return rc;
}

static enum pf_run_status win32_run(struct pf_run *run)
{
    int rc = win32_run_scenario(run);
    return rc == 0 ? PF_RUN_OK : rc == -2 ? PF_RUN_HARNESS : PF_RUN_BROKE;
}

const struct pf_backend pf_backend_win32 = {
    .name = "win32",
    .platform = PF_PLATFORM_WIN32,
    .unavailable = win32_unavailable,
    .sweep = pf_wine_clean,
    .run = win32_run,
};
