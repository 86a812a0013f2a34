/* faults.c - deciding whether a `faults:` rule fires (see faults.h).
 *
 * Pure C11 with no platform headers: the same file is built into the Linux
 * harness and cross-compiled into the Win32 agent, and both must draw the
 * same numbers for the same (seed, rule, occurrence). Each rule owns its own
 * generator, so adding or removing one rule never shifts another rule's
 * draws, and a rule draws only for occurrences its `when` selected, so a
 * rule's sequence depends on nothing but its own history.
 */
#include "faults.h"

#include <stddef.h>
#include <stdint.h>

/* splitmix64 (Steele, Lea, Flood 2014), the generator Java's SplittableRandom
 * and xoshiro's seeding use: one add and a finaliser, full 2^64 period. */
void pf_rng_seed(struct pf_rng *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t pf_rng_next(struct pf_rng *r)
{
    uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* The top 53 bits fill a double's mantissa exactly: uniform on [0, 1). */
double pf_rng_unit(struct pf_rng *r)
{
    return (double)(pf_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform on [lo, hi] without modulo bias: draws above the largest multiple
 * of the span are rejected (at most half of all draws, usually none). */
int64_t pf_rng_range(struct pf_rng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1u;
    if (span == 0) /* the whole int64 range */
        return (int64_t)pf_rng_next(r);
    uint64_t limit = UINT64_MAX - (UINT64_MAX % span);
    uint64_t x;
    do {
        x = pf_rng_next(r);
    } while (x >= limit);
    return (int64_t)((uint64_t)lo + x % span);
}

void pf_fault_state_init(struct pf_fault_state *st, uint64_t run_seed,
                         size_t rule_index)
{
    st->occurrences = 0;
    st->fired = 0;
    /* One splitmix step over seed + index spreads neighbouring indexes and
     * seeds to unrelated starting states. */
    struct pf_rng mix;
    pf_rng_seed(&mix, run_seed ^ ((uint64_t)(rule_index + 1) *
                                  UINT64_C(0xD1B54A32D192ED03)));
    pf_rng_seed(&st->rng, pf_rng_next(&mix));
}

bool pf_fault_when_matches(const struct pf_fault *rule, long n)
{
    long first = rule->when_first < 1 ? 1 : rule->when_first;
    if (n < first)
        return false;
    if (rule->when_onwards)
        return true;
    if (rule->when_step > 0)
        return (n - first) % rule->when_step == 0;
    return n == first;
}

struct pf_fault_decision pf_fault_decide(const struct pf_fault *rule,
                                         struct pf_fault_state *st)
{
    struct pf_fault_decision d = {
        .fire = false, .action = rule->action, .delay_ns = 0, .err = 0,
        .reason = NULL,
    };
    long n = ++st->occurrences;

    if (!pf_fault_when_matches(rule, n)) {
        d.reason = "when";
        return d;
    }
    /* Always draw once here, whatever the probability, so that the draws of
     * later occurrences do not depend on whether this one fired. */
    if (!(pf_rng_unit(&st->rng) < rule->probability)) {
        d.reason = "probability";
        return d;
    }
    d.fire = true;
    if (rule->action == PF_ACT_DELAY)
        d.delay_ns = pf_rng_range(&st->rng, rule->delay_min_ns,
                                  rule->delay_max_ns);
    else if (rule->action == PF_ACT_FAIL)
        d.err = rule->err;
    st->fired++;
    return d;
}
