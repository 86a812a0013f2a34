/* test_faults.c - the fault decisions: `when`, probability, seeding, ranges.
 *
 * Decisions must be a pure function of (seed, rule index, occurrence) so that
 * a failing run can be replayed; these tests pin that down.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "faults.h"
#include "check_run.h"

static struct pf_fault rule_with(enum pf_fault_action action, long first,
                                 bool onwards, long step, double p)
{
    struct pf_fault r;
    memset(&r, 0, sizeof r);
    r.op = PF_OP_SECURE;
    r.phase = PF_PHASE_BEFORE;
    r.action = action;
    r.when_first = first;
    r.when_onwards = onwards;
    r.when_step = step;
    r.probability = p;
    r.timeout_ns = 5000000000LL;
    return r;
}

/* Which of occurrences 1..n fire, as a string of '1'/'0'. */
static void fire_pattern(const struct pf_fault *r, uint64_t seed, size_t idx,
                         int n, char *out)
{
    struct pf_fault_state st;
    pf_fault_state_init(&st, seed, idx);
    for (int i = 0; i < n; i++)
        out[i] = pf_fault_decide(r, &st).fire ? '1' : '0';
    out[n] = '\0';
}

START_TEST(when_single_occurrence)
{
    struct pf_fault r = rule_with(PF_ACT_HOLD, 3, false, 0, 1.0);
    char pat[16];
    fire_pattern(&r, 1, 0, 8, pat);
    ck_assert_str_eq(pat, "00100000");
    ck_assert(!pf_fault_when_matches(&r, 2));
    ck_assert(pf_fault_when_matches(&r, 3));
    ck_assert(!pf_fault_when_matches(&r, 4));
}
END_TEST

START_TEST(when_onwards)
{
    struct pf_fault r = rule_with(PF_ACT_HOLD, 2, true, 0, 1.0);
    char pat[16];
    fire_pattern(&r, 1, 0, 6, pat);
    ck_assert_str_eq(pat, "011111");
}
END_TEST

START_TEST(when_default_is_every_occurrence)
{
    /* "1+" is the documented default. */
    struct pf_fault r = rule_with(PF_ACT_HOLD, 1, true, 0, 1.0);
    char pat[16];
    fire_pattern(&r, 7, 2, 5, pat);
    ck_assert_str_eq(pat, "11111");
}
END_TEST

START_TEST(when_step)
{
    struct pf_fault r = rule_with(PF_ACT_HOLD, 2, false, 3, 1.0);
    char pat[16];
    fire_pattern(&r, 1, 0, 12, pat);
    /* 2, 5, 8, 11 */
    ck_assert_str_eq(pat, "010010010010");
}
END_TEST

START_TEST(when_step_one_from_first)
{
    struct pf_fault r = rule_with(PF_ACT_HOLD, 1, false, 1, 1.0);
    char pat[16];
    fire_pattern(&r, 1, 0, 4, pat);
    ck_assert_str_eq(pat, "1111");
}
END_TEST

START_TEST(when_reason_and_counters)
{
    struct pf_fault r = rule_with(PF_ACT_FAIL, 2, false, 0, 1.0);
    r.err = EACCES;
    struct pf_fault_state st;
    pf_fault_state_init(&st, 42, 0);

    struct pf_fault_decision d = pf_fault_decide(&r, &st);
    ck_assert(!d.fire);
    ck_assert_str_eq(d.reason, "when");
    d = pf_fault_decide(&r, &st);
    ck_assert(d.fire);
    ck_assert_ptr_null(d.reason);
    ck_assert_int_eq(d.action, PF_ACT_FAIL);
    ck_assert_int_eq(d.err, EACCES);
    d = pf_fault_decide(&r, &st);
    ck_assert(!d.fire);
    ck_assert_int_eq(st.occurrences, 3);
    ck_assert_int_eq(st.fired, 1);
}
END_TEST

START_TEST(probability_zero_never_fires)
{
    struct pf_fault r = rule_with(PF_ACT_HOLD, 1, true, 0, 0.0);
    struct pf_fault_state st;
    pf_fault_state_init(&st, 99, 1);
    for (int i = 0; i < 10000; i++) {
        struct pf_fault_decision d = pf_fault_decide(&r, &st);
        ck_assert(!d.fire);
        ck_assert_str_eq(d.reason, "probability");
    }
    ck_assert_int_eq(st.fired, 0);
    ck_assert_int_eq(st.occurrences, 10000);
}
END_TEST

START_TEST(probability_one_always_fires)
{
    struct pf_fault r = rule_with(PF_ACT_HOLD, 1, true, 0, 1.0);
    struct pf_fault_state st;
    pf_fault_state_init(&st, 99, 1);
    for (int i = 0; i < 10000; i++)
        ck_assert(pf_fault_decide(&r, &st).fire);
    ck_assert_int_eq(st.fired, 10000);
}
END_TEST

START_TEST(probability_half_fires_about_half)
{
    struct pf_fault r = rule_with(PF_ACT_HOLD, 1, true, 0, 0.5);
    struct pf_fault_state st;
    pf_fault_state_init(&st, 12345, 0);
    for (int i = 0; i < 10000; i++)
        pf_fault_decide(&r, &st);
    ck_assert_int_gt(st.fired, 4500);
    ck_assert_int_lt(st.fired, 5500);
}
END_TEST

START_TEST(same_seed_same_sequence)
{
    struct pf_fault r = rule_with(PF_ACT_DELAY, 1, true, 0, 0.5);
    r.delay_min_ns = 1000;
    r.delay_max_ns = 1000000;
    struct pf_fault_state a, b;
    pf_fault_state_init(&a, 2024, 3);
    pf_fault_state_init(&b, 2024, 3);
    for (int i = 0; i < 1000; i++) {
        struct pf_fault_decision da = pf_fault_decide(&r, &a);
        struct pf_fault_decision db = pf_fault_decide(&r, &b);
        ck_assert(da.fire == db.fire);
        ck_assert(da.delay_ns == db.delay_ns);
    }
    ck_assert_int_eq(a.fired, b.fired);
}
END_TEST

START_TEST(different_seeds_differ)
{
    struct pf_fault r = rule_with(PF_ACT_HOLD, 1, true, 0, 0.5);
    char p1[65], p2[65], p3[65];
    fire_pattern(&r, 1, 0, 64, p1);
    fire_pattern(&r, 2, 0, 64, p2);
    ck_assert_str_ne(p1, p2);
    /* Different rules of the same run draw independently too. */
    fire_pattern(&r, 1, 1, 64, p3);
    ck_assert_str_ne(p1, p3);
}
END_TEST

START_TEST(draws_only_for_selected_occurrences)
{
    /* A rule selecting the 5th occurrence must decide it exactly as the same
     * rule selecting the 1st decides that one: skipped occurrences draw
     * nothing. */
    struct pf_fault late = rule_with(PF_ACT_DELAY, 5, false, 0, 0.5);
    struct pf_fault early = rule_with(PF_ACT_DELAY, 1, false, 0, 0.5);
    late.delay_min_ns = early.delay_min_ns = 10;
    late.delay_max_ns = early.delay_max_ns = 1000000000;
    for (uint64_t seed = 1; seed <= 64; seed++) {
        struct pf_fault_state sl, se;
        pf_fault_state_init(&sl, seed, 0);
        pf_fault_state_init(&se, seed, 0);
        struct pf_fault_decision dl = { 0 }, de = pf_fault_decide(&early, &se);
        for (int i = 0; i < 5; i++)
            dl = pf_fault_decide(&late, &sl);
        ck_assert(dl.fire == de.fire);
        ck_assert(dl.delay_ns == de.delay_ns);
    }
}
END_TEST

START_TEST(delay_range_bounds)
{
    struct pf_fault r = rule_with(PF_ACT_DELAY, 1, true, 0, 1.0);
    r.delay_min_ns = 5000000;
    r.delay_max_ns = 50000000;
    struct pf_fault_state st;
    pf_fault_state_init(&st, 7, 0);
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int i = 0; i < 20000; i++) {
        struct pf_fault_decision d = pf_fault_decide(&r, &st);
        ck_assert(d.fire);
        ck_assert(d.delay_ns >= r.delay_min_ns);
        ck_assert(d.delay_ns <= r.delay_max_ns);
        if (d.delay_ns < lo) lo = d.delay_ns;
        if (d.delay_ns > hi) hi = d.delay_ns;
    }
    /* The draws spread over the range rather than sticking to one end. */
    ck_assert(lo < r.delay_min_ns + 1000000);
    ck_assert(hi > r.delay_max_ns - 1000000);
}
END_TEST

START_TEST(delay_fixed)
{
    struct pf_fault r = rule_with(PF_ACT_DELAY, 1, true, 0, 1.0);
    r.delay_min_ns = r.delay_max_ns = 20000000;
    struct pf_fault_state st;
    pf_fault_state_init(&st, 7, 0);
    for (int i = 0; i < 100; i++)
        ck_assert(pf_fault_decide(&r, &st).delay_ns == 20000000);
}
END_TEST

START_TEST(rng_range_hits_every_value)
{
    struct pf_rng rng;
    pf_rng_seed(&rng, 5);
    int seen[4] = { 0 };
    for (int i = 0; i < 4000; i++) {
        int64_t v = pf_rng_range(&rng, 0, 3);
        ck_assert(v >= 0 && v <= 3);
        seen[v]++;
    }
    for (int i = 0; i < 4; i++)
        ck_assert_int_gt(seen[i], 0);
    ck_assert(pf_rng_range(&rng, 9, 9) == 9);
    ck_assert(pf_rng_range(&rng, -3, -3) == -3);
    int64_t neg = pf_rng_range(&rng, -10, -5);
    ck_assert(neg >= -10 && neg <= -5);
    /* The full range must not divide by zero. */
    (void)pf_rng_range(&rng, INT64_MIN, INT64_MAX);
}
END_TEST

START_TEST(rng_unit_interval_and_known_value)
{
    struct pf_rng rng;
    pf_rng_seed(&rng, 0);
    /* splitmix64's published first output for seed 0. */
    ck_assert(pf_rng_next(&rng) == UINT64_C(0xE220A8397B1DCDAF));
    for (int i = 0; i < 100000; i++) {
        double u = pf_rng_unit(&rng);
        ck_assert(u >= 0.0 && u < 1.0);
    }
}
END_TEST

/* ---- names and the wire form for the Win32 agent ------------------------ */

START_TEST(names_of_every_enum_value)
{
    ck_assert_str_eq(pf_fault_op_name(PF_OP_CREATE), "create");
    ck_assert_str_eq(pf_fault_op_name(PF_OP_OPEN), "open");
    ck_assert_str_eq(pf_fault_op_name(PF_OP__COUNT), "?");
    ck_assert_ptr_null(pf_fault_op_names[PF_OP__COUNT]);
    for (int op = 0; op < PF_OP__COUNT; op++)
        ck_assert_ptr_nonnull(pf_fault_op_names[op]);
    ck_assert_str_eq(pf_fault_phase_name(PF_PHASE_AFTER), "after");
    ck_assert_str_eq(pf_fault_action_name(PF_ACT_FAIL), "fail");
    ck_assert_str_eq(pf_fault_action_name((enum pf_fault_action)7), "?");
}
END_TEST

static void assert_same_on_the_wire(const struct pf_fault *a, const struct pf_fault *b)
{
    ck_assert_int_eq(a->op, b->op);
    ck_assert_int_eq(a->phase, b->phase);
    ck_assert_int_eq(a->action, b->action);
    ck_assert(a->delay_min_ns == b->delay_min_ns);
    ck_assert(a->delay_max_ns == b->delay_max_ns);
    ck_assert(a->timeout_ns == b->timeout_ns);
    ck_assert_int_eq(a->err, b->err);
    ck_assert_int_eq(a->when_first, b->when_first);
    ck_assert_int_eq(a->when_step, b->when_step);
    ck_assert_int_eq(a->when_onwards, b->when_onwards);
    ck_assert(a->probability == b->probability);  /* exact, not approximate */
    if (a->until_account)
        ck_assert_str_eq(a->until_account, b->until_account);
    else
        ck_assert_ptr_null(b->until_account);
    if (a->until_event)
        ck_assert_str_eq(a->until_event, b->until_event);
    else
        ck_assert_ptr_null(b->until_event);
}

static void round_trip(const struct pf_fault *f, size_t index)
{
    char line[PF_FAULT_LINE_MAX];
    int len = pf_fault_encode(f, index, line, sizeof line);
    ck_assert_int_gt(len, 0);
    ck_assert_int_eq((int)strlen(line), len);
    ck_assert(line[len - 1] == '\n');
    struct pf_fault back;
    size_t back_index = 99999;
    ck_assert_msg(pf_fault_decode(line, &back, &back_index), "rejected: %s", line);
    ck_assert_uint_eq(back_index, index);
    assert_same_on_the_wire(f, &back);
    pf_fault_decoded_free(&back);
}

START_TEST(wire_round_trip_every_field)
{
    struct pf_fault f;
    memset(&f, 0, sizeof f);
    f.op = PF_OP_CLOSE;
    f.phase = PF_PHASE_AFTER;
    f.action = PF_ACT_HOLD;
    f.delay_min_ns = 1500000;
    f.delay_max_ns = 2500001;
    f.timeout_ns = 1000000000;
    f.err = 5;  /* ERROR_ACCESS_DENIED */
    f.when_first = 2;
    f.when_step = 3;
    f.when_onwards = false;
    f.probability = 0.1;  /* not exact in binary: must come back bit for bit */
    f.until_account = "alice";
    f.until_event = "attempt";
    round_trip(&f, 7);
}
END_TEST

START_TEST(wire_round_trip_edge_values)
{
    struct pf_fault f;
    memset(&f, 0, sizeof f);
    /* Every value at its limit, no until at all. */
    f.op = (enum pf_fault_op)(PF_OP__COUNT - 1);
    f.phase = PF_PHASE_BEFORE;
    f.action = PF_ACT_FAIL;
    f.delay_min_ns = 0;
    f.delay_max_ns = INT64_MAX;
    f.timeout_ns = INT64_MAX;
    f.err = -2147483647 - 1;
    f.when_first = 1;
    f.when_step = 0;
    f.when_onwards = true;
    f.probability = 1.0;
    round_trip(&f, 0);
    f.probability = 0.0;
    f.err = 2147483647;
    round_trip(&f, 2147483647);
    f.probability = 1.0 / 3.0;
    round_trip(&f, 5);
    f.probability = 4.9406564584124654e-324;  /* the smallest double above 0 */
    round_trip(&f, 1);
    /* An until with only one side set. */
    f.until_account = "bob";
    round_trip(&f, 3);
    f.until_account = NULL;
    f.until_event = "denied";
    round_trip(&f, 4);
}
END_TEST

START_TEST(wire_encode_refuses_what_cannot_be_carried)
{
    struct pf_fault f;
    memset(&f, 0, sizeof f);
    f.probability = 1.0;
    char line[PF_FAULT_LINE_MAX];
    f.until_account = "two words";
    ck_assert_int_eq(pf_fault_encode(&f, 0, line, sizeof line), -1);
    f.until_account = "-";  /* would read back as "no until" */
    ck_assert_int_eq(pf_fault_encode(&f, 0, line, sizeof line), -1);
    f.until_account = "";
    ck_assert_int_eq(pf_fault_encode(&f, 0, line, sizeof line), -1);
    f.until_account = "alice";
    ck_assert_int_eq(pf_fault_encode(&f, 0, line, 10), -1);  /* does not fit */
    ck_assert_int_gt(pf_fault_encode(&f, 0, line, sizeof line), 0);
}
END_TEST

START_TEST(wire_decode_rejects_malformed_lines)
{
    static const char *const bad[] = {
        "",
        "\n",
        "0 0 0 1 0 0 1000 0 1 0 1 1 alice\n",                 /* 13 fields */
        "0 0 0 1 0 0 1000 0 1 0 1 1 alice attempt extra\n",   /* 15 fields */
        "0 9 0 1 0 0 1000 0 1 0 1 1 - -\n",                   /* op out of range */
        "0 0 2 1 0 0 1000 0 1 0 1 1 - -\n",                   /* phase */
        "0 0 0 3 0 0 1000 0 1 0 1 1 - -\n",                   /* action */
        "0 0 0 0 5 4 1000 0 1 0 1 1 - -\n",                   /* delay min > max */
        "0 0 0 0 -1 4 1000 0 1 0 1 1 - -\n",                  /* negative delay */
        "0 0 0 1 0 0 1000 0 1 0 2 1 - -\n",                   /* onwards not 0/1 */
        "0 0 0 1 0 0 1000 0 1 0 1 1.5 - -\n",                 /* probability > 1 */
        "0 0 0 1 0 0 1000 0 1 0 1 nan - -\n",                 /* probability nan */
        "0 0 0 1 0 0 1000x 0 1 0 1 1 - -\n",                  /* trailing garbage */
        "0 0 0 1 0 0 99999999999999999999 0 1 0 1 1 - -\n",   /* overflow */
        "0 0 0 1 0 0 1000 0 1 0 1 1 -  -\n",                  /* empty field */
        "0 0 0 1 0 0 +1000 0 1 0 1 1 - -\n",                  /* sign not ours */
        "-1 0 0 1 0 0 1000 0 1 0 1 1 - -\n",                  /* negative index */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct pf_fault f;
        size_t idx;
        ck_assert_msg(!pf_fault_decode(bad[i], &f, &idx), "accepted: %s", bad[i]);
        ck_assert_ptr_null(f.until_account);
        ck_assert_ptr_null(f.until_event);
    }
    /* The same line, well formed, is accepted: the rejections above are
     * each for the one thing changed. */
    struct pf_fault f;
    size_t idx;
    ck_assert(pf_fault_decode("0 0 0 1 0 0 1000 0 1 0 1 1 - -\n", &f, &idx));
    ck_assert(pf_fault_decode("0 0 0 1 0 0 1000 0 1 0 1 1 - -", &f, &idx));
}
END_TEST

static Suite *faults_suite(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("decide");
    tcase_add_test(tc, when_single_occurrence);
    tcase_add_test(tc, when_onwards);
    tcase_add_test(tc, when_default_is_every_occurrence);
    tcase_add_test(tc, when_step);
    tcase_add_test(tc, when_step_one_from_first);
    tcase_add_test(tc, when_reason_and_counters);
    tcase_add_test(tc, probability_zero_never_fires);
    tcase_add_test(tc, probability_one_always_fires);
    tcase_add_test(tc, probability_half_fires_about_half);
    tcase_add_test(tc, same_seed_same_sequence);
    tcase_add_test(tc, different_seeds_differ);
    tcase_add_test(tc, draws_only_for_selected_occurrences);
    tcase_add_test(tc, delay_range_bounds);
    tcase_add_test(tc, delay_fixed);
    tcase_add_test(tc, rng_range_hits_every_value);
    tcase_add_test(tc, rng_unit_interval_and_known_value);
    suite_add_tcase(s, tc);
    TCase *wire = tcase_create("wire");
    tcase_add_test(wire, names_of_every_enum_value);
    tcase_add_test(wire, wire_round_trip_every_field);
    tcase_add_test(wire, wire_round_trip_edge_values);
    tcase_add_test(wire, wire_encode_refuses_what_cannot_be_carried);
    tcase_add_test(wire, wire_decode_rejects_malformed_lines);
    suite_add_tcase(s, wire);
    return s;
}

int main(void)
{
    return pf_check_run(faults_suite());
}
