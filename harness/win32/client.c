/* client.c - a harness client: connects to the pipe on the scenario's schedule.
 *
 * Usage: client.exe PIPE LABEL ACCOUNT ATTEMPTS INTERVAL_NS START_NS
 * Waits START_NS, then makes ATTEMPTS connection attempts INTERVAL_NS apart.
 * One attempt: CreateFileW on the pipe; on ERROR_PIPE_BUSY, WaitNamedPipeW
 * ($PF_CLIENT_WAIT_MS, default 1000) and one more CreateFileW. Connected, it
 * reads until the server closes its end (the fixtures reply "ok\n" and close),
 * closes its own handle, and only then reports the attempt: so an `attempt`
 * event means the connection is completely gone on both sides, which is what
 * a `hold ... until: {account, event: attempt}` fault relies on. Each attempt
 * is one `attempt` event on the host channel ($PF_CHANNEL).
 */
#include "pfw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct outcome {
    DWORD err;          /* 0: connected */
    bool waited;        /* went through WaitNamedPipeW */
    bool served;        /* read the whole reply "ok\n" */
    bool read_timeout;
    char reply[64];
};

static const char *error_name(DWORD e, char *buf, size_t cap)
{
    switch (e) {
    case 0: return "ok";
    case ERROR_FILE_NOT_FOUND: return "ERROR_FILE_NOT_FOUND";
    case ERROR_ACCESS_DENIED: return "ERROR_ACCESS_DENIED";
    case ERROR_PIPE_BUSY: return "ERROR_PIPE_BUSY";
    case ERROR_SEM_TIMEOUT: return "ERROR_SEM_TIMEOUT";
    case ERROR_BAD_PIPE: return "ERROR_BAD_PIPE";
    case ERROR_PIPE_NOT_CONNECTED: return "ERROR_PIPE_NOT_CONNECTED";
    default:
        snprintf(buf, cap, "error:%lu", e);
        return buf;
    }
}

static HANDLE open_pipe(const wchar_t *pipe)
{
    return CreateFileW(pipe, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                       FILE_FLAG_OVERLAPPED, NULL);
}

/* Reads until end of file, the reply buffer is full, or the timeout. */
static void read_reply(HANDLE h, struct outcome *o, DWORD timeout_ms)
{
    OVERLAPPED ov;
    HANDLE ev = CreateEventW(NULL, TRUE, FALSE, NULL);
    size_t got = 0;
    DWORD start = GetTickCount();
    for (;;) {
        char buf[64];
        DWORD n = 0;
        ZeroMemory(&ov, sizeof ov);
        ov.hEvent = ev;
        ResetEvent(ev);
        BOOL ok = ReadFile(h, buf, sizeof buf, NULL, &ov);
        if (!ok && GetLastError() == ERROR_IO_PENDING) {
            DWORD left = timeout_ms - (GetTickCount() - start);
            if ((int)left <= 0 || WaitForSingleObject(ev, left) != WAIT_OBJECT_0) {
                CancelIo(h);
                GetOverlappedResult(h, &ov, &n, TRUE);
                o->read_timeout = true;
                break;
            }
            ok = GetOverlappedResult(h, &ov, &n, FALSE);
        } else if (ok) {
            ok = GetOverlappedResult(h, &ov, &n, FALSE);
        }
        if (!ok || n == 0)
            break;  /* ERROR_BROKEN_PIPE: the server closed its end */
        size_t take = n < sizeof o->reply - 1 - got ? n : sizeof o->reply - 1 - got;
        memcpy(o->reply + got, buf, take);
        got += take;
    }
    o->reply[got] = '\0';
    o->served = strcmp(o->reply, "ok\n") == 0;
    CloseHandle(ev);
}

static void attempt(const wchar_t *pipe, struct outcome *o, DWORD wait_ms, DWORD read_ms)
{
    memset(o, 0, sizeof *o);
    HANDLE h = open_pipe(pipe);
    if (h == INVALID_HANDLE_VALUE && GetLastError() == ERROR_PIPE_BUSY) {
        o->waited = true;
        if (WaitNamedPipeW(pipe, wait_ms))
            h = open_pipe(pipe);
    }
    if (h == INVALID_HANDLE_VALUE) {
        o->err = GetLastError();
        return;
    }
    read_reply(h, o, read_ms);
    CloseHandle(h);
}

static void sleep_ns(int64_t ns)
{
    if (ns > 0)
        Sleep((DWORD)((ns + 999999) / 1000000));
}

int wmain(int argc, wchar_t **argv);  /* -municode entry point */
int wmain(int argc, wchar_t **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: client.exe PIPE LABEL ACCOUNT ATTEMPTS INTERVAL_NS START_NS\n");
        return 2;
    }
    const wchar_t *pipe = argv[1];
    long attempts = wcstol(argv[4], NULL, 10);
    int64_t interval = _wcstoi64(argv[5], NULL, 10);
    int64_t start = _wcstoi64(argv[6], NULL, 10);
    DWORD wait_ms = (DWORD)pfw_env_int("PF_CLIENT_WAIT_MS", 1000);
    DWORD read_ms = (DWORD)pfw_env_int("PF_CLIENT_READ_TIMEOUT_MS", 10000);

    SOCKET chan = pfw_channel_open();
    if (chan == INVALID_SOCKET)
        return 1;
    struct pfw_json j;
    pfw_json_begin(&j, "hello");
    pfw_json_str(&j, "role", "client");
    pfw_json_int(&j, "pid", GetCurrentProcessId());
    pfw_json_wstr(&j, "client", argv[2]);
    pfw_json_end(&j);
    if (!pfw_channel_send(chan, j.buf))
        return 1;

    sleep_ns(start);
    for (long i = 0; i < attempts; i++) {
        if (i > 0)
            sleep_ns(interval);
        struct outcome o;
        int64_t t0 = pfw_now_ns();
        attempt(pipe, &o, wait_ms, read_ms);
        int64_t t1 = pfw_now_ns();
        char ebuf[32];
        pfw_json_begin_at(&j, "attempt", t0);
        pfw_json_wstr(&j, "client", argv[2]);
        pfw_json_wstr(&j, "account", argv[3]);
        pfw_json_int(&j, "pid", GetCurrentProcessId());
        pfw_json_str(&j, "op", "connect");
        pfw_json_str(&j, "outcome", error_name(o.err, ebuf, sizeof ebuf));
        pfw_json_int(&j, "errno", o.err);
        pfw_json_bool(&j, "served", o.served);
        pfw_json_int(&j, "t_end_qpc_ns", t1);
        pfw_json_null(&j, "instance");
        pfw_json_bool(&j, "waited", o.waited);
        if (o.err == 0) {
            pfw_json_str(&j, "reply", o.reply);
            pfw_json_bool(&j, "read_timeout", o.read_timeout);
        }
        pfw_json_end(&j);
        if (!pfw_channel_send(chan, j.buf))
            return 1;
    }
    closesocket(chan);
    return 0;
}
