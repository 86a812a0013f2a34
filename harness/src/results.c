/* results.c - writing results.json and junit.xml.
 *
 * Both files are written to a new temporary file in the store and renamed
 * into place (store.c), so a reader (or a CI job collecting artifacts) never
 * sees half a file, and nothing planted under either name is followed.
 */
#include "results.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"
#include "util.h"

/* A new temporary file in the store (store.c: O_EXCL, no link followed). */
static FILE *open_tmp(int dirfd, const char *name, char *tmp, size_t n)
{
    int fd = pf_store_tmp(dirfd, name, tmp, n);
    if (fd < 0)
        return NULL;
    FILE *fp = fdopen(fd, "w");
    if (!fp) {
        int saved = errno;
        close(fd);
        unlinkat(dirfd, tmp, 0);
        errno = saved;
    }
    return fp;
}

static int commit(FILE *fp, int dirfd, const char *tmp, const char *name)
{
    int bad = ferror(fp);
    if (fclose(fp) != 0 || bad) {
        unlinkat(dirfd, tmp, 0);
        if (!errno)
            errno = EIO;
        return -1;
    }
    return pf_store_commit(dirfd, tmp, name);
}

int pf_results_write(int dirfd, json_object *results)
{
    char tmp[300];
    FILE *fp = open_tmp(dirfd, "results.json", tmp, sizeof tmp);
    if (!fp)
        return -1;
    fputs(json_object_to_json_string_ext(results, JSON_C_TO_STRING_PRETTY |
                                                  JSON_C_TO_STRING_NOSLASHESCAPE), fp);
    fputc('\n', fp);
    return commit(fp, dirfd, tmp, "results.json");
}

static void xml_escape(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&apos;", fp); break;
        default:
            /* XML 1.0 has no way to carry most control characters. */
            if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
                fprintf(fp, "\\x%02x", c);
            else
                fputc(c, fp);
        }
    }
}

static int count(json_object *summary, const char *key)
{
    return (int)pf_json_int(summary, key, 0);
}

int pf_junit_write(int dirfd, json_object *results)
{
    char tmp[300];
    FILE *fp = open_tmp(dirfd, "junit.xml", tmp, sizeof tmp);
    if (!fp)
        return -1;
    json_object *summary = pf_json_get(results, "summary");
    json_object *scenarios = pf_json_get(results, "scenarios");
    size_t n = scenarios ? json_object_array_length(scenarios) : 0;
    fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    /* An inconclusive scenario is a failure to CI: it did not show the server is right. */
    int failures = count(summary, "fail") + count(summary, "inconclusive");
    fprintf(fp, "<testsuites name=\"pipefault\" tests=\"%zu\" failures=\"%d\" errors=\"%d\" "
            "skipped=\"%d\">\n", n, failures, count(summary, "error"), count(summary, "skipped"));
    fprintf(fp, "  <testsuite name=\"pipefault\" tests=\"%zu\" failures=\"%d\" errors=\"%d\" "
            "skipped=\"%d\">\n", n, failures, count(summary, "error"), count(summary, "skipped"));
    for (size_t i = 0; i < n; i++) {
        json_object *s = json_object_array_get_idx(scenarios, i);
        json_object *dur = pf_json_get(s, "duration_ms");
        fprintf(fp, "    <testcase classname=\"");
        xml_escape(fp, pf_json_str(s, "file"));
        fprintf(fp, "\" name=\"");
        xml_escape(fp, pf_json_str(s, "name"));
        fprintf(fp, "\" time=\"%.3f\">\n", dur ? json_object_get_double(dur) / 1000.0 : 0.0);
        fprintf(fp, "      <properties><property name=\"report\" value=\"index.html#scenario-");
        xml_escape(fp, pf_json_str(s, "name"));
        fprintf(fp, "\"/></properties>\n");
        /* A verdict that is missing or unknown is an error, never a pass. */
        const char *verdict = pf_json_str(s, "verdict");
        if (!verdict)
            verdict = "(none)";
        bool inconclusive = !strcmp(verdict, "inconclusive");
        const char *tag = !strcmp(verdict, "fail") || inconclusive ? "failure" :
                          !strcmp(verdict, "skipped") ? "skipped" :
                          !strcmp(verdict, "pass") ? NULL : "error";
        if (tag) {
            fprintf(fp, "      <%s%s message=\"", tag, inconclusive ? " type=\"inconclusive\"" : "");
            xml_escape(fp, pf_json_str(s, "reason"));
            fprintf(fp, "\">");
            if (inconclusive) {
                fprintf(fp, "INCONCLUSIVE: ");
                xml_escape(fp, pf_json_str(s, "reason"));
                fprintf(fp, "\n");
            }
            json_object *exps = pf_json_get(s, "expectations");
            size_t ne = exps ? json_object_array_length(exps) : 0;
            for (size_t k = 0; k < ne; k++) {
                json_object *e = json_object_array_get_idx(exps, k);
                json_object *held = pf_json_get(e, "held");
                if (held && json_object_get_boolean(held))
                    continue;
                const char *st = pf_json_str(e, "status");
                fprintf(fp, "%s: ", held ? "FAILED" : st && !strcmp(st, "vacuous") ? "VACUOUS" :
                                    "NOT JUDGED");
                xml_escape(fp, pf_json_str(e, "text"));
                fprintf(fp, "\n  ");
                xml_escape(fp, pf_json_str(e, "detail"));
                fprintf(fp, "\n");
            }
            if (!strcmp(tag, "error")) {
                if (strcmp(verdict, "error"))
                    fprintf(fp, "unexpected verdict: ");
                xml_escape(fp, strcmp(verdict, "error") ? verdict : pf_json_str(s, "reason"));
                fprintf(fp, "\n");
            }
            fprintf(fp, "Report: index.html#scenario-");
            xml_escape(fp, pf_json_str(s, "name"));
            fprintf(fp, "\n</%s>\n", tag);
        }
        json_object *server = pf_json_get(s, "server");
        const char *tail = pf_json_str(server, "stderr_tail");
        if (tail && *tail) {
            fprintf(fp, "      <system-err>");
            xml_escape(fp, tail);
            fprintf(fp, "</system-err>\n");
        }
        fprintf(fp, "    </testcase>\n");
    }
    fprintf(fp, "  </testsuite>\n</testsuites>\n");
    return commit(fp, dirfd, tmp, "junit.xml");
}
