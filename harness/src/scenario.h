/* scenario.h - a scenario file, parsed and validated.
 *
 * The struct mirrors docs/scenario-format.md one field at a time. Loading
 * either yields a complete, valid scenario or a `file:line:col: message`
 * error: no half-valid scenario ever reaches the runner.
 */
#ifndef PF_SCENARIO_H
#define PF_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pf_platform { PF_PLATFORM_LINUX, PF_PLATFORM_WIN32 };

enum pf_endpoint_kind { PF_EP_UNIX, PF_EP_FIFO, PF_EP_ABSTRACT, PF_EP_NPIPE };

enum pf_expect {
    PF_EXPECT_BIRTH_INTENDED,
    PF_EXPECT_INTENDED_BEFORE_ACCEPT,
    PF_EXPECT_ALLOWED_NEVER_DENIED,
    PF_EXPECT_OTHERS_NEVER_ADMITTED,
    PF_EXPECT_NO_DEFAULT_INSTANCE,
    PF_EXPECT_CLIENTS_REACH_SERVER_ONLY,   /* attackers (docs/attackers.md) */
    PF_EXPECT_SERVER_OWNS_ENDPOINT,
    PF_EXPECT_SERVER_REFUSES_SQUATTED_NAME,
    PF_EXPECT__COUNT
};

/* Named injection points, the operations users think in (docs/faults.md). */
enum pf_fault_op {
    PF_OP_CREATE, PF_OP_SECURE, PF_OP_LISTEN, PF_OP_ACCEPT, PF_OP_CLOSE,
    PF_OP_UNLINK, PF_OP_RENAME, PF_OP_CONNECT, PF_OP_OPEN, PF_OP__COUNT
};
enum pf_fault_phase { PF_PHASE_BEFORE, PF_PHASE_AFTER };
enum pf_fault_action { PF_ACT_DELAY, PF_ACT_HOLD, PF_ACT_FAIL };
/* Which of the server's processes / threads a rule applies to: the first
 * one (the process the harness started; a process's initial thread), any
 * other (a forked child; a thread it spawned), or any. */
enum pf_fault_who { PF_WHO_ANY, PF_WHO_MAIN, PF_WHO_OTHER };

/* Position of a node in its file, for error messages (1-based). */
struct pf_mark { int line, col; };

struct pf_fault {
    struct pf_mark mark;
    enum pf_fault_op op;
    enum pf_fault_phase phase;
    enum pf_fault_action action;
    int64_t delay_min_ns, delay_max_ns;  /* delay: equal when fixed */
    char *until_account;                 /* hold: release after this account ... */
    char *until_event;                   /* ... did this ("attempt") */
    int64_t timeout_ns;                  /* hold: release anyway after this */
    int err;                             /* fail: errno (linux) or Win32 error */
    char *err_name;                      /* fail: as written, e.g. "EACCES" */
    long when_first, when_step;          /* strace-style when=N+S; step 0: only N */
    bool when_onwards;                   /* "N+" form: every occurrence from N */
    double probability;
    char *target;                        /* "server" or a client account */
    bool required;                       /* never fired: the run is inconclusive */
    enum pf_fault_who process, thread;   /* server rules only */
};

struct pf_account {
    struct pf_mark mark;   /* the account's entry */
    char *name;
    char **groups;
    size_t ngroups;
    bool allowed;
};

/* What a client does once connected (docs/scenario-format.md, clients). */
enum pf_client_protocol {
    PF_PROTO_REPLY,     /* read until the server's first bytes or end of file */
    PF_PROTO_CONNECT,   /* close at once: only the connect is tested */
    PF_PROTO_SEND       /* write `send`, read until the reply starts with `expect` */
};

struct pf_client {
    struct pf_mark mark;   /* the client's entry */
    char *account;
    int count;
    int attempts;
    bool until_accepting;  /* `until: accepting`: only attempts made while an
                            * endpoint instance was accepting count */
    int64_t interval_ns;
    int64_t start_ns;
    enum pf_client_protocol protocol;
    char *send;            /* protocol send: bytes written after connecting */
    char *expect;          /* protocol send: the reply's prefix; NULL: any bytes */
    int64_t read_timeout_ns;   /* reply, send: how long to wait for the reply */
    char **command;        /* a command client: the user's program (argv); NULL:
                            * the harness's own client */
    size_t ncommand;
};

struct pf_intended {
    int mode;          /* -1: not given */
    char *owner;       /* "server" or an account; NULL: server */
    char *group;       /* a scenario group; NULL: not checked */
    char **acl;        /* extra ACL entries with scenario names */
    size_t nacl;
    char *sddl;        /* win32 */
};

struct pf_server {
    struct pf_mark mark;   /* the server mapping */
    char *fixture;     /* exactly one of fixture and command */
    char **command;
    size_t ncommand;
    char **args;
    size_t nargs;
    int umask;
    int64_t timeout_ns;
    int64_t ready_timeout_ns;
    /* Who the server runs as (linux): a scenario account or a system user /
     * group, by name as written; NULL: root, the user's primary group. */
    char *user;
    char *group;
    char **groups;     /* supplementary groups; NULL: the user's own */
    size_t ngroups;
    bool groups_given; /* `groups: []` drops every supplementary group */
    struct pf_mark user_mark, group_mark, groups_mark;
    /* Added to the sanitised environment (docs/scenario-format.md); values
     * take placeholders. */
    char **env_names;
    char **env_values;
    size_t nenv;
    struct pf_mark env_mark;
    char *cwd;         /* placeholders; NULL: the run directory */
    struct pf_mark cwd_mark;
};

/* A file written into the run directory before the server starts. */
struct pf_file {
    struct pf_mark mark, path_mark, owner_mark, group_mark;
    char *path;        /* relative to {rundir}, no "..", no empty component */
    char *content;     /* placeholders expanded at run time */
    int mode;          /* default 0644, at most 0777 */
    char *owner;       /* "server" (default), an account or a system user */
    char *group;       /* a scenario or system group; NULL: the owner's group */
};

struct pf_endpoint {
    struct pf_mark kind_mark, path_mark;
    enum pf_endpoint_kind kind;
    char *path;        /* unix/fifo: relative path; abstract/npipe: the name */
    int dir_mode;      /* unix/fifo: the endpoint directory's mode; -1: 0755 */
};

/* Another account that goes for the endpoint (docs/attackers.md). */
enum pf_attack_action { PF_ATTACK_SQUAT, PF_ATTACK_RUN_SERVER };
enum pf_attack_when { PF_ATTACK_BEFORE_SERVER, PF_ATTACK_IN_GAP, PF_ATTACK_AFTER_START };

struct pf_attacker {
    struct pf_mark mark;
    char *account;             /* a declared account */
    enum pf_attack_action action;
    enum pf_attack_when when;
    int64_t delay_ns;          /* after-start: DELAY */
    long gap_rule;             /* in-gap: index of the hold fault placing it, -1 */
};

struct pf_scenario {
    char *file;
    char *name;
    char *description;
    enum pf_platform platform;
    struct pf_server server;
    struct pf_endpoint endpoint;
    struct pf_intended intended;
    char **groups;
    size_t ngroups;
    struct pf_mark groups_mark;   /* the top-level `groups` list */
    struct pf_account *accounts;
    size_t naccounts;
    struct pf_client *clients;
    size_t nclients;
    bool expect[PF_EXPECT__COUNT];
    struct pf_fault *faults;
    size_t nfaults;
    struct pf_file *files;
    size_t nfiles;
    struct pf_attacker *attackers;
    size_t nattackers;
};

/* Error from loading: "file:line:col: message". */
struct pf_error {
    char msg[512];
};

/* Loads one scenario file. Returns NULL and fills err on any problem. */
struct pf_scenario *pf_scenario_load(const char *path, struct pf_error *err);
void pf_scenario_free(struct pf_scenario *sc);

/* Names used in files, results and messages. */
const char *pf_platform_name(enum pf_platform p);
const char *pf_endpoint_kind_name(enum pf_endpoint_kind k);
const char *pf_expect_name(enum pf_expect e);
const char *pf_expect_text(enum pf_expect e);
const char *pf_fault_op_name(enum pf_fault_op op);
const char *pf_fault_phase_name(enum pf_fault_phase p);
const char *pf_fault_action_name(enum pf_fault_action a);
const char *pf_client_protocol_name(enum pf_client_protocol p);
const char *pf_attack_action_name(enum pf_attack_action a);
const char *pf_attack_when_name(enum pf_attack_when w);
/* The hold event a squatter gives when it has made (or failed to make) its
 * endpoint: what an in-gap hold waits for. */
#define PF_SQUAT_EVENT "squatted"

/* For load-time checks outside the loader (backends' `check`): writes
 * "file:line:col: message" at a mark of sc and returns -1. */
int pf_scenario_error(struct pf_error *err, const struct pf_scenario *sc,
                      struct pf_mark at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

const struct pf_account *pf_scenario_account(const struct pf_scenario *sc,
                                             const char *name);

#endif
