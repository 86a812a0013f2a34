/* probe.c - the platform probe: probe.exe measures the default pipe SD and
 * normalises the intended SDDL; this emits them as the `platform` event.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include "../util.h"
#include "win_run.h"
#include "../trace_names.h"

/* Runs probe.exe and emits the `platform` event. */
enum pf_run_status win_probe(struct win_run *wr)
{
    struct pf_run *run = wr->run;
    char exe[PATH_MAX];
    snprintf(exe, sizeof exe, "%s/probe.exe", wr->dir);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(run->error, sizeof run->error, "pipe: %s", strerror(errno));
        return PF_RUN_HARNESS;
    }
    char *argv[] = {exe, wr->sc->intended.sddl, NULL};
    pid_t pid = pf_wine_spawn(wr->wine, argv, NULL, -1, p[1], STDERR_FILENO);
    close(p[1]);
    char out[16384];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof out - 1 && (n = read(p[0], out + len, sizeof out - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        len += (size_t)n;
    }
    out[len] = '\0';
    close(p[0]);
    int st = 0;
    if (pid > 0)
        pf_wait_child(pid, &st);
    json_object *pr = pid > 0 ? json_tokener_parse(out) : NULL;
    if (!pr || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        json_object_put(pr);
        snprintf(run->error, sizeof run->error,
                 "the Win32 probe failed (exit %d): cannot measure the default pipe SD",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return PF_RUN_HARNESS;
    }
    json_object *intended = NULL;
    json_object_object_get_ex(pr, PF_F_INTENDED, &intended);
    if (intended && pf_json_str(intended, "error")) {
        snprintf(run->error, sizeof run->error, "%s: intended.sddl: %s", wr->sc->file,
                 pf_json_str(intended, "error"));
        json_object_put(pr);
        return PF_RUN_BROKE;
    }
    json_object *f = json_object_new_object();
    json_object_object_foreach(pr, key, val) {
        if (strcmp(key, "ev") && strcmp(key, "qpc_ns"))
            json_object_object_add(f, key, json_object_get(val));
    }
    json_object_object_add(f, PF_F_WINE, json_object_new_string(wr->wine->version));
    json_object_object_add(f, PF_F_ENDPOINT, json_object_new_string(wr->plan.endpoint));
    json_object_object_add(f, PF_F_ENDPOINT_KIND, json_object_new_string("npipe"));
    json_object_object_add(f, PF_F_CLOCK, json_object_new_string(
        "QueryPerformanceCounter = CLOCK_MONOTONIC_RAW, checked per program"));
    json_object_object_add(f, PF_F_PREFIX_START_MS,
                           json_object_new_int64(wr->wine->first_start_ns / 1000000));
    win_trace_event(wr, PF_EV_PLATFORM, f);
    json_object_put(pr);
    return PF_RUN_OK;
}
