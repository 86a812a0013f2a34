/* checker_model.c - from trace events to instances and attempts, and the
 * evidence that ties an attempt to the instance it met.
 *
 * Every table here grows with the trace; an event that names an instance the
 * trace never saw born is counted (and makes the scenario unjudged), never
 * dropped in silence.
 */
#include "checker_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "util.h"
#include "trace_names.h"

const char *pf_attribution_name(enum pf_attribution how)
{
    switch (how) {
    case PF_ATTR_AGENT: return "agent";
    case PF_ATTR_PEER: return "peer";
    case PF_ATTR_ONLY: return "only-instance";
    default: return "unknown";
    }
}

bool pf_outcome_denied(const char *outcome)
{
    return !strcmp(outcome, "EACCES") || !strcmp(outcome, "EPERM") ||
           !strcmp(outcome, "ERROR_ACCESS_DENIED");
}

/* Refused or denied: the server side never saw the attempt, so there is no
 * one to ask which instance refused it. */
static bool outcome_refused(const char *outcome)
{
    return pf_outcome_denied(outcome) || !strcmp(outcome, "ECONNREFUSED") ||
           !strcmp(outcome, "ENXIO");
}

const char *pf_model_classify(struct pf_model *m, struct pf_inst *in, json_object *perm)
{
    if (pf_perm_matches(perm, m->intended))
        return "intended";
    if (pf_perm_matches(perm, in ? in->deflt : m->deflt))
        return "default";
    return "other";
}

static void add_history(struct pf_model *m, struct pf_inst *in, int64_t t, int64_t since,
                        json_object *perm, const char *evidence)
{
    json_object *h = json_object_new_object();
    json_object_object_add(h, "t_ns", json_object_new_int64(t));
    if (since >= 0 && since <= t)
        json_object_object_add(h, "since_ns", json_object_new_int64(since));
    json_object_object_add(h, "perm", json_object_get(perm));
    json_object_object_add(h, "class", json_object_new_string(pf_model_classify(m, in, perm)));
    json_object_object_add(h, "evidence", json_object_new_string(evidence ? evidence : "?"));
    json_object_array_add(in->history, h);
}

struct pf_inst *pf_model_inst(struct pf_model *m, long index)
{
    return index >= 0 && (size_t)index < m->ninst ? &m->inst[index] : NULL;
}

struct pf_inst *pf_model_find(struct pf_model *m, int64_t id)
{
    if (m->ids_ascending) {
        size_t lo = 0, hi = m->ninst;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (m->inst[mid].id < id)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo < m->ninst && m->inst[lo].id == id ? &m->inst[lo] : NULL;
    }
    for (size_t i = 0; i < m->ninst; i++)
        if (m->inst[i].id == id)
            return &m->inst[i];
    return NULL;
}

bool pf_inst_accepting_at(const struct pf_inst *in, int64_t t)
{
    return in->accepting >= 0 && in->accepting <= t && (in->removed < 0 || in->removed >= t);
}

static void orphan(struct pf_model *m, json_object *e, int64_t id)
{
    if (!m->orphans++)
        snprintf(m->orphan_text, sizeof m->orphan_text,
                 "the trace names instance #%lld (%s event at t=%lld ns) that it never saw born",
                 (long long)id, pf_json_str(e, PF_F_EV), (long long)pf_json_int(e, PF_F_T, 0));
}

static void read_birth(struct pf_model *m, json_object *e)
{
    int64_t id = pf_json_int(e, PF_F_ID, (int64_t)m->ninst + 1);
    if (pf_model_find(m, id)) {
        if (!m->orphans++)
            snprintf(m->orphan_text, sizeof m->orphan_text,
                     "the trace has instance #%lld born twice (second at t=%lld ns)",
                     (long long)id, (long long)pf_json_int(e, PF_F_T, 0));
        return;
    }
    if (m->ninst && id < m->inst[m->ninst - 1].id)
        m->ids_ascending = false;
    if (m->ninst == m->capinst) {
        m->capinst = m->capinst ? 2 * m->capinst : 64;
        m->inst = pf_xreallocarray(m->inst, m->capinst, sizeof *m->inst);
    }
    struct pf_inst *in = &m->inst[m->ninst++];
    memset(in, 0, sizeof *in);
    in->id = id;
    in->birth_ev = e;
    json_object *own = pf_json_get(e, PF_F_DEFAULT);
    in->own_default = own != NULL;
    in->deflt = own ? own : m->deflt;
    json_object *f = pf_json_get(e, PF_F_FOREIGN);
    in->foreign = f && json_object_get_boolean(f);
    if (!in->foreign)
        m->nendpoint++;
    in->history = json_object_new_array();
    in->admitted = json_object_new_object();
    in->born = pf_json_int(e, PF_F_T, 0);
    in->accepting = in->removed = PF_NEVER;
    add_history(m, in, in->born, PF_NEVER, pf_json_get(e, PF_F_PERM),
                pf_json_str(e, PF_F_EVIDENCE));
}

static void read_attempt(struct pf_model *m, json_object *e)
{
    if (m->natt == m->capatt) {
        m->capatt = m->capatt ? 2 * m->capatt : 64;
        m->att = pf_xreallocarray(m->att, m->capatt, sizeof *m->att);
    }
    struct pf_attempt *a = &m->att[m->natt++];
    memset(a, 0, sizeof *a);
    a->ev = e;
    a->account = pf_json_str(e, PF_F_ACCOUNT) ? pf_json_str(e, PF_F_ACCOUNT) : "?";
    a->outcome = pf_json_str(e, PF_F_OUTCOME) ? pf_json_str(e, PF_F_OUTCOME) : "?";
    a->peer_key = pf_json_str(e, PF_F_PEER_KEY);
    a->t = pf_json_int(e, PF_F_T, 0);
    a->t_end = pf_json_int(e, PF_F_T_END, a->t);
    if (a->t_end < a->t)
        a->t_end = a->t;
    a->named = pf_json_int(e, PF_F_INSTANCE, 0);
    a->inst = PF_INST_UNKNOWN;
    const struct pf_account *acc = pf_scenario_account(m->sc, a->account);
    a->allowed = acc && acc->allowed;
    json_object *inj = pf_json_get(e, PF_F_INJECTED);
    a->injected = inj && json_object_get_boolean(inj);
}

static void read_event(struct pf_model *m, json_object *e)
{
    const char *ev = pf_json_str(e, PF_F_EV);
    int64_t t = pf_json_int(e, PF_F_T, 0);
    if (!ev)
        return;
    if (!strcmp(ev, PF_EV_SERVER_START)) {
        m->server_started = true;
    } else if (!strcmp(ev, PF_EV_INSTANCE_BIRTH)) {
        read_birth(m, e);
    } else if (!strcmp(ev, PF_EV_INSTANCE_PERM) || !strcmp(ev, PF_EV_INSTANCE_ACCEPTING) ||
               !strcmp(ev, PF_EV_INSTANCE_REMOVED)) {
        int64_t id = pf_json_int(e, PF_F_ID, 0);
        struct pf_inst *in = pf_model_find(m, id);
        if (!in)
            orphan(m, e, id);
        else if (!strcmp(ev, PF_EV_INSTANCE_PERM))
            add_history(m, in, t, pf_json_int(e, PF_F_SINCE, PF_NEVER), pf_json_get(e, PF_F_PERM),
                        pf_json_str(e, PF_F_EVIDENCE));
        else if (!strcmp(ev, PF_EV_INSTANCE_ACCEPTING) && in->accepting < 0) {
            in->accepting = t;
            in->accepting_evidence = pf_json_str(e, PF_F_EVIDENCE);
        } else if (!strcmp(ev, PF_EV_INSTANCE_REMOVED) && in->removed < 0)
            in->removed = t;
    } else if (!strcmp(ev, PF_EV_ATTEMPT)) {
        read_attempt(m, e);
    }
}

static const struct pf_model *sort_model;

static int by_birth(const void *x, const void *y)
{
    const struct pf_inst *a = &sort_model->inst[*(const size_t *)x];
    const struct pf_inst *b = &sort_model->inst[*(const size_t *)y];
    if (a->born != b->born)
        return a->born < b->born ? -1 : 1;
    return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

static void index_births(struct pf_model *m)
{
    m->by_born = pf_xreallocarray(NULL, m->nendpoint ? m->nendpoint : 1, sizeof *m->by_born);
    m->removed_max = pf_xreallocarray(NULL, m->nendpoint ? m->nendpoint : 1,
                                      sizeof *m->removed_max);
    size_t k = 0;
    for (size_t i = 0; i < m->ninst; i++)
        if (!m->inst[i].foreign)
            m->by_born[k++] = i;
    sort_model = m;
    qsort(m->by_born, k, sizeof *m->by_born, by_birth);
    int64_t mx = INT64_MIN;
    for (size_t j = 0; j < k; j++) {
        int64_t r = m->inst[m->by_born[j]].removed;
        int64_t until = r < 0 ? INT64_MAX : r;
        mx = until > mx ? until : mx;
        m->removed_max[j] = mx;
    }
}

struct pf_presence pf_model_present(struct pf_model *m, int64_t t0, int64_t t1)
{
    struct pf_presence p = {0, 0, -1, false};
    /* The births at or before t1; walking back, stop once every earlier
     * instance was gone before t0. */
    size_t lo = 0, hi = m->nendpoint;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->inst[m->by_born[mid]].born <= t1)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t j = lo; j-- > 0;) {
        if (m->removed_max[j] < t0)
            break;
        struct pf_inst *in = &m->inst[m->by_born[j]];
        if (in->removed >= 0 && in->removed < t0)
            continue;
        if (!p.n++) {
            p.first = (long)m->by_born[j];
            p.first_covers = in->born <= t0 && (in->removed < 0 || in->removed >= t1);
        }
        if (in->accepting >= 0 && in->accepting <= t1)
            p.accepting++;
    }
    return p;
}

/* The instance whose key the client read: the only one with that key, or
 * the only one with that key present while the attempt ran (a key can come
 * back when the inode number is reused). */
static long by_peer_key(struct pf_model *m, const struct pf_attempt *a)
{
    long only = PF_INST_UNKNOWN, live = PF_INST_UNKNOWN;
    size_t nkey = 0, nlive = 0;
    for (size_t i = 0; i < m->ninst; i++) {
        struct pf_inst *in = &m->inst[i];
        const char *key = pf_json_str(in->birth_ev, PF_F_KEY);
        if (!key || strcmp(key, a->peer_key))
            continue;
        nkey++;
        only = (long)i;
        if (in->born <= a->t_end && (in->removed < 0 || in->removed >= a->t)) {
            nlive++;
            live = (long)i;
        }
    }
    return nkey == 1 ? only : nlive == 1 ? live : PF_INST_UNKNOWN;
}

static void attribute(struct pf_model *m)
{
    for (size_t i = 0; i < m->natt; i++) {
        struct pf_attempt *a = &m->att[i];
        if (a->injected)
            continue;
        if (a->named > 0) {
            struct pf_inst *in = pf_model_find(m, a->named);
            if (in) {
                a->inst = in - m->inst;
                a->how = PF_ATTR_AGENT;
            } else {
                orphan(m, a->ev, a->named);
            }
        } else if (a->peer_key) {
            a->inst = by_peer_key(m, a);
            a->how = a->inst >= 0 ? PF_ATTR_PEER : PF_ATTR_UNKNOWN;
        } else if (outcome_refused(a->outcome)) {
            struct pf_presence p = pf_model_present(m, a->t, a->t_end);
            if (p.n == 1 && p.first_covers) {
                a->inst = p.first;
                a->how = PF_ATTR_ONLY;
            }
        }
    }
    /* An admitted attempt proves its instance was accepting by then, even
     * when the trace has no other sign of it. */
    for (size_t i = 0; i < m->natt; i++) {
        struct pf_attempt *a = &m->att[i];
        struct pf_inst *in = pf_model_inst(m, a->inst);
        if (!in || strcmp(a->outcome, "ok"))
            continue;
        json_object *cur = pf_json_get(in->admitted, a->account);
        json_object_object_add(in->admitted, a->account,
                               json_object_new_int(cur ? json_object_get_int(cur) + 1 : 1));
        if (in->accepting < 0 || a->t_end < in->accepting) {
            in->accepting = a->t_end;
            in->accepting_evidence = "connect";
        }
    }
}

bool pf_attempt_reached(struct pf_model *m, const struct pf_attempt *a)
{
    if (a->injected)
        return false;
    if (!strcmp(a->outcome, "ok"))
        return true;
    struct pf_inst *in = pf_model_inst(m, a->inst);
    return in && !in->foreign && pf_inst_accepting_at(in, a->t_end);
}

void pf_model_build(struct pf_model *m, const struct pf_scenario *sc, json_object *trace)
{
    memset(m, 0, sizeof *m);
    m->sc = sc;
    m->ids_ascending = true;
    size_t n = json_object_array_length(trace);
    /* The platform facts first: an instance is classed when it is read. */
    for (size_t i = 0; i < n && !m->platform; i++) {
        json_object *e = json_object_array_get_idx(trace, i);
        const char *ev = pf_json_str(e, PF_F_EV);
        if (ev && !strcmp(ev, PF_EV_PLATFORM)) {
            m->platform = e;
            m->intended = pf_json_get(e, PF_F_INTENDED);
            m->deflt = pf_json_get(e, PF_F_DEFAULT);
            json_object *sa = pf_json_get(e, PF_F_SINGLE_ACCOUNT);
            m->single_account = sa && json_object_get_boolean(sa);
        }
    }
    for (size_t i = 0; i < n; i++)
        read_event(m, json_object_array_get_idx(trace, i));
    index_births(m);
    attribute(m);
}

void pf_model_free(struct pf_model *m)
{
    for (size_t i = 0; i < m->ninst; i++) {
        json_object_put(m->inst[i].history);
        json_object_put(m->inst[i].admitted);
    }
    free(m->inst);
    free(m->by_born);
    free(m->removed_max);
    free(m->att);
    memset(m, 0, sizeof *m);
}
