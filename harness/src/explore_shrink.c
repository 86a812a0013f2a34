/* explore_shrink.c - delta debugging: the smallest part of a failing
 * configuration that still fails.
 *
 * A finding comes with everything the trial had: every client, every
 * account, every generated fault, every attempt. Most of it is noise to
 * whoever reads the reproducer. ddmin (Zeller and Hildebrandt, "Simplifying
 * and Isolating Failure-Inducing Input", TSE 2002) removes chunks of units,
 * then single units, keeping every removal after which the run still fails
 * the same way, until no single unit can go: 1-minimal, found in O(n^2)
 * tests at worst and far fewer when the cause is a few units. The test is a
 * callback, so that the unit tests can drive it with a synthetic predicate.
 */
#include "explore.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The indexes of the kept units. */
static size_t kept(const bool *keep, size_t n, size_t *idx)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (keep[i])
            idx[k++] = i;
    return k;
}

size_t pf_ddmin(bool *keep, size_t n, pf_shrink_test still_fails, void *ctx)
{
    size_t calls = 0;
    if (n == 0)
        return 0;
    size_t *idx = pf_xcalloc(n, sizeof *idx);
    bool *trial = pf_xcalloc(n, sizeof *trial);
    size_t granularity = 2;
    for (;;) {
        size_t k = kept(keep, n, idx);
        if (k == 0)
            break;
        if (granularity > k)
            granularity = k;
        bool reduced = false;
        /* Try removing each of `granularity` chunks (testing the
         * complement); with one kept unit that is the empty set. */
        for (size_t c = 0; c < granularity && !reduced; c++) {
            size_t from = c * k / granularity, to = (c + 1) * k / granularity;
            memcpy(trial, keep, n * sizeof *trial);
            for (size_t j = from; j < to; j++)
                trial[idx[j]] = false;
            calls++;
            if (still_fails(ctx, trial, n)) {
                memcpy(keep, trial, n * sizeof *keep);
                reduced = true;
            }
        }
        if (reduced) {
            /* Fewer units: keep the same chunk size relative to them. */
            granularity = granularity > 2 ? granularity - 1 : 2;
            continue;
        }
        if (granularity >= k)
            break;   /* every single unit is needed: 1-minimal */
        granularity = granularity * 2 < k ? granularity * 2 : k;
    }
    free(idx);
    free(trial);
    return calls;
}
