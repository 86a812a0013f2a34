/* command_client.h - a client that is the user's program (clients[].command).
 *
 * Forked, dropped to the account (pf_drop_privileges), in its own process
 * group, stdin /dev/null, stdout and stderr in client-<account>-<n>.stdout
 * and .stderr in the scenario's store directory. It has no report pipe
 * (report_fd and control_fd are -1, eof is set): the backend records its
 * exit status as a `client_exit` event when it reaps it.
 */
#ifndef PF_COMMAND_CLIENT_H
#define PF_COMMAND_CLIENT_H

#include "client.h"

int pf_command_client_spawn(struct pf_client_proc *cp, const struct pf_plan_client *pc,
                            const struct pf_user *u, int outdir_fd, const char *cwd,
                            char *err, size_t errlen);

#endif
