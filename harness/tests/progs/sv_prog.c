/* sv_prog.c - a scripted endpoint server for test_supervisor.
 *
 * Runs the endpoint operations named on its command line, in order, and
 * prints one line per operation with its result, so that the test can check
 * what the program itself saw (errno of a failed call, time spent in a
 * delayed call, its own pid and tid) against what the supervisor reported:
 *
 *   <op> rc=<rc> errno=<errno> pid=<pid> tid=<tid> ns=<time in the call>
 *
 * Operations: chdir DIR | bind PATH | abind NAME | listen | chmod PATH OCTAL |
 * fchmod OCTAL | mkfifo PATH OCTAL | open PATH | close | unlink PATH |
 * rename OLD NEW | creds UID GID (no supplementary groups, then
 * setresgid, setresuid) | thread (next operation runs in a new thread) |
 * fork (the rest runs in a child; the parent waits for it) |
 * sigusr1 (from now on SIGUSR1 runs a handler, with SA_RESTART, that
 * prints "signal").
 * Built twice: dynamically and with -static.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int sock = -1;   /* the socket of the last bind */
static int fifo = -1;   /* the fd of the last open */

struct op {
    char **argv;        /* the operation and its arguments */
    int rc, err;
    long long ns;
    int used;           /* argv words it took */
};

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int bind_to(const char *name, int abstract)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    size_t len = strlen(name);
    if (len + 2 > sizeof sun.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sun.sun_path + (abstract ? 1 : 0), name, len);
    sock = socket(AF_UNIX, SOCK_STREAM, 0);
    if (sock < 0)
        return -1;
    socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
                               (abstract ? 1 : 0));
    return bind(sock, (struct sockaddr *)&sun, sl);
}

/* Runs one operation; returns how many argv words it used. */
static int run(struct op *o)
{
    char **a = o->argv;
    int used = 1;
    long long t0 = now_ns();
    errno = 0;
    if (!strcmp(a[0], "chdir")) {
        o->rc = chdir(a[1]), used = 2;
    } else if (!strcmp(a[0], "bind")) {
        o->rc = bind_to(a[1], 0), used = 2;
    } else if (!strcmp(a[0], "abind")) {
        o->rc = bind_to(a[1], 1), used = 2;
    } else if (!strcmp(a[0], "listen")) {
        o->rc = listen(sock, 8);
    } else if (!strcmp(a[0], "chmod")) {
        o->rc = chmod(a[1], (mode_t)strtol(a[2], NULL, 8)), used = 3;
    } else if (!strcmp(a[0], "fchmod")) {
        o->rc = fchmod(sock, (mode_t)strtol(a[1], NULL, 8)), used = 2;
    } else if (!strcmp(a[0], "mkfifo")) {
        o->rc = mkfifo(a[1], (mode_t)strtol(a[2], NULL, 8)), used = 3;
    } else if (!strcmp(a[0], "open")) {
        o->rc = fifo = open(a[1], O_RDWR | O_NONBLOCK), used = 2;
    } else if (!strcmp(a[0], "close")) {
        o->rc = close(fifo >= 0 ? fifo : sock);
    } else if (!strcmp(a[0], "unlink")) {
        o->rc = unlink(a[1]), used = 2;
    } else if (!strcmp(a[0], "rename")) {
        o->rc = rename(a[1], a[2]), used = 3;
    } else if (!strcmp(a[0], "creds")) {
        uid_t uid = (uid_t)strtoul(a[1], NULL, 10);
        gid_t gid = (gid_t)strtoul(a[2], NULL, 10);
        o->rc = setgroups(0, NULL);
        if (o->rc == 0)
            o->rc = setresgid(gid, gid, gid);
        if (o->rc == 0)
            o->rc = setresuid(uid, uid, uid);
        used = 3;
    } else {
        fprintf(stderr, "sv_prog: unknown operation %s\n", a[0]);
        exit(2);
    }
    o->err = o->rc < 0 ? errno : 0;
    o->ns = now_ns() - t0;
    printf("%s rc=%d errno=%d pid=%d tid=%d ns=%lld\n", a[0], o->rc < 0 ? -1 : 0,
           o->err, (int)getpid(), (int)gettid(), o->ns);
    fflush(stdout);
    return used;
}

static void on_sigusr1(int sig)
{
    static const char msg[] = "signal\n";
    (void)sig;
    if (write(1, msg, sizeof msg - 1) < 0)
        _exit(3);
}

static void *run_thread(void *arg)
{
    struct op *o = arg;
    o->used = run(o);
    return NULL;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc;) {
        if (!strcmp(argv[i], "thread") && i + 1 < argc) {
            struct op o = { .argv = argv + i + 1 };
            pthread_t t;
            if (pthread_create(&t, NULL, run_thread, &o) != 0)
                return 1;
            pthread_join(t, NULL);
            i += 1 + o.used;
            continue;
        }
        if (!strcmp(argv[i], "sigusr1")) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_sigusr1;
            sa.sa_flags = SA_RESTART;
            sigaction(SIGUSR1, &sa, NULL);
            i++;
            continue;
        }
        if (!strcmp(argv[i], "fork")) {
            pid_t pid = fork();
            if (pid < 0)
                return 1;
            if (pid > 0) {
                int st;
                waitpid(pid, &st, 0);
                return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
            }
            i++;
            continue;
        }
        struct op o = { .argv = argv + i };
        i += run(&o);
    }
    return 0;
}
