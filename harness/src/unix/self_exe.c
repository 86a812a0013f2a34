/* self_exe.c - the running executable's path, as the kernel knows it.
 *
 * /proc/self/exe is resolved by the kernel: absolute, without symlinks and
 * independent of argv[0], PATH and the working directory. helper_dirs.c
 * finds pipefault's fixtures and programs relative to it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../helper_dirs.h"

int pf_self_exe(char *out, size_t n, char *err, size_t errlen)
{
    ssize_t len = readlink("/proc/self/exe", out, n);
    if (len < 0) {
        snprintf(err, errlen, "cannot read /proc/self/exe (is /proc mounted?): %s",
                 strerror(errno));
        return -1;
    }
    if ((size_t)len >= n || len == 0 || out[0] != '/') {
        snprintf(err, errlen, "/proc/self/exe does not give a usable path (%zd bytes)", len);
        return -1;
    }
    out[len] = '\0';
    return 0;
}
