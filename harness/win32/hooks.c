/* hooks.c - IAT patching across all loaded modules (see hooks.h). */
#include "hooks.h"

#include <psapi.h>
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
        struct target *t = &targets[ntargets++];
        t->naddr = 0;
        t->hook = hooks[i].hook;
        add_alias(t, real);
        if (kernelbase)
            add_alias(t, (void *)GetProcAddress(kernelbase, hooks[i].name));
    }
    pfw_hooks_patch_all();
    return true;
}
