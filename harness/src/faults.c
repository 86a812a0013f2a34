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

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ------------------------------------------------------------ */

const char *const pf_fault_op_names[PF_OP__COUNT + 1] = {
    "create", "secure", "listen", "accept", "close", "unlink", "rename", "connect", "open", NULL,
};
const char *const pf_fault_phase_names[3] = {"before", "after", NULL};
const char *const pf_fault_action_names[4] = {"delay", "hold", "fail", NULL};

static const char *name_at(const char *const *names, size_t count, int i)
{
    return i >= 0 && (size_t)i < count ? names[i] : "?";
}

const char *pf_fault_op_name(enum pf_fault_op op)
{
    return name_at(pf_fault_op_names, PF_OP__COUNT, (int)op);
}

const char *pf_fault_phase_name(enum pf_fault_phase p)
{
    return name_at(pf_fault_phase_names, 2, (int)p);
}

const char *pf_fault_action_name(enum pf_fault_action a)
{
    return name_at(pf_fault_action_names, 3, (int)a);
}

/* ---- decisions -------------------------------------------------------- */

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

/* ---- the wire form for the Win32 agent --------------------------------- */

static bool name_fits_wire(const char *s)
{
    if (!*s || !strcmp(s, "-"))
        return false;
    for (; *s; s++)
        if (isspace((unsigned char)*s))
            return false;
    return true;
}

int pf_fault_encode(const struct pf_fault *f, size_t index, char *out, size_t n)
{
    if ((f->until_account && !name_fits_wire(f->until_account)) ||
        (f->until_event && !name_fits_wire(f->until_event)))
        return -1;
    /* %.17g: a double printed with 17 significant digits reads back exact. */
    int len = snprintf(out, n, "%" PRIu64 " %d %d %d %" PRId64 " %" PRId64 " %" PRId64
                       " %d %ld %ld %d %.17g %s %s\n",
                       (uint64_t)index, (int)f->op, (int)f->phase, (int)f->action, f->delay_min_ns,
                       f->delay_max_ns, f->timeout_ns, f->err, f->when_first, f->when_step,
                       f->when_onwards ? 1 : 0, f->probability,
                       f->until_account ? f->until_account : "-",
                       f->until_event ? f->until_event : "-");
    return len < 0 || (size_t)len >= n ? -1 : len;
}

/* One space-separated field: [*p, end). Advances *p past it and one space. */
static bool next_field(const char **p, char *buf, size_t n)
{
    const char *s = *p, *e = s;
    while (*e && *e != ' ' && *e != '\n')
        e++;
    if (e == s || (size_t)(e - s) >= n)
        return false;
    memcpy(buf, s, (size_t)(e - s));
    buf[e - s] = '\0';
    *p = *e == ' ' ? e + 1 : e;
    return true;
}

static bool field_int(const char **p, long long lo, long long hi, long long *v)
{
    char buf[32], *end;
    if (!next_field(p, buf, sizeof buf))
        return false;
    if (!isdigit((unsigned char)buf[0]) && !(buf[0] == '-' && isdigit((unsigned char)buf[1])))
        return false;
    errno = 0;
    *v = strtoll(buf, &end, 10);
    return !errno && !*end && *v >= lo && *v <= hi;
}

static bool field_name(const char **p, char **v)
{
    char buf[256];
    if (!next_field(p, buf, sizeof buf))
        return false;
    if (!strcmp(buf, "-")) {
        *v = NULL;
        return true;
    }
    size_t len = strlen(buf) + 1;
    *v = malloc(len);
    if (*v)
        memcpy(*v, buf, len);
    return *v != NULL;
}

bool pf_fault_decode(const char *line, struct pf_fault *f, size_t *index)
{
    memset(f, 0, sizeof *f);
    const char *p = line;
    long long idx, op, phase, action, dmin, dmax, timeout, err, first, step, onwards;
    char buf[40], *end;
    bool ok = field_int(&p, 0, INT_MAX, &idx) && field_int(&p, 0, PF_OP__COUNT - 1, &op) &&
              field_int(&p, PF_PHASE_BEFORE, PF_PHASE_AFTER, &phase) &&
              field_int(&p, PF_ACT_DELAY, PF_ACT_FAIL, &action) &&
              field_int(&p, 0, INT64_MAX, &dmin) && field_int(&p, dmin, INT64_MAX, &dmax) &&
              field_int(&p, 0, INT64_MAX, &timeout) && field_int(&p, INT_MIN, INT_MAX, &err) &&
              field_int(&p, 0, LONG_MAX, &first) && field_int(&p, 0, LONG_MAX, &step) &&
              field_int(&p, 0, 1, &onwards) && next_field(&p, buf, sizeof buf);
    if (!ok)
        return false;
    /* No errno check: a subnormal probability reads back exact but sets
     * ERANGE; overflow and NaN fail the range test. */
    double prob = strtod(buf, &end);
    if (*end || !(prob >= 0.0 && prob <= 1.0))
        return false;
    if (!field_name(&p, &f->until_account) || !field_name(&p, &f->until_event) ||
        (*p && strcmp(p, "\n"))) {
        pf_fault_decoded_free(f);
        return false;
    }
    f->op = (enum pf_fault_op)op;
    f->phase = (enum pf_fault_phase)phase;
    f->action = (enum pf_fault_action)action;
    f->delay_min_ns = dmin;
    f->delay_max_ns = dmax;
    f->timeout_ns = timeout;
    f->err = (int)err;
    f->when_first = (long)first;
    f->when_step = (long)step;
    f->when_onwards = onwards != 0;
    f->probability = prob;
    *index = (size_t)idx;
    return true;
}

void pf_fault_decoded_free(struct pf_fault *f)
{
    free(f->until_account);
    free(f->until_event);
    memset(f, 0, sizeof *f);
}
