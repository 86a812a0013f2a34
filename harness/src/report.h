/* report.h - the HTML report of a run (index.html in the output directory).
 *
 * The report is one self-contained page: the template (reports/report.html
 * with its JS and CSS, embedded in the binary at build time) plus the run's
 * data, read back from results.json and each scenario's trace. It is written
 * by `pipefault run` at the end of a run and rewritten by `pipefault report
 * DIR`, so it can always be regenerated from what the run left on disk.
 */
#ifndef PF_REPORT_H
#define PF_REPORT_H

#include <stddef.h>
#include <json-c/json.h>

/* Reads outdir/results.json (docs/results.md) and the traces it names
 * (docs/trace.md), and writes outdir/index.html atomically (a temporary file
 * renamed into place). A scenario whose trace is missing or damaged still
 * gets its section, with a note saying what was wrong with the trace.
 * Returns 0, or -1 with a message naming the file in err. */
int pf_report_write(const char *outdir, char *err, size_t errlen);
/* The same in the directory dirfd (outdir names it in messages). Every file
 * is read beneath dirfd with no symlink followed, and index.html is a new
 * file renamed over the old one (store.c). */
int pf_report_write_at(int dirfd, const char *outdir, char *err, size_t errlen);

/* Reads and checks dirfd's results.json (a JSON object with a "scenarios"
 * array of objects), beneath dirfd with no symlink followed: for `report`,
 * `merge` and --durations. NULL with a message naming the file in err. */
json_object *pf_results_read_at(int dirfd, const char *outdir, char *err, size_t errlen);

#endif
