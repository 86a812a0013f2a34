/* explore.c - `pipefault explore`: baseline, trials, and the run's record.
 *
 * For every scenario: one run as written (the baseline) says which
 * endpoint operations the server makes; then candidate perturbations are
 * tried one trial at a time, each a real run of the scenario with generated
 * faults, through the same backends as `pipefault run`. The first trial
 * that fails is a finding (explore_finding.c shrinks and replays it); only
 * a `fail` verdict counts, never an error, timeout or inconclusive run.
 * explore.json is rewritten atomically after every trial, so that an
 * interrupted exploration still leaves a consistent, partial record.
 */
#include "explore.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "helper_dirs.h"
#include "explore_run.h"
#include "run_scenario.h"
#include "suite.h"
#include "util.h"
#include "version.h"

void pf_explore_failed_key(json_object *res, char *out, size_t n)
{
    out[0] = 0;
    const char *verdict = pf_json_str(res, "verdict");
    if (!verdict || strcmp(verdict, "fail"))
        return;
    json_object *ex = pf_json_get(res, "expectations");
    for (size_t i = 0; ex && i < json_object_array_length(ex); i++) {
        json_object *e = json_object_array_get_idx(ex, i);
        const char *st = pf_json_str(e, "status"), *id = pf_json_str(e, "id");
        if (st && id && !strcmp(st, "failed")) {
            size_t len = strlen(out);
            snprintf(out + len, n - len, "%s%s", len ? "," : "", id);
        }
    }
}

void pf_explore_save(struct pf_explore *x)
{
    char tmp[300];
    int fd = pf_store_tmp(x->env.store_fd, "explore.json", tmp, sizeof tmp);
    FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!fp) {
        if (fd >= 0)
            close(fd);
        fprintf(stderr, "pipefault explore: cannot write %s/explore.json: %s\n", x->outdir,
                strerror(errno));
        x->harness_error = 1;
        return;
    }
    fputs(json_object_to_json_string_ext(x->doc, JSON_C_TO_STRING_PRETTY |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE), fp);
    fputc('\n', fp);
    bool ok = !ferror(fp) && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    if (fclose(fp) != 0)
        ok = false;
    if (!ok || pf_store_commit(x->env.store_fd, tmp, "explore.json") < 0) {
        if (!ok)
            unlinkat(x->env.store_fd, tmp, 0);
        fprintf(stderr, "pipefault explore: cannot write %s/explore.json: %s\n", x->outdir,
                strerror(errno));
        x->harness_error = 1;
        return;
    }
    if (pf_report_explore_write(x->env.store_fd, x->doc) < 0) {
        fprintf(stderr, "pipefault explore: cannot write %s/explore.html: %s\n", x->outdir,
                strerror(errno));
        x->harness_error = 1;
    }
}

static json_object *invalid(const char *why)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "verdict", json_object_new_string("invalid"));
    json_object_object_add(r, "reason", json_object_new_string(why));
    return r;
}

json_object *pf_explore_run_file(struct pf_explore_scn *s, const char *path, const char *label,
                                 json_object **trace_out)
{
    struct pf_explore *x = s->x;
    if (trace_out)
        *trace_out = NULL;
    struct pf_error err;
    struct pf_scenario *sc = pf_scenario_load(path, &err);
    const struct pf_backend *be = sc ? pf_backend_for(sc->platform) : NULL;
    if (sc && be->check && be->check(sc, &err) < 0) {
        pf_scenario_free(sc);
        sc = NULL;
    }
    if (!sc)
        return invalid(err.msg);
    int dfd = pf_store_mkdir(s->dir_fd, label);
    if (dfd < 0) {
        fprintf(stderr, "pipefault explore: cannot create %s/trials/%s/%s: %s\n", x->outdir,
                s->sc->name, label, strerror(errno));
        x->harness_error = 1;
        pf_scenario_free(sc);
        return NULL;
    }
    struct pf_run_env env = x->env;
    char shown[4600];
    snprintf(shown, sizeof shown, "%s/trials/%s/%s", x->outdir, s->sc->name, label);
    env.outdir = shown;
    env.store_fd = dfd;
    /* Every run its own seed, each recorded with its result: from its
     * scenario and label, so that a trial gets the same one whichever
     * worker runs it, and whenever (--jobs). */
    uint64_t h = 14695981039346656037ULL;
    for (const char *p = shown + strlen(x->outdir); *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    env.seed = x->o->seed + h;
    int herr = 0;
    json_object *res = pf_run_scenario(sc, &env, &herr);
    if (herr) {
        x->harness_error = 1;
        fprintf(stderr, "pipefault explore: %s: harness error: %s\n", shown,
                pf_json_str(res, "reason") ? pf_json_str(res, "reason") : "?");
    }
    if (trace_out) {
        char rel[200];
        snprintf(rel, sizeof rel, "%s/trace.jsonl", sc->name);
        int tfd = pf_store_open_read(dfd, rel);
        *trace_out = tfd >= 0 ? pf_trace_read_fd(tfd) : NULL;
    }
    char dir[600];
    snprintf(dir, sizeof dir, "trials/%s/%s", s->sc->name, label);
    json_object_object_add(res, "dir", json_object_new_string(dir));
    close(dfd);
    pf_scenario_free(sc);
    return res;
}

json_object *pf_explore_run_variant(struct pf_explore_scn *s, const struct pf_variant *v,
                                    const char *label, json_object **trace_out)
{
    struct pf_explore *x = s->x;
    int dfd = pf_store_mkdir(s->dir_fd, label);
    char tmp[300], err[600], path[4800];
    int fd = dfd >= 0 ? pf_store_tmp(dfd, "scenario.yaml", tmp, sizeof tmp) : -1;
    if (fd < 0) {
        fprintf(stderr, "pipefault explore: cannot write in %s/trials/%s/%s: %s\n", x->outdir,
                s->sc->name, label, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        x->harness_error = 1;
        return NULL;
    }
    int rc = pf_variant_write(s->sc->file, v, s->sc->name, NULL, fd, err, sizeof err);
    if (close(fd) < 0 && rc == 0) {
        rc = -1;
        snprintf(err, sizeof err, "close: %s", strerror(errno));
    }
    if (rc < 0 || pf_store_commit(dfd, tmp, "scenario.yaml") < 0) {
        fprintf(stderr, "pipefault explore: %s/trials/%s/%s/scenario.yaml: %s\n", x->outdir,
                s->sc->name, label, rc < 0 ? err : strerror(errno));
        if (rc < 0)
            unlinkat(dfd, tmp, 0);
        close(dfd);
        x->harness_error = 1;
        return NULL;
    }
    close(dfd);
    snprintf(path, sizeof path, "%s/trials/%s/%s/scenario.yaml", x->outdir, s->sc->name, label);
    return pf_explore_run_file(s, path, label, trace_out);
}

/* The baseline may not see accept or close on Linux: the supervisor
 * intercepts them only when a rule names them (each costs a round trip).
 * Rules that never fire make it look, without changing what happens. */
static void add_observers(struct pf_variant *v, const struct pf_scenario *sc)
{
    if (sc->platform != PF_PLATFORM_LINUX)
        return;
    static const enum pf_fault_op ops[] = {PF_OP_ACCEPT, PF_OP_CLOSE};
    for (size_t i = 0; i < 2; i++) {
        if (ops[i] == PF_OP_ACCEPT && sc->endpoint.kind == PF_EP_FIFO)
            continue;
        v->faults = pf_xreallocarray(v->faults, v->nfaults + 1, sizeof *v->faults);
        v->faults[v->nfaults++] = (struct pf_xfault){.op = ops[i], .when = 1,
                                                     .action = PF_ACT_DELAY, .delay_ns = 0,
                                                     .observe = true};
    }
}

static const char *scn_platform(const struct pf_scenario *sc)
{
    return pf_platform_name(sc->platform);
}

static void add_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

/* The accounts whose clients run: what holds can wait for. */
static size_t client_accounts(const struct pf_scenario *sc, const char **out)
{
    size_t n = 0;
    for (size_t i = 0; i < sc->nclients; i++) {
        size_t k = 0;
        while (k < n && strcmp(out[k], sc->clients[i].account))
            k++;
        if (k == n)
            out[n++] = sc->clients[i].account;
    }
    return n;
}

struct bound {
    size_t systematic, tried_systematic;
    long random, points, perts;
};

static void state_bound(json_object *entry, const struct bound *b, bool found)
{
    char text[1024];
    size_t len = 0;
    if (found && b->tried_systematic < b->systematic)
        len += (size_t)snprintf(text, sizeof text, "stopped at the first finding, after %zu of "
                                "%zu single-point perturbations", b->tried_systematic,
                                b->systematic);
    else if (b->tried_systematic == b->systematic)
        len += (size_t)snprintf(text, sizeof text, "all %zu single-point perturbations tried",
                                b->systematic);
    else
        len += (size_t)snprintf(text, sizeof text, "%zu of %zu single-point perturbations "
                                "tried (the budget ran out first: the others are not covered)",
                                b->tried_systematic, b->systematic);
    double per = 0, miss = 1;
    if (b->random > 0 && b->points > 0 && b->perts > 0) {
        per = 1.0 / pow((double)(b->points * b->perts), PF_EXPLORE_PCT_DEPTH);
        miss = pow(1.0 - per, (double)b->random);
        snprintf(text + len, sizeof text - len, "; %ld random %d-point schedules over %ld "
                 "points x %ld perturbations: a failure that needs %d given perturbations "
                 "at %d given points is hit with probability >= %.3g per schedule, missed "
                 "by all of them with probability <= %.3g", b->random, PF_EXPLORE_PCT_DEPTH,
                 b->points, b->perts, PF_EXPLORE_PCT_DEPTH, PF_EXPLORE_PCT_DEPTH, per, miss);
    } else if (len < sizeof text) {
        snprintf(text + len, sizeof text - len, "; no random schedules");
    }
    json_object *st = json_object_new_object();
    json_object_object_add(st, "systematic", json_object_new_int64((int64_t)b->systematic));
    json_object_object_add(st, "systematic_tried",
                           json_object_new_int64((int64_t)b->tried_systematic));
    json_object_object_add(st, "max_occurrences", json_object_new_int(PF_EXPLORE_MAX_OCC));
    json_object *ladder = json_object_new_array();
    for (int i = 0; i < PF_EXPLORE_LADDER_N; i++)
        json_object_array_add(ladder, json_object_new_int64(pf_explore_ladder_ns[i] / 1000000));
    json_object_object_add(st, "ladder_ms", ladder);
    json_object_object_add(st, "hold_timeout_ms",
                           json_object_new_int64(PF_EXPLORE_HOLD_TIMEOUT_NS / 1000000));
    json_object_object_add(st, "random", json_object_new_int64(b->random));
    json_object_object_add(st, "random_depth", json_object_new_int(PF_EXPLORE_PCT_DEPTH));
    json_object_object_add(st, "random_points", json_object_new_int64(b->points));
    json_object_object_add(st, "random_perturbations", json_object_new_int64(b->perts));
    json_object_object_add(st, "random_hit_probability", json_object_new_double(per));
    json_object_object_add(st, "random_miss_probability", json_object_new_double(miss));
    json_object_object_add(st, "bound", json_object_new_string(text));
    json_object_object_add(entry, "strategy", st);
    if (!found)
        fprintf(stderr, "  nothing found: %s\n", text);
}

void pf_explore_first_finding(json_object *entry, long trial, int64_t ns)
{
    json_object_object_add(entry, "first_finding_trial", json_object_new_int64(trial));
    json_object_object_add(entry, "first_finding_seconds", json_object_new_double(
        (double)ns / 1e9));
}

static void print_ops(const struct pf_op_seen *ops, size_t n)
{
    fprintf(stderr, "  operations seen:");
    for (size_t i = 0; i < n; i++) {
        fprintf(stderr, " %s x%ld", pf_fault_op_name(ops[i].op), ops[i].count);
        if (ops[i].by_main && ops[i].by_other)
            fprintf(stderr, " (main thread %ld, others %ld)", ops[i].by_main,
                    ops[i].by_other);
    }
    fprintf(stderr, "%s\n", n ? "" : " none (nothing to perturb)");
}

/* Explores one scenario; returns "found", "flaky", "none", "skipped",
 * "error" or "interrupted". */
static const char *explore_one(struct pf_explore *x, const struct pf_scenario *sc,
                               json_object *entry)
{
    const struct pf_explore_options *o = x->o;
    struct pf_explore_scn s = {.x = x, .sc = sc, .entry = entry, .dir_fd = -1};
    int tfd = pf_store_mkdir(x->env.store_fd, "trials");
    s.dir_fd = tfd >= 0 ? pf_store_mkdir(tfd, sc->name) : -1;
    if (tfd >= 0)
        close(tfd);
    if (s.dir_fd < 0) {
        fprintf(stderr, "pipefault explore: cannot create %s/trials/%s: %s\n", x->outdir,
                sc->name, strerror(errno));
        x->harness_error = 1;
        return "error";
    }
    json_object *trials = json_object_new_array(), *findings = json_object_new_array();
    json_object_object_add(entry, "trials", trials);
    json_object_object_add(entry, "findings", findings);
    s.t0 = pf_clock_ns();

    /* The baseline: as written, plus rules that only make accept and
     * close visible. */
    struct pf_variant base;
    pf_variant_init(&base, sc);
    struct pf_variant observed;
    pf_variant_copy(&observed, &base);
    add_observers(&observed, sc);
    json_object *trace = NULL;
    json_object *res = pf_explore_run_variant(&s, &observed, "baseline", &trace);
    pf_variant_free(&observed);
    const char *status = "none";
    struct pf_op_seen ops[PF_OP__COUNT];
    size_t nops = 0;
    const char *accounts[64 + 1];
    size_t nacc = 0;
    struct pf_candidate *cands = NULL;
    size_t ncands = 0;
    struct bound b = {0};
    int leads = 0;
    if (!res) {
        status = "error";
        goto out;
    }
    const char *verdict = pf_json_str(res, "verdict");
    json_object *bl = pf_explore_trial_json(0, NULL, res);
    json_object_object_add(entry, "baseline", bl);
    nops = pf_explore_ops_seen(trace, ops);
    json_object *opsj = json_object_new_object();
    for (size_t i = 0; i < nops; i++)
        json_object_object_add(opsj, pf_fault_op_name(ops[i].op),
                               json_object_new_int64(ops[i].count));
    json_object_object_add(bl, "operations", opsj);
    fprintf(stderr, "explore %s (%s): baseline %s%s%s\n", sc->name, scn_platform(sc),
            verdict ? verdict : "?", pf_json_str(res, "reason") ? ", " : "",
            pf_json_str(res, "reason") ? pf_json_str(res, "reason") : "");
    if (verdict && !strcmp(verdict, "skipped")) {
        status = "skipped";
        goto out;
    }
    if (!verdict || !strcmp(verdict, "error") || !strcmp(verdict, "invalid")) {
        /* Nothing can be learnt from trials of a scenario that does not
         * run; saying "nothing found" would be a guess. */
        status = pf_interrupted ? "interrupted" : "error";
        goto out;
    }
    char key[512];
    pf_explore_failed_key(res, key, sizeof key);
    /* A baseline that fails every time is a finding without faults; one
     * that fails now and then is the intermittent bug itself, and the
     * trials look for the perturbation that makes it fail every time. */
    bool again = key[0] && pf_explore_confirm(&s, &base, key, "baseline", bl);
    if (key[0] && !again && !pf_interrupted)
        fprintf(stderr, "  a lead, not a finding: it failed the same way in %s runs\n",
                pf_json_str(bl, "confirmed"));
    if (again) {
        fprintf(stderr, "  the scenario fails as written (%s): a finding without faults\n",
                key);
        int64_t at = pf_clock_ns();
        pf_explore_save(x);
        if (pf_explore_finding(&s, &base, 0, key)) {
            pf_explore_first_finding(entry, 0, at - s.t0);
            status = "found";
            goto out;
        }
    }
    if (key[0])
        leads++;
    print_ops(ops, nops);
    nacc = client_accounts(sc, accounts);
    cands = pf_explore_systematic(ops, nops, accounts, nacc, &ncands);
    b.systematic = ncands;
    pf_explore_random_space(ops, nops, nacc, &b.points, &b.perts);
    fprintf(stderr, "  %zu single-point perturbations, then random %d-point schedules; "
            "budget %ld trials\n", ncands, PF_EXPLORE_PCT_DEPTH, o->budget);
    uint64_t rng = o->seed ^ 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; sc->name[i]; i++)
        rng = (rng ^ (unsigned char)sc->name[i]) * 1099511628211ULL;
    /* Every trial's candidate up front, the random ones drawn in order:
     * trial n is the same whichever worker runs it. */
    long ntrials = nops > 0 ? o->budget : 0;
    struct pf_candidate *all = pf_xcalloc((size_t)ntrials + 1, sizeof *all);
    for (long n = 1; n <= ntrials; n++) {
        if ((size_t)n <= ncands)
            all[n - 1] = cands[n - 1];
        else
            pf_explore_random(ops, nops, accounts, nacc, &rng, &all[n - 1]);
    }
    struct pf_explore_trials tt = {.base = &base, .cands = all, .nsystematic = ncands,
                                   .budget = ntrials, .found_at = -1, .status = status};
    pf_explore_trials(&s, &tt);
    free(all);
    status = tt.status;
    leads += tt.leads;
    long found_at = tt.found_at;
    b.tried_systematic = tt.tried_systematic;
    b.random = tt.random;
    if (found_at < 0 && !strcmp(status, "none") && pf_interrupted)
        status = "interrupted";
    if (found_at < 0 && !strcmp(status, "none") && leads) {
        status = "flaky";
        fprintf(stderr, "  %d lead%s failed now and then but never %d times in a row: "
                "reported as flaky\n", leads, leads == 1 ? "" : "s", PF_EXPLORE_CONFIRM);
    }
    json_object_object_add(entry, "leads", json_object_new_int(leads));
    state_bound(entry, &b, found_at >= 0);
out:
    if (pf_interrupted && strcmp(status, "found") && strcmp(status, "flaky"))
        status = "interrupted";
    json_object_object_add(entry, "status", json_object_new_string(status));
    json_object_object_add(entry, "seconds",
                           json_object_new_double((double)(pf_clock_ns() - s.t0) / 1e9));
    json_object_put(res);
    json_object_put(trace);
    free(cands);
    pf_variant_free(&base);
    close(s.dir_fd);
    pf_explore_save(x);
    return status;
}

int pf_explore_run(char **paths, int npaths, const struct pf_explore_options *o)
{
    struct pf_scenario_list l;
    if (pf_scenarios_load(paths, npaths, &l) < 0) {
        pf_scenarios_free(&l);
        return PF_EXIT_BAD_INPUT;
    }
    for (size_t i = 0; i < l.n; i++)
        if (l.items[i]->nclients > 64) {
            fprintf(stderr, "%s: explore takes at most 64 clients, not %zu\n",
                    l.items[i]->file, l.items[i]->nclients);
            pf_scenarios_free(&l);
            return PF_EXIT_BAD_INPUT;
        }
    pf_sweep_all();
    struct pf_explore x;
    memset(&x, 0, sizeof x);
    x.o = o;
    unsigned char rnd[3];
    if (getentropy(rnd, sizeof rnd) < 0) {
        fprintf(stderr, "pipefault: getentropy: %s\n", strerror(errno));
        pf_scenarios_free(&l);
        return PF_EXIT_HARNESS;
    }
    snprintf(x.env.run_id, sizeof x.env.run_id, "%02x%02x%02x", rnd[0], rnd[1], rnd[2]);
    x.env.seed = o->seed;
    char err[PATH_MAX + 256];
    /* pipefault's own fixtures and Win32 programs, next to the executable. */
    const struct pf_helper_dirs *dirs = pf_helper_dirs(err, sizeof err);
    if (!dirs) {
        fprintf(stderr, "pipefault: %s\n", err);
        pf_scenarios_free(&l);
        return PF_EXIT_HARNESS;
    }
    x.env.fixture_dir = dirs->fixtures;
    x.env.win32_dir = dirs->win32;
    size_t nbegun = 0;
    if (pf_suite_begin_backends(&l, &x.env, &nbegun) < 0) {
        pf_scenarios_free(&l);
        return PF_EXIT_HARNESS;
    }
    int store = pf_suite_make_store(o->out, x.env.run_id, x.outdir, sizeof x.outdir);
    if (store < 0) {
        pf_suite_end_backends(&l, &x.env, nbegun);
        pf_scenarios_free(&l);
        return store == -2 ? PF_EXIT_BAD_INPUT : PF_EXIT_HARNESS;
    }
    x.env.store_fd = store;
    x.env.outdir = x.outdir;
    pf_suite_install_signals();

    char started[32];
    time_t now = time(NULL);
    strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    x.doc = json_object_new_object();
    json_object_object_add(x.doc, "schema", json_object_new_int(1));
    char tool[96];
    snprintf(tool, sizeof tool, "pipefault %s", pf_version);
    json_object_object_add(x.doc, "tool", json_object_new_string(tool));
    json_object *run = json_object_new_object();
    json_object_object_add(run, "id", json_object_new_string(x.env.run_id));
    json_object_object_add(run, "started", json_object_new_string(started));
    json_object_object_add(run, "seed", json_object_new_int64((int64_t)o->seed));
    json_object_object_add(run, "budget", json_object_new_int64(o->budget));
    json_object_object_add(run, "command", json_object_new_string(o->command));
    json_object_object_add(run, "complete", json_object_new_boolean(false));
    json_object_object_add(x.doc, "run", run);
    json_object *scns = json_object_new_array();
    json_object_object_add(x.doc, "scenarios", scns);
    fprintf(stderr, "pipefault explore: run %s, seed %" PRIu64 ", %zu scenario%s, budget %ld "
            "trials each -> %s\n", x.env.run_id, o->seed, l.n, l.n == 1 ? "" : "s", o->budget,
            x.outdir);
    pf_explore_save(&x);

    int found = 0, flaky = 0, none = 0, errors = 0, skipped = 0;
    for (size_t i = 0; i < l.n && !pf_interrupted && !x.harness_error; i++) {
        json_object *entry = json_object_new_object();
        add_str(entry, "name", l.items[i]->name);
        add_str(entry, "file", l.items[i]->file);
        add_str(entry, "platform", scn_platform(l.items[i]));
        add_str(entry, "status", "running");
        json_object_array_add(scns, entry);
        const char *st = explore_one(&x, l.items[i], entry);
        if (!strcmp(st, "found"))
            found++;
        else if (!strcmp(st, "flaky"))
            flaky++;
        else if (!strcmp(st, "none"))
            none++;
        else if (!strcmp(st, "skipped"))
            skipped++;
        else if (!strcmp(st, "error"))
            errors++;
    }
    pf_suite_end_backends(&l, &x.env, nbegun);
    bool complete = !pf_interrupted && !x.harness_error;
    json_object_object_add(run, "complete", json_object_new_boolean(complete));
    pf_explore_save(&x);
    json_object_put(x.doc);
    close(store);
    fprintf(stderr, "pipefault explore: %d found, %d flaky, %d nothing found, %d error, "
            "%d skipped -> %s/explore.json, %s/explore.html\n", found, flaky, none, errors,
            skipped, x.outdir, x.outdir);
    pf_scenarios_free(&l);
    if (pf_interrupted) {
        fprintf(stderr, "pipefault explore: interrupted; the partial record was written\n");
        return PF_EXIT_HARNESS;
    }
    if (x.harness_error || errors)
        return PF_EXIT_HARNESS;
    if (found)
        return PF_EXIT_FAIL;
    return PF_EXIT_PASS;
}
