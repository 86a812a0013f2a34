/* results.c - writing results.json and junit.xml.
 *
 * Both files are written to a temporary name and renamed into place, so a
 * reader (or a CI job collecting artifacts) never sees half a file.
 */
#include "results.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static FILE *open_tmp(const char *outdir, const char *name, char *tmp, size_t n)
{
    snprintf(tmp, n, "%s/.%s.tmp", outdir, name);
    return fopen(tmp, "we");
}

static int commit(FILE *fp, const char *tmp, const char *outdir, const char *name)
{
    char final[4096];
    snprintf(final, sizeof final, "%s/%s", outdir, name);
    int bad = ferror(fp);
    if (fclose(fp) != 0 || bad) {
        unlink(tmp);
        return -1;
    }
    return rename(tmp, final);
}

int pf_results_write(const char *outdir, json_object *results)
{
    char tmp[4096];
    FILE *fp = open_tmp(outdir, "results.json", tmp, sizeof tmp);
    if (!fp)
        return -1;
    fputs(json_object_to_json_string_ext(results, JSON_C_TO_STRING_PRETTY |
                                                  JSON_C_TO_STRING_NOSLASHESCAPE), fp);
    fputc('\n', fp);
    return commit(fp, tmp, outdir, "results.json");
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

static const char *str(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !v)
        return "";
    return json_object_get_string(v);
}

static int count(json_object *summary, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(summary, key, &v) ? json_object_get_int(v) : 0;
}

int pf_junit_write(const char *outdir, json_object *results)
{
    char tmp[4096];
    FILE *fp = open_tmp(outdir, "junit.xml", tmp, sizeof tmp);
    if (!fp)
        return -1;
    json_object *summary = NULL, *scenarios = NULL;
    json_object_object_get_ex(results, "summary", &summary);
    json_object_object_get_ex(results, "scenarios", &scenarios);
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
        json_object *dur = NULL;
        json_object_object_get_ex(s, "duration_ms", &dur);
        fprintf(fp, "    <testcase classname=\"");
        xml_escape(fp, str(s, "file"));
        fprintf(fp, "\" name=\"");
        xml_escape(fp, str(s, "name"));
        fprintf(fp, "\" time=\"%.3f\">\n", dur ? json_object_get_double(dur) / 1000.0 : 0.0);
        fprintf(fp, "      <properties><property name=\"report\" value=\"index.html#scenario-");
        xml_escape(fp, str(s, "name"));
        fprintf(fp, "\"/></properties>\n");
        const char *verdict = str(s, "verdict");
        bool inconclusive = !strcmp(verdict, "inconclusive");
        const char *tag = !strcmp(verdict, "fail") || inconclusive ? "failure" :
                          !strcmp(verdict, "error") ? "error" :
                          !strcmp(verdict, "skipped") ? "skipped" : NULL;
        if (tag) {
            fprintf(fp, "      <%s%s message=\"", tag, inconclusive ? " type=\"inconclusive\"" : "");
            xml_escape(fp, str(s, "reason"));
            fprintf(fp, "\">");
            if (inconclusive) {
                fprintf(fp, "INCONCLUSIVE: ");
                xml_escape(fp, str(s, "reason"));
                fprintf(fp, "\n");
            }
            json_object *exps = NULL;
            json_object_object_get_ex(s, "expectations", &exps);
            size_t ne = exps ? json_object_array_length(exps) : 0;
            for (size_t k = 0; k < ne; k++) {
                json_object *e = json_object_array_get_idx(exps, k), *held = NULL;
                json_object_object_get_ex(e, "held", &held);
                if (held && json_object_get_boolean(held))
                    continue;
                const char *st = str(e, "status");
                fprintf(fp, "%s: ", held ? "FAILED" : !strcmp(st, "vacuous") ? "VACUOUS" :
                                    "NOT JUDGED");
                xml_escape(fp, str(e, "text"));
                fprintf(fp, "\n  ");
                xml_escape(fp, str(e, "detail"));
                fprintf(fp, "\n");
            }
            if (!strcmp(verdict, "error")) {
                xml_escape(fp, str(s, "reason"));
                fprintf(fp, "\n");
            }
            fprintf(fp, "Report: index.html#scenario-");
            xml_escape(fp, str(s, "name"));
            fprintf(fp, "\n</%s>\n", tag);
        }
        json_object *server = NULL;
        json_object_object_get_ex(s, "server", &server);
        const char *tail = str(server, "stderr_tail");
        if (*tail) {
            fprintf(fp, "      <system-err>");
            xml_escape(fp, tail);
            fprintf(fp, "</system-err>\n");
        }
        fprintf(fp, "    </testcase>\n");
    }
    fprintf(fp, "  </testsuite>\n</testsuites>\n");
    return commit(fp, tmp, outdir, "junit.xml");
}
