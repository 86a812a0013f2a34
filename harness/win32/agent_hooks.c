/* agent_hooks.c - the hooked pipe functions: what the server calls passes
 * through here, is recorded (agent_instances.c) and meets the scenario's
 * faults (agent_faults.c) immediately before and after the real call.
 * How the calls are redirected (import tables, GetProcAddress, the inline
 * hook of ntdll's NtCreateNamedPipeFile) is hooks.c's job.
 */
#include "agent.h"
#include "hooks.h"

#include <aclapi.h>

#include <stdio.h>
#include <string.h>

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
typedef DWORD (WINAPI *set_security_info_fn)(HANDLE, SE_OBJECT_TYPE, SECURITY_INFORMATION,
                                             PSID, PSID, PACL, PACL);
typedef BOOL (WINAPI *set_kobj_security_fn)(HANDLE, SECURITY_INFORMATION,
                                            PSECURITY_DESCRIPTOR);
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
handle_fn real_CloseHandle;
static set_security_info_fn real_SetSecurityInfo;
static set_kobj_security_fn real_SetKernelObjectSecurity;
get_proc_fn real_GetProcAddress;
static load_w_fn real_LoadLibraryW;
static load_a_fn real_LoadLibraryA;
static load_ex_w_fn real_LoadLibraryExW;
static load_ex_a_fn real_LoadLibraryExA;
static nt_create_pipe_fn real_NtCreateNamedPipeFile;

/* The `create` op around one real create: the syscall event, the faults
 * and the birth. `call` makes the instance and returns its handle, or
 * INVALID_HANDLE_VALUE (its own error stays with the caller's context).
 * Returns the handle, or INVALID_HANDLE_VALUE with *fault_err set when a
 * `fail` rule decided (0 when the real call failed by itself). */
static HANDLE create_common(const wchar_t *name, const char *fn, bool sd_passed, int first,
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
        record_birth(h, name, sd_passed, first, t_call);
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
                           DWORD open, HANDLE (*call)(void *), void *ctx)
{
    struct keep_error inner = {call, ctx, 0};
    DWORD fault_err;
    HANDLE h = create_common(name, fn, sa && sa->lpSecurityDescriptor,
                             (open & FILE_FLAG_FIRST_PIPE_INSTANCE) != 0, call_keeping_error,
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
    HANDLE h = create_win32(name ? name : L"", "CreateNamedPipeW", sa, open, call_create_w, &a);
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
    HANDLE h = create_win32(wname, "CreateNamedPipeA", sa, open, call_create_a, &a);
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
    /* FILE_CREATE is what FILE_FLAG_FIRST_PIPE_INSTANCE becomes (else
     * FILE_OPEN_IF): the create asks to make the name. */
    HANDLE h = create_common(name, "NtCreateNamedPipeFile", attr->SecurityDescriptor != NULL,
                             disposition == FILE_CREATE, call_nt_create, &a, &fault_err);
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

/* Installs every hook; false (with a message on stderr) if one of the
 * Win32 functions cannot be resolved. */
bool install_hooks(HMODULE self)
{
    if (!pfw_hooks_install(hook_table, sizeof hook_table / sizeof hook_table[0], self))
        return false;
    hook_ntdll_creates();
    return true;
}
