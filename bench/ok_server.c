/* ok_server.c - the benchmark's server: accept, reply "ok\n", close.
 *
 * As plain as a unix-socket server gets (bind, chmod, listen, then one
 * accept/write/close per connection), so that what the benchmark measures
 * is the cost of watching it, not the server. Usage:
 *   ok_server --endpoint PATH
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "ok_server: %s: %s\n", what, strerror(errno));
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "--endpoint") != 0) {
        fprintf(stderr, "usage: ok_server --endpoint PATH\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if (strlen(argv[2]) >= sizeof sun.sun_path) {
        fprintf(stderr, "ok_server: endpoint path too long\n");
        return 2;
    }
    strcpy(sun.sun_path, argv[2]);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0)
        die("bind");
    if (chmod(argv[2], 0666) < 0)
        die("chmod");
    if (listen(fd, 128) < 0)
        die("listen");
    for (;;) {
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            die("accept");
        }
        if (write(c, "ok\n", 3) < 0 && errno != EPIPE && errno != ECONNRESET)
            die("write");
        close(c);
    }
}
