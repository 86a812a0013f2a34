/* launch.c - starts a program with the agent inside it, or as another account.
 *
 *   launch.exe AGENT.dll PROGRAM [ARGS...]
 *       Starts PROGRAM suspended, loads AGENT.dll into it (VirtualAllocEx +
 *       WriteProcessMemory + CreateRemoteThread(LoadLibraryW): verified under
 *       Wine 8), waits until the agent reports ready, resumes it, waits for it
 *       and exits with its exit status. The program is not modified on disk
 *       or in memory beyond the loaded DLL and its import-table hooks.
 *
 *   launch.exe --as USER PROGRAM [ARGS...]
 *       Runs PROGRAM as the local account USER (password in the environment
 *       variable PF_ACCOUNT_PASSWORD): LogonUserW + CreateProcessAsUserW,
 *       for clients under real accounts on Windows. Under Wine every process
 *       is the same account (LogonUserW is a stub), so the harness does not
 *       use this mode there.
 *
 * Standard handles are passed through: the harness stops a fixture by
 * closing its stdin. The program is put in a kill-on-close job, so it cannot
 * outlive the launcher. Exit status 125 for the launcher's own errors.
 */
#include "pfw.h"

#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

#define LAUNCH_ERROR 125

static int fail(const char *what)
{
    fprintf(stderr, "launch: %s: error %lu\n", what, GetLastError());
    fflush(stderr);
    return LAUNCH_ERROR;
}

static HANDLE make_event(const wchar_t *what, DWORD pid)
{
    wchar_t name[128];
    _snwprintf(name, 128, L"Local\\pipefault-agent-%ls-%lu", what, pid);
    name[127] = L'\0';
    return CreateEventW(NULL, TRUE, FALSE, name);
}

static int wait_exit(PROCESS_INFORMATION *pi)
{
    DWORD code = LAUNCH_ERROR;
    WaitForSingleObject(pi->hProcess, INFINITE);
    GetExitCodeProcess(pi->hProcess, &code);
    CloseHandle(pi->hProcess);
    CloseHandle(pi->hThread);
    return (int)code;
}

static int inject_and_run(const wchar_t *dll)
{
    PROCESS_INFORMATION pi;
    if (!pfw_start_suspended(2, &pi))
        return fail("CreateProcessW");
    HANDLE job = pfw_kill_on_close_job();
    if (job)
        AssignProcessToJobObject(job, pi.hProcess);

    HANDLE ready = make_event(L"ready", pi.dwProcessId);
    HANDLE failed = make_event(L"failed", pi.dwProcessId);
    if (!ready || !failed) {
        TerminateProcess(pi.hProcess, LAUNCH_ERROR);
        return fail("CreateEventW");
    }

    size_t bytes = (wcslen(dll) + 1) * sizeof(wchar_t);
    void *remote = VirtualAllocEx(pi.hProcess, NULL, bytes, MEM_COMMIT | MEM_RESERVE,
                                  PAGE_READWRITE);
    if (!remote || !WriteProcessMemory(pi.hProcess, remote, dll, bytes, NULL)) {
        TerminateProcess(pi.hProcess, LAUNCH_ERROR);
        return fail("writing the agent's path into the process");
    }
    /* kernel32 is mapped at the same address in every process of a session
     * (Windows and Wine alike), so our LoadLibraryW is the target's. */
    LPTHREAD_START_ROUTINE load = (LPTHREAD_START_ROUTINE)(void (*)(void))GetProcAddress(
        GetModuleHandleW(L"kernel32.dll"), "LoadLibraryW");
    HANDLE t = CreateRemoteThread(pi.hProcess, NULL, 0, load, remote, 0, NULL);
    if (!t) {
        TerminateProcess(pi.hProcess, LAUNCH_ERROR);
        return fail("CreateRemoteThread(LoadLibraryW)");
    }
    WaitForSingleObject(t, 30000);
    DWORD loaded = 0;
    GetExitCodeThread(t, &loaded);  /* low 32 bits of the module handle */
    CloseHandle(t);
    if (!loaded) {
        TerminateProcess(pi.hProcess, LAUNCH_ERROR);
        fprintf(stderr, "launch: the agent %ls did not load into the server\n", dll);
        return LAUNCH_ERROR;
    }
    HANDLE both[2] = {ready, failed};
    DWORD w = WaitForMultipleObjects(2, both, FALSE, 30000);
    if (w != WAIT_OBJECT_0) {
        TerminateProcess(pi.hProcess, LAUNCH_ERROR);
        fprintf(stderr, "launch: the agent %s\n",
                w == WAIT_OBJECT_0 + 1 ? "failed to start (see above)" : "never became ready");
        return LAUNCH_ERROR;
    }
    CloseHandle(ready);
    CloseHandle(failed);
    if (ResumeThread(pi.hThread) == (DWORD)-1) {
        TerminateProcess(pi.hProcess, LAUNCH_ERROR);
        return fail("ResumeThread");
    }
    return wait_exit(&pi);
}

static int run_as(const wchar_t *user, wchar_t *cmdline)
{
    wchar_t password[256];
    DWORD n = GetEnvironmentVariableW(L"PF_ACCOUNT_PASSWORD", password, 256);
    if (!n || n >= 256) {
        fprintf(stderr, "launch: PF_ACCOUNT_PASSWORD is not set\n");
        return LAUNCH_ERROR;
    }
    HANDLE token;
    if (!LogonUserW(user, L".", password, LOGON32_LOGON_INTERACTIVE,
                    LOGON32_PROVIDER_DEFAULT, &token)) {
        SecureZeroMemory(password, sizeof password);
        return fail("LogonUserW");
    }
    SecureZeroMemory(password, sizeof password);
    SetEnvironmentVariableW(L"PF_ACCOUNT_PASSWORD", NULL);  /* not for the child */
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    pfw_std_startup(&si);
    BOOL ok = CreateProcessAsUserW(token, NULL, cmdline, NULL, NULL, TRUE, 0, NULL, NULL,
                                   &si, &pi);
    if (!ok) {
        /* Without SE_ASSIGNPRIMARYTOKEN (not a service), the logon API can. */
        ok = CreateProcessWithTokenW(token, LOGON_WITH_PROFILE, NULL, cmdline, 0, NULL,
                                     NULL, &si, &pi);
    }
    CloseHandle(token);
    if (!ok)
        return fail("CreateProcessAsUserW");
    HANDLE job = pfw_kill_on_close_job();
    if (job)
        AssignProcessToJobObject(job, pi.hProcess);
    return wait_exit(&pi);
}

int wmain(int argc, wchar_t **argv);  /* -municode entry point */
int wmain(int argc, wchar_t **argv)
{
    if (argc >= 4 && !wcscmp(argv[1], L"--as"))
        return run_as(argv[2], _wcsdup(pfw_args_after(GetCommandLineW(), 3)));
    if (argc < 3) {
        fprintf(stderr, "usage: launch.exe AGENT.dll PROGRAM [ARGS...]\n"
                        "       launch.exe --as USER PROGRAM [ARGS...]\n");
        return LAUNCH_ERROR;
    }
    return inject_and_run(argv[1]);
}
