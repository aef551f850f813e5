/* buf: a growable byte buffer for building replies, with XML and CSV escaping. */
#ifndef GW_BUF_H
#define GW_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_buf {
  char *data; /* always NUL-terminated when non-NULL */
  size_t len;
  size_t cap;
  int oom; /* an allocation failed; the buffer content is incomplete */
} gw_buf;

void gw_buf_free(gw_buf *b);
void gw_buf_reset(gw_buf *b); /* len = 0, keeps memory */
int gw_buf_reserve(gw_buf *b, size_t extra);
void gw_buf_add(gw_buf *b, const char *s, size_t n);
void gw_buf_puts(gw_buf *b, const char *s);
void gw_buf_printf(gw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gw_buf_int(gw_buf *b, int64_t v);
void gw_buf_double(gw_buf *b, double v); /* shortest form that reads back the same */
/* Escape for text and attribute values; bytes that are not UTF-8 become U+FFFD. */
void gw_buf_xml(gw_buf *b, const char *s, size_t n);
void gw_buf_xmls(gw_buf *b, const char *s); /* same, NUL-terminated; NULL adds nothing */
/* Append s with every byte that does not start a whole UTF-8 character replaced by U+FFFD. */
void gw_buf_utf8(gw_buf *b, const char *s, size_t n);
/* The length of the UTF-8 character at s[i] (1-4), or 0 when the bytes there are not one (or
 * are U+FFFE/U+FFFF, which XML forbids). n is the length of s. */
size_t gw_utf8_len(const char *s, size_t i, size_t n);
/* n, or less so that s[0..result) does not end in part of a character. */
size_t gw_utf8_cut(const char *s, size_t n);
/* A CSV field (RFC 4180): quoted when it holds sep, linesep, a quote, CR or LF. */
void gw_buf_csv(gw_buf *b, const char *s, size_t n, const char *sep, const char *linesep);
/* Hand the bytes over to the caller (who frees them); the buffer is empty afterwards. */
char *gw_buf_take(gw_buf *b, size_t *len);

#endif
