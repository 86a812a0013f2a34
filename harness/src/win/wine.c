/* wine.c - private prefix, persistent wineserver, spawning (see wine.h). */
#include "wine.h"
#include "wine_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../events.h"
#include "../run.h"
#include "../util.h"

static struct pf_wine session;
static bool session_ready;
/* Whose session it is: a worker forked after this process started one
 * (explore --jobs, after the baseline) must neither use it (two runs of a
 * scenario would meet on one pipe name) nor end it at its exit. */
static pid_t session_pid;

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
    /* Debian's wineserver makes its socket directory (wine-XXXXXX) under
     * $TMPDIR: keep it in the session's private directory too. */
    setenv("TMPDIR", w->tmpdir, 1);
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
    if (pf_wait_child(pid, &st) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void pf_wine_read_version(struct pf_wine *w)
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

int pf_wine_run_wait(const struct pf_wine *w, char *const argv[])
{
    return run_wait(w, argv);
}

/* Kills everything in the prefix and waits for the wineserver to exit. Its
 * socket directory is in the session directory and goes with it. */
static void kill_prefix(const struct pf_wine *w)
{
    char *kill_argv[] = {"wineserver", "-k", NULL};
    char *wait_argv[] = {"wineserver", "-w", NULL};
    run_wait(w, kill_argv);
    run_wait(w, wait_argv);
}

/* Opens PF_WINE_DIR, creating what is missing, one component at a time
 * from / without following a link: every directory on the way must be
 * root's and writable by nobody else, and the last one root's alone (0700).
 * fd, or -1 with err set. */
static int open_wine_root(char *err, size_t errlen)
{
    char path[] = PF_WINE_DIR, *save = NULL;
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (char *c = strtok_r(path, "/", &save); fd >= 0 && c; c = strtok_r(NULL, "/", &save)) {
        bool last = !save || !*save;
        if (mkdirat(fd, c, last ? 0700 : 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create %s: %s", PF_WINE_DIR, strerror(errno));
            close(fd);
            return -1;
        }
        int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = next;
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            snprintf(err, errlen, "cannot open %s (no symlink is followed): %s", PF_WINE_DIR,
                     strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        if (st.st_uid != geteuid() || (st.st_mode & (last ? 077 : 022))) {
            snprintf(err, errlen, "%s: %s is not private to uid %ld (owner %ld, mode %04o): "
                     "refusing to keep Wine state there", PF_WINE_DIR, c, (long)geteuid(),
                     (long)st.st_uid, (unsigned)(st.st_mode & 07777));
            close(fd);
            return -1;
        }
    }
    if (fd < 0)
        snprintf(err, errlen, "cannot open /: %s", strerror(errno));
    return fd;
}

/* The paths of a session directory `name` of PF_WINE_DIR. */
static void session_paths(struct pf_wine *w, const char *name)
{
    snprintf(w->dir, sizeof w->dir, "%s", name);
    snprintf(w->prefix, sizeof w->prefix, "%s/%s/prefix", PF_WINE_DIR, name);
    snprintf(w->tmpdir, sizeof w->tmpdir, "%s/%s/tmp", PF_WINE_DIR, name);
}

static void remove_session(const struct pf_wine *w)
{
    char err[512], shown[PATH_MAX + 32];
    int root = open_wine_root(err, sizeof err);
    if (root < 0) {
        fprintf(stderr, "pipefault: warning: Wine session %s not removed: %s\n", w->dir, err);
        return;
    }
    snprintf(shown, sizeof shown, "%s/%s", PF_WINE_DIR, w->dir);
    pf_remove_tree_at(root, w->dir, shown);
    close(root);
}

static void session_end(void)
{
    if (!session_ready || session_pid != getpid())
        return;
    kill_prefix(&session);
    remove_session(&session);
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
    if (session_ready && session_pid == getpid())
        return &session;
    session_ready = false;   /* the parent's, if any: left to it */
    struct pf_wine *w = &session;
    int root = open_wine_root(err, errlen);
    if (root < 0)
        return NULL;
    /* <pid>-<random>/{prefix,tmp}: the pid tells `pipefault clean` whose
     * session it is. Wine refuses a prefix not owned by the user: ours is. */
    char name[64];
    int made = -1;
    for (int tries = 0; tries < 16 && made < 0; tries++) {
        unsigned char r[3];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
            break;
        snprintf(name, sizeof name, "%ld-%02x%02x%02x", (long)getpid(), r[0], r[1], r[2]);
        made = mkdirat(root, name, 0700);
        if (made < 0 && errno != EEXIST)
            break;
    }
    int sfd = made == 0 ? pf_dir_open_private(root, name) : -1;
    if (sfd < 0 || mkdirat(sfd, "prefix", 0700) < 0 || mkdirat(sfd, "tmp", 0700) < 0) {
        snprintf(err, errlen, "cannot create a Wine session directory in %s: %s", PF_WINE_DIR,
                 strerror(errno));
        if (sfd >= 0)
            close(sfd);
        if (made == 0)
            pf_remove_tree_at(root, name, PF_WINE_DIR);
        close(root);
        return NULL;
    }
    close(root);
    session_paths(w, name);
    session_ready = true;
    /* A forked worker inherits the handler already registered. */
    if (session_pid == 0)
        atexit(session_end);
    session_pid = getpid();

    int64_t t0 = pf_clock_ns();
    pf_wine_read_version(w);
    /* The prefix is a copy of the cached one (wine_cache.h); only when the
     * cache cannot be used does Wine build it here, the slow way. */
    char why[512];
    bool built = false, filled = pf_wine_cache_fill(w, sfd, &built, why, sizeof why) == 0;
    close(sfd);
    if (!filled)
        fprintf(stderr, "pipefault: warning: the prefix cache was not used (%s); Wine creates "
                "a prefix for this run\n", why);
    w->from_cache = filled;
    w->cache_built = built;
    char *server_argv[] = {"wineserver", "-p", NULL};
    char *boot_argv[] = {"wine", "wineboot", "-i", NULL};
    if (run_wait(w, server_argv) != 0 || (!filled && run_wait(w, boot_argv) != 0)) {
        snprintf(err, errlen, "could not start Wine in %s (wineserver -p; wine wineboot -i)",
                 w->prefix);
        session_end();
        return NULL;
    }
    w->first_start_ns = pf_clock_ns() - t0;
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

/* A session whose pipefault process is gone: kill what still runs in its
 * prefix and remove it. Only PF_WINE_DIR is looked at: root's alone, so
 * every name in it was made by pipefault. Sessions of live processes are
 * left alone. */
int pf_wine_clean(void)
{
    char err[512];
    int root = open_wine_root(err, sizeof err);
    if (root < 0) {
        fprintf(stderr, "pipefault: warning: Wine sessions not swept: %s\n", err);
        return 0;
    }
    int fd = dup(root);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        close(root);
        return 0;
    }
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid;
        char rest[16];
        if (sscanf(e->d_name, "%ld-%15s", &pid, rest) != 2 || pid <= 0)
            continue;
        if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno == EPERM)
            continue;
        int sfd = pf_dir_open_private(root, e->d_name);
        if (sfd < 0) {
            fprintf(stderr, "pipefault: warning: %s/%s is not a private directory of uid %ld: "
                    "left alone\n", PF_WINE_DIR, e->d_name, (long)geteuid());
            continue;
        }
        close(sfd);
        struct pf_wine w;
        memset(&w, 0, sizeof w);
        session_paths(&w, e->d_name);
        kill_prefix(&w);
        char shown[PATH_MAX + 32];
        snprintf(shown, sizeof shown, "%s/%s", PF_WINE_DIR, e->d_name);
        pf_remove_tree_at(root, e->d_name, shown);
        fprintf(stderr, "pipefault: removed the Wine session %s\n", shown);
        removed++;
    }
    closedir(d);
    close(root);
    return removed;
}
