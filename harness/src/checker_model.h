/* checker_model.h - the checker's model of one trace: instances, attempts,
 * and which instance each attempt met.
 *
 * Kept apart from the judging (checker.c) because it is where evidence is
 * weighed: an attempt is credited to an instance only when the trace says
 * which one served it (the agent named it, or the client read the inode it
 * reached), or, for a refusal, when exactly one endpoint instance was present
 * for the whole attempt. Nothing is credited by timing alone.
 */
#ifndef PF_CHECKER_MODEL_H
#define PF_CHECKER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "scenario.h"

/* A trace time that never came (an instance never accepting, never
 * removed, never secured), and an attempt no instance is credited with. */
#define PF_NEVER ((int64_t)-1)
#define PF_INST_UNKNOWN (-1L)

struct pf_inst {
    int64_t id;
    json_object *birth_ev;
    json_object *deflt;         /* the default this instance is classed against */
    bool own_default;           /* deflt came from its birth event */
    bool foreign;               /* not the run's endpoint: listed, never judged */
    json_object *history;       /* array of {t_ns, perm, class, evidence} */
    json_object *admitted;      /* account -> credited admitted attempts */
    int64_t born, accepting, removed;   /* PF_NEVER: never */
    const char *accepting_evidence;
};

enum pf_attribution { PF_ATTR_UNKNOWN, PF_ATTR_AGENT, PF_ATTR_PEER, PF_ATTR_ONLY };

struct pf_attempt {
    json_object *ev;
    const char *account;
    const char *outcome;
    const char *peer_key;
    int64_t t, t_end;
    int64_t named;              /* the instance the event names, 0 none */
    long inst;                  /* index into pf_model.inst, PF_INST_UNKNOWN */
    enum pf_attribution how;
    bool allowed, injected;
};

struct pf_model {
    const struct pf_scenario *sc;
    json_object *platform, *intended, *deflt;
    bool single_account, server_started;
    struct pf_inst *inst;       /* every birth, in trace order */
    size_t ninst, capinst;
    size_t nendpoint;           /* births that are not foreign */
    size_t *by_born;            /* endpoint instances sorted by birth time */
    int64_t *removed_max;       /* along by_born: latest removal so far (INT64_MAX: alive) */
    struct pf_attempt *att;
    size_t natt, capatt;
    bool ids_ascending;
    /* Events that name an instance the trace never saw born: the trace is
     * not complete, so the scenario is not judged. */
    long orphans;
    char orphan_text[256];
};

/* Reads the trace and credits attempts. The model borrows the trace's
 * objects: free the model before the trace. */
void pf_model_build(struct pf_model *m, const struct pf_scenario *sc, json_object *trace);
void pf_model_free(struct pf_model *m);

struct pf_inst *pf_model_inst(struct pf_model *m, long index);
/* The instance with this trace id, or NULL. */
struct pf_inst *pf_model_find(struct pf_model *m, int64_t id);

/* The class of a permission state for this instance. */
const char *pf_model_classify(struct pf_model *m, struct pf_inst *in, json_object *perm);

/* Was the instance accepting connections at time t (and still there)? */
bool pf_inst_accepting_at(const struct pf_inst *in, int64_t t);

/* Endpoint instances present at some moment in [t0, t1]: how many, how many
 * of them were accepting by t1, and the first one found (index, -1 none). */
struct pf_presence { size_t n, accepting; long first; bool first_covers; };
struct pf_presence pf_model_present(struct pf_model *m, int64_t t0, int64_t t1);

/* An attempt reached a live, accepting endpoint instance: it was admitted,
 * or it is credited to an instance that was accepting when it ended. */
bool pf_attempt_reached(struct pf_model *m, const struct pf_attempt *a);

bool pf_outcome_denied(const char *outcome);
const char *pf_attribution_name(enum pf_attribution how);

#endif
