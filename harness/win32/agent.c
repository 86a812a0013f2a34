/* agent.c - the in-process agent's start-up. The agent sees every pipe
 * instance the server makes, and injects the scenario's faults inside the
 * calls; its parts (agent.h): agent_hooks.c the hooked functions,
 * agent_instances.c the instance table, agent_faults.c the fault rules,
 * agent_channel.c the host channel, hooks.c how calls are redirected.
 *
 * launch.exe loads this DLL into the suspended, unmodified server. DllMain
 * starts an init thread (nothing that takes the loader lock may run inside
 * DllMain) which connects to the host channel ($PF_CHANNEL), reads the fault
 * rules ($PF_FAULTS), installs the hooks (hooks.h) and then sets the named
 * event the launcher waits on before it resumes the server, so the server's
 * first instruction already runs hooked.
 *
 * Operations, as the scenario names them:
 *   create = CreateNamedPipeW/A, NtCreateNamedPipeFile
 *   accept = ConnectNamedPipe
 *   close  = CloseHandle on a pipe instance, DisconnectNamedPipe
 *   secure = SetSecurityInfo / SetKernelObjectSecurity on a pipe instance
 * `before` faults run before the real call, `after` faults after it returned,
 * both on the server's own thread, so they are exact. A `hold` sends a
 * `fault` event with a hold number and waits for "release N" from the host
 * (which decides when the rule's `until` happened), or for the timeout.
 *
 * For every instance it reports the facts only the server's process can see
 * at that instant: the security descriptor read from the new handle, whether
 * the create made the pipe name or joined an existing one (the pipe's
 * CurrentInstances: 1 means the name was new), and whether an SD was passed.
 */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>

CRITICAL_SECTION state_lock;  /* instances, fault states, holds */
_Thread_local int depth;
static HMODULE self;

static HANDLE open_launcher_event(const char *what)
{
    wchar_t name[128];
    _snwprintf(name, 128, L"Local\\pipefault-agent-%hs-%lu", what, GetCurrentProcessId());
    name[127] = L'\0';
    return OpenEventW(EVENT_MODIFY_STATE, FALSE, name);
}

static DWORD WINAPI init_thread(LPVOID arg)
{
    depth++;  /* this thread's own calls are the agent's, never the server's */
    bool ok = load_faults();
    if (ok) {
        chan = pfw_channel_open();
        ok = chan != INVALID_SOCKET;
    }
    if (ok) {
        struct pfw_json j;
        wchar_t exe[MAX_PATH] = L"";
        GetModuleFileNameW(NULL, exe, MAX_PATH);
        begin_event(&j, "hello");
        pfw_json_str(&j, "role", "agent");
        pfw_json_int(&j, "pid", GetCurrentProcessId());
        pfw_json_wstr(&j, "exe", exe);
        pfw_json_int(&j, "rules", (int64_t)nrules);
        send_line(&j);
        ok = install_hooks(self);
    }
    if (ok) {
        HANDLE t = CreateThread(NULL, 0, channel_reader, NULL, 0, NULL);
        ok = t != NULL;
        if (t)
            real_CloseHandle(t);
    }
    HANDLE ev = open_launcher_event(ok ? "ready" : "failed");
    if (ev) {
        SetEvent(ev);
        CloseHandle(ev);
    } else {
        fprintf(stderr, "pipefault agent: launcher event missing (error %lu)\n", GetLastError());
    }
    fflush(stderr);
    return ok ? 0 : 1;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved);
BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    if (reason == DLL_PROCESS_ATTACH) {
        self = inst;
        DisableThreadLibraryCalls(inst);
        InitializeCriticalSection(&send_lock);
        InitializeCriticalSection(&state_lock);
        HANDLE t = CreateThread(NULL, 0, init_thread, NULL, 0, NULL);
        if (!t)
            return FALSE;
        CloseHandle(t);
    }
    return TRUE;
}
