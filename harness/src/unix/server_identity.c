/* server_identity.c - the server as its user: credentials, environment,
 * working directory, and the files it reads, for one run.
 *
 * Real servers drop to their own user before they bind, read a
 * configuration file, and look at their environment. The scenario says all
 * of it (docs/scenario-format.md); this file turns it into uids, gids, an
 * envp and files on disk, for server.c to apply in the child.
 *
 * The environment is never the harness's own (which holds whatever the
 * caller of pipefault had: sudo's variables, PIPEFAULT_*): it is a fixed,
 * sanitised one, plus server.env.
 */
#include "server_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util.h"

/* A user by scenario or system name: uid, primary gid, home, real name. */
static int find_user(const struct pf_run *run, const struct pf_accounts *acc, const char *name,
                     uid_t *uid, gid_t *gid, char *real, size_t reallen, char *home,
                     size_t homelen, char *err, size_t errlen)
{
    const struct pf_user *u = pf_scenario_account(run->sc, name)
                                  ? pf_accounts_user(acc, name) : NULL;
    if (u) {
        *uid = u->uid;
        *gid = u->gid;
        snprintf(real, reallen, "%s", u->name);
        /* Run accounts have no home directory (useradd -M). */
        snprintf(home, homelen, "%s", run->workdir);
        return 0;
    }
    struct passwd *pw = getpwnam(name);
    if (!pw) {
        snprintf(err, errlen, "%s: no user '%s' on this system (any more)", run->sc->file,
                 name);
        return -1;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    snprintf(real, reallen, "%s", pw->pw_name);
    snprintf(home, homelen, "%s", pw->pw_dir);
    return 0;
}

/* A group by scenario or system name. */
static int find_group(const struct pf_run *run, const struct pf_accounts *acc, const char *name,
                      gid_t *gid, char *err, size_t errlen)
{
    for (size_t i = 0; i < run->sc->ngroups; i++)
        if (!strcmp(run->sc->groups[i], name))
            return pf_accounts_gid(acc, name, gid) == 0 ? 0 : -1;
    struct group *gr = getgrnam(name);
    if (!gr) {
        snprintf(err, errlen, "%s: no group '%s' on this system (any more)", run->sc->file,
                 name);
        return -1;
    }
    *gid = gr->gr_gid;
    return 0;
}

static int resolve_credentials(struct pf_server_who *w, const struct pf_run *run,
                               const struct pf_accounts *acc, char *err, size_t errlen)
{
    const struct pf_server *s = &run->sc->server;
    struct pf_server_identity *id = &w->id;
    id->drop = s->user || s->group || s->groups_given;
    if (!s->user) {
        /* Root, as the harness is (an account may be called "root" too). */
        id->uid = 0;
        id->gid = 0;
        snprintf(w->user, sizeof w->user, "root");
        snprintf(w->home, sizeof w->home, "/root");
    } else if (find_user(run, acc, s->user, &id->uid, &id->gid, w->user, sizeof w->user,
                         w->home, sizeof w->home, err, errlen) < 0) {
        return -1;
    }
    const struct pf_user *u = s->user ? pf_accounts_user(acc, s->user) : NULL;
    if (s->groups_given) {
        for (size_t i = 0; i < s->ngroups; i++)
            if (find_group(run, acc, s->groups[i], &id->groups[id->ngroups++], err, errlen) < 0)
                return -1;
    } else if (u && pf_scenario_account(run->sc, s->user)) {
        /* A run account: the groups the scenario gave it. */
        memcpy(id->groups, u->groups, u->ngroups * sizeof *u->groups);
        id->ngroups = u->ngroups;
    } else if (s->user) {
        /* A system user: its groups from the group database, as login does. */
        int n = PF_SERVER_MAX_GROUPS;
        if (getgrouplist(w->user, id->gid, id->groups, &n) < 0) {
            snprintf(err, errlen, "%s: user '%s' is in more than %d groups", run->sc->file,
                     s->user, PF_SERVER_MAX_GROUPS);
            return -1;
        }
        id->ngroups = (size_t)n;
    }
    /* Root with only a group given keeps no supplementary group but those. */
    if (s->group && find_group(run, acc, s->group, &id->gid, err, errlen) < 0)
        return -1;
    return 0;
}

/* NAME=value, replacing an earlier NAME. */
static void env_set(struct pf_server_who *w, const char *name, const char *value)
{
    char *entry = pf_xasprintf("%s=%s", name, value);
    size_t nlen = strlen(name);
    for (size_t i = 0; i < w->nenv; i++)
        if (!strncmp(w->env[i], name, nlen) && w->env[i][nlen] == '=') {
            free(w->env[i]);
            w->env[i] = entry;
            return;
        }
    w->env = pf_xreallocarray(w->env, w->nenv + 2, sizeof *w->env);
    w->env[w->nenv++] = entry;
    w->env[w->nenv] = NULL;
}

static int build_environment(struct pf_server_who *w, const struct pf_run *run,
                             const struct pf_plan *plan, char *err, size_t errlen)
{
    env_set(w, "PATH", PF_SERVER_PATH);
    env_set(w, "HOME", w->home);
    env_set(w, "USER", w->user);
    env_set(w, "LOGNAME", w->user);
    env_set(w, "SHELL", "/bin/sh");
    env_set(w, "LANG", "C.UTF-8");
    const struct pf_server *s = &run->sc->server;
    for (size_t i = 0; i < s->nenv; i++) {
        char *v = pf_plan_expand(s->env_values[i], plan, run, err, errlen);
        if (!v)
            return -1;
        env_set(w, s->env_names[i], v);
        free(v);
    }
    w->id.envp = w->env;
    return 0;
}

int pf_server_who_resolve(struct pf_server_who *w, const struct pf_run *run,
                          const struct pf_plan *plan, const struct pf_accounts *acc,
                          char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->env = pf_xcalloc(1, sizeof *w->env);
    if (resolve_credentials(w, run, acc, err, errlen) < 0 ||
        build_environment(w, run, plan, err, errlen) < 0)
        return -1;
    const char *cwd = run->sc->server.cwd;
    if (!cwd) {
        snprintf(w->cwd, sizeof w->cwd, "%s", run->workdir);
        return 0;
    }
    char *dir = pf_plan_expand(cwd, plan, run, err, errlen);
    if (!dir)
        return -1;
    /* A relative directory is the run directory's. */
    int n = dir[0] == '/' ? snprintf(w->cwd, sizeof w->cwd, "%s", dir)
                          : snprintf(w->cwd, sizeof w->cwd, "%s/%s", run->workdir, dir);
    free(dir);
    if (n < 0 || (size_t)n >= sizeof w->cwd) {
        snprintf(err, errlen, "%s: server.cwd is longer than %zu bytes", run->sc->file,
                 sizeof w->cwd - 1);
        return -1;
    }
    return 0;
}

void pf_server_who_free(struct pf_server_who *w)
{
    for (size_t i = 0; w->env && i < w->nenv; i++)
        free(w->env[i]);
    free(w->env);
    w->env = NULL;
    w->nenv = 0;
    w->id.envp = NULL;
}

/* fchown of a directory the harness made, reached without following links. */
static int own_dir(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fchown(fd, uid, gid) < 0 || fchmod(fd, 0755) < 0) {
        snprintf(err, errlen, "giving %s to uid %ld gid %ld: %s", path, (long)uid, (long)gid,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int pf_server_dirs_prepare(struct pf_server_who *w, const struct pf_run *run,
                           const struct pf_plan *plan, char *err, size_t errlen)
{
    if (!w->id.drop)
        return 0;
    int fd = open(run->workdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "opening the run directory %s: %s", run->workdir,
                 strerror(errno));
        return -1;
    }
    w->rundir_fd = fd;
    w->rundir_given = true;
    if (fchown(fd, w->id.uid, w->id.gid) < 0 || fchmod(fd, 0755) < 0) {
        snprintf(err, errlen, "giving %s to uid %ld gid %ld: %s", run->workdir,
                 (long)w->id.uid, (long)w->id.gid, strerror(errno));
        return -1;
    }
    return plan->endpoint_dir[0]
               ? own_dir(plan->endpoint_dir, w->id.uid, w->id.gid, err, errlen) : 0;
}

void pf_server_dirs_release(struct pf_server_who *w)
{
    if (!w->rundir_given)
        return;
    if (fchown(w->rundir_fd, 0, 0) < 0 || fchmod(w->rundir_fd, 0755) < 0)
        fprintf(stderr, "pipefault: warning: cannot give the run directory back to root: "
                "%s\n", strerror(errno));
    close(w->rundir_fd);
    w->rundir_given = false;
}

/* The directory holding `path`'s last component, made (owned by the
 * server) where missing; returns an fd of it, or -1. */
static int parent_dir(int rootfd, const char *path, const struct pf_server_who *w,
                      const char **base)
{
    int fd = dup(rootfd);
    char comp[256];
    const char *c = path;
    for (const char *slash; fd >= 0 && (slash = strchr(c, '/')); c = slash + 1) {
        snprintf(comp, sizeof comp, "%.*s", (int)(slash - c), c);
        bool made = mkdirat(fd, comp, 0755) == 0;
        if (!made && errno != EEXIST) {
            close(fd);
            return -1;
        }
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        close(fd);
        errno = saved;
        fd = next;
        if (fd >= 0 && made && (fchown(fd, w->id.uid, w->id.gid) < 0 || fchmod(fd, 0755) < 0)) {
            saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
    }
    *base = c;
    return fd;
}

static int write_all(int fd, const char *s, size_t len)
{
    while (len) {
        ssize_t n = write(fd, s, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_file(int rootfd, const struct pf_file *f, const char *content, uid_t uid,
                      gid_t gid, const struct pf_server_who *w)
{
    const char *base;
    int dfd = parent_dir(rootfd, f->path, w, &base);
    if (dfd < 0)
        return -1;
    int fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int saved = errno;
    close(dfd);
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    /* Owner first: chown would clear set-id bits a mode gave. */
    if (write_all(fd, content, strlen(content)) < 0 || fchown(fd, uid, gid) < 0 ||
        fchmod(fd, (mode_t)f->mode) < 0) {
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return close(fd);
}

int pf_server_files_write(const struct pf_server_who *w, const struct pf_run *run,
                          const struct pf_plan *plan, const struct pf_accounts *acc,
                          char *err, size_t errlen)
{
    const struct pf_scenario *sc = run->sc;
    if (!sc->nfiles)
        return 0;
    int rootfd = open(run->workdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rootfd < 0) {
        snprintf(err, errlen, "opening the run directory %s: %s", run->workdir,
                 strerror(errno));
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < sc->nfiles && rc == 0; i++) {
        const struct pf_file *f = &sc->files[i];
        uid_t uid = w->id.uid;
        gid_t gid = w->id.gid;
        char real[64], home[PATH_MAX];
        if (f->owner && strcmp(f->owner, "server") &&
            find_user(run, acc, f->owner, &uid, &gid, real, sizeof real, home, sizeof home,
                      err, errlen) < 0)
            rc = -1;
        else if (f->group && find_group(run, acc, f->group, &gid, err, errlen) < 0)
            rc = -1;
        char *content = rc == 0 ? pf_plan_expand(f->content, plan, run, err, errlen) : NULL;
        if (rc == 0 && !content)
            rc = -1;
        if (rc == 0 && write_file(rootfd, f, content, uid, gid, w) < 0) {
            snprintf(err, errlen, "%s:%d:%d: writing file %s/%s: %s", sc->file,
                     f->path_mark.line, f->path_mark.col, run->workdir, f->path,
                     strerror(errno));
            rc = -1;
        }
        free(content);
    }
    close(rootfd);
    return rc;
}
