/* checker.c - judging expectations, and the scenario's verdict.
 *
 * Classes: a permission state is `intended` when it matches what the
 * scenario intends, `default` when it matches what the platform gives a new
 * instance when the server does nothing (the instance's own birth default
 * when the trace has one: its creator's real credentials, the directory's
 * setgid bit and default ACL, the run's umask; else the platform's), and
 * `other` otherwise. Intended wins when the two coincide: then the server
 * got what it meant.
 *
 * Every expectation is `held`, `failed` or `vacuous`: vacuous when the run
 * never produced what it speaks of (no instance, no attempt that reached an
 * accepting instance, no instance that accepted), because "held" would then
 * claim what was never seen. A vacuous expectation with no failed one makes
 * the scenario `inconclusive`, and so does a run in which no client attempt
 * reached an accepting endpoint instance, or a required fault that never
 * fired.
 */
#include "checker.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker_attack.h"
#include "checker_model.h"
#include "util.h"
#include "trace_names.h"

static const char *const identity_keys[] = {PF_PERM_MODE, PF_PERM_UID, PF_PERM_GID,
                                            PF_PERM_ACL_NAMED, PF_PERM_NORMALISED};

bool pf_perm_matches(json_object *perm, json_object *ref)
{
    if (!perm || !ref)
        return false;
    json_object *none = pf_json_get(perm, PF_PERM_NONE);
    if (none && json_object_get_boolean(none))
        return false;
    int compared = 0;
    for (size_t i = 0; i < sizeof identity_keys / sizeof identity_keys[0]; i++) {
        json_object *want, *have;
        if (!json_object_object_get_ex(ref, identity_keys[i], &want))
            continue;
        if (!json_object_object_get_ex(perm, identity_keys[i], &have))
            return false;
        if (!json_object_equal(want, have))
            return false;
        compared++;
    }
    return compared > 0;
}

void pf_perm_describe(json_object *perm, char *out, size_t n)
{
    json_object *none = pf_json_get(perm, PF_PERM_NONE);
    if (none && json_object_get_boolean(none)) {
        snprintf(out, n, "no permissions at all");
        return;
    }
    const char *sddl = pf_json_str(perm, PF_PERM_NORMALISED);
    if (!sddl)
        sddl = pf_json_str(perm, PF_PERM_SDDL);
    if (sddl) {
        snprintf(out, n, "%s", sddl);
        return;
    }
    const char *mode = pf_json_str(perm, PF_PERM_MODE), *owner = pf_json_str(perm, PF_PERM_OWNER);
    const char *group = pf_json_str(perm, PF_PERM_GROUP), *acl = pf_json_str(perm, PF_PERM_ACL);
    snprintf(out, n, "%s, owner %s, group %s%s%s", mode ? mode : "?", owner ? owner : "?",
             group ? group : "?", acl ? ", ACL " : "", acl ? acl : "");
}

/* The state of the instance at time t (latest entry at or before t). */
static json_object *state_at(struct pf_inst *in, int64_t t)
{
    json_object *best = NULL;
    size_t n = json_object_array_length(in->history);
    for (size_t i = 0; i < n; i++) {
        json_object *h = json_object_array_get_idx(in->history, i);
        if (pf_json_int(h, "t_ns", 0) <= t)
            best = h;
    }
    return best ? best : json_object_array_get_idx(in->history, 0);
}

static const char *birth_class(struct pf_inst *in)
{
    return pf_json_str(json_object_array_get_idx(in->history, 0), "class");
}

static const char *accept_class(struct pf_inst *in)
{
    return in->accepting < 0 ? NULL : pf_json_str(state_at(in, in->accepting), "class");
}

static void fmt_ms(int64_t ns, char *out, size_t n)
{
    if (ns < 1000000)
        snprintf(out, n, "%.1f us", (double)ns / 1e3);
    else
        snprintf(out, n, "%.3f ms", (double)ns / 1e6);
}

/* When the instance first had the intended permissions, PF_NEVER if never. */
static int64_t secured_at(struct pf_inst *in)
{
    size_t n = json_object_array_length(in->history);
    for (size_t i = 0; i < n; i++) {
        json_object *h = json_object_array_get_idx(in->history, i);
        if (!strcmp(pf_json_str(h, "class"), "intended"))
            return pf_json_int(h, "t_ns", 0);
    }
    return PF_NEVER;
}

/* The latest moment at which the instance certainly did not yet have the
 * intended permissions: the change to them was seen at secured_at() but may
 * have happened any time after the old state was last read (`since_ns`).
 * PF_NEVER if never secured. */
static int64_t surely_unsecured_until(struct pf_inst *in)
{
    size_t n = json_object_array_length(in->history);
    for (size_t i = 0; i < n; i++) {
        json_object *h = json_object_array_get_idx(in->history, i);
        if (!strcmp(pf_json_str(h, "class"), "intended"))
            return pf_json_int(h, "since_ns", pf_json_int(h, "t_ns", 0));
    }
    return PF_NEVER;
}

/* Admitted attempts credited to this instance (before t, unless t < 0). */
static int admitted_before(struct pf_model *m, const struct pf_inst *in, int64_t t)
{
    int k = 0;
    for (size_t i = 0; i < m->natt; i++)
        if (pf_model_inst(m, m->att[i].inst) == in && !strcmp(m->att[i].outcome, "ok") &&
            (t < 0 || m->att[i].t_end < t))
            k++;
    return k;
}

static void describe_birth(struct pf_model *m, struct pf_inst *in, char *out, size_t n)
{
    char perm[512], um[64] = "";
    json_object *first = json_object_array_get_idx(in->history, 0);
    pf_perm_describe(pf_json_get(first, PF_F_PERM), perm, sizeof perm);
    const char *umask = pf_json_str(in->birth_ev, PF_F_UMASK);
    if (umask && !strcmp(birth_class(in), "default"))
        snprintf(um, sizeof um, ", umask %s", umask);
    int64_t sec = secured_at(in);
    int adm = admitted_before(m, in, surely_unsecured_until(in));
    char tail[160] = "";
    if (sec == PF_NEVER && adm)
        snprintf(tail, sizeof tail, ", was never secured, and accepted %d connection%s",
                 adm, adm == 1 ? "" : "s");
    else if (sec == PF_NEVER)
        snprintf(tail, sizeof tail, " and was never secured");
    else if (adm)
        snprintf(tail, sizeof tail, " and accepted %d connection%s before it was secured",
                 adm, adm == 1 ? "" : "s");
    snprintf(out, n, "instance #%lld was born with the %s permissions (%s%s)%s",
             (long long)in->id, birth_class(in), perm, um, tail);
}

/* Appends to a fixed buffer; text past its end is cut, never overrun. */
static void append(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t n, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, n - len, fmt, ap);
    va_end(ap);
}

enum status { ST_HELD, ST_FAILED, ST_VACUOUS, ST_UNKNOWN };

static const char *const status_names[] = {"held", "failed", "vacuous", "unknown"};

/* The failures in words (the first few, then a count), and why an
 * expectation could not be judged. */
struct judgement {
    char detail[1024];
    char vacuous[1024];
    int failures;
    bool unknown;
};

/* Is there room for one more failure's words? Counting goes on regardless. */
static bool describing(const struct judgement *j)
{
    return j->failures < 4;
}

static void note(struct judgement *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct judgement *j, const char *fmt, ...)
{
    if (j->failures++ >= 4)
        return;
    if (j->failures > 1)
        append(j->detail, sizeof j->detail, "; ");
    size_t len = strlen(j->detail);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->detail + len, sizeof j->detail - len, fmt, ap);
    va_end(ap);
}

static void vacuous(struct judgement *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vacuous(struct judgement *j, const char *fmt, ...)
{
    if (j->vacuous[0])
        append(j->vacuous, sizeof j->vacuous, "; ");
    size_t len = strlen(j->vacuous);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->vacuous + len, sizeof j->vacuous - len, fmt, ap);
    va_end(ap);
}

/* "10 attempts: EACCES 9, ok 1" for one account. */
static void account_outcomes(struct pf_model *m, const char *account, char *out, size_t n)
{
    json_object *counts = json_object_new_object();
    int total = 0;
    for (size_t k = 0; k < m->natt; k++) {
        struct pf_attempt *a = &m->att[k];
        if (strcmp(a->account, account))
            continue;
        total++;
        const char *o = a->injected ? "failed by a client-side fault" : a->outcome;
        json_object *cur = pf_json_get(counts, o);
        json_object_object_add(counts, o, json_object_new_int(cur ? json_object_get_int(cur) + 1 : 1));
    }
    snprintf(out, n, "%d attempt%s", total, total == 1 ? "" : "s");
    const char *sep = ": ";
    json_object_object_foreach(counts, k, v) {
        append(out, n, "%s%s %d", sep, k, json_object_get_int(v));
        sep = ", ";
    }
    json_object_put(counts);
}

static void no_instance(struct pf_model *m, struct judgement *j)
{
    vacuous(j, "no instance on the endpoint was ever seen");
    size_t nforeign = m->ninst - m->nendpoint;
    if (!nforeign)
        return;
    for (size_t i = 0; i < m->ninst; i++)
        if (m->inst[i].foreign) {
            const char *name = pf_json_str(m->inst[i].birth_ev, PF_F_ENDPOINT);
            append(j->vacuous, sizeof j->vacuous, " (the server created %zu instance%s under "
                   "another name, first %s)", nforeign, nforeign == 1 ? "" : "s",
                   name ? name : "?");
            break;
        }
}

static void judge_birth_intended(struct pf_model *m, struct judgement *j)
{
    char buf[1024];
    for (size_t i = 0; i < m->ninst; i++) {
        struct pf_inst *in = &m->inst[i];
        if (in->foreign || !strcmp(birth_class(in), "intended"))
            continue;
        if (describing(j)) {
            describe_birth(m, in, buf, sizeof buf);
            note(j, "%s", buf);
        } else {
            j->failures++;
        }
    }
}

static void judge_before_accept(struct pf_model *m, struct judgement *j)
{
    size_t accepted = 0;
    for (size_t i = 0; i < m->ninst; i++) {
        struct pf_inst *in = &m->inst[i];
        const char *cls = in->foreign ? NULL : accept_class(in);
        if (!cls)
            continue;
        accepted++;
        if (!strcmp(cls, "intended"))
            continue;
        if (!describing(j)) {
            j->failures++;
            continue;
        }
        char perm[512], when[32], late[96] = "";
        pf_perm_describe(pf_json_get(state_at(in, in->accepting), PF_F_PERM), perm, sizeof perm);
        fmt_ms(in->accepting, when, sizeof when);
        int64_t sec = secured_at(in);
        if (sec > in->accepting) {
            char d[32];
            fmt_ms(sec - in->accepting, d, sizeof d);
            snprintf(late, sizeof late, "; it was secured %s later", d);
        } else if (sec == PF_NEVER) {
            snprintf(late, sizeof late, "; it was never secured");
        }
        int adm = admitted_before(m, in, surely_unsecured_until(in));
        char adms[64] = "";
        if (adm)
            snprintf(adms, sizeof adms, ", and admitted %d connection%s meanwhile", adm,
                     adm == 1 ? "" : "s");
        note(j, "instance #%lld started accepting (%s, at %s) with the %s permissions (%s)%s%s",
             (long long)in->id, in->accepting_evidence ? in->accepting_evidence : "?", when, cls,
             perm, late, adms);
    }
    if (!j->failures && !accepted)
        vacuous(j, "no instance on the endpoint ever accepted a connection");
}

/* A denied attempt of an allowed account counts as a denial only when the
 * instance that refused it was accepting: a socket that is bound but not
 * listening refuses as a matter of start-up. Without attribution that is
 * known only when every instance present was accepting (a denial) or none
 * was (start-up); otherwise the run cannot tell. */
enum denial { NOT_DENIED, DENIED, CANNOT_TELL };

static enum denial denial_of(struct pf_model *m, const struct pf_attempt *a)
{
    if (a->injected || !pf_outcome_denied(a->outcome))
        return NOT_DENIED;
    struct pf_inst *in = pf_model_inst(m, a->inst);
    if (in)
        return !in->foreign && pf_inst_accepting_at(in, a->t_end) ? DENIED : NOT_DENIED;
    struct pf_presence p = pf_model_present(m, a->t, a->t_end);
    if (!p.accepting)
        return NOT_DENIED;
    return p.accepting == p.n ? DENIED : CANNOT_TELL;
}

static void judge_accounts(struct pf_model *m, struct judgement *j, bool want_allowed)
{
    const struct pf_scenario *sc = m->sc;
    size_t ofkind = 0;
    for (size_t i = 0; i < sc->naccounts; i++) {
        const struct pf_account *acc = &sc->accounts[i];
        if (acc->allowed != want_allowed)
            continue;
        ofkind++;
        int bad = 0, reached = 0, unsure = 0;
        struct pf_attempt *first = NULL;
        for (size_t k = 0; k < m->natt; k++) {
            struct pf_attempt *a = &m->att[k];
            if (strcmp(a->account, acc->name) || a->injected)
                continue;
            if (pf_attempt_reached(m, a))
                reached++;
            bool wrong;
            if (want_allowed) {
                enum denial d = denial_of(m, a);
                unsure += d == CANNOT_TELL;
                wrong = d == DENIED;
            } else {
                wrong = !strcmp(a->outcome, "ok");
            }
            if (wrong && !bad++)
                first = a;
        }
        const char *kind = want_allowed ? "allowed" : "not allowed";
        if (!bad) {
            char outs[256];
            account_outcomes(m, acc->name, outs, sizeof outs);
            if (!reached)
                vacuous(j, "no attempt of %s (%s) reached a live, accepting instance (%s)",
                        acc->name, kind, outs);
            else if (unsure)
                vacuous(j, "%s (%s) was refused %d time%s while some instances present were "
                        "accepting and others were not, and pipefault cannot tell which one "
                        "refused", acc->name, kind, unsure, unsure == 1 ? "" : "s");
            continue;
        }
        if (!describing(j)) {
            j->failures++;
            continue;
        }
        char when[32], at[600] = "";
        fmt_ms(first->t, when, sizeof when);
        struct pf_inst *in = pf_model_inst(m, first->inst);
        if (in) {
            json_object *st = state_at(in, first->t_end);
            char perm[512];
            pf_perm_describe(pf_json_get(st, PF_F_PERM), perm, sizeof perm);
            snprintf(at, sizeof at, " by instance #%lld while it had the %s permissions (%s)",
                     (long long)in->id, pf_json_str(st, "class"), perm);
        } else {
            snprintf(at, sizeof at, " by an instance pipefault cannot name");
        }
        note(j, "%s (%s) was %s %d time%s, first at %s%s%s%s", acc->name, kind,
             want_allowed ? "refused" : "admitted", bad, bad == 1 ? "" : "s", when,
             want_allowed ? " with " : "", want_allowed ? first->outcome : "", at);
    }
    if (!ofkind)
        vacuous(j, "the scenario has no %s account", want_allowed ? "allowed" : "not-allowed");
}

static void judge_no_default(struct pf_model *m, struct judgement *j)
{
    for (size_t i = 0; i < m->ninst; i++) {
        struct pf_inst *in = &m->inst[i];
        if (in->foreign)
            continue;
        size_t n = json_object_array_length(in->history);
        for (size_t k = 0; k < n; k++) {
            json_object *h = json_object_array_get_idx(in->history, k);
            if (strcmp(pf_json_str(h, "class"), "default"))
                continue;
            char perm[512], when[32];
            pf_perm_describe(pf_json_get(h, PF_F_PERM), perm, sizeof perm);
            fmt_ms(pf_json_int(h, "t_ns", 0), when, sizeof when);
            note(j, "instance #%lld had the default permissions (%s) at %s", (long long)in->id,
                 perm, when);
            break;
        }
    }
}

/* What was seen that makes "held" true, in a few words. */
static void held_reason(struct pf_model *m, enum pf_expect which, struct judgement *j)
{
    size_t n = m->nendpoint, accepted = 0;
    for (size_t i = 0; i < m->ninst; i++)
        accepted += !m->inst[i].foreign && m->inst[i].accepting >= 0;
    const char *s = n == 1 ? "" : "s";
    switch (which) {
    case PF_EXPECT_BIRTH_INTENDED:
        snprintf(j->detail, sizeof j->detail, "%zu endpoint instance%s, each born with the "
                 "intended permissions", n, s);
        break;
    case PF_EXPECT_INTENDED_BEFORE_ACCEPT:
        snprintf(j->detail, sizeof j->detail, "%zu instance%s accepted, each with the intended "
                 "permissions when it started", accepted, accepted == 1 ? "" : "s");
        break;
    case PF_EXPECT_ALLOWED_NEVER_DENIED:
        snprintf(j->detail, sizeof j->detail, "every allowed account reached an accepting "
                 "instance, and none was denied by one");
        break;
    case PF_EXPECT_OTHERS_NEVER_ADMITTED:
        snprintf(j->detail, sizeof j->detail, "every not-allowed account reached an accepting "
                 "instance, and none was admitted");
        break;
    case PF_EXPECT_NO_DEFAULT_INSTANCE:
        snprintf(j->detail, sizeof j->detail, "none of the %zu endpoint instance%s ever had the "
                 "default permissions", n, s);
        break;
    default:
        break;
    }
}

/* The expectations about attackers (checker_attack.c). */
static enum status judge_attack(struct pf_model *m, json_object *trace, enum pf_expect which,
                                struct judgement *j)
{
    struct pf_attack_judgement a;
    pf_judge_attack(m, trace, which, &a);
    j->failures = a.failures;
    snprintf(j->detail, sizeof j->detail, "%s", a.failures ? a.detail : a.held);
    snprintf(j->vacuous, sizeof j->vacuous, "%s", a.vacuous);
    return a.failures ? ST_FAILED : a.vacuous[0] ? ST_VACUOUS : ST_HELD;
}

static enum status judge(struct pf_model *m, json_object *trace, enum pf_expect which,
                         struct judgement *j)
{
    memset(j, 0, sizeof *j);
    if (pf_expect_is_attack(which))
        return judge_attack(m, trace, which, j);
    bool about_accounts = which == PF_EXPECT_ALLOWED_NEVER_DENIED ||
                          which == PF_EXPECT_OTHERS_NEVER_ADMITTED;
    if (about_accounts && m->single_account) {
        j->unknown = true;
        snprintf(j->detail, sizeof j->detail,
                 "single-account platform: every process runs as the same account, so "
                 "this needs real accounts (run on Windows or Linux)");
        return ST_UNKNOWN;
    }
    switch (which) {
    case PF_EXPECT_BIRTH_INTENDED: judge_birth_intended(m, j); break;
    case PF_EXPECT_INTENDED_BEFORE_ACCEPT: judge_before_accept(m, j); break;
    case PF_EXPECT_ALLOWED_NEVER_DENIED: judge_accounts(m, j, true); break;
    case PF_EXPECT_OTHERS_NEVER_ADMITTED: judge_accounts(m, j, false); break;
    case PF_EXPECT_NO_DEFAULT_INSTANCE: judge_no_default(m, j); break;
    default: break;
    }
    if (j->failures)
        return ST_FAILED;
    /* Nothing on the endpoint: whatever else was found vacuous, this says it all. */
    if (!m->nendpoint) {
        j->vacuous[0] = 0;
        no_instance(m, j);
    }
    if (j->vacuous[0])
        return ST_VACUOUS;
    held_reason(m, which, j);
    return ST_HELD;
}

static json_object *expectation_json(enum pf_expect which, enum status st, struct judgement *j)
{
    if (j->failures > 4)
        append(j->detail, sizeof j->detail, " (and %d more)", j->failures - 4);
    const char *reason = st == ST_VACUOUS ? j->vacuous : j->detail;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(pf_expect_name(which)));
    json_object_object_add(o, "text", json_object_new_string(pf_expect_text(which)));
    json_object_object_add(o, "held", st == ST_HELD ? json_object_new_boolean(1) :
                                      st == ST_FAILED ? json_object_new_boolean(0) : NULL);
    json_object_object_add(o, "status", json_object_new_string(status_names[st]));
    json_object_object_add(o, "reason", json_object_new_string(reason));
    json_object_object_add(o, "detail", json_object_new_string(
        st == ST_VACUOUS ? j->vacuous : st == ST_HELD ? "" : j->detail));
    return o;
}

/* Win32 lineage: a created name starts a chain; an instance of an existing
 * name carries the SD of the chain's first instance. */
static json_object *lineage(struct pf_inst *in, int64_t *chain_root)
{
    json_object *cn = pf_json_get(in->birth_ev, PF_F_CREATED_NAME);
    if (!cn)
        return NULL;
    json_object *l = json_object_new_object();
    if (json_object_get_boolean(cn) || !*chain_root) {
        bool first = !*chain_root;
        *chain_root = in->id;
        const char *cls = birth_class(in);
        const char *kind = !strcmp(cls, "default") ? "default" :
                           !strcmp(cls, "intended") ? "explicit" : "other";
        json_object_object_add(l, "from", NULL);
        json_object_object_add(l, "kind", json_object_new_string(kind));
        json_object_object_add(l, "note", json_object_new_string(
            !first && !strcmp(kind, "default")
                ? "the pipe name had disappeared: the chain broke and this instance got the default SD"
                : "created the pipe name"));
    } else {
        json_object_object_add(l, "from", json_object_new_int64(*chain_root));
        json_object_object_add(l, "kind", json_object_new_string("inherited"));
        char n[96];
        snprintf(n, sizeof n, "carries the SD of instance #%lld, which created the name",
                 (long long)*chain_root);
        json_object_object_add(l, "note", json_object_new_string(n));
    }
    return l;
}

static json_object *instance_json(struct pf_inst *in, int64_t *chain_root)
{
    json_object *o = json_object_new_object();
    json_object *first = json_object_array_get_idx(in->history, 0);
    json_object_object_add(o, "id", json_object_new_int64(in->id));
    json_object_object_add(o, "endpoint",
                           json_object_get(pf_json_get(in->birth_ev, PF_F_ENDPOINT)));
    json_object_object_add(o, "key", json_object_get(pf_json_get(in->birth_ev, PF_F_KEY)));
    json_object_object_add(o, "born_ns", json_object_new_int64(in->born));
    json_object_object_add(o, "accepting_ns",
                           in->accepting < 0 ? NULL : json_object_new_int64(in->accepting));
    json_object_object_add(o, "accepting_evidence", in->accepting_evidence ?
                           json_object_new_string(in->accepting_evidence) : NULL);
    json_object_object_add(o, "removed_ns",
                           in->removed < 0 ? NULL : json_object_new_int64(in->removed));
    json_object_object_add(o, "birth", json_object_get(pf_json_get(first, PF_F_PERM)));
    json_object_object_add(o, "birth_evidence", json_object_get(pf_json_get(first, PF_F_EVIDENCE)));
    json_object_object_add(o, "birth_class", json_object_new_string(birth_class(in)));
    const char *ac = accept_class(in);
    json_object_object_add(o, "class_at_first_accept", ac ? json_object_new_string(ac) : NULL);
    json_object_object_add(o, "umask", json_object_get(pf_json_get(in->birth_ev, PF_F_UMASK)));
    if (in->own_default)
        json_object_object_add(o, "default", json_object_get(in->deflt));
    json_object_object_add(o, "history", json_object_get(in->history));
    json_object_object_add(o, "admitted", json_object_get(in->admitted));
    json_object_object_add(o, "lineage", in->foreign ? NULL : lineage(in, chain_root));
    static const char *const win_keys[] = {"created_name", "instance_count", "sa_passed"};
    for (size_t k = 0; k < sizeof win_keys / sizeof win_keys[0]; k++)
        if (pf_json_get(in->birth_ev, win_keys[k]))
            json_object_object_add(o, win_keys[k],
                                   json_object_get(pf_json_get(in->birth_ev, win_keys[k])));
    return o;
}

static json_object *instances_json(struct pf_model *m, bool foreign)
{
    json_object *arr = json_object_new_array();
    int64_t chain_root = 0;
    for (size_t i = 0; i < m->ninst; i++)
        if (m->inst[i].foreign == foreign)
            json_object_array_add(arr, instance_json(&m->inst[i], &chain_root));
    return arr;
}

/* What the account's clients do once connected, one entry per `clients:`
 * entry of the account, with the labels of its processes: the page shows
 * each attempt beside what its client sent and expected. */
static json_object *protocols_json(const struct pf_scenario *sc, const char *account)
{
    json_object *arr = json_object_new_array();
    int label = 1;   /* processes are numbered across the account's entries (plan.c) */
    for (size_t i = 0; i < sc->nclients; i++) {
        const struct pf_client *c = &sc->clients[i];
        if (strcmp(c->account, account))
            continue;
        json_object *o = json_object_new_object(), *labels = json_object_new_array();
        for (int k = 0; k < c->count; k++) {
            char name[160];
            snprintf(name, sizeof name, "%s#%d", account, label++);
            json_object_array_add(labels, json_object_new_string(name));
        }
        json_object_object_add(o, "clients", labels);
        if (c->command) {
            json_object *argv = json_object_new_array();
            for (size_t k = 0; k < c->ncommand; k++)
                json_object_array_add(argv, json_object_new_string(c->command[k]));
            json_object_object_add(o, PF_F_PROTOCOL, json_object_new_string("command"));
            json_object_object_add(o, "command", argv);
            json_object_array_add(arr, o);
            continue;
        }
        json_object_object_add(o, PF_F_PROTOCOL,
                               json_object_new_string(pf_client_protocol_name(c->protocol)));
        if (c->send)
            json_object_object_add(o, "send", json_object_new_string(c->send));
        if (c->expect)
            json_object_object_add(o, "expect", json_object_new_string(c->expect));
        if (c->protocol != PF_PROTO_CONNECT)
            json_object_object_add(o, "read_timeout_ns", json_object_new_int64(c->read_timeout_ns));
        json_object_array_add(arr, o);
    }
    return arr;
}

/* The account's real name, from its `account` trace event; NULL when the
 * trace has none (the run stopped before the accounts were made). */
static json_object *account_user(json_object *trace, const char *account)
{
    size_t n = json_object_array_length(trace);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(trace, i);
        const char *ev = pf_json_str(e, PF_F_EV), *name = pf_json_str(e, PF_F_NAME);
        if (ev && name && !strcmp(ev, PF_EV_ACCOUNT) && !strcmp(name, account))
            return json_object_get(pf_json_get(e, PF_F_USER));
    }
    return NULL;
}

/* How the account's command clients ended ("exit 0", "exit 2", "signal
 * 9"), counted, from their `client_exit` events. */
static json_object *command_exits(json_object *trace, const char *account)
{
    json_object *o = json_object_new_object();
    size_t n = json_object_array_length(trace);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(trace, i);
        const char *ev = pf_json_str(e, PF_F_EV), *acc = pf_json_str(e, PF_F_ACCOUNT);
        if (!ev || !acc || strcmp(ev, PF_EV_CLIENT_EXIT) || strcmp(acc, account))
            continue;
        json_object *st = pf_json_get(e, "status");
        char k[48];
        if (st)
            snprintf(k, sizeof k, "exit %d", json_object_get_int(st));
        else
            snprintf(k, sizeof k, "signal %lld", (long long)pf_json_int(e, "signal", 0));
        json_object *cur = pf_json_get(o, k);
        json_object_object_add(o, k, json_object_new_int(cur ? json_object_get_int(cur) + 1 : 1));
    }
    return o;
}

static json_object *clients_json(struct pf_model *m, json_object *trace)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < m->sc->naccounts; i++) {
        const struct pf_account *acc = &m->sc->accounts[i];
        json_object *o = json_object_new_object(), *outcomes = json_object_new_object();
        json_object *replies = json_object_new_object();   /* protocol outcomes, apart */
        int attempts = 0, served = 0, reached = 0, how[4] = {0};
        for (size_t k = 0; k < m->natt; k++) {
            struct pf_attempt *a = &m->att[k];
            if (strcmp(a->account, acc->name))
                continue;
            attempts++;
            json_object *s = pf_json_get(a->ev, PF_F_SERVED);
            if (s && json_object_get_boolean(s))
                served++;
            reached += pf_attempt_reached(m, a);
            how[a->how]++;
            json_object *cur = pf_json_get(outcomes, a->outcome);
            json_object_object_add(outcomes, a->outcome,
                                   json_object_new_int(cur ? json_object_get_int(cur) + 1 : 1));
            const char *reply = pf_json_str(a->ev, "reply");
            if (reply) {
                cur = pf_json_get(replies, reply);
                json_object_object_add(replies, reply,
                                       json_object_new_int(cur ? json_object_get_int(cur) + 1 : 1));
            }
        }
        json_object *attr = json_object_new_object();
        for (int h = 0; h < 4; h++)
            json_object_object_add(attr, pf_attribution_name((enum pf_attribution)h),
                                   json_object_new_int(how[h]));
        json_object_object_add(o, "account", json_object_new_string(acc->name));
        json_object_object_add(o, PF_F_USER, account_user(trace, acc->name));
        json_object_object_add(o, "allowed", json_object_new_boolean(acc->allowed));
        json_object_object_add(o, "attempts", json_object_new_int(attempts));
        json_object_object_add(o, "outcomes", outcomes);
        json_object_object_add(o, "served", json_object_new_int(served));
        json_object_object_add(o, "replies", replies);
        json_object_object_add(o, "protocols", protocols_json(m->sc, acc->name));
        json_object_object_add(o, "command_exits", command_exits(trace, acc->name));
        json_object_object_add(o, "reached_accepting", json_object_new_int(reached));
        json_object_object_add(o, "attribution", attr);
        json_object_array_add(arr, o);
    }
    return arr;
}

/* Every attempt with the instance it is credited to and the evidence used,
 * in trace order (the report pairs them with the trace's attempt events). */
static json_object *attempts_json(struct pf_model *m)
{
    json_object *arr = json_object_new_array_ext((int)(m->natt < 1 ? 1 : m->natt));
    for (size_t k = 0; k < m->natt; k++) {
        struct pf_attempt *a = &m->att[k];
        struct pf_inst *in = pf_model_inst(m, a->inst);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "client", json_object_get(pf_json_get(a->ev, PF_F_CLIENT)));
        json_object_object_add(o, "account", json_object_new_string(a->account));
        json_object_object_add(o, "t", json_object_new_int64(a->t));
        json_object_object_add(o, "outcome", json_object_new_string(a->outcome));
        json_object_object_add(o, "instance", in ? json_object_new_int64(in->id) : NULL);
        json_object_object_add(o, "attribution", json_object_new_string(
            in ? pf_attribution_name(a->how) : "unknown"));
        json_object_object_add(o, "reached", json_object_new_boolean(pf_attempt_reached(m, a)));
        /* What the client did once connected, as its trace event says. */
        static const char *const reply_keys[] = {PF_F_PROTOCOL, PF_F_REPLY, PF_F_REPLY_HEAD};
        for (size_t r = 0; r < sizeof reply_keys / sizeof reply_keys[0]; r++) {
            json_object *v = pf_json_get(a->ev, reply_keys[r]);
            if (v)
                json_object_object_add(o, reply_keys[r], json_object_get(v));
        }
        json_object_array_add(arr, o);
    }
    return arr;
}

static long fired_count(json_object *trace, size_t rule)
{
    long fired = 0;
    size_t n = json_object_array_length(trace);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(trace, i);
        const char *ev = pf_json_str(e, PF_F_EV), *d = pf_json_str(e, PF_F_DECISION);
        if (!ev || strcmp(ev, PF_EV_FAULT) || pf_json_int(e, PF_F_RULE, -1) != (int64_t)rule || !d)
            continue;
        if (!strcmp(d, "delayed") || !strcmp(d, "held") || !strcmp(d, "failed"))
            fired++;
    }
    return fired;
}

static void describe_rule(const struct pf_scenario *sc, size_t r, char *out, size_t n)
{
    const struct pf_fault *f = &sc->faults[r];
    snprintf(out, n, "fault rule %zu (%s %s %s, %s:%d:%d)", r, pf_fault_action_name(f->action),
             pf_fault_phase_name(f->phase), pf_fault_op_name(f->op), sc->file ? sc->file : "?",
             f->mark.line, f->mark.col);
}

/* Fills faults[] and, when the server ran, a warning per rule that never
 * fired. Returns how many required rules never fired; names the first. */
static int faults_json(const struct pf_scenario *sc, json_object *trace, bool ran,
                       json_object *faults, json_object *warnings, char *first, size_t n)
{
    int unfired_required = 0;
    for (size_t r = 0; r < sc->nfaults; r++) {
        const struct pf_fault *f = &sc->faults[r];
        long fired = fired_count(trace, r);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "rule", json_object_new_int((int)r));
        json_object_object_add(o, "at", json_object_new_string(pf_fault_op_name(f->op)));
        json_object_object_add(o, "phase", json_object_new_string(pf_fault_phase_name(f->phase)));
        json_object_object_add(o, "action", json_object_new_string(pf_fault_action_name(f->action)));
        json_object_object_add(o, "target", json_object_new_string(f->target ? f->target : "server"));
        json_object_object_add(o, "line", json_object_new_int(f->mark.line));
        json_object_object_add(o, "required", json_object_new_boolean(f->required));
        json_object_object_add(o, "fired", json_object_new_int64(fired));
        json_object_array_add(faults, o);
        if (fired)
            continue;
        char text[512];
        describe_rule(sc, r, text, sizeof text);
        if (f->required && !unfired_required++)
            snprintf(first, n, "%s", text);
        if (!ran)
            continue;
        append(text, sizeof text, "%s never fired", f->required ? " is required and" : "");
        json_object *w = json_object_new_object();
        json_object_object_add(w, "kind", json_object_new_string("fault_never_fired"));
        json_object_object_add(w, "rule", json_object_new_int((int)r));
        json_object_object_add(w, "at", json_object_new_string(pf_fault_op_name(f->op)));
        json_object_object_add(w, "action", json_object_new_string(pf_fault_action_name(f->action)));
        json_object_object_add(w, "file", json_object_new_string(sc->file ? sc->file : ""));
        json_object_object_add(w, "line", json_object_new_int(f->mark.line));
        json_object_object_add(w, "col", json_object_new_int(f->mark.col));
        json_object_object_add(w, "required", json_object_new_boolean(f->required));
        json_object_object_add(w, "text", json_object_new_string(text));
        json_object_array_add(warnings, w);
    }
    return unfired_required;
}

/* "N attempts: EACCES N" over every account. */
static void all_outcomes(struct pf_model *m, char *out, size_t n)
{
    out[0] = 0;
    json_object *counts = json_object_new_object();
    for (size_t k = 0; k < m->natt; k++) {
        const char *o = m->att[k].injected ? "failed by a client-side fault" : m->att[k].outcome;
        json_object *cur = pf_json_get(counts, o);
        json_object_object_add(counts, o, json_object_new_int(cur ? json_object_get_int(cur) + 1 : 1));
    }
    snprintf(out, n, "%zu attempt%s", m->natt, m->natt == 1 ? "" : "s");
    const char *sep = ": ";
    json_object_object_foreach(counts, k, v) {
        append(out, n, "%s%s %d", sep, k, json_object_get_int(v));
        sep = ", ";
    }
    json_object_put(counts);
}

json_object *pf_check(const struct pf_scenario *sc, json_object *trace)
{
    struct pf_model *m = pf_xcalloc(1, sizeof *m);
    pf_model_build(m, sc, trace);

    json_object *out = json_object_new_object();
    json_object *exps = json_object_new_array();
    int failed = 0, unknown = 0, total = 0;
    char why_vacuous[2048] = "";
    for (int e = 0; e < PF_EXPECT__COUNT; e++) {
        if (!sc->expect[e])
            continue;
        struct judgement j;
        enum status st = judge(m, trace, (enum pf_expect)e, &j);
        total++;
        failed += st == ST_FAILED;
        unknown += st == ST_UNKNOWN;
        if (st == ST_VACUOUS)
            append(why_vacuous, sizeof why_vacuous, "%s%s: %s", why_vacuous[0] ? "; " : "",
                   pf_expect_name((enum pf_expect)e), j.vacuous);
        json_object_array_add(exps, expectation_json((enum pf_expect)e, st, &j));
    }
    bool reached = false;
    for (size_t k = 0; k < m->natt && !reached; k++)
        reached = pf_attempt_reached(m, &m->att[k]);
    reached = reached || pf_command_client_reached(trace);

    json_object *faults = json_object_new_array(), *warnings = json_object_new_array();
    char required[512] = "";
    int unfired_required = faults_json(sc, trace, m->server_started, faults, warnings, required,
                                       sizeof required);

    char reason[3072] = "";
    const char *verdict;
    if (m->orphans) {
        verdict = "error";
        snprintf(reason, sizeof reason, "%s%s: not judged", m->orphan_text,
                 m->orphans > 1 ? " (and more such events)" : "");
    } else if (failed) {
        verdict = "fail";
        snprintf(reason, sizeof reason, "%d of %d expectation%s failed", failed, total,
                 total == 1 ? "" : "s");
    } else if (why_vacuous[0] || !reached || unfired_required) {
        verdict = "inconclusive";
        if (!reached) {
            char outs[512];
            all_outcomes(m, outs, sizeof outs);
            append(reason, sizeof reason, "no client attempt reached a live, accepting endpoint "
                   "instance (%s)", outs);
        }
        if (unfired_required)
            append(reason, sizeof reason, "%s%s is required and never fired%s",
                   reason[0] ? "; " : "", required,
                   unfired_required > 1 ? " (and other required rules too)" : "");
        if (why_vacuous[0])
            append(reason, sizeof reason, "%snot judged: %s", reason[0] ? "; " : "", why_vacuous);
    } else if (unknown) {
        verdict = "skipped";
        snprintf(reason, sizeof reason, "%d of %d expectation%s cannot be judged on this "
                 "platform; the others held", unknown, total, total == 1 ? "" : "s");
    } else {
        verdict = "pass";
        snprintf(reason, sizeof reason, "all %d expectation%s held", total, total == 1 ? "" : "s");
    }
    json_object_object_add(out, "verdict", json_object_new_string(verdict));
    json_object_object_add(out, "reason", json_object_new_string(reason));
    json_object_object_add(out, "expectations", exps);
    json_object_object_add(out, "instances", instances_json(m, false));
    json_object_object_add(out, "foreign_instances", instances_json(m, true));
    json_object_object_add(out, "clients", clients_json(m, trace));
    json_object_object_add(out, "attempts", attempts_json(m));
    json_object_object_add(out, "faults", faults);
    json_object_object_add(out, "warnings", warnings);
    json_object *facts = NULL;
    if (m->platform) {
        facts = json_object_new_object();
        json_object_object_foreach(m->platform, k, v) {
            if (strcmp(k, "t") && strcmp(k, "ev") && strcmp(k, "src") && strcmp(k, "intended"))
                json_object_object_add(facts, k, json_object_get(v));
        }
    }
    json_object_object_add(out, "platform_facts", facts);
    json_object_object_add(out, "intended", json_object_get(m->intended));
    json_object_object_add(out, "default", json_object_get(m->deflt));

    pf_model_free(m);
    free(m);
    return out;
}
