/* results.h - the run's outputs: results.json and junit.xml. */
#ifndef PF_RESULTS_H
#define PF_RESULTS_H

#include <json-c/json.h>

/* Writes results.json into the store directory dirfd atomically (a new
 * temporary file renamed over it). 0 or -1 with errno. */
int pf_results_write(int dirfd, json_object *results);

/* Writes junit.xml the same way: one testcase per scenario, failures carrying
 * the failed expectations' details and a link into index.html. */
int pf_junit_write(int dirfd, json_object *results);

#endif
