/* backends.c - the table of platforms: the one core file that names them.
 *
 * Everything else in the core reaches a platform through struct pf_backend
 * (run.h), so that adding or changing a platform touches its own folder and
 * this list, nothing more.
 */
#include <stddef.h>

#include "run.h"

extern const struct pf_backend pf_backend_linux;
extern const struct pf_backend pf_backend_win32;

const struct pf_backend *const pf_backends[] = {
    &pf_backend_linux,
    &pf_backend_win32,
    NULL,
};

const struct pf_backend *pf_backend_for(enum pf_platform p)
{
    for (size_t i = 0; pf_backends[i]; i++)
        if (pf_backends[i]->platform == p)
            return pf_backends[i];
    return NULL;
}
