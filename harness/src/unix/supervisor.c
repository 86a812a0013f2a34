/* supervisor.c - seccomp user-notification supervisor (see supervisor.h and
 * docs/faults.md).
 *
 * Every notified syscall is decoded, shown to the observer while the thread
 * is still stopped at its entry, and then either answered at once (continue)
 * or parked as a `pending` call until its faults are done. Its delays and
 * holds are registered in the core's hold engine (holds.h), the one that
 * also keeps the clients' and the Win32 agent's holds: a delay as a hold
 * that only its deadline ends, a hold until pf_supervisor_notify() names its
 * `until` event (at or after the hold began) or its timeout passes. The
 * engine's release callback marks the fault done and answers the call once
 * all its faults are. Nothing here blocks: the harness's single poll loop
 * drives it through dispatch/tick/notify, so one held server thread never
 * stalls the clients or the observer.
 *
 * seccomp only stops a thread at syscall entry. A rule with phase `after`
 * is therefore decided at its own syscall, `armed` on that thread, and
 * applied at the thread's next endpoint-related syscall entry: the first
 * moment after the call completed at which the thread can be stopped. It
 * lapses if the thread never makes one.
 */
#include "supervisor.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../faults.h"
#include "../holds.h"
#include "../util.h"
#include "syscalls.h"
#include "../trace_names.h"

struct pending;

/* One fault applied to one parked call. */
struct applied {
    struct pf_supervisor *sup;
    struct pending *call;   /* the call it is applied to */
    size_t rule;
    enum pf_fault_action action;
    enum pf_fault_phase phase;
    long hold;              /* delay or hold: its id in sup->holds while it runs */
    bool done;
};

/* A notification parked until its faults are done. */
struct pending {
    struct pending *next;
    uint64_t id;
    struct pf_sc_event ev;  /* as observed, for the proceed hook */
    pid_t pid, tid;
    int nr;                 /* syscall and arguments, to recognise the   */
    uint64_t args[6];       /* same call re-issued after a signal        */
    enum pf_fault_op op;
    const char *name;
    int instance;
    int fail_err;           /* first fired `fail`, 0 none */
    struct applied *faults;
    size_t nfaults;
};

/* An `after` fault waiting for its thread's next endpoint-related call. */
struct armed {
    struct armed *next;
    pid_t pid, tid;
    size_t rule;
    int64_t delay_ns;
};

struct pf_supervisor {
    int fd;
    bool hung_up;           /* no process uses the filter any more */
    const struct pf_scenario *sc;
    struct pf_trace *trace;
    struct pf_supervisor_hooks hooks;
    struct pf_fault_state *states;  /* one per scenario rule */
    struct seccomp_notif *req;
    struct seccomp_notif_resp *resp;
    struct pending *pending;
    struct pf_holds *holds; /* the running delays and holds of parked calls */
    struct armed *armed;
    struct pf_sc_bindings bindings;
    pid_t server_pid;       /* the process the harness started, 0 unknown */
};

/* ---- which rules apply ------------------------------------------------- */

static bool targets_server(const struct pf_fault *f)
{
    return !f->target || strcmp(f->target, "server") == 0;
}

/* The rule's process/thread selector against the calling thread. */
static bool who_matches(const struct pf_supervisor *s, const struct pf_fault *f,
                        pid_t pid, pid_t tid)
{
    bool main_process = s->server_pid == 0 || pid == s->server_pid;
    bool main_thread = tid == pid;
    if ((f->process == PF_WHO_MAIN && !main_process) ||
        (f->process == PF_WHO_OTHER && main_process))
        return false;
    if ((f->thread == PF_WHO_MAIN && !main_thread) ||
        (f->thread == PF_WHO_OTHER && main_thread))
        return false;
    return true;
}

void pf_supervisor_set_server(struct pf_supervisor *s, pid_t pid)
{
    s->server_pid = pid;
}

static bool server_op(enum pf_fault_op op)
{
    return op != PF_OP_CONNECT && op < PF_OP__COUNT;
}

unsigned pf_supervisor_ops(const struct pf_scenario *sc)
{
    unsigned ops = 1u << PF_OP_CREATE | 1u << PF_OP_SECURE |
                   1u << PF_OP_LISTEN | 1u << PF_OP_UNLINK |
                   1u << PF_OP_RENAME;
    /* Servers open FIFOs, never sockets: intercepting every open(at) of a
     * socket server (its libraries, its config) would only cost time. */
    if (sc->endpoint.kind == PF_EP_FIFO)
        ops |= 1u << PF_OP_OPEN;
    for (size_t i = 0; i < sc->nfaults; i++) {
        const struct pf_fault *f = &sc->faults[i];
        if (!targets_server(f) || !server_op(f->op))
            continue;
        ops |= 1u << f->op;
        /* An `after` fault needs the thread's next step to be seen; after
         * listen (or a FIFO open) a server's next step is accept. */
        if (f->phase == PF_PHASE_AFTER)
            ops |= 1u << PF_OP_ACCEPT;
    }
    return ops;
}

/* ---- trace ------------------------------------------------------------- */

static void emit_syscall(struct pf_supervisor *s, const struct pf_sc_event *e,
                         int instance)
{
    if (!s->trace)
        return;
    json_object *o = json_object_new_object();
    json_object_object_add(o, PF_F_PID, json_object_new_int(e->pid));
    json_object_object_add(o, PF_F_TID, json_object_new_int(e->tid));
    json_object_object_add(o, PF_F_OP, json_object_new_string(
                               pf_fault_op_name(e->op)));
    json_object_object_add(o, PF_F_NAME, json_object_new_string(e->name));
    json_object_object_add(o, PF_F_PATH, e->path[0] ?
                           json_object_new_string(e->path) : NULL);
    json_object_object_add(o, PF_F_FD, e->fd >= 0 ?
                           json_object_new_int(e->fd) : NULL);
    if (e->mode >= 0) {
        char mode[16];
        snprintf(mode, sizeof mode, "%04o", (unsigned)e->mode & 07777u);
        json_object_object_add(o, PF_F_MODE, json_object_new_string(mode));
    }
    json_object_object_add(o, PF_F_INSTANCE, instance > 0 ?
                           json_object_new_int(instance) : NULL);
    pf_trace_emit(s->trace, PF_SRC_SUPERVISOR, PF_EV_SYSCALL, o);
}

/* Where a fault event happened: the call it was decided at or applied to. */
struct where {
    pid_t pid, tid;
    const char *name;
    int instance;
};

static void emit_fault(struct pf_supervisor *s, const struct where *w,
                       size_t rule, const char *decision, int64_t delay_ns,
                       const char *reason)
{
    if (!s->trace)
        return;
    const struct pf_fault *f = &s->sc->faults[rule];
    json_object *o = json_object_new_object();
    json_object_object_add(o, PF_F_PID, json_object_new_int(w->pid));
    json_object_object_add(o, PF_F_TID, json_object_new_int(w->tid));
    json_object_object_add(o, PF_F_OP, json_object_new_string(
                               pf_fault_op_name(f->op)));
    json_object_object_add(o, PF_F_PHASE, json_object_new_string(
                               pf_fault_phase_name(f->phase)));
    json_object_object_add(o, PF_F_ACTION, json_object_new_string(
                               pf_fault_action_name(f->action)));
    json_object_object_add(o, PF_F_RULE, json_object_new_int64((int64_t)rule));
    json_object_object_add(o, PF_F_DECISION, json_object_new_string(decision));
    json_object_object_add(o, PF_F_DELAY_NS, f->action == PF_ACT_DELAY ?
                           json_object_new_int64(delay_ns) : NULL);
    json_object_object_add(o, PF_F_ERRNO, f->action == PF_ACT_FAIL ?
                           json_object_new_int(f->err) : NULL);
    json_object_object_add(o, PF_F_REASON, reason ?
                           json_object_new_string(reason) : NULL);
    json_object_object_add(o, PF_F_NAME, w->name ?
                           json_object_new_string(w->name) : NULL);
    json_object_object_add(o, PF_F_INSTANCE, w->instance > 0 ?
                           json_object_new_int(w->instance) : NULL);
    pf_trace_emit(s->trace, PF_SRC_SUPERVISOR, PF_EV_FAULT, o);
    if (s->hooks.held && !strcmp(decision, "held"))
        s->hooks.held(s->hooks.held_ctx, rule);
}

static struct where where_of(const struct pending *p)
{
    return (struct where){ p->pid, p->tid, p->name, p->instance };
}

/* ---- answering --------------------------------------------------------- */

/* Lets the call run (err 0) or fails it with -err. False if the thread is
 * gone: killed, or interrupted by a signal with the notification withdrawn. */
static bool respond(struct pf_supervisor *s, uint64_t id, int err)
{
    memset(s->resp, 0, sizeof *s->resp);
    s->resp->id = id;
    if (err) {
        s->resp->error = -err;
    } else {
        s->resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    }
    return seccomp_notify_respond(s->fd, s->resp) == 0;
}

/* Traces the end of every unfinished fault of a call that can no longer be
 * answered. */
static void lapse_pending(struct pf_supervisor *s, struct pending *p,
                          const char *reason)
{
    struct where w = where_of(p);
    for (size_t i = 0; i < p->nfaults; i++)
        emit_fault(s, &w, p->faults[i].rule, "lapsed", 0, reason);
}

/* Frees a parked call, forgetting its delays and holds still running. */
static void free_pending(struct pf_supervisor *s, struct pending *p)
{
    for (size_t i = 0; i < p->nfaults; i++)
        if (p->faults[i].hold)
            pf_holds_cancel(s->holds, p->faults[i].hold);
    free(p->faults);
    free(p);
}

static void unlink_pending(struct pf_supervisor *s, struct pending *p)
{
    for (struct pending **pp = &s->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

/* Answers a parked call if all its faults are done. Returns true if it was
 * answered (and freed). */
static bool try_finish(struct pf_supervisor *s, struct pending *p)
{
    for (size_t i = 0; i < p->nfaults; i++)
        if (!p->faults[i].done)
            return false;
    struct where w = where_of(p);
    if (p->fail_err)
        for (size_t i = 0; i < p->nfaults; i++)
            if (p->faults[i].action == PF_ACT_FAIL) {
                emit_fault(s, &w, p->faults[i].rule, "failed", 0, NULL);
                break;
            }
    /* The thread is still stopped: the observer sees the state the call
     * will act on, at the moment it acts. */
    if (!p->fail_err && s->hooks.proceed &&
        seccomp_notify_id_valid(s->fd, p->id) == 0)
        s->hooks.proceed(s->hooks.ctx, &p->ev, p->instance);
    if (!respond(s, p->id, p->fail_err))
        lapse_pending(s, p, pf_sc_thread_alive(p->tid) ? "interrupted"
                                                       : "target-gone");
    unlink_pending(s, p);
    free_pending(s, p);
    return true;
}

/* ---- deciding ---------------------------------------------------------- */

/* The hold engine ended a delay (its deadline: decision timed-out) or a
 * hold (its `until` event: released, or its timeout: timed-out). The call
 * is answered once all its faults are done; `a` may be freed with it. */
static void applied_ended(void *ctx, const char *decision, const char *reason)
{
    struct applied *a = ctx;
    struct pending *p = a->call;
    struct where w = where_of(p);
    a->done = true;
    a->hold = 0;
    if (a->action == PF_ACT_DELAY)
        emit_fault(a->sup, &w, a->rule, "released", 0, "elapsed");
    else
        emit_fault(a->sup, &w, a->rule, decision, 0, reason);
    try_finish(a->sup, p);
}

/* p->faults has room for all its faults from the start: the engine keeps
 * pointers to them. */
static void add_applied(struct pf_supervisor *s, struct pending *p, size_t rule,
                        const struct pf_fault *f, int64_t start, int64_t delay_ns)
{
    struct applied *a = &p->faults[p->nfaults++];
    *a = (struct applied){ .sup = s, .call = p, .rule = rule, .action = f->action,
                           .phase = f->phase };
    if (f->action == PF_ACT_DELAY) {
        a->hold = pf_holds_add(s->holds, NULL, NULL, start, start + delay_ns,
                               applied_ended, a);
    } else if (f->action == PF_ACT_HOLD) {
        a->hold = pf_holds_add(s->holds, f->until_account, f->until_event, start,
                               start + f->timeout_ns, applied_ended, a);
    } else {
        a->done = true;
        if (!p->fail_err)
            p->fail_err = f->err;
    }
}

static const char *start_decision(enum pf_fault_action a)
{
    return a == PF_ACT_DELAY ? "delayed" : a == PF_ACT_HOLD ? "held" : NULL;
}

/* Applies, to the call `p`, the `after` faults armed on its thread by its
 * previous endpoint-related call, then decides this call's own rules. */
static void decide(struct pf_supervisor *s, struct pending *p)
{
    const struct pf_scenario *sc = s->sc;
    struct where w = where_of(p);
    int64_t start = pf_clock_ns();

    for (struct armed **ap = &s->armed; *ap;) {
        struct armed *a = *ap;
        if (a->tid != p->tid) {
            ap = &a->next;
            continue;
        }
        const struct pf_fault *f = &sc->faults[a->rule];
        add_applied(s, p, a->rule, f, start, a->delay_ns);
        if (start_decision(f->action))
            emit_fault(s, &w, a->rule, start_decision(f->action),
                       a->delay_ns, NULL);
        *ap = a->next;
        free(a);
    }

    for (size_t i = 0; i < sc->nfaults; i++) {
        const struct pf_fault *f = &sc->faults[i];
        if (!targets_server(f) || f->op != p->op || !who_matches(s, f, p->pid, p->tid))
            continue;
        struct pf_fault_decision d = pf_fault_decide(f, &s->states[i]);
        if (!d.fire) {
            emit_fault(s, &w, i, "skipped", 0, d.reason);
            continue;
        }
        if (f->phase == PF_PHASE_BEFORE) {
            add_applied(s, p, i, f, start, d.delay_ns);
            if (start_decision(f->action))
                emit_fault(s, &w, i, start_decision(f->action), d.delay_ns,
                           NULL);
            continue;
        }
        /* `after` with `fail` never gets here: the call would have run by
         * the time its thread can next be stopped, so the scenario loader
         * refuses the combination. */
        struct armed *a = pf_xcalloc(1, sizeof *a);
        a->pid = p->pid;
        a->tid = p->tid;
        a->rule = i;
        a->delay_ns = d.delay_ns;
        a->next = s->armed;
        s->armed = a;
        emit_fault(s, &w, i, "armed", d.delay_ns, NULL);
    }
}

/* ---- receiving --------------------------------------------------------- */

/* A thread has one syscall in flight: a notification from a thread that
 * already has a parked call is that call re-issued after a signal withdrew
 * it (same syscall and arguments), not a new occurrence. */
static struct pending *reissued(struct pf_supervisor *s,
                                const struct seccomp_notif *n)
{
    for (struct pending *p = s->pending; p; p = p->next)
        if (p->tid == (pid_t)n->pid && p->nr == n->data.nr &&
            memcmp(p->args, n->data.args, sizeof p->args) == 0)
            return p;
    return NULL;
}

/* Asks the observer; for rename, the destination first, then the source. */
static int observe(struct pf_supervisor *s, struct pf_sc_call *c)
{
    int inst = s->hooks.observe(s->hooks.ctx, &c->ev);
    if (inst == PF_SC_UNRELATED && c->from[0]) {
        char to[PATH_MAX];
        memcpy(to, c->ev.path, sizeof to);
        memcpy(c->ev.path, c->from, sizeof c->ev.path);
        inst = s->hooks.observe(s->hooks.ctx, &c->ev);
        if (inst == PF_SC_UNRELATED)
            memcpy(c->ev.path, to, sizeof to);
    }
    return inst;
}

static void handle(struct pf_supervisor *s, const struct seccomp_notif *n)
{
    struct pending *again = reissued(s, n);
    if (again) {
        again->id = n->id;
        if (s->trace) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, PF_F_PID, json_object_new_int(again->pid));
            json_object_object_add(o, PF_F_TID, json_object_new_int(again->tid));
            json_object_object_add(o, PF_F_OP, json_object_new_string(
                                       pf_fault_op_name(again->op)));
            json_object_object_add(o, PF_F_NAME, json_object_new_string(
                                       again->name));
            json_object_object_add(o, PF_F_INSTANCE, again->instance > 0 ?
                                   json_object_new_int(again->instance) : NULL);
            json_object_object_add(o, PF_F_REISSUED, json_object_new_boolean(1));
            pf_trace_emit(s->trace, PF_SRC_SUPERVISOR, PF_EV_SYSCALL, o);
        }
        return;
    }

    struct pf_sc_call *c = pf_xmalloc(sizeof *c);
    pf_sc_decode(n, &s->bindings, c);
    /* The arguments were read from memory the thread could have changed
     * (another thread) or lost (killed) meanwhile: trust them only if the
     * notification is still alive now. */
    if (seccomp_notify_id_valid(s->fd, n->id) != 0) {
        free(c);
        return;
    }
    int inst = c->relevant && s->hooks.observe ? observe(s, c) : PF_SC_UNRELATED;
    if (inst == PF_SC_UNRELATED) {
        free(c);
        respond(s, n->id, 0);
        return;
    }
    emit_syscall(s, &c->ev, inst);

    /* Room for every rule twice: its `after` fault armed by the previous
     * call and its own decision here. */
    struct pending *p = pf_xcalloc(1, sizeof *p);
    p->faults = pf_xcalloc(2 * s->sc->nfaults + 1, sizeof *p->faults);
    p->id = n->id;
    p->ev = c->ev;
    p->pid = c->ev.pid;
    p->tid = c->ev.tid;
    p->nr = n->data.nr;
    memcpy(p->args, n->data.args, sizeof p->args);
    p->op = c->ev.op;
    p->name = c->ev.name;
    p->instance = inst;
    free(c);

    decide(s, p);
    p->next = s->pending;
    s->pending = p;
    try_finish(s, p);
}

/* Drops parked calls whose thread is gone, and `after` faults armed on a
 * thread that exited: the call can never be answered or made. */
static void reap(struct pf_supervisor *s, bool all_gone)
{
    for (struct pending *p = s->pending, *next; p; p = next) {
        next = p->next;
        if (!all_gone && (seccomp_notify_id_valid(s->fd, p->id) == 0 ||
                          pf_sc_thread_alive(p->tid)))
            continue;
        lapse_pending(s, p, "target-gone");
        unlink_pending(s, p);
        free_pending(s, p);
    }
    for (struct armed **ap = &s->armed; *ap;) {
        struct armed *a = *ap;
        if (!all_gone && pf_sc_thread_alive(a->tid)) {
            ap = &a->next;
            continue;
        }
        struct where w = { a->pid, a->tid, NULL, 0 };
        emit_fault(s, &w, a->rule, "lapsed", a->delay_ns,
                   all_gone ? "server-exit" : "thread-exit");
        *ap = a->next;
        free(a);
    }
}

/* ---- public ------------------------------------------------------------ */

struct pf_supervisor *pf_supervisor_start(int sock,
                                          const struct pf_scenario *sc,
                                          uint64_t seed,
                                          struct pf_trace *trace,
                                          const struct pf_supervisor_hooks *h)
{
    int fd = pf_sc_receive_fd(sock);
    if (fd < 0)
        return NULL;
    struct pf_supervisor *s = pf_xcalloc(1, sizeof *s);
    s->fd = fd;
    s->sc = sc;
    s->trace = trace;
    if (h)
        s->hooks = *h;
    s->states = pf_xcalloc(sc->nfaults + 1, sizeof *s->states);
    if (seccomp_notify_alloc(&s->req, &s->resp) != 0)
        goto fail;
    s->holds = pf_holds_new();
    for (size_t i = 0; i < sc->nfaults; i++)
        pf_fault_state_init(&s->states[i], seed, i);
    return s;
fail:
    free(s->states);
    free(s);
    close(fd);
    errno = ENOMEM;
    return NULL;
}

int pf_supervisor_fd(const struct pf_supervisor *s)
{
    return s->hung_up ? -1 : s->fd;
}

void pf_supervisor_dispatch(struct pf_supervisor *s)
{
    if (s->hung_up)
        return;
    /* Receive only what poll says is there: SECCOMP_IOCTL_NOTIF_RECV blocks
     * when nothing is pending. A bounded batch keeps the loop fair. */
    for (int i = 0; i < 64; i++) {
        struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
        if (poll(&pfd, 1, 0) <= 0)
            break;
        if (!(pfd.revents & POLLIN)) {
            if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
                /* Every process under the filter has exited. */
                s->hung_up = true;
                reap(s, true);
                return;
            }
            break;
        }
        memset(s->req, 0, sizeof *s->req);
        if (seccomp_notify_receive(s->fd, s->req) != 0)
            continue; /* withdrawn between poll and receive */
        handle(s, s->req);
    }
    reap(s, false);
}

int64_t pf_supervisor_next_deadline(const struct pf_supervisor *s)
{
    return pf_holds_next_deadline(s->holds);
}

void pf_supervisor_tick(struct pf_supervisor *s)
{
    pf_holds_expire(s->holds, pf_clock_ns());
    if (!s->hung_up)
        reap(s, false);
}

void pf_supervisor_notify(struct pf_supervisor *s, const char *account,
                          const char *event, int64_t t)
{
    pf_holds_event(s->holds, account, event, t);
}

long pf_supervisor_fired(const struct pf_supervisor *s, size_t rule)
{
    return rule < s->sc->nfaults ? s->states[rule].fired : 0;
}

void pf_supervisor_free(struct pf_supervisor *s)
{
    if (!s)
        return;
    /* Let every parked call run so that no server thread stays stopped
     * (the harness may still be waiting for the server to exit). */
    while (s->pending) {
        struct pending *p = s->pending;
        struct where w = where_of(p);
        for (size_t i = 0; i < p->nfaults; i++)
            if (!p->faults[i].done)
                emit_fault(s, &w, p->faults[i].rule, "released", 0,
                           "supervisor-stopped");
        s->pending = p->next;
        respond(s, p->id, 0);
        free_pending(s, p);
    }
    while (s->armed) {
        struct armed *a = s->armed;
        struct where w = { a->pid, a->tid, NULL, 0 };
        emit_fault(s, &w, a->rule, "lapsed", a->delay_ns, "supervisor-stopped");
        s->armed = a->next;
        free(a);
    }
    seccomp_notify_free(s->req, s->resp);
    pf_sc_bindings_free(&s->bindings);
    pf_holds_free(s->holds);
    free(s->states);
    close(s->fd);
    free(s);
}
