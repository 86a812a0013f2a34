/* report_main.c - `report DIR` alone, for working on the report template
 * without the rest of the harness: builds against harness/src/report.c and
 * the generated template source, and behaves like `pipefault report DIR`.
 *
 *   cmake -DPF_REPORT_DIR=reports -DPF_OUT=/tmp/report_assets.c -P reports/embed.cmake
 *   cc -std=c11 -D_GNU_SOURCE -Iharness/src reports/dev/report_main.c \
 *      harness/src/report.c /tmp/report_assets.c -ljson-c -o /tmp/pf-report
 */
#include <stdio.h>
#include <string.h>
#include "report.h"

int main(int argc, char **argv)
{
    char err[1024];
    if (argc != 3 || strcmp(argv[1], "report") != 0) {
        fprintf(stderr, "usage: %s report DIR\n", argv[0]);
        return 254;
    }
    if (pf_report_write(argv[2], err, sizeof err) != 0) {
        fprintf(stderr, "pipefault: %s\n", err);
        return 1;
    }
    printf("%s/index.html\n", argv[2]);
    return 0;
}
