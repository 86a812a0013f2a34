/* explore_yaml.c - a scenario file with clients, accounts or attempts taken
 * away and faults added: what every trial runs and what a reproducer is.
 *
 * The variant is written from the original file's YAML document (libyaml's
 * document model), not from the loaded struct: every key explore does not
 * change is copied node by node, so the written file says exactly what the
 * user wrote, including keys this module knows nothing about. The written
 * file is then loaded by the ordinary loader, so a trial is a scenario like
 * any other and a reproducer is accepted by `pipefault run` by construction.
 */
#include "explore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "util.h"

void pf_variant_init(struct pf_variant *v, const struct pf_scenario *sc)
{
    memset(v, 0, sizeof *v);
    v->nclients = sc->nclients;
    v->naccounts = sc->naccounts;
    v->client_on = pf_xcalloc(sc->nclients + 1, sizeof *v->client_on);
    v->attempts = pf_xcalloc(sc->nclients + 1, sizeof *v->attempts);
    v->account_on = pf_xcalloc(sc->naccounts + 1, sizeof *v->account_on);
    for (size_t i = 0; i < sc->nclients; i++)
        v->client_on[i] = true;
    for (size_t i = 0; i < sc->naccounts; i++)
        v->account_on[i] = true;
}

void pf_variant_copy(struct pf_variant *dst, const struct pf_variant *src)
{
    memset(dst, 0, sizeof *dst);
    dst->nclients = src->nclients;
    dst->naccounts = src->naccounts;
    dst->client_on = pf_xcalloc(src->nclients + 1, sizeof *dst->client_on);
    dst->attempts = pf_xcalloc(src->nclients + 1, sizeof *dst->attempts);
    dst->account_on = pf_xcalloc(src->naccounts + 1, sizeof *dst->account_on);
    memcpy(dst->client_on, src->client_on, src->nclients * sizeof *dst->client_on);
    memcpy(dst->attempts, src->attempts, src->nclients * sizeof *dst->attempts);
    memcpy(dst->account_on, src->account_on, src->naccounts * sizeof *dst->account_on);
    dst->nfaults = src->nfaults;
    dst->faults = pf_xcalloc(src->nfaults + 1, sizeof *dst->faults);
    if (src->nfaults)
        memcpy(dst->faults, src->faults, src->nfaults * sizeof *dst->faults);
}

void pf_variant_free(struct pf_variant *v)
{
    free(v->client_on);
    free(v->attempts);
    free(v->account_on);
    free(v->faults);
    memset(v, 0, sizeof *v);
}

static int add_str(yaml_document_t *d, const char *s, yaml_scalar_style_t style)
{
    return yaml_document_add_scalar(d, NULL, (yaml_char_t *)s, (int)strlen(s), style);
}

static bool add_pair(yaml_document_t *d, int map, const char *k, int value)
{
    int key = add_str(d, k, YAML_PLAIN_SCALAR_STYLE);
    return key && value && yaml_document_append_mapping_pair(d, map, key, value);
}

/* Copies node id of src into dst; the new node's id, 0 on failure. Aliases
 * come out as copies (the document model has resolved them already). */
static int copy_node(yaml_document_t *src, int id, yaml_document_t *dst, int depth)
{
    yaml_node_t *n = yaml_document_get_node(src, id);
    if (!n || depth > 64)
        return 0;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return yaml_document_add_scalar(dst, n->tag, n->data.scalar.value,
                                        (int)n->data.scalar.length, n->data.scalar.style);
    case YAML_SEQUENCE_NODE: {
        int s = yaml_document_add_sequence(dst, n->tag, n->data.sequence.style);
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             s && it < n->data.sequence.items.top; it++) {
            int c = copy_node(src, *it, dst, depth + 1);
            if (!c || !yaml_document_append_sequence_item(dst, s, c))
                return 0;
        }
        return s;
    }
    case YAML_MAPPING_NODE: {
        int m = yaml_document_add_mapping(dst, n->tag, n->data.mapping.style);
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
             m && p < n->data.mapping.pairs.top; p++) {
            int k = copy_node(src, p->key, dst, depth + 1);
            int v = copy_node(src, p->value, dst, depth + 1);
            if (!k || !v || !yaml_document_append_mapping_pair(dst, m, k, v))
                return 0;
        }
        return m;
    }
    default:
        return 0;
    }
}

static bool key_is(yaml_document_t *d, int id, const char *name)
{
    yaml_node_t *k = yaml_document_get_node(d, id);
    return k && k->type == YAML_SCALAR_NODE && strlen(name) == k->data.scalar.length &&
           !memcmp(k->data.scalar.value, name, k->data.scalar.length);
}

static bool has_key(yaml_document_t *d, const yaml_node_t *map, const char *name)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++)
        if (key_is(d, p->key, name))
            return true;
    return false;
}

/* One client entry, with `attempts` replaced when the variant says so. A
 * command client (the user's program) runs once: it has no attempts to
 * shrink, and the loader refuses `attempts` beside `command`. */
static int copy_client(yaml_document_t *src, int id, yaml_document_t *dst, int attempts)
{
    yaml_node_t *n = yaml_document_get_node(src, id);
    if (!n || n->type != YAML_MAPPING_NODE || attempts <= 0 || has_key(src, n, "command"))
        return copy_node(src, id, dst, 1);
    int m = yaml_document_add_mapping(dst, NULL, n->data.mapping.style);
    char num[24];
    snprintf(num, sizeof num, "%d", attempts);
    bool done = false;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; m && p < n->data.mapping.pairs.top;
         p++) {
        int k = copy_node(src, p->key, dst, 2), v;
        if (key_is(src, p->key, "attempts")) {
            v = add_str(dst, num, YAML_PLAIN_SCALAR_STYLE);
            done = true;
        } else {
            v = copy_node(src, p->value, dst, 2);
        }
        if (!k || !v || !yaml_document_append_mapping_pair(dst, m, k, v))
            return 0;
    }
    if (m && !done && !add_pair(dst, m, "attempts", add_str(dst, num, YAML_PLAIN_SCALAR_STYLE)))
        return 0;
    return m;
}

/* A sequence of the file with only the items keep[] says (NULL: all). */
static int copy_filtered(yaml_document_t *src, int id, yaml_document_t *dst, const bool *keep,
                         size_t nkeep, const int *attempts)
{
    yaml_node_t *n = yaml_document_get_node(src, id);
    if (!n || n->type != YAML_SEQUENCE_NODE)
        return copy_node(src, id, dst, 1);
    int s = yaml_document_add_sequence(dst, n->tag, n->data.sequence.style);
    size_t i = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start;
         s && it < n->data.sequence.items.top; it++, i++) {
        if (keep && i < nkeep && !keep[i])
            continue;
        int c = attempts && i < nkeep ? copy_client(src, *it, dst, attempts[i])
                                      : copy_node(src, *it, dst, 1);
        if (!c || !yaml_document_append_sequence_item(dst, s, c))
            return 0;
    }
    return s;
}

static void duration(char *out, size_t n, int64_t ns)
{
    if (ns % 1000000 == 0)
        snprintf(out, n, "%lldms", (long long)(ns / 1000000));
    else
        snprintf(out, n, "%lldus", (long long)(ns / 1000));
}

static int add_fault(yaml_document_t *d, const struct pf_xfault *f)
{
    int m = yaml_document_add_mapping(d, NULL, YAML_FLOW_MAPPING_STYLE);
    char when[24], t[32];
    snprintf(when, sizeof when, "%ld", f->when);
    bool ok = m && add_pair(d, m, "at", add_str(d, pf_fault_op_name(f->op),
                                                YAML_PLAIN_SCALAR_STYLE)) &&
              add_pair(d, m, "when", add_str(d, when, YAML_DOUBLE_QUOTED_SCALAR_STYLE)) &&
              (f->thread == PF_WHO_ANY ||
               add_pair(d, m, "thread", add_str(d, f->thread == PF_WHO_MAIN ? "main" : "other",
                                                YAML_PLAIN_SCALAR_STYLE))) &&
              add_pair(d, m, "action", add_str(d, pf_fault_action_name(f->action),
                                               YAML_PLAIN_SCALAR_STYLE));
    if (ok && f->action == PF_ACT_HOLD) {
        int u = yaml_document_add_mapping(d, NULL, YAML_FLOW_MAPPING_STYLE);
        duration(t, sizeof t, f->timeout_ns);
        ok = u && add_pair(d, u, "account", add_str(d, f->account, YAML_PLAIN_SCALAR_STYLE)) &&
             add_pair(d, u, "event", add_str(d, f->event, YAML_PLAIN_SCALAR_STYLE)) &&
             add_pair(d, m, "until", u) &&
             add_pair(d, m, "timeout", add_str(d, t, YAML_PLAIN_SCALAR_STYLE));
    } else if (ok) {
        duration(t, sizeof t, f->delay_ns);
        ok = add_pair(d, m, "delay", add_str(d, t, YAML_PLAIN_SCALAR_STYLE));
    }
    if (ok && f->observe)
        ok = add_pair(d, m, "probability", add_str(d, "0", YAML_PLAIN_SCALAR_STYLE));
    return ok ? m : 0;
}

/* The faults: the file's own, then the variant's. */
static int make_faults(yaml_document_t *src, int id, yaml_document_t *dst,
                       const struct pf_variant *v)
{
    yaml_node_t *n = id ? yaml_document_get_node(src, id) : NULL;
    int s = yaml_document_add_sequence(dst, NULL, YAML_BLOCK_SEQUENCE_STYLE);
    if (n && n->type == YAML_SEQUENCE_NODE)
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             s && it < n->data.sequence.items.top; it++) {
            int c = copy_node(src, *it, dst, 1);
            if (!c || !yaml_document_append_sequence_item(dst, s, c))
                return 0;
        }
    for (size_t i = 0; s && i < v->nfaults; i++) {
        int c = add_fault(dst, &v->faults[i]);
        if (!c || !yaml_document_append_sequence_item(dst, s, c))
            return 0;
    }
    return s;
}

static int write_handler(void *data, unsigned char *buf, size_t size)
{
    int fd = *(int *)data;
    while (size > 0) {
        ssize_t w = write(fd, buf, size);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        buf += w;
        size -= (size_t)w;
    }
    return 1;
}

static int build(yaml_document_t *src, yaml_document_t *dst, const struct pf_variant *v,
                 const char *name)
{
    yaml_node_t *root = yaml_document_get_root_node(src);
    if (!root || root->type != YAML_MAPPING_NODE)
        return 0;
    int m = yaml_document_add_mapping(dst, NULL, YAML_BLOCK_MAPPING_STYLE);
    bool had_faults = false;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
         m && p < root->data.mapping.pairs.top; p++) {
        int k = copy_node(src, p->key, dst, 1), val;
        if (key_is(src, p->key, "name"))
            val = add_str(dst, name, YAML_PLAIN_SCALAR_STYLE);
        else if (key_is(src, p->key, "clients"))
            val = copy_filtered(src, p->value, dst, v->client_on, v->nclients, v->attempts);
        else if (key_is(src, p->key, "accounts"))
            val = copy_filtered(src, p->value, dst, v->account_on, v->naccounts, NULL);
        else if (key_is(src, p->key, "faults")) {
            val = make_faults(src, p->value, dst, v);
            had_faults = true;
        } else
            val = copy_node(src, p->value, dst, 1);
        if (!k || !val || !yaml_document_append_mapping_pair(dst, m, k, val))
            return 0;
    }
    if (m && !had_faults && v->nfaults &&
        !add_pair(dst, m, "faults", make_faults(src, 0, dst, v)))
        return 0;
    return m;
}

int pf_variant_write(const char *src, const struct pf_variant *v, const char *name,
                     const char *header, int fd, char *err, size_t errlen)
{
    FILE *f = fopen(src, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", src, strerror(errno));
        return -1;
    }
    yaml_parser_t parser;
    yaml_document_t in, out;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int rc = -1;
    if (!yaml_parser_load(&parser, &in)) {
        snprintf(err, errlen, "%s: cannot parse it again: %s", src,
                 parser.problem ? parser.problem : "?");
        yaml_parser_delete(&parser);
        fclose(f);
        return -1;
    }
    yaml_parser_delete(&parser);
    fclose(f);
    if (!yaml_document_initialize(&out, NULL, NULL, NULL, 1, 1)) {
        yaml_document_delete(&in);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!build(&in, &out, v, name)) {
        snprintf(err, errlen, "%s: cannot rebuild it as a variant (not a mapping?)", src);
        yaml_document_delete(&in);
        yaml_document_delete(&out);
        return -1;
    }
    yaml_document_delete(&in);
    if (header && write_handler(&fd, (unsigned char *)header, strlen(header)) == 0) {
        yaml_document_delete(&out);
        snprintf(err, errlen, "write: %s", strerror(errno));
        return -1;
    }
    yaml_emitter_t em;
    yaml_emitter_initialize(&em);
    yaml_emitter_set_output(&em, write_handler, &fd);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, 100);
    /* yaml_emitter_dump takes the document (and deletes it) either way. */
    if (!yaml_emitter_open(&em))
        yaml_document_delete(&out);
    else if (yaml_emitter_dump(&em, &out) && yaml_emitter_close(&em) && yaml_emitter_flush(&em))
        rc = 0;
    else
        snprintf(err, errlen, "cannot write the scenario: %s",
                 em.problem ? em.problem : strerror(errno));
    yaml_emitter_delete(&em);
    return rc;
}
