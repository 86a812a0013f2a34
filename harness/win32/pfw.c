/* pfw.c - clock, JSON line building and the host channel (see pfw.h). */
#include "pfw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ws2tcpip.h>

int64_t pfw_now_ns(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER c;
    if (!freq.QuadPart)
        QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&c);
    /* Split to avoid overflow: counts * 1e9 overflows after ~15 min at 10 MHz. */
    int64_t sec = c.QuadPart / freq.QuadPart;
    int64_t rem = c.QuadPart % freq.QuadPart;
    return sec * 1000000000LL + rem * 1000000000LL / freq.QuadPart;
}

static void put(struct pfw_json *j, const char *s, size_t n)
{
    if (j->len + n + 3 > sizeof j->buf) {  /* keep room for "}\n\0" */
        j->overflow = true;
        return;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
}

static void puts_(struct pfw_json *j, const char *s)
{
    put(j, s, strlen(s));
}

static void put_escaped(struct pfw_json *j, const char *s)
{
    put(j, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[8];
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            put(j, tmp, 2);
        } else if (c < 0x20) {
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            put(j, tmp, 6);
        } else {
            put(j, (const char *)&c, 1);
        }
    }
    put(j, "\"", 1);
}

static void key(struct pfw_json *j, const char *k)
{
    if (!j->first)
        put(j, ",", 1);
    j->first = false;
    put_escaped(j, k);
    put(j, ":", 1);
}

void pfw_json_begin_at(struct pfw_json *j, const char *ev, int64_t qpc_ns)
{
    j->len = 0;
    j->first = true;
    j->overflow = false;
    put(j, "{", 1);
    if (ev) {
        pfw_json_str(j, "ev", ev);
        pfw_json_int(j, "qpc_ns", qpc_ns);
    }
}

void pfw_json_begin(struct pfw_json *j, const char *ev)
{
    pfw_json_begin_at(j, ev, ev ? pfw_now_ns() : 0);
}

void pfw_json_str(struct pfw_json *j, const char *k, const char *val)
{
    key(j, k);
    if (val)
        put_escaped(j, val);
    else
        puts_(j, "null");
}

void pfw_json_wstr(struct pfw_json *j, const char *k, const wchar_t *val)
{
    char tmp[2048];
    if (!val) {
        pfw_json_null(j, k);
        return;
    }
    pfw_utf8(val, tmp, sizeof tmp);
    pfw_json_str(j, k, tmp);
}

void pfw_json_int(struct pfw_json *j, const char *k, int64_t val)
{
    char tmp[32];
    key(j, k);
    snprintf(tmp, sizeof tmp, "%lld", (long long)val);
    puts_(j, tmp);
}

void pfw_json_bool(struct pfw_json *j, const char *k, bool val)
{
    key(j, k);
    puts_(j, val ? "true" : "false");
}

void pfw_json_null(struct pfw_json *j, const char *k)
{
    key(j, k);
    puts_(j, "null");
}

void pfw_json_raw(struct pfw_json *j, const char *k, const char *val)
{
    key(j, k);
    puts_(j, val);
}

const char *pfw_json_end(struct pfw_json *j)
{
    /* put() always leaves room for these three bytes. */
    j->buf[j->len++] = '}';
    j->buf[j->len++] = '\n';
    j->buf[j->len] = '\0';
    return j->buf;
}

SOCKET pfw_channel_open(void)
{
    const char *spec = getenv("PF_CHANNEL");
    if (!spec || !*spec) {
        fprintf(stderr, "pipefault: PF_CHANNEL is not set\n");
        return INVALID_SOCKET;
    }
    char host[64];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof host) {
        fprintf(stderr, "pipefault: bad PF_CHANNEL '%s'\n", spec);
        return INVALID_SOCKET;
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    int port = atoi(colon + 1);

    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        fprintf(stderr, "pipefault: WSAStartup failed\n");
        return INVALID_SOCKET;
    }
    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET) {
        fprintf(stderr, "pipefault: socket: %d\n", WSAGetLastError());
        return INVALID_SOCKET;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((u_short)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "pipefault: bad channel host '%s'\n", host);
        closesocket(s);
        return INVALID_SOCKET;
    }
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "pipefault: connect to %s: %d\n", spec, WSAGetLastError());
        closesocket(s);
        return INVALID_SOCKET;
    }
    /* Events are small and the host timestamps nothing itself: no Nagle. */
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    return s;
}

bool pfw_channel_send(SOCKET s, const char *line)
{
    size_t n = strlen(line);
    while (n > 0) {
        int w = send(s, line, (int)(n > 65536 ? 65536 : n), 0);
        if (w <= 0)
            return false;
        line += w;
        n -= (size_t)w;
    }
    return true;
}

int pfw_channel_readline(SOCKET s, char *buf, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char c;
        int r = recv(s, &c, 1, 0);
        if (r <= 0)
            return -1;
        if (c == '\n')
            break;
        if (n + 1 < cap)
            buf[n++] = c;
    }
    buf[n] = '\0';
    return (int)n;
}

void pfw_utf8(const wchar_t *w, char *buf, size_t cap)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, buf, (int)cap, NULL, NULL);
    if (n <= 0) {
        /* Too long for buf: truncate rather than lose it all. */
        buf[0] = '\0';
        size_t i = 0;
        for (; w[i] && i + 1 < cap; i++)
            buf[i] = w[i] < 0x80 ? (char)w[i] : '?';
        buf[i] = '\0';
    }
}

int64_t pfw_env_int(const char *name, int64_t def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    long long x = strtoll(v, &end, 10);
    return *end ? def : (int64_t)x;
}
/* The raw command line after the first `skip` arguments, following the
 * quoting rules of CommandLineToArgvW, so PROGRAM's arguments reach it
 * exactly as they reached us. */
const wchar_t *pfw_args_after(const wchar_t *p, int skip)
{
    for (int i = 0; i < skip; i++) {
        while (*p == L' ' || *p == L'\t')
            p++;
        int quoted = 0;
        while (*p && (quoted || (*p != L' ' && *p != L'\t'))) {
            if (*p == L'\\') {
                /* 2n backslashes + quote: the quote counts; 2n+1: it is literal. */
                size_t n = 0;
                while (*p == L'\\') {
                    p++;
                    n++;
                }
                if (*p == L'"' && n % 2) {
                    p++;
                }
                continue;
            }
            if (*p == L'"')
                quoted = !quoted;
            p++;
        }
    }
    while (*p == L' ' || *p == L'\t')
        p++;
    return p;
}

HANDLE pfw_kill_on_close_job(void)
{
    HANDLE job = CreateJobObjectW(NULL, NULL);
    if (!job)
        return NULL;
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION lim;
    ZeroMemory(&lim, sizeof lim);
    lim.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    SetInformationJobObject(job, JobObjectExtendedLimitInformation, &lim, sizeof lim);
    return job;
}

void pfw_std_startup(STARTUPINFOW *si)
{
    ZeroMemory(si, sizeof *si);
    si->cb = sizeof *si;
    si->dwFlags = STARTF_USESTDHANDLES;
    si->hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si->hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
    si->hStdError = GetStdHandle(STD_ERROR_HANDLE);
}

BOOL pfw_start_suspended(int skip, PROCESS_INFORMATION *pi)
{
    STARTUPINFOW si;
    pfw_std_startup(&si);
    /* CreateProcessW may write into the command line: a copy of our own. */
    wchar_t *cmdline = _wcsdup(pfw_args_after(GetCommandLineW(), skip));
    if (!cmdline) {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return FALSE;
    }
    BOOL ok = CreateProcessW(NULL, cmdline, NULL, NULL, TRUE, CREATE_SUSPENDED, NULL, NULL, &si,
                             pi);
    DWORD err = GetLastError();
    free(cmdline);
    SetLastError(err);
    return ok;
}
