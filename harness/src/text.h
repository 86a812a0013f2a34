/* text.h - valid UTF-8 from bytes we do not control.
 *
 * Servers write anything to stderr; outputs (JSON, XML, HTML) must still be
 * valid UTF-8, and a tail cut at a byte count must not split a character.
 */
#ifndef PF_TEXT_H
#define PF_TEXT_H

#include <stddef.h>

/* Copies s[0..n) into out (size cap) as valid UTF-8: every byte that does
 * not start a well-formed sequence becomes U+FFFD, NUL bytes too; stops
 * before a character that would not fit whole. Returns the length written
 * (out is always NUL-terminated, cap >= 1). */
size_t pf_utf8_clean(const char *s, size_t n, char *out, size_t cap);

/* The first character boundary at or after s + from (skipping at most three
 * continuation bytes), for cutting a tail off text. */
size_t pf_utf8_boundary(const char *s, size_t n, size_t from);

#endif
