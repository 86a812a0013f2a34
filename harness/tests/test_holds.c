/* test_holds.c - the hold engine: which event ends which hold, and when.
 *
 * Every hold of both backends (server syscalls, clients' connects) ends
 * through this engine, so its rule is pinned down here: only a matching
 * event that happened at or after the hold began releases it, holds end in
 * the order they were added, the rest time out.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "holds.h"
#include "win/win_run.h"
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
    ck_assert_int_eq(pf_holds_next_deadline(h), PF_NO_DEADLINE);
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

static bool same_name(const void *ctx, const void *key)
{
    return !strcmp(ctx, key);
}

START_TEST(take_forgets_by_the_holders_key)
{
    struct pf_holds *h = pf_holds_new();
    pf_holds_add(h, "alice", "attempt", 0, 1000, logged, "a");
    pf_holds_add(h, "alice", "attempt", 0, 1000, logged, "b");
    void *ctx = NULL;
    ck_assert(!pf_holds_take(h, same_name, "zed", &ctx));
    ck_assert(pf_holds_take(h, same_name, "b", &ctx));
    ck_assert_str_eq(ctx, "b");
    ck_assert(!pf_holds_take(h, same_name, "b", &ctx));   /* taken once */
    ck_assert_uint_eq(pf_holds_count(h), 1);
    ck_assert_uint_eq(pf_holds_event(h, "alice", "attempt", 5), 1);
    ck_assert_str_eq(log_buf, "a:released(alice:attempt);");   /* never b's callback */
    pf_holds_free(h);
}
END_TEST

/* ---- the Win32 agent's holds: the release callback's path ------------- */

/* A win32 run with one agent connection whose other end the test reads. */
struct fake_agent {
    struct win_run wr;
    struct pf_win_conn conn;
    int peer;
};

static void fake_agent_open(struct fake_agent *fa)
{
    memset(fa, 0, sizeof *fa);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fa->conn.fd = sv[0];
    fa->peer = sv[1];
    fa->wr.holds = pf_holds_new();
}

static void fake_agent_close(struct fake_agent *fa)
{
    win_holds_free(&fa->wr);
    close(fa->conn.fd);
    close(fa->peer);
}

/* What the host sent the agent so far ("" when nothing). */
static const char *sent_to_agent(struct fake_agent *fa)
{
    static char buf[256];
    ssize_t n = recv(fa->peer, buf, sizeof buf - 1, MSG_DONTWAIT);
    if (n < 0)
        ck_assert_int_eq(errno, EAGAIN);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

/* The agent's `fault` event for hold `id` until (account, event). */
static void agent_held(struct fake_agent *fa, struct pf_win_conn *c, int id,
                       const char *account, const char *event, int64_t t)
{
    json_object *ev = json_object_new_object();
    json_object_object_add(ev, "decision", json_object_new_string("held"));
    json_object_object_add(ev, "hold", json_object_new_int(id));
    if (account)
        json_object_object_add(ev, "until_account", json_object_new_string(account));
    if (event)
        json_object_object_add(ev, "until_event", json_object_new_string(event));
    win_hold_started(&fa->wr, c, ev, t);
    json_object_put(ev);
}

static void agent_ended(struct fake_agent *fa, struct pf_win_conn *c, int id)
{
    json_object *ev = json_object_new_object();
    json_object_object_add(ev, "decision", json_object_new_string("timed-out"));
    json_object_object_add(ev, "hold", json_object_new_int(id));
    win_hold_ended(&fa->wr, c, ev);
    json_object_put(ev);
}

START_TEST(win32_release_reaches_the_agent_after_the_hold_began)
{
    struct fake_agent fa;
    fake_agent_open(&fa);
    agent_held(&fa, &fa.conn, 3, "alice", "attempt", 100);
    /* an attempt over before the hold began, reported late: not a release */
    win_holds_attempt(&fa.wr, "alice", "ok", 99);
    ck_assert_str_eq(sent_to_agent(&fa), "");
    win_holds_attempt(&fa.wr, "bob", "ok", 150);
    ck_assert_str_eq(sent_to_agent(&fa), "");
    win_holds_attempt(&fa.wr, "alice", "ok", 100);
    ck_assert_str_eq(sent_to_agent(&fa), "release 3\n");
    ck_assert_uint_eq(pf_holds_count(fa.wr.holds), 0);
    /* released once: the agent's own `released` report finds nothing */
    agent_ended(&fa, &fa.conn, 3);
    win_holds_attempt(&fa.wr, "alice", "ok", 200);
    ck_assert_str_eq(sent_to_agent(&fa), "");
    fake_agent_close(&fa);
}
END_TEST

START_TEST(win32_outcomes_give_the_events_of_both_backends)
{
    struct fake_agent fa;
    fake_agent_open(&fa);
    agent_held(&fa, &fa.conn, 1, "mallory", "denied", 0);
    agent_held(&fa, &fa.conn, 2, "mallory", "refused", 0);
    agent_held(&fa, &fa.conn, 4, NULL, "admitted", 0);
    agent_held(&fa, &fa.conn, 5, NULL, NULL, 0);    /* the agent's timeout only */
    /* refused, not for lack of permission: not denied */
    win_holds_attempt(&fa.wr, "mallory", "ERROR_PIPE_BUSY", 10);
    ck_assert_str_eq(sent_to_agent(&fa), "release 2\n");
    win_holds_attempt(&fa.wr, "mallory", "ERROR_ACCESS_DENIED", 20);
    ck_assert_str_eq(sent_to_agent(&fa), "release 1\n");
    win_holds_attempt(&fa.wr, "carol", "ok", 30);
    ck_assert_str_eq(sent_to_agent(&fa), "release 4\n");
    ck_assert_uint_eq(pf_holds_count(fa.wr.holds), 1);
    agent_ended(&fa, &fa.conn, 5);
    ck_assert_uint_eq(pf_holds_count(fa.wr.holds), 0);
    fake_agent_close(&fa);
}
END_TEST

START_TEST(win32_holds_are_known_by_connection_and_number)
{
    /* Two agents (a server and its child process) number their holds each
     * from 1: the timeout one reports ends only its own. */
    struct fake_agent fa;
    fake_agent_open(&fa);
    struct pf_win_conn other = fa.conn;
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    other.fd = sv[0];
    agent_held(&fa, &fa.conn, 1, "alice", "attempt", 0);
    agent_held(&fa, &other, 1, "alice", "attempt", 0);
    for (int id = 2; id <= 12; id++)   /* several at once, past the first allocation */
        agent_held(&fa, &fa.conn, id, "alice", id % 2 ? "attempt" : "admitted", id * 10);
    agent_ended(&fa, &other, 1);
    agent_ended(&fa, &fa.conn, 3);
    /* attempt+admitted at t=60: this connection's 1, 2, 4, 5, 6 in the order
     * added (outcome first, then the attempt); 3 ended, 7.. began later */
    win_holds_attempt(&fa.wr, "alice", "ok", 60);
    ck_assert_str_eq(sent_to_agent(&fa), "release 2\nrelease 4\nrelease 6\n"
                                         "release 1\nrelease 5\n");
    char buf[64];
    ck_assert_int_lt(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), 0);   /* nothing to the other */
    ck_assert_uint_eq(pf_holds_count(fa.wr.holds), 6);
    close(sv[0]);
    close(sv[1]);
    fake_agent_close(&fa);   /* frees the holds still registered */
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
    tcase_add_test(tc, take_forgets_by_the_holders_key);
    tcase_add_test(tc, win32_release_reaches_the_agent_after_the_hold_began);
    tcase_add_test(tc, win32_outcomes_give_the_events_of_both_backends);
    tcase_add_test(tc, win32_holds_are_known_by_connection_and_number);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_check_run(holds_suite());
}
