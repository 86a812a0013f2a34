/* limits.c - the Win32 backend's run-time limits, checked at load time.
 *
 * What win/backend.c and the agent cannot do would otherwise end the
 * scenario as `error` (or never fire, silently) after Wine has started;
 * `check` says so first, at the place in the file.
 */
#include "limits.h"

#include <string.h>

#include "../plan.h"
#include "channel.h"

/* server_argv in win/backend.c: launch.exe, the agent, and for a fixture
 * the program, the pipe and the SDDL, then command and args, 78 in all. */
enum { WIN_MAX_ARGV = 78 };

int pf_win32_check(const struct pf_scenario *sc, struct pf_error *err)
{
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
    long procs = 0;
    for (size_t i = 0; i < sc->nclients; i++) {
        procs += sc->clients[i].count;
        /* Every client and the server's agent hold one channel connection. */
        if (procs > PF_WIN_MAX_CONNS - 1 || procs > PF_MAX_CLIENT_PROCS)
            return pf_scenario_error(err, sc, sc->clients[i].mark,
                                     "more than %d client processes in all on win32 (%ld "
                                     "with this entry)", PF_WIN_MAX_CONNS - 1, procs);
    }
    size_t args = 2 + (sc->server.fixture ? 3 : 0) + sc->server.ncommand + sc->server.nargs;
    if (args > WIN_MAX_ARGV)
        return pf_scenario_error(err, sc, sc->server.mark,
                                 "the server's command line would have %zu arguments on "
                                 "win32 (at most %d, with launch.exe and the agent)", args,
                                 WIN_MAX_ARGV);
    return 0;
}
