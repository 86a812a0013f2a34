/* helper_dirs.c - find pipefault's fixtures and Win32 programs next to it
 * (see helper_dirs.h for the layout and why it is checked). */
#include "helper_dirs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether a directory (or file) owned by `st` may hold what root executes:
 * owned by root or by whoever runs pipefault, and writable by nobody else
 * unless sticky (like /tmp, where others cannot replace our entries). */
static bool trusted(const struct stat *st)
{
    if (st->st_uid != 0 && st->st_uid != geteuid() && st->st_uid != getuid())
        return false;
    return !(st->st_mode & (S_IWGRP | S_IWOTH)) || (st->st_mode & S_ISVTX);
}

static int untrusted(const char *path, const struct stat *st, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s is owned by uid %ld with mode %04o: pipefault will not run "
             "programs found below it (it must be writable only by root or the user running "
             "pipefault)", path, (long)st->st_uid, (unsigned)(st->st_mode & 07777));
    return -1;
}

/* Opens every component of the absolute `path` from / down, without
 * following symlinks, checking each is a trusted directory. */
static int check_chain(const char *path, char *err, size_t errlen)
{
    char copy[PATH_MAX], shown[PATH_MAX] = "";
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open /: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && !trusted(&st)) {
        close(fd);
        return untrusted("/", &st, err, errlen);
    }
    char *save = NULL;
    for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        size_t used = strlen(shown);
        snprintf(shown + used, sizeof shown - used, "/%s", c);
        int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        if (next < 0) {
            snprintf(err, errlen, "cannot open %s%s: %s", shown,
                     errno == ELOOP || errno == ENOTDIR ? " (not a directory; no symlink is "
                     "followed)" : "", strerror(errno));
            return -1;
        }
        fd = next;
        if (fstat(fd, &st) < 0 || !trusted(&st)) {
            close(fd);
            return untrusted(shown, &st, err, errlen);
        }
    }
    close(fd);
    return 0;
}

/* A directory below the root that exists must be trusted too; one that is
 * missing is reported by whoever needs it (a skipped win32 scenario). */
static int check_child(const char *root, const char *child, char *err, size_t errlen)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", root, child);
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : (snprintf(err, errlen, "cannot stat %s: %s", path,
                                               strerror(errno)), -1);
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a directory (no symlink is followed)", path);
        return -1;
    }
    return trusted(&st) ? 0 : untrusted(path, &st, err, errlen);
}

static bool is_dir(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int pf_helper_dirs_for(const char *exe, struct pf_helper_dirs *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (exe[0] != '/') {
        snprintf(err, errlen, "the executable's path '%s' is not absolute", exe);
        return -1;
    }
    /* <prefix>/<dir>/<name>: cut the last two components off. */
    char prefix[PATH_MAX];
    snprintf(prefix, sizeof prefix, "%s", exe);
    for (int cut = 0; cut < 2; cut++) {
        char *slash = strrchr(prefix, '/');
        *slash = '\0';
        if (prefix[0] == '\0') {   /* reached "/" */
            prefix[0] = '/';
            prefix[1] = '\0';
            break;
        }
    }
    const char *sep = strcmp(prefix, "/") ? "/" : "";
    char installed[PATH_MAX], cache[PATH_MAX];
    snprintf(installed, sizeof installed, "%s%slibexec/pipefault", prefix, sep);
    snprintf(cache, sizeof cache, "%s%sCMakeCache.txt", prefix, sep);
    if (is_dir(installed))
        snprintf(d->root, sizeof d->root, "%s", installed);
    else if (is_file(cache))
        snprintf(d->root, sizeof d->root, "%s", prefix);
    else {
        snprintf(err, errlen, "cannot find pipefault's fixtures and programs for %s: neither "
                 "%s (an installed pipefault) nor a build tree (%s) exists", exe, installed,
                 cache);
        return -1;
    }
    if (check_chain(d->root, err, errlen) < 0 ||
        check_child(d->root, "fixtures", err, errlen) < 0 ||
        check_child(d->root, "fixtures/posix", err, errlen) < 0 ||
        check_child(d->root, "win32", err, errlen) < 0)
        return -1;
    const char *rsep = strcmp(d->root, "/") ? "/" : "";
    snprintf(d->fixtures, sizeof d->fixtures, "%s%sfixtures", d->root, rsep);
    snprintf(d->win32, sizeof d->win32, "%s%swin32", d->root, rsep);
    return 0;
}

const struct pf_helper_dirs *pf_helper_dirs(char *err, size_t errlen)
{
    static struct pf_helper_dirs dirs;
    static int state;   /* 0 not yet, 1 found, -1 failed (err is remembered) */
    static char why[PATH_MAX + 256];
    if (state == 0) {
        char exe[PATH_MAX];
        state = pf_self_exe(exe, sizeof exe, why, sizeof why) == 0 &&
                pf_helper_dirs_for(exe, &dirs, why, sizeof why) == 0 ? 1 : -1;
    }
    if (state < 0)
        snprintf(err, errlen, "%s", why);
    return state > 0 ? &dirs : NULL;
}
