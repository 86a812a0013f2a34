/* test_peer.c - which endpoint inode served a connection, as the kernel says.
 *
 * Two live instances, one renamed away from the endpoint path after the
 * client connected: the path now names the other one, so a guess from the
 * path would be wrong; the client must name the one that serves it, in each
 * state of the connection (queued, accepted), unprivileged too, and say so
 * when the server's end is gone.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unix/peer.h"
#include "check_run.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/pf-test-peer-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    chmod(dir, 0755);
}

static void teardown(void)
{
    char p[128];
    const char *names[] = {"x", "old", "fifo"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

static int listener(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    chmod(path, 0777);
    ck_assert_int_eq(listen(fd, 8), 0);
    return fd;
}

static int connected(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void key_of(const char *path, char *key, size_t n)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    snprintf(key, n, "%lu:%lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
}

START_TEST(names_the_serving_instance_not_the_one_at_the_path)
{
    char x[128], old[128], first[64], second[64], key[64];
    const char *why = NULL;
    snprintf(x, sizeof x, "%s/x", dir);
    snprintf(old, sizeof old, "%s/old", dir);
    int l1 = listener(x);
    key_of(x, first, sizeof first);
    int c = connected(x);                  /* queued on the first instance */
    ck_assert_int_eq(rename(x, old), 0);   /* moved away, still listening */
    int l2 = listener(x);                  /* a second instance at the path */
    key_of(x, second, sizeof second);
    ck_assert_str_ne(first, second);

    /* queued */
    ck_assert_int_eq(pf_peer_socket_key(c, key, sizeof key, &why), 0);
    ck_assert_str_eq(key, first);

    /* queued, asked by an unprivileged user */
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(65534) || setuid(65534))
            _exit(2);
        char k[64];
        const char *w;
        _exit(pf_peer_socket_key(c, k, sizeof k, &w) == 0 && !strcmp(k, first) ? 0 : 1);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* accepted */
    int a = accept(l1, NULL, NULL);
    ck_assert_int_ge(a, 0);
    ck_assert_int_eq(pf_peer_socket_key(c, key, sizeof key, &why), 0);
    ck_assert_str_eq(key, first);

    /* a connection to the second instance names the second */
    int c2 = connected(x);
    ck_assert_int_eq(pf_peer_socket_key(c2, key, sizeof key, &why), 0);
    ck_assert_str_eq(key, second);

    /* closed: nothing can be asked any more, and it says so */
    close(a);
    ck_assert_int_eq(pf_peer_socket_key(c, key, sizeof key, &why), -1);
    ck_assert_str_eq(why, "server-closed");
    close(c), close(c2), close(l1), close(l2);
}
END_TEST

START_TEST(fifo_names_itself)
{
    char f[128], want[64], key[64];
    const char *why = NULL;
    snprintf(f, sizeof f, "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(f, 0666), 0);
    int r = open(f, O_RDONLY | O_NONBLOCK);
    int w = open(f, O_WRONLY | O_NONBLOCK);
    ck_assert_int_ge(w, 0);
    key_of(f, want, sizeof want);
    ck_assert_int_eq(pf_peer_fifo_key(w, key, sizeof key, &why), 0);
    ck_assert_str_eq(key, want);
    close(w), close(r);
}
END_TEST

static Suite *peer_suite(void)
{
    Suite *s = suite_create("peer");
    TCase *tc = tcase_create("kernel");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, names_the_serving_instance_not_the_one_at_the_path);
    tcase_add_test(tc, fifo_names_itself);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return pf_check_run(peer_suite());
}
