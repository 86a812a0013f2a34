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
#include "../util.h"

/* The GECOS field of every account: "pipefault run <run> pid <pid>". */
#define GECOS_TAG "pipefault run "

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
    if (pf_wait_child(pid, &st) < 0)
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

/* Writes the marker `run_id` whole or not at all (temp file, fsync,
 * rename), so that a concurrent sweep never reads one without its pid.
 * body follows the pid line. */
static int write_marker(const char *run_id, const char *body, char *err, size_t errlen)
{
    int dfd = open_state_dir(err, errlen);
    if (dfd < 0)
        return -1;
    char tmp[32];
    snprintf(tmp, sizeof tmp, ".%s.tmp", run_id);
    unlinkat(dfd, tmp, 0);
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    char *text = pf_xasprintf("%ld\n%s", (long)getpid(), body);
    size_t len = strlen(text);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0 ||
        renameat(dfd, tmp, dfd, run_id) != 0) {
        snprintf(err, errlen, "cannot write run marker %s/%s: %s", PF_STATE_DIR, run_id,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        unlinkat(dfd, tmp, 0);
        close(dfd);
        free(text);
        return -1;
    }
    free(text);
    close(fd);
    close(dfd);
    return 0;
}

int pf_run_mark(const char *run_id, char *err, size_t errlen)
{
    return write_marker(run_id, "", err, errlen);
}

void pf_run_unmark(const char *run_id)
{
    char err[256];
    int dfd = open_state_dir(err, sizeof err);
    if (dfd < 0)
        return;
    unlinkat(dfd, run_id, 0);
    close(dfd);
}

/* Names every group and account of the scenario in the run's marker before
 * any of them exists: a harness killed while a shadow tool works leaves a
 * marker that names what that tool may still add. */
static int mark_planned(const struct pf_scenario *sc, const char *run_id, char *err,
                        size_t errlen)
{
    char *body = pf_xstrdup("");
    for (size_t i = 0; i < sc->ngroups + sc->naccounts; i++) {
        bool group = i < sc->ngroups;
        char real[33];
        pf_real_name(run_id, group ? sc->groups[i] : sc->accounts[i - sc->ngroups].name, real);
        char *more = pf_xasprintf("%s%s %s\n", body, group ? "group" : "user", real);
        free(body);
        body = more;
    }
    int rc = write_marker(run_id, body, err, errlen);
    free(body);
    return rc;
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
    /* The tag the sweep finds accounts by when their run's marker is gone. */
    char comment[64];
    snprintf(comment, sizeof comment, GECOS_TAG "%s pid %ld", a->run_id, (long)getpid());
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
    if (mark_planned(sc, run_id, err, errlen) < 0)
        return -1;
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

static void remove_user(const char *name)
{
    char *argv[] = {"userdel", (char *)name, NULL};
    run_tool(argv);
}

static void remove_group(const char *name)
{
    char *argv[] = {"groupdel", (char *)name, NULL};
    run_tool(argv);
}

/* Is this a name the run `prefix` (pf<run>_) could have made? */
static bool of_run(const char *name, const char *prefix)
{
    return !strncmp(name, prefix, strlen(prefix)) && strlen(name) < 33 && !strchr(name, ':');
}

/* Removes what the dead run left: the accounts and groups its marker names
 * (`body`, may be NULL) and any other pf<run>_ name, then its work
 * directories. Returns false when a shadow tool of the run still runs after
 * the wait: what it adds later would be missed, so the marker must stay. */
static bool remove_run_leftovers(const char *run_id, const char *body)
{
    /* Let a tool the dead harness started finish, or what it adds after
     * our listing would stay for good (bounded: 10 s). */
    char prefix[16];
    snprintf(prefix, sizeof prefix, "pf%s_", run_id);
    bool busy = true;
    for (int i = 0; i < 200 && (busy = tool_of_run_running(prefix)); i++)
        usleep(50000);

    /* Users before groups: a group is not removed while it is a primary one. */
    for (int pass = 0; pass < 2; pass++) {
        const char *kind = pass == 0 ? "user " : "group ";
        for (const char *l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
            char name[64];
            if (strncmp(l, kind, strlen(kind)) ||
                sscanf(l + strlen(kind), "%63[^\n ]", name) != 1 || !of_run(name, prefix))
                continue;
            if (pass == 0 ? getpwnam(name) != NULL : getgrnam(name) != NULL)
                (pass == 0 ? remove_user : remove_group)(name);
        }
        char names[256][33];
        size_t n = names_with_prefix(pass == 0 ? "/etc/passwd" : "/etc/group", prefix, names,
                                     256);
        for (size_t i = 0; i < n; i++)
            (pass == 0 ? remove_user : remove_group)(names[i]);
    }
    /* The run's private directories: /tmp/pipefault-<run>-*, removed
     * relative to the fd of /tmp (only private root directories). */
    DIR *d = opendir("/tmp");
    if (d) {
        char want[32];
        snprintf(want, sizeof want, "pipefault-%s-", run_id);
        for (struct dirent *e; (e = readdir(d));) {
            if (strncmp(e->d_name, want, strlen(want)))
                continue;
            char shown[512];
            snprintf(shown, sizeof shown, "/tmp/%s", e->d_name);
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
            pf_remove_tree_at(dirfd(d), e->d_name, shown);
        }
        closedir(d);
    }
    if (busy)
        fprintf(stderr, "pipefault: warning: a shadow tool of run %s still runs; its marker "
                "is kept so that a later `pipefault clean` finds what it adds\n", run_id);
    return !busy;
}

/* The marker `name` of the state directory: its pid and the rest (the names
 * it plans), or pid 0 when it cannot be read. */
static long read_marker(int dfd, const char *name, char *body, size_t bodylen)
{
    body[0] = 0;
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *end;
    long pid = strtol(buf, &end, 10);
    if (end == buf || *end != '\n')
        return 0;
    snprintf(body, bodylen, "%s", end + 1);
    return pid;
}

static bool alive(long pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* Runs whose accounts are in /etc/passwd, tagged in the GECOS field, but
 * whose marker is gone (removed by hand, or lost): their leftovers are found
 * by the tag, and removed when the pid it names is gone. */
static int sweep_by_tag(int dfd)
{
    FILE *fp = fopen("/etc/passwd", "re");
    if (!fp)
        return 0;
    char line[1024], done[64][8];
    size_t ndone = 0;
    int cleaned = 0;
    while (fgets(line, sizeof line, fp)) {
        /* name:pw:uid:gid:GECOS:home:shell */
        char *f[5] = {line};
        for (int k = 1; k < 5 && f[k - 1]; k++) {
            char *c = strchr(f[k - 1], ':');
            f[k] = c ? c + 1 : NULL;
        }
        char run_id[8];
        long pid;
        if (!f[4] || strncmp(f[4], GECOS_TAG, strlen(GECOS_TAG)) ||
            sscanf(f[4] + strlen(GECOS_TAG), "%6[0-9a-f] pid %ld", run_id, &pid) != 2 ||
            strlen(run_id) != 6)
            continue;
        bool seen = false;
        for (size_t i = 0; i < ndone && !seen; i++)
            seen = !strcmp(done[i], run_id);
        struct stat st;
        if (seen || alive(pid) || (dfd >= 0 && fstatat(dfd, run_id, &st, AT_SYMLINK_NOFOLLOW) == 0))
            continue;   /* a live run, or one the marker sweep handles */
        if (ndone == sizeof done / sizeof done[0]) {
            fprintf(stderr, "pipefault: warning: more than %zu runs found by their tag; the "
                    "next `pipefault clean` goes on\n", ndone);
            break;
        }
        snprintf(done[ndone++], sizeof done[0], "%s", run_id);
        fprintf(stderr, "pipefault: removing accounts of run %s found by their tag (no marker; "
                "harness pid %ld is gone)\n", run_id, pid);
        fclose(fp);
        remove_run_leftovers(run_id, NULL);
        cleaned++;
        /* /etc/passwd changed under us: read it again from the start. */
        fp = fopen("/etc/passwd", "re");
        if (!fp)
            break;
    }
    if (fp)
        fclose(fp);
    return cleaned;
}

int pf_accounts_sweep(void)
{
    char err[256];
    int dfd = open_state_dir(err, sizeof err);
    int cleaned = 0;
    DIR *d = NULL;
    if (dfd < 0)
        fprintf(stderr, "pipefault: warning: %s; run markers are not read\n", err);
    else if (!(d = fdopendir(dup(dfd))))
        fprintf(stderr, "pipefault: warning: cannot read %s: %s\n", PF_STATE_DIR,
                strerror(errno));
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strlen(e->d_name) != 6 || strspn(e->d_name, "0123456789abcdef") != 6)
            continue;
        char body[8192];
        long pid = read_marker(dfd, e->d_name, body, sizeof body);
        /* No pid (unreadable, or an older version writing it): never dead. */
        if (pid <= 0 || alive(pid))
            continue;   /* that harness is still running */
        fprintf(stderr, "pipefault: removing leftovers of run %s (harness pid %ld is gone)\n",
                e->d_name, pid);
        if (remove_run_leftovers(e->d_name, body))
            unlinkat(dfd, e->d_name, 0);
        cleaned++;
    }
    if (d)
        closedir(d);
    cleaned += sweep_by_tag(dfd);
    if (dfd >= 0)
        close(dfd);
    return cleaned;
}
