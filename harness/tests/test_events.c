/* test_events.c - the trace writer and reader. */
#include <errno.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "check_run.h"

static char path[64];

static void setup(void)
{
    snprintf(path, sizeof path, "/tmp/pf-test-events-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

static void teardown(void)
{
    unlink(path);
}

START_TEST(events_round_trip)
{
    struct pf_trace t;
    ck_assert_int_eq(pf_trace_open(&t, path), 0);
    json_object *f = json_object_new_object();
    json_object_object_add(f, "id", json_object_new_int(7));
    pf_trace_emit_at(&t, 1234, "observer", "instance_birth", f);
    pf_trace_emit(&t, "harness", "scenario_end", NULL);
    ck_assert_int_eq(t.count, 2);
    pf_trace_close(&t);

    json_object *arr = pf_trace_read(path);
    ck_assert_ptr_nonnull(arr);
    ck_assert_int_eq(json_object_array_length(arr), 2);
    json_object *e = json_object_array_get_idx(arr, 0), *v;
    ck_assert(json_object_object_get_ex(e, "t", &v));
    ck_assert_int_eq(json_object_get_int64(v), 1234);
    ck_assert(json_object_object_get_ex(e, "ev", &v));
    ck_assert_str_eq(json_object_get_string(v), "instance_birth");
    ck_assert(json_object_object_get_ex(e, "src", &v));
    ck_assert_str_eq(json_object_get_string(v), "observer");
    ck_assert(json_object_object_get_ex(e, "id", &v));
    ck_assert_int_eq(json_object_get_int(v), 7);
    e = json_object_array_get_idx(arr, 1);
    ck_assert(json_object_object_get_ex(e, "t", &v));
    ck_assert_int_ge(json_object_get_int64(v), 0);
    json_object_put(arr);
}
END_TEST

START_TEST(events_each_line_is_flushed)
{
    /* A harness that dies mid-run must leave what it saw on disk. */
    struct pf_trace t;
    ck_assert_int_eq(pf_trace_open(&t, path), 0);
    pf_trace_emit(&t, "harness", "scenario_start", NULL);
    json_object *arr = pf_trace_read(path);
    ck_assert_int_eq(json_object_array_length(arr), 1);
    json_object_put(arr);
    pf_trace_close(&t);
}
END_TEST

START_TEST(events_torn_last_line_ends_history)
{
    FILE *fp = fopen(path, "w");
    fputs("{\"t\":1,\"ev\":\"a\",\"src\":\"x\"}\n{\"t\":2,\"ev\":\"b\",\"sr", fp);
    fclose(fp);
    json_object *arr = pf_trace_read(path);
    ck_assert_ptr_nonnull(arr);
    ck_assert_int_eq(json_object_array_length(arr), 1);
    json_object_put(arr);
}
END_TEST

START_TEST(events_corrupt_middle_line_is_an_error)
{
    FILE *fp = fopen(path, "w");
    fputs("{\"t\":1,\"ev\":\"a\",\"src\":\"x\"}\nnot json\n{\"t\":2,\"ev\":\"b\",\"src\":\"x\"}\n", fp);
    fclose(fp);
    ck_assert_ptr_null(pf_trace_read(path));
}
END_TEST

START_TEST(events_missing_file)
{
    ck_assert_ptr_null(pf_trace_read("/nonexistent/pf/trace.jsonl"));
}
END_TEST

START_TEST(events_failed_write_is_kept)
{
    /* A full disk must not silently shorten the history. */
    struct pf_trace t;
    ck_assert_int_eq(pf_trace_open(&t, "/dev/full"), 0);
    pf_trace_emit(&t, "harness", "scenario_start", NULL);
    ck_assert_int_eq(t.write_errno, ENOSPC);
    pf_trace_close(&t);
    ck_assert_int_eq(t.write_errno, ENOSPC);
}
END_TEST

START_TEST(events_strings_are_valid_utf8)
{
    struct pf_trace t;
    ck_assert_int_eq(pf_trace_open(&t, path), 0);
    json_object *f = json_object_new_object();
    json_object_object_add(f, "msg", json_object_new_string("bad \xff byte"));
    json_object *arr = json_object_new_array();
    json_object_array_add(arr, json_object_new_string("\xc3"));
    json_object_object_add(f, "list", arr);
    pf_trace_emit(&t, "agent", "note", f);
    pf_trace_close(&t);
    json_object *evs = pf_trace_read(path);
    json_object *e = json_object_array_get_idx(evs, 0), *v;
    ck_assert(json_object_object_get_ex(e, "msg", &v));
    ck_assert_str_eq(json_object_get_string(v), "bad \xEF\xBF\xBD byte");
    ck_assert(json_object_object_get_ex(e, "list", &v));
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)), "\xEF\xBF\xBD");
    json_object_put(evs);
}
END_TEST

START_TEST(events_duration_sum_saturates)
{
    ck_assert_int_eq(pf_ns_add_sat(5, 7), 12);
    ck_assert(pf_ns_add_sat(INT64_MAX - 1, 9223372036000000000LL) == INT64_MAX);
    ck_assert(pf_ns_add_sat(1000, INT64_MAX) == INT64_MAX);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("events");
    TCase *tc = tcase_create("trace");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, events_round_trip);
    tcase_add_test(tc, events_each_line_is_flushed);
    tcase_add_test(tc, events_torn_last_line_ends_history);
    tcase_add_test(tc, events_corrupt_middle_line_is_an_error);
    tcase_add_test(tc, events_missing_file);
    tcase_add_test(tc, events_failed_write_is_kept);
    tcase_add_test(tc, events_duration_sum_saturates);
    tcase_add_test(tc, events_strings_are_valid_utf8);
    suite_add_tcase(s, tc);
    return pf_check_run(s);
}
