/* results.h - the run's outputs: results.json and junit.xml. */
#ifndef PF_RESULTS_H
#define PF_RESULTS_H

#include <json-c/json.h>

/* Writes <outdir>/results.json atomically. 0 or -1 with errno. */
int pf_results_write(const char *outdir, json_object *results);

/* Writes <outdir>/junit.xml: one testcase per scenario, failures carrying
 * the failed expectations' details and a link into index.html. */
int pf_junit_write(const char *outdir, json_object *results);

#endif
