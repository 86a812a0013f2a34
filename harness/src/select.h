/* select.h - which scenarios of a run run here: --select, --shard, --list.
 *
 * A CI job splits one suite across runners: every runner loads the same
 * files, keeps the scenarios whose names match the --select globs, and of
 * those the part --shard I/N gives it. The parts are disjoint and together
 * the whole, and depend only on the set of names (and, when a previous
 * store is given, on its recorded durations), never on the order of the
 * paths or on the runner: every runner computes the same split alone.
 */
#ifndef PF_SELECT_H
#define PF_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pf_shard {
    unsigned index;   /* 1..count */
    unsigned count;   /* 0: no sharding */
};

/* "I/N" with 1 <= I <= N, plain decimal digits. 0, or -1 with err naming
 * the value and what is wrong with it. */
int pf_shard_parse(const char *text, struct pf_shard *out, char *err, size_t errlen);

/* keep[i] = names[i] matches one of the globs (fnmatch, a whole-name
 * match); every name when there is none. A glob that matches no name is an
 * error: 0, or -1 with err naming the first such glob. */
int pf_select_names(const char *const *names, size_t n, const char *const *globs,
                    size_t nglobs, bool *keep, char *err, size_t errlen);

/* The shard (1..count) of every name: the longest first (by duration_ms,
 * ties by name) goes to the part with the least total so far (ties: the
 * lowest part). Unknown durations (< 0) count as the mean of the known
 * ones, or all alike when none is known, which makes the split a
 * round-robin over the sorted names. Names must be distinct. */
void pf_shard_assign(const char *const *names, const int64_t *duration_ms, size_t n,
                     unsigned count, unsigned *shard_of);

/* Reads STORE/results.json (no symlink followed) and fills duration_ms[i]
 * for every names[i] it records (-1 for the others). 0, or -1 with err. */
int pf_durations_load(const char *store, const char *const *names, size_t n,
                      int64_t *duration_ms, char *err, size_t errlen);

/* What `pipefault run` was asked to keep. */
struct pf_choice {
    const char *const *globs;   /* --select, may be empty */
    size_t nglobs;
    struct pf_shard shard;
    const char *durations;      /* --durations STORE, or NULL */
};

struct pf_scenario_list;
/* Drops (and frees) the scenarios of l that c does not keep, keeping the
 * order of the others. 0, or -1 with err (bad input: exit 2). */
int pf_choose(struct pf_scenario_list *l, const struct pf_choice *c, char *err, size_t errlen);

#endif
