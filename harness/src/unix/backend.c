/* backend.c - runs one Linux scenario: accounts, server, observer, clients.
 *
 * One thread, one poll() loop, in the manner of an event loop: the inotify
 * fd, the supervisor's notification fd, the server's and clients' pidfds
 * and the clients' report pipes. Nothing blocks the loop: a delayed or held
 * server syscall is simply a notification not yet answered, and a held
 * client waits for a byte on its control pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../holds.h"
#include "limits.h"
#include "../plan.h"
#include "../run.h"
#include "../util.h"
#include "accounts.h"
#include "capture.h"
#include "attack.h"
#include "client.h"
#include "command_client.h"
#include "contain.h"
#include "observer.h"
#include "perms.h"
#include "server.h"
#include "server_identity.h"
#include "supervisor.h"
#include "syscalls.h"
#include "../trace_names.h"

#define STOP_GRACE_NS 2000000000LL
#define CONTAIN_WAIT_NS 5000000000LL     /* for SIGKILLed processes to be gone */
#define PROGRESS_EVERY_NS 5000000000LL   /* a line on stderr for long scenarios */

struct linux_run {
    struct pf_run *run;
    const struct pf_scenario *sc;
    struct pf_plan plan;
    struct pf_accounts accounts;
    struct pf_observer obs;
    struct pf_server_proc server;
    struct pf_server_who who;   /* the server's user, environment, directory */
    struct pf_supervisor *sup;
    struct pf_client_proc clients[PF_MAX_CLIENT_PROCS];
    size_t nclients;
    bool clients_started;
    bool has_command_clients;   /* some client is the user's program */
    bool clients_timed_out;  /* a client ran out of time before its schedule ended */
    long attempts;           /* attempts reported so far, for progress lines */
    int64_t next_progress_ns;
    bool harness_error;      /* the run cannot go on here at all (exit 3) */
    struct pf_holds *holds;  /* the clients' holds */
    bool told_accepting;     /* what the clients were last told */
    int64_t server_start_ns;
    struct pf_contain contain;        /* the server and all it starts */
    struct pf_capture out, err;       /* its stdout and stderr */
    bool captures_open;
    bool daemon_checked;     /* the main process's exit was looked at */
    pid_t daemon_pid;        /* the main process exited 0, this one goes on */
    int daemon_pidfd;        /* -1 once it is gone */
    struct pf_attack attack;  /* the scenario's attackers (docs/attackers.md) */
    int baseline;             /* instances already there when the server started */
    int64_t serving_ns;       /* the server's endpoint first accepted (or it gave up) */
};

/* Scenarios of one run get distinct cgroup names. */
static unsigned scenario_seq;

/* Linux scenarios create real accounts and run clients as them. */
static int linux_begin_run(const struct pf_run_env *env, char *err, size_t errlen)
{
    if (geteuid() != 0) {
        snprintf(err, errlen, "Linux scenarios need root: the harness creates real accounts "
                 "and runs clients as them (try sudo)");
        return -1;
    }
    return pf_run_mark(env->run_id, err, errlen);
}

static void linux_end_run(const struct pf_run_env *env)
{
    /* Before the marker goes: a sweep must never see a cgroup of a run
     * whose marker is gone while the run still lives. */
    pf_contain_end_run(env->run_id);
    pf_run_unmark(env->run_id);
}

/* Processes first: an account with a process still running cannot be
 * removed. */
static int linux_sweep(void)
{
    if (geteuid() != 0)
        return 0;
    int n = pf_contain_sweep();
    int m = pf_accounts_sweep();
    return n > m ? n : m;
}

static void trace_event(struct linux_run *lr, const char *ev, json_object *f)
{
    pf_trace_emit(&lr->run->trace, PF_SRC_HARNESS, ev, f);
}

static json_object *intended_reference(struct linux_run *lr, char *err, size_t errlen)
{
    const struct pf_scenario *sc = lr->sc;
    json_object *ref = json_object_new_object();
    if (sc->intended.mode >= 0) {
        char m[8];
        pf_mode_string((mode_t)sc->intended.mode, m);
        json_object_object_add(ref, PF_PERM_MODE, json_object_new_string(m));
    }
    uid_t uid = lr->who.id.uid;   /* "server": the server's own user */
    if (sc->intended.owner && strcmp(sc->intended.owner, "server")) {
        const struct pf_user *u = pf_accounts_user(&lr->accounts, sc->intended.owner);
        uid = u ? u->uid : 0;
    }
    json_object_object_add(ref, PF_PERM_UID, json_object_new_int64(uid));
    if (sc->intended.group) {
        gid_t gid = 0;
        pf_accounts_gid(&lr->accounts, sc->intended.group, &gid);
        json_object_object_add(ref, PF_PERM_GID, json_object_new_int64(gid));
    }
    char *entries = pf_plan_acl_entries(lr->run, err, errlen);
    if (!entries) {
        json_object_put(ref);
        return NULL;
    }
    json_object_object_add(ref, PF_PERM_ACL_NAMED, pf_acl_named_entries(entries));
    free(entries);
    return ref;
}

static int setup(struct linux_run *lr)
{
    struct pf_run *run = lr->run;
    const struct pf_scenario *sc = lr->sc;
    char err[512];
    if (geteuid() != 0) {
        snprintf(run->error, sizeof run->error,
                 "Linux scenarios need root: they create real accounts and run clients as them");
        return -2;
    }
    const char *why = pf_supervisor_unsupported();
    if (why) {
        snprintf(run->error, sizeof run->error, "seccomp supervisor unavailable: %s", why);
        return -2;
    }
    if (pf_accounts_create(&lr->accounts, sc, run->run_id, err, sizeof err) < 0) {
        snprintf(run->error, sizeof run->error, "creating accounts: %s", err);
        return -2;
    }
    if (pf_plan_build(&lr->plan, run, "posix", err, sizeof err) < 0) {
        snprintf(run->error, sizeof run->error, "%s", err);
        return -1;
    }
    for (size_t i = 0; i < lr->plan.nclients; i++)
        lr->has_command_clients |= lr->plan.clients[i].argv != NULL;
    if (lr->plan.endpoint_dir[0] && mkdir(lr->plan.endpoint_dir, 0755) < 0) {
        snprintf(run->error, sizeof run->error, "mkdir %s: %s", lr->plan.endpoint_dir,
                 strerror(errno));
        return -2;
    }
    if (lr->plan.endpoint_dir[0])
        chmod(lr->plan.endpoint_dir, sc->endpoint.dir_mode > 0 ?
                                     (mode_t)sc->endpoint.dir_mode : 0755);
    /* The server's user must be able to work in the run directory and
     * create its endpoint; its files are there before it starts. */
    if (pf_server_who_resolve(&lr->who, run, &lr->plan, &lr->accounts, err, sizeof err) < 0) {
        snprintf(run->error, sizeof run->error, "%s", err);
        return -1;
    }
    if (pf_server_dirs_prepare(&lr->who, run, &lr->plan, err, sizeof err) < 0 ||
        pf_server_files_write(&lr->who, run, &lr->plan, &lr->accounts, err, sizeof err) < 0) {
        snprintf(run->error, sizeof run->error, "%s", err);
        return -2;
    }
    if (pf_observer_open(&lr->obs, &run->trace, lr->plan.endpoint, sc->endpoint.kind, err,
                         sizeof err) < 0) {
        snprintf(run->error, sizeof run->error, "%s", err);
        return -2;
    }
    lr->obs.umask_ = (mode_t)sc->server.umask;
    lr->obs.start_umask = (mode_t)sc->server.umask;

    /* What this run holds as intended and as default. */
    json_object *intended = intended_reference(lr, err, sizeof err);
    if (!intended) {
        snprintf(run->error, sizeof run->error, "%s: %s", sc->file, err);
        return -1;
    }
    struct utsname un;
    uname(&un);
    char um[8];
    snprintf(um, sizeof um, "%04o", (unsigned)sc->server.umask);
    json_object *f = json_object_new_object();
    json_object_object_add(f, PF_F_OS, json_object_new_string("linux"));
    json_object_object_add(f, PF_F_VERSION, json_object_new_string(un.release));
    json_object_object_add(f, PF_F_SINGLE_ACCOUNT, json_object_new_boolean(0));
    json_object_object_add(f, PF_F_UMASK, json_object_new_string(um));
    json_object_object_add(f, PF_F_ENDPOINT, json_object_new_string(lr->obs.path));
    json_object_object_add(f, PF_F_ENDPOINT_KIND,
                           json_object_new_string(pf_endpoint_kind_name(sc->endpoint.kind)));
    json_object_object_add(f, PF_F_INTENDED, intended);
    json_object_object_add(f, PF_F_DEFAULT,
                           sc->endpoint.kind == PF_EP_ABSTRACT ? NULL :
                           pf_perm_default(lr->plan.endpoint_dir,
                                           sc->endpoint.kind != PF_EP_FIFO,
                                           (mode_t)sc->server.umask, lr->who.id.uid,
                                           lr->who.id.gid));
    trace_event(lr, PF_EV_PLATFORM, f);

    for (size_t i = 0; i < sc->naccounts; i++) {
        const struct pf_user *u = pf_accounts_user(&lr->accounts, sc->accounts[i].name);
        json_object *a = json_object_new_object();
        json_object_object_add(a, PF_F_NAME, json_object_new_string(sc->accounts[i].name));
        json_object_object_add(a, PF_F_USER, json_object_new_string(u->name));
        json_object_object_add(a, PF_F_UID, json_object_new_int64(u->uid));
        json_object_object_add(a, PF_F_GID, json_object_new_int64(u->gid));
        json_object *g = json_object_new_array();
        for (size_t k = 0; k < sc->accounts[i].ngroups; k++) {
            char real[33];
            pf_real_name(run->run_id, sc->accounts[i].groups[k], real);
            json_object_array_add(g, json_object_new_string(real));
        }
        json_object_object_add(a, PF_F_GROUPS, g);
        json_object_object_add(a, PF_F_ALLOWED, json_object_new_boolean(sc->accounts[i].allowed));
        trace_event(lr, PF_EV_ACCOUNT, a);
    }
    return 0;
}

/* The server's stdout and stderr files, created in the scenario's directory
 * (never through a link, never an existing file), before it starts. */
static int open_captures(struct linux_run *lr, char *err, size_t errlen)
{
    int dfd = open(lr->run->outdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", lr->run->outdir, strerror(errno));
        return -1;
    }
    int rc = pf_capture_open(&lr->err, dfd, "server.stderr", -1, err, errlen);
    if (rc == 0 && pf_capture_open(&lr->out, dfd, "server.stdout", -1, err, errlen) < 0) {
        pf_capture_finish(&lr->err);
        rc = -1;
    }
    close(dfd);
    lr->captures_open = rc == 0;
    return rc;
}

static int start_server(struct linux_run *lr)
{
    struct pf_run *run = lr->run;
    char err[512];
    if (open_captures(lr, err, sizeof err) < 0) {
        snprintf(run->error, sizeof run->error, "%s", err);
        return -2;
    }
    if (pf_contain_open(&lr->contain, run->run_id, ++scenario_seq, lr->sc->name, err,
                        sizeof err) < 0) {
        snprintf(run->error, sizeof run->error, "%s", err);
        return -2;
    }
    int procs_fd = pf_contain_procs_fd(&lr->contain);
    if (lr->contain.kind == PF_CONTAIN_CGROUP && procs_fd < 0) {
        snprintf(run->error, sizeof run->error, "cannot open %s/cgroup.procs: %s",
                 lr->contain.path, strerror(errno));
        return -2;
    }
    unsigned ops = pf_supervisor_ops(lr->sc);
    int rc = pf_server_spawn(&lr->server, lr->plan.argv, &lr->who.id, lr->who.cwd,
                             (mode_t)lr->sc->server.umask, ops, procs_fd, err, sizeof err);
    if (procs_fd >= 0)
        close(procs_fd);
    lr->out.pipe_fd = lr->server.stdout_fd;
    lr->err.pipe_fd = lr->server.stderr_fd;
    if (rc < 0) {
        snprintf(run->error, sizeof run->error, "%s", err);
        return -1;
    }
    lr->server_start_ns = pf_clock_ns();
    lr->obs.server_pid = lr->server.pid;
    struct pf_supervisor_hooks hooks = {
        .ctx = &lr->obs,
        .observe = pf_observer_on_syscall,
        .proceed = pf_observer_on_proceed,
        .held = pf_attack_held,
        .held_ctx = &lr->attack,
    };
    lr->sup = pf_supervisor_start(lr->server.sup_sock, lr->sc, run->seed, &run->trace, &hooks);
    if (!lr->sup) {
        snprintf(run->error, sizeof run->error, "seccomp supervisor failed to start: %s",
                 strerror(errno));
        return -2;
    }
    pf_supervisor_set_server(lr->sup, lr->server.pid);
    /* The filter is installed: the server runs with its own credentials. */
    pf_observer_set_server(&lr->obs, lr->server.pid);
    json_object *argv = json_object_new_array();
    for (size_t i = 0; i < lr->plan.argc; i++)
        json_object_array_add(argv, json_object_new_string(lr->plan.argv[i]));
    char um[8];
    snprintf(um, sizeof um, "%04o", (unsigned)lr->sc->server.umask);
    json_object *f = json_object_new_object();
    json_object_object_add(f, PF_F_PID, json_object_new_int(lr->server.pid));
    json_object_object_add(f, PF_F_ARGV, argv);
    json_object_object_add(f, PF_F_UMASK, json_object_new_string(um));
    json_object_object_add(f, "user", json_object_new_string(lr->who.user));
    json_object_object_add(f, "uid", json_object_new_int64(lr->who.id.uid));
    json_object_object_add(f, "gid", json_object_new_int64(lr->who.id.gid));
    json_object *groups = NULL;
    if (lr->who.id.drop) {
        groups = json_object_new_array();
        for (size_t i = 0; i < lr->who.id.ngroups; i++)
            json_object_array_add(groups, json_object_new_int64(lr->who.id.groups[i]));
    }
    json_object_object_add(f, "groups", groups);
    json_object_object_add(f, "cwd", json_object_new_string(lr->who.cwd));
    json_object_object_add(f, "containment", json_object_new_string(
        lr->contain.kind == PF_CONTAIN_CGROUP ? "cgroup" : "subreaper"));
    json_object_object_add(f, "cgroup", lr->contain.kind == PF_CONTAIN_CGROUP ?
                           json_object_new_string(lr->contain.path) : NULL);
    trace_event(lr, PF_EV_SERVER_START, f);
    if (lr->contain.kind == PF_CONTAIN_SUBREAPER)
        fprintf(stderr, "      %s: warning: no cgroup v2 (%s): processes the server "
                "starts are contained only while pipefault lives\n", lr->sc->name,
                lr->contain.fallback_why);
    return 0;
}

/* A command client started (`client_start`) or ended (`client_exit`:
 * its exit status, or the signal; `stopped` when the harness killed it at
 * the scenario's end). Its account and pid are what the squatters' records
 * are matched with (checker_attack.c). */
static void command_client_event(struct linux_run *lr, const struct pf_client_proc *cp,
                                 const char *what, int status)
{
    bool exit_ = !strcmp(what, "exit"), stopped = !strcmp(what, "stopped");
    json_object *f = json_object_new_object();
    json_object_object_add(f, PF_F_PID, json_object_new_int(cp->pid));
    json_object_object_add(f, PF_F_CLIENT, json_object_new_string(cp->plan->label));
    json_object_object_add(f, PF_F_ACCOUNT, json_object_new_string(cp->plan->account->name));
    const struct pf_user *u = pf_accounts_user(&lr->accounts, cp->plan->account->name);
    json_object_object_add(f, "uid", u ? json_object_new_int64(u->uid) : NULL);
    if (!exit_ && !stopped) {
        json_object *argv = json_object_new_array();
        for (char **a = cp->plan->argv; *a; a++)
            json_object_array_add(argv, json_object_new_string(*a));
        json_object_object_add(f, PF_F_ARGV, argv);
        trace_event(lr, "client_start", f);
        return;
    }
    json_object_object_add(f, "status", WIFEXITED(status) ?
                           json_object_new_int(WEXITSTATUS(status)) : NULL);
    json_object_object_add(f, "signal", WIFSIGNALED(status) ?
                           json_object_new_int(WTERMSIG(status)) : NULL);
    json_object_object_add(f, "stopped", json_object_new_boolean(stopped));
    trace_event(lr, PF_EV_CLIENT_EXIT, f);
}

static int start_clients(struct linux_run *lr)
{
    struct pf_run *run = lr->run;
    struct pf_client_env env = {
        .sc = lr->sc,
        .endpoint = lr->plan.endpoint,
        .trace_start_ns = run->trace.start_ns,
        .start_ns = pf_clock_ns(),
        .deadline_ns = run->deadline_ns,
    };
    for (size_t i = 0; i < lr->plan.nclients; i++) {
        const struct pf_plan_client *pc = &lr->plan.clients[i];
        const struct pf_user *u = pf_accounts_user(&lr->accounts, pc->account->name);
        char err[256];
        struct pf_client_proc *cp = &lr->clients[lr->nclients];
        if (pc->argv) {
            if (pf_command_client_spawn(cp, pc, u, run->outdir_fd, run->workdir, err,
                                        sizeof err) < 0) {
                snprintf(run->error, sizeof run->error, "%s", err);
                lr->harness_error = true;
                return -1;
            }
            cp->run = lr;
            lr->nclients++;
            command_client_event(lr, cp, "start", 0);
            continue;
        }
        if (pf_client_spawn(cp, pc, u, &env, err, sizeof err) < 0) {
            snprintf(run->error, sizeof run->error, "%s", err);
            lr->harness_error = true;
            return -1;
        }
        cp->run = lr;
        lr->nclients++;
    }
    return 0;
}

/* A client's hold is released by an event of another account, or times out. */
/* A client's hold, as a `fault` event (held, released or timed-out). */
static void trace_client_hold(struct linux_run *lr, const struct pf_client_proc *cp,
                              const char *decision)
{
    const struct pf_fault *f = &lr->sc->faults[cp->held_rule];
    json_object *o = json_object_new_object();
    json_object_object_add(o, PF_F_PID, json_object_new_int(cp->pid));
    json_object_object_add(o, PF_F_TID, json_object_new_int(cp->pid));
    json_object_object_add(o, PF_F_OP, json_object_new_string(pf_fault_op_name(f->op)));
    json_object_object_add(o, PF_F_PHASE, json_object_new_string("before"));
    json_object_object_add(o, PF_F_ACTION, json_object_new_string("hold"));
    json_object_object_add(o, PF_F_RULE, json_object_new_int(cp->held_rule));
    json_object_object_add(o, PF_F_DECISION, json_object_new_string(decision));
    json_object_object_add(o, PF_F_CLIENT, json_object_new_string(cp->plan->label));
    pf_trace_emit(&lr->run->trace, PF_SRC_HARNESS, PF_EV_FAULT, o);
}

/* A client's hold ended (released by its event, or timed out). */
static void client_hold_ended(void *ctx, const char *decision, const char *reason)
{
    (void)reason;
    struct pf_client_proc *cp = ctx;
    struct linux_run *lr = cp->run;
    trace_client_hold(lr, cp, decision);
    cp->held_rule = -1;
    if (write(cp->control_fd, "r", 1) < 0) {
        /* the client is gone; nothing to release */
    }
}

/* `account` did `event` at absolute time t: the supervisor's and the
 * clients' holds waiting for it end. */
static void notify_event(struct linux_run *lr, const char *account, const char *event,
                         int64_t t)
{
    if (lr->sup)
        pf_supervisor_notify(lr->sup, account, event, t);
    pf_holds_event(lr->holds, account, event, t);
}

/* Whether an endpoint instance is accepting now: the one at the endpoint's
 * path (or the abstract name) has listened, or been opened for reading. */
static bool endpoint_accepting(const struct pf_observer *o)
{
    return o->current > 0 && o->inst[o->current - 1].accepting;
}

/* Tells the clients when an instance starts accepting and when none is any
 * more: clients with `until: accepting` count only the attempts made in
 * between. */
static void tell_accepting(struct linux_run *lr)
{
    bool now = endpoint_accepting(&lr->obs);
    if (now == lr->told_accepting || !lr->clients_started)
        return;
    lr->told_accepting = now;
    for (size_t i = 0; i < lr->nclients; i++)
        if (!lr->clients[i].exited && lr->clients[i].control_fd >= 0 &&
            write(lr->clients[i].control_fd, now ? "A" : "N", 1) < 0) {
            /* the client is gone */
        }
}

/* Who served an attempt, from the peer pid its client read (FIFO: no
 * such evidence, so unknown); a refused attempt was served by nobody. */
static void add_served_by(struct linux_run *lr, json_object *attempt)
{
    const char *outcome = pf_json_str(attempt, "outcome");
    if (!outcome || strcmp(outcome, "ok")) {
        json_object_object_add(attempt, "served_by", NULL);
        return;
    }
    char buf[64];
    const char *who = pf_attack_served_by(&lr->attack, lr->server.pid,
                                          (pid_t)pf_json_int(attempt, "peer_pid", 0), buf,
                                          sizeof buf);
    json_object_object_add(attempt, "served_by", who ? json_object_new_string(who) : NULL);
}

/* An attacker did something a hold may wait for (an in-gap squat). */
static void attacker_event(void *ctx, const char *account, const char *event, int64_t t)
{
    notify_event(ctx, account, event, t);
}

static void client_line(struct linux_run *lr, struct pf_client_proc *cp, char *line)
{
    json_object *o = json_tokener_parse(line);
    if (!o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return;
    }
    json_object *jev = NULL, *jt = NULL;
    json_object_object_get_ex(o, PF_F_EV, &jev);
    const char *ev = jev ? json_object_get_string(jev) : "";
    if (!strcmp(ev, "client_error")) {
        json_object *m = NULL;
        json_object_object_get_ex(o, "message", &m);
        snprintf(lr->run->error, sizeof lr->run->error, "client %s: %s", cp->plan->label,
                 m ? json_object_get_string(m) : "failed");
        lr->harness_error = true;
        json_object_put(o);
        return;
    }
    if (!strcmp(ev, "deadline")) {
        lr->clients_timed_out = true;
        json_object_put(o);
        return;
    }
    if (!strcmp(ev, "hold")) {
        json_object *r = NULL, *th = NULL;
        json_object_object_get_ex(o, PF_F_RULE, &r);
        json_object_object_get_ex(o, PF_F_T, &th);
        int rule = r ? json_object_get_int(r) : -1;
        if (rule >= 0 && (size_t)rule < lr->sc->nfaults) {
            const struct pf_fault *f = &lr->sc->faults[rule];
            cp->held_rule = rule;
            trace_client_hold(lr, cp, "held");
            cp->hold_id = pf_holds_add(lr->holds, f->until_account, f->until_event,
                                       th ? json_object_get_int64(th) : pf_clock_ns(),
                                       pf_clock_ns() + f->timeout_ns, client_hold_ended, cp);
        }
        json_object_put(o);
        return;
    }
    if (!strcmp(ev, "outcome")) {
        /* How a connect/open ended, sent before the client waits to be
         * served: this releases holds waiting for this account to be
         * admitted, refused or denied. */
        json_object *out = NULL, *te = NULL;
        json_object_object_get_ex(o, PF_F_OUTCOME, &out);
        json_object_object_get_ex(o, PF_F_T_END, &te);
        const char *outcome = out ? json_object_get_string(out) : "";
        const char *acc = cp->plan->account->name;
        int64_t t = te ? json_object_get_int64(te) : pf_clock_ns();
        const char *events[2];
        size_t n = pf_hold_outcome_events(!strcmp(outcome, "ok"),
                                          !strcmp(outcome, "EACCES") || !strcmp(outcome, "EPERM"),
                                          events);
        for (size_t i = 0; i < n; i++)
            notify_event(lr, acc, events[i], t);
        json_object_put(o);
        return;
    }
    if (!strcmp(ev, PF_EV_ATTEMPT))
        add_served_by(lr, o);
    json_object_object_get_ex(o, PF_F_T, &jt);
    int64_t t = jt ? json_object_get_int64(jt) : -1;
    char evname[32];
    snprintf(evname, sizeof evname, "%s", ev);   /* ev dies with its key */
    json_object_object_del(o, PF_F_T);
    json_object_object_del(o, PF_F_EV);
    json_object *done = NULL;
    int64_t t_done = json_object_object_get_ex(o, PF_F_T_DONE, &done) ?
                     json_object_get_int64(done) + lr->run->trace.start_ns : pf_clock_ns();
    pf_trace_emit_at(&lr->run->trace, t, PF_SRC_CLIENT, evname, o);
    /* The attempt is over: the client has closed its end. */
    if (!strcmp(evname, PF_EV_ATTEMPT)) {
        lr->attempts++;
        notify_event(lr, cp->plan->account->name, PF_HOLD_ATTEMPT, t_done);
    }
}

static void read_client(struct linux_run *lr, struct pf_client_proc *cp)
{
    for (;;) {
        ssize_t n = read(cp->report_fd, cp->buf + cp->buflen, sizeof cp->buf - 1 - cp->buflen);
        if (n == 0) {
            cp->eof = true;
            return;
        }
        if (n < 0)
            return;
        cp->buflen += (size_t)n;
        cp->buf[cp->buflen] = 0;
        char *start = cp->buf, *nl;
        while ((nl = strchr(start, '\n'))) {
            *nl = 0;
            client_line(lr, cp, start);
            start = nl + 1;
        }
        cp->buflen = strlen(start);
        memmove(cp->buf, start, cp->buflen + 1);
    }
}

static bool clients_done(const struct linux_run *lr)
{
    for (size_t i = 0; i < lr->nclients; i++)
        if (!lr->clients[i].eof || !lr->clients[i].exited)
            return false;
    return true;
}

static int64_t next_deadline(const struct linux_run *lr)
{
    int64_t d = lr->run->deadline_ns;
    if (lr->sup) {
        int64_t s = pf_supervisor_next_deadline(lr->sup);
        if (s >= 0 && s < d)
            d = s;
    }
    if (lr->obs.n == 0) {
        int64_t r = lr->server_start_ns + lr->sc->server.ready_timeout_ns;
        if (r < d)
            d = r;
    }
    if (lr->next_progress_ns && lr->next_progress_ns < d)
        d = lr->next_progress_ns;
    int64_t h = pf_holds_next_deadline(lr->holds);
    if (h >= 0 && h < d)
        d = h;
    return d;
}

/* The clients' pids: never counted as the server's (subreaper fallback). */
static size_t client_pids(const struct linux_run *lr, pid_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < lr->nclients; i++)
        out[n++] = lr->clients[i].pid;
    return n;
}

/* Follows a contained process that is still running, once the main process
 * exited 0 and again whenever the followed one ends (a daemon's workers may
 * outlive it). false when none is left: the server is gone. */
static bool follow_daemon(struct linux_run *lr)
{
    pid_t skip[PF_MAX_CLIENT_PROCS];
    size_t nskip = client_pids(lr, skip);
    if (lr->daemon_pidfd >= 0)
        close(lr->daemon_pidfd);
    lr->daemon_pidfd = -1;
    pid_t next = pf_contain_member(&lr->contain, skip, nskip);
    int pfd = next > 0 ? (int)syscall(SYS_pidfd_open, next, 0) : -1;
    if (pfd < 0)
        return false;
    lr->daemon_pid = next;
    lr->daemon_pidfd = pfd;
    json_object *f = json_object_new_object();
    json_object_object_add(f, "pid", json_object_new_int(lr->server.pid));
    json_object_object_add(f, "daemon_pid", json_object_new_int(next));
    trace_event(lr, "server_daemon", f);
    return true;
}

/* One turn of the loop: wait for anything, handle it. */
static void turn(struct linux_run *lr, int max_ms)
{
    struct pollfd pfd[6 + 2 * PF_MAX_CLIENT_PROCS + PF_MAX_ACCOUNTS];
    int n = 0;
    int sup_i = -1, ino_i = -1, srv_i = -1, out_i = -1, err_i = -1, dmn_i = -1;
    if (lr->sup) {
        sup_i = n;
        pfd[n++] = (struct pollfd){.fd = pf_supervisor_fd(lr->sup), .events = POLLIN};
    }
    if (lr->obs.ifd >= 0) {
        ino_i = n;
        pfd[n++] = (struct pollfd){.fd = lr->obs.ifd, .events = POLLIN};
    }
    if (!lr->server.exited && lr->server.pidfd >= 0) {
        srv_i = n;
        pfd[n++] = (struct pollfd){.fd = lr->server.pidfd, .events = POLLIN};
    }
    if (lr->out.pipe_fd >= 0) {
        out_i = n;
        pfd[n++] = (struct pollfd){.fd = lr->out.pipe_fd, .events = POLLIN};
    }
    if (lr->err.pipe_fd >= 0) {
        err_i = n;
        pfd[n++] = (struct pollfd){.fd = lr->err.pipe_fd, .events = POLLIN};
    }
    if (lr->daemon_pidfd >= 0) {
        dmn_i = n;
        pfd[n++] = (struct pollfd){.fd = lr->daemon_pidfd, .events = POLLIN};
    }
    int cl0 = n;
    for (size_t i = 0; i < lr->nclients; i++) {
        struct pf_client_proc *cp = &lr->clients[i];
        pfd[n++] = (struct pollfd){.fd = cp->eof ? -1 : cp->report_fd, .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = cp->exited ? -1 : cp->pidfd, .events = POLLIN};
    }
    int at0 = n;
    n += pf_attack_pollfds(&lr->attack, pfd + n, PF_MAX_ACCOUNTS);
    int64_t wait_ns = next_deadline(lr) - pf_clock_ns();
    int timeout = wait_ns <= 0 ? 0 : (int)((wait_ns + 999999) / 1000000);
    if (max_ms >= 0 && timeout > max_ms)
        timeout = max_ms;
    int r = poll(pfd, (nfds_t)n, timeout);
    if (r < 0 && errno != EINTR)
        return;
    if (r > 0) {
        if (ino_i >= 0 && pfd[ino_i].revents)
            pf_observer_drain(&lr->obs, false);
        if (sup_i >= 0 && pfd[sup_i].revents)
            pf_supervisor_dispatch(lr->sup);
        if (srv_i >= 0 && pfd[srv_i].revents)
            pf_server_reap(&lr->server);
        if (out_i >= 0 && pfd[out_i].revents)
            pf_capture_read(&lr->out);
        if (err_i >= 0 && pfd[err_i].revents)
            pf_capture_read(&lr->err);
        if (dmn_i >= 0 && pfd[dmn_i].revents)
            follow_daemon(lr);
        pf_attack_handle(&lr->attack, pfd + at0, n - at0);
        for (size_t i = 0; i < lr->nclients; i++) {
            struct pf_client_proc *cp = &lr->clients[i];
            if (pfd[cl0 + 2 * (int)i].revents)
                read_client(lr, cp);
            if (pfd[cl0 + 2 * (int)i + 1].revents && !cp->exited) {
                int st;
                if (waitpid(cp->pid, &st, WNOHANG) == cp->pid) {
                    cp->exited = true;
                    if (cp->plan->argv) {
                        kill(-cp->pid, SIGKILL);   /* what it left in its group */
                        command_client_event(lr, cp, "exit", st);
                    }
                }
            }
        }
    }
    if (lr->sup)
        pf_supervisor_tick(lr->sup);
    pf_holds_expire(lr->holds, pf_clock_ns());
    tell_accepting(lr);
}

static void pump(void *ctx, int timeout_ms)
{
    turn(ctx, timeout_ms);
}

static void describe_exit(char *out, size_t n, int status)
{
    if (WIFSIGNALED(status))
        snprintf(out, n, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, n, "exited with status %d", WEXITSTATUS(status));
}

/* The observer marks an instance accepting as its listen() is let go; the
 * kernel shows it a moment later. A program that connects once must not
 * meet that moment. (Abstract and FIFO endpoints: the observer's word.) */
static bool endpoint_receiving(struct linux_run *lr)
{
    if (!endpoint_accepting(&lr->obs))
        return false;
    const struct pf_instance_rec *r = &lr->obs.inst[lr->obs.current - 1];
    if (lr->sc->endpoint.kind != PF_EP_UNIX)
        return true;
    return pf_sc_node_receives(r->dev, r->ino);
}

/* Without attackers: once the endpoint exists. With them, an instance the
 * attacker made does not count: once the server made one, started
 * accepting, gave up (exited) or had server.ready_timeout to do so. */
static bool clients_may_start(struct linux_run *lr)
{
    /* A command client connects once: an instance born but not yet
     * listening, or a squat under way, would decide its one attempt by
     * timing. It waits for an accepting instance (or the server's end or
     * its ready_timeout) and for the squat's outcome. */
    if (lr->has_command_clients)
        return !pf_attack_squatting(&lr->attack) &&
               (endpoint_receiving(lr) || lr->server.exited ||
                pf_clock_ns() >= lr->server_start_ns + lr->sc->server.ready_timeout_ns);
    if (!pf_attack_any(&lr->attack))
        return lr->obs.n > 0;
    return lr->obs.n > lr->baseline || endpoint_accepting(&lr->obs) || lr->server.exited ||
           pf_clock_ns() >= lr->server_start_ns + lr->sc->server.ready_timeout_ns;
}

/* Runs until the clients are done, the server dies, time runs out or the
 * user interrupts. Returns the reason. */
static const char *main_loop(struct linux_run *lr)
{
    struct pf_run *run = lr->run;
    for (;;) {
        if (pf_interrupted)
            return "interrupted";
        if (run->error[0])
            return "error";
        /* Clients begin once the server has created its endpoint: their
         * schedule (start, interval) counts from that moment. */
        if (!lr->clients_started && clients_may_start(lr)) {
            lr->clients_started = true;
            if (start_clients(lr) < 0)
                return "error";
            tell_accepting(lr);
        }
        int64_t now = pf_clock_ns();
        if (now >= run->deadline_ns || lr->clients_timed_out) {
            snprintf(run->error, sizeof run->error,
                     "timed out after %.1f s (server.timeout): the server or a held "
                     "operation did not finish", (double)lr->sc->server.timeout_ns / 1e9);
            return "timeout";
        }
        if (lr->clients_started && clients_done(lr))
            return "clients-done";
        char attack_err[256] = "";
        /* after-start squats count from when the server started serving (or
         * gave up: its ready time ran out), so a late squatter meets a
         * server that holds its name, whatever the machine's speed. */
        if (!lr->serving_ns && (endpoint_accepting(&lr->obs) || lr->server.exited ||
                                now >= lr->server_start_ns + lr->sc->server.ready_timeout_ns))
            lr->serving_ns = now;
        int64_t due = pf_attack_tick(&lr->attack, lr->serving_ns, now, attack_err,
                                     sizeof attack_err);
        if (due == -2) {
            snprintf(run->error, sizeof run->error, "%s", attack_err);
            lr->harness_error = true;
            return "error";
        }
        /* A main process that exits 0 while what it started goes on has
         * daemonized: follow the daemon. */
        if (lr->server.exited && !lr->daemon_checked) {
            lr->daemon_checked = true;
            if (WIFEXITED(lr->server.status) && WEXITSTATUS(lr->server.status) == 0 &&
                follow_daemon(lr))
                continue;
        }
        if (lr->server.exited && lr->daemon_pid && lr->daemon_pidfd < 0) {
            snprintf(run->error, sizeof run->error,
                     "the server's daemon (pid %ld) exited before the clients finished",
                     (long)lr->daemon_pid);
            return "server-exited";
        }
        /* With attackers, a server that gave up the name is judged, not an
         * error: the clients run against whoever holds it. */
        if (lr->server.exited && !lr->daemon_pid && !pf_attack_any(&lr->attack)) {
            char how[128];
            describe_exit(how, sizeof how, lr->server.status);
            snprintf(run->error, sizeof run->error,
                     "the server %s before the clients finished", how);
            return "server-exited";
        }
        if (lr->obs.n == 0 && !lr->clients_started &&
            now >= lr->server_start_ns + lr->sc->server.ready_timeout_ns) {
            snprintf(run->error, sizeof run->error,
                     "the endpoint %s never appeared within %.1f s (server.ready_timeout)",
                     lr->obs.path, (double)lr->sc->server.ready_timeout_ns / 1e9);
            return "error";
        }
        if (now >= lr->next_progress_ns) {
            /* A long scenario says it is alive, and how far it got. */
            fprintf(stderr, "      %s: %.0f s, %d instance%s, %ld attempt%s\n", lr->sc->name,
                    (double)(now - run->trace.start_ns) / 1e9, lr->obs.n,
                    lr->obs.n == 1 ? "" : "s", lr->attempts, lr->attempts == 1 ? "" : "s");
            lr->next_progress_ns = now + PROGRESS_EVERY_NS;
        }
        int wait_ms = due >= 0 ? (int)((due - now + 999999) / 1000000) : -1;
        /* Command clients wait for the kernel to show the listen the
         * observer saw let go: it runs as soon as the server is scheduled. */
        if (!lr->clients_started && lr->has_command_clients && endpoint_accepting(&lr->obs) &&
            (wait_ms < 0 || wait_ms > 1))
            wait_ms = 1;
        turn(lr, wait_ms);
    }
}

/* Whatever the server started, daemons included, goes with SIGKILL (the
 * main process had its SIGTERM and grace); then its output is read to the
 * end, which every writer being dead makes finite. */
static void end_containment(struct linux_run *lr)
{
    if (lr->daemon_pidfd >= 0)
        close(lr->daemon_pidfd);
    lr->daemon_pidfd = -1;
    if (lr->contain.kind != PF_CONTAIN_NONE) {
        pid_t skip[PF_MAX_CLIENT_PROCS];
        size_t nskip = client_pids(lr, skip);
        char err[600];
        if (pf_contain_end(&lr->contain, skip, nskip, CONTAIN_WAIT_NS, err, sizeof err) < 0) {
            fprintf(stderr, "pipefault: %s\n", err);
            if (!lr->run->error[0])
                snprintf(lr->run->error, sizeof lr->run->error, "%s", err);
            lr->harness_error = true;
        }
    }
    if (lr->captures_open) {
        pf_capture_finish(&lr->out);
        pf_capture_finish(&lr->err);
        lr->captures_open = false;
    }
}

static void stop_all(struct linux_run *lr)
{
    for (size_t i = 0; i < lr->nclients; i++) {
        struct pf_client_proc *cp = &lr->clients[i];
        if (!cp->exited) {
            int st = 0;
            if (cp->plan->argv)
                kill(-cp->pid, SIGKILL);
            kill(cp->pid, SIGKILL);
            waitpid(cp->pid, &st, 0);
            cp->exited = true;
            if (cp->plan->argv)
                command_client_event(lr, cp, "stopped", st);
        }
        if (cp->plan->argv)
            kill(-cp->pid, SIGKILL);   /* a command client's group, to the last one */
        if (!cp->eof)
            read_client(lr, cp);
        if (cp->report_fd >= 0)
            close(cp->report_fd);
        if (cp->control_fd >= 0)
            close(cp->control_fd);
        if (cp->pidfd >= 0)
            close(cp->pidfd);
    }
    if (lr->server.pid > 0) {
        pf_server_stop(&lr->server, STOP_GRACE_NS, lr->sup ? pump : NULL, lr);
        pf_observer_drain(&lr->obs, false);
        json_object *f = json_object_new_object();
        int st = lr->server.status;
        json_object_object_add(f, PF_F_PID, json_object_new_int(lr->server.pid));
        json_object_object_add(f, PF_F_STATUS,
                               WIFEXITED(st) ? json_object_new_int(WEXITSTATUS(st)) : NULL);
        json_object_object_add(f, PF_F_SIGNAL,
                               WIFSIGNALED(st) ? json_object_new_int(WTERMSIG(st)) : NULL);
        json_object_object_add(f, PF_F_EXPECTED, json_object_new_boolean(lr->server.stopped_by_us));
        trace_event(lr, PF_EV_SERVER_EXIT, f);

        json_object *s = json_object_new_object();
        json_object *argv = json_object_new_array();
        for (size_t i = 0; i < lr->plan.argc; i++)
            json_object_array_add(argv, json_object_new_string(lr->plan.argv[i]));
        json_object_object_add(s, "pid", json_object_new_int(lr->server.pid));
        json_object_object_add(s, "argv", argv);
        json_object_object_add(s, "exit_status",
                               WIFEXITED(st) ? json_object_new_int(WEXITSTATUS(st)) : NULL);
        json_object_object_add(s, "signal",
                               WIFSIGNALED(st) ? json_object_new_int(WTERMSIG(st)) : NULL);
        lr->run->server = s;
    }
    end_containment(lr);
    if (lr->sup) {
        pf_supervisor_free(lr->sup);
        lr->sup = NULL;
    }
}

static enum pf_run_status linux_run(struct pf_run *run)
{
    struct linux_run *lr = calloc(1, sizeof *lr);
    lr->run = run;
    lr->sc = run->sc;
    lr->server.sup_sock = -1;
    lr->server.pidfd = -1;
    lr->server.stdout_fd = lr->server.stderr_fd = -1;
    lr->out.pipe_fd = lr->out.file_fd = lr->err.pipe_fd = lr->err.file_fd = -1;
    lr->daemon_pidfd = -1;
    lr->obs.ifd = -1;
    lr->holds = pf_holds_new();
    pf_attack_init(&lr->attack, lr->sc, &lr->accounts, &run->trace, lr->plan.endpoint,
                   attacker_event, lr);
    int rc = setup(lr);
    /* Creating accounts and directories is the harness's set-up, not the
     * scenario's (the shadow tools take seconds on a busy machine): the
     * timeout counts from here, as the Win32 backend leaves out Wine's. */
    run->deadline_ns = pf_ns_add_sat(pf_clock_ns(), lr->sc->server.timeout_ns);
    if (rc == 0 && pf_attack_any(&lr->attack) &&
        pf_attack_before_server(&lr->attack, lr->plan.argv, run->workdir, run->outdir,
                                run->error, sizeof run->error) < 0)
        rc = -2;
    if (rc == 0) {
        pf_observer_drain(&lr->obs, false);
        lr->baseline = lr->obs.n;
        rc = start_server(lr);
    }
    const char *reason = "error";
    lr->next_progress_ns = pf_clock_ns() + PROGRESS_EVERY_NS;
    if (rc == 0) {
        reason = main_loop(lr);
        if (strcmp(reason, "clients-done"))
            rc = pf_interrupted || lr->harness_error ? -2 : -1;
    }
    stop_all(lr);
    pf_server_dirs_release(&lr->who);
    if (lr->harness_error)
        rc = -2;
    pf_attack_stop(&lr->attack);
    if (!strcmp(reason, "interrupted"))
        snprintf(run->error, sizeof run->error, "interrupted");
    json_object *f = json_object_new_object();
    json_object_object_add(f, PF_F_REASON, json_object_new_string(reason));
    trace_event(lr, PF_EV_SCENARIO_END, f);

    pf_observer_close(&lr->obs);
    pf_accounts_remove(&lr->accounts);
    pf_plan_free(&lr->plan);
    pf_server_who_free(&lr->who);
    pf_holds_free(lr->holds);
    free(lr);
    return rc == 0 ? PF_RUN_OK : rc == -2 ? PF_RUN_HARNESS : PF_RUN_BROKE;
}

const struct pf_backend pf_backend_linux = {
    .name = "linux",
    .platform = PF_PLATFORM_LINUX,
    .check = pf_linux_check,
    .sweep = linux_sweep,
    .begin_run = linux_begin_run,
    .end_run = linux_end_run,
    .run = linux_run,
};
