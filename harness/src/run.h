/* run.h - what a platform backend gets to run one scenario.
 *
 * The core (run.c) prepares the scenario's private directories and trace,
 * then hands a pf_run to the backend for the scenario's platform. The backend
 * drives server, clients and observers and records what happens in the trace;
 * it decides nothing about pass or fail, which is the checker's job.
 */
#ifndef PF_RUN_H
#define PF_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "events.h"
#include "scenario.h"

/* What every scenario of one `pipefault run` shares. */
struct pf_run_env {
    char run_id[8];           /* six hex digits, also the account prefix */
    const char *outdir;       /* the run's store directory, as shown in messages */
    int store_fd;             /* that directory, opened without following links */
    uint64_t seed;
    const char *fixture_dir;  /* where built fixtures live (helper_dirs.h) */
    const char *win32_dir;    /* where the Win32 programs live (helper_dirs.h) */
};

struct pf_run {
    const struct pf_scenario *sc;
    struct pf_trace trace;
    uint64_t seed;            /* the run's seed, mixed with the scenario name */
    char run_id[8];           /* six hex digits, also the account prefix */
    char workdir[256];        /* private, world-traversable dir for this scenario, removed after */
    char outdir[1024];        /* <out>/<scenario>/ : trace.jsonl, server.stderr */
    int outdir_fd;            /* that directory: create its files with pf_store_create */
    const char *fixture_dir;  /* where built fixtures live (helper_dirs.h) */
    const char *win32_dir;    /* where the Win32 programs live (helper_dirs.h) */
    int64_t deadline_ns;      /* absolute CLOCK_MONOTONIC */
    int64_t platform_startup_ns; /* set by the backend: platform start-up (a Wine prefix)
                                  * done inside this scenario, not counted in its duration */
    /* Filled in by the backend for results: */
    char skip_reason[256];    /* non-empty: the scenario was skipped */
    char error[512];          /* non-empty: the run broke (verdict error) */
    char server_stderr[4096]; /* tail of <outdir>/server.stderr, read by the core */
    json_object *server;      /* {"pid","argv","exit_status","signal"} or NULL */
};

/* Set by the SIGINT/SIGTERM handler; backends poll it and wind down. */
extern volatile sig_atomic_t pf_interrupted;

/* How a backend's run of one scenario ended. */
enum pf_run_status {
    PF_RUN_OK = 0,        /* the trace holds the history; the checker judges it */
    PF_RUN_BROKE,         /* run->error says why; verdict `error` */
    PF_RUN_HARNESS,       /* the harness or machine cannot run scenarios (exit 3) */
};

/* A platform, as the core sees it: the lifecycle is the same for every
 * platform (Jepsen's setup/teardown, libuv's shared-then-platform split);
 * only the backend knows accounts, Wine prefixes, seccomp or named pipes.
 * Every member may be NULL when the platform has nothing to do there. */
struct pf_backend {
    const char *name;
    enum pf_platform platform;
    /* Load time (`check` and `run`): platform limits the scenario breaks.
     * 0, or -1 with err filled as "file:line:col: message". */
    int (*check)(const struct pf_scenario *sc, struct pf_error *err);
    /* NULL when scenarios can run here, else why not (verdict `skipped`). */
    const char *(*unavailable)(const struct pf_run_env *env);
    /* Removes what runs killed with SIGKILL left behind; returns how many
     * runs' leftovers were removed. Called before every run and by `clean`. */
    int (*sweep)(void);
    /* `pipefault clean --cache`: removes what the platform keeps between
     * runs (the initialised Wine prefix). 0, or -1 having said why. */
    int (*clean_cache)(void);
    /* Before the first scenario of this platform in a run, and after the
     * last. begin_run: 0, or -1 with err set (exit 3, nothing is run). */
    int (*begin_run)(const struct pf_run_env *env, char *err, size_t errlen);
    void (*end_run)(const struct pf_run_env *env);
    /* Runs one scenario, writing what happens to run->trace. */
    enum pf_run_status (*run)(struct pf_run *run);
};

/* rm -rf, staying on one file system and never following links; what it
 * cannot remove it names on stderr. */
void pf_remove_tree(const char *path);
/* The same for the entry `name` of the directory parentfd, which must be a
 * directory owned by the harness's uid and not writable by group or others
 * (else it is left alone); `shown` names it in messages. 0 or -1. */
int pf_remove_tree_at(int parentfd, const char *name, const char *shown);

/* The run's store (store.c). Every output file is created relative to a
 * directory fd, never through a link and never into an existing file: a new
 * file under a random temporary name (O_CREAT | O_EXCL | O_NOFOLLOW), then
 * renamed over its name, so whatever was planted there is replaced as an
 * entry, never followed or truncated. Names are single path components.
 * Each returns an fd (or 0) on success, -1 with errno. */
/* The directory `name` of dirfd, not followed if a link, which must be owned
 * by the harness's uid and not writable by group or others (else EPERM). */
int pf_dir_open_private(int dirfd, const char *name);
/* Creates (0755), or accepts as above, the directory `name` of dirfd. */
int pf_store_mkdir(int dirfd, const char *name);
/* A new file ".name.<random>" (0644 less the umask); its name goes to tmp. */
int pf_store_tmp(int dirfd, const char *name, char *tmp, size_t tmplen);
/* Renames tmp over name (removing tmp on failure). */
int pf_store_commit(int dirfd, const char *tmp, const char *name);
/* A new, empty file `name`, open for writing (tmp + commit at once): for
 * files written as the run goes (trace.jsonl, server.stderr). */
int pf_store_create(int dirfd, const char *name);
/* Opens relpath for reading, beneath dirfd, with no symlink on the way. */
int pf_store_open_read(int dirfd, const char *relpath);
/* The same with other open flags (e.g. O_DIRECTORY); O_NOFOLLOW and
 * O_CLOEXEC are always added. */
int pf_store_open_beneath(int dirfd, const char *relpath, int flags);
/* Makes `name` a symlink to target, replacing whatever entry it was. */
int pf_store_link(int dirfd, const char *target, const char *name);

/* Every backend, NULL-terminated (backends.c: the one core file that
 * names the platforms), and the one for a platform. */
extern const struct pf_backend *const pf_backends[];
const struct pf_backend *pf_backend_for(enum pf_platform p);

#endif
