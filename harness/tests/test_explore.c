/* test_explore.c - the pure parts of `pipefault explore` on synthetic input:
 * which operations a trace shows, which candidates come from them, the
 * random schedules, delta debugging, bisection, and the variant files
 * (written, then loaded back by the ordinary loader).
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "explore.h"
#include "trace_names.h"

static json_object *ev(const char *src, const char *op, bool reissued)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, PF_F_EV, json_object_new_string(PF_EV_SYSCALL));
    json_object_object_add(e, PF_F_SRC, json_object_new_string(src));
    json_object_object_add(e, PF_F_OP, json_object_new_string(op));
    if (reissued)
        json_object_object_add(e, PF_F_REISSUED, json_object_new_boolean(true));
    return e;
}

START_TEST(ops_seen_in_order_counting_only_server_calls)
{
    json_object *t = json_object_new_array();
    json_object_array_add(t, ev(PF_SRC_SUPERVISOR, "create", false));
    json_object_array_add(t, ev(PF_SRC_SUPERVISOR, "listen", false));
    json_object_array_add(t, ev(PF_SRC_SUPERVISOR, "secure", false));
    json_object_array_add(t, ev(PF_SRC_SUPERVISOR, "secure", true));    /* re-issued */
    json_object_array_add(t, ev(PF_SRC_CLIENT, "connect", false));      /* not the server */
    json_object_array_add(t, ev(PF_SRC_SUPERVISOR, "open", false));     /* not a fault point */
    json_object_array_add(t, ev(PF_SRC_WIN_AGENT, "secure", false));
    json_object *other = json_object_new_object();
    json_object_object_add(other, PF_F_EV, json_object_new_string(PF_EV_FAULT));
    json_object_object_add(other, PF_F_SRC, json_object_new_string(PF_SRC_SUPERVISOR));
    json_object_object_add(other, PF_F_OP, json_object_new_string("create"));
    json_object_array_add(t, other);
    struct pf_op_seen ops[PF_OP__COUNT];
    size_t n = pf_explore_ops_seen(t, ops);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(ops[0].op, PF_OP_CREATE);
    ck_assert_int_eq(ops[0].count, 1);
    ck_assert_int_eq(ops[1].op, PF_OP_LISTEN);
    ck_assert_int_eq(ops[2].op, PF_OP_SECURE);
    ck_assert_int_eq(ops[2].count, 2);
    json_object_put(t);
    ck_assert_uint_eq(pf_explore_ops_seen(NULL, ops), 0);
}
END_TEST

static json_object *ev_by(const char *op, int pid, int tid)
{
    json_object *e = ev(PF_SRC_SUPERVISOR, op, false);
    json_object_object_add(e, "pid", json_object_new_int(pid));
    json_object_object_add(e, "tid", json_object_new_int(tid));
    return e;
}

START_TEST(thread_interleavings_for_operations_several_threads_make)
{
    /* accept by the initial thread once, then by two other threads; listen
     * by the initial thread alone. */
    json_object *t = json_object_new_array();
    json_object_array_add(t, ev_by("listen", 10, 10));
    json_object_array_add(t, ev_by("accept", 10, 10));
    json_object_array_add(t, ev_by("accept", 10, 11));
    json_object_array_add(t, ev_by("accept", 10, 12));
    json_object_array_add(t, ev(PF_SRC_WIN_AGENT, "accept", false));  /* cannot tell */
    struct pf_op_seen ops[PF_OP__COUNT];
    ck_assert_uint_eq(pf_explore_ops_seen(t, ops), 2);
    ck_assert_int_eq(ops[0].by_main, 1);
    ck_assert_int_eq(ops[0].by_other, 0);
    ck_assert_int_eq(ops[1].count, 4);
    ck_assert_int_eq(ops[1].by_main, 1);
    ck_assert_int_eq(ops[1].by_other, 2);
    json_object_put(t);
    const char *acc[] = {"alice"};
    size_t n;
    struct pf_candidate *c = pf_explore_systematic(ops, 2, acc, 1, &n);
    /* Only accept gets them: main #1, other #1..#2, each 2 holds + ladder. */
    size_t threads = 0, plain = 0, on_main = 0;
    for (size_t i = 0; i < n; i++) {
        const struct pf_xfault *f = &c[i].f[0];
        if (strcmp(c[i].strategy, "thread")) {
            ck_assert_int_eq(f->thread, PF_WHO_ANY);
            ck_assert_uint_eq(threads, 0);   /* after every other candidate */
            plain++;
            continue;
        }
        threads++;
        ck_assert_int_eq(f->op, PF_OP_ACCEPT);
        ck_assert_int_ne(f->thread, PF_WHO_ANY);
        on_main += f->thread == PF_WHO_MAIN;
        ck_assert_int_le(f->when, f->thread == PF_WHO_MAIN ? 1 : 2);
    }
    ck_assert_uint_eq(threads, 3 * (2 + PF_EXPLORE_LADDER_N));
    ck_assert_uint_eq(on_main, 2 + PF_EXPLORE_LADDER_N);
    ck_assert_uint_gt(plain, 0);
    char text[160];
    pf_xfault_describe(&c[n - 1].f[0], text, sizeof text);
    ck_assert_str_eq(text, "delay accept #2 (other threads) by 625ms");
    free(c);
}
END_TEST

START_TEST(systematic_list_orderings_first_no_hold_that_can_only_time_out)
{
    struct pf_op_seen ops[] = {{.op = PF_OP_CREATE, .count = 2}, {.op = PF_OP_LISTEN, .count = 1}, {.op = PF_OP_SECURE, .count = 5}};
    const char *acc[] = {"alice", "mallory"};
    size_t n;
    struct pf_candidate *c = pf_explore_systematic(ops, 3, acc, 2, &n);
    /* orderings: create #2 x 2 accounts; holds: create #2 admitted x 2,
     * listen #1 x 2 x 2, secure #1..#3 x 2 x 2; delays: (2 + 1 + 3) x 4. */
    ck_assert_uint_eq(n, 2 + 2 + 4 + 12 + 6 * PF_EXPLORE_LADDER_N);
    ck_assert_str_eq(c[0].strategy, "ordering");
    ck_assert_int_eq(c[0].f[0].op, PF_OP_CREATE);
    ck_assert_int_eq(c[0].f[0].when, 2);
    ck_assert_str_eq(c[0].f[0].event, "attempt");
    ck_assert_str_eq(c[1].f[0].account, "mallory");
    /* Then holds on secure, which closes the window, before the others. */
    ck_assert_str_eq(c[2].strategy, "hold");
    ck_assert_int_eq(c[2].f[0].op, PF_OP_SECURE);
    ck_assert_int_eq(c[2].f[0].when, 1);
    ck_assert_str_eq(c[2].f[0].account, "alice");
    ck_assert_str_eq(c[2].f[0].event, "attempt");
    size_t holds = 0, delays = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(c[i].n, 1);
        const struct pf_xfault *f = &c[i].f[0];
        ck_assert(!(f->action == PF_ACT_HOLD && f->op == PF_OP_CREATE && f->when == 1));
        ck_assert_int_le(f->when, PF_EXPLORE_MAX_OCC);
        if (f->action == PF_ACT_HOLD) {
            ck_assert_uint_eq(delays, 0);   /* every hold before the first delay */
            holds++;
        } else {
            delays++;
        }
    }
    ck_assert_uint_eq(delays, 6 * PF_EXPLORE_LADDER_N);
    ck_assert_uint_eq(holds, 20);
    free(c);
    /* One instance only: no ordering candidates. */
    struct pf_op_seen one[] = {{.op = PF_OP_CREATE, .count = 1}, {.op = PF_OP_SECURE, .count = 1}};
    c = pf_explore_systematic(one, 2, acc, 2, &n);
    ck_assert_str_eq(c[0].strategy, "hold");
    ck_assert_int_eq(c[0].f[0].op, PF_OP_SECURE);
    free(c);
}
END_TEST

START_TEST(random_schedules_are_seeded_and_stay_in_the_space)
{
    struct pf_op_seen ops[] = {{.op = PF_OP_CREATE, .count = 1}, {.op = PF_OP_SECURE, .count = 2}, {.op = PF_OP_ACCEPT, .count = 40}};
    const char *acc[] = {"alice"};
    long points, perts;
    pf_explore_random_space(ops, 3, 1, &points, &perts);
    ck_assert_int_eq(points, 1 + 2 + PF_EXPLORE_MAX_OCC);
    ck_assert_int_eq(perts, PF_EXPLORE_LADDER_N + 2);
    uint64_t s1 = 42, s2 = 42, s3 = 43;
    bool differs = false;
    for (int i = 0; i < 50; i++) {
        struct pf_candidate a, b, c;
        pf_explore_random(ops, 3, acc, 1, &s1, &a);
        pf_explore_random(ops, 3, acc, 1, &s2, &b);
        pf_explore_random(ops, 3, acc, 1, &s3, &c);
        ck_assert_uint_eq(a.n, b.n);
        ck_assert_mem_eq(a.f, b.f, a.n * sizeof a.f[0]);
        differs |= a.n != c.n || memcmp(a.f, c.f, a.n * sizeof a.f[0]) != 0;
        ck_assert_uint_ge(a.n, 1);
        ck_assert_uint_le(a.n, PF_EXPLORE_PCT_DEPTH);
        for (size_t k = 0; k < a.n; k++) {
            ck_assert(!(a.f[k].action == PF_ACT_HOLD && a.f[k].op == PF_OP_CREATE));
            ck_assert_int_le(a.f[k].when, a.f[k].op == PF_OP_SECURE ? 2 : PF_EXPLORE_MAX_OCC);
            for (size_t j = 0; j < k; j++)   /* one perturbation per point */
                ck_assert(a.f[j].op != a.f[k].op || a.f[j].when != a.f[k].when);
        }
    }
    ck_assert(differs);
}
END_TEST

/* A synthetic failure: it needs units 2 and 5. */
static bool needs_2_and_5(void *ctx, const bool *keep, size_t n)
{
    (void)n;
    (*(size_t *)ctx)++;
    return keep[2] && keep[5];
}

static bool always(void *ctx, const bool *keep, size_t n)
{
    (void)ctx, (void)keep, (void)n;
    return true;
}

START_TEST(ddmin_finds_the_two_units_that_matter)
{
    bool keep[8];
    for (int i = 0; i < 8; i++)
        keep[i] = true;
    size_t seen = 0;
    size_t calls = pf_ddmin(keep, 8, needs_2_and_5, &seen);
    ck_assert_uint_eq(calls, seen);
    for (int i = 0; i < 8; i++)
        ck_assert_msg(keep[i] == (i == 2 || i == 5), "unit %d", i);
    ck_assert_uint_le(calls, 8 * 8);
    /* Nothing is needed: everything goes. */
    for (int i = 0; i < 8; i++)
        keep[i] = true;
    pf_ddmin(keep, 8, always, NULL);
    for (int i = 0; i < 8; i++)
        ck_assert(!keep[i]);
    ck_assert_uint_eq(pf_ddmin(keep, 0, always, NULL), 0);
}
END_TEST

static bool from_37(void *ctx, int64_t v)
{
    (void)ctx;
    return v >= 37;
}

START_TEST(bisection_finds_the_threshold)
{
    size_t calls;
    ck_assert_int_eq(pf_bisect_min(0, 100, 1, from_37, NULL, &calls), 37);
    ck_assert_uint_le(calls, 1 + 7);
    ck_assert_int_eq(pf_bisect_min(40, 100, 1, from_37, NULL, &calls), 40);
    ck_assert_uint_eq(calls, 1);   /* lo already holds: width 0 */
    int64_t r = pf_bisect_min(0, 1000, 10, from_37, NULL, &calls);
    ck_assert_int_ge(r, 37);
    ck_assert_int_le(r, 47);
}
END_TEST

START_TEST(variant_written_loads_back_with_the_changes)
{
    const char *src = PF_TEST_DATA "/../../../scenarios/explore/chmod-after-listen.yaml";
    struct pf_error err;
    struct pf_scenario *sc = pf_scenario_load(src, &err);
    ck_assert_msg(sc != NULL, "%s", err.msg);
    ck_assert_uint_eq(sc->nclients, 2);
    struct pf_variant v;
    pf_variant_init(&v, sc);
    v.client_on[1] = false;      /* mallory's client goes */
    v.attempts[0] = 3;
    v.faults = calloc(2, sizeof *v.faults);
    v.faults[0] = (struct pf_xfault){.op = PF_OP_SECURE, .when = 1, .action = PF_ACT_HOLD,
                                     .account = "alice", .event = "attempt",
                                     .timeout_ns = 1000000000LL};
    v.faults[1] = (struct pf_xfault){.op = PF_OP_LISTEN, .when = 2, .action = PF_ACT_DELAY,
                                     .delay_ns = 25000000LL, .thread = PF_WHO_OTHER};
    v.nfaults = 2;
    char path[] = "/tmp/pf-test-explore-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    char msg[600];
    ck_assert_int_eq(pf_variant_write(src, &v, "the-variant", "# a header\n", fd, msg,
                                      sizeof msg), 0);
    close(fd);
    struct pf_scenario *w = pf_scenario_load(path, &err);
    ck_assert_msg(w != NULL, "%s", err.msg);
    ck_assert_str_eq(w->name, "the-variant");
    ck_assert_uint_eq(w->nclients, 1);
    ck_assert_str_eq(w->clients[0].account, "alice");
    ck_assert_int_eq(w->clients[0].attempts, 3);
    ck_assert(w->clients[0].until_accepting);   /* untouched keys stay */
    ck_assert_uint_eq(w->naccounts, 2);
    ck_assert_int_eq(w->intended.mode, sc->intended.mode);
    ck_assert_uint_eq(w->nfaults, 2);
    ck_assert_int_eq(w->faults[0].op, PF_OP_SECURE);
    ck_assert_int_eq(w->faults[0].action, PF_ACT_HOLD);
    ck_assert_int_eq(w->faults[0].when_first, 1);
    ck_assert(!w->faults[0].when_onwards);
    ck_assert_str_eq(w->faults[0].until_account, "alice");
    ck_assert_int_eq(w->faults[0].timeout_ns, 1000000000LL);
    ck_assert_int_eq(w->faults[1].delay_min_ns, 25000000LL);
    ck_assert_int_eq(w->faults[1].when_first, 2);
    ck_assert_int_eq(w->faults[1].thread, PF_WHO_OTHER);
    ck_assert_int_eq(w->faults[0].thread, PF_WHO_ANY);
    /* An account removed while its client stays is refused by the loader:
     * shrinking treats such a variant as "does not fail". */
    v.account_on[0] = false;
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pf_variant_write(src, &v, "x", NULL, fd, msg, sizeof msg), 0);
    close(fd);
    struct pf_scenario *bad = pf_scenario_load(path, &err);
    ck_assert(bad == NULL);
    unlink(path);
    pf_scenario_free(w);
    pf_scenario_free(sc);
    pf_variant_free(&v);
}
END_TEST

static Suite *explore_suite(void)
{
    Suite *s = suite_create("explore");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, ops_seen_in_order_counting_only_server_calls);
    tcase_add_test(tc, systematic_list_orderings_first_no_hold_that_can_only_time_out);
    tcase_add_test(tc, thread_interleavings_for_operations_several_threads_make);
    tcase_add_test(tc, random_schedules_are_seeded_and_stay_in_the_space);
    tcase_add_test(tc, ddmin_finds_the_two_units_that_matter);
    tcase_add_test(tc, bisection_finds_the_threshold);
    tcase_add_test(tc, variant_written_loads_back_with_the_changes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_check_run(explore_suite());
}
