/* plan.c - turning a scenario into the concrete plan for one run.
 *
 * One plan for every platform, so that endpoint names, placeholders, client
 * labels and seeds mean the same on Linux and under Wine; only the fixture
 * convention (Linux: --endpoint/--mode options; Win32: NAME.exe PIPE SDDL)
 * and the endpoint's namespace differ.
 */
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

void pf_real_name(const char *run_id, const char *name, char out[33])
{
    /* Built aside: callers pass run_id and out from the same struct. */
    char buf[33];
    snprintf(buf, sizeof buf, "pf%s_%s", run_id, name);
    memcpy(out, buf, sizeof buf);
}

static int is_declared(const struct pf_scenario *sc, const char *name, bool group)
{
    if (group) {
        for (size_t i = 0; i < sc->ngroups; i++)
            if (!strcmp(sc->groups[i], name))
                return 1;
        return 0;
    }
    return pf_scenario_account(sc, name) != NULL;
}

/* The one placeholder expander. With p and run NULL it only checks s
 * against the scenario (the loader's `check`) and returns an empty string;
 * with them it fills every placeholder in. "{{" is a literal '{'. */
static char *expand(const char *s, const struct pf_scenario *sc, const struct pf_plan *p,
                    const struct pf_run *run, char *err, size_t errlen)
{
    size_t cap = strlen(s) + PATH_MAX + 64, len = 0;
    char *out = pf_xmalloc(cap);
    for (const char *c = s; *c;) {
        if (*c != '{' || c[1] == '{') {
            out[len++] = *c;
            c += *c == '{' ? 2 : 1;
            continue;
        }
        const char *end = strchr(c, '}');
        if (!end) {
            snprintf(err, errlen, "unterminated '{' in \"%s\" (write {{ for a literal {)", s);
            free(out);
            return NULL;
        }
        int klen = (int)(end - c - 1);
        const char *key = c + 1;
        char val[PATH_MAX] = "";
        if (klen == 8 && !strncmp(key, "endpoint", 8)) {
            if (p)
                snprintf(val, sizeof val, "%s", p->endpoint);
        } else if (klen == 6 && !strncmp(key, "rundir", 6)) {
            if (run)
                snprintf(val, sizeof val, "%s", run->workdir);
        } else if ((klen > 5 && !strncmp(key, "user:", 5)) ||
                   (klen > 6 && !strncmp(key, "group:", 6))) {
            bool group = key[0] == 'g';
            int skip = group ? 6 : 5;
            char name[64];
            snprintf(name, sizeof name, "%.*s", klen - skip, key + skip);
            if (klen - skip >= (int)sizeof name || !is_declared(sc, name, group)) {
                snprintf(err, errlen, "{%.*s} in \"%s\": no %s named '%.*s' in this scenario",
                         klen, key, s, group ? "group" : "account", klen - skip, key + skip);
                free(out);
                return NULL;
            }
            if (run)
                pf_real_name(run->run_id, name, val);
        } else if (klen > 8 && !strncmp(key, "fixture:", 8)) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", klen - 8, key + 8);
            if (klen - 8 >= (int)sizeof name || strchr(name, '/') || name[0] == '.') {
                snprintf(err, errlen, "{%.*s} in \"%s\": '%.*s' is not a fixture name",
                         klen, key, s, klen - 8, key + 8);
                free(out);
                return NULL;
            }
            if (p)
                snprintf(val, sizeof val, "%s/%s%s", p->fixture_dir, name, p->exe_suffix);
        } else {
            snprintf(err, errlen, "unknown placeholder {%.*s} in \"%s\" "
                     "(known: {endpoint} {rundir} {user:NAME} {group:NAME} {fixture:NAME}; "
                     "{{ is a literal {)", klen, key, s);
            free(out);
            return NULL;
        }
        size_t vl = strlen(val);
        if (len + vl + strlen(end) + 1 > cap) {
            cap = len + vl + strlen(end) + PATH_MAX;
            out = pf_xreallocarray(out, cap, 1);
        }
        memcpy(out + len, val, vl);
        len += vl;
        c = end + 1;
    }
    out[len] = 0;
    return out;
}

char *pf_plan_expand(const char *s, const struct pf_plan *p,
                     const struct pf_run *run, char *err, size_t errlen)
{
    return expand(s, run->sc, p, run, err, errlen);
}

int pf_placeholders_check(const char *s, const struct pf_scenario *sc, char *err,
                          size_t errlen)
{
    char *out = expand(s, sc, NULL, NULL, err, errlen);
    free(out);
    return out ? 0 : -1;
}

char *pf_plan_acl_entries(const struct pf_run *run, char *err, size_t errlen)
{
    const struct pf_intended *in = &run->sc->intended;
    size_t cap = 64;
    for (size_t i = 0; i < in->nacl; i++)
        cap += strlen(in->acl[i]) + 48;
    char *out = pf_xcalloc(1, cap);
    for (size_t i = 0; i < in->nacl; i++) {
        /* tag:qualifier:perms, where a user/group qualifier is a scenario name */
        char *e = pf_xstrdup(in->acl[i]);
        char *q = strchr(e, ':');
        char *perm = q ? strchr(q + 1, ':') : NULL;
        if (!q || !perm) {
            snprintf(err, errlen, "ACL entry \"%s\" is not tag:name:perms", in->acl[i]);
            free(e);
            free(out);
            return NULL;
        }
        *q = 0;
        *perm = 0;
        const char *tag = e, *name = q + 1;
        bool group = !strcmp(tag, "g") || !strcmp(tag, "group");
        bool user = !strcmp(tag, "u") || !strcmp(tag, "user");
        if (i)
            strcat(out, ",");
        if ((user || group) && *name) {
            if (!is_declared(run->sc, name, group)) {
                snprintf(err, errlen, "ACL entry \"%s\": no %s named '%s' in this scenario",
                         in->acl[i], group ? "group" : "account", name);
                free(e);
                free(out);
                return NULL;
            }
            char real[33];
            pf_real_name(run->run_id, name, real);
            sprintf(out + strlen(out), "%s:%s:%s", group ? "group" : "user", real, perm + 1);
        } else {
            sprintf(out + strlen(out), "%s:%s:%s", tag, name, perm + 1);
        }
        free(e);
    }
    return out;
}

static int push(struct pf_plan *p, char *arg, char *err, size_t errlen)
{
    if (!arg)
        return -1;
    if (p->argc >= PF_MAX_ARGV) {
        free(arg);
        snprintf(err, errlen, "server command line longer than %d arguments", PF_MAX_ARGV);
        return -1;
    }
    p->argv[p->argc++] = arg;
    p->argv[p->argc] = NULL;
    return 0;
}

/* A command client's argv, every placeholder filled in. */
static int client_argv(struct pf_plan_client *pc, const struct pf_plan *p,
                       const struct pf_run *run, char *err, size_t errlen)
{
    const struct pf_client *c = pc->spec;
    pc->argv = pf_xcalloc(c->ncommand + 1, sizeof *pc->argv);
    for (size_t i = 0; i < c->ncommand; i++)
        if (!(pc->argv[i] = pf_plan_expand(c->command[i], p, run, err, errlen)))
            return -1;
    return 0;
}

/* Where this platform's built fixtures are: platform_dir under
 * run->fixture_dir, or platform_dir itself when it is absolute. */
static void fixture_path(const struct pf_run *run, const char *platform_dir, const char *name,
                         const char *suffix, char *out, size_t n)
{
    if (platform_dir[0] == '/')
        snprintf(out, n, "%s/%s%s", platform_dir, name, suffix);
    else
        snprintf(out, n, "%s/%s/%s%s", run->fixture_dir, platform_dir, name, suffix);
}

/* Linux fixtures: PROGRAM --endpoint PATH [--mode M] [--group G] [--acl A]. */
static int posix_fixture_args(struct pf_plan *p, const struct pf_run *run,
                              const char *platform_dir, char *err, size_t errlen)
{
    const struct pf_scenario *sc = run->sc;
    char path[PATH_MAX];
    fixture_path(run, platform_dir, sc->server.fixture, "", path, sizeof path);
    if (access(path, X_OK) != 0) {
        snprintf(err, errlen, "%s: server.fixture '%s': no such built fixture (%s)",
                 sc->file, sc->server.fixture, path);
        return -1;
    }
    if (push(p, pf_xstrdup(path), err, errlen) || push(p, pf_xstrdup("--endpoint"), err, errlen) ||
        push(p, pf_xstrdup(p->endpoint), err, errlen))
        return -1;
    if (sc->intended.mode >= 0) {
        char m[8];
        snprintf(m, sizeof m, "%04o", (unsigned)sc->intended.mode);
        if (push(p, pf_xstrdup("--mode"), err, errlen) || push(p, pf_xstrdup(m), err, errlen))
            return -1;
    }
    if (sc->intended.group) {
        char real[33];
        pf_real_name(run->run_id, sc->intended.group, real);
        if (push(p, pf_xstrdup("--group"), err, errlen) || push(p, pf_xstrdup(real), err, errlen))
            return -1;
    }
    if (sc->intended.nacl) {
        char *acl = pf_plan_acl_entries(run, err, errlen);
        if (!acl)
            return -1;
        if (push(p, pf_xstrdup("--acl"), err, errlen)) {
            free(acl);
            return -1;
        }
        if (push(p, acl, err, errlen))
            return -1;
    }
    return 0;
}

/* Win32 fixtures (fixtures/win32/fixture.h): NAME.exe \\.\pipe\NAME SDDL. The
 * program is a Unix path here; the backend gives Wine its Z: form. */
static int win32_fixture_args(struct pf_plan *p, const struct pf_run *run,
                              const char *platform_dir, char *err, size_t errlen)
{
    const struct pf_scenario *sc = run->sc;
    char path[PATH_MAX];
    fixture_path(run, platform_dir, sc->server.fixture, ".exe", path, sizeof path);
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "%s: server.fixture '%s': no such built Win32 fixture (%s)",
                 sc->file, sc->server.fixture, path);
        return -1;
    }
    if (push(p, pf_xstrdup(path), err, errlen) || push(p, pf_xstrdup(p->endpoint), err, errlen) ||
        push(p, pf_xstrdup(sc->intended.sddl ? sc->intended.sddl : "D:"), err, errlen))
        return -1;
    return 0;
}

int pf_plan_build(struct pf_plan *p, const struct pf_run *run,
                  const char *platform_dir, char *err, size_t errlen)
{
    const struct pf_scenario *sc = run->sc;
    memset(p, 0, sizeof *p);
    if (platform_dir[0] == '/')
        snprintf(p->fixture_dir, sizeof p->fixture_dir, "%s", platform_dir);
    else
        snprintf(p->fixture_dir, sizeof p->fixture_dir, "%s/%s", run->fixture_dir, platform_dir);
    p->exe_suffix = sc->platform == PF_PLATFORM_WIN32 ? ".exe" : "";
    switch (sc->endpoint.kind) {
    case PF_EP_UNIX:
    case PF_EP_FIFO:
        snprintf(p->endpoint_dir, sizeof p->endpoint_dir, "%s/ep", run->workdir);
        snprintf(p->endpoint, sizeof p->endpoint, "%s/%s", p->endpoint_dir, sc->endpoint.path);
        break;
    case PF_EP_ABSTRACT:
        /* Abstract names are machine-wide: make them unique to the run. */
        snprintf(p->endpoint, sizeof p->endpoint, "pipefault-%s-%s", run->run_id,
                 sc->endpoint.path);
        break;
    case PF_EP_NPIPE:
        snprintf(p->endpoint, sizeof p->endpoint, "\\\\.\\pipe\\pipefault-%s-%s",
                 run->run_id, sc->endpoint.path);
        break;
    }

    if (sc->server.fixture) {
        int rc = sc->platform == PF_PLATFORM_WIN32
                     ? win32_fixture_args(p, run, platform_dir, err, errlen)
                     : posix_fixture_args(p, run, platform_dir, err, errlen);
        if (rc < 0)
            goto fail;
    } else {
        for (size_t i = 0; i < sc->server.ncommand; i++)
            if (push(p, pf_plan_expand(sc->server.command[i], p, run, err, errlen), err, errlen))
                goto fail;
    }
    for (size_t i = 0; i < sc->server.nargs; i++)
        if (push(p, pf_plan_expand(sc->server.args[i], p, run, err, errlen), err, errlen))
            goto fail;

    for (size_t i = 0; i < sc->nclients; i++) {
        const struct pf_client *c = &sc->clients[i];
        /* Labels number an account's processes across all its entries. */
        int first = 1;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(sc->clients[j].account, c->account))
                first += sc->clients[j].count;
        for (int k = first; k < first + c->count; k++) {
            if (p->nclients >= PF_MAX_CLIENT_PROCS) {
                snprintf(err, errlen, "%s: more than %d client processes", sc->file,
                         PF_MAX_CLIENT_PROCS);
                goto fail;
            }
            struct pf_plan_client *pc = &p->clients[p->nclients++];
            pc->spec = c;
            pc->account = pf_scenario_account(sc, c->account);
            pc->index = k;
            snprintf(pc->label, sizeof pc->label, "%s#%d", c->account, k);
            /* Each client process draws from its own stream of the run seed. */
            pc->seed = run->seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)p->nclients);
            if (c->command && client_argv(pc, p, run, err, errlen) < 0)
                goto fail;
        }
    }
    return 0;
fail:
    pf_plan_free(p);
    return -1;
}

void pf_plan_free(struct pf_plan *p)
{
    for (size_t i = 0; i < p->nclients; i++) {
        for (char **a = p->clients[i].argv; a && *a; a++)
            free(*a);
        free(p->clients[i].argv);
        p->clients[i].argv = NULL;
    }
    for (size_t i = 0; i < p->argc; i++)
        free(p->argv[i]);
    p->argc = 0;
    p->argv[0] = NULL;
}
