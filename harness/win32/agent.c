/* agent.c - the in-process agent: sees every pipe instance the server makes,
 * and injects the scenario's faults inside the calls.
 *
 * launch.exe loads this DLL into the suspended, unmodified server. DllMain
 * starts an init thread (nothing that takes the loader lock may run inside
 * DllMain) which connects to the host channel ($PF_CHANNEL), reads the fault
 * rules ($PF_FAULTS), installs the hooks (hooks.h) and then sets the named
 * event the launcher waits on before it resumes the server, so the server's
 * first instruction already runs hooked.
 *
 * Operations, as the scenario names them:
 *   create = CreateNamedPipeW/A        accept = ConnectNamedPipe
 *   close  = CloseHandle on a pipe instance, DisconnectNamedPipe
 *   secure = SetSecurityInfo / SetKernelObjectSecurity on a pipe instance
 * `before` faults run before the real call, `after` faults after it returned,
 * both on the server's own thread, so they are exact. A `hold` sends a
 * `fault` event with a hold number and waits for "release N" from the host
 * (which decides when the rule's `until` happened), or for the timeout.
 *
 * For every instance it reports the facts only the server's process can see
 * at that instant: the security descriptor read from the new handle, whether
 * the create made the pipe name or joined an existing one (the pipe's
 * CurrentInstances: 1 means the name was new), and whether an SD was passed.
 */
#include "pfw.h"
#include "hooks.h"
#include "sdnorm.h"
#include "faults.h"

#include <aclapi.h>
#include <winternl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- state ------------------------------------------------------------ */

static SOCKET chan = INVALID_SOCKET;
static CRITICAL_SECTION send_lock;   /* one line at a time on the channel */
static CRITICAL_SECTION state_lock;  /* instances, fault states, holds */
static HMODULE self;

#define MAX_RULES 64
static struct pf_fault rules[MAX_RULES];
static int rule_index[MAX_RULES];    /* index in the scenario's `faults:` */
static struct pf_fault_state rule_state[MAX_RULES];
static size_t nrules;
static uint64_t run_seed;

struct instance {
    HANDLE h;
    int id;
    wchar_t name[256];
};
#define MAX_INSTANCES 4096
static struct instance live[MAX_INSTANCES];
static size_t nlive;
static int next_instance_id;

struct hold {
    int id;
    HANDLE released;
    bool used;
};
#define MAX_HOLDS 64
static struct hold holds[MAX_HOLDS];
static int next_hold_id;

/* Calls the agent makes itself (and real functions calling back into a
 * hooked name) must pass straight through. */
static _Thread_local int depth;

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

/* ---- real functions --------------------------------------------------- */

typedef HANDLE (WINAPI *create_w_fn)(LPCWSTR, DWORD, DWORD, DWORD, DWORD, DWORD, DWORD,
                                     LPSECURITY_ATTRIBUTES);
typedef HANDLE (WINAPI *create_a_fn)(LPCSTR, DWORD, DWORD, DWORD, DWORD, DWORD, DWORD,
                                     LPSECURITY_ATTRIBUTES);
typedef BOOL (WINAPI *connect_fn)(HANDLE, LPOVERLAPPED);
typedef BOOL (WINAPI *overlapped_result_fn)(HANDLE, LPOVERLAPPED, LPDWORD, BOOL);
typedef BOOL (WINAPI *overlapped_result_ex_fn)(HANDLE, LPOVERLAPPED, LPDWORD, DWORD, BOOL);
typedef BOOL (WINAPI *queued_status_fn)(HANDLE, LPDWORD, PULONG_PTR, LPOVERLAPPED *, DWORD);
typedef BOOL (WINAPI *queued_status_ex_fn)(HANDLE, LPOVERLAPPED_ENTRY, ULONG, PULONG, DWORD,
                                           BOOL);
typedef BOOL (WINAPI *handle_fn)(HANDLE);
typedef DWORD (WINAPI *set_security_info_fn)(HANDLE, SE_OBJECT_TYPE, SECURITY_INFORMATION,
                                             PSID, PSID, PACL, PACL);
typedef BOOL (WINAPI *set_kobj_security_fn)(HANDLE, SECURITY_INFORMATION,
                                            PSECURITY_DESCRIPTOR);
typedef FARPROC (WINAPI *get_proc_fn)(HMODULE, LPCSTR);
typedef HMODULE (WINAPI *load_w_fn)(LPCWSTR);
typedef HMODULE (WINAPI *load_a_fn)(LPCSTR);
typedef HMODULE (WINAPI *load_ex_w_fn)(LPCWSTR, HANDLE, DWORD);
typedef HMODULE (WINAPI *load_ex_a_fn)(LPCSTR, HANDLE, DWORD);
typedef NTSTATUS (NTAPI *nt_create_pipe_fn)(PHANDLE, ULONG, POBJECT_ATTRIBUTES,
                                            PIO_STATUS_BLOCK, ULONG, ULONG, ULONG, ULONG, ULONG,
                                            ULONG, ULONG, ULONG, ULONG, PLARGE_INTEGER);

static create_w_fn real_CreateNamedPipeW;
static create_a_fn real_CreateNamedPipeA;
static connect_fn real_ConnectNamedPipe;
static overlapped_result_fn real_GetOverlappedResult;
static overlapped_result_ex_fn real_GetOverlappedResultEx;
static queued_status_fn real_GetQueuedCompletionStatus;
static queued_status_ex_fn real_GetQueuedCompletionStatusEx;
static handle_fn real_DisconnectNamedPipe;
static handle_fn real_CloseHandle;
static set_security_info_fn real_SetSecurityInfo;
static set_kobj_security_fn real_SetKernelObjectSecurity;
static get_proc_fn real_GetProcAddress;
static load_w_fn real_LoadLibraryW;
static load_a_fn real_LoadLibraryA;
static load_ex_w_fn real_LoadLibraryExW;
static load_ex_a_fn real_LoadLibraryExA;
static nt_create_pipe_fn real_NtCreateNamedPipeFile;

/* ---- channel ---------------------------------------------------------- */

static void send_line(struct pfw_json *j)
{
    const char *line = pfw_json_end(j);
    if (chan == INVALID_SOCKET)
        return;
    EnterCriticalSection(&send_lock);
    if (!pfw_channel_send(chan, line))
        fprintf(stderr, "pipefault agent: lost the host channel\n");
    LeaveCriticalSection(&send_lock);
}

static void begin_event(struct pfw_json *j, const char *ev)
{
    pfw_json_begin(j, ev);
    pfw_json_int(j, "pid", GetCurrentProcessId());
    pfw_json_int(j, "tid", GetCurrentThreadId());
}

/* ---- instances -------------------------------------------------------- */

static struct instance *find_instance(HANDLE h)
{
    for (size_t i = 0; i < nlive; i++)
        if (live[i].h == h)
            return &live[i];
    return NULL;
}

static int instance_id(HANDLE h)
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

static void record_birth(HANDLE h, const wchar_t *name, bool sd_passed, int64_t t_call)
{
    struct pfw_json j;
    char perm[4096], key[64];
    long count = current_instances(h);
    pfw_perm_of_handle(h, perm, sizeof perm);

    EnterCriticalSection(&state_lock);
    int id = ++next_instance_id;
    if (nlive < MAX_INSTANCES) {
        live[nlive].h = h;
        live[nlive].id = id;
        wcsncpy(live[nlive].name, name, 255);
        live[nlive].name[255] = L'\0';
        nlive++;
    }
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
    pfw_json_int(&j, "handle", (int64_t)(intptr_t)h);
    send_line(&j);
}

/* After a secure op the pipe's one SD changed for every instance of the name. */
static void record_perm_change(HANDLE h)
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

static void record_removed(HANDLE h)
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
static void record_connected(HANDLE h, int id)
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
static void report_unseen(HANDLE h, const char *fn)
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

static void remember_pending(LPOVERLAPPED ov, HANDLE h, int id)
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
static void completed(LPOVERLAPPED ov)
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

static void forget_pending(HANDLE h)
{
    EnterCriticalSection(&state_lock);
    for (size_t i = 0; i < npending;)
        if (pending[i].h == h)
            pending[i] = pending[--npending];
        else
            i++;
    LeaveCriticalSection(&state_lock);
}

static void record_call(enum pf_fault_op op, const char *name, const wchar_t *path,
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

/* ---- faults ----------------------------------------------------------- */

static void fault_event(size_t r, const char *decision, int64_t delay_ns, int err,
                        const char *reason, int hold_id, int instance)
{
    struct pfw_json j;
    begin_event(&j, "fault");
    pfw_json_str(&j, "op", pf_fault_op_name(rules[r].op));
    pfw_json_str(&j, "phase", pf_fault_phase_name(rules[r].phase));
    pfw_json_str(&j, "action", pf_fault_action_name(rules[r].action));
    pfw_json_int(&j, "rule", rule_index[r]);
    pfw_json_str(&j, "decision", decision);
    pfw_json_int(&j, "delay_ns", delay_ns);
    pfw_json_int(&j, "errno", err);
    pfw_json_str(&j, "reason", reason);
    if (hold_id)
        pfw_json_int(&j, "hold", hold_id);
    if (instance > 0)
        pfw_json_int(&j, "instance", instance);
    else
        pfw_json_null(&j, "instance");
    if (rules[r].until_account)
        pfw_json_str(&j, "until_account", rules[r].until_account);
    if (rules[r].until_event)
        pfw_json_str(&j, "until_event", rules[r].until_event);
    send_line(&j);
}

/* Sleeps for ns with sub-millisecond precision where the timer allows it. */
static void sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    HANDLE t = CreateWaitableTimerW(NULL, TRUE, NULL);
    if (t) {
        LARGE_INTEGER due;
        due.QuadPart = -(ns / 100 > 0 ? ns / 100 : 1);  /* relative, 100 ns units */
        if (SetWaitableTimer(t, &due, 0, NULL, NULL, FALSE)) {
            WaitForSingleObject(t, INFINITE);
            real_CloseHandle(t);
            return;
        }
        real_CloseHandle(t);
    }
    Sleep((DWORD)((ns + 999999) / 1000000));
}

static void hold(size_t r, int instance)
{
    EnterCriticalSection(&state_lock);
    struct hold *slot = NULL;
    for (int i = 0; i < MAX_HOLDS; i++)
        if (!holds[i].used) {
            slot = &holds[i];
            break;
        }
    int id = ++next_hold_id;
    if (slot) {
        slot->used = true;
        slot->id = id;
        slot->released = CreateEventW(NULL, TRUE, FALSE, NULL);
    }
    LeaveCriticalSection(&state_lock);
    fault_event(r, "held", 0, 0, NULL, id, instance);

    DWORD ms = (DWORD)((rules[r].timeout_ns + 999999) / 1000000);
    DWORD w = slot && slot->released ? WaitForSingleObject(slot->released, ms)
                                     : (Sleep(ms), WAIT_TIMEOUT);
    fault_event(r, w == WAIT_OBJECT_0 ? "released" : "timed-out", 0, 0, NULL, id, instance);

    EnterCriticalSection(&state_lock);
    if (slot) {
        if (slot->released)
            real_CloseHandle(slot->released);
        slot->used = false;
    }
    LeaveCriticalSection(&state_lock);
}

/* Runs every rule for (op, phase) in file order. Returns the Win32 error a
 * `fail` rule asks for, or 0. */
static DWORD run_faults(enum pf_fault_op op, enum pf_fault_phase phase, int instance)
{
    DWORD fail = 0;
    for (size_t r = 0; r < nrules; r++) {
        if (rules[r].op != op || rules[r].phase != phase)
            continue;
        EnterCriticalSection(&state_lock);
        struct pf_fault_decision d = pf_fault_decide(&rules[r], &rule_state[r]);
        LeaveCriticalSection(&state_lock);
        if (!d.fire) {
            fault_event(r, "skipped", 0, 0, d.reason, 0, instance);
            continue;
        }
        switch (d.action) {
        case PF_ACT_DELAY:
            fault_event(r, "delayed", d.delay_ns, 0, NULL, 0, instance);
            sleep_ns(d.delay_ns);
            break;
        case PF_ACT_HOLD:
            hold(r, instance);
            break;
        case PF_ACT_FAIL:
            fault_event(r, "failed", 0, d.err, NULL, 0, instance);
            if (!fail)
                fail = (DWORD)d.err;
            break;
        }
    }
    return fail;
}

/* ---- hooks ------------------------------------------------------------ */

/* The `create` op around one real create: the syscall event, the faults
 * and the birth. `call` makes the instance and returns its handle, or
 * INVALID_HANDLE_VALUE (its own error stays with the caller's context).
 * Returns the handle, or INVALID_HANDLE_VALUE with *fault_err set when a
 * `fail` rule decided (0 when the real call failed by itself). */
static HANDLE create_common(const wchar_t *name, const char *fn, bool sd_passed,
                            HANDLE (*call)(void *), void *ctx, DWORD *fault_err)
{
    int64_t t_call = pfw_now_ns();
    *fault_err = 0;
    record_call(PF_OP_CREATE, fn, name, NULL, 0);
    DWORD fail = run_faults(PF_OP_CREATE, PF_PHASE_BEFORE, 0);
    if (fail) {
        *fault_err = fail;
        return INVALID_HANDLE_VALUE;
    }
    HANDLE h = call(ctx);
    if (h != INVALID_HANDLE_VALUE)
        record_birth(h, name, sd_passed, t_call);
    fail = run_faults(PF_OP_CREATE, PF_PHASE_AFTER, h != INVALID_HANDLE_VALUE ? instance_id(h) : 0);
    if (fail && h != INVALID_HANDLE_VALUE) {
        real_CloseHandle(h);
        record_removed(h);
        *fault_err = fail;
        return INVALID_HANDLE_VALUE;
    }
    return h;
}

/* The Win32 creates: the real call's last error survives the agent's own
 * calls; a fault's error replaces it. */
struct keep_error {
    HANDLE (*call)(void *);
    void *ctx;
    DWORD err;
};
static HANDLE call_keeping_error(void *p)
{
    struct keep_error *k = p;
    HANDLE h = k->call(k->ctx);
    k->err = GetLastError();
    return h;
}

static HANDLE create_win32(const wchar_t *name, const char *fn, LPSECURITY_ATTRIBUTES sa,
                           HANDLE (*call)(void *), void *ctx)
{
    struct keep_error inner = {call, ctx, 0};
    DWORD fault_err;
    HANDLE h = create_common(name, fn, sa && sa->lpSecurityDescriptor, call_keeping_error,
                             &inner, &fault_err);
    SetLastError(fault_err ? fault_err : inner.err);
    return h;
}

struct create_w_args {
    LPCWSTR name; DWORD open, pipe, max, out, in, timeout; LPSECURITY_ATTRIBUTES sa;
};
static HANDLE call_create_w(void *p)
{
    struct create_w_args *a = p;
    return real_CreateNamedPipeW(a->name, a->open, a->pipe, a->max, a->out, a->in,
                                 a->timeout, a->sa);
}

static HANDLE WINAPI hook_CreateNamedPipeW(LPCWSTR name, DWORD open, DWORD pipe, DWORD max,
                                           DWORD out, DWORD in, DWORD timeout,
                                           LPSECURITY_ATTRIBUTES sa)
{
    if (depth)
        return real_CreateNamedPipeW(name, open, pipe, max, out, in, timeout, sa);
    depth++;
    struct create_w_args a = {name, open, pipe, max, out, in, timeout, sa};
    HANDLE h = create_win32(name ? name : L"", "CreateNamedPipeW", sa, call_create_w, &a);
    depth--;
    return h;
}

struct create_a_args {
    LPCSTR name; DWORD open, pipe, max, out, in, timeout; LPSECURITY_ATTRIBUTES sa;
};
static HANDLE call_create_a(void *p)
{
    struct create_a_args *a = p;
    return real_CreateNamedPipeA(a->name, a->open, a->pipe, a->max, a->out, a->in,
                                 a->timeout, a->sa);
}

static HANDLE WINAPI hook_CreateNamedPipeA(LPCSTR name, DWORD open, DWORD pipe, DWORD max,
                                           DWORD out, DWORD in, DWORD timeout,
                                           LPSECURITY_ATTRIBUTES sa)
{
    if (depth)
        return real_CreateNamedPipeA(name, open, pipe, max, out, in, timeout, sa);
    depth++;
    wchar_t wname[256] = L"";
    if (name)
        MultiByteToWideChar(CP_ACP, 0, name, -1, wname, 256);
    wname[255] = L'\0';
    struct create_a_args a = {name, open, pipe, max, out, in, timeout, sa};
    HANDLE h = create_win32(wname, "CreateNamedPipeA", sa, call_create_a, &a);
    depth--;
    return h;
}

/* A create fault's Win32 error as the NTSTATUS the Nt call returns: the
 * status whose Win32 translation (RtlNtStatusToDosError, as kernelbase and
 * go-winio apply it) is that error, or, for an error without a status of its
 * own, 0xC0070000 | error (FACILITY_NTWIN32, translated back to the error). */
static NTSTATUS status_of_win32_error(DWORD err)
{
    static const struct { DWORD err; ULONG status; } map[] = {
        {ERROR_ACCESS_DENIED, 0xC0000022},        /* STATUS_ACCESS_DENIED */
        {ERROR_PIPE_BUSY, 0xC00000AB},            /* STATUS_INSTANCE_NOT_AVAILABLE */
        {ERROR_INVALID_PARAMETER, 0xC000000D},    /* STATUS_INVALID_PARAMETER */
        {ERROR_NOT_ENOUGH_MEMORY, 0xC0000017},    /* STATUS_NO_MEMORY */
        {ERROR_OUTOFMEMORY, 0xC0000017},
        {ERROR_FILE_NOT_FOUND, 0xC0000034},       /* STATUS_OBJECT_NAME_NOT_FOUND */
        {ERROR_PATH_NOT_FOUND, 0xC000003A},       /* STATUS_OBJECT_PATH_NOT_FOUND */
        {ERROR_INVALID_NAME, 0xC0000033},         /* STATUS_OBJECT_NAME_INVALID */
        {ERROR_ALREADY_EXISTS, 0xC0000035},       /* STATUS_OBJECT_NAME_COLLISION */
        {ERROR_INVALID_HANDLE, 0xC0000008},       /* STATUS_INVALID_HANDLE */
        {ERROR_TOO_MANY_OPEN_FILES, 0xC000011F},  /* STATUS_TOO_MANY_OPENED_FILES */
        {ERROR_NO_SYSTEM_RESOURCES, 0xC000009A},  /* STATUS_INSUFFICIENT_RESOURCES */
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].err == err)
            return (NTSTATUS)map[i].status;
    return (NTSTATUS)(0xC0070000u | (err & 0xFFFFu));
}

static bool starts_with_ci(const wchar_t *s, size_t n, const wchar_t *prefix, size_t *plen)
{
    size_t k = wcslen(prefix);
    if (n < k || _wcsnicmp(s, prefix, k))
        return false;
    *plen = k;
    return true;
}

/* The Win32 name (\\.\pipe\NAME) of the pipe an NtCreateNamedPipeFile call
 * creates, into out. False for the pipes that are no endpoint instance:
 * unnamed ones and anonymous pipes (CreatePipe names them
 * \??\pipe\Win32.Pipes.PID.N). A name relative to a root directory is taken
 * as relative to the pipe device, the only directory pipes live in. */
static bool nt_pipe_name(const OBJECT_ATTRIBUTES *attr, wchar_t *out, size_t cap)
{
    if (!attr || !attr->ObjectName || !attr->ObjectName->Buffer || !attr->ObjectName->Length)
        return false;
    const wchar_t *n = attr->ObjectName->Buffer;
    size_t len = attr->ObjectName->Length / sizeof(wchar_t), skip = 0;
    bool on_device = attr->RootDirectory != NULL;
    if (!on_device)
        on_device = starts_with_ci(n, len, L"\\??\\pipe\\", &skip) ||
                    starts_with_ci(n, len, L"\\DosDevices\\pipe\\", &skip) ||
                    starts_with_ci(n, len, L"\\Device\\NamedPipe\\", &skip);
    if (on_device && !skip && len && n[0] == L'\\')
        skip = 1;
    n += skip;
    len -= skip;
    if (!len || (on_device && starts_with_ci(n, len, L"Win32.Pipes.", &skip)))
        return false;
    _snwprintf(out, cap, L"%ls%.*ls", on_device ? L"\\\\.\\pipe\\" : L"", (int)len, n);
    out[cap - 1] = L'\0';
    return true;
}

struct nt_create_args {
    PHANDLE out;
    ULONG access;
    POBJECT_ATTRIBUTES attr;
    PIO_STATUS_BLOCK iosb;
    ULONG share, disposition, options, type, read_mode, completion, max, in_quota, out_quota;
    PLARGE_INTEGER timeout;
    NTSTATUS status;
};
static HANDLE call_nt_create(void *p)
{
    struct nt_create_args *a = p;
    a->status = real_NtCreateNamedPipeFile(a->out, a->access, a->attr, a->iosb, a->share,
                                           a->disposition, a->options, a->type, a->read_mode,
                                           a->completion, a->max, a->in_quota, a->out_quota,
                                           a->timeout);
    return a->status >= 0 ? *a->out : INVALID_HANDLE_VALUE;
}

/* go-winio (since v0.4.13) and .NET create every instance here, and so does
 * kernelbase's own CreateNamedPipeW: inside a hooked CreateNamedPipe* the
 * call passes straight through (depth), so each instance is recorded once,
 * by the outermost hook, which knows the caller's own function. */
static NTSTATUS NTAPI hook_NtCreateNamedPipeFile(PHANDLE out, ULONG access,
                                                 POBJECT_ATTRIBUTES attr, PIO_STATUS_BLOCK iosb,
                                                 ULONG share, ULONG disposition, ULONG options,
                                                 ULONG type, ULONG read_mode, ULONG completion,
                                                 ULONG max, ULONG in_quota, ULONG out_quota,
                                                 PLARGE_INTEGER timeout)
{
    wchar_t name[256];
    if (depth || !nt_pipe_name(attr, name, 256))
        return real_NtCreateNamedPipeFile(out, access, attr, iosb, share, disposition, options,
                                          type, read_mode, completion, max, in_quota,
                                          out_quota, timeout);
    DWORD last_error = GetLastError();  /* an Nt call leaves it alone */
    depth++;
    struct nt_create_args a = {out, access, attr, iosb, share, disposition, options, type,
                               read_mode, completion, max, in_quota, out_quota, timeout, 0};
    DWORD fault_err;
    HANDLE h = create_common(name, "NtCreateNamedPipeFile", attr->SecurityDescriptor != NULL,
                             call_nt_create, &a, &fault_err);
    if (fault_err) {
        a.status = status_of_win32_error(fault_err);
        if (h == INVALID_HANDLE_VALUE && out)
            *out = NULL;
    }
    depth--;
    SetLastError(last_error);
    return a.status;
}

static BOOL WINAPI hook_ConnectNamedPipe(HANDLE h, LPOVERLAPPED ov)
{
    int id = depth ? 0 : instance_id(h);
    if (!id) {
        if (!depth)
            report_unseen(h, "ConnectNamedPipe");
        return real_ConnectNamedPipe(h, ov);
    }
    depth++;
    record_call(PF_OP_ACCEPT, "ConnectNamedPipe", NULL, h, id);
    DWORD fail = run_faults(PF_OP_ACCEPT, PF_PHASE_BEFORE, id);
    BOOL ok = FALSE;
    DWORD err = fail;
    if (!fail) {
        struct pfw_json j;
        begin_event(&j, "instance_accepting");
        pfw_json_int(&j, "id", id);
        pfw_json_str(&j, "evidence", "connect-named-pipe");
        send_line(&j);
        ok = real_ConnectNamedPipe(h, ov);
        err = GetLastError();
        if (ok || err == ERROR_PIPE_CONNECTED)
            record_connected(h, id);
        else if (ov && err == ERROR_IO_PENDING)
            remember_pending(ov, h, id);
        DWORD after = run_faults(PF_OP_ACCEPT, PF_PHASE_AFTER, id);
        if (after) {
            ok = FALSE;
            err = after;
        }
    }
    depth--;
    SetLastError(err);
    return ok;
}

static BOOL close_like(HANDLE h, const char *fn, handle_fn real, bool removes)
{
    int id = depth ? 0 : instance_id(h);
    if (!id)
        return real(h);
    depth++;
    record_call(PF_OP_CLOSE, fn, NULL, h, id);
    DWORD fail = run_faults(PF_OP_CLOSE, PF_PHASE_BEFORE, id);
    BOOL ok = FALSE;
    DWORD err = fail;
    if (!fail) {
        ok = real(h);
        err = GetLastError();
        if (ok && removes)
            record_removed(h);
        if (ok)
            forget_pending(h);
        DWORD after = run_faults(PF_OP_CLOSE, PF_PHASE_AFTER, id);
        if (after) {
            ok = FALSE;
            err = after;
        }
    }
    depth--;
    SetLastError(err);
    return ok;
}

static BOOL WINAPI hook_CloseHandle(HANDLE h)
{
    return close_like(h, "CloseHandle", real_CloseHandle, true);
}

static BOOL WINAPI hook_DisconnectNamedPipe(HANDLE h)
{
    return close_like(h, "DisconnectNamedPipe", real_DisconnectNamedPipe, false);
}

static DWORD WINAPI hook_SetSecurityInfo(HANDLE h, SE_OBJECT_TYPE type, SECURITY_INFORMATION si,
                                         PSID owner, PSID group, PACL dacl, PACL sacl)
{
    int id = depth ? 0 : instance_id(h);
    if (!id)
        return real_SetSecurityInfo(h, type, si, owner, group, dacl, sacl);
    depth++;
    record_call(PF_OP_SECURE, "SetSecurityInfo", NULL, h, id);
    DWORD rc = run_faults(PF_OP_SECURE, PF_PHASE_BEFORE, id);
    if (!rc) {
        rc = real_SetSecurityInfo(h, type, si, owner, group, dacl, sacl);
        if (rc == ERROR_SUCCESS)
            record_perm_change(h);
        DWORD after = run_faults(PF_OP_SECURE, PF_PHASE_AFTER, id);
        if (after)
            rc = after;
    }
    depth--;
    return rc;
}

static BOOL WINAPI hook_SetKernelObjectSecurity(HANDLE h, SECURITY_INFORMATION si,
                                                PSECURITY_DESCRIPTOR sd)
{
    int id = depth ? 0 : instance_id(h);
    if (!id)
        return real_SetKernelObjectSecurity(h, si, sd);
    depth++;
    record_call(PF_OP_SECURE, "SetKernelObjectSecurity", NULL, h, id);
    DWORD fail = run_faults(PF_OP_SECURE, PF_PHASE_BEFORE, id);
    BOOL ok = FALSE;
    DWORD err = fail;
    if (!fail) {
        ok = real_SetKernelObjectSecurity(h, si, sd);
        err = GetLastError();
        if (ok)
            record_perm_change(h);
        DWORD after = run_faults(PF_OP_SECURE, PF_PHASE_AFTER, id);
        if (after) {
            ok = FALSE;
            err = after;
        }
    }
    depth--;
    SetLastError(err);
    return ok;
}

/* The server collected the successful completion of `ov`: if it was a
 * pending connect, its instance is connected now. Keeps the last error. */
static void collected(LPOVERLAPPED ov)
{
    if (!ov || depth)
        return;
    DWORD err = GetLastError();
    depth++;
    completed(ov);
    depth--;
    SetLastError(err);
}

static BOOL WINAPI hook_GetOverlappedResult(HANDLE h, LPOVERLAPPED ov, LPDWORD n, BOOL wait)
{
    BOOL ok = real_GetOverlappedResult(h, ov, n, wait);
    if (ok)
        collected(ov);
    return ok;
}

static BOOL WINAPI hook_GetOverlappedResultEx(HANDLE h, LPOVERLAPPED ov, LPDWORD n, DWORD ms,
                                              BOOL alertable)
{
    BOOL ok = real_GetOverlappedResultEx(h, ov, n, ms, alertable);
    if (ok)
        collected(ov);
    return ok;
}

/* A completion port: the dequeued packet's OVERLAPPED names the operation.
 * A failed packet (ok false, *ov set) is not a connection. */
static BOOL WINAPI hook_GetQueuedCompletionStatus(HANDLE port, LPDWORD n, PULONG_PTR key,
                                                  LPOVERLAPPED *ov, DWORD ms)
{
    BOOL ok = real_GetQueuedCompletionStatus(port, n, key, ov, ms);
    if (ok && ov)
        collected(*ov);
    return ok;
}

/* Several packets at once; each one's status is in its OVERLAPPED
 * (Internal, an NTSTATUS: 0 is success). */
static BOOL WINAPI hook_GetQueuedCompletionStatusEx(HANDLE port, LPOVERLAPPED_ENTRY entries,
                                                    ULONG count, PULONG removed, DWORD ms,
                                                    BOOL alertable)
{
    BOOL ok = real_GetQueuedCompletionStatusEx(port, entries, count, removed, ms, alertable);
    if (ok && entries && removed)
        for (ULONG i = 0; i < *removed && i < count; i++)
            if (entries[i].lpOverlapped && entries[i].lpOverlapped->Internal == 0)
                collected(entries[i].lpOverlapped);
    return ok;
}

/* Go (syscall.NewLazyDLL) and other run-time resolvers get the hook. */
static FARPROC WINAPI hook_GetProcAddress(HMODULE m, LPCSTR name)
{
    FARPROC p = real_GetProcAddress(m, name);
    void *hook = pfw_hooks_lookup((void *)p);
    return hook ? (FARPROC)hook : p;
}

static HMODULE WINAPI hook_LoadLibraryW(LPCWSTR n)
{
    HMODULE m = real_LoadLibraryW(n);
    if (m)
        pfw_hooks_patch_all();
    return m;
}

static HMODULE WINAPI hook_LoadLibraryA(LPCSTR n)
{
    HMODULE m = real_LoadLibraryA(n);
    if (m)
        pfw_hooks_patch_all();
    return m;
}

static HMODULE WINAPI hook_LoadLibraryExW(LPCWSTR n, HANDLE f, DWORD fl)
{
    HMODULE m = real_LoadLibraryExW(n, f, fl);
    if (m)
        pfw_hooks_patch_all();
    return m;
}

static HMODULE WINAPI hook_LoadLibraryExA(LPCSTR n, HANDLE f, DWORD fl)
{
    HMODULE m = real_LoadLibraryExA(n, f, fl);
    if (m)
        pfw_hooks_patch_all();
    return m;
}

#define HOOK(mod, fn) {L##mod, #fn, (void *)hook_##fn, (void **)&real_##fn}
static struct pfw_hook hook_table[] = {
    HOOK("kernel32.dll", CreateNamedPipeW),
    HOOK("kernel32.dll", CreateNamedPipeA),
    HOOK("kernel32.dll", ConnectNamedPipe),
    HOOK("kernel32.dll", DisconnectNamedPipe),
    HOOK("kernel32.dll", GetOverlappedResult),
    HOOK("kernel32.dll", GetOverlappedResultEx),
    HOOK("kernel32.dll", GetQueuedCompletionStatus),
    HOOK("kernel32.dll", GetQueuedCompletionStatusEx),
    HOOK("kernel32.dll", CloseHandle),
    HOOK("advapi32.dll", SetKernelObjectSecurity),
    HOOK("advapi32.dll", SetSecurityInfo),
    HOOK("kernel32.dll", GetProcAddress),
    HOOK("kernel32.dll", LoadLibraryW),
    HOOK("kernel32.dll", LoadLibraryA),
    HOOK("kernel32.dll", LoadLibraryExW),
    HOOK("kernel32.dll", LoadLibraryExA),
};

/* ntdll's NtCreateNamedPipeFile, inline: every creator goes through it. If
 * the export cannot be patched, the host is told, and the run says that
 * pipes created from inside the system's DLLs are not seen. */
static void hook_ntdll_creates(void)
{
    char why[256];
    void *real = NULL;
    bool ok = pfw_hooks_inline_stub(L"ntdll.dll", "NtCreateNamedPipeFile",
                                    (void *)hook_NtCreateNamedPipeFile, &real, why, sizeof why);
    real_NtCreateNamedPipeFile = (nt_create_pipe_fn)real;
    if (ok)
        return;
    struct pfw_json j;
    begin_event(&j, "hook_missing");
    pfw_json_str(&j, "function", "NtCreateNamedPipeFile");
    pfw_json_str(&j, "why", why);
    send_line(&j);
}

/* ---- fault rules from the host ---------------------------------------- */

/* $PF_FAULTS names a file the host wrote, one rule per line in the wire
 * form of faults.h (pf_fault_encode on the host, pf_fault_decode here). */
static bool load_faults(void)
{
    const char *path = getenv("PF_FAULTS");
    if (!path || !*path)
        return true;
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "pipefault agent: cannot open fault rules %s\n", path);
        return false;
    }
    char line[PF_FAULT_LINE_MAX];
    while (fgets(line, sizeof line, fp) && nrules < MAX_RULES) {
        size_t idx;
        if (!pf_fault_decode(line, &rules[nrules], &idx)) {
            fprintf(stderr, "pipefault agent: bad fault rule line: %s", line);
            fclose(fp);
            return false;
        }
        rule_index[nrules] = (int)idx;
        pf_fault_state_init(&rule_state[nrules], run_seed, idx);
        nrules++;
    }
    fclose(fp);
    return true;
}

/* ---- host commands ---------------------------------------------------- */

static DWORD WINAPI reader(LPVOID arg)
{
    char line[256];
    while (pfw_channel_readline(chan, line, sizeof line) >= 0) {
        int id;
        if (sscanf(line, "release %d", &id) != 1)
            continue;
        EnterCriticalSection(&state_lock);
        for (int i = 0; i < MAX_HOLDS; i++)
            if (holds[i].used && holds[i].id == id && holds[i].released)
                SetEvent(holds[i].released);
        LeaveCriticalSection(&state_lock);
    }
    /* Host gone: release every hold so the server is not stuck forever. */
    EnterCriticalSection(&state_lock);
    for (int i = 0; i < MAX_HOLDS; i++)
        if (holds[i].used && holds[i].released)
            SetEvent(holds[i].released);
    LeaveCriticalSection(&state_lock);
    return 0;
}

/* ---- start-up --------------------------------------------------------- */

static HANDLE open_launcher_event(const char *what)
{
    wchar_t name[128];
    _snwprintf(name, 128, L"Local\\pipefault-agent-%hs-%lu", what, GetCurrentProcessId());
    name[127] = L'\0';
    return OpenEventW(EVENT_MODIFY_STATE, FALSE, name);
}

static DWORD WINAPI init_thread(LPVOID arg)
{
    depth++;  /* this thread's own calls are the agent's, never the server's */
    const char *seed = getenv("PF_SEED");
    run_seed = seed ? strtoull(seed, NULL, 10) : 0;
    bool ok = load_faults();
    if (ok) {
        chan = pfw_channel_open();
        ok = chan != INVALID_SOCKET;
    }
    if (ok) {
        struct pfw_json j;
        wchar_t exe[MAX_PATH] = L"";
        GetModuleFileNameW(NULL, exe, MAX_PATH);
        begin_event(&j, "hello");
        pfw_json_str(&j, "role", "agent");
        pfw_json_wstr(&j, "exe", exe);
        pfw_json_int(&j, "rules", (int64_t)nrules);
        send_line(&j);
        ok = pfw_hooks_install(hook_table, sizeof hook_table / sizeof hook_table[0], self);
        if (ok)
            hook_ntdll_creates();
    }
    if (ok) {
        HANDLE t = CreateThread(NULL, 0, reader, NULL, 0, NULL);
        ok = t != NULL;
        if (t)
            real_CloseHandle(t);
    }
    HANDLE ev = open_launcher_event(ok ? "ready" : "failed");
    if (ev) {
        SetEvent(ev);
        CloseHandle(ev);
    } else {
        fprintf(stderr, "pipefault agent: launcher event missing (error %lu)\n", GetLastError());
    }
    fflush(stderr);
    return ok ? 0 : 1;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved);
BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    if (reason == DLL_PROCESS_ATTACH) {
        self = inst;
        DisableThreadLibraryCalls(inst);
        InitializeCriticalSection(&send_lock);
        InitializeCriticalSection(&state_lock);
        HANDLE t = CreateThread(NULL, 0, init_thread, NULL, 0, NULL);
        if (!t)
            return FALSE;
        CloseHandle(t);
    }
    return TRUE;
}
