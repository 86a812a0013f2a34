/* merge.c - one store out of several (see merge.h).
 *
 * A sharded suite leaves one store per CI runner; the job that collects them
 * wants what a single run would have written: one results.json (summary
 * recounted from the verdicts), one junit.xml, one index.html. The files are
 * written by the run's own writers (results.c, report.c); this file only
 * gathers. Stores are read beneath their directory fd with no symlink
 * followed (they are artifacts, possibly someone else's), and OUT is opened
 * like a run's --out.
 */
#include "merge.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report.h"
#include "results.h"
#include "run.h"
#include "suite.h"
#include "util.h"
#include "version.h"

#define COPY_MAX_DEPTH 8

static int copy_file(int from_dir, const char *name, int to_dir)
{
    int in = pf_store_open_read(from_dir, name);
    if (in < 0)
        return -1;
    char tmp[300];
    int out = pf_store_tmp(to_dir, name, tmp, sizeof tmp);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || write(out, buf, (size_t)n) != n) {
            rc = -1;
            break;
        }
    }
    int saved = errno;
    close(in);
    if (close(out) != 0)
        rc = -1;
    if (rc < 0) {
        unlinkat(to_dir, tmp, 0);
        errno = saved;
        return -1;
    }
    return pf_store_commit(to_dir, tmp, name);
}

/* Copies the folder `name` of from_dir (regular files and folders, nothing
 * else) into to_dir; what it cannot copy it names on stderr. */
static int copy_folder(int from_dir, const char *name, int to_dir, const char *shown, int depth)
{
    int src = pf_store_open_beneath(from_dir, name, O_RDONLY | O_DIRECTORY);
    if (src < 0)
        return errno == ENOENT ? 0 : -1;
    int dst = pf_store_mkdir(to_dir, name);
    int dfd = dup(src);
    DIR *d = dst >= 0 && dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        int saved = errno;
        if (dfd >= 0)
            close(dfd);
        if (dst >= 0)
            close(dst);
        close(src);
        errno = saved;
        return -1;
    }
    int rc = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        struct stat st;
        if (fstatat(src, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        int r = 0;
        if (S_ISREG(st.st_mode))
            r = copy_file(src, e->d_name, dst);
        else if (S_ISDIR(st.st_mode) && depth < COPY_MAX_DEPTH)
            r = copy_folder(src, e->d_name, dst, shown, depth + 1);
        else
            fprintf(stderr, "pipefault merge: %s/%s/%s not copied (not a regular file or "
                    "folder)\n", shown, name, e->d_name);
        if (r < 0) {
            fprintf(stderr, "pipefault merge: cannot copy %s/%s/%s: %s\n", shown, name,
                    e->d_name, strerror(errno));
            rc = -1;
        }
    }
    closedir(d);
    close(dst);
    close(src);
    return rc;
}

struct store {
    const char *path;
    int fd;
    json_object *results;
};

/* The scenario named `name` of an earlier store, or -1. */
static int owner_of(const struct store *s, int upto, const char *name)
{
    for (int k = 0; k < upto; k++) {
        json_object *list = pf_json_get(s[k].results, "scenarios");
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            const char *other = pf_json_str(json_object_array_get_idx(list, i), "name");
            if (other && !strcmp(other, name))
                return k;
        }
    }
    return -1;
}

static json_object *merged_run(const struct store *s, int n, const char *command, bool *complete)
{
    json_object *run = json_object_new_object(), *from = json_object_new_array();
    char *ids = pf_xstrdup("");
    const char *started = NULL;
    json_object *seed = NULL;
    bool same_seed = true;
    *complete = true;
    for (int k = 0; k < n; k++) {
        json_object *r = pf_json_get(s[k].results, "run");
        const char *id = pf_json_str(r, "id"), *st = pf_json_str(r, "started");
        json_object *c = pf_json_get(r, "complete");
        bool done = c && json_object_get_boolean(c);
        *complete = *complete && done;
        char *more = pf_xasprintf("%s%s%s", ids, k ? "+" : "", id ? id : "?");
        free(ids);
        ids = more;
        if (st && (!started || strcmp(st, started) < 0))
            started = st;
        json_object *sd = pf_json_get(r, "seed");
        if (k == 0)
            seed = sd;
        else if (!seed || !sd || json_object_get_int64(seed) != json_object_get_int64(sd))
            same_seed = false;
        json_object *f = json_object_new_object();
        json_object_object_add(f, "store", json_object_new_string(s[k].path));
        json_object_object_add(f, "id", id ? json_object_new_string(id) : NULL);
        json_object_object_add(f, "seed", sd ? json_object_get(sd) : NULL);
        json_object_object_add(f, "command", json_object_get(pf_json_get(r, "command")));
        json_object_object_add(f, "complete", json_object_new_boolean(done));
        json_object_array_add(from, f);
    }
    json_object_object_add(run, "id", json_object_new_string(ids));
    free(ids);
    json_object_object_add(run, "started", started ? json_object_new_string(started) : NULL);
    json_object_object_add(run, "seed", same_seed && seed ? json_object_get(seed) : NULL);
    json_object_object_add(run, "command", json_object_new_string(command));
    json_object_object_add(run, "complete", json_object_new_boolean(*complete));
    json_object_object_add(run, "merged_from", from);
    return run;
}

int pf_merge(const char *out, char *const *stores, int nstores, const char *command)
{
    struct store *s = pf_xcalloc((size_t)nstores, sizeof *s);
    int rc = PF_EXIT_BAD_INPUT, outfd = -1;
    char err[512];
    int64_t not_run = 0;
    for (int k = 0; k < nstores; k++)
        s[k].fd = -1;
    for (int k = 0; k < nstores; k++) {
        s[k].path = stores[k];
        s[k].fd = open(stores[k], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s[k].fd < 0) {
            fprintf(stderr, "pipefault merge: %s: %s\n", stores[k], strerror(errno));
            goto done;
        }
        s[k].results = pf_results_read_at(s[k].fd, stores[k], err, sizeof err);
        if (!s[k].results) {
            fprintf(stderr, "pipefault merge: %s\n", err);
            goto done;
        }
        json_object *list = pf_json_get(s[k].results, "scenarios");
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            const char *name = pf_json_str(json_object_array_get_idx(list, i), "name");
            if (!name) {
                fprintf(stderr, "pipefault merge: %s/results.json: scenarios[%zu] has no "
                        "name\n", stores[k], i);
                goto done;
            }
            int other = owner_of(s, k, name);
            if (other >= 0) {
                fprintf(stderr, "pipefault merge: scenario '%s' is in both %s and %s: each "
                        "scenario must come from one store (the same store twice, or "
                        "overlapping shards?)\n", name, stores[other], stores[k]);
                goto done;
            }
        }
        not_run += pf_json_int(pf_json_get(s[k].results, "summary"), "not_run", 0);
    }
    outfd = pf_store_open_out(out);
    if (outfd < 0) {
        rc = outfd == -2 ? PF_EXIT_BAD_INPUT : PF_EXIT_HARNESS;
        goto done;
    }
    json_object *all = json_object_new_array();
    for (int k = 0; k < nstores; k++) {
        json_object *list = pf_json_get(s[k].results, "scenarios");
        for (size_t i = 0; i < json_object_array_length(list); i++) {
            json_object *sc = json_object_array_get_idx(list, i);
            const char *name = pf_json_str(sc, "name");
            if (copy_folder(s[k].fd, name, outfd, stores[k], 0) < 0)
                fprintf(stderr, "pipefault merge: warning: the folder of '%s' in %s was not "
                        "copied whole: %s\n", name, stores[k], strerror(errno));
            json_object_array_add(all, json_object_get(sc));
        }
    }
    bool complete;
    int counts[PF_V__COUNT];
    json_object *results = json_object_new_object();
    json_object_object_add(results, "schema", json_object_new_int(1));
    char tool[96];
    snprintf(tool, sizeof tool, "pipefault %s", pf_version);
    json_object_object_add(results, "tool", json_object_new_string(tool));
    json_object_object_add(results, "run", merged_run(s, nstores, command, &complete));
    json_object_object_add(results, "summary", pf_summary_new(all, not_run, counts));
    json_object_object_add(results, "scenarios", all);
    if (pf_results_write(outfd, results) < 0 || pf_junit_write(outfd, results) < 0) {
        fprintf(stderr, "pipefault merge: cannot write results into %s: %s\n", out,
                strerror(errno));
        rc = PF_EXIT_HARNESS;
    } else if (pf_report_write_at(outfd, out, err, sizeof err) < 0) {
        fprintf(stderr, "pipefault merge: report: %s\n", err);
        rc = PF_EXIT_HARNESS;
    } else {
        size_t n = json_object_array_length(all);
        fprintf(stderr, "pipefault merge: %zu scenario%s from %d store%s: %d pass, %d fail, "
                "%d error, %d skipped, %d inconclusive%s -> %s/index.html\n",
                n, n == 1 ? "" : "s", nstores, nstores == 1 ? "" : "s",
                counts[PF_V_PASS], counts[PF_V_FAIL], counts[PF_V_ERROR], counts[PF_V_SKIPPED],
                counts[PF_V_INCONCLUSIVE], complete ? "" : " (a store is incomplete)", out);
        if (!complete)
            rc = PF_EXIT_HARNESS;
        else
            rc = (counts[PF_V_FAIL] + counts[PF_V_ERROR] + counts[PF_V_INCONCLUSIVE]) > 0 ?
                 PF_EXIT_FAIL : PF_EXIT_PASS;
    }
    json_object_put(results);
done:
    if (outfd >= 0)
        close(outfd);
    for (int k = 0; k < nstores; k++) {
        if (s[k].fd >= 0)
            close(s[k].fd);
        json_object_put(s[k].results);
    }
    free(s);
    return rc;
}
