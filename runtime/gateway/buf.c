/* buf: growable byte buffer with XML and CSV escaping, used to build every reply. */
#include "buf.h"
#include "number.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw_buf_free(gw_buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
  b->oom = 0;
}

void gw_buf_reset(gw_buf *b)
{
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

int gw_buf_reserve(gw_buf *b, size_t extra)
{
  if (b->oom) return -1;
  if (b->len + extra + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) {
    b->oom = 1;
    return -1;
  }
  b->data = p;
  b->cap = cap;
  return 0;
}

void gw_buf_add(gw_buf *b, const char *s, size_t n)
{
  if (gw_buf_reserve(b, n)) return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void gw_buf_puts(gw_buf *b, const char *s)
{
  gw_buf_add(b, s, strlen(s));
}

void gw_buf_printf(gw_buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    gw_buf_add(b, small, (size_t)n);
    return;
  }
  if (gw_buf_reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void gw_buf_int(gw_buf *b, int64_t v)
{
  char tmp[24];
  char *p = tmp + sizeof tmp;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) *--p = '-';
  gw_buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}

void gw_buf_double(gw_buf *b, double v)
{
  if (!isfinite(v)) {
    gw_buf_puts(b, isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
    return;
  }
  char tmp[TT_DOUBLE_TEXT];
  gw_buf_add(b, tmp, tt_double_text(v, tmp));
}

size_t gw_utf8_len(const char *str, size_t i, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  unsigned c = s[i];
  if (c < 0x80) return 1;
  size_t len;
  unsigned lo = 0x80, hi = 0xbf; /* bounds of the second byte */
  if (c >= 0xc2 && c <= 0xdf)
    len = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f; /* no surrogates */
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f; /* nothing past U+10FFFF */
  } else
    return 0;
  if (n - i < len || s[i + 1] < lo || s[i + 1] > hi) return 0;
  for (size_t k = 2; k < len; k++)
    if ((s[i + k] & 0xc0) != 0x80) return 0;
  /* U+FFFE and U+FFFF are UTF-8 but not XML characters. */
  if (c == 0xef && s[i + 1] == 0xbf && s[i + 2] >= 0xbe) return 0;
  return len;
}

size_t gw_utf8_cut(const char *s, size_t n)
{
  /* Back up over at most three continuation bytes to the last lead byte; keep it only if its
   * character is whole. */
  size_t i = n;
  for (int k = 0; k < 4 && i > 0; k++) {
    unsigned char c = (unsigned char)s[i - 1];
    if ((c & 0xc0) != 0x80) {
      if (c >= 0xc0 && gw_utf8_len(s, i - 1, n) == 0) return i - 1;
      return n;
    }
    i--;
  }
  return n;
}

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

void gw_buf_utf8(gw_buf *b, const char *s, size_t n)
{
  size_t start = 0;
  for (size_t i = 0; i < n;) {
    if ((unsigned char)s[i] < 0x80) {
      i++;
      continue;
    }
    size_t len = gw_utf8_len(s, i, n);
    if (len) {
      i += len;
      continue;
    }
    gw_buf_add(b, s + start, i - start);
    gw_buf_puts(b, REPLACEMENT);
    start = ++i;
  }
  gw_buf_add(b, s + start, n - start);
}

void gw_buf_xml(gw_buf *b, const char *s, size_t n)
{
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    const char *rep = NULL;
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '<':
      rep = "&lt;";
      break;
    case '>':
      rep = "&gt;";
      break;
    case '&':
      rep = "&amp;";
      break;
    case '"':
      rep = "&quot;";
      break;
    case '\n':
      rep = "&#10;";
      break;
    case '\r':
      rep = "&#13;";
      break;
    case '\t':
      rep = "&#9;";
      break;
    default:
      /* Control characters are not allowed in XML 1.0 at all: drop them. Bytes that are not
       * UTF-8 would make the whole reply unreadable: each becomes U+FFFD. */
      if (c < 0x20) {
        rep = "";
      } else if (c >= 0x80) {
        size_t len = gw_utf8_len(s, i, n);
        if (len)
          i += len - 1;
        else
          rep = REPLACEMENT;
      }
      break;
    }
    if (rep) {
      gw_buf_add(b, s + start, i - start);
      gw_buf_puts(b, rep);
      start = i + 1;
    }
  }
  gw_buf_add(b, s + start, n - start);
}

void gw_buf_xmls(gw_buf *b, const char *s)
{
  if (s) gw_buf_xml(b, s, strlen(s));
}

static int holds(const char *s, size_t n, const char *what)
{
  size_t wl = strlen(what);
  for (size_t i = 0; wl && i + wl <= n; i++)
    if (memcmp(s + i, what, wl) == 0) return 1;
  return 0;
}

void gw_buf_csv(gw_buf *b, const char *s, size_t n, const char *sep, const char *linesep)
{
  int quote = holds(s, n, sep) || holds(s, n, linesep);
  for (size_t i = 0; i < n && !quote; i++)
    if (s[i] == '"' || s[i] == '\n' || s[i] == '\r') quote = 1;
  if (!quote) {
    gw_buf_add(b, s, n);
    return;
  }
  gw_buf_add(b, "\"", 1);
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"') {
      gw_buf_add(b, s + start, i + 1 - start);
      gw_buf_add(b, "\"", 1);
      start = i + 1;
    }
  }
  gw_buf_add(b, s + start, n - start);
  gw_buf_add(b, "\"", 1);
}

char *gw_buf_take(gw_buf *b, size_t *len)
{
  char *p = b->data;
  if (!p) p = calloc(1, 1);
  if (len) *len = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}
