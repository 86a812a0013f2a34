/* jobs.h - running the scenarios of one run N at a time (`run --jobs N`). */
#ifndef PF_JOBS_H
#define PF_JOBS_H

#include <json-c/json.h>
#include "run.h"
#include "suite.h"

/* The most workers a run starts (--jobs). */
#define PF_MAX_WORKERS 64

/* Prints a finished scenario's console line: the (i+1)-th to finish of n. */
typedef void pf_progress_fn(size_t i, size_t n, const char *name, json_object *res);

/* Runs the scenarios of l in `jobs` worker processes and appends their
 * results.json entries to `scenarios` in the order of l (those a stop left
 * unrun are missing, as in a serial run). Returns 1 when the harness or
 * machine could not run scenarios (exit 3), else 0. */
int pf_jobs_run(const struct pf_scenario_list *l, const struct pf_run_env *env, unsigned jobs,
                json_object *scenarios, pf_progress_fn *progress);

#endif
