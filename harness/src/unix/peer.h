/* peer.h - which endpoint inode served a client's connection.
 *
 * Crediting an attempt to an endpoint instance by time (the instance that
 * was at the path when the connect ran) is a guess: a server can have
 * several instances alive, rename one over another, or serve from a socket
 * that is no longer at the path. The client asks the kernel instead, while
 * it still holds the connection, and reports the answer as `peer_key`
 * ("dev:ino", the same key as an instance's `instance_birth.key`).
 */
#ifndef PF_PEER_H
#define PF_PEER_H

#include <stddef.h>

/* For a connected unix stream socket `fd`: the dev:ino of the socket file
 * its server end was bound to, through sock_diag (works unprivileged).
 * Returns 0 and fills `key`, or -1 and a short reason in `why`
 * ("abstract": no file; "server-closed": the server's end was gone before
 * it could be asked; "sock-diag": the kernel would not say). */
int pf_peer_socket_key(int fd, char *key, size_t keylen, const char **why);

/* For an opened FIFO `fd`: the dev:ino of the FIFO itself. */
int pf_peer_fifo_key(int fd, char *key, size_t keylen, const char **why);

#endif
