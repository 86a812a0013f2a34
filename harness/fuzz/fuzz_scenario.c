/* fuzz_scenario.c - libFuzzer target for the scenario loader.
 *
 * The loader reads files written by anyone, as root: every input must end
 * in a scenario or a file:line:col error, never a crash, a leak or a hang.
 * Each input is handed over as a file (a memfd, through /proc/self/fd) so
 * that the loader's own file checks run too, then the platform's check.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "run.h"
#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("scenario", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        struct pf_error err;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        struct pf_scenario *sc = pf_scenario_load(path, &err);
        if (sc) {
            const struct pf_backend *be = pf_backend_for(sc->platform);
            if (be && be->check)
                be->check(sc, &err);
            pf_scenario_free(sc);
        }
    }
    close(fd);
    return 0;
}
