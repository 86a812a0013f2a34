/* explore_candidates.c - which perturbations explore tries, and in what order.
 *
 * Candidates come from what the server really did in the baseline, never
 * from a fixed list of syscalls: an operation it never made cannot be
 * perturbed. The systematic list is finite and tried first, in the order a
 * permission window most often hides (orderings of instances, then holds
 * that keep an operation waiting until a client has tried, then plain
 * delays); what is left of the budget goes to random multi-point schedules
 * in the style of PCT (Burckhardt et al., ASPLOS 2010), whose chance of
 * hitting a given schedule per trial is stated rather than hoped for.
 */
#include "explore.h"

#include <stdio.h>
#include <string.h>

#include "faults.h"
#include "trace_names.h"
#include "util.h"

const int64_t pf_explore_ladder_ns[PF_EXPLORE_LADDER_N] = {
    5000000LL, 25000000LL, 125000000LL, 625000000LL,
};

/* The hold events tried for every account, in this order. */
static const char *const hold_events[] = {"attempt", "admitted"};
#define NHOLD_EVENTS (sizeof hold_events / sizeof hold_events[0])

static bool server_op(const char *name, enum pf_fault_op *op)
{
    /* Only operations a server rule can name; a client's connect or open is
     * the harness's own doing. A server's open of its FIFO is observed but
     * not a fault point of the server (docs/faults.md). */
    static const enum pf_fault_op ops[] = {PF_OP_CREATE, PF_OP_SECURE, PF_OP_LISTEN,
                                           PF_OP_ACCEPT, PF_OP_CLOSE, PF_OP_UNLINK,
                                           PF_OP_RENAME};
    for (size_t i = 0; name && i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(name, pf_fault_op_name(ops[i]))) {
            *op = ops[i];
            return true;
        }
    return false;
}

size_t pf_explore_ops_seen(json_object *trace, struct pf_op_seen *out)
{
    size_t n = 0;
    size_t len = trace && json_object_is_type(trace, json_type_array) ?
                 json_object_array_length(trace) : 0;
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(trace, i);
        const char *ev = pf_json_str(e, PF_F_EV), *src = pf_json_str(e, PF_F_SRC);
        enum pf_fault_op op;
        if (!ev || strcmp(ev, PF_EV_SYSCALL) || !src ||
            (strcmp(src, PF_SRC_SUPERVISOR) && strcmp(src, PF_SRC_WIN_AGENT)) ||
            !server_op(pf_json_str(e, PF_F_OP), &op))
            continue;
        json_object *re = pf_json_get(e, PF_F_REISSUED);
        if (re && json_object_get_boolean(re))
            continue;
        size_t k = 0;
        while (k < n && out[k].op != op)
            k++;
        if (k == n)
            out[n++] = (struct pf_op_seen){.op = op, .count = 0};
        out[k].count++;
        /* The supervisor's pid is the thread group: its initial thread has
         * tid == pid. (The agent's pid and tid are Windows ids, which do
         * not say which thread is the initial one.) */
        if (!strcmp(src, PF_SRC_SUPERVISOR) && pf_json_get(e, "pid") && pf_json_get(e, "tid")) {
            if (pf_json_int(e, "pid", -1) == pf_json_int(e, "tid", -2))
                out[k].by_main++;
            else
                out[k].by_other++;
        }
    }
    return n;
}

static long occurrences(const struct pf_op_seen *s)
{
    return s->count < PF_EXPLORE_MAX_OCC ? s->count : PF_EXPLORE_MAX_OCC;
}

/* A hold before the first create or rename waits for a client that cannot
 * have started: the loader refuses it, and explore never makes it. */
static bool hold_can_end(enum pf_fault_op op, long when)
{
    return !((op == PF_OP_CREATE || op == PF_OP_RENAME) && when == 1);
}

static struct pf_xfault hold(enum pf_fault_op op, long when, const char *account,
                             const char *event)
{
    return (struct pf_xfault){.op = op, .when = when, .action = PF_ACT_HOLD,
                              .account = account, .event = event,
                              .timeout_ns = PF_EXPLORE_HOLD_TIMEOUT_NS};
}

static struct pf_xfault delay(enum pf_fault_op op, long when, int64_t ns)
{
    return (struct pf_xfault){.op = op, .when = when, .action = PF_ACT_DELAY,
                              .delay_ns = ns};
}

static void push(struct pf_candidate **list, size_t *n, size_t *cap, const char *strategy,
                 struct pf_xfault f)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *list = pf_xreallocarray(*list, *cap, sizeof **list);
    }
    struct pf_candidate *c = &(*list)[(*n)++];
    memset(c, 0, sizeof *c);
    c->strategy = strategy;
    c->f[0] = f;
    c->n = 1;
}

/* The operations in the order their perturbations are tried: `secure`
 * first (it is what closes a permission window, so keeping it waiting
 * keeps the window open), then the others in the order the server made
 * them. */
static size_t by_priority(const struct pf_op_seen *ops, size_t nops, struct pf_op_seen *out)
{
    size_t k = 0;
    for (size_t i = 0; i < nops && k < PF_OP__COUNT; i++)
        if (ops[i].op == PF_OP_SECURE)
            out[k++] = ops[i];
    for (size_t i = 0; i < nops && k < PF_OP__COUNT; i++)
        if (ops[i].op != PF_OP_SECURE)
            out[k++] = ops[i];
    return k;
}

struct pf_candidate *pf_explore_systematic(const struct pf_op_seen *seen, size_t nseen,
                                           const char *const *accounts, size_t naccounts,
                                           size_t *n)
{
    struct pf_candidate *list = NULL;
    size_t cap = 0;
    struct pf_op_seen ops[PF_OP__COUNT];
    size_t nops = by_priority(seen, nseen, ops);
    *n = 0;
    /* Close-before-create: a later instance is created only once a client's
     * connection to the earlier one is completely over, so no instance of
     * the name is left in between (the field report's ordering). */
    for (size_t i = 0; i < nops; i++)
        if (ops[i].op == PF_OP_CREATE)
            for (long w = 2; w <= occurrences(&ops[i]); w++)
                for (size_t a = 0; a < naccounts; a++)
                    push(&list, n, &cap, "ordering", hold(PF_OP_CREATE, w, accounts[a],
                                                         "attempt"));
    for (size_t i = 0; i < nops; i++)
        for (long w = 1; w <= occurrences(&ops[i]); w++)
            for (size_t a = 0; a < naccounts; a++)
                for (size_t e = 0; e < NHOLD_EVENTS; e++) {
                    if (!hold_can_end(ops[i].op, w) ||
                        (ops[i].op == PF_OP_CREATE && !strcmp(hold_events[e], "attempt")))
                        continue;   /* already an ordering above */
                    push(&list, n, &cap, "hold", hold(ops[i].op, w, accounts[a],
                                                      hold_events[e]));
                }
    for (size_t i = 0; i < nops; i++)
        for (long w = 1; w <= occurrences(&ops[i]); w++)
            for (size_t d = 0; d < PF_EXPLORE_LADDER_N; d++)
                push(&list, n, &cap, "delay", delay(ops[i].op, w, pf_explore_ladder_ns[d]));
    /* Thread interleavings: an operation several threads make (a Go
     * server's accept loop and its handlers) is perturbed on one thread
     * class's calls only, so that the other threads run ahead of it. */
    for (size_t i = 0; i < nops; i++) {
        if (!ops[i].by_main || !ops[i].by_other)
            continue;
        static const enum pf_fault_who who[] = {PF_WHO_MAIN, PF_WHO_OTHER};
        for (size_t t = 0; t < 2; t++) {
            long count = who[t] == PF_WHO_MAIN ? ops[i].by_main : ops[i].by_other;
            long occ = count < PF_EXPLORE_MAX_OCC ? count : PF_EXPLORE_MAX_OCC;
            for (long w = 1; w <= occ; w++) {
                for (size_t a = 0; a < naccounts; a++)
                    for (size_t e = 0; e < NHOLD_EVENTS && hold_can_end(ops[i].op, w); e++) {
                        push(&list, n, &cap, "thread", hold(ops[i].op, w, accounts[a],
                                                            hold_events[e]));
                        list[*n - 1].f[0].thread = who[t];
                    }
                for (size_t d = 0; d < PF_EXPLORE_LADDER_N; d++) {
                    push(&list, n, &cap, "thread", delay(ops[i].op, w,
                                                         pf_explore_ladder_ns[d]));
                    list[*n - 1].f[0].thread = who[t];
                }
            }
        }
    }
    return list;
}

void pf_explore_random_space(const struct pf_op_seen *ops, size_t nops, size_t naccounts,
                             long *points, long *perturbations)
{
    *points = 0;
    for (size_t i = 0; i < nops; i++)
        *points += occurrences(&ops[i]);
    *perturbations = PF_EXPLORE_LADDER_N + (long)(naccounts * NHOLD_EVENTS);
}

void pf_explore_random(const struct pf_op_seen *ops, size_t nops,
                       const char *const *accounts, size_t naccounts, uint64_t *state,
                       struct pf_candidate *out)
{
    struct pf_rng rng = {*state};
    long points, perts;
    pf_explore_random_space(ops, nops, naccounts, &points, &perts);
    memset(out, 0, sizeof *out);
    out->strategy = "random";
    for (int d = 0; d < PF_EXPLORE_PCT_DEPTH && points > 0; d++) {
        long p = (long)pf_rng_range(&rng, 0, points - 1);
        size_t i = 0;
        while (p >= occurrences(&ops[i]))
            p -= occurrences(&ops[i++]);
        long when = p + 1;
        long k = (long)pf_rng_range(&rng, 0, perts - 1);
        struct pf_xfault f;
        if (k < PF_EXPLORE_LADDER_N) {
            f = delay(ops[i].op, when, pf_explore_ladder_ns[k]);
        } else {
            k -= PF_EXPLORE_LADDER_N;
            f = hold(ops[i].op, when, accounts[k / (long)NHOLD_EVENTS],
                     hold_events[k % (long)NHOLD_EVENTS]);
            if (!hold_can_end(f.op, f.when))
                f = delay(f.op, f.when, pf_explore_ladder_ns[PF_EXPLORE_LADDER_N - 1]);
        }
        /* Two draws on one point: the second replaces the first. */
        size_t j = 0;
        while (j < out->n && !(out->f[j].op == f.op && out->f[j].when == f.when))
            j++;
        out->f[j] = f;
        if (j == out->n)
            out->n++;
    }
    *state = rng.state;
}

void pf_xfault_describe(const struct pf_xfault *f, char *out, size_t n)
{
    const char *on = f->thread == PF_WHO_MAIN ? " (main thread)" :
                     f->thread == PF_WHO_OTHER ? " (other threads)" : "";
    if (f->action == PF_ACT_HOLD)
        snprintf(out, n, "hold %s #%ld%s until %s:%s", pf_fault_op_name(f->op), f->when, on,
                 f->account, f->event);
    else
        snprintf(out, n, "delay %s #%ld%s by %lldms", pf_fault_op_name(f->op), f->when, on,
                 (long long)(f->delay_ns / 1000000));
}

json_object *pf_xfault_json(const struct pf_xfault *f)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "at", json_object_new_string(pf_fault_op_name(f->op)));
    json_object_object_add(o, "when", json_object_new_int64(f->when));
    if (f->thread != PF_WHO_ANY)
        json_object_object_add(o, "thread", json_object_new_string(
            f->thread == PF_WHO_MAIN ? "main" : "other"));
    json_object_object_add(o, "action",
                           json_object_new_string(pf_fault_action_name(f->action)));
    if (f->action == PF_ACT_HOLD) {
        json_object *u = json_object_new_object();
        json_object_object_add(u, "account", json_object_new_string(f->account));
        json_object_object_add(u, "event", json_object_new_string(f->event));
        json_object_object_add(o, "until", u);
        json_object_object_add(o, "timeout_ms", json_object_new_int64(f->timeout_ns / 1000000));
    } else {
        json_object_object_add(o, "delay_ms", json_object_new_int64(f->delay_ns / 1000000));
    }
    char text[160];
    pf_xfault_describe(f, text, sizeof text);
    json_object_object_add(o, "text", json_object_new_string(text));
    return o;
}
