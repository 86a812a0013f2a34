/* test_observer.c - instances as inotify and stat see them.
 *
 * The observer is fed real file-system events in a temporary directory and
 * its trace is read back: births, permission changes, removal, a birth
 * whose first state was gone before it could be read, and a re-created
 * path that gets the same inode number back.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unix/observer.h"
#include "check_run.h"

static char dir[64], path[128], trace_path[128];
static struct pf_trace trace;
static struct pf_observer obs;

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/pf-test-observer-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ep.fifo", dir);
    snprintf(trace_path, sizeof trace_path, "%s.trace", dir);
    ck_assert_int_eq(pf_trace_open(&trace, trace_path), 0);
    char err[256];
    ck_assert_int_eq(pf_observer_open(&obs, &trace, path, PF_EP_FIFO, err, sizeof err), 0);
    obs.umask_ = 022;
    obs.server_uid = getuid();
    obs.server_gid = getgid();
}

static void teardown(void)
{
    pf_observer_close(&obs);
    pf_trace_close(&trace);
    unlink(path);
    rmdir(dir);
    unlink(trace_path);
}

/* The events of the trace so far, with a given name. */
static json_object *events(const char *ev)
{
    json_object *all = pf_trace_read(trace_path), *out = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(all); i++) {
        json_object *e = json_object_array_get_idx(all, i), *v;
        if (json_object_object_get_ex(e, "ev", &v) && !strcmp(json_object_get_string(v), ev))
            json_object_array_add(out, json_object_get(e));
    }
    json_object_put(all);
    return out;
}

static const char *field(json_object *o, const char *a, const char *b)
{
    json_object *v;
    if (!json_object_object_get_ex(o, a, &v))
        return NULL;
    if (b && !json_object_object_get_ex(v, b, &v))
        return NULL;
    return json_object_get_string(v);
}

static void make_fifo(mode_t mode, mode_t um)
{
    mode_t old = umask(um);
    ck_assert_int_eq(mkfifo(path, mode), 0);
    umask(old);
}

START_TEST(birth_read_right_after_create)
{
    make_fifo(0666, 022);
    pf_observer_drain(&obs, false);
    json_object *b = events("instance_birth");
    ck_assert_int_eq(json_object_array_length(b), 1);
    json_object *e = json_object_array_get_idx(b, 0);
    ck_assert_str_eq(field(e, "perm", "mode"), "0644");
    ck_assert_str_eq(field(e, "evidence", NULL), "stat");
    ck_assert_str_eq(field(e, "id", NULL), "1");
    json_object_put(b);

    ck_assert_int_eq(chmod(path, 0600), 0);
    pf_observer_drain(&obs, false);
    json_object *p = events("instance_perm");
    ck_assert_int_eq(json_object_array_length(p), 1);
    ck_assert_str_eq(field(json_object_array_get_idx(p, 0), "perm", "mode"), "0600");
    json_object_put(p);

    /* A chmod to the same mode changes nothing: no event. */
    ck_assert_int_eq(chmod(path, 0600), 0);
    pf_observer_drain(&obs, false);
    p = events("instance_perm");
    ck_assert_int_eq(json_object_array_length(p), 1);
    json_object_put(p);
}
END_TEST

START_TEST(birth_overwritten_before_read_is_inferred)
{
    /* Created and chmodded before the observer looks: IN_CREATE and
     * IN_ATTRIB wait in the same batch. */
    make_fifo(0666, 022);
    ck_assert_int_eq(chmod(path, 0600), 0);
    pf_observer_drain(&obs, false);
    json_object *b = events("instance_birth");
    ck_assert_int_eq(json_object_array_length(b), 1);
    json_object *e = json_object_array_get_idx(b, 0);
    ck_assert_str_eq(field(e, "evidence", NULL), "inferred");
    ck_assert_str_eq(field(e, "perm", "mode"), "0644");   /* 0666 & ~022 */
    json_object_put(b);
    json_object *p = events("instance_perm");
    ck_assert_int_eq(json_object_array_length(p), 1);
    ck_assert_str_eq(field(json_object_array_get_idx(p, 0), "perm", "mode"), "0600");
    json_object_put(p);
}
END_TEST

START_TEST(recreated_path_is_a_new_instance)
{
    make_fifo(0666, 022);
    pf_observer_drain(&obs, false);
    ck_assert_int_eq(unlink(path), 0);
    pf_observer_drain(&obs, false);
    json_object *r = events("instance_removed");
    ck_assert_int_eq(json_object_array_length(r), 1);
    ck_assert_str_eq(field(json_object_array_get_idx(r, 0), "id", NULL), "1");
    json_object_put(r);

    /* File systems hand the inode number straight back: still a new one. */
    make_fifo(0666, 0);
    pf_observer_drain(&obs, false);
    json_object *b = events("instance_birth");
    ck_assert_int_eq(json_object_array_length(b), 2);
    json_object *e = json_object_array_get_idx(b, 1);
    ck_assert_str_eq(field(e, "id", NULL), "2");
    ck_assert_str_eq(field(e, "perm", "mode"), "0666");
    json_object_put(b);
}
END_TEST

START_TEST(other_names_are_ignored)
{
    char other[160];
    snprintf(other, sizeof other, "%s/ep.fifo.tmp", dir);
    ck_assert_int_eq(mkfifo(other, 0666), 0);
    pf_observer_drain(&obs, false);
    unlink(other);
    json_object *b = events("instance_birth");
    ck_assert_int_eq(json_object_array_length(b), 0);
    json_object_put(b);
}
END_TEST

START_TEST(renamed_into_place_is_a_birth)
{
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s/ep.fifo.new", dir);
    mode_t old = umask(0);
    ck_assert_int_eq(mkfifo(tmp, 0660), 0);
    umask(old);
    ck_assert_int_eq(rename(tmp, path), 0);
    pf_observer_drain(&obs, false);
    json_object *b = events("instance_birth");
    ck_assert_int_eq(json_object_array_length(b), 1);
    ck_assert_str_eq(field(json_object_array_get_idx(b, 0), "perm", "mode"), "0660");
    json_object_put(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("observer");
    TCase *tc = tcase_create("observer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, birth_read_right_after_create);
    tcase_add_test(tc, birth_overwritten_before_read_is_inferred);
    tcase_add_test(tc, recreated_path_is_a_new_instance);
    tcase_add_test(tc, other_names_are_ignored);
    tcase_add_test(tc, renamed_into_place_is_a_birth);
    suite_add_tcase(s, tc);
    return pf_check_run(s);
}
