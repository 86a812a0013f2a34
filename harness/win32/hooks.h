/* hooks.h - redirecting a process's calls to chosen Win32 functions.
 *
 * Import-address-table patching: every loaded module's IAT slot that holds
 * the address of a hooked function is overwritten with the hook's address.
 * Functions resolved at run time (GetProcAddress, as Go's syscall package
 * does) are caught by hooking GetProcAddress itself: it returns the hook
 * whenever the real lookup yields a hooked function's address, whatever the
 * name or ordinal asked for. Modules loaded later are patched after every
 * LoadLibrary*. Calls that stay inside kernel32/kernelbase/ntdll are not
 * redirected: the hooks sit at the boundary between the program and the
 * system, which is where the program's operations are.
 */
#ifndef PFW_HOOKS_H
#define PFW_HOOKS_H

#include <windows.h>
#include <stdbool.h>
#include <stddef.h>

struct pfw_hook {
    const wchar_t *module;   /* where the function is exported (kernel32.dll, advapi32.dll) */
    const char *name;
    void *hook;              /* replacement */
    void **real;             /* receives the original address */
};

/* Resolves every hook's real address and patches all loaded modules except
 * `self` and the system's own. False (with a message on stderr) if a function
 * could not be resolved. Call once, before the program runs. */
bool pfw_hooks_install(struct pfw_hook *hooks, size_t n, HMODULE self);

/* Patches modules loaded since (idempotent). */
void pfw_hooks_patch_all(void);

/* The hook for a real function address, or NULL. */
void *pfw_hooks_lookup(const void *addr);

/* Inline hook of an ntdll system-call stub, so that every caller goes
 * through `hook`, the system's own DLLs included (kernelbase's
 * CreateNamedPipeW calls ntdll's export directly). The export must have the
 * position-independent shape of Wine's x86-64 stubs (see hooks.c); its 32
 * bytes are copied into executable memory as the trampoline (*real) and the
 * export's start becomes `mov rax, hook; jmp rax`. GetProcAddress and
 * import tables resolve the export to `hook` as well.
 *
 * If the export has any other shape nothing is patched: *real is the export
 * itself (callers that resolve it through GetProcAddress or an import table
 * still reach the hook), `why` says what was found, and the result is false.
 * Call once, from pfw_hooks_install's thread, after it. */
bool pfw_hooks_inline_stub(const wchar_t *module, const char *name, void *hook, void **real,
                           char *why, size_t cap);

#endif
