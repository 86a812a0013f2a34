/* checker_attack.c - judging the expectations about attackers.
 *
 * Apart from checker.c because the evidence is different: not permission
 * states but who served each admitted connection (the attempt's
 * `served_by`, from the peer credentials its client read), which inode it
 * reached (`peer_key`) against the inodes the attackers made (their `squat`
 * events), and whether the server made the name its own after an attacker
 * had it. Same rules as the rest of the checker: a failure needs evidence;
 * when the run never showed what an expectation speaks of, it is vacuous,
 * with the reason.
 */
#include "checker_attack.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_names.h"
#include "util.h"


struct squat {
    const char *account, *key, *when, *action;
    int64_t t;
    bool ok;
    bool joined;   /* win32: its instance joined a pipe already there */
};

static void add(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add(char *buf, size_t n, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, n - len, fmt, ap);
    va_end(ap);
}

static void fail(struct pf_attack_judgement *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(struct pf_attack_judgement *j, const char *fmt, ...)
{
    if (j->failures++ >= 4)
        return;
    if (j->failures > 1)
        add(j->detail, sizeof j->detail, "; ");
    size_t len = strlen(j->detail);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->detail + len, sizeof j->detail - len, fmt, ap);
    va_end(ap);
}

/* The attackers' squat events, in trace order, as a new array (free it);
 * *count says how many. The trace may hold any number. */
static struct squat *squats(json_object *trace, size_t *count)
{
    size_t n = 0, len = json_object_array_length(trace);
    struct squat *out = pf_xcalloc(len ? len : 1, sizeof *out);
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(trace, i);
        const char *ev = pf_json_str(e, PF_F_EV), *src = pf_json_str(e, PF_F_SRC);
        if (!ev || !src || strcmp(ev, "squat") || strcmp(src, "attacker"))
            continue;
        const char *outcome = pf_json_str(e, "outcome");
        json_object *created = pf_json_get(e, "created_name");
        out[n] = (struct squat){pf_json_str(e, "account"), pf_json_str(e, "key"),
                                pf_json_str(e, "when"), pf_json_str(e, "action"),
                                pf_json_int(e, "t", 0), outcome && !strcmp(outcome, "ok"),
                                created && !json_object_get_boolean(created)};
        n++;
    }
    *count = n;
    return out;
}

/* The attacker that made the inode `key`, or NULL. */
static const char *maker(const struct squat *s, size_t n, const char *key)
{
    for (size_t i = 0; key && i < n; i++)
        if (s[i].ok && s[i].key && !strcmp(s[i].key, key))
            return s[i].account;
    return NULL;
}

static bool admitted(const struct pf_attempt *a)
{
    return !a->injected && a->outcome && !strcmp(a->outcome, "ok");
}

static void ms(int64_t ns, char *out, size_t n)
{
    snprintf(out, n, "%.1f ms", (double)ns / 1e6);
}

/* What the run knows of the command clients (clients[].command): each
 * program's pid and exit (`client_start`, `client_exit`) against the
 * squatters' records of who connected to them and what they sent. The
 * harness cannot see inside the program, so: bytes sent to an attacker is
 * trust (failed); reaching an attacker, sending nothing and exiting 0 is
 * trust too (its exchange completed with the attacker); reaching one,
 * sending nothing and exiting nonzero is a refusal; exiting 0 with no
 * attacker connection was served by the server (the attackers record
 * every connection they accept). Counts add to *total / *server; refusals
 * are told in `refused`. */
struct cmd_tally { size_t total, server, refused, started; };

static void judge_commands(json_object *trace, struct pf_attack_judgement *j,
                           struct cmd_tally *c)
{
    size_t len = json_object_array_length(trace);
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(trace, i);
        const char *ev = pf_json_str(e, PF_F_EV);
        if (!ev || strcmp(ev, "client_exit"))
            continue;
        c->started++;
        int64_t pid = pf_json_int(e, PF_F_PID, 0);
        json_object *st = pf_json_get(e, "status");
        bool ok = st && json_object_get_int(st) == 0;
        const char *acc = pf_json_str(e, PF_F_ACCOUNT), *label = pf_json_str(e, PF_F_CLIENT);
        int64_t sent = 0;
        size_t conns = 0;
        const char *to = NULL;
        for (size_t k = 0; k < len; k++) {
            json_object *s = json_object_array_get_idx(trace, k);
            const char *sev = pf_json_str(s, PF_F_EV);
            if (!sev || strcmp(sev, "squatter_connection") || pid <= 0 ||
                (pf_json_int(s, "peer_pid", 0) != pid && pf_json_int(s, "peer_pgid", 0) != pid))
                continue;
            conns++;
            int64_t b = pf_json_int(s, "bytes_received", 0);
            if (b > 0 || !to) {
                to = pf_json_str(s, PF_F_ACCOUNT);
                sent += b;
            }
        }
        if (sent > 0) {
            c->total++;
            fail(j, "%s's client command %s (pid %lld) sent %lld bytes to attacker:%s",
                 acc ? acc : "?", label ? label : "?", (long long)pid, (long long)sent,
                 to ? to : "?");
        } else if (conns && ok) {
            c->total++;
            fail(j, "%s's client command %s (pid %lld) reached attacker:%s and exited 0 (its "
                 "exchange completed with the attacker)", acc ? acc : "?", label ? label : "?",
                 (long long)pid, to ? to : "?");
        } else if (conns) {
            c->refused++;
        } else if (ok) {
            c->total++;
            c->server++;
        }
    }
}

bool pf_command_client_reached(json_object *trace)
{
    size_t len = json_object_array_length(trace);
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(trace, i);
        const char *ev = pf_json_str(e, PF_F_EV);
        json_object *st = pf_json_get(e, "status");
        if (!ev || strcmp(ev, "client_exit"))
            continue;
        if (st && json_object_get_int(st) == 0)
            return true;
        int64_t pid = pf_json_int(e, PF_F_PID, 0);
        for (size_t k = 0; pid > 0 && k < len; k++) {
            json_object *s = json_object_array_get_idx(trace, k);
            const char *sev = pf_json_str(s, PF_F_EV);
            if (sev && !strcmp(sev, "squatter_connection") &&
                (pf_json_int(s, "peer_pid", 0) == pid || pf_json_int(s, "peer_pgid", 0) == pid))
                return true;
        }
    }
    return false;
}

static void judge_reach(struct pf_model *m, json_object *trace, struct pf_attack_judgement *j)
{
    struct cmd_tally c = {0, 0, 0, 0};
    judge_commands(trace, j, &c);
    size_t total = c.total, server = c.server, unknown = 0;
    for (size_t k = 0; k < m->natt; k++) {
        const struct pf_attempt *a = &m->att[k];
        if (!admitted(a))
            continue;
        total++;
        const char *by = pf_json_str(a->ev, "served_by");
        char t[32];
        ms(a->t, t, sizeof t);
        if (by && !strncmp(by, "attacker:", 9))
            fail(j, "%s's attempt at %s was served by %s (pid %lld)", a->account, t, by,
                 (long long)pf_json_int(a->ev, "peer_pid", 0));
        else if (by && !strcmp(by, "server"))
            server++;
        else
            unknown++;
    }
    if (j->failures)
        return;
    char refused[160] = "";
    if (c.refused)
        snprintf(refused, sizeof refused, "; %zu client command%s reached an attacker, sent "
                 "nothing and exited nonzero (refused it)", c.refused, c.refused == 1 ? "" : "s");
    if (!total && c.refused)
        snprintf(j->held, sizeof j->held, "no client was served by an attacker%s", refused);
    else if (!total)
        snprintf(j->vacuous, sizeof j->vacuous, "no client attempt was admitted: nobody was "
                 "served");
    else if (unknown)
        snprintf(j->vacuous, sizeof j->vacuous, "%zu of %zu admitted attempts were served by a "
                 "process the run could not name (no peer credentials: %s)", unknown, total,
                 m->sc->endpoint.kind == PF_EP_FIFO ? "a FIFO has none" :
                 "the listener was gone or not the server's");
    else
        snprintf(j->held, sizeof j->held, "all %zu admitted attempts were served by the "
                 "server%s%s", server, c.started ? " (client commands that exited 0 with no "
                 "attacker connection recorded count as served by the server)" : "", refused);
}

static void judge_owns(struct pf_model *m, json_object *trace, struct pf_attack_judgement *j)
{
    size_t ns;
    struct squat *s = squats(trace, &ns);
    size_t total = 0, server = 0, unknown = 0;
    for (size_t k = 0; k < m->natt; k++) {
        const struct pf_attempt *a = &m->att[k];
        if (!admitted(a))
            continue;
        total++;
        const char *who = maker(s, ns, a->peer_key);
        const char *by = pf_json_str(a->ev, "served_by");
        char t[32];
        ms(a->t, t, sizeof t);
        if (who)
            fail(j, "%s's attempt at %s reached inode %s, made by attacker %s", a->account, t,
                 a->peer_key, who);
        else if (a->peer_key && a->inst >= 0)
            server++;   /* an instance the observer saw, none an attacker made */
        else if (!a->peer_key && by && !strncmp(by, "attacker:", 9))
            fail(j, "%s's attempt at %s reached an endpoint held by %s (no inode: an "
                 "abstract name or a pipe instance)", a->account, t, by);
        else if (!a->peer_key && by && !strcmp(by, "server"))
            server++;   /* abstract, npipe: whoever listens made the instance */
        else
            unknown++;
    }
    free(s);
    if (j->failures)
        return;
    if (!total)
        snprintf(j->vacuous, sizeof j->vacuous, "no client attempt was admitted: no instance "
                 "was reached");
    else if (unknown)
        snprintf(j->vacuous, sizeof j->vacuous, "for %zu of %zu admitted attempts the run "
                 "could not tell which instance was reached", unknown, total);
    else
        snprintf(j->held, sizeof j->held, "all %zu admitted attempts reached instances the "
                 "server made", server);
}

/* The server's instances at the endpoint born after `t` (not attackers').
 * An abstract instance is recorded at the server's bind, before the kernel
 * decides (EADDRINUSE while the attacker holds the name): it counts only
 * once it accepted, which a refused bind never does. */
static const struct pf_inst *taken_after(struct pf_model *m, const struct squat *s, size_t ns,
                                         int64_t t)
{
    for (size_t i = 0; i < m->ninst; i++) {
        const struct pf_inst *in = &m->inst[i];
        if (in->foreign || in->born < t ||
            (m->sc->endpoint.kind == PF_EP_ABSTRACT && in->accepting < 0))
            continue;
        if (!maker(s, ns, pf_json_str(in->birth_ev, "key")))
            return in;
    }
    return NULL;
}

/* Did the server open (join) an inode an attacker made? */
static bool joined(struct pf_model *m, json_object *trace, const struct squat *s, size_t ns,
                   char *who, size_t n)
{
    size_t len = json_object_array_length(trace);
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(trace, i);
        const char *ev = pf_json_str(e, PF_F_EV), *op = pf_json_str(e, PF_F_OP);
        if (!ev || strcmp(ev, PF_EV_SYSCALL) || !op || strcmp(op, "open"))
            continue;
        struct pf_inst *in = pf_model_find(m, pf_json_int(e, "instance", 0));
        const char *acc = in ? maker(s, ns, pf_json_str(in->birth_ev, "key")) : NULL;
        if (acc) {
            snprintf(who, n, "%s", acc);
            return true;
        }
    }
    return false;
}

/* Does the platform enforce FILE_FLAG_FIRST_PIPE_INSTANCE? The probe's
 * measurement in the `platform` event; true where it says nothing (Linux). */
static bool first_instance_enforced(json_object *trace, char *platform, size_t n)
{
    size_t len = json_object_array_length(trace);
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(trace, i);
        const char *ev = pf_json_str(e, "ev");
        json_object *v = pf_json_get(e, "first_pipe_instance_enforced");
        if (!ev || strcmp(ev, "platform") || !v)
            continue;
        const char *version = pf_json_str(e, "version");
        snprintf(platform, n, "%s", version ? version : "this platform");
        return json_object_get_boolean(v);
    }
    return true;
}

static void judge_refuses(struct pf_model *m, json_object *trace, struct pf_attack_judgement *j)
{
    size_t ns;
    struct squat *s = squats(trace, &ns);
    size_t held_name = 0;
    char refused[256] = "", platform[96] = "", unenforced[256] = "";
    bool enforced = first_instance_enforced(trace, platform, sizeof platform);
    for (size_t i = 0; i < ns; i++) {
        bool early = (s[i].when && strcmp(s[i].when, "after-start")) ||
                     (s[i].action && !strcmp(s[i].action, "run-server"));
        if (!early)
            continue;
        if (!s[i].ok || s[i].joined) {
            add(refused, sizeof refused, "%s%s %s", refused[0] ? "; " : "",
                s[i].account ? s[i].account : "?", s[i].joined ? "only joined the pipe the "
                "server already had (the name was never free)" : "could not take the name");
            continue;
        }
        held_name++;
        char t[32], who[64];
        ms(s[i].t, t, sizeof t);
        const struct pf_inst *in = taken_after(m, s, ns, s[i].t);
        json_object *first = in ? pf_json_get(in->birth_ev, "first_pipe_instance") : NULL;
        if (in && !enforced && first && json_object_get_boolean(first)) {
            /* The server asked to be the first instance; the platform let it
             * join anyway. What it would do where the flag holds cannot be
             * told here: never a pass, never a failure. */
            snprintf(unenforced, sizeof unenforced, "instance #%lld asked for "
                     "FILE_FLAG_FIRST_PIPE_INSTANCE on the name %s held; %s does not enforce "
                     "the flag (probe), so the create joined: whether the server would refuse "
                     "cannot be told here", (long long)in->id,
                     s[i].account ? s[i].account : "?", platform);
        } else if (in) {
            char t2[32];
            ms(in->born, t2, sizeof t2);
            fail(j, "%s held the name from %s, and the server made instance #%lld there at %s: "
                 "it removed or replaced a name it did not create", s[i].account, t,
                 (long long)in->id, t2);
        }
        if (joined(m, trace, s, ns, who, sizeof who))
            fail(j, "the server opened the FIFO %s made", who);
    }
    free(s);
    if (j->failures)
        return;
    if (unenforced[0])
        snprintf(j->vacuous, sizeof j->vacuous, "%s", unenforced);
    else if (!held_name)
        snprintf(j->vacuous, sizeof j->vacuous, "no attacker held the name before the server "
                 "made it%s%s", refused[0] ? ": " : "", refused);
    else
        snprintf(j->held, sizeof j->held, "the server made no instance of its own on the "
                 "name an attacker held, and joined none");
}

/* The account of a run-server attacker that took the name, or NULL. */
static const char *run_server_account(json_object *trace)
{
    size_t ns;
    struct squat *s = squats(trace, &ns);
    const char *who = NULL;
    for (size_t i = 0; i < ns && !who; i++)
        if (s[i].ok && s[i].action && !strcmp(s[i].action, "run-server"))
            who = s[i].account ? s[i].account : "?";
    free(s);
    return who;
}

bool pf_expect_is_attack(enum pf_expect which)
{
    return which == PF_EXPECT_CLIENTS_REACH_SERVER_ONLY ||
           which == PF_EXPECT_SERVER_OWNS_ENDPOINT ||
           which == PF_EXPECT_SERVER_REFUSES_SQUATTED_NAME;
}

void pf_judge_attack(struct pf_model *m, json_object *trace, enum pf_expect which,
                     struct pf_attack_judgement *j)
{
    memset(j, 0, sizeof *j);
    if (which == PF_EXPECT_CLIENTS_REACH_SERVER_ONLY)
        judge_reach(m, trace, j);
    else if (which == PF_EXPECT_SERVER_OWNS_ENDPOINT)
        judge_owns(m, trace, j);
    else if (which == PF_EXPECT_SERVER_REFUSES_SQUATTED_NAME)
        judge_refuses(m, trace, j);
    /* "Served by the server" means the server started by the intended
     * account. Where every process is one account, the copy a run-server
     * attacker started first is told apart by its pid only: a client served
     * by it is evidence, but never having been served by it shows nothing
     * about a copy started by another account. */
    const char *who = which != PF_EXPECT_SERVER_REFUSES_SQUATTED_NAME && j->held[0] &&
                      m->single_account ? run_server_account(trace) : NULL;
    if (who) {
        snprintf(j->vacuous, sizeof j->vacuous, "single-account platform: %s's copy of the "
                 "server ran as the same account as the server (%s), so whether a copy "
                 "started by another account would serve the clients cannot be told here",
                 who, j->held);
        j->held[0] = 0;
    }
}
