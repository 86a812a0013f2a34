/* squatter.c - another account taking a pipe's name and serving it.
 *
 * Usage: squatter.exe PIPE ACCOUNT now|wait
 * The reason FILE_FLAG_FIRST_PIPE_INSTANCE exists: whoever creates a pipe
 * name first owns it, and a server that does not ask to be first joins it
 * (or never notices); clients then reach the squatter, which can impersonate
 * them. This program is that squatter: it creates an instance of PIPE with a
 * NULL DACL (anyone may connect, anyone may add instances) and serves like a
 * server would: accepts, reads what the client sent, answers "squatted\n",
 * disconnects, accepts again. For every connection it records the client's
 * pid (GetNamedPipeClientProcessId) and whether it could impersonate the
 * client (ImpersonateNamedPipeClient, then the thread token's impersonation
 * level), reported on the host channel ($PF_CHANNEL) as
 * `squatter_connection`; the create itself is one `squat` line (made or the
 * Win32 error, and whether it made the name or joined a pipe already there).
 *
 * `wait`: it creates nothing until the host writes "go" on its standard
 * input (an in-gap squat, placed by a hold in the server). Either way the
 * end of its standard input ends the process: the host closes it at the end
 * of the scenario.
 */
#include "pfw.h"

#include <stdio.h>
#include <string.h>

static SOCKET chan = INVALID_SOCKET;
static CRITICAL_SECTION send_lock;

static void send_json(struct pfw_json *j)
{
    pfw_json_end(j);
    EnterCriticalSection(&send_lock);
    pfw_channel_send(chan, j->buf);
    LeaveCriticalSection(&send_lock);
}

/* Reads stdin until EOF, then ends the process: nothing is left running. */
static DWORD WINAPI stdin_watcher(LPVOID arg)
{
    HANDLE in = arg;
    char buf[64];
    DWORD n;
    while (ReadFile(in, buf, sizeof buf, &n, NULL) && n > 0)
        ;
    ExitProcess(0);
    return 0;
}

/* Blocks until a line "go" on stdin; false at EOF. */
static bool await_go(HANDLE in)
{
    char line[16];
    size_t len = 0;
    for (;;) {
        char c;
        DWORD n;
        if (!ReadFile(in, &c, 1, &n, NULL) || n == 0)
            return false;
        if (c == '\n') {
            line[len] = 0;
            if (!strcmp(line, "go"))
                return true;
            len = 0;
        } else if (len + 1 < sizeof line) {
            line[len++] = c;
        }
    }
}

static const char *level_name(SECURITY_IMPERSONATION_LEVEL l)
{
    switch (l) {
    case SecurityAnonymous: return "anonymous";
    case SecurityIdentification: return "identification";
    case SecurityImpersonation: return "impersonation";
    case SecurityDelegation: return "delegation";
    default: return "unknown";
    }
}

/* Tries to act as the client: the impersonation level its token gives, or
 * NULL with the Win32 error in *err. Always reverts. */
static const char *impersonate(HANDLE pipe, DWORD *err)
{
    *err = 0;
    if (!ImpersonateNamedPipeClient(pipe)) {
        *err = GetLastError();
        return NULL;
    }
    const char *level = NULL;
    HANDLE token;
    if (OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, TRUE, &token)) {
        SECURITY_IMPERSONATION_LEVEL l;
        DWORD n;
        if (GetTokenInformation(token, TokenImpersonationLevel, &l, sizeof l, &n))
            level = level_name(l);
        else
            *err = GetLastError();
        CloseHandle(token);
    } else {
        *err = GetLastError();
    }
    RevertToSelf();
    return level;
}

/* The handle is overlapped (so that the first accept is pending before the
 * squat is reported): every transfer waits for its own completion. */
static BOOL transfer(HANDLE pipe, HANDLE ev, bool write, void *buf, DWORD len, DWORD *n)
{
    OVERLAPPED ov;
    ZeroMemory(&ov, sizeof ov);
    ov.hEvent = ev;
    ResetEvent(ev);
    BOOL ok = write ? WriteFile(pipe, buf, len, NULL, &ov) : ReadFile(pipe, buf, len, NULL, &ov);
    if (!ok && GetLastError() != ERROR_IO_PENDING)
        return FALSE;
    return GetOverlappedResult(pipe, &ov, n, TRUE);
}

/* One connected client: what it sent so far (without waiting for more),
 * who it is, whether it can be impersonated; then the answer. */
static void serve(HANDLE pipe, HANDLE ev, const wchar_t *account)
{
    ULONG client = 0;
    if (!GetNamedPipeClientProcessId(pipe, &client))
        client = 0;
    DWORD avail = 0, got = 0;
    char buf[4096];
    if (PeekNamedPipe(pipe, NULL, 0, NULL, &avail, NULL) && avail > 0 &&
        !transfer(pipe, ev, false, buf, avail < sizeof buf ? avail : sizeof buf, &got))
        got = 0;
    DWORD imp_err;
    const char *level = impersonate(pipe, &imp_err);
    DWORD n;
    char answer[] = "squatted\n";
    if (transfer(pipe, ev, true, answer, 9, &n))
        FlushFileBuffers(pipe);   /* returns once the client read it, or left */
    /* A client that writes its request before it reads the reply has
     * written all of it by now: what it sent says it trusted this pipe. A
     * client that hung up without reading sent nothing more. */
    avail = 0;
    while (got < sizeof buf && PeekNamedPipe(pipe, NULL, 0, NULL, &avail, NULL) && avail > 0) {
        DWORD more = 0, room = (DWORD)(sizeof buf - got);
        if (!transfer(pipe, ev, false, buf + got, avail < room ? avail : room, &more) || !more)
            break;
        got += more;
    }

    struct pfw_json j;
    pfw_json_begin(&j, "squatter_connection");
    pfw_json_wstr(&j, "account", account);
    pfw_json_int(&j, "peer_pid", (int64_t)client);
    pfw_json_int(&j, "bytes", (int64_t)got);
    pfw_json_bool(&j, "impersonated", level != NULL);
    if (level)
        pfw_json_str(&j, "impersonation_level", level);
    else
        pfw_json_null(&j, "impersonation_level");
    pfw_json_int(&j, "impersonation_error", (int64_t)imp_err);
    send_json(&j);
}

int wmain(int argc, wchar_t **argv);  /* -municode entry point */
int wmain(int argc, wchar_t **argv)
{
    if (argc != 4 || (wcscmp(argv[3], L"now") && wcscmp(argv[3], L"wait"))) {
        fprintf(stderr, "usage: squatter.exe PIPE ACCOUNT now|wait\n");
        return 2;
    }
    InitializeCriticalSection(&send_lock);
    chan = pfw_channel_open();
    if (chan == INVALID_SOCKET)
        return 1;
    struct pfw_json j;
    pfw_json_begin(&j, "hello");
    pfw_json_str(&j, "role", "squatter");
    pfw_json_int(&j, "pid", GetCurrentProcessId());
    pfw_json_wstr(&j, "account", argv[2]);
    send_json(&j);

    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    if (!wcscmp(argv[3], L"wait") && !await_go(in))
        return 0;
    HANDLE t = CreateThread(NULL, 0, stdin_watcher, in, 0, NULL);
    if (!t)
        return 1;
    CloseHandle(t);

    /* A NULL DACL: every account may connect, and may add instances. */
    SECURITY_DESCRIPTOR sd;
    InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
    SetSecurityDescriptorDacl(&sd, TRUE, NULL, FALSE);
    SECURITY_ATTRIBUTES sa = {sizeof sa, &sd, FALSE};
    HANDLE pipe = CreateNamedPipeW(argv[1], PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED,
                                   PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
                                   PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, &sa);
    DWORD err = pipe == INVALID_HANDLE_VALUE ? GetLastError() : 0;
    DWORD instances = 0;
    bool counted = pipe != INVALID_HANDLE_VALUE &&
                   GetNamedPipeHandleStateW(pipe, NULL, &instances, NULL, NULL, NULL, 0);
    /* Accepting before the squat is told: when the host lets the server go
     * on, this instance is already waiting for clients. */
    HANDLE ev = CreateEventW(NULL, TRUE, FALSE, NULL), io_ev = CreateEventW(NULL, TRUE, FALSE, NULL);
    OVERLAPPED ov;
    ZeroMemory(&ov, sizeof ov);
    ov.hEvent = ev;
    BOOL connected = !err && ConnectNamedPipe(pipe, &ov);
    DWORD connect_err = err ? 0 : GetLastError();
    char key[64];
    snprintf(key, sizeof key, "%lu:%p", GetCurrentProcessId(), (void *)pipe);
    pfw_json_begin(&j, "squat");
    pfw_json_wstr(&j, "account", argv[2]);
    pfw_json_str(&j, "outcome", err ? "error" : "ok");
    pfw_json_int(&j, "errno", (int64_t)err);
    if (err)
        pfw_json_null(&j, "key");
    else
        pfw_json_str(&j, "key", key);
    /* One instance right after the create: the name was free, this made it. */
    if (counted)
        pfw_json_bool(&j, "created_name", instances == 1);
    else
        pfw_json_null(&j, "created_name");
    send_json(&j);
    if (err)
        for (;;)
            Sleep(INFINITE);   /* until the host closes stdin */

    for (;;) {
        DWORD n;
        if (connected || connect_err == ERROR_PIPE_CONNECTED ||
            (connect_err == ERROR_IO_PENDING && GetOverlappedResult(pipe, &ov, &n, TRUE)))
            serve(pipe, io_ev, argv[2]);
        else if (connect_err != ERROR_NO_DATA && connect_err != ERROR_IO_PENDING)
            for (;;)
                Sleep(INFINITE);   /* the instance is broken: wait for the end */
        DisconnectNamedPipe(pipe);
        ZeroMemory(&ov, sizeof ov);
        ov.hEvent = ev;
        ResetEvent(ev);
        connected = ConnectNamedPipe(pipe, &ov);
        connect_err = GetLastError();
    }
}
