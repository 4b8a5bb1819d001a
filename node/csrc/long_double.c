/* Redis's INCRBYFLOAT / HINCRBYFLOAT arithmetic: C `long double` (x87 80-bit on x86_64),
 * parsed with strtold and printed with "%.17Lf", as Redis 7.0 does (util.c: string2ld,
 * ld2string with LD_STR_HUMAN). Values cross the FFI boundary as 16 opaque bytes. */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Redis's MAX_LONG_DOUBLE_CHARS: longer input is refused, longer output is empty. */
#define LD_MAX_CHARS (5 * 1024)

/* string2ld: the whole text must parse (an embedded NUL ends it early: refused); no
 * leading space, no NaN, no overflow. */
int slotgate_ld_parse(const char *text, size_t len, unsigned char out[16]) {
    char buf[LD_MAX_CHARS];
    char *end;
    long double value;

    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, text, len);
    buf[len] = '\0';
    errno = 0;
    value = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || end[0] != '\0' || (size_t)(end - buf) != len ||
        (errno == ERANGE &&
         (value == HUGE_VAL || value == -HUGE_VAL || fpclassify(value) == FP_ZERO)) ||
        errno == EINVAL || isnan(value))
        return 0;
    memcpy(out, &value, sizeof(value));
    return 1;
}

/* a + b; returns 0 when the sum is NaN or infinite. */
int slotgate_ld_add(const unsigned char a[16], const unsigned char b[16],
                    unsigned char out[16]) {
    long double x, y, sum;
    memcpy(&x, a, sizeof(x));
    memcpy(&y, b, sizeof(y));
    sum = x + y;
    memcpy(out, &sum, sizeof(sum));
    return !(isnan(sum) || isinf(sum));
}

/* 1 when the value is neither NaN nor infinite. */
int slotgate_ld_is_finite(const unsigned char a[16]) {
    long double x;
    memcpy(&x, a, sizeof(x));
    return !(isnan(x) || isinf(x));
}

/* ld2string(LD_STR_HUMAN) of a finite value: "%.17Lf", trailing zeros after the point
 * dropped, "-0" shown as "0". Writes at most cap bytes, returns the length (0 if the
 * text does not fit, as Redis's buffer overflow path does). */
size_t slotgate_ld_format_human(const unsigned char a[16], char *out, size_t cap) {
    char buf[LD_MAX_CHARS];
    long double x;
    int n;
    size_t len;

    memcpy(&x, a, sizeof(x));
    n = snprintf(buf, sizeof(buf), "%.17Lf", x);
    if (n < 0 || (size_t)n + 1 > sizeof(buf)) return 0;
    len = (size_t)n;
    if (strchr(buf, '.') != NULL) {
        while (buf[len - 1] == '0') len--;
        if (buf[len - 1] == '.') len--;
    }
    if (len == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        len = 1;
    }
    if (len > cap) return 0;
    memcpy(out, buf, len);
    return len;
}
