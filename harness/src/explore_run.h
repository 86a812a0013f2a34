/* explore_run.h - what the explore driver (explore.c) and the handling of a
 * finding (explore_finding.c) share: running one variant of a scenario as a
 * real trial, and telling whether it failed the same way as the finding.
 */
#ifndef PF_EXPLORE_RUN_H
#define PF_EXPLORE_RUN_H

#include <stdint.h>
#include <json-c/json.h>
#include "explore.h"
#include "run.h"

struct pf_explore {
    const struct pf_explore_options *o;
    struct pf_run_env env;     /* the run's; each trial gets its own copy */
    char outdir[4096];
    json_object *doc;          /* explore.json */
    int findings;              /* confirmed, all scenarios so far */
    int harness_error;
};

/* One scenario being explored. */
struct pf_explore_scn {
    struct pf_explore *x;
    const struct pf_scenario *sc;
    int dir_fd;                /* <store>/trials/<name> */
    json_object *entry;        /* its object in explore.json */
    int64_t t0;                /* when its exploration began */
};

/* The trials of one scenario (explore_trials.c): trial n (1-based) is
 * cands[n - 1], the first nsystematic of them systematic. */
struct pf_explore_trials {
    const struct pf_variant *base;
    const struct pf_candidate *cands;
    size_t nsystematic;
    long budget;
    /* what they came to */
    size_t tried_systematic;
    long random;
    int leads;
    long found_at;             /* -1: none */
    const char *status;        /* "none", "found", "error", "interrupted" */
};
/* Runs them, `--jobs` at a time, recording them in order, until the first
 * confirmed finding that reproduces (explore_finding.c), the budget or the
 * time limit. */
void pf_explore_trials(struct pf_explore_scn *s, struct pf_explore_trials *t);
/* A trial's record in explore.json (c NULL: the baseline). */
json_object *pf_explore_trial_json(long n, const struct pf_candidate *c, json_object *res);
/* A failing run is a lead until it fails the same way (key)
 * PF_EXPLORE_CONFIRM times in a row: runs <label>-againK and puts
 * "k of m" into the record t as `confirmed`. */
bool pf_explore_confirm(struct pf_explore_scn *s, const struct pf_variant *v, const char *key,
                        const char *label, json_object *t);
/* first_finding_trial and _seconds into the scenario's entry. */
void pf_explore_first_finding(json_object *entry, long trial, int64_t ns);

/* Runs the scenario file `path` with its store folder <trials>/<label>:
 * the result object of `pipefault run` (verdict, expectations, ...), or
 * {verdict: "invalid", reason} when the file does not load. NULL only when
 * the harness cannot run anything (x->harness_error set). With trace_out,
 * the trace read back (or NULL). */
json_object *pf_explore_run_file(struct pf_explore_scn *s, const char *path, const char *label,
                                 json_object **trace_out);
/* Writes the variant as <trials>/<label>/scenario.yaml and runs it. */
json_object *pf_explore_run_variant(struct pf_explore_scn *s, const struct pf_variant *v,
                                    const char *label, json_object **trace_out);

/* "id1,id2" of the expectations a `fail` result failed; "" for any other
 * verdict (error, timeout, inconclusive, pass are never findings). */
void pf_explore_failed_key(json_object *res, char *out, size_t n);

/* Writes explore.json (atomically) and explore.html. */
void pf_explore_save(struct pf_explore *x);

/* Shrinks, measures and replays a finding: appends its object to the
 * scenario's findings[]. Returns true when it reproduced in every replay. */
bool pf_explore_finding(struct pf_explore_scn *s, const struct pf_variant *failing,
                        long trial, const char *key);

#define PF_EXPLORE_REPLAYS 10
/* Runs a failing trial, and every step of shrinking and of the window
 * search, must fail the same way in a row to count. */
#define PF_EXPLORE_CONFIRM 5

#endif
