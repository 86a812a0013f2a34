/* explore_window.c - how wide a window is: the smallest perturbation that
 * still exposes a finding.
 *
 * "Fails under a 625 ms hold" says little about the field; "fails whenever
 * `secure` is at least 3 ms late" says how likely the bug is on a loaded
 * machine. Exposure is assumed monotone in the delay (a later operation
 * leaves the window open longer), so bisection finds the threshold in
 * log2((hi - lo) / resolution) runs. The same search shrinks a client's
 * attempts. The test is a callback, so unit tests can drive it.
 */
#include "explore.h"

int64_t pf_bisect_min(int64_t lo, int64_t hi, int64_t resolution, pf_bisect_test holds,
                      void *ctx, size_t *calls)
{
    if (resolution < 1)
        resolution = 1;
    *calls = 0;
    if (lo >= hi)
        return hi;
    /* hi holds; find out whether lo does too, so that a window of width 0
     * (exposed with no delay at all) is reported as such. */
    (*calls)++;
    if (holds(ctx, lo))
        return lo;
    /* Invariant: holds(hi), !holds(lo). */
    while (hi - lo > resolution) {
        int64_t mid = lo + (hi - lo) / 2;
        (*calls)++;
        if (holds(ctx, mid))
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}
