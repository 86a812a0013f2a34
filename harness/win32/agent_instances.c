/* agent_instances.c - the instance table: every pipe instance the server
 * created, by handle, and the facts the agent reports about it (birth, SD
 * changes, removal, the client a connection came from, connects still
 * pending). It exists apart from the hooks so that what is recorded, and
 * how it goes on the channel, is in one place whichever hook saw the call.
 */
#include "agent.h"
#include "sdnorm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct instance {
    HANDLE h;
    int id;
    wchar_t name[256];
};
/* Grows with the live instances: no cap. */
static struct instance *live;
static size_t nlive, live_cap;
static int next_instance_id;

/* Overlapped ConnectNamedPipe calls still pending: the OVERLAPPED the server
 * passed names the instance when the completion is collected. */
struct pending_connect {
    LPOVERLAPPED ov;
    HANDLE h;
    int id;
};
#define MAX_PENDING 256
static struct pending_connect pending[MAX_PENDING];
static size_t npending;

static struct instance *find_instance(HANDLE h)
{
    for (size_t i = 0; i < nlive; i++)
        if (live[i].h == h)
            return &live[i];
    return NULL;
}

int instance_id(HANDLE h)
{
    EnterCriticalSection(&state_lock);
    struct instance *in = find_instance(h);
    int id = in ? in->id : 0;
    LeaveCriticalSection(&state_lock);
    return id;
}

/* FilePipeLocalInformation (class 24): CurrentInstances counts the live
 * instances of the pipe name, the new one included. */
typedef struct {
    ULONG NamedPipeType, NamedPipeConfiguration, MaximumInstances, CurrentInstances,
        InboundQuota, ReadDataAvailable, OutboundQuota, WriteQuotaAvailable,
        NamedPipeState, NamedPipeEnd;
} pipe_local_info;
typedef struct { union { LONG Status; PVOID Pointer; } u; ULONG_PTR Information; } io_status;
typedef LONG (NTAPI *query_info_fn)(HANDLE, io_status *, PVOID, ULONG, ULONG);

static long current_instances(HANDLE h)
{
    static query_info_fn query;
    if (!query)
        query = (query_info_fn)(void (*)(void))real_GetProcAddress(
            GetModuleHandleW(L"ntdll.dll"), "NtQueryInformationFile");
    pipe_local_info info;
    io_status io;
    if (!query || query(h, &io, &info, sizeof info, 24) < 0)
        return -1;
    return (long)info.CurrentInstances;
}

void record_birth(HANDLE h, const wchar_t *name, bool sd_passed, int first, int64_t t_call)
{
    struct pfw_json j;
    char perm[4096], key[64];
    long count = current_instances(h);
    pfw_perm_of_handle(h, perm, sizeof perm);

    EnterCriticalSection(&state_lock);
    int id = ++next_instance_id;
    if (nlive == live_cap) {
        size_t cap = live_cap ? 2 * live_cap : 64;
        struct instance *grown = realloc(live, cap * sizeof *live);
        if (!grown) {
            /* Out of memory inside the server: it cannot go on honestly. */
            fprintf(stderr, "pipefault agent: out of memory for the instance table\n");
            fflush(stderr);
            ExitProcess(3);
        }
        live = grown;
        live_cap = cap;
    }
    live[nlive].h = h;
    live[nlive].id = id;
    wcsncpy(live[nlive].name, name, 255);
    live[nlive].name[255] = L'\0';
    nlive++;
    LeaveCriticalSection(&state_lock);

    snprintf(key, sizeof key, "%lu:%p", GetCurrentProcessId(), (void *)h);
    begin_event(&j, "instance_birth");
    pfw_json_int(&j, "t_call_ns", t_call);
    pfw_json_int(&j, "id", id);
    pfw_json_wstr(&j, "endpoint", name);
    pfw_json_str(&j, "key", key);
    pfw_json_raw(&j, "perm", perm);
    pfw_json_str(&j, "evidence", "win-agent");
    if (count >= 1)
        pfw_json_bool(&j, "created_name", count == 1);
    else
        pfw_json_null(&j, "created_name");
    pfw_json_int(&j, "instance_count", count);
    pfw_json_bool(&j, "sa_passed", sd_passed);
    if (first >= 0)
        pfw_json_bool(&j, "first_pipe_instance", first == 1);
    else
        pfw_json_null(&j, "first_pipe_instance");
    pfw_json_int(&j, "handle", (int64_t)(intptr_t)h);
    send_line(&j);
}

/* After a secure op the pipe's one SD changed for every instance of the name. */
void record_perm_change(HANDLE h)
{
    char perm[4096];
    pfw_perm_of_handle(h, perm, sizeof perm);
    /* Under the lock throughout: the set of live instances must not change
     * while it is reported (send_line never takes state_lock). */
    EnterCriticalSection(&state_lock);
    struct instance *in = find_instance(h);
    for (size_t i = 0; in && i < nlive; i++) {
        if (_wcsicmp(live[i].name, in->name))
            continue;
        struct pfw_json j;
        begin_event(&j, "instance_perm");
        pfw_json_int(&j, "id", live[i].id);
        pfw_json_raw(&j, "perm", perm);
        pfw_json_str(&j, "evidence", "win-agent");
        send_line(&j);
    }
    LeaveCriticalSection(&state_lock);
}

void record_removed(HANDLE h)
{
    EnterCriticalSection(&state_lock);
    int id = 0;
    for (size_t i = 0; i < nlive; i++) {
        if (live[i].h == h) {
            id = live[i].id;
            live[i] = live[--nlive];
            break;
        }
    }
    LeaveCriticalSection(&state_lock);
    if (!id)
        return;
    struct pfw_json j;
    begin_event(&j, "instance_removed");
    pfw_json_int(&j, "id", id);
    pfw_json_str(&j, "evidence", "close-handle");
    send_line(&j);
}

/* A client is connected to the instance: tells the host which client
 * process, so that its attempt can name the instance it reached. Not a
 * trace event of its own. (An overlapped ConnectNamedPipe completes later,
 * unseen: those attempts keep instance null.) */
void record_connected(HANDLE h, int id)
{
    ULONG pid = 0;
    if (!GetNamedPipeClientProcessId(h, &pid))
        return;
    struct pfw_json j;
    pfw_json_begin(&j, "connected");
    pfw_json_int(&j, "id", id);
    pfw_json_int(&j, "client_pid", (int64_t)pid);
    send_line(&j);
}

/* A server-end pipe handle the agent never saw created: the run cannot
 * attribute anything on it, so the host turns this into the run's error. */
void report_unseen(HANDLE h, const char *fn)
{
    DWORD flags = 0;
    if (!GetNamedPipeInfo(h, &flags, NULL, NULL, NULL) || !(flags & PIPE_SERVER_END))
        return;
    char how[128];
    snprintf(how, sizeof how, "%s on pipe handle %p", fn, (void *)h);
    struct pfw_json j;
    begin_event(&j, "unseen_instance");
    pfw_json_int(&j, "handle", (int64_t)(intptr_t)h);
    pfw_json_str(&j, "how", how);
    send_line(&j);
}

void remember_pending(LPOVERLAPPED ov, HANDLE h, int id)
{
    EnterCriticalSection(&state_lock);
    size_t i = 0;
    while (i < npending && pending[i].ov != ov)
        i++;
    if (i == npending && npending < MAX_PENDING)
        npending++;
    if (i < npending) {
        pending[i].ov = ov;
        pending[i].h = h;
        pending[i].id = id;
    } else {
        fprintf(stderr, "pipefault agent: more than %d pending connects; "
                "their instances stay unknown\n", MAX_PENDING);
    }
    LeaveCriticalSection(&state_lock);
}

/* The completion of a pending overlapped connect was collected: the
 * instance it was started on is connected now. */
void completed(LPOVERLAPPED ov)
{
    HANDLE h = NULL;
    int id = 0;
    EnterCriticalSection(&state_lock);
    for (size_t i = 0; i < npending; i++)
        if (pending[i].ov == ov) {
            h = pending[i].h;
            id = pending[i].id;
            pending[i] = pending[--npending];
            break;
        }
    LeaveCriticalSection(&state_lock);
    if (id)
        record_connected(h, id);
}

void forget_pending(HANDLE h)
{
    EnterCriticalSection(&state_lock);
    for (size_t i = 0; i < npending;)
        if (pending[i].h == h)
            pending[i] = pending[--npending];
        else
            i++;
    LeaveCriticalSection(&state_lock);
}

void record_call(enum pf_fault_op op, const char *name, const wchar_t *path,
                        HANDLE h, int instance)
{
    struct pfw_json j;
    begin_event(&j, "syscall");
    pfw_json_str(&j, "op", pf_fault_op_name(op));
    pfw_json_str(&j, "name", name);
    if (path)
        pfw_json_wstr(&j, "path", path);
    else
        pfw_json_int(&j, "handle", (int64_t)(intptr_t)h);
    if (instance > 0)
        pfw_json_int(&j, "instance", instance);
    else
        pfw_json_null(&j, "instance");
    send_line(&j);
}
