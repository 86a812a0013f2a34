/* suite.h - running a list of scenario files and writing the run's store.
 *
 * One store directory per run (out/<stamp>-<run>/ with out/latest pointing
 * at it, or --out DIR): results.json, junit.xml, index.html, and one folder
 * per scenario with trace.jsonl and the server's output.
 */
#ifndef PF_SUITE_H
#define PF_SUITE_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include "scenario.h"

/* Exit codes, the CLI contract. */
enum {
    PF_EXIT_PASS = 0,
    PF_EXIT_FAIL = 1,
    PF_EXIT_BAD_INPUT = 2,
    PF_EXIT_HARNESS = 3,
};

struct pf_scenario_list {
    struct pf_scenario **items;
    size_t n;
};

/* Expands files and suite directories and loads every scenario. Prints each
 * error as file:line:col: message. Returns 0, or -1 if any failed. */
int pf_scenarios_load(char **paths, int npaths, struct pf_scenario_list *out);
void pf_scenarios_free(struct pf_scenario_list *l);

struct pf_suite_options {
    const char *out;        /* NULL: out/<stamp>-<run> plus out/latest */
    uint64_t seed;
    const char *command;    /* the command line that reproduces the run */
    unsigned jobs;          /* scenarios run at a time (jobs.c); 0 or 1: one by one */
};

/* Opens (creating what is missing) the directory `path` for a store, one
 * component at a time without following links: fd, -1 (cannot: said on
 * stderr) or -2 (refused as unsafe, or not empty: bad input, said on
 * stderr). */
int pf_store_open_out(const char *path);

/* The verdicts, in the order of a summary's counters. */
enum { PF_V_PASS, PF_V_FAIL, PF_V_ERROR, PF_V_SKIPPED, PF_V_INCONCLUSIVE, PF_V__COUNT };

/* results.json's "summary" of a "scenarios" array (docs/results.md), the
 * counters also in counts; an unknown verdict counts as an error. */
json_object *pf_summary_new(json_object *scenarios, int64_t not_run, int counts[PF_V__COUNT]);

/* Every backend's sweep of what killed runs left; returns how many runs'
 * leftovers were removed (`pipefault clean`, and the start of every run). */
int pf_sweep_all(void);

struct pf_run_env;
/* The pieces of a run that `pipefault explore` shares (explore.c). The
 * store: --out DIR (checked component by component), or a new
 * out/<stamp>-<run> with out/latest; its fd, -1 (cannot: exit 3) or -2 (a
 * refused --out: exit 2); its name goes to dir. */
int pf_suite_make_store(const char *out, const char *run_id, char *dir, size_t n);
/* SIGINT, SIGTERM, SIGHUP set pf_interrupted; SIGPIPE is ignored. */
void pf_suite_install_signals(void);
/* begin_run of every backend the list uses: 0, or -1 (said on stderr;
 * those begun are ended again). *nbegun is for pf_suite_end_backends. */
int pf_suite_begin_backends(const struct pf_scenario_list *l, const struct pf_run_env *env,
                            size_t *nbegun);
void pf_suite_end_backends(const struct pf_scenario_list *l, const struct pf_run_env *env,
                           size_t nbegun);

/* Runs every scenario; returns an exit code. */
int pf_suite_run(const struct pf_scenario_list *l, const struct pf_suite_options *o);

#endif
