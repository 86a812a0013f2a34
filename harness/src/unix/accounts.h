/* accounts.h - real Linux users and groups for one scenario run.
 *
 * Names are pf<run>_<name> so that they cannot collide with the machine's
 * own accounts and every leftover can be traced to its run. A marker file
 * per run (under PF_STATE_DIR) names the harness pid; `pipefault clean`
 * and the start of every run remove the accounts and directories of runs
 * whose harness is gone.
 */
#ifndef PF_ACCOUNTS_H
#define PF_ACCOUNTS_H

#include <stddef.h>
#include <sys/types.h>
#include "../scenario.h"

#define PF_STATE_DIR "/var/lib/pipefault/runs"
#define PF_MAX_ACCOUNTS 32

struct pf_user {
    char name[33];     /* real name */
    uid_t uid;
    gid_t gid;         /* primary group */
    gid_t groups[PF_MAX_ACCOUNTS];
    size_t ngroups;
};

struct pf_accounts {
    char run_id[8];
    struct pf_user users[PF_MAX_ACCOUNTS];
    size_t nusers;
    char group_names[PF_MAX_ACCOUNTS][33];
    gid_t gids[PF_MAX_ACCOUNTS];
    size_t ngroups;
};

/* Writes the run's marker (pid) so a killed harness can be cleaned up. */
int pf_run_mark(const char *run_id, char *err, size_t errlen);
void pf_run_unmark(const char *run_id);

/* Creates the scenario's groups and users. On failure removes what it made. */
int pf_accounts_create(struct pf_accounts *a, const struct pf_scenario *sc,
                       const char *run_id, char *err, size_t errlen);
/* Removes every account it created. Safe to call twice. */
void pf_accounts_remove(struct pf_accounts *a);

const struct pf_user *pf_accounts_user(const struct pf_accounts *a,
                                       const char *scenario_name);
int pf_accounts_gid(const struct pf_accounts *a, const char *scenario_group,
                    gid_t *gid);

/* Removes leftovers of runs whose harness is no longer alive. Returns how
 * many runs were cleaned; reports each on stderr. */
int pf_accounts_sweep(void);

#endif
