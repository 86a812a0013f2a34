/* syscalls.h - the syscalls behind each endpoint operation, and how to read
 * their arguments out of a thread stopped at syscall entry.
 *
 * Private to the supervisor (supervisor.c, seccomp_setup.c): the filter is
 * built from this table, and each notification is decoded into a
 * pf_sc_event before the observer and the fault rules see it.
 */
#ifndef PF_UNIX_SYSCALLS_H
#define PF_UNIX_SYSCALLS_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/seccomp.h>
#include "supervisor.h"

/* A decoded notification. `ev` is what the observer sees; rename has a
 * second path (the source), tried when the destination is not the endpoint. */
struct pf_sc_call {
    struct pf_sc_event ev;
    char from[PATH_MAX];    /* rename family: the old path; else "" */
    bool relevant;          /* false: cannot concern an endpoint (setxattr of
                               a non-ACL attribute): continue unobserved */
};

/* Paths the server bound sockets to, as resolved at bind, by socket inode.
 * /proc/net/unix lists a socket's address as the program passed it,
 * relative names included; these give the absolute path for later fd-based
 * calls (listen, accept, close, fchmod), without scanning /proc/net/unix. */
struct pf_sc_binding {
    unsigned long ino;      /* socket inode at bind */
    char *given;            /* sun_path as passed */
    char *path;             /* resolved absolute path */
};
struct pf_sc_bindings {
    struct pf_sc_binding *v;      /* in order of bind; grows */
    size_t n, cap;
};
void pf_sc_bindings_free(struct pf_sc_bindings *b);

/* The op a syscall number belongs to; false if it is not one of ours. */
bool pf_sc_syscall_op(int nr, enum pf_fault_op *op, const char **name);

/* The syscall numbers behind `ops` (bit mask of enum pf_fault_op). */
size_t pf_sc_syscalls(unsigned ops, int *nrs, size_t max);

/* Parent side of pf_supervisor_install: the notification fd sent by the
 * child, or -1 with the child's errno (ECHILD: it died first). */
int pf_sc_receive_fd(int sock);

/* Decodes a notification: thread group, op, paths (absolute, resolved in the
 * thread's own cwd/fd table/network namespace), fd and mode; records binds
 * in `b`. Never fails:
 * what cannot be read is left empty ("" / -1). */
void pf_sc_decode(const struct seccomp_notif *n, struct pf_sc_bindings *b,
                  struct pf_sc_call *call);

/* The fsuid and fsgid of a thread (4th field of Uid:/Gid: in
 * /proc/TID/status); false if it cannot be read. */
bool pf_sc_thread_fscreds(pid_t tid, uid_t *fsuid, gid_t *fsgid);

/* The file (dev:ino of the socket inode on disk) that unix socket fd `fd`
 * of thread `tid` is bound to, through sock_diag UDIAG_SHOW_VFS; false if it
 * is not a socket bound to a path, or cannot be asked. */
bool pf_sc_socket_node(pid_t tid, int fd, dev_t *dev, ino_t *ino, int *type);
/* Whether a socket bound to the file dev:ino takes connections now, as the
 * kernel says: listening, or a datagram socket. The observer's word comes
 * as listen() is let go, a moment before it runs. */
bool pf_sc_node_receives(dev_t dev, ino_t ino);

/* Thread group id of a thread, from /proc/TID/status; the tid itself if
 * that cannot be read. */
pid_t pf_sc_tgid(pid_t tid);

/* Whether a thread still exists and has not exited (zombie counts as gone). */
bool pf_sc_thread_alive(pid_t tid);

#endif
