/* scenario_load.h - internals shared by the files of the scenario loader.
 *
 * scenario_node.c: the node access layer, typed getters over libyaml's
 *   document API that check a node and write the "file:line:col: message"
 *   error, plus the cross-reference checks (declared accounts, groups).
 * scenario.c: the sections of a scenario, loading and freeing.
 * scenario_faults.c: the `faults:` section and the fault names.
 * scenario_values.c: the scalar values (durations, modes, errnos, when).
 * scenario_server.c: who the server runs as, its environment, `files:`.
 *
 * Getters return true/non-NULL on success; on failure the error is written
 * and the whole load stops, so callers just chain them with && and ||.
 */
#ifndef PF_SCENARIO_LOAD_H
#define PF_SCENARIO_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>
#include "scenario.h"

#define SCN_MILLI_NS INT64_C(1000000)
#define SCN_SECOND_NS INT64_C(1000000000)
/* The longest duration a scenario may give anywhere: 24 hours. */
#define SCN_MAX_DURATION_NS (INT64_C(86400) * SCN_SECOND_NS)

struct scn_loader {
    const char *file;       /* as given to pf_scenario_load */
    yaml_document_t *doc;
    struct pf_error *err;
};

/* Writes "file:line:col: message" at node `at`; always returns false. */
bool scn_fail(struct scn_loader *ld, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A node's position, 1-based, for the struct. */
struct pf_mark scn_mark(const yaml_node_t *n);

/* Node shape. A null (`key:` with nothing, `~`) is of no type. */
const char *scn_text(const yaml_node_t *scalar);
const char *scn_kind_of(const yaml_node_t *n);     /* "a mapping", ... */
bool scn_is_type(const yaml_node_t *n, yaml_node_type_t t);
bool scn_want(struct scn_loader *ld, const yaml_node_t *n, yaml_node_type_t t,
              const char *key);
bool scn_want_item(struct scn_loader *ld, const yaml_node_t *n,
                   yaml_node_type_t t, const char *seq_key);
size_t scn_seq_len(const yaml_node_t *seq);
yaml_node_t *scn_seq_at(struct scn_loader *ld, const yaml_node_t *seq, size_t i);
/* " (did you mean 'x'?)" in buf when near is not NULL, else "". */
const char *scn_hint(char *buf, size_t size, const char *near);
/* names[i] of a NULL-terminated table, or "?" outside it. */
const char *scn_name_at(const char *const *names, int i);

/* Mappings: check every key once (unknown, duplicate), then look up. */
bool scn_check_keys(struct scn_loader *ld, const yaml_node_t *map,
                    const char *section, const char *const *keys);
yaml_node_t *scn_find(struct scn_loader *ld, const yaml_node_t *map,
                      const char *key, yaml_node_t **keynode);
yaml_node_t *scn_field(struct scn_loader *ld, const yaml_node_t *map,
                       const char *key);
/* Reports a missing field at the mapping that should hold it. */
yaml_node_t *scn_required(struct scn_loader *ld, const yaml_node_t *map,
                          const char *key, const char *section);

/* Typed values; `key` names the field in messages. */
const char *scn_get_scalar(struct scn_loader *ld, const yaml_node_t *v,
                           const char *key);
bool scn_dup_into(struct scn_loader *ld, const yaml_node_t *at, const char *s,
                  char **out);
bool scn_get_string(struct scn_loader *ld, const yaml_node_t *v,
                    const char *key, char **out);
bool scn_get_string_list(struct scn_loader *ld, const yaml_node_t *v,
                         const char *key, char ***out, size_t *n);
bool scn_get_name(struct scn_loader *ld, const yaml_node_t *v, const char *key,
                  char **out);
bool scn_check_short_name(struct scn_loader *ld, const yaml_node_t *at,
                          const char *what, const char *s);
bool scn_get_enum(struct scn_loader *ld, const yaml_node_t *v, const char *key,
                  const char *noun, const char *const *names, int *out);
bool scn_get_bool(struct scn_loader *ld, const yaml_node_t *v, const char *key,
                  bool *out);
bool scn_get_duration(struct scn_loader *ld, const yaml_node_t *v,
                      const char *key, bool positive, int64_t *out);
bool scn_get_octal(struct scn_loader *ld, const yaml_node_t *v, const char *key,
                   int max, int *out);
bool scn_get_count(struct scn_loader *ld, const yaml_node_t *v, const char *key,
                   long lo, long hi, int *out);

/* Cross references to what the scenario declares. */
bool scn_has_group(const struct pf_scenario *sc, const char *name);
bool scn_has_client(const struct pf_scenario *sc, const char *account);
bool scn_check_group_ref(struct scn_loader *ld, const struct pf_scenario *sc,
                         const yaml_node_t *at, const char *what, const char *g);
bool scn_check_account_ref(struct scn_loader *ld, const struct pf_scenario *sc,
                           const yaml_node_t *at, const char *what,
                           const char *a);
/* An account some client connects as (something waits for its connects). */
bool scn_check_client_account_ref(struct scn_loader *ld,
                                  const struct pf_scenario *sc,
                                  const yaml_node_t *at, const char *what,
                                  const char *a);

/* Placeholders in a value (pf_placeholders_check), the error at `at`. */
bool scn_check_placeholders(struct scn_loader *ld, const yaml_node_t *at,
                            const struct pf_scenario *sc, const char *s);
/* server.user/group/groups/env/cwd and the `files:` section
 * (scenario_server.c); they run after groups and accounts. */
bool scn_load_server_identity(struct scn_loader *ld, const yaml_node_t *server,
                              struct pf_scenario *sc);
bool scn_load_files(struct scn_loader *ld, const yaml_node_t *root,
                    struct pf_scenario *sc);
void scn_free_server_identity(struct pf_scenario *sc);

/* The `faults:` section (scenario_faults.c); runs after accounts, clients. */
bool scn_load_faults(struct scn_loader *ld, const yaml_node_t *root,
                     struct pf_scenario *sc);

/* The `attackers:` section and endpoint.dir_mode (scenario_attackers.c);
 * attackers run after faults (an in-gap squat adds its own hold). */
bool scn_load_attackers(struct scn_loader *ld, const yaml_node_t *root,
                        struct pf_scenario *sc);
bool scn_load_dir_mode(struct scn_loader *ld, const yaml_node_t *endpoint,
                       struct pf_scenario *sc);
/* Expectations that need an attacker; checked once attackers are read. */
bool scn_check_attack_expect(struct scn_loader *ld, const yaml_node_t *root,
                             const struct pf_scenario *sc);

#endif
