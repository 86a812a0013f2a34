/* events.c - the JSON Lines trace writer and reader.
 *
 * Each event is written and flushed as one line, so a harness killed in the
 * middle of a scenario leaves a readable prefix of the history.
 */
#include "events.h"

#include "text.h"
#include "trace_names.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t pf_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int pf_trace_open(struct pf_trace *t, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    return fd < 0 ? -1 : pf_trace_open_fd(t, fd);
}

int pf_trace_open_fd(struct pf_trace *t, int fd)
{
    t->fp = fdopen(fd, "w");
    if (!t->fp) {
        close(fd);
        return -1;
    }
    t->start_ns = pf_clock_ns();
    t->count = 0;
    t->write_errno = 0;
    return 0;
}

void pf_trace_close(struct pf_trace *t)
{
    if (t->fp && fclose(t->fp) != 0 && !t->write_errno)
        t->write_errno = errno ? errno : EIO;
    t->fp = NULL;
}

int64_t pf_trace_now(const struct pf_trace *t)
{
    return pf_clock_ns() - t->start_ns;
}

/* Strings in events come from servers, clients and the agent: each one is
 * made valid UTF-8 (text.c) before it reaches the trace. */
static void clean_strings(json_object *o)
{
    if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, key, val) {
            (void)key;
            clean_strings(val);
        }
    } else if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++)
            clean_strings(json_object_array_get_idx(o, i));
    } else if (json_object_is_type(o, json_type_string)) {
        const char *s = json_object_get_string(o);
        size_t n = (size_t)json_object_get_string_len(o);
        char *clean = pf_xmalloc(n * 3 + 1);
        size_t m = pf_utf8_clean(s, n, clean, n * 3 + 1);
        if (m != n || memcmp(clean, s, n))
            json_object_set_string_len(o, clean, (int)m);
        free(clean);
    }
}

void pf_trace_emit_at(struct pf_trace *t, int64_t t_ns, const char *src,
                      const char *ev, json_object *fields)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, PF_F_T, json_object_new_int64(t_ns < 0 ? pf_trace_now(t) : t_ns));
    json_object_object_add(o, PF_F_EV, json_object_new_string(ev));
    json_object_object_add(o, PF_F_SRC, json_object_new_string(src));
    if (fields) {
        clean_strings(fields);
        json_object_object_foreach(fields, key, val) {
            json_object_object_add(o, key, json_object_get(val));
        }
        json_object_put(fields);
    }
    /* A lost event would silently shorten the history the checker judges:
     * the first failure is kept, and the core turns it into a harness error. */
    if (t->fp && !t->write_errno) {
        errno = 0;
        if (fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), t->fp) < 0 ||
            fputc('\n', t->fp) == EOF || fflush(t->fp) != 0)
            t->write_errno = errno ? errno : EIO;
    }
    t->count++;
    json_object_put(o);
}

void pf_trace_emit(struct pf_trace *t, const char *src, const char *ev,
                   json_object *fields)
{
    pf_trace_emit_at(t, -1, src, ev, fields);
}

json_object *pf_trace_read(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    return fd < 0 ? NULL : pf_trace_read_fd(fd);
}

json_object *pf_trace_read_fd(int fd)
{
    FILE *fp = fdopen(fd, "r");
    if (!fp) {
        close(fd);
        return NULL;
    }
    json_object *arr = json_object_new_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, fp)) > 0) {
        if (n == 1 && line[0] == '\n')
            continue;
        json_object *ev = json_tokener_parse(line);
        if (!ev || !json_object_is_type(ev, json_type_object)) {
            /* A torn last line (harness killed mid-write) ends the history;
             * anything else unreadable is corruption. */
            json_object_put(ev);
            if (feof(fp) || line[n - 1] != '\n')
                break;
            json_object_put(arr);
            arr = NULL;
            errno = EINVAL;
            break;
        }
        json_object_array_add(arr, ev);
    }
    free(line);
    fclose(fp);
    return arr;
}
