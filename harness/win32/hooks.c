/* hooks.c - IAT patching across all loaded modules, GetProcAddress lookups
 * and inline hooks of ntdll system-call stubs (see hooks.h). */
#include "hooks.h"

#include <psapi.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A function can be reachable under several addresses: kernel32's export
 * may be a forwarder to kernelbase (GetProcAddress follows it) or a stub of
 * its own that an import table binds to. All of them map to the one hook. */
#define MAX_ALIASES 4

struct target {
    void *addr[MAX_ALIASES];
    int naddr;
    void *hook;
};

static struct target targets[32];
static size_t ntargets;
static HMODULE self_module;
static CRITICAL_SECTION patch_lock;

void *pfw_hooks_lookup(const void *addr)
{
    if (!addr)
        return NULL;
    for (size_t i = 0; i < ntargets; i++)
        for (int k = 0; k < targets[i].naddr; k++)
            if (targets[i].addr[k] == addr)
                return targets[i].hook;
    return NULL;
}

static void add_alias(struct target *t, void *addr)
{
    if (!addr)
        return;
    for (int k = 0; k < t->naddr; k++)
        if (t->addr[k] == addr)
            return;
    if (t->naddr < MAX_ALIASES)
        t->addr[t->naddr++] = addr;
}

/* The system's own modules call each other directly; patching them would
 * only re-enter the hooks from inside the real functions. */
static bool is_system_module(HMODULE m)
{
    wchar_t path[MAX_PATH];
    if (!GetModuleFileNameW(m, path, MAX_PATH))
        return true;
    const wchar_t *base = wcsrchr(path, L'\\');
    base = base ? base + 1 : path;
    return !_wcsicmp(base, L"ntdll.dll") || !_wcsicmp(base, L"kernel32.dll") ||
           !_wcsicmp(base, L"kernelbase.dll");
}

static void patch_module(HMODULE m)
{
    BYTE *base = (BYTE *)m;
    IMAGE_DOS_HEADER *dos = (IMAGE_DOS_HEADER *)base;
    if (dos->e_magic != IMAGE_DOS_SIGNATURE)
        return;
    IMAGE_NT_HEADERS *nt = (IMAGE_NT_HEADERS *)(base + dos->e_lfanew);
    if (nt->Signature != IMAGE_NT_SIGNATURE)
        return;
    IMAGE_DATA_DIRECTORY dir = nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_IMPORT];
    if (!dir.VirtualAddress || !dir.Size)
        return;
    for (IMAGE_IMPORT_DESCRIPTOR *d = (IMAGE_IMPORT_DESCRIPTOR *)(base + dir.VirtualAddress);
         d->Name; d++) {
        IMAGE_THUNK_DATA *slot = (IMAGE_THUNK_DATA *)(base + d->FirstThunk);
        for (; slot->u1.Function; slot++) {
            void *hook = pfw_hooks_lookup((void *)slot->u1.Function);
            if (!hook)
                continue;
            DWORD old;
            if (!VirtualProtect(&slot->u1.Function, sizeof slot->u1.Function,
                                PAGE_READWRITE, &old))
                continue;
            slot->u1.Function = (ULONG_PTR)hook;
            VirtualProtect(&slot->u1.Function, sizeof slot->u1.Function, old, &old);
        }
    }
}

void pfw_hooks_patch_all(void)
{
    HMODULE mods[1024];
    DWORD need = 0;
    EnterCriticalSection(&patch_lock);
    if (EnumProcessModules(GetCurrentProcess(), mods, sizeof mods, &need)) {
        size_t n = need / sizeof mods[0];
        if (n > 1024)
            n = 1024;
        for (size_t i = 0; i < n; i++)
            if (mods[i] != self_module && !is_system_module(mods[i]))
                patch_module(mods[i]);
    }
    LeaveCriticalSection(&patch_lock);
}

static struct target *new_target(void *hook)
{
    if (ntargets == sizeof targets / sizeof targets[0]) {
        fprintf(stderr, "pipefault agent: too many hooks\n");
        return NULL;
    }
    struct target *t = &targets[ntargets++];
    t->naddr = 0;
    t->hook = hook;
    return t;
}

bool pfw_hooks_install(struct pfw_hook *hooks, size_t n, HMODULE self)
{
    self_module = self;
    InitializeCriticalSection(&patch_lock);
    if (n > sizeof targets / sizeof targets[0]) {
        fprintf(stderr, "pipefault agent: too many hooks\n");
        return false;
    }
    HMODULE kernelbase = GetModuleHandleW(L"kernelbase.dll");
    for (size_t i = 0; i < n; i++) {
        HMODULE home = LoadLibraryW(hooks[i].module);
        void *real = home ? (void *)GetProcAddress(home, hooks[i].name) : NULL;
        if (!real) {
            fprintf(stderr, "pipefault agent: cannot resolve %ls!%s\n", hooks[i].module,
                    hooks[i].name);
            return false;
        }
        *hooks[i].real = real;
        struct target *t = new_target(hooks[i].hook);
        add_alias(t, real);
        if (kernelbase)
            add_alias(t, (void *)GetProcAddress(kernelbase, hooks[i].name));
    }
    pfw_hooks_patch_all();
    return true;
}

/* Wine 8's x86-64 ntdll system-call stub, 32 bytes, position independent
 * (the absolute addresses are in the shared user page, the jumps are
 * relative inside the stub):
 *   mov r10, rcx; mov eax, NR; test byte [0x7ffe0308], 1; jnz +3;
 *   syscall; ret; jmp +1; ret; call [0x7ffe1000]; ret
 * Bytes 4..7 are the system-call number: read, never assumed. */
#define STUB_LEN 32
static const unsigned char stub_shape[STUB_LEN] = {
    0x4c, 0x8b, 0xd1, 0xb8, 0, 0, 0, 0, 0xf6, 0x04, 0x25, 0x08, 0x03, 0xfe, 0x7f, 0x01,
    0x75, 0x03, 0x0f, 0x05, 0xc3, 0xeb, 0x01, 0xc3, 0xff, 0x14, 0x25, 0x00, 0x10, 0xfe,
    0x7f, 0xc3,
};

static bool stub_has_shape(const unsigned char *code)
{
    for (int i = 0; i < STUB_LEN; i++)
        if ((i < 4 || i > 7) && code[i] != stub_shape[i])
            return false;
    return true;
}

bool pfw_hooks_inline_stub(const wchar_t *module, const char *name, void *hook, void **real,
                           char *why, size_t cap)
{
    HMODULE home = GetModuleHandleW(module);
    unsigned char *code = home ? (unsigned char *)(void *)GetProcAddress(home, name) : NULL;
    *real = code;
    if (!code) {
        snprintf(why, cap, "%ls!%s is not exported", module, name);
        return false;
    }
    struct target *t = new_target(hook);
    if (!t) {
        snprintf(why, cap, "the hook table is full");
        return false;
    }
    add_alias(t, code);  /* GetProcAddress and import tables: the hook, whatever happens */
    if (!stub_has_shape(code)) {
        char bytes[3 * STUB_LEN + 1] = "";
        for (int i = 0; i < STUB_LEN; i++)
            snprintf(bytes + 3 * i, 4, "%02x%s", code[i], i + 1 < STUB_LEN ? " " : "");
        snprintf(why, cap, "%ls!%s is not the expected system-call stub (bytes %s)", module,
                 name, bytes);
        return false;
    }
    unsigned char *tramp = VirtualAlloc(NULL, STUB_LEN, MEM_COMMIT | MEM_RESERVE,
                                        PAGE_READWRITE);
    if (!tramp) {
        snprintf(why, cap, "no memory for the trampoline of %s (error %lu)", name,
                 GetLastError());
        return false;
    }
    memcpy(tramp, code, STUB_LEN);
    DWORD old;
    if (!VirtualProtect(tramp, STUB_LEN, PAGE_EXECUTE_READ, &old)) {
        snprintf(why, cap, "cannot make the trampoline of %s executable (error %lu)", name,
                 GetLastError());
        VirtualFree(tramp, 0, MEM_RELEASE);
        return false;
    }
    FlushInstructionCache(GetCurrentProcess(), tramp, STUB_LEN);

    /* mov rax, imm64; jmp rax: 12 bytes, inside the 32 of the stub. */
    unsigned char jump[12] = {0x48, 0xb8};
    uint64_t to = (uint64_t)(uintptr_t)hook;
    memcpy(jump + 2, &to, sizeof to);
    jump[10] = 0xff;
    jump[11] = 0xe0;
    if (!VirtualProtect(code, sizeof jump, PAGE_EXECUTE_READWRITE, &old)) {
        snprintf(why, cap, "cannot write to %ls!%s (error %lu)", module, name, GetLastError());
        VirtualFree(tramp, 0, MEM_RELEASE);
        return false;
    }
    *real = tramp;  /* before the jump exists: a caller racing in finds the trampoline */
    memcpy(code, jump, sizeof jump);
    VirtualProtect(code, sizeof jump, old, &old);
    FlushInstructionCache(GetCurrentProcess(), code, sizeof jump);
    return true;
}
