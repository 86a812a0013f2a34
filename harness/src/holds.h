/* holds.h - the one place that decides when a hold ends.
 *
 * A hold (a server syscall or a client's connect kept waiting by a `hold`
 * fault) ends when the event its `until` names happens, or when its timeout
 * passes. Both backends report what their clients did; the engine releases
 * every hold whose `until` matches an event that happened at or after the
 * hold began (a report can reach the harness after a hold began although
 * the event itself happened before: such an event says nothing about the
 * held window), and times out the rest.
 */
#ifndef PF_HOLDS_H
#define PF_HOLDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The events a client gives, named as in `until: {event: ...}`. */
#define PF_HOLD_ADMITTED "admitted"  /* its connect/open succeeded */
#define PF_HOLD_REFUSED "refused"    /* its connect/open failed */
#define PF_HOLD_DENIED "denied"      /* ... failed for lack of permission */
#define PF_HOLD_ATTEMPT "attempt"    /* an attempt is over, the client's end closed */

/* How a hold ended: `released` (its event; `reason` is "account:event") or
 * `timed-out` (`reason` is "timeout"). */
typedef void (*pf_hold_release_fn)(void *ctx, const char *decision, const char *reason);

struct pf_holds;

struct pf_holds *pf_holds_new(void);
/* Frees the engine; holds still registered are dropped without a call. */
void pf_holds_free(struct pf_holds *h);

/* Registers a hold until `account` (NULL: any) does `event` (NULL: any;
 * both NULL: only the timeout ends it), which began at `began` and times
 * out at `deadline` (absolute CLOCK_MONOTONIC ns). `release` is called
 * once, when it ends. The strings are copied. Returns the hold's id (> 0). */
long pf_holds_add(struct pf_holds *h, const char *account, const char *event,
                  int64_t began, int64_t deadline, pf_hold_release_fn release, void *ctx);

/* Forgets a hold without calling its release (its holder is gone).
 * Returns false if it had already ended. */
bool pf_holds_cancel(struct pf_holds *h, long id);

/* Forgets, without calling its release, the first live hold (in the order
 * added) whose ctx `match` accepts (match NULL: any) and stores its ctx in
 * *ctx: for a holder that knows its holds by a key of its own (the Win32
 * agent numbers its holds), and to free the contexts still registered at the
 * end. Returns false when no live hold matches. */
bool pf_holds_take(struct pf_holds *h, bool (*match)(const void *ctx, const void *key),
                   const void *key, void **ctx);

/* `account` did `event` at time t: ends, in the order they were added,
 * every hold it matches that began at or before t. Returns how many. */
size_t pf_holds_event(struct pf_holds *h, const char *account, const char *event, int64_t t);

/* Ends, in the order they were added, every hold whose deadline is at or
 * before `now`. Returns how many. */
size_t pf_holds_expire(struct pf_holds *h, int64_t now);

/* The earliest deadline of a live hold, or PF_NO_DEADLINE when none: for
 * poll loops. */
#define PF_NO_DEADLINE ((int64_t)-1)
int64_t pf_holds_next_deadline(const struct pf_holds *h);

/* Live holds. */
size_t pf_holds_count(const struct pf_holds *h);

/* The events a client's ended connect/open gives, at the moment it ended:
 * admitted, or refused and, when for lack of permission, also denied.
 * Fills `ev` (room for 2) and returns how many. (The `attempt` event comes
 * later, when the client is done with the connection.) */
size_t pf_hold_outcome_events(bool admitted, bool permission_denied, const char *ev[2]);

#endif
