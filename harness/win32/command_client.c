/* command_client.c - a user's client program as a scenario client, under Wine.
 *
 * Usage: command_client.exe LABEL ACCOUNT PROGRAM [ARGS...]
 * The host cannot see Windows pids, and the squatters record each client
 * by the pid GetNamedPipeClientProcessId gives. This program starts
 * PROGRAM (clients[].command) suspended in a kill-on-close job (it cannot
 * outlive this launcher, which the host kills at the scenario's end), tells
 * the host its Windows pid in a `hello` before it runs (so no connection of
 * it can come first), and when it ends, its exit code (`client_exit`).
 * Standard handles pass through: its output lands where the host put this
 * launcher's. Exits with the program's exit code.
 */
#include "pfw.h"

#include <stdio.h>
#include <wchar.h>

enum { LAUNCH_ERROR = 125 };

int wmain(int argc, wchar_t **argv);  /* -municode entry point */
int wmain(int argc, wchar_t **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: command_client.exe LABEL ACCOUNT PROGRAM [ARGS...]\n");
        return LAUNCH_ERROR;
    }
    SOCKET chan = pfw_channel_open();
    if (chan == INVALID_SOCKET)
        return LAUNCH_ERROR;
    PROCESS_INFORMATION pi;
    if (!pfw_start_suspended(3, &pi)) {
        fprintf(stderr, "command_client: CreateProcessW: error %lu\n", GetLastError());
        return LAUNCH_ERROR;
    }
    HANDLE job = pfw_kill_on_close_job();
    if (!job || !AssignProcessToJobObject(job, pi.hProcess)) {
        TerminateProcess(pi.hProcess, LAUNCH_ERROR);
        fprintf(stderr, "command_client: no kill-on-close job: error %lu\n", GetLastError());
        return LAUNCH_ERROR;
    }
    struct pfw_json j;
    pfw_json_begin(&j, "hello");
    pfw_json_str(&j, "role", "command_client");
    pfw_json_int(&j, "pid", (int64_t)pi.dwProcessId);
    pfw_json_int(&j, "launcher_pid", (int64_t)GetCurrentProcessId());
    pfw_json_wstr(&j, "client", argv[1]);
    pfw_json_wstr(&j, "account", argv[2]);
    pfw_json_end(&j);
    pfw_channel_send(chan, j.buf);
    if (ResumeThread(pi.hThread) == (DWORD)-1) {
        TerminateProcess(pi.hProcess, LAUNCH_ERROR);
        fprintf(stderr, "command_client: ResumeThread: error %lu\n", GetLastError());
        return LAUNCH_ERROR;
    }
    DWORD code = LAUNCH_ERROR;
    WaitForSingleObject(pi.hProcess, INFINITE);
    GetExitCodeProcess(pi.hProcess, &code);
    pfw_json_begin(&j, "client_exit");
    pfw_json_int(&j, "pid", (int64_t)pi.dwProcessId);
    pfw_json_wstr(&j, "client", argv[1]);
    pfw_json_wstr(&j, "account", argv[2]);
    pfw_json_int(&j, "status", (int64_t)code);
    pfw_json_end(&j);
    pfw_channel_send(chan, j.buf);
    return (int)code;
}
