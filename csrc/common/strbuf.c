/*
 * strbuf.c - growable text buffers (see strbuf.h).
 *
 * Owns: growth by doubling, escaping, UTF-8 validity, number formatting,
 * fitting text to a terminal's width, atomic file writes.
 * Must never: abort on allocation failure; it marks the buffer failed.
 */
#include "common/strbuf.h"
#include "common/contract.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

static bool reserve(hm_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *grown = realloc(b->data, cap);
    if (!grown) {
        b->failed = true;
        return false;
    }
    b->data = grown;
    b->cap = cap;
    return true;
}

void hm_buf_putn(hm_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void hm_buf_puts(hm_buf *b, const char *s)
{
    hm_buf_putn(b, s, strlen(s));
}

void hm_buf_printf(hm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        hm_buf_putn(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* The escapes below copy runs of plain characters with one putn: reports
 * escape every label and tooltip, and a call per character was most of a
 * small report's rendering. */

void hm_buf_xml(hm_buf *b, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *escape;
        switch (c) {
        case '&': escape = "&amp;"; break;
        case '<': escape = "&lt;"; break;
        case '>': escape = "&gt;"; break;
        case '"': escape = "&quot;"; break;
        case '\'': escape = "&#39;"; break;
        case '\n': escape = "&#10;"; break;
        default:
            if (c >= 0x20 || c == '\t')
                continue;
            escape = ""; /* other control characters are dropped */
        }
        hm_buf_putn(b, run, (size_t)(s - run));
        hm_buf_puts(b, escape);
        run = s + 1;
    }
    hm_buf_putn(b, run, (size_t)(s - run));
}

void hm_buf_json(hm_buf *b, const char *s)
{
    hm_buf_putn(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\' && c != '<')
            continue;
        hm_buf_putn(b, run, (size_t)(s - run));
        run = s + 1;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            hm_buf_putn(b, esc, 2);
        } else if (c == '<') {
            hm_buf_puts(b, "\\u003c"); /* safe inside an HTML <script> too */
        } else {
            hm_buf_printf(b, "\\u%04x", c);
        }
    }
    hm_buf_putn(b, run, (size_t)(s - run));
    hm_buf_putn(b, "\"", 1);
}

void hm_buf_int(hm_buf *b, int64_t n)
{
    char digits[24];
    char *end = digits + sizeof digits, *d = end;
    uint64_t v = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
    do
        *--d = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    if (n < 0)
        *--d = '-';
    hm_buf_putn(b, d, (size_t)(end - d));
}

void hm_buf_fixed(hm_buf *b, double v, int digits)
{
    static const double scales[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
    if (digits < 1 || digits > 6 || !(v > -9e12 && v < 9e12)) {
        hm_buf_printf(b, "%.*f", digits, v); /* out of range or NaN: printf's problem */
        return;
    }
    int64_t units = llround(v * scales[digits]);
    uint64_t magnitude = units < 0 ? 0 - (uint64_t)units : (uint64_t)units;
    uint64_t scale = (uint64_t)scales[digits];
    if (units < 0)
        hm_buf_putn(b, "-", 1);
    hm_buf_int(b, (int64_t)(magnitude / scale));
    char fraction[8];
    fraction[0] = '.';
    for (int i = digits; i > 0; i--, magnitude /= 10)
        fraction[i] = (char)('0' + magnitude % 10);
    hm_buf_putn(b, fraction, (size_t)digits + 1);
}

void hm_buf_fixed2(hm_buf *b, double v)
{
    hm_buf_fixed(b, v, 2);
}

void hm_buf_base64(hm_buf *b, const char *data, size_t len)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = (const unsigned char *)data;
    char quad[4];
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < len ? (uint32_t)s[i + 1] << 8 : 0) |
                     (i + 2 < len ? s[i + 2] : 0);
        quad[0] = digits[v >> 18];
        quad[1] = digits[(v >> 12) & 63];
        quad[2] = i + 1 < len ? digits[(v >> 6) & 63] : '=';
        quad[3] = i + 2 < len ? digits[v & 63] : '=';
        hm_buf_putn(b, quad, 4);
    }
}

void hm_buf_bytes(hm_buf *b, int64_t n)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)(n < 0 ? -n : n);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    const char *sign = n < 0 ? "-" : "";
    if (u == 0)
        hm_buf_printf(b, "%s%lld B", sign, (long long)(n < 0 ? -n : n));
    else
        hm_buf_printf(b, "%s%.1f %s", sign, v, units[u]);
}

void hm_buf_grouped(hm_buf *b, int64_t n)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", (long long)(n < 0 ? -n : n));
    if (n < 0)
        hm_buf_puts(b, "-");
    size_t len = strlen(digits);
    for (size_t i = 0; i < len; i++) {
        hm_buf_putn(b, &digits[i], 1);
        if ((len - i - 1) % 3 == 0 && i + 1 < len)
            hm_buf_puts(b, ",");
    }
}

static bool continuation(char c)
{
    return ((unsigned char)c & 0xC0) == 0x80;
}

size_t hm_text_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += !continuation(*s);
    return n;
}

/* Byte offset after the first n characters of s. */
static size_t chars_prefix(const char *s, size_t n)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!continuation(s[i]) && n-- == 0)
            break;
    return i;
}

void hm_buf_fit(hm_buf *b, const char *s, size_t width, bool keep_end)
{
    size_t chars = hm_text_width(s);
    if (chars <= width) {
        hm_buf_puts(b, s);
        return;
    }
    /* "..." in three columns: plain ASCII reads everywhere. */
    if (width <= 3) {
        hm_buf_putn(b, "...", width);
        return;
    }
    size_t keep = width - 3;
    if (keep_end) {
        hm_buf_puts(b, "...");
        hm_buf_puts(b, s + chars_prefix(s, chars - keep));
    } else {
        hm_buf_putn(b, s, chars_prefix(s, keep));
        hm_buf_puts(b, "...");
    }
}

/* One line (no newline in it), wrapped. */
static void wrap_line(hm_buf *b, const char *s, size_t n, size_t width, const char *indent)
{
    size_t indent_width = hm_text_width(indent), column = 0;
    const char *end = s + n;
    while (s < end) {
        size_t word = 0;
        while (s + word < end && s[word] != ' ')
            word++;
        size_t word_width = 0;
        for (size_t i = 0; i < word; i++)
            word_width += !continuation(s[i]);
        if (column > 0 && column + 1 + word_width > width) {
            hm_buf_puts(b, "\n");
            hm_buf_puts(b, indent);
            column = indent_width;
        } else if (column > 0) {
            hm_buf_puts(b, " ");
            column++;
        }
        hm_buf_putn(b, s, word);
        column += word_width;
        s += word;
        while (s < end && *s == ' ')
            s++;
    }
}

void hm_buf_wrap(hm_buf *b, const char *s, size_t width, const char *indent)
{
    while (*s) {
        size_t n = strcspn(s, "\n");
        wrap_line(b, s, n, width, indent);
        hm_buf_puts(b, "\n");
        s += n + (s[n] == '\n');
    }
}

void hm_buf_free(hm_buf *b)
{
    free(b->data);
    *b = (hm_buf){0};
}

bool hm_buf_write_file(const hm_buf *b, const char *path, char *err, size_t errlen)
{
    if (b->failed) {
        snprintf(err, errlen, "out of memory while rendering %s", path);
        return false;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s%s", path, hm_series_suffix(HM_SERIES_TEMPORARY));
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return false;
    }
    bool ok = fwrite(b->data ? b->data : "", 1, b->len, f) == b->len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno ? errno : EIO));
        remove(tmp);
        return false;
    }
    return true;
}

/* Length of the valid UTF-8 sequence at s, or 0: no overlong forms, no
 * surrogates, nothing beyond U+10FFFF (RFC 3629's table), and none of the
 * two noncharacters XML refuses. */
size_t hm_utf8_sequence(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xF0 && s[0] <= 0xF4  ? 4
               : s[0] >= 0xE0                ? 3
               : s[0] >= 0xC2 && s[0] < 0xE0 ? 2
                                             : 0;
    unsigned char low = 0x80, high = 0xBF; /* allowed range of the second byte */
    if (s[0] == 0xE0)
        low = 0xA0;
    else if (s[0] == 0xED)
        high = 0x9F;
    else if (s[0] == 0xF0)
        low = 0x90;
    else if (s[0] == 0xF4)
        high = 0x8F;
    if (n && (s[1] < low || s[1] > high))
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (n == 3 && s[0] == 0xEF && s[1] == 0xBF && s[2] >= 0xBE)
        return 0; /* U+FFFE and U+FFFF: valid UTF-8, but not in XML */
    return n;
}

/* A copy that is valid UTF-8 whatever the file holds: a damaged profile must
 * not be able to make a report invalid. */
char *hm_valid_text_copy(const unsigned char *s)
{
    if (!s)
        return strdup("");
    size_t len = strlen((const char *)s);
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = hm_utf8_sequence(s + i);
        if (n == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD */
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        }
    }
    out[o] = '\0';
    return out;
}
