/* test_win_holds.c - the win32 backend's pending holds: released by the
 * event their `until` names, only when it happened after the hold began. */
#include <check.h>
#include <string.h>

#include "win/pending_holds.h"
#include "check_run.h"

static int released[16];
static size_t nreleased;

static void record(void *ctx, void *owner, int id)
{
    ck_assert_ptr_eq(ctx, &nreleased);
    ck_assert_ptr_eq(owner, released);
    released[nreleased++] = id;
}

static void setup(void)
{
    nreleased = 0;
}

START_TEST(released_by_the_matching_event)
{
    struct win_holds h = {0};
    win_holds_add(&h, 1, released, "alice", "attempt", 100);
    ck_assert_uint_eq(win_holds_release(&h, "bob", "attempt", 200, record, &nreleased), 0);
    ck_assert_uint_eq(win_holds_release(&h, "alice", "denied", 200, record, &nreleased), 0);
    ck_assert_uint_eq(win_holds_release(&h, "alice", "attempt", 200, record, &nreleased), 1);
    ck_assert_int_eq(released[0], 1);
    /* Gone once released. */
    ck_assert_uint_eq(win_holds_release(&h, "alice", "attempt", 300, record, &nreleased), 0);
    win_holds_free(&h);
}
END_TEST

START_TEST(an_event_from_before_the_hold_does_not_release_it)
{
    struct win_holds h = {0};
    win_holds_add(&h, 7, released, "alice", "attempt", 1000);
    /* An attempt that was over before the hold began, reported late. */
    ck_assert_uint_eq(win_holds_release(&h, "alice", "attempt", 999, record, &nreleased), 0);
    ck_assert_uint_eq(nreleased, 0);
    /* One at the very moment it began counts. */
    ck_assert_uint_eq(win_holds_release(&h, "alice", "attempt", 1000, record, &nreleased), 1);
    ck_assert_int_eq(released[0], 7);
    win_holds_free(&h);
}
END_TEST

START_TEST(several_holds_and_ended_by_the_agent)
{
    struct win_holds h = {0};
    for (int id = 1; id <= 12; id++)  /* grows past its first allocation */
        win_holds_add(&h, id, released, "alice", id % 2 ? "attempt" : "admitted", id * 10);
    win_holds_add(&h, 99, released, NULL, NULL, 0);  /* timeout only: not pending */
    ck_assert_uint_eq(h.n, 12);
    win_holds_remove(&h, 3);  /* the agent timed it out */
    /* attempt at t=60: holds 1 and 5 began before; 3 is gone; 7, 9, 11 later. */
    ck_assert_uint_eq(win_holds_release(&h, "alice", "attempt", 60, record, &nreleased), 2);
    int a = released[0], b = released[1];
    ck_assert((a == 1 && b == 5) || (a == 5 && b == 1));
    ck_assert_uint_eq(h.n, 9);
    win_holds_free(&h);
    ck_assert_uint_eq(h.n, 0);
}
END_TEST

START_TEST(until_with_one_side_matches_any_other)
{
    struct win_holds h = {0};
    win_holds_add(&h, 2, released, NULL, "denied", 0);
    ck_assert_uint_eq(win_holds_release(&h, "mallory", "denied", 5, record, &nreleased), 1);
    win_holds_free(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("win_holds");
    TCase *tc = tcase_create("holds");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, released_by_the_matching_event);
    tcase_add_test(tc, an_event_from_before_the_hold_does_not_release_it);
    tcase_add_test(tc, several_holds_and_ended_by_the_agent);
    tcase_add_test(tc, until_with_one_side_matches_any_other);
    suite_add_tcase(s, tc);
    return pf_check_run(s);
}
