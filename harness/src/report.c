/* report.c - writes the run's HTML report (index.html).
 *
 * The page is the embedded template with three holes filled: its stylesheet,
 * its script and the run's data. The data is results.json with each
 * scenario's trace events attached, so the page can draw timelines, lineage
 * and exposure windows without fetching anything: the file works offline and
 * can be mailed or attached to a CI run as it is.
 *
 * The data sits in <script type="application/json">. Scenario names, paths
 * and server stderr are not ours, so every '<', '>' and '&' in the JSON is
 * written as a \u escape (no string can close the script element), and so are
 * U+2028/U+2029. The page itself only ever puts data into the DOM as text.
 */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "run.h"
#include "trace_names.h"

/* Generated at build time by reports/embed.cmake (report_assets.c). */
extern const unsigned char pf_report_html[], pf_report_js[], pf_report_css[];
extern const size_t pf_report_html_len, pf_report_js_len, pf_report_css_len;

/* A trace can be huge (a server that accepts in a tight loop). Attempts and
 * syscalls are the bulk; past these limits they are dropped, and the section
 * says how many, while instance, fault and process events are always kept. */
#define PER_SCENARIO_BULK_EVENTS 20000
#define TOTAL_BULK_EVENTS 60000

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Reads the whole file `name` of the store into a NUL-terminated buffer
 * (no symlink followed: results.json may sit in someone else's copy). */
static char *read_file(int dirfd, const char *name, size_t *len_out)
{
    int fd = pf_store_open_read(dirfd, name);
    FILE *fp = fd >= 0 ? fdopen(fd, "rb") : NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (!fp) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    for (;;) {
        if (cap - len < 65536) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nbuf = realloc(buf, ncap + 1);
            if (!nbuf) {
                free(buf);
                fclose(fp);
                errno = ENOMEM;
                return NULL;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (n == 0) {
            if (ferror(fp)) {
                int saved = errno;
                free(buf);
                fclose(fp);
                errno = saved ? saved : EIO;
                return NULL;
            }
            break;
        }
    }
    fclose(fp);
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

/* Parses one JSON text; on failure describes where, for the error message. */
static json_object *parse_json(const char *text, size_t len, char *why, size_t whylen)
{
    json_tokener *tok;
    json_object *obj;
    if (len > INT_MAX) {
        snprintf(why, whylen, "too large to read (%zu bytes)", len);
        return NULL;
    }
    tok = json_tokener_new();
    if (!tok) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    /* Strict: results.json and traces are written by json-c, so anything
     * lenient parsing would accept (trailing commas, ...) means damage. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    if (!obj && jerr == json_tokener_continue)
        snprintf(why, whylen, strspn(text, " \t\r\n") == len ? "empty file" : "truncated JSON");
    else if (!obj) {
        size_t at = json_tokener_get_parse_end(tok), line = 1;
        for (size_t i = 0; i < at && i < len; i++)
            if (text[i] == '\n')
                line++;
        snprintf(why, whylen, "not valid JSON at line %zu: %s", line,
                 json_tokener_error_desc(jerr));
    } else {
        /* Anything but white space after the value is an error too. */
        size_t end = json_tokener_get_parse_end(tok);
        while (end < len && strchr(" \t\r\n", text[end]))
            end++;
        if (end < len) {
            snprintf(why, whylen, "unexpected text after the JSON value");
            json_object_put(obj);
            obj = NULL;
        }
    }
    json_tokener_free(tok);
    return obj;
}

static void add_note(json_object *scenario, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_note(json_object *scenario, const char *fmt, ...)
{
    char buf[1024];
    json_object *notes;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!json_object_object_get_ex(scenario, "report_notes", &notes)) {
        notes = json_object_new_array();
        json_object_object_add(scenario, "report_notes", notes);
    }
    json_object_array_add(notes, json_object_new_string(buf));
}

/* The event types the page draws or lists; anything else in a trace is left
 * out of the page (it stays in trace.jsonl). */
static const char *const kept_events[] = {
    PF_EV_SCENARIO_START, PF_EV_PLATFORM, PF_EV_ACCOUNT, PF_EV_SERVER_START,
    PF_EV_SERVER_EXIT, PF_EV_INSTANCE_BIRTH, PF_EV_INSTANCE_PERM,
    PF_EV_INSTANCE_ACCEPTING, PF_EV_INSTANCE_REMOVED, PF_EV_SYSCALL, PF_EV_FAULT,
    PF_EV_ATTEMPT, PF_EV_SCENARIO_END, NULL,
};

static int is_kept(const char *ev)
{
    for (int i = 0; kept_events[i]; i++)
        if (strcmp(ev, kept_events[i]) == 0)
            return 1;
    return 0;
}

/* Bulk events: many per run, droppable past the size limits. */
static int is_bulk(const char *ev)
{
    return strcmp(ev, PF_EV_ATTEMPT) == 0 || strcmp(ev, PF_EV_SYSCALL) == 0;
}

/* scenarios[].trace is relative to the output directory; a results.json
 * from elsewhere must not make the report read files outside it. */
static int trace_path_ok(const char *rel)
{
    if (rel[0] == '\0' || rel[0] == '/')
        return 0;
    for (const char *p = rel; *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 0;
        if (!slash)
            break;
        p = slash + 1;
    }
    return 1;
}

/* Replaces the attempt event's own instance with the one the checker
 * credited (null when no evidence names one) and the evidence used. The
 * pairing is by position, checked against the attempt's time. */
static void credit_attempt(json_object *ev, json_object *credits, size_t k)
{
    json_object *c = credits && k < json_object_array_length(credits)
                         ? json_object_array_get_idx(credits, k) : NULL;
    json_object *ct, *et, *inst, *how;
    if (!c || !json_object_object_get_ex(c, "t", &ct) || !json_object_object_get_ex(ev, "t", &et) ||
        json_object_get_int64(ct) != json_object_get_int64(et) ||
        !json_object_object_get_ex(c, "attribution", &how))
        return;
    json_object_object_get_ex(c, "instance", &inst);
    json_object_object_add(ev, "instance", json_object_get(inst));
    json_object_object_add(ev, "attribution", json_object_get(how));
}

/* Attaches the scenario's trace events as "events". Problems with the trace
 * become notes shown in the scenario's section, never a failed report: a run
 * that broke is exactly when the report is wanted. */
static void attach_trace(int dirfd, json_object *scenario, long *bulk_budget)
{
    json_object *jtrace, *events = json_object_new_array();
    const char *rel;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0, bad_lines = 0, first_bad = 0, dropped = 0, bulk = 0;
    size_t nattempt = 0;
    FILE *fp;
    /* The checker's attribution of each attempt, in trace order: put onto
     * the attempt events the page draws, then left out of the page. */
    json_object *credits = NULL;
    if (json_object_object_get_ex(scenario, "attempts", &credits) &&
        json_object_is_type(credits, json_type_array))
        json_object_get(credits);
    else
        credits = NULL;
    json_object_object_del(scenario, "attempts");

    json_object_object_add(scenario, "events", events);
    if (!json_object_object_get_ex(scenario, "trace", &jtrace) ||
        !json_object_is_type(jtrace, json_type_string)) {
        add_note(scenario, "no trace recorded for this scenario");
        json_object_put(credits);
        return;
    }
    rel = json_object_get_string(jtrace);
    if (!trace_path_ok(rel)) {
        add_note(scenario, "trace path \"%s\" is not inside the output directory; not read", rel);
        json_object_put(credits);
        return;
    }
    /* Beneath the store, no symlink on the way: a trace planted as a link
     * to a root-only file must not end up in the page. */
    int fd = pf_store_open_read(dirfd, rel);
    fp = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!fp) {
        add_note(scenario, "%s: cannot read the trace: %s", rel,
                 errno == ELOOP || errno == EXDEV ? "a symlink is not followed" :
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        json_object_put(credits);
        return;
    }
    while ((n = getline(&line, &cap, fp)) >= 0) {
        json_object *ev, *jev;
        char why[160];
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        ev = parse_json(line, (size_t)n, why, sizeof why);
        if (!ev || !json_object_is_type(ev, json_type_object) ||
            !json_object_object_get_ex(ev, "ev", &jev) ||
            !json_object_is_type(jev, json_type_string)) {
            if (!first_bad)
                first_bad = lineno;
            bad_lines++;
            json_object_put(ev);
            continue;
        }
        const char *type = json_object_get_string(jev);
        if (!is_kept(type)) {
            json_object_put(ev);
            continue;
        }
        if (strcmp(type, PF_EV_ATTEMPT) == 0)
            credit_attempt(ev, credits, nattempt++);
        if (is_bulk(type)) {
            if (bulk >= PER_SCENARIO_BULK_EVENTS || *bulk_budget <= 0) {
                dropped++;
                json_object_put(ev);
                continue;
            }
            bulk++;
            (*bulk_budget)--;
            json_object_object_del(ev, "src"); /* not shown for these; saves space */
        }
        json_object_array_add(events, ev);
    }
    if (ferror(fp))
        add_note(scenario, "%s: read error after line %ld: %s", rel, lineno, strerror(errno));
    free(line);
    fclose(fp);
    json_object_put(credits);
    if (bad_lines)
        add_note(scenario, "%s: %ld line(s) are not trace events (first: line %ld); skipped",
                 rel, bad_lines, first_bad);
    if (dropped)
        add_note(scenario, "%ld attempt/syscall events left out of the page to keep it small "
                 "(all of them are in %s)", dropped, rel);
}

/* Writes JSON text so that it is inert inside a <script> element. */
static int write_script_safe(FILE *fp, const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        size_t skip = 1;
        if (c == '<')
            esc = "\\u003c";
        else if (c == '>')
            esc = "\\u003e";
        else if (c == '&')
            esc = "\\u0026";
        else if (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
                 ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)) {
            esc = (unsigned char)s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029";
            skip = 3;
        }
        if (!esc)
            continue;
        /* These bytes only occur inside JSON strings, where a \u escape means
         * the same character. */
        if (fwrite(s + start, 1, i - start, fp) != i - start || fputs(esc, fp) < 0)
            return -1;
        i += skip - 1;
        start = i + 1;
    }
    return fwrite(s + start, 1, len - start, fp) == len - start ? 0 : -1;
}

/* Copies the template, replacing each <!--@pf:NAME@--> marker. */
static int write_page(FILE *fp, const char *data, size_t data_len, char *why, size_t whylen)
{
    static const char open_mark[] = "<!--@pf:", close_mark[] = "@-->";
    const char *t = (const char *)pf_report_html, *end = t + pf_report_html_len;
    int seen_data = 0;
    while (t < end) {
        const char *m = strstr(t, open_mark);
        if (!m || m >= end) {
            if (fwrite(t, 1, (size_t)(end - t), fp) != (size_t)(end - t))
                return -1;
            break;
        }
        if (fwrite(t, 1, (size_t)(m - t), fp) != (size_t)(m - t))
            return -1;
        const char *name = m + strlen(open_mark), *close = strstr(name, close_mark);
        if (!close) {
            snprintf(why, whylen, "report template: unterminated marker");
            errno = EINVAL;
            return -2;
        }
        size_t nlen = (size_t)(close - name);
        int rc;
        if (nlen == 3 && memcmp(name, "css", 3) == 0)
            rc = fwrite(pf_report_css, 1, pf_report_css_len, fp) == pf_report_css_len ? 0 : -1;
        else if (nlen == 2 && memcmp(name, "js", 2) == 0)
            rc = fwrite(pf_report_js, 1, pf_report_js_len, fp) == pf_report_js_len ? 0 : -1;
        else if (nlen == 4 && memcmp(name, "data", 4) == 0) {
            rc = write_script_safe(fp, data, data_len);
            seen_data = 1;
        } else {
            snprintf(why, whylen, "report template: unknown marker %.*s", (int)nlen, name);
            errno = EINVAL;
            return -2;
        }
        if (rc)
            return -1;
        t = close + strlen(close_mark);
    }
    if (!seen_data) {
        snprintf(why, whylen, "report template: no data marker");
        errno = EINVAL;
        return -2;
    }
    return 0;
}

/* A new temporary file renamed over index.html (store.c): a reader (or a
 * browser reloading) never sees half a page, a failed write leaves the
 * previous index.html in place, and nothing planted under either name is
 * followed. */
static int write_atomically(int dirfd, const char *shown, const char *data, size_t data_len,
                            char *err, size_t errlen)
{
    char tmp[300], why[256] = "";
    int fd, rc;
    FILE *fp;

    fd = pf_store_tmp(dirfd, "index.html", tmp, sizeof tmp);
    if (fd < 0) {
        set_err(err, errlen, "%s/index.html: cannot create a temporary file: %s", shown,
                strerror(errno));
        return -1;
    }
    fp = fdopen(fd, "w");
    if (!fp) {
        set_err(err, errlen, "%s/index.html: cannot write: %s", shown, strerror(errno));
        close(fd);
        unlinkat(dirfd, tmp, 0);
        return -1;
    }
    rc = write_page(fp, data, data_len, why, sizeof why);
    if (rc == -2) {
        set_err(err, errlen, "%s/index.html: %s", shown, why);
        fclose(fp);
        unlinkat(dirfd, tmp, 0);
        return -1;
    }
    if (rc == 0 && (fflush(fp) != 0 || fsync(fd) != 0))
        rc = -1;
    int saved = errno;
    if (fclose(fp) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlinkat(dirfd, tmp, 0);
    } else if (pf_store_commit(dirfd, tmp, "index.html") != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        set_err(err, errlen, "%s/index.html: cannot write: %s", shown, strerror(saved));
        return -1;
    }
    return 0;
}

int pf_report_write(const char *outdir, char *err, size_t errlen)
{
    int fd = open(outdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, errlen, "%s: cannot open (a symlink is not followed): %s", outdir,
                strerror(errno));
        return -1;
    }
    int rc = pf_report_write_at(fd, outdir, err, errlen);
    close(fd);
    return rc;
}

json_object *pf_results_read_at(int dirfd, const char *outdir, char *err, size_t errlen)
{
    char path[4096], why[256];
    size_t len;
    json_object *root, *scenarios;

    snprintf(path, sizeof path, "%s/results.json", outdir);
    char *text = read_file(dirfd, "results.json", &len);
    if (!text) {
        set_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return NULL;
    }
    root = parse_json(text, len, why, sizeof why);
    free(text);
    if (!root) {
        set_err(err, errlen, "%s: %s", path, why);
        return NULL;
    }
    if (!json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "scenarios", &scenarios) ||
        !json_object_is_type(scenarios, json_type_array)) {
        set_err(err, errlen, "%s: not a pipefault results file (no \"scenarios\" array)", path);
        json_object_put(root);
        return NULL;
    }
    for (size_t i = 0; i < json_object_array_length(scenarios); i++)
        if (!json_object_is_type(json_object_array_get_idx(scenarios, i), json_type_object)) {
            set_err(err, errlen, "%s: scenarios[%zu] is not an object", path, i);
            json_object_put(root);
            return NULL;
        }
    return root;
}

int pf_report_write_at(int dirfd, const char *outdir, char *err, size_t errlen)
{
    json_object *root, *scenarios;
    long bulk_budget = TOTAL_BULK_EVENTS;
    int rc;

    root = pf_results_read_at(dirfd, outdir, err, errlen);
    if (!root)
        return -1;
    json_object_object_get_ex(root, "scenarios", &scenarios);
    for (size_t i = 0; i < json_object_array_length(scenarios); i++)
        attach_trace(dirfd, json_object_array_get_idx(scenarios, i), &bulk_budget);

    /* When the page was made, so a stale report is recognisable. */
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) && strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm))
        json_object_object_add(root, "report_generated", json_object_new_string(stamp));

    size_t data_len;
    const char *data = json_object_to_json_string_length(
        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &data_len);
    if (!data) {
        set_err(err, errlen, "%s/index.html: out of memory serialising the data", outdir);
        json_object_put(root);
        return -1;
    }
    rc = write_atomically(dirfd, outdir, data, data_len, err, errlen);
    json_object_put(root);
    return rc;
}
