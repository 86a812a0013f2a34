/* faults.h - deciding whether a `faults:` rule fires, and what it does.
 *
 * Platform-neutral and free of I/O so that the seccomp supervisor, the
 * harness's own clients and the Win32 agent all decide the same way: the
 * same seed gives the same draws, occurrence by occurrence.
 */
#ifndef PF_FAULTS_H
#define PF_FAULTS_H

#include <stdbool.h>
#include <stdint.h>
#include "scenario.h"

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

#endif
