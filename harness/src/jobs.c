/* jobs.c - work run concurrently, one worker process per job.
 *
 * A scenario already has its own accounts, work directory, store folder,
 * cgroup and endpoint; what runs of one process share is the run id
 * (the prefix of account names and of the run's marker) and each backend's
 * process-wide state (the seccomp supervisor's bookkeeping, the Wine session
 * with its wineserver, in which two runs of one scenario would meet on the
 * same pipe name). So each worker is a process of its own with a run id
 * of its own: its accounts (pf<worker-id>_alice) cannot collide with another
 * worker's, its marker names its own pid (a killed worker is swept like a
 * killed run), and it starts its own Wine session from the cached prefix,
 * which it keeps for all the items it runs.
 * Workers get an item number on a pipe and answer with one line: a flag
 * for "the harness cannot go on" and the item's result as JSON. Only the
 * parent prints console lines and writes the store's top-level files, so
 * neither interleaves. Ctrl-C reaches every worker (same process group);
 * each winds its item down as in a serial run, and the parent sends no more
 * work. `run --jobs` gives scenarios, `explore --jobs` trials.
 */
#include "jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run_scenario.h"
#include "util.h"

struct worker {
    pid_t pid;
    int cmd;          /* parent -> worker: "<index>\n" */
    FILE *res;        /* worker -> parent: "<harness_error> <json>\n" */
    long busy;        /* the item it runs, or -1 */
};

static bool used(const struct pf_scenario_list *l, const struct pf_backend *be)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i]->platform == be->platform)
            return true;
    return false;
}

/* The worker process: its own run id and backend set-up, then items
 * until the parent closes the command pipe. Never returns. */
static void worker_main(const struct pf_scenario_list *l, const struct pf_run_env *parent,
                        size_t n, const struct pf_pool_ops *ops, void *ctx, int cmd, int res)
{
    struct pf_run_env env = *parent;
    unsigned char r[3];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        _exit(3);
    snprintf(env.run_id, sizeof env.run_id, "%02x%02x%02x", r[0], r[1], r[2]);
    char err[512];
    int harness_error = 0;
    size_t begun = 0;
    for (; pf_backends[begun]; begun++) {
        const struct pf_backend *be = pf_backends[begun];
        if (used(l, be) && be->begin_run && be->begin_run(&env, err, sizeof err) < 0) {
            fprintf(stderr, "pipefault: worker %s: %s\n", env.run_id, err);
            harness_error = 1;
            break;
        }
    }
    FILE *in = fdopen(cmd, "r"), *out = fdopen(res, "w");
    char *line = NULL;
    size_t cap = 0;
    while (in && out && getline(&line, &cap, in) > 0) {
        char *end;
        unsigned long i = strtoul(line, &end, 10);
        if (end == line || i >= n)
            break;
        int he = harness_error;
        /* The platform could not be set up: say so in the result. */
        json_object *r_ = harness_error ? ops->broken(ctx, i, err)
                                        : ops->work(ctx, i, &env, &he);
        /* Plain JSON has no raw newline: the result is one line. */
        fprintf(out, "%d %s\n", he, json_object_to_json_string_ext(r_, JSON_C_TO_STRING_PLAIN));
        fflush(out);
        json_object_put(r_);
    }
    free(line);
    for (size_t k = 0; k < begun; k++)
        if (used(l, pf_backends[k]) && pf_backends[k]->end_run)
            pf_backends[k]->end_run(&env);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    /* exit, not _exit: the backends' atexit handlers (the Wine session)
     * must run. */
    exit(0);
}

struct pool {
    const struct pf_scenario_list *l;
    const struct pf_run_env *env;
    size_t n;
    const struct pf_pool_ops *ops;
    void *ctx;
};

static int start_worker(struct worker *w, const struct pool *p, struct worker *all, size_t nall)
{
    int c[2], r[2];
    if (pipe2(c, O_CLOEXEC) < 0)
        return -1;
    if (pipe2(r, O_CLOEXEC) < 0) {
        close(c[0]);
        close(c[1]);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(c[0]), close(c[1]), close(r[0]), close(r[1]);
        return -1;
    }
    if (pid == 0) {
        /* The other workers' pipes are theirs: closing them here lets a
         * worker see EOF when the parent is done with it. */
        for (size_t k = 0; k < nall; k++) {
            if (all[k].cmd >= 0)
                close(all[k].cmd);
            if (all[k].res)
                close(fileno(all[k].res));
        }
        close(c[1]);
        close(r[0]);
        worker_main(p->l, p->env, p->n, p->ops, p->ctx, c[0], r[1]);
    }
    close(c[0]);
    close(r[1]);
    w->pid = pid;
    w->cmd = c[1];
    w->res = fdopen(r[0], "r");
    w->busy = -1;
    return w->res ? 0 : -1;
}

static bool give(struct worker *w, size_t index)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%zu\n", index);
    if (write(w->cmd, buf, (size_t)n) != n)
        return false;
    w->busy = (long)index;
    return true;
}

int pf_pool_run(const struct pf_scenario_list *l, const struct pf_run_env *env, unsigned jobs,
                size_t n, const struct pf_pool_ops *ops, void *ctx)
{
    struct pool p = {.l = l, .env = env, .n = n, .ops = ops, .ctx = ctx};
    size_t nw = jobs < n ? jobs : n;
    if (nw == 0)
        return 0;
    struct worker *w = pf_xcalloc(nw, sizeof *w);
    for (size_t k = 0; k < nw; k++)
        w[k].cmd = -1;
    int harness_error = 0;
    bool more = true;
    size_t next = 0, started = 0;
    for (; started < nw; started++)
        if (start_worker(&w[started], &p, w, started) < 0) {
            fprintf(stderr, "pipefault: cannot start a worker process: %s\n", strerror(errno));
            harness_error = started == 0;
            break;
        }
    for (size_t k = 0; k < started && next < n; k++)
        if (give(&w[k], next))
            next++;
    for (;;) {
        struct pollfd pfd[PF_MAX_WORKERS];
        size_t map[PF_MAX_WORKERS], np = 0;
        for (size_t k = 0; k < started && np < PF_MAX_WORKERS; k++)
            if (w[k].busy >= 0) {
                pfd[np] = (struct pollfd){.fd = fileno(w[k].res), .events = POLLIN};
                map[np++] = k;
            }
        if (np == 0)
            break;
        if (poll(pfd, np, -1) < 0) {
            if (errno == EINTR)
                continue;
            harness_error = 1;
            break;
        }
        for (size_t q = 0; q < np; q++) {
            if (!pfd[q].revents)
                continue;
            struct worker *x = &w[map[q]];
            size_t i = (size_t)x->busy;
            char *line = NULL;
            size_t cap = 0;
            json_object *res = NULL;
            int he = 0;
            /* One whole line per item: getline waits for its end. */
            if (getline(&line, &cap, x->res) > 2 && (line[0] == '0' || line[0] == '1')) {
                he = line[0] == '1';
                res = json_tokener_parse(line + 2);
            }
            free(line);
            x->busy = -1;
            if (!res) {
                int st = 0;
                waitpid(x->pid, &st, 0);
                x->pid = -1;
                char why[160];
                snprintf(why, sizeof why, "the worker process running it ended (%s %d) "
                         "without a result", WIFSIGNALED(st) ? "signal" : "exit status",
                         WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
                res = ops->broken(ctx, i, why);
                he = 1;
            }
            harness_error |= he;
            if (!ops->done(ctx, i, res, he))
                more = false;
            if (more && !pf_interrupted && !harness_error && next < n && x->pid > 0 &&
                give(x, next))
                next++;
        }
    }
    for (size_t k = 0; k < started; k++) {
        close(w[k].cmd);
        fclose(w[k].res);
        if (w[k].pid > 0)
            while (waitpid(w[k].pid, NULL, 0) < 0 && errno == EINTR)
                ;
    }
    free(w);
    return harness_error;
}

/* run --jobs: items are the scenarios of l. */
struct run_jobs {
    const struct pf_scenario_list *l;
    json_object **done;
    size_t finished;
    pf_progress_fn *progress;
};

static json_object *run_work(void *ctx, size_t i, const struct pf_run_env *env, int *he)
{
    struct run_jobs *rj = ctx;
    return pf_run_scenario(rj->l->items[i], env, he);
}

static json_object *run_broken(void *ctx, size_t i, const char *why)
{
    const struct pf_scenario *sc = ((struct run_jobs *)ctx)->l->items[i];
    json_object *r = json_object_new_object();
    json_object_object_add(r, "name", json_object_new_string(sc->name));
    json_object_object_add(r, "file", json_object_new_string(sc->file));
    json_object_object_add(r, "verdict", json_object_new_string("error"));
    json_object_object_add(r, "reason", json_object_new_string(why));
    return r;
}

static bool run_done(void *ctx, size_t i, json_object *res, int he)
{
    (void)he;
    struct run_jobs *rj = ctx;
    rj->done[i] = res;
    rj->progress(rj->finished++, rj->l->n, rj->l->items[i]->name, res);
    return true;
}

int pf_jobs_run(const struct pf_scenario_list *l, const struct pf_run_env *env, unsigned jobs,
                json_object *scenarios, pf_progress_fn *progress)
{
    static const struct pf_pool_ops ops = {run_work, run_broken, run_done};
    struct run_jobs rj = {.l = l, .progress = progress};
    rj.done = pf_xcalloc(l->n ? l->n : 1, sizeof *rj.done);
    int harness_error = pf_pool_run(l, env, jobs, l->n, &ops, &rj);
    for (size_t i = 0; i < l->n; i++)
        if (rj.done[i])
            json_object_array_add(scenarios, rj.done[i]);
    free(rj.done);
    return harness_error;
}
