/* scenario_values.c - parsing the scalar values of a scenario file.
 *
 * Strict on purpose: a value is either exactly one of the documented forms
 * or an error with a reason. Nothing is trimmed, rounded or clamped, so a
 * typo can never turn into a plausible number. Integer arithmetic only for
 * durations, so "1.5ms" is exactly 1500000ns on every platform.
 */
#include "scenario_values.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Reads decimal digits into *out; false on overflow past limit. */
static bool read_digits(const char **sp, uint64_t limit, uint64_t *out,
                        size_t *ndigits)
{
    const char *s = *sp;
    uint64_t v = 0;
    size_t n = 0;
    for (; is_digit(*s); s++, n++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *sp = s;
    *out = v;
    *ndigits = n;
    return true;
}

const char *pf_duration_parse(const char *s, int64_t *ns)
{
    static const struct { const char *unit; uint64_t mult; } units[] = {
        {"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000},
    };
    const char *syntax = "expected a number and a unit: ns, us, ms or s "
                         "(e.g. 10ms, 1.5s)";
    if (*s == '-')
        return "durations cannot be negative";
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return NULL;
    }
    uint64_t whole, frac = 0;
    size_t nwhole, nfrac = 0;
    if (!read_digits(&s, INT64_MAX, &whole, &nwhole))
        return "too large";
    if (nwhole == 0)
        return syntax;
    if (*s == '.') {
        s++;
        if (!read_digits(&s, 999999999, &frac, &nfrac) || nfrac > 9)
            return "more than 9 decimal places";
        if (nfrac == 0)
            return syntax;
    }
    uint64_t mult = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(s, units[i].unit) == 0)
            mult = units[i].mult;
    if (mult == 0)
        return syntax;
    if (whole > (uint64_t)INT64_MAX / mult)
        return "too large";
    uint64_t pow10 = 1;
    for (size_t i = 0; i < nfrac; i++)
        pow10 *= 10;
    /* frac < 10^9 and mult <= 10^9: the product fits in 64 bits. */
    uint64_t frac_scaled = frac * mult;
    if (frac_scaled % pow10 != 0)
        return "finer than one nanosecond";
    uint64_t total = whole * mult;
    uint64_t extra = frac_scaled / pow10;
    if (total > (uint64_t)INT64_MAX - extra)
        return "too large";
    *ns = (int64_t)(total + extra);
    return NULL;
}

const char *pf_octal_parse(const char *s, int max, int *out)
{
    if (*s == '\0')
        return "expected an octal number";
    if (*s == '-')
        return "cannot be negative";
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '8' || *p == '9')
            return "8 and 9 are not octal digits";
        if (*p < '0' || *p > '7')
            return "expected octal digits only (e.g. \"0660\")";
        v = v * 8 + (*p - '0');
        if (v > max)
            return max == 0777 ? "greater than 0777" : "greater than 07777";
    }
    *out = (int)v;
    return NULL;
}

const char *pf_count_parse(const char *s, long lo, long hi, long *out)
{
    if (*s == '-')
        return "must be positive";
    uint64_t v;
    size_t n;
    const char *p = s;
    if (!read_digits(&p, INT64_MAX, &v, &n))
        return "too large";
    if (n == 0 || *p != '\0')
        return "expected a whole number";
    if (v < (uint64_t)lo)
        return lo == 1 ? "must be at least 1" : "too small";
    if (v > (uint64_t)hi)
        return "too large";
    *out = (long)v;
    return NULL;
}

const char *pf_probability_parse(const char *s, double *out)
{
    const char *bad = "expected a number from 0 to 1";
    /* strtod also takes "inf", "nan" and hex floats: allow plain forms only. */
    if (*s == '\0' || strspn(s, "0123456789.eE+-") != strlen(s))
        return bad;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || errno != 0 || !isfinite(v))
        return bad;
    if (v < 0 || v > 1)
        return "must be between 0 and 1";
    *out = v;
    return NULL;
}

const char *pf_when_parse(const char *s, long *first, long *step,
                          bool *onwards)
{
    const char *syntax = "expected \"N\", \"N+\" or \"N+S\" (e.g. \"1\", "
                         "\"2+\", \"1+3\")";
    const uint64_t limit = 1000000000;
    uint64_t n, k = 0;
    size_t nd, kd = 0;
    if (!read_digits(&s, limit, &n, &nd))
        return "too large";
    if (nd == 0)
        return syntax;
    bool plus = false;
    if (*s == '+') {
        plus = true;
        s++;
        if (!read_digits(&s, limit, &k, &kd))
            return "too large";
    }
    if (*s != '\0')
        return syntax;
    if (n < 1)
        return "occurrences count from 1";
    if (kd > 0 && k < 1)
        return "the step must be at least 1";
    /* The struct's reading (scenario.h): onwards only for "N+"; a step
     * only for "N+S" ("N+" is also step 1, the same occurrences). */
    *first = (long)n;
    *onwards = plus && kd == 0;
    *step = !plus ? 0 : kd > 0 ? (long)k : 1;
    return NULL;
}

bool pf_name_valid(const char *s)
{
    if (*s == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789._-") == strlen(s);
}

bool pf_account_name_valid(const char *s)
{
    return *s != '\0' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(s);
}

struct errno_entry { const char *name; int value; };

/* The errors a fault can plausibly inject into endpoint operations. */
static const struct errno_entry linux_errnos[] = {
    {"EPERM", EPERM},           {"ENOENT", ENOENT},
    {"EINTR", EINTR},           {"EIO", EIO},
    {"ENXIO", ENXIO},           {"EBADF", EBADF},
    {"EAGAIN", EAGAIN},         {"ENOMEM", ENOMEM},
    {"EACCES", EACCES},         {"EBUSY", EBUSY},
    {"EEXIST", EEXIST},         {"ENOTDIR", ENOTDIR},
    {"EISDIR", EISDIR},         {"EINVAL", EINVAL},
    {"ENFILE", ENFILE},         {"EMFILE", EMFILE},
    {"ENOSPC", ENOSPC},         {"EROFS", EROFS},
    {"EPIPE", EPIPE},           {"ENAMETOOLONG", ENAMETOOLONG},
    {"ELOOP", ELOOP},           {"ENOTSOCK", ENOTSOCK},
    {"EADDRINUSE", EADDRINUSE}, {"EADDRNOTAVAIL", EADDRNOTAVAIL},
    {"ENOBUFS", ENOBUFS},       {"ECONNABORTED", ECONNABORTED},
    {"ECONNRESET", ECONNRESET}, {"ETIMEDOUT", ETIMEDOUT},
    {"ECONNREFUSED", ECONNREFUSED}, {"EPROTO", EPROTO},
    {NULL, 0},
};

/* Values from winerror.h; fixed by the Win32 ABI, so spelled out here. */
static const struct errno_entry win32_errors[] = {
    {"ERROR_FILE_NOT_FOUND", 2},      {"ERROR_ACCESS_DENIED", 5},
    {"ERROR_INVALID_HANDLE", 6},      {"ERROR_NOT_ENOUGH_MEMORY", 8},
    {"ERROR_INVALID_PARAMETER", 87},  {"ERROR_BROKEN_PIPE", 109},
    {"ERROR_SEM_TIMEOUT", 121},       {"ERROR_ALREADY_EXISTS", 183},
    {"ERROR_BAD_PIPE", 230},          {"ERROR_PIPE_BUSY", 231},
    {"ERROR_NO_DATA", 232},           {"ERROR_PIPE_NOT_CONNECTED", 233},
    {"ERROR_PIPE_CONNECTED", 535},
    {NULL, 0},
};

static const struct errno_entry *errno_table(enum pf_platform p)
{
    return p == PF_PLATFORM_WIN32 ? win32_errors : linux_errnos;
}

bool pf_errno_lookup(enum pf_platform p, const char *name, int *value)
{
    for (const struct errno_entry *e = errno_table(p); e->name; e++)
        if (strcmp(e->name, name) == 0) {
            *value = e->value;
            return true;
        }
    return false;
}

const char *pf_errno_name(enum pf_platform p, int value)
{
    for (const struct errno_entry *e = errno_table(p); e->name; e++)
        if (e->value == value)
            return e->name;
    return NULL;
}

const char *pf_errno_closest(enum pf_platform p, const char *name)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (const struct errno_entry *e = errno_table(p); e->name; e++) {
        size_t d = pf_edit_distance(name, e->name, 2);
        if (d < best_d) {
            best_d = d;
            best = e->name;
        }
    }
    return best;
}

size_t pf_edit_distance(const char *a, const char *b, size_t max)
{
    enum { LIMIT = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la > LIMIT || lb > LIMIT)
        return max + 1;
    if ((la > lb ? la - lb : lb - la) > max)
        return max + 1;
    size_t prev[LIMIT + 1], cur[LIMIT + 1];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof prev);
    }
    return prev[lb] > max ? max + 1 : prev[lb];
}

const char *pf_closest(const char *s, const char *const *choices)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (; *choices; choices++) {
        size_t d = pf_edit_distance(s, *choices, 2);
        if (d < best_d) {
            best_d = d;
            best = *choices;
        }
    }
    return best;
}
