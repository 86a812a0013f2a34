/* pending_holds.c - the holds the agent is waiting in, and their release.
 *
 * The agent sends a `fault` event with decision held, a hold number and the
 * rule's `until`; when a client event matching it arrives, the host sends
 * "release N" on the agent's connection. The agent ends a hold itself on
 * its timeout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../util.h"
#include "win_run.h"

/* Something happened (account did event): release the holds waiting on it. */
void win_holds_notify(struct win_run *wr, const char *account, const char *event)
{
    for (size_t i = 0; i < wr->nholds;) {
        struct pending_hold *h = &wr->holds[i];
        if (!strcmp(h->account, account) && !strcmp(h->event, event)) {
            char line[32];
            snprintf(line, sizeof line, "release %d\n", h->id);
            if (!h->conn->eof && pf_win_channel_send(h->conn, line) < 0)
                fprintf(stderr, "pipefault: cannot release hold %d: agent gone\n", h->id);
            wr->holds[i] = wr->holds[--wr->nholds];
            continue;
        }
        i++;
    }
}

void win_hold_started(struct win_run *wr, struct pf_win_conn *c, json_object *ev)
{
    const char *acct = pf_json_str(ev, "until_account"), *what = pf_json_str(ev, "until_event");
    if (!acct || !what || wr->nholds == MAX_HOLDS)
        return;  /* no `until`: only the timeout ends it, in the agent */
    struct pending_hold *h = &wr->holds[wr->nholds++];
    h->id = (int)pf_json_int(ev, "hold", 0);
    h->conn = c;
    snprintf(h->account, sizeof h->account, "%s", acct);
    snprintf(h->event, sizeof h->event, "%s", what);
}

void win_hold_ended(struct win_run *wr, json_object *ev)
{
    int id = (int)pf_json_int(ev, "hold", 0);
    for (size_t i = 0; i < wr->nholds; i++)
        if (wr->holds[i].id == id) {
            wr->holds[i] = wr->holds[--wr->nholds];
            return;
        }
}
