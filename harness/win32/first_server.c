/* first_server.c - the scenario's own server, started first by an attacker.
 *
 * Usage: first_server.exe PIPE ACCOUNT PROGRAM [ARGS...]
 * "If the named pipe already existed, the process would exit and the
 * existing one would service connections": whoever starts the server first
 * owns the name for everyone. This program starts PROGRAM (the scenario's
 * server command) as it is - no agent inside it, so nothing it does is
 * mistaken for the real server's - and tells the host, on the channel
 * ($PF_CHANNEL), the one thing the host cannot see for itself: the Windows
 * pid of that copy (in its `hello`, so that a client that reads it with
 * GetNamedPipeServerProcessId is named as served by this attacker). Then
 * one `squat` line: "ok" once an instance of PIPE is listening
 * (WaitNamedPipeW, which connects nothing), or "exited" with the copy's
 * exit code if it ended first.
 *
 * Standard handles pass through: the host stops the copy as it stops a
 * server, by closing its standard input. The copy is in a kill-on-close
 * job, so it cannot outlive this program; this program exits with the
 * copy's exit status.
 *
 * ACCOUNT is the scenario's name for the attacker. Under Wine every process
 * is the one account: the copy is the same program under the same account,
 * started earlier - which is all this program claims.
 */
#include "pfw.h"

#include <stdio.h>
#include <wchar.h>

enum { LAUNCH_ERROR = 125 };

static SOCKET chan = INVALID_SOCKET;

static void report_squat(const wchar_t *account, const char *outcome, DWORD code)
{
    struct pfw_json j;
    pfw_json_begin(&j, "squat");
    pfw_json_wstr(&j, "account", account);
    pfw_json_str(&j, "outcome", outcome);
    pfw_json_int(&j, "errno", (int64_t)code);
    /* A pipe instance has no name of its own to compare, and whether this
     * copy made the name or joined one cannot be asked from outside it. */
    pfw_json_null(&j, "key");
    pfw_json_null(&j, "created_name");
    pfw_json_end(&j);
    pfw_channel_send(chan, j.buf);
}

int wmain(int argc, wchar_t **argv);  /* -municode entry point */
int wmain(int argc, wchar_t **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: first_server.exe PIPE ACCOUNT PROGRAM [ARGS...]\n");
        return LAUNCH_ERROR;
    }
    chan = pfw_channel_open();
    if (chan == INVALID_SOCKET)
        return LAUNCH_ERROR;
    PROCESS_INFORMATION pi;
    if (!pfw_start_suspended(3, &pi)) {
        fprintf(stderr, "first_server: CreateProcessW: error %lu\n", GetLastError());
        return LAUNCH_ERROR;
    }
    HANDLE job = pfw_kill_on_close_job();
    if (job)
        AssignProcessToJobObject(job, pi.hProcess);
    /* The copy's pid is told before it runs: no client can reach it first. */
    struct pfw_json j;
    pfw_json_begin(&j, "hello");
    pfw_json_str(&j, "role", "squatter");
    pfw_json_int(&j, "pid", (int64_t)pi.dwProcessId);
    pfw_json_int(&j, "launcher_pid", (int64_t)GetCurrentProcessId());
    pfw_json_wstr(&j, "account", argv[2]);
    pfw_json_end(&j);
    pfw_channel_send(chan, j.buf);
    if (ResumeThread(pi.hThread) == (DWORD)-1) {
        TerminateProcess(pi.hProcess, LAUNCH_ERROR);
        fprintf(stderr, "first_server: ResumeThread: error %lu\n", GetLastError());
        return LAUNCH_ERROR;
    }
    /* Nothing announces a listening instance to another process: asked
     * every few ms until one is, or the copy ended (the host's
     * ready_timeout bounds the wait). */
    for (;;) {
        if (WaitForSingleObject(pi.hProcess, 5) == WAIT_OBJECT_0) {
            DWORD code = LAUNCH_ERROR;
            GetExitCodeProcess(pi.hProcess, &code);
            report_squat(argv[2], "exited", code);
            return (int)code;
        }
        if (WaitNamedPipeW(argv[1], 1)) {
            report_squat(argv[2], "ok", 0);
            break;
        }
    }
    DWORD code = LAUNCH_ERROR;
    WaitForSingleObject(pi.hProcess, INFINITE);
    GetExitCodeProcess(pi.hProcess, &code);
    return (int)code;
}
