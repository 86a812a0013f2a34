/* attack.c - a Linux run's attackers (see attack.h).
 *
 * Kept out of backend.c so the backend only calls in at its fixed points;
 * every decision about attackers - when each one goes, what its reports
 * mean, who served a client - is here.
 */
#include "attack.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../served_by.h"
#include "../util.h"

#define WAIT_STEP_MS 5

void pf_attack_init(struct pf_attack *at, const struct pf_scenario *sc,
                    const struct pf_accounts *accounts, struct pf_trace *trace,
                    const char *endpoint, pf_attack_event_fn event, void *ctx)
{
    memset(at, 0, sizeof *at);
    at->sc = sc;
    at->accounts = accounts;
    at->trace = trace;
    at->endpoint = endpoint;
    at->event = event;
    at->ctx = ctx;
    size_t n = sc->nattackers ? sc->nattackers : 1;
    at->sq = pf_xcalloc(n, sizeof *at->sq);
    at->started = pf_xcalloc(n, sizeof *at->started);
    for (size_t i = 0; i < sc->nattackers; i++)
        at->sq[i].report_fd = at->sq[i].control_fd = at->sq[i].pidfd = -1;
}

bool pf_attack_any(const struct pf_attack *at)
{
    return at->sc && at->sc->nattackers > 0;
}

bool pf_attack_squatting(const struct pf_attack *at)
{
    for (size_t i = 0; at->sc && i < at->sc->nattackers; i++)
        if (at->started && at->started[i] && at->sq[i].told_go && !at->sq[i].reported &&
            !at->sq[i].exited && !at->sq[i].eof)
            return true;
    return false;
}

static json_object *base_fields(const struct pf_squatter *sq)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "account", json_object_new_string(sq->spec->account));
    json_object_object_add(o, "action",
                           json_object_new_string(pf_attack_action_name(sq->spec->action)));
    json_object_object_add(o, "when", json_object_new_string(pf_attack_when_name(sq->spec->when)));
    json_object_object_add(o, "pid", json_object_new_int(sq->pid));
    return o;
}

/* The scenario account with this uid, or NULL. */
static const char *account_of_uid(const struct pf_attack *at, uid_t uid)
{
    for (size_t i = 0; i < at->sc->naccounts; i++) {
        const struct pf_user *u = pf_accounts_user(at->accounts, at->sc->accounts[i].name);
        if (u && u->uid == uid)
            return at->sc->accounts[i].name;
    }
    return NULL;
}

static void on_line(struct pf_attack *at, struct pf_squatter *sq, const char *line)
{
    json_object *in = json_tokener_parse(line);
    const char *ev = in ? pf_json_str(in, "ev") : NULL;
    if (!ev) {
        json_object_put(in);
        return;
    }
    json_object *o = base_fields(sq);
    if (!strcmp(ev, "squat")) {
        const char *outcome = pf_json_str(in, "outcome");
        const char *key = pf_json_str(in, "key");
        int64_t t = pf_json_int(in, "t", pf_clock_ns());
        sq->squatted = outcome && !strcmp(outcome, "ok");
        sq->reported = true;
        snprintf(sq->key, sizeof sq->key, "%s", key ? key : "");
        json_object_object_add(o, "outcome", json_object_new_string(outcome ? outcome : "?"));
        json_object_object_add(o, "errno", json_object_new_int((int)pf_json_int(in, "errno", 0)));
        json_object_object_add(o, "key", key ? json_object_new_string(key) : NULL);
        pf_trace_emit_at(at->trace, t - at->trace->start_ns, "attacker", "squat", o);
        /* Made or refused, the squat is over: an in-gap hold ends here. */
        at->event(at->ctx, sq->spec->account, PF_SQUAT_EVENT, t);
    } else if (!strcmp(ev, "squatter_connection")) {
        int64_t uid = pf_json_int(in, "peer_uid", -1);
        const char *acc = uid >= 0 ? account_of_uid(at, (uid_t)uid) : NULL;
        json_object_object_add(o, "peer_pid",
                               json_object_new_int64(pf_json_int(in, "peer_pid", 0)));
        json_object_object_add(o, "peer_uid", json_object_new_int64(uid));
        json_object_object_add(o, "peer_account", acc ? json_object_new_string(acc) : NULL);
        json_object_object_add(o, "bytes_received",
                               json_object_new_int64(pf_json_int(in, "bytes_received", 0)));
        /* The peer's process group, while it lives: a command client's
         * program may have connected from a child it started. */
        pid_t peer = (pid_t)pf_json_int(in, "peer_pid", 0);
        pid_t pg = peer > 0 ? getpgid(peer) : -1;
        json_object_object_add(o, "peer_pgid", pg > 0 ? json_object_new_int64(pg) : NULL);
        pf_trace_emit(at->trace, "attacker", "squatter_connection", o);
    } else if (!strcmp(ev, "squatter_read")) {
        json_object_object_add(o, "bytes", json_object_new_int64(pf_json_int(in, "bytes", 0)));
        pf_trace_emit(at->trace, "attacker", "squatter_read", o);
    } else {
        json_object_object_add(o, "message", json_object_get(pf_json_get(in, "message")));
        pf_trace_emit(at->trace, "attacker", "squatter_error", o);
    }
    json_object_put(in);
}

static void read_reports(struct pf_attack *at, struct pf_squatter *sq)
{
    while (!sq->eof && sq->report_fd >= 0) {
        ssize_t n = read(sq->report_fd, sq->buf + sq->buflen, sizeof sq->buf - 1 - sq->buflen);
        if (n == 0)
            sq->eof = true;
        if (n <= 0)
            return;
        sq->buflen += (size_t)n;
        sq->buf[sq->buflen] = 0;
        char *start = sq->buf, *nl;
        while ((nl = strchr(start, '\n'))) {
            *nl = 0;
            on_line(at, sq, start);
            start = nl + 1;
        }
        sq->buflen = strlen(start);
        memmove(sq->buf, start, sq->buflen + 1);
        if (sq->buflen == sizeof sq->buf - 1)
            sq->buflen = 0;   /* a line this long is not a report */
    }
}

static int start_squatter(struct pf_attack *at, size_t i, bool wait_go, char *err, size_t n)
{
    const struct pf_attacker *a = &at->sc->attackers[i];
    const struct pf_user *u = pf_accounts_user(at->accounts, a->account);
    if (!u) {
        snprintf(err, n, "attacker account %s was not created", a->account);
        return -1;
    }
    if (pf_squatter_spawn(&at->sq[i], a, u, at->sc->endpoint.kind, at->endpoint, wait_go, err,
                          n) < 0)
        return -1;
    at->started[i] = true;
    pf_trace_emit(at->trace, "attacker", "attacker_start", base_fields(&at->sq[i]));
    return 0;
}

/* Waits (reading its reports) until squatter i has said how its squat went,
 * or it exited, or the deadline passed. */
static void await_squat(struct pf_attack *at, struct pf_squatter *sq, int64_t deadline)
{
    while (!sq->reported && !sq->eof) {
        int64_t left = (deadline - pf_clock_ns()) / 1000000;
        if (left <= 0)
            return;
        struct pollfd p = {.fd = sq->report_fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) > 0)
            read_reports(at, sq);
    }
}

/* Is there a node at the endpoint path, or (abstract) a socket bound to the
 * name? Returns its key in key ("" for abstract). */
static bool endpoint_exists(const struct pf_attack *at, char *key, size_t n)
{
    key[0] = 0;
    if (at->sc->endpoint.kind != PF_EP_ABSTRACT) {
        struct stat st;
        if (lstat(at->endpoint, &st) < 0)
            return false;
        snprintf(key, n, "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
        return true;
    }
    FILE *fp = fopen("/proc/net/unix", "re");
    if (!fp)
        return false;
    char line[512];
    bool found = false;
    size_t len = strlen(at->endpoint);
    while (!found && fgets(line, sizeof line, fp)) {
        char *at_sign = strchr(line, '@');
        if (at_sign && !strncmp(at_sign + 1, at->endpoint, len) &&
            (at_sign[1 + len] == '\n' || at_sign[1 + len] == 0))
            found = true;
    }
    fclose(fp);
    return found;
}

/* run-server: the scenario's server as the attacker, awaited until its
 * endpoint exists (checked every few ms: the server is not supervised, so
 * nothing else says when) or it exited. */
static int start_run_server(struct pf_attack *at, size_t i, char *const argv[], const char *cwd,
                            const char *outdir, char *err, size_t n)
{
    const struct pf_attacker *a = &at->sc->attackers[i];
    struct pf_squatter *sq = &at->sq[i];
    const struct pf_user *u = pf_accounts_user(at->accounts, a->account);
    char outp[1100], errp[1100];
    snprintf(outp, sizeof outp, "%s/attacker-%s.stdout", outdir, a->account);
    snprintf(errp, sizeof errp, "%s/attacker-%s.stderr", outdir, a->account);
    if (!u) {
        snprintf(err, n, "attacker account %s was not created", a->account);
        return -1;
    }
    if (pf_squatter_exec(sq, a, u, argv, cwd, (mode_t)at->sc->server.umask, outp, errp, err,
                         n) < 0)
        return -1;
    at->started[i] = true;
    pf_trace_emit(at->trace, "attacker", "attacker_start", base_fields(sq));
    int64_t deadline = pf_clock_ns() + at->sc->server.ready_timeout_ns;
    char key[64] = "";
    bool made = false;
    while (pf_clock_ns() < deadline && !(made = endpoint_exists(at, key, sizeof key))) {
        int st;
        if (waitpid(sq->pid, &st, WNOHANG) == sq->pid) {
            sq->exited = true;
            sq->status = st;
            break;
        }
        poll(NULL, 0, WAIT_STEP_MS);
    }
    json_object *o = base_fields(sq);
    json_object_object_add(o, "outcome", json_object_new_string(made ? "ok" : sq->exited ?
                                                                "exited" : "timeout"));
    json_object_object_add(o, "errno", json_object_new_int(0));
    json_object_object_add(o, "key", key[0] ? json_object_new_string(key) : NULL);
    snprintf(sq->key, sizeof sq->key, "%s", key);
    sq->squatted = made;
    pf_trace_emit(at->trace, "attacker", "squat", o);
    return 0;
}

int pf_attack_before_server(struct pf_attack *at, char *const argv[], const char *cwd,
                            const char *outdir, char *err, size_t errlen)
{
    const struct pf_scenario *sc = at->sc;
    int64_t deadline = pf_clock_ns() + sc->server.ready_timeout_ns;
    for (size_t i = 0; i < sc->nattackers; i++) {
        const struct pf_attacker *a = &sc->attackers[i];
        if (a->action == PF_ATTACK_RUN_SERVER) {
            if (start_run_server(at, i, argv, cwd, outdir, err, errlen) < 0)
                return -1;
        } else if (a->when == PF_ATTACK_BEFORE_SERVER) {
            if (start_squatter(at, i, false, err, errlen) < 0)
                return -1;
            await_squat(at, &at->sq[i], deadline);
        } else if (a->when == PF_ATTACK_IN_GAP) {
            if (start_squatter(at, i, true, err, errlen) < 0)
                return -1;
        }
    }
    return 0;
}

void pf_attack_held(void *attack, size_t rule)
{
    struct pf_attack *at = attack;
    for (size_t i = 0; i < at->sc->nattackers; i++)
        if (at->sc->attackers[i].gap_rule == (long)rule && at->started[i])
            pf_squatter_go(&at->sq[i]);
}

int64_t pf_attack_tick(struct pf_attack *at, int64_t serving_ns, int64_t now, char *err,
                       size_t errlen)
{
    int64_t next = -1;
    for (size_t i = 0; i < at->sc->nattackers; i++) {
        const struct pf_attacker *a = &at->sc->attackers[i];
        if (a->when != PF_ATTACK_AFTER_START || at->started[i] || !serving_ns)
            continue;
        int64_t due = pf_ns_add_sat(serving_ns, a->delay_ns);
        if (now >= due) {
            if (start_squatter(at, i, false, err, errlen) < 0)
                return -2;
        } else if (next < 0 || due < next) {
            next = due;
        }
    }
    return next;
}

int pf_attack_pollfds(struct pf_attack *at, struct pollfd *pfd, int max)
{
    int n = 0;
    for (size_t i = 0; i < at->sc->nattackers && n < max; i++) {
        struct pf_squatter *sq = &at->sq[i];
        pfd[n++] = (struct pollfd){.fd = sq->eof ? -1 : sq->report_fd, .events = POLLIN};
    }
    return n;
}

void pf_attack_handle(struct pf_attack *at, const struct pollfd *pfd, int n)
{
    for (int i = 0; i < n && (size_t)i < at->sc->nattackers; i++)
        if (pfd[i].revents)
            read_reports(at, &at->sq[i]);
}

/* Is `peer` the process `leader` or in the process group it leads? */
static bool in_group_of(long peer, long leader)
{
    if (peer == leader)
        return true;
    pid_t g = getpgid((pid_t)peer);
    return g > 0 && g == leader;
}

const char *pf_attack_served_by(const struct pf_attack *at, pid_t server, pid_t peer,
                                char *buf, size_t n)
{
    struct pf_party parties[PF_MAX_ACCOUNTS + 1];
    size_t np = 0;
    for (size_t i = 0; at->sc && at->started && i < at->sc->nattackers && np < PF_MAX_ACCOUNTS;
         i++)
        if (at->started[i])
            parties[np++] = (struct pf_party){at->sq[i].pid, at->sc->attackers[i].account};
    parties[np++] = (struct pf_party){server, NULL};
    return pf_served_by(peer, parties, np, in_group_of, buf, n);
}

void pf_attack_stop(struct pf_attack *at)
{
    if (!at->sq)
        return;
    for (size_t i = 0; i < at->sc->nattackers; i++) {
        struct pf_squatter *sq = &at->sq[i];
        if (!at->started[i])
            continue;
        read_reports(at, sq);
        bool was_running = !sq->exited;
        pf_squatter_stop(sq);
        json_object *o = base_fields(sq);
        pf_json_add_wait_status(o, sq->status);
        json_object_object_add(o, "stopped_by_harness", json_object_new_boolean(was_running));
        pf_trace_emit(at->trace, "attacker", "attacker_exit", o);
        at->started[i] = false;
    }
    free(at->sq);
    free(at->started);
    at->sq = NULL;
    at->started = NULL;
}
