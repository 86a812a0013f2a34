/* test_attackers.c - the `attackers:` section, endpoint.dir_mode and the
 * expectations about attackers: what loads, the hold an in-gap squat adds,
 * and every refusal with its exact file:line:col.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario.h"
#include "check_run.h"

#define MS INT64_C(1000000)

static char tmpdir[64];

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/pf-test-attackers-XXXXXX");
    ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp: %s", strerror(errno));
}

static void remove_tmpdir(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/case.yaml", tmpdir);
    unlink(path);
    rmdir(tmpdir);
}

/* Loads text; returns the scenario, or NULL with the error in err. */
static struct pf_scenario *load(const char *text, struct pf_error *err, char *path, size_t n)
{
    snprintf(path, n, "%s/case.yaml", tmpdir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    ck_assert_int_eq(fclose(fp), 0);
    memset(err, 0, sizeof *err);
    return pf_scenario_load(path, err);
}

#define HEAD "name: t\nserver: {fixture: f}\n" \
    "accounts: [{name: alice, allowed: true}, {name: mallory}]\n" \
    "clients: [{account: alice}]\n"

START_TEST(squat_before_server_and_expectations)
{
    char path[128];
    struct pf_error err;
    struct pf_scenario *sc = load(HEAD
        "endpoint: {kind: unix, path: s, dir_mode: \"1777\"}\n"
        "attackers:\n"
        "  - account: mallory\n"
        "    action: squat\n"
        "expect: [clients_reach_server_only, server_owns_endpoint,\n"
        "         server_refuses_squatted_name]\n", &err, path, sizeof path);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    ck_assert_int_eq(sc->endpoint.dir_mode, 01777);
    ck_assert_uint_eq(sc->nattackers, 1);
    ck_assert_str_eq(sc->attackers[0].account, "mallory");
    ck_assert_int_eq(sc->attackers[0].action, PF_ATTACK_SQUAT);
    ck_assert_int_eq(sc->attackers[0].when, PF_ATTACK_BEFORE_SERVER);
    ck_assert_int_eq(sc->attackers[0].gap_rule, -1);
    ck_assert_int_eq(sc->attackers[0].mark.line, 7);
    ck_assert_uint_eq(sc->nfaults, 0);
    ck_assert(sc->expect[PF_EXPECT_CLIENTS_REACH_SERVER_ONLY]);
    ck_assert(sc->expect[PF_EXPECT_SERVER_OWNS_ENDPOINT]);
    ck_assert(sc->expect[PF_EXPECT_SERVER_REFUSES_SQUATTED_NAME]);
    ck_assert_str_eq(pf_expect_name(PF_EXPECT_SERVER_OWNS_ENDPOINT), "server_owns_endpoint");
    pf_scenario_free(sc);
}
END_TEST

START_TEST(in_gap_adds_a_required_hold_after_unlink)
{
    char path[128];
    struct pf_error err;
    struct pf_scenario *sc = load(HEAD
        "endpoint: {kind: fifo, path: f}\n"
        "server: {fixture: f, ready_timeout: 3s}\n"
        "attackers: [{account: mallory, action: squat, when: in-gap}]\n"
        "expect: [clients_reach_server_only]\n", &err, path, sizeof path);
    /* duplicate key: server given twice */
    ck_assert_ptr_null(sc);
    ck_assert_msg(strstr(err.msg, "case.yaml:6:1:") != NULL, "%s", err.msg);
    sc = load("name: t\nserver: {fixture: f, ready_timeout: 3s}\n"
        "accounts: [{name: alice, allowed: true}, {name: mallory}]\n"
        "clients: [{account: alice}]\n"
        "endpoint: {kind: fifo, path: f}\n"
        "attackers: [{account: mallory, action: squat, when: in-gap}]\n"
        "expect: [clients_reach_server_only]\n", &err, path, sizeof path);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    ck_assert_int_eq(sc->endpoint.dir_mode, -1);
    ck_assert_int_eq(sc->attackers[0].when, PF_ATTACK_IN_GAP);
    ck_assert_uint_eq(sc->nfaults, 1);
    ck_assert_int_eq(sc->attackers[0].gap_rule, 0);
    const struct pf_fault *f = &sc->faults[0];
    ck_assert_int_eq(f->op, PF_OP_UNLINK);
    ck_assert_int_eq(f->phase, PF_PHASE_AFTER);
    ck_assert_int_eq(f->action, PF_ACT_HOLD);
    ck_assert_str_eq(f->until_account, "mallory");
    ck_assert_str_eq(f->until_event, PF_SQUAT_EVENT);
    ck_assert_str_eq(f->target, "server");
    ck_assert(f->required);
    ck_assert_int_eq(f->when_first, 1);
    ck_assert_int_eq(f->when_step, 0);
    ck_assert(!f->when_onwards);
    ck_assert_int_eq(f->timeout_ns, 3000 * MS);
    pf_scenario_free(sc);
}
END_TEST

START_TEST(after_start_and_run_server)
{
    char path[128];
    struct pf_error err;
    struct pf_scenario *sc = load(HEAD
        "endpoint: {kind: abstract, path: a}\n"
        "attackers:\n"
        "  - {account: mallory, action: squat, when: {after-start: 250ms}}\n"
        "  - {account: alice, action: run-server}\n"
        "expect: [server_owns_endpoint]\n", &err, path, sizeof path);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    ck_assert_int_eq(sc->attackers[0].when, PF_ATTACK_AFTER_START);
    ck_assert_int_eq(sc->attackers[0].delay_ns, 250 * MS);
    ck_assert_int_eq(sc->attackers[1].action, PF_ATTACK_RUN_SERVER);
    ck_assert_int_eq(sc->attackers[1].when, PF_ATTACK_BEFORE_SERVER);
    pf_scenario_free(sc);
}
END_TEST

/* One refusal per rule, with the position it must name. */
static const struct {
    const char *text, *where, *words;
} refusals[] = {
    {HEAD "endpoint: {kind: unix, path: s}\nattackers: [{action: squat}]\n"
     "expect: [server_owns_endpoint]\n",
     ":6:13:", "missing required field 'account' in an attacker"},
    {HEAD "endpoint: {kind: unix, path: s}\nattackers: [{account: eve, action: squat}]\n"
     "expect: [server_owns_endpoint]\n",
     ":6:23:", "eve"},
    {HEAD "endpoint: {kind: unix, path: s}\nattackers: [{account: mallory, action: sniff}]\n"
     "expect: [server_owns_endpoint]\n",
     ":6:40:", "sniff"},
    {HEAD "endpoint: {kind: unix, path: s}\n"
     "attackers: [{account: mallory, action: squat, when: later}]\n"
     "expect: [server_owns_endpoint]\n",
     ":6:53:", "later"},
    {HEAD "endpoint: {kind: abstract, path: s}\n"
     "attackers: [{account: mallory, action: squat, when: in-gap}]\n"
     "expect: [server_owns_endpoint]\n",
     ":6:53:", "'in-gap' cannot happen for an abstract endpoint"},
    {HEAD "endpoint: {kind: unix, path: s}\n"
     "attackers: [{account: mallory, action: run-server, when: in-gap}]\n"
     "expect: [server_owns_endpoint]\n",
     ":6:58:", "only 'when: before-server'"},
    {HEAD "endpoint: {kind: unix, path: s}\n"
     "attackers: [{account: mallory, action: squat, when: after-start}]\n"
     "expect: [server_owns_endpoint]\n",
     ":6:53:", "'after-start' needs a delay"},
    {"name: t\nplatform: win32\nserver: {fixture: f}\n"
     "accounts: [{name: mallory}]\nendpoint: {kind: npipe, path: p}\n"
     "intended: {sddl: \"D:(A;;GA;;;SY)\"}\n"
     "attackers: [{account: mallory, action: run-server}]\n"
     "expect: [server_owns_endpoint]\n",
     ":7:40:", "not supported on win32"},
    {HEAD "endpoint: {kind: unix, path: s}\nexpect: [allowed_never_denied,\n"
     "  clients_reach_server_only]\n",
     ":7:3:", "needs an attacker"},
    {HEAD "endpoint: {kind: unix, path: s}\n"
     "attackers: [{account: mallory, action: squat, when: {after-start: 1s}}]\n"
     "expect: [server_refuses_squatted_name]\n",
     ":7:10:", "needs the name taken before"},
    {HEAD "endpoint: {kind: unix, path: s}\n"
     "attackers: [{account: mallory, action: squat}, {account: mallory, action: squat}]\n"
     "expect: [server_owns_endpoint]\n",
     ":6:48:", "already an attacker"},
    {HEAD "endpoint: {kind: unix, path: s}\nattackers: []\nexpect: [server_owns_endpoint]\n",
     ":6:12:", "'attackers' is empty"},
    {HEAD "endpoint: {kind: abstract, path: s, dir_mode: \"1777\"}\n"
     "expect: [allowed_never_denied]\n",
     ":5:47:", "a abstract endpoint has none"},
    {HEAD "endpoint: {kind: unix, path: s, dir_mode: 1777}\nexpect: [allowed_never_denied]\n",
     ":5:43:", "quoted octal string"},
    {HEAD "endpoint: {kind: unix, path: s, dir_mode: \"1787\"}\n"
     "expect: [allowed_never_denied]\n",
     ":5:43:", "dir_mode"},
    {HEAD "endpoint: {kind: unix, path: s, dir_mode: \"0077\"}\n"
     "expect: [allowed_never_denied]\n",
     ":5:43:", "gives the directory's owner no access"},
};

START_TEST(refused_with_position)
{
    char path[128];
    struct pf_error err;
    struct pf_scenario *sc = load(refusals[_i].text, &err, path, sizeof path);
    ck_assert_msg(sc == NULL, "case %d loaded", _i);
    ck_assert_msg(strstr(err.msg, refusals[_i].where) != NULL, "case %d: want %s in: %s", _i,
                  refusals[_i].where, err.msg);
    ck_assert_msg(strstr(err.msg, refusals[_i].words) != NULL, "case %d: want '%s' in: %s",
                  _i, refusals[_i].words, err.msg);
}
END_TEST

static Suite *attackers_suite(void)
{
    Suite *s = suite_create("attackers");
    TCase *t = tcase_create("load");
    tcase_add_unchecked_fixture(t, make_tmpdir, remove_tmpdir);
    tcase_add_test(t, squat_before_server_and_expectations);
    tcase_add_test(t, in_gap_adds_a_required_hold_after_unlink);
    tcase_add_test(t, after_start_and_run_server);
    tcase_add_loop_test(t, refused_with_position, 0,
                        (int)(sizeof refusals / sizeof refusals[0]));
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return pf_check_run(attackers_suite());
}
