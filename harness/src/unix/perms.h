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

/* The perm a new inode of this kind gets in `dir` when the server does
 * nothing: from the create mode, the umask and dir's default ACL. */
json_object *pf_perm_default(const char *dir, bool is_socket, mode_t umask_,
                             uid_t uid, gid_t gid);

/* Named ACL entries ("user:NAME:rw-"), sorted, of an ACL in text form. */
json_object *pf_acl_named_entries(const char *acl_text);

/* Octal mode string "0660". */
void pf_mode_string(mode_t mode, char out[8]);

#endif
