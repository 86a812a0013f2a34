/* suite.c - loading a suite, running it, and writing the run's store. */
#include "suite.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "helper_dirs.h"
#include "jobs.h"
#include "report.h"
#include "results.h"
#include "run.h"
#include "run_scenario.h"
#include "text.h"
#include "util.h"
#include "version.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_yaml_suffix(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static void add(struct pf_scenario_list *l, struct pf_scenario *sc)
{
    l->items = pf_xreallocarray(l->items, l->n + 1, sizeof *l->items);
    l->items[l->n++] = sc;
}

static int load_file(const char *path, struct pf_scenario_list *l)
{
    struct pf_error err;
    struct pf_scenario *sc = pf_scenario_load(path, &err);
    if (!sc) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    /* What the platform cannot do is bad input too, found before any run. */
    const struct pf_backend *be = pf_backend_for(sc->platform);
    if (be->check && be->check(sc, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        pf_scenario_free(sc);
        return -1;
    }
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->items[i]->name, sc->name)) {
            fprintf(stderr, "%s: scenario name '%s' is already used by %s\n", path, sc->name,
                    l->items[i]->file);
            pf_scenario_free(sc);
            return -1;
        }
    add(l, sc);
    return 0;
}

static int load_dir(const char *dir, struct pf_scenario_list *l)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' && has_yaml_suffix(e->d_name)) {
            names = pf_xreallocarray(names, n + 1, sizeof *names);
            names[n++] = pf_xstrdup(e->d_name);
        }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    int rc = 0;
    if (n == 0) {
        fprintf(stderr, "%s: no scenario files (*.yaml, *.yml) in this directory\n", dir);
        rc = -1;
    }
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
                 names[i]);
        if (load_file(path, l) < 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

int pf_scenarios_load(char **paths, int npaths, struct pf_scenario_list *out)
{
    memset(out, 0, sizeof *out);
    int rc = 0;
    for (int i = 0; i < npaths; i++) {
        struct stat st;
        if (stat(paths[i], &st) < 0) {
            fprintf(stderr, "%s: %s\n", paths[i], strerror(errno));
            rc = -1;
        } else if (S_ISDIR(st.st_mode)) {
            rc |= load_dir(paths[i], out);
        } else {
            rc |= load_file(paths[i], out);
        }
    }
    return rc;
}

void pf_scenarios_free(struct pf_scenario_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        pf_scenario_free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static void on_signal(int sig)
{
    (void)sig;
    pf_interrupted = 1;
}

void pf_suite_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;   /* no SA_RESTART: poll() must return */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* May a directory on the way to the store (or the store itself) be trusted
 * not to have its entries swapped? Owned by root or by us, and writable by
 * nobody else unless sticky (then others cannot rename or remove what we
 * make in it). */
static bool safe_dir(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) &&
           (st.st_uid == 0 || st.st_uid == geteuid()) &&
           (!(st.st_mode & 022) || (st.st_mode & S_ISVTX));
}

/* Whether the directory fd holds no entry but . and .. (false when it
 * cannot be read: then it is not known to be empty). */
static bool dir_is_empty(int fd)
{
    int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (!d) {
        if (dup_fd >= 0)
            close(dup_fd);
        return false;
    }
    bool empty = true;
    for (struct dirent *e; empty && (e = readdir(d));)
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    closedir(d);
    return empty;
}

/* Opens --out DIR one component at a time, never following a link and
 * creating what is missing, so that every directory on the way is checked
 * and the store is the one we checked. fd, -1 (cannot) or -2 (refused). */
int pf_store_open_out(const char *path)
{
    char *copy = pf_xstrdup(path), *save = NULL;
    int fd = open(path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool failed = fd < 0;
    const char *why = NULL;
    char at[4096] = "";
    if (fd >= 0 && !safe_dir(fd))
        why = "a directory on the way is writable by others (and not sticky) or owned by "
              "another user";
    for (char *c = strtok_r(copy, "/", &save); fd >= 0 && !why && c;
         c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, "."))
            continue;
        snprintf(at + strlen(at), sizeof at - strlen(at), "%s%s", at[0] || path[0] == '/' ?
                 "/" : "", c);
        if (!strcmp(c, "..")) {
            why = "it has a '..' component";
            break;
        }
        if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST) {
            fprintf(stderr, "pipefault: cannot create %s: %s\n", at, strerror(errno));
            failed = true;
            break;
        }
        int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = next;
        if (fd < 0) {
            if (errno == ELOOP || errno == ENOTDIR)
                why = "it is, or goes through, a symlink or something not a directory";
            else {
                fprintf(stderr, "pipefault: cannot open %s: %s\n", at, strerror(errno));
                failed = true;
            }
            break;
        }
        if (!safe_dir(fd))
            why = "a directory on the way is writable by others (and not sticky) or owned by "
                  "another user";
    }
    free(copy);
    if (failed) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct stat st;
    /* The store itself: ours. */
    if (!why && (fstat(fd, &st) < 0 || st.st_uid != geteuid()))
        why = "it is not owned by this uid";
    if (!why && !dir_is_empty(fd)) {
        /* Every store file is created O_EXCL, so an earlier run's files
         * would make each scenario an error halfway through: say so now. */
        fprintf(stderr, "pipefault: refusing --out %s: it is not empty (an earlier run's "
                "store?); name a new or empty directory\n", path);
        close(fd);
        return -2;
    }
    if (why) {
        fprintf(stderr, "pipefault: refusing --out %s: %s%s%s; anyone who can swap or write "
                "entries there could make pipefault write elsewhere (it must be a real path "
                "of directories owned by root or uid %ld, each writable by nobody else unless "
                "sticky)\n", path, why, at[0] ? ": " : "", at, (long)geteuid());
        if (fd >= 0)
            close(fd);
        return -2;
    }
    return fd;
}

/* The run's store: --out DIR, or a new out/<stamp>-<run> with out/latest
 * pointing at it. Returns its fd (name in dir), -1 (cannot) or -2 (bad
 * --out: exit 2). */
int pf_suite_make_store(const char *out, const char *run_id, char *dir, size_t n)
{
    if (out) {
        snprintf(dir, n, "%s", out);
        return pf_store_open_out(out);
    }
    /* out/ may belong to whoever owns the working directory: only the new
     * directory made in it is trusted, and reached through its fd. */
    if (mkdir("out", 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "pipefault: cannot create out/: %s\n", strerror(errno));
        return -1;
    }
    int outfd = open("out", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (outfd < 0) {
        fprintf(stderr, "pipefault: cannot open out/ (a symlink is not followed): %s\n",
                strerror(errno));
        return -1;
    }
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", gmtime(&now));
    char name[64];
    snprintf(name, sizeof name, "%s-%s", stamp, run_id);
    snprintf(dir, n, "out/%s", name);
    int fd = -1;
    if (mkdirat(outfd, name, 0755) < 0 || (fd = pf_dir_open_private(outfd, name)) < 0) {
        fprintf(stderr, "pipefault: cannot create %s: %s\n", dir, strerror(errno));
        close(outfd);
        return -1;
    }
    /* out/latest -> the newest run, replaced atomically. */
    if (pf_store_link(outfd, name, "latest") < 0)
        fprintf(stderr, "pipefault: warning: cannot point out/latest at %s: %s\n", name,
                strerror(errno));
    close(outfd);
    return fd;
}

#define TAIL_LINES 5
#define TAIL_LINE_BYTES 240

/* The last lines the server wrote on stderr, under an `error` verdict: the
 * cause is usually there. The tail is valid UTF-8 already; long lines are
 * cut on a character boundary. */
static void print_stderr_tail(json_object *res)
{
    const char *tail = pf_json_str(pf_json_get(res, "server"), "stderr_tail");
    if (!tail || !*tail)
        return;
    size_t len = strlen(tail);
    while (len > 0 && (tail[len - 1] == '\n' || tail[len - 1] == '\r'))
        len--;
    size_t start = len;
    for (int lines = 0; start > 0; start--)
        if (tail[start - 1] == '\n' && ++lines == TAIL_LINES)
            break;
    fprintf(stderr, "        server stderr (last lines):\n");
    for (const char *p = tail + start, *end = tail + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t k = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char line[TAIL_LINE_BYTES + 1];
        size_t w = pf_utf8_clean(p, k, line, sizeof line);
        fprintf(stderr, "          | %s%s\n", line, w < k ? " ..." : "");
        p += k + 1;
    }
}

static void progress(size_t i, size_t n, const char *name, json_object *res)
{
    const char *verdict = pf_json_str(res, "verdict"), *reason = pf_json_str(res, "reason");
    fprintf(stderr, "[%zu/%zu] %-36s %-7s %6.2fs  %s\n", i + 1, n, name,
            verdict ? verdict : "?", (double)pf_json_int(res, "duration_ms", 0) / 1000.0,
            reason ? reason : "");
    if (verdict && !strcmp(verdict, "error"))
        print_stderr_tail(res);
    /* Faults that never fired: the scenario may not have tested what it says. */
    json_object *w = pf_json_get(res, "warnings");
    for (size_t k = 0; w && k < json_object_array_length(w); k++) {
        const char *text = pf_json_str(json_object_array_get_idx(w, k), "text");
        fprintf(stderr, "        warning: %s\n", text ? text : "?");
    }
}

static const char *const verdict_names[PF_V__COUNT] = {
    "pass", "fail", "error", "skipped", "inconclusive",
};

/* A verdict's counter; anything unexpected counts as an error, never as a
 * pass or a skip. */
static int verdict_index(const char *v)
{
    for (int k = 0; k < PF_V__COUNT; k++)
        if (v && !strcmp(v, verdict_names[k]))
            return k;
    return PF_V_ERROR;
}

json_object *pf_summary_new(json_object *scenarios, int64_t not_run, int counts[PF_V__COUNT])
{
    for (int k = 0; k < PF_V__COUNT; k++)
        counts[k] = 0;
    for (size_t i = 0; i < json_object_array_length(scenarios); i++)
        counts[verdict_index(pf_json_str(json_object_array_get_idx(scenarios, i),
                                         "verdict"))]++;
    json_object *summary = json_object_new_object();
    for (int k = 0; k < PF_V__COUNT; k++)
        json_object_object_add(summary, verdict_names[k], json_object_new_int(counts[k]));
    json_object_object_add(summary, "not_run", json_object_new_int64(not_run));
    return summary;
}

/* Does the list have a scenario for this backend's platform? */
static bool uses(const struct pf_scenario_list *l, const struct pf_backend *be)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i]->platform == be->platform)
            return true;
    return false;
}

int pf_sweep_all(void)
{
    int n = 0;
    for (size_t i = 0; pf_backends[i]; i++)
        if (pf_backends[i]->sweep)
            n += pf_backends[i]->sweep();
    return n;
}

void pf_suite_end_backends(const struct pf_scenario_list *l, const struct pf_run_env *env,
                           size_t nbegun)
{
    for (size_t i = 0; i < nbegun; i++)
        if (uses(l, pf_backends[i]) && pf_backends[i]->end_run)
            pf_backends[i]->end_run(env);
}

int pf_suite_begin_backends(const struct pf_scenario_list *l, const struct pf_run_env *env,
                            size_t *nbegun)
{
    char err[512];
    for (*nbegun = 0; pf_backends[*nbegun]; (*nbegun)++) {
        const struct pf_backend *be = pf_backends[*nbegun];
        if (uses(l, be) && be->begin_run && be->begin_run(env, err, sizeof err) < 0) {
            fprintf(stderr, "pipefault: %s\n", err);
            pf_suite_end_backends(l, env, *nbegun);
            return -1;
        }
    }
    return 0;
}

int pf_suite_run(const struct pf_scenario_list *l, const struct pf_suite_options *o)
{
    /* What a SIGKILLed run left behind goes first. */
    pf_sweep_all();

    unsigned char rnd[3];
    if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd) {
        fprintf(stderr, "pipefault: getrandom: %s\n", strerror(errno));
        return PF_EXIT_HARNESS;
    }
    struct pf_run_env env;
    memset(&env, 0, sizeof env);
    snprintf(env.run_id, sizeof env.run_id, "%02x%02x%02x", rnd[0], rnd[1], rnd[2]);
    env.seed = o->seed;
    char err[PATH_MAX + 256];
    /* pipefault's own fixtures and Win32 programs, next to the executable. */
    const struct pf_helper_dirs *dirs = pf_helper_dirs(err, sizeof err);
    if (!dirs) {
        fprintf(stderr, "pipefault: %s\n", err);
        return PF_EXIT_HARNESS;
    }
    env.fixture_dir = dirs->fixtures;
    env.win32_dir = dirs->win32;
    size_t nbegun = 0;
    if (pf_suite_begin_backends(l, &env, &nbegun) < 0)
        return PF_EXIT_HARNESS;
    char outdir[4096];
    int store = pf_suite_make_store(o->out, env.run_id, outdir, sizeof outdir);
    env.store_fd = store;
    if (store < 0) {
        pf_suite_end_backends(l, &env, nbegun);
        return store == -2 ? PF_EXIT_BAD_INPUT : PF_EXIT_HARNESS;
    }
    pf_suite_install_signals();
    env.outdir = outdir;

    time_t now = time(NULL);
    char started[32];
    strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    fprintf(stderr, "pipefault: run %s, seed %llu, %zu scenario%s -> %s\n", env.run_id,
            (unsigned long long)o->seed, l->n, l->n == 1 ? "" : "s", outdir);

    json_object *scenarios = json_object_new_array();
    int counts[PF_V__COUNT];
    int harness_error = 0;
    if (o->jobs > 1 && l->n > 1) {
        harness_error = pf_jobs_run(l, &env, o->jobs, scenarios, progress);
    } else {
        for (size_t i = 0; i < l->n && !pf_interrupted && !harness_error; i++) {
            json_object *res = pf_run_scenario(l->items[i], &env, &harness_error);
            progress(i, l->n, l->items[i]->name, res);
            json_object_array_add(scenarios, res);
        }
    }
    pf_suite_end_backends(l, &env, nbegun);

    json_object *results = json_object_new_object();
    json_object_object_add(results, "schema", json_object_new_int(1));
    char tool[160];
    snprintf(tool, sizeof tool, "pipefault %s", pf_version);
    json_object_object_add(results, "tool", json_object_new_string(tool));
    json_object *run = json_object_new_object();
    json_object_object_add(run, "id", json_object_new_string(env.run_id));
    json_object_object_add(run, "started", json_object_new_string(started));
    json_object_object_add(run, "seed", json_object_new_int64((int64_t)o->seed));
    json_object_object_add(run, "command", json_object_new_string(o->command));
    json_object_object_add(run, "complete",
                           json_object_new_boolean(!pf_interrupted && !harness_error));
    json_object_object_add(results, "run", run);
    size_t nrun = json_object_array_length(scenarios);
    json_object_object_add(results, "summary",
                           pf_summary_new(scenarios, (int64_t)(l->n - nrun), counts));
    json_object_object_add(results, "scenarios", scenarios);

    int rc = PF_EXIT_PASS;
    if (pf_results_write(store, results) < 0 || pf_junit_write(store, results) < 0) {
        fprintf(stderr, "pipefault: cannot write results into %s: %s\n", outdir, strerror(errno));
        rc = PF_EXIT_HARNESS;
    } else if (pf_report_write_at(store, outdir, err, sizeof err) < 0) {
        fprintf(stderr, "pipefault: report: %s\n", err);
        rc = PF_EXIT_HARNESS;
    }
    json_object_put(results);
    close(store);

    fprintf(stderr, "pipefault: %d pass, %d fail, %d error, %d skipped, %d inconclusive",
            counts[PF_V_PASS], counts[PF_V_FAIL], counts[PF_V_ERROR], counts[PF_V_SKIPPED],
            counts[PF_V_INCONCLUSIVE]);
    if (pf_interrupted || harness_error)
        fprintf(stderr, ", %zu not run", l->n - nrun);
    fprintf(stderr, " -> %s/index.html\n", outdir);
    bool failed = counts[PF_V_FAIL] + counts[PF_V_ERROR] + counts[PF_V_INCONCLUSIVE] > 0;
    if (failed)
        fprintf(stderr, "pipefault: reproduce with: %s\n", o->command);
    if (pf_interrupted) {
        fprintf(stderr, "pipefault: interrupted; partial results were written\n");
        return PF_EXIT_HARNESS;
    }
    if (harness_error)
        return PF_EXIT_HARNESS;
    if (rc != PF_EXIT_PASS)
        return rc;
    return failed ? PF_EXIT_FAIL : PF_EXIT_PASS;
}
