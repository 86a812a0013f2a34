/* accounts.c - creating and removing the run's real accounts.
 *
 * The shadow tools (useradd, groupadd, userdel, groupdel) do the work: they
 * lock /etc/passwd and /etc/group properly and keep the shadow files in step,
 * which hand-editing would not. They run in their own process group so that
 * a Ctrl-C at the terminal cannot kill one half-way through an edit.
 */
#include "accounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../plan.h"
#include "../run.h"

extern char **environ;

/* Runs a shadow tool quietly; returns its exit status or -1. */
static int run_tool(char *const argv[])
{
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void mkdirs(const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0755);
            *p = '/';
        }
    mkdir(buf, 0755);
}

/* The marker directory must be root's alone: nobody else may plant or swap
 * the names the sweep reads. Returns an fd of it, or -1 with err set. */
static int open_state_dir(char *err, size_t errlen)
{
    mkdirs(PF_STATE_DIR);
    int fd = open(PF_STATE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errlen, "cannot open %s: %s", PF_STATE_DIR, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (st.st_uid != 0 || (st.st_mode & 022)) {
        snprintf(err, errlen, "%s is not root's alone (owner uid %ld, mode %04o): refusing to "
                 "use it", PF_STATE_DIR, (long)st.st_uid, (unsigned)(st.st_mode & 07777));
        close(fd);
        return -1;
    }
    return fd;
}

/* Written whole or not at all (temp file, fsync, rename), so that a
 * concurrent sweep never reads a marker without its pid. */
int pf_run_mark(const char *run_id, char *err, size_t errlen)
{
    int dfd = open_state_dir(err, errlen);
    if (dfd < 0)
        return -1;
    char tmp[32];
    snprintf(tmp, sizeof tmp, ".%s.tmp", run_id);
    unlinkat(dfd, tmp, 0);
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    char line[32];
    int len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
    if (fd < 0 || write(fd, line, (size_t)len) != len || fsync(fd) != 0 ||
        renameat(dfd, tmp, dfd, run_id) != 0) {
        snprintf(err, errlen, "cannot write run marker %s/%s: %s", PF_STATE_DIR, run_id,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        unlinkat(dfd, tmp, 0);
        close(dfd);
        return -1;
    }
    close(fd);
    close(dfd);
    return 0;
}

void pf_run_unmark(const char *run_id)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", PF_STATE_DIR, run_id);
    unlink(path);
}

static int add_group(struct pf_accounts *a, const char *name, char *err, size_t errlen)
{
    char real[33];
    pf_real_name(a->run_id, name, real);
    char *argv[] = {"groupadd", real, NULL};
    int rc = run_tool(argv);
    struct group *gr = rc == 0 ? getgrnam(real) : NULL;
    if (!gr) {
        snprintf(err, errlen, "groupadd %s failed (exit %d)", real, rc);
        return -1;
    }
    snprintf(a->group_names[a->ngroups], 33, "%s", real);
    a->gids[a->ngroups++] = gr->gr_gid;
    return 0;
}

static int add_user(struct pf_accounts *a, const struct pf_account *acc,
                    char *err, size_t errlen)
{
    struct pf_user *u = &a->users[a->nusers];
    pf_real_name(a->run_id, acc->name, u->name);
    char groups[33 * PF_MAX_ACCOUNTS] = "";
    for (size_t i = 0; i < acc->ngroups; i++) {
        char real[33];
        pf_real_name(a->run_id, acc->groups[i], real);
        if (i)
            strcat(groups, ",");
        strcat(groups, real);
    }
    char comment[64];
    snprintf(comment, sizeof comment, "pipefault run %s pid %ld", a->run_id, (long)getpid());
    char *argv[16];
    int n = 0;
    argv[n++] = "useradd";
    argv[n++] = "-M";
    argv[n++] = "-N";
    argv[n++] = "-g";
    argv[n++] = "nogroup";
    argv[n++] = "-s";
    argv[n++] = "/usr/sbin/nologin";
    argv[n++] = "-c";
    argv[n++] = comment;
    if (acc->ngroups) {
        argv[n++] = "-G";
        argv[n++] = groups;
    }
    argv[n++] = u->name;
    argv[n] = NULL;
    int rc = run_tool(argv);
    struct passwd *pw = rc == 0 ? getpwnam(u->name) : NULL;
    if (!pw) {
        snprintf(err, errlen, "useradd %s failed (exit %d)", u->name, rc);
        return -1;
    }
    u->uid = pw->pw_uid;
    u->gid = pw->pw_gid;
    u->ngroups = 0;
    for (size_t i = 0; i < acc->ngroups; i++)
        pf_accounts_gid(a, acc->groups[i], &u->groups[u->ngroups++]);
    a->nusers++;
    return 0;
}

int pf_accounts_create(struct pf_accounts *a, const struct pf_scenario *sc,
                       const char *run_id, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    snprintf(a->run_id, sizeof a->run_id, "%s", run_id);
    if (sc->ngroups > PF_MAX_ACCOUNTS || sc->naccounts > PF_MAX_ACCOUNTS) {
        snprintf(err, errlen, "at most %d accounts and %d groups", PF_MAX_ACCOUNTS,
                 PF_MAX_ACCOUNTS);
        return -1;
    }
    for (size_t i = 0; i < sc->ngroups; i++)
        if (add_group(a, sc->groups[i], err, errlen) < 0)
            goto fail;
    for (size_t i = 0; i < sc->naccounts; i++)
        if (add_user(a, &sc->accounts[i], err, errlen) < 0)
            goto fail;
    return 0;
fail:
    pf_accounts_remove(a);
    return -1;
}

void pf_accounts_remove(struct pf_accounts *a)
{
    for (size_t i = a->nusers; i-- > 0;) {
        char *argv[] = {"userdel", a->users[i].name, NULL};
        if (run_tool(argv) != 0)
            fprintf(stderr, "pipefault: warning: userdel %s failed\n", a->users[i].name);
    }
    a->nusers = 0;
    for (size_t i = a->ngroups; i-- > 0;) {
        char *argv[] = {"groupdel", a->group_names[i], NULL};
        if (run_tool(argv) != 0)
            fprintf(stderr, "pipefault: warning: groupdel %s failed\n", a->group_names[i]);
    }
    a->ngroups = 0;
}

const struct pf_user *pf_accounts_user(const struct pf_accounts *a,
                                       const char *scenario_name)
{
    char real[33];
    pf_real_name(a->run_id, scenario_name, real);
    for (size_t i = 0; i < a->nusers; i++)
        if (!strcmp(a->users[i].name, real))
            return &a->users[i];
    return NULL;
}

int pf_accounts_gid(const struct pf_accounts *a, const char *scenario_group, gid_t *gid)
{
    char real[33];
    pf_real_name(a->run_id, scenario_group, real);
    for (size_t i = 0; i < a->ngroups; i++)
        if (!strcmp(a->group_names[i], real)) {
            *gid = a->gids[i];
            return 0;
        }
    return -1;
}

/* Names in a database file (passwd or group) that start with prefix. */
static size_t names_with_prefix(const char *file, const char *prefix,
                                char out[][33], size_t max)
{
    FILE *fp = fopen(file, "re");
    if (!fp)
        return 0;
    char line[1024];
    size_t n = 0, plen = strlen(prefix);
    while (n < max && fgets(line, sizeof line, fp)) {
        char *colon = strchr(line, ':');
        if (!colon || strncmp(line, prefix, plen))
            continue;
        *colon = 0;
        snprintf(out[n++], 33, "%s", line);
    }
    fclose(fp);
    return n;
}

/* Is a shadow tool (in its own process group, so it outlives a harness
 * killed with SIGKILL) still working on one of this run's names? */
static bool tool_of_run_running(const char *prefix)
{
    DIR *d = opendir("/proc");
    if (!d)
        return false;
    bool found = false;
    for (struct dirent *e; !found && (e = readdir(d));) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = 0;
        const char *tool = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
        if (strcmp(tool, "useradd") && strcmp(tool, "groupadd") && strcmp(tool, "userdel") &&
            strcmp(tool, "groupdel"))
            continue;
        for (ssize_t i = 0; i < n && !found; i += (ssize_t)strlen(buf + i) + 1)
            found = !strncmp(buf + i, prefix, strlen(prefix));
    }
    closedir(d);
    return found;
}

static void remove_run_leftovers(const char *run_id)
{
    /* Let a tool the dead harness started finish, or what it adds after
     * our listing would stay for good (bounded: 10 s). */
    char tprefix[16];
    snprintf(tprefix, sizeof tprefix, "pf%s_", run_id);
    for (int i = 0; i < 200 && tool_of_run_running(tprefix); i++)
        usleep(50000);

    char prefix[16], names[256][33];
    snprintf(prefix, sizeof prefix, "pf%s_", run_id);
    size_t n = names_with_prefix("/etc/passwd", prefix, names, 256);
    for (size_t i = 0; i < n; i++) {
        char *argv[] = {"userdel", names[i], NULL};
        run_tool(argv);
    }
    n = names_with_prefix("/etc/group", prefix, names, 256);
    for (size_t i = 0; i < n; i++) {
        char *argv[] = {"groupdel", names[i], NULL};
        run_tool(argv);
    }
    /* The run's private directories: /tmp/pipefault-<run>-* */
    DIR *d = opendir("/tmp");
    if (d) {
        char want[32];
        snprintf(want, sizeof want, "pipefault-%s-", run_id);
        for (struct dirent *e; (e = readdir(d));) {
            if (strncmp(e->d_name, want, strlen(want)))
                continue;
            char path[512];
            snprintf(path, sizeof path, "/tmp/%s", e->d_name);
            /* A run directory given to the server's user (server.user) is
             * taken back first: removal only takes root's own. Only its
             * entries are unlinked after, never a link followed. */
            int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
                            O_CLOEXEC);
            if (fd >= 0) {
                if (fchown(fd, 0, 0) < 0 || fchmod(fd, 0755) < 0) {
                    /* pf_remove_tree says why it cannot remove it */
                }
                close(fd);
            }
            pf_remove_tree(path);
        }
        closedir(d);
    }
}

int pf_accounts_sweep(void)
{
    DIR *d = opendir(PF_STATE_DIR);
    if (!d)
        return 0;
    int cleaned = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (strlen(e->d_name) != 6)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", PF_STATE_DIR, e->d_name);
        FILE *fp = fopen(path, "re");
        long pid = 0;
        if (fp) {
            if (fscanf(fp, "%ld", &pid) != 1)
                pid = 0;
            fclose(fp);
        }
        /* No pid (a marker of an older version being written): never dead. */
        if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno == EPERM)
            continue;   /* that harness is still running */
        fprintf(stderr, "pipefault: removing leftovers of run %s (harness pid %ld is gone)\n",
                e->d_name, pid);
        remove_run_leftovers(e->d_name);
        unlink(path);
        cleaned++;
    }
    closedir(d);
    return cleaned;
}
