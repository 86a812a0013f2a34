/* holds.c - the hold engine (see holds.h).
 *
 * Holds live in one array in the order they were added, which is the order
 * they are released in. A release callback may add or cancel holds while
 * the engine is walking the array: the walk goes by index over the holds
 * that existed when it started, an ended hold is only marked dead, and the
 * array is compacted once no walk is in progress.
 */
#include "holds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct hold {
    long id;
    char *account, *event;   /* NULL: any */
    int64_t began, deadline;
    pf_hold_release_fn release;
    void *ctx;
    bool live;
};

struct pf_holds {
    struct hold *v;
    size_t n, cap;
    size_t live;
    long next_id;
    int walking;             /* nested walks in progress */
};

struct pf_holds *pf_holds_new(void)
{
    struct pf_holds *h = pf_xcalloc(1, sizeof *h);
    h->next_id = 1;
    return h;
}

static void drop(struct hold *x)
{
    free(x->account);
    free(x->event);
    x->account = x->event = NULL;
}

void pf_holds_free(struct pf_holds *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        drop(&h->v[i]);
    free(h->v);
    free(h);
}

static void compact(struct pf_holds *h)
{
    if (h->walking)
        return;
    size_t k = 0;
    for (size_t i = 0; i < h->n; i++)
        if (h->v[i].live)
            h->v[k++] = h->v[i];
    h->n = k;
}

long pf_holds_add(struct pf_holds *h, const char *account, const char *event,
                  int64_t began, int64_t deadline, pf_hold_release_fn release, void *ctx)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 8;
        h->v = pf_xreallocarray(h->v, cap, sizeof *h->v);
        h->cap = cap;
    }
    struct hold *x = &h->v[h->n++];
    *x = (struct hold){
        .id = h->next_id++,
        .account = account ? pf_xstrdup(account) : NULL,
        .event = event ? pf_xstrdup(event) : NULL,
        .began = began,
        .deadline = deadline,
        .release = release,
        .ctx = ctx,
        .live = true,
    };
    h->live++;
    return x->id;
}

bool pf_holds_cancel(struct pf_holds *h, long id)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->v[i].id == id && h->v[i].live) {
            h->v[i].live = false;
            drop(&h->v[i]);
            h->live--;
            compact(h);
            return true;
        }
    return false;
}

bool pf_holds_take(struct pf_holds *h, bool (*match)(const void *ctx, const void *key),
                   const void *key, void **ctx)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->v[i].live && (!match || match(h->v[i].ctx, key))) {
            *ctx = h->v[i].ctx;
            return pf_holds_cancel(h, h->v[i].id);
        }
    return false;
}

/* The rule: does `account` doing `event` at t end a hold until
 * (until_account, until_event) that began at `began`? */
static bool released_by(const char *until_account, const char *until_event, int64_t began,
                        const char *account, const char *event, int64_t t)
{
    if (!until_account && !until_event)
        return false;   /* ended by its timeout only */
    if (t < began)
        return false;   /* happened before the hold: says nothing about it */
    return (!until_account || (account && !strcmp(until_account, account))) &&
           (!until_event || (event && !strcmp(until_event, event)));
}

/* Ends hold i: marks it dead first, so that the callback sees a consistent
 * engine, then calls it. */
static void end(struct pf_holds *h, size_t i, const char *decision, const char *reason)
{
    struct hold x = h->v[i];
    h->v[i].live = false;
    h->v[i].account = h->v[i].event = NULL;
    h->live--;
    if (x.release)
        x.release(x.ctx, decision, reason);
    drop(&x);
}

size_t pf_holds_event(struct pf_holds *h, const char *account, const char *event, int64_t t)
{
    char reason[160];
    snprintf(reason, sizeof reason, "%s:%s", account ? account : "", event ? event : "");
    size_t ended = 0, n = h->n;
    h->walking++;
    for (size_t i = 0; i < n; i++) {
        struct hold *x = &h->v[i];
        if (!x->live ||
            !released_by(x->account, x->event, x->began, account, event, t))
            continue;
        end(h, i, "released", reason);
        ended++;
    }
    h->walking--;
    compact(h);
    return ended;
}

size_t pf_holds_expire(struct pf_holds *h, int64_t now)
{
    size_t ended = 0, n = h->n;
    h->walking++;
    for (size_t i = 0; i < n; i++) {
        if (!h->v[i].live || h->v[i].deadline > now)
            continue;
        end(h, i, "timed-out", "timeout");
        ended++;
    }
    h->walking--;
    compact(h);
    return ended;
}

int64_t pf_holds_next_deadline(const struct pf_holds *h)
{
    int64_t next = PF_NO_DEADLINE;
    for (size_t i = 0; i < h->n; i++)
        if (h->v[i].live && (next == PF_NO_DEADLINE || h->v[i].deadline < next))
            next = h->v[i].deadline;
    return next;
}

size_t pf_holds_count(const struct pf_holds *h)
{
    return h->live;
}

size_t pf_hold_outcome_events(bool admitted, bool permission_denied, const char *ev[2])
{
    if (admitted) {
        ev[0] = PF_HOLD_ADMITTED;
        return 1;
    }
    ev[0] = PF_HOLD_REFUSED;
    if (!permission_denied)
        return 1;
    ev[1] = PF_HOLD_DENIED;
    return 2;
}
