/* perms.h - POSIX permissions of an endpoint as a comparable perm object.
 *
 * A perm object (docs/trace.md) carries mode, owner, group and the ACL. The
 * checker compares an observed perm with a reference perm field by field:
 * only the fields the reference has count, so "intended" can leave the group
 * unchecked while "default" pins everything.
 */
#ifndef PF_PERMS_H
#define PF_PERMS_H

#include <stdbool.h>
#include <sys/types.h>
#include <json-c/json.h>

/* Reads path's permissions (lstat + ACL). NULL with errno if it is gone. */
json_object *pf_perm_read(const char *path, dev_t *dev, ino_t *ino);

/* The perm the kernel gives a new socket (bind) or FIFO (mknod) in `dir`
 * created with mode `create` by a thread with fsuid `uid`, fsgid `gid` and
 * umask `umask_`: the group is dir's when dir is setgid; dir's default
 * ACL, if any, is inherited and capped by the create mode (and, for a
 * socket, by the umask too: af_unix applies it itself). */
json_object *pf_perm_for_create(const char *dir, bool is_socket, mode_t create,
                                mode_t umask_, uid_t uid, gid_t gid);

/* The perm a new inode of this kind gets in `dir` when the server does
 * nothing special: created with 0777 (socket) or 0666 (FIFO, what mkfifo
 * users pass) under `umask_`, see pf_perm_for_create. */
json_object *pf_perm_default(const char *dir, bool is_socket, mode_t umask_,
                             uid_t uid, gid_t gid);

/* Named ACL entries ("user:NAME:rw-"), sorted, of an ACL in text form. */
json_object *pf_acl_named_entries(const char *acl_text);

/* Octal mode string "0660". */
void pf_mode_string(mode_t mode, char out[8]);

#endif
