/* test_select.c - --select, --shard and the duration-balanced split. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "select.h"

static const char *const names[] = {
    "abstract", "chmod-after-listen", "chmod-before-listen", "fifo-chmod",
    "npipe-close-before-create", "recreate-on-error", "rename-into-place", "umask-bind",
};
#define N (sizeof names / sizeof names[0])

START_TEST(shard_parse_accepts_parts_and_refuses_the_rest)
{
    struct pf_shard s;
    char err[256];
    ck_assert_int_eq(pf_shard_parse("2/3", &s, err, sizeof err), 0);
    ck_assert_uint_eq(s.index, 2);
    ck_assert_uint_eq(s.count, 3);
    static const char *const bad[] = {"0/3", "4/3", "x", "1/0", "/3", "1/", "1/3x", "-1/3",
                                      "1 /3", "", "3", "1/3/3", "9999999/9999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        ck_assert_msg(pf_shard_parse(bad[i], &s, err, sizeof err) < 0, "accepted '%s'", bad[i]);
        ck_assert_msg(strstr(err, bad[i]) != NULL, "error for '%s' does not name it: %s",
                      bad[i], err);
    }
}
END_TEST

START_TEST(select_keeps_any_glob_and_refuses_one_matching_nothing)
{
    bool keep[N];
    char err[256];
    const char *globs[] = {"chmod-*", "umask-bind"};
    ck_assert_int_eq(pf_select_names((const char *const *)names, N, globs, 2, keep, err,
                                     sizeof err), 0);
    for (size_t i = 0; i < N; i++)
        ck_assert_int_eq(keep[i], !strncmp(names[i], "chmod-", 6) ||
                                  !strcmp(names[i], "umask-bind"));
    ck_assert_int_eq(pf_select_names((const char *const *)names, N, NULL, 0, keep, err,
                                     sizeof err), 0);
    for (size_t i = 0; i < N; i++)
        ck_assert(keep[i]);
    const char *none[] = {"chmod-*", "nothing-*"};
    ck_assert_int_lt(pf_select_names((const char *const *)names, N, none, 2, keep, err,
                                     sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "nothing-*"));
}
END_TEST

/* Every name in exactly one part, for every count from 1 to N + 2. */
START_TEST(shards_are_disjoint_and_cover_the_whole)
{
    unsigned part[N];
    for (unsigned count = 1; count <= N + 2; count++) {
        pf_shard_assign((const char *const *)names, NULL, N, count, part);
        size_t per[N + 3] = {0};
        for (size_t i = 0; i < N; i++) {
            ck_assert_uint_ge(part[i], 1);
            ck_assert_uint_le(part[i], count);
            per[part[i]]++;
        }
        /* Without durations the parts differ by at most one scenario. */
        size_t lo = N, hi = 0;
        for (unsigned s = 1; s <= count; s++) {
            lo = per[s] < lo ? per[s] : lo;
            hi = per[s] > hi ? per[s] : hi;
        }
        ck_assert_uint_le(hi - lo, 1);
    }
}
END_TEST

/* The same set of names in another order: every name in the same part. */
START_TEST(shards_depend_on_the_set_not_the_order)
{
    const char *rev[N];
    unsigned a[N], b[N];
    for (size_t i = 0; i < N; i++)
        rev[i] = names[N - 1 - i];
    pf_shard_assign((const char *const *)names, NULL, N, 3, a);
    pf_shard_assign(rev, NULL, N, 3, b);
    for (size_t i = 0; i < N; i++)
        ck_assert_uint_eq(a[i], b[N - 1 - i]);
}
END_TEST

/* One long scenario and seven short ones in two parts: the long one alone
 * on one side, which no count-based split does. */
START_TEST(durations_balance_the_parts)
{
    int64_t ms[N] = {100, 100, 100, 100, 700, 100, 100, 100};
    unsigned part[N];
    pf_shard_assign((const char *const *)names, ms, N, 2, part);
    int64_t load[3] = {0};
    for (size_t i = 0; i < N; i++)
        load[part[i]] += ms[i];
    ck_assert_int_eq(load[1] > load[2] ? load[1] - load[2] : load[2] - load[1], 0);
    for (size_t i = 0; i < N; i++)
        if (i != 4)
            ck_assert_uint_ne(part[i], part[4]);
    /* An unknown duration counts as the mean of the known ones. */
    int64_t some[N] = {-1, 100, 100, 100, 700, 100, 100, 100};
    pf_shard_assign((const char *const *)names, some, N, 2, part);
    ck_assert_uint_ne(part[0], part[4]);
}
END_TEST

START_TEST(durations_are_read_from_a_store)
{
    char dir[] = "/tmp/pf-test-select-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/results.json", dir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("{\"schema\":1,\"scenarios\":[{\"name\":\"fifo-chmod\",\"duration_ms\":1234},"
          "{\"name\":\"gone\",\"duration_ms\":5}]}\n", fp);
    fclose(fp);
    int64_t ms[N];
    char err[512];
    ck_assert_int_eq(pf_durations_load(dir, (const char *const *)names, N, ms, err,
                                       sizeof err), 0);
    for (size_t i = 0; i < N; i++)
        ck_assert_int_eq(ms[i], !strcmp(names[i], "fifo-chmod") ? 1234 : -1);
    /* Damaged: an error naming the file, never durations made up. */
    fp = fopen(path, "w");
    fputs("{\"scenarios\":[", fp);
    fclose(fp);
    ck_assert_int_lt(pf_durations_load(dir, (const char *const *)names, N, ms, err,
                                       sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "results.json"));
    unlink(path);
    rmdir(dir);
    ck_assert_int_lt(pf_durations_load(dir, (const char *const *)names, N, ms, err,
                                       sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, dir));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("select");
    TCase *tc = tcase_create("select");
    tcase_add_test(tc, shard_parse_accepts_parts_and_refuses_the_rest);
    tcase_add_test(tc, select_keeps_any_glob_and_refuses_one_matching_nothing);
    tcase_add_test(tc, shards_are_disjoint_and_cover_the_whole);
    tcase_add_test(tc, shards_depend_on_the_set_not_the_order);
    tcase_add_test(tc, durations_balance_the_parts);
    tcase_add_test(tc, durations_are_read_from_a_store);
    suite_add_tcase(s, tc);
    return pf_check_run(s);
}
