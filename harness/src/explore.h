/* explore.h - `pipefault explore`: searching for the fault nobody wrote.
 *
 * A scenario without faults is run once as written (the baseline), which
 * tells which endpoint operations the server really does and how often.
 * From that list come candidate perturbations (explore_candidates.c), each
 * tried as a trial: the scenario plus generated faults, run through the same
 * machinery as `pipefault run`. A trial that fails is a finding; it is
 * shrunk (explore_shrink.c), its window measured (explore_window.c) and
 * written as an ordinary scenario file (explore_yaml.c). The pieces here are
 * pure (no run, no platform) so that unit tests can drive them with
 * synthetic inputs; explore.c is the driver that runs trials.
 */
#ifndef PF_EXPLORE_H
#define PF_EXPLORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "scenario.h"

/* One generated fault: always on the server, phase before, one occurrence. */
struct pf_xfault {
    enum pf_fault_op op;
    long when;                 /* the occurrence it applies to (1-based) */
    enum pf_fault_action action;   /* PF_ACT_DELAY or PF_ACT_HOLD */
    int64_t delay_ns;          /* delay */
    const char *account;       /* hold: until this account's ... */
    const char *event;         /* ... event ("attempt", "admitted") */
    int64_t timeout_ns;        /* hold */
    bool observe;              /* probability 0: never fires, only makes the
                                * supervisor intercept the operation */
    enum pf_fault_who thread;  /* any (0), or main / other: `when` then counts
                                * only that thread class's calls */
};

/* An operation the baseline saw, with how many times it happened. */
struct pf_op_seen {
    enum pf_fault_op op;
    long count;
    /* Of those, made by a process's initial thread (tid == pid) and by
     * other threads; both 0 when the trace cannot tell (Win32 agent). */
    long by_main, by_other;
};

/* Strategy constants, stated in the output (docs/explore.md). */
#define PF_EXPLORE_MAX_OCC 3          /* occurrences of one operation tried */
#define PF_EXPLORE_HOLD_TIMEOUT_NS 1000000000LL
#define PF_EXPLORE_LADDER_N 4         /* delay ladder: 5, 25, 125, 625 ms */
#define PF_EXPLORE_PCT_DEPTH 2        /* points of a random schedule */
#define PF_EXPLORE_MAX_POINTS 4
extern const int64_t pf_explore_ladder_ns[PF_EXPLORE_LADDER_N];

struct pf_candidate {
    const char *strategy;      /* "ordering", "hold", "delay", "random" */
    struct pf_xfault f[PF_EXPLORE_MAX_POINTS];
    size_t n;
};

/* The operations the baseline trace shows, in the order they first happen:
 * `syscall` events of the supervisor or the Win32 agent, re-issued calls not
 * counted. Returns how many kinds were seen (at most PF_OP__COUNT). */
size_t pf_explore_ops_seen(json_object *trace, struct pf_op_seen *out);

/* The systematic single-point list: close-before-create orderings (holds on
 * a later create until a client's attempt is over) when the server created
 * several instances, then for every operation seen (`secure` first, the
 * others in the order seen) and each of its first
 * PF_EXPLORE_MAX_OCC occurrences a hold until each account's attempt and
 * admitted, then the delay ladder; last, thread interleavings: for an
 * operation both the initial thread and other threads made, the same holds
 * and delays on the first occurrences of each thread class alone
 * (`thread: main` / `thread: other`). Holds that can only time out (the first
 * create or rename, before any client can run) are left out. `accounts`
 * are the accounts that have clients. A new array; *n its length. */
struct pf_candidate *pf_explore_systematic(const struct pf_op_seen *ops, size_t nops,
                                           const char *const *accounts, size_t naccounts,
                                           size_t *n);

/* A randomized schedule in the style of PCT: PF_EXPLORE_PCT_DEPTH points
 * chosen uniformly among the (operation, occurrence) events of the baseline,
 * each given a perturbation drawn uniformly from the ladder and the holds.
 * Same state, same schedule. */
void pf_explore_random(const struct pf_op_seen *ops, size_t nops,
                       const char *const *accounts, size_t naccounts, uint64_t *state,
                       struct pf_candidate *out);
/* How many (operation, occurrence) points and perturbations per point the
 * random schedules draw from: the bound is 1 / (points * perturbations)^depth
 * per trial for a failure that needs `depth` specific points. */
void pf_explore_random_space(const struct pf_op_seen *ops, size_t nops, size_t naccounts,
                             long *points, long *perturbations);

/* "hold secure #1 until alice:attempt", "delay listen #2 by 25ms". */
void pf_xfault_describe(const struct pf_xfault *f, char *out, size_t n);
/* The fault as a results object: {at, when, action, delay_ms|until, timeout_ms}. */
json_object *pf_xfault_json(const struct pf_xfault *f);

/* Delta debugging (Zeller's ddmin) over n units: keep[] starts all true
 * (the failing configuration) and ends 1-minimal: removing any one more
 * unit makes `still_fails` false. still_fails is called with a candidate
 * keep[]; returns how many calls were made. */
typedef bool (*pf_shrink_test)(void *ctx, const bool *keep, size_t n);
size_t pf_ddmin(bool *keep, size_t n, pf_shrink_test still_fails, void *ctx);

/* The smallest v in [lo, hi] with holds(v), assuming holds is monotone
 * (false below some threshold, true from it on) and holds(hi) is true;
 * stops when the interval is at most `resolution` wide. *calls counts the
 * probes. Used for the window (smallest delay that still exposes) and for
 * shrinking attempts. */
typedef bool (*pf_bisect_test)(void *ctx, int64_t v);
int64_t pf_bisect_min(int64_t lo, int64_t hi, int64_t resolution, pf_bisect_test holds,
                      void *ctx, size_t *calls);

/* A variant of a scenario file: which of its clients and accounts are kept,
 * with how many attempts, and the faults added. The file's own faults are
 * kept as written. */
struct pf_variant {
    size_t nclients, naccounts;
    bool *client_on;           /* per client of the file, in order */
    int *attempts;             /* per client; 0: as written */
    bool *account_on;          /* per account of the file */
    struct pf_xfault *faults;
    size_t nfaults;
};
void pf_variant_init(struct pf_variant *v, const struct pf_scenario *sc);
void pf_variant_copy(struct pf_variant *dst, const struct pf_variant *src);
void pf_variant_free(struct pf_variant *v);

/* Writes the scenario file `src` as changed by v, named `name`, to fd:
 * every other key exactly as the file has it (through libyaml's document
 * model), `header` (lines already starting with "# ") first. 0, or -1 with
 * err filled. */
int pf_variant_write(const char *src, const struct pf_variant *v, const char *name,
                     const char *header, int fd, char *err, size_t errlen);

/* The command line. */
struct pf_explore_options {
    const char *out;
    uint64_t seed;
    long budget;               /* trials per scenario, baseline included */
    int64_t time_ns;           /* per scenario; 0: no limit */
    unsigned jobs;             /* trials run at a time (worker processes) */
    const char *command;
};
int pf_explore_run(char **paths, int npaths, const struct pf_explore_options *o);

/* explore.html from the explore.json object, into the store dirfd. 0 / -1. */
int pf_report_explore_write(int dirfd, json_object *explore);

#endif
