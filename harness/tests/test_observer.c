/* test_observer.c - instances as inotify and stat see them.
 *
 * The observer is fed real file-system events in a temporary directory and
 * its trace is read back: births, permission changes, removal, a birth
 * whose first state was gone before it could be read, a re-created path
 * that gets the same inode number back, an inode made under another name
 * and moved onto the endpoint, the creator's `default`, and thousands of
 * instances.
 */
#include <check.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <utime.h>
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
    obs.start_umask = 022;
    obs.server_uid = getuid();
    obs.server_gid = getgid();
}

static void teardown(void)
{
    pf_observer_close(&obs);
    pf_trace_close(&trace);
    unlink(path);
    snprintf(path, sizeof path, "%s/ep.fifo", dir);
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

/* The observer on a unix socket endpoint instead of the FIFO. */
static void reopen_as_socket(void)
{
    pf_observer_close(&obs);
    snprintf(path, sizeof path, "%s/ep.sock", dir);
    char err[256];
    ck_assert_int_eq(pf_observer_open(&obs, &trace, path, PF_EP_UNIX, err, sizeof err), 0);
    obs.umask_ = 022;
    obs.start_umask = 022;
    obs.server_uid = getuid();
    obs.server_gid = getgid();
}

static int bind_socket(const char *where, mode_t um)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", where);
    mode_t old = umask(um);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    umask(old);
    return fd;
}

/* What the supervisor hands the observer for listen(fd) on a socket whose
 * file is `file`, the thread stopped at its entry. */
static struct pf_sc_event listen_event(const char *bound_as, const char *file, int fd)
{
    struct pf_sc_event e = { .pid = getpid(), .tid = getpid(), .op = PF_OP_LISTEN,
                             .name = "listen", .fd = fd, .mode = -1 };
    snprintf(e.path, sizeof e.path, "%s", bound_as);
    struct stat st;
    ck_assert_int_eq(lstat(file, &st), 0);
    e.node_known = true;
    e.node_dev = st.st_dev;
    e.node_ino = st.st_ino;
    return e;
}

static int64_t num(json_object *o, const char *k)
{
    json_object *v;
    ck_assert_msg(json_object_object_get_ex(o, k, &v), "no %s in %s", k,
                  json_object_to_json_string(o));
    return json_object_get_int64(v);
}

START_TEST(listened_under_temp_name_then_renamed_keeps_birth_and_listen)
{
    reopen_as_socket();
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s/ep.sock.42.tmp", dir);
    int fd = bind_socket(tmp, 0);               /* born 0777 */
    pf_observer_drain(&obs, false);
    struct pf_sc_event e = listen_event(tmp, tmp, fd);
    /* A listener on an inode made in the endpoint's directory concerns the
     * endpoint (faults apply), though it is no instance yet. */
    ck_assert_int_eq(pf_observer_on_syscall(&obs, &e), 0);
    pf_observer_on_proceed(&obs, &e, 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    ck_assert_int_eq(obs.n, 0);
    json_object *a = events("instance_accepting");
    ck_assert_int_eq(json_object_array_length(a), 0);
    json_object_put(a);

    ck_assert_int_eq(rename(tmp, path), 0);
    ck_assert_int_eq(chmod(path, 0600), 0);
    pf_observer_drain(&obs, false);

    json_object *b = events("instance_birth");
    ck_assert_int_eq(json_object_array_length(b), 1);
    json_object *birth = json_object_array_get_idx(b, 0);
    ck_assert_str_eq(field(birth, "perm", "mode"), "0777");
    ck_assert_str_eq(field(birth, "created_as", NULL), tmp);
    ck_assert_str_eq(field(birth, "endpoint", NULL), path);
    char key[64];
    snprintf(key, sizeof key, "%lu:%lu", (unsigned long)e.node_dev, (unsigned long)e.node_ino);
    ck_assert_str_eq(field(birth, "key", NULL), key);
    a = events("instance_accepting");
    ck_assert_int_eq(json_object_array_length(a), 1);
    json_object *acc = json_object_array_get_idx(a, 0);
    ck_assert_str_eq(field(acc, "id", NULL), "1");
    ck_assert_str_eq(field(acc, "evidence", NULL), "listen");
    /* accepting since the listen, before it was on the endpoint name */
    ck_assert_int_lt(num(acc, "t"), num(birth, "endpoint_t"));
    ck_assert_int_le(num(birth, "t"), num(acc, "t"));
    json_object *p = events("instance_perm");
    ck_assert_int_eq(json_object_array_length(p), 1);
    ck_assert_str_eq(field(json_object_array_get_idx(p, 0), "perm", "mode"), "0600");
    ck_assert_int_ge(num(json_object_array_get_idx(p, 0), "t"), num(birth, "endpoint_t"));
    json_object_put(p);
    json_object_put(a);
    json_object_put(b);

    /* The listener after the rename: still the same instance by its inode,
     * though bound under the old name. */
    struct pf_sc_event again = listen_event(tmp, path, fd);
    ck_assert_int_eq(pf_observer_on_syscall(&obs, &again), 1);
    close(fd);
}
END_TEST

START_TEST(secured_before_listen_under_temp_name_accepts_intended)
{
    reopen_as_socket();
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s/ep.sock.new", dir);
    int fd = bind_socket(tmp, 0);
    pf_observer_drain(&obs, false);
    ck_assert_int_eq(chmod(tmp, 0600), 0);
    pf_observer_drain(&obs, false);
    struct pf_sc_event e = listen_event(tmp, tmp, fd);
    ck_assert_int_eq(pf_observer_on_syscall(&obs, &e), 0);
    pf_observer_on_proceed(&obs, &e, 0);
    ck_assert_int_eq(link(tmp, path), 0);     /* linked into place this time */
    pf_observer_drain(&obs, false);
    json_object *b = events("instance_birth"), *p = events("instance_perm"),
                *a = events("instance_accepting");
    ck_assert_int_eq(json_object_array_length(b), 1);
    ck_assert_str_eq(field(json_object_array_get_idx(b, 0), "perm", "mode"), "0777");
    ck_assert_int_eq(json_object_array_length(p), 1);
    json_object *secured = json_object_array_get_idx(p, 0);
    ck_assert_str_eq(field(secured, "perm", "mode"), "0600");
    ck_assert_int_eq(json_object_array_length(a), 1);
    /* secured, then accepting: in that order, at the times they happened */
    ck_assert_int_le(num(secured, "t"), num(json_object_array_get_idx(a, 0), "t"));
    json_object_put(a);
    json_object_put(p);
    json_object_put(b);
    unlink(tmp);
    close(fd);
}
END_TEST

START_TEST(default_is_the_creators_under_the_starting_umask)
{
    obs.start_umask = 027;
    struct pf_sc_event e = { .pid = getpid(), .tid = getpid(), .op = PF_OP_CREATE,
                             .name = "mknodat", .fd = -1, .mode = 0666,
                             .creds_known = true, .fsuid = 65534, .fsgid = 4242 };
    snprintf(e.path, sizeof e.path, "%s", path);
    ck_assert_int_eq(pf_observer_on_syscall(&obs, &e), 0);
    make_fifo(0666, 0);      /* the server narrowed or widened its umask: */
    pf_observer_drain(&obs, false);
    json_object *b = events("instance_birth");
    ck_assert_int_eq(json_object_array_length(b), 1);
    json_object *birth = json_object_array_get_idx(b, 0);
    ck_assert_str_eq(field(birth, "default", "mode"), "0640");   /* ... default is the run's */
    ck_assert_str_eq(field(birth, "default", "uid"), "65534");
    ck_assert_str_eq(field(birth, "default", "gid"), "4242");
    ck_assert_str_eq(field(birth, "default_evidence", NULL), "creator");
    ck_assert_str_eq(field(birth, "perm", "mode"), "0666");
    json_object_put(b);
}
END_TEST

START_TEST(default_of_a_birth_seen_only_by_inotify_is_the_servers)
{
    obs.server_uid = 65534;
    obs.server_gid = 4242;
    obs.start_umask = 022;
    make_fifo(0666, 022);
    pf_observer_drain(&obs, false);
    json_object *b = events("instance_birth");
    ck_assert_int_eq(json_object_array_length(b), 1);
    json_object *birth = json_object_array_get_idx(b, 0);
    ck_assert_str_eq(field(birth, "default_evidence", NULL), "server");
    ck_assert_str_eq(field(birth, "default", "uid"), "65534");
    ck_assert_str_eq(field(birth, "default", "gid"), "4242");
    ck_assert_str_eq(field(birth, "default", "mode"), "0644");
    json_object_put(b);
}
END_TEST

START_TEST(thousands_of_instances_then_an_open_one_is_recorded)
{
    enum { GOOD = 5000 };
    for (int i = 0; i < GOOD; i++) {
        make_fifo(0600, 0);
        pf_observer_drain(&obs, false);
        ck_assert_int_eq(unlink(path), 0);
        pf_observer_drain(&obs, false);
    }
    make_fifo(0777, 0);      /* never secured */
    pf_observer_drain(&obs, false);
    ck_assert_int_eq(obs.n, GOOD + 1);
    /* A second name and a touch of the endpoint: same instance, no change. */
    char other[160];
    snprintf(other, sizeof other, "%s/ep.fifo.link", dir);
    ck_assert_int_eq(link(path, other), 0);
    ck_assert_int_eq(utime(path, NULL), 0);
    pf_observer_drain(&obs, false);
    ck_assert_int_eq(obs.n, GOOD + 1);
    unlink(other);
    pf_observer_drain(&obs, false);

    json_object *b = events("instance_birth");
    ck_assert_int_eq(json_object_array_length(b), GOOD + 1);
    json_object *last = json_object_array_get_idx(b, GOOD);
    ck_assert_str_eq(field(last, "perm", "mode"), "0777");
    ck_assert_str_eq(field(last, "id", NULL), "5001");
    json_object_put(b);
}
END_TEST

START_TEST(temp_name_deleted_is_forgotten)
{
    /* A FIFO made and removed under another name never becomes an
     * instance, even if the endpoint later gets its inode number back. */
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s/ep.fifo.tmp", dir);
    mode_t old = umask(0);
    ck_assert_int_eq(mkfifo(tmp, 0777), 0);
    umask(old);
    pf_observer_drain(&obs, false);
    ck_assert_uint_eq(obs.ncand, 1);
    ck_assert_int_eq(unlink(tmp), 0);
    pf_observer_drain(&obs, false);
    ck_assert_uint_eq(obs.ncand, 0);
    make_fifo(0600, 0);
    pf_observer_drain(&obs, false);
    json_object *b = events("instance_birth");
    ck_assert_int_eq(json_object_array_length(b), 1);
    json_object *birth = json_object_array_get_idx(b, 0);
    ck_assert_str_eq(field(birth, "perm", "mode"), "0600");
    ck_assert_ptr_null(field(birth, "created_as", NULL));
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
    tcase_add_test(tc, listened_under_temp_name_then_renamed_keeps_birth_and_listen);
    tcase_add_test(tc, secured_before_listen_under_temp_name_accepts_intended);
    tcase_add_test(tc, default_is_the_creators_under_the_starting_umask);
    tcase_add_test(tc, default_of_a_birth_seen_only_by_inotify_is_the_servers);
    tcase_add_test(tc, thousands_of_instances_then_an_open_one_is_recorded);
    tcase_add_test(tc, temp_name_deleted_is_forgotten);
    suite_add_tcase(s, tc);
    return pf_check_run(s);
}
