/* select.c - choosing the scenarios of a run (see select.h). */
#include "select.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "suite.h"
#include "util.h"

int pf_shard_parse(const char *text, struct pf_shard *out, char *err, size_t errlen)
{
    unsigned long v[2] = {0, 0};
    const char *p = text;
    for (int k = 0; k < 2; k++) {
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits > 6 || (k == 0 && p[digits] != '/') ||
            (k == 1 && p[digits] != '\0')) {
            snprintf(err, errlen, "--shard takes I/N (part I of N, e.g. 2/3), not '%s'", text);
            return -1;
        }
        v[k] = strtoul(p, NULL, 10);
        p += digits + 1;
    }
    if (v[1] == 0 || v[0] == 0 || v[0] > v[1]) {
        snprintf(err, errlen, "--shard %s: the part must be between 1 and the number of "
                 "parts (1/%lu .. %lu/%lu)", text, v[1] ? v[1] : 1, v[1] ? v[1] : 1,
                 v[1] ? v[1] : 1);
        return -1;
    }
    out->index = (unsigned)v[0];
    out->count = (unsigned)v[1];
    return 0;
}

int pf_select_names(const char *const *names, size_t n, const char *const *globs,
                    size_t nglobs, bool *keep, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        keep[i] = nglobs == 0;
    for (size_t g = 0; g < nglobs; g++) {
        bool any = false;
        for (size_t i = 0; i < n; i++)
            if (fnmatch(globs[g], names[i], 0) == 0)
                keep[i] = any = true;
        if (!any) {
            snprintf(err, errlen, "--select '%s' matches no scenario name (names are those "
                     "`pipefault run --list PATH...` prints)", globs[g]);
            return -1;
        }
    }
    return 0;
}

struct weighted {
    const char *name;
    int64_t ms;
    size_t at;
};

static int heaviest_first(const void *a, const void *b)
{
    const struct weighted *x = a, *y = b;
    if (x->ms != y->ms)
        return x->ms > y->ms ? -1 : 1;
    return strcmp(x->name, y->name);
}

void pf_shard_assign(const char *const *names, const int64_t *duration_ms, size_t n,
                     unsigned count, unsigned *shard_of)
{
    int64_t known = 0, sum = 0;
    for (size_t i = 0; duration_ms && i < n; i++)
        if (duration_ms[i] >= 0) {
            known++;
            sum += duration_ms[i];
        }
    int64_t unknown = known ? sum / known : 1;
    struct weighted *w = pf_xcalloc(n ? n : 1, sizeof *w);
    for (size_t i = 0; i < n; i++) {
        w[i].name = names[i];
        w[i].at = i;
        /* A recorded 0 ms still weighs something: many of them add up. */
        w[i].ms = duration_ms && duration_ms[i] >= 0 ? duration_ms[i] + 1 : unknown + 1;
    }
    qsort(w, n, sizeof *w, heaviest_first);
    int64_t *load = pf_xcalloc(count, sizeof *load);
    for (size_t i = 0; i < n; i++) {
        unsigned best = 0;
        for (unsigned s = 1; s < count; s++)
            if (load[s] < load[best])
                best = s;
        load[best] += w[i].ms;
        shard_of[w[i].at] = best + 1;
    }
    free(load);
    free(w);
}

int pf_durations_load(const char *store, const char *const *names, size_t n,
                      int64_t *duration_ms, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        duration_ms[i] = -1;
    int dirfd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        snprintf(err, errlen, "--durations %s: %s", store, strerror(errno));
        return -1;
    }
    char why[512];
    json_object *results = pf_results_read_at(dirfd, store, why, sizeof why);
    close(dirfd);
    if (!results) {
        snprintf(err, errlen, "--durations: %s", why);
        return -1;
    }
    json_object *list = pf_json_get(results, "scenarios");
    for (size_t k = 0; k < json_object_array_length(list); k++) {
        json_object *s = json_object_array_get_idx(list, k);
        const char *name = pf_json_str(s, "name");
        int64_t ms = pf_json_int(s, "duration_ms", -1);
        for (size_t i = 0; name && ms >= 0 && i < n; i++)
            if (!strcmp(names[i], name))
                duration_ms[i] = ms;
    }
    json_object_put(results);
    return 0;
}

int pf_choose(struct pf_scenario_list *l, const struct pf_choice *c, char *err, size_t errlen)
{
    size_t n = l->n;
    const char **names = pf_xcalloc(n ? n : 1, sizeof *names);
    bool *keep = pf_xcalloc(n ? n : 1, sizeof *keep);
    for (size_t i = 0; i < n; i++)
        names[i] = l->items[i]->name;
    int rc = pf_select_names(names, n, c->globs, c->nglobs, keep, err, errlen);
    /* The split is over the selected names only, so that every runner
     * given the same --select computes the same parts. */
    size_t nsel = 0;
    for (size_t i = 0; i < n; i++)
        if (keep[i])
            names[nsel++] = l->items[i]->name;
    int64_t *ms = pf_xcalloc(nsel ? nsel : 1, sizeof *ms);
    unsigned *part = pf_xcalloc(nsel ? nsel : 1, sizeof *part);
    if (rc == 0 && c->durations)
        rc = pf_durations_load(c->durations, names, nsel, ms, err, errlen);
    if (rc == 0 && c->shard.count) {
        pf_shard_assign(names, c->durations ? ms : NULL, nsel, c->shard.count, part);
        for (size_t i = 0, k = 0; i < n; i++)
            if (keep[i])
                keep[i] = part[k++] == c->shard.index;
    }
    if (rc == 0) {
        size_t out = 0;
        for (size_t i = 0; i < n; i++) {
            if (keep[i])
                l->items[out++] = l->items[i];
            else
                pf_scenario_free(l->items[i]);
        }
        l->n = out;
    }
    free(part);
    free(ms);
    free(keep);
    free(names);
    return rc;
}
