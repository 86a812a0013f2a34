/* scenario_values.h - the scalar values of a scenario file, as text -> value.
 *
 * Kept apart from the YAML walk in scenario.c so that each rule (what a
 * duration, an octal mode or a `when` looks like) is stated once, can be
 * reused by the command line, and knows nothing about files or nodes.
 *
 * Every parser returns NULL on success, or a short reason in plain words
 * ("8 and 9 are not octal digits") that the caller puts after the position.
 */
#ifndef PF_SCENARIO_VALUES_H
#define PF_SCENARIO_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "scenario.h"

/* "10ms", "1.5s", "250us", "40ns", or "0". Never negative, exact to 1ns. */
const char *pf_duration_parse(const char *s, int64_t *ns);

/* Octal digits only ("0660", "022"), value at most max (07777, 0777). */
const char *pf_octal_parse(const char *s, int max, int *out);

/* Decimal integer in [lo, hi], digits only. */
const char *pf_count_parse(const char *s, long lo, long hi, long *out);

/* A number in [0, 1]: "1", "0.25", "1e-3". */
const char *pf_probability_parse(const char *s, double *out);

/* strace-style occurrence selector; N, S >= 1.
 *   "N"   only the N-th:          first N, step 0, onwards false
 *   "N+"  the N-th onwards:       first N, step 1, onwards true
 *   "N+S" every S-th from the N-th: first N, step S, onwards false */
const char *pf_when_parse(const char *s, long *first, long *step,
                          bool *onwards);

/* Names of scenarios, fixtures: [A-Za-z0-9._-]+, not "." or "..". */
bool pf_name_valid(const char *s);
/* Account and group short names: [a-z0-9_-]+ (they become parts of real
 * user and group names, which useradd and Windows treat this way). */
bool pf_account_name_valid(const char *s);

/* Errors a `fail` fault may inject: errno names on linux, Win32 error
 * names on win32. Returns false when the name is not in the table. */
bool pf_errno_lookup(enum pf_platform p, const char *name, int *value);
/* The table's name for a value, or NULL. */
const char *pf_errno_name(enum pf_platform p, int value);
/* The closest name in the table (edit distance <= 2), or NULL. */
const char *pf_errno_closest(enum pf_platform p, const char *name);

/* Levenshtein distance, capped: returns max+1 when it is larger than max. */
size_t pf_edit_distance(const char *a, const char *b, size_t max);
/* The choice closest to s within distance 2 (NULL-terminated list), or NULL. */
const char *pf_closest(const char *s, const char *const *choices);

#endif
