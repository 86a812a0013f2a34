/* wine.c - private prefix, persistent wineserver, spawning (see wine.h). */
#include "wine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../events.h"
#include "../run.h"

static struct pf_wine session;
static bool session_ready;

void pf_wine_programs_dir(const char *fixture_dir, char *out, size_t n)
{
    const char *env = getenv("PF_WIN32_DIR");
    if (env && *env)
        snprintf(out, n, "%s", env);
    else
        snprintf(out, n, "%s/../win32", fixture_dir);
}

static bool on_path(const char *prog)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    char buf[PATH_MAX];
    for (const char *p = path; *p;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, prog);
        if (len && access(buf, X_OK) == 0)
            return true;
        p += len + (end ? 1 : 0);
    }
    return false;
}

const char *pf_wine_missing(const char *dir)
{
    static char why[PATH_MAX + 128];
    static const char *const parts[] = {"launch.exe", "pfagent.dll", "client.exe", "probe.exe"};
    if (!on_path("wine") || !on_path("wineserver"))
        return "Wine is not installed (no wine/wineserver on PATH; Debian: apt-get install wine wine64)";
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", dir, parts[i]);
        if (access(p, R_OK) != 0) {
            snprintf(why, sizeof why,
                     "the Win32 parts are not built (%s missing; needs x86_64-w64-mingw32-gcc, "
                     "see cmake/win32.cmake)", p);
            return why;
        }
    }
    return NULL;
}

void pf_wine_path(const char *unix_path, char *out, size_t n)
{
    snprintf(out, n, "Z:%s", unix_path);
    for (char *c = out; *c; c++)
        if (*c == '/')
            *c = '\\';
}

static void child_env(const struct pf_wine *w, char *const env[])
{
    setenv("WINEPREFIX", w->prefix, 1);
    setenv("WINEDEBUG", "-all", 1);
    /* No Mono/Gecko installer dialogs when the prefix is created. */
    setenv("WINEDLLOVERRIDES", "mscoree,mshtml=", 1);
    /* Console programs only: never open a window. */
    unsetenv("DISPLAY");
    unsetenv("WAYLAND_DISPLAY");
    for (size_t i = 0; env && env[i]; i++)
        putenv(env[i]);
}

static pid_t spawn(const struct pf_wine *w, char *const argv[], char *const env[], int in_fd,
                   int out_fd, int err_fd)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* Child: its own process group, so the harness's Ctrl-C reaches only
     * the harness, which then stops everything in order. */
    setpgid(0, 0);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(in_fd >= 0 ? in_fd : null, 0);
    dup2(out_fd >= 0 ? out_fd : null, 1);
    dup2(err_fd >= 0 ? err_fd : null, 2);
    child_env(w, env);
    execvp(argv[0], argv);
    fprintf(stderr, "pipefault: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Runs a helper command to completion; its output goes to /dev/null. */
static int run_wait(const struct pf_wine *w, char *const argv[])
{
    pid_t pid = spawn(w, argv, NULL, -1, -1, -1);
    if (pid < 0)
        return -1;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void read_version(struct pf_wine *w)
{
    int p[2];
    snprintf(w->version, sizeof w->version, "wine (unknown version)");
    if (pipe2(p, O_CLOEXEC) < 0)
        return;
    char *argv[] = {"wine", "--version", NULL};
    pid_t pid = spawn(w, argv, NULL, -1, p[1], -1);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return;
    }
    ssize_t n = read(p[0], w->version, sizeof w->version - 1);
    close(p[0]);
    waitpid(pid, NULL, 0);
    if (n > 0) {
        w->version[n] = '\0';
        w->version[strcspn(w->version, "\n")] = '\0';
    }
}

/* Debian's Wine keeps the wineserver's socket and lock in a directory of
 * its own under $TMPDIR (or /tmp), named "wine-XXXXXX" in the prefix's
 * file `wineserver`; it outlives the server. Reads that name (before the
 * server is stopped) into out, "" if there is none. */
static void server_dir_of(const char *prefix, char *out, size_t n)
{
    char path[PATH_MAX + 16], name[64] = "";
    out[0] = '\0';
    snprintf(path, sizeof path, "%s/wineserver", prefix);
    FILE *fp = fopen(path, "re");
    if (!fp)
        return;
    if (!fgets(name, sizeof name, fp))
        name[0] = '\0';
    fclose(fp);
    name[strcspn(name, "\n")] = '\0';
    /* Only ever a plain "wine-XXXXXX" name: never remove anything else. */
    if (strncmp(name, "wine-", 5) || strchr(name, '/') || strstr(name, ".."))
        return;
    const char *tmp = getenv("TMPDIR");
    snprintf(out, n, "%s/%s", tmp && *tmp ? tmp : "/tmp", name);
}

/* Kills everything in the prefix and waits for the wineserver to exit;
 * then its socket directory can go. */
static void kill_prefix(const struct pf_wine *w)
{
    char server_dir[PATH_MAX];
    server_dir_of(w->prefix, server_dir, sizeof server_dir);
    char *kill_argv[] = {"wineserver", "-k", NULL};
    char *wait_argv[] = {"wineserver", "-w", NULL};
    run_wait(w, kill_argv);
    run_wait(w, wait_argv);
    if (server_dir[0])
        pf_remove_tree(server_dir);
}

static void session_end(void)
{
    if (!session_ready)
        return;
    kill_prefix(&session);
    pf_remove_tree(session.prefix);
    session_ready = false;
}

static int64_t clock_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct pf_wine *pf_wine_session(char *err, size_t errlen)
{
    if (session_ready)
        return &session;
    struct pf_wine *w = &session;
    const char *tmp = getenv("TMPDIR");
    /* The pid in the name tells `pipefault clean` whose prefix it is. */
    snprintf(w->prefix, sizeof w->prefix, "%s/pipefault-wine-%ld-XXXXXX",
             tmp && *tmp ? tmp : "/tmp", (long)getpid());
    if (!mkdtemp(w->prefix)) {
        snprintf(err, errlen, "cannot create a Wine prefix directory: %s", strerror(errno));
        return NULL;
    }
    /* Wine refuses a prefix that is not owned by the user: mkdtemp's is. */
    session_ready = true;
    atexit(session_end);

    int64_t t0 = pf_clock_ns();
    char *server_argv[] = {"wineserver", "-p", NULL};
    char *boot_argv[] = {"wine", "wineboot", "-i", NULL};
    if (run_wait(w, server_argv) != 0 || run_wait(w, boot_argv) != 0) {
        snprintf(err, errlen, "could not start Wine in %s (wineserver -p; wine wineboot -i)",
                 w->prefix);
        session_end();
        return NULL;
    }
    w->first_start_ns = pf_clock_ns() - t0;
    read_version(w);
    /* Wine's QueryPerformanceCounter is CLOCK_MONOTONIC_RAW in 100 ns units
     * (measured; docs/win32.md): this offset moves its readings onto the
     * trace's CLOCK_MONOTONIC. Sampled between two RAW reads. */
    int64_t r1 = clock_of(CLOCK_MONOTONIC_RAW);
    int64_t m = clock_of(CLOCK_MONOTONIC);
    int64_t r2 = clock_of(CLOCK_MONOTONIC_RAW);
    w->mono_minus_raw_ns = m - (r1 + (r2 - r1) / 2);
    return w;
}

pid_t pf_wine_spawn(struct pf_wine *w, char *const argv[], char *const env[], int in_fd,
                    int out_fd, int err_fd)
{
    char *full[64];
    size_t n = 0;
    full[n++] = "wine";
    for (size_t i = 0; argv[i] && n < 63; i++)
        full[n++] = argv[i];
    full[n] = NULL;
    return spawn(w, full, env, in_fd, out_fd, err_fd);
}

void pf_wine_kill_all(struct pf_wine *w)
{
    char *server_argv[] = {"wineserver", "-p", NULL};
    kill_prefix(w);
    run_wait(w, server_argv);
}

/* A prefix whose pipefault process is gone: kill what still runs in it and
 * remove it. Prefixes of live processes are left alone. */
int pf_wine_clean(void)
{
    const char *tmp = getenv("TMPDIR");
    const char *dir = tmp && *tmp ? tmp : "/tmp";
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid;
        if (sscanf(e->d_name, "pipefault-wine-%ld-", &pid) != 1 || pid <= 0)
            continue;
        if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno == EPERM)
            continue;
        /* Only a directory pipefault made: owned by root, no symlink, not
         * writable by anyone else (so nobody can have planted the names
         * inside it that kill_prefix reads). Anything else is not ours. */
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
            st.st_uid != geteuid() || (st.st_mode & 022)) {
            fprintf(stderr, "pipefault: warning: %s/%s is not a private directory of uid %ld: "
                    "left alone\n", dir, e->d_name, (long)geteuid());
            continue;
        }
        struct pf_wine w;
        memset(&w, 0, sizeof w);
        snprintf(w.prefix, sizeof w.prefix, "%s/%s", dir, e->d_name);
        kill_prefix(&w);
        pf_remove_tree(w.prefix);
        fprintf(stderr, "pipefault: removed the Wine prefix %s\n", w.prefix);
        removed++;
    }
    closedir(d);
    return removed;
}
