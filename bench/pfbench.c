/* pfbench.c - what watching a server costs: connections per second through
 * an accept-and-reply unix socket server, uninstrumented, under the seccomp
 * supervisor, and under strace's zero-delay injection.
 *
 * One run measures every mode, several rounds each, the rounds of all modes
 * interleaved (the best and the median round are reported; slowdowns
 * compare best rounds), with the same client load: one client process making N
 * sequential connections, each connect + read "ok\n" + close. The client is
 * a separate process so that the supervised mode's poll loop runs exactly
 * as it does in the harness (single-threaded, dispatch/tick) while it
 * serves the server's notifications.
 *
 * Usage: pfbench [--conns N] [--rounds R] [--server PATH]
 *   --server: an accept-and-reply server taking --endpoint PATH (default:
 *   ok_server beside this program; fixtures/posix/chmod_before_listen works).
 * No result is asserted: the figures are for reading.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events.h"
#include "scenario.h"
#include "unix/supervisor.h"

enum mode {
    M_PLAIN,        /* uninstrumented */
    M_SUPERVISED,   /* supervisor, default observation set, no faults */
    M_SUP_ACCEPT,   /* supervisor with a zero delay on accept: a round trip
                       per connection, the worst case of per-call cost */
    M_STRACE,       /* strace -f, zero-delay injection on listen */
    M_STRACE_BPF,   /* the same with --seccomp-bpf (stops only at listen) */
    M__COUNT
};

static const char *const mode_names[] = {
    "uninstrumented",
    "supervisor, no faults",
    "supervisor, delay 0 on accept",
    "strace -f inject listen",
    "strace -f --seccomp-bpf inject listen",
};

struct bench {
    char dir[64];
    char endpoint[PATH_MAX];
    const char *server;
    long conns;
};

static int64_t now_ns(void)
{
    return pf_clock_ns();
}

static void die(const char *what)
{
    fprintf(stderr, "pfbench: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ---- client ------------------------------------------------------------ */

static int connect_once(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Runs in its own process: waits for the server to accept, then makes
 * `conns` connections and writes the elapsed ns (or -1) to `out`. */
static void client(const struct bench *b, int out)
{
    int64_t give_up = now_ns() + 10LL * 1000000000;
    int fd;
    while ((fd = connect_once(b->endpoint)) < 0) {
        if (now_ns() > give_up)
            _exit(1);
        usleep(1000); /* waiting for the server to start, not measured */
    }
    close(fd);
    int64_t t0 = now_ns();
    for (long i = 0; i < b->conns; i++) {
        char buf[8];
        fd = connect_once(b->endpoint);
        if (fd < 0 || read(fd, buf, sizeof buf) != 3 || memcmp(buf, "ok\n", 3)) {
            int64_t bad = -1;
            if (write(out, &bad, sizeof bad) < 0)
                _exit(1);
            _exit(1);
        }
        close(fd);
    }
    int64_t dt = now_ns() - t0;
    if (write(out, &dt, sizeof dt) != (ssize_t)sizeof dt)
        _exit(1);
    _exit(0);
}

/* ---- the supervised mode's loop --------------------------------------- */

/* A stand-in for the harness's observer: the endpoint path is relevant and
 * is stat'ed (as the observer does), everything else is not. */
static int observe(void *ctx, const struct pf_sc_event *e)
{
    const struct bench *b = ctx;
    if (strcmp(e->path, b->endpoint) != 0)
        return -1;
    struct stat st;
    return lstat(b->endpoint, &st) == 0 ? 1 : 0;
}

/* ---- one round ---------------------------------------------------------- */

static pid_t spawn_server(const struct bench *b, enum mode m, unsigned ops,
                          int sup_sock)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid > 0)
        return pid;
    setpgid(0, 0);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0)
        dup2(null, 1);
    char *srv = (char *)b->server, *ep = (char *)b->endpoint;
    if (m == M_SUPERVISED || m == M_SUP_ACCEPT) {
        if (pf_supervisor_install(ops, sup_sock) < 0)
            _exit(126);
        char *argv[] = { srv, "--endpoint", ep, NULL };
        execv(srv, argv);
    } else if (m == M_STRACE || m == M_STRACE_BPF) {
        char *argv[] = { "strace", "-f", "-o", "/dev/null", "-e", "trace=listen",
                         "-e", "inject=listen:delay_enter=0",
                         m == M_STRACE_BPF ? "--seccomp-bpf" : "-q",
                         srv, "--endpoint", ep, NULL };
        execvp("strace", argv);
    } else {
        char *argv[] = { srv, "--endpoint", ep, NULL };
        execv(srv, argv);
    }
    _exit(127);
}

/* Connections per second of one round, or -1. */
static double round_cps(const struct bench *b, enum mode m)
{
    struct pf_scenario sc;
    struct pf_fault fault;
    memset(&sc, 0, sizeof sc);
    memset(&fault, 0, sizeof fault);
    sc.name = "bench";
    sc.endpoint.kind = PF_EP_UNIX;
    if (m == M_SUP_ACCEPT) {
        fault.op = PF_OP_ACCEPT;
        fault.phase = PF_PHASE_BEFORE;
        fault.action = PF_ACT_DELAY;
        fault.when_first = 1;
        fault.when_onwards = true;
        fault.probability = 1.0;
        fault.target = "server";
        sc.faults = &fault;
        sc.nfaults = 1;
    }
    unlink(b->endpoint);
    int sv[2] = { -1, -1 };
    bool supervised = m == M_SUPERVISED || m == M_SUP_ACCEPT;
    if (supervised &&
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        die("socketpair");
    pid_t server = spawn_server(b, m, pf_supervisor_ops(&sc), sv[1]);
    struct pf_supervisor *sup = NULL;
    if (supervised) {
        close(sv[1]);
        struct pf_supervisor_hooks hooks = { .ctx = (void *)b,
                                             .observe = observe };
        sup = pf_supervisor_start(sv[0], &sc, 1, NULL, &hooks);
        close(sv[0]);
        if (!sup)
            die("supervisor start");
    }

    int res[2];
    if (pipe2(res, O_CLOEXEC) < 0)
        die("pipe");
    pid_t cl = fork();
    if (cl < 0)
        die("fork");
    if (cl == 0) {
        close(res[0]);
        client(b, res[1]);
    }
    close(res[1]);

    int64_t dt = -1;
    for (;;) {
        struct pollfd pfd[2] = {
            { .fd = res[0], .events = POLLIN },
            { .fd = sup ? pf_supervisor_fd(sup) : -1, .events = POLLIN },
        };
        int timeout = 1000;
        int64_t d = sup ? pf_supervisor_next_deadline(sup) : -1;
        if (d >= 0) {
            int64_t ms = (d - now_ns() + 999999) / 1000000;
            timeout = ms < 0 ? 0 : ms < timeout ? (int)ms : timeout;
        }
        int n = poll(pfd, 2, timeout);
        if (n < 0 && errno != EINTR)
            die("poll");
        if (sup && n > 0 && pfd[1].revents)
            pf_supervisor_dispatch(sup);
        if (sup)
            pf_supervisor_tick(sup);
        if (n > 0 && pfd[0].revents) {
            if (read(res[0], &dt, sizeof dt) != (ssize_t)sizeof dt)
                dt = -1;
            break;
        }
    }
    close(res[0]);
    waitpid(cl, NULL, 0);
    kill(-server, SIGKILL);
    if (sup) {
        /* Answer whatever the dying server still waits on. */
        pf_supervisor_dispatch(sup);
        pf_supervisor_free(sup);
    }
    waitpid(server, NULL, 0);
    unlink(b->endpoint);
    return dt > 0 ? (double)b->conns * 1e9 / (double)dt : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool have_strace(void)
{
    return system("strace -V >/dev/null 2>&1") == 0;
}

int main(int argc, char **argv)
{
    struct bench b = { .conns = 20000 };
    int rounds = 7;
    static char own_server[PATH_MAX + 16];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--conns") && i + 1 < argc)
            b.conns = atol(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--server") && i + 1 < argc)
            b.server = argv[++i];
        else {
            fprintf(stderr, "usage: pfbench [--conns N] [--rounds R] "
                            "[--server PATH]\n");
            return 2;
        }
    }
    if (b.conns < 1 || rounds < 1 || rounds > 99) {
        fprintf(stderr, "pfbench: --conns and --rounds want positive numbers\n");
        return 2;
    }
    if (!b.server) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n < 0)
            die("readlink /proc/self/exe");
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        *slash = '\0';
        snprintf(own_server, sizeof own_server, "%s/ok_server", self);
        b.server = own_server;
    }
    if (access(b.server, X_OK) != 0)
        die(b.server);
    const char *why = pf_supervisor_unsupported();
    if (why) {
        fprintf(stderr, "pfbench: %s\n", why);
        return 1;
    }
    snprintf(b.dir, sizeof b.dir, "/tmp/pfbench-XXXXXX");
    if (!mkdtemp(b.dir))
        die("mkdtemp");
    snprintf(b.endpoint, sizeof b.endpoint, "%s/sock", b.dir);
    signal(SIGPIPE, SIG_IGN);

    bool strace_ok = have_strace();
    double median[M__COUNT], cps[M__COUNT][99];
    int ok[M__COUNT] = { 0 };
    printf("pfbench: %ld connections x %d rounds per mode, server %s\n",
           b.conns, rounds, b.server);
    /* Rounds interleave the modes, so that load from anything else on the
     * machine spreads over all of them rather than skewing one. */
    for (int r = 0; r < rounds; r++)
        for (int m = 0; m < M__COUNT; m++) {
            if ((m == M_STRACE || m == M_STRACE_BPF) && !strace_ok)
                continue;
            double v = round_cps(&b, (enum mode)m);
            if (v > 0)
                cps[m][ok[m]++] = v;
        }
    double best[M__COUNT];
    for (int m = 0; m < M__COUNT; m++) {
        median[m] = best[m] = -1;
        if (ok[m] == 0)
            continue;
        qsort(cps[m], (size_t)ok[m], sizeof cps[m][0], cmp_double);
        median[m] = cps[m][ok[m] / 2];
        best[m] = cps[m][ok[m] - 1];
    }
    rmdir(b.dir);

    /* The best round is the one least disturbed by anything else running:
     * the slowdowns compare best rounds; medians show the spread. */
    printf("\n%-40s %12s %12s %10s\n", "mode", "best conn/s", "median", "slowdown");
    for (int m = 0; m < M__COUNT; m++) {
        if (best[m] < 0) {
            printf("%-40s %12s %12s %10s\n", mode_names[m], "n/a", "n/a",
                   (m == M_STRACE || m == M_STRACE_BPF) && !strace_ok
                   ? "(no strace)" : "(failed)");
            continue;
        }
        printf("%-40s %12.0f %12.0f %9.2fx\n", mode_names[m], best[m], median[m],
               best[M_PLAIN] > 0 ? best[M_PLAIN] / best[m] : 0.0);
    }
    if (best[M_PLAIN] > 0 && best[M_SUPERVISED] > 0 && best[M_STRACE] > 0)
        printf("\nslowdown: supervisor %.2fx   strace %.2fx\n",
               best[M_PLAIN] / best[M_SUPERVISED],
               best[M_PLAIN] / best[M_STRACE]);
    return 0;
}
