/* wine.h - the Wine session the win32 backend runs its programs in.
 *
 * One private WINEPREFIX per pipefault process (in PF_WINE_DIR), created on first use (about
 * 10 s: Wine builds a whole prefix) and shared by all win32 scenarios of the
 * run, with one persistent wineserver (`wineserver -p`) so that each Win32
 * process starts in well under a second. At exit (atexit, which also runs
 * after Ctrl-C since the core winds down normally on pf_interrupted) the
 * wineserver and every process in the prefix are killed and the prefix is
 * removed: nothing is left behind.
 */
#ifndef PF_WIN_WINE_H
#define PF_WIN_WINE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Root's alone (0700): every Wine session lives in <pid>-<random>/ there,
 * with its WINEPREFIX (prefix/) and the TMPDIR of its Wine programs (tmp/,
 * where the wineserver keeps its socket directory). Never /tmp. */
#define PF_WINE_DIR "/var/lib/pipefault/wine"

struct pf_wine {
    char dir[64];              /* the session directory's name in PF_WINE_DIR */
    char prefix[PATH_MAX];
    char tmpdir[PATH_MAX];
    char version[64];          /* "wine-8.0 (Debian 8.0~repack-4)" */
    int64_t first_start_ns;    /* how long creating the prefix took */
    bool from_cache;           /* the prefix is a copy of the cached one */
    bool cache_built;          /* ... which this session had to build first */
    int64_t mono_minus_raw_ns; /* CLOCK_MONOTONIC - CLOCK_MONOTONIC_RAW */
};

/* NULL if wine and wineserver are on PATH and the programs are built in
 * `dir`, else why not. */
const char *pf_wine_missing(const char *dir);

/* The session, created on first call. NULL with err set on failure. */
struct pf_wine *pf_wine_session(char *err, size_t errlen);

/* Starts a Windows program: `wine argv[0] argv[1] ...` with the session's
 * environment plus `env` (NULL-terminated "NAME=value" list, may be NULL).
 * stdin/stdout/stderr: fds for the child (-1: /dev/null). Returns the pid
 * (which is the Windows process itself once wine has exec'd) or -1. */
pid_t pf_wine_spawn(struct pf_wine *w, char *const argv[], char *const env[],
                    int in_fd, int out_fd, int err_fd);

/* Kills every process of the prefix (wineserver -k) and starts a fresh
 * persistent wineserver: for a scenario whose processes would not stop. */
void pf_wine_kill_all(struct pf_wine *w);

/* For `pipefault clean`: kills the processes of, and removes, the sessions
 * in PF_WINE_DIR left by pipefault processes that are gone (SIGKILL).
 * Returns how many. */
int pf_wine_clean(void);

/* For the prefix cache (wine_cache.c): `wine --version` into w->version,
 * and running a helper command in w's prefix to completion (its exit
 * status, or -1). */
void pf_wine_read_version(struct pf_wine *w);
int pf_wine_run_wait(const struct pf_wine *w, char *const argv[]);

/* "/tmp/x/a.exe" -> "Z:\tmp\x\a.exe" (Wine maps Z: to /). */
void pf_wine_path(const char *unix_path, char *out, size_t n);

#endif
