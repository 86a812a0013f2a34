/* server_identity.h - the server's user, environment, directory and files.
 *
 * What server.user/group/groups, server.env, server.cwd and `files:` mean
 * for one run, resolved against the run's accounts and this machine's
 * users and groups, and the run directory made ready for that user before
 * the server starts.
 */
#ifndef PF_SERVER_IDENTITY_H
#define PF_SERVER_IDENTITY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "../plan.h"
#include "accounts.h"
#include "server.h"

struct pf_server_who {
    struct pf_server_identity id;   /* credentials and envp, for pf_server_spawn */
    char user[64];                  /* the real user name */
    char home[PATH_MAX];
    char **env;                     /* owned; id.envp points here */
    size_t nenv;
    char cwd[PATH_MAX];             /* absolute */
    int rundir_fd;                  /* held while the server's user owns it */
    bool rundir_given;
};

/* Resolves the server's credentials, environment and working directory.
 * Returns 0, or -1 with err set (a system user or group gone since
 * `check`, a placeholder that does not expand). */
int pf_server_who_resolve(struct pf_server_who *w, const struct pf_run *run,
                          const struct pf_plan *plan, const struct pf_accounts *acc,
                          char *err, size_t errlen);
void pf_server_who_free(struct pf_server_who *w);

/* Gives the run directory and the endpoint directory to the server's user
 * and group (mode 0755 stays: never world-writable). */
int pf_server_dirs_prepare(struct pf_server_who *w, const struct pf_run *run,
                           const struct pf_plan *plan, char *err, size_t errlen);
/* Gives the run directory back to root once the server is gone, through
 * the fd held since prepare (whatever its name is now), so that the
 * harness removes it as its own. */
void pf_server_dirs_release(struct pf_server_who *w);

/* Writes the scenario's `files:` under the run directory, relative to its
 * fd, never following a link, never over an existing name. */
int pf_server_files_write(const struct pf_server_who *w, const struct pf_run *run,
                          const struct pf_plan *plan, const struct pf_accounts *acc,
                          char *err, size_t errlen);

#endif
