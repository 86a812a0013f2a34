/* events.h - the run's history: one JSON Lines trace per scenario.
 *
 * Every observation (an instance born, a permission change, a client attempt,
 * a fault fired) becomes one event, appended and flushed at once so that a
 * harness that dies still leaves the history it saw. The checker reads the
 * trace back; it never looks at live state. Format: docs/trace.md.
 */
#ifndef PF_EVENTS_H
#define PF_EVENTS_H

#include <stdint.h>
#include <stdio.h>
#include <json-c/json.h>

struct pf_trace {
    FILE *fp;
    int64_t start_ns;   /* CLOCK_MONOTONIC at scenario start */
    long count;
    int write_errno;    /* first failed write (0: none): the history is incomplete */
};

/* Absolute CLOCK_MONOTONIC in ns. */
int64_t pf_clock_ns(void);

/* a + b for clock readings and scenario durations (both >= 0 in practice),
 * saturating at INT64_MAX instead of overflowing. */
static inline int64_t pf_ns_add_sat(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

/* Creates (truncates) path, never through a symlink. */
int pf_trace_open(struct pf_trace *t, const char *path);
/* The same on a file already created (pf_store_create); takes the fd. */
int pf_trace_open_fd(struct pf_trace *t, int fd);
void pf_trace_close(struct pf_trace *t);

/* Nanoseconds since the scenario started. */
int64_t pf_trace_now(const struct pf_trace *t);

/* Appends {"t":..., "ev":ev, "src":src, ...fields}. Takes ownership of
 * fields (may be NULL). t_ns < 0 means "now". */
void pf_trace_emit_at(struct pf_trace *t, int64_t t_ns, const char *src,
                      const char *ev, json_object *fields);
void pf_trace_emit(struct pf_trace *t, const char *src, const char *ev,
                   json_object *fields);

/* Reads a whole trace into an array of events; NULL on error. */
json_object *pf_trace_read(const char *path);
/* The same from an fd opened for reading; takes the fd. */
json_object *pf_trace_read_fd(int fd);

#endif
