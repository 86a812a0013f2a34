/* test_checker.c - classification and every expectation, on hand-made traces.
 *
 * Traces here are written the way the backends write them, so each test
 * states a history and asserts the verdict and its plain-words detail.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"
#include "check_run.h"

static struct pf_account accounts[] = {
    {.name = "alice", .allowed = true},
    {.name = "mallory", .allowed = false},
};

static struct pf_scenario make_scenario(enum pf_expect e)
{
    struct pf_scenario sc;
    memset(&sc, 0, sizeof sc);
    sc.name = "t";
    sc.file = "t.yaml";
    sc.accounts = accounts;
    sc.naccounts = 2;
    sc.expect[e] = true;
    return sc;
}

/* A linux platform event: intended 0660 root:ops(1001), default 0755 root:root. */
static const char *platform_linux =
    "{\"t\":0,\"ev\":\"platform\",\"src\":\"harness\",\"os\":\"linux\",\"single_account\":false,"
    "\"umask\":\"0022\",\"intended\":{\"mode\":\"0660\",\"uid\":0,\"gid\":1001,\"acl_named\":[]},"
    "\"default\":{\"mode\":\"0755\",\"uid\":0,\"gid\":0,\"acl_named\":[]}}";

#define PERM(mode, gid) \
    "{\"mode\":\"" mode "\",\"uid\":0,\"gid\":" #gid ",\"owner\":\"root\",\"group\":\"g\"," \
    "\"acl\":null,\"acl_named\":[]}"

static json_object *trace_of(const char *const lines[])
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; lines[i]; i++) {
        json_object *o = json_tokener_parse(lines[i]);
        ck_assert_msg(o != NULL, "bad test line %zu", i);
        json_object_array_add(arr, o);
    }
    return arr;
}

static json_object *expectation(json_object *res, int i)
{
    json_object *exps;
    ck_assert(json_object_object_get_ex(res, "expectations", &exps));
    return json_object_array_get_idx(exps, (size_t)i);
}

static const char *field(json_object *o, const char *k)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || !v)
        return NULL;
    return json_object_get_string(v);
}

static int held(json_object *res)
{
    json_object *v;
    ck_assert(json_object_object_get_ex(expectation(res, 0), "held", &v));
    return v ? json_object_get_boolean(v) : -1;
}

static json_object *instance(json_object *res, int i)
{
    json_object *a;
    ck_assert(json_object_object_get_ex(res, "instances", &a));
    return json_object_array_get_idx(a, (size_t)i);
}

static json_object *check_lines(enum pf_expect e, const char *const lines[])
{
    struct pf_scenario sc = make_scenario(e);
    json_object *trace = trace_of(lines);
    json_object *res = pf_check(&sc, trace);
    json_object_put(trace);
    return res;
}

START_TEST(perm_matches_only_reference_fields)
{
    json_object *perm = json_tokener_parse(PERM("0660", 1001));
    json_object *ref = json_tokener_parse("{\"mode\":\"0660\"}");
    ck_assert(pf_perm_matches(perm, ref));
    json_object_put(ref);
    ref = json_tokener_parse("{\"mode\":\"0660\",\"gid\":5}");
    ck_assert(!pf_perm_matches(perm, ref));
    json_object_put(ref);
    /* A reference with nothing to compare matches nothing. */
    ref = json_tokener_parse("{}");
    ck_assert(!pf_perm_matches(perm, ref));
    json_object_put(ref);
    json_object_put(perm);
    /* "No permissions at all" is never intended nor default. */
    perm = json_tokener_parse("{\"none\":true}");
    ref = json_tokener_parse("{\"mode\":\"0660\"}");
    ck_assert(!pf_perm_matches(perm, ref));
    json_object_put(ref);
    json_object_put(perm);
}
END_TEST

START_TEST(birth_default_fails_with_detail)
{
    const char *lines[] = {
        platform_linux,
        "{\"t\":1000,\"ev\":\"instance_birth\",\"id\":1,\"endpoint\":\"/x/s\",\"key\":\"1:2\","
        "\"evidence\":\"syscall\",\"umask\":\"0022\",\"perm\":" PERM("0755", 0) "}",
        "{\"t\":2000,\"ev\":\"instance_perm\",\"id\":1,\"evidence\":\"syscall\",\"perm\":" PERM("0660", 1001) "}",
        NULL};
    json_object *res = check_lines(PF_EXPECT_BIRTH_INTENDED, lines);
    ck_assert_str_eq(field(res, "verdict"), "fail");
    ck_assert_int_eq(held(res), 0);
    const char *d = field(expectation(res, 0), "detail");
    ck_assert_msg(strstr(d, "instance #1 was born with the default permissions (0755") != NULL, "%s", d);
    ck_assert_msg(strstr(d, "umask 0022") != NULL, "%s", d);
    ck_assert_str_eq(field(instance(res, 0), "birth_class"), "default");
    json_object_put(res);
}
END_TEST

START_TEST(birth_intended_holds)
{
    const char *lines[] = {
        platform_linux,
        "{\"t\":1000,\"ev\":\"instance_birth\",\"id\":1,\"endpoint\":\"/x/s\",\"key\":\"1:2\","
        "\"evidence\":\"syscall\",\"perm\":" PERM("0660", 1001) "}",
        "{\"t\":1500,\"ev\":\"instance_accepting\",\"id\":1,\"evidence\":\"listen\"}",
        "{\"t\":3000,\"t_end\":3100,\"ev\":\"attempt\",\"account\":\"alice\",\"outcome\":\"ok\"}",
        NULL};
    json_object *res = check_lines(PF_EXPECT_BIRTH_INTENDED, lines);
    ck_assert_str_eq(field(res, "verdict"), "pass");
    ck_assert_int_eq(held(res), 1);
    json_object_put(res);
}
END_TEST

START_TEST(other_class_is_neither)
{
    const char *lines[] = {
        platform_linux,
        "{\"t\":1000,\"ev\":\"instance_birth\",\"id\":1,\"endpoint\":\"/x/s\",\"key\":\"1:2\","
        "\"evidence\":\"stat\",\"perm\":" PERM("0600", 0) "}",
        NULL};
    json_object *res = check_lines(PF_EXPECT_NO_DEFAULT_INSTANCE, lines);
    ck_assert_str_eq(field(instance(res, 0), "birth_class"), "other");
    ck_assert_int_eq(held(res), 1);
    json_object_put(res);
}
END_TEST

START_TEST(accepting_before_secured_fails)
{
    const char *lines[] = {
        platform_linux,
        "{\"t\":1000,\"ev\":\"instance_birth\",\"id\":1,\"endpoint\":\"/x/s\",\"key\":\"1:2\","
        "\"evidence\":\"syscall\",\"perm\":" PERM("0755", 0) "}",
        "{\"t\":1500,\"ev\":\"instance_accepting\",\"id\":1,\"evidence\":\"listen\"}",
        "{\"t\":2000000,\"ev\":\"instance_perm\",\"id\":1,\"evidence\":\"syscall\",\"perm\":" PERM("0660", 1001) "}",
        NULL};
    json_object *res = check_lines(PF_EXPECT_INTENDED_BEFORE_ACCEPT, lines);
    ck_assert_int_eq(held(res), 0);
    const char *d = field(expectation(res, 0), "detail");
    ck_assert_msg(strstr(d, "instance #1 started accepting (listen") != NULL, "%s", d);
    ck_assert_msg(strstr(d, "with the default permissions (0755") != NULL, "%s", d);
    ck_assert_msg(strstr(d, "secured 1.998 ms later") != NULL, "%s", d);
    ck_assert_str_eq(field(instance(res, 0), "class_at_first_accept"), "default");
    json_object_put(res);
}
END_TEST

START_TEST(secured_before_accepting_holds)
{
    const char *lines[] = {
        platform_linux,
        "{\"t\":1000,\"ev\":\"instance_birth\",\"id\":1,\"endpoint\":\"/x/s\",\"key\":\"1:2\","
        "\"evidence\":\"syscall\",\"perm\":" PERM("0755", 0) "}",
        "{\"t\":2000,\"ev\":\"instance_perm\",\"id\":1,\"evidence\":\"syscall\",\"perm\":" PERM("0660", 1001) "}",
        "{\"t\":2000,\"ev\":\"instance_accepting\",\"id\":1,\"evidence\":\"listen\"}",
        NULL};
    json_object *res = check_lines(PF_EXPECT_INTENDED_BEFORE_ACCEPT, lines);
    ck_assert_int_eq(held(res), 1);
    ck_assert_str_eq(field(instance(res, 0), "class_at_first_accept"), "intended");
    json_object_put(res);
}
END_TEST

START_TEST(first_admitted_connect_counts_as_accepting)
{
    /* No listen seen: an admitted connect proves the instance accepted. */
    const char *lines[] = {
        platform_linux,
        "{\"t\":1000,\"ev\":\"instance_birth\",\"id\":1,\"endpoint\":\"/x/s\",\"key\":\"1:2\","
        "\"evidence\":\"stat\",\"perm\":" PERM("0755", 0) "}",
        "{\"t\":3000,\"t_end\":3100,\"ev\":\"attempt\",\"account\":\"alice\",\"outcome\":\"ok\","
        "\"peer_key\":\"1:2\"}",
        "{\"t\":9000,\"ev\":\"instance_perm\",\"id\":1,\"evidence\":\"stat\",\"perm\":" PERM("0660", 1001) "}",
        NULL};
    json_object *res = check_lines(PF_EXPECT_INTENDED_BEFORE_ACCEPT, lines);
    ck_assert_int_eq(held(res), 0);
    ck_assert_str_eq(field(instance(res, 0), "accepting_evidence"), "connect");
    json_object_put(res);
}
END_TEST

START_TEST(allowed_denied_by_accepting_instance_fails)
{
    const char *lines[] = {
        platform_linux,
        "{\"t\":1000,\"ev\":\"instance_birth\",\"id\":1,\"endpoint\":\"/x/s\",\"key\":\"1:2\","
        "\"evidence\":\"syscall\",\"perm\":" PERM("0755", 0) "}",
        "{\"t\":1500,\"ev\":\"instance_accepting\",\"id\":1,\"evidence\":\"listen\"}",
        "{\"t\":3000,\"t_end\":3100,\"ev\":\"attempt\",\"account\":\"alice\",\"outcome\":\"EACCES\"}",
        NULL};
    json_object *res = check_lines(PF_EXPECT_ALLOWED_NEVER_DENIED, lines);
    ck_assert_int_eq(held(res), 0);
    const char *d = field(expectation(res, 0), "detail");
    ck_assert_msg(strstr(d, "alice (allowed) was refused 1 time") != NULL, "%s", d);
    ck_assert_msg(strstr(d, "with EACCES by instance #1 while it had the default") != NULL, "%s", d);
    json_object_put(res);
}
END_TEST

START_TEST(refusal_before_accepting_is_not_denial)
{
    const char *lines[] = {
        platform_linux,
        "{\"t\":1000,\"ev\":\"instance_birth\",\"id\":1,\"endpoint\":\"/x/s\",\"key\":\"1:2\","
        "\"evidence\":\"syscall\",\"perm\":" PERM("0755", 0) "}",
        "{\"t\":1200,\"t_end\":1300,\"ev\":\"attempt\",\"account\":\"alice\",\"outcome\":\"EACCES\"}",
        "{\"t\":2000,\"ev\":\"instance_perm\",\"id\":1,\"evidence\":\"syscall\",\"perm\":" PERM("0660", 1001) "}",
        "{\"t\":2000,\"ev\":\"instance_accepting\",\"id\":1,\"evidence\":\"listen\"}",
        "{\"t\":3000,\"t_end\":3100,\"ev\":\"attempt\",\"account\":\"alice\",\"outcome\":\"ok\"}",
        NULL};
    json_object *res = check_lines(PF_EXPECT_ALLOWED_NEVER_DENIED, lines);
    ck_assert_int_eq(held(res), 1);
    json_object_put(res);
}
END_TEST

START_TEST(admitted_while_the_change_was_unseen_is_not_called_before_secured)
{
    /* The chmod to the intended mode was seen at 5000, and the old state was
     * last read at 3000: the attempt ending at 4100 may have met either
     * state and is not counted; the one ending at 2100 surely met the old. */
    const char *lines[] = {
        platform_linux,
        "{\"t\":1000,\"ev\":\"instance_birth\",\"id\":1,\"endpoint\":\"/x/s\",\"key\":\"1:2\","
        "\"evidence\":\"syscall\",\"umask\":\"0022\",\"perm\":" PERM("0755", 0) "}",
        "{\"t\":1500,\"ev\":\"instance_accepting\",\"id\":1,\"evidence\":\"listen\"}",
        "{\"t\":2000,\"t_end\":2100,\"ev\":\"attempt\",\"account\":\"alice\",\"outcome\":\"ok\","
        "\"peer_key\":\"1:2\"}",
        "{\"t\":4000,\"t_end\":4100,\"ev\":\"attempt\",\"account\":\"alice\",\"outcome\":\"ok\","
        "\"peer_key\":\"1:2\"}",
        "{\"t\":5000,\"ev\":\"instance_perm\",\"id\":1,\"evidence\":\"stat\",\"since\":3000,"
        "\"perm\":" PERM("0660", 1001) "}",
        NULL};
    json_object *res = check_lines(PF_EXPECT_BIRTH_INTENDED, lines);
    ck_assert_int_eq(held(res), 0);
    const char *d = field(expectation(res, 0), "detail");
    ck_assert_msg(strstr(d, "and accepted 1 connection before it was secured") != NULL, "%s", d);
    json_object *hist, *h, *v;
    ck_assert(json_object_object_get_ex(instance(res, 0), "history", &hist));
    h = json_object_array_get_idx(hist, 1);
    ck_assert(json_object_object_get_ex(h, "since_ns", &v));
    ck_assert_int_eq(json_object_get_int64(v), 3000);
    json_object_put(res);
}
END_TEST

START_TEST(others_admitted_fails)
{
    const char *lines[] = {
        platform_linux,
        "{\"t\":1000,\"ev\":\"instance_birth\",\"id\":1,\"endpoint\":\"/x/s\",\"key\":\"1:2\","
        "\"evidence\":\"syscall\",\"perm\":" PERM("0777", 0) "}",
        "{\"t\":1500,\"ev\":\"instance_accepting\",\"id\":1,\"evidence\":\"listen\"}",
        "{\"t\":3000,\"t_end\":3100,\"ev\":\"attempt\",\"account\":\"mallory\",\"outcome\":\"ok\","
        "\"peer_key\":\"1:2\"}",
        "{\"t\":4000,\"t_end\":4100,\"ev\":\"attempt\",\"account\":\"alice\",\"outcome\":\"ok\"}",
        NULL};
    json_object *res = check_lines(PF_EXPECT_OTHERS_NEVER_ADMITTED, lines);
    ck_assert_int_eq(held(res), 0);
    const char *d = field(expectation(res, 0), "detail");
    ck_assert_msg(strstr(d, "mallory (not allowed) was admitted 1 time") != NULL, "%s", d);
    ck_assert_msg(strstr(d, "other permissions (0777") != NULL, "%s", d);
    json_object *adm, *v;
    ck_assert(json_object_object_get_ex(instance(res, 0), "admitted", &adm));
    ck_assert(json_object_object_get_ex(adm, "mallory", &v));
    ck_assert_int_eq(json_object_get_int(v), 1);
    json_object_put(res);
}
END_TEST

START_TEST(single_account_platform_cannot_judge)
{
    const char *lines[] = {
        "{\"t\":0,\"ev\":\"platform\",\"os\":\"win32\",\"single_account\":true,"
        "\"intended\":{\"normalised\":\"D:(A;;FA;;;WD)\"},\"default\":{\"normalised\":\"D:\"}}",
        "{\"t\":3000,\"t_end\":3100,\"ev\":\"attempt\",\"account\":\"mallory\",\"outcome\":\"ok\"}",
        NULL};
    json_object *res = check_lines(PF_EXPECT_OTHERS_NEVER_ADMITTED, lines);
    ck_assert_int_eq(held(res), -1);
    ck_assert_str_eq(field(res, "verdict"), "skipped");
    ck_assert(strstr(field(expectation(res, 0), "detail"), "single-account platform") != NULL);
    json_object_put(res);
}
END_TEST

START_TEST(no_default_instance_fails_on_any_default_state)
{
    const char *lines[] = {
        platform_linux,
        "{\"t\":1000,\"ev\":\"instance_birth\",\"id\":1,\"endpoint\":\"/x/s\",\"key\":\"1:2\","
        "\"evidence\":\"syscall\",\"perm\":" PERM("0660", 1001) "}",
        "{\"t\":5000,\"ev\":\"instance_removed\",\"id\":1,\"evidence\":\"stat\"}",
        "{\"t\":6000,\"ev\":\"instance_birth\",\"id\":2,\"endpoint\":\"/x/s\",\"key\":\"1:3\","
        "\"evidence\":\"stat\",\"perm\":" PERM("0755", 0) "}",
        NULL};
    json_object *res = check_lines(PF_EXPECT_NO_DEFAULT_INSTANCE, lines);
    ck_assert_int_eq(held(res), 0);
    const char *d = field(expectation(res, 0), "detail");
    ck_assert_msg(strstr(d, "instance #2 had the default permissions") != NULL, "%s", d);
    ck_assert_msg(strstr(d, "instance #1") == NULL, "%s", d);
    json_object_put(res);
}
END_TEST

START_TEST(win32_lineage_shows_the_broken_chain)
{
    const char *lines[] = {
        "{\"t\":0,\"ev\":\"platform\",\"os\":\"win32\",\"single_account\":true,"
        "\"intended\":{\"normalised\":\"D:(A;;FA;;;WD)\"},\"default\":{\"normalised\":\"D:\"}}",
        "{\"t\":10,\"ev\":\"instance_birth\",\"id\":1,\"created_name\":true,\"perm\":{\"normalised\":\"D:(A;;FA;;;WD)\"}}",
        "{\"t\":20,\"ev\":\"instance_birth\",\"id\":2,\"created_name\":false,\"perm\":{\"normalised\":\"D:(A;;FA;;;WD)\"}}",
        "{\"t\":30,\"ev\":\"instance_removed\",\"id\":1}",
        "{\"t\":31,\"ev\":\"instance_removed\",\"id\":2}",
        "{\"t\":40,\"ev\":\"instance_birth\",\"id\":3,\"created_name\":true,\"perm\":{\"normalised\":\"D:\"}}",
        "{\"t\":50,\"ev\":\"instance_birth\",\"id\":4,\"created_name\":false,\"perm\":{\"normalised\":\"D:\"}}",
        NULL};
    json_object *res = check_lines(PF_EXPECT_BIRTH_INTENDED, lines);
    ck_assert_int_eq(held(res), 0);
    json_object *l, *v;
    ck_assert(json_object_object_get_ex(instance(res, 1), "lineage", &l));
    ck_assert_str_eq(field(l, "kind"), "inherited");
    ck_assert(json_object_object_get_ex(l, "from", &v));
    ck_assert_int_eq(json_object_get_int(v), 1);
    ck_assert(json_object_object_get_ex(instance(res, 2), "lineage", &l));
    ck_assert_str_eq(field(l, "kind"), "default");
    ck_assert(json_object_object_get_ex(instance(res, 3), "lineage", &l));
    ck_assert_str_eq(field(l, "kind"), "inherited");
    ck_assert(json_object_object_get_ex(l, "from", &v));
    ck_assert_int_eq(json_object_get_int(v), 3);
    ck_assert_str_eq(field(instance(res, 3), "birth_class"), "default");
    json_object_put(res);
}
END_TEST

START_TEST(faults_fired_are_counted_per_rule)
{
    struct pf_fault f[2];
    memset(f, 0, sizeof f);
    f[0].op = PF_OP_SECURE;
    f[0].action = PF_ACT_HOLD;
    f[0].target = "server";
    f[1].op = PF_OP_ACCEPT;
    f[1].action = PF_ACT_DELAY;
    f[1].target = "server";
    struct pf_scenario sc = make_scenario(PF_EXPECT_BIRTH_INTENDED);
    sc.faults = f;
    sc.nfaults = 2;
    const char *lines[] = {
        platform_linux,
        "{\"t\":1,\"ev\":\"fault\",\"rule\":0,\"decision\":\"held\"}",
        "{\"t\":2,\"ev\":\"fault\",\"rule\":0,\"decision\":\"released\"}",
        "{\"t\":3,\"ev\":\"fault\",\"rule\":1,\"decision\":\"skipped\"}",
        "{\"t\":4,\"ev\":\"fault\",\"rule\":1,\"decision\":\"delayed\"}",
        "{\"t\":5,\"ev\":\"fault\",\"rule\":1,\"decision\":\"delayed\"}",
        NULL};
    json_object *trace = trace_of(lines);
    json_object *res = pf_check(&sc, trace);
    json_object *faults, *v;
    ck_assert(json_object_object_get_ex(res, "faults", &faults));
    ck_assert(json_object_object_get_ex(json_object_array_get_idx(faults, 0), "fired", &v));
    ck_assert_int_eq(json_object_get_int(v), 1);
    ck_assert(json_object_object_get_ex(json_object_array_get_idx(faults, 1), "fired", &v));
    ck_assert_int_eq(json_object_get_int(v), 2);
    json_object_put(trace);
    json_object_put(res);
}
END_TEST

START_TEST(no_instance_is_not_judged)
{
    const char *lines[] = {platform_linux, NULL};
    json_object *res = check_lines(PF_EXPECT_BIRTH_INTENDED, lines);
    ck_assert_int_eq(held(res), -1);
    ck_assert_str_eq(field(expectation(res, 0), "status"), "vacuous");
    ck_assert_str_eq(field(expectation(res, 0), "reason"), "no instance on the endpoint was ever seen");
    ck_assert_str_eq(field(res, "verdict"), "inconclusive");
    ck_assert_str_eq(field(expectation(res, 0), "id"), "birth_intended");
    json_object_put(res);
}
END_TEST

#define BIRTH(t, id, key, perm) \
    "{\"t\":" #t ",\"ev\":\"instance_birth\",\"id\":" #id ",\"endpoint\":\"/x/s\",\"key\":\"" key "\"," \
    "\"evidence\":\"syscall\",\"perm\":" perm "}"
#define ACCEPTING(t, id) "{\"t\":" #t ",\"ev\":\"instance_accepting\",\"id\":" #id ",\"evidence\":\"listen\"}"
#define ATTEMPT(t, acct, outcome, extra) \
    "{\"t\":" #t ",\"t_end\":" #t ",\"ev\":\"attempt\",\"client\":\"" acct "#1\",\"account\":\"" acct \
    "\",\"outcome\":\"" outcome "\"" extra "}"

static json_object *attempt_of(json_object *res, int i)
{
    json_object *a;
    ck_assert(json_object_object_get_ex(res, "attempts", &a));
    return json_object_array_get_idx(a, (size_t)i);
}

START_TEST(allowed_never_reaching_accepting_is_vacuous)
{
    /* Every attempt refused before the instance listened: nothing was tested. */
    const char *lines[] = {platform_linux, BIRTH(1000, 1, "1:2", PERM("0660", 1001)),
        ATTEMPT(1200, "alice", "EACCES", ""), ATTEMPT(1300, "mallory", "EACCES", ""),
        ACCEPTING(5000, 1), NULL};
    json_object *res = check_lines(PF_EXPECT_ALLOWED_NEVER_DENIED, lines);
    ck_assert_int_eq(held(res), -1);
    ck_assert_str_eq(field(expectation(res, 0), "status"), "vacuous");
    const char *r = field(expectation(res, 0), "reason");
    ck_assert_msg(strstr(r, "no attempt of alice (allowed) reached a live, accepting instance") != NULL, "%s", r);
    ck_assert_str_eq(field(res, "verdict"), "inconclusive");
    ck_assert_msg(strstr(field(res, "reason"), "no client attempt reached") != NULL, "%s", field(res, "reason"));
    json_object_put(res);
}
END_TEST

START_TEST(others_never_reaching_accepting_is_vacuous)
{
    /* mallory refused only while not listening: others_never_admitted cannot hold. */
    const char *lines[] = {platform_linux, BIRTH(1000, 1, "1:2", PERM("0660", 1001)),
        ATTEMPT(1200, "mallory", "ECONNREFUSED", ""), ACCEPTING(5000, 1),
        ATTEMPT(6000, "alice", "ok", ",\"peer_key\":\"1:2\""), NULL};
    json_object *res = check_lines(PF_EXPECT_OTHERS_NEVER_ADMITTED, lines);
    ck_assert_str_eq(field(expectation(res, 0), "status"), "vacuous");
    ck_assert_str_eq(field(res, "verdict"), "inconclusive");
    json_object_put(res);
}
END_TEST

START_TEST(never_accepted_is_vacuous)
{
    const char *lines[] = {platform_linux, BIRTH(1000, 1, "1:2", PERM("0660", 1001)), NULL};
    json_object *res = check_lines(PF_EXPECT_INTENDED_BEFORE_ACCEPT, lines);
    ck_assert_str_eq(field(expectation(res, 0), "status"), "vacuous");
    ck_assert_str_eq(field(res, "verdict"), "inconclusive");
    json_object_put(res);
}
END_TEST

START_TEST(no_reach_is_never_pass)
{
    /* birth_intended holds, but no client ever met an accepting instance. */
    const char *lines[] = {platform_linux, BIRTH(1000, 1, "1:2", PERM("0660", 1001)),
        ATTEMPT(1200, "alice", "ENOENT", ""), NULL};
    json_object *res = check_lines(PF_EXPECT_BIRTH_INTENDED, lines);
    ck_assert_int_eq(held(res), 1);
    ck_assert_str_eq(field(res, "verdict"), "inconclusive");
    json_object_put(res);
}
END_TEST

START_TEST(attribution_by_evidence_only)
{
    /* Two instances overlap: an admitted attempt with no evidence stays
     * unknown (no time guess), a peer_key names its instance, a refusal
     * while exactly one instance was present is credited to it, and the
     * agent's instance is taken as it is. */
    const char *lines[] = {platform_linux, BIRTH(1000, 1, "1:2", PERM("0660", 1001)),
        ACCEPTING(1100, 1), ATTEMPT(1500, "mallory", "EACCES", ""),
        BIRTH(2000, 2, "1:3", PERM("0660", 1001)), ACCEPTING(2100, 2),
        ATTEMPT(3000, "alice", "ok", ""), ATTEMPT(3100, "alice", "ok", ",\"peer_key\":\"1:3\""),
        ATTEMPT(3200, "alice", "ok", ",\"instance\":1"), NULL};
    json_object *res = check_lines(PF_EXPECT_OTHERS_NEVER_ADMITTED, lines);
    ck_assert_str_eq(field(attempt_of(res, 0), "attribution"), "only-instance");
    ck_assert_str_eq(field(attempt_of(res, 0), "instance"), "1");
    ck_assert_str_eq(field(attempt_of(res, 1), "attribution"), "unknown");
    ck_assert(field(attempt_of(res, 1), "instance") == NULL);
    ck_assert_str_eq(field(attempt_of(res, 2), "attribution"), "peer");
    ck_assert_str_eq(field(attempt_of(res, 2), "instance"), "2");
    ck_assert_str_eq(field(attempt_of(res, 3), "attribution"), "agent");
    json_object *adm, *v;
    ck_assert(json_object_object_get_ex(instance(res, 1), "admitted", &adm));
    ck_assert(json_object_object_get_ex(adm, "alice", &v));
    ck_assert_int_eq(json_object_get_int(v), 1);
    ck_assert_str_eq(field(res, "verdict"), "pass");
    json_object_put(res);
}
END_TEST

START_TEST(admitted_without_evidence_does_not_make_accepting)
{
    /* An unattributed admitted attempt is no evidence for any one instance. */
    const char *lines[] = {platform_linux, BIRTH(1000, 1, "1:2", PERM("0755", 0)),
        ATTEMPT(3000, "alice", "ok", ""), NULL};
    json_object *res = check_lines(PF_EXPECT_INTENDED_BEFORE_ACCEPT, lines);
    ck_assert_str_eq(field(expectation(res, 0), "status"), "vacuous");
    ck_assert(field(instance(res, 0), "accepting_evidence") == NULL);
    json_object_put(res);
}
END_TEST

START_TEST(per_instance_default_from_birth)
{
    /* Born 0755 root:ops (gid 1001) is what the kernel gives this creator:
     * default for this instance, though not the platform's root:root. */
    const char *lines[] = {platform_linux,
        "{\"t\":1000,\"ev\":\"instance_birth\",\"id\":1,\"endpoint\":\"/x/s\",\"key\":\"1:2\","
        "\"evidence\":\"syscall\",\"perm\":" PERM("0755", 1001) ","
        "\"default\":{\"mode\":\"0755\",\"uid\":0,\"gid\":1001,\"acl_named\":[]}}",
        ACCEPTING(1100, 1), ATTEMPT(1200, "alice", "ok", ""), NULL};
    json_object *res = check_lines(PF_EXPECT_NO_DEFAULT_INSTANCE, lines);
    ck_assert_str_eq(field(instance(res, 0), "birth_class"), "default");
    ck_assert_int_eq(held(res), 0);
    json_object_put(res);
}
END_TEST

START_TEST(foreign_births_are_listed_not_judged)
{
    const char *lines[] = {platform_linux,
        "{\"t\":1000,\"ev\":\"instance_birth\",\"id\":1,\"endpoint\":\"\\\\\\\\.\\\\pipe\\\\other\","
        "\"key\":\"9\",\"foreign\":true,\"perm\":" PERM("0755", 0) "}",
        ACCEPTING(1100, 1), ATTEMPT(1200, "alice", "ERROR_FILE_NOT_FOUND", ""), NULL};
    json_object *res = check_lines(PF_EXPECT_BIRTH_INTENDED, lines);
    json_object *a;
    ck_assert(json_object_object_get_ex(res, "instances", &a));
    ck_assert_int_eq(json_object_array_length(a), 0);
    ck_assert(json_object_object_get_ex(res, "foreign_instances", &a));
    ck_assert_int_eq(json_object_array_length(a), 1);
    ck_assert_str_eq(field(expectation(res, 0), "status"), "vacuous");
    const char *r = field(expectation(res, 0), "reason");
    ck_assert_msg(strstr(r, "under another name") != NULL, "%s", r);
    ck_assert_str_eq(field(res, "verdict"), "inconclusive");
    json_object_put(res);
}
END_TEST

START_TEST(unfired_faults_warn_and_required_is_inconclusive)
{
    struct pf_fault f[2];
    memset(f, 0, sizeof f);
    f[0].op = PF_OP_SECURE;
    f[0].action = PF_ACT_HOLD;
    f[0].mark = (struct pf_mark){12, 5};
    f[1].op = PF_OP_ACCEPT;
    f[1].action = PF_ACT_DELAY;
    f[1].required = true;
    f[1].mark = (struct pf_mark){15, 5};
    struct pf_scenario sc = make_scenario(PF_EXPECT_BIRTH_INTENDED);
    sc.faults = f;
    sc.nfaults = 2;
    const char *lines[] = {platform_linux, "{\"t\":1,\"ev\":\"server_start\",\"pid\":5}",
        BIRTH(1000, 1, "1:2", PERM("0660", 1001)), ACCEPTING(1100, 1),
        ATTEMPT(1200, "alice", "ok", ""), NULL};
    json_object *trace = trace_of(lines);
    json_object *res = pf_check(&sc, trace);
    json_object *w;
    ck_assert(json_object_object_get_ex(res, "warnings", &w));
    ck_assert_int_eq(json_object_array_length(w), 2);
    const char *t0 = field(json_object_array_get_idx(w, 0), "text");
    ck_assert_msg(strstr(t0, "fault rule 0 (hold before secure, t.yaml:12:5) never fired") != NULL, "%s", t0);
    ck_assert_str_eq(field(res, "verdict"), "inconclusive");
    ck_assert_msg(strstr(field(res, "reason"), "fault rule 1") != NULL, "%s", field(res, "reason"));
    /* Not required: a warning only. */
    f[1].required = false;
    json_object_put(res);
    res = pf_check(&sc, trace);
    ck_assert_str_eq(field(res, "verdict"), "pass");
    json_object_put(trace);
    json_object_put(res);
}
END_TEST

START_TEST(many_instances_bad_one_last_fails)
{
    json_object *trace = json_object_new_array();
    json_object_array_add(trace, json_tokener_parse(platform_linux));
    char buf[512];
    for (int i = 1; i <= 5001; i++) {
        snprintf(buf, sizeof buf, "{\"t\":%d,\"ev\":\"instance_birth\",\"id\":%d,\"key\":\"1:%d\","
                 "\"perm\":%s}", i * 10, i, i, i == 5001 ? PERM("0777", 0) : PERM("0660", 1001));
        json_object_array_add(trace, json_tokener_parse(buf));
        snprintf(buf, sizeof buf, "{\"t\":%d,\"ev\":\"instance_removed\",\"id\":%d}", i * 10 + 5, i);
        if (i < 5001)
            json_object_array_add(trace, json_tokener_parse(buf));
    }
    json_object_array_add(trace, json_tokener_parse(ACCEPTING(60000, 5001)));
    json_object_array_add(trace, json_tokener_parse(ATTEMPT(60001, "alice", "ok", "")));
    struct pf_scenario sc = make_scenario(PF_EXPECT_BIRTH_INTENDED);
    json_object *res = pf_check(&sc, trace);
    ck_assert_str_eq(field(res, "verdict"), "fail");
    ck_assert_msg(strstr(field(expectation(res, 0), "detail"), "instance #5001") != NULL, "%s",
                  field(expectation(res, 0), "detail"));
    json_object_put(trace);
    json_object_put(res);
}
END_TEST

START_TEST(event_for_unborn_instance_is_an_error)
{
    const char *lines[] = {platform_linux, BIRTH(1000, 1, "1:2", PERM("0660", 1001)),
        ACCEPTING(1100, 7), NULL};
    json_object *res = check_lines(PF_EXPECT_BIRTH_INTENDED, lines);
    ck_assert_str_eq(field(res, "verdict"), "error");
    ck_assert_msg(strstr(field(res, "reason"), "instance #7") != NULL, "%s", field(res, "reason"));
    json_object_put(res);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("checker");
    TCase *tc = tcase_create("checker");
    tcase_add_test(tc, perm_matches_only_reference_fields);
    tcase_add_test(tc, birth_default_fails_with_detail);
    tcase_add_test(tc, birth_intended_holds);
    tcase_add_test(tc, other_class_is_neither);
    tcase_add_test(tc, accepting_before_secured_fails);
    tcase_add_test(tc, secured_before_accepting_holds);
    tcase_add_test(tc, first_admitted_connect_counts_as_accepting);
    tcase_add_test(tc, allowed_denied_by_accepting_instance_fails);
    tcase_add_test(tc, refusal_before_accepting_is_not_denial);
    tcase_add_test(tc, admitted_while_the_change_was_unseen_is_not_called_before_secured);
    tcase_add_test(tc, others_admitted_fails);
    tcase_add_test(tc, single_account_platform_cannot_judge);
    tcase_add_test(tc, no_default_instance_fails_on_any_default_state);
    tcase_add_test(tc, win32_lineage_shows_the_broken_chain);
    tcase_add_test(tc, faults_fired_are_counted_per_rule);
    tcase_add_test(tc, no_instance_is_not_judged);
    tcase_add_test(tc, allowed_never_reaching_accepting_is_vacuous);
    tcase_add_test(tc, others_never_reaching_accepting_is_vacuous);
    tcase_add_test(tc, never_accepted_is_vacuous);
    tcase_add_test(tc, no_reach_is_never_pass);
    tcase_add_test(tc, attribution_by_evidence_only);
    tcase_add_test(tc, admitted_without_evidence_does_not_make_accepting);
    tcase_add_test(tc, per_instance_default_from_birth);
    tcase_add_test(tc, foreign_births_are_listed_not_judged);
    tcase_add_test(tc, unfired_faults_warn_and_required_is_inconclusive);
    tcase_add_test(tc, many_instances_bad_one_last_fails);
    tcase_add_test(tc, event_for_unborn_instance_is_an_error);
    suite_add_tcase(s, tc);
    return pf_check_run(s);
}
