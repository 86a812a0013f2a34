/* scenario_node.c - the node access layer of the scenario loader.
 *
 * Typed getters over libyaml's document API. Each one checks a node and,
 * when it is wrong, writes the whole "file:line:col: message" error, so the
 * section functions only state rules. Positions come from the nodes'
 * start marks (0-based in libyaml, reported 1-based).
 */
#include "scenario_load.h"
#include "scenario_values.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Real names are pf<6 hex>_<name>; both Linux and Windows stop at 32. */
enum { SHORT_NAME_MAX = 20 };
/* Scenario and fixture names. */
enum { NAME_MAX_LEN = 100 };

/* names[i], or "?" for a value outside the enum. */
const char *scn_name_at(const char *const *names, int i)
{
    for (int k = 0; names[k]; k++)
        if (k == i)
            return names[k];
    return "?";
}

/* Writes "file:line:col: message" and returns false, for `return scn_fail(..)`. */
bool scn_fail(struct scn_loader *ld, const yaml_node_t *at, const char *fmt, ...)
{
    char *out = ld->err->msg;
    size_t size = sizeof ld->err->msg;
    int len = snprintf(out, size, "%s:%zu:%zu: ", ld->file,
                       at->start_mark.line + 1, at->start_mark.column + 1);
    if (len >= 0 && (size_t)len < size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(out + len, size - (size_t)len, fmt, ap);
        va_end(ap);
    }
    return false;
}

struct pf_mark scn_mark(const yaml_node_t *n)
{
    return (struct pf_mark){(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
}

int pf_scenario_error(struct pf_error *err, const struct pf_scenario *sc,
                      struct pf_mark at, const char *fmt, ...)
{
    int len = snprintf(err->msg, sizeof err->msg, "%s:%d:%d: ", sc->file, at.line,
                       at.col);
    if (len >= 0 && (size_t)len < sizeof err->msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg + len, sizeof err->msg - (size_t)len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static yaml_node_t *node(struct scn_loader *ld, int id)
{
    return yaml_document_get_node(ld->doc, id);
}

const char *scn_text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* `key:` with nothing after it, `~` or `null`: YAML's null, not a string. */
static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE ||
        n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = scn_text(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

const char *scn_kind_of(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a sequence";
    case YAML_SCALAR_NODE: return is_null(n) ? "empty" : "a scalar";
    default: return "nothing";
    }
}

static const char *type_name(yaml_node_type_t t)
{
    return t == YAML_MAPPING_NODE ? "a mapping"
         : t == YAML_SEQUENCE_NODE ? "a sequence" : "a scalar";
}

bool scn_is_type(const yaml_node_t *n, yaml_node_type_t t)
{
    return n->type == t && !is_null(n);
}

/* The value of `key` must be of type t. */
bool scn_want(struct scn_loader *ld, const yaml_node_t *n, yaml_node_type_t t,
              const char *key)
{
    if (scn_is_type(n, t))
        return true;
    return scn_fail(ld, n, "'%s' must be %s, not %s", key, type_name(t),
                    scn_kind_of(n));
}

/* Every entry of the sequence `key` must be of type t. */
bool scn_want_item(struct scn_loader *ld, const yaml_node_t *n,
                   yaml_node_type_t t, const char *key)
{
    if (scn_is_type(n, t))
        return true;
    return scn_fail(ld, n, "each entry of '%s' must be %s, not %s", key,
                    type_name(t), scn_kind_of(n));
}

size_t scn_seq_len(const yaml_node_t *seq)
{
    return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

yaml_node_t *scn_seq_at(struct scn_loader *ld, const yaml_node_t *seq, size_t i)
{
    return node(ld, seq->data.sequence.items.start[i]);
}

static void join(const char *const *names, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (; *names && used < size; names++) {
        int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", *names);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* " (did you mean 'x'?)" when there is a near miss, else "". */
const char *scn_hint(char *buf, size_t size, const char *near)
{
    if (!near)
        return "";
    snprintf(buf, size, " (did you mean '%s'?)", near);
    return buf;
}

/* Rejects non-scalar, unknown and duplicate keys; `keys` ends with NULL. */
bool scn_check_keys(struct scn_loader *ld, const yaml_node_t *map,
                    const char *section, const char *const *keys)
{
    yaml_node_pair_t *first = map->data.mapping.pairs.start;
    for (yaml_node_pair_t *p = first; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(ld, p->key);
        if (!scn_is_type(k, YAML_SCALAR_NODE))
            return scn_fail(ld, k, "keys in %s must be names, not %s", section,
                            scn_kind_of(k));
        const char *name = scn_text(k);
        if (strlen(name) != k->data.scalar.length)
            return scn_fail(ld, k, "a key in %s contains a NUL character (\\0)",
                            section);
        bool known = false;
        for (const char *const *kp = keys; *kp && !known; kp++)
            known = strcmp(*kp, name) == 0;
        if (!known) {
            const char *near = pf_closest(name, keys);
            char list[256];
            join(keys, list, sizeof list);
            if (near)
                return scn_fail(ld, k, "unknown key '%s' in %s (did you mean '%s'?)",
                                name, section, near);
            return scn_fail(ld, k, "unknown key '%s' in %s (valid keys: %s)", name,
                            section, list);
        }
        for (yaml_node_pair_t *q = first; q < p; q++) {
            yaml_node_t *e = node(ld, q->key);
            if (strcmp(scn_text(e), name) == 0)
                return scn_fail(ld, k, "duplicate key '%s' in %s (first at line %zu)",
                                name, section, e->start_mark.line + 1);
        }
    }
    return true;
}

/* The value of `key` in a checked mapping, or NULL; *keynode for errors
 * about the key's presence itself. */
yaml_node_t *scn_find(struct scn_loader *ld, const yaml_node_t *map,
                      const char *key, yaml_node_t **keynode)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node(ld, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp(scn_text(k), key) == 0) {
            if (keynode)
                *keynode = k;
            return node(ld, p->value);
        }
    }
    return NULL;
}

yaml_node_t *scn_field(struct scn_loader *ld, const yaml_node_t *map, const char *key)
{
    return scn_find(ld, map, key, NULL);
}

/* Missing fields are reported at the mapping that should hold them. */
yaml_node_t *scn_required(struct scn_loader *ld, const yaml_node_t *map,
                          const char *key, const char *section)
{
    yaml_node_t *v = scn_field(ld, map, key);
    if (!v)
        scn_fail(ld, map, "missing required field '%s' in %s", key, section);
    return v;
}

const char *scn_get_scalar(struct scn_loader *ld, const yaml_node_t *v,
                           const char *key)
{
    if (!scn_want(ld, v, YAML_SCALAR_NODE, key))
        return NULL;
    /* A "\0" escape would silently cut the value short: refuse it. */
    if (strlen(scn_text(v)) != v->data.scalar.length) {
        scn_fail(ld, v, "'%s' contains a NUL character (\\0), which no name, "
                 "path or argument can hold", key);
        return NULL;
    }
    return scn_text(v);
}

bool scn_dup_into(struct scn_loader *ld, const yaml_node_t *at, const char *s,
                  char **out)
{
    *out = pf_xstrdup(s);
    return *out ? true : scn_fail(ld, at, "out of memory");
}

bool scn_get_string(struct scn_loader *ld, const yaml_node_t *v, const char *key,
                    char **out)
{
    const char *s = scn_get_scalar(ld, v, key);
    return s && scn_dup_into(ld, v, s, out);
}

/* A sequence of scalars; *out and *n are set before the items are read so
 * that a failure half-way leaves something pf_scenario_free can release. */
bool scn_get_string_list(struct scn_loader *ld, const yaml_node_t *v,
                         const char *key, char ***out, size_t *n)
{
    if (!scn_want(ld, v, YAML_SEQUENCE_NODE, key))
        return false;
    size_t len = scn_seq_len(v);
    *out = pf_xcalloc(len ? len : 1, sizeof **out);
    if (!*out)
        return scn_fail(ld, v, "out of memory");
    *n = len;
    for (size_t i = 0; i < len; i++) {
        yaml_node_t *item = scn_seq_at(ld, v, i);
        const char *text;
        if (!scn_want_item(ld, item, YAML_SCALAR_NODE, key) ||
            !(text = scn_get_scalar(ld, item, key)) ||
            !scn_dup_into(ld, item, text, &(*out)[i]))
            return false;
    }
    return true;
}

/* Scenario and fixture names. */
bool scn_get_name(struct scn_loader *ld, const yaml_node_t *v, const char *key,
                  char **out)
{
    const char *s = scn_get_scalar(ld, v, key);
    if (!s)
        return false;
    if (!pf_name_valid(s))
        return scn_fail(ld, v, "bad %s '%s': use letters, digits, '.', '_' and '-' "
                        "only", key, s);
    /* Scenario names become directory names in the results. */
    if (strlen(s) > NAME_MAX_LEN)
        return scn_fail(ld, v, "%s is too long (%zu characters, at most %d)",
                        key, strlen(s), NAME_MAX_LEN);
    return scn_dup_into(ld, v, s, out);
}

/* Account and group names, which become parts of real names. */
bool scn_check_short_name(struct scn_loader *ld, const yaml_node_t *at,
                          const char *what, const char *s)
{
    if (!pf_account_name_valid(s))
        return scn_fail(ld, at, "bad %s name '%s': use lowercase letters, digits, "
                        "'_' and '-' only", what, s);
    if (strlen(s) > SHORT_NAME_MAX)
        return scn_fail(ld, at, "%s name '%s' is too long (%zu characters, "
                        "at most %d)",
                        what, s, strlen(s), SHORT_NAME_MAX);
    return true;
}

/* One of `names` (NULL-terminated); *out is its index. */
bool scn_get_enum(struct scn_loader *ld, const yaml_node_t *v, const char *key,
                  const char *noun, const char *const *names, int *out)
{
    const char *s = scn_get_scalar(ld, v, key);
    if (!s)
        return false;
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0) {
            *out = i;
            return true;
        }
    char list[256], h[64];
    join(names, list, sizeof list);
    return scn_fail(ld, v, "unknown %s '%s'%s; expected one of: %s", noun, s,
                    scn_hint(h, sizeof h, pf_closest(s, names)), list);
}

bool scn_get_bool(struct scn_loader *ld, const yaml_node_t *v, const char *key,
                  bool *out)
{
    const char *s = scn_get_scalar(ld, v, key);
    if (!s)
        return false;
    if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0)
        return scn_fail(ld, v, "'%s' must be true or false, not '%s'", key, s);
    *out = strcmp(s, "true") == 0;
    return true;
}

bool scn_get_duration(struct scn_loader *ld, const yaml_node_t *v,
                      const char *key, bool positive, int64_t *out)
{
    const char *s = scn_get_scalar(ld, v, key);
    if (!s)
        return false;
    const char *why = pf_duration_parse(s, out);
    if (why)
        return scn_fail(ld, v, "bad duration '%s' for '%s': %s", s, key, why);
    if (positive && *out == 0)
        return scn_fail(ld, v, "'%s' must be longer than 0", key);
    /* Bounded so that no deadline arithmetic can overflow later. */
    if (*out > SCN_MAX_DURATION_NS)
        return scn_fail(ld, v, "duration '%s' for '%s' is too long (at most 24h, "
                        "86400s)", s, key);
    return true;
}

bool scn_get_octal(struct scn_loader *ld, const yaml_node_t *v, const char *key,
                   int max, int *out)
{
    const char *s = scn_get_scalar(ld, v, key);
    if (!s)
        return false;
    const char *why = pf_octal_parse(s, max, out);
    return why ? scn_fail(ld, v, "bad %s '%s': %s", key, s, why) : true;
}

bool scn_get_count(struct scn_loader *ld, const yaml_node_t *v, const char *key,
                   long lo, long hi, int *out)
{
    const char *s = scn_get_scalar(ld, v, key);
    if (!s)
        return false;
    long n;
    const char *why = pf_count_parse(s, lo, hi, &n);
    if (why)
        return scn_fail(ld, v, "bad %s '%s': %s (allowed: %ld to %ld)", key, s, why,
                        lo, hi);
    *out = (int)n;
    return true;
}

/* ---- cross references ---------------------------------------------- */

bool scn_has_group(const struct pf_scenario *sc, const char *name)
{
    for (size_t i = 0; i < sc->ngroups; i++)
        if (strcmp(sc->groups[i], name) == 0)
            return true;
    return false;
}

/* The closest of n names within edit distance 2, or NULL. */
static const char *nearest(const char *name,
                           const char *(*get)(const void *, size_t),
                           const void *list, size_t n)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < n; i++) {
        size_t d = pf_edit_distance(name, get(list, i), 2);
        if (d < best_d) {
            best_d = d;
            best = get(list, i);
        }
    }
    return best;
}

static const char *group_at(const void *sc, size_t i)
{
    return ((const struct pf_scenario *)sc)->groups[i];
}

static const char *account_at(const void *sc, size_t i)
{
    return ((const struct pf_scenario *)sc)->accounts[i].name;
}

bool scn_has_client(const struct pf_scenario *sc, const char *account)
{
    for (size_t i = 0; i < sc->nclients; i++)
        if (strcmp(sc->clients[i].account, account) == 0)
            return true;
    return false;
}

bool scn_check_group_ref(struct scn_loader *ld, const struct pf_scenario *sc,
                         const yaml_node_t *at, const char *what, const char *g)
{
    char h[64];
    if (scn_has_group(sc, g))
        return true;
    const char *near = nearest(g, group_at, sc, sc->ngroups);
    return scn_fail(ld, at, "%s '%s' is not declared in 'groups'%s", what, g,
                    scn_hint(h, sizeof h, near));
}

bool scn_check_account_ref(struct scn_loader *ld, const struct pf_scenario *sc,
                           const yaml_node_t *at, const char *what,
                           const char *a)
{
    char h[64];
    if (pf_scenario_account(sc, a))
        return true;
    const char *near = nearest(a, account_at, sc, sc->naccounts);
    return scn_fail(ld, at, "%s '%s' is not declared in 'accounts'%s", what, a,
                    scn_hint(h, sizeof h, near));
}

/* Something that waits for an account's connects needs a client making them. */
bool scn_check_client_account_ref(struct scn_loader *ld,
                                  const struct pf_scenario *sc,
                                  const yaml_node_t *at, const char *what,
                                  const char *a)
{
    if (!scn_check_account_ref(ld, sc, at, what, a))
        return false;
    if (!scn_has_client(sc, a))
        return scn_fail(ld, at, "%s '%s' has no entry in 'clients', so it never "
                        "connects", what, a);
    return true;
}
