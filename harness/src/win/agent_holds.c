/* agent_holds.c - the holds the Win32 agent waits in, kept in the core's
 * hold engine (holds.h), so that both backends release holds by one rule.
 *
 * The agent sends a `fault` event with decision held, its own number for
 * the hold and the rule's `until`; the host registers it, and when a
 * client's event matches that `until` at or after the hold began, the
 * release callback sends "release N" on the agent's connection. The agent
 * times a hold out itself and reports that (or the release) with decision
 * released or timed-out: the host then forgets it. The host sets no
 * deadline of its own, so the engine never times an agent's hold out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../holds.h"
#include "../util.h"
#include "win_run.h"
#include "../trace_names.h"

/* Who to tell: the agent's connection and its number for the hold. */
struct agent_hold {
    struct pf_win_conn *conn;
    int id;
};

static void send_release(void *ctx, const char *decision, const char *reason)
{
    (void)decision;
    (void)reason;
    struct agent_hold *a = ctx;
    char line[32];
    snprintf(line, sizeof line, "release %d\n", a->id);
    if (!a->conn->eof && !pf_win_channel_send(a->conn, line))
        fprintf(stderr, "pipefault: cannot release hold %d: agent gone\n", a->id);
    free(a);
}

static bool same_hold(const void *ctx, const void *key)
{
    const struct agent_hold *a = ctx, *k = key;
    return a->conn == k->conn && a->id == k->id;
}

void win_hold_started(struct win_run *wr, struct pf_win_conn *c, json_object *ev, int64_t t)
{
    struct agent_hold *a = pf_xmalloc(sizeof *a);
    *a = (struct agent_hold){ .conn = c, .id = (int)pf_json_int(ev, PF_F_HOLD, 0) };
    pf_holds_add(wr->holds, pf_json_str(ev, PF_F_UNTIL_ACCOUNT), pf_json_str(ev, PF_F_UNTIL_EVENT),
                 t, INT64_MAX, send_release, a);
}

void win_hold_ended(struct win_run *wr, struct pf_win_conn *c, json_object *ev)
{
    struct agent_hold key = { .conn = c, .id = (int)pf_json_int(ev, PF_F_HOLD, 0) };
    void *ctx;
    if (pf_holds_take(wr->holds, same_hold, &key, &ctx))
        free(ctx);
}

void win_holds_attempt(struct win_run *wr, const char *account, const char *outcome,
                       int64_t t_end)
{
    const char *events[2];
    size_t n = pf_hold_outcome_events(!strcmp(outcome, "ok"),
                                      !strcmp(outcome, "ERROR_ACCESS_DENIED"), events);
    for (size_t i = 0; i < n; i++)
        pf_holds_event(wr->holds, account, events[i], t_end);
    pf_holds_event(wr->holds, account, PF_HOLD_ATTEMPT, t_end);
}

void win_holds_free(struct win_run *wr)
{
    void *ctx;
    while (pf_holds_take(wr->holds, NULL, NULL, &ctx))
        free(ctx);
    pf_holds_free(wr->holds);
    wr->holds = NULL;
}
