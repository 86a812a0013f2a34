/* test_holds.c - the hold engine: which event ends which hold, and when.
 *
 * Every hold of both backends (server syscalls, clients' connects) ends
 * through this engine, so its rule is pinned down here: only a matching
 * event that happened at or after the hold began releases it, holds end in
 * the order they were added, the rest time out.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "holds.h"
#include "check_run.h"

/* What the release callbacks saw, in order. */
static char log_buf[512];

static void logged(void *ctx, const char *decision, const char *reason)
{
    char line[96];
    snprintf(line, sizeof line, "%s:%s(%s);", (const char *)ctx, decision, reason);
    strncat(log_buf, line, sizeof log_buf - strlen(log_buf) - 1);
}

static void setup(void)
{
    log_buf[0] = 0;
}

START_TEST(released_in_the_order_added)
{
    struct pf_holds *h = pf_holds_new();
    pf_holds_add(h, "alice", "attempt", 10, 1000, logged, "first");
    pf_holds_add(h, "alice", "attempt", 5, 1000, logged, "second");
    pf_holds_add(h, "alice", "attempt", 20, 1000, logged, "third");
    ck_assert_uint_eq(pf_holds_event(h, "alice", "attempt", 30), 3);
    ck_assert_str_eq(log_buf, "first:released(alice:attempt);second:released(alice:attempt);"
                              "third:released(alice:attempt);");
    ck_assert_uint_eq(pf_holds_count(h), 0);
    ck_assert_int_eq(pf_holds_next_deadline(h), -1);
    pf_holds_free(h);
}
END_TEST

START_TEST(an_event_before_the_hold_began_never_releases_it)
{
    struct pf_holds *h = pf_holds_new();
    pf_holds_add(h, "mallory", "attempt", 100, 1000, logged, "h");
    ck_assert_uint_eq(pf_holds_event(h, "mallory", "attempt", 99), 0);
    ck_assert_str_eq(log_buf, "");
    /* at the very moment it began counts */
    ck_assert_uint_eq(pf_holds_event(h, "mallory", "attempt", 100), 1);
    ck_assert_str_eq(log_buf, "h:released(mallory:attempt);");
    /* once ended, nothing ends it again */
    ck_assert_uint_eq(pf_holds_event(h, "mallory", "attempt", 200), 0);
    ck_assert_uint_eq(pf_holds_expire(h, 5000), 0);
    ck_assert_str_eq(log_buf, "h:released(mallory:attempt);");
    pf_holds_free(h);
}
END_TEST

START_TEST(timeouts_end_only_what_is_due)
{
    struct pf_holds *h = pf_holds_new();
    pf_holds_add(h, "alice", "admitted", 0, 300, logged, "late");
    pf_holds_add(h, "alice", "admitted", 0, 100, logged, "early");
    ck_assert_int_eq(pf_holds_next_deadline(h), 100);
    ck_assert_uint_eq(pf_holds_expire(h, 99), 0);
    ck_assert_uint_eq(pf_holds_expire(h, 100), 1);
    ck_assert_str_eq(log_buf, "early:timed-out(timeout);");
    ck_assert_int_eq(pf_holds_next_deadline(h), 300);
    ck_assert_uint_eq(pf_holds_count(h), 1);
    ck_assert_uint_eq(pf_holds_expire(h, 1000), 1);
    ck_assert_str_eq(log_buf, "early:timed-out(timeout);late:timed-out(timeout);");
    pf_holds_free(h);
}
END_TEST

START_TEST(several_holds_on_one_event_and_other_accounts)
{
    struct pf_holds *h = pf_holds_new();
    pf_holds_add(h, "alice", "refused", 0, 1000, logged, "a1");
    pf_holds_add(h, "bob", "refused", 0, 1000, logged, "b");
    pf_holds_add(h, "alice", "refused", 0, 1000, logged, "a2");
    pf_holds_add(h, "alice", "denied", 0, 1000, logged, "ad");
    /* another account's event, another event of the account: nothing */
    ck_assert_uint_eq(pf_holds_event(h, "carol", "refused", 10), 0);
    ck_assert_uint_eq(pf_holds_event(h, "alice", "admitted", 10), 0);
    ck_assert_str_eq(log_buf, "");
    ck_assert_uint_eq(pf_holds_event(h, "alice", "refused", 10), 2);
    ck_assert_str_eq(log_buf, "a1:released(alice:refused);a2:released(alice:refused);");
    ck_assert_uint_eq(pf_holds_count(h), 2);
    pf_holds_free(h);
}
END_TEST

START_TEST(until_without_account_or_event)
{
    struct pf_holds *h = pf_holds_new();
    pf_holds_add(h, NULL, "attempt", 0, 1000, logged, "any-account");
    pf_holds_add(h, NULL, NULL, 0, 1000, logged, "timeout-only");
    ck_assert_uint_eq(pf_holds_event(h, "zed", "attempt", 5), 1);
    ck_assert_uint_eq(pf_holds_event(h, "zed", "refused", 5), 0);
    ck_assert_str_eq(log_buf, "any-account:released(zed:attempt);");
    ck_assert_uint_eq(pf_holds_expire(h, 1000), 1);
    pf_holds_free(h);
}
END_TEST

/* A release may register and cancel holds: the walk in progress neither
 * loses nor double-ends any. */
static struct pf_holds *reentrant;
static long victim;

static void adds_and_cancels(void *ctx, const char *decision, const char *reason)
{
    logged(ctx, decision, reason);
    ck_assert(pf_holds_cancel(reentrant, victim));
    for (int i = 0; i < 20; i++)   /* forces the array to grow */
        pf_holds_add(reentrant, "alice", "attempt", 50, 1000, logged, "new");
}

START_TEST(release_callbacks_may_add_and_cancel)
{
    reentrant = pf_holds_new();
    pf_holds_add(reentrant, "alice", "attempt", 0, 1000, adds_and_cancels, "x");
    victim = pf_holds_add(reentrant, "alice", "attempt", 0, 1000, logged, "victim");
    pf_holds_add(reentrant, "alice", "attempt", 0, 1000, logged, "y");
    /* the holds added during the walk began after the event: not ended */
    ck_assert_uint_eq(pf_holds_event(reentrant, "alice", "attempt", 10), 2);
    ck_assert_str_eq(log_buf, "x:released(alice:attempt);y:released(alice:attempt);");
    ck_assert_uint_eq(pf_holds_count(reentrant), 20);
    ck_assert(!pf_holds_cancel(reentrant, victim));
    ck_assert_uint_eq(pf_holds_event(reentrant, "alice", "attempt", 60), 20);
    pf_holds_free(reentrant);
}
END_TEST

START_TEST(outcome_events)
{
    const char *ev[2];
    ck_assert_uint_eq(pf_hold_outcome_events(true, false, ev), 1);
    ck_assert_str_eq(ev[0], "admitted");
    ck_assert_uint_eq(pf_hold_outcome_events(false, false, ev), 1);
    ck_assert_str_eq(ev[0], "refused");
    ck_assert_uint_eq(pf_hold_outcome_events(false, true, ev), 2);
    ck_assert_str_eq(ev[0], "refused");
    ck_assert_str_eq(ev[1], "denied");
}
END_TEST

static Suite *holds_suite(void)
{
    Suite *s = suite_create("holds");
    TCase *tc = tcase_create("engine");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, released_in_the_order_added);
    tcase_add_test(tc, an_event_before_the_hold_began_never_releases_it);
    tcase_add_test(tc, timeouts_end_only_what_is_due);
    tcase_add_test(tc, several_holds_on_one_event_and_other_accounts);
    tcase_add_test(tc, until_without_account_or_event);
    tcase_add_test(tc, release_callbacks_may_add_and_cancel);
    tcase_add_test(tc, outcome_events);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_check_run(holds_suite());
}
