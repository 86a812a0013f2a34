/* limits.c - the Linux backend's run-time limits, checked at load time.
 *
 * Every table the run fills has a size (accounts.h, plan.h) and the kernel
 * has its own (sun_path). A scenario beyond one of them would create
 * accounts and then stop with exit 1 or 3; `check` says so first, at the
 * place in the file that breaks the limit.
 */
#include "limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "../plan.h"
#include "accounts.h"

/* The longest endpoint directory a run uses: <workdir>/ep/ with workdir
 * /tmp/pipefault-<run id>-<mkdtemp suffix> (run.c, plan.c). */
#define LONGEST_ENDPOINT_DIR "/tmp/pipefault-XXXXXX-XXXXXX/ep/"
/* Abstract names are made unique to the run: pipefault-<run id>-<name>. */
#define ABSTRACT_PREFIX "pipefault-XXXXXX-"

static int count_args(const struct pf_scenario *sc)
{
    /* A fixture gets: program --endpoint E [--mode M] [--group G] [--acl A]. */
    size_t n = sc->server.ncommand;
    if (sc->server.fixture)
        n = 3u + (sc->intended.mode >= 0 ? 2u : 0u) + (sc->intended.group ? 2u : 0u) +
            (sc->intended.nacl ? 2u : 0u);
    return (int)(n + sc->server.nargs);
}

/* ---- accounts against the intended permissions ----------------------- */

/* The intended permissions as the kernel would hold them: the mode's
 * owner/group/other bits, overridden by user::, group::, other:: entries,
 * plus named entries and the mask (given, else the union of the group
 * class, as setfacl computes it). */
struct model {
    int user_obj, group_obj, other, mask;
    bool extended;
};

static int perm_bits(const char *p)
{
    return (p[0] == 'r' ? 4 : 0) | (p[1] == 'w' ? 2 : 0) | (p[2] == 'x' ? 1 : 0);
}

/* For "TYPE:NAME:PERMS": the type's length, the name and the perms. */
static void split_entry(const char *e, size_t *tlen, const char **name, size_t *nlen,
                        const char **perms)
{
    const char *c1 = strchr(e, ':'), *c2 = strchr(c1 + 1, ':');
    *tlen = (size_t)(c1 - e);
    *name = c1 + 1;
    *nlen = (size_t)(c2 - c1 - 1);
    *perms = c2 + 1;
}

static struct model build_model(const struct pf_intended *in)
{
    struct model m = {(in->mode >> 6) & 7, (in->mode >> 3) & 7, in->mode & 7, -1, false};
    int group_class = 0;
    for (size_t i = 0; i < in->nacl; i++) {
        size_t tlen, nlen;
        const char *name, *perms;
        split_entry(in->acl[i], &tlen, &name, &nlen, &perms);
        int bits = perm_bits(perms);
        bool user = tlen == 4 && !strncmp(in->acl[i], "user", 4);
        bool mask = tlen == 4 && !strncmp(in->acl[i], "mask", 4);
        bool group = tlen == 5 && !strncmp(in->acl[i], "group", 5);
        if (mask) {
            m.mask = bits;
            m.extended = true;
        } else if (nlen > 0) {
            group_class |= bits;
            m.extended = true;
        } else if (user) {
            m.user_obj = bits;
        } else if (group) {
            m.group_obj = bits;
        } else {
            m.other = bits;
        }
    }
    if (m.mask < 0)
        m.mask = m.extended ? group_class | m.group_obj : 7;
    return m;
}

static bool in_group(const struct pf_account *a, const char *g, size_t glen)
{
    for (size_t i = 0; i < a->ngroups; i++)
        if (strlen(a->groups[i]) == glen && !strncmp(a->groups[i], g, glen))
            return true;
    return false;
}

/* Linux's POSIX ACL check (owner, named user, groups, other) for `want`
 * bits, with the account in the file's group or not. */
static bool grants(const struct pf_intended *in, const char *owner, const struct model *m,
                   const struct pf_account *a, bool in_file_group, int want)
{
    if (owner && !strcmp(owner, a->name))
        return (m->user_obj & want) == want;
    int mask = m->extended ? m->mask : 7;
    for (size_t i = 0; i < in->nacl; i++) {
        size_t tlen, nlen;
        const char *name, *perms;
        split_entry(in->acl[i], &tlen, &name, &nlen, &perms);
        if (tlen == 4 && !strncmp(in->acl[i], "user", 4) && nlen == strlen(a->name) &&
            !strncmp(name, a->name, nlen))
            return (perm_bits(perms) & mask & want) == want;
    }
    bool matched = false;
    if (in_file_group) {
        matched = true;
        if ((m->group_obj & mask & want) == want)
            return true;
    }
    for (size_t i = 0; i < in->nacl; i++) {
        size_t tlen, nlen;
        const char *name, *perms;
        split_entry(in->acl[i], &tlen, &name, &nlen, &perms);
        if (tlen == 5 && !strncmp(in->acl[i], "group", 5) && nlen > 0 &&
            in_group(a, name, nlen)) {
            matched = true;
            if ((perm_bits(perms) & mask & want) == want)
                return true;
        }
    }
    return matched ? false : (m->other & want) == want;
}

/* An account whose `allowed` the intended permissions contradict: the run
 * would blame the server for the scenario's own mistake. Unix sockets
 * need write on the inode to connect; the clients open a FIFO for writing
 * (client.c), so both need w. Without a mode, or when the answer depends on
 * the server's group (intended.group not given), nothing is decided. */
static int check_allowed(const struct pf_scenario *sc, struct pf_error *err)
{
    const struct pf_intended *in = &sc->intended;
    if (in->mode < 0)
        return 0;
    struct model m = build_model(in);
    /* "server" owns it: the server's user, when that is an account. */
    const char *owner = in->owner;
    if (owner && !strcmp(owner, "server") && sc->server.user &&
        pf_scenario_account(sc, sc->server.user))
        owner = sc->server.user;
    for (size_t i = 0; i < sc->naccounts; i++) {
        const struct pf_account *a = &sc->accounts[i];
        bool member = in->group && in_group(a, in->group, strlen(in->group));
        bool yes = grants(in, owner, &m, a, member, 2);
        if (!in->group && grants(in, owner, &m, a, true, 2) != yes)
            continue;
        if (yes == a->allowed)
            continue;
        char mode[8];
        snprintf(mode, sizeof mode, "%04o", (unsigned)in->mode);
        return pf_scenario_error(err, sc, a->mark,
                                 "account '%s' is %s, but the intended permissions "
                                 "(mode %s%s%s%s) %s write access, which a %s needs: "
                                 "the scenario contradicts itself", a->name,
                                 a->allowed ? "allowed: true" : "not allowed",
                                 mode, in->group ? ", group " : "",
                                 in->group ? in->group : "", in->nacl ? ", with the ACL" : "",
                                 yes ? "give it" : "do not give it",
                                 sc->endpoint.kind == PF_EP_FIFO ? "client opening the fifo"
                                                                 : "connect");
    }
    return 0;
}

int pf_linux_check(const struct pf_scenario *sc, struct pf_error *err)
{
    if (check_allowed(sc, err) < 0)
        return -1;
    if (sc->naccounts > PF_MAX_ACCOUNTS)
        return pf_scenario_error(err, sc, sc->accounts[PF_MAX_ACCOUNTS].mark,
                                 "more than %d accounts: a linux run creates at most %d",
                                 PF_MAX_ACCOUNTS, PF_MAX_ACCOUNTS);
    if (sc->ngroups > PF_MAX_ACCOUNTS)
        return pf_scenario_error(err, sc, sc->groups_mark,
                                 "%zu groups: a linux run creates at most %d", sc->ngroups,
                                 PF_MAX_ACCOUNTS);
    long procs = 0;
    for (size_t i = 0; i < sc->nclients; i++) {
        procs += sc->clients[i].count;
        if (procs > PF_MAX_CLIENT_PROCS)
            return pf_scenario_error(err, sc, sc->clients[i].mark,
                                     "more than %d client processes in all (%ld with this "
                                     "entry)", PF_MAX_CLIENT_PROCS, procs);
    }
    int args = count_args(sc);
    if (args > PF_MAX_ARGV)
        return pf_scenario_error(err, sc, sc->server.mark,
                                 "the server's command line would have %d arguments "
                                 "(at most %d)", args, PF_MAX_ARGV);
    size_t len = strlen(sc->endpoint.path);
    size_t room = sizeof ((struct sockaddr_un *)0)->sun_path;
    if (sc->endpoint.kind == PF_EP_UNIX &&
        strlen(LONGEST_ENDPOINT_DIR) + len + 1 > room)
        return pf_scenario_error(err, sc, sc->endpoint.path_mark,
                                 "unix socket path '%s' is too long: placed in the run's "
                                 "directory (%s) it needs %zu bytes, a socket address "
                                 "holds %zu; at most %zu bytes", sc->endpoint.path,
                                 LONGEST_ENDPOINT_DIR, strlen(LONGEST_ENDPOINT_DIR) + len + 1,
                                 room, room - 1 - strlen(LONGEST_ENDPOINT_DIR));
    if (sc->endpoint.kind == PF_EP_ABSTRACT && 1 + strlen(ABSTRACT_PREFIX) + len > room)
        return pf_scenario_error(err, sc, sc->endpoint.path_mark,
                                 "abstract socket name '%s' is too long: the run names it "
                                 "%s<name>, at most %zu bytes of name", sc->endpoint.path,
                                 ABSTRACT_PREFIX, room - 1 - strlen(ABSTRACT_PREFIX));
    return 0;
}
