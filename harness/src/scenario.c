/* scenario.c - loading a scenario file into a struct pf_scenario.
 *
 * Every value in a scenario can be wrong in its own way, and every error
 * must point at file:line:col. So the loader is layered: scenario_node.c
 * has typed getters over libyaml's document API that write the error
 * messages, scenario_values.c parses the scalar values, and this file has
 * one function per section that only states the rules of
 * docs/scenario-format.md (the `faults:` section is in scenario_faults.c).
 *
 * Sections are read in dependency order - groups, accounts and clients
 * before the intended permissions and faults that refer to them - whatever
 * their order in the file. Loading stops at the first error; whatever was
 * filled in so far is released by pf_scenario_free, which accepts any
 * partially built scenario (arrays are allocated zeroed, counts set first).
 */
#include "scenario.h"
#include "scenario_load.h"
#include "scenario_values.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "util.h"

enum { MAX_COUNT = 64, MAX_ATTEMPTS = 100000 };
/* A client's `send` is written in one go and its `expect` compared with
 * what one read buffer holds, on both platforms' client programs. */
enum { MAX_SEND_BYTES = 4096, MAX_EXPECT_BYTES = 1024 };
enum { MAX_FILE_BYTES = 1 << 20 };
/* Bounds on what a file may make the loader do (docs/scenario-format.md). */
enum { MAX_DEPTH = 64, MAX_ALIASES = 100, MAX_EXPANDED = 4 << 20 };

/* ---- names ----------------------------------------------------------- */

static const char *const platform_names[] = {"linux", "win32", NULL};
static const char *const kind_names[] = {"unix", "fifo", "abstract", "npipe",
                                         NULL};
static const char *const expect_names[] = {
    "birth_intended", "intended_before_accept", "allowed_never_denied",
    "others_never_admitted", "no_default_instance", "clients_reach_server_only",
    "server_owns_endpoint", "server_refuses_squatted_name", NULL};
static const char *const expect_texts[] = {
    "every instance was born with the intended permissions",
    "every instance had the intended permissions before it accepted a "
    "connection",
    "no connect by an allowed account was refused for permissions",
    "no connect by a not-allowed account succeeded",
    "no instance ever had the platform's default permissions",
    "every admitted connection was served by the scenario's server",
    "every instance a client reached was created by the scenario's server",
    "the server failed or waited rather than take over or serve a name it did not create",
    NULL};

static const char *const protocol_names[] = {"reply", "connect", "send", NULL};

const char *pf_client_protocol_name(enum pf_client_protocol p)
{
    return scn_name_at(protocol_names, (int)p);
}

const char *pf_platform_name(enum pf_platform p)
{
    return scn_name_at(platform_names, (int)p);
}

const char *pf_endpoint_kind_name(enum pf_endpoint_kind k)
{
    return scn_name_at(kind_names, (int)k);
}

const char *pf_expect_name(enum pf_expect e)
{
    return scn_name_at(expect_names, (int)e);
}

const char *pf_expect_text(enum pf_expect e)
{
    return scn_name_at(expect_texts, (int)e);
}

const struct pf_account *pf_scenario_account(const struct pf_scenario *sc,
                                             const char *name)
{
    for (size_t i = 0; i < sc->naccounts; i++)
        if (sc->accounts[i].name && strcmp(sc->accounts[i].name, name) == 0)
            return &sc->accounts[i];
    return NULL;
}

/* ---- sections -------------------------------------------------------- */

static bool load_groups(struct scn_loader *ld, const yaml_node_t *root,
                        struct pf_scenario *sc)
{
    yaml_node_t *v = scn_field(ld, root, "groups");
    if (!v)
        return true;
    sc->groups_mark = scn_mark(v);
    if (!scn_get_string_list(ld, v, "groups", &sc->groups, &sc->ngroups))
        return false;
    for (size_t i = 0; i < sc->ngroups; i++) {
        yaml_node_t *item = scn_seq_at(ld, v, i);
        if (!scn_check_short_name(ld, item, "group", sc->groups[i]))
            return false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(sc->groups[i], sc->groups[j]) == 0)
                return scn_fail(ld, item, "group '%s' is declared twice",
                                sc->groups[i]);
    }
    return true;
}

static bool load_account(struct scn_loader *ld, const yaml_node_t *item,
                         struct pf_scenario *sc, size_t index)
{
    static const char *const keys[] = {"name", "groups", "allowed", NULL};
    struct pf_account *a = &sc->accounts[index];
    yaml_node_t *v;
    a->mark = scn_mark(item);
    const char *name;
    if (!scn_want_item(ld, item, YAML_MAPPING_NODE, "accounts") ||
        !scn_check_keys(ld, item, "an account", keys) ||
        !(v = scn_required(ld, item, "name", "an account")) ||
        !(name = scn_get_scalar(ld, v, "name")) ||
        !scn_check_short_name(ld, v, "account", name))
        return false;
    if (strcmp(name, "server") == 0)
        return scn_fail(ld, v, "account name 'server' is reserved: it means the "
                        "server's own account");
    for (size_t j = 0; j < index; j++)
        if (strcmp(sc->accounts[j].name, name) == 0)
            return scn_fail(ld, v, "account '%s' is declared twice", name);
    /* On Linux an account gets a personal group of its own name (useradd);
     * a scenario group of that name would be the same group. */
    if (scn_has_group(sc, name))
        return scn_fail(ld, v, "account '%s' has the same name as a group", name);
    if (!scn_dup_into(ld, v, name, &a->name))
        return false;

    if ((v = scn_field(ld, item, "groups"))) {
        if (!scn_get_string_list(ld, v, "groups", &a->groups, &a->ngroups))
            return false;
        for (size_t i = 0; i < a->ngroups; i++) {
            yaml_node_t *g = scn_seq_at(ld, v, i);
            if (!scn_check_group_ref(ld, sc, g, "group", a->groups[i]))
                return false;
            for (size_t j = 0; j < i; j++)
                if (strcmp(a->groups[i], a->groups[j]) == 0)
                    return scn_fail(ld, g, "group '%s' is listed twice",
                                    a->groups[i]);
        }
    }
    return !(v = scn_field(ld, item, "allowed")) ||
           scn_get_bool(ld, v, "allowed", &a->allowed);
}

static bool load_accounts(struct scn_loader *ld, const yaml_node_t *root,
                          struct pf_scenario *sc)
{
    yaml_node_t *v = scn_field(ld, root, "accounts");
    if (!v)
        return true;
    if (!scn_want(ld, v, YAML_SEQUENCE_NODE, "accounts"))
        return false;
    size_t n = scn_seq_len(v);
    if (!(sc->accounts = pf_xcalloc(n ? n : 1, sizeof *sc->accounts)))
        return scn_fail(ld, v, "out of memory");
    sc->naccounts = n;
    for (size_t i = 0; i < n; i++)
        if (!load_account(ld, scn_seq_at(ld, v, i), sc, i))
            return false;
    return true;
}

/* `until: accepting`: the one stop condition besides the attempt count. */
static bool load_client_until(struct scn_loader *ld, const yaml_node_t *v,
                              struct pf_client *c)
{
    static const char *const untils[] = {"accepting", NULL};
    int which;
    if (!scn_get_enum(ld, v, "until", "until value", untils, &which))
        return false;
    c->until_accepting = true;
    return true;
}

/* The endpoint kind as written, read ahead of the `endpoint` section (which
 * is loaded after the clients), or NULL; a wrong one is reported there. */
static const char *endpoint_kind_text(struct scn_loader *ld, const yaml_node_t *root)
{
    yaml_node_t *ep = scn_field(ld, root, "endpoint"), *k;
    if (!ep || !scn_is_type(ep, YAML_MAPPING_NODE) || !(k = scn_field(ld, ep, "kind")) ||
        !scn_is_type(k, YAML_SCALAR_NODE))
        return NULL;
    return scn_text(k);
}

/* A non-empty byte string of at most `max` bytes (`send`, `expect`). */
static bool load_bytes(struct scn_loader *ld, const yaml_node_t *v, const char *key,
                       size_t max, char **out)
{
    const char *s = scn_get_scalar(ld, v, key);
    if (!s)
        return false;
    if (!*s)
        return scn_fail(ld, v, "'%s' is empty%s", key, strcmp(key, "expect") ? "" :
                        ": omit it to accept any reply");
    if (strlen(s) > max)
        return scn_fail(ld, v, "'%s' is %zu bytes long (at most %zu)", key, strlen(s), max);
    return scn_dup_into(ld, v, s, out);
}

/* `protocol`, `send`, `expect`, `read_timeout`: what a client does once
 * connected. Keys that the chosen protocol would ignore are errors. */
static bool load_client_protocol(struct scn_loader *ld, const yaml_node_t *root,
                                 const yaml_node_t *item, struct pf_client *c)
{
    yaml_node_t *v, *key;
    int which = PF_PROTO_REPLY;
    if ((v = scn_field(ld, item, "protocol")) &&
        !scn_get_enum(ld, v, "protocol", "protocol", protocol_names, &which))
        return false;
    c->protocol = (enum pf_client_protocol)which;
    c->read_timeout_ns = SCN_SECOND_NS;
    static const char *const send_keys[] = {"send", "expect", NULL};
    for (int i = 0; send_keys[i]; i++)
        if (scn_find(ld, item, send_keys[i], &key) && c->protocol != PF_PROTO_SEND)
            return scn_fail(ld, key, "'%s' needs 'protocol: send' (this client's protocol "
                            "is '%s')", send_keys[i], protocol_names[which]);
    if ((v = scn_find(ld, item, "read_timeout", &key))) {
        if (c->protocol == PF_PROTO_CONNECT)
            return scn_fail(ld, key, "'read_timeout' does not apply to 'protocol: connect', "
                            "which reads nothing");
        if (!scn_get_duration(ld, v, "read_timeout", true, &c->read_timeout_ns))
            return false;
    }
    if (c->protocol != PF_PROTO_SEND)
        return true;
    if (!(v = scn_required(ld, item, "send", "a client with 'protocol: send'")) ||
        !load_bytes(ld, v, "send", MAX_SEND_BYTES, &c->send))
        return false;
    if (!(v = scn_find(ld, item, "expect", &key)))
        return true;
    const char *kind = endpoint_kind_text(ld, root);
    if (kind && !strcmp(kind, "fifo"))
        return scn_fail(ld, key, "'expect' needs a reply, and a fifo endpoint has none "
                        "(clients only write to it)");
    return load_bytes(ld, v, "expect", MAX_EXPECT_BYTES, &c->expect);
}

static bool check_placeholders(struct scn_loader *ld, const yaml_node_t *seq,
                               const struct pf_scenario *sc, char **list, size_t n);

/* `command`: the user's client program, run once per process as the
 * account. The harness sees only its exit status, so the keys that shape
 * the harness's own attempts mean nothing here and are refused. */
static bool load_command_client(struct scn_loader *ld, const yaml_node_t *item,
                                const yaml_node_t *cmd, const struct pf_scenario *sc,
                                struct pf_client *c)
{
    static const char *const attempt_keys[] = {"attempts", "interval", "protocol", "send",
                                               "expect", "until", "read_timeout", NULL};
    yaml_node_t *v, *key = NULL;
    for (size_t i = 0; attempt_keys[i]; i++)
        if (scn_find(ld, item, attempt_keys[i], &key))
            return scn_fail(ld, key, "'%s' does not apply to a client with 'command': the "
                            "program makes its own connection, once", attempt_keys[i]);
    if (!scn_get_string_list(ld, cmd, "command", &c->command, &c->ncommand))
        return false;
    if (c->ncommand == 0)
        return scn_fail(ld, cmd, "'command' must name a program");
    if (c->command[0][0] == '\0')
        return scn_fail(ld, scn_seq_at(ld, cmd, 0), "'command' starts with an empty program "
                        "name");
    if (scn_find(ld, item, "start", &key))
        return scn_fail(ld, key, "'start' does not apply to a client with 'command': it "
                        "starts with the other clients");
    c->attempts = 1;
    return check_placeholders(ld, cmd, sc, c->command, c->ncommand) &&
           (!(v = scn_field(ld, item, "count")) ||
            scn_get_count(ld, v, "count", 1, MAX_COUNT, &c->count));
}

static bool load_client(struct scn_loader *ld, const yaml_node_t *root,
                        const yaml_node_t *item, const struct pf_scenario *sc,
                        struct pf_client *c)
{
    static const char *const keys[] = {"account", "count", "attempts", "interval",
                                       "start", "until", "protocol", "send",
                                       "expect", "read_timeout", "command", NULL};
    yaml_node_t *v;
    c->mark = scn_mark(item);
    c->count = 1;
    c->attempts = 10;
    c->interval_ns = 10 * SCN_MILLI_NS;
    c->start_ns = 0;
    if (!scn_want_item(ld, item, YAML_MAPPING_NODE, "clients") ||
        !scn_check_keys(ld, item, "a client", keys) ||
        !(v = scn_required(ld, item, "account", "a client")) ||
        !scn_get_string(ld, v, "account", &c->account) ||
        !scn_check_account_ref(ld, sc, v, "client account", c->account))
        return false;
    if ((v = scn_field(ld, item, "command")))
        return load_command_client(ld, item, v, sc, c);
    return (!(v = scn_field(ld, item, "count")) ||
            scn_get_count(ld, v, "count", 1, MAX_COUNT, &c->count)) &&
           (!(v = scn_field(ld, item, "attempts")) ||
            scn_get_count(ld, v, "attempts", 1, MAX_ATTEMPTS, &c->attempts)) &&
           (!(v = scn_field(ld, item, "interval")) ||
            scn_get_duration(ld, v, "interval", false, &c->interval_ns)) &&
           (!(v = scn_field(ld, item, "start")) ||
            scn_get_duration(ld, v, "start", false, &c->start_ns)) &&
           (!(v = scn_field(ld, item, "until")) || load_client_until(ld, v, c)) &&
           load_client_protocol(ld, root, item, c);
}

static bool load_clients(struct scn_loader *ld, const yaml_node_t *root,
                         struct pf_scenario *sc)
{
    yaml_node_t *v = scn_field(ld, root, "clients");
    if (!v)
        return true;
    if (!scn_want(ld, v, YAML_SEQUENCE_NODE, "clients"))
        return false;
    size_t n = scn_seq_len(v);
    if (!(sc->clients = pf_xcalloc(n ? n : 1, sizeof *sc->clients)))
        return scn_fail(ld, v, "out of memory");
    sc->nclients = n;
    for (size_t i = 0; i < n; i++)
        if (!load_client(ld, root, scn_seq_at(ld, v, i), sc, &sc->clients[i]))
            return false;
    return true;
}

/* Every entry of a list that takes placeholders. */
static bool check_placeholders(struct scn_loader *ld, const yaml_node_t *seq,
                               const struct pf_scenario *sc, char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!scn_check_placeholders(ld, scn_seq_at(ld, seq, i), sc, list[i]))
            return false;
    return true;
}

static bool load_server(struct scn_loader *ld, const yaml_node_t *root,
                        struct pf_scenario *sc)
{
    static const char *const keys[] = {"fixture", "command", "args", "umask",
                                       "timeout", "ready_timeout", "user", "group",
                                       "groups", "env", "cwd", NULL};
    struct pf_server *s = &sc->server;
    s->umask = 022;
    s->timeout_ns = 10 * SCN_SECOND_NS;
    s->ready_timeout_ns = 5 * SCN_SECOND_NS;
    yaml_node_t *m, *v, *fixture, *command, *command_key = NULL;
    if (!(m = scn_required(ld, root, "server", "the scenario")) ||
        !scn_want(ld, m, YAML_MAPPING_NODE, "server") ||
        !scn_check_keys(ld, m, "server", keys))
        return false;
    s->mark = scn_mark(m);

    fixture = scn_field(ld, m, "fixture");
    command = scn_find(ld, m, "command", &command_key);
    if (fixture && command)
        return scn_fail(ld, command_key, "give either 'fixture' or 'command' in "
                        "server, not both");
    if (!fixture && !command)
        return scn_fail(ld, m, "missing required field 'fixture' or 'command' in "
                        "server");
    if (fixture && !scn_get_name(ld, fixture, "fixture", &s->fixture))
        return false;
    if (command) {
        if (!scn_get_string_list(ld, command, "command", &s->command, &s->ncommand))
            return false;
        if (s->ncommand == 0)
            return scn_fail(ld, command, "'command' must name a program");
        if (s->command[0][0] == '\0')
            return scn_fail(ld, scn_seq_at(ld, command, 0),
                            "'command' starts with an empty program name");
    }
    if (command && !check_placeholders(ld, command, sc, s->command, s->ncommand))
        return false;
    if ((v = scn_field(ld, m, "args")) &&
        (!scn_get_string_list(ld, v, "args", &s->args, &s->nargs) ||
         !check_placeholders(ld, v, sc, s->args, s->nargs)))
        return false;
    return (!(v = scn_field(ld, m, "umask")) ||
            scn_get_octal(ld, v, "umask", 0777, &s->umask)) &&
           (!(v = scn_field(ld, m, "timeout")) ||
            scn_get_duration(ld, v, "timeout", true, &s->timeout_ns)) &&
           (!(v = scn_field(ld, m, "ready_timeout")) ||
            scn_get_duration(ld, v, "ready_timeout", true, &s->ready_timeout_ns)) &&
           scn_load_server_identity(ld, m, sc);
}

/* Where the endpoint may live, per kind. */
static bool check_endpoint_path(struct scn_loader *ld, const yaml_node_t *at,
                                enum pf_endpoint_kind kind, const char *p)
{
    size_t len = strlen(p);
    if (len == 0)
        return scn_fail(ld, at, "'path' must not be empty");
    switch (kind) {
    case PF_EP_UNIX:
    case PF_EP_FIFO:
        if (p[0] == '/')
            return scn_fail(ld, at, "'path' must be relative to the run's endpoint "
                            "directory, not absolute");
        for (const char *c = p; (c = strstr(c, "..")); c += 2)
            if ((c == p || c[-1] == '/') && (c[2] == '\0' || c[2] == '/'))
                return scn_fail(ld, at, "'path' must stay inside the run's endpoint "
                                "directory (no '..')");
        /* The harness creates and watches the endpoint directory only. */
        if (strchr(p, '/'))
            return scn_fail(ld, at, "'path' '%s' has a directory component: "
                            "subdirectories of the run's endpoint directory are not "
                            "supported; give a file name", p);
        if (strcmp(p, ".") == 0)
            return scn_fail(ld, at, "'path' must name a file, not '.'");
        if (len > 255)
            return scn_fail(ld, at, "'path' is too long (at most 255 bytes)");
        return true;
    case PF_EP_ABSTRACT:
        /* sun_path is 108 bytes, one of them the leading NUL. */
        if (len > 107)
            return scn_fail(ld, at, "abstract socket name is too long (at most 107 "
                            "bytes)");
        return true;
    case PF_EP_NPIPE:
        if (strchr(p, '\\'))
            return scn_fail(ld, at, "pipe name must not contain '\\' (give it "
                            "without \\\\.\\pipe\\)");
        /* 256 characters in all, including the 9 of \\.\pipe\ */
        if (len > 247)
            return scn_fail(ld, at, "pipe name is too long (at most 247 characters)");
        return true;
    }
    return true;
}

static bool load_endpoint(struct scn_loader *ld, const yaml_node_t *root,
                          struct pf_scenario *sc)
{
    static const char *const keys[] = {"kind", "path", "dir_mode", NULL};
    yaml_node_t *m, *kind, *path;
    int k;
    if (!(m = scn_required(ld, root, "endpoint", "the scenario")) ||
        !scn_want(ld, m, YAML_MAPPING_NODE, "endpoint") ||
        !scn_check_keys(ld, m, "endpoint", keys) ||
        !(kind = scn_required(ld, m, "kind", "endpoint")) ||
        !scn_get_enum(ld, kind, "kind", "endpoint kind", kind_names, &k))
        return false;
    sc->endpoint.kind = (enum pf_endpoint_kind)k;
    sc->endpoint.kind_mark = scn_mark(kind);
    if (sc->platform == PF_PLATFORM_LINUX && k == PF_EP_NPIPE)
        return scn_fail(ld, kind, "endpoint kind 'npipe' needs platform: win32");
    if (sc->platform == PF_PLATFORM_WIN32 && k != PF_EP_NPIPE)
        return scn_fail(ld, kind, "endpoint kind '%s' is not available on win32 "
                        "(use npipe)", kind_names[k]);
    if ((path = scn_field(ld, m, "path")))
        sc->endpoint.path_mark = scn_mark(path);
    return (path = scn_required(ld, m, "path", "endpoint")) &&
           scn_get_string(ld, path, "path", &sc->endpoint.path) &&
           check_endpoint_path(ld, path, sc->endpoint.kind, sc->endpoint.path) &&
           scn_load_dir_mode(ld, m, sc);
}

/* getfacl short form, with scenario names: user:NAME:rw-, group:NAME:r--,
 * user::rwx, group::r-x, mask::rw-, other::---. */
static bool check_acl_entry(struct scn_loader *ld, const struct pf_scenario *sc,
                            const yaml_node_t *at, const char *e)
{
    const char *c1 = strchr(e, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
        return scn_fail(ld, at, "bad ACL entry '%s': expected TYPE:NAME:PERMS, "
                        "e.g. user:alice:rw-", e);
    size_t tlen = (size_t)(c1 - e), qlen = (size_t)(c2 - c1 - 1);
    const char *perms = c2 + 1;
    bool user = !strncmp(e, "user", tlen) && tlen == 4;
    bool group = !strncmp(e, "group", tlen) && tlen == 5;
    bool base = (!strncmp(e, "mask", tlen) && tlen == 4) ||
                (!strncmp(e, "other", tlen) && tlen == 5);
    if (!user && !group && !base)
        return scn_fail(ld, at, "bad ACL entry '%s': type must be user, group, mask "
                        "or other", e);
    if (strlen(perms) != 3 || (perms[0] != 'r' && perms[0] != '-') ||
        (perms[1] != 'w' && perms[1] != '-') || (perms[2] != 'x' && perms[2] != '-'))
        return scn_fail(ld, at, "bad ACL entry '%s': permissions must be three "
                        "characters like rw- or r-x", e);
    if (base && qlen > 0)
        return scn_fail(ld, at, "bad ACL entry '%s': %.*s entries take no name", e,
                        (int)tlen, e);
    if (qlen == 0)
        return true;
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)qlen, c1 + 1);
    return user ? scn_check_account_ref(ld, sc, at, "ACL user", name)
                : scn_check_group_ref(ld, sc, at, "ACL group", name);
}

static bool load_intended_linux(struct scn_loader *ld, const yaml_node_t *m,
                                struct pf_scenario *sc)
{
    struct pf_intended *in = &sc->intended;
    yaml_node_t *v, *key;
    if (scn_find(ld, m, "sddl", &key))
        return scn_fail(ld, key, "intended.sddl is a win32 setting; on linux give "
                        "mode, owner, group or acl");
    if ((v = scn_field(ld, m, "mode")) &&
        !scn_get_octal(ld, v, "mode", 07777, &in->mode))
        return false;
    if ((v = scn_field(ld, m, "owner"))) {
        free(in->owner);
        in->owner = NULL;
        if (!scn_get_string(ld, v, "owner", &in->owner))
            return false;
        if (strcmp(in->owner, "server") != 0 &&
            !scn_check_account_ref(ld, sc, v, "intended owner", in->owner))
            return false;
    }
    if ((v = scn_field(ld, m, "group")) &&
        (!scn_get_string(ld, v, "group", &in->group) ||
         !scn_check_group_ref(ld, sc, v, "intended group", in->group)))
        return false;
    if ((v = scn_field(ld, m, "acl"))) {
        if (!scn_get_string_list(ld, v, "acl", &in->acl, &in->nacl))
            return false;
        for (size_t i = 0; i < in->nacl; i++)
            if (!check_acl_entry(ld, sc, scn_seq_at(ld, v, i), in->acl[i]))
                return false;
    }
    return true;
}

static bool load_intended_win32(struct scn_loader *ld, const yaml_node_t *m,
                                struct pf_scenario *sc)
{
    static const char *const linux_only[] = {"mode", "owner", "group", "acl", NULL};
    yaml_node_t *v, *key;
    for (const char *const *k = linux_only; *k; k++)
        if (scn_find(ld, m, *k, &key))
            return scn_fail(ld, key, "intended.%s is a linux setting; on win32 give "
                            "intended.sddl", *k);
    if (!(v = scn_required(ld, m, "sddl", "intended")) ||
        !scn_get_string(ld, v, "sddl", &sc->intended.sddl))
        return false;
    if (!strstr(sc->intended.sddl, "D:"))
        return scn_fail(ld, v, "intended.sddl must give a DACL (D:...)");
    return true;
}

static bool load_intended(struct scn_loader *ld, const yaml_node_t *root,
                          struct pf_scenario *sc)
{
    static const char *const keys[] = {"mode", "owner", "group", "acl", "sddl",
                                       NULL};
    yaml_node_t *m = scn_field(ld, root, "intended");
    sc->intended.mode = -1;
    if (!scn_dup_into(ld, root, "server", &sc->intended.owner))
        return false;
    if (!m) {
        if (sc->platform == PF_PLATFORM_WIN32)
            return scn_fail(ld, root, "missing required field 'intended' in the "
                            "scenario (win32 needs intended.sddl)");
        return true;
    }
    if (!scn_want(ld, m, YAML_MAPPING_NODE, "intended") ||
        !scn_check_keys(ld, m, "intended", keys))
        return false;
    return sc->platform == PF_PLATFORM_WIN32 ? load_intended_win32(ld, m, sc)
                                             : load_intended_linux(ld, m, sc);
}

static bool load_expect(struct scn_loader *ld, const yaml_node_t *root,
                        struct pf_scenario *sc)
{
    yaml_node_t *v = scn_required(ld, root, "expect", "the scenario");
    if (!v || !scn_want(ld, v, YAML_SEQUENCE_NODE, "expect"))
        return false;
    if (scn_seq_len(v) == 0)
        return scn_fail(ld, v, "'expect' must list at least one expectation");
    for (size_t i = 0; i < scn_seq_len(v); i++) {
        yaml_node_t *item = scn_seq_at(ld, v, i);
        int e;
        if (!scn_want_item(ld, item, YAML_SCALAR_NODE, "expect") ||
            !scn_get_enum(ld, item, "expect", "expectation", expect_names, &e))
            return false;
        if (sc->expect[e])
            return scn_fail(ld, item, "expectation '%s' is listed twice",
                            expect_names[e]);
        sc->expect[e] = true;
        /* Without `intended` there is nothing to compare an instance with. */
        if ((e == PF_EXPECT_BIRTH_INTENDED ||
             e == PF_EXPECT_INTENDED_BEFORE_ACCEPT) &&
            !scn_field(ld, root, "intended"))
            return scn_fail(ld, item, "expectation '%s' needs 'intended' "
                            "permissions in the scenario", expect_names[e]);
    }
    return true;
}

/* A scenario's name is its directory in the run's store, beside the
 * store's own files: it must not be one of them, nor hidden. */
static bool check_store_name(struct scn_loader *ld, const yaml_node_t *at,
                             const char *name)
{
    static const char *const taken[] = {"results.json", "junit.xml", "index.html",
                                        "latest", NULL};
    for (const char *const *t = taken; *t; t++)
        if (strcmp(name, *t) == 0)
            return scn_fail(ld, at, "scenario name '%s' is the name of a file in the "
                            "run's store (results.json, junit.xml, index.html, "
                            "latest): choose another", name);
    if (name[0] == '.')
        return scn_fail(ld, at, "scenario name '%s' must not start with '.' (it "
                        "names a directory in the run's store)", name);
    return true;
}

static bool load_scenario(struct scn_loader *ld, const yaml_node_t *root,
                          struct pf_scenario *sc)
{
    static const char *const keys[] = {"name", "description", "platform",
                                       "server", "endpoint", "intended",
                                       "groups", "accounts", "clients",
                                       "expect", "faults", "files", "attackers", NULL};
    yaml_node_t *v;
    int platform = PF_PLATFORM_LINUX;
    if (!scn_is_type(root, YAML_MAPPING_NODE))
        return scn_fail(ld, root, "a scenario must be a mapping (name: ..., "
                        "server: ..., endpoint: ...), not %s", scn_kind_of(root));
    if (!scn_check_keys(ld, root, "the scenario", keys) ||
        !(v = scn_required(ld, root, "name", "the scenario")) ||
        !scn_get_name(ld, v, "name", &sc->name) || !check_store_name(ld, v, sc->name) ||
        ((v = scn_field(ld, root, "description")) &&
         !scn_get_string(ld, v, "description", &sc->description)) ||
        ((v = scn_field(ld, root, "platform")) &&
         !scn_get_enum(ld, v, "platform", "platform", platform_names, &platform)))
        return false;
    sc->platform = (enum pf_platform)platform;
    return load_groups(ld, root, sc) && load_accounts(ld, root, sc) &&
           load_clients(ld, root, sc) && load_server(ld, root, sc) &&
           load_endpoint(ld, root, sc) && load_intended(ld, root, sc) &&
           load_expect(ld, root, sc) && scn_load_faults(ld, root, sc) &&
           scn_load_files(ld, root, sc) &&
           scn_load_attackers(ld, root, sc) && scn_check_attack_expect(ld, root, sc);
}

/* ---- file ------------------------------------------------------------ */

/* Opened without blocking (a FIFO given as a scenario must not hang
 * `check`), then refused unless it is a regular file of at most 1 MiB. */
static char *read_file(const char *path, size_t *len, struct pf_error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err->msg, sizeof err->msg, "%s: cannot open: %s", path,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err->msg, sizeof err->msg, "%s: not a regular file: a scenario "
                 "must be a YAML file", path);
        close(fd);
        return NULL;
    }
    if (st.st_size > MAX_FILE_BYTES) {
        snprintf(err->msg, sizeof err->msg, "%s: too large for a scenario: %lld "
                 "bytes (at most 1 MiB, %d bytes)", path, (long long)st.st_size,
                 MAX_FILE_BYTES);
        close(fd);
        return NULL;
    }
    char *buf = pf_xmalloc(MAX_FILE_BYTES + 1);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, MAX_FILE_BYTES + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err->msg, sizeof err->msg, "%s: cannot read: %s", path,
                     strerror(errno));
            close(fd);
            free(buf);
            return NULL;
        }
        if (r == 0 || (n += (size_t)r) > MAX_FILE_BYTES)
            break;
    }
    close(fd);
    if (n > MAX_FILE_BYTES) {  /* grew while being read */
        snprintf(err->msg, sizeof err->msg, "%s: too large for a scenario (over "
                 "1 MiB, %d bytes)", path, MAX_FILE_BYTES);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* libyaml reports encoding errors by byte offset, everything else by mark. */
static void syntax_error(const char *path, const yaml_parser_t *p,
                         const char *buf, size_t len, struct pf_error *err)
{
    size_t line = p->problem_mark.line, col = p->problem_mark.column;
    const char *problem = p->problem ? p->problem : "unreadable YAML";
    if (p->error == YAML_MEMORY_ERROR) {
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", path);
        return;
    }
    if (p->error == YAML_READER_ERROR) {
        line = col = 0;
        for (size_t i = 0; i < p->problem_offset && i < len; i++) {
            if (buf[i] == '\n') {
                line++;
                col = 0;
            } else {
                col++;
            }
        }
    }
    if (p->context)
        snprintf(err->msg, sizeof err->msg, "%s:%zu:%zu: YAML syntax error: %s "
                 "(%s at line %zu)", path, line + 1, col + 1, problem, p->context,
                 p->context_mark.line + 1);
    else
        snprintf(err->msg, sizeof err->msg, "%s:%zu:%zu: YAML syntax error: %s",
                 path, line + 1, col + 1, problem);
}

/* libyaml's cost grows faster than linearly with flow nesting ([[[[...):
 * a 20k-deep file takes seconds. So the raw bytes are scanned first, and
 * nesting deeper than MAX_DEPTH is refused before libyaml sees it. Quoted
 * scalars and comments are skipped; a bracket inside a plain scalar counts
 * too, which can only over-count. */
static bool flow_depth_ok(const char *path, const char *buf, size_t len,
                          struct pf_error *err)
{
    size_t line = 1, col = 0;
    int depth = 0;
    char quote = 0;
    bool comment = false;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i], prev = i ? buf[i - 1] : '\n';
        col++;
        if (c == '\n') {
            line++;
            col = 0;
            comment = false;
            continue;
        }
        if (comment)
            continue;
        if (quote) {
            if (quote == '"' && c == '\\')
                i++, col++;
            else if (c == quote)
                quote = 0;
            continue;
        }
        bool starts = strchr(" \t\n[{,:", prev) != NULL;
        if (c == '#' && (prev == ' ' || prev == '\t' || prev == '\n'))
            comment = true;
        else if ((c == '\'' || c == '"') && starts)
            quote = c;
        else if (c == '[' || c == '{') {
            if (++depth > MAX_DEPTH) {
                snprintf(err->msg, sizeof err->msg, "%s:%zu:%zu: nested more than %d "
                         "levels deep: a scenario needs far fewer", path, line, col,
                         MAX_DEPTH);
                return false;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return true;
}

/* Aliases let a small file stand for a huge one (a 256 KiB scalar aliased
 * 200,000 times). libyaml shares aliased nodes, but the loader copies what
 * it reads, so the document is walked once with a budget: at most
 * MAX_ALIASES nodes reached a second time, MAX_EXPANDED bytes of scalars in
 * all as the loader would see them, MAX_DEPTH levels. The walk stops at the
 * first excess, so its cost is bounded by the budget. */
struct walk {
    struct scn_loader *ld;
    unsigned char *seen;
    size_t aliases, bytes;
};

static bool walk_node(struct walk *w, int id, int depth)
{
    yaml_node_t *n = yaml_document_get_node(w->ld->doc, id);
    if (!n)
        return true;
    if (depth > MAX_DEPTH)
        return scn_fail(w->ld, n, "nested more than %d levels deep", MAX_DEPTH);
    if (w->seen[id] && ++w->aliases > MAX_ALIASES)
        return scn_fail(w->ld, n, "more than %d aliases (*name) in one scenario",
                        MAX_ALIASES);
    w->seen[id] = 1;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        w->bytes += n->data.scalar.length;
        if (w->bytes > MAX_EXPANDED)
            return scn_fail(w->ld, n, "the scenario, with its aliases expanded, is larger "
                            "than %d MiB", MAX_EXPANDED >> 20);
        return true;
    case YAML_SEQUENCE_NODE:
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             it < n->data.sequence.items.top; it++)
            if (!walk_node(w, *it, depth + 1))
                return false;
        return true;
    case YAML_MAPPING_NODE:
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             p < n->data.mapping.pairs.top; p++)
            if (!walk_node(w, p->key, depth + 1) || !walk_node(w, p->value, depth + 1))
                return false;
        return true;
    default:
        return true;
    }
}

static bool within_budget(struct scn_loader *ld)
{
    size_t nodes = (size_t)(ld->doc->nodes.top - ld->doc->nodes.start);
    struct walk w = {ld, pf_xcalloc(nodes + 2, 1), 0, 0};
    bool ok = walk_node(&w, 1, 0);
    free(w.seen);
    return ok;
}

/* One scenario per file: a second document is an error, not ignored. */
static bool single_document(struct scn_loader *ld, yaml_parser_t *parser,
                            const char *buf, size_t len)
{
    yaml_document_t next;
    if (!yaml_parser_load(parser, &next)) {
        syntax_error(ld->file, parser, buf, len, ld->err);
        return false;
    }
    yaml_node_t *root = yaml_document_get_root_node(&next);
    bool ok = !root || scn_fail(ld, root, "only one scenario per file: a second "
                                "YAML document starts here");
    yaml_document_delete(&next);
    return ok;
}

struct pf_scenario *pf_scenario_load(const char *path, struct pf_error *err)
{
    struct pf_scenario *sc = NULL;
    yaml_parser_t parser;
    yaml_document_t doc;
    size_t len;
    char *buf = read_file(path, &len, err);
    if (!buf)
        return NULL;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", path);
        free(buf);
        return NULL;
    }
    if (!flow_depth_ok(path, buf, len, err))
        goto out_parser;
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    if (!yaml_parser_load(&parser, &doc)) {
        syntax_error(path, &parser, buf, len, err);
        goto out_parser;
    }
    struct scn_loader ld = {path, &doc, err};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        snprintf(err->msg, sizeof err->msg, "%s:1:1: empty file: expected a "
                 "scenario (name: ..., server: ..., endpoint: ...)", path);
        goto out_doc;
    }
    if (!within_budget(&ld) || !single_document(&ld, &parser, buf, len))
        goto out_doc;
    sc = pf_xcalloc(1, sizeof *sc);
    if (!sc || !(sc->file = pf_xstrdup(path))) {
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", path);
        free(sc);
        sc = NULL;
    } else if (!load_scenario(&ld, root, sc)) {
        pf_scenario_free(sc);
        sc = NULL;
    }
out_doc:
    yaml_document_delete(&doc);
out_parser:
    yaml_parser_delete(&parser);
    free(buf);
    return sc;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

void pf_scenario_free(struct pf_scenario *sc)
{
    if (!sc)
        return;
    free(sc->file);
    free(sc->name);
    free(sc->description);
    free(sc->server.fixture);
    free_list(sc->server.command, sc->server.ncommand);
    free_list(sc->server.args, sc->server.nargs);
    scn_free_server_identity(sc);
    free(sc->endpoint.path);
    free(sc->intended.owner);
    free(sc->intended.group);
    free_list(sc->intended.acl, sc->intended.nacl);
    free(sc->intended.sddl);
    free_list(sc->groups, sc->ngroups);
    for (size_t i = 0; sc->accounts && i < sc->naccounts; i++) {
        free(sc->accounts[i].name);
        free_list(sc->accounts[i].groups, sc->accounts[i].ngroups);
    }
    free(sc->accounts);
    for (size_t i = 0; sc->clients && i < sc->nclients; i++) {
        free(sc->clients[i].account);
        free(sc->clients[i].send);
        free(sc->clients[i].expect);
        free_list(sc->clients[i].command, sc->clients[i].ncommand);
    }
    free(sc->clients);
    for (size_t i = 0; sc->faults && i < sc->nfaults; i++) {
        free(sc->faults[i].until_account);
        free(sc->faults[i].until_event);
        free(sc->faults[i].err_name);
        free(sc->faults[i].target);
    }
    free(sc->faults);
    for (size_t i = 0; sc->attackers && i < sc->nattackers; i++)
        free(sc->attackers[i].account);
    free(sc->attackers);
    free(sc);
}
