/* run.c - one scenario, start to verdict.
 *
 * Prepares the scenario's private places (a world-traversable work
 * directory, so that non-root clients can reach the endpoint; and the
 * scenario's folder in the store), hands the run to the platform's backend,
 * then reads the trace back and lets the checker judge it. Whatever the
 * backend did, the work directory is removed before the next scenario,
 * relative to the fd of the directory it was made in.
 */
#include "run.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "checker.h"
#include "run_scenario.h"
#include "text.h"
#include "trace_names.h"
#include "util.h"

volatile sig_atomic_t pf_interrupted;

/* Opens a directory entry of dirfd for the walk below: no symlink anywhere,
 * no mount point crossed, never outside dirfd, whatever is swapped in
 * between two calls (openat2 resolves the name in one step, in the kernel). */
static int open_subdir(int dirfd, const char *name)
{
    struct open_how how = {
        .flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
        .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV |
                   RESOLVE_BENEATH,
    };
    return (int)syscall(SYS_openat2, dirfd, name, &how, sizeof how);
}

/* Removes everything inside the directory dirfd. Every step is relative to
 * a directory fd opened without following links, so a directory swapped for
 * a symlink mid-walk (renameat2 RENAME_EXCHANGE) only ever makes an unlinkat
 * remove the symlink itself. Depth is bounded so that a hostile tree cannot
 * exhaust the fd table or the stack; what is left is named on stderr. */
#define REMOVE_MAX_DEPTH 128

static void remove_contents(int dirfd, const char *path, int depth)
{
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        fprintf(stderr, "pipefault: warning: cannot read %s: %s\n", path, strerror(errno));
        return;
    }
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        /* A name swapped between a directory and something else while we
         * look at it: try again, a few times, each way. */
        int err = 0;
        for (int tries = 0; tries < 32; tries++) {
            if (unlinkat(dirfd, e->d_name, 0) == 0 || errno == ENOENT) {
                err = 0;
                break;
            }
            if (depth >= REMOVE_MAX_DEPTH) {
                err = ELOOP;
                break;
            }
            int sub = open_subdir(dirfd, e->d_name);
            if (sub < 0) {
                err = errno;
                if (err == ENOTDIR || err == ELOOP || err == ENOENT)
                    continue;
                break;
            }
            remove_contents(sub, path, depth + 1);
            close(sub);
            if (unlinkat(dirfd, e->d_name, AT_REMOVEDIR) == 0 || errno == ENOENT) {
                err = 0;
                break;
            }
            err = errno;
            if (err != ENOTDIR && err != ENOTEMPTY)
                break;
        }
        if (err)
            fprintf(stderr, "pipefault: warning: cannot remove %s in %s: %s\n", e->d_name, path,
                    depth < REMOVE_MAX_DEPTH ? strerror(err) : "nested too deep");
    }
    closedir(d);
}

int pf_remove_tree_at(int parentfd, const char *name, const char *shown)
{
    int fd = open_subdir(parentfd, name);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        fprintf(stderr, "pipefault: warning: not removing %s: %s\n", shown, strerror(errno));
        return -1;
    }
    struct stat st;
    /* Only a directory of ours, which nobody else can write into. */
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
        fprintf(stderr, "pipefault: warning: not removing %s: not a private directory of "
                "uid %ld\n", shown, (long)geteuid());
        close(fd);
        return -1;
    }
    int rc;
    /* Names moved around during the walk can hide from readdir: go again. */
    for (int tries = 0; tries < 8; tries++) {
        remove_contents(fd, shown, 0);
        rc = unlinkat(parentfd, name, AT_REMOVEDIR);
        if (rc == 0 || errno != ENOTEMPTY)
            break;
    }
    close(fd);
    if (rc < 0 && errno != ENOENT) {
        fprintf(stderr, "pipefault: warning: cannot remove %s: %s\n", shown, strerror(errno));
        return -1;
    }
    return 0;
}

void pf_remove_tree(const char *path)
{
    const char *slash = strrchr(path, '/');
    char parent[4096];
    snprintf(parent, sizeof parent, "%.*s", slash ? (int)(slash - path) : 1,
             slash ? (slash == path ? "/" : path) : ".");
    int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0) {
        fprintf(stderr, "pipefault: warning: cannot remove %s: %s\n", path, strerror(errno));
        return;
    }
    pf_remove_tree_at(pfd, slash ? slash + 1 : path, path);
    close(pfd);
}

/* The end of the file `name` of dirfd as valid UTF-8 text ("" if there is
 * none, or it is not a regular file): at most `max - 1` bytes, starting on a
 * character boundary, invalid bytes shown as U+FFFD. */
static void file_tail(int dirfd, const char *name, char *out, size_t max)
{
    out[0] = 0;
    int fd = dirfd >= 0 ? pf_store_open_read(dirfd, name) : -1;
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return;
    }
    /* A replaced byte grows to three: read a third of the room, whole. */
    size_t want = (max - 1) / 3;
    char *raw = pf_xmalloc(want + 1);
    off_t from = st.st_size > (off_t)want ? st.st_size - (off_t)want : 0;
    ssize_t got = pread(fd, raw, want, from);
    close(fd);
    size_t n = got > 0 ? (size_t)got : 0;
    size_t start = from > 0 ? pf_utf8_boundary(raw, n, 0) : 0;
    pf_utf8_clean(raw + start, n - start, out, max);
    free(raw);
}

/* The scenario's work directory: a new directory in /tmp (clients of other
 * accounts must reach the endpoint in it), made and later removed relative
 * to the fd of /tmp opened here, so that its name is never resolved again. */
static int make_workdir(struct pf_run *run, int *parent_fd, char *name, size_t namelen)
{
    *parent_fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*parent_fd < 0)
        return -1;
    for (int tries = 0; tries < 16; tries++) {
        unsigned char r[3];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
            break;
        snprintf(name, namelen, "pipefault-%s-%02x%02x%02x", run->run_id, r[0], r[1], r[2]);
        if (mkdirat(*parent_fd, name, 0700) < 0) {
            if (errno == EEXIST)
                continue;
            break;
        }
        int fd = pf_dir_open_private(*parent_fd, name);
        if (fd < 0 || fchmod(fd, 0755) < 0) {
            int saved = errno;
            if (fd >= 0)
                close(fd);
            unlinkat(*parent_fd, name, AT_REMOVEDIR);
            errno = saved;
            break;
        }
        close(fd);
        snprintf(run->workdir, sizeof run->workdir, "/tmp/%s", name);
        return 0;
    }
    int saved = errno;
    close(*parent_fd);
    *parent_fd = -1;
    name[0] = 0;
    errno = saved;
    return -1;
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

json_object *pf_run_scenario(const struct pf_scenario *sc, const struct pf_run_env *env,
                             int *harness_error)
{
    struct pf_run run;
    memset(&run, 0, sizeof run);
    run.sc = sc;
    run.seed = env->seed ^ name_hash(sc->name);
    snprintf(run.run_id, sizeof run.run_id, "%s", env->run_id);
    snprintf(run.outdir, sizeof run.outdir, "%s/%s", env->outdir, sc->name);
    run.fixture_dir = env->fixture_dir;
    run.win32_dir = env->win32_dir;
    *harness_error = 0;
    int work_parent = -1;
    char work_name[64] = "";

    json_object *res = NULL;
    const char *verdict = NULL;
    int64_t t0 = pf_clock_ns();
    char trace_path[1200];
    snprintf(trace_path, sizeof trace_path, "%s/trace.jsonl", run.outdir);

    run.outdir_fd = pf_store_mkdir(env->store_fd, sc->name);
    if (run.outdir_fd < 0) {
        snprintf(run.error, sizeof run.error, "cannot use %s: %s", run.outdir,
                 errno == EPERM ? "it exists and is not a directory of this uid that only it "
                 "can write to" : errno == ENOTDIR || errno == ELOOP ? "it exists and is a "
                 "symlink (not followed) or not a directory" : strerror(errno));
        *harness_error = 1;
        goto verdict;
    }
    if (make_workdir(&run, &work_parent, work_name, sizeof work_name) < 0) {
        snprintf(run.error, sizeof run.error, "cannot create a work directory in /tmp: %s",
                 strerror(errno));
        *harness_error = 1;
        goto verdict;
    }
    int trace_fd = pf_store_create(run.outdir_fd, "trace.jsonl");
    if (trace_fd < 0 || pf_trace_open_fd(&run.trace, trace_fd) < 0) {
        snprintf(run.error, sizeof run.error, "cannot write %s: %s", trace_path, strerror(errno));
        *harness_error = 1;
        goto verdict;
    }
    json_object *f = json_object_new_object();
    json_object_object_add(f, PF_F_NAME, json_object_new_string(sc->name));
    json_object_object_add(f, PF_F_FILE, json_object_new_string(sc->file));
    json_object_object_add(f, PF_F_SEED, json_object_new_int64((int64_t)run.seed));
    json_object_object_add(f, PF_F_PLATFORM, json_object_new_string(pf_platform_name(sc->platform)));
    pf_trace_emit(&run.trace, PF_SRC_HARNESS, PF_EV_SCENARIO_START, f);
    run.deadline_ns = pf_ns_add_sat(run.trace.start_ns, sc->server.timeout_ns);

    const struct pf_backend *be = pf_backend_for(sc->platform);
    const char *why = be->unavailable ? be->unavailable(env) : NULL;
    if (why) {
        snprintf(run.skip_reason, sizeof run.skip_reason, "%s", why);
        verdict = "skipped";
    } else {
        enum pf_run_status rc = be->run(&run);
        if (rc == PF_RUN_HARNESS)
            *harness_error = 1;
        if (rc != PF_RUN_OK)
            verdict = "error";
        /* Every backend sends the server's stderr to <outdir>/server.stderr. */
        file_tail(run.outdir_fd, "server.stderr", run.server_stderr, sizeof run.server_stderr);
    }
    pf_trace_close(&run.trace);
    if (run.trace.write_errno) {
        snprintf(run.error, sizeof run.error, "cannot write %s: %s (the trace is incomplete)",
                 trace_path, strerror(run.trace.write_errno));
        *harness_error = 1;
        verdict = "error";
    }

verdict:;
    int rfd = run.outdir_fd >= 0 ? pf_store_open_read(run.outdir_fd, "trace.jsonl") : -1;
    json_object *trace = rfd >= 0 ? pf_trace_read_fd(rfd) : NULL;
    if (!trace)
        trace = json_object_new_array();
    res = pf_check(sc, trace);
    json_object_put(trace);
    if (verdict) {
        json_object_object_add(res, "verdict", json_object_new_string(verdict));
        json_object_object_add(res, "reason", json_object_new_string(
            run.skip_reason[0] ? run.skip_reason : run.error[0] ? run.error : "error"));
    } else if (run.error[0] || *harness_error) {
        json_object_object_add(res, "verdict", json_object_new_string("error"));
        json_object_object_add(res, "reason", json_object_new_string(run.error));
    }
    json_object_object_add(res, "name", json_object_new_string(sc->name));
    json_object_object_add(res, "file", json_object_new_string(sc->file));
    json_object_object_add(res, "description",
                           sc->description ? json_object_new_string(sc->description) : NULL);
    json_object_object_add(res, "platform", json_object_new_string(pf_platform_name(sc->platform)));
    json_object_object_add(res, "seed", json_object_new_int64((int64_t)run.seed));
    json_object_object_add(res, "duration_ms",
                           json_object_new_int64((pf_clock_ns() - t0 -
                                                  run.platform_startup_ns) / 1000000));
    char rel[600];
    snprintf(rel, sizeof rel, "%s/trace.jsonl", sc->name);
    json_object_object_add(res, "trace", json_object_new_string(rel));
    json_object *server = run.server ? run.server : json_object_new_object();
    json_object_object_add(server, "stderr_tail", json_object_new_string(run.server_stderr));
    json_object_object_add(res, "server", server);

    if (work_parent >= 0) {
        pf_remove_tree_at(work_parent, work_name, run.workdir);
        close(work_parent);
    }
    if (run.outdir_fd >= 0)
        close(run.outdir_fd);
    return res;
}
