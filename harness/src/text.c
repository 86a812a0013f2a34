/* text.c - valid UTF-8 from bytes we do not control (see text.h). */
#include "text.h"

#include <string.h>

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c >= 0x01 && c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

size_t pf_utf8_clean(const char *s, size_t n, char *out, size_t cap)
{
    static const char repl[] = "\xEF\xBF\xBD";
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t len = seq_len(u + i, n - i);
        const char *src = len ? s + i : repl;
        size_t w = len ? len : 3;
        if (o + w >= cap)
            break;
        memcpy(out + o, src, w);
        o += w;
        i += len ? len : 1;
    }
    out[o] = '\0';
    return o;
}

size_t pf_utf8_boundary(const char *s, size_t n, size_t from)
{
    for (int k = 0; k < 3 && from < n && ((unsigned char)s[from] & 0xC0) == 0x80; k++)
        from++;
    return from;
}
