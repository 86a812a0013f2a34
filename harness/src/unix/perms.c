/* perms.c - reading and predicting POSIX permissions of an endpoint.
 *
 * "default" is computed, never assumed: a unix socket's inode is created by
 * bind() with 0777 & ~umask (af_unix applies the umask itself, so it applies
 * even under a default ACL); a FIFO by mknod with the server's mode & ~umask,
 * where a directory default ACL replaces the umask. The FIFO's create mode
 * is the server's choice; 0666 is what mkfifo(3) users pass, and is what we
 * predict.
 */
#include "perms.h"

#include <acl/libacl.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/stat.h>

#include "../util.h"
#include "../trace_names.h"

void pf_mode_string(mode_t mode, char out[8])
{
    snprintf(out, 8, "%04o", (unsigned)(mode & 07777));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

json_object *pf_acl_named_entries(const char *acl_text)
{
    json_object *arr = json_object_new_array();
    if (!acl_text)
        return arr;
    char *copy = pf_xstrdup(acl_text);
    char **names = NULL;
    size_t n = 0;
    for (char *save = NULL, *e = strtok_r(copy, ",\n", &save); e;
         e = strtok_r(NULL, ",\n", &save)) {
        /* "user:NAME:rwx" or "group:NAME:rwx"; base entries have NAME empty. */
        char *c1 = strchr(e, ':');
        if (c1 && c1[1] != ':' && (!strncmp(e, "user:", 5) || !strncmp(e, "group:", 6))) {
            names = pf_xreallocarray(names, n + 1, sizeof *names);
            names[n++] = e;
        }
    }
    if (n > 1)
        qsort(names, n, sizeof names[0], cmp_str);
    for (size_t i = 0; i < n; i++)
        json_object_array_add(arr, json_object_new_string(names[i]));
    free(names);
    free(copy);
    return arr;
}

/* ACL text for an access ACL with entries beyond the three base ones, else NULL. */
static char *extended_acl_text(acl_t acl)
{
    if (!acl || acl_equiv_mode(acl, NULL) == 0)
        return NULL;
    char *t = acl_to_any_text(acl, NULL, ',', 0);
    if (!t)
        return NULL;
    char *copy = pf_xstrdup(t);
    acl_free(t);
    return copy;
}

static json_object *perm_object(mode_t mode, uid_t uid, gid_t gid, const char *acl_text)
{
    char m[8];
    pf_mode_string(mode, m);
    json_object *o = json_object_new_object();
    json_object_object_add(o, PF_PERM_MODE, json_object_new_string(m));
    json_object_object_add(o, PF_PERM_UID, json_object_new_int64(uid));
    json_object_object_add(o, PF_PERM_GID, json_object_new_int64(gid));
    struct passwd *pw = getpwuid(uid);
    struct group *gr = getgrgid(gid);
    json_object_object_add(o, PF_PERM_OWNER, pw ? json_object_new_string(pw->pw_name) : NULL);
    json_object_object_add(o, PF_PERM_GROUP, gr ? json_object_new_string(gr->gr_name) : NULL);
    json_object_object_add(o, PF_PERM_ACL, acl_text ? json_object_new_string(acl_text) : NULL);
    json_object_object_add(o, PF_PERM_ACL_NAMED, pf_acl_named_entries(acl_text));
    return o;
}

json_object *pf_perm_read(const char *path, dev_t *dev, ino_t *ino)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return NULL;
    char *text = NULL;
    /* Sockets and FIFOs carry ACLs like any inode; read them by path. */
    acl_t acl = acl_get_file(path, ACL_TYPE_ACCESS);
    if (acl) {
        text = extended_acl_text(acl);
        acl_free(acl);
    }
    if (dev)
        *dev = st.st_dev;
    if (ino)
        *ino = st.st_ino;
    json_object *o = perm_object(st.st_mode, st.st_uid, st.st_gid, text);
    free(text);
    return o;
}

/* Applies a create mode to an inherited default ACL the way the kernel's
 * posix_acl_create does: owner, group class (mask, else group) and other
 * entries are ANDed with the mode's bits. Returns the resulting mode. */
static mode_t apply_mode_to_acl(acl_t acl, mode_t mode)
{
    acl_entry_t e, mask = NULL, group_obj = NULL;
    mode_t result = 0;
    for (int r = acl_get_entry(acl, ACL_FIRST_ENTRY, &e); r == 1;
         r = acl_get_entry(acl, ACL_NEXT_ENTRY, &e)) {
        acl_tag_t tag;
        acl_get_tag_type(e, &tag);
        if (tag == ACL_MASK)
            mask = e;
        else if (tag == ACL_GROUP_OBJ)
            group_obj = e;
    }
    for (int r = acl_get_entry(acl, ACL_FIRST_ENTRY, &e); r == 1;
         r = acl_get_entry(acl, ACL_NEXT_ENTRY, &e)) {
        acl_tag_t tag;
        acl_get_tag_type(e, &tag);
        int shift;
        if (tag == ACL_USER_OBJ)
            shift = 6;
        else if (tag == ACL_OTHER)
            shift = 0;
        else if (e == (mask ? mask : group_obj))
            shift = 3;
        else
            continue;
        acl_permset_t ps;
        acl_get_permset(e, &ps);
        mode_t bits = 0;
        if (acl_get_perm(ps, ACL_READ) == 1) bits |= 4;
        if (acl_get_perm(ps, ACL_WRITE) == 1) bits |= 2;
        if (acl_get_perm(ps, ACL_EXECUTE) == 1) bits |= 1;
        bits &= (mode >> shift) & 7;
        acl_clear_perms(ps);
        if (bits & 4) acl_add_perm(ps, ACL_READ);
        if (bits & 2) acl_add_perm(ps, ACL_WRITE);
        if (bits & 1) acl_add_perm(ps, ACL_EXECUTE);
        acl_set_permset(e, ps);
        result |= bits << shift;
    }
    return result;
}

json_object *pf_perm_for_create(const char *dir, bool is_socket, mode_t create,
                                mode_t umask_, uid_t uid, gid_t gid)
{
    create &= 07777;
    struct stat dst;
    if (stat(dir, &dst) == 0 && (dst.st_mode & S_ISGID))
        gid = dst.st_gid;   /* setgid directories hand their group down */

    acl_t def = acl_get_file(dir, ACL_TYPE_DEFAULT);
    if (def && acl_entries(def) > 0) {
        if (is_socket)
            create &= ~umask_;
        mode_t mode = apply_mode_to_acl(def, create);
        char *text = extended_acl_text(def);
        acl_free(def);
        json_object *o = perm_object(mode, uid, gid, text);
        free(text);
        return o;
    }
    if (def)
        acl_free(def);
    return perm_object(create & ~umask_, uid, gid, NULL);
}

json_object *pf_perm_default(const char *dir, bool is_socket, mode_t umask_,
                             uid_t uid, gid_t gid)
{
    return pf_perm_for_create(dir, is_socket, is_socket ? 0777 : 0666, umask_, uid, gid);
}
