/* checker.c - classifying instances and judging expectations.
 *
 * Classes: a permission state is `intended` when it matches what the
 * scenario intends, `default` when it matches what the platform gives a new
 * instance when the server does nothing (on Linux: the umask the server was
 * started with and the directory's default ACL; a server that sets its own
 * umask did something), and `other` otherwise.
 * Intended wins when the two coincide: then the server got what it meant.
 */
#include "checker.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INST 4096

static const char *const identity_keys[] = {"mode", "uid", "gid", "acl_named", "normalised"};

int pf_perm_matches(json_object *perm, json_object *ref)
{
    if (!perm || !ref)
        return 0;
    json_object *none = NULL;
    if (json_object_object_get_ex(perm, "none", &none) && json_object_get_boolean(none))
        return 0;
    int compared = 0;
    for (size_t i = 0; i < sizeof identity_keys / sizeof identity_keys[0]; i++) {
        json_object *want, *have;
        if (!json_object_object_get_ex(ref, identity_keys[i], &want))
            continue;
        if (!json_object_object_get_ex(perm, identity_keys[i], &have))
            return 0;
        if (!json_object_equal(want, have))
            return 0;
        compared++;
    }
    return compared > 0;
}

static const char *str(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int64_t num(json_object *o, const char *key, int64_t dflt)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !v)
        return dflt;
    return json_object_get_int64(v);
}

static json_object *get(json_object *o, const char *key)
{
    json_object *v = NULL;
    if (o)
        json_object_object_get_ex(o, key, &v);
    return v;
}

void pf_perm_describe(json_object *perm, char *out, size_t n)
{
    json_object *none = get(perm, "none");
    if (none && json_object_get_boolean(none)) {
        snprintf(out, n, "no permissions at all");
        return;
    }
    const char *sddl = str(perm, "normalised");
    if (!sddl)
        sddl = str(perm, "sddl");
    if (sddl) {
        snprintf(out, n, "%s", sddl);
        return;
    }
    const char *owner = str(perm, "owner"), *group = str(perm, "group"), *acl = str(perm, "acl");
    snprintf(out, n, "%s, owner %s, group %s%s%s", str(perm, "mode") ? str(perm, "mode") : "?",
             owner ? owner : "?", group ? group : "?", acl ? ", ACL " : "", acl ? acl : "");
}

struct inst {
    int id;
    json_object *birth_ev;
    json_object *history;       /* array of {t_ns, perm, class, evidence} */
    int64_t born, accepting, removed;   /* -1: never */
    const char *accepting_evidence;
    int admitted;
};

struct attempt {
    json_object *ev;
    const char *account;
    const char *outcome;
    int64_t t, t_end;
    int inst;                   /* id, 0 none */
    bool allowed, injected;
};

struct check {
    const struct pf_scenario *sc;
    json_object *platform, *intended, *deflt;
    bool single_account;
    struct inst inst[MAX_INST];
    int ninst;
    struct attempt *att;
    size_t natt, capatt;
};

static const char *classify(struct check *c, json_object *perm)
{
    if (pf_perm_matches(perm, c->intended))
        return "intended";
    if (pf_perm_matches(perm, c->deflt))
        return "default";
    return "other";
}

static void add_history(struct check *c, struct inst *in, int64_t t, json_object *perm,
                        const char *evidence)
{
    json_object *h = json_object_new_object();
    json_object_object_add(h, "t_ns", json_object_new_int64(t));
    json_object_object_add(h, "perm", json_object_get(perm));
    json_object_object_add(h, "class", json_object_new_string(classify(c, perm)));
    json_object_object_add(h, "evidence", json_object_new_string(evidence ? evidence : "?"));
    json_object_array_add(in->history, h);
}

static struct inst *find_inst(struct check *c, int id)
{
    return id >= 1 && id <= c->ninst ? &c->inst[id - 1] : NULL;
}

/* The class of the instance's state at time t (latest entry at or before t). */
static json_object *state_at(struct inst *in, int64_t t)
{
    json_object *best = NULL;
    size_t n = json_object_array_length(in->history);
    for (size_t i = 0; i < n; i++) {
        json_object *h = json_object_array_get_idx(in->history, i);
        if (num(h, "t_ns", 0) <= t)
            best = h;
    }
    return best ? best : json_object_array_get_idx(in->history, 0);
}

static bool allowed_account(const struct pf_scenario *sc, const char *name)
{
    const struct pf_account *a = pf_scenario_account(sc, name);
    return a && a->allowed;
}

static void read_events(struct check *c, json_object *trace)
{
    size_t n = json_object_array_length(trace);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(trace, i);
        const char *ev = str(e, "ev");
        int64_t t = num(e, "t", 0);
        if (!ev)
            continue;
        if (!strcmp(ev, "platform")) {
            c->platform = e;
            c->intended = get(e, "intended");
            c->deflt = get(e, "default");
            json_object *sa = get(e, "single_account");
            c->single_account = sa && json_object_get_boolean(sa);
        } else if (!strcmp(ev, "instance_birth") && c->ninst < MAX_INST) {
            struct inst *in = &c->inst[c->ninst++];
            in->id = c->ninst;
            in->birth_ev = e;
            in->history = json_object_new_array();
            in->born = t;
            in->accepting = in->removed = -1;
            add_history(c, in, t, get(e, "perm"), str(e, "evidence"));
        } else if (!strcmp(ev, "instance_perm")) {
            struct inst *in = find_inst(c, (int)num(e, "id", 0));
            if (in)
                add_history(c, in, t, get(e, "perm"), str(e, "evidence"));
        } else if (!strcmp(ev, "instance_accepting")) {
            struct inst *in = find_inst(c, (int)num(e, "id", 0));
            if (in && in->accepting < 0) {
                in->accepting = t;
                in->accepting_evidence = str(e, "evidence");
            }
        } else if (!strcmp(ev, "instance_removed")) {
            struct inst *in = find_inst(c, (int)num(e, "id", 0));
            if (in && in->removed < 0)
                in->removed = t;
        } else if (!strcmp(ev, "attempt")) {
            if (c->natt == c->capatt) {
                c->capatt = c->capatt ? 2 * c->capatt : 64;
                c->att = realloc(c->att, c->capatt * sizeof *c->att);
            }
            struct attempt *a = &c->att[c->natt++];
            a->ev = e;
            a->account = str(e, "account") ? str(e, "account") : "?";
            a->outcome = str(e, "outcome") ? str(e, "outcome") : "?";
            a->t = t;
            a->t_end = num(e, "t_end", t);
            a->inst = (int)num(e, "instance", 0);
            a->allowed = allowed_account(c->sc, a->account);
            json_object *inj = get(e, "injected");
            a->injected = inj && json_object_get_boolean(inj);
        }
    }
}

/* Which instance an attempt met: the newest one born before the attempt
 * ended and not removed before it started. */
static void attribute_attempts(struct check *c)
{
    for (size_t i = 0; i < c->natt; i++) {
        struct attempt *a = &c->att[i];
        if (a->inst || a->injected)
            continue;
        if (strcmp(a->outcome, "ok") && strcmp(a->outcome, "EACCES") &&
            strcmp(a->outcome, "EPERM") && strcmp(a->outcome, "ERROR_ACCESS_DENIED") &&
            strcmp(a->outcome, "ECONNREFUSED") && strcmp(a->outcome, "ENXIO"))
            continue;
        for (int k = c->ninst; k-- > 0;) {
            struct inst *in = &c->inst[k];
            if (in->born <= a->t_end && (in->removed < 0 || in->removed >= a->t)) {
                a->inst = in->id;
                break;
            }
        }
    }
    for (size_t i = 0; i < c->natt; i++) {
        struct attempt *a = &c->att[i];
        struct inst *in = find_inst(c, a->inst);
        if (!in || strcmp(a->outcome, "ok"))
            continue;
        in->admitted++;
        if (in->accepting < 0 || a->t_end < in->accepting) {
            in->accepting = a->t_end;
            in->accepting_evidence = "connect";
        }
    }
}

static const char *birth_class(struct inst *in)
{
    return str(json_object_array_get_idx(in->history, 0), "class");
}

static const char *accept_class(struct inst *in)
{
    return in->accepting < 0 ? NULL : str(state_at(in, in->accepting), "class");
}

static void fmt_ms(int64_t ns, char *out, size_t n)
{
    if (ns < 1000000)
        snprintf(out, n, "%.1f us", (double)ns / 1e3);
    else
        snprintf(out, n, "%.3f ms", (double)ns / 1e6);
}

/* When the instance first had the intended permissions, -1 never. */
static int64_t secured_at(struct inst *in)
{
    size_t n = json_object_array_length(in->history);
    for (size_t i = 0; i < n; i++) {
        json_object *h = json_object_array_get_idx(in->history, i);
        if (!strcmp(str(h, "class"), "intended"))
            return num(h, "t_ns", 0);
    }
    return -1;
}

static int admitted_before(struct check *c, struct inst *in, int64_t t)
{
    int k = 0;
    for (size_t i = 0; i < c->natt; i++)
        if (c->att[i].inst == in->id && !strcmp(c->att[i].outcome, "ok") &&
            (t < 0 || c->att[i].t_end < t))
            k++;
    return k;
}

static void describe_birth(struct check *c, struct inst *in, char *out, size_t n)
{
    char perm[512], um[64] = "";
    json_object *first = json_object_array_get_idx(in->history, 0);
    json_object *birth = get(first, "perm");
    pf_perm_describe(birth, perm, sizeof perm);
    const char *umask = str(in->birth_ev, "umask");
    if (umask && !strcmp(birth_class(in), "default"))
        snprintf(um, sizeof um, ", umask %s", umask);
    int64_t sec = secured_at(in);
    int adm = admitted_before(c, in, sec);
    char tail[160] = "";
    if (sec < 0 && adm)
        snprintf(tail, sizeof tail, ", was never secured, and accepted %d connection%s",
                 adm, adm == 1 ? "" : "s");
    else if (sec < 0)
        snprintf(tail, sizeof tail, " and was never secured");
    else if (adm)
        snprintf(tail, sizeof tail, " and accepted %d connection%s before it was secured",
                 adm, adm == 1 ? "" : "s");
    snprintf(out, n, "instance #%d was born with the %s permissions (%s%s)%s", in->id,
             birth_class(in), perm, um, tail);
}

struct verdict_text {
    char detail[1024];
    int failures;
};

static void note(struct verdict_text *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct verdict_text *v, const char *fmt, ...)
{
    if (v->failures++ > 0 && strlen(v->detail) + 3 < sizeof v->detail)
        strcat(v->detail, "; ");
    if (v->failures > 4)
        return;
    va_list ap;
    va_start(ap, fmt);
    size_t len = strlen(v->detail);
    vsnprintf(v->detail + len, sizeof v->detail - len, fmt, ap);
    va_end(ap);
}

static json_object *judge(struct check *c, enum pf_expect which)
{
    enum pf_expect e = which;
    struct verdict_text v = {"", 0};
    bool unjudgeable = false;
    char buf[1024];
    if (c->ninst == 0 && (e == PF_EXPECT_BIRTH_INTENDED || e == PF_EXPECT_INTENDED_BEFORE_ACCEPT ||
                          e == PF_EXPECT_NO_DEFAULT_INSTANCE)) {
        /* Nothing to judge: saying "held" would claim what was never seen. */
        unjudgeable = true;
        snprintf(v.detail, sizeof v.detail, "the server created no endpoint instance");
        e = PF_EXPECT__COUNT;
    }
    switch (e) {
    case PF_EXPECT_BIRTH_INTENDED:
        for (int i = 0; i < c->ninst; i++)
            if (strcmp(birth_class(&c->inst[i]), "intended")) {
                describe_birth(c, &c->inst[i], buf, sizeof buf);
                note(&v, "%s", buf);
            }
        break;
    case PF_EXPECT_INTENDED_BEFORE_ACCEPT:
        for (int i = 0; i < c->ninst; i++) {
            struct inst *in = &c->inst[i];
            const char *cls = accept_class(in);
            if (!cls || !strcmp(cls, "intended"))
                continue;
            char perm[512], when[32], late[96] = "";
            pf_perm_describe(get(state_at(in, in->accepting), "perm"), perm, sizeof perm);
            fmt_ms(in->accepting, when, sizeof when);
            int64_t sec = secured_at(in);
            if (sec > in->accepting) {
                char d[32];
                fmt_ms(sec - in->accepting, d, sizeof d);
                snprintf(late, sizeof late, "; it was secured %s later", d);
            } else if (sec < 0) {
                snprintf(late, sizeof late, "; it was never secured");
            }
            int adm = admitted_before(c, in, sec);
            char adms[64] = "";
            if (adm)
                snprintf(adms, sizeof adms, ", and admitted %d connection%s meanwhile", adm,
                         adm == 1 ? "" : "s");
            note(&v, "instance #%d started accepting (%s, at %s) with the %s permissions (%s)%s%s",
                 in->id, in->accepting_evidence ? in->accepting_evidence : "?", when, cls, perm,
                 late, adms);
        }
        break;
    case PF_EXPECT_ALLOWED_NEVER_DENIED:
    case PF_EXPECT_OTHERS_NEVER_ADMITTED: {
        if (c->single_account) {
            unjudgeable = true;
            snprintf(v.detail, sizeof v.detail,
                     "single-account platform: every process runs as the same account, so "
                     "this needs real accounts (run on Windows or Linux)");
            break;
        }
        bool want_allowed = e == PF_EXPECT_ALLOWED_NEVER_DENIED;
        for (size_t i = 0; i < c->sc->naccounts; i++) {
            const struct pf_account *acc = &c->sc->accounts[i];
            if (acc->allowed != want_allowed)
                continue;
            int bad = 0;
            struct attempt *first = NULL;
            for (size_t k = 0; k < c->natt; k++) {
                struct attempt *a = &c->att[k];
                if (strcmp(a->account, acc->name) || a->injected)
                    continue;
                /* A refusal by an instance that was not yet accepting is
                 * start-up, not denial: the client would have been refused
                 * as "not listening" a moment later anyway. */
                struct inst *at_inst = find_inst(c, a->inst);
                bool denied = (!strcmp(a->outcome, "EACCES") || !strcmp(a->outcome, "EPERM") ||
                               !strcmp(a->outcome, "ERROR_ACCESS_DENIED")) &&
                              (!at_inst || (at_inst->accepting >= 0 &&
                                            at_inst->accepting <= a->t_end));
                bool admitted = !strcmp(a->outcome, "ok");
                if (want_allowed ? denied : admitted) {
                    if (!bad++)
                        first = a;
                }
            }
            if (!bad)
                continue;
            char when[32], at[600] = "";
            fmt_ms(first->t, when, sizeof when);
            struct inst *in = find_inst(c, first->inst);
            if (in) {
                json_object *st = state_at(in, first->t_end);
                char perm[512];
                pf_perm_describe(get(st, "perm"), perm, sizeof perm);
                snprintf(at, sizeof at, " by instance #%d while it had the %s permissions (%s)",
                         in->id, str(st, "class"), perm);
            }
            note(&v, "%s (%s) was %s %d time%s, first at %s%s%s", acc->name,
                 want_allowed ? "allowed" : "not allowed", want_allowed ? "refused" : "admitted",
                 bad, bad == 1 ? "" : "s", when, want_allowed ? " with " : "",
                 want_allowed ? first->outcome : "");
            if (at[0])
                snprintf(v.detail + strlen(v.detail), sizeof v.detail - strlen(v.detail), "%s", at);
        }
        break;
    }
    case PF_EXPECT_NO_DEFAULT_INSTANCE:
        for (int i = 0; i < c->ninst; i++) {
            struct inst *in = &c->inst[i];
            size_t n = json_object_array_length(in->history);
            for (size_t k = 0; k < n; k++) {
                json_object *h = json_object_array_get_idx(in->history, k);
                if (strcmp(str(h, "class"), "default"))
                    continue;
                char perm[512], when[32];
                pf_perm_describe(get(h, "perm"), perm, sizeof perm);
                fmt_ms(num(h, "t_ns", 0), when, sizeof when);
                note(&v, "instance #%d had the default permissions (%s) at %s", in->id, perm, when);
                break;
            }
        }
        break;
    default:
        break;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(pf_expect_name(which)));
    json_object_object_add(o, "text", json_object_new_string(pf_expect_text(which)));
    json_object_object_add(o, "held", unjudgeable ? NULL : json_object_new_boolean(v.failures == 0));
    if (v.failures > 4)
        snprintf(v.detail + strlen(v.detail), sizeof v.detail - strlen(v.detail),
                 " (and %d more)", v.failures - 4);
    json_object_object_add(o, "detail", json_object_new_string(v.detail));
    return o;
}

/* Win32 lineage: a created name starts a chain; an instance of an existing
 * name carries the SD of the chain's first instance. */
static json_object *lineage(struct inst *in, int *chain_root)
{
    json_object *cn = get(in->birth_ev, "created_name");
    if (!cn)
        return NULL;
    json_object *l = json_object_new_object();
    if (json_object_get_boolean(cn) || !*chain_root) {
        *chain_root = in->id;
        const char *cls = birth_class(in);
        const char *kind = !strcmp(cls, "default") ? "default" :
                           !strcmp(cls, "intended") ? "explicit" : "other";
        json_object_object_add(l, "from", NULL);
        json_object_object_add(l, "kind", json_object_new_string(kind));
        json_object_object_add(l, "note", json_object_new_string(
            in->id > 1 && !strcmp(kind, "default")
                ? "the pipe name had disappeared: the chain broke and this instance got the default SD"
                : "created the pipe name"));
    } else {
        json_object_object_add(l, "from", json_object_new_int(*chain_root));
        json_object_object_add(l, "kind", json_object_new_string("inherited"));
        char n[96];
        snprintf(n, sizeof n, "carries the SD of instance #%d, which created the name",
                 *chain_root);
        json_object_object_add(l, "note", json_object_new_string(n));
    }
    return l;
}

static json_object *instances_json(struct check *c)
{
    json_object *arr = json_object_new_array();
    int chain_root = 0;
    for (int i = 0; i < c->ninst; i++) {
        struct inst *in = &c->inst[i];
        json_object *o = json_object_new_object();
        json_object *first = json_object_array_get_idx(in->history, 0);
        json_object_object_add(o, "id", json_object_new_int(in->id));
        json_object_object_add(o, "endpoint", json_object_get(get(in->birth_ev, "endpoint")));
        json_object_object_add(o, "key", json_object_get(get(in->birth_ev, "key")));
        json_object_object_add(o, "born_ns", json_object_new_int64(in->born));
        json_object_object_add(o, "accepting_ns",
                               in->accepting < 0 ? NULL : json_object_new_int64(in->accepting));
        json_object_object_add(o, "accepting_evidence",
                               in->accepting_evidence ? json_object_new_string(in->accepting_evidence) : NULL);
        json_object_object_add(o, "removed_ns",
                               in->removed < 0 ? NULL : json_object_new_int64(in->removed));
        json_object_object_add(o, "birth", json_object_get(get(first, "perm")));
        json_object_object_add(o, "birth_evidence", json_object_get(get(first, "evidence")));
        json_object_object_add(o, "birth_class", json_object_new_string(birth_class(in)));
        const char *ac = accept_class(in);
        json_object_object_add(o, "class_at_first_accept", ac ? json_object_new_string(ac) : NULL);
        json_object_object_add(o, "umask", json_object_get(get(in->birth_ev, "umask")));
        json_object_object_add(o, "history", json_object_get(in->history));
        json_object *adm = json_object_new_object();
        for (size_t k = 0; k < c->natt; k++) {
            struct attempt *a = &c->att[k];
            if (a->inst != in->id || strcmp(a->outcome, "ok"))
                continue;
            json_object *cur = get(adm, a->account);
            json_object_object_add(adm, a->account,
                                   json_object_new_int(cur ? json_object_get_int(cur) + 1 : 1));
        }
        json_object_object_add(o, "admitted", adm);
        json_object_object_add(o, "lineage", lineage(in, &chain_root));
        for (const char *k = "created_name"; k; k = !strcmp(k, "created_name") ? "instance_count" :
                                                     !strcmp(k, "instance_count") ? "sa_passed" : NULL)
            if (get(in->birth_ev, k))
                json_object_object_add(o, k, json_object_get(get(in->birth_ev, k)));
        json_object_array_add(arr, o);
    }
    return arr;
}

static json_object *clients_json(struct check *c)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < c->sc->naccounts; i++) {
        const struct pf_account *acc = &c->sc->accounts[i];
        json_object *o = json_object_new_object(), *outcomes = json_object_new_object();
        int attempts = 0, served = 0;
        for (size_t k = 0; k < c->natt; k++) {
            struct attempt *a = &c->att[k];
            if (strcmp(a->account, acc->name))
                continue;
            attempts++;
            json_object *s = get(a->ev, "served");
            if (s && json_object_get_boolean(s))
                served++;
            json_object *cur = get(outcomes, a->outcome);
            json_object_object_add(outcomes, a->outcome,
                                   json_object_new_int(cur ? json_object_get_int(cur) + 1 : 1));
        }
        json_object_object_add(o, "account", json_object_new_string(acc->name));
        json_object_object_add(o, "allowed", json_object_new_boolean(acc->allowed));
        json_object_object_add(o, "attempts", json_object_new_int(attempts));
        json_object_object_add(o, "outcomes", outcomes);
        json_object_object_add(o, "served", json_object_new_int(served));
        json_object_array_add(arr, o);
    }
    return arr;
}

static json_object *faults_json(const struct pf_scenario *sc, json_object *trace)
{
    json_object *arr = json_object_new_array();
    size_t n = json_object_array_length(trace);
    for (size_t r = 0; r < sc->nfaults; r++) {
        const struct pf_fault *f = &sc->faults[r];
        long fired = 0;
        for (size_t i = 0; i < n; i++) {
            json_object *e = json_object_array_get_idx(trace, i);
            const char *ev = str(e, "ev"), *d = str(e, "decision");
            if (!ev || strcmp(ev, "fault") || num(e, "rule", -1) != (int64_t)r || !d)
                continue;
            if (!strcmp(d, "delayed") || !strcmp(d, "held") || !strcmp(d, "failed"))
                fired++;
        }
        json_object *o = json_object_new_object();
        json_object_object_add(o, "rule", json_object_new_int((int)r));
        json_object_object_add(o, "at", json_object_new_string(pf_fault_op_name(f->op)));
        json_object_object_add(o, "phase", json_object_new_string(pf_fault_phase_name(f->phase)));
        json_object_object_add(o, "action", json_object_new_string(pf_fault_action_name(f->action)));
        json_object_object_add(o, "target", json_object_new_string(f->target));
        json_object_object_add(o, "fired", json_object_new_int64(fired));
        json_object_array_add(arr, o);
    }
    return arr;
}

json_object *pf_check(const struct pf_scenario *sc, json_object *trace)
{
    struct check *c = calloc(1, sizeof *c);
    c->sc = sc;
    read_events(c, trace);
    attribute_attempts(c);

    json_object *out = json_object_new_object();
    json_object *exps = json_object_new_array();
    int failed = 0, unjudged = 0, total = 0;
    for (int e = 0; e < PF_EXPECT__COUNT; e++) {
        if (!sc->expect[e])
            continue;
        json_object *j = judge(c, (enum pf_expect)e);
        json_object *held = get(j, "held");
        total++;
        if (!held)
            unjudged++;
        else if (!json_object_get_boolean(held))
            failed++;
        json_object_array_add(exps, j);
    }
    char reason[256];
    const char *verdict;
    if (failed) {
        verdict = "fail";
        snprintf(reason, sizeof reason, "%d of %d expectation%s failed", failed, total,
                 total == 1 ? "" : "s");
    } else if (unjudged) {
        verdict = "skipped";
        snprintf(reason, sizeof reason, "%d of %d expectation%s cannot be judged on this "
                 "platform; the others held", unjudged, total, total == 1 ? "" : "s");
    } else {
        verdict = "pass";
        snprintf(reason, sizeof reason, "all %d expectation%s held", total, total == 1 ? "" : "s");
    }
    json_object_object_add(out, "verdict", json_object_new_string(verdict));
    json_object_object_add(out, "reason", json_object_new_string(reason));
    json_object_object_add(out, "expectations", exps);
    json_object_object_add(out, "instances", instances_json(c));
    json_object_object_add(out, "clients", clients_json(c));
    json_object_object_add(out, "faults", faults_json(sc, trace));
    json_object *facts = NULL;
    if (c->platform) {
        facts = json_object_new_object();
        json_object_object_foreach(c->platform, k, v) {
            if (strcmp(k, "t") && strcmp(k, "ev") && strcmp(k, "src") && strcmp(k, "intended"))
                json_object_object_add(facts, k, json_object_get(v));
        }
    }
    json_object_object_add(out, "platform_facts", facts);
    json_object_object_add(out, "intended", json_object_get(c->intended));
    json_object_object_add(out, "default", json_object_get(c->deflt));

    for (int i = 0; i < c->ninst; i++)
        json_object_put(c->inst[i].history);
    free(c->att);
    free(c);
    return out;
}
