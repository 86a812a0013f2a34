/* jobs.h - work run N at a time in forked worker processes: the scenarios
 * of `run --jobs N`, the trials of `explore --jobs N`. */
#ifndef PF_JOBS_H
#define PF_JOBS_H

#include <stdbool.h>
#include <json-c/json.h>
#include "run.h"
#include "suite.h"

/* The most workers a run starts (--jobs). */
#define PF_MAX_WORKERS 64

/* What a pool of workers does with items 0..n-1. */
struct pf_pool_ops {
    /* In a worker (a fork of the caller, with a run id and backends of
     * its own in *env): item i's result as one JSON object; *he = 1 when
     * the harness cannot go on. */
    json_object *(*work)(void *ctx, size_t i, const struct pf_run_env *env, int *he);
    /* Item i's result when it could not be run: the worker ended without
     * one, or its backends could not be set up (`why`). */
    json_object *(*broken)(void *ctx, size_t i, const char *why);
    /* In the caller, in the order results arrive (owning res). false: give
     * no more items; those running still end and are delivered. */
    bool (*done)(void *ctx, size_t i, json_object *res, int he);
};

/* Runs items 0..n-1 in up to `jobs` workers, each of which sets up the
 * backends of the platforms of `l` for itself. Returns 1 when the harness
 * or machine could not run anything, or an item said so, else 0. */
int pf_pool_run(const struct pf_scenario_list *l, const struct pf_run_env *env, unsigned jobs,
                size_t n, const struct pf_pool_ops *ops, void *ctx);

/* Prints a finished scenario's console line: the (i+1)-th to finish of n. */
typedef void pf_progress_fn(size_t i, size_t n, const char *name, json_object *res);

/* Runs the scenarios of l in `jobs` worker processes and appends their
 * results.json entries to `scenarios` in the order of l (those a stop left
 * unrun are missing, as in a serial run). Returns 1 when the harness or
 * machine could not run scenarios (exit 3), else 0. */
int pf_jobs_run(const struct pf_scenario_list *l, const struct pf_run_env *env, unsigned jobs,
                json_object *scenarios, pf_progress_fn *progress);

#endif
