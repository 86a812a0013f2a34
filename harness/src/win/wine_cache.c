/* wine_cache.c - the cached Wine prefix (see wine_cache.h). */
#include "wine_cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../run.h"
#include "../util.h"

#define STAMP_MAGIC "pipefault-wine-cache 1"
#define WALK_MAX_DEPTH 32

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211ULL;
    return h;
}
#define FNV_START 1469598103934665603ULL

/* Where the cache lives (wine_cache.h). */
static int cache_path(char *out, size_t n)
{
    const char *env = getenv("PIPEFAULT_CACHE_DIR");
    if (env && *env)
        return snprintf(out, n, "%s", env) < (int)n ? 0 : -1;
    if (geteuid() == 0)
        return snprintf(out, n, "/var/cache/pipefault") < (int)n ? 0 : -1;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        return snprintf(out, n, "%s/pipefault", xdg) < (int)n ? 0 : -1;
    if (home && home[0] == '/')
        return snprintf(out, n, "%s/.cache/pipefault", home) < (int)n ? 0 : -1;
    return -1;
}

/* Opens the cache directory from /, one component at a time without
 * following links, creating what is missing: every directory on the way
 * owned by root or us and writable by nobody else unless sticky, the cache
 * itself ours alone (0700). fd, or -1 with err. */
static int open_cache(char *path, size_t pathlen, bool create, char *err, size_t errlen)
{
    if (cache_path(path, pathlen) < 0 || path[0] != '/') {
        snprintf(err, errlen, "no cache directory (set PIPEFAULT_CACHE_DIR to an absolute path)");
        return -1;
    }
    char *copy = pf_xstrdup(path), *save = NULL;
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (char *c = strtok_r(copy, "/", &save); fd >= 0 && c; c = strtok_r(NULL, "/", &save)) {
        bool last = !save || !*save;
        if (!strcmp(c, "..") || !strcmp(c, ".")) {
            snprintf(err, errlen, "cache directory %s: '.' and '..' are not allowed", path);
            close(fd);
            fd = -1;
            break;
        }
        if (create && mkdirat(fd, c, last ? 0700 : 0755) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create the cache directory %s: %s", path,
                     strerror(errno));
            close(fd);
            fd = -1;
            break;
        }
        int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        fd = next;
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            snprintf(err, errlen, "cannot open the cache directory %s (no symlink is followed): "
                     "%s", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            fd = -1;
            break;
        }
        bool ok = last ? st.st_uid == geteuid() && !(st.st_mode & 077)
                       : (st.st_uid == 0 || st.st_uid == geteuid()) &&
                         (!(st.st_mode & 022) || (st.st_mode & S_ISVTX));
        if (!ok) {
            snprintf(err, errlen, "refusing the cache directory %s: %s (owner %ld, mode %04o) "
                     "is not %s", path, c, (long)st.st_uid, (unsigned)(st.st_mode & 07777),
                     last ? "private to this uid (0700)" :
                     "owned by root or this uid and writable by nobody else");
            close(fd);
            fd = -1;
            break;
        }
    }
    free(copy);
    return fd;
}

/* The entry of this Wine version: wine-<hash>. */
static void entry_name(const char *version, char *out, size_t n)
{
    snprintf(out, n, "wine-%016llx",
             (unsigned long long)fnv(FNV_START, version, strlen(version)));
}

/* Files Wine loads but never writes: hard-linked into a session (their size
 * and mtime are checked against the stamp at every fill). Everything else
 * (the registry, .ini files, ...) is copied and its content checked. */
static bool linkable(const char *rel)
{
    static const char *const ext[] = {".dll", ".exe", ".nls", ".drv", ".sys", ".ocx", ".acm",
                                      ".cpl", ".tlb", ".ds", ".ax", ".com", ".msstyles"};
    const char *dot = strrchr(rel, '.');
    if (!strchr(rel, '/') || !dot)
        return false;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (!strcmp(dot, ext[i]))
            return true;
    return false;
}


/* Reads fd to its end, hashing it, and writes it to out (when >= 0). */
static int copy_hash(int fd, int out, uint64_t *hash)
{
    char buf[65536];
    uint64_t h = FNV_START;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        h = fnv(h, buf, (size_t)n);
        if (out >= 0 && write(out, buf, (size_t)n) != n)
            return -1;
    }
    *hash = h;
    return 0;
}

/* ---- the stamp: written once when an entry is built ------------------ */

/* Lists the tree under dirfd (rel: its path in the prefix) into fp:
 *   d REL | l TARGET<TAB>REL | f SIZE SEC.NSEC HASH|- REL
 * parents before their contents. */
static int list_tree(int dirfd, const char *rel, FILE *fp, size_t *count, int depth)
{
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        struct stat st;
        if (strpbrk(e->d_name, "\t\n") || fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            rc = -1;
            break;
        }
        if (S_ISDIR(st.st_mode) && depth < WALK_MAX_DEPTH) {
            fprintf(fp, "d %s\n", path);
            (*count)++;
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            rc = sub < 0 ? -1 : list_tree(sub, path, fp, count, depth + 1);
            if (sub >= 0)
                close(sub);
        } else if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlinkat(dirfd, e->d_name, target, sizeof target - 1);
            if (n < 0 || memchr(target, '\n', (size_t)n) || memchr(target, '\t', (size_t)n)) {
                rc = -1;
                break;
            }
            target[n] = 0;
            fprintf(fp, "l %s\t%s\n", target, path);
            (*count)++;
        } else if (S_ISREG(st.st_mode)) {
            char hash[24] = "-";
            if (!linkable(path)) {
                uint64_t h = 0;
                int f = openat(dirfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                rc = f < 0 ? -1 : copy_hash(f, -1, &h);
                if (f >= 0)
                    close(f);
                snprintf(hash, sizeof hash, "%016llx", (unsigned long long)h);
            }
            fprintf(fp, "f %lld %lld.%09ld %s %s\n", (long long)st.st_size,
                    (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, hash, path);
            (*count)++;
        } else {
            rc = -1;   /* a socket, a fifo, a device: not a prefix we know */
        }
    }
    closedir(d);
    return rc;
}

/* ---- filling a session from an entry ---------------------------------- */

/* Copies (or links) the entry's prefix into dst following its stamp, and
 * checks every file on the way. 0, or -1 with why (the entry is stale). */
static int fill_from(int entry, const char *version, int dst, char *why, size_t whylen)
{
    int sfd = pf_store_open_beneath(entry, "stamp", O_RDONLY);
    int src = pf_store_open_beneath(entry, "prefix", O_RDONLY | O_DIRECTORY);
    FILE *fp = sfd >= 0 ? fdopen(sfd, "r") : NULL;
    if (!fp || src < 0) {
        snprintf(why, whylen, "no %s: %s", fp ? "prefix" : "stamp", strerror(errno));
        if (fp)
            fclose(fp);
        else if (sfd >= 0)
            close(sfd);
        if (src >= 0)
            close(src);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, count = 0;
    int rc = -1;
    bool ended = false;
    ssize_t len = getline(&line, &cap, fp);
    if (len <= 0 || strcmp(line, STAMP_MAGIC "\n")) {
        snprintf(why, whylen, "the stamp is not a cache stamp of this pipefault");
        goto out;
    }
    len = getline(&line, &cap, fp);
    if (len <= 8 || strncmp(line, "version ", 8) || strlen(line + 8) != strlen(version) + 1 ||
        strncmp(line + 8, version, strlen(version))) {
        snprintf(why, whylen, "it was built for another Wine version");
        goto out;
    }
    while ((len = getline(&line, &cap, fp)) > 0) {
        if (line[len - 1] != '\n') {
            snprintf(why, whylen, "the stamp is truncated");
            goto out;
        }
        line[--len] = 0;
        if (!strncmp(line, "end ", 4)) {
            ended = strtoull(line + 4, NULL, 10) == count;
            if (!ended)
                snprintf(why, whylen, "the stamp lists %zu entries, its end says %s", count,
                         line + 4);
            break;
        }
        count++;
        if (line[0] == 'd' && line[1] == ' ') {
            if (mkdirat(dst, line + 2, 0755) < 0) {
                snprintf(why, whylen, "cannot create %s: %s", line + 2, strerror(errno));
                goto out;
            }
        } else if (line[0] == 'l' && line[1] == ' ' && strchr(line, '\t')) {
            char *tab = strchr(line, '\t');
            *tab = 0;
            if (symlinkat(line + 2, dst, tab + 1) < 0) {
                snprintf(why, whylen, "cannot create %s: %s", tab + 1, strerror(errno));
                goto out;
            }
        } else if (line[0] == 'f' && line[1] == ' ') {
            long long size, sec;
            long nsec;
            char hash[24];
            int off = 0;
            if (sscanf(line + 2, "%lld %lld.%ld %23s %n", &size, &sec, &nsec, hash, &off) != 4 ||
                !off) {
                snprintf(why, whylen, "the stamp has a damaged line");
                goto out;
            }
            const char *rel = line + 2 + off;
            int f = pf_store_open_beneath(src, rel, O_RDONLY);
            struct stat st;
            if (f < 0 || fstat(f, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != size ||
                st.st_mtim.tv_sec != sec || st.st_mtim.tv_nsec != nsec) {
                snprintf(why, whylen, "%s is missing or changed since the cache was built", rel);
                if (f >= 0)
                    close(f);
                goto out;
            }
            /* The very inode just checked, linked by its fd. */
            if (!strcmp(hash, "-") &&
                linkat(f, "", dst, rel, AT_EMPTY_PATH) == 0) {
                close(f);
                continue;
            }
            int o = openat(dst, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                           st.st_mode & 0755);
            uint64_t h = 0;
            int crc = o < 0 ? -1 : copy_hash(f, o, &h);
            close(f);
            if (o >= 0 && close(o) != 0)
                crc = -1;
            char got[24];
            snprintf(got, sizeof got, "%016llx", (unsigned long long)h);
            if (crc < 0) {
                snprintf(why, whylen, "cannot copy %s: %s", rel, strerror(errno));
                goto out;
            }
            if (strcmp(hash, "-") && strcmp(hash, got)) {
                snprintf(why, whylen, "the content of %s changed since the cache was built", rel);
                goto out;
            }
        } else {
            snprintf(why, whylen, "the stamp has a damaged line");
            goto out;
        }
    }
    if (!ended) {
        if (!why[0] || len <= 0)
            snprintf(why, whylen, "the stamp is truncated");
        goto out;
    }
    rc = 0;
out:
    free(line);
    fclose(fp);
    close(src);
    return rc;
}

/* ---- building an entry ------------------------------------------------ */

/* Builds the entry `name` for w's Wine version under a temporary name and
 * renames it into place (if another run got there first, theirs stays). */
static int build(int root, const char *root_path, const char *name, const char *version,
                 char *why, size_t whylen)
{
    char tmp[64];
    unsigned char r[4];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return -1;
    snprintf(tmp, sizeof tmp, ".build-%ld-%02x%02x%02x%02x", (long)getpid(), r[0], r[1], r[2],
             r[3]);
    if (mkdirat(root, tmp, 0700) < 0) {
        snprintf(why, whylen, "cannot create %s/%s: %s", root_path, tmp, strerror(errno));
        return -1;
    }
    int bfd = pf_dir_open_private(root, tmp);
    struct pf_wine b;
    memset(&b, 0, sizeof b);
    snprintf(b.prefix, sizeof b.prefix, "%s/%s/prefix", root_path, tmp);
    snprintf(b.tmpdir, sizeof b.tmpdir, "%s/%s/tmp", root_path, tmp);
    char *boot_argv[] = {"wine", "wineboot", "-i", NULL};
    char *wait_argv[] = {"wineserver", "-w", NULL};
    int rc = -1;
    if (bfd < 0 || mkdirat(bfd, "prefix", 0700) < 0 || mkdirat(bfd, "tmp", 0700) < 0) {
        snprintf(why, whylen, "cannot create %s/%s: %s", root_path, tmp, strerror(errno));
        goto out;
    }
    /* wineserver -w: the server has written the registry and exited. */
    if (pf_wine_run_wait(&b, boot_argv) != 0 || pf_wine_run_wait(&b, wait_argv) != 0) {
        snprintf(why, whylen, "wine wineboot -i failed in %s", b.prefix);
        goto out;
    }
    /* The wineserver's socket directory and its pointer to it belong to
     * that server, not to the prefix. */
    char shown[PATH_MAX];
    snprintf(shown, sizeof shown, "%s/%s/tmp", root_path, tmp);
    pf_remove_tree_at(bfd, "tmp", shown);
    int pfd = openat(bfd, "prefix", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (pfd >= 0)
        unlinkat(pfd, "wineserver", 0);
    int sfd = openat(bfd, "stamp", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    FILE *fp = sfd >= 0 ? fdopen(sfd, "w") : NULL;
    size_t count = 0;
    if (!fp || pfd < 0) {
        snprintf(why, whylen, "cannot write the stamp in %s/%s: %s", root_path, tmp,
                 strerror(errno));
        if (sfd >= 0 && !fp)
            close(sfd);
        if (pfd >= 0)
            close(pfd);
        goto out;
    }
    fprintf(fp, STAMP_MAGIC "\nversion %s\n", version);
    int lrc = list_tree(pfd, "", fp, &count, 0);
    fprintf(fp, "end %zu\n", count);
    close(pfd);
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0 || lrc < 0) {
        snprintf(why, whylen, "cannot list the new prefix %s", b.prefix);
        fclose(fp);
        goto out;
    }
    fclose(fp);
    if (renameat(root, tmp, root, name) == 0 || errno == EEXIST || errno == ENOTEMPTY)
        rc = 0;
    else
        snprintf(why, whylen, "cannot rename %s/%s into place: %s", root_path, tmp,
                 strerror(errno));
out:
    if (bfd >= 0)
        close(bfd);
    snprintf(shown, sizeof shown, "%s/%s", root_path, tmp);
    pf_remove_tree_at(root, tmp, shown);   /* nothing there once renamed */
    return rc;
}

/* Removes the entries of root other than `keep` (NULL: all). */
static int remove_entries(int root, const char *root_path, const char *keep)
{
    int fd = dup(root), rc = 0;
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (struct dirent *e; (e = readdir(d));) {
        if ((strncmp(e->d_name, "wine-", 5) && strncmp(e->d_name, ".build-", 7)) ||
            (keep && !strcmp(e->d_name, keep)))
            continue;
        /* A build in progress of a live run is its own: only under the
         * exclusive lock (no build runs) are .build- names leftovers. */
        char shown[PATH_MAX];
        snprintf(shown, sizeof shown, "%s/%s", root_path, e->d_name);
        if (pf_remove_tree_at(root, e->d_name, shown) < 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

/* Empties the session's prefix directory after a failed fill. */
static int reset_prefix(int sfd, const char *shown)
{
    if (pf_remove_tree_at(sfd, "prefix", shown) < 0 || mkdirat(sfd, "prefix", 0700) < 0)
        return -1;
    return 0;
}

static int try_fill(int root, const char *name, const char *version, int sfd, char *why,
                    size_t whylen)
{
    why[0] = 0;
    int entry = pf_dir_open_private(root, name);
    if (entry < 0) {
        snprintf(why, whylen, "not built yet");
        return -1;
    }
    int dst = pf_dir_open_private(sfd, "prefix");
    int rc = dst < 0 ? -1 : fill_from(entry, version, dst, why, whylen);
    if (dst >= 0)
        close(dst);
    close(entry);
    return rc;
}

int pf_wine_cache_fill(struct pf_wine *w, int sfd, bool *built, char *err, size_t errlen)
{
    *built = false;
    char root_path[PATH_MAX], name[64], why[512];
    int root = open_cache(root_path, sizeof root_path, true, err, errlen);
    if (root < 0)
        return -1;
    int lock = openat(root, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lock < 0) {
        snprintf(err, errlen, "cannot open %s/.lock: %s", root_path, strerror(errno));
        close(root);
        return -1;
    }
    entry_name(w->version, name, sizeof name);
    int rc = -1;
    /* Shared: any number of runs fill from a valid entry at once. */
    if (flock(lock, LOCK_SH) == 0 && try_fill(root, name, w->version, sfd, why, sizeof why) == 0) {
        rc = 0;
        goto out;
    }
    flock(lock, LOCK_UN);
    if (reset_prefix(sfd, w->prefix) < 0) {
        snprintf(err, errlen, "cannot empty %s: %s", w->prefix, strerror(errno));
        goto out;
    }
    /* Exclusive: one run rebuilds, the others wait for it and then find
     * the entry valid (checked again: it may have been rebuilt meanwhile). */
    if (flock(lock, LOCK_EX) < 0) {
        snprintf(err, errlen, "cannot lock %s/.lock: %s", root_path, strerror(errno));
        goto out;
    }
    if (try_fill(root, name, w->version, sfd, why, sizeof why) == 0) {
        rc = 0;
        goto out;
    }
    if (strcmp(why, "not built yet"))
        fprintf(stderr, "pipefault: the prefix cache %s/%s is stale (%s): building it "
                "again\n", root_path, name, why);
    else
        fprintf(stderr, "pipefault: building the prefix cache %s/%s (once per Wine "
                "version)\n", root_path, name);
    if (reset_prefix(sfd, w->prefix) < 0) {
        snprintf(err, errlen, "cannot empty %s: %s", w->prefix, strerror(errno));
        goto out;
    }
    /* Under the exclusive lock every other entry is stale or a leftover. */
    remove_entries(root, root_path, NULL);
    if (build(root, root_path, name, w->version, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s", why);
        goto out;
    }
    *built = true;
    if (try_fill(root, name, w->version, sfd, why, sizeof why) == 0)
        rc = 0;
    else
        snprintf(err, errlen, "the cache just built does not check: %s", why);
out:
    if (rc < 0)
        reset_prefix(sfd, w->prefix);
    close(lock);
    close(root);
    return rc;
}

int pf_wine_cache_clean(void)
{
    char root_path[PATH_MAX], err[512];
    int root = open_cache(root_path, sizeof root_path, false, err, sizeof err);
    if (root < 0) {
        if (errno == ENOENT) {
            fprintf(stderr, "pipefault clean: no cache to remove\n");
            return 0;
        }
        fprintf(stderr, "pipefault clean: %s\n", err);
        return -1;
    }
    int lock = openat(root, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) < 0) {
        fprintf(stderr, "pipefault clean: cannot lock %s/.lock: %s\n", root_path,
                strerror(errno));
        if (lock >= 0)
            close(lock);
        close(root);
        return -1;
    }
    int rc = remove_entries(root, root_path, NULL);
    close(lock);
    close(root);
    if (rc == 0)
        fprintf(stderr, "pipefault clean: removed the Wine prefix cache in %s\n", root_path);
    return rc;
}
