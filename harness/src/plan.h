/* plan.h - a scenario made concrete for one run.
 *
 * The scenario speaks of short names and relative paths; the plan holds what
 * the backend executes: the endpoint's absolute path, the server's argv with
 * every {placeholder} filled in, and one entry per client process with its
 * own seed. Building it touches nothing on the machine.
 */
#ifndef PF_PLAN_H
#define PF_PLAN_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include "run.h"

#define PF_MAX_CLIENT_PROCS 256
#define PF_MAX_ARGV 128

struct pf_plan_client {
    const struct pf_client *spec;
    const struct pf_account *account;
    int index;                 /* 1-based within its account */
    char label[48];            /* "alice#1" */
    uint64_t seed;
    char **argv;               /* a command client's argv, placeholders filled
                                * in, NULL-terminated; NULL: the harness's own */
};

struct pf_plan {
    char endpoint[PATH_MAX];      /* absolute path, abstract name, or pipe name */
    char endpoint_dir[PATH_MAX];  /* directory the endpoint lives in ("" for abstract) */
    char *argv[PF_MAX_ARGV + 1];  /* server command line, NULL-terminated */
    size_t argc;
    struct pf_plan_client clients[PF_MAX_CLIENT_PROCS];
    size_t nclients;
    char fixture_dir[PATH_MAX];   /* where {fixture:NAME} looks */
    const char *exe_suffix;       /* "" or ".exe" */
};

/* The real name of a scenario's account or group: "pf<run>_<name>", unique
 * to the run and traceable to it. */
void pf_real_name(const char *run_id, const char *name, char out[33]);

/* Builds the plan for the scenario's platform. Fixture binaries are looked
 * up as <platform_dir>/<name> (".exe" added on win32), where a relative
 * platform_dir ("posix") is under run->fixture_dir and an absolute one is
 * used as it is. The endpoint is <workdir>/ep/<path> for unix sockets and
 * FIFOs, "pipefault-<run>-<path>" for abstract sockets and
 * \\.\pipe\pipefault-<run>-<path> for named pipes: names that no other run
 * and no other program on the machine uses. Returns 0, or -1 with err set. */
int pf_plan_build(struct pf_plan *p, const struct pf_run *run,
                  const char *platform_dir, char *err, size_t errlen);
void pf_plan_free(struct pf_plan *p);

/* Replaces {endpoint}, {rundir}, {user:NAME}, {group:NAME} and
 * {fixture:NAME} (a built fixture program's path) in s ("{{"
 * is a literal '{'). Returns a new string, or NULL with err set for an
 * unknown placeholder, an undeclared NAME or a '{' without its '}'. */
char *pf_plan_expand(const char *s, const struct pf_plan *p,
                     const struct pf_run *run, char *err, size_t errlen);
/* The same rules, checked against a scenario alone (the loader): 0, or -1
 * with err set to the message pf_plan_expand would give. */
int pf_placeholders_check(const char *s, const struct pf_scenario *sc, char *err,
                          size_t errlen);

/* Rewrites scenario names in ACL entries ("user:alice:rw-") to real names. */
char *pf_plan_acl_entries(const struct pf_run *run, char *err, size_t errlen);

#endif
