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

#include "checker.h"
#include "served_by.h"
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
    /* win32: the gap opens at the server's close of an instance. */
    sc = load("name: t\nplatform: win32\nserver: {fixture: f}\n"
              "accounts: [{name: alice, allowed: true}, {name: mallory}]\n"
              "clients: [{account: alice}]\nendpoint: {kind: npipe, path: p}\n"
              "intended: {sddl: \"D:(A;;GA;;;SY)\"}\n"
              "attackers: [{account: mallory, action: squat, when: in-gap}]\n"
              "expect: [server_refuses_squatted_name]\n", &err, path, sizeof path);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    ck_assert_uint_eq(sc->nfaults, 1);
    ck_assert_int_eq(sc->faults[0].op, PF_OP_CLOSE);
    ck_assert_int_eq(sc->faults[0].phase, PF_PHASE_AFTER);
    ck_assert_str_eq(sc->faults[0].until_event, PF_SQUAT_EVENT);
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

/* ---- judging ----------------------------------------------------------- */

static const char *const PLATFORM =
    "{\"t\":0,\"ev\":\"platform\",\"src\":\"harness\",\"os\":\"linux\","
    "\"single_account\":false,\"umask\":\"0022\",\"intended\":{\"mode\":\"0666\",\"uid\":0},"
    "\"default\":{\"mode\":\"0755\",\"uid\":0,\"gid\":0,\"acl_named\":[]}}";
#define BIRTH(id, t, key) "{\"t\":" #t ",\"ev\":\"instance_birth\",\"src\":\"observer\"," \
    "\"id\":" #id ",\"endpoint\":\"/x/ep/s\",\"key\":\"" key "\",\"evidence\":\"stat\"," \
    "\"perm\":{\"mode\":\"0666\",\"uid\":0,\"gid\":0,\"acl_named\":[]}}"
#define SQUAT(t, outcome, key) "{\"t\":" #t ",\"ev\":\"squat\",\"src\":\"attacker\"," \
    "\"account\":\"mallory\",\"action\":\"squat\",\"when\":\"before-server\",\"pid\":9," \
    "\"outcome\":\"" outcome "\",\"errno\":0,\"key\":" key "}"
#define ATTEMPT(t, outcome, key, by) "{\"t\":" #t ",\"t_end\":" #t ",\"ev\":\"attempt\"," \
    "\"src\":\"client\",\"client\":\"alice#1\",\"account\":\"alice\",\"pid\":7," \
    "\"op\":\"connect\",\"outcome\":\"" outcome "\",\"injected\":false,\"peer_key\":" key "," \
    "\"peer_pid\":9,\"served_by\":" by "}"

/* Judges one expectation on trace lines; returns its status and reason. */
static void judge(enum pf_expect e, enum pf_endpoint_kind kind, const char *const lines[],
                  char *status, char *reason)
{
    struct pf_account accounts[2] = {{.name = "alice", .allowed = true}, {.name = "mallory"}};
    struct pf_attacker attacker = {.account = "mallory", .gap_rule = -1};
    struct pf_scenario sc;
    memset(&sc, 0, sizeof sc);
    sc.name = "t";
    sc.file = "t.yaml";
    sc.accounts = accounts;
    sc.naccounts = 2;
    sc.attackers = &attacker;
    sc.nattackers = 1;
    sc.endpoint.kind = kind;
    sc.expect[e] = true;
    json_object *trace = json_object_new_array();
    for (size_t i = 0; lines[i]; i++) {
        json_object *o = json_tokener_parse(lines[i]);
        ck_assert_msg(o != NULL, "bad line %zu: %s", i, lines[i]);
        json_object_array_add(trace, o);
    }
    json_object *res = pf_check(&sc, trace), *exps, *x, *v;
    ck_assert(json_object_object_get_ex(res, "expectations", &exps));
    x = json_object_array_get_idx(exps, 0);
    ck_assert(json_object_object_get_ex(x, "status", &v));
    strcpy(status, json_object_get_string(v));
    ck_assert(json_object_object_get_ex(x, "reason", &v));
    snprintf(reason, 1024, "%s", json_object_get_string(v));
    json_object_put(res);
    json_object_put(trace);
}

START_TEST(reach_vacuous_without_admitted_attempts)
{
    char st[32], why[1024];
    const char *const lines[] = {PLATFORM, BIRTH(1, 10, "1:2"),
                                 ATTEMPT(20, "ECONNREFUSED", "null", "null"), NULL};
    judge(PF_EXPECT_CLIENTS_REACH_SERVER_ONLY, PF_EP_UNIX, lines, st, why);
    ck_assert_str_eq(st, "vacuous");
    ck_assert_msg(strstr(why, "no client attempt was admitted"), "%s", why);
}
END_TEST

START_TEST(reach_fails_on_attacker_held_on_server_vacuous_on_unknown)
{
    char st[32], why[1024];
    const char *const bad[] = {PLATFORM, BIRTH(1, 10, "1:2"),
                               ATTEMPT(20, "ok", "\"1:2\"", "\"server\""),
                               ATTEMPT(30, "ok", "null", "\"attacker:mallory\""), NULL};
    judge(PF_EXPECT_CLIENTS_REACH_SERVER_ONLY, PF_EP_UNIX, bad, st, why);
    ck_assert_str_eq(st, "failed");
    ck_assert_msg(strstr(why, "served by attacker:mallory (pid 9)"), "%s", why);
    const char *const good[] = {PLATFORM, BIRTH(1, 10, "1:2"),
                                ATTEMPT(20, "ok", "\"1:2\"", "\"server\""), NULL};
    judge(PF_EXPECT_CLIENTS_REACH_SERVER_ONLY, PF_EP_UNIX, good, st, why);
    ck_assert_str_eq(st, "held");
    const char *const fifo[] = {PLATFORM, BIRTH(1, 10, "1:2"),
                                ATTEMPT(20, "ok", "\"1:2\"", "\"unknown\""), NULL};
    judge(PF_EXPECT_CLIENTS_REACH_SERVER_ONLY, PF_EP_FIFO, fifo, st, why);
    ck_assert_str_eq(st, "vacuous");
    ck_assert_msg(strstr(why, "a FIFO has none"), "%s", why);
}
END_TEST

#define CMD_EXIT(t, pid, status) "{\"t\":" #t ",\"ev\":\"client_exit\",\"src\":\"harness\"," \
    "\"pid\":" #pid ",\"client\":\"alice#1\",\"account\":\"alice\",\"uid\":1001," \
    "\"status\":" #status ",\"signal\":null,\"stopped\":false}"
#define SQ_CONN(t, peer, pgid, bytes) "{\"t\":" #t ",\"ev\":\"squatter_connection\"," \
    "\"src\":\"attacker\",\"account\":\"mallory\",\"pid\":9,\"peer_pid\":" #peer "," \
    "\"peer_pgid\":" #pgid ",\"peer_uid\":1001,\"peer_account\":\"alice\"," \
    "\"bytes_received\":" #bytes "}"

/* Command clients: bytes sent to an attacker fail; reaching one, sending
 * nothing and exiting nonzero is a refusal (held); exit 0 with no attacker
 * connection is served by the server; nothing at all is vacuous. */
START_TEST(reach_judges_command_clients_from_exit_and_bytes_sent)
{
    char st[32], why[1024];
    const char *const sent[] = {PLATFORM, BIRTH(1, 10, "1:2"), SQ_CONN(20, 77, 77, 17),
                                CMD_EXIT(30, 77, 0), NULL};
    judge(PF_EXPECT_CLIENTS_REACH_SERVER_ONLY, PF_EP_UNIX, sent, st, why);
    ck_assert_str_eq(st, "failed");
    ck_assert_msg(strstr(why, "alice's client command alice#1 (pid 77) sent 17 bytes to "
                          "attacker:mallory"), "%s", why);
    /* a child of the program connected: matched by its process group */
    const char *const child[] = {PLATFORM, BIRTH(1, 10, "1:2"), SQ_CONN(20, 78, 77, 5),
                                 CMD_EXIT(30, 77, 1), NULL};
    judge(PF_EXPECT_CLIENTS_REACH_SERVER_ONLY, PF_EP_UNIX, child, st, why);
    ck_assert_str_eq(st, "failed");
    const char *const silent_ok[] = {PLATFORM, BIRTH(1, 10, "1:2"), SQ_CONN(20, 77, 77, 0),
                                     CMD_EXIT(30, 77, 0), NULL};
    judge(PF_EXPECT_CLIENTS_REACH_SERVER_ONLY, PF_EP_UNIX, silent_ok, st, why);
    ck_assert_str_eq(st, "failed");
    ck_assert_msg(strstr(why, "reached attacker:mallory and exited 0"), "%s", why);
    const char *const refused[] = {PLATFORM, BIRTH(1, 10, "1:2"), SQ_CONN(20, 77, 77, 0),
                                   CMD_EXIT(30, 77, 2), NULL};
    judge(PF_EXPECT_CLIENTS_REACH_SERVER_ONLY, PF_EP_UNIX, refused, st, why);
    ck_assert_str_eq(st, "held");
    ck_assert_msg(strstr(why, "1 client command reached an attacker, sent nothing and exited "
                          "nonzero"), "%s", why);
    const char *const served[] = {PLATFORM, BIRTH(1, 10, "1:2"), CMD_EXIT(30, 77, 0), NULL};
    judge(PF_EXPECT_CLIENTS_REACH_SERVER_ONLY, PF_EP_UNIX, served, st, why);
    ck_assert_str_eq(st, "held");
    ck_assert_msg(strstr(why, "no attacker connection recorded count as served by the "
                          "server"), "%s", why);
    /* another process's connection is not this client's */
    const char *const failed[] = {PLATFORM, BIRTH(1, 10, "1:2"), SQ_CONN(20, 5, 5, 9),
                                  CMD_EXIT(30, 77, 1), NULL};
    judge(PF_EXPECT_CLIENTS_REACH_SERVER_ONLY, PF_EP_UNIX, failed, st, why);
    ck_assert_str_eq(st, "vacuous");
}
END_TEST

START_TEST(owns_by_inode_the_attacker_made)
{
    char st[32], why[1024];
    const char *const bad[] = {PLATFORM, SQUAT(5, "ok", "\"1:9\""), BIRTH(1, 6, "1:9"),
                               ATTEMPT(20, "ok", "\"1:9\"", "\"unknown\""), NULL};
    judge(PF_EXPECT_SERVER_OWNS_ENDPOINT, PF_EP_UNIX, bad, st, why);
    ck_assert_str_eq(st, "failed");
    ck_assert_msg(strstr(why, "reached inode 1:9, made by attacker mallory"), "%s", why);
    const char *const good[] = {PLATFORM, SQUAT(5, "ok", "\"1:9\""), BIRTH(1, 6, "1:9"),
                                BIRTH(2, 8, "1:3"),
                                ATTEMPT(20, "ok", "\"1:3\"", "\"server\""), NULL};
    judge(PF_EXPECT_SERVER_OWNS_ENDPOINT, PF_EP_UNIX, good, st, why);
    ck_assert_str_eq(st, "held");
    const char *const none[] = {PLATFORM, BIRTH(1, 6, "1:3"),
                                ATTEMPT(20, "ok", "null", "\"unknown\""), NULL};
    judge(PF_EXPECT_SERVER_OWNS_ENDPOINT, PF_EP_UNIX, none, st, why);
    ck_assert_str_eq(st, "vacuous");
}
END_TEST

START_TEST(refuses_judged_only_when_the_name_was_held)
{
    char st[32], why[1024];
    const char *const refused[] = {PLATFORM, SQUAT(5, "EACCES", "null"), BIRTH(1, 6, "1:3"),
                                   ATTEMPT(20, "ok", "\"1:3\"", "\"server\""), NULL};
    judge(PF_EXPECT_SERVER_REFUSES_SQUATTED_NAME, PF_EP_UNIX, refused, st, why);
    ck_assert_str_eq(st, "vacuous");
    ck_assert_msg(strstr(why, "mallory could not take the name"), "%s", why);
    const char *const taken[] = {PLATFORM, SQUAT(5, "ok", "\"1:9\""), BIRTH(1, 6, "1:9"),
                                 BIRTH(2, 8, "1:3"),
                                 ATTEMPT(20, "ok", "\"1:3\"", "\"server\""), NULL};
    judge(PF_EXPECT_SERVER_REFUSES_SQUATTED_NAME, PF_EP_UNIX, taken, st, why);
    ck_assert_str_eq(st, "failed");
    ck_assert_msg(strstr(why, "made instance #2"), "%s", why);
    const char *const left[] = {PLATFORM, SQUAT(5, "ok", "\"1:9\""), BIRTH(1, 6, "1:9"),
                                ATTEMPT(20, "ok", "\"1:9\"", "\"attacker:mallory\""), NULL};
    judge(PF_EXPECT_SERVER_REFUSES_SQUATTED_NAME, PF_EP_UNIX, left, st, why);
    ck_assert_str_eq(st, "held");
}
END_TEST

/* A platform without FILE_FLAG_FIRST_PIPE_INSTANCE (as the Win32 probe
 * reports Wine 8), a squat that made the name or only joined, births that
 * did or did not ask to be first. */
#define PLATFORM_NOFIRST "{\"t\":0,\"ev\":\"platform\",\"src\":\"harness\"," \
    "\"os\":\"linux\",\"version\":\"Wine 8.0\",\"single_account\":false," \
    "\"first_pipe_instance_enforced\":false,\"umask\":\"0022\"," \
    "\"intended\":{\"mode\":\"0666\",\"uid\":0}," \
    "\"default\":{\"mode\":\"0755\",\"uid\":0,\"gid\":0,\"acl_named\":[]}}"
#define SQUAT_NAME(t, created) "{\"t\":" #t ",\"ev\":\"squat\",\"src\":\"attacker\"," \
    "\"account\":\"mallory\",\"action\":\"squat\",\"when\":\"before-server\",\"pid\":9," \
    "\"outcome\":\"ok\",\"errno\":0,\"key\":\"9:1\",\"created_name\":" created "}"
#define BIRTH_FIRST(id, t, key, first) "{\"t\":" #t ",\"ev\":\"instance_birth\"," \
    "\"src\":\"observer\",\"id\":" #id ",\"endpoint\":\"/x/ep/s\",\"key\":\"" key "\"," \
    "\"evidence\":\"stat\",\"first_pipe_instance\":" first "," \
    "\"perm\":{\"mode\":\"0666\",\"uid\":0,\"gid\":0,\"acl_named\":[]}}"

START_TEST(refuses_vacuous_where_first_instance_is_not_enforced)
{
    char st[32], why[1024];
    /* The server asked to be first; the platform let it join: cannot tell. */
    const char *const asked[] = {PLATFORM_NOFIRST, SQUAT_NAME(5, "true"),
                                 BIRTH_FIRST(1, 6, "3:1", "true"),
                                 BIRTH_FIRST(2, 8, "3:2", "false"),
                                 ATTEMPT(20, "ok", "\"3:1\"", "\"server\""), NULL};
    judge(PF_EXPECT_SERVER_REFUSES_SQUATTED_NAME, PF_EP_UNIX, asked, st, why);
    ck_assert_str_eq(st, "vacuous");
    ck_assert_msg(strstr(why, "asked for FILE_FLAG_FIRST_PIPE_INSTANCE on the name mallory "
                         "held; Wine 8.0 does not enforce the flag"), "%s", why);
    /* It never asked: joining the squatter's name is its own doing. */
    const char *const never[] = {PLATFORM_NOFIRST, SQUAT_NAME(5, "true"),
                                 BIRTH_FIRST(1, 6, "3:1", "false"),
                                 ATTEMPT(20, "ok", "\"3:1\"", "\"server\""), NULL};
    judge(PF_EXPECT_SERVER_REFUSES_SQUATTED_NAME, PF_EP_UNIX, never, st, why);
    ck_assert_str_eq(st, "failed");
    ck_assert_msg(strstr(why, "made instance #1"), "%s", why);
    /* Where the flag is enforced, a create that succeeded is judged as is. */
    const char *const enforced[] = {PLATFORM, SQUAT_NAME(5, "true"),
                                    BIRTH_FIRST(1, 6, "3:1", "true"),
                                    ATTEMPT(20, "ok", "\"3:1\"", "\"server\""), NULL};
    judge(PF_EXPECT_SERVER_REFUSES_SQUATTED_NAME, PF_EP_UNIX, enforced, st, why);
    ck_assert_str_eq(st, "failed");
    /* A squat that only joined the server's pipe never held the name. */
    const char *const joined[] = {PLATFORM_NOFIRST, BIRTH_FIRST(1, 4, "3:1", "true"),
                                  SQUAT_NAME(5, "false"), BIRTH_FIRST(2, 6, "3:2", "false"),
                                  ATTEMPT(20, "ok", "\"3:2\"", "\"server\""), NULL};
    judge(PF_EXPECT_SERVER_REFUSES_SQUATTED_NAME, PF_EP_UNIX, joined, st, why);
    ck_assert_str_eq(st, "vacuous");
    ck_assert_msg(strstr(why, "mallory only joined the pipe the server already had"), "%s",
                  why);
}
END_TEST

/* A run-server attacker on a single-account platform (Wine): its copy of the
 * server is the same account as the server. */
#define PLATFORM_ONE_ACCOUNT "{\"t\":0,\"ev\":\"platform\",\"src\":\"harness\"," \
    "\"os\":\"win32\",\"version\":\"Wine 8.0\",\"single_account\":true," \
    "\"umask\":\"0022\",\"intended\":{\"mode\":\"0666\",\"uid\":0}," \
    "\"default\":{\"mode\":\"0755\",\"uid\":0,\"gid\":0,\"acl_named\":[]}}"
#define RUN_SERVER(t) "{\"t\":" #t ",\"ev\":\"squat\",\"src\":\"attacker\"," \
    "\"account\":\"mallory\",\"action\":\"run-server\",\"when\":\"before-server\"," \
    "\"pid\":9,\"outcome\":\"ok\",\"errno\":0,\"key\":null,\"created_name\":null}"

START_TEST(run_server_on_one_account_never_holds)
{
    char st[32], why[1024];
    /* Served by the server only: the copy was the same account, so this
     * says nothing about a copy started by another: vacuous, with why. */
    const char *const served[] = {PLATFORM_ONE_ACCOUNT, RUN_SERVER(5), BIRTH(1, 6, "1:3"),
                                  ATTEMPT(20, "ok", "null", "\"server\""), NULL};
    judge(PF_EXPECT_CLIENTS_REACH_SERVER_ONLY, PF_EP_NPIPE, served, st, why);
    ck_assert_str_eq(st, "vacuous");
    ck_assert_msg(strstr(why, "single-account platform: mallory's copy of the server ran as "
                         "the same account"), "%s", why);
    judge(PF_EXPECT_SERVER_OWNS_ENDPOINT, PF_EP_NPIPE, served, st, why);
    ck_assert_str_eq(st, "vacuous");
    /* Served by the copy: that is evidence on any platform. */
    const char *const copy[] = {PLATFORM_ONE_ACCOUNT, RUN_SERVER(5), BIRTH(1, 6, "1:3"),
                                ATTEMPT(20, "ok", "null", "\"attacker:mallory\""), NULL};
    judge(PF_EXPECT_CLIENTS_REACH_SERVER_ONLY, PF_EP_NPIPE, copy, st, why);
    ck_assert_str_eq(st, "failed");
    /* With real accounts the same run holds. */
    const char *const real[] = {PLATFORM, RUN_SERVER(5), BIRTH(1, 6, "1:3"),
                                ATTEMPT(20, "ok", "null", "\"server\""), NULL};
    judge(PF_EXPECT_CLIENTS_REACH_SERVER_ONLY, PF_EP_NPIPE, real, st, why);
    ck_assert_str_eq(st, "held");
}
END_TEST

static bool same(long peer, long pid)
{
    return peer == pid;
}

START_TEST(served_by_maps_pids_to_parties)
{
    char buf[64];
    const struct pf_party parties[] = {{9, "mallory"}, {4, NULL}, {0, "eve"}};
    ck_assert_str_eq(pf_served_by(9, parties, 3, same, buf, sizeof buf), "attacker:mallory");
    ck_assert_str_eq(pf_served_by(4, parties, 3, same, buf, sizeof buf), "server");
    ck_assert_str_eq(pf_served_by(5, parties, 3, same, buf, sizeof buf), "unknown");
    /* No evidence, and a party not running, name nobody. */
    ck_assert_str_eq(pf_served_by(0, parties, 3, same, buf, sizeof buf), "unknown");
    /* An attacker is looked for first: a squatter the server started is not the server. */
    const struct pf_party both[] = {{4, NULL}, {4, "mallory"}};
    ck_assert_str_eq(pf_served_by(4, both, 2, same, buf, sizeof buf), "attacker:mallory");
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
    TCase *j = tcase_create("judge");
    tcase_add_test(j, reach_vacuous_without_admitted_attempts);
    tcase_add_test(j, reach_fails_on_attacker_held_on_server_vacuous_on_unknown);
    tcase_add_test(j, reach_judges_command_clients_from_exit_and_bytes_sent);
    tcase_add_test(j, owns_by_inode_the_attacker_made);
    tcase_add_test(j, refuses_judged_only_when_the_name_was_held);
    tcase_add_test(j, refuses_vacuous_where_first_instance_is_not_enforced);
    tcase_add_test(j, run_server_on_one_account_never_holds);
    tcase_add_test(j, served_by_maps_pids_to_parties);
    suite_add_tcase(s, j);
    return s;
}

int main(void)
{
    return pf_check_run(attackers_suite());
}
