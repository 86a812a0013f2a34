/* explore_trials.c - the trials of one explored scenario, one or N at a time.
 *
 * Trials are independent (each is the scenario plus its candidate's faults,
 * with accounts, server and store folder of its own), so with --jobs N they
 * run in the worker processes of jobs.c, each worker keeping one Wine
 * session (or one run id for its accounts) for all the trials it runs. A
 * trial's work, in the worker, is the run and, when it failed, its
 * confirmation runs; the parent takes the results in candidate order, not
 * in the order they end, so that the record, the console and the first
 * finding are those of a serial run with the same seed: a trial is
 * recorded only once every trial before it is, and the finding is the
 * first confirmed trial by number. Trials a finding leaves unrecorded (they
 * ran beside it) are removed from the store. Shrinking, the window and the
 * replays run in the parent alone, one run at a time, as the finding's
 * evidence must not compete with trials for the machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "explore_run.h"
#include "jobs.h"
#include "util.h"

static void add_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

json_object *pf_explore_trial_json(long n, const struct pf_candidate *c, json_object *res)
{
    json_object *t = json_object_new_object();
    json_object_object_add(t, "n", json_object_new_int64(n));
    add_str(t, "strategy", c ? c->strategy : "baseline");
    json_object *fs = json_object_new_array();
    for (size_t i = 0; c && i < c->n; i++)
        json_object_array_add(fs, pf_xfault_json(&c->f[i]));
    json_object_object_add(t, "faults", fs);
    add_str(t, "verdict", pf_json_str(res, "verdict"));
    add_str(t, "reason", pf_json_str(res, "reason"));
    char key[512];
    pf_explore_failed_key(res, key, sizeof key);
    add_str(t, "failed", key);
    add_str(t, "dir", pf_json_str(res, "dir"));
    json_object_object_add(t, "duration_ms",
                           json_object_new_int64(pf_json_int(res, "duration_ms", 0)));
    return t;
}

bool pf_explore_confirm(struct pf_explore_scn *s, const struct pf_variant *v, const char *key,
                        const char *label, json_object *t)
{
    int same = 1, runs = 1;
    for (; runs < PF_EXPLORE_CONFIRM && same == runs && !pf_interrupted; runs++) {
        char l2[48], k2[512];
        snprintf(l2, sizeof l2, "%s-again%d", label, runs);
        json_object *r = pf_explore_run_variant(s, v, l2, NULL);
        pf_explore_failed_key(r, k2, sizeof k2);
        same += r && !strcmp(k2, key);
        json_object_put(r);
    }
    char text[64];
    snprintf(text, sizeof text, "%d of %d", same, runs);
    json_object_object_add(t, "confirmed", json_object_new_string(text));
    return same == PF_EXPLORE_CONFIRM;
}

struct trials {
    struct pf_explore_scn *s;
    struct pf_explore_trials *t;
    json_object **got;         /* [n]: trial n's record, before it is taken */
    long next;                 /* the next trial to take in order */
    long upto;                 /* the pool's items are trials next0 .. upto */
    long first;                /* trial number of pool item 0 */
    bool finding;              /* the trial just taken is confirmed */
    int64_t finding_at;        /* ... when it was taken: its confirmation, not
                                * the end of the trials running beside it */
    bool stop;                 /* time limit, error or interruption */
};

/* Runs trial n (and its confirmation if it failed): its record, with
 * "confirmed" when it failed. NULL only on a harness error. */
static json_object *run_trial(struct pf_explore_scn *s, const struct pf_explore_trials *t,
                              long n)
{
    const struct pf_candidate *c = &t->cands[n - 1];
    struct pf_variant v;
    pf_variant_copy(&v, t->base);
    v.faults = pf_xreallocarray(v.faults, c->n + 1, sizeof *v.faults);
    memcpy(v.faults, c->f, c->n * sizeof *c->f);
    v.nfaults = c->n;
    char label[32];
    snprintf(label, sizeof label, "t%04ld", n);
    json_object *res = pf_explore_run_variant(s, &v, label, NULL);
    json_object *rec = NULL;
    if (res) {
        char key[512];
        rec = pf_explore_trial_json(n, c, res);
        pf_explore_failed_key(res, key, sizeof key);
        if (key[0] && !pf_interrupted)
            pf_explore_confirm(s, &v, key, label, rec);
    }
    json_object_put(res);
    pf_variant_free(&v);
    return rec;
}

/* Takes trial n's record into explore.json and the console. Sets
 * tr->finding when it is confirmed. */
static void take(struct trials *tr, json_object *rec)
{
    struct pf_explore_scn *s = tr->s;
    struct pf_explore_trials *t = tr->t;
    long n = tr->next++;
    const struct pf_candidate *c = &t->cands[n - 1];
    if ((size_t)n <= t->nsystematic)
        t->tried_systematic++;
    else
        t->random++;
    json_object_array_add(pf_json_get(s->entry, "trials"), rec);
    const char *key = pf_json_str(rec, "failed");
    if (!key)
        key = "";
    char what[400] = "";
    for (size_t i = 0; i < c->n; i++) {
        size_t len = strlen(what);
        pf_xfault_describe(&c->f[i], what + len, sizeof what - len);
        len = strlen(what);
        if (i + 1 < c->n)
            snprintf(what + len, sizeof what - len, ", ");
    }
    fprintf(stderr, "  [trial %ld of %ld] %-8s %-40s -> %s%s%s%s  findings so far: %d\n",
            n, t->budget, c->strategy, what, pf_json_str(rec, "verdict"),
            key[0] ? " (" : "", key, key[0] ? ")" : "", s->x->findings);
    const char *conf = pf_json_str(rec, "confirmed");
    char full[64];
    snprintf(full, sizeof full, "%d of %d", PF_EXPLORE_CONFIRM, PF_EXPLORE_CONFIRM);
    if (key[0] && conf && !strcmp(conf, full)) {
        tr->finding = true;
        tr->finding_at = pf_clock_ns();
    } else if (key[0] && conf) {
        fprintf(stderr, "  a lead, not a finding: it failed the same way in %s runs\n", conf);
        t->leads++;
    }
    pf_explore_save(s->x);
}

static bool time_up(const struct trials *tr)
{
    const struct pf_explore_options *o = tr->s->x->o;
    return o->time_ns > 0 && pf_clock_ns() - tr->s->t0 > o->time_ns;
}

/* --- --jobs N: the pool's items are trials first .. upto. --- */

static json_object *pool_work(void *ctx, size_t i, const struct pf_run_env *env, int *he)
{
    struct trials *tr = ctx;
    /* This worker's run id (its accounts), in its copy of the explore. */
    snprintf(tr->s->x->env.run_id, sizeof tr->s->x->env.run_id, "%s", env->run_id);
    json_object *rec = run_trial(tr->s, tr->t, tr->first + (long)i);
    *he = tr->s->x->harness_error;
    if (!rec) {
        *he = 1;
        rec = json_object_new_object();
        json_object_object_add(rec, "verdict", json_object_new_string("error"));
    }
    return rec;
}

static json_object *pool_broken(void *ctx, size_t i, const char *why)
{
    (void)ctx, (void)i;
    json_object *r = json_object_new_object();
    json_object_object_add(r, "verdict", json_object_new_string("error"));
    json_object_object_add(r, "reason", json_object_new_string(why));
    return r;
}

static bool pool_done(void *ctx, size_t i, json_object *res, int he)
{
    struct trials *tr = ctx;
    long n = tr->first + (long)i;
    if (he) {
        tr->s->x->harness_error = 1;
        tr->stop = true;
        json_object_put(res);
        return false;
    }
    tr->got[n] = res;
    while (!tr->finding && !tr->stop && tr->next <= tr->upto && tr->got[tr->next]) {
        json_object *rec = tr->got[tr->next];
        tr->got[tr->next] = NULL;
        take(tr, rec);
    }
    if (time_up(tr) && !tr->finding) {
        fprintf(stderr, "  time limit reached after %ld trials\n", tr->next - 1);
        tr->stop = true;
    }
    return !tr->finding && !tr->stop && !pf_interrupted;
}

/* Removes trial n's folders (the trial and its confirmation runs): it ran
 * beside a finding and is not in the record. */
static void forget(struct pf_explore_scn *s, long n)
{
    for (int k = 0; k < PF_EXPLORE_CONFIRM; k++) {
        char label[48], shown[4800];
        if (k == 0)
            snprintf(label, sizeof label, "t%04ld", n);
        else
            snprintf(label, sizeof label, "t%04ld-again%d", n, k);
        struct stat st;
        if (fstatat(s->dir_fd, label, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        snprintf(shown, sizeof shown, "%s/trials/%s/%s", s->x->outdir, s->sc->name, label);
        pf_remove_tree_at(s->dir_fd, label, shown);
    }
}

void pf_explore_trials(struct pf_explore_scn *s, struct pf_explore_trials *t)
{
    struct pf_explore *x = s->x;
    struct trials tr = {.s = s, .t = t, .next = 1, .upto = t->budget};
    tr.got = pf_xcalloc((size_t)t->budget + 2, sizeof *tr.got);
    unsigned jobs = x->o->jobs > 1 ? x->o->jobs : 1;
    struct pf_scenario *one[1] = {(struct pf_scenario *)s->sc};
    const struct pf_scenario_list l = {.items = one, .n = 1};
    static const struct pf_pool_ops ops = {pool_work, pool_broken, pool_done};
    while (tr.next <= t->budget) {
        if (pf_interrupted || x->harness_error) {
            t->status = pf_interrupted ? "interrupted" : "error";
            break;
        }
        if (time_up(&tr)) {
            fprintf(stderr, "  time limit reached after %ld trials\n", tr.next - 1);
            break;
        }
        if (jobs == 1) {
            json_object *rec = run_trial(s, t, tr.next);
            if (!rec) {
                t->status = "error";
                break;
            }
            take(&tr, rec);
        } else {
            /* From the next trial not yet run; those a finding left
             * behind already ran and are taken first. */
            while (tr.next <= t->budget && tr.got[tr.next] && !tr.finding) {
                json_object *rec = tr.got[tr.next];
                tr.got[tr.next] = NULL;
                take(&tr, rec);
            }
            if (!tr.finding) {
                tr.first = tr.next;
                while (tr.first <= t->budget && tr.got[tr.first])
                    tr.first++;
                tr.upto = tr.first;
                while (tr.upto < t->budget && !tr.got[tr.upto + 1])
                    tr.upto++;
                if (tr.first <= t->budget)
                    pf_pool_run(&l, &x->env, jobs, (size_t)(tr.upto - tr.first + 1), &ops,
                                &tr);
                if (tr.stop && !tr.finding) {
                    if (x->harness_error)
                        t->status = "error";
                    break;
                }
                if (!tr.finding && tr.next <= tr.upto)
                    continue;   /* interrupted or an error: the loop's head says */
            }
        }
        if (!tr.finding)
            continue;
        tr.finding = false;
        long n = tr.next - 1;
        int64_t at = tr.finding_at;
        pf_explore_save(x);
        struct pf_variant v;
        pf_variant_copy(&v, t->base);
        const struct pf_candidate *c = &t->cands[n - 1];
        v.faults = pf_xreallocarray(v.faults, c->n + 1, sizeof *v.faults);
        memcpy(v.faults, c->f, c->n * sizeof *c->f);
        v.nfaults = c->n;
        json_object *rec = json_object_array_get_idx(pf_json_get(s->entry, "trials"),
            json_object_array_length(pf_json_get(s->entry, "trials")) - 1);
        bool ok = pf_explore_finding(s, &v, n, pf_json_str(rec, "failed"));
        pf_variant_free(&v);
        if (ok) {
            t->found_at = n;
            pf_explore_first_finding(s->entry, n, at - s->t0);
            t->status = "found";
            break;
        }
        t->leads++;   /* it did not reproduce: keep looking */
    }
    for (long n = 1; n <= t->budget; n++)
        if (tr.got[n]) {
            json_object_put(tr.got[n]);
            forget(s, n);
        }
    free(tr.got);
}
