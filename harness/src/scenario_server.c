/* scenario_server.c - who the server runs as, what it is given, `files:`.
 *
 * server.user / group / groups name either something the scenario declares
 * (an account, a group: created for the run) or something this machine
 * already has (`redis`, `www-data`, `nogroup`). The loader decides which,
 * here, so that `check` refuses a name that is neither instead of the run
 * failing half-way. On win32 the names are not looked up: the win32
 * backend's check refuses the keys.
 *
 * server.env, server.cwd and the files' content take placeholders; they are
 * checked by the one expander (plan.c), as the server's command line is.
 */
#include "scenario_load.h"
#include "plan.h"
#include "util.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest user or group name useradd and the C library accept. */
enum { SYSTEM_NAME_MAX = 32 };
/* A file's path: bounded so that <rundir>/<path> fits PATH_MAX. */
enum { FILE_PATH_MAX = 1024, FILE_COMPONENT_MAX = 255 };

bool scn_check_placeholders(struct scn_loader *ld, const yaml_node_t *at,
                            const struct pf_scenario *sc, const char *s)
{
    char err[400];
    if (pf_placeholders_check(s, sc, err, sizeof err) < 0)
        return scn_fail(ld, at, "%s", err);
    return true;
}

/* A name that may be a system user's or group's: what the shadow tools
 * allow, roughly; anything else cannot exist, and is refused as such. */
static bool system_name_ok(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > SYSTEM_NAME_MAX || s[0] == '-')
        return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.' ||
              (*c == '$' && c[1] == '\0')))
            return false;
    return true;
}

/* A user: a scenario account, or (linux) a user of this system. */
static bool check_user(struct scn_loader *ld, const struct pf_scenario *sc,
                       const yaml_node_t *at, const char *what, const char *name)
{
    if (pf_scenario_account(sc, name))
        return true;
    if (!system_name_ok(name))
        return scn_fail(ld, at, "%s '%s' is not a valid user name", what, name);
    if (sc->platform == PF_PLATFORM_WIN32 || getpwnam(name))
        return true;
    return scn_fail(ld, at, "%s '%s' is neither an account of this scenario nor a user "
                    "of this system", what, name);
}

/* A group: a scenario group, or (linux) a group of this system. */
static bool check_group(struct scn_loader *ld, const struct pf_scenario *sc,
                        const yaml_node_t *at, const char *what, const char *name)
{
    if (scn_has_group(sc, name))
        return true;
    if (!system_name_ok(name))
        return scn_fail(ld, at, "%s '%s' is not a valid group name", what, name);
    if (sc->platform == PF_PLATFORM_WIN32 || getgrnam(name))
        return true;
    if (pf_scenario_account(sc, name))
        return scn_fail(ld, at, "%s '%s' is an account, not a group: accounts have no "
                        "group of their own (declare one in 'groups')", what, name);
    return scn_fail(ld, at, "%s '%s' is neither a group of this scenario nor a group of "
                    "this system", what, name);
}

static bool env_name_ok(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (const char *c = s + 1; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
              (*c >= '0' && *c <= '9') || *c == '_'))
            return false;
    return true;
}

static bool load_env(struct scn_loader *ld, const yaml_node_t *v, struct pf_scenario *sc)
{
    struct pf_server *s = &sc->server;
    if (!scn_want(ld, v, YAML_MAPPING_NODE, "env"))
        return false;
    s->env_mark = scn_mark(v);
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    s->env_names = pf_xcalloc(n ? n : 1, sizeof *s->env_names);
    s->env_values = pf_xcalloc(n ? n : 1, sizeof *s->env_values);
    s->nenv = n;
    for (size_t i = 0; i < n; i++) {
        yaml_node_pair_t *p = &v->data.mapping.pairs.start[i];
        yaml_node_t *k = yaml_document_get_node(ld->doc, p->key);
        yaml_node_t *val = yaml_document_get_node(ld->doc, p->value);
        const char *name, *text;
        if (!(name = scn_get_scalar(ld, k, "env name")))
            return false;
        if (!env_name_ok(name))
            return scn_fail(ld, k, "environment variable name '%s' must be "
                            "[A-Za-z_][A-Za-z0-9_]*", name);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(s->env_names[j], name))
                return scn_fail(ld, k, "environment variable '%s' is given twice", name);
        if (!scn_dup_into(ld, k, name, &s->env_names[i]) ||
            !(text = scn_get_scalar(ld, val, name)) ||
            !scn_dup_into(ld, val, text, &s->env_values[i]) ||
            !scn_check_placeholders(ld, val, sc, text))
            return false;
    }
    return true;
}

bool scn_load_server_identity(struct scn_loader *ld, const yaml_node_t *m,
                              struct pf_scenario *sc)
{
    struct pf_server *s = &sc->server;
    yaml_node_t *v;
    if ((v = scn_field(ld, m, "user"))) {
        s->user_mark = scn_mark(v);
        if (!scn_get_string(ld, v, "user", &s->user) ||
            !check_user(ld, sc, v, "server.user", s->user))
            return false;
    }
    if ((v = scn_field(ld, m, "group"))) {
        s->group_mark = scn_mark(v);
        if (!scn_get_string(ld, v, "group", &s->group) ||
            !check_group(ld, sc, v, "server.group", s->group))
            return false;
    }
    if ((v = scn_field(ld, m, "groups"))) {
        s->groups_mark = scn_mark(v);
        s->groups_given = true;
        if (!scn_get_string_list(ld, v, "groups", &s->groups, &s->ngroups))
            return false;
        for (size_t i = 0; i < s->ngroups; i++) {
            yaml_node_t *g = scn_seq_at(ld, v, i);
            if (!check_group(ld, sc, g, "server.groups entry", s->groups[i]))
                return false;
            for (size_t j = 0; j < i; j++)
                if (!strcmp(s->groups[i], s->groups[j]))
                    return scn_fail(ld, g, "group '%s' is listed twice", s->groups[i]);
        }
    }
    if ((v = scn_field(ld, m, "env")) && !load_env(ld, v, sc))
        return false;
    if ((v = scn_field(ld, m, "cwd"))) {
        s->cwd_mark = scn_mark(v);
        if (!scn_get_string(ld, v, "cwd", &s->cwd))
            return false;
        if (!s->cwd[0])
            return scn_fail(ld, v, "'cwd' must not be empty (leave it out for the run "
                            "directory)");
        if (!scn_check_placeholders(ld, v, sc, s->cwd))
            return false;
    }
    return true;
}

/* Relative, inside the run directory, every component a plain name. The
 * run's endpoint directory `ep` is the harness's: no file goes there. */
static bool check_file_path(struct scn_loader *ld, const yaml_node_t *at, const char *p)
{
    size_t len = strlen(p);
    if (len == 0)
        return scn_fail(ld, at, "file 'path' must not be empty");
    if (len > FILE_PATH_MAX)
        return scn_fail(ld, at, "file path is too long (at most %d bytes)", FILE_PATH_MAX);
    if (p[0] == '/')
        return scn_fail(ld, at, "file path '%s' must be relative to the run directory, "
                        "not absolute", p);
    for (const char *c = p; *c;) {
        const char *slash = strchr(c, '/');
        size_t n = slash ? (size_t)(slash - c) : strlen(c);
        if (n == 0)
            return scn_fail(ld, at, "file path '%s' has an empty component ('//' or a "
                            "trailing '/')", p);
        if ((n == 1 && c[0] == '.') || (n == 2 && !strncmp(c, "..", 2)))
            return scn_fail(ld, at, "file path '%s' must stay inside the run directory "
                            "(no '.' or '..' component)", p);
        if (n > FILE_COMPONENT_MAX)
            return scn_fail(ld, at, "file path '%s' has a component longer than %d bytes",
                            p, FILE_COMPONENT_MAX);
        if (c == p && n == 2 && !strncmp(c, "ep", 2))
            return scn_fail(ld, at, "file path '%s' is in 'ep', the run's endpoint "
                            "directory, which the harness watches: choose another", p);
        c += n + (slash ? 1 : 0);
        if (slash && !*c)
            return scn_fail(ld, at, "file path '%s' has an empty component ('//' or a "
                            "trailing '/')", p);
    }
    return true;
}

/* a is b, or a directory on b's path (or the other way round). */
static bool paths_clash(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > lb)
        return paths_clash(b, a);
    return !strncmp(a, b, la) && (la == lb || b[la] == '/');
}

static bool load_file(struct scn_loader *ld, const yaml_node_t *item,
                      struct pf_scenario *sc, size_t index)
{
    static const char *const keys[] = {"path", "content", "mode", "owner", "group", NULL};
    struct pf_file *f = &sc->files[index];
    yaml_node_t *v;
    f->mark = scn_mark(item);
    f->mode = 0644;
    if (!scn_want_item(ld, item, YAML_MAPPING_NODE, "files") ||
        !scn_check_keys(ld, item, "a file", keys) ||
        !(v = scn_required(ld, item, "path", "a file")) ||
        !scn_get_string(ld, v, "path", &f->path) || !check_file_path(ld, v, f->path))
        return false;
    f->path_mark = scn_mark(v);
    for (size_t j = 0; j < index; j++) {
        if (!strcmp(sc->files[j].path, f->path))
            return scn_fail(ld, v, "file '%s' is listed twice (first at line %d)", f->path,
                            sc->files[j].path_mark.line);
        if (paths_clash(sc->files[j].path, f->path))
            return scn_fail(ld, v, "file '%s' clashes with '%s' (line %d): one would be a "
                            "directory of the other", f->path, sc->files[j].path,
                            sc->files[j].path_mark.line);
    }
    if (!(v = scn_required(ld, item, "content", "a file")) ||
        !scn_get_string(ld, v, "content", &f->content) ||
        !scn_check_placeholders(ld, v, sc, f->content))
        return false;
    if ((v = scn_field(ld, item, "mode")) && !scn_get_octal(ld, v, "mode", 0777, &f->mode))
        return false;
    if ((v = scn_field(ld, item, "owner"))) {
        f->owner_mark = scn_mark(v);
        if (!scn_get_string(ld, v, "owner", &f->owner) ||
            (strcmp(f->owner, "server") && !check_user(ld, sc, v, "file owner", f->owner)))
            return false;
    }
    if ((v = scn_field(ld, item, "group"))) {
        f->group_mark = scn_mark(v);
        if (!scn_get_string(ld, v, "group", &f->group) ||
            !check_group(ld, sc, v, "file group", f->group))
            return false;
    }
    return true;
}

bool scn_load_files(struct scn_loader *ld, const yaml_node_t *root, struct pf_scenario *sc)
{
    yaml_node_t *v = scn_field(ld, root, "files");
    if (!v)
        return true;
    if (!scn_want(ld, v, YAML_SEQUENCE_NODE, "files"))
        return false;
    size_t n = scn_seq_len(v);
    sc->files = pf_xcalloc(n ? n : 1, sizeof *sc->files);
    sc->nfiles = n;
    for (size_t i = 0; i < n; i++)
        if (!load_file(ld, scn_seq_at(ld, v, i), sc, i))
            return false;
    return true;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

void scn_free_server_identity(struct pf_scenario *sc)
{
    struct pf_server *s = &sc->server;
    free(s->user);
    free(s->group);
    free_list(s->groups, s->ngroups);
    free_list(s->env_names, s->nenv);
    free_list(s->env_values, s->nenv);
    free(s->cwd);
    for (size_t i = 0; sc->files && i < sc->nfiles; i++) {
        free(sc->files[i].path);
        free(sc->files[i].content);
        free(sc->files[i].owner);
        free(sc->files[i].group);
    }
    free(sc->files);
}
