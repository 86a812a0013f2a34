/* explore_finding.c - from a failing trial to a reproducer someone can use.
 *
 * A failing trial is only a lead: it ran with every client, account and
 * attempt of the scenario, and may have failed by luck. So a finding is
 * (1) shrunk by delta debugging over its generated faults, clients and
 * accounts, then each client's attempts, every step a real run that must
 * fail the same expectations; (2) measured: the smallest delay at its
 * operation that still exposes it; (3) written as an ordinary scenario file
 * and replayed PF_EXPLORE_REPLAYS times with `pipefault run`'s machinery.
 * Only a reproducer that fails the same way every time is a confirmed
 * finding; anything less is reported as flaky, with its count.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "explore_run.h"
#include "text.h"
#include "util.h"

struct probe {
    struct pf_explore_scn *s;
    long trial;                /* labels: t<trial>-<prefix><n> */
    const char *key;           /* the failure to keep */
    const char *prefix;        /* run labels: <prefix><n> */
    struct pf_variant base;    /* what a probe changes */
    size_t client;             /* attempts: which client */
    size_t window_fault;       /* window: which fault becomes a delay */
    long runs;
};

/* Runs v PF_EXPLORE_CONFIRM times (stopping at the first run that does
 * not): does it fail exactly the expectations of the finding every time?
 * One lucky run must not let shrinking drop the fault that opens the
 * window: a racy server fails now and then without any. */
static bool fails_same(struct probe *p, const struct pf_variant *v)
{
    for (int k = 0; k < PF_EXPLORE_CONFIRM; k++) {
        if (pf_interrupted || p->s->x->harness_error)
            return false;
        char label[48], key[512];
        snprintf(label, sizeof label, "t%04ld-%s%03ld", p->trial, p->prefix, ++p->runs);
        json_object *res = pf_explore_run_variant(p->s, v, label, NULL);
        pf_explore_failed_key(res, key, sizeof key);
        bool same = res && !strcmp(key, p->key);
        json_object_put(res);
        if (!same)
            return false;
    }
    return true;
}

/* Units: the generated faults, then the clients, then the accounts. */
static void apply_keep(const struct pf_variant *from, const bool *keep, struct pf_variant *out)
{
    pf_variant_copy(out, from);
    size_t u = 0, nf = 0;
    for (size_t i = 0; i < from->nfaults; i++, u++)
        if (keep[u])
            out->faults[nf++] = from->faults[i];
    out->nfaults = nf;
    for (size_t i = 0; i < from->nclients; i++, u++)
        out->client_on[i] = from->client_on[i] && keep[u];
    for (size_t i = 0; i < from->naccounts; i++, u++)
        out->account_on[i] = from->account_on[i] && keep[u];
}

static bool test_keep(void *ctx, const bool *keep, size_t n)
{
    struct probe *p = ctx;
    (void)n;
    /* A finding with faults was reached only because the scenario without
     * them did not fail every time: dropping all of them is known not to
     * give a reproducer, however lucky a few runs are. */
    bool any = p->base.nfaults == 0;
    for (size_t i = 0; i < p->base.nfaults; i++)
        any |= keep[i];
    if (!any)
        return false;
    struct pf_variant v;
    apply_keep(&p->base, keep, &v);
    bool r = fails_same(p, &v);
    pf_variant_free(&v);
    return r;
}

static bool test_attempts(void *ctx, int64_t attempts)
{
    struct probe *p = ctx;
    struct pf_variant v;
    pf_variant_copy(&v, &p->base);
    v.attempts[p->client] = (int)attempts;
    bool r = fails_same(p, &v);
    pf_variant_free(&v);
    return r;
}

static bool test_delay(void *ctx, int64_t ns)
{
    struct probe *p = ctx;
    struct pf_variant v;
    pf_variant_copy(&v, &p->base);
    struct pf_xfault *f = &v.faults[p->window_fault];
    *f = (struct pf_xfault){.op = f->op, .when = f->when, .thread = f->thread,
                            .action = PF_ACT_DELAY, .delay_ns = ns};
    bool r = fails_same(p, &v);
    pf_variant_free(&v);
    return r;
}

static size_t count_on(const bool *b, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += b[i];
    return k;
}

static json_object *shape(const struct pf_variant *v)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "faults", json_object_new_int64((int64_t)v->nfaults));
    json_object_object_add(o, "clients",
                           json_object_new_int64((int64_t)count_on(v->client_on, v->nclients)));
    json_object_object_add(o, "accounts", json_object_new_int64(
        (int64_t)count_on(v->account_on, v->naccounts)));
    return o;
}

/* The window: how late the operation of the first fault must be. */
static json_object *measure_window(struct probe *p, const struct pf_variant *m, char *text,
                                   size_t n)
{
    json_object *w = json_object_new_object();
    if (m->nfaults == 0) {
        snprintf(text, n, "exposed without any perturbation: the window opens on every run");
        json_object_object_add(w, "always_open", json_object_new_boolean(true));
        json_object_object_add(w, "text", json_object_new_string(text));
        return w;
    }
    const struct pf_xfault *f = &m->faults[0];
    const char *op = pf_fault_op_name(f->op);
    pf_variant_free(&p->base);
    pf_variant_copy(&p->base, m);
    p->window_fault = 0;
    p->prefix = "w";
    p->runs = 0;
    int64_t hi = pf_explore_ladder_ns[PF_EXPLORE_LADDER_N - 1];
    json_object_object_add(w, "at", json_object_new_string(op));
    json_object_object_add(w, "when", json_object_new_int64(f->when));
    if (!test_delay(p, hi)) {
        snprintf(text, n, "not exposed by delaying `%s` #%ld alone, up to %lld ms: it takes "
                 "the ordering the hold gives (%s:%s first)", op, f->when,
                 (long long)(hi / 1000000), f->action == PF_ACT_HOLD ? f->account : "-",
                 f->action == PF_ACT_HOLD ? f->event : "-");
        json_object_object_add(w, "exposed_by_delay", json_object_new_boolean(false));
    } else {
        size_t calls = 0;
        int64_t min = pf_bisect_min(0, hi, 1000000, test_delay, p, &calls);
        if (min == 0)
            snprintf(text, n, "exposed with `%s` #%ld not late at all (0 ms): the window "
                     "is open on its own in %d runs in a row; the fault only makes it certain",
                     op, f->when, PF_EXPLORE_CONFIRM);
        else
            snprintf(text, n, "exposed when `%s` #%ld is at least %.1f ms late", op, f->when,
                     (double)min / 1e6);
        json_object_object_add(w, "exposed_by_delay", json_object_new_boolean(true));
        json_object_object_add(w, "min_delay_ms", json_object_new_double((double)min / 1e6));
    }
    json_object_object_add(w, "runs", json_object_new_int64(p->runs));
    json_object_object_add(w, "text", json_object_new_string(text));
    return w;
}

/* Writes repro/<name>-t<trial>.yaml; its store-relative path goes to rel. 0 / -1. */
static int write_reproducer(struct pf_explore_scn *s, const struct pf_variant *m,
                            const char *key, const char *window, long trial, char *rel,
                            size_t reln)
{
    struct pf_explore *x = s->x;
    char name[128], header[2048], tmp[300], err[600], file[200];
    snprintf(name, sizeof name, "%.94s-repro", s->sc->name);
    snprintf(file, sizeof file, "%s-t%04ld.yaml", s->sc->name, trial);
    snprintf(rel, reln, "repro/%s", file);
    snprintf(header, sizeof header,
             "# Reproducer written by pipefault explore (seed %llu, trial %ld) from\n"
             "# %s, shrunk to what still fails.\n"
             "# It fails: %s.\n"
             "# Window: %s.\n"
             "# Run it with: pipefault run %s/%s\n",
             (unsigned long long)x->o->seed, trial, s->sc->file, key, window, x->outdir, rel);
    int dfd = pf_store_mkdir(x->env.store_fd, "repro");
    int fd = dfd >= 0 ? pf_store_tmp(dfd, file, tmp, sizeof tmp) : -1;
    int rc = fd >= 0 ? pf_variant_write(s->sc->file, m, name, header, fd, err, sizeof err) : -1;
    if (fd < 0)
        snprintf(err, sizeof err, "%s", strerror(errno));
    if (fd >= 0 && close(fd) < 0 && rc == 0) {
        rc = -1;
        snprintf(err, sizeof err, "close: %s", strerror(errno));
    }
    if (fd >= 0 && rc < 0)
        unlinkat(dfd, tmp, 0);
    if (rc == 0 && pf_store_commit(dfd, tmp, file) < 0) {
        rc = -1;
        snprintf(err, sizeof err, "%s", strerror(errno));
    }
    if (dfd >= 0)
        close(dfd);
    if (rc < 0) {
        fprintf(stderr, "pipefault explore: cannot write %s/%s: %s\n", x->outdir, rel, err);
        x->harness_error = 1;
    }
    return rc;
}

/* The reproducer's text, for the report's "copy this". */
static void add_text(json_object *fj, int store_fd, const char *rel)
{
    int fd = pf_store_open_read(store_fd, rel);
    if (fd < 0)
        return;
    char buf[16384];
    size_t n = 0;
    for (ssize_t r; n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0;)
        n += (size_t)r;
    char more;
    bool cut = n == sizeof buf - 1 && read(fd, &more, 1) == 1;
    close(fd);
    char clean[3 * sizeof buf + 64];
    size_t len = pf_utf8_clean(buf, n, clean, sizeof clean - 64);
    if (cut)
        snprintf(clean + len, sizeof clean - len, "\n# ... (cut at %zu bytes: see the file)\n",
                 n);
    json_object_object_add(fj, "reproducer_text", json_object_new_string(clean));
}

bool pf_explore_finding(struct pf_explore_scn *s, const struct pf_variant *failing,
                        long trial, const char *key)
{
    struct pf_explore *x = s->x;
    json_object *fj = json_object_new_object();
    json_object_array_add(pf_json_get(s->entry, "findings"), fj);
    json_object_object_add(fj, "trial", json_object_new_int64(trial));
    json_object *fe = json_object_new_array();
    char copy[512];
    snprintf(copy, sizeof copy, "%s", key);
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_object_array_add(fe, json_object_new_string(t));
    json_object_object_add(fj, "failed_expectations", fe);
    json_object_object_add(fj, "found_with", shape(failing));
    fprintf(stderr, "  finding at trial %ld: fails %s; shrinking\n", trial, key);

    /* 1. ddmin over faults, clients and accounts. */
    struct probe p = {.s = s, .trial = trial, .key = key, .prefix = "s"};
    pf_variant_copy(&p.base, failing);
    size_t nunits = failing->nfaults + failing->nclients + failing->naccounts;
    bool *keep = pf_xcalloc(nunits + 1, sizeof *keep);
    for (size_t i = 0; i < nunits; i++)
        keep[i] = true;
    pf_ddmin(keep, nunits, test_keep, &p);
    struct pf_variant m;
    apply_keep(failing, keep, &m);
    free(keep);
    /* 2. Attempts, client by client. */
    pf_variant_free(&p.base);
    pf_variant_copy(&p.base, &m);
    p.prefix = "a";
    for (size_t i = 0; i < m.nclients && !pf_interrupted; i++) {
        int orig = s->sc->clients[i].attempts;
        /* A command client runs its program once: nothing to shrink. */
        if (!m.client_on[i] || orig <= 1 || s->sc->clients[i].command)
            continue;
        size_t calls = 0;
        p.client = i;
        int64_t a = pf_bisect_min(1, orig, 1, test_attempts, &p, &calls);
        /* The fewest attempts that failed 5 runs in a row, doubled (at most
         * as written): 5 runs cannot tell a count that fails every time
         * from one that misses now and then (go-chmod-after-listen with 1
         * attempt failed 47 of 50: the attempt was sometimes refused while
         * the server's listen was still being made, docs/explore.md). */
        a = a * 2 < orig ? a * 2 : orig;
        m.attempts[i] = a < orig ? (int)a : 0;
        p.base.attempts[i] = m.attempts[i];
    }
    long shrink_runs = p.runs;
    json_object *sh = json_object_new_object();
    json_object_object_add(sh, "runs", json_object_new_int64(shrink_runs));
    json_object_object_add(sh, "to", shape(&m));
    json_object_object_add(fj, "shrink", sh);
    json_object *faults = json_object_new_array();
    for (size_t i = 0; i < m.nfaults; i++)
        json_object_array_add(faults, pf_xfault_json(&m.faults[i]));
    json_object_object_add(fj, "faults", faults);
    json_object *clients = json_object_new_array();
    for (size_t i = 0; i < m.nclients; i++)
        if (m.client_on[i]) {
            json_object *c = json_object_new_object();
            json_object_object_add(c, "account",
                                   json_object_new_string(s->sc->clients[i].account));
            json_object_object_add(c, "attempts", json_object_new_int(
                m.attempts[i] ? m.attempts[i] : s->sc->clients[i].attempts));
            json_object_array_add(clients, c);
        }
    json_object_object_add(fj, "clients", clients);
    pf_explore_save(x);

    /* 3. The window. */
    char window[400] = "";
    json_object_object_add(fj, "window", measure_window(&p, &m, window, sizeof window));
    fprintf(stderr, "  shrunk in %ld runs to %zu fault%s, %zu client%s; %s\n", shrink_runs,
            m.nfaults, m.nfaults == 1 ? "" : "s", count_on(m.client_on, m.nclients),
            count_on(m.client_on, m.nclients) == 1 ? "" : "s", window);
    pf_variant_free(&p.base);

    /* 4. The reproducer, replayed. */
    char rel[300];
    int same = 0, done = 0;
    if (!pf_interrupted && !x->harness_error &&
        write_reproducer(s, &m, key, window, trial, rel, sizeof rel) == 0) {
        json_object_object_add(fj, "reproducer", json_object_new_string(rel));
        add_text(fj, x->env.store_fd, rel);
        char path[4800];
        snprintf(path, sizeof path, "%s/%s", x->outdir, rel);
        for (int r = 1; r <= PF_EXPLORE_REPLAYS && !pf_interrupted && !x->harness_error; r++) {
            char label[48], k2[512];
            snprintf(label, sizeof label, "t%04ld-replay%d", trial, r);
            json_object *rr = pf_explore_run_file(s, path, label, NULL);
            pf_explore_failed_key(rr, k2, sizeof k2);
            same += rr && !strcmp(k2, key);
            done += rr != NULL;
            json_object_put(rr);
        }
    }
    pf_variant_free(&m);
    json_object *rp = json_object_new_object();
    json_object_object_add(rp, "runs", json_object_new_int(done));
    json_object_object_add(rp, "failed_same", json_object_new_int(same));
    json_object_object_add(fj, "replays", rp);
    bool confirmed = done == PF_EXPLORE_REPLAYS && same == PF_EXPLORE_REPLAYS;
    json_object_object_add(fj, "status", json_object_new_string(
        confirmed ? "confirmed" : pf_interrupted ? "interrupted" : "flaky"));
    if (confirmed)
        x->findings++;
    if (done)
        fprintf(stderr, "  reproducer %s/%s: failed the same way in %d of %d replays%s\n",
                x->outdir, rel, same, done, confirmed ? "" : ": reported as flaky");
    pf_explore_save(x);
    return confirmed;
}
