/* test_helper_dirs.c - pf_helper_dirs_for finds the fixtures and Win32
 * programs of an installed tree and of a build tree from the executable's
 * path alone, and refuses a layout another user could change: a directory
 * writable by others or a symlink on the way. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "helper_dirs.h"

static char base[64];

static void setup(void)
{
    snprintf(base, sizeof base, "/tmp/pf-helpers-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(base));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot clean %s\n", base);
}

static void dir(const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    ck_assert_int_eq(mkdir(p, 0755), 0);
}

static void touch(const char *rel)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

static int find(const char *exe_rel, struct pf_helper_dirs *d, char *err, size_t n)
{
    char exe[256];
    snprintf(exe, sizeof exe, "%s/%s", base, exe_rel);
    return pf_helper_dirs_for(exe, d, err, n);
}

START_TEST(installed_layout_is_libexec_pipefault)
{
    dir("bin");
    dir("libexec");
    dir("libexec/pipefault");
    dir("libexec/pipefault/fixtures");
    struct pf_helper_dirs d;
    char err[512] = "", want[256];
    ck_assert_int_eq(find("bin/pipefault", &d, err, sizeof err), 0);
    snprintf(want, sizeof want, "%s/libexec/pipefault/fixtures", base);
    ck_assert_str_eq(d.fixtures, want);
    snprintf(want, sizeof want, "%s/libexec/pipefault/win32", base);
    ck_assert_str_eq(d.win32, want);
}
END_TEST

START_TEST(build_tree_is_recognised_by_its_cmake_cache)
{
    dir("harness");
    touch("CMakeCache.txt");
    struct pf_helper_dirs d;
    char err[512] = "", want[256];
    ck_assert_int_eq(find("harness/pipefault", &d, err, sizeof err), 0);
    snprintf(want, sizeof want, "%s/fixtures", base);
    ck_assert_str_eq(d.fixtures, want);
    snprintf(want, sizeof want, "%s/win32", base);
    ck_assert_str_eq(d.win32, want);
}
END_TEST

START_TEST(neither_layout_names_both_places)
{
    dir("bin");
    struct pf_helper_dirs d;
    char err[512] = "", want[256];
    ck_assert_int_eq(find("bin/pipefault", &d, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s/libexec/pipefault", base);
    ck_assert_ptr_nonnull(strstr(err, want));
    ck_assert_ptr_nonnull(strstr(err, "CMakeCache.txt"));
}
END_TEST

START_TEST(a_directory_others_can_write_is_refused)
{
    dir("bin");
    dir("libexec");
    dir("libexec/pipefault");
    dir("libexec/pipefault/win32");
    char p[256];
    snprintf(p, sizeof p, "%s/libexec/pipefault/win32", base);
    ck_assert_int_eq(chmod(p, 0777), 0);
    struct pf_helper_dirs d;
    char err[512] = "";
    ck_assert_int_eq(find("bin/pipefault", &d, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, p));
    ck_assert_ptr_nonnull(strstr(err, "0777"));
    /* The same directory, sticky like /tmp, is allowed on the way. */
    ck_assert_int_eq(chmod(p, 01777), 0);
    ck_assert_int_eq(find("bin/pipefault", &d, err, sizeof err), 0);
}
END_TEST

START_TEST(a_symlinked_helper_root_is_refused)
{
    dir("bin");
    dir("libexec");
    dir("elsewhere");
    char target[256], link[256];
    snprintf(target, sizeof target, "%s/elsewhere", base);
    snprintf(link, sizeof link, "%s/libexec/pipefault", base);
    ck_assert_int_eq(symlink(target, link), 0);
    /* Not taken for an installed tree (lstat), and with a CMakeCache.txt
     * beside it the build layout is used, never the link. */
    struct pf_helper_dirs d;
    char err[512] = "";
    ck_assert_int_eq(find("bin/pipefault", &d, err, sizeof err), -1);
    touch("CMakeCache.txt");
    ck_assert_int_eq(find("bin/pipefault", &d, err, sizeof err), 0);
    ck_assert_str_eq(d.root, base);
}
END_TEST

START_TEST(a_symlink_among_the_subdirectories_is_refused)
{
    dir("harness");
    touch("CMakeCache.txt");
    dir("elsewhere");
    char target[256], link[256];
    snprintf(target, sizeof target, "%s/elsewhere", base);
    snprintf(link, sizeof link, "%s/fixtures", base);
    ck_assert_int_eq(symlink(target, link), 0);
    struct pf_helper_dirs d;
    char err[512] = "";
    ck_assert_int_eq(find("harness/pipefault", &d, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, link));
}
END_TEST

START_TEST(the_running_executable_is_found)
{
    char exe[PATH_MAX], err[512] = "";
    ck_assert_int_eq(pf_self_exe(exe, sizeof exe, err, sizeof err), 0);
    ck_assert_int_eq(exe[0], '/');
    ck_assert_ptr_nonnull(strstr(exe, "test_helper_dirs"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("helper_dirs");
    TCase *tc = tcase_create("layout");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, installed_layout_is_libexec_pipefault);
    tcase_add_test(tc, build_tree_is_recognised_by_its_cmake_cache);
    tcase_add_test(tc, neither_layout_names_both_places);
    tcase_add_test(tc, a_directory_others_can_write_is_refused);
    tcase_add_test(tc, a_symlinked_helper_root_is_refused);
    tcase_add_test(tc, a_symlink_among_the_subdirectories_is_refused);
    tcase_add_test(tc, the_running_executable_is_found);
    suite_add_tcase(s, tc);
    return pf_check_run(s);
}
