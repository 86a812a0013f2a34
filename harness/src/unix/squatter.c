/* squatter.c - the attacker process (see squatter.h).
 *
 * Lives beside client.c and reuses its privilege drop and descriptor
 * closing: an attacker that ran as root would prove nothing, since root
 * passes every permission check that stands between an account and the
 * endpoint's name.
 */
#include "squatter.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "server.h"
#include "../util.h"

#define REPLY "squatted\n"
/* How long the squatter listens to a client after its greeting: what a
 * client sends tells whether it trusted the squatter. A client that has
 * sent its request and read the greeting closes well within it; one that
 * holds the connection open silent costs at most this, once. */
#define LISTEN_MS 250

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The unix socket (path or abstract name), listening. Returns the fd or -1. */
static int make_socket(enum pf_endpoint_kind kind, const char *endpoint)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    socklen_t len = sizeof sa;
    size_t n = strlen(endpoint);
    if (n >= sizeof sa.sun_path - 1) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (kind == PF_EP_ABSTRACT) {
        memcpy(sa.sun_path + 1, endpoint, n);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    } else {
        memcpy(sa.sun_path, endpoint, n + 1);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 64) < 0 ||
        (kind == PF_EP_UNIX && chmod(endpoint, 0666) < 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* The FIFO, made 0666 and held open for reading (writers need a reader). */
static int make_fifo(const char *endpoint)
{
    if (mkfifo(endpoint, 0666) < 0 || chmod(endpoint, 0666) < 0)
        return -1;
    return open(endpoint, O_RDWR | O_NONBLOCK | O_CLOEXEC);
}

/* Bytes the client sent until it closed (or LISTEN_MS passed): its
 * request, if it trusted the squatter. */
static long long bytes_sent(int c)
{
    long long total = 0, end = mono_ns() + LISTEN_MS * 1000000LL;
    for (;;) {
        long long left = (end - mono_ns()) / 1000000LL;
        if (left <= 0)
            return total;
        struct pollfd p = {.fd = c, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return total;
        char b[512];
        ssize_t n = read(c, b, sizeof b);
        if (n <= 0)
            return total;
        total += n;
    }
}

static void serve(int out, int fd, bool fifo)
{
    for (;;) {
        if (fifo) {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            if (poll(&p, 1, -1) < 0 && errno != EINTR)
                _exit(3);
            char b[512];
            ssize_t n = read(fd, b, sizeof b);
            if (n > 0)
                pf_report_line(out, "{\"ev\":\"squatter_read\",\"bytes\":%zd}", n);
            continue;
        }
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            _exit(3);
        }
        struct ucred cred = {0, 0, 0};
        socklen_t clen = sizeof cred;
        getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &clen);
        if (write(c, REPLY, sizeof REPLY - 1) < 0) {
            /* the client left first: still a connection it made */
        }
        long long sent = bytes_sent(c);
        pf_report_line(out, "{\"ev\":\"squatter_connection\",\"peer_pid\":%d,\"peer_uid\":%u,"
            "\"bytes_received\":%lld}", (int)cred.pid, (unsigned)cred.uid, sent);
        close(c);
    }
}

static void squatter_main(const struct pf_user *u, enum pf_endpoint_kind kind,
                          const char *endpoint, bool wait_go, int out, int control)
{
    if (pf_close_inherited(out, control) < 0 || pf_drop_privileges(u) < 0) {
        pf_report_line(out, "{\"ev\":\"squatter_error\",\"message\":\"could not drop to %s (uid %d)\"}",
            u->name, (int)u->uid);
        _exit(3);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);   /* after the drop, which clears it */
    umask(0);
    if (wait_go) {
        char c;
        while (read(control, &c, 1) < 0 && errno == EINTR)
            ;
    }
    int fd = kind == PF_EP_FIFO ? make_fifo(endpoint) : make_socket(kind, endpoint);
    long long t = mono_ns();
    if (fd < 0) {
        int e = errno;
        pf_report_line(out, "{\"ev\":\"squat\",\"outcome\":\"%s\",\"errno\":%d,\"key\":null,\"t\":%lld}",
            strerrorname_np(e) ? strerrorname_np(e) : "error", e, t);
        _exit(0);
    }
    struct stat st;
    if (kind != PF_EP_ABSTRACT && lstat(endpoint, &st) == 0)
        pf_report_line(out, "{\"ev\":\"squat\",\"outcome\":\"ok\",\"errno\":0,\"key\":\"%lu:%lu\","
            "\"t\":%lld}", (unsigned long)st.st_dev, (unsigned long)st.st_ino, t);
    else
        pf_report_line(out, "{\"ev\":\"squat\",\"outcome\":\"ok\",\"errno\":0,\"key\":null,\"t\":%lld}", t);
    serve(out, fd, kind == PF_EP_FIFO);
}

static void parent_setup(struct pf_squatter *sq, const struct pf_attacker *a, pid_t pid)
{
    sq->spec = a;
    sq->pid = pid;
    setpgid(pid, pid);   /* also here: no window where it shares ours */
    sq->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
}

int pf_squatter_spawn(struct pf_squatter *sq, const struct pf_attacker *a,
                      const struct pf_user *u, enum pf_endpoint_kind kind,
                      const char *endpoint, bool wait_go, char *err, size_t errlen)
{
    int rep[2], ctl[2];
    memset(sq, 0, sizeof *sq);
    sq->report_fd = sq->control_fd = sq->pidfd = -1;
    if (pipe2(rep, O_CLOEXEC) < 0)
        goto fail;
    if (pipe2(ctl, O_CLOEXEC) < 0) {
        close(rep[0]), close(rep[1]);
        goto fail;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(rep[0]), close(rep[1]), close(ctl[0]), close(ctl[1]);
        goto fail;
    }
    if (pid == 0) {
        pf_child_detach(true);
        close(rep[0]);
        close(ctl[1]);
        squatter_main(u, kind, endpoint, wait_go, rep[1], ctl[0]);
        _exit(0);
    }
    close(rep[1]);
    close(ctl[0]);
    parent_setup(sq, a, pid);
    sq->report_fd = rep[0];
    sq->control_fd = ctl[1];
    fcntl(sq->report_fd, F_SETFL, O_NONBLOCK);
    fcntl(sq->control_fd, F_SETFL, O_NONBLOCK);
    return 0;
fail:
    snprintf(err, errlen, "cannot start the squatter for %s: %s", a->account, strerror(errno));
    return -1;
}

int pf_squatter_exec(struct pf_squatter *sq, const struct pf_attacker *a,
                     const struct pf_user *u, char *const argv[], const char *cwd,
                     mode_t umask_, const char *stdout_path, const char *stderr_path,
                     char *err, size_t errlen)
{
    memset(sq, 0, sizeof *sq);
    sq->report_fd = sq->control_fd = sq->pidfd = -1;
    sq->eof = true;
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = open(stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    int errf = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (in < 0 || out < 0 || errf < 0) {
        snprintf(err, errlen, "cannot open the attacker server's output files: %s",
                 strerror(errno));
        goto closing;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot start the server as %s: %s", a->account, strerror(errno));
        goto closing;
    }
    if (pid == 0) {
        pf_child_detach(false);   /* it execs the user's server */
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errf, 2) < 0 ||
            pf_close_inherited(0, 1) < 0 || pf_drop_privileges(u) < 0 || chdir(cwd) < 0)
            _exit(126);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        umask(umask_);
        pf_server_exec(argv, environ);
        _exit(127);
    }
    parent_setup(sq, a, pid);
    close(in), close(out), close(errf);
    return 0;
closing:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (errf >= 0)
        close(errf);
    return -1;
}

void pf_squatter_go(struct pf_squatter *sq)
{
    if (sq->told_go || sq->control_fd < 0)
        return;
    sq->told_go = true;
    if (write(sq->control_fd, "g", 1) < 0) {
        /* it is gone: its exit says so */
    }
}

void pf_squatter_stop(struct pf_squatter *sq)
{
    if (sq->pid > 0 && !sq->exited) {
        kill(-sq->pid, SIGKILL);
        kill(sq->pid, SIGKILL);
        pf_wait_child(sq->pid, &sq->status);
        sq->exited = true;
    }
    if (sq->pid > 0)
        kill(-sq->pid, SIGKILL);   /* anything of its group still there */
    if (sq->report_fd >= 0)
        close(sq->report_fd);
    if (sq->control_fd >= 0)
        close(sq->control_fd);
    if (sq->pidfd >= 0)
        close(sq->pidfd);
    sq->report_fd = sq->control_fd = sq->pidfd = -1;
}
