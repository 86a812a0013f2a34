/* test_supervisor.c - the seccomp supervisor against real programs.
 *
 * Each test starts a real program (dynamic C, static C, Python, Go) under the
 * supervisor and drives the supervisor from its own small poll loop, the way
 * the backend does. A stub observer treats one path as the endpoint. The
 * programs print what they saw (errno, time spent in a call, pid, tid), so
 * the assertions compare both sides. Synchronisation is by events only: the
 * loop runs until the program printed a line or the supervisor saw a call.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events.h"
#include "faults.h"
#include "holds.h"
#include "unix/supervisor.h"
#include "check_run.h"

#define MAX_SEEN 64

/* Every test's directory lives under this one, made and removed by main():
 * a failing test (which ends its process at once) leaves nothing behind. */
static char base_dir[64];

struct seen {
    enum pf_fault_op op;
    char name[32];
    char path[PATH_MAX];
    pid_t pid, tid;
    int fd, mode;
    int instance;
    int64_t t_observe, t_proceed;   /* when the hooks saw it; 0 never */
    int mode_at_proceed;            /* the endpoint's mode then, -1 none */
    bool creds_known, node_known;
    uid_t fsuid;
    gid_t fsgid;
    dev_t node_dev;
    ino_t node_ino;
};

struct run {
    char dir[96];             /* private directory, removed after */
    char endpoint[PATH_MAX];  /* what the stub observer calls the endpoint */
    char trace_path[PATH_MAX];
    struct pf_trace trace;
    struct pf_scenario sc;
    struct pf_fault faults[4];
    struct pf_supervisor *sup;
    pid_t pid;
    int out;                  /* the program's stdout */
    char outbuf[16384];
    size_t outlen;
    bool eof, reaped;
    int status;
    struct seen seen[MAX_SEEN];
    int nseen;
};

/* The stub observer: records every call; the endpoint path is relevant
 * (instance 1 once it exists, 0 before), everything else is not. */
static int stub_observe(void *ctx, const struct pf_sc_event *e)
{
    struct run *r = ctx;
    if (r->nseen < MAX_SEEN) {
        struct seen *s = &r->seen[r->nseen++];
        s->op = e->op;
        snprintf(s->name, sizeof s->name, "%s", e->name);
        snprintf(s->path, sizeof s->path, "%s", e->path);
        s->pid = e->pid;
        s->tid = e->tid;
        s->fd = e->fd;
        s->mode = e->mode;
        s->instance = -1;
        s->t_observe = pf_clock_ns();
        s->t_proceed = 0;
        s->mode_at_proceed = -1;
        s->creds_known = e->creds_known;
        s->fsuid = e->fsuid;
        s->fsgid = e->fsgid;
        s->node_known = e->node_known;
        s->node_dev = e->node_dev;
        s->node_ino = e->node_ino;
    }
    if (strcmp(e->path, r->endpoint) != 0)
        return -1;
    struct stat st;
    int inst = lstat(r->endpoint, &st) == 0 ? 1 : 0;
    if (r->nseen <= MAX_SEEN)
        r->seen[r->nseen - 1].instance = inst;
    return inst;
}

/* The proceed hook: marks the latest matching observed call as gone ahead
 * and notes the endpoint's mode at that moment. */
static void stub_proceed(void *ctx, const struct pf_sc_event *e, int instance)
{
    struct run *r = ctx;
    for (int i = r->nseen - 1; i >= 0; i--) {
        struct seen *s = &r->seen[i];
        if (s->tid == e->tid && s->t_proceed == 0 && s->instance == instance &&
            strcmp(s->name, e->name) == 0 && strcmp(s->path, e->path) == 0) {
            struct stat st;
            s->t_proceed = pf_clock_ns();
            s->mode_at_proceed = lstat(r->endpoint, &st) == 0 ?
                                 (int)(st.st_mode & 07777) : -1;
            return;
        }
    }
    ck_abort_msg("proceed for a call that was not observed: %s %s", e->name,
                 e->path);
}

static void run_init(struct run *r, const char *endpoint_name)
{
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s/XXXXXX", base_dir);
    ck_assert_ptr_nonnull(mkdtemp(r->dir));
    if (endpoint_name[0] == '@')
        snprintf(r->endpoint, sizeof r->endpoint, "%s", endpoint_name);
    else
        snprintf(r->endpoint, sizeof r->endpoint, "%s/%s", r->dir,
                 endpoint_name);
    snprintf(r->trace_path, sizeof r->trace_path, "%s/trace.jsonl", r->dir);
    ck_assert_int_eq(pf_trace_open(&r->trace, r->trace_path), 0);
    r->sc.name = "supervisor-test";
    r->sc.endpoint.kind = PF_EP_UNIX;
    r->sc.faults = r->faults;
    r->pid = -1;
    r->out = -1;
}

static struct pf_fault *add_fault(struct run *r, enum pf_fault_op op,
                                  enum pf_fault_phase phase,
                                  enum pf_fault_action action)
{
    ck_assert_uint_lt(r->sc.nfaults, 4);
    struct pf_fault *f = &r->faults[r->sc.nfaults++];
    memset(f, 0, sizeof *f);
    f->op = op;
    f->phase = phase;
    f->action = action;
    f->when_first = 1;
    f->when_onwards = true;
    f->probability = 1.0;
    f->timeout_ns = 30LL * 1000000000;
    f->target = "server";
    return f;
}

static bool no_killable_wait;   /* exercise the pre-5.19 path */

static void run_start(struct run *r, char *const argv[])
{
    int sv[2], out[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
    unsigned ops = pf_supervisor_ops(&r->sc);
    r->pid = fork();
    ck_assert_int_ge(r->pid, 0);
    if (r->pid == 0) {
        dup2(out[1], 1);
        umask(022);
        /* Dies with the test, also when an assertion ends the test. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (no_killable_wait)
            setenv("PIPEFAULT_SECCOMP_NO_WAIT_KILLABLE", "1", 1);
        if (pf_supervisor_install(ops, sv[1]) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    close(sv[1]);
    close(out[1]);
    r->out = out[0];
    struct pf_supervisor_hooks hooks = { .ctx = r, .observe = stub_observe,
                                         .proceed = stub_proceed };
    r->sup = pf_supervisor_start(sv[0], &r->sc, 1234, &r->trace, &hooks);
    close(sv[0]);
    ck_assert_msg(r->sup != NULL, "supervisor did not start: %s",
                  strerror(errno));
}

/* One turn of the loop; waits at most until the next supervisor deadline. */
static void turn(struct run *r, int max_ms)
{
    struct pollfd pfd[2] = {
        { .fd = pf_supervisor_fd(r->sup), .events = POLLIN },
        { .fd = r->eof ? -1 : r->out, .events = POLLIN },
    };
    int timeout = max_ms;
    int64_t d = pf_supervisor_next_deadline(r->sup);
    if (d >= 0) {
        int64_t ms = (d - pf_clock_ns() + 999999) / 1000000;
        if (ms < timeout)
            timeout = ms < 0 ? 0 : (int)ms;
    }
    int n = poll(pfd, 2, timeout);
    if (n > 0 && pfd[0].revents)
        pf_supervisor_dispatch(r->sup);
    if (n > 0 && pfd[1].revents) {
        ssize_t k = read(r->out, r->outbuf + r->outlen,
                         sizeof r->outbuf - 1 - r->outlen);
        if (k <= 0)
            r->eof = true;
        else
            r->outlen += (size_t)k;
        r->outbuf[r->outlen] = '\0';
    }
    pf_supervisor_tick(r->sup);
}

/* Runs the loop until cond holds; fails the test after a generous limit
 * (a guard against a wedged test, not a timing assertion). */
#define PUMP_UNTIL(r, cond) do {                                           \
        int64_t limit_ = pf_clock_ns() + 20LL * 1000000000;              \
        while (!(cond)) {                                                  \
            ck_assert_msg(pf_clock_ns() < limit_,                          \
                          "gave up waiting for: %s\noutput:\n%s", #cond,   \
                          (r)->outbuf);                                    \
            turn((r), 100);                                                \
        }                                                                  \
    } while (0)

static bool output_has(const struct run *r, const char *s)
{
    return strstr(r->outbuf, s) != NULL;
}

/* The value of `key=` on the program's line for `op` (its n-th such line). */
static long out_field(const struct run *r, const char *op, int nth,
                      const char *key)
{
    const char *p = r->outbuf;
    size_t oplen = strlen(op);
    while (p && *p) {
        if (strncmp(p, op, oplen) == 0 && p[oplen] == ' ' && --nth == 0) {
            char k[32];
            snprintf(k, sizeof k, " %s=", key);
            const char *eol = strchr(p, '\n');
            const char *v = strstr(p, k);
            ck_assert_msg(v && (!eol || v < eol), "no %s on %s line", key, op);
            return strtol(v + strlen(k), NULL, 10);
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    ck_abort_msg("no line %d for %s in output:\n%s", nth, op, r->outbuf);
    return 0;
}

static const struct seen *seen_op(const struct run *r, const char *name,
                                  int nth)
{
    for (int i = 0; i < r->nseen; i++)
        if (strcmp(r->seen[i].name, name) == 0 && --nth == 0)
            return &r->seen[i];
    return NULL;
}

static const struct seen *secure_call(const struct run *r)
{
    for (int i = 0; i < r->nseen; i++)
        if (r->seen[i].op == PF_OP_SECURE &&
            strcmp(r->seen[i].path, r->endpoint) == 0)
            return &r->seen[i];
    return NULL;
}

static bool seen_secure(const struct run *r)
{
    return secure_call(r) != NULL;
}

static void run_wait_exit(struct run *r)
{
    PUMP_UNTIL(r, r->eof);
    ck_assert_int_eq(waitpid(r->pid, &r->status, 0), r->pid);
    r->reaped = true;
}

static void rm_tree(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static void run_end(struct run *r)
{
    if (r->pid > 0 && !r->reaped) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, &r->status, 0);
    }
    pf_supervisor_free(r->sup);
    r->sup = NULL;
    if (r->out >= 0)
        close(r->out);
    pf_trace_close(&r->trace);
    rm_tree(r->dir);
}

/* Fault events of the trace with the given decision, counted. */
static int trace_count(const struct run *r, const char *ev,
                       const char *key, const char *value)
{
    fflush(r->trace.fp);
    json_object *all = pf_trace_read(r->trace_path);
    ck_assert_ptr_nonnull(all);
    int n = 0;
    for (size_t i = 0; i < json_object_array_length(all); i++) {
        json_object *e = json_object_array_get_idx(all, i), *v;
        if (!json_object_object_get_ex(e, "ev", &v) || !v ||
            strcmp(json_object_get_string(v), ev) != 0)
            continue;
        if (key && (!json_object_object_get_ex(e, key, &v) || !v ||
                    strcmp(json_object_get_string(v), value) != 0))
            continue;
        n++;
    }
    json_object_put(all);
    return n;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

/* ---- the four kinds of program ---------------------------------------- */

enum kind { K_DYNAMIC, K_STATIC, K_PYTHON, K_GO, K__COUNT };
static const char *const kind_names[] = { "dynamic C", "static C", "Python", "Go" };

static const char py_server[] =
    "import os, socket, sys, threading, time\n"
    "def report(op, err, t0):\n"
    "    print('%s rc=%d errno=%d pid=%d tid=%d ns=%d' % (op, -1 if err else 0,\n"
    "          err, os.getpid(), threading.get_native_id(),\n"
    "          time.monotonic_ns() - t0), flush=True)\n"
    "os.chdir(sys.argv[1])\n"
    "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
    "t0 = time.monotonic_ns(); s.bind('sock'); report('bind', 0, t0)\n"
    "t0 = time.monotonic_ns()\n"
    "try:\n"
    "    os.chmod('sock', int(sys.argv[2], 8)); report('chmod', 0, t0)\n"
    "except OSError as e:\n"
    "    report('chmod', e.errno, t0)\n"
    "t0 = time.monotonic_ns(); s.listen(8); report('listen', 0, t0)\n";

/* Starts a program of `kind` that binds DIR/sock by a relative name, chmods
 * it to `mode` and listens. False if the kind cannot run here. */
static bool start_kind(struct run *r, enum kind k, const char *mode)
{
    switch (k) {
    case K_DYNAMIC:
    case K_STATIC: {
        char *argv[] = { k == K_DYNAMIC ? PF_SV_PROG : PF_SV_PROG_STATIC,
                         "chdir", r->dir, "bind", "sock", "chmod", "sock",
                         (char *)mode, "listen", NULL };
        run_start(r, argv);
        return true;
    }
    case K_PYTHON: {
        char *argv[] = { "/usr/bin/python3", "-c", (char *)py_server, r->dir,
                         (char *)mode, NULL };
        run_start(r, argv);
        return true;
    }
    case K_GO: {
        if (!PF_SV_GO[0]) {
            fprintf(stderr, "test_supervisor: go not installed, Go case skipped\n");
            return false;
        }
        char *argv[] = { PF_SV_GO, r->dir, (char *)mode, NULL };
        run_start(r, argv);
        return true;
    }
    default:
        return false;
    }
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(sees_calls_with_op_and_absolute_path)
{
    struct run r;
    run_init(&r, "sock");
    if (!start_kind(&r, (enum kind)_i, "600")) {
        run_end(&r);
        return;
    }
    run_wait_exit(&r);

    const struct seen *b = seen_op(&r, "bind", 1);
    ck_assert_msg(b != NULL, "%s: bind not seen", kind_names[_i]);
    ck_assert_int_eq(b->op, PF_OP_CREATE);
    ck_assert_str_eq(b->path, r.endpoint);
    ck_assert_int_eq(b->pid, r.pid);
    ck_assert_int_eq(b->instance, 0); /* before bind there is no inode */

    const struct seen *c = NULL;
    for (int i = 0; i < r.nseen && !c; i++)
        if (r.seen[i].op == PF_OP_SECURE)
            c = &r.seen[i];
    ck_assert_msg(c != NULL, "%s: chmod not seen", kind_names[_i]);
    ck_assert_str_eq(c->path, r.endpoint);
    ck_assert_int_eq(c->mode, 0600);
    ck_assert_int_eq(c->pid, r.pid);
    ck_assert_int_eq(c->tid, out_field(&r, "chmod", 1, "tid"));
    ck_assert_int_eq(c->instance, 1);

    const struct seen *l = seen_op(&r, "listen", 1);
    ck_assert_msg(l != NULL, "%s: listen not seen", kind_names[_i]);
    ck_assert_int_eq(l->op, PF_OP_LISTEN);
    ck_assert_str_eq(l->path, r.endpoint); /* from the fd, via /proc/net/unix */
    ck_assert_int_eq(l->fd, b->fd);

    ck_assert_int_eq(out_field(&r, "chmod", 1, "errno"), 0);
    ck_assert_int_eq(mode_of(r.endpoint), 0600);
    /* Endpoint calls go ahead through the proceed hook; others do not. */
    for (int i = 0; i < r.nseen; i++)
        ck_assert_msg((r.seen[i].instance >= 0) == (r.seen[i].t_proceed != 0),
                      "%s %s", r.seen[i].name, r.seen[i].path);
    ck_assert_int_eq(c->mode_at_proceed, 0755);
    /* Go's net.Listen listens before the program's chmod; the others
     * chmod first. */
    ck_assert_int_eq(l->mode_at_proceed, _i == K_GO ? 0755 : 0600);
    ck_assert_int_eq(trace_count(&r, "syscall", "op", "create"), 1);
    ck_assert_int_eq(trace_count(&r, "syscall", "op", "secure"), 1);
    ck_assert_int_eq(trace_count(&r, "syscall", "op", "listen"), 1);
    run_end(&r);
}
END_TEST

START_TEST(hold_keeps_chmod_until_notify)
{
    struct run r;
    run_init(&r, "sock");
    struct pf_fault *f = add_fault(&r, PF_OP_SECURE, PF_PHASE_BEFORE,
                                   PF_ACT_HOLD);
    f->until_account = "mallory";
    f->until_event = "attempt";
    if (!start_kind(&r, (enum kind)_i, "600")) {
        run_end(&r);
        return;
    }
    PUMP_UNTIL(&r, seen_secure(&r));
    /* Held: the socket exists with its birth mode, the chmod has not run. */
    ck_assert_int_eq(mode_of(r.endpoint), 0755);
    ck_assert(!output_has(&r, "chmod "));
    ck_assert_int_ge(pf_supervisor_next_deadline(r.sup), 0);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "held"), 1);

    /* Someone else's event does not release it, nor the right event that
     * happened before the hold began (reported late). */
    pf_supervisor_notify(r.sup, "alice", "attempt", pf_clock_ns());
    pf_supervisor_notify(r.sup, "mallory", "admitted", pf_clock_ns());
    pf_supervisor_notify(r.sup, "mallory", "attempt", r.trace.start_ns);
    turn(&r, 0);
    ck_assert_int_eq(mode_of(r.endpoint), 0755);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "released"), 0);

    ck_assert(secure_call(&r)->t_proceed == 0);
    int64_t released = pf_clock_ns();
    pf_supervisor_notify(r.sup, "mallory", "attempt", released);
    PUMP_UNTIL(&r, output_has(&r, "chmod "));
    ck_assert_int_eq(out_field(&r, "chmod", 1, "errno"), 0);
    ck_assert_int_eq(mode_of(r.endpoint), 0600);
    /* The proceed hook ran at the release, just before the chmod. */
    ck_assert(secure_call(&r)->t_proceed >= released);
    ck_assert_int_eq(secure_call(&r)->mode_at_proceed, 0755);
    run_wait_exit(&r);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "released"), 1);
    ck_assert_int_eq(pf_supervisor_fired(r.sup, 0), 1);
    run_end(&r);
}
END_TEST

/* Several faults on one call, all kept in the hold engine: the call runs
 * only once the last has ended, each by its own cause. */
START_TEST(call_waits_for_every_hold_and_delay)
{
    const int64_t timeout = 300LL * 1000000, delay = 50LL * 1000000;
    struct run r;
    run_init(&r, "sock");
    struct pf_fault *by_event = add_fault(&r, PF_OP_SECURE, PF_PHASE_BEFORE, PF_ACT_HOLD);
    by_event->until_account = "mallory";
    by_event->until_event = "attempt";
    struct pf_fault *by_timeout = add_fault(&r, PF_OP_SECURE, PF_PHASE_BEFORE, PF_ACT_HOLD);
    by_timeout->until_account = "nobody";
    by_timeout->until_event = "attempt";
    by_timeout->timeout_ns = timeout;
    struct pf_fault *d = add_fault(&r, PF_OP_SECURE, PF_PHASE_BEFORE, PF_ACT_DELAY);
    d->delay_min_ns = d->delay_max_ns = delay;
    if (!start_kind(&r, K_DYNAMIC, "600")) {
        run_end(&r);
        return;
    }
    PUMP_UNTIL(&r, seen_secure(&r));
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "held"), 2);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "delayed"), 1);
    pf_supervisor_notify(r.sup, "mallory", "attempt", pf_clock_ns());
    ck_assert_int_eq(trace_count(&r, "fault", "reason", "mallory:attempt"), 1);
    /* one hold is left: the chmod has not run */
    ck_assert_int_eq(mode_of(r.endpoint), 0755);
    ck_assert_int_ge(pf_supervisor_next_deadline(r.sup), 0);
    PUMP_UNTIL(&r, output_has(&r, "chmod "));
    const struct seen *c = secure_call(&r);
    ck_assert(c->t_proceed - c->t_observe >= timeout);
    run_wait_exit(&r);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "timed-out"), 1);
    ck_assert_int_eq(trace_count(&r, "fault", "reason", "timeout"), 1);
    ck_assert_int_eq(trace_count(&r, "fault", "reason", "elapsed"), 1);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "released"), 2);
    ck_assert_int_eq(pf_supervisor_next_deadline(r.sup), PF_NO_DEADLINE);
    run_end(&r);
}
END_TEST

START_TEST(fail_returns_errno_to_program)
{
    struct run r;
    run_init(&r, "sock");
    struct pf_fault *f = add_fault(&r, PF_OP_SECURE, PF_PHASE_BEFORE,
                                   PF_ACT_FAIL);
    f->err = EACCES;
    f->err_name = "EACCES";
    if (!start_kind(&r, (enum kind)_i, "600")) {
        run_end(&r);
        return;
    }
    run_wait_exit(&r);
    ck_assert_int_eq(out_field(&r, "chmod", 1, "errno"), EACCES);
    /* The call did not happen, and the observer is not told it went ahead. */
    ck_assert_int_eq(mode_of(r.endpoint), 0755);
    ck_assert_ptr_nonnull(secure_call(&r));
    ck_assert(secure_call(&r)->t_proceed == 0);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "failed"), 1);
    ck_assert_int_eq(pf_supervisor_fired(r.sup, 0), 1);
    run_end(&r);
}
END_TEST

START_TEST(delay_keeps_call_pending)
{
    const int64_t delay = 150LL * 1000000;
    struct run r;
    run_init(&r, "sock");
    struct pf_fault *f = add_fault(&r, PF_OP_SECURE, PF_PHASE_BEFORE,
                                   PF_ACT_DELAY);
    f->delay_min_ns = f->delay_max_ns = delay;
    if (!start_kind(&r, (enum kind)_i, "600")) {
        run_end(&r);
        return;
    }
    run_wait_exit(&r);
    /* Lower bound only: the program spent at least the delay in chmod. */
    ck_assert_int_ge(out_field(&r, "chmod", 1, "ns"), delay);
    const struct seen *c = secure_call(&r);
    ck_assert_ptr_nonnull(c);
    ck_assert(c->t_proceed - c->t_observe >= delay);
    ck_assert_int_eq(out_field(&r, "chmod", 1, "errno"), 0);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "delayed"), 1);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "released"), 1);
    run_end(&r);
}
END_TEST

START_TEST(killed_while_held_does_not_wedge)
{
    struct run r;
    run_init(&r, "sock");
    struct pf_fault *f = add_fault(&r, PF_OP_SECURE, PF_PHASE_BEFORE,
                                   PF_ACT_HOLD);
    f->until_account = "mallory";
    f->until_event = "attempt";
    if (!start_kind(&r, (enum kind)_i, "600")) {
        run_end(&r);
        return;
    }
    PUMP_UNTIL(&r, seen_secure(&r));
    ck_assert_int_eq(kill(r.pid, SIGKILL), 0);
    ck_assert_int_eq(waitpid(r.pid, &r.status, 0), r.pid);
    r.reaped = true;
    ck_assert(WIFSIGNALED(r.status));
    /* The loop goes on: the parked call is dropped and the fd retired. */
    PUMP_UNTIL(&r, pf_supervisor_next_deadline(r.sup) < 0 &&
                   pf_supervisor_fd(r.sup) < 0);
    pf_supervisor_dispatch(r.sup);
    pf_supervisor_tick(r.sup);
    pf_supervisor_notify(r.sup, "mallory", "attempt", pf_clock_ns());
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "lapsed"), 1);
    ck_assert_int_eq(trace_count(&r, "fault", "reason", "target-gone"), 1);
    run_end(&r);
}
END_TEST

START_TEST(when_selects_occurrence)
{
    struct run r;
    run_init(&r, "sock");
    struct pf_fault *f = add_fault(&r, PF_OP_SECURE, PF_PHASE_BEFORE,
                                   PF_ACT_FAIL);
    f->err = EPERM;
    f->when_first = 2;
    f->when_onwards = false;
    char *argv[] = { PF_SV_PROG, "chdir", r.dir, "bind", "sock",
                     "chmod", "sock", "600", "chmod", "sock", "640",
                     "chmod", "sock", "660", NULL };
    run_start(&r, argv);
    run_wait_exit(&r);
    ck_assert_int_eq(out_field(&r, "chmod", 1, "errno"), 0);
    ck_assert_int_eq(out_field(&r, "chmod", 2, "errno"), EPERM);
    ck_assert_int_eq(out_field(&r, "chmod", 3, "errno"), 0);
    ck_assert_int_eq(mode_of(r.endpoint), 0660);
    ck_assert_int_eq(pf_supervisor_fired(r.sup, 0), 1);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "skipped"), 2);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "failed"), 1);
    run_end(&r);
}
END_TEST

START_TEST(other_paths_are_not_traced_or_faulted)
{
    struct run r;
    run_init(&r, "sock");
    struct pf_fault *f = add_fault(&r, PF_OP_SECURE, PF_PHASE_BEFORE,
                                   PF_ACT_FAIL);
    f->err = EPERM;
    char *argv[] = { PF_SV_PROG, "chdir", r.dir, "bind", "other",
                     "chmod", "other", "600", NULL };
    run_start(&r, argv);
    run_wait_exit(&r);
    ck_assert_int_eq(out_field(&r, "chmod", 1, "errno"), 0);
    ck_assert_ptr_nonnull(seen_op(&r, "bind", 1)); /* observed ... */
    ck_assert_int_eq(trace_count(&r, "syscall", NULL, NULL), 0); /* ... only */
    ck_assert_int_eq(trace_count(&r, "fault", NULL, NULL), 0);
    ck_assert_int_eq(pf_supervisor_fired(r.sup, 0), 0);
    run_end(&r);
}
END_TEST

/* At bind the creator's fsuid/fsgid are read from the stopped thread; at
 * listen, the file the socket is bound to, whatever its name is now. */
START_TEST(creator_credentials_and_listener_file)
{
    struct run r;
    run_init(&r, "sock");
    ck_assert_int_eq(chmod(base_dir, 0711), 0);
    ck_assert_int_eq(chmod(r.dir, 0777), 0);
    char *argv[] = { PF_SV_PROG, "chdir", r.dir, "creds", "65534", "4242",
                     "bind", "sock.tmp", "rename", "sock.tmp", "sock", "listen", NULL };
    run_start(&r, argv);
    run_wait_exit(&r);
    ck_assert_int_eq(out_field(&r, "creds", 1, "errno"), 0);
    ck_assert_int_eq(out_field(&r, "listen", 1, "errno"), 0);
    const struct seen *b = seen_op(&r, "bind", 1);
    ck_assert_ptr_nonnull(b);
    ck_assert(b->creds_known);
    ck_assert_int_eq(b->fsuid, 65534);
    ck_assert_int_eq(b->fsgid, 4242);
    const struct seen *l = seen_op(&r, "listen", 1);
    ck_assert_ptr_nonnull(l);
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/sock.tmp", r.dir);
    ck_assert_str_eq(l->path, tmp);          /* the name it was bound under */
    ck_assert(l->node_known);                /* ... and the file it is now */
    struct stat st;
    ck_assert_int_eq(lstat(r.endpoint, &st), 0);
    ck_assert_uint_eq(l->node_dev, st.st_dev);
    ck_assert_uint_eq(l->node_ino, st.st_ino);
    ck_assert(!l->creds_known);
    run_end(&r);
}
END_TEST

START_TEST(thread_and_fork_report_pid_and_tid)
{
    struct run r;
    run_init(&r, "sock");
    char *argv[] = { PF_SV_PROG, "chdir", r.dir, "bind", "sock",
                     "thread", "chmod", "sock", "600",
                     "fork", "chmod", "sock", "640", NULL };
    run_start(&r, argv);
    run_wait_exit(&r);
    const struct seen *t = seen_op(&r, "fchmodat", 1);
    const struct seen *c = seen_op(&r, "fchmodat", 2);
    if (!t) { /* an older libc calls chmod directly */
        t = seen_op(&r, "chmod", 1);
        c = seen_op(&r, "chmod", 2);
    }
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(c);
    /* In the thread: the process's pid, the thread's own tid. */
    ck_assert_int_eq(t->pid, r.pid);
    ck_assert_int_eq(t->tid, out_field(&r, "chmod", 1, "tid"));
    ck_assert_int_ne(t->tid, r.pid);
    /* In the forked child (which inherits the filter): the child's pid. */
    ck_assert_int_eq(c->pid, out_field(&r, "chmod", 2, "pid"));
    ck_assert_int_ne(c->pid, r.pid);
    ck_assert_int_eq(c->tid, c->pid);
    run_end(&r);
}
END_TEST

START_TEST(fd_abstract_fifo_unlink_rename_paths)
{
    struct run r;
    run_init(&r, "ep");
    r.sc.endpoint.kind = PF_EP_FIFO; /* adds open to the intercepted set */
    char *argv[] = { PF_SV_PROG, "chdir", r.dir,
                     "bind", "tmp", "fchmod", "600", "rename", "tmp", "ep",
                     "unlink", "ep", "abind", "pf-sv-abstract",
                     "mkfifo", "ep", "600", "open", "./sub/../ep", NULL };
    run_start(&r, argv);
    run_wait_exit(&r);
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/tmp", r.dir);
    ck_assert_str_eq(seen_op(&r, "bind", 1)->path, tmp);
    ck_assert_str_eq(seen_op(&r, "fchmod", 1)->path, tmp);
    ck_assert_int_eq(seen_op(&r, "fchmod", 1)->mode, 0600);
    /* rename: the destination is the endpoint, so that is the path. */
    const struct seen *rn = seen_op(&r, "rename", 1);
    if (!rn)
        rn = seen_op(&r, "renameat", 1);
    if (!rn)
        rn = seen_op(&r, "renameat2", 1);
    ck_assert_ptr_nonnull(rn);
    ck_assert_int_eq(rn->op, PF_OP_RENAME);
    ck_assert_str_eq(rn->path, r.endpoint);
    const struct seen *ul = seen_op(&r, "unlink", 1);
    if (!ul)
        ul = seen_op(&r, "unlinkat", 1);
    ck_assert_ptr_nonnull(ul);
    ck_assert_int_eq(ul->op, PF_OP_UNLINK);
    ck_assert_str_eq(ul->path, r.endpoint);
    ck_assert_str_eq(seen_op(&r, "bind", 2)->path, "@pf-sv-abstract");
    const struct seen *mk = seen_op(&r, "mknodat", 1);
    if (!mk)
        mk = seen_op(&r, "mknod", 1);
    ck_assert_ptr_nonnull(mk);
    ck_assert_int_eq(mk->op, PF_OP_CREATE);
    ck_assert_str_eq(mk->path, r.endpoint);
    ck_assert_int_eq(mk->mode & 07777, 0600);
    /* open of "./sub/../ep" (sub does not exist): normalised lexically. */
    bool opened = false;
    for (int i = 0; i < r.nseen; i++)
        if (r.seen[i].op == PF_OP_OPEN && !strcmp(r.seen[i].path, r.endpoint))
            opened = true;
    ck_assert(opened);
    run_end(&r);
}
END_TEST

START_TEST(after_applies_at_next_endpoint_call)
{
    struct run r;
    run_init(&r, "sock");
    struct pf_fault *f = add_fault(&r, PF_OP_CREATE, PF_PHASE_AFTER,
                                   PF_ACT_HOLD);
    f->until_account = "mallory";
    f->until_event = "attempt";
    char *argv[] = { PF_SV_PROG, "chdir", r.dir, "bind", "sock",
                     "chmod", "sock", "600", "listen", NULL };
    run_start(&r, argv);
    /* bind ran (the program printed it); the hold sits on the chmod. */
    PUMP_UNTIL(&r, seen_secure(&r) && output_has(&r, "bind rc=0"));
    ck_assert(!output_has(&r, "chmod "));
    ck_assert_int_eq(mode_of(r.endpoint), 0755);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "armed"), 1);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "held"), 1);
    pf_supervisor_notify(r.sup, "mallory", "attempt", pf_clock_ns());
    run_wait_exit(&r);
    ck_assert_int_eq(mode_of(r.endpoint), 0600);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "released"), 1);
    run_end(&r);
}
END_TEST

START_TEST(after_lapses_when_no_next_call)
{
    struct run r;
    run_init(&r, "sock");
    struct pf_fault *f = add_fault(&r, PF_OP_LISTEN, PF_PHASE_AFTER,
                                   PF_ACT_DELAY);
    f->delay_min_ns = f->delay_max_ns = 1000000;
    char *argv[] = { PF_SV_PROG, "chdir", r.dir, "bind", "sock", "listen",
                     NULL };
    run_start(&r, argv);
    run_wait_exit(&r);
    PUMP_UNTIL(&r, pf_supervisor_fd(r.sup) < 0);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "armed"), 1);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "lapsed"), 1);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "delayed"), 0);
    run_end(&r);
}
END_TEST

/* A signal to a held thread must not turn the held call into a second
 * occurrence: with WAIT_KILLABLE_RECV the kernel keeps the notification;
 * without it (older kernels) the call is withdrawn and re-issued, and the
 * supervisor must recognise it. _i: 0 default, 1 without the flag. */
START_TEST(signal_during_hold_is_one_occurrence)
{
    struct run r;
    run_init(&r, "sock");
    struct pf_fault *f = add_fault(&r, PF_OP_SECURE, PF_PHASE_BEFORE,
                                   PF_ACT_HOLD);
    f->until_account = "mallory";
    f->until_event = "attempt";
    f->when_first = 1;
    f->when_onwards = false;    /* a second occurrence would be skipped */
    no_killable_wait = _i == 1;
    char *argv[] = { PF_SV_PROG, "sigusr1", "chdir", r.dir, "bind", "sock",
                     "chmod", "sock", "600", NULL };
    run_start(&r, argv);
    PUMP_UNTIL(&r, seen_secure(&r));
    ck_assert_int_eq(kill(r.pid, SIGUSR1), 0);
    if (no_killable_wait) {
        /* The handler ran, so the call was interrupted; wait until the
         * restarted call is back at the supervisor. */
        PUMP_UNTIL(&r, output_has(&r, "signal"));
        PUMP_UNTIL(&r, trace_count(&r, "syscall", "reissued", "true") == 1);
    } else {
        turn(&r, 0);
    }
    ck_assert_int_eq(mode_of(r.endpoint), 0755);
    ck_assert(!output_has(&r, "chmod "));
    pf_supervisor_notify(r.sup, "mallory", "attempt", pf_clock_ns());
    run_wait_exit(&r);
    ck_assert(output_has(&r, "signal"));
    ck_assert_int_eq(out_field(&r, "chmod", 1, "errno"), 0);
    ck_assert_int_eq(mode_of(r.endpoint), 0600);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "held"), 1);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "skipped"), 0);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "released"), 1);
    ck_assert_int_eq(trace_count(&r, "fault", "decision", "lapsed"), 0);
    ck_assert_int_eq(pf_supervisor_fired(r.sup, 0), 1);
    run_end(&r);
}
END_TEST

/* close is intercepted only when a fault targets it; then the close of the
 * endpoint's socket is traced with the socket's bound path, and every other
 * close (the loader's, libc's) passes untraced. */
START_TEST(close_seen_when_targeted)
{
    struct run r;
    run_init(&r, "sock");
    struct pf_fault *f = add_fault(&r, PF_OP_CLOSE, PF_PHASE_BEFORE,
                                   PF_ACT_FAIL);
    f->err = EIO;
    char *argv[] = { PF_SV_PROG, "chdir", r.dir, "bind", "sock", "listen",
                     "close", NULL };
    run_start(&r, argv);
    run_wait_exit(&r);
    const struct seen *c = NULL;
    for (int i = 0; i < r.nseen; i++)
        if (r.seen[i].op == PF_OP_CLOSE && r.seen[i].instance >= 0)
            c = &r.seen[i];
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->path, r.endpoint);
    ck_assert_int_eq(c->fd, seen_op(&r, "bind", 1)->fd);
    ck_assert_int_eq(out_field(&r, "close", 1, "errno"), EIO);
    ck_assert_int_eq(trace_count(&r, "syscall", "op", "close"), 1);
    ck_assert_int_eq(pf_supervisor_fired(r.sup, 0), 1);
    run_end(&r);
}
END_TEST

START_TEST(ops_follow_scenario)
{
    struct pf_scenario sc;
    struct pf_fault f[2];
    memset(&sc, 0, sizeof sc);
    memset(f, 0, sizeof f);
    sc.endpoint.kind = PF_EP_UNIX;
    unsigned base = pf_supervisor_ops(&sc);
    ck_assert(base & (1u << PF_OP_CREATE));
    ck_assert(base & (1u << PF_OP_SECURE));
    ck_assert(base & (1u << PF_OP_LISTEN));
    ck_assert(base & (1u << PF_OP_UNLINK));
    ck_assert(base & (1u << PF_OP_RENAME));
    ck_assert(!(base & (1u << PF_OP_ACCEPT)));
    ck_assert(!(base & (1u << PF_OP_CLOSE)));
    sc.endpoint.kind = PF_EP_FIFO;
    ck_assert(pf_supervisor_ops(&sc) & (1u << PF_OP_OPEN));
    sc.faults = f;
    sc.nfaults = 2;
    f[0].op = PF_OP_CLOSE;
    f[0].target = "server";
    f[1].op = PF_OP_CONNECT;
    f[1].target = "alice";
    unsigned ops = pf_supervisor_ops(&sc);
    ck_assert(ops & (1u << PF_OP_CLOSE));
    ck_assert(!(ops & (1u << PF_OP_ACCEPT)));
    ck_assert(!(ops & (1u << PF_OP_CONNECT)));
}
END_TEST

static Suite *supervisor_suite(void)
{
    Suite *s = suite_create("supervisor");
    TCase *tc = tcase_create("programs");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, sees_calls_with_op_and_absolute_path, 0, K__COUNT);
    tcase_add_loop_test(tc, hold_keeps_chmod_until_notify, 0, K__COUNT);
    tcase_add_test(tc, call_waits_for_every_hold_and_delay);
    tcase_add_loop_test(tc, fail_returns_errno_to_program, 0, K__COUNT);
    tcase_add_loop_test(tc, delay_keeps_call_pending, 0, K__COUNT);
    tcase_add_loop_test(tc, killed_while_held_does_not_wedge, 0, K__COUNT);
    tcase_add_test(tc, when_selects_occurrence);
    tcase_add_test(tc, other_paths_are_not_traced_or_faulted);
    tcase_add_test(tc, thread_and_fork_report_pid_and_tid);
    tcase_add_test(tc, creator_credentials_and_listener_file);
    tcase_add_test(tc, fd_abstract_fifo_unlink_rename_paths);
    tcase_add_test(tc, after_applies_at_next_endpoint_call);
    tcase_add_test(tc, after_lapses_when_no_next_call);
    tcase_add_loop_test(tc, signal_during_hold_is_one_occurrence, 0, 2);
    tcase_add_test(tc, close_seen_when_targeted);
    tcase_add_test(tc, ops_follow_scenario);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *why = pf_supervisor_unsupported();
    if (why) {
        /* Not a pass: say loudly that nothing was tested. */
        fprintf(stderr, "test_supervisor: skipped: %s\n", why);
        return 77;
    }
    snprintf(base_dir, sizeof base_dir, "/tmp/pf-sv-XXXXXX");
    if (!mkdtemp(base_dir)) {
        perror("test_supervisor: mkdtemp");
        return EXIT_FAILURE;
    }
    int rc = pf_check_run(supervisor_suite());
    rm_tree(base_dir);
    return rc;
}
