/* report_explore.c - explore.html: what explore tried and what it found.
 *
 * A reader wants to see the search, not scroll through it: the
 * single-point trials of each scenario are laid out as a grid, one row per
 * operation and occurrence, one column per perturbation, each cell the
 * trial's verdict; then each finding with its window and the reproducer to
 * copy. Made from explore.json alone, so that it shows exactly what the
 * record says (and is rewritten with it after every trial).
 */
#include "explore.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "run.h"
#include "util.h"

static void esc(FILE *fp, const char *s)
{
    for (; s && *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        default: fputc(*s, fp);
        }
}

/* "secure #1" (or "accept #2 (other threads)") and "hold until alice:attempt" / "delay 25ms" of a trial's
 * only fault. */
static bool point_of(json_object *t, char *row, size_t rn, char *col, size_t cn)
{
    json_object *fs = pf_json_get(t, "faults");
    if (!fs || json_object_array_length(fs) != 1)
        return false;
    json_object *f = json_object_array_get_idx(fs, 0);
    const char *action = pf_json_str(f, "action");
    /* A thread class's occurrences are a row of their own. */
    const char *thread = pf_json_str(f, "thread");
    snprintf(row, rn, "%s #%lld%s%s%s", pf_json_str(f, "at") ? pf_json_str(f, "at") : "?",
             (long long)pf_json_int(f, "when", 0), thread ? " (" : "", thread ? thread : "",
             thread ? " threads)" : "");
    if (action && !strcmp(action, "hold")) {
        json_object *u = pf_json_get(f, "until");
        snprintf(col, cn, "hold until %s:%s", pf_json_str(u, "account") ?
                 pf_json_str(u, "account") : "?", pf_json_str(u, "event") ?
                 pf_json_str(u, "event") : "?");
    } else {
        snprintf(col, cn, "delay %lldms", (long long)pf_json_int(f, "delay_ms", 0));
    }
    return true;
}

#define GRID_MAX 64

struct grid {
    char rows[GRID_MAX][48], cols[GRID_MAX][96];
    size_t nrows, ncols;
};

static size_t slot(char (*names)[96], size_t *n, const char *name, size_t width)
{
    for (size_t i = 0; i < *n; i++)
        if (!strncmp(names[i], name, width - 1))
            return i;
    if (*n == GRID_MAX)
        return GRID_MAX;
    snprintf(names[*n], width, "%s", name);
    return (*n)++;
}

static void write_grid(FILE *fp, json_object *trials)
{
    static struct grid g;
    memset(&g, 0, sizeof g);
    size_t nt = trials ? json_object_array_length(trials) : 0;
    size_t nrandom = 0;
    bool cut = false;
    char row[48], col[96];
    /* First pass: the axes, in the order tried. */
    for (size_t i = 0; i < nt; i++) {
        json_object *t = json_object_array_get_idx(trials, i);
        const char *st = pf_json_str(t, "strategy");
        if (st && !strcmp(st, "random")) {
            nrandom++;
            continue;
        }
        if (!point_of(t, row, sizeof row, col, sizeof col))
            continue;
        size_t r = 0;
        while (r < g.nrows && strcmp(g.rows[r], row))
            r++;
        if (r == g.nrows && g.nrows < GRID_MAX)
            snprintf(g.rows[g.nrows++], sizeof g.rows[0], "%s", row);
        else if (r == g.nrows)
            cut = true;
        if (slot(g.cols, &g.ncols, col, sizeof g.cols[0]) == GRID_MAX)
            cut = true;
    }
    if (g.nrows) {
        fputs("<table class=grid><tr><th>operation</th>", fp);
        for (size_t c = 0; c < g.ncols; c++) {
            fputs("<th>", fp);
            esc(fp, g.cols[c]);
            fputs("</th>", fp);
        }
        fputs("</tr>\n", fp);
        for (size_t r = 0; r < g.nrows; r++) {
            fputs("<tr><th>", fp);
            esc(fp, g.rows[r]);
            fputs("</th>", fp);
            for (size_t c = 0; c < g.ncols; c++) {
                const char *verdict = NULL, *dir = NULL;
                for (size_t i = 0; i < nt; i++) {
                    json_object *t = json_object_array_get_idx(trials, i);
                    if (point_of(t, row, sizeof row, col, sizeof col) &&
                        !strcmp(row, g.rows[r]) && !strcmp(col, g.cols[c])) {
                        verdict = pf_json_str(t, "verdict");
                        dir = pf_json_str(t, "dir");
                    }
                }
                if (!verdict) {
                    fputs("<td class=untried>-</td>", fp);
                    continue;
                }
                fprintf(fp, "<td class=\"v-%s\"><a href=\"", verdict);
                esc(fp, dir);
                fputs("/\">", fp);
                esc(fp, verdict);
                fputs("</a></td>", fp);
            }
            fputs("</tr>\n", fp);
        }
        fputs("</table>\n", fp);
    }
    if (cut)
        fprintf(fp, "<p>The grid shows the first %d operations and %d perturbations; every "
                "trial is in explore.json.</p>\n", GRID_MAX, GRID_MAX);
    if (nrandom)
        fprintf(fp, "<p>%zu random multi-point schedules (listed in explore.json).</p>\n",
                nrandom);
}

static void write_finding(FILE *fp, json_object *f)
{
    fputs("<div class=finding><p><b>", fp);
    esc(fp, pf_json_str(f, "status"));
    fprintf(fp, "</b> at trial %lld: fails ", (long long)pf_json_int(f, "trial", 0));
    json_object *fe = pf_json_get(f, "failed_expectations");
    for (size_t i = 0; fe && i < json_object_array_length(fe); i++) {
        fputs(i ? ", <code>" : "<code>", fp);
        esc(fp, json_object_get_string(json_object_array_get_idx(fe, i)));
        fputs("</code>", fp);
    }
    fputs("</p><ul>", fp);
    json_object *fs = pf_json_get(f, "faults");
    fprintf(fp, "<li>minimal faults: %s", fs && json_object_array_length(fs) ? "" : "none");
    for (size_t i = 0; fs && i < json_object_array_length(fs); i++) {
        fputs(i ? "; <code>" : "<code>", fp);
        esc(fp, pf_json_str(json_object_array_get_idx(fs, i), "text"));
        fputs("</code>", fp);
    }
    fputs("</li><li>window: ", fp);
    esc(fp, pf_json_str(pf_json_get(f, "window"), "text"));
    json_object *rp = pf_json_get(f, "replays");
    fprintf(fp, "</li><li>replays: %lld of %lld failed the same way</li>",
            (long long)pf_json_int(rp, "failed_same", 0), (long long)pf_json_int(rp, "runs", 0));
    const char *repro = pf_json_str(f, "reproducer");
    if (repro) {
        fputs("<li>reproducer: <a href=\"", fp);
        esc(fp, repro);
        fputs("\"><code>", fp);
        esc(fp, repro);
        fputs("</code></a> &mdash; <code>pipefault run ", fp);
        esc(fp, repro);
        fputs("</code></li>", fp);
    }
    fputs("</ul>", fp);
    const char *text = pf_json_str(f, "reproducer_text");
    if (text) {
        fputs("<pre class=repro>", fp);
        esc(fp, text);
        fputs("</pre>", fp);
    }
    fputs("</div>\n", fp);
}

int pf_report_explore_write(int dirfd, json_object *explore)
{
    char tmp[300];
    int fd = pf_store_tmp(dirfd, "explore.html", tmp, sizeof tmp);
    FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!fp) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fputs("<!doctype html><html><head><meta charset=utf-8><title>pipefault explore</title>"
          "<style>body{font-family:sans-serif;margin:2em}table.grid{border-collapse:collapse}"
          ".grid td,.grid th{border:1px solid #ccc;padding:2px 6px;font-size:90%}"
          ".v-pass{background:#dfd}.v-fail{background:#f99}.v-error,.v-invalid{background:#fd9}"
          ".v-inconclusive{background:#eee}.finding{border-left:4px solid #c00;padding-left:"
          "1em}pre.repro{background:#f6f6f6;padding:.5em;overflow:auto}</style></head><body>\n<h1>pipefault explore</h1>\n", fp);
    json_object *run = pf_json_get(explore, "run");
    fputs("<p>", fp);
    esc(fp, pf_json_str(run, "command"));
    json_object *complete = pf_json_get(run, "complete");
    fprintf(fp, " &mdash; seed %lld, budget %lld trials per scenario%s</p>\n",
            (long long)pf_json_int(run, "seed", 0), (long long)pf_json_int(run, "budget", 0),
            complete && json_object_get_boolean(complete) ? "" : " (incomplete)");
    json_object *scns = pf_json_get(explore, "scenarios");
    for (size_t i = 0; scns && i < json_object_array_length(scns); i++) {
        json_object *s = json_object_array_get_idx(scns, i);
        fputs("<h2>", fp);
        esc(fp, pf_json_str(s, "name"));
        fputs(" <small>(", fp);
        esc(fp, pf_json_str(s, "platform"));
        fputs(", ", fp);
        esc(fp, pf_json_str(s, "status"));
        fputs(")</small></h2>\n<p>baseline: ", fp);
        esc(fp, pf_json_str(pf_json_get(s, "baseline"), "verdict"));
        const char *bound = pf_json_str(pf_json_get(s, "strategy"), "bound");
        if (bound) {
            fputs("; bound: ", fp);
            esc(fp, bound);
        }
        fputs("</p>\n", fp);
        write_grid(fp, pf_json_get(s, "trials"));
        json_object *fs = pf_json_get(s, "findings");
        for (size_t k = 0; fs && k < json_object_array_length(fs); k++)
            write_finding(fp, json_object_array_get_idx(fs, k));
    }
    fputs("</body></html>\n", fp);
    bool ok = !ferror(fp) && fflush(fp) == 0;
    if (fclose(fp) != 0)
        ok = false;
    if (!ok) {
        unlinkat(dirfd, tmp, 0);
        return -1;
    }
    return pf_store_commit(dirfd, tmp, "explore.html");
}
