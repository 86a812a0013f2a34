/* run.h - what a platform backend gets to run one scenario.
 *
 * The core (run.c) prepares the scenario's private directories and trace,
 * then hands a pf_run to the backend for the scenario's platform. The backend
 * drives server, clients and observers and records what happens in the trace;
 * it decides nothing about pass or fail, which is the checker's job.
 */
#ifndef PF_RUN_H
#define PF_RUN_H

#include <signal.h>
#include <stdint.h>
#include "events.h"
#include "scenario.h"

struct pf_run {
    const struct pf_scenario *sc;
    struct pf_trace trace;
    uint64_t seed;            /* the run's seed, mixed with the scenario name */
    char run_id[8];           /* six hex digits, also the account prefix */
    char workdir[256];        /* private, world-traversable dir for this scenario, removed after */
    char outdir[1024];        /* <out>/<scenario>/ : trace.jsonl, server.stderr */
    const char *fixture_dir;  /* where built fixtures live */
    const char *tool_dir;     /* where pipefault's own helper programs live */
    int64_t deadline_ns;      /* absolute CLOCK_MONOTONIC */
    /* Filled in by the backend for results: */
    char skip_reason[256];    /* non-empty: the scenario was skipped */
    char error[512];          /* non-empty: the run broke (verdict error) */
    char server_stderr[4096]; /* tail of <outdir>/server.stderr, read by the core */
    json_object *server;      /* {"pid","argv","exit_status","signal"} or NULL */
};

/* Set by the SIGINT/SIGTERM handler; backends poll it and wind down. */
extern volatile sig_atomic_t pf_interrupted;

struct pf_backend {
    const char *name;
    /* NULL when the backend can run here, else why not (for `skipped`). */
    const char *(*unavailable)(void);
    /* Runs the scenario. Returns 0; -1 with run->error set when the run
     * broke (verdict `error`); -2 with run->error set when the harness or
     * the machine cannot run scenarios at all (exit 3). */
    int (*run)(struct pf_run *run);
};

/* rm -rf, staying on one file system and never following links; what it
 * cannot remove it names on stderr. */
void pf_remove_tree(const char *path);

extern const struct pf_backend pf_backend_linux;
extern const struct pf_backend pf_backend_win32;

#endif
