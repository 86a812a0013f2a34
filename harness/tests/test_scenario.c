/* test_scenario.c - the scenario loader: every field of a valid file, the
 * defaults, and one case per error path with its exact file:line:col.
 *
 * Error cases are small YAML texts written to a private temp directory, so
 * that each case shows its input next to the position it must report.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "scenario.h"
#include "scenario_values.h"
#include "check_run.h"

#define DATA PF_TEST_DATA "/scenarios/"
#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)

static char tmpdir[] = "/tmp/pf-test-scenario-XXXXXX";

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/pf-test-scenario-XXXXXX");
    ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp: %s", strerror(errno));
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(tmpdir);
}

/* Writes text to <tmpdir>/<name>.yaml; the path goes to path. */
static void write_case(const char *name, const char *text, char *path,
                       size_t size)
{
    snprintf(path, size, "%s/%s.yaml", tmpdir, name);
    FILE *fp = fopen(path, "w");
    ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
    fputs(text, fp);
    ck_assert_int_eq(fclose(fp), 0);
}

static struct pf_scenario *load_data(const char *name)
{
    struct pf_error err = {{0}};
    char path[512];
    snprintf(path, sizeof path, DATA "%s", name);
    struct pf_scenario *sc = pf_scenario_load(path, &err);
    ck_assert_msg(sc != NULL, "%s did not load: %s", name, err.msg);
    return sc;
}

static struct pf_scenario *load_text(const char *text)
{
    char path[512];
    struct pf_error err = {{0}};
    write_case("valid", text, path, sizeof path);
    struct pf_scenario *sc = pf_scenario_load(path, &err);
    ck_assert_msg(sc != NULL, "did not load: %s", err.msg);
    unlink(path);
    return sc;
}

/* ---- valid files ----------------------------------------------------- */

#define MIN_VALID "name: t\nserver: {fixture: f}\n" \
    "endpoint: {kind: unix, path: sock}\nexpect: [allowed_never_denied]\n"

START_TEST(full_example_every_field)
{
    struct pf_scenario *sc = load_data("full.yaml");
    ck_assert_str_eq(sc->file, DATA "full.yaml");
    ck_assert_str_eq(sc->name, "full-example.v1");
    ck_assert_str_eq(sc->description, "Server binds, listens, then chmods.\n");
    ck_assert_int_eq(sc->platform, PF_PLATFORM_LINUX);

    ck_assert_ptr_null(sc->server.fixture);
    ck_assert_uint_eq(sc->server.ncommand, 3);
    ck_assert_str_eq(sc->server.command[0], "/usr/bin/my-server");
    ck_assert_str_eq(sc->server.command[1], "--socket");
    ck_assert_str_eq(sc->server.command[2], "{endpoint}");
    ck_assert_uint_eq(sc->server.nargs, 2);
    ck_assert_str_eq(sc->server.args[0], "--mode");
    ck_assert_str_eq(sc->server.args[1], "0660");
    ck_assert_int_eq(sc->server.umask, 027);
    ck_assert_int_eq(sc->server.timeout_ns, 1500 * MS);
    ck_assert_int_eq(sc->server.ready_timeout_ns, 250 * MS);

    ck_assert_int_eq(sc->endpoint.kind, PF_EP_FIFO);
    ck_assert_str_eq(sc->endpoint.path, "cmd.fifo");

    ck_assert_int_eq(sc->intended.mode, 0660);
    ck_assert_str_eq(sc->intended.owner, "alice");
    ck_assert_str_eq(sc->intended.group, "ops");
    ck_assert_uint_eq(sc->intended.nacl, 3);
    ck_assert_str_eq(sc->intended.acl[0], "user:alice:rw-");
    ck_assert_str_eq(sc->intended.acl[1], "group:ops:r--");
    ck_assert_str_eq(sc->intended.acl[2], "mask::rw-");
    ck_assert_ptr_null(sc->intended.sddl);

    ck_assert_uint_eq(sc->ngroups, 2);
    ck_assert_str_eq(sc->groups[0], "ops");
    ck_assert_str_eq(sc->groups[1], "audit");

    ck_assert_uint_eq(sc->naccounts, 3);
    ck_assert_str_eq(sc->accounts[0].name, "alice");
    ck_assert_uint_eq(sc->accounts[0].ngroups, 2);
    ck_assert_str_eq(sc->accounts[0].groups[0], "ops");
    ck_assert_str_eq(sc->accounts[0].groups[1], "audit");
    ck_assert(sc->accounts[0].allowed);
    ck_assert_str_eq(sc->accounts[1].name, "mallory");
    ck_assert_uint_eq(sc->accounts[1].ngroups, 0);
    ck_assert(!sc->accounts[1].allowed);
    ck_assert_str_eq(sc->accounts[2].name, "bob_2");
    ck_assert(!sc->accounts[2].allowed);

    ck_assert_uint_eq(sc->nclients, 2);
    ck_assert_str_eq(sc->clients[0].account, "alice");
    ck_assert_int_eq(sc->clients[0].count, 3);
    ck_assert_int_eq(sc->clients[0].attempts, 20);
    ck_assert_int_eq(sc->clients[0].interval_ns, 5 * MS);
    ck_assert_int_eq(sc->clients[0].start_ns, 40000);
    ck_assert_str_eq(sc->clients[1].account, "mallory");

    /* Every expectation but those about attackers (test_attackers.c). */
    for (int e = 0; e <= PF_EXPECT_NO_DEFAULT_INSTANCE; e++)
        ck_assert_msg(sc->expect[e], "expectation %d not set", e);

    ck_assert_uint_eq(sc->nfaults, 4);
    const struct pf_fault *f = &sc->faults[0];
    ck_assert_int_eq(f->mark.line, 50);
    ck_assert_int_eq(f->mark.col, 5);
    ck_assert_int_eq(f->op, PF_OP_SECURE);
    ck_assert_int_eq(f->phase, PF_PHASE_AFTER);
    ck_assert_int_eq(f->action, PF_ACT_HOLD);
    ck_assert_str_eq(f->until_account, "mallory");
    ck_assert_str_eq(f->until_event, "refused");
    ck_assert_int_eq(f->timeout_ns, 2 * SEC);
    ck_assert_int_eq(f->when_first, 2);
    ck_assert_int_eq(f->when_step, 3);
    ck_assert(!f->when_onwards);
    ck_assert_double_eq(f->probability, 0.25);
    ck_assert_str_eq(f->target, "server");
    ck_assert_ptr_null(f->err_name);

    f = &sc->faults[1];
    ck_assert_int_eq(f->mark.line, 57);
    ck_assert_int_eq(f->op, PF_OP_CREATE);
    ck_assert_int_eq(f->phase, PF_PHASE_BEFORE);
    ck_assert_int_eq(f->action, PF_ACT_DELAY);
    ck_assert_int_eq(f->delay_min_ns, 5 * MS);
    ck_assert_int_eq(f->delay_max_ns, 50 * MS);
    ck_assert_int_eq(f->when_first, 3);
    ck_assert_int_eq(f->when_step, 0);
    ck_assert(!f->when_onwards);
    ck_assert_ptr_null(f->until_account);

    f = &sc->faults[2];
    ck_assert_int_eq(f->op, PF_OP_LISTEN);
    ck_assert_int_eq(f->delay_min_ns, 20);
    ck_assert_int_eq(f->delay_max_ns, 20);
    ck_assert_int_eq(f->when_first, 4);
    ck_assert_int_eq(f->when_step, 1);
    ck_assert(f->when_onwards);
    ck_assert_str_eq(f->target, "server");

    f = &sc->faults[3];
    ck_assert_int_eq(f->op, PF_OP_OPEN);
    ck_assert_int_eq(f->action, PF_ACT_FAIL);
    ck_assert_int_eq(f->err, ENXIO);
    ck_assert_str_eq(f->err_name, "ENXIO");
    ck_assert_str_eq(f->target, "alice");

    ck_assert_ptr_eq(pf_scenario_account(sc, "mallory"), &sc->accounts[1]);
    ck_assert_ptr_null(pf_scenario_account(sc, "server"));
    pf_scenario_free(sc);
}
END_TEST

START_TEST(defaults)
{
    struct pf_scenario *sc = load_data("minimal.yaml");
    ck_assert_str_eq(sc->name, "minimal");
    ck_assert_ptr_null(sc->description);
    ck_assert_int_eq(sc->platform, PF_PLATFORM_LINUX);
    ck_assert_str_eq(sc->server.fixture, "chmod_after_listen");
    ck_assert_ptr_null(sc->server.command);
    ck_assert_uint_eq(sc->server.nargs, 0);
    ck_assert_int_eq(sc->server.umask, 022);
    ck_assert_int_eq(sc->server.timeout_ns, 10 * SEC);
    ck_assert_int_eq(sc->server.ready_timeout_ns, 5 * SEC);
    ck_assert_int_eq(sc->endpoint.kind, PF_EP_UNIX);
    ck_assert_int_eq(sc->intended.mode, -1);
    ck_assert_str_eq(sc->intended.owner, "server");
    ck_assert_ptr_null(sc->intended.group);
    ck_assert_uint_eq(sc->intended.nacl, 0);
    ck_assert_ptr_null(sc->intended.sddl);
    ck_assert_uint_eq(sc->ngroups, 0);
    ck_assert_uint_eq(sc->naccounts, 1);
    ck_assert(!sc->accounts[0].allowed);
    ck_assert_uint_eq(sc->accounts[0].ngroups, 0);
    ck_assert_uint_eq(sc->nclients, 1);
    ck_assert_int_eq(sc->clients[0].count, 1);
    ck_assert_int_eq(sc->clients[0].attempts, 10);
    ck_assert_int_eq(sc->clients[0].interval_ns, 10 * MS);
    ck_assert_int_eq(sc->clients[0].start_ns, 0);
    for (int e = 0; e < PF_EXPECT__COUNT; e++)
        ck_assert_int_eq(sc->expect[e], e == PF_EXPECT_ALLOWED_NEVER_DENIED);

    ck_assert_uint_eq(sc->nfaults, 2);
    const struct pf_fault *hold = &sc->faults[0], *delay = &sc->faults[1];
    ck_assert_int_eq(hold->phase, PF_PHASE_BEFORE);
    ck_assert_int_eq(hold->timeout_ns, 5 * SEC);
    ck_assert_int_eq(hold->when_first, 1);
    ck_assert(hold->when_onwards);
    ck_assert_int_eq(hold->when_step, 1);
    ck_assert_double_eq(hold->probability, 1.0);
    ck_assert_str_eq(hold->target, "server");
    ck_assert_str_eq(hold->until_event, "attempt");
    ck_assert_int_eq(delay->delay_min_ns, MS);
    ck_assert_int_eq(delay->delay_max_ns, MS);
    ck_assert_str_eq(delay->target, "alice");
    pf_scenario_free(sc);
}
END_TEST

START_TEST(win32_example)
{
    struct pf_scenario *sc = load_data("win32.yaml");
    ck_assert_int_eq(sc->platform, PF_PLATFORM_WIN32);
    ck_assert_int_eq(sc->endpoint.kind, PF_EP_NPIPE);
    ck_assert_str_eq(sc->endpoint.path, "pipefault-test");
    ck_assert_str_eq(sc->intended.sddl, "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GRGW;;;WD)");
    ck_assert_int_eq(sc->intended.mode, -1);
    ck_assert_uint_eq(sc->nfaults, 2);
    ck_assert_int_eq(sc->faults[0].err, 231);
    ck_assert_str_eq(sc->faults[0].err_name, "ERROR_PIPE_BUSY");
    ck_assert_int_eq(sc->faults[1].err, 5);
    ck_assert_str_eq(sc->faults[1].err_name, "ERROR_ACCESS_DENIED");
    pf_scenario_free(sc);
}
END_TEST

/* Sections may come in any order; references are resolved after reading. */
START_TEST(any_section_order)
{
    struct pf_scenario *sc = load_text(
        "faults:\n"
        "  - {at: connect, action: delay, delay: 1ms, target: bob}\n"
        "clients: [{account: bob}]\n"
        "intended: {mode: \"0600\", group: staff}\n"
        "accounts: [{name: bob, groups: [staff]}]\n"
        "groups: [staff]\n"
        "expect: [birth_intended]\n"
        "endpoint: {kind: abstract, path: \"@pf\"}\n"
        "server: {fixture: f, umask: \"0\"}\n"
        "name: t\n");
    ck_assert_int_eq(sc->endpoint.kind, PF_EP_ABSTRACT);
    ck_assert_int_eq(sc->intended.mode, 0600);
    ck_assert_int_eq(sc->server.umask, 0);
    ck_assert_str_eq(sc->faults[0].target, "bob");
    pf_scenario_free(sc);
}
END_TEST

/* The example in docs/scenario-format.md is a valid scenario. */
START_TEST(documented_example)
{
    const char *doc = PF_TEST_DATA "/../../../docs/scenario-format.md";
    FILE *fp = fopen(doc, "r");
    ck_assert_msg(fp != NULL, "%s: %s", doc, strerror(errno));
    static char text[64 * 1024];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[n] = '\0';
    char *start = strstr(text, "```yaml\n");
    ck_assert_ptr_nonnull(start);
    start += strlen("```yaml\n");
    char *end = strstr(start, "```");
    ck_assert_ptr_nonnull(end);
    *end = '\0';
    struct pf_scenario *sc = load_text(start);
    ck_assert_str_eq(sc->name, "chmod-after-listen");
    ck_assert_int_eq(sc->nfaults, 1);
    ck_assert_int_eq(sc->faults[0].action, PF_ACT_HOLD);
    pf_scenario_free(sc);
}
END_TEST

/* A FIFO server opens its endpoint: `open` may fault the server there. */
START_TEST(server_open_on_fifo)
{
    struct pf_scenario *sc = load_text(
        "name: t\nserver: {fixture: f}\nendpoint: {kind: fifo, path: f}\n"
        "expect: [allowed_never_denied]\n"
        "faults: [{at: open, action: fail, errno: EINTR}]\n");
    ck_assert_int_eq(sc->faults[0].op, PF_OP_OPEN);
    ck_assert_str_eq(sc->faults[0].target, "server");
    ck_assert_int_eq(sc->faults[0].err, EINTR);
    pf_scenario_free(sc);
}
END_TEST

START_TEST(until_denied)
{
    struct pf_scenario *sc = load_text(
        MIN_VALID
        "accounts: [{name: alice}]\n"
        "clients: [{account: alice}]\n"
        "faults:\n"
        "  - {at: accept, action: hold, until: {account: alice, event: denied}}\n");
    ck_assert_str_eq(sc->faults[0].until_account, "alice");
    ck_assert_str_eq(sc->faults[0].until_event, "denied");
    pf_scenario_free(sc);
}
END_TEST

START_TEST(value_forms)
{
    int64_t ns;
    ck_assert_ptr_null(pf_duration_parse("1.5ms", &ns));
    ck_assert_int_eq(ns, 1500000);
    ck_assert_ptr_null(pf_duration_parse("0.000000001s", &ns));
    ck_assert_int_eq(ns, 1);
    ck_assert_ptr_null(pf_duration_parse("250us", &ns));
    ck_assert_int_eq(ns, 250000);
    ck_assert_ptr_null(pf_duration_parse("0", &ns));
    ck_assert_int_eq(ns, 0);
    ck_assert_ptr_null(pf_duration_parse("9223372036854775807ns", &ns));
    ck_assert_int_eq(ns, INT64_MAX);
    ck_assert_ptr_nonnull(pf_duration_parse("9223372036854775808ns", &ns));
    ck_assert_ptr_nonnull(pf_duration_parse("9223372037s", &ns));
    ck_assert_ptr_nonnull(pf_duration_parse("1.ms", &ns));
    ck_assert_ptr_nonnull(pf_duration_parse(".5ms", &ns));
    ck_assert_ptr_nonnull(pf_duration_parse("1.5", &ns));
    ck_assert_ptr_nonnull(pf_duration_parse("", &ns));

    long first, step;
    bool onwards;
    ck_assert_ptr_null(pf_when_parse("7", &first, &step, &onwards));
    ck_assert(first == 7 && step == 0 && !onwards);
    ck_assert_ptr_null(pf_when_parse("2+", &first, &step, &onwards));
    ck_assert(first == 2 && step == 1 && onwards);
    ck_assert_ptr_null(pf_when_parse("1+3", &first, &step, &onwards));
    ck_assert(first == 1 && step == 3 && !onwards);
    ck_assert_ptr_nonnull(pf_when_parse("+3", &first, &step, &onwards));

    int mode;
    ck_assert_ptr_null(pf_octal_parse("07777", 07777, &mode));
    ck_assert_int_eq(mode, 07777);
    ck_assert_ptr_nonnull(pf_octal_parse("0777", 0666, &mode));
    ck_assert_ptr_nonnull(pf_octal_parse("", 0777, &mode));

    double p;
    ck_assert_ptr_null(pf_probability_parse("1e-3", &p));
    ck_assert_double_eq(p, 0.001);
    ck_assert_ptr_nonnull(pf_probability_parse("0x1p-1", &p));
    ck_assert_ptr_nonnull(pf_probability_parse("inf", &p));

    int v;
    static const char *const linux_names[] = {
        "EACCES", "EPERM", "ENOENT", "ECONNREFUSED", "EADDRINUSE", "ENXIO",
        "EINTR", "EIO", "ENOSPC", "EAGAIN", "EBUSY", "EINVAL", "EMFILE",
        "ENOTDIR", "EEXIST"};
    static const int linux_values[] = {
        EACCES, EPERM, ENOENT, ECONNREFUSED, EADDRINUSE, ENXIO, EINTR, EIO,
        ENOSPC, EAGAIN, EBUSY, EINVAL, EMFILE, ENOTDIR, EEXIST};
    for (size_t i = 0; i < sizeof linux_values / sizeof linux_values[0]; i++) {
        ck_assert_msg(pf_errno_lookup(PF_PLATFORM_LINUX, linux_names[i], &v),
                      "%s missing", linux_names[i]);
        ck_assert_int_eq(v, linux_values[i]);
        ck_assert_str_eq(pf_errno_name(PF_PLATFORM_LINUX, v), linux_names[i]);
    }
    static const struct { const char *name; int value; } win32[] = {
        {"ERROR_ACCESS_DENIED", 5},      {"ERROR_PIPE_BUSY", 231},
        {"ERROR_FILE_NOT_FOUND", 2},     {"ERROR_PIPE_NOT_CONNECTED", 233},
        {"ERROR_NO_DATA", 232},          {"ERROR_INVALID_PARAMETER", 87}};
    for (size_t i = 0; i < sizeof win32 / sizeof win32[0]; i++) {
        ck_assert(pf_errno_lookup(PF_PLATFORM_WIN32, win32[i].name, &v));
        ck_assert_int_eq(v, win32[i].value);
    }
    ck_assert(!pf_errno_lookup(PF_PLATFORM_WIN32, "EACCES", &v));
    ck_assert(!pf_errno_lookup(PF_PLATFORM_LINUX, "ERROR_PIPE_BUSY", &v));

    ck_assert_uint_eq(pf_edit_distance("kitten", "sitting", 5), 3);
    ck_assert_uint_eq(pf_edit_distance("kitten", "sitting", 2), 3);
    ck_assert_uint_eq(pf_edit_distance("", "ab", 2), 2);
    static const char *const keys[] = {"timeout", "ready_timeout", NULL};
    ck_assert_str_eq(pf_closest("timout", keys), "timeout");
    ck_assert_ptr_null(pf_closest("deadline", keys));
}
END_TEST

START_TEST(names)
{
    ck_assert_str_eq(pf_platform_name(PF_PLATFORM_LINUX), "linux");
    ck_assert_str_eq(pf_platform_name(PF_PLATFORM_WIN32), "win32");
    ck_assert_str_eq(pf_endpoint_kind_name(PF_EP_UNIX), "unix");
    ck_assert_str_eq(pf_endpoint_kind_name(PF_EP_FIFO), "fifo");
    ck_assert_str_eq(pf_endpoint_kind_name(PF_EP_ABSTRACT), "abstract");
    ck_assert_str_eq(pf_endpoint_kind_name(PF_EP_NPIPE), "npipe");
    ck_assert_str_eq(pf_expect_name(PF_EXPECT_BIRTH_INTENDED), "birth_intended");
    ck_assert_str_eq(pf_expect_name(PF_EXPECT_INTENDED_BEFORE_ACCEPT),
                     "intended_before_accept");
    ck_assert_str_eq(pf_expect_name(PF_EXPECT_ALLOWED_NEVER_DENIED),
                     "allowed_never_denied");
    ck_assert_str_eq(pf_expect_name(PF_EXPECT_OTHERS_NEVER_ADMITTED),
                     "others_never_admitted");
    ck_assert_str_eq(pf_expect_name(PF_EXPECT_NO_DEFAULT_INSTANCE),
                     "no_default_instance");
    ck_assert_str_eq(pf_expect_text(PF_EXPECT_BIRTH_INTENDED),
                     "every instance was born with the intended permissions");
    for (int e = 0; e < PF_EXPECT__COUNT; e++)
        ck_assert_msg(strlen(pf_expect_text((enum pf_expect)e)) > 20,
                      "no text for %d", e);
    static const char *const ops[] = {"create", "secure", "listen", "accept",
                                      "close", "unlink", "rename", "connect",
                                      "open"};
    for (int op = 0; op < PF_OP__COUNT; op++)
        ck_assert_str_eq(pf_fault_op_name((enum pf_fault_op)op), ops[op]);
    ck_assert_str_eq(pf_fault_phase_name(PF_PHASE_BEFORE), "before");
    ck_assert_str_eq(pf_fault_phase_name(PF_PHASE_AFTER), "after");
    ck_assert_str_eq(pf_fault_action_name(PF_ACT_DELAY), "delay");
    ck_assert_str_eq(pf_fault_action_name(PF_ACT_HOLD), "hold");
    ck_assert_str_eq(pf_fault_action_name(PF_ACT_FAIL), "fail");
    ck_assert_str_eq(pf_fault_op_name(PF_OP__COUNT), "?");
    ck_assert_str_eq(pf_expect_name(PF_EXPECT__COUNT), "?");
}
END_TEST

START_TEST(required_and_until_accepting)
{
    struct pf_scenario *sc = load_text(
        "name: t\nserver: {fixture: f}\nendpoint: {kind: unix, path: s}\n"
        "expect: [allowed_never_denied]\naccounts: [{name: alice}]\n"
        "clients:\n  - {account: alice, until: accepting}\n  - {account: alice}\n"
        "faults:\n  - {at: listen, action: delay, delay: 1ms, required: true}\n"
        "  - {at: listen, action: delay, delay: 1ms, required: false}\n"
        "  - {at: listen, action: delay, delay: 1ms}\n");
    ck_assert(sc->clients[0].until_accepting);
    ck_assert(!sc->clients[1].until_accepting);
    ck_assert(sc->faults[0].required);
    ck_assert(!sc->faults[1].required);
    ck_assert(!sc->faults[2].required);
    pf_scenario_free(sc);
}
END_TEST

/* Client protocols: defaults, and the bytes as YAML's escapes give them. */
START_TEST(client_protocols)
{
    struct pf_scenario *sc = load_text(
        "name: t\nserver: {fixture: f}\nendpoint: {kind: unix, path: s}\n"
        "expect: [allowed_never_denied]\naccounts: [{name: alice}]\n"
        "clients:\n  - {account: alice}\n  - {account: alice, protocol: connect}\n"
        "  - {account: alice, protocol: send, send: \"PING\\r\\n\", expect: \"+PONG\","
        " read_timeout: 250ms}\n"
        "  - {account: alice, protocol: send, send: \"\\x01\"}\n"
        "  - {account: alice, protocol: reply, read_timeout: 3s}\n");
    const struct pf_client *c = sc->clients;
    ck_assert_int_eq(c[0].protocol, PF_PROTO_REPLY);
    ck_assert_int_eq(c[0].read_timeout_ns, INT64_C(1000000000));
    ck_assert_ptr_null(c[0].send);
    ck_assert_ptr_null(c[0].expect);
    ck_assert_int_eq(c[1].protocol, PF_PROTO_CONNECT);
    ck_assert_int_eq(c[2].protocol, PF_PROTO_SEND);
    ck_assert_str_eq(c[2].send, "PING\r\n");
    ck_assert_str_eq(c[2].expect, "+PONG");
    ck_assert_int_eq(c[2].read_timeout_ns, INT64_C(250000000));
    ck_assert_str_eq(c[3].send, "\x01");
    ck_assert_ptr_null(c[3].expect);
    ck_assert_int_eq(c[4].protocol, PF_PROTO_REPLY);
    ck_assert_int_eq(c[4].read_timeout_ns, INT64_C(3000000000));
    ck_assert_str_eq(pf_client_protocol_name(PF_PROTO_SEND), "send");
    pf_scenario_free(sc);
}
END_TEST

/* Accepted edge cases of the new rules. */
START_TEST(placeholders_and_limits_accepted)
{
    struct pf_scenario *sc = load_text(
        "name: results.json.d\nserver: {command: [srv, \"{endpoint}\", "
        "\"{rundir}/x\", \"{user:alice}{group:ops}\"], timeout: 86400s}\n"
        "endpoint: {kind: unix, path: a..b}\nexpect: [allowed_never_denied]\n"
        "groups: [ops]\naccounts: [{name: alice}]\n");
    ck_assert_int_eq(sc->server.timeout_ns, 86400 * SEC);
    pf_scenario_free(sc);
}
END_TEST

/* Holds on create that can end: a later occurrence, after the call, or a
 * selection whose first call may come after the endpoint exists. */
START_TEST(hold_on_create_that_can_end)
{
    struct pf_scenario *sc = load_text(
        "name: t\nserver: {fixture: f}\nendpoint: {kind: unix, path: s}\n"
        "expect: [allowed_never_denied]\naccounts: [{name: alice}]\n"
        "clients: [{account: alice}]\nfaults:\n"
        "  - {at: create, when: \"2\", action: hold, until: {account: alice, event: attempt}}\n"
        "  - {at: create, phase: after, action: hold, until: {account: alice, event: attempt}}\n"
        "  - {at: create, thread: other, action: hold, until: {account: alice, event: attempt}}\n"
        "  - {at: secure, action: hold, until: {account: alice, event: attempt}}\n");
    ck_assert_uint_eq(sc->nfaults, 4);
    pf_scenario_free(sc);
}
END_TEST

/* The alias bomb of a security review: a 256 KiB scalar aliased until the
 * file is 852 KB. Refused by the expanded-size budget, at the anchor. */
START_TEST(alias_bomb)
{
    char path[600];
    struct pf_error err = {{0}};
    snprintf(path, sizeof path, "%s/bomb.yaml", tmpdir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("name: t\nendpoint: {kind: unix, path: s}\nexpect: [allowed_never_denied]\n"
          "server:\n  fixture: f\n  args: [&a \"", fp);
    for (int i = 0; i < 256 * 1024; i++)
        fputc('x', fp);
    fputs("\"", fp);
    for (long n = 256 * 1024; n < 852 * 1000; n += 4)
        fputs(", *a", fp);
    fputs("]\n", fp);
    ck_assert_int_eq(fclose(fp), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_ptr_null(pf_scenario_load(path, &err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    unlink(path);
    char want[700];
    snprintf(want, sizeof want, "%s:6:10: the scenario, with its aliases expanded, is "
             "larger than 4 MiB", path);
    ck_assert_str_eq(err.msg, want);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("alias bomb (852 KB) refused in %.3f s\n", s);
}
END_TEST

/* 200,000 levels of [[[[ (400 KB): libyaml alone would take minutes. */
START_TEST(deep_flow_nesting)
{
    char path[600];
    struct pf_error err = {{0}};
    snprintf(path, sizeof path, "%s/deep.yaml", tmpdir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    for (int i = 0; i < 200000; i++)
        fputc('[', fp);
    for (int i = 0; i < 200000; i++)
        fputc(']', fp);
    ck_assert_int_eq(fclose(fp), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_assert_ptr_null(pf_scenario_load(path, &err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    unlink(path);
    char want[700];
    snprintf(want, sizeof want, "%s:1:65: nested more than 64 levels deep: a scenario "
             "needs far fewer", path);
    ck_assert_str_eq(err.msg, want);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    ck_assert_msg(s < 1.0, "took %.3f s", s);
    printf("200k-deep nesting refused in %.3f s\n", s);
}
END_TEST

START_TEST(fifo_as_scenario_file)
{
    char path[600];
    struct pf_error err = {{0}};
    snprintf(path, sizeof path, "%s/fifo.yaml", tmpdir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ck_assert_ptr_null(pf_scenario_load(path, &err));
    unlink(path);
    char want[700];
    snprintf(want, sizeof want, "%s: not a regular file: a scenario must be a YAML file",
             path);
    ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(file_over_1mib)
{
    char path[600];
    struct pf_error err = {{0}};
    snprintf(path, sizeof path, "%s/big.yaml", tmpdir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    for (int i = 0; i < (1 << 20) / 8 + 1; i++)
        fputs("# 45678\n", fp);
    ck_assert_int_eq(fclose(fp), 0);
    ck_assert_ptr_null(pf_scenario_load(path, &err));
    unlink(path);
    char want[700];
    snprintf(want, sizeof want, "%s: too large for a scenario: 1048584 bytes (at most "
             "1 MiB, 1048576 bytes)", path);
    ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(missing_file)
{
    struct pf_error err = {{0}};
    ck_assert_ptr_null(pf_scenario_load(DATA "no-such-file.yaml", &err));
    ck_assert_str_eq(err.msg, DATA "no-such-file.yaml: cannot open: "
                              "No such file or directory");
}
END_TEST

START_TEST(free_null)
{
    pf_scenario_free(NULL);
}
END_TEST

/* ---- errors ------------------------------------------------------------ */

/* A valid scenario, four lines; cases append from line 5. */
#define NAME "name: t\n"
#define SERVER "server: {fixture: f}\n"
#define ENDPOINT "endpoint: {kind: unix, path: sock}\n"
#define EXPECT "expect: [allowed_never_denied]\n"
#define MIN NAME SERVER ENDPOINT EXPECT
/* Lines 5-12: a group, three accounts, clients for two of them. */
#define PEOPLE MIN                                          \
    "groups: [ops]\n"                                       \
    "accounts:\n"                                           \
    "  - {name: alice, groups: [ops], allowed: true}\n"     \
    "  - {name: mallory}\n"                                 \
    "  - {name: idle}\n"                                    \
    "clients:\n"                                            \
    "  - {account: alice}\n"                                \
    "  - {account: mallory}\n"
/* Line 13; the fault's mapping starts at 14:5, its keys at column 5. */
#define FAULT PEOPLE "faults:\n  - at: "
/* A win32 scenario, lines 1-5; cases append from line 6. */
#define W32 "name: t\nplatform: win32\nserver: {fixture: f}\n" \
    "endpoint: {kind: npipe, path: p}\n" EXPECT

struct error_case {
    const char *name;
    const char *yaml;
    const char *pos;      /* "line:col" */
    const char *message;  /* a part of the message that must be there */
};

static const struct error_case error_cases[] = {
    /* File-level. */
    {"syntax", "name: t\n  bad: x\n", "2:6",
     "YAML syntax error: mapping values are not allowed"},
    {"syntax_unclosed", "name: t\nserver: {fixture: f\n", "3:1",
     "YAML syntax error: did not find expected ',' or '}'"},
    {"tab_indent", "name: t\nserver:\n\tfixture: f\n", "3:1",
     "YAML syntax error"},
    {"bad_utf8", "name: t\xff\n", "1:8", "invalid"},
    {"empty_file", "", "1:1", "empty file"},
    {"only_comments", "# nothing here\n\n", "1:1", "empty file"},
    {"top_sequence", "- name: t\n", "1:1",
     "a scenario must be a mapping (name: ..., server: ..., endpoint: ...), "
     "not a sequence"},
    {"top_scalar", "hello\n", "1:1", "must be a mapping"},
    {"two_documents", MIN "---\nname: u\n", "6:1",
     "only one scenario per file"},

    /* Keys and types. */
    {"unknown_key_near", MIN "descripton: x\n", "5:1",
     "unknown key 'descripton' in the scenario (did you mean 'description'?)"},
    {"unknown_key_far", MIN "colour: red\n", "5:1",
     "unknown key 'colour' in the scenario (valid keys: name, description, "
     "platform, server"},
    {"unknown_key_nested", NAME "server:\n  fixture: f\n  umaks: \"022\"\n"
     ENDPOINT EXPECT, "4:3", "unknown key 'umaks' in server (did you mean 'umask'?)"},
    {"duplicate_key", MIN "name: u\n", "5:1",
     "duplicate key 'name' in the scenario (first at line 1)"},
    {"duplicate_nested", NAME "server: {fixture: f, fixture: g}\n" ENDPOINT
     EXPECT, "2:22", "duplicate key 'fixture' in server"},
    {"key_not_scalar", MIN "[a]: b\n", "5:1",
     "keys in the scenario must be names, not a sequence"},
    {"server_not_mapping", NAME "server: [f]\n" ENDPOINT EXPECT, "2:9",
     "'server' must be a mapping, not a sequence"},
    {"name_not_scalar", "name: {a: b}\n" SERVER ENDPOINT EXPECT, "1:7",
     "'name' must be a scalar, not a mapping"},
    {"null_value", MIN "description:\n", "5:13",
     "'description' must be a scalar, not empty"},
    {"groups_not_sequence", MIN "groups: ops\n", "5:9",
     "'groups' must be a sequence, not a scalar"},
    {"group_entry_null", MIN "groups: [ops, ~]\n", "5:15",
     "each entry of 'groups' must be a scalar, not empty"},

    /* Required fields, reported at the enclosing mapping. */
    {"missing_name", "# comment\n" SERVER ENDPOINT EXPECT, "2:1",
     "missing required field 'name' in the scenario"},
    {"missing_server", NAME ENDPOINT EXPECT, "1:1",
     "missing required field 'server' in the scenario"},
    {"missing_endpoint", NAME SERVER EXPECT, "1:1",
     "missing required field 'endpoint' in the scenario"},
    {"missing_expect", NAME SERVER ENDPOINT, "1:1",
     "missing required field 'expect' in the scenario"},
    {"missing_kind", NAME SERVER "endpoint:\n  path: sock\n" EXPECT, "4:3",
     "missing required field 'kind' in endpoint"},
    {"missing_path", NAME SERVER "endpoint: {kind: unix}\n" EXPECT, "3:11",
     "missing required field 'path' in endpoint"},
    {"missing_fixture_command", NAME "server: {args: [x]}\n" ENDPOINT EXPECT,
     "2:9", "missing required field 'fixture' or 'command' in server"},

    /* Top-level values. */
    {"bad_name", "name: a/b\n" SERVER ENDPOINT EXPECT, "1:7",
     "bad name 'a/b': use letters, digits, '.', '_' and '-' only"},
    {"name_dotdot", "name: ..\n" SERVER ENDPOINT EXPECT, "1:7", "bad name '..'"},
    {"name_too_long", "name: n1234567890123456789012345678901234567890123456789"
     "012345678901234567890123456789012345678901234567890\n" SERVER ENDPOINT
     EXPECT, "1:7", "name is too long (101 characters, at most 100)"},
    {"bad_platform", MIN "platform: linx\n", "5:11",
     "unknown platform 'linx' (did you mean 'linux'?); expected one of: "
     "linux, win32"},
    {"description_mapping", MIN "description: {a: b}\n", "5:14",
     "'description' must be a scalar"},

    /* Server. */
    {"fixture_and_command", NAME "server: {fixture: f, command: [x]}\n"
     ENDPOINT EXPECT, "2:22", "give either 'fixture' or 'command' in server, "
     "not both"},
    {"command_empty", NAME "server: {command: []}\n" ENDPOINT EXPECT, "2:19",
     "'command' must name a program"},
    {"command_not_list", NAME "server: {command: /bin/srv}\n" ENDPOINT EXPECT,
     "2:19", "'command' must be a sequence, not a scalar"},
    {"command_nested", NAME "server: {command: [[x]]}\n" ENDPOINT EXPECT,
     "2:20", "each entry of 'command' must be a scalar, not a sequence"},
    {"command_empty_program", NAME "server: {command: [\"\", x]}\n" ENDPOINT
     EXPECT, "2:20", "'command' starts with an empty program name"},
    {"fixture_charset", NAME "server: {fixture: ../x}\n" ENDPOINT EXPECT,
     "2:19", "bad fixture '../x'"},
    {"args_mapping", NAME "server: {fixture: f, args: {a: b}}\n" ENDPOINT
     EXPECT, "2:28", "'args' must be a sequence, not a mapping"},
    {"umask_too_big", NAME "server:\n  fixture: f\n  umask: \"1000\"\n"
     ENDPOINT EXPECT, "4:10", "bad umask '1000': greater than 0777"},
    {"umask_not_octal", NAME "server:\n  fixture: f\n  umask: \"0028\"\n"
     ENDPOINT EXPECT, "4:10", "bad umask '0028': 8 and 9 are not octal digits"},
    {"umask_garbage", NAME "server:\n  fixture: f\n  umask: u=rwx\n"
     ENDPOINT EXPECT, "4:10", "bad umask 'u=rwx': expected octal digits only"},
    {"timeout_zero", NAME "server:\n  fixture: f\n  timeout: 0s\n" ENDPOINT
     EXPECT, "4:12", "'timeout' must be longer than 0"},
    {"timeout_negative", NAME "server:\n  fixture: f\n  timeout: -1s\n"
     ENDPOINT EXPECT, "4:12", "bad duration '-1s' for 'timeout': durations "
     "cannot be negative"},
    {"timeout_no_unit", NAME "server:\n  fixture: f\n  timeout: 10\n"
     ENDPOINT EXPECT, "4:12", "bad duration '10' for 'timeout': expected a "
     "number and a unit"},
    {"timeout_space", NAME "server:\n  fixture: f\n  timeout: 10 ms\n"
     ENDPOINT EXPECT, "4:12", "bad duration '10 ms'"},
    {"timeout_bad_unit", NAME "server:\n  fixture: f\n  timeout: 10min\n"
     ENDPOINT EXPECT, "4:12", "bad duration '10min'"},
    {"timeout_overflow", NAME "server:\n  fixture: f\n  timeout: 9999999999s\n"
     ENDPOINT EXPECT, "4:12", "bad duration '9999999999s' for 'timeout': "
     "too large"},
    {"timeout_overflow_digits", NAME "server:\n  fixture: f\n"
     "  timeout: 99999999999999999999999ns\n" ENDPOINT EXPECT, "4:12",
     "too large"},
    {"duration_finer_than_ns", NAME "server:\n  fixture: f\n"
     "  ready_timeout: 1.5ns\n" ENDPOINT EXPECT, "4:18",
     "bad duration '1.5ns' for 'ready_timeout': finer than one nanosecond"},
    {"duration_too_many_decimals", NAME "server:\n  fixture: f\n"
     "  ready_timeout: 1.0000000001s\n" ENDPOINT EXPECT, "4:18",
     "more than 9 decimal places"},

    /* Endpoint. */
    {"bad_kind", NAME SERVER "endpoint: {kind: unx, path: s}\n" EXPECT,
     "3:18", "unknown endpoint kind 'unx' (did you mean 'unix'?); expected "
     "one of: unix, fifo, abstract, npipe"},
    {"npipe_on_linux", NAME SERVER "endpoint: {kind: npipe, path: p}\n"
     EXPECT, "3:18", "endpoint kind 'npipe' needs platform: win32"},
    {"unix_on_win32", "name: t\nplatform: win32\n" SERVER ENDPOINT EXPECT
     "intended: {sddl: \"D:(A;;GA;;;SY)\"}\n", "4:18",
     "endpoint kind 'unix' is not available on win32 (use npipe)"},
    {"path_absolute", NAME SERVER "endpoint: {kind: unix, path: /tmp/s}\n"
     EXPECT, "3:30", "'path' must be relative"},
    {"path_dotdot", NAME SERVER "endpoint: {kind: fifo, path: a/../../s}\n"
     EXPECT, "3:30", "no '..'"},
    {"path_empty", NAME SERVER "endpoint: {kind: unix, path: \"\"}\n" EXPECT,
     "3:30", "'path' must not be empty"},
    {"npipe_backslash", "name: t\nplatform: win32\n" SERVER
     "endpoint: {kind: npipe, path: 'a\\b'}\n" EXPECT, "4:31",
     "pipe name must not contain '\\'"},
    {"abstract_too_long", NAME SERVER "endpoint: {kind: abstract, path: "
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}\n"
     EXPECT, "3:34", "abstract socket name is too long"},

    /* Intended permissions. */
    {"mode_not_octal", MIN "intended: {mode: \"0968\"}\n", "5:18",
     "bad mode '0968': 8 and 9 are not octal digits"},
    {"mode_too_big", MIN "intended: {mode: \"10000\"}\n", "5:18",
     "bad mode '10000': greater than 07777"},
    {"mode_garbage", MIN "intended: {mode: rw-rw----}\n", "5:18",
     "bad mode 'rw-rw----'"},
    {"owner_undeclared", MIN "intended: {owner: bob}\n", "5:19",
     "intended owner 'bob' is not declared in 'accounts'"},
    {"group_undeclared", MIN "groups: [ops]\nintended: {group: opz}\n", "6:19",
     "intended group 'opz' is not declared in 'groups' (did you mean 'ops'?)"},
    {"sddl_on_linux", MIN "intended: {mode: \"0660\", sddl: \"D:\"}\n", "5:26",
     "intended.sddl is a win32 setting"},
    {"win32_missing_intended", W32, "1:1",
     "missing required field 'intended' in the scenario (win32 needs "
     "intended.sddl)"},
    {"win32_missing_sddl", W32 "intended: {}\n", "6:11",
     "missing required field 'sddl' in intended"},
    {"win32_mode", W32 "intended:\n  sddl: \"D:(A;;GA;;;SY)\"\n  mode: \"0600\"\n",
     "8:3", "intended.mode is a linux setting; on win32 give intended.sddl"},
    {"win32_acl", W32 "intended:\n  acl: []\n  sddl: \"D:(A;;GA;;;SY)\"\n",
     "7:3", "intended.acl is a linux setting"},
    {"sddl_without_dacl", W32 "intended: {sddl: \"O:BA\"}\n", "6:18",
     "intended.sddl must give a DACL"},
    {"acl_no_perms", PEOPLE "intended:\n  acl: [\"user:alice\"]\n", "14:9",
     "bad ACL entry 'user:alice': expected TYPE:NAME:PERMS"},
    {"acl_bad_perms", PEOPLE "intended:\n  acl: [\"user:alice:rw\"]\n", "14:9",
     "permissions must be three characters"},
    {"acl_bad_type", PEOPLE "intended:\n  acl: [\"usr:alice:rw-\"]\n", "14:9",
     "type must be user, group, mask or other"},
    {"acl_unknown_user", PEOPLE "intended:\n  acl: [\"user:alise:rw-\"]\n",
     "14:9", "ACL user 'alise' is not declared in 'accounts' (did you mean "
     "'alice'?)"},
    {"acl_unknown_group", PEOPLE "intended:\n  acl: [\"group:staff:r--\"]\n",
     "14:9", "ACL group 'staff' is not declared in 'groups'"},
    {"acl_mask_named", PEOPLE "intended:\n  acl: [\"mask:ops:rw-\"]\n",
     "14:9", "mask entries take no name"},

    /* Groups and accounts. */
    {"group_twice", MIN "groups: [ops, ops]\n", "5:15",
     "group 'ops' is declared twice"},
    {"group_uppercase", MIN "groups: [Ops]\n", "5:10",
     "bad group name 'Ops': use lowercase letters, digits, '_' and '-' only"},
    {"group_too_long", MIN "groups: [abcdefghijklmnopqrstu]\n", "5:10",
     "group name 'abcdefghijklmnopqrstu' is too long (21 characters, at "
     "most 20)"},
    {"account_too_long", MIN "accounts: [{name: abcdefghijklmnopqrstu}]\n",
     "5:19", "account name 'abcdefghijklmnopqrstu' is too long"},
    {"account_dot", MIN "accounts: [{name: a.b}]\n", "5:19",
     "bad account name 'a.b'"},
    {"account_twice", MIN "accounts:\n  - name: alice\n  - name: alice\n",
     "7:11", "account 'alice' is declared twice"},
    {"account_server", MIN "accounts: [{name: server}]\n", "5:19",
     "account name 'server' is reserved"},
    {"account_is_group", MIN "groups: [ops]\naccounts: [{name: ops}]\n",
     "6:19", "account 'ops' has the same name as a group"},
    {"account_group_undeclared", MIN "groups: [ops]\n"
     "accounts:\n  - name: alice\n    groups: [opz]\n", "8:14",
     "group 'opz' is not declared in 'groups' (did you mean 'ops'?)"},
    {"account_group_twice", MIN "groups: [ops]\n"
     "accounts:\n  - name: alice\n    groups: [ops, ops]\n", "8:19",
     "group 'ops' is listed twice"},
    {"account_not_mapping", MIN "accounts: [alice]\n", "5:12",
     "each entry of 'accounts' must be a mapping, not a scalar"},
    {"account_unknown_key", MIN "accounts:\n  - name: alice\n    allow: true\n",
     "7:5", "unknown key 'allow' in an account (did you mean 'allowed'?)"},
    {"account_missing_name", MIN "accounts:\n  - allowed: true\n", "6:5",
     "missing required field 'name' in an account"},
    {"allowed_not_bool", MIN "accounts:\n  - name: alice\n    allowed: yes\n",
     "7:14", "'allowed' must be true or false, not 'yes'"},

    /* Clients. */
    {"client_undeclared", MIN "accounts: [{name: alice}]\n"
     "clients: [{account: alic}]\n", "6:21",
     "client account 'alic' is not declared in 'accounts' (did you mean "
     "'alice'?)"},
    {"client_missing_account", PEOPLE "  - {count: 2}\n", "13:5",
     "missing required field 'account' in a client"},
    {"count_zero", PEOPLE "  - {account: alice, count: 0}\n", "13:29",
     "bad count '0': must be at least 1 (allowed: 1 to 64)"},
    {"count_too_big", PEOPLE "  - {account: alice, count: 65}\n", "13:29",
     "bad count '65': too large (allowed: 1 to 64)"},
    {"count_negative", PEOPLE "  - {account: alice, count: -1}\n", "13:29",
     "bad count '-1': must be positive"},
    {"count_garbage", PEOPLE "  - {account: alice, count: 3x}\n", "13:29",
     "bad count '3x': expected a whole number"},
    {"count_overflow", PEOPLE "  - {account: alice, count: "
     "99999999999999999999999}\n", "13:29", "too large"},
    {"attempts_too_big", PEOPLE "  - {account: alice, attempts: 100001}\n",
     "13:32", "bad attempts '100001': too large (allowed: 1 to 100000)"},
    {"interval_garbage", PEOPLE "  - {account: alice, interval: fast}\n",
     "13:32", "bad duration 'fast' for 'interval'"},
    {"start_negative", PEOPLE "  - {account: alice, start: -5ms}\n",
     "13:29", "bad duration '-5ms' for 'start': durations cannot be negative"},

    /* Expectations. */
    {"expect_unknown", NAME SERVER ENDPOINT "expect: [birth_intendd]\n", "4:10",
     "unknown expectation 'birth_intendd' (did you mean 'birth_intended'?)"},
    {"expect_twice", NAME SERVER ENDPOINT
     "expect: [allowed_never_denied, allowed_never_denied]\n", "4:32",
     "expectation 'allowed_never_denied' is listed twice"},
    {"expect_empty", NAME SERVER ENDPOINT "expect: []\n", "4:9",
     "'expect' must list at least one expectation"},
    {"expect_scalar", NAME SERVER ENDPOINT "expect: birth_intended\n", "4:9",
     "'expect' must be a sequence, not a scalar"},
    {"expect_needs_intended", NAME SERVER ENDPOINT
     "expect: [others_never_admitted, birth_intended]\n", "4:33",
     "expectation 'birth_intended' needs 'intended' permissions"},

    /* Faults: the fault mapping starts at 14:5. */
    {"fault_not_mapping", PEOPLE "faults: [create]\n", "13:10",
     "each entry of 'faults' must be a mapping, not a scalar"},
    {"fault_unknown_op", FAULT "creat\n    action: delay\n    delay: 1ms\n",
     "14:9", "unknown fault operation 'creat' (did you mean 'create'?)"},
    {"fault_missing_at", PEOPLE "faults:\n  - action: delay\n    delay: 1ms\n",
     "14:5", "missing required field 'at' in a fault"},
    {"fault_missing_action", FAULT "create\n    delay: 1ms\n", "14:5",
     "missing required field 'action' in a fault"},
    {"fault_bad_action", FAULT "create\n    action: sleep\n", "15:13",
     "unknown fault action 'sleep'; expected one of: delay, hold, fail"},
    {"fault_bad_phase", FAULT "create\n    phase: during\n    action: delay\n"
     "    delay: 1ms\n", "15:12", "unknown fault phase 'during'"},
    {"fault_unknown_key", FAULT "create\n    action: delay\n    dealy: 1ms\n",
     "16:5", "unknown key 'dealy' in a fault (did you mean 'delay'?)"},
    {"delay_missing", FAULT "create\n    action: delay\n", "14:5",
     "missing required field 'delay' in a fault"},
    {"delay_with_hold", FAULT "create\n    action: hold\n"
     "    until: {account: alice, event: attempt}\n    delay: 1ms\n", "17:5",
     "'delay' only applies to action: delay, not hold"},
    {"until_with_delay", FAULT "create\n    action: delay\n    delay: 1ms\n"
     "    until: {account: alice, event: attempt}\n", "17:5",
     "'until' only applies to action: hold, not delay"},
    {"timeout_with_fail", FAULT "create\n    action: fail\n    errno: EIO\n"
     "    timeout: 1s\n", "17:5",
     "'timeout' only applies to action: hold, not fail"},
    {"errno_with_delay", FAULT "create\n    action: delay\n    delay: 1ms\n"
     "    errno: EIO\n", "17:5", "'errno' only applies to action: fail, not delay"},
    {"until_missing", FAULT "create\n    action: hold\n    timeout: 1s\n",
     "14:5", "missing required field 'until' in a fault (a hold waits for an "
     "event; to wait a fixed time, use action: delay)"},
    {"errno_missing", FAULT "create\n    action: fail\n", "14:5",
     "missing required field 'errno' in a fault"},
    {"delay_three", FAULT "create\n    action: delay\n"
     "    delay: [1ms, 2ms, 3ms]\n", "16:12",
     "'delay' range must have exactly 2 durations, not 3"},
    {"delay_reversed", FAULT "create\n    action: delay\n"
     "    delay: [50ms, 5ms]\n", "16:12",
     "'delay' range [min, max] has min greater than max"},
    {"delay_mapping", FAULT "create\n    action: delay\n    delay: {min: 1ms}\n",
     "16:12", "'delay' must be a duration or a [min, max] pair, not a mapping"},
    {"delay_bad_element", FAULT "create\n    action: delay\n"
     "    delay: [1ms, soon]\n", "16:18", "bad duration 'soon' for 'delay'"},
    {"delay_negative", FAULT "create\n    action: delay\n    delay: -1ms\n",
     "16:12", "durations cannot be negative"},
    {"until_unknown_account", FAULT "secure\n    action: hold\n"
     "    until: {account: bob, event: attempt}\n", "16:22",
     "until account 'bob' is not declared in 'accounts'"},
    {"until_account_without_client", FAULT "secure\n    action: hold\n"
     "    until: {account: idle, event: attempt}\n", "16:22",
     "until account 'idle' has no entry in 'clients', so it never connects"},
    {"until_bad_event", FAULT "secure\n    action: hold\n"
     "    until: {account: alice, event: connect}\n", "16:36",
     "unknown until event 'connect'; expected one of: attempt, admitted, "
     "refused, denied"},
    {"until_missing_event", FAULT "secure\n    action: hold\n"
     "    until: {account: alice}\n", "16:12",
     "missing required field 'event' in until"},
    {"until_not_mapping", FAULT "secure\n    action: hold\n    until: alice\n",
     "16:12", "'until' must be a mapping, not a scalar"},
    {"until_unknown_key", FAULT "secure\n    action: hold\n"
     "    until: {acount: alice, event: attempt}\n", "16:13",
     "unknown key 'acount' in until (did you mean 'account'?)"},
    {"hold_timeout_zero", FAULT "secure\n    action: hold\n"
     "    until: {account: alice, event: attempt}\n    timeout: 0ms\n", "17:14",
     "'timeout' must be longer than 0"},
    {"errno_unknown_near", FAULT "create\n    action: fail\n    errno: EACCESS\n",
     "16:12", "unknown errno 'EACCESS' (did you mean 'EACCES'?)"},
    {"process_bad", FAULT "create\n    action: delay\n    delay: 1ms\n    process: parent\n",
     "17:14", "process"},
    {"fail_after", FAULT "create\n    phase: after\n    action: fail\n    errno: EACCES\n",
     "15:12", "phase: after cannot go with action: fail"},
    {"errno_unknown_far", FAULT "create\n    action: fail\n    errno: EWHATEVER\n",
     "16:12", "unknown errno 'EWHATEVER'"},
    {"errno_win32_on_linux", FAULT "create\n    action: fail\n"
     "    errno: ERROR_ACCESS_DENIED\n", "16:12",
     "'ERROR_ACCESS_DENIED' is a Win32 error; linux faults take errno names"},
    {"errno_linux_on_win32", W32 "intended: {sddl: \"D:(A;;GA;;;SY)\"}\n"
     "faults:\n  - {at: create, action: fail, errno: EACCES}\n", "8:39",
     "'EACCES' is not a Win32 error name"},
    {"errno_win32_near", W32 "intended: {sddl: \"D:(A;;GA;;;SY)\"}\n"
     "faults:\n  - {at: create, action: fail, errno: ERROR_PIPE_BUSSY}\n",
     "8:39", "unknown Win32 error 'ERROR_PIPE_BUSSY' (did you mean "
     "'ERROR_PIPE_BUSY'?)"},
    {"when_zero", FAULT "create\n    action: delay\n    delay: 1ms\n"
     "    when: \"0\"\n", "17:11", "bad when '0': occurrences count from 1"},
    {"when_step_zero", FAULT "create\n    action: delay\n    delay: 1ms\n"
     "    when: \"1+0\"\n", "17:11", "bad when '1+0': the step must be at least 1"},
    {"when_garbage", FAULT "create\n    action: delay\n    delay: 1ms\n"
     "    when: first\n", "17:11", "bad when 'first': expected \"N\", \"N+\" "
     "or \"N+S\""},
    {"when_trailing", FAULT "create\n    action: delay\n    delay: 1ms\n"
     "    when: 1+2+\n", "17:11", "bad when '1+2+'"},
    {"when_negative", FAULT "create\n    action: delay\n    delay: 1ms\n"
     "    when: \"-1\"\n", "17:11", "bad when '-1'"},
    {"probability_above_one", FAULT "create\n    action: delay\n"
     "    delay: 1ms\n    probability: 1.5\n", "17:18",
     "bad probability '1.5': must be between 0 and 1"},
    {"probability_negative", FAULT "create\n    action: delay\n"
     "    delay: 1ms\n    probability: -0.1\n", "17:18",
     "bad probability '-0.1': must be between 0 and 1"},
    {"probability_nan", FAULT "create\n    action: delay\n"
     "    delay: 1ms\n    probability: .nan\n", "17:18",
     "bad probability '.nan': expected a number from 0 to 1"},
    {"probability_garbage", FAULT "create\n    action: delay\n"
     "    delay: 1ms\n    probability: half\n", "17:18", "bad probability 'half'"},
    {"connect_without_target", FAULT "connect\n    action: delay\n"
     "    delay: 1ms\n", "14:5", "missing required field 'target' in a fault: "
     "'connect' happens in a client"},
    {"connect_targets_server", FAULT "connect\n    action: delay\n"
     "    delay: 1ms\n    target: server\n", "17:13",
     "'connect' happens in a client: target must be a client account, not "
     "'server'"},
    {"open_unknown_target", FAULT "open\n    action: delay\n"
     "    delay: 1ms\n    target: bob\n", "17:13",
     "target account 'bob' is not declared in 'accounts'"},
    {"open_target_without_client", FAULT "open\n    action: delay\n"
     "    delay: 1ms\n    target: idle\n", "17:13",
     "target account 'idle' has no entry in 'clients'"},
    {"server_open_on_socket", FAULT "open\n    action: delay\n"
     "    delay: 1ms\n", "14:9", "the server opens only fifo endpoints"},
    {"client_open_on_socket", FAULT "open\n    action: delay\n"
     "    delay: 1ms\n    target: alice\n", "14:9",
     "clients connect to a unix socket, they do not open it: use at: connect"},
    {"client_connect_on_fifo", NAME SERVER "endpoint: {kind: fifo, path: f}\n"
     EXPECT "accounts: [{name: alice}]\nclients: [{account: alice}]\n"
     "faults: [{at: connect, action: delay, delay: 1ms, target: alice}]\n",
     "7:15", "clients open a fifo, they do not connect: use at: open"},
    {"server_op_targets_account", FAULT "listen\n    action: delay\n"
     "    delay: 1ms\n    target: alice\n", "17:13",
     "'listen' happens in the server: target must be 'server', not 'alice'"},
    {"required_not_bool", FAULT "create\n    action: delay\n"
     "    delay: 1ms\n    required: yes\n", "17:15",
     "'required' must be true or false, not 'yes'"},
    {"client_until_unknown", PEOPLE "  - {account: idle, until: accepted}\n",
     "13:28", "unknown until value 'accepted'; expected one of: accepting"},
    {"path_subdirectory", NAME SERVER "endpoint: {kind: unix, path: run/app.sock}\n"
     EXPECT, "3:30", "'path' 'run/app.sock' has a directory component: "
     "subdirectories of the run's endpoint directory are not supported"},
    {"name_results_json", "name: results.json\n" SERVER ENDPOINT EXPECT, "1:7",
     "scenario name 'results.json' is the name of a file in the run's store"},
    {"name_latest", "name: latest\n" SERVER ENDPOINT EXPECT, "1:7",
     "scenario name 'latest' is the name of a file"},
    {"name_hidden", "name: .x\n" SERVER ENDPOINT EXPECT, "1:7",
     "scenario name '.x' must not start with '.'"},
    {"placeholder_unknown", NAME "server: {command: [srv, \"--at={endpont}\"]}\n"
     ENDPOINT EXPECT, "2:25", "unknown placeholder {endpont} in \"--at={endpont}\" "
     "(known: {endpoint} {rundir} {user:NAME} {group:NAME} {fixture:NAME}; {{ is a literal {)"},
    {"command_client_attempts", NAME SERVER ENDPOINT EXPECT
     "accounts: [{name: alice}]\nclients: [{account: alice, command: [c], attempts: 2}]\n",
     "6:42", "'attempts' does not apply to a client with 'command'"},
    {"command_client_empty", NAME SERVER ENDPOINT EXPECT
     "accounts: [{name: alice}]\nclients: [{account: alice, command: []}]\n",
     "6:37", "'command' must name a program"},
    {"placeholder_unterminated", NAME "server: {fixture: f, args: [\"{rundir\"]}\n"
     ENDPOINT EXPECT, "2:29", "unterminated '{' in \"{rundir\""},
    {"placeholder_user_undeclared", NAME "server: {fixture: f, args: [\"{user:bob}\"]}\n"
     ENDPOINT EXPECT "accounts: [{name: alice}]\n", "2:29",
     "{user:bob} in \"{user:bob}\": no account named 'bob' in this scenario"},
    {"placeholder_group_undeclared", NAME "server: {fixture: f, args: [\"{group:ops}\"]}\n"
     ENDPOINT EXPECT, "2:29", "{group:ops} in \"{group:ops}\": no group named 'ops'"},
    {"nul_in_scalar", NAME "server: {fixture: f, args: [\"a\\0b\"]}\n" ENDPOINT EXPECT,
     "2:29", "'args' contains a NUL character"},
    {"duration_over_a_day", NAME "server: {fixture: f, timeout: 9223372036s}\n"
     ENDPOINT EXPECT, "2:31", "duration '9223372036s' for 'timeout' is too long "
     "(at most 24h, 86400s)"},
    {"hold_first_create", FAULT "create\n    action: hold\n"
     "    until: {account: alice, event: attempt}\n", "16:12",
     "a hold on the server's first 'create' can only time out: clients start "
     "after the endpoint exists, so 'attempt' of alice cannot happen before it"},
    {"hold_first_rename_onwards", FAULT "rename\n    action: hold\n"
     "    when: \"1+\"\n    until: {account: alice, event: admitted}\n", "17:12",
     "a hold on the server's first 'rename' can only time out"},
    {"flow_too_deep", MIN "description: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
     "[[[[[[[[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
     "5:78", "nested more than 64 levels deep"},
    {"brackets_quoted_or_commented_do_not_count", MIN
     "description: \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"\n"
     "# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n"
     "colour: x\n", "7:1", "unknown key 'colour'"},
    {"too_many_aliases", NAME "server: {fixture: f, args: [&a x, " 
     "*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, "
     "*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, "
     "*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, "
     "*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, "
     "*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]}\n"
     ENDPOINT EXPECT, "2:29", "more than 100 aliases (*name) in one scenario"},
    {"second_fault_reported", FAULT "create\n    action: delay\n"
     "    delay: 1ms\n  - at: close\n    action: fail\n    errno: ENOENTT\n",
     "19:12", "unknown errno 'ENOENTT' (did you mean 'ENOENT'?)"},
};

enum { NERROR_CASES = sizeof error_cases / sizeof error_cases[0] };

START_TEST(error_case)
{
    const struct error_case *c = &error_cases[_i];
    char path[512], prefix[600];
    struct pf_error err = {{0}};
    write_case(c->name, c->yaml, path, sizeof path);
    struct pf_scenario *sc = pf_scenario_load(path, &err);
    unlink(path);
    if (sc)
        pf_scenario_free(sc);
    ck_assert_msg(sc == NULL, "case %s: loaded, expected an error", c->name);
    snprintf(prefix, sizeof prefix, "%s:%s: ", path, c->pos);
    ck_assert_msg(strncmp(err.msg, prefix, strlen(prefix)) == 0,
                  "case %s: expected position %s, got: %s", c->name, c->pos,
                  err.msg);
    ck_assert_msg(strstr(err.msg, c->message) != NULL,
                  "case %s: expected '%s' in: %s", c->name, c->message, err.msg);
}
END_TEST

/* ---- platform limits (struct pf_backend.check) ------------------------ */

/* Loads text (it must load) and runs its platform's check; returns the
 * check's message, "" when it passed. */
static const char *platform_check(const char *text, char *path, size_t size,
                                  struct pf_error *err)
{
    write_case("limits", text, path, size);
    struct pf_scenario *sc = pf_scenario_load(path, err);
    ck_assert_msg(sc != NULL, "did not load: %s", err->msg);
    const struct pf_backend *be = pf_backend_for(sc->platform);
    ck_assert_ptr_nonnull(be->check);
    int rc = be->check(sc, err);
    pf_scenario_free(sc);
    unlink(path);
    if (rc == 0)
        err->msg[0] = '\0';
    return err->msg;
}

static void expect_check(const char *text, const char *pos, const char *message)
{
    char path[512], want[1024];
    struct pf_error err = {{0}};
    platform_check(text, path, sizeof path, &err);
    /* The position exactly, then the message or its beginning. */
    snprintf(want, sizeof want, "%s:%s: %s", path, pos, message);
    ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "expected '%s', got '%s'",
                  want, err.msg);
}

static void expect_ok(const char *text)
{
    char path[512];
    struct pf_error err = {{0}};
    ck_assert_str_eq(platform_check(text, path, sizeof path, &err), "");
}

START_TEST(linux_socket_path_length)
{
    char text[1024];
    /* /tmp/pipefault-XXXXXX-XXXXXX/ep/ is 32 bytes; sun_path holds 107. */
    snprintf(text, sizeof text, NAME SERVER "endpoint: {kind: unix, path: %075d}\n" EXPECT, 0);
    expect_ok(text);
    snprintf(text, sizeof text, NAME SERVER "endpoint: {kind: unix, path: %076d}\n" EXPECT, 0);
    char msg[512];
    snprintf(msg, sizeof msg, "unix socket path '%076d' is too long: placed in the run's "
             "directory (/tmp/pipefault-XXXXXX-XXXXXX/ep/) it needs 109 bytes, a socket "
             "address holds 108; at most 75 bytes", 0);
    expect_check(text, "3:30", msg);
    /* FIFO paths are not socket addresses. */
    snprintf(text, sizeof text, NAME SERVER "endpoint: {kind: fifo, path: %0100d}\n" EXPECT, 0);
    expect_ok(text);
}
END_TEST

START_TEST(linux_abstract_name_length)
{
    char text[1024], msg[512];
    snprintf(text, sizeof text, NAME SERVER "endpoint: {kind: abstract, path: %090d}\n"
             EXPECT, 0);
    expect_ok(text);
    snprintf(text, sizeof text, NAME SERVER "endpoint: {kind: abstract, path: %091d}\n"
             EXPECT, 0);
    snprintf(msg, sizeof msg, "abstract socket name '%091d' is too long: the run names it "
             "pipefault-XXXXXX-<name>, at most 90 bytes of name", 0);
    expect_check(text, "3:34", msg);
}
END_TEST

START_TEST(linux_accounts_and_processes)
{
    static char text[16384];
    int n = snprintf(text, sizeof text, MIN "accounts:\n");
    for (int i = 0; i < 33; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "  - {name: a%d}\n", i);
    expect_check(text, "38:5", "more than 32 accounts: a linux run creates at most 32");

    n = snprintf(text, sizeof text, MIN "accounts: [{name: a}]\nclients:\n");
    for (int i = 0; i < 4; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "  - {account: a, count: 64}\n");
    expect_ok(text);
    snprintf(text + n, sizeof text - (size_t)n, "  - {account: a}\n");
    expect_check(text, "11:5", "more than 256 client processes in all (257 with this entry)");

    n = snprintf(text, sizeof text, NAME ENDPOINT EXPECT "server:\n  command: [srv]\n"
                 "  args: [");
    for (int i = 0; i < 127; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "%sx", i ? ", " : "");
    snprintf(text + n, sizeof text - (size_t)n, "]\n");
    expect_ok(text);
    snprintf(text + n, sizeof text - (size_t)n, ", y]\n");
    expect_check(text, "5:3", "the server's command line would have 129 arguments "
                 "(at most 128)");
}
END_TEST

/* Lines 1-8: intended 0660 group ops, then accounts from line 9. */
#define INTENDED(mode, extra) MIN "groups: [ops, dev]\nintended: {mode: \"" mode "\", " \
    "group: ops" extra "}\naccounts:\n"

START_TEST(linux_allowed_against_intended)
{
    /* Consistent: alice in ops (rw), mallory other (---). */
    expect_ok(INTENDED("0660", "") "  - {name: alice, groups: [ops], allowed: true}\n"
              "  - {name: mallory}\n");
    expect_check(INTENDED("0660", "") "  - {name: alice, allowed: true}\n", "8:5",
                 "account 'alice' is allowed: true, but the intended permissions (mode "
                 "0660, group ops) do not give it write access, which a connect needs: "
                 "the scenario contradicts itself");
    expect_check(INTENDED("0666", "") "  - {name: mallory, allowed: false}\n", "8:5",
                 "account 'mallory' is not allowed, but the intended permissions (mode "
                 "0666, group ops) give it write access, which a connect needs: the "
                 "scenario contradicts itself");
    /* Read alone does not let a client connect or open for writing. */
    expect_check(INTENDED("0640", "") "  - {name: alice, groups: [ops], allowed: true}\n",
                 "8:5", "account 'alice' is allowed: true, but the intended permissions "
                 "(mode 0640, group ops) do not give it write access");
    /* Owner class wins over the group class. */
    expect_check(MIN "groups: [ops]\nintended: {mode: \"0460\", owner: alice, group: ops}"
                 "\naccounts:\n  - {name: alice, groups: [ops], allowed: true}\n", "8:5",
                 "account 'alice' is allowed: true, but the intended permissions (mode "
                 "0460, group ops) do not give it");
    /* ACL: a named user entry grants, unless the mask takes it away. */
    expect_ok(INTENDED("0660", ", acl: [\"user:bob:rw-\"]")
              "  - {name: bob, allowed: true}\n");
    expect_check(INTENDED("0660", ", acl: [\"user:bob:rw-\", \"mask::r--\"]")
                 "  - {name: bob, allowed: true}\n", "8:5",
                 "account 'bob' is allowed: true, but the intended permissions (mode 0660, "
                 "group ops, with the ACL) do not give it write access");
    /* A named group entry; and a matching group that grants nothing denies,
     * even when other would grant. */
    expect_ok(INTENDED("0600", ", acl: [\"group:dev:-w-\"]")
              "  - {name: carol, groups: [dev], allowed: true}\n");
    expect_check(INTENDED("0602", ", acl: [\"group:dev:r--\"]")
                 "  - {name: carol, groups: [dev], allowed: true}\n", "8:5",
                 "account 'carol' is allowed: true, but the intended permissions (mode 0602,"
                 " group ops, with the ACL) do not give it write access");
    /* FIFO clients open for writing. */
    expect_check(NAME SERVER "endpoint: {kind: fifo, path: f}\n" EXPECT
                 "intended: {mode: \"0600\"}\naccounts: [{name: alice, allowed: true}]\n",
                 "6:12", "account 'alice' is allowed: true, but the intended permissions "
                 "(mode 0600) do not give it write access, which a client opening the "
                 "fifo needs");
    /* Without a group the server's group is unknown: the group bits decide
     * nothing, only what holds either way is refused. */
    expect_ok(MIN "intended: {mode: \"0660\"}\naccounts: [{name: alice, allowed: true}]\n");
    expect_check(MIN "intended: {mode: \"0666\"}\naccounts: [{name: m}]\n", "6:12",
                 "account 'm' is not allowed, but the intended permissions (mode 0666) give "
                 "it write access");
    /* No mode: nothing to decide. */
    expect_ok(MIN "groups: [ops]\nintended: {group: ops}\naccounts: [{name: m}]\n");
}
END_TEST

#define W32_PEOPLE W32 "intended: {sddl: \"D:(A;;GA;;;WD)\"}\n" \
    "accounts: [{name: alice}]\nclients: [{account: alice}]\n"

START_TEST(win32_limits)
{
    expect_ok(W32_PEOPLE "faults: [{at: accept, action: delay, delay: 1ms}]\n");
    expect_check(W32_PEOPLE "faults: [{at: connect, action: delay, delay: 1ms, "
                 "target: alice}]\n", "9:10", "faults on the harness's clients "
                 "(target: alice) are not supported on win32");
    expect_check(W32_PEOPLE "faults:\n  - {at: listen, action: delay, delay: 1ms}\n",
                 "10:5", "on win32 faults apply to create, accept, close and secure only, "
                 "not 'listen'");
    expect_check(W32_PEOPLE "faults:\n  - {at: close, thread: main, action: delay, "
                 "delay: 1ms}\n", "10:5", "'process' and 'thread' selections are not "
                 "supported on win32");
    expect_check(W32 "intended: {sddl: \"D:(A;;GA;;;WD)\"}\naccounts: [{name: alice}]\n"
                 "clients:\n  - {account: alice, count: 64}\n  - {account: alice, "
                 "count: 64}\n", "10:5", "more than 127 client and attacker processes "
                 "in all on win32 (128 with this entry)");
    /* A squatter holds a channel connection too. */
    expect_check(W32 "intended: {sddl: \"D:(A;;GA;;;WD)\"}\naccounts: [{name: alice}, "
                 "{name: m}]\nattackers: [{account: m, action: squat}]\n"
                 "clients:\n  - {account: alice, count: 64}\n  - {account: alice, "
                 "count: 63}\n", "11:5", "more than 127 client and attacker processes "
                 "in all on win32 (128 with this entry)");
    /* Attackers: every action and every `when` (first_server.exe for
     * run-server, after-start counted from the server's first accept). */
    expect_ok(W32_PEOPLE "attackers: [{account: alice, action: squat, when: in-gap}]\n");
    expect_ok(W32_PEOPLE "attackers:\n  - {account: alice, action: run-server}\n");
    expect_ok(W32_PEOPLE "attackers:\n  - {account: alice, action: squat, "
              "when: {after-start: 1ms}}\n");
}
END_TEST

static Suite *scenario_suite(void)
{
    Suite *s = suite_create("scenario");
    TCase *valid = tcase_create("valid");
    tcase_add_unchecked_fixture(valid, make_tmpdir, remove_tmpdir);
    tcase_add_test(valid, full_example_every_field);
    tcase_add_test(valid, defaults);
    tcase_add_test(valid, win32_example);
    tcase_add_test(valid, any_section_order);
    tcase_add_test(valid, until_denied);
    tcase_add_test(valid, server_open_on_fifo);
    tcase_add_test(valid, documented_example);
    tcase_add_test(valid, value_forms);
    tcase_add_test(valid, names);
    tcase_add_test(valid, required_and_until_accepting);
    tcase_add_test(valid, client_protocols);
    tcase_add_test(valid, placeholders_and_limits_accepted);
    tcase_add_test(valid, hold_on_create_that_can_end);
    tcase_add_test(valid, alias_bomb);
    tcase_add_test(valid, deep_flow_nesting);
    tcase_add_test(valid, fifo_as_scenario_file);
    tcase_add_test(valid, file_over_1mib);
    tcase_add_test(valid, missing_file);
    tcase_add_test(valid, free_null);
    suite_add_tcase(s, valid);

    TCase *limits = tcase_create("platform_limits");
    tcase_add_unchecked_fixture(limits, make_tmpdir, remove_tmpdir);
    tcase_add_test(limits, linux_socket_path_length);
    tcase_add_test(limits, linux_abstract_name_length);
    tcase_add_test(limits, linux_accounts_and_processes);
    tcase_add_test(limits, win32_limits);
    tcase_add_test(limits, linux_allowed_against_intended);
    suite_add_tcase(s, limits);

    TCase *errors = tcase_create("errors");
    tcase_add_unchecked_fixture(errors, make_tmpdir, remove_tmpdir);
    tcase_add_loop_test(errors, error_case, 0, NERROR_CASES);
    suite_add_tcase(s, errors);
    return s;
}

int main(void)
{
    return pf_check_run(scenario_suite());
}
