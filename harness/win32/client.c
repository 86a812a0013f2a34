/* client.c - a harness client: connects to the pipe on the scenario's schedule.
 *
 * Usage: client.exe PIPE LABEL ACCOUNT ATTEMPTS INTERVAL_NS START_NS
 *                   PROTOCOL READ_TIMEOUT_NS SEND_HEX EXPECT_HEX all|accepting
 * Waits START_NS, then makes ATTEMPTS connection attempts INTERVAL_NS apart.
 * With `accepting` (the scenario's `until: accepting`) only attempts that
 * reached an instance count -- not ERROR_FILE_NOT_FOUND (no instance has
 * the name) nor ERROR_PIPE_BUSY (none is waiting for a client) -- and it
 * keeps trying until ATTEMPTS of them were made; the run's timeout bounds it.
 * One attempt: CreateFileW on the pipe; on ERROR_PIPE_BUSY, WaitNamedPipeW
 * ($PF_CLIENT_WAIT_MS, default 1000) and one more CreateFileW. Connected, it
 * follows PROTOCOL (the scenario's `protocol`):
 *   reply    reads until the server closes its end (the fixtures reply "ok\n"
 *            and close) or READ_TIMEOUT_NS passed;
 *   connect  closes at once: the connect was the test;
 *   send     writes the SEND_HEX bytes, then reads until the reply starts
 *            with the EXPECT_HEX bytes (any bytes when EXPECT_HEX is "-"), the
 *            server closes its end, or READ_TIMEOUT_NS passed.
 * The bytes travel hex-encoded: a command line cannot carry every byte.
 * It closes its own handle, and only then reports the attempt: so an
 * `attempt` event means the client's end is gone, which is what a
 * `hold ... until: {account, event: attempt}` fault relies on. Each attempt
 * is one `attempt` event on the host channel ($PF_CHANNEL), with `peer_pid`:
 * the pid GetNamedPipeServerProcessId gave for the instance it reached.
 */
#include "pfw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

enum { REPLY_HEAD = 32, MAX_BYTES = 4096 };

/* The attempt's `reply`, as on Linux (docs/trace.md). */
static const char *const reply_names[] = {"none", "matched", "mismatch", "eof", "timeout"};
enum reply { REPLY_NONE, REPLY_MATCHED, REPLY_MISMATCH, REPLY_EOF, REPLY_TIMEOUT };

struct protocol {
    const char *name;   /* reply | connect | send */
    DWORD read_ms;
    char send[MAX_BYTES];
    size_t nsend;
    char expect[MAX_BYTES];
    size_t nexpect;
    bool has_expect;
};

struct outcome {
    DWORD err;          /* 0: connected */
    bool waited;        /* went through WaitNamedPipeW */
    enum reply reply;
    char head[REPLY_HEAD];   /* the reply's first bytes */
    size_t nhead;
    ULONG server_pid;   /* who holds the instance reached (0: unknown) */
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

/* Waits for an overlapped operation on h until `deadline` (GetTickCount
 * ms); returns false (cancelled) when the time ran out, else its result. */
static BOOL finish(HANDLE h, OVERLAPPED *ov, BOOL started, DWORD deadline, DWORD *n,
                   bool *timed_out)
{
    *timed_out = false;
    if (started)
        return GetOverlappedResult(h, ov, n, FALSE);
    if (GetLastError() != ERROR_IO_PENDING)
        return FALSE;
    DWORD left = deadline - GetTickCount();
    if ((int)left <= 0 || WaitForSingleObject(ov->hEvent, left) != WAIT_OBJECT_0) {
        CancelIo(h);
        GetOverlappedResult(h, ov, n, TRUE);
        *timed_out = true;
        return FALSE;
    }
    return GetOverlappedResult(h, ov, n, FALSE);
}

/* Writes the whole of `data`; false when the server's end is gone or the
 * time ran out (then *timed_out). */
static bool write_all(HANDLE h, HANDLE ev, const char *data, size_t len, DWORD deadline,
                      bool *timed_out)
{
    while (len) {
        OVERLAPPED ov;
        ZeroMemory(&ov, sizeof ov);
        ov.hEvent = ev;
        ResetEvent(ev);
        DWORD n = 0;
        BOOL ok = finish(h, &ov, WriteFile(h, data, (DWORD)len, NULL, &ov), deadline, &n,
                         timed_out);
        if (!ok || n == 0)
            return false;
        data += n;
        len -= n;
    }
    return true;
}

/* Reads the reply. `expect` NULL: any bytes match. `to_eof`: keep reading
 * to end of file (protocol reply: the fixtures' whole answer), else stop
 * at the first bytes that decide the outcome. */
static void read_reply(HANDLE h, HANDLE ev, const char *expect, size_t nexpect, bool to_eof,
                       DWORD deadline, struct outcome *o)
{
    size_t got = 0;
    bool matched = false;
    for (;;) {
        char buf[256];
        size_t want = sizeof buf;
        if (expect && !matched && nexpect - got < want)
            want = nexpect - got;
        OVERLAPPED ov;
        ZeroMemory(&ov, sizeof ov);
        ov.hEvent = ev;
        ResetEvent(ev);
        DWORD n = 0;
        bool timed_out;
        BOOL ok = finish(h, &ov, ReadFile(h, buf, (DWORD)want, NULL, &ov), deadline, &n,
                         &timed_out);
        if (timed_out) {
            o->reply = matched ? REPLY_MATCHED : REPLY_TIMEOUT;
            return;
        }
        if (!ok && GetLastError() == ERROR_MORE_DATA)
            ok = TRUE;   /* message mode: the rest of the message follows */
        if (!ok || n == 0) {   /* ERROR_BROKEN_PIPE: the server closed its end */
            o->reply = matched ? REPLY_MATCHED : got ? REPLY_MISMATCH : REPLY_EOF;
            return;
        }
        if (o->nhead < REPLY_HEAD) {
            size_t room = REPLY_HEAD - o->nhead, take = n < room ? n : room;
            memcpy(o->head + o->nhead, buf, take);
            o->nhead += take;
        }
        if (!matched && expect && memcmp(buf, expect + got, n)) {
            o->reply = REPLY_MISMATCH;
            return;
        }
        got += n;
        matched = matched || !expect || got >= nexpect;
        if (matched && !to_eof) {
            o->reply = REPLY_MATCHED;
            return;
        }
    }
}

static void converse(HANDLE h, const struct protocol *p, struct outcome *o)
{
    if (!strcmp(p->name, "connect"))
        return;
    HANDLE ev = CreateEventW(NULL, TRUE, FALSE, NULL);
    DWORD deadline = GetTickCount() + p->read_ms;
    if (!strcmp(p->name, "send")) {
        bool timed_out = false;
        if (!write_all(h, ev, p->send, p->nsend, deadline, &timed_out))
            o->reply = timed_out ? REPLY_TIMEOUT : REPLY_EOF;
        else
            read_reply(h, ev, p->has_expect ? p->expect : NULL, p->nexpect, false, deadline, o);
    } else {
        read_reply(h, ev, NULL, 0, true, deadline, o);
    }
    CloseHandle(ev);
}

static void attempt(const wchar_t *pipe, const struct protocol *p, struct outcome *o,
                    DWORD wait_ms)
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
    /* Who served: the process holding the server end of this instance,
     * the evidence for the attempt's served_by. */
    if (!GetNamedPipeServerProcessId(h, &o->server_pid))
        o->server_pid = 0;
    converse(h, p, o);
    CloseHandle(h);
}

/* "-": no bytes; else two hex digits a byte. False on anything else. */
static bool unhex(const wchar_t *s, char *out, size_t cap, size_t *n, bool *given)
{
    *n = 0;
    *given = wcscmp(s, L"-") != 0;
    if (!*given)
        return true;
    size_t len = wcslen(s);
    if (len % 2 || len / 2 > cap)
        return false;
    for (size_t i = 0; i < len; i += 2) {
        wchar_t pair[3] = {s[i], s[i + 1], 0}, *end;
        long v = wcstol(pair, &end, 16);
        if (*end || !iswxdigit(s[i]) || !iswxdigit(s[i + 1]))
            return false;
        out[(*n)++] = (char)v;
    }
    return true;
}

/* The reply's first bytes: printable ASCII as is, others as \xNN. */
static void head_text(const struct outcome *o, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < o->nhead && n + 5 < cap; i++) {
        unsigned char c = (unsigned char)o->head[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, cap - n, "\\x%02x", c);
    }
    out[n] = 0;
}

static void sleep_ns(int64_t ns)
{
    if (ns > 0)
        Sleep((DWORD)((ns + 999999) / 1000000));
}

int wmain(int argc, wchar_t **argv);  /* -municode entry point */
int wmain(int argc, wchar_t **argv)
{
    static struct protocol p;
    bool given;
    if (argc != 12 || (wcscmp(argv[11], L"all") && wcscmp(argv[11], L"accepting")) ||
        (wcscmp(argv[7], L"reply") && wcscmp(argv[7], L"connect") &&
                       wcscmp(argv[7], L"send")) ||
        !unhex(argv[9], p.send, sizeof p.send, &p.nsend, &given) ||
        !unhex(argv[10], p.expect, sizeof p.expect, &p.nexpect, &p.has_expect)) {
        fprintf(stderr, "usage: client.exe PIPE LABEL ACCOUNT ATTEMPTS INTERVAL_NS START_NS "
                "reply|connect|send READ_TIMEOUT_NS SEND_HEX|- EXPECT_HEX|- all|accepting\n");
        return 2;
    }
    p.name = !wcscmp(argv[7], L"reply") ? "reply" : !wcscmp(argv[7], L"connect") ? "connect"
                                                                                  : "send";
    int64_t read_ns = _wcstoi64(argv[8], NULL, 10);
    p.read_ms = (DWORD)((read_ns + 999999) / 1000000);
    const wchar_t *pipe = argv[1];
    long attempts = wcstol(argv[4], NULL, 10);
    int64_t interval = _wcstoi64(argv[5], NULL, 10);
    int64_t start = _wcstoi64(argv[6], NULL, 10);
    DWORD wait_ms = (DWORD)pfw_env_int("PF_CLIENT_WAIT_MS", 1000);

    SOCKET chan = pfw_channel_open();
    if (chan == INVALID_SOCKET)
        return 1;
    struct pfw_json j;
    pfw_json_begin(&j, "hello");
    pfw_json_str(&j, "role", "client");
    pfw_json_int(&j, "pid", GetCurrentProcessId());
    pfw_json_wstr(&j, "client", argv[2]);
    pfw_json_wstr(&j, "account", argv[3]);
    pfw_json_end(&j);
    if (!pfw_channel_send(chan, j.buf))
        return 1;

    bool until_accepting = !wcscmp(argv[11], L"accepting");
    sleep_ns(start);
    for (long i = 0, counted = 0; counted < attempts; i++) {
        if (i > 0)
            sleep_ns(interval);
        struct outcome o;
        int64_t t0 = pfw_now_ns();
        attempt(pipe, &p, &o, wait_ms);
        int64_t t1 = pfw_now_ns();
        char ebuf[32];
        pfw_json_begin_at(&j, "attempt", t0);
        pfw_json_wstr(&j, "client", argv[2]);
        pfw_json_wstr(&j, "account", argv[3]);
        pfw_json_int(&j, "pid", GetCurrentProcessId());
        pfw_json_str(&j, "op", "connect");
        pfw_json_str(&j, "outcome", error_name(o.err, ebuf, sizeof ebuf));
        pfw_json_int(&j, "errno", o.err);
        pfw_json_bool(&j, "served", o.reply == REPLY_MATCHED);
        pfw_json_int(&j, "t_end_qpc_ns", t1);
        pfw_json_null(&j, "instance");
        if (o.server_pid)
            pfw_json_int(&j, "peer_pid", (int64_t)o.server_pid);
        else
            pfw_json_null(&j, "peer_pid");
        pfw_json_bool(&j, "waited", o.waited);
        /* Not on the name, or no instance waiting: it reached no instance. */
        bool reached = o.err != ERROR_FILE_NOT_FOUND && o.err != ERROR_PIPE_BUSY;
        if (!until_accepting || reached)
            counted++;
        if (until_accepting)
            pfw_json_bool(&j, "counted", reached);
        pfw_json_str(&j, "protocol", p.name);
        pfw_json_str(&j, "reply", reply_names[o.reply]);
        if (o.nhead) {
            char head[REPLY_HEAD * 4 + 1];
            head_text(&o, head, sizeof head);
            pfw_json_str(&j, "reply_head", head);
        }
        pfw_json_end(&j);
        if (!pfw_channel_send(chan, j.buf))
            return 1;
    }
    closesocket(chan);
    return 0;
}
