/* test_trace_names.c - every name of trace_names.h is documented.
 *
 * docs/trace.md is the trace's contract for whoever reads a trace without
 * the harness's source. The test reads the header itself (not a copy of its
 * list), so a name added there without its documentation fails here.
 */
#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        fwrite(chunk, 1, n, mem);
    fclose(fp);
    fclose(mem);
    return buf;
}

/* Counts the names `#define PF_{EV,SRC,F,PERM}_X "name"` in `header` and
 * those of them `doc` never mentions as `name` (in backquotes); names the
 * first undocumented one in `missing`. */
static void check_names(const char *header, const char *doc, size_t *names, size_t *undocumented,
                        char *missing, size_t missing_len)
{
    regex_t re;
    ck_assert_int_eq(regcomp(&re, "#define[ \t]+PF_(EV|SRC|F|PERM)_[A-Z0-9_]+[ \t]+\"([^\"]+)\"",
                             REG_EXTENDED), 0);
    *names = *undocumented = 0;
    missing[0] = 0;
    regmatch_t m[3];
    for (const char *p = header; regexec(&re, p, 3, m, 0) == 0; p += m[0].rm_eo) {
        char quoted[128];
        int len = (int)(m[2].rm_eo - m[2].rm_so);
        snprintf(quoted, sizeof quoted, "`%.*s`", len, p + m[2].rm_so);
        (*names)++;
        if (!strstr(doc, quoted)) {
            if (!*undocumented)
                snprintf(missing, missing_len, "%s", quoted);
            (*undocumented)++;
        }
    }
    regfree(&re);
}

START_TEST(every_trace_name_is_documented)
{
    char *header = slurp(PF_TRACE_NAMES_H), *doc = slurp(PF_TRACE_DOC);
    size_t names, undocumented;
    char missing[128];
    check_names(header, doc, &names, &undocumented, missing, sizeof missing);
    /* the events, sources and fields: the parse did not come up empty */
    ck_assert_uint_gt(names, 80);
    ck_assert_msg(undocumented == 0, "%zu name(s) of trace_names.h not in docs/trace.md, first %s",
                  undocumented, missing);
    free(header);
    free(doc);
}
END_TEST

START_TEST(an_undocumented_name_is_found)
{
    const char *header = "#define PF_EV_ATTEMPT \"attempt\"\n"
                         "#define PF_F_NEW_FIELD \"new_field\"\n"
                         "#define PF_PERM_MODE \"mode\"\n"
                         "#define PF_OTHER \"not_a_trace_name\"\n";
    const char *doc = "| `attempt` | `mode`, new_field without quotes |";
    size_t names, undocumented;
    char missing[128];
    check_names(header, doc, &names, &undocumented, missing, sizeof missing);
    ck_assert_uint_eq(names, 3);
    ck_assert_uint_eq(undocumented, 1);
    ck_assert_str_eq(missing, "`new_field`");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trace_names");
    TCase *tc = tcase_create("docs");
    tcase_add_test(tc, every_trace_name_is_documented);
    tcase_add_test(tc, an_undocumented_name_is_found);
    suite_add_tcase(s, tc);
    return pf_check_run(s);
}
