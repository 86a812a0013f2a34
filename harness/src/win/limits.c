/* limits.c - the Win32 backend's run-time limits, checked at load time.
 *
 * What win/backend.c and the agent cannot do would otherwise end the
 * scenario as `error` (or never fire, silently) after Wine has started;
 * `check` says so first, at the place in the file.
 */
#include "limits.h"

#include <stdbool.h>
#include <string.h>

#include "../plan.h"
#include "channel.h"

/* server_argv in win/backend.c: launch.exe, the agent, and for a fixture
 * the program, the pipe and the SDDL, then command and args, 78 in all. */
enum { WIN_MAX_ARGV = 78 };

/* Under Wine every process runs as the one account, and launch.exe starts
 * the server in its own environment: none of these can be honoured. */
static int check_server_identity(const struct pf_scenario *sc, struct pf_error *err)
{
    const struct pf_server *s = &sc->server;
    struct { bool given; struct pf_mark at; const char *key; } keys[] = {
        {s->user != NULL, s->user_mark, "server.user"},
        {s->group != NULL, s->group_mark, "server.group"},
        {s->groups_given, s->groups_mark, "server.groups"},
        {s->nenv > 0, s->env_mark, "server.env"},
        {s->cwd != NULL, s->cwd_mark, "server.cwd"},
        {sc->nfiles > 0, sc->nfiles ? sc->files[0].mark : s->mark, "files"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (keys[i].given)
            return pf_scenario_error(err, sc, keys[i].at, "'%s' is not supported on win32 "
                                     "(every process under Wine runs as one account, in "
                                     "launch.exe's environment)", keys[i].key);
    return 0;
}

int pf_win32_check(const struct pf_scenario *sc, struct pf_error *err)
{
    if (check_server_identity(sc, err) < 0)
        return -1;
    if (sc->endpoint.kind != PF_EP_NPIPE)
        return pf_scenario_error(err, sc, sc->endpoint.kind_mark,
                                 "win32 scenarios need endpoint kind npipe");
    for (size_t i = 0; i < sc->nfaults; i++) {
        const struct pf_fault *f = &sc->faults[i];
        if (strcmp(f->target, "server") != 0)
            return pf_scenario_error(err, sc, f->mark, "faults on the harness's clients "
                                     "(target: %s) are not supported on win32",
                                     f->target);
        /* The agent hooks pipe creation, ConnectNamedPipe, CloseHandle and
         * the security calls, nothing else. */
        if (f->op != PF_OP_CREATE && f->op != PF_OP_ACCEPT && f->op != PF_OP_CLOSE &&
            f->op != PF_OP_SECURE)
            return pf_scenario_error(err, sc, f->mark, "on win32 faults apply to create, "
                                     "accept, close and secure only, not '%s'",
                                     pf_fault_op_name(f->op));
        if (f->process != PF_WHO_ANY || f->thread != PF_WHO_ANY)
            return pf_scenario_error(err, sc, f->mark, "'process' and 'thread' "
                                     "selections are not supported on win32");
    }
    long procs = (long)sc->nattackers;   /* each squatter holds a connection too */
    for (size_t i = 0; i < sc->nclients; i++) {
        procs += sc->clients[i].count;
        /* Every client, squatter and the server's agent hold one channel
         * connection. */
        if (procs > PF_WIN_MAX_CONNS - 1 || procs > PF_MAX_CLIENT_PROCS)
            return pf_scenario_error(err, sc, sc->clients[i].mark,
                                     "more than %d client and attacker processes in all on "
                                     "win32 (%ld with this entry)", PF_WIN_MAX_CONNS - 1,
                                     procs);
    }
    size_t args = 2 + (sc->server.fixture ? 3 : 0) + sc->server.ncommand + sc->server.nargs;
    if (args > WIN_MAX_ARGV)
        return pf_scenario_error(err, sc, sc->server.mark,
                                 "the server's command line would have %zu arguments on "
                                 "win32 (at most %d, with launch.exe and the agent)", args,
                                 WIN_MAX_ARGV);
    return 0;
}
