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
 *
 * An instance is its inode, not its name: a socket bound (or a FIFO made)
 * under another name in the endpoint's directory, listened on, and then
 * renamed or linked onto the endpoint name is recorded when it lands there,
 * with the birth state, permission changes and listen() it had before
 * (docs/trace.md, `created_as`).
 *
 * Each instance also carries `default`: what the kernel gives an inode made
 * by its real creator (fsuid/fsgid of the thread stopped at bind/mknod,
 * setgid directory, default ACL) under the run's starting umask.
 */
#include "observer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util.h"
#include "perms.h"
#include "syscalls.h"
#include "../trace_names.h"

#define WATCH_MASK (IN_CREATE | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
                    IN_DELETE_SELF)

bool pf_proc_umask(pid_t pid, mode_t *umask_out)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *fp = fopen(path, "re");
    if (!fp)
        return false;
    bool found = false;
    while (fgets(line, sizeof line, fp))
        if (!strncmp(line, "Umask:", 6)) {
            *umask_out = (mode_t)strtol(line + 6, NULL, 8);
            found = true;
            break;
        }
    fclose(fp);
    return found;
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
    /* Until told otherwise: the harness's own credentials. */
    o->server_uid = geteuid();
    o->server_gid = getegid();
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

void pf_observer_set_server(struct pf_observer *o, pid_t pid)
{
    o->server_pid = pid;
    uid_t u;
    gid_t g;
    if (pf_sc_thread_fscreds(pid, &u, &g)) {
        o->server_uid = u;
        o->server_gid = g;
    }
}

static void free_candidate(struct pf_candidate *c)
{
    free(c->created_as);
    free(c->name);
    json_object_put(c->history);
    json_object_put(c->deflt);
}

static void free_creation(struct pf_creation *c)
{
    json_object_put(c->deflt);
    json_object_put(c->actual);
}

void pf_observer_close(struct pf_observer *o)
{
    if (o->ifd >= 0)
        close(o->ifd);
    o->ifd = -1;
    for (int i = 0; i < o->n; i++)
        json_object_put(o->inst[i].perm);
    free(o->inst);
    o->inst = NULL;
    o->n = 0;
    o->cap = 0;
    for (size_t i = 0; i < o->ncand; i++)
        free_candidate(&o->cand[i]);
    free(o->cand);
    o->cand = NULL;
    o->ncand = o->capcand = 0;
    for (size_t i = 0; i < o->nmade; i++)
        free_creation(&o->made[i]);
    free(o->made);
    o->made = NULL;
    o->nmade = o->capmade = 0;
}

static struct pf_instance_rec *rec(struct pf_observer *o, int id)
{
    return id > 0 && id <= o->n ? &o->inst[id - 1] : NULL;
}

/* The newest instance with this inode, 0 none. */
static int instance_by_key(const struct pf_observer *o, dev_t dev, ino_t ino)
{
    for (int i = o->n; i-- > 0;)
        if (o->inst[i].dev == dev && o->inst[i].ino == ino)
            return i + 1;
    return 0;
}

static struct pf_candidate *candidate_by_key(struct pf_observer *o, dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < o->ncand; i++)
        if (o->cand[i].dev == dev && o->cand[i].ino == ino)
            return &o->cand[i];
    return NULL;
}

static void drop_candidate(struct pf_observer *o, struct pf_candidate *c)
{
    free_candidate(c);
    size_t i = (size_t)(c - o->cand);
    memmove(&o->cand[i], &o->cand[i + 1], (o->ncand - i - 1) * sizeof *c);
    o->ncand--;
}

/* The name `path` has in the endpoint's directory, NULL if it is elsewhere. */
static const char *name_in_dir(const struct pf_observer *o, const char *path)
{
    size_t n = strlen(o->dir);
    if (o->abstract || strncmp(path, o->dir, n) || path[n] != '/' || !path[n + 1] ||
        strchr(path + n + 1, '/'))
        return NULL;
    return path + n + 1;
}

/* ---- what a creator gets ------------------------------------------------- */

static struct pf_creation *creation_for(struct pf_observer *o, const char *name)
{
    for (size_t i = 0; i < o->nmade; i++)
        if (!strcmp(o->made[i].name, name))
            return &o->made[i];
    return NULL;
}

static void drop_creation(struct pf_observer *o, struct pf_creation *c)
{
    free_creation(c);
    size_t i = (size_t)(c - o->made);
    memmove(&o->made[i], &o->made[i + 1], (o->nmade - i - 1) * sizeof *c);
    o->nmade--;
}

/* bind/mknod of `name` in the endpoint's directory, its thread stopped: the
 * new inode's owner and group come from that thread's fsuid/fsgid (and the
 * directory), its `default` mode from the run's starting umask, so that a
 * server narrowing its umask around bind still counts as doing so on
 * purpose. `actual` is what this very call will create. */
static void note_creation(struct pf_observer *o, const char *name, const struct pf_sc_event *e)
{
    uid_t uid = e->creds_known ? e->fsuid : o->server_uid;
    gid_t gid = e->creds_known ? e->fsgid : o->server_gid;
    mode_t create = o->is_socket ? 0777 : e->mode >= 0 ? (mode_t)e->mode & 07777 : 0666;
    struct pf_creation *c = creation_for(o, name);
    if (c) {
        free_creation(c);
    } else {
        o->made = pf_xreallocarray(o->made, o->nmade + 1, sizeof *o->made);
        c = &o->made[o->nmade++];
        snprintf(c->name, sizeof c->name, "%s", name);
    }
    c->deflt = pf_perm_default(o->dir, o->is_socket, o->start_umask, uid, gid);
    c->actual = pf_perm_for_create(o->dir, o->is_socket, create, o->umask_, uid, gid);
    c->default_evidence = e->creds_known ? "creator" : "server";
    c->dgram = e->sock_type == SOCK_DGRAM;
}

/* The `default` of a new inode under `name`, and how it is known: from its
 * create call, else from the server's credentials at start. Consumes the
 * create call's record. */
static json_object *take_default(struct pf_observer *o, const char *name, const char **evidence,
                                 json_object **actual)
{
    struct pf_creation *c = creation_for(o, name);
    if (actual)
        *actual = NULL;
    if (!c) {
        *evidence = "server";
        return pf_perm_default(o->dir, o->is_socket, o->start_umask, o->server_uid,
                               o->server_gid);
    }
    *evidence = c->default_evidence;
    json_object *d = json_object_get(c->deflt);
    if (actual)
        *actual = json_object_get(c->actual);
    drop_creation(o, c);
    return d;
}

/* The state the kernel gives a new inode at the path, with the umask the
 * server had when it created it. */
static json_object *creation_perm(struct pf_observer *o)
{
    return pf_perm_default(o->dir, o->is_socket, o->umask_, o->server_uid, o->server_gid);
}

/* ---- events -------------------------------------------------------------- */

struct birth_facts {
    int64_t t;                  /* trace ns, -1 now */
    json_object *perm;          /* owned */
    const char *evidence;
    json_object *deflt;         /* owned, NULL none (abstract) */
    const char *default_evidence;
    const char *created_as;     /* NULL: made on the endpoint name itself */
};

static int birth(struct pf_observer *o, dev_t dev, ino_t ino, struct birth_facts b)
{
    if ((size_t)o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 64;
        o->inst = pf_xreallocarray(o->inst, o->cap, sizeof *o->inst);
    }
    int id = ++o->n;
    struct pf_instance_rec *r = &o->inst[id - 1];
    memset(r, 0, sizeof *r);
    r->dev = dev;
    r->ino = ino;
    r->perm = json_object_get(b.perm);
    r->seen_t = b.t >= 0 ? b.t : o->read_t;
    o->current = id;

    char key[64];
    snprintf(key, sizeof key, "%lu:%lu", (unsigned long)dev, (unsigned long)ino);
    char um[8];
    snprintf(um, sizeof um, "%04o", (unsigned)o->umask_);
    json_object *f = json_object_new_object();
    json_object_object_add(f, PF_F_ID, json_object_new_int(id));
    json_object_object_add(f, PF_F_ENDPOINT, json_object_new_string(o->path));
    json_object_object_add(f, PF_F_KEY, json_object_new_string(key));
    json_object_object_add(f, PF_F_PERM, b.perm);
    json_object_object_add(f, PF_F_EVIDENCE, json_object_new_string(b.evidence));
    json_object_object_add(f, PF_F_UMASK, json_object_new_string(um));
    if (b.deflt) {
        json_object_object_add(f, PF_F_DEFAULT, b.deflt);
        json_object_object_add(f, PF_F_DEFAULT_EVIDENCE,
                               json_object_new_string(b.default_evidence));
    }
    if (b.created_as) {
        json_object_object_add(f, PF_F_CREATED_AS, json_object_new_string(b.created_as));
        json_object_object_add(f, PF_F_ENDPOINT_T, json_object_new_int64(pf_trace_now(o->trace)));
    }
    pf_trace_emit_at(o->trace, b.t, PF_SRC_OBSERVER, PF_EV_INSTANCE_BIRTH, f);
    return id;
}

/* A change is stamped when it was seen; `since` says when the old state was
 * last read, so the change happened in (since, t]. An attempt in between
 * may have met either state, and the checker must not say which. A change
 * replayed from a candidate's history (t given) has no such bound. */
static void perm_change_at(struct pf_observer *o, int id, json_object *perm,
                           const char *evidence, int64_t t)
{
    struct pf_instance_rec *r = rec(o, id);
    if (!r) {
        json_object_put(perm);
        return;
    }
    int64_t since = r->seen_t;
    r->seen_t = t >= 0 ? t : o->read_t;
    if (r->perm && json_object_equal(r->perm, perm)) {
        json_object_put(perm);
        return;
    }
    json_object_put(r->perm);
    r->perm = json_object_get(perm);
    json_object *f = json_object_new_object();
    json_object_object_add(f, PF_F_ID, json_object_new_int(id));
    json_object_object_add(f, PF_F_PERM, perm);
    json_object_object_add(f, PF_F_EVIDENCE, json_object_new_string(evidence));
    if (t < 0)
        json_object_object_add(f, PF_F_SINCE, json_object_new_int64(since));
    pf_trace_emit_at(o->trace, t, PF_SRC_OBSERVER, PF_EV_INSTANCE_PERM, f);
}

static void perm_change(struct pf_observer *o, int id, json_object *perm,
                        const char *evidence)
{
    perm_change_at(o, id, perm, evidence, -1);
}

static void simple_event(struct pf_observer *o, const char *ev, int id, const char *evidence)
{
    json_object *f = json_object_new_object();
    json_object_object_add(f, PF_F_ID, json_object_new_int(id));
    json_object_object_add(f, PF_F_EVIDENCE, json_object_new_string(evidence));
    pf_trace_emit(o->trace, PF_SRC_OBSERVER, ev, f);
}

static void mark_accepting(struct pf_observer *o, int id, const char *evidence)
{
    struct pf_instance_rec *r = rec(o, id);
    if (r && !r->accepting) {
        r->accepting = true;
        simple_event(o, PF_EV_INSTANCE_ACCEPTING, id, evidence);
    }
}

static void removed(struct pf_observer *o, const char *evidence)
{
    if (!o->current)
        return;
    simple_event(o, PF_EV_INSTANCE_REMOVED, o->current, evidence);
    o->current = 0;
}

/* ---- inodes under other names ------------------------------------------ */

static void history_add(json_object *history, int64_t t, json_object *perm, const char *evidence)
{
    json_object *h = json_object_new_object();
    json_object_object_add(h, PF_F_T, json_object_new_int64(t));
    json_object_object_add(h, PF_F_PERM, perm);
    json_object_object_add(h, PF_F_EVIDENCE, json_object_new_string(evidence));
    json_object_array_add(history, h);
}

static json_object *history_last_perm(json_object *history)
{
    size_t n = json_object_array_length(history);
    json_object *p = NULL;
    if (n)
        json_object_object_get_ex(json_object_array_get_idx(history, n - 1), PF_F_PERM, &p);
    return p;
}

/* A socket or FIFO of the endpoint's kind at dir/name, with its perm. */
static json_object *read_node(struct pf_observer *o, const char *name, dev_t *dev, ino_t *ino)
{
    char path[PATH_MAX + NAME_MAX + 2];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", o->dir, name);
    if (lstat(path, &st) < 0 || !(o->is_socket ? S_ISSOCK(st.st_mode) : S_ISFIFO(st.st_mode)))
        return NULL;
    return pf_perm_read(path, dev, ino);
}

/* dir/name appeared (created, or moved in). A new inode there is a
 * candidate instance: remembered until it lands on the endpoint name. */
static void candidate_seen(struct pf_observer *o, const char *name, const char *evidence,
                           bool attrib_pending)
{
    dev_t dev;
    ino_t ino;
    json_object *perm = read_node(o, name, &dev, &ino);
    if (!perm)
        return;
    struct pf_instance_rec *cur = rec(o, o->current);
    struct pf_candidate *known = candidate_by_key(o, dev, ino);
    if (known) {
        free(known->name);        /* moved within the directory */
        known->name = pf_xstrdup(name);
    }
    if (known || (cur && cur->dev == dev && cur->ino == ino)) {
        json_object_put(perm);    /* a second name of what we already follow */
        return;
    }
    o->cand = pf_xreallocarray(o->cand, o->ncand + 1, sizeof *o->cand);
    struct pf_candidate *c = &o->cand[o->ncand++];
    memset(c, 0, sizeof *c);
    c->dev = dev;
    c->ino = ino;
    c->created_as = pf_xasprintf("%s/%s", o->dir, name);
    c->name = pf_xstrdup(name);
    c->history = json_object_new_array();
    c->accepting_t = -1;
    json_object *actual;
    c->deflt = take_default(o, name, &c->default_evidence, &actual);
    int64_t now = pf_trace_now(o->trace);
    if (attrib_pending) {
        /* The birth state was overwritten before we could read it. */
        history_add(c->history, now, actual ? actual : creation_perm(o), "inferred");
        if (!json_object_equal(history_last_perm(c->history), perm))
            history_add(c->history, now, perm, evidence);
        else
            json_object_put(perm);
    } else {
        json_object_put(actual);
        history_add(c->history, now, perm, evidence);
    }
}

/* dir/name had its attributes changed: follow a candidate's permissions. */
static void candidate_attrib(struct pf_observer *o, const char *name, const char *evidence)
{
    dev_t dev;
    ino_t ino;
    json_object *perm = read_node(o, name, &dev, &ino);
    if (!perm)
        return;
    struct pf_candidate *c = candidate_by_key(o, dev, ino);
    if (!c || json_object_equal(history_last_perm(c->history), perm)) {
        json_object_put(perm);
        return;
    }
    history_add(c->history, pf_trace_now(o->trace), perm, evidence);
}

/* dir/name was deleted: a candidate known by that name is gone (its inode
 * number may be handed out again). */
static void candidate_deleted(struct pf_observer *o, const char *name)
{
    for (size_t i = o->ncand; i-- > 0;)
        if (!strcmp(o->cand[i].name, name))
            drop_candidate(o, &o->cand[i]);
}

/* A candidate landed on the endpoint name: it becomes an instance with
 * everything it went through, each event at the time it happened. */
static int land(struct pf_observer *o, struct pf_candidate *c, json_object *perm,
                const char *evidence)
{
    json_object *first = json_object_array_get_idx(c->history, 0), *v;
    struct birth_facts b = {
        .t = pf_json_int(first, PF_F_T, -1),
        .perm = json_object_object_get_ex(first, PF_F_PERM, &v) ? json_object_get(v) : NULL,
        .evidence = pf_json_str(first, PF_F_EVIDENCE),
        .deflt = json_object_get(c->deflt),
        .default_evidence = c->default_evidence,
        .created_as = c->created_as,
    };
    int id = birth(o, c->dev, c->ino, b);
    for (size_t i = 1; i < json_object_array_length(c->history); i++) {
        json_object *h = json_object_array_get_idx(c->history, i);
        json_object_object_get_ex(h, PF_F_PERM, &v);
        perm_change_at(o, id, json_object_get(v), pf_json_str(h, PF_F_EVIDENCE),
                       pf_json_int(h, PF_F_T, -1));
    }
    if (c->accepting_t >= 0) {
        rec(o, id)->accepting = true;
        json_object *f = json_object_new_object();
        json_object_object_add(f, PF_F_ID, json_object_new_int(id));
        json_object_object_add(f, PF_F_EVIDENCE, json_object_new_string(c->accepting_evidence));
        json_object_object_add(f, PF_F_BEFORE_ENDPOINT, json_object_new_boolean(1));
        pf_trace_emit_at(o->trace, c->accepting_t, PF_SRC_OBSERVER, PF_EV_INSTANCE_ACCEPTING, f);
    }
    drop_candidate(o, c);
    perm_change(o, id, perm, evidence);
    return id;
}

/* ---- the endpoint name --------------------------------------------------- */

/* Brings the record of the path up to date: a new inode is a new instance,
 * the same inode may have new permissions. `attrib_pending`: an IN_ATTRIB
 * for the path is queued behind the event being handled. Returns the current
 * instance id. */
static int refresh(struct pf_observer *o, const char *evidence, bool attrib_pending)
{
    dev_t dev;
    ino_t ino;
    o->read_t = pf_trace_now(o->trace);
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
    struct pf_candidate *c = candidate_by_key(o, dev, ino);
    if (c && creation_for(o, o->base)) {
        /* Made on the endpoint name just now: the inode number of a
         * candidate that is gone, handed out again. */
        drop_candidate(o, c);
        c = NULL;
    }
    if (c)
        return land(o, c, perm, evidence);
    json_object *actual;
    struct birth_facts b = { .t = -1, .evidence = evidence };
    struct pf_creation *made = creation_for(o, o->base);
    bool dgram = made && made->dgram;
    b.deflt = take_default(o, o->base, &b.default_evidence, &actual);
    if (attrib_pending) {
        /* The birth state was overwritten before we could read it. */
        b.perm = actual ? actual : creation_perm(o);
        b.evidence = "inferred";
    } else {
        json_object_put(actual);
        b.perm = perm;
    }
    int id = birth(o, dev, ino, b);
    /* A bound datagram socket takes connects and datagrams from its birth:
     * there is no listen() to wait for. */
    if (dgram)
        mark_accepting(o, id, "bind-dgram");
    if (attrib_pending)
        perm_change(o, id, perm, evidence);
    return id;
}

/* Whether an IN_ATTRIB for `name` is queued in [q, end) before the name is
 * deleted or moved away. */
static bool attrib_queued(const char *name, const char *q, const char *end)
{
    while (q < end) {
        const struct inotify_event *je = (const struct inotify_event *)q;
        q += sizeof *je + je->len;
        if (!je->len || strcmp(je->name, name))
            continue;
        if (je->mask & IN_ATTRIB)
            return true;
        if (je->mask & (IN_DELETE | IN_MOVED_FROM))
            return false;
    }
    return false;
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
            if (!ie->len)
                continue;
            if (strcmp(ie->name, o->base)) {
                /* Another name: a candidate's life before the endpoint. A
                 * pending IN_ATTRIB always means its birth state is gone. */
                if (ie->mask & (IN_CREATE | IN_MOVED_TO))
                    candidate_seen(o, ie->name, evidence,
                                   attrib_queued(ie->name, p, buf + n));
                else if (ie->mask & IN_ATTRIB)
                    candidate_attrib(o, ie->name, evidence);
                else if (ie->mask & IN_DELETE)
                    candidate_deleted(o, ie->name);
                continue;
            }
            if (ie->mask & (IN_DELETE | IN_MOVED_FROM)) {
                removed(o, "stat");
                continue;
            }
            bool attrib_pending = (ie->mask & (IN_CREATE | IN_MOVED_TO)) &&
                                  attrib_queued(o->base, p, buf + n);
            refresh(o, evidence, attrib_pending && !exact);
        }
    }
}

/* ---- the supervisor's hooks --------------------------------------------- */

int pf_observer_on_syscall(void *ctx, const struct pf_sc_event *e)
{
    struct pf_observer *o = ctx;
    if (e->node_known) {
        /* A listener: its file says which inode it is, whatever its name. */
        pf_observer_drain(o, true);
        int id = instance_by_key(o, e->node_dev, e->node_ino);
        if (id > 0) {
            if (!o->abstract)
                refresh(o, "syscall", false);
            return id;
        }
        if (candidate_by_key(o, e->node_dev, e->node_ino))
            return PF_SC_NO_INSTANCE;
    }
    const char *name = strcmp(e->path, o->path) ? name_in_dir(o, e->path) : NULL;
    if (name) {
        /* Another name in the endpoint's directory. */
        pf_observer_drain(o, true);
        if (e->op == PF_OP_CREATE) {
            pf_proc_umask(e->pid, &o->umask_);   /* unknown: the last one known */
            note_creation(o, name, e);
            return PF_SC_UNRELATED;  /* not the endpoint (yet): no fault, no trace */
        }
        dev_t dev;
        ino_t ino;
        json_object *perm = read_node(o, name, &dev, &ino);
        json_object_put(perm);
        return perm && candidate_by_key(o, dev, ino) ? PF_SC_NO_INSTANCE : PF_SC_UNRELATED;
    }
    if (strcmp(e->path, o->path) != 0)
        return PF_SC_UNRELATED;
    /* The thread is stopped at entry: everything queued happened before. */
    pf_observer_drain(o, true);

    if (o->abstract) {
        if (e->op == PF_OP_CREATE) {
            json_object *none = json_object_new_object();
            json_object_object_add(none, PF_PERM_NONE, json_object_new_boolean(1));
            return birth(o, 0, 0, (struct birth_facts){ .t = -1, .perm = none,
                                                         .evidence = "syscall" });
        }
    } else if (e->op == PF_OP_CREATE) {
        /* bind/mknod has not run yet: the instance does not exist. The umask
         * it will be created with is the one the process has right now. */
        refresh(o, "syscall", false);
        pf_proc_umask(e->pid, &o->umask_);   /* unknown: the last one known */
        note_creation(o, o->base, e);
        return PF_SC_NO_INSTANCE;
    }
    return o->abstract ? o->current : refresh(o, "syscall", false);
}

void pf_observer_on_proceed(void *ctx, const struct pf_sc_event *e, int id)
{
    struct pf_observer *o = ctx;
    if (!(e->op == PF_OP_LISTEN || (e->op == PF_OP_OPEN && !o->is_socket)))
        return;
    const char *evidence = e->op == PF_OP_LISTEN ? "listen" : "open-for-read";
    /* The call runs now (after any delay or hold): the instance accepts
     * from this moment, with the state it has at this moment. */
    pf_observer_drain(o, true);
    if (!o->abstract)
        id = refresh(o, "syscall", false);
    dev_t dev = e->node_dev;
    ino_t ino = e->node_ino;
    bool known = e->node_known;
    const char *name = strcmp(e->path, o->path) ? name_in_dir(o, e->path) : NULL;
    if (!known && name) {
        /* a FIFO opened under another name */
        json_object *perm = read_node(o, name, &dev, &ino);
        json_object_put(perm);
        known = perm != NULL;
    }
    if (known) {
        int k = instance_by_key(o, dev, ino);
        struct pf_candidate *c = k ? NULL : candidate_by_key(o, dev, ino);
        if (c && c->accepting_t < 0) {
            c->accepting_t = pf_trace_now(o->trace);
            c->accepting_evidence = evidence;
        }
        if (!k)
            return;
        id = k;
    }
    mark_accepting(o, id, evidence);
}
