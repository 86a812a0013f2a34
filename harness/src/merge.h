/* merge.h - `pipefault merge OUT STORE...`: the stores of a suite's shards
 * made into one, as if one run had written it. */
#ifndef PF_MERGE_H
#define PF_MERGE_H

/* Reads every STORE's results.json, refuses a scenario name found in two
 * stores, copies each scenario's folder into OUT and writes OUT's
 * results.json, junit.xml and index.html with the writers of a run.
 * Returns the exit code (usage in main.c). */
int pf_merge(const char *out, char *const *stores, int nstores, const char *command);

#endif
