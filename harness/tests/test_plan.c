/* test_plan.c - a scenario made concrete: placeholders, names, clients. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan.h"
#include "check_run.h"

static char *groups[] = {"ops"};
static char *alice_groups[] = {"ops"};
static struct pf_account accounts[] = {
    {.name = "alice", .groups = alice_groups, .ngroups = 1, .allowed = true},
    {.name = "mallory"},
};
static struct pf_client clients[] = {
    {.account = "alice", .count = 2, .attempts = 1},
    {.account = "mallory", .count = 1, .attempts = 1},
    {.account = "alice", .count = 1, .attempts = 1},
};
static char *acl[] = {"user:alice:rw-", "g:ops:r--", "mask::rw-"};
static char *command[] = {"/bin/srv", "--sock={endpoint}", "--dir", "{rundir}",
                          "--user", "{user:alice}", "--group", "{group:ops}"};

static struct pf_scenario sc;
static struct pf_run run;

static void setup(void)
{
    memset(&sc, 0, sizeof sc);
    sc.file = "s.yaml";
    sc.name = "s";
    sc.endpoint.kind = PF_EP_UNIX;
    sc.endpoint.path = "app.sock";
    sc.groups = groups;
    sc.ngroups = 1;
    sc.accounts = accounts;
    sc.naccounts = 2;
    sc.clients = clients;
    sc.nclients = 3;
    sc.intended.mode = 0660;
    sc.intended.acl = acl;
    sc.intended.nacl = 3;
    sc.server.command = command;
    sc.server.ncommand = 8;
    memset(&run, 0, sizeof run);
    run.sc = &sc;
    strcpy(run.run_id, "a1b2c3");
    strcpy(run.workdir, "/tmp/pipefault-a1b2c3-x");
    run.fixture_dir = "/nonexistent";
}

START_TEST(plan_fills_placeholders)
{
    struct pf_plan p;
    char err[256];
    ck_assert_int_eq(pf_plan_build(&p, &run, "posix", err, sizeof err), 0);
    ck_assert_str_eq(p.endpoint, "/tmp/pipefault-a1b2c3-x/ep/app.sock");
    ck_assert_int_eq(p.argc, 8);
    ck_assert_str_eq(p.argv[1], "--sock=/tmp/pipefault-a1b2c3-x/ep/app.sock");
    ck_assert_str_eq(p.argv[3], "/tmp/pipefault-a1b2c3-x");
    ck_assert_str_eq(p.argv[5], "pfa1b2c3_alice");
    ck_assert_str_eq(p.argv[7], "pfa1b2c3_ops");
    ck_assert_ptr_null(p.argv[8]);
    pf_plan_free(&p);
}
END_TEST

START_TEST(plan_numbers_client_processes_per_account)
{
    struct pf_plan p;
    char err[256];
    ck_assert_int_eq(pf_plan_build(&p, &run, "posix", err, sizeof err), 0);
    ck_assert_int_eq(p.nclients, 4);
    ck_assert_str_eq(p.clients[0].label, "alice#1");
    ck_assert_str_eq(p.clients[1].label, "alice#2");
    ck_assert_str_eq(p.clients[2].label, "mallory#1");
    ck_assert_str_eq(p.clients[3].label, "alice#3");
    /* Every process draws from its own stream. */
    ck_assert(p.clients[0].seed != p.clients[1].seed);
    pf_plan_free(&p);
}
END_TEST

START_TEST(plan_abstract_names_are_unique_to_the_run)
{
    sc.endpoint.kind = PF_EP_ABSTRACT;
    struct pf_plan p;
    char err[256];
    ck_assert_int_eq(pf_plan_build(&p, &run, "posix", err, sizeof err), 0);
    ck_assert_str_eq(p.endpoint, "pipefault-a1b2c3-app.sock");
    ck_assert_str_eq(p.endpoint_dir, "");
    pf_plan_free(&p);
}
END_TEST

START_TEST(plan_unknown_placeholder)
{
    char *bad[] = {"/bin/srv", "{endpiont}"};
    sc.server.command = bad;
    sc.server.ncommand = 2;
    struct pf_plan p;
    char err[256];
    ck_assert_int_eq(pf_plan_build(&p, &run, "posix", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "unknown placeholder {endpiont}") != NULL, "%s", err);
}
END_TEST

START_TEST(plan_undeclared_account_in_placeholder)
{
    char *bad[] = {"/bin/srv", "{user:bob}"};
    sc.server.command = bad;
    sc.server.ncommand = 2;
    struct pf_plan p;
    char err[256];
    ck_assert_int_eq(pf_plan_build(&p, &run, "posix", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no account named 'bob'") != NULL, "%s", err);
}
END_TEST

START_TEST(plan_unterminated_brace)
{
    char *bad[] = {"/bin/srv", "{endpoint"};
    sc.server.command = bad;
    sc.server.ncommand = 2;
    struct pf_plan p;
    char err[256];
    ck_assert_int_eq(pf_plan_build(&p, &run, "posix", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "unterminated") != NULL, "%s", err);
}
END_TEST

START_TEST(plan_missing_fixture_names_it)
{
    sc.server.command = NULL;
    sc.server.ncommand = 0;
    sc.server.fixture = "nosuch";
    struct pf_plan p;
    char err[256];
    ck_assert_int_eq(pf_plan_build(&p, &run, "posix", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "server.fixture 'nosuch'") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "/nonexistent/posix/nosuch") != NULL, "%s", err);
}
END_TEST

START_TEST(plan_acl_entries_use_real_names)
{
    char err[256];
    char *a = pf_plan_acl_entries(&run, err, sizeof err);
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a, "user:pfa1b2c3_alice:rw-,group:pfa1b2c3_ops:r--,mask::rw-");
    free(a);
    char *bad[] = {"user:bob:rw-"};
    sc.intended.acl = bad;
    sc.intended.nacl = 1;
    ck_assert_ptr_null(pf_plan_acl_entries(&run, err, sizeof err));
    ck_assert_msg(strstr(err, "no account named 'bob'") != NULL, "%s", err);
}
END_TEST

/* ---- win32: the same plan, a pipe name and the Win32 fixture convention */

static void win32_setup(void)
{
    setup();
    sc.platform = PF_PLATFORM_WIN32;
    sc.endpoint.kind = PF_EP_NPIPE;
    sc.endpoint.path = "scripting";
    sc.intended.mode = -1;
    sc.intended.nacl = 0;
    sc.intended.sddl = "D:P(A;;GA;;;SY)";
}

START_TEST(plan_win32_pipe_name_is_unique_to_the_run)
{
    struct pf_plan p;
    char err[256];
    ck_assert_int_eq(pf_plan_build(&p, &run, "win32", err, sizeof err), 0);
    ck_assert_str_eq(p.endpoint, "\\\\.\\pipe\\pipefault-a1b2c3-scripting");
    ck_assert_str_eq(p.endpoint_dir, "");
    ck_assert_str_eq(p.argv[1], "--sock=\\\\.\\pipe\\pipefault-a1b2c3-scripting");
    pf_plan_free(&p);
}
END_TEST

START_TEST(plan_win32_numbers_client_processes_per_account)
{
    struct pf_plan p;
    char err[256];
    ck_assert_int_eq(pf_plan_build(&p, &run, "win32", err, sizeof err), 0);
    ck_assert_int_eq(p.nclients, 4);
    ck_assert_str_eq(p.clients[0].label, "alice#1");
    ck_assert_str_eq(p.clients[1].label, "alice#2");
    ck_assert_str_eq(p.clients[2].label, "mallory#1");
    /* The second `clients:` entry of alice goes on counting. */
    ck_assert_str_eq(p.clients[3].label, "alice#3");
    ck_assert_ptr_eq(p.clients[3].spec, &clients[2]);
    ck_assert(p.clients[0].seed != p.clients[3].seed);
    pf_plan_free(&p);
}
END_TEST

START_TEST(plan_win32_unknown_placeholder)
{
    char *bad[] = {"/srv/server.exe", "{pipe}"};
    sc.server.command = bad;
    sc.server.ncommand = 2;
    struct pf_plan p;
    char err[256];
    ck_assert_int_eq(pf_plan_build(&p, &run, "win32", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "unknown placeholder {pipe}") != NULL, "%s", err);
}
END_TEST

START_TEST(plan_win32_fixture_gets_pipe_and_sddl)
{
    /* A built fixture is NAME.exe in the programs directory, given as an
     * absolute platform directory. */
    char dir[] = "/tmp/pf-test-plan-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char exe[PATH_MAX];
    snprintf(exe, sizeof exe, "%s/sd_every.exe", dir);
    FILE *f = fopen(exe, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    char *extra[] = {"--verbose", "{rundir}"};
    sc.server.command = NULL;
    sc.server.ncommand = 0;
    sc.server.fixture = "sd_every";
    sc.server.args = extra;
    sc.server.nargs = 2;
    struct pf_plan p;
    char err[256];
    int rc = pf_plan_build(&p, &run, dir, err, sizeof err);
    unlink(exe);
    rmdir(dir);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_int_eq(p.argc, 5);
    ck_assert_str_eq(p.argv[0], exe);
    ck_assert_str_eq(p.argv[1], "\\\\.\\pipe\\pipefault-a1b2c3-scripting");
    ck_assert_str_eq(p.argv[2], "D:P(A;;GA;;;SY)");
    ck_assert_str_eq(p.argv[3], "--verbose");
    ck_assert_str_eq(p.argv[4], "/tmp/pipefault-a1b2c3-x");
    ck_assert_ptr_null(p.argv[5]);
    pf_plan_free(&p);
}
END_TEST

START_TEST(plan_win32_missing_fixture_names_the_exe)
{
    sc.server.command = NULL;
    sc.server.ncommand = 0;
    sc.server.fixture = "nosuch";
    struct pf_plan p;
    char err[256];
    ck_assert_int_eq(pf_plan_build(&p, &run, "win32", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "no such built Win32 fixture") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "/nonexistent/win32/nosuch.exe") != NULL, "%s", err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("plan");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, plan_fills_placeholders);
    tcase_add_test(tc, plan_numbers_client_processes_per_account);
    tcase_add_test(tc, plan_abstract_names_are_unique_to_the_run);
    tcase_add_test(tc, plan_unknown_placeholder);
    tcase_add_test(tc, plan_undeclared_account_in_placeholder);
    tcase_add_test(tc, plan_unterminated_brace);
    tcase_add_test(tc, plan_missing_fixture_names_it);
    tcase_add_test(tc, plan_acl_entries_use_real_names);
    suite_add_tcase(s, tc);
    TCase *win = tcase_create("win32");
    tcase_add_checked_fixture(win, win32_setup, NULL);
    tcase_add_test(win, plan_win32_pipe_name_is_unique_to_the_run);
    tcase_add_test(win, plan_win32_numbers_client_processes_per_account);
    tcase_add_test(win, plan_win32_unknown_placeholder);
    tcase_add_test(win, plan_win32_fixture_gets_pipe_and_sddl);
    tcase_add_test(win, plan_win32_missing_fixture_names_the_exe);
    suite_add_tcase(s, win);
    return pf_check_run(s);
}
