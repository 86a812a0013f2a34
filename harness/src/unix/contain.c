/* contain.c - a cgroup v2 per scenario, or a subreaper when there is none.
 *
 * Everything here works relative to directory fds of the cgroup hierarchy;
 * only root can create or write there, so no name can be swapped under us.
 */
#include "contain.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../events.h"
#include "../util.h"

#define PARENT_NAME "pipefault"
#define SWEEP_WAIT_NS 5000000000LL

/* The mount point of the cgroup v2 hierarchy, from /proc/self/mountinfo
 * (octal escapes such as \040 decoded), or -1. */
static int cgroup2_mount(char *out, size_t n)
{
    FILE *fp = fopen("/proc/self/mountinfo", "re");
    if (!fp)
        return -1;
    char line[4096];
    int rc = -1;
    while (rc < 0 && fgets(line, sizeof line, fp)) {
        /* id parent major:minor root mountpoint options... - fstype source */
        char *sep = strstr(line, " - ");
        if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
            continue;
        char *p = line;
        for (int field = 0; field < 4 && p; field++) {
            p = strchr(p, ' ');
            if (p)
                p++;
        }
        if (!p)
            continue;
        size_t k = 0;
        for (; *p && *p != ' ' && k + 1 < n; p++) {
            if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] && p[3]) {
                out[k++] = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                p += 3;
            } else {
                out[k++] = *p;
            }
        }
        out[k] = 0;
        rc = k ? 0 : -1;
    }
    fclose(fp);
    return rc;
}

static int open_dir_at(int dirfd, const char *name)
{
    return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* mkdir (existing is fine) and open. */
static int make_dir_at(int dirfd, const char *name)
{
    if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
        return -1;
    return open_dir_at(dirfd, name);
}

/* Opens <mount>/pipefault; -1 with err set. */
static int open_parent(char *path, size_t n, char *err, size_t errlen)
{
    char mnt[1024];
    if (cgroup2_mount(mnt, sizeof mnt) < 0) {
        snprintf(err, errlen, "no cgroup2 file system is mounted");
        return -1;
    }
    int mfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (mfd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", mnt, strerror(errno));
        return -1;
    }
    int fd = make_dir_at(mfd, PARENT_NAME);
    if (fd < 0)
        snprintf(err, errlen, "cannot create %s/%s: %s", mnt, PARENT_NAME, strerror(errno));
    close(mfd);
    snprintf(path, n, "%s/%s", mnt, PARENT_NAME);
    return fd;
}

static bool populated(int events_fd)
{
    char buf[256];
    ssize_t n = pread(events_fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return true;   /* cannot tell: assume the worst */
    buf[n] = 0;
    const char *p = strstr(buf, "populated ");
    return !p || p[10] != '0';
}

/* Until `populated 0` (the kernel wakes POLLPRI on every change of
 * cgroup.events) or the deadline. true once empty. */
static bool wait_empty(int events_fd, int64_t wait_ns)
{
    int64_t until = pf_ns_add_sat(pf_clock_ns(), wait_ns);
    while (populated(events_fd)) {
        int64_t left = until - pf_clock_ns();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = events_fd, .events = POLLPRI};
        poll(&p, 1, (int)((left + 999999) / 1000000));
    }
    return true;
}

/* The pids in a cgroup's cgroup.procs (zombies are not there). */
static size_t read_procs(int dirfd, pid_t **out)
{
    *out = NULL;
    int fd = openat(dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
    FILE *fp = fd >= 0 ? fdopen(fd, "re") : NULL;
    if (!fp) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    size_t n = 0;
    long pid;
    while (fscanf(fp, "%ld", &pid) == 1) {
        *out = pf_xreallocarray(*out, n + 1, sizeof **out);
        (*out)[n++] = (pid_t)pid;
    }
    fclose(fp);
    return n;
}

/* SIGKILL to everything in the cgroup: cgroup.kill (Linux 5.14+) does it
 * at once, forks in flight included; older kernels get a kill per process,
 * repeated by the caller's wait until nothing is left. */
static void kill_cgroup(int dirfd)
{
    int fd = openat(dirfd, "cgroup.kill", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t w = write(fd, "1", 1);
        close(fd);
        if (w == 1)
            return;
    }
    pid_t *pids;
    size_t n = read_procs(dirfd, &pids);
    for (size_t i = 0; i < n; i++)
        kill(pids[i], SIGKILL);
    free(pids);
}

/* Kills, waits for, and removes the cgroup `name` of parentfd. */
static int end_cgroup_at(int parentfd, const char *name, int64_t wait_ns)
{
    int dfd = open_dir_at(parentfd, name);
    if (dfd < 0)
        return errno == ENOENT ? 0 : -1;
    int efd = openat(dfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
    int64_t until = pf_ns_add_sat(pf_clock_ns(), wait_ns);
    bool empty = false;
    /* Without cgroup.kill a process may fork between our read and our
     * kill: go round until the cgroup is empty. */
    while (efd >= 0 && !empty && pf_clock_ns() < until) {
        kill_cgroup(dfd);
        int64_t slice = until - pf_clock_ns();
        empty = wait_empty(efd, slice < 200000000 ? slice : 200000000);
    }
    if (efd >= 0)
        close(efd);
    close(dfd);
    if (!empty || unlinkat(parentfd, name, AT_REMOVEDIR) < 0)
        return -1;
    return 0;
}

/* A name the cgroup file system accepts, from a scenario name. */
static void safe_name(char *out, size_t n, unsigned seq, const char *scenario)
{
    int k = snprintf(out, n, "%u-", seq);
    for (const char *s = scenario; *s && (size_t)k + 1 < n && k < 64; s++) {
        char ch = *s;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
        out[k++] = ok ? ch : '_';
    }
    out[k] = 0;
}

static int open_subreaper(struct pf_contain *c, const char *why, char *err, size_t errlen)
{
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
        snprintf(err, errlen, "cannot contain the server: %s, and PR_SET_CHILD_SUBREAPER: %s",
                 why, strerror(errno));
        return -1;
    }
    c->kind = PF_CONTAIN_SUBREAPER;
    snprintf(c->fallback_why, sizeof c->fallback_why, "%s", why);
    snprintf(c->path, sizeof c->path, "subreaper");
    return 0;
}

int pf_contain_open(struct pf_contain *c, const char *run_id, unsigned seq,
                    const char *scenario, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->dirfd = c->rundirfd = c->events_fd = -1;
    char why[160], base[700], run[48];
    int pfd = open_parent(base, sizeof base, why, sizeof why);
    if (pfd < 0)
        return open_subreaper(c, why, err, errlen);
    snprintf(run, sizeof run, "%s-%ld", run_id, (long)getpid());
    c->rundirfd = make_dir_at(pfd, run);
    close(pfd);
    if (c->rundirfd < 0) {
        snprintf(why, sizeof why, "cannot create %s/%s: %s", base, run, strerror(errno));
        return open_subreaper(c, why, err, errlen);
    }
    safe_name(c->name, sizeof c->name, seq, scenario);
    /* A leftover of the same name (a killed harness with our pid): go. */
    end_cgroup_at(c->rundirfd, c->name, SWEEP_WAIT_NS);
    if (mkdirat(c->rundirfd, c->name, 0755) < 0 ||
        (c->dirfd = open_dir_at(c->rundirfd, c->name)) < 0 ||
        (c->events_fd = openat(c->dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "cannot create the scenario's cgroup %s/%s/%s: %s", base, run,
                 c->name, strerror(errno));
        if (c->dirfd >= 0)
            close(c->dirfd);
        unlinkat(c->rundirfd, c->name, AT_REMOVEDIR);
        close(c->rundirfd);
        c->dirfd = c->rundirfd = -1;
        return -1;
    }
    snprintf(c->path, sizeof c->path, "%s/%s/%s", base, run, c->name);
    c->kind = PF_CONTAIN_CGROUP;
    return 0;
}

int pf_contain_procs_fd(const struct pf_contain *c)
{
    if (c->kind != PF_CONTAIN_CGROUP)
        return -1;
    return openat(c->dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
}

int pf_contain_join(int procs_fd)
{
    if (procs_fd < 0)
        return 0;
    /* "0" is the writing process itself. */
    return write(procs_fd, "0", 1) == 1 ? 0 : -1;
}

/* ---- the fallback: descendants of the harness ---------------------------- */

static bool skipped(pid_t pid, const pid_t *skip, size_t nskip)
{
    for (size_t i = 0; i < nskip; i++)
        if (skip[i] == pid)
            return true;
    return false;
}

struct proc_entry {
    pid_t pid, ppid;
    bool mine;
};

/* Lists the living processes. /proc is read in batches, so a process that
 * forks and exits while we read can hide its child: such an exited child of
 * ours (re-parented to the subreaper) is reaped and *reaped_one set, and
 * the caller reads again. */
static size_t list_processes(struct proc_entry **out, const pid_t *skip, size_t nskip,
                             bool *reaped_one)
{
    *out = NULL;
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r <= 0)
            continue;
        buf[r] = 0;
        /* pid (comm) state ppid ...: comm may hold anything, ')' included. */
        char *close_paren = strrchr(buf, ')'), state;
        long ppid;
        if (!close_paren || sscanf(close_paren + 1, " %c %ld", &state, &ppid) != 2)
            continue;
        if (state == 'Z') {
            pid_t zpid = (pid_t)atol(e->d_name);
            if (ppid == getpid() && !skipped(zpid, skip, nskip) &&
                waitpid(zpid, NULL, WNOHANG) == zpid)
                *reaped_one = true;
            continue;
        }
        *out = pf_xreallocarray(*out, n + 1, sizeof **out);
        (*out)[n++] = (struct proc_entry){.pid = (pid_t)atol(e->d_name), .ppid = (pid_t)ppid};
    }
    closedir(d);
    return n;
}

/* The harness's living descendants but the skipped ones and theirs. */
static size_t descendants(struct proc_entry **out, const pid_t *skip, size_t nskip)
{
    size_t n;
    bool reaped_one = true;
    for (int tries = 0; reaped_one && tries < 64; tries++) {
        if (tries)
            free(*out);
        reaped_one = false;
        n = list_processes(out, skip, nskip, &reaped_one);
    }
    pid_t self = getpid();
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < n; i++) {
            struct proc_entry *p = &(*out)[i];
            if (p->mine || skipped(p->pid, skip, nskip))
                continue;
            bool parent_mine = p->ppid == self;
            for (size_t k = 0; !parent_mine && k < n; k++)
                parent_mine = (*out)[k].mine && (*out)[k].pid == p->ppid;
            if (parent_mine)
                p->mine = grew = true;
        }
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if ((*out)[i].mine)
            (*out)[m++] = (*out)[i];
    return m;
}

pid_t pf_contain_member(const struct pf_contain *c, const pid_t *skip, size_t nskip)
{
    pid_t found = 0;
    if (c->kind == PF_CONTAIN_CGROUP) {
        /* A process that forks and exits while the list is read can hide
         * its child: an empty list of a populated cgroup is read again. */
        for (int tries = 0; !found && tries < 64; tries++) {
            pid_t *pids;
            size_t n = read_procs(c->dirfd, &pids);
            found = n ? pids[0] : 0;
            free(pids);
            if (!n && !populated(c->events_fd))
                break;
        }
    } else if (c->kind == PF_CONTAIN_SUBREAPER) {
        struct proc_entry *p;
        size_t n = descendants(&p, skip, nskip);
        found = n ? p[0].pid : 0;
        free(p);
    }
    return found;
}

/* Kills the harness's descendants (but the skipped) until none is left;
 * re-parented orphans are our children now, and are reaped here. */
static int end_subreaper(const pid_t *skip, size_t nskip, int64_t wait_ns)
{
    int64_t until = pf_ns_add_sat(pf_clock_ns(), wait_ns);
    for (;;) {
        struct proc_entry *p;
        size_t n = descendants(&p, skip, nskip);
        for (size_t i = 0; i < n; i++)
            kill(p[i].pid, SIGKILL);
        for (size_t i = 0; i < n; i++) {
            int pfd = (int)syscall(SYS_pidfd_open, p[i].pid, 0);
            int64_t left = until - pf_clock_ns();
            if (pfd >= 0 && left > 0) {
                struct pollfd w = {.fd = pfd, .events = POLLIN};
                poll(&w, 1, (int)((left + 999999) / 1000000));
            }
            if (pfd >= 0)
                close(pfd);
            if (p[i].ppid == getpid())
                waitpid(p[i].pid, NULL, WNOHANG);
        }
        free(p);
        if (n == 0)
            return 0;
        if (pf_clock_ns() >= until)
            return -1;
    }
}

int pf_contain_end(struct pf_contain *c, const pid_t *skip, size_t nskip, int64_t wait_ns,
                   char *err, size_t errlen)
{
    int rc = 0;
    if (c->kind == PF_CONTAIN_CGROUP) {
        close(c->events_fd);
        close(c->dirfd);
        c->events_fd = c->dirfd = -1;
        if (end_cgroup_at(c->rundirfd, c->name, wait_ns) < 0) {
            snprintf(err, errlen, "the server's cgroup %s could not be emptied and removed: %s",
                     c->path, strerror(errno));
            rc = -1;
        }
        close(c->rundirfd);
        c->rundirfd = -1;
    } else if (c->kind == PF_CONTAIN_SUBREAPER) {
        if (end_subreaper(skip, nskip, wait_ns) < 0) {
            snprintf(err, errlen, "processes the server started are still running after "
                     "SIGKILL");
            rc = -1;
        }
    }
    c->kind = PF_CONTAIN_NONE;
    return rc;
}

void pf_contain_end_run(const char *run_id)
{
    char base[700], why[160], run[48];
    int pfd = open_parent(base, sizeof base, why, sizeof why);
    if (pfd < 0)
        return;
    snprintf(run, sizeof run, "%s-%ld", run_id, (long)getpid());
    unlinkat(pfd, run, AT_REMOVEDIR);
    close(pfd);
}

/* Is the harness that made the run directory `name` (<run>-<pid>) gone? */
static bool run_gone(const char *name)
{
    const char *dash = strchr(name, '-');
    char *end;
    long pid = dash ? strtol(dash + 1, &end, 10) : 0;
    if (!dash || pid <= 0 || *end)
        return false;   /* not a name we make: never touched */
    return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int pf_contain_sweep(void)
{
    char base[700], why[160];
    int pfd = open_parent(base, sizeof base, why, sizeof why);
    if (pfd < 0)
        return 0;
    int fd = dup(pfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    int cleaned = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.' || !run_gone(e->d_name))
            continue;
        int rfd = open_dir_at(pfd, e->d_name);
        int rfd2 = rfd >= 0 ? dup(rfd) : -1;
        DIR *rd = rfd2 >= 0 ? fdopendir(rfd2) : NULL;
        if (rd)
            fprintf(stderr, "pipefault: killing what runs in %s/%s (its harness is gone)\n",
                    base, e->d_name);
        for (struct dirent *s; rd && (s = readdir(rd));)
            if (s->d_type == DT_DIR && s->d_name[0] != '.' &&
                end_cgroup_at(rfd, s->d_name, SWEEP_WAIT_NS) < 0)
                fprintf(stderr, "pipefault: warning: cannot empty and remove %s/%s/%s: %s\n",
                        base, e->d_name, s->d_name, strerror(errno));
        if (rd)
            closedir(rd);
        else if (rfd2 >= 0)
            close(rfd2);
        if (rfd >= 0)
            close(rfd);
        if (unlinkat(pfd, e->d_name, AT_REMOVEDIR) == 0)
            cleaned++;
    }
    if (d)
        closedir(d);
    else if (fd >= 0)
        close(fd);
    close(pfd);
    return cleaned;
}
