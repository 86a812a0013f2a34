/* scenario_faults.c - the `faults:` section of a scenario file.
 *
 * A fault names an operation (`at`), when it applies and what to do. Which
 * keys are valid depends on the action (delay needs `delay`, hold needs
 * `until`, fail needs `errno`) and which process may be targeted depends
 * on the operation (connect and open happen in the harness's clients, the
 * rest in the server), so this section has more rules than any other.
 * Read after accounts and clients, which it refers to.
 */
#include "faults.h"
#include "scenario_load.h"
#include "scenario_values.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* The names live with the fault decisions (faults.c), which the Win32 agent
 * links too. */
static const char *const *const op_names = pf_fault_op_names;
static const char *const *const phase_names = pf_fault_phase_names;
static const char *const *const action_names = pf_fault_action_names;
/* What a hold waits for, as the backends report it for a client attempt:
 * every attempt, then admitted or refused, and denied when the refusal was
 * for permissions (EACCES, EPERM, ERROR_ACCESS_DENIED). */
static const char *const event_names[] = {"attempt", "admitted", "refused",
                                          "denied", NULL};

static bool load_delay(struct scn_loader *ld, const yaml_node_t *v,
                       struct pf_fault *f)
{
    if (scn_is_type(v, YAML_SCALAR_NODE)) {
        if (!scn_get_duration(ld, v, "delay", false, &f->delay_min_ns))
            return false;
        f->delay_max_ns = f->delay_min_ns;
        return true;
    }
    if (!scn_is_type(v, YAML_SEQUENCE_NODE))
        return scn_fail(ld, v, "'delay' must be a duration or a [min, max] pair, "
                        "not %s", scn_kind_of(v));
    if (scn_seq_len(v) != 2)
        return scn_fail(ld, v, "'delay' range must have exactly 2 durations, not %zu",
                        scn_seq_len(v));
    yaml_node_t *lo = scn_seq_at(ld, v, 0), *hi = scn_seq_at(ld, v, 1);
    if (!scn_get_duration(ld, lo, "delay", false, &f->delay_min_ns) ||
        !scn_get_duration(ld, hi, "delay", false, &f->delay_max_ns))
        return false;
    if (f->delay_min_ns > f->delay_max_ns)
        return scn_fail(ld, v, "'delay' range [min, max] has min greater than max");
    return true;
}

static bool load_until(struct scn_loader *ld, const yaml_node_t *v,
                       const struct pf_scenario *sc, struct pf_fault *f)
{
    static const char *const keys[] = {"account", "event", NULL};
    yaml_node_t *a, *e;
    int ev;
    return scn_want(ld, v, YAML_MAPPING_NODE, "until") &&
           scn_check_keys(ld, v, "until", keys) &&
           (a = scn_required(ld, v, "account", "until")) &&
           (e = scn_required(ld, v, "event", "until")) &&
           scn_get_string(ld, a, "account", &f->until_account) &&
           scn_check_client_account_ref(ld, sc, a, "until account",
                                        f->until_account) &&
           scn_get_enum(ld, e, "event", "until event", event_names, &ev) &&
           scn_dup_into(ld, e, event_names[ev], &f->until_event);
}

static bool load_errno(struct scn_loader *ld, const yaml_node_t *v,
                       const struct pf_scenario *sc, struct pf_fault *f)
{
    const char *s = scn_get_scalar(ld, v, "errno");
    if (!s)
        return false;
    if (pf_errno_lookup(sc->platform, s, &f->err))
        return scn_dup_into(ld, v, s, &f->err_name);
    char h[64];
    const char *near = pf_errno_closest(sc->platform, s);
    if (sc->platform == PF_PLATFORM_LINUX && !strncmp(s, "ERROR_", 6))
        return scn_fail(ld, v, "'%s' is a Win32 error; linux faults take errno "
                        "names such as EACCES", s);
    if (sc->platform == PF_PLATFORM_WIN32 && s[0] == 'E' && !near)
        return scn_fail(ld, v, "'%s' is not a Win32 error name; win32 faults take "
                        "names such as ERROR_ACCESS_DENIED", s);
    return scn_fail(ld, v, "unknown %s '%s'%s", sc->platform == PF_PLATFORM_WIN32 ?
                    "Win32 error" : "errno", s, scn_hint(h, sizeof h, near));
}

/* Where a fault acts (docs/faults.md): `connect` only in the harness's
 * clients; `open` in a client, or in the server when the endpoint is a FIFO
 * (servers open FIFOs, never sockets); everything else in the server. And a
 * client fault must name the operation its clients actually do, or it could
 * never fire: FIFO clients open, socket clients connect. */
static bool load_target(struct scn_loader *ld, const yaml_node_t *item,
                        const struct pf_scenario *sc, struct pf_fault *f)
{
    const char *op = op_names[f->op];
    enum pf_endpoint_kind kind = sc->endpoint.kind;
    yaml_node_t *at = scn_field(ld, item, "at");
    yaml_node_t *v = scn_field(ld, item, "target");
    if (!v && f->op == PF_OP_CONNECT)
        return scn_fail(ld, item, "missing required field 'target' in a fault: "
                        "'connect' happens in a client, so name its account");
    if (v ? !scn_get_string(ld, v, "target", &f->target)
          : !scn_dup_into(ld, item, "server", &f->target))
        return false;

    static const char *const process_names[] = {"any", "main", "child", NULL};
    static const char *const thread_names[] = {"any", "main", "other", NULL};
    int who;
    yaml_node_t *sel[2] = {scn_field(ld, item, "process"), scn_field(ld, item, "thread")};
    if (sel[0] || sel[1]) {
        if (strcmp(f->target, "server") != 0)
            return scn_fail(ld, sel[0] ? sel[0] : sel[1], "'%s' selects among the "
                            "server's processes and threads; a client fault has one",
                            sel[0] ? "process" : "thread");
        if (sel[0] && !scn_get_enum(ld, sel[0], "process", "process", process_names, &who))
            return false;
        if (sel[0])
            f->process = (enum pf_fault_who)who;
        if (sel[1] && !scn_get_enum(ld, sel[1], "thread", "thread", thread_names, &who))
            return false;
        if (sel[1])
            f->thread = (enum pf_fault_who)who;
    }

    if (strcmp(f->target, "server") == 0) {
        if (f->op == PF_OP_CONNECT)
            return scn_fail(ld, v, "'connect' happens in a client: target must "
                            "be a client account, not 'server'");
        if (f->op == PF_OP_OPEN && kind != PF_EP_FIFO)
            return scn_fail(ld, v ? v : at, "the server opens only fifo "
                            "endpoints; to fault a client's open, set target "
                            "to its account");
        return true;
    }
    if (f->op != PF_OP_CONNECT && f->op != PF_OP_OPEN)
        return scn_fail(ld, v, "'%s' happens in the server: target must be "
                        "'server', not '%s'", op, f->target);
    if (!scn_check_client_account_ref(ld, sc, v, "target account", f->target))
        return false;
    if (kind == PF_EP_FIFO && f->op == PF_OP_CONNECT)
        return scn_fail(ld, at, "clients open a fifo, they do not connect: use "
                        "at: open");
    if ((kind == PF_EP_UNIX || kind == PF_EP_ABSTRACT) && f->op == PF_OP_OPEN)
        return scn_fail(ld, at, "clients connect to a %s socket, they do not "
                        "open it: use at: connect", kind == PF_EP_UNIX ?
                        "unix" : "abstract");
    return true;
}

/* Clients start only once the server has created its endpoint, so a hold
 * before the server's first create (or the rename that puts it in place)
 * waits for a client event that cannot happen yet: it can only time out.
 * With a process/thread selection the first matching call may come after
 * another one created the endpoint, so only `any`/`any` is certain. */
static bool check_hold_can_end(struct scn_loader *ld, const yaml_node_t *item,
                               const struct pf_fault *f)
{
    if (f->action != PF_ACT_HOLD || f->phase != PF_PHASE_BEFORE ||
        (f->op != PF_OP_CREATE && f->op != PF_OP_RENAME) || f->when_first != 1 ||
        strcmp(f->target, "server") != 0 || f->process != PF_WHO_ANY ||
        f->thread != PF_WHO_ANY)
        return true;
    return scn_fail(ld, scn_field(ld, item, "until"), "a hold on the server's first "
                    "'%s' can only time out: clients start after the endpoint exists, "
                    "so '%s' of %s cannot happen before it (use action: delay, "
                    "phase: after, or a later 'when')", op_names[f->op],
                    f->until_event, f->until_account);
}

static bool load_fault(struct scn_loader *ld, const yaml_node_t *item,
                       const struct pf_scenario *sc, struct pf_fault *f)
{
    static const char *const keys[] = {"at", "phase", "action", "until",
                                       "timeout", "delay", "errno", "when",
                                       "probability", "target", "process",
                                       "thread", "required", NULL};
    /* Keys that belong to one action only. */
    static const struct { const char *key; enum pf_fault_action action; } only[] = {
        {"delay", PF_ACT_DELAY}, {"until", PF_ACT_HOLD},
        {"timeout", PF_ACT_HOLD}, {"errno", PF_ACT_FAIL},
    };
    static const char *const needs[] = {
        [PF_ACT_DELAY] = "delay", [PF_ACT_HOLD] = "until", [PF_ACT_FAIL] = "errno"};
    yaml_node_t *v, *key;
    int op, action, phase = PF_PHASE_BEFORE;
    f->mark.line = (int)item->start_mark.line + 1;
    f->mark.col = (int)item->start_mark.column + 1;
    f->when_first = 1;
    f->when_step = 1;
    f->when_onwards = true;
    f->probability = 1.0;
    f->timeout_ns = 5 * SCN_SECOND_NS;
    if (!scn_want_item(ld, item, YAML_MAPPING_NODE, "faults") ||
        !scn_check_keys(ld, item, "a fault", keys) ||
        !(v = scn_required(ld, item, "at", "a fault")) ||
        !scn_get_enum(ld, v, "at", "fault operation", op_names, &op) ||
        ((v = scn_field(ld, item, "phase")) &&
         !scn_get_enum(ld, v, "phase", "fault phase", phase_names, &phase)) ||
        !(v = scn_required(ld, item, "action", "a fault")) ||
        !scn_get_enum(ld, v, "action", "fault action", action_names, &action))
        return false;
    f->op = (enum pf_fault_op)op;
    f->phase = (enum pf_fault_phase)phase;
    f->action = (enum pf_fault_action)action;

    for (size_t i = 0; i < sizeof only / sizeof only[0]; i++)
        if (scn_find(ld, item, only[i].key, &key) && only[i].action != f->action)
            return scn_fail(ld, key, "'%s' only applies to action: %s, not %s",
                            only[i].key, action_names[only[i].action],
                            action_names[f->action]);
    if (f->action == PF_ACT_FAIL && f->phase == PF_PHASE_AFTER)
        return scn_fail(ld, scn_field(ld, item, "phase"), "phase: after cannot go with "
                        "action: fail (the call has already happened; fail it before)");
    if (f->action == PF_ACT_HOLD && !scn_field(ld, item, "until"))
        return scn_fail(ld, item, "missing required field 'until' in a fault "
                        "(a hold waits for an event; to wait a fixed time, use "
                        "action: delay)");
    if (!(v = scn_required(ld, item, needs[f->action], "a fault")))
        return false;
    switch (f->action) {
    case PF_ACT_DELAY:
        if (!load_delay(ld, v, f))
            return false;
        break;
    case PF_ACT_HOLD:
        if (!load_until(ld, v, sc, f) ||
            ((v = scn_field(ld, item, "timeout")) &&
             !scn_get_duration(ld, v, "timeout", true, &f->timeout_ns)))
            return false;
        break;
    case PF_ACT_FAIL:
        if (!load_errno(ld, v, sc, f))
            return false;
        break;
    }

    if ((v = scn_field(ld, item, "when"))) {
        const char *s = scn_get_scalar(ld, v, "when"), *why;
        if (!s)
            return false;
        if ((why = pf_when_parse(s, &f->when_first, &f->when_step, &f->when_onwards)))
            return scn_fail(ld, v, "bad when '%s': %s", s, why);
    }
    if ((v = scn_field(ld, item, "required")) &&
        !scn_get_bool(ld, v, "required", &f->required))
        return false;
    if ((v = scn_field(ld, item, "probability"))) {
        const char *s = scn_get_scalar(ld, v, "probability"), *why;
        if (!s)
            return false;
        if ((why = pf_probability_parse(s, &f->probability)))
            return scn_fail(ld, v, "bad probability '%s': %s", s, why);
    }
    return load_target(ld, item, sc, f) && check_hold_can_end(ld, item, f);
}

bool scn_load_faults(struct scn_loader *ld, const yaml_node_t *root,
                     struct pf_scenario *sc)
{
    yaml_node_t *v = scn_field(ld, root, "faults");
    if (!v)
        return true;
    if (!scn_want(ld, v, YAML_SEQUENCE_NODE, "faults"))
        return false;
    size_t n = scn_seq_len(v);
    if (!(sc->faults = pf_xcalloc(n ? n : 1, sizeof *sc->faults)))
        return scn_fail(ld, v, "out of memory");
    sc->nfaults = n;
    for (size_t i = 0; i < n; i++)
        if (!load_fault(ld, scn_seq_at(ld, v, i), sc, &sc->faults[i]))
            return false;
    return true;
}
