/* client.c - the client process: drop to an account, then attempt connects.
 *
 * Root passes every permission check, so a client that failed to drop its
 * privileges would make every permission test pass; the drop is verified
 * (uid, gid, groups, and that root cannot be regained) and a client that
 * cannot prove it runs as its account exits without attempting anything.
 *
 * The client is a fork of the root harness without exec, so it starts with
 * every descriptor the harness had (close-on-exec does not apply): the
 * server's seccomp listener, pidfds, the writable trace, other clients'
 * pipes. It closes all of them but its own two pipes and stdio before it
 * drops privileges.
 */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../faults.h"
#include "peer.h"

int pf_drop_privileges(const struct pf_user *u)
{
    if (setgroups(u->ngroups, u->groups) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
        setresuid(u->uid, u->uid, u->uid) < 0)
        return -1;
    uid_t r, e, s;
    gid_t rg, eg, sg;
    if (getresuid(&r, &e, &s) < 0 || r != u->uid || e != u->uid || s != u->uid)
        return -1;
    if (getresgid(&rg, &eg, &sg) < 0 || rg != u->gid || eg != u->gid || sg != u->gid)
        return -1;
    gid_t have[64];
    int n = getgroups(64, have);
    if (n < 0 || (size_t)n != u->ngroups)
        return -1;
    for (int i = 0; i < n; i++)
        if (have[i] != u->groups[i])
            return -1;
    if (u->uid != 0 && setuid(0) == 0)
        return -1;
    return 0;
}

void pf_child_detach(bool ignore_sigpipe)
{
    setpgid(0, 0);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, ignore_sigpipe ? SIG_IGN : SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int pf_close_inherited(int a, int b)
{
    int lo = a < b ? a : b, hi = a < b ? b : a;
    unsigned int ranges[3][2] = {{3, (unsigned)lo - 1}, {(unsigned)lo + 1, (unsigned)hi - 1},
                                 {(unsigned)hi + 1, ~0U}};
    bool ok = true;
    for (int i = 0; i < 3 && ok; i++)
        if (ranges[i][0] <= ranges[i][1] && lo >= 3)
            ok = syscall(SYS_close_range, ranges[i][0], ranges[i][1], 0) == 0;
    if (ok && lo >= 3)
        return 0;
    /* No close_range (Linux < 5.9), or a kept fd below 3: walk the table. */
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    struct dirent *e;
    int self = dirfd(d);
    while ((e = readdir(d))) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || fd <= 2 || fd == a || fd == b || fd == self)
            continue;
        close((int)fd);
    }
    closedir(d);
    return 0;
}

/* With PIPEFAULT_CLIENT_REPORT_FDS=1 in the harness's environment, a client
 * reports its open descriptors (as it sees them in /proc/self/fd, after the
 * drop), so that a test can check that it holds nothing of the harness's. */
static void report_fds(int out, const char *label)
{
    const char *want = getenv("PIPEFAULT_CLIENT_REPORT_FDS");
    if (!want || strcmp(want, "1"))
        return;
    char line[900];
    size_t n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == self)
            continue;
        char path[64], target[128];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof target - 1);
        target[len > 0 ? len : 0] = 0;
        for (char *c = target; *c; c++)
            if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
                *c = '?';
        int w = snprintf(line + n, sizeof line - n, "%s{\"fd\":%s,\"target\":\"%s\"}",
                         n ? "," : "", e->d_name, target);
        if (w < 0 || (size_t)w >= sizeof line - n)
            break;
        n += (size_t)w;
    }
    closedir(d);
    pf_report_line(out, "{\"ev\":\"client_fds\",\"client\":\"%s\",\"pid\":%d,\"fds\":[%s]}", label,
           getpid(), line);
}

static const char *outcome_name(int err, char buf[16])
{
    switch (err) {
    case 0: return "ok";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ENOENT: return "ENOENT";
    case ENXIO: return "ENXIO";
    case EAGAIN: return "EAGAIN";
    case ENOTSOCK: return "ENOTSOCK";
    case ECONNRESET: return "ECONNRESET";
    case EPIPE: return "EPIPE";
    case EPROTOTYPE: return "EPROTOTYPE";
    default:
        snprintf(buf, 16, "errno:%d", err);
        return buf;
    }
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(int64_t abs_ns)
{
    struct timespec ts = {abs_ns / 1000000000LL, abs_ns % 1000000000LL};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

void pf_report_line(int fd, const char *fmt, ...)
{
    /* One write of at most PIPE_BUF bytes is atomic on a pipe. */
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof line - 1) {
        /* Never a silently missing line: the harness sees the error and
         * the scenario ends in `error`. */
        static const char err[] = "{\"ev\":\"client_error\",\"message\":\"a report line "
                                  "was longer than 4096 bytes\"}\n";
        if (write(fd, err, sizeof err - 1) < 0)
            _exit(3);
        _exit(3);
    }
    line[n++] = '\n';
    if (write(fd, line, (size_t)n) < 0)
        _exit(3);
}

/* Tells the harness how a connect or open ended, at once: holds elsewhere
 * wait for exactly this, and must not also wait for the server's answer. */
static int64_t connected_at;   /* when the last connect/open returned */

static int tell_outcome(int out, int err)
{
    char buf[16];
    pf_report_line(out, "{\"ev\":\"outcome\",\"outcome\":\"%s\",\"t_end\":%lld}",
           outcome_name(err, buf), (long long)connected_at);
    return err;
}

/* Which endpoint inode served a connection: its `dev:ino`, or why not. */
struct peer {
    char key[64];
    const char *missing;
    pid_t pid;          /* SO_PEERCRED: who listened on the socket; 0 unknown */
};

/* What came back after the connect, as the attempt event's `reply` says:
 * none (nothing was read: protocol connect, a FIFO, or no connection),
 * matched (reply: any bytes; send: bytes starting with `expect`, or any
 * bytes without it), mismatch, eof (closed before a matching reply) or
 * timeout (read_timeout passed first). */
enum reply_outcome { REPLY_NONE, REPLY_MATCHED, REPLY_MISMATCH, REPLY_EOF, REPLY_TIMEOUT };
static const char *const reply_names[] = {"none", "matched", "mismatch", "eof", "timeout"};

enum { REPLY_HEAD = 32 };   /* bytes of the reply shown in the trace */

struct reply {
    enum reply_outcome outcome;
    char head[REPLY_HEAD];
    size_t nhead;
};

/* Writes all of `data` before `deadline`; false when the server's end is
 * closed or the time ran out. */
static bool send_all(int fd, const char *data, size_t len, int64_t deadline)
{
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            return false;
        int64_t left = deadline - now_ns();
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        struct timespec ts = {left / 1000000000LL, left % 1000000000LL};
        if (left <= 0 || ppoll(&p, 1, &ts, NULL) == 0)
            return false;
    }
    return true;
}

/* Reads until the reply decides the outcome (see enum reply_outcome), the
 * server closes its end, or `deadline`. Stops at the first bytes that
 * decide it, so a server that keeps its end open costs no timeout. */
static void read_reply(int fd, const char *expect, int64_t deadline, struct reply *r)
{
    size_t want = expect ? strlen(expect) : 1;
    char buf[1024];
    size_t got = 0;
    for (;;) {
        int64_t left = deadline - now_ns();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        struct timespec ts = {left > 0 ? left / 1000000000LL : 0,
                              left > 0 ? left % 1000000000LL : 0};
        int ready = ppoll(&p, 1, &ts, NULL);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0) {
            r->outcome = REPLY_TIMEOUT;
            return;
        }
        ssize_t n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {   /* end of file, or ECONNRESET: the server closed */
            r->outcome = got ? REPLY_MISMATCH : REPLY_EOF;
            return;
        }
        size_t take = (size_t)n;
        if (r->nhead < REPLY_HEAD) {
            size_t room = REPLY_HEAD - r->nhead;
            memcpy(r->head + r->nhead, buf + got, take < room ? take : room);
            r->nhead += take < room ? take : room;
        }
        if (expect && memcmp(buf + got, expect + got, take)) {
            r->outcome = REPLY_MISMATCH;
            return;
        }
        got += take;
        if (got >= want) {
            r->outcome = REPLY_MATCHED;
            return;
        }
    }
}

/* After a connection was made: the client's protocol (`reply`, `connect`
 * or `send`). Returns whether the server served it: the reply matched. */
static bool converse(int fd, const struct pf_client *spec, struct reply *r)
{
    int64_t deadline = now_ns() + spec->read_timeout_ns;
    switch (spec->protocol) {
    case PF_PROTO_CONNECT:
        return false;
    case PF_PROTO_SEND:
        if (!send_all(fd, spec->send, strlen(spec->send), deadline)) {
            r->outcome = now_ns() >= deadline ? REPLY_TIMEOUT : REPLY_EOF;
            return false;
        }
        read_reply(fd, spec->expect, deadline, r);
        break;
    case PF_PROTO_REPLY:
        read_reply(fd, NULL, deadline, r);
        break;
    }
    return r->outcome == REPLY_MATCHED;
}

/* A FIFO has no reply: `reply` writes a line, `send` its bytes, `connect`
 * nothing; served means the write went through. */
static bool write_fifo(int fd, const struct pf_client *spec)
{
    if (spec->protocol == PF_PROTO_CONNECT)
        return false;
    const char *data = spec->protocol == PF_PROTO_SEND ? spec->send : "hello\n";
    size_t len = strlen(data);
    return write(fd, data, len) == (ssize_t)len;
}

/* The scenario does not say the endpoint's socket type (stream, seqpacket
 * or datagram), and the client should not guess it from timing. A connect
 * to a socket of another type fails with EPROTOTYPE, and only after the
 * kernel's permission check let it through, so the client tries the next
 * type at once and keeps the one that connected for its later attempts.
 * Returns the connected fd, or -1 with the errno of the last try in *err. */
static size_t sock_type_at;   /* index into sock_types: the one last connected */

static int connect_typed(const struct sockaddr_un *sa, socklen_t len, int *err)
{
    static const int sock_types[] = {SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM};
    size_t ntypes = sizeof sock_types / sizeof *sock_types;
    for (size_t tries = 0; tries < ntypes; tries++) {
        int fd = socket(AF_UNIX, sock_types[sock_type_at] | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            *err = errno;
            return -1;
        }
        if (connect(fd, (const struct sockaddr *)sa, len) == 0)
            return fd;
        *err = errno;
        close(fd);
        if (*err != EPROTOTYPE)
            return -1;
        sock_type_at = (sock_type_at + 1) % ntypes;
    }
    return -1;
}

/* One connect (socket) or open (FIFO); returns errno (0 ok), whether the
 * server served it, what came back, and, for a connection made, which
 * inode served it. The inode is asked for before anything else: the
 * server's end may be gone once it has answered. */
static int attempt_once(const struct pf_plan_client *pc, const struct pf_client_env *env,
                        int out, bool *served, struct peer *peer, struct reply *r)
{
    *served = false;
    peer->key[0] = 0;
    peer->missing = NULL;
    peer->pid = 0;
    if (env->sc->endpoint.kind == PF_EP_FIFO) {
        int fd = open(env->endpoint, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        connected_at = now_ns();
        if (fd < 0)
            return tell_outcome(out, errno);
        if (pf_peer_fifo_key(fd, peer->key, sizeof peer->key, &peer->missing) < 0)
            peer->key[0] = 0;
        tell_outcome(out, 0);
        *served = write_fifo(fd, pc->spec);
        close(fd);
        return 0;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    socklen_t len;
    if (env->sc->endpoint.kind == PF_EP_ABSTRACT) {
        size_t n = strlen(env->endpoint);
        memcpy(sa.sun_path + 1, env->endpoint, n);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    } else {
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", env->endpoint);
        len = sizeof sa;
    }
    int e = 0;
    int fd = connect_typed(&sa, len, &e);
    connected_at = now_ns();
    if (fd < 0)
        return tell_outcome(out, e);
    /* The process that called listen() on the socket that served us. */
    struct ucred cred;
    socklen_t clen = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0 && cred.pid > 0)
        peer->pid = cred.pid;
    if (env->sc->endpoint.kind == PF_EP_ABSTRACT)
        peer->missing = "abstract";   /* no file: nothing to name */
    else if (pf_peer_socket_key(fd, peer->key, sizeof peer->key, &peer->missing) < 0)
        peer->key[0] = 0;
    tell_outcome(out, 0);
    *served = converse(fd, pc->spec, r);
    close(fd);
    return 0;
}

/* The reply's first bytes as JSON string content: printable ASCII as is,
 * anything else as \xNN (so the trace stays valid UTF-8). */
static void reply_head_text(const struct reply *r, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nhead && n + 6 < cap; i++) {
        unsigned char c = (unsigned char)r->head[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, cap - n, "\\\\x%02x", c);
    }
    out[n] = 0;
}

/* The control pipe, harness to client, one byte per message:
 *   'r'  release the hold the client waits in;
 *   'A'  an endpoint instance is accepting (clients with `until: accepting`
 *        count the attempts they make from now on);
 *   'N'  no endpoint instance is accepting any more.
 * Returns true if a release was read. `wait`: block until one is. */
static bool endpoint_accepting;

static bool read_control(int control, bool wait)
{
    for (;;) {
        char c;
        ssize_t n = read(control, &c, 1);
        if (n == 1) {
            if (c == 'A')
                endpoint_accepting = true;
            else if (c == 'N')
                endpoint_accepting = false;
            else if (c == 'r')
                return true;
            continue;
        }
        if (n == 0)
            return true;   /* the harness is gone: nothing will release us */
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN || !wait)
            return false;
        struct pollfd p = {.fd = control, .events = POLLIN};
        poll(&p, 1, -1);
    }
}

/* Applies this account's client-side faults before an attempt, the way the
 * supervisor does for the server: every rule counts the occurrence, delays
 * and holds are served in rule order, and if any `fail` fired the attempt
 * fails with the first one's errno. Returns that errno, or 0 to go ahead. */
static int client_faults(const struct pf_plan_client *pc, const struct pf_client_env *env,
                         struct pf_fault_state *st, int out, int control)
{
    const struct pf_scenario *sc = env->sc;
    enum pf_fault_op op = sc->endpoint.kind == PF_EP_FIFO ? PF_OP_OPEN : PF_OP_CONNECT;
    int fail_err = 0;
    for (size_t i = 0; i < sc->nfaults; i++) {
        const struct pf_fault *f = &sc->faults[i];
        if (f->op != op || strcmp(f->target, pc->account->name))
            continue;
        struct pf_fault_decision d = pf_fault_decide(f, &st[i]);
        int64_t t = now_ns() - env->trace_start_ns;
        const char *action = pf_fault_action_name(f->action);
        if (!d.fire) {
            pf_report_line(out, "{\"ev\":\"fault\",\"t\":%lld,\"pid\":%d,\"tid\":%d,\"op\":\"%s\","
                   "\"phase\":\"before\",\"action\":\"%s\",\"rule\":%zu,\"decision\":\"skipped\","
                   "\"reason\":\"%s\",\"client\":\"%s\"}",
                   (long long)t, getpid(), getpid(), pf_fault_op_name(op), action, i,
                   d.reason ? d.reason : "", pc->label);
            continue;
        }
        if (d.action == PF_ACT_FAIL) {
            pf_report_line(out, "{\"ev\":\"fault\",\"t\":%lld,\"pid\":%d,\"tid\":%d,\"op\":\"%s\","
                   "\"phase\":\"before\",\"action\":\"fail\",\"rule\":%zu,\"decision\":\"failed\","
                   "\"errno\":%d,\"client\":\"%s\"}",
                   (long long)t, getpid(), getpid(), pf_fault_op_name(op), i, d.err, pc->label);
            if (!fail_err)
                fail_err = d.err;
            continue;
        }
        if (d.action == PF_ACT_DELAY) {
            pf_report_line(out, "{\"ev\":\"fault\",\"t\":%lld,\"pid\":%d,\"tid\":%d,\"op\":\"%s\","
                   "\"phase\":\"before\",\"action\":\"delay\",\"rule\":%zu,\"decision\":\"delayed\","
                   "\"delay_ns\":%lld,\"client\":\"%s\"}",
                   (long long)t, getpid(), getpid(), pf_fault_op_name(op), i,
                   (long long)d.delay_ns, pc->label);
            sleep_until(t + env->trace_start_ns + d.delay_ns);
            continue;
        }
        /* hold: ask the harness, wait for its one-byte release */
        pf_report_line(out, "{\"ev\":\"hold\",\"rule\":%zu,\"t\":%lld}", i, (long long)now_ns());
        read_control(control, true);
    }
    return fail_err;
}

static void client_main(const struct pf_plan_client *pc, const struct pf_user *u,
                        const struct pf_client_env *env, int out, int control)
{
    if (pf_close_inherited(out, control) < 0) {
        pf_report_line(out, "{\"ev\":\"client_error\",\"message\":\"could not close the "
               "harness's descriptors\"}");
        _exit(3);
    }
    if (pf_drop_privileges(u) < 0) {
        pf_report_line(out, "{\"ev\":\"client_error\",\"message\":\"could not drop to %s (uid %d)\"}",
               u->name, (int)u->uid);
        _exit(3);
    }
    /* Set after the drop: changing credentials clears the death signal. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    report_fds(out, pc->label);
    fcntl(control, F_SETFL, O_NONBLOCK);
    const struct pf_scenario *sc = env->sc;
    struct pf_fault_state st[sc->nfaults ? sc->nfaults : 1];
    for (size_t i = 0; i < sc->nfaults; i++)
        pf_fault_state_init(&st[i], pc->seed, i);

    /* With `until: accepting`, only attempts made while the harness has
     * said an instance is accepting count towards `attempts`. */
    bool until_accepting = pc->spec->until_accepting;
    int64_t next = env->start_ns + pc->spec->start_ns;
    const char *op = sc->endpoint.kind == PF_EP_FIFO ? "open" : "connect";
    for (int counted = 0; counted < pc->spec->attempts;) {
        sleep_until(next);
        if (now_ns() >= env->deadline_ns) {
            /* Out of time before the schedule was done: say so, or the
             * harness would take an unfinished schedule for a finished one. */
            pf_report_line(out, "{\"ev\":\"deadline\",\"attempts_left\":%d}",
                   pc->spec->attempts - counted);
            break;
        }
        int injected = client_faults(pc, env, st, out, control);
        read_control(control, false);
        bool counts = !until_accepting || endpoint_accepting;
        int64_t t0 = now_ns();
        bool served = false;
        struct peer peer = {{0}, NULL, 0};
        struct reply reply = {REPLY_NONE, {0}, 0};
        int err = injected ? injected : attempt_once(pc, env, out, &served, &peer, &reply);
        int64_t t1 = now_ns();
        /* The harness's word that an instance accepts comes as its listen
         * is let go, a moment before it runs: the attempt itself says when
         * nothing was accepting yet (no name, no listener, no reader). */
        if (!injected && (err == ENOENT || err == ECONNREFUSED || err == ENXIO))
            counts = !until_accepting;
        int64_t t_end = injected ? t1 : connected_at;
        char buf[16], evidence[160] = "";
        if (peer.key[0])
            snprintf(evidence, sizeof evidence, ",\"peer_key\":\"%s\"", peer.key);
        else if (peer.missing)
            snprintf(evidence, sizeof evidence, ",\"peer_key\":null,\"peer_key_missing\":\"%s\"",
                     peer.missing);
        char reply_field[REPLY_HEAD * 5 + 40] = "";
        if (reply.nhead) {
            char head[REPLY_HEAD * 5 + 1];
            reply_head_text(&reply, head, sizeof head);
            snprintf(reply_field, sizeof reply_field, ",\"reply_head\":\"%s\"", head);
        }
        if (peer.pid > 0) {
            size_t used = strlen(evidence);
            snprintf(evidence + used, sizeof evidence - used, ",\"peer_pid\":%d", (int)peer.pid);
        }
        char counted_field[32] = "";
        if (until_accepting)
            snprintf(counted_field, sizeof counted_field, ",\"counted\":%s",
                     counts ? "true" : "false");
        /* t..t_end brackets the connect (where permissions are checked);
         * t_done is when the client stopped waiting to be served. */
        pf_report_line(out, "{\"ev\":\"attempt\",\"t\":%lld,\"t_end\":%lld,\"t_done\":%lld,"
               "\"client\":\"%s\",\"account\":\"%s\",\"pid\":%d,\"op\":\"%s\","
               "\"outcome\":\"%s\",\"errno\":%d,\"served\":%s,\"injected\":%s,"
               "\"protocol\":\"%s\",\"reply\":\"%s\"%s%s%s}",
               (long long)(t0 - env->trace_start_ns), (long long)(t_end - env->trace_start_ns),
               (long long)(t1 - env->trace_start_ns),
               pc->label, pc->account->name, getpid(), op, outcome_name(err, buf), err,
               served ? "true" : "false", injected ? "true" : "false",
               pf_client_protocol_name(pc->spec->protocol), reply_names[reply.outcome],
               reply_field, evidence, counted_field);
        if (counts)
            counted++;
        next = t1 + pc->spec->interval_ns;
    }
    _exit(0);
}

int pf_client_spawn(struct pf_client_proc *cp, const struct pf_plan_client *pc,
                    const struct pf_user *u, const struct pf_client_env *env,
                    char *err, size_t errlen)
{
    int rep[2], ctl[2];
    if (pipe2(rep, O_CLOEXEC) < 0)
        goto fail;
    if (pipe2(ctl, O_CLOEXEC) < 0) {
        close(rep[0]);
        close(rep[1]);
        goto fail;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(rep[0]), close(rep[1]), close(ctl[0]), close(ctl[1]);
        goto fail;
    }
    if (pid == 0) {
        /* A terminal Ctrl-C reaches the harness only, which then stops
         * clients in order. */
        pf_child_detach(true);
        close(rep[0]);
        close(ctl[1]);
        client_main(pc, u, env, rep[1], ctl[0]);
    }
    close(rep[1]);
    close(ctl[0]);
    memset(cp, 0, sizeof *cp);
    cp->pid = pid;
    cp->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    cp->report_fd = rep[0];
    cp->control_fd = ctl[1];
    cp->plan = pc;
    cp->held_rule = -1;
    fcntl(cp->report_fd, F_SETFL, O_NONBLOCK);
    /* Never block the harness's loop on a client that stopped reading. */
    fcntl(cp->control_fd, F_SETFL, O_NONBLOCK);
    return 0;
fail:
    snprintf(err, errlen, "cannot start client %s: %s", pc->label, strerror(errno));
    return -1;
}
