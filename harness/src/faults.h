/* faults.h - deciding whether a `faults:` rule fires, and what it does.
 *
 * Platform-neutral and free of I/O so that the seccomp supervisor, the
 * harness's own clients and the Win32 agent all decide the same way: the
 * same seed gives the same draws, occurrence by occurrence. Also the names
 * of operations, phases and actions, and the one-line wire form in which
 * the host hands rules to the Win32 agent: both sides link this file, so
 * they cannot disagree on either.
 */
#ifndef PF_FAULTS_H
#define PF_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "scenario.h"

/* The scenario's words for the enums, indexed by them, NULL-terminated
 * (pf_fault_op_name() and friends, declared in scenario.h, read these). */
extern const char *const pf_fault_op_names[PF_OP__COUNT + 1];
extern const char *const pf_fault_phase_names[3];
extern const char *const pf_fault_action_names[4];

/* Seeded generator (splitmix64): small, fast, reproducible everywhere. */
struct pf_rng { uint64_t state; };
void pf_rng_seed(struct pf_rng *r, uint64_t seed);
uint64_t pf_rng_next(struct pf_rng *r);
double pf_rng_unit(struct pf_rng *r);                 /* [0, 1) */
int64_t pf_rng_range(struct pf_rng *r, int64_t lo, int64_t hi); /* [lo, hi] */

/* Per-rule state for one run: how often its operation occurred so far. */
struct pf_fault_state {
    long occurrences;
    long fired;
    struct pf_rng rng;
};

/* One decision for one occurrence of a rule's operation. */
struct pf_fault_decision {
    bool fire;
    enum pf_fault_action action;
    int64_t delay_ns;      /* delay: the drawn delay */
    int err;               /* fail */
    const char *reason;    /* why it did not fire: "when", "probability" */
};

void pf_fault_state_init(struct pf_fault_state *st, uint64_t run_seed,
                         size_t rule_index);
/* Counts the occurrence and decides. Deterministic in (seed, rule, count). */
struct pf_fault_decision pf_fault_decide(const struct pf_fault *rule,
                                         struct pf_fault_state *st);
/* Does occurrence n (1-based) match the rule's `when`? */
bool pf_fault_when_matches(const struct pf_fault *rule, long n);

/* The wire form of one rule, for the Win32 agent ($PF_FAULTS, one rule per
 * line, numbers only, fields separated by one space, "\n" at the end):
 *   index op phase action delay_min delay_max timeout err when_first
 *   when_step when_onwards probability until_account until_event
 * with "-" for an absent until name. Fields not listed (target, required,
 * process, thread, err_name, mark) are not carried. */
#define PF_FAULT_LINE_MAX 512

/* Writes rule number `index` as one line into out. Returns the length, or
 * -1 when it does not fit or an until name cannot be carried (empty, "-",
 * or containing white space). */
int pf_fault_encode(const struct pf_fault *f, size_t index, char *out, size_t n);

/* Parses one line into *f (zeroed first; until names are malloc'd, freed
 * by pf_fault_decoded_free) and *index. False, with *f left empty, for a
 * line that is not exactly one rule with every number in range. */
bool pf_fault_decode(const char *line, struct pf_fault *f, size_t *index);
void pf_fault_decoded_free(struct pf_fault *f);

#endif
