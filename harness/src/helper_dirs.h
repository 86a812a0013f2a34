/* helper_dirs.h - where pipefault's own files are, found from its own location.
 *
 * pipefault runs programs it ships (the reference fixtures, the Win32 agent,
 * launcher, client and probe). Nothing about where they are is compiled in:
 * they are found relative to the running executable, so a build tree, an
 * install prefix and an unpacked .deb all work from any working directory.
 *
 * Below one "helper root" the layout is the same everywhere:
 *     <root>/fixtures/posix/<fixture>     <root>/win32/<program>.exe|.dll
 * and the root is, for the executable <dir>/<name>:
 *     <dir>/../libexec/pipefault   installed (cmake --install, the .deb)
 *     <dir>/..                     the build tree (<build>/harness/pipefault),
 *                                  recognised by its CMakeCache.txt
 *
 * pipefault runs as root and executes what it finds there, so the root and
 * every directory above it must be writable by root (or the invoking user)
 * only, or a sticky directory: otherwise another user could swap a program.
 */
#ifndef PF_HELPER_DIRS_H
#define PF_HELPER_DIRS_H

#include <limits.h>
#include <stddef.h>

struct pf_helper_dirs {
    char root[PATH_MAX];      /* the helper root (above) */
    char fixtures[PATH_MAX];  /* <root>/fixtures */
    char win32[PATH_MAX];     /* <root>/win32 */
};

/* The helper directories for the executable at `exe` (an absolute path
 * without symlinks, as the kernel reports it). 0, or -1 with err saying what
 * is missing or unsafe. */
int pf_helper_dirs_for(const char *exe, struct pf_helper_dirs *d, char *err, size_t errlen);

/* The same for the running executable; the result is computed once. NULL
 * with err set when it cannot be found or is unsafe. */
const struct pf_helper_dirs *pf_helper_dirs(char *err, size_t errlen);

/* Provided by the platform (the Linux host's self_exe.c): the running executable's
 * absolute path, resolved by the kernel. 0, or -1 with err set. */
int pf_self_exe(char *out, size_t n, char *err, size_t errlen);

#endif
