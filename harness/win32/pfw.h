/* pfw.h - what the Win32 side of pipefault shares: clock, JSON lines and the
 * channel to the host.
 *
 * Every Win32 program the harness runs (agent, client, probe) reports to the
 * host over one TCP connection to 127.0.0.1 (Wine maps winsock onto the host's
 * sockets, and the host can read it with poll()). Lines go up as JSON objects
 * carrying the sender's own clock in "qpc_ns"; the host re-bases them to the
 * trace clock. Lines come down as plain commands ("release 3").
 */
#ifndef PFW_H
#define PFW_H

#include <winsock2.h>
#include <windows.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* QueryPerformanceCounter in nanoseconds. Under Wine this is
 * CLOCK_MONOTONIC_RAW (measured; see docs/win32.md). */
int64_t pfw_now_ns(void);

/* A JSON object built into a fixed buffer; overflow truncates the line and
 * sets `overflow` so that callers can tell (nothing here needs 8 KiB). */
struct pfw_json {
    char buf[8192];
    size_t len;
    bool first;
    bool overflow;
};
/* Starts {"ev":ev,"qpc_ns":now}; ev NULL starts a bare object. */
void pfw_json_begin(struct pfw_json *j, const char *ev);
/* The same with the event's own time (e.g. when an attempt started). */
void pfw_json_begin_at(struct pfw_json *j, const char *ev, int64_t qpc_ns);
void pfw_json_str(struct pfw_json *j, const char *key, const char *val);
void pfw_json_wstr(struct pfw_json *j, const char *key, const wchar_t *val);
void pfw_json_int(struct pfw_json *j, const char *key, int64_t val);
void pfw_json_bool(struct pfw_json *j, const char *key, bool val);
void pfw_json_null(struct pfw_json *j, const char *key);
/* val is already JSON (an object built elsewhere). */
void pfw_json_raw(struct pfw_json *j, const char *key, const char *val);
/* Closes the object and appends '\n'. */
const char *pfw_json_end(struct pfw_json *j);

/* Connects to the host at $PF_CHANNEL ("127.0.0.1:PORT"). Returns the socket
 * or INVALID_SOCKET with a message on stderr. */
SOCKET pfw_channel_open(void);
/* Sends a whole line; serialised by the caller if several threads share it. */
bool pfw_channel_send(SOCKET s, const char *line);
/* Reads one '\n'-terminated line (without the newline) into buf. Returns the
 * length, or -1 on EOF/error. Blocking. */
int pfw_channel_readline(SOCKET s, char *buf, size_t cap);

/* UTF-16 -> UTF-8 into buf (truncating); always NUL-terminated. */
void pfw_utf8(const wchar_t *w, char *buf, size_t cap);
/* Environment variable as int64, or def when unset/invalid. */
int64_t pfw_env_int(const char *name, int64_t def);
/* The raw command line p after its first `skip` arguments (CommandLineToArgvW
 * quoting), to start a program with exactly the arguments that reached us. */
const wchar_t *pfw_args_after(const wchar_t *p, int skip);

/* A job object that kills every process in it when its last handle closes:
 * a program the harness starts dies with the process that started it. NULL
 * when it cannot be made. */
HANDLE pfw_kill_on_close_job(void);

/* STARTUPINFOW that hands our standard handles to the child. */
void pfw_std_startup(STARTUPINFOW *si);
/* Starts the arguments that reached us after the first `skip` suspended,
 * with our standard handles (so that its pid can be told, or it can be put
 * in a job, before it runs). FALSE, GetLastError set, if it could not. */
BOOL pfw_start_suspended(int skip, PROCESS_INFORMATION *pi);

#endif
