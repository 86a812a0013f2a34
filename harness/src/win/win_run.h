/* win_run.h - what the files of the win32 backend share: one scenario's run
 * under Wine (backend.c drives it; agent_events.c turns the programs' lines
 * into trace events; agent_holds.c keeps the agent's holds; clients.c starts the
 * clients; probe.c measures the platform). Private to harness/src/win.
 */
#ifndef PF_WIN_RUN_H
#define PF_WIN_RUN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../holds.h"
#include "../plan.h"
#include "../run.h"
#include "channel.h"
#include "wine.h"

enum { ROLE_AGENT = 1, ROLE_CLIENT = 2, ROLE_ATTACKER = 3 };

#define STOP_GRACE_NS (3LL * 1000000000LL)
#define DRAIN_NS (1LL * 1000000000LL)
#define MAX_CLIENTS 256

struct client_proc {
    pid_t pid;
    bool exited;
    char label[48];
};


/* One attacker's squatter.exe (attack.c). */
struct win_squatter {
    pid_t pid;                    /* the Wine process */
    int in_fd;                    /* "go" for an in-gap squat; closing it ends it */
    int64_t win_pid;              /* its Windows pid, from its hello */
    int64_t started_ns;           /* when the host started it */
    bool started, told_go, reported, squatted, exited;
    int status;
};

struct win_run {
    struct pf_run *run;
    const struct pf_scenario *sc;
    struct pf_wine *wine;
    struct pf_win_channel ch;
    char dir[PATH_MAX / 2];       /* the cross-built programs */
    struct pf_plan plan;          /* endpoint (the pipe name), server argv, clients */
    char faults_path[PATH_MAX / 2];
    char env_channel[64], env_seed[64], env_faults[PATH_MAX + 16];
    char *server_argv[80];
    size_t server_argc;
    pid_t server_pid;
    int server_in;                /* closing it stops a fixture */
    int server_status;
    bool server_exited, stopped_by_us;
    int64_t server_start_ns;
    /* When the server started serving: its first accept on the endpoint
     * (the agent's instance_accepting), or it exited, or its ready time ran
     * out. after-start squats count from here (attack.c). */
    int64_t serving_ns;
    bool ready;                   /* the server created its first endpoint instance */
    char foreign[256];            /* the first pipe it created under another name */
    struct client_proc clients[MAX_CLIENTS];
    size_t nclients;
    bool clients_started;
    struct pf_holds *holds;       /* the agent's holds, waiting for a client event */
    /* Which instance each client process (Windows pid) last connected to,
     * from the agent's "connected" lines: names the instance of an attempt. */
    struct { int64_t client_pid; int id; } conn_of[MAX_CLIENTS];
    size_t nconn_of;
    /* Attackers (attack.c): one squatter per attacker; the server's and the
     * clients' Windows pids, from their hellos, name who served whom. */
    struct win_squatter *sq;
    int64_t server_win_pid;
    struct { int64_t pid; char account[64]; } client_pids[MAX_CLIENTS];
    size_t nclient_pids;
    bool attack_stragglers;       /* a squatter had to be killed */
    bool harness_error;           /* the run ended on the harness's own failure */
};

static inline void win_trace_event(struct win_run *wr, const char *ev, json_object *f)
{
    pf_trace_emit(&wr->run->trace, "harness", ev, f);
}

/* agent_events.c: one JSON line from a Win32 program (a pf_win_line_fn). */
void win_on_line(void *ctx, struct pf_win_conn *c, json_object *ev);

/* agent_holds.c: the holds the agent reported (its `fault` events held,
 * then released or timed-out, with its number for the hold), kept in
 * wr->holds; a client's attempt that ended at t_end with `outcome` (ok or a
 * Win32 error name) releases those its events match. */
void win_hold_started(struct win_run *wr, struct pf_win_conn *c, json_object *ev, int64_t t);
void win_hold_ended(struct win_run *wr, struct pf_win_conn *c, json_object *ev);
void win_holds_attempt(struct win_run *wr, const char *account, const char *outcome,
                       int64_t t_end);
/* Forgets the holds still registered and frees wr->holds. */
void win_holds_free(struct win_run *wr);

/* clients.c: starts the plan's client processes; the `account` events. */
void win_start_clients(struct win_run *wr);
void win_emit_accounts(struct win_run *wr);

/* backend.c: polls the channel once, handling its lines. */
void win_pump(struct win_run *wr, int timeout_ms);

/* attack.c: the scenario's attackers. init before anything; before_server
 * starts before-server squatters (awaiting each squat) and in-gap ones
 * (waiting); held: the hold of fault rule `rule` began (an in-gap squatter
 * goes); line: a squatter's line at trace time t; client_hello: a client's
 * Windows pid and account; served_by: who holds the instance a client
 * reached, from the pid it read; stop: every squatter ended, its exit
 * traced. */
void win_attack_init(struct win_run *wr);
enum pf_run_status win_attack_before_server(struct win_run *wr);
void win_attack_held(struct win_run *wr, long rule);
void win_attack_line(struct win_run *wr, struct pf_win_conn *c, const char *name,
                     json_object *ev, int64_t t);
void win_attack_client_hello(struct win_run *wr, json_object *ev);
const char *win_attack_served_by(const struct win_run *wr, int64_t peer, char *buf, size_t n);
void win_attack_stop(struct win_run *wr);
/* after-start squatters: tick starts those due (DELAY after serving_ns);
 * PF_RUN_HARNESS with run->error when one cannot start or never reports its
 * squat within server.ready_timeout. clients_may_start: false while an
 * after-start squat is still to come, so every client attempt meets the
 * name as the squat left it. */
enum pf_run_status win_attack_tick(struct win_run *wr, int64_t now);
bool win_attack_clients_may_start(struct win_run *wr);

/* probe.c: runs probe.exe and emits the `platform` event. */
enum pf_run_status win_probe(struct win_run *wr);

#endif
