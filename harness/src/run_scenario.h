/* run_scenario.h - running one scenario (run.c), as the suite sees it. */
#ifndef PF_RUN_SCENARIO_H
#define PF_RUN_SCENARIO_H

#include <json-c/json.h>
#include "run.h"

/* Runs sc and returns its entry for results.json. *harness_error is set
 * when the harness or machine cannot run scenarios (exit 3). */
json_object *pf_run_scenario(const struct pf_scenario *sc, const struct pf_run_env *env,
                             int *harness_error);

#endif
