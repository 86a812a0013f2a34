/* checker.h - from a scenario's event history to its verdict.
 *
 * The checker is a pure function of the trace (and the scenario's list of
 * expectations): it can be re-run on an old trace and gives the same answer.
 * It classifies every permission state of every instance as intended,
 * default or other, and judges each expectation with a plain-words detail;
 * when the run did not produce what an expectation speaks of, it says so
 * (vacuous) instead of claiming it held.
 */
#ifndef PF_CHECKER_H
#define PF_CHECKER_H

#include <stdbool.h>
#include <json-c/json.h>
#include "scenario.h"

/* Returns a new object with: verdict ("pass", "fail", "inconclusive",
 * "skipped", or "error" when the trace is not complete enough to judge),
 * reason, expectations (each with status held/failed/vacuous/unknown and a
 * reason), instances, foreign_instances, clients, attempts (each with the
 * instance it is credited to and the evidence, or "unknown"), faults,
 * warnings, platform_facts, intended, default. The caller overrides the
 * verdict for runs that broke (error) or were skipped. */
json_object *pf_check(const struct pf_scenario *sc, json_object *trace);

/* Does perm match the reference? Only the reference's identity fields
 * (mode, uid, gid, acl_named, normalised) count. */
bool pf_perm_matches(json_object *perm, json_object *ref);

/* "0755, owner root, group root" or the SDDL: for messages. */
void pf_perm_describe(json_object *perm, char *out, size_t n);

#endif
