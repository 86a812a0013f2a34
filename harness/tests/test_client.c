/* test_client.c - a client process with `until: accepting`, driven by hand.
 *
 * The test plays the harness: it holds every connect of the client (a
 * client-side hold fault), says between the holds whether an endpoint
 * instance is accepting, and checks that exactly the attempts made while it
 * said so count, and that the client stops after `attempts` of them.
 */
#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events.h"
#include "unix/client.h"
#include "check_run.h"

/* Reads one line from fd (blocking); false at end of file. */
static bool read_line(int fd, char *buf, size_t n, char *line)
{
    for (;;) {
        char *nl = strchr(buf, '\n');
        if (nl) {
            *nl = 0;
            strcpy(line, buf);
            memmove(buf, nl + 1, strlen(nl + 1) + 1);
            return true;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, 1, 10000);
        size_t have = strlen(buf);
        ssize_t r = read(fd, buf + have, n - 1 - have);
        if (r <= 0)
            return false;
        buf[have + (size_t)r] = 0;
    }
}

START_TEST(only_attempts_while_accepting_count)
{
    char dir[] = "/tmp/pf-test-client-XXXXXX", path[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.sock", dir);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(l, 16), 0);

    struct pf_fault hold = {
        .op = PF_OP_CONNECT, .action = PF_ACT_HOLD, .target = "alice",
        .until_account = "nobody", .until_event = "attempt", .timeout_ns = 5000000000LL,
        .when_first = 1, .when_onwards = true, .probability = 1.0,
    };
    struct pf_scenario sc = {.endpoint = {.kind = PF_EP_UNIX}, .faults = &hold, .nfaults = 1};
    struct pf_account acc = {.name = "alice"};
    struct pf_client spec = {.account = "alice", .count = 1, .attempts = 3,
                             .until_accepting = true};
    struct pf_plan_client pc = {.spec = &spec, .account = &acc, .index = 1,
                                .label = "alice#1", .seed = 1};
    struct pf_user u = {.name = "root", .uid = 0, .gid = 0};
    int64_t now = pf_clock_ns();
    struct pf_client_env env = {.sc = &sc, .endpoint = path, .trace_start_ns = now,
                                .start_ns = now, .deadline_ns = now + 20000000000LL};
    struct pf_client_proc cp;
    char err[256];
    ck_assert_int_eq(pf_client_spawn(&cp, &pc, &u, &env, err, sizeof err), 0);
    /* what the harness says before releasing each hold */
    const char *say[] = {"r", "r", "Ar", "Nr", "Ar", "r"};
    size_t holds = 0;
    char buf[8192] = "", line[8192], counted[16] = "";
    while (read_line(cp.report_fd, buf, sizeof buf, line)) {
        if (strstr(line, "\"ev\":\"hold\"")) {
            ck_assert_uint_lt(holds, 6);
            const char *m = say[holds++];
            ck_assert_int_eq(write(cp.control_fd, m, strlen(m)), (ssize_t)strlen(m));
        } else if (strstr(line, "\"ev\":\"outcome\"")) {
            int a = accept(l, NULL, NULL);
            ck_assert_int_ge(a, 0);
            close(a);
        } else if (strstr(line, "\"ev\":\"attempt\"")) {
            ck_assert_ptr_nonnull(strstr(line, "\"outcome\":\"ok\""));
            size_t k = strlen(counted);
            counted[k] = strstr(line, "\"counted\":true") ? 'T' : 'F';
            counted[k + 1] = 0;
            ck_assert_ptr_nonnull(strstr(line, "\"peer_key\":\""));
        }
    }
    int st;
    ck_assert_int_eq(waitpid(cp.pid, &st, 0), cp.pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ck_assert_str_eq(counted, "FFTFTT");
    close(l);
    unlink(path);
    rmdir(dir);
}
END_TEST

static Suite *client_suite(void)
{
    Suite *s = suite_create("client");
    TCase *tc = tcase_create("until_accepting");
    tcase_add_test(tc, only_attempts_while_accepting_count);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return geteuid() == 0 ? pf_check_run(client_suite()) : 77;
}
