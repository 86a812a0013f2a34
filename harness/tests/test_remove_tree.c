/* test_remove_tree.c - pf_remove_tree never follows a symlink out of the tree
 * it removes, and leaves alone a directory that is not privately ours. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_run.h"
#include "run.h"

static char base[64];

static void setup(void)
{
    snprintf(base, sizeof base, "/tmp/pf-rmtest-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(base));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot clean %s\n", base);
}

static void touch(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

START_TEST(remove_tree_keeps_what_symlinks_point_at)
{
    char keep[128], tree[128], p[256];
    snprintf(keep, sizeof keep, "%s/keep", base);
    snprintf(tree, sizeof tree, "%s/tree", base);
    ck_assert_int_eq(mkdir(keep, 0755), 0);
    snprintf(p, sizeof p, "%s/sentinel", keep);
    touch(p);
    ck_assert_int_eq(mkdir(tree, 0755), 0);
    snprintf(p, sizeof p, "%s/sub", tree);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/sub/file", tree);
    touch(p);
    snprintf(p, sizeof p, "%s/link", tree);
    ck_assert_int_eq(symlink(keep, p), 0);
    snprintf(p, sizeof p, "%s/sub/link", tree);
    ck_assert_int_eq(symlink(keep, p), 0);

    pf_remove_tree(tree);
    struct stat st;
    ck_assert_int_eq(lstat(tree, &st), -1);
    snprintf(p, sizeof p, "%s/sentinel", keep);
    ck_assert_int_eq(stat(p, &st), 0);
}
END_TEST

START_TEST(remove_tree_refuses_a_symlink_at_the_top)
{
    char keep[128], link[128], p[256];
    snprintf(keep, sizeof keep, "%s/keep", base);
    snprintf(link, sizeof link, "%s/link", base);
    ck_assert_int_eq(mkdir(keep, 0755), 0);
    snprintf(p, sizeof p, "%s/sentinel", keep);
    touch(p);
    ck_assert_int_eq(symlink(keep, link), 0);
    pf_remove_tree(link);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
}
END_TEST

START_TEST(remove_tree_leaves_a_shared_directory_alone)
{
    /* Writable by others: whatever is in it may not be ours. */
    char dir[128], p[256];
    snprintf(dir, sizeof dir, "%s/shared", base);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(chmod(dir, 01777), 0);
    snprintf(p, sizeof p, "%s/file", dir);
    touch(p);
    pf_remove_tree(dir);
    struct stat st;
    ck_assert_int_eq(stat(p, &st), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("remove_tree");
    TCase *tc = tcase_create("walk");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, remove_tree_keeps_what_symlinks_point_at);
    tcase_add_test(tc, remove_tree_refuses_a_symlink_at_the_top);
    tcase_add_test(tc, remove_tree_leaves_a_shared_directory_alone);
    suite_add_tcase(s, tc);
    return pf_check_run(s);
}
