/* run.c - one scenario, start to verdict.
 *
 * Prepares the scenario's private places (a world-traversable work
 * directory, so that non-root clients can reach the endpoint; and the
 * scenario's folder in the store), hands the run to the platform's backend,
 * then reads the trace back and lets the checker judge it. Whatever the
 * backend did, the work directory is removed before the next scenario.
 */
#include "run.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checker.h"
#include "run_scenario.h"

volatile sig_atomic_t pf_interrupted;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    if (remove(path) < 0 && errno != ENOENT)
        fprintf(stderr, "pipefault: warning: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

void pf_remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* The last `max - 1` bytes of a file, as text ("" if there is none). */
static void file_tail(const char *path, char *out, size_t max)
{
    out[0] = 0;
    FILE *fp = fopen(path, "re");
    if (!fp)
        return;
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    long from = size > (long)max - 1 ? size - ((long)max - 1) : 0;
    fseek(fp, from, SEEK_SET);
    size_t n = fread(out, 1, max - 1, fp);
    out[n] = 0;
    fclose(fp);
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
    run.tool_dir = env->tool_dir;
    *harness_error = 0;

    json_object *res = NULL;
    const char *verdict = NULL;
    int64_t t0 = pf_clock_ns();
    char trace_path[1200];
    snprintf(trace_path, sizeof trace_path, "%s/trace.jsonl", run.outdir);

    if (mkdir(run.outdir, 0755) < 0 && errno != EEXIST) {
        snprintf(run.error, sizeof run.error, "mkdir %s: %s", run.outdir, strerror(errno));
        *harness_error = 1;
        goto verdict;
    }
    snprintf(run.workdir, sizeof run.workdir, "/tmp/pipefault-%s-XXXXXX", run.run_id);
    if (!mkdtemp(run.workdir) || chmod(run.workdir, 0755) < 0) {
        snprintf(run.error, sizeof run.error, "cannot create a work directory in /tmp: %s",
                 strerror(errno));
        *harness_error = 1;
        run.workdir[0] = 0;
        goto verdict;
    }
    if (pf_trace_open(&run.trace, trace_path) < 0) {
        snprintf(run.error, sizeof run.error, "cannot write %s: %s", trace_path, strerror(errno));
        *harness_error = 1;
        goto verdict;
    }
    json_object *f = json_object_new_object();
    json_object_object_add(f, "name", json_object_new_string(sc->name));
    json_object_object_add(f, "file", json_object_new_string(sc->file));
    json_object_object_add(f, "seed", json_object_new_int64((int64_t)run.seed));
    json_object_object_add(f, "platform", json_object_new_string(pf_platform_name(sc->platform)));
    pf_trace_emit(&run.trace, "harness", "scenario_start", f);
    run.deadline_ns = run.trace.start_ns + sc->server.timeout_ns;

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
        char errpath[1200];
        snprintf(errpath, sizeof errpath, "%s/server.stderr", run.outdir);
        file_tail(errpath, run.server_stderr, sizeof run.server_stderr);
    }
    pf_trace_close(&run.trace);

verdict:;
    json_object *trace = pf_trace_read(trace_path);
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
                           json_object_new_int64((pf_clock_ns() - t0) / 1000000));
    char rel[600];
    snprintf(rel, sizeof rel, "%s/trace.jsonl", sc->name);
    json_object_object_add(res, "trace", json_object_new_string(rel));
    json_object *server = run.server ? run.server : json_object_new_object();
    json_object_object_add(server, "stderr_tail", json_object_new_string(run.server_stderr));
    json_object_object_add(res, "server", server);

    if (run.workdir[0])
        pf_remove_tree(run.workdir);
    return res;
}
