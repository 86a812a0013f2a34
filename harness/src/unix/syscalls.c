/* syscalls.c - which syscalls make up each endpoint operation, and decoding
 * their arguments.
 *
 * The arguments of a notified syscall are raw register values of another
 * process: pointers into its memory, descriptors in its fd table, paths
 * relative to its cwd. Everything here reads them through /proc/TID and
 * process_vm_readv so that the supervisor can name the exact path a call is
 * about, whatever the program (static, Go, Python) passed.
 */
#include "syscalls.h"

#include "../util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

/* How a syscall lays out the arguments we need. */
enum layout {
    L_SOCKADDR,   /* bind(fd, addr, len) */
    L_PATH,       /* chmod(path, mode), unlink(path), open(path, ...) */
    L_FD,         /* fchmod(fd, mode), listen(fd), close(fd), accept(fd) */
    L_AT,         /* fchmodat(dirfd, path, mode), unlinkat, openat, ... */
    L_XATTR_PATH, /* setxattr(path, name, ...) */
    L_XATTR_FD,   /* fsetxattr(fd, name, ...) */
    L_RENAME,     /* rename(old, new) */
    L_RENAMEAT,   /* renameat(olddir, old, newdir, new[, flags]) */
};

struct sc_entry {
    int nr;
    enum pf_fault_op op;
    const char *name;
    enum layout layout;
    int mode_arg;    /* index of the mode argument, -1 none */
    int flags_arg;   /* index of an AT_* flags argument (AT_EMPTY_PATH), -1 */
};

#define E(sys, op, layout, mode, flags) { SYS_##sys, op, #sys, layout, mode, flags }

static const struct sc_entry table[] = {
    E(bind, PF_OP_CREATE, L_SOCKADDR, -1, -1),
#ifdef SYS_mknod
    E(mknod, PF_OP_CREATE, L_PATH, 1, -1),
#endif
    E(mknodat, PF_OP_CREATE, L_AT, 2, -1),
#ifdef SYS_chmod
    E(chmod, PF_OP_SECURE, L_PATH, 1, -1),
#endif
    E(fchmod, PF_OP_SECURE, L_FD, 1, -1),
    E(fchmodat, PF_OP_SECURE, L_AT, 2, -1),
#ifdef SYS_fchmodat2
    E(fchmodat2, PF_OP_SECURE, L_AT, 2, 3),
#endif
#ifdef SYS_chown
    E(chown, PF_OP_SECURE, L_PATH, -1, -1),
#endif
    E(fchown, PF_OP_SECURE, L_FD, -1, -1),
#ifdef SYS_lchown
    E(lchown, PF_OP_SECURE, L_PATH, -1, -1),
#endif
    E(fchownat, PF_OP_SECURE, L_AT, -1, 4),
    E(setxattr, PF_OP_SECURE, L_XATTR_PATH, -1, -1),
    E(lsetxattr, PF_OP_SECURE, L_XATTR_PATH, -1, -1),
    E(fsetxattr, PF_OP_SECURE, L_XATTR_FD, -1, -1),
    E(listen, PF_OP_LISTEN, L_FD, -1, -1),
    E(accept, PF_OP_ACCEPT, L_FD, -1, -1),
    E(accept4, PF_OP_ACCEPT, L_FD, -1, -1),
    E(close, PF_OP_CLOSE, L_FD, -1, -1),
#ifdef SYS_unlink
    E(unlink, PF_OP_UNLINK, L_PATH, -1, -1),
#endif
    E(unlinkat, PF_OP_UNLINK, L_AT, -1, -1),
#ifdef SYS_rename
    E(rename, PF_OP_RENAME, L_RENAME, -1, -1),
#endif
    E(renameat, PF_OP_RENAME, L_RENAMEAT, -1, -1),
#ifdef SYS_renameat2
    E(renameat2, PF_OP_RENAME, L_RENAMEAT, -1, -1),
#endif
#ifdef SYS_open
    E(open, PF_OP_OPEN, L_PATH, -1, -1),
#endif
    E(openat, PF_OP_OPEN, L_AT, -1, -1),
};
#undef E

#define TABLE_LEN (sizeof table / sizeof table[0])

static const struct sc_entry *lookup(int nr)
{
    for (size_t i = 0; i < TABLE_LEN; i++)
        if (table[i].nr == nr)
            return &table[i];
    return NULL;
}

bool pf_sc_syscall_op(int nr, enum pf_fault_op *op, const char **name)
{
    const struct sc_entry *e = lookup(nr);
    if (!e)
        return false;
    *op = e->op;
    *name = e->name;
    return true;
}

size_t pf_sc_syscalls(unsigned ops, int *nrs, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < TABLE_LEN && n < max; i++)
        if (ops & (1u << table[i].op))
            nrs[n++] = table[i].nr;
    return n;
}

/* ---- reading the stopped thread --------------------------------------- */

/* Copies len bytes from the thread's memory; falls back to /proc/TID/mem
 * where process_vm_readv is unavailable. */
static bool read_mem(pid_t tid, uint64_t addr, void *buf, size_t len)
{
    struct iovec local = { buf, len };
    struct iovec remote = { (void *)(uintptr_t)addr, len };
    if (process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)len)
        return true;
    char mem[64];
    snprintf(mem, sizeof mem, "/proc/%d/mem", (int)tid);
    int fd = open(mem, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = pread(fd, buf, len, (off_t)addr);
    close(fd);
    return n == (ssize_t)len;
}

/* A NUL-terminated string, read page by page so that a string ending just
 * before an unmapped page is still read. */
static bool read_string(pid_t tid, uint64_t addr, char *buf, size_t size)
{
    const uint64_t page = 4096;
    size_t got = 0;
    if (addr == 0)
        return false;
    while (got + 1 < size) {
        size_t chunk = (size_t)(page - ((addr + got) % page));
        if (chunk > size - 1 - got)
            chunk = size - 1 - got;
        if (!read_mem(tid, addr + got, buf + got, chunk))
            break;
        char *nul = memchr(buf + got, '\0', chunk);
        if (nul)
            return true;
        got += chunk;
    }
    buf[0] = '\0';
    return false;
}

static bool read_link(const char *link, char *out, size_t size)
{
    ssize_t n = readlink(link, out, size - 1);
    if (n < 0) {
        out[0] = '\0';
        return false;
    }
    out[n] = '\0';
    return true;
}

/* What fd N of the thread refers to: a path, "socket:[INO]", "pipe:[..]". */
static bool fd_target(pid_t tid, int fd, char *out, size_t size)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)tid, fd);
    return read_link(link, out, size);
}

/* The bound path of unix socket inode `ino`, from /proc/TID/net/unix (the
 * thread's own network namespace). Abstract names are listed as "@name". */
static bool unix_socket_path(pid_t tid, unsigned long ino, char *out,
                             size_t size)
{
    char file[64];
    snprintf(file, sizeof file, "/proc/%d/net/unix", (int)tid);
    FILE *fp = fopen(file, "re");
    if (!fp)
        return false;
    char line[PATH_MAX + 128];
    bool found = false;
    while (!found && fgets(line, sizeof line, fp)) {
        unsigned long inode;
        int used = 0;
        if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu%n", &inode, &used) != 1
            || inode != ino)
            continue;
        const char *p = line + used;
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, "\n");
        if (len == 0 || len >= size)
            break; /* bound to nothing (unnamed or connected peer) */
        memcpy(out, p, len);
        out[len] = '\0';
        found = true;
    }
    fclose(fp);
    return found;
}

/* Lexically collapses "//", "/./" and "dir/.." in an absolute path. */
static void normalise(char *path)
{
    char *out = path;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *end = p + strcspn(p, "/");
        size_t len = (size_t)(end - p);
        if (len == 0)
            break;
        if (len == 1 && p[0] == '.') {
            /* skip */
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (out > path && *--out != '/')
                ;
        } else {
            *out++ = '/';
            memmove(out, p, len);
            out += len;
        }
        p = end;
    }
    if (out == path)
        *out++ = '/';
    *out = '\0';
}

/* Absolute form of `rel` as the thread would resolve it: against dirfd, or
 * its cwd for AT_FDCWD. */
static void resolve(pid_t tid, int dirfd, const char *rel, char *out,
                    size_t size)
{
    out[0] = '\0';
    if (rel[0] == '/') {
        snprintf(out, size, "%s", rel);
    } else {
        char base[PATH_MAX], link[64];
        if (dirfd == AT_FDCWD)
            snprintf(link, sizeof link, "/proc/%d/cwd", (int)tid);
        else
            snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)tid, dirfd);
        if (!read_link(link, base, sizeof base) || base[0] != '/')
            return;
        if (snprintf(out, size, "%s/%s", base, rel) >= (int)size) {
            out[0] = '\0';
            return;
        }
    }
    normalise(out);
}

void pf_sc_bindings_free(struct pf_sc_bindings *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->v[i].given);
        free(b->v[i].path);
    }
    free(b->v);
    memset(b, 0, sizeof *b);
}

static void remember_binding(struct pf_sc_bindings *b, unsigned long ino,
                             const char *given, const char *path)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 16;
        b->v = pf_xreallocarray(b->v, b->cap, sizeof *b->v);
    }
    struct pf_sc_binding *e = &b->v[b->n++];
    e->ino = ino;
    e->given = pf_xstrdup(given);
    e->path = pf_xstrdup(path);
}

/* The absolute path of a socket whose /proc/net/unix name is relative:
 * the bind we saw for this inode, else the latest bind to the same name
 * (an accepted connection lists its listener's name), else the thread's
 * cwd now. */
static void absolute_socket_path(pid_t tid, unsigned long ino,
                                 const char *name, struct pf_sc_bindings *b,
                                 char *out, size_t size)
{
    for (size_t i = b->n; i-- > 0;)
        if (b->v[i].ino == ino && strcmp(b->v[i].given, name) == 0) {
            snprintf(out, size, "%s", b->v[i].path);
            return;
        }
    for (size_t i = b->n; i-- > 0;)
        if (strcmp(b->v[i].given, name) == 0) {
            snprintf(out, size, "%s", b->v[i].path);
            return;
        }
    resolve(tid, AT_FDCWD, name, out, size);
}

static bool socket_inode(pid_t tid, int fd, unsigned long *ino)
{
    char target[64];
    return fd >= 0 && fd_target(tid, fd, target, sizeof target) &&
           sscanf(target, "socket:[%lu]", ino) == 1;
}

/* Resolves an fd to the path it concerns: a file's path, or for a unix
 * socket the path (or "@abstract" name) it is bound to. */
static void fd_path(pid_t tid, int fd, struct pf_sc_bindings *b, char *out,
                    size_t size)
{
    char target[PATH_MAX];
    unsigned long ino;
    out[0] = '\0';
    if (fd < 0 || !fd_target(tid, fd, target, sizeof target))
        return;
    if (sscanf(target, "socket:[%lu]", &ino) == 1) {
        /* A socket we saw bound: its address cannot have changed (a socket
         * binds once), and socket inode numbers are not reused within a
         * run. This spares a scan of /proc/net/unix on every accept. */
        for (size_t i = b->n; i-- > 0;)
            if (b->v[i].ino == ino) {
                snprintf(out, size, "%s", b->v[i].path);
                return;
            }
        char name[PATH_MAX];
        if (!unix_socket_path(tid, ino, name, sizeof name))
            return;
        if (name[0] == '/' || name[0] == '@')
            snprintf(out, size, "%s", name);
        else
            absolute_socket_path(tid, ino, name, b, out, size);
        return;
    }
    if (target[0] == '/')
        snprintf(out, size, "%s", target);
}

/* bind's sockaddr_un: a pathname (resolved), or "@name" for the abstract
 * namespace (embedded NULs shown as '@', as /proc/net/unix does). */
static void decode_sockaddr(pid_t tid, int fd, uint64_t addr, uint64_t len,
                            struct pf_sc_bindings *b, char *out, size_t size)
{
    struct sockaddr_un sun;
    unsigned long ino;
    out[0] = '\0';
    if (len <= offsetof(struct sockaddr_un, sun_path) || len > sizeof sun)
        return;
    memset(&sun, 0, sizeof sun);
    if (!read_mem(tid, addr, &sun, (size_t)len) || sun.sun_family != AF_UNIX)
        return;
    size_t n = (size_t)len - offsetof(struct sockaddr_un, sun_path);
    if (sun.sun_path[0] == '\0') {
        size_t k = 0;
        for (size_t i = 0; i < n && k + 1 < size; i++)
            out[k++] = sun.sun_path[i] ? sun.sun_path[i] : '@';
        out[k] = '\0';
        if (socket_inode(tid, fd, &ino))
            remember_binding(b, ino, out, out);
        return;
    }
    char rel[sizeof sun.sun_path + 1];
    memcpy(rel, sun.sun_path, n);
    rel[n] = '\0';
    resolve(tid, AT_FDCWD, rel, out, size);
    if (out[0] && socket_inode(tid, fd, &ino))
        remember_binding(b, ino, rel, out);
}

static void path_at(pid_t tid, int dirfd, uint64_t addr, int flags,
                    struct pf_sc_bindings *b, char *out, size_t size)
{
    char rel[PATH_MAX];
    out[0] = '\0';
    if (!read_string(tid, addr, rel, sizeof rel))
        return;
    if (rel[0] == '\0' && (flags & AT_EMPTY_PATH))
        fd_path(tid, dirfd, b, out, size);
    else
        resolve(tid, dirfd, rel, out, size);
}

static bool acl_xattr(pid_t tid, uint64_t addr)
{
    static const char prefix[] = "system.posix_acl_";
    char name[256];
    return read_string(tid, addr, name, sizeof name) &&
           strncmp(name, prefix, sizeof prefix - 1) == 0;
}

bool pf_sc_thread_fscreds(pid_t tid, uid_t *fsuid, gid_t *fsgid)
{
    char file[64], line[256];
    snprintf(file, sizeof file, "/proc/%d/status", (int)tid);
    FILE *fp = fopen(file, "re");
    if (!fp)
        return false;
    int got = 0;
    while (got != 3 && fgets(line, sizeof line, fp)) {
        unsigned long real, eff, saved, fs;
        if (sscanf(line, "Uid: %lu %lu %lu %lu", &real, &eff, &saved, &fs) == 4) {
            *fsuid = (uid_t)fs;
            got |= 1;
        } else if (sscanf(line, "Gid: %lu %lu %lu %lu", &real, &eff, &saved, &fs) == 4) {
            *fsgid = (gid_t)fs;
            got |= 2;
        }
    }
    fclose(fp);
    return got == 3;
}

/* One socket as sock_diag describes it: its type and state, and the file
 * it is bound to (vfs; NULL when unbound or abstract). */
struct unix_seen {
    const struct unix_diag_msg *m;
    const struct unix_diag_vfs *vfs;
};

static dev_t vfs_dev(const struct unix_diag_vfs *v)
{
    /* The kernel's own dev_t: 12 bits major, 20 bits minor. */
    return makedev(v->udiag_vfs_dev >> 20, v->udiag_vfs_dev & 0xfffff);
}

/* Asks sock_diag about the unix socket with inode `sino`, or about all of
 * them (sino 0: a dump, which comes in as many messages as it takes, then
 * NLMSG_DONE), and calls each() for every socket in the answer until it
 * returns true. Returns whether one did. */
static bool unix_diag(unsigned long sino, bool (*each)(const struct unix_seen *, void *),
                      void *ctx)
{
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0)
        return false;
    struct {
        struct nlmsghdr nlh;
        struct unix_diag_req req;
    } msg = {
        .nlh = { .nlmsg_len = sizeof msg, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                 .nlmsg_flags = NLM_F_REQUEST | (sino ? 0 : NLM_F_DUMP) },
        .req = { .sdiag_family = AF_UNIX, .udiag_states = (__u32)-1,
                 .udiag_ino = (__u32)sino, .udiag_show = UDIAG_SHOW_VFS,
                 .udiag_cookie = { (__u32)-1, (__u32)-1 } },
    };
    if (!sino)
        memset(msg.req.udiag_cookie, 0, sizeof msg.req.udiag_cookie);
    bool found = false, done = send(nl, &msg, sizeof msg, 0) != (ssize_t)sizeof msg;
    while (!done && !found) {
        long buf[4096];
        ssize_t n = recv(nl, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        done = sino != 0;   /* an exact lookup: one reply */
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; !found && NLMSG_OK(h, (size_t)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) {
                done = true;   /* NLMSG_DONE or NLMSG_ERROR */
                break;
            }
            struct unix_seen seen = { NLMSG_DATA(h), NULL };
            if (sino && seen.m->udiag_ino != (__u32)sino)
                continue;
            int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *seen.m));
            for (struct rtattr *a = (struct rtattr *)(seen.m + 1); RTA_OK(a, len);
                 a = RTA_NEXT(a, len))
                if (a->rta_type == UNIX_DIAG_VFS)
                    seen.vfs = RTA_DATA(a);
            found = each(&seen, ctx);
        }
    }
    close(nl);
    return found;
}

struct node_query {
    dev_t *dev;
    ino_t *ino;
    int *type;
};

static bool node_of(const struct unix_seen *s, void *ctx)
{
    struct node_query *q = ctx;
    if (q->type)
        *q->type = s->m->udiag_type;
    if (!s->vfs)
        return false;
    *q->dev = vfs_dev(s->vfs);
    *q->ino = (ino_t)s->vfs->udiag_vfs_ino;
    return true;
}

bool pf_sc_socket_node(pid_t tid, int fd, dev_t *dev, ino_t *ino, int *type)
{
    unsigned long sino;
    struct node_query q = { dev, ino, type };
    return socket_inode(tid, fd, &sino) && sino && unix_diag(sino, node_of, &q);
}

struct file_query {
    dev_t dev;
    ino_t ino;
};

static bool receives_on(const struct unix_seen *s, void *ctx)
{
    const struct file_query *q = ctx;
    return s->vfs && vfs_dev(s->vfs) == q->dev && (ino_t)s->vfs->udiag_vfs_ino == q->ino &&
           (s->m->udiag_state == 10 /* TCP_LISTEN */ || s->m->udiag_type == SOCK_DGRAM);
}

bool pf_sc_node_receives(dev_t dev, ino_t ino)
{
    struct file_query q = { dev, ino };
    return unix_diag(0, receives_on, &q);
}

pid_t pf_sc_tgid(pid_t tid)
{
    char file[64], line[256];
    snprintf(file, sizeof file, "/proc/%d/status", (int)tid);
    FILE *fp = fopen(file, "re");
    pid_t tgid = tid;
    if (!fp)
        return tid;
    while (fgets(line, sizeof line, fp)) {
        int v;
        if (sscanf(line, "Tgid: %d", &v) == 1) {
            tgid = (pid_t)v;
            break;
        }
    }
    fclose(fp);
    return tgid;
}

bool pf_sc_thread_alive(pid_t tid)
{
    char file[64], buf[512];
    snprintf(file, sizeof file, "/proc/%d/stat", (int)tid);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    /* "pid (comm) S ...": comm may hold ')' so take the last one. */
    const char *paren = strrchr(buf, ')');
    if (!paren || paren[1] != ' ')
        return false;
    return paren[2] != 'Z' && paren[2] != 'X' && paren[2] != 'x';
}

void pf_sc_decode(const struct seccomp_notif *n, struct pf_sc_bindings *b,
                  struct pf_sc_call *call)
{
    struct pf_sc_event *ev = &call->ev;
    const __u64 *a = n->data.args;
    pid_t tid = (pid_t)n->pid;
    const struct sc_entry *e = lookup(n->data.nr);

    memset(ev, 0, sizeof *ev);
    call->from[0] = '\0';
    call->relevant = true;
    ev->tid = tid;
    ev->pid = pf_sc_tgid(tid);
    ev->fd = -1;
    ev->mode = -1;
    if (!e) {
        call->relevant = false;
        ev->name = "?";
        return;
    }
    ev->op = e->op;
    ev->name = e->name;
    if (e->mode_arg >= 0)
        ev->mode = (int)(a[e->mode_arg] & 0xFFFFFFFFu);
    int flags = e->flags_arg >= 0 ? (int)a[e->flags_arg] : 0;

    if (e->op == PF_OP_CREATE)
        ev->creds_known = pf_sc_thread_fscreds(tid, &ev->fsuid, &ev->fsgid);

    switch (e->layout) {
    case L_SOCKADDR:
        ev->fd = (int)a[0];
        decode_sockaddr(tid, ev->fd, a[1], a[2], b, ev->path,
                        sizeof ev->path);
        if (e->op == PF_OP_CREATE) {
            /* Not bound yet: no file to name, but the type is known. */
            dev_t dev;
            ino_t ino;
            pf_sc_socket_node(tid, ev->fd, &dev, &ino, &ev->sock_type);
        }
        break;
    case L_PATH:
        path_at(tid, AT_FDCWD, a[0], 0, b, ev->path, sizeof ev->path);
        break;
    case L_FD:
        ev->fd = (int)a[0];
        fd_path(tid, ev->fd, b, ev->path, sizeof ev->path);
        /* A listener may have been bound under another name and renamed or
         * linked onto the endpoint since: its file, not its bind name,
         * says which instance starts accepting. */
        if (e->op == PF_OP_LISTEN)
            ev->node_known = pf_sc_socket_node(tid, ev->fd, &ev->node_dev, &ev->node_ino,
                                               &ev->sock_type);
        break;
    case L_AT:
        path_at(tid, (int)a[0], a[1], flags, b, ev->path, sizeof ev->path);
        break;
    case L_XATTR_PATH:
        call->relevant = acl_xattr(tid, a[1]);
        if (call->relevant)
            path_at(tid, AT_FDCWD, a[0], 0, b, ev->path, sizeof ev->path);
        break;
    case L_XATTR_FD:
        call->relevant = acl_xattr(tid, a[1]);
        ev->fd = (int)a[0];
        if (call->relevant)
            fd_path(tid, ev->fd, b, ev->path, sizeof ev->path);
        break;
    case L_RENAME:
        path_at(tid, AT_FDCWD, a[1], 0, b, ev->path, sizeof ev->path);
        path_at(tid, AT_FDCWD, a[0], 0, b, call->from, sizeof call->from);
        break;
    case L_RENAMEAT:
        path_at(tid, (int)a[2], a[3], 0, b, ev->path, sizeof ev->path);
        path_at(tid, (int)a[0], a[1], 0, b, call->from, sizeof call->from);
        break;
    }
}
