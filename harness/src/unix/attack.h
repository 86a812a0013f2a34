/* attack.h - a Linux run's attackers, as one unit the backend drives.
 *
 * The backend calls in at fixed points: before the server starts
 * (before-server squats and run-server made and awaited; in-gap squatters
 * forked, waiting), when a hold begins (an in-gap squatter told to go), on
 * every loop turn (after-start squats due, reports read), for every client
 * attempt (who served it), and at the end (every attacker process and all
 * it started killed and waited for). Everything an attacker does becomes a
 * trace event with src "attacker" (docs/trace.md).
 */
#ifndef PF_ATTACK_H
#define PF_ATTACK_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include "../events.h"
#include "accounts.h"
#include "squatter.h"

/* Tells the backend that `account` did `event` at absolute time t (holds). */
typedef void (*pf_attack_event_fn)(void *ctx, const char *account, const char *event,
                                   int64_t t);

struct pf_attack {
    const struct pf_scenario *sc;
    const struct pf_accounts *accounts;
    struct pf_trace *trace;
    const char *endpoint;
    pf_attack_event_fn event;
    void *ctx;
    struct pf_squatter *sq;    /* one per attacker, in scenario order */
    bool *started;
};

void pf_attack_init(struct pf_attack *at, const struct pf_scenario *sc,
                    const struct pf_accounts *accounts, struct pf_trace *trace,
                    const char *endpoint, pf_attack_event_fn event, void *ctx);

/* Before the server: makes the before-server squats and the run-server's
 * endpoint (waits for each, up to server.ready_timeout), forks in-gap
 * squatters that wait. `argv`, `cwd`, `outdir`: the server's command line,
 * for run-server. Returns 0, or -1 with err (the run cannot go on). */
int pf_attack_before_server(struct pf_attack *at, char *const argv[], const char *cwd,
                            const char *outdir, char *err, size_t errlen);

/* A hold of fault rule `rule` began: starts the in-gap squat it places. */
void pf_attack_held(void *attack, size_t rule);

/* Due after-start squats, counted from `serving_ns`: when the server's
 * endpoint first accepted (or the server's ready time ran out; 0: not yet).
 * Returns the next absolute time something is due, or -1. */
int64_t pf_attack_tick(struct pf_attack *at, int64_t serving_ns, int64_t now,
                       char *err, size_t errlen);

/* poll() entries for the attackers' report pipes; then handle them. */
int pf_attack_pollfds(struct pf_attack *at, struct pollfd *pfd, int max);
void pf_attack_handle(struct pf_attack *at, const struct pollfd *pfd, int n);

/* Who listened on the socket a client reached: "server", "attacker:NAME" or
 * "unknown", from the pid SO_PEERCRED gave (0: none). The one place where a
 * pid becomes a party: the server is its process group (led by its pid). */
const char *pf_attack_served_by(const struct pf_attack *at, pid_t server, pid_t peer,
                                char *buf, size_t n);

/* Whether any attacker is configured (the server may lose the name). */
bool pf_attack_any(const struct pf_attack *at);
/* Whether a squatter was told to go and has not yet said how its squat
 * went: a client that connects once waits for the outcome. */
bool pf_attack_squatting(const struct pf_attack *at);

/* Reads what is left, kills and waits for every attacker and all it
 * started, traces each exit. Safe to call twice. */
void pf_attack_stop(struct pf_attack *at);

#endif
