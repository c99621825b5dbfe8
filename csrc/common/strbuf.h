/*
 * strbuf.h - growable text buffers for reports.
 *
 * Owns: building report text in memory, escaping for XML and JSON, making
 * text valid UTF-8, and human-readable byte counts.
 * Must never: be used inside a profiled process's hooks (ordinary heap).
 */
#ifndef HM_STRBUF_H
#define HM_STRBUF_H

#include "common/common.h"

typedef struct {
    char *data;
    size_t len, cap;
    bool failed; /* an allocation failed; contents are incomplete */
} hm_buf;

void hm_buf_puts(hm_buf *b, const char *s);
void hm_buf_putn(hm_buf *b, const char *s, size_t n);
void hm_buf_printf(hm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hm_buf_xml(hm_buf *b, const char *s);  /* & < > " ' escaped, control chars dropped */
void hm_buf_json(hm_buf *b, const char *s); /* a quoted JSON string */
void hm_buf_base64(hm_buf *b, const char *data, size_t len);
void hm_buf_bytes(hm_buf *b, int64_t n);   /* "1.5 MiB", "812 B" */
void hm_buf_grouped(hm_buf *b, int64_t n); /* "12,345,678" */
void hm_buf_int(hm_buf *b, int64_t n);     /* "-12345678": printf's %lld, without printf */
void hm_buf_fixed2(hm_buf *b, double v);   /* "12.35": %.2f for coordinates (halves away from 0) */
/* %.Nf for N of 1 to 6, without printf (halves away from 0): a report's
 * many times and percentages. */
void hm_buf_fixed(hm_buf *b, double v, int digits);
/* Terminal columns of UTF-8 text, one per character. */
size_t hm_text_width(const char *s);
/* s in at most width columns: cut at the end ("..."), or with keep_end at
 * the start, keeping its end (a path's file name). */
void hm_buf_fit(hm_buf *b, const char *s, size_t width, bool keep_end);
/* Each line of s word-wrapped to width columns and ended with a newline;
 * continuation lines start with indent. */
void hm_buf_wrap(hm_buf *b, const char *s, size_t width, const char *indent);
/* Length of the valid UTF-8 sequence at s, or 0 (RFC 3629: no overlong
 * forms, no surrogates, nothing beyond U+10FFFF; nor U+FFFE, U+FFFF). */
size_t hm_utf8_sequence(const unsigned char *s);
/* A malloc'd copy of s ("" for NULL) with every invalid byte replaced by
 * U+FFFD, whatever a damaged profile holds; NULL when out of memory. */
char *hm_valid_text_copy(const unsigned char *s);
void hm_buf_free(hm_buf *b);
/* Writes the buffer to path (via a temporary file and rename). */
bool hm_buf_write_file(const hm_buf *b, const char *path, char *err, size_t errlen);

#endif
