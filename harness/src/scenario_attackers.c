/* scenario_attackers.c - the `attackers:` section and endpoint.dir_mode.
 *
 * An attacker is another declared account that goes for the endpoint's name:
 * it squats it (makes the endpoint first, permissively, and serves it) or
 * runs the scenario's own server command first (docs/attackers.md). Every
 * rule here is about whether the attack can happen at all for the endpoint
 * kind and platform: one that cannot would only give a vacuous run, so
 * `check` refuses it with its position.
 *
 * An in-gap squat is placed by the fault machinery, not by timing: the
 * loader adds a hold on the server's first unlink of the endpoint (applied
 * after the unlink, before the server's next endpoint call), released by the
 * squatter's PF_SQUAT_EVENT (win32: on its first close of an instance). It
 * is `required`: a server that never unlinks
 * gives an inconclusive run, never a pass.
 */
#include "scenario_load.h"
#include "scenario_values.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static const char *const action_names[] = {"squat", "run-server", NULL};
static const char *const when_names[] = {"before-server", "in-gap", "after-start", NULL};

const char *pf_attack_action_name(enum pf_attack_action a)
{
    return scn_name_at(action_names, (int)a);
}

const char *pf_attack_when_name(enum pf_attack_when w)
{
    return scn_name_at(when_names, (int)w);
}

bool scn_load_dir_mode(struct scn_loader *ld, const yaml_node_t *endpoint,
                       struct pf_scenario *sc)
{
    sc->endpoint.dir_mode = -1;
    yaml_node_t *v = scn_field(ld, endpoint, "dir_mode");
    if (!v)
        return true;
    if (sc->endpoint.kind != PF_EP_UNIX && sc->endpoint.kind != PF_EP_FIFO)
        return scn_fail(ld, v, "'dir_mode' applies to a unix or fifo endpoint's directory; "
                        "a %s endpoint has none", pf_endpoint_kind_name(sc->endpoint.kind));
    if (!scn_is_type(v, YAML_SCALAR_NODE) || v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        return scn_fail(ld, v, "'dir_mode' must be a quoted octal string such as \"1777\" "
                        "(unquoted, YAML may read it as a decimal number)");
    if (!scn_get_octal(ld, v, "dir_mode", 07777, &sc->endpoint.dir_mode))
        return false;
    if (!(sc->endpoint.dir_mode & 0700))
        return scn_fail(ld, v, "'dir_mode' %04o gives the directory's owner no access: the "
                        "server could not make its endpoint there", sc->endpoint.dir_mode);
    return true;
}

/* `when`: a scalar (before-server, in-gap) or a mapping {after-start: DELAY}. */
static bool load_when(struct scn_loader *ld, const yaml_node_t *v, struct pf_attacker *a)
{
    static const char *const keys[] = {"after-start", NULL};
    int w;
    if (scn_is_type(v, YAML_MAPPING_NODE)) {
        yaml_node_t *d;
        if (!scn_check_keys(ld, v, "when", keys) ||
            !(d = scn_required(ld, v, "after-start", "when")) ||
            !scn_get_duration(ld, d, "after-start", false, &a->delay_ns))
            return false;
        a->when = PF_ATTACK_AFTER_START;
        return true;
    }
    if (!scn_get_enum(ld, v, "when", "attack time", when_names, &w))
        return false;
    if (w == PF_ATTACK_AFTER_START)
        return scn_fail(ld, v, "'after-start' needs a delay: when: {after-start: 100ms}");
    a->when = (enum pf_attack_when)w;
    return true;
}

/* Can this attack happen for this endpoint kind and platform? */
static bool check_possible(struct scn_loader *ld, const yaml_node_t *item,
                           const struct pf_scenario *sc, const struct pf_attacker *a)
{
    yaml_node_t *when = scn_field(ld, item, "when");
    if (a->action == PF_ATTACK_RUN_SERVER && when && a->when != PF_ATTACK_BEFORE_SERVER)
        return scn_fail(ld, when, "a run-server attacker starts the server command before "
                        "the real server: only 'when: before-server' applies");
    /* The gap is between the server's unlink of the endpoint's name and its
     * next creation. An abstract name has no unlink: it is freed by the last
     * close of the socket bound to it, and which close that is cannot be told
     * when the close is stopped at its entry, so the hold could not be placed. */
    if (a->when == PF_ATTACK_IN_GAP && sc->platform != PF_PLATFORM_WIN32 &&
        sc->endpoint.kind == PF_EP_ABSTRACT)
        return scn_fail(ld, when, "'in-gap' cannot happen for an abstract endpoint: its name "
                        "is freed by a close, not an unlink, and the harness holds the "
                        "server's unlink (use before-server or after-start)");
    return true;
}

/* The hold that places an in-gap squat: after the server's first unlink of
 * the endpoint (win32: its first close of a pipe instance, which removes
 * the name when it was the last), until the squatter says it has made its
 * own. */
static void add_gap_hold(struct pf_scenario *sc, struct pf_attacker *a)
{
    sc->faults = pf_xreallocarray(sc->faults, sc->nfaults + 1, sizeof *sc->faults);
    struct pf_fault *f = &sc->faults[sc->nfaults];
    memset(f, 0, sizeof *f);
    f->mark = a->mark;
    f->op = sc->platform == PF_PLATFORM_WIN32 ? PF_OP_CLOSE : PF_OP_UNLINK;
    f->phase = PF_PHASE_AFTER;
    f->action = PF_ACT_HOLD;
    f->until_account = pf_xstrdup(a->account);
    f->until_event = pf_xstrdup(PF_SQUAT_EVENT);
    f->timeout_ns = sc->server.ready_timeout_ns;
    f->when_first = 1;
    f->when_step = 0;
    f->when_onwards = false;
    f->probability = 1.0;
    f->target = pf_xstrdup("server");
    f->required = true;
    a->gap_rule = (long)sc->nfaults++;
}

static bool load_attacker(struct scn_loader *ld, const yaml_node_t *item,
                          struct pf_scenario *sc, struct pf_attacker *a)
{
    static const char *const keys[] = {"account", "action", "when", NULL};
    yaml_node_t *v;
    int action;
    a->mark = scn_mark(item);
    a->gap_rule = -1;
    if (!scn_want_item(ld, item, YAML_MAPPING_NODE, "attackers") ||
        !scn_check_keys(ld, item, "an attacker", keys) ||
        !(v = scn_required(ld, item, "account", "an attacker")) ||
        !scn_get_string(ld, v, "account", &a->account) ||
        !scn_check_account_ref(ld, sc, v, "attacker account", a->account) ||
        !(v = scn_required(ld, item, "action", "an attacker")) ||
        !scn_get_enum(ld, v, "action", "attack action", action_names, &action))
        return false;
    a->action = (enum pf_attack_action)action;
    if ((v = scn_field(ld, item, "when")) && !load_when(ld, v, a))
        return false;
    if (!check_possible(ld, item, sc, a))
        return false;
    if (a->when == PF_ATTACK_IN_GAP)
        add_gap_hold(sc, a);
    return true;
}

bool scn_load_attackers(struct scn_loader *ld, const yaml_node_t *root,
                        struct pf_scenario *sc)
{
    yaml_node_t *v = scn_field(ld, root, "attackers");
    if (!v)
        return true;
    if (!scn_want(ld, v, YAML_SEQUENCE_NODE, "attackers"))
        return false;
    size_t n = scn_seq_len(v);
    if (n == 0)
        return scn_fail(ld, v, "'attackers' is empty: list at least one, or leave it out");
    sc->attackers = pf_xcalloc(n, sizeof *sc->attackers);
    sc->nattackers = n;
    size_t run_servers = 0;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = scn_seq_at(ld, v, i);
        if (!load_attacker(ld, item, sc, &sc->attackers[i]))
            return false;
        /* One name, one holder: a second attacker would meet the first's. */
        for (size_t j = 0; j < i; j++)
            if (!strcmp(sc->attackers[j].account, sc->attackers[i].account))
                return scn_fail(ld, item, "account '%s' is already an attacker",
                                sc->attackers[i].account);
        if (sc->attackers[i].action == PF_ATTACK_RUN_SERVER && ++run_servers > 1)
            return scn_fail(ld, item, "only one run-server attacker: the name can be "
                            "held by one server started first");
    }
    return true;
}

/* A command client's program is not the harness's: its connections are no
 * `attempt` events, so an expectation judged from attempts would see none
 * and could only hold by default. When every client is a command client,
 * only the expectations with other evidence may be asked for. */
static bool check_command_only(struct scn_loader *ld, const yaml_node_t *list,
                               const struct pf_scenario *sc)
{
    static const enum pf_expect from_attempts[] = {PF_EXPECT_ALLOWED_NEVER_DENIED,
                                                   PF_EXPECT_OTHERS_NEVER_ADMITTED,
                                                   PF_EXPECT_SERVER_OWNS_ENDPOINT};
    size_t own = 0, commands = 0;
    for (size_t i = 0; i < sc->nclients; i++)
        sc->clients[i].command ? commands++ : own++;
    if (!commands || own)
        return true;
    for (size_t i = 0; list && i < scn_seq_len(list); i++) {
        yaml_node_t *item = scn_seq_at(ld, list, i);
        for (size_t k = 0; k < sizeof from_attempts / sizeof from_attempts[0]; k++)
            if (!strcmp(scn_text(item), pf_expect_name(from_attempts[k])))
                return scn_fail(ld, item, "expectation '%s' is judged from the harness's own "
                                "client attempts, and every client here is a 'command' "
                                "client (the harness sees only its exit status): add a "
                                "client without 'command', or drop the expectation",
                                pf_expect_name(from_attempts[k]));
    }
    return true;
}

/* Whether `account` has a client that is the harness's own. */
static bool has_own_client(const struct pf_scenario *sc, const char *account)
{
    for (size_t i = 0; i < sc->nclients; i++)
        if (!sc->clients[i].command && !strcmp(sc->clients[i].account, account))
            return true;
    return false;
}

/* A client-side fault, or a hold released by a client's event, acts through
 * the harness's own client: for an account whose clients are all command
 * clients it would never fire, and say nothing. Refused instead. */
static bool check_command_faults(struct scn_loader *ld, const yaml_node_t *root,
                                 const struct pf_scenario *sc)
{
    yaml_node_t *list = scn_field(ld, root, "faults");
    for (size_t i = 0; list && i < sc->nfaults; i++) {
        const struct pf_fault *f = &sc->faults[i];
        const char *acc = f->target && strcmp(f->target, "server") ? f->target :
                          f->until_account;
        bool client_acc = acc && pf_scenario_account(sc, acc) && !(f->until_account &&
                          acc == f->until_account && !strcmp(f->until_event ? f->until_event :
                          "", PF_SQUAT_EVENT));
        bool commands = false;
        for (size_t k = 0; client_acc && k < sc->nclients; k++)
            commands |= sc->clients[k].command && !strcmp(sc->clients[k].account, acc);
        if (client_acc && commands && !has_own_client(sc, acc))
            return scn_fail(ld, scn_seq_at(ld, list, i), "this fault acts through %s's "
                            "client, and every client of %s is a 'command' client (the "
                            "user's program, which pipefault does not intercept)", acc, acc);
    }
    return true;
}

/* clients_reach_server_only and server_owns_endpoint are about what an
 * attacker can do: without one they could only hold by default. Refusing a
 * squatted name needs the name squatted (or taken by a run-server) first. */
bool scn_check_attack_expect(struct scn_loader *ld, const yaml_node_t *root,
                             const struct pf_scenario *sc)
{
    static const enum pf_expect needs[] = {PF_EXPECT_CLIENTS_REACH_SERVER_ONLY,
                                           PF_EXPECT_SERVER_OWNS_ENDPOINT,
                                           PF_EXPECT_SERVER_REFUSES_SQUATTED_NAME};
    yaml_node_t *list = scn_field(ld, root, "expect");
    if (!check_command_only(ld, list, sc) || !check_command_faults(ld, root, sc))
        return false;
    for (size_t k = 0; k < sizeof needs / sizeof needs[0]; k++) {
        if (!sc->expect[needs[k]])
            continue;
        yaml_node_t *at = list;
        for (size_t i = 0; list && i < scn_seq_len(list); i++) {
            yaml_node_t *item = scn_seq_at(ld, list, i);
            if (!strcmp(scn_text(item), pf_expect_name(needs[k])))
                at = item;
        }
        if (!sc->nattackers)
            return scn_fail(ld, at, "expectation '%s' needs an attacker (attackers: "
                            "[{account: ..., action: squat}])", pf_expect_name(needs[k]));
        if (needs[k] == PF_EXPECT_SERVER_REFUSES_SQUATTED_NAME) {
            bool before = false;
            for (size_t i = 0; i < sc->nattackers; i++)
                before |= sc->attackers[i].when != PF_ATTACK_AFTER_START;
            if (!before)
                return scn_fail(ld, at, "expectation '%s' needs the name taken before "
                                "the server makes it (when: before-server or in-gap, or "
                                "action: run-server)", pf_expect_name(needs[k]));
        }
    }
    return true;
}
