/* observer.c - recording every endpoint instance and its permissions.
 *
 * Birth evidence matters because the interesting state is often the shortest
 * lived: a socket is born with umask-derived permissions and a chmod follows
 * microseconds later. When the server is stopped at a syscall entry the read
 * is exact ("syscall"). When inotify already holds an IN_ATTRIB behind the
 * IN_CREATE we are processing, the birth state is gone before we can read
 * it; it is then the kernel's creation state, computed from the umask and
 * directory default ACL ("inferred"). Otherwise it is read just after the
 * event ("stat").
 */
#include "observer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perms.h"

#define WATCH_MASK (IN_CREATE | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
                    IN_DELETE_SELF)

int pf_proc_umask(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *fp = fopen(path, "re");
    if (!fp)
        return -1;
    int um = -1;
    while (fgets(line, sizeof line, fp))
        if (!strncmp(line, "Umask:", 6)) {
            um = (int)strtol(line + 6, NULL, 8);
            break;
        }
    fclose(fp);
    return um;
}

int pf_observer_open(struct pf_observer *o, struct pf_trace *trace,
                     const char *endpoint, enum pf_endpoint_kind kind,
                     char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->trace = trace;
    o->ifd = -1;
    o->abstract = kind == PF_EP_ABSTRACT;
    o->is_socket = kind != PF_EP_FIFO;
    if (o->abstract) {
        snprintf(o->path, sizeof o->path, "@%s", endpoint);
        return 0;
    }
    snprintf(o->path, sizeof o->path, "%s", endpoint);
    snprintf(o->dir, sizeof o->dir, "%s", endpoint);
    char *slash = strrchr(o->dir, '/');
    snprintf(o->base, sizeof o->base, "%s", slash + 1);
    *slash = 0;
    o->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (o->ifd < 0 || inotify_add_watch(o->ifd, o->dir, WATCH_MASK) < 0) {
        snprintf(err, errlen, "inotify on %s: %s", o->dir, strerror(errno));
        if (o->ifd >= 0)
            close(o->ifd);
        o->ifd = -1;
        return -1;
    }
    return 0;
}

void pf_observer_close(struct pf_observer *o)
{
    if (o->ifd >= 0)
        close(o->ifd);
    o->ifd = -1;
    for (int i = 0; i < o->n; i++)
        json_object_put(o->inst[i].perm);
    o->n = 0;
}

static struct pf_instance_rec *rec(struct pf_observer *o, int id)
{
    return id > 0 ? &o->inst[id - 1] : NULL;
}

/* The state the kernel gives a new inode at the path, with the umask the
 * server had when it created it. */
static json_object *creation_perm(struct pf_observer *o)
{
    return pf_perm_default(o->dir, o->is_socket, o->umask_, o->server_uid, o->server_gid);
}

static int birth(struct pf_observer *o, dev_t dev, ino_t ino, json_object *perm,
                 const char *evidence)
{
    if (o->n >= PF_MAX_INSTANCES) {
        json_object_put(perm);
        return 0;
    }
    int id = ++o->n;
    struct pf_instance_rec *r = rec(o, id);
    r->dev = dev;
    r->ino = ino;
    r->perm = json_object_get(perm);
    o->current = id;

    char key[64];
    snprintf(key, sizeof key, "%lu:%lu", (unsigned long)dev, (unsigned long)ino);
    char um[8];
    snprintf(um, sizeof um, "%04o", (unsigned)o->umask_);
    json_object *f = json_object_new_object();
    json_object_object_add(f, "id", json_object_new_int(id));
    json_object_object_add(f, "endpoint", json_object_new_string(o->path));
    json_object_object_add(f, "key", json_object_new_string(key));
    json_object_object_add(f, "perm", perm);
    json_object_object_add(f, "evidence", json_object_new_string(evidence));
    json_object_object_add(f, "umask", json_object_new_string(um));
    pf_trace_emit(o->trace, "observer", "instance_birth", f);
    return id;
}

static void perm_change(struct pf_observer *o, int id, json_object *perm,
                        const char *evidence)
{
    struct pf_instance_rec *r = rec(o, id);
    if (r->perm && json_object_equal(r->perm, perm)) {
        json_object_put(perm);
        return;
    }
    json_object_put(r->perm);
    r->perm = json_object_get(perm);
    json_object *f = json_object_new_object();
    json_object_object_add(f, "id", json_object_new_int(id));
    json_object_object_add(f, "perm", perm);
    json_object_object_add(f, "evidence", json_object_new_string(evidence));
    pf_trace_emit(o->trace, "observer", "instance_perm", f);
}

static void simple_event(struct pf_observer *o, const char *ev, int id, const char *evidence)
{
    json_object *f = json_object_new_object();
    json_object_object_add(f, "id", json_object_new_int(id));
    json_object_object_add(f, "evidence", json_object_new_string(evidence));
    pf_trace_emit(o->trace, "observer", ev, f);
}

static void removed(struct pf_observer *o, const char *evidence)
{
    if (!o->current)
        return;
    simple_event(o, "instance_removed", o->current, evidence);
    o->current = 0;
}

/* Brings the record of the path up to date: a new inode is a new instance,
 * the same inode may have new permissions. `attrib_pending`: an IN_ATTRIB
 * for the path is queued behind the event being handled. Returns the current
 * instance id. */
static int refresh(struct pf_observer *o, const char *evidence, bool attrib_pending)
{
    dev_t dev;
    ino_t ino;
    json_object *perm = pf_perm_read(o->path, &dev, &ino);
    if (!perm) {
        removed(o, evidence);
        return 0;
    }
    struct pf_instance_rec *cur = rec(o, o->current);
    if (cur && cur->dev == dev && cur->ino == ino) {
        perm_change(o, o->current, perm, evidence);
        return o->current;
    }
    if (cur)
        removed(o, evidence);
    if (attrib_pending) {
        /* The birth state was overwritten before we could read it. */
        int id = birth(o, dev, ino, creation_perm(o), "inferred");
        perm_change(o, id, perm, evidence);
        return id;
    }
    return birth(o, dev, ino, perm, evidence);
}

void pf_observer_drain(struct pf_observer *o, bool exact)
{
    if (o->ifd < 0)
        return;
    const char *evidence = exact ? "syscall" : "stat";
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(o->ifd, buf, sizeof buf);
        if (n <= 0)
            return;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ie = (struct inotify_event *)p;
            p += sizeof *ie + ie->len;
            if (!ie->len || strcmp(ie->name, o->base))
                continue;
            if (ie->mask & (IN_DELETE | IN_MOVED_FROM)) {
                removed(o, "stat");
                continue;
            }
            bool attrib_pending = false;
            if (ie->mask & (IN_CREATE | IN_MOVED_TO)) {
                for (char *q = p; q < buf + n;) {
                    struct inotify_event *je = (struct inotify_event *)q;
                    q += sizeof *je + je->len;
                    if (je->len && !strcmp(je->name, o->base) && (je->mask & IN_ATTRIB))
                        attrib_pending = true;
                    if (je->len && !strcmp(je->name, o->base) &&
                        (je->mask & (IN_DELETE | IN_MOVED_FROM)))
                        break;
                }
            }
            refresh(o, evidence, attrib_pending && !exact);
        }
    }
}

int pf_observer_on_syscall(void *ctx, const struct pf_sc_event *e)
{
    struct pf_observer *o = ctx;
    if (strcmp(e->path, o->path) != 0)
        return -1;
    /* The thread is stopped at entry: everything queued happened before. */
    pf_observer_drain(o, true);

    if (o->abstract) {
        if (e->op == PF_OP_CREATE) {
            json_object *none = json_object_new_object();
            json_object_object_add(none, "none", json_object_new_boolean(1));
            return birth(o, 0, 0, none, "syscall");
        }
    } else if (e->op == PF_OP_CREATE) {
        /* bind/mknod has not run yet: the instance does not exist. The umask
         * it will be created with is the one the process has right now. */
        refresh(o, "syscall", false);
        int um = pf_proc_umask(e->pid);
        if (um >= 0)
            o->umask_ = (mode_t)um;
        return 0;
    }
    return o->abstract ? o->current : refresh(o, "syscall", false);
}

void pf_observer_on_proceed(void *ctx, const struct pf_sc_event *e, int id)
{
    struct pf_observer *o = ctx;
    if (!(e->op == PF_OP_LISTEN || (e->op == PF_OP_OPEN && !o->is_socket)))
        return;
    /* The call runs now (after any delay or hold): the instance accepts
     * from this moment, with the state it has at this moment. */
    pf_observer_drain(o, true);
    if (!o->abstract)
        id = refresh(o, "syscall", false);
    struct pf_instance_rec *r = rec(o, id);
    if (r && !r->accepting) {
        r->accepting = true;
        simple_event(o, "instance_accepting", id,
                     e->op == PF_OP_LISTEN ? "listen" : "open-for-read");
    }
}
