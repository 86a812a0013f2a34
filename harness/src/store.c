/* store.c - creating the run's output files relative to directory fds.
 *
 * The store (results.json, junit.xml, index.html, one folder per scenario
 * with its trace and server output) may sit in a directory other users can
 * reach. Every file is therefore made relative to a directory fd that was
 * opened without following links, as a new file (O_EXCL, O_NOFOLLOW) under
 * a random temporary name, then renamed over its final name: whatever a
 * user planted under that name (a symlink, a hard link, a file of theirs) is
 * replaced as a directory entry, never followed, never truncated.
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* One path component, nothing that resolves elsewhere. */
static bool plain_name(const char *name)
{
    return name[0] && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}

int pf_dir_open_private(int dirfd, const char *name)
{
    if (!plain_name(name)) {
        errno = EINVAL;
        return -1;
    }
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 022)) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

int pf_store_mkdir(int dirfd, const char *name)
{
    if (!plain_name(name)) {
        errno = EINVAL;
        return -1;
    }
    if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
        return -1;
    /* New or left by an earlier run into the same store: either way it
     * must be a directory of ours that nobody else can write into. */
    return pf_dir_open_private(dirfd, name);
}

int pf_store_tmp(int dirfd, const char *name, char *tmp, size_t tmplen)
{
    for (int tries = 0; tries < 16; tries++) {
        unsigned char r[6];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
            return -1;
        if ((size_t)snprintf(tmp, tmplen, ".%s.%02x%02x%02x%02x%02x%02x", name, r[0], r[1], r[2],
                             r[3], r[4], r[5]) >= tmplen) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

int pf_store_commit(int dirfd, const char *tmp, const char *name)
{
    if (!plain_name(name)) {
        errno = EINVAL;
        unlinkat(dirfd, tmp, 0);
        return -1;
    }
    if (renameat(dirfd, tmp, dirfd, name) == 0)
        return 0;
    int saved = errno;
    unlinkat(dirfd, tmp, 0);
    errno = saved;
    return -1;
}

int pf_store_create(int dirfd, const char *name)
{
    char tmp[300];
    int fd = pf_store_tmp(dirfd, name, tmp, sizeof tmp);
    if (fd < 0)
        return -1;
    if (pf_store_commit(dirfd, tmp, name) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int pf_store_open_beneath(int dirfd, const char *relpath, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
        .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH,
    };
    return (int)syscall(SYS_openat2, dirfd, relpath, &how, sizeof how);
}

int pf_store_open_read(int dirfd, const char *relpath)
{
    return pf_store_open_beneath(dirfd, relpath, O_RDONLY);
}

int pf_store_link(int dirfd, const char *target, const char *name)
{
    char tmp[300];
    for (int tries = 0; tries < 16; tries++) {
        unsigned char r[6];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
            return -1;
        snprintf(tmp, sizeof tmp, ".%s.%02x%02x%02x%02x%02x%02x", name, r[0], r[1], r[2], r[3],
                 r[4], r[5]);
        if (symlinkat(target, dirfd, tmp) == 0)
            return pf_store_commit(dirfd, tmp, name);
        if (errno != EEXIST)
            return -1;
    }
    errno = EEXIST;
    return -1;
}
