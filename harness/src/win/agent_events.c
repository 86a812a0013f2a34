/* agent_events.c - the lines of the Win32 programs, as trace events.
 *
 * The agent and the clients write JSON Lines on the host channel with their
 * own clock; this file re-bases their times onto the trace clock, names the
 * instance a served attempt reached, marks pipes created under another name
 * than the run's endpoint as foreign, starts the clients at the first
 * endpoint instance, and hands holds and attempts to agent_holds.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../util.h"
#include "win_run.h"
#include "../trace_names.h"

/* The trace time of a Win32 program's clock reading (see pf_win_conn). */
static int64_t to_trace(struct win_run *wr, const struct pf_win_conn *c, int64_t qpc_ns)
{
    int64_t mono = c->clock_raw ? qpc_ns + wr->wine->mono_minus_raw_ns
                                : qpc_ns + c->clock_offset_ns;
    return mono - wr->run->trace.start_ns;
}

/* ---- events from the Win32 programs ----------------------------------- */

/* A command client's launcher said its program's Windows pid (`hello`) or
 * how it ended (`client_exit`): the same events as on Linux, with the
 * Windows pid (what the squatters record of their clients). */
static void command_client_event(struct win_run *wr, const char *name, json_object *ev)
{
    json_object *f = json_object_new_object();
    json_object_object_add(f, PF_F_PID, json_object_new_int64(pf_json_int(ev, PF_F_PID, 0)));
    json_object_object_add(f, PF_F_CLIENT, json_object_get(pf_json_get(ev, PF_F_CLIENT)));
    json_object_object_add(f, PF_F_ACCOUNT, json_object_get(pf_json_get(ev, PF_F_ACCOUNT)));
    if (!strcmp(name, "client_start"))
        json_object_object_add(f, "launcher_pid",
                               json_object_get(pf_json_get(ev, "launcher_pid")));
    if (!strcmp(name, PF_EV_CLIENT_EXIT)) {
        json_object_object_add(f, "status", json_object_get(pf_json_get(ev, "status")));
        json_object_object_add(f, "signal", NULL);
        json_object_object_add(f, "stopped", json_object_new_boolean(0));
    }
    win_trace_event(wr, name, f);
}

static void on_hello(struct win_run *wr, struct pf_win_conn *c, json_object *ev)
{
    const char *role = pf_json_str(ev, "role");
    bool command = role && !strcmp(role, "command_client");
    c->role = role && !strcmp(role, "agent") ? ROLE_AGENT :
              role && !strcmp(role, "squatter") ? ROLE_ATTACKER : ROLE_CLIENT;
    const char *label = pf_json_str(ev, c->role == ROLE_ATTACKER ? PF_F_ACCOUNT : PF_F_CLIENT);
    snprintf(c->label, sizeof c->label, "%s", label ? label : (role ? role : "?"));
    /* Is this program's QueryPerformanceCounter our CLOCK_MONOTONIC_RAW? A
     * reading taken just before the line was sent must map to a moment just
     * before now. If not (another Wine, real Windows), align on the hello
     * itself: exact to the channel's latency. */
    int64_t qpc = pf_json_int(ev, "qpc_ns", 0), now = pf_clock_ns();
    int64_t lag = now - (qpc + wr->wine->mono_minus_raw_ns);
    c->clock_raw = lag >= 0 && lag < 2000000000LL;
    c->clock_offset_ns = now - qpc;
    if (c->role == ROLE_AGENT && !wr->server_win_pid)
        wr->server_win_pid = pf_json_int(ev, PF_F_PID, 0);
    else if (c->role == ROLE_CLIENT)
        win_attack_client_hello(wr, ev);
    if (command)
        command_client_event(wr, "client_start", ev);
    else if (c->role == ROLE_ATTACKER)
        win_attack_line(wr, c, "hello", ev, 0);
}

void win_on_line(void *ctx, struct pf_win_conn *c, json_object *ev)
{
    struct win_run *wr = ctx;
    const char *name = pf_json_str(ev, PF_F_EV);
    if (!name)
        return;
    if (!strcmp(name, "hello")) {
        on_hello(wr, c, ev);
        return;
    }
    if (c->role == ROLE_ATTACKER) {
        win_attack_line(wr, c, name, ev, to_trace(wr, c, pf_json_int(ev, "qpc_ns", 0)));
        return;
    }
    if (!strcmp(name, PF_EV_CLIENT_EXIT)) {
        command_client_event(wr, name, ev);
        return;
    }
    if (!strcmp(name, "connected")) {
        int64_t pid = pf_json_int(ev, "client_pid", 0);
        size_t i = 0;
        while (i < wr->nconn_of && wr->conn_of[i].client_pid != pid)
            i++;
        if (i == wr->nconn_of && wr->nconn_of < MAX_CLIENTS)
            wr->nconn_of++;
        /* A second connection of one client process before its attempt
         * ended cannot be told apart: neither is credited (id -1). */
        if (i < wr->nconn_of) {
            bool again = wr->conn_of[i].client_pid == pid;
            wr->conn_of[i].client_pid = pid;
            wr->conn_of[i].id = again ? -1 : (int)pf_json_int(ev, PF_F_ID, 0);
        }
        return;
    }
    if (!strcmp(name, "unseen_instance")) {
        const char *how = pf_json_str(ev, "how");
        if (!wr->run->error[0])
            snprintf(wr->run->error, sizeof wr->run->error,
                     "the server uses pipe handles pipefault did not see created (%.200s); "
                     "pipefault cannot judge this server", how ? how : "?");
        return;
    }
    if (!strcmp(name, "hook_missing")) {
        /* The agent could not hook a function every pipe create passes
         * through: what it then misses cannot be told from what is not. */
        const char *fn = pf_json_str(ev, "function"), *why = pf_json_str(ev, "why");
        if (!wr->run->error[0])
            snprintf(wr->run->error, sizeof wr->run->error,
                     "pipefault could not hook %s in the server (%.200s): pipes created "
                     "through it from inside system DLLs would not be seen; pipefault "
                     "cannot judge this server", fn ? fn : "?", why ? why : "?");
    }
    int64_t t = to_trace(wr, c, pf_json_int(ev, "qpc_ns", 0));
    json_object *f = json_object_new_object();
    json_object_object_foreach(ev, key, val) {
        if (!strcmp(key, "ev") || !strcmp(key, "qpc_ns"))
            continue;
        if (!strcmp(key, "t_end_qpc_ns"))
            json_object_object_add(f, PF_F_T_END,
                                   json_object_new_int64(to_trace(wr, c, json_object_get_int64(val))));
        else if (!strcmp(key, "t_call_ns"))
            json_object_object_add(f, PF_F_T_CALL,
                                   json_object_new_int64(to_trace(wr, c, json_object_get_int64(val))));
        else
            json_object_object_add(f, key, json_object_get(val));
    }
    /* Pipe names are case-insensitive. An instance of another name is not
     * an endpoint instance: listed apart, never judged, and it does not
     * start the clients. */
    bool foreign = false;
    if (!strcmp(name, PF_EV_INSTANCE_BIRTH)) {
        const char *created = pf_json_str(ev, PF_F_ENDPOINT);
        foreign = !created || strcasecmp(created, wr->plan.endpoint) != 0;
        if (foreign) {
            json_object_object_add(f, PF_F_FOREIGN, json_object_new_boolean(1));
            if (!wr->foreign[0])
                snprintf(wr->foreign, sizeof wr->foreign, "%s", created ? created : "?");
        }
    }
    const char *outcome = pf_json_str(ev, PF_F_OUTCOME);
    if (!strcmp(name, PF_EV_ATTEMPT) && outcome && !strcmp(outcome, "ok")) {
        /* The agent's "connected" line was sent before the server replied,
         * so before this attempt could end. */
        int64_t pid = pf_json_int(ev, PF_F_PID, -1);
        for (size_t i = 0; i < wr->nconn_of; i++)
            if (wr->conn_of[i].client_pid == pid) {
                if (wr->conn_of[i].id > 0)
                    json_object_object_add(f, PF_F_INSTANCE,
                                           json_object_new_int(wr->conn_of[i].id));
                wr->conn_of[i].client_pid = -1;  /* one attempt per connection */
            }
    }
    if (!strcmp(name, PF_EV_ATTEMPT)) {
        /* Who served it: the pid GetNamedPipeServerProcessId gave the
         * client; a refused attempt was served by nobody. */
        char buf[96];
        json_object_object_add(f, "served_by", outcome && !strcmp(outcome, "ok") ?
                               json_object_new_string(win_attack_served_by(
                                   wr, pf_json_int(ev, "peer_pid", 0), buf, sizeof buf)) : NULL);
    }
    pf_trace_emit_at(&wr->run->trace, t,
                     c->role == ROLE_AGENT ? PF_SRC_WIN_AGENT : PF_SRC_WIN_CLIENT, name, f);

    if (!strcmp(name, PF_EV_INSTANCE_BIRTH) && !foreign && !wr->ready) {
        wr->ready = true;
        if (win_attack_clients_may_start(wr))
            win_start_clients(wr);
    } else if (!strcmp(name, PF_EV_INSTANCE_ACCEPTING) && wr->ready && !wr->serving_ns) {
        wr->serving_ns = pf_clock_ns();
    } else if (!strcmp(name, PF_EV_FAULT)) {
        const char *d = pf_json_str(ev, PF_F_DECISION);
        if (d && !strcmp(d, "held")) {
            win_hold_started(wr, c, ev, t);
            win_attack_held(wr, (long)pf_json_int(ev, PF_F_RULE, -1));
        }
        else if (d && (!strcmp(d, "released") || !strcmp(d, "timed-out")))
            win_hold_ended(wr, c, ev);
    } else if (!strcmp(name, PF_EV_ATTEMPT)) {
        const char *acct = pf_json_str(ev, PF_F_ACCOUNT);
        if (acct && outcome) {
            /* An attempt happened when it was over: it releases only the
             * holds that began before that. */
            int64_t t_end = to_trace(wr, c, pf_json_int(ev, "t_end_qpc_ns",
                                                        pf_json_int(ev, "qpc_ns", 0)));
            win_holds_attempt(wr, acct, outcome, t_end);
        }
    }
}
