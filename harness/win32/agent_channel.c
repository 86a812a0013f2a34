/* agent_channel.c - the agent's end of the host channel: JSON lines up, one
 * at a time whatever thread sends them, and the host's commands down
 * ("release N" for a hold) on a thread of its own.
 */
#include "agent.h"

#include <stdio.h>

SOCKET chan = INVALID_SOCKET;
CRITICAL_SECTION send_lock;   /* one line at a time on the channel */

void send_line(struct pfw_json *j)
{
    const char *line = pfw_json_end(j);
    if (chan == INVALID_SOCKET)
        return;
    EnterCriticalSection(&send_lock);
    if (!pfw_channel_send(chan, line))
        fprintf(stderr, "pipefault agent: lost the host channel\n");
    LeaveCriticalSection(&send_lock);
}

void begin_event(struct pfw_json *j, const char *ev)
{
    pfw_json_begin(j, ev);
    pfw_json_int(j, "pid", GetCurrentProcessId());
    pfw_json_int(j, "tid", GetCurrentThreadId());
}

/* Reads the host's commands ("release N") until the channel closes. */
DWORD WINAPI channel_reader(LPVOID arg)
{
    char line[256];
    while (pfw_channel_readline(chan, line, sizeof line) >= 0) {
        int id;
        if (sscanf(line, "release %d", &id) != 1)
            continue;
        release_hold(id);
    }
    /* Host gone: release every hold so the server is not stuck forever. */
    release_all_holds();
    return 0;
}
