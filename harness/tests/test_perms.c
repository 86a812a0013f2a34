/* test_perms.c - "default" is computed, so the computation is checked
 * against the kernel: the predicted perm of a new socket or FIFO must equal
 * what bind() and mkfifo() really create, with and without a directory
 * default ACL, under several umasks, and (as root) for a creator that is
 * not root:root: a non-root uid, a foreign gid, a setgid directory. */
#include <acl/libacl.h>
#include <check.h>
#include <grp.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "checker.h"
#include "unix/perms.h"
#include "check_run.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/pf-test-perms-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void make_endpoint(const char *path, int is_socket, mode_t um)
{
    mode_t old = umask(um);
    if (is_socket) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
        close(fd);
    } else {
        ck_assert_int_eq(mkfifo(path, 0666), 0);
    }
    umask(old);
}

static void check_prediction(int is_socket, mode_t um)
{
    char path[128];
    snprintf(path, sizeof path, "%s/ep%d%03o", dir, is_socket, (unsigned)um);
    make_endpoint(path, is_socket, um);
    json_object *actual = pf_perm_read(path, NULL, NULL);
    json_object *predicted = pf_perm_default(dir, is_socket, um, getuid(), getgid());
    ck_assert_ptr_nonnull(actual);
    ck_assert_msg(pf_perm_matches(actual, predicted), "socket=%d umask=%03o: actual %s, predicted %s",
                  is_socket, (unsigned)um, json_object_to_json_string(actual),
                  json_object_to_json_string(predicted));
    json_object_put(actual);
    json_object_put(predicted);
}

START_TEST(default_without_acl_matches_kernel)
{
    static const mode_t umasks[] = {0, 022, 027, 077, 0117};
    for (size_t i = 0; i < sizeof umasks / sizeof umasks[0]; i++) {
        check_prediction(1, umasks[i]);
        check_prediction(0, umasks[i]);
    }
}
END_TEST

START_TEST(default_with_directory_acl_matches_kernel)
{
    acl_t acl = acl_from_text("u::rwx,g::r-x,o::r--,u:nobody:rw-,g:nogroup:r--,m::rwx");
    ck_assert_ptr_nonnull(acl);
    ck_assert_int_eq(acl_set_file(dir, ACL_TYPE_DEFAULT, acl), 0);
    acl_free(acl);
    static const mode_t umasks[] = {0, 022, 077};
    for (size_t i = 0; i < sizeof umasks / sizeof umasks[0]; i++) {
        check_prediction(1, umasks[i]);
        check_prediction(0, umasks[i]);
    }
}
END_TEST

START_TEST(read_reports_named_acl_entries)
{
    char path[128];
    snprintf(path, sizeof path, "%s/f", dir);
    make_endpoint(path, 0, 022);
    acl_t acl = acl_from_text("u::rw-,g::r--,o::---,u:nobody:rw-,m::rw-");
    ck_assert_int_eq(acl_set_file(path, ACL_TYPE_ACCESS, acl), 0);
    acl_free(acl);
    json_object *p = pf_perm_read(path, NULL, NULL), *named, *text;
    ck_assert(json_object_object_get_ex(p, "acl_named", &named));
    ck_assert_int_eq(json_object_array_length(named), 1);
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(named, 0)), "user:nobody:rw-");
    ck_assert(json_object_object_get_ex(p, "acl", &text));
    ck_assert_msg(strstr(json_object_get_string(text), "mask::rw-") != NULL, "%s",
                  json_object_get_string(text));
    json_object_put(p);
}
END_TEST

START_TEST(read_of_missing_path_is_null)
{
    ck_assert_ptr_null(pf_perm_read("/nonexistent/pf/sock", NULL, NULL));
}
END_TEST

START_TEST(named_entries_are_sorted_and_base_entries_dropped)
{
    json_object *a = pf_acl_named_entries("user::rw-,user:zed:r--,group::r--,group:adm:rw-,"
                                          "user:amy:rw-,mask::rw-,other::---");
    ck_assert_int_eq(json_object_array_length(a), 3);
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(a, 0)), "group:adm:rw-");
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(a, 1)), "user:amy:rw-");
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(a, 2)), "user:zed:r--");
    json_object_put(a);
}
END_TEST

/* Creates path as uid:gid (fsuid/fsgid) with umask um, in a child that
 * drops to those credentials first, as a server under its own account. */
static void make_endpoint_as(const char *path, int is_socket, mode_t um, uid_t uid, gid_t gid)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
            setresuid(uid, uid, uid) < 0)
            _exit(2);
        umask(um);
        if (is_socket) {
            int fd = socket(AF_UNIX, SOCK_STREAM, 0);
            struct sockaddr_un sa = {.sun_family = AF_UNIX};
            snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
            _exit(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : 3);
        }
        _exit(mkfifo(path, 0666) == 0 ? 0 : 3);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "creating %s as %u:%u failed (%d)",
                  path, (unsigned)uid, (unsigned)gid, st);
}

static int64_t perm_int(json_object *p, const char *k)
{
    json_object *v;
    ck_assert(json_object_object_get_ex(p, k, &v));
    return json_object_get_int64(v);
}

/* The kernel's inode for creator uid:gid against the prediction; returns
 * the actual owner and group so that a test can also pin them. */
static void check_creator(int is_socket, mode_t um, uid_t uid, gid_t gid, uid_t *out_uid,
                          gid_t *out_gid)
{
    static int seq;
    char path[128];
    snprintf(path, sizeof path, "%s/c%d-%d", dir, is_socket, seq++);
    make_endpoint_as(path, is_socket, um, uid, gid);
    json_object *actual = pf_perm_read(path, NULL, NULL);
    json_object *predicted = pf_perm_default(dir, is_socket, um, uid, gid);
    ck_assert_ptr_nonnull(actual);
    ck_assert_msg(pf_perm_matches(actual, predicted) && pf_perm_matches(predicted, actual),
                  "socket=%d umask=%03o creator %u:%u: actual %s, predicted %s", is_socket,
                  (unsigned)um, (unsigned)uid, (unsigned)gid, json_object_to_json_string(actual),
                  json_object_to_json_string(predicted));
    *out_uid = (uid_t)perm_int(actual, "uid");
    *out_gid = (gid_t)perm_int(actual, "gid");
    json_object_put(actual);
    json_object_put(predicted);
}

#define NOBODY 65534
#define FOREIGN_GID 4242      /* nobody's group or not: any gid will do */
#define DIR_GID 4343

START_TEST(default_for_non_root_creator_matches_kernel)
{
    ck_assert_int_eq(chmod(dir, 0777), 0);
    uid_t u;
    gid_t g;
    for (int sock = 0; sock <= 1; sock++) {
        check_creator(sock, 022, NOBODY, NOBODY, &u, &g);
        ck_assert_int_eq(u, NOBODY);
        ck_assert_int_eq(g, NOBODY);
        check_creator(sock, 007, NOBODY, FOREIGN_GID, &u, &g);
        ck_assert_int_eq(u, NOBODY);
        ck_assert_int_eq(g, FOREIGN_GID);
        /* root with a service group: root:ops, not root:root */
        check_creator(sock, 022, 0, FOREIGN_GID, &u, &g);
        ck_assert_int_eq(u, 0);
        ck_assert_int_eq(g, FOREIGN_GID);
    }
}
END_TEST

START_TEST(default_in_setgid_directory_takes_its_group)
{
    ck_assert_int_eq(chown(dir, 0, DIR_GID), 0);
    ck_assert_int_eq(chmod(dir, 02777), 0);
    uid_t u;
    gid_t g;
    for (int sock = 0; sock <= 1; sock++) {
        check_creator(sock, 022, NOBODY, FOREIGN_GID, &u, &g);
        ck_assert_int_eq(u, NOBODY);
        ck_assert_int_eq(g, DIR_GID);
    }
}
END_TEST

START_TEST(default_with_acl_for_foreign_creator_matches_kernel)
{
    ck_assert_int_eq(chown(dir, 0, DIR_GID), 0);
    ck_assert_int_eq(chmod(dir, 02777), 0);
    acl_t acl = acl_from_text("u::rwx,g::rwx,o::rwx,u:nobody:rw-,g:nogroup:r--,m::rwx");
    ck_assert_ptr_nonnull(acl);
    ck_assert_int_eq(acl_set_file(dir, ACL_TYPE_DEFAULT, acl), 0);
    acl_free(acl);
    uid_t u;
    gid_t g;
    static const mode_t umasks[] = {0, 027};
    for (size_t i = 0; i < sizeof umasks / sizeof umasks[0]; i++)
        for (int sock = 0; sock <= 1; sock++) {
            check_creator(sock, umasks[i], NOBODY, FOREIGN_GID, &u, &g);
            ck_assert_int_eq(g, DIR_GID);
        }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("perms");
    TCase *tc = tcase_create("perms");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, default_without_acl_matches_kernel);
    tcase_add_test(tc, default_with_directory_acl_matches_kernel);
    tcase_add_test(tc, read_reports_named_acl_entries);
    tcase_add_test(tc, read_of_missing_path_is_null);
    tcase_add_test(tc, named_entries_are_sorted_and_base_entries_dropped);
    suite_add_tcase(s, tc);
    if (geteuid() == 0) {
        /* Creating as another account needs root. */
        TCase *as = tcase_create("creator");
        tcase_add_checked_fixture(as, setup, teardown);
        tcase_add_test(as, default_for_non_root_creator_matches_kernel);
        tcase_add_test(as, default_in_setgid_directory_takes_its_group);
        tcase_add_test(as, default_with_acl_for_foreign_creator_matches_kernel);
        suite_add_tcase(s, as);
    } else {
        fprintf(stderr, "test_perms: not root: the creator tests are not run\n");
    }
    return pf_check_run(s);
}
