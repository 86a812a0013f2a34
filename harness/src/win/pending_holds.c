/* pending_holds.c - the holds the agent is waiting in, and their release
 * (pending_holds.h), plus the glue to the win32 run: the agent sends a
 * `fault` event with decision held, a hold number and the rule's `until`;
 * a matching client event after the hold began sends "release N" on the
 * agent's connection. The agent ends a hold itself on its timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util.h"
#include "pending_holds.h"
#include "win_run.h"

/* Drops hold i; the last one takes its place. */
static void forget(struct win_holds *h, size_t i)
{
    char *account = h->v[i].account, *event = h->v[i].event;
    h->n--;
    if (i != h->n)
        h->v[i] = h->v[h->n];
    free(account);
    free(event);
}

void win_holds_add(struct win_holds *h, int id, void *owner, const char *account,
                   const char *event, int64_t since_ns)
{
    if (!account && !event)
        return;
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 8;
        h->v = pf_xreallocarray(h->v, h->cap, sizeof *h->v);
    }
    h->v[h->n++] = (struct win_hold){
        .id = id, .owner = owner, .since_ns = since_ns,
        .account = account ? pf_xstrdup(account) : NULL,
        .event = event ? pf_xstrdup(event) : NULL,
    };
}

void win_holds_remove(struct win_holds *h, int id)
{
    for (size_t i = 0; i < h->n; i++)
        if (h->v[i].id == id) {
            forget(h, i);
            return;
        }
}

size_t win_holds_release(struct win_holds *h, const char *account, const char *event,
                         int64_t t_ns, void (*release)(void *ctx, void *owner, int id),
                         void *ctx)
{
    /* One pass: released holds are freed, the others keep their order. */
    size_t kept = 0, released = 0;
    for (size_t i = 0; i < h->n; i++) {
        struct win_hold w = h->v[i];
        if (t_ns >= w.since_ns && (!w.account || !strcmp(w.account, account)) &&
            (!w.event || !strcmp(w.event, event))) {
            release(ctx, w.owner, w.id);
            free(w.account);
            free(w.event);
            released++;
        } else {
            h->v[kept++] = w;
        }
    }
    h->n = kept;
    return released;
}

void win_holds_free(struct win_holds *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].account);
        free(h->v[i].event);
    }
    free(h->v);
    memset(h, 0, sizeof *h);
}

/* ---- the win32 run's holds -------------------------------------------- */

static void send_release(void *ctx, void *owner, int id)
{
    (void)ctx;
    struct pf_win_conn *conn = owner;
    char line[32];
    snprintf(line, sizeof line, "release %d\n", id);
    if (!conn->eof && pf_win_channel_send(conn, line) < 0)
        fprintf(stderr, "pipefault: cannot release hold %d: agent gone\n", id);
}

void win_holds_notify(struct win_run *wr, const char *account, const char *event, int64_t t)
{
    win_holds_release(&wr->holds, account, event, t, send_release, NULL);
}

void win_hold_started(struct win_run *wr, struct pf_win_conn *c, json_object *ev, int64_t t)
{
    win_holds_add(&wr->holds, (int)pf_json_int(ev, "hold", 0), c,
                  pf_json_str(ev, "until_account"), pf_json_str(ev, "until_event"), t);
}

void win_hold_ended(struct win_run *wr, json_object *ev)
{
    win_holds_remove(&wr->holds, (int)pf_json_int(ev, "hold", 0));
}
