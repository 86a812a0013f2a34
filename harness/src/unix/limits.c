/* limits.c - the Linux backend's run-time limits, checked at load time.
 *
 * Every table the run fills has a size (accounts.h, plan.h) and the kernel
 * has its own (sun_path). A scenario beyond one of them would create
 * accounts and then stop with exit 1 or 3; `check` says so first, at the
 * place in the file that breaks the limit.
 */
#include "limits.h"

#include <stddef.h>
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

int pf_linux_check(const struct pf_scenario *sc, struct pf_error *err)
{
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
