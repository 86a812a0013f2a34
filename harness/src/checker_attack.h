/* checker_attack.h - the expectations about attackers (docs/attackers.md):
 * clients_reach_server_only, server_owns_endpoint,
 * server_refuses_squatted_name, judged from the model and the trace.
 */
#ifndef PF_CHECKER_ATTACK_H
#define PF_CHECKER_ATTACK_H

#include <stdbool.h>
#include <json-c/json.h>
#include "checker_model.h"

struct pf_attack_judgement {
    int failures;
    char detail[1024];    /* the failures in words (the first few, then a count) */
    char vacuous[1024];   /* why it could not be judged; "" when it could */
    char held[512];       /* what was seen that makes it hold */
};

bool pf_expect_is_attack(enum pf_expect which);
void pf_judge_attack(struct pf_model *m, json_object *trace, enum pf_expect which,
                     struct pf_attack_judgement *j);

/* Whether a command client (clients[].command) reached an endpoint: one
 * exited 0 (it completed an exchange with someone) or an attacker
 * recorded its connection. */
bool pf_command_client_reached(json_object *trace);

#endif
