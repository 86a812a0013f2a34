/* pending_holds.h - the holds the Win32 agent is waiting in, on the host.
 *
 * Self-contained (no channel, no run): the agent reports a hold with its
 * `until`; a client event releases it only if it matches that `until` and
 * happened at or after the moment the hold began (an event from before the
 * hold, arriving late, must not end it). The caller says how to release.
 */
#ifndef PF_WIN_PENDING_HOLDS_H
#define PF_WIN_PENDING_HOLDS_H

#include <stddef.h>
#include <stdint.h>

struct win_hold {
    int id;
    void *owner;          /* whom to tell (the agent's connection) */
    char *account;        /* until: NULL matches any account */
    char *event;          /* until: NULL matches any event */
    int64_t since_ns;     /* trace time the hold began */
};

struct win_holds {
    struct win_hold *v;
    size_t n, cap;
};

/* A hold with neither account nor event waits for its timeout only and is
 * not recorded. */
void win_holds_add(struct win_holds *h, int id, void *owner, const char *account,
                   const char *event, int64_t since_ns);
/* The agent ended the hold itself (released or timed out). */
void win_holds_remove(struct win_holds *h, int id);
/* account did event at trace time t: calls release(ctx, owner, id) for, and
 * forgets, every hold it ends. Returns how many. */
size_t win_holds_release(struct win_holds *h, const char *account, const char *event,
                         int64_t t_ns, void (*release)(void *ctx, void *owner, int id),
                         void *ctx);
void win_holds_free(struct win_holds *h);

#endif
