/* util.h - the project's one policy for memory and for reading JSON.
 *
 * Allocation failure is fatal: the harness cannot judge a run it could not
 * record, so pf_xmalloc and friends print what failed and exit 3 (harness
 * error) rather than hand back NULL for every caller to forget. Reading
 * JSON goes through three getters so that a missing or mistyped field
 * always means the same thing.
 */
#ifndef PF_UTIL_H
#define PF_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

void *pf_xmalloc(size_t n);
void *pf_xcalloc(size_t n, size_t size);
/* Grows *p to n elements of size bytes, checking the multiplication. */
void *pf_xreallocarray(void *p, size_t n, size_t size);
char *pf_xstrdup(const char *s);
char *pf_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Waits for child pid to end, retrying on EINTR; its wait status in
 * *status (may be NULL). 0, or -1 with errno when there is no such child. */
int pf_wait_child(pid_t pid, int *status);
/* Adds how a child ended to o: "status" (its exit code, or null) and
 * "signal" (the signal that ended it, or null), from a wait status. */
void pf_json_add_wait_status(json_object *o, int status);

/* o[key] if it is there (and not JSON null), else NULL. */
json_object *pf_json_get(json_object *o, const char *key);
/* o[key] as a string if it is one, else NULL. */
const char *pf_json_str(json_object *o, const char *key);
/* o[key] as an integer, or dflt when it is absent or null. */
int64_t pf_json_int(json_object *o, const char *key, int64_t dflt);

#endif
