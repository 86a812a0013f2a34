/* util.c - fatal-on-failure allocation and the JSON getters (util.h). */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Exit code 3: the harness, not the scenario, failed (docs: exit codes). */
static void out_of_memory(size_t n)
{
    fprintf(stderr, "pipefault: out of memory (allocating %zu bytes)\n", n);
    exit(3);
}

void *pf_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *pf_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory(n * size);
    return p;
}

void *pf_xreallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        out_of_memory(SIZE_MAX);
    size_t bytes = n * size;
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q)
        out_of_memory(n * size);
    return q;
}

char *pf_xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        out_of_memory(strlen(s) + 1);
    return p;
}

char *pf_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        out_of_memory(0);
    return s;
}

json_object *pf_json_get(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_is_type(o, json_type_object) &&
           json_object_object_get_ex(o, key, &v) ? v : NULL;
}

const char *pf_json_str(json_object *o, const char *key)
{
    json_object *v = pf_json_get(o, key);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int64_t pf_json_int(json_object *o, const char *key, int64_t dflt)
{
    json_object *v = pf_json_get(o, key);
    return v ? json_object_get_int64(v) : dflt;
}

int pf_wait_child(pid_t pid, int *status)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (status)
        *status = st;
    return 0;
}

void pf_json_add_wait_status(json_object *o, int status)
{
    json_object_object_add(o, "status",
                           WIFEXITED(status) ? json_object_new_int(WEXITSTATUS(status)) : NULL);
    json_object_object_add(o, "signal",
                           WIFSIGNALED(status) ? json_object_new_int(WTERMSIG(status)) : NULL);
}
