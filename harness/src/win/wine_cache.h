/* wine_cache.h - an initialised Wine prefix kept between runs.
 *
 * Creating a prefix costs Wine about 10 s (seconds more on a busy machine);
 * copying one costs a fraction of that. The cache keeps one prefix per Wine
 * version in <cache>/wine-<hash of `wine --version`>/, with a stamp listing
 * every entry it holds (size, mtime, and a content hash for the files that
 * are copied); each session's prefix is filled from it, checking every file
 * against the stamp on the way. Anything that does not match (a file
 * changed, missing or added to the list, a truncated stamp, another version)
 * makes the entry stale: it is removed and built again, never used.
 *
 * <cache> is $PIPEFAULT_CACHE_DIR, else /var/cache/pipefault for root, else
 * $XDG_CACHE_HOME/pipefault (or ~/.cache/pipefault). It is the caller's
 * alone (0700), reached one component at a time without following links.
 * Concurrent runs share it: fills hold a shared lock on <cache>/.lock, a
 * rebuild an exclusive one; a new entry is built under a temporary name and
 * renamed into place.
 */
#ifndef PF_WIN_WINE_CACHE_H
#define PF_WIN_WINE_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "wine.h"

/* Fills the new, empty directory `prefix` of the session directory sfd
 * (w->prefix names it) from the cache, building the cache entry first when
 * it is missing or stale (*built says so). 0, or -1 with err (then the
 * caller creates the prefix the slow way). */
int pf_wine_cache_fill(struct pf_wine *w, int sfd, bool *built, char *err, size_t errlen);

/* `pipefault clean --cache`: removes every entry. 0 or -1 (said on stderr). */
int pf_wine_cache_clean(void);

#endif
