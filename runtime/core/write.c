/* write: TSV, CSV (RFC 4180) and JSON lines from a page, through a private 64 KB buffer so a
 * cell costs a memcpy rather than a stdio call. */
#include "write.h"

#include "err.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct out {
  FILE *f;
  size_t len;
  uint64_t total;
  int failed;
  char buf[1 << 16];
} out;

static void flush(out *o)
{
  if (o->len && !o->failed) {
    errno = 0; /* a short fwrite may leave errno alone: never report a stale one */
    size_t n = fwrite(o->buf, 1, o->len, o->f);
    o->total += n;
    if (n != o->len) o->failed = errno ? errno : EIO;
  }
  o->len = 0;
}

static void put(out *o, const char *s, size_t n)
{
  if (n > sizeof o->buf - o->len) {
    flush(o);
    if (n > sizeof o->buf) {
      errno = 0;
      size_t w = o->failed ? 0 : fwrite(s, 1, n, o->f);
      o->total += w;
      if (w != n && !o->failed) o->failed = errno ? errno : EIO;
      return;
    }
  }
  memcpy(o->buf + o->len, s, n);
  o->len += n;
}

static void putch(out *o, char c)
{
  if (o->len == sizeof o->buf) flush(o);
  o->buf[o->len++] = c;
}

int tt_write_format(const char *name)
{
  if (strcmp(name, "tsv") == 0) return TT_WRITE_TSV;
  if (strcmp(name, "csv") == 0) return TT_WRITE_CSV;
  if (strcmp(name, "jsonl") == 0) return TT_WRITE_JSONL;
  return -1;
}

/* ---- text cells ----------------------------------------------------------------------------- */

/* TSV: backslash escapes for the four bytes that would break a line or a field. */
static void put_tsv(out *o, const char *s, size_t n)
{
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    const char *rep;
    switch (s[i]) {
    case '\t':
      rep = "\\t";
      break;
    case '\n':
      rep = "\\n";
      break;
    case '\r':
      rep = "\\r";
      break;
    case '\\':
      rep = "\\\\";
      break;
    default:
      continue;
    }
    put(o, s + start, i - start);
    put(o, rep, 2);
    start = i + 1;
  }
  put(o, s + start, n - start);
}

/* CSV: quote a field holding a comma, a quote, CR or LF; double the quotes inside. */
static void put_csv(out *o, const char *s, size_t n)
{
  size_t i = 0;
  while (i < n && s[i] != ',' && s[i] != '"' && s[i] != '\n' && s[i] != '\r') i++;
  if (i == n) {
    put(o, s, n);
    return;
  }
  putch(o, '"');
  size_t start = 0;
  for (i = 0; i < n; i++) {
    if (s[i] == '"') {
      put(o, s + start, i + 1 - start);
      putch(o, '"');
      start = i + 1;
    }
  }
  put(o, s + start, n - start);
  putch(o, '"');
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when the byte at s does not
 * start one: overlong forms, surrogates and code points above U+10FFFF are invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
  unsigned c = s[0];
  size_t len;
  unsigned min;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (n < len) return 0;
  unsigned cp = c & (0x3f >> (len - 1));
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

/* JSON string. A byte that is not part of valid UTF-8 becomes U+FFFD, so the output is always
 * valid UTF-8 (libxml2 already rejects such replies; this guards set_columns names too). */
static void put_json_string(out *o, const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  static const char hex[] = "0123456789abcdef";
  putch(o, '"');
  size_t start = 0, i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      i++;
      continue;
    }
    size_t len = c >= 0x80 ? utf8_len(s + i, n - i) : 0;
    if (len) {
      i += len;
      continue;
    }
    put(o, str + start, i - start);
    char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    if (c == '"' || c == '\\') {
      esc[1] = (char)c;
      put(o, esc, 2);
    } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
      esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : 'f';
      put(o, esc, 2);
    } else if (c >= 0x80) {
      put(o, "\\ufffd", 6);
    } else {
      put(o, esc, 6);
    }
    start = ++i;
  }
  put(o, str + start, n - start);
  putch(o, '"');
}

/* ---- numbers -------------------------------------------------------------------------------- */

/* A plain JSON decimal (no exponent, no trailing fractional zero) with at most 15 significant
 * digits: it reads back to one double and %.15g would print the same digits, so it can be
 * copied as it is. This skips strtod and snprintf for nearly every value a page holds. */
static int plain_decimal(const char *s, size_t n)
{
  size_t i = 0, sig = 0;
  int nonzero = 0;
  if (i < n && s[i] == '-') i++;
  if (i == n || s[i] < '0' || s[i] > '9') return 0;
  if (s[i] == '0' && i + 1 < n && s[i + 1] != '.') return 0;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
    nonzero |= s[i] != '0';
    if (nonzero) sig++;
  }
  if (i < n) {
    if (s[i] != '.' || i + 1 == n || s[n - 1] == '0') return 0;
    for (i++; i < n; i++) {
      if (s[i] < '0' || s[i] > '9') return 0;
      nonzero |= s[i] != '0';
      if (nonzero) sig++;
    }
  }
  return sig <= 15;
}

/* A double as text that reads back to it: the first of %.15g, %.16g, %.17g that does. */
static size_t format_double(double v, char *buf, size_t cap)
{
  int len = 0;
  for (int prec = 15; prec <= 17; prec++) {
    len = snprintf(buf, cap, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  return len > 0 ? (size_t)len : 0;
}

static void put_json_value(out *o, char type, const char *s, size_t n)
{
  char buf[40];
  if (n == 0) {
    put(o, "null", 4);
  } else if (type == 'i' || type == 'j') {
    long long v;
    size_t neg = s[0] == '-';
    if (!tt_page_cell_int(s, n, &v))
      put_json_string(o, s, n);
    else if (s[neg] == '0' && (neg || n > 1)) /* "-0", "007": print it canonically */
      put(o, buf, (size_t)snprintf(buf, sizeof buf, "%lld", v));
    else
      put(o, s, n);
  } else if (type == 'f') {
    double v;
    if (plain_decimal(s, n))
      put(o, s, n);
    else if (!tt_page_cell_double(s, n, &v))
      put_json_string(o, s, n);
    else if (!isfinite(v))
      put(o, "null", 4); /* JSON has no inf or nan */
    else
      put(o, buf, format_double(v, buf, sizeof buf));
  } else {
    put_json_string(o, s, n);
  }
}

/* ---- rows ----------------------------------------------------------------------------------- */

static void put_name(out *o, int format, const tt_column *cols, size_t ncols, size_t j)
{
  char tmp[32];
  const char *name = tmp;
  size_t len;
  if (j < ncols && cols[j].name) {
    name = cols[j].name;
    len = strlen(name);
  } else {
    len = (size_t)snprintf(tmp, sizeof tmp, "c%zu", j + 1);
  }
  if (format == TT_WRITE_TSV)
    put_tsv(o, name, len);
  else if (format == TT_WRITE_CSV)
    put_csv(o, name, len);
  else
    put_json_string(o, name, len);
}

int tt_write_page(FILE *f, int format, const tt_page *p, const tt_column *cols, size_t ncols,
                  int header, uint64_t *bytes)
{
  *bytes = 0;
  if (format < TT_WRITE_TSV || format > TT_WRITE_JSONL) return TT_E_INVAL;
  out *o = malloc(sizeof *o);
  if (!o) return TT_E_NOMEM;
  o->f = f;
  o->len = 0;
  o->total = 0;
  o->failed = 0;
  const char *eol = format == TT_WRITE_CSV ? "\r\n" : "\n";
  size_t eollen = strlen(eol);
  char sep = format == TT_WRITE_CSV ? ',' : '\t';

  if (header && format != TT_WRITE_JSONL && ncols) {
    for (size_t j = 0; j < ncols; j++) {
      if (j) putch(o, sep);
      put_name(o, format, cols, ncols, j);
    }
    put(o, eol, eollen);
  }

  /* JSON keys are the same on every line: render `"name":` once per column. */
  size_t nkeys = 0, *keyoff = NULL, keyslen = 0;
  char *keys = NULL;
  if (format == TT_WRITE_JSONL) {
    for (size_t i = 0; p && i < p->nrows; i++) {
      size_t first, n = tt_page_row(p, i, &first);
      if (n > nkeys) nkeys = n;
    }
    if (ncols > nkeys) nkeys = ncols;
    keyoff = calloc(nkeys + 1, sizeof *keyoff);
    out *k = malloc(sizeof *k);
    FILE *mf = keyoff && k ? open_memstream(&keys, &keyslen) : NULL;
    if (mf) {
      k->f = mf;
      k->len = 0;
      k->total = 0;
      k->failed = 0;
      for (size_t j = 0; j < nkeys; j++) {
        put_name(k, format, cols, ncols, j);
        putch(k, ':');
        flush(k);
        keyoff[j + 1] = (size_t)k->total;
      }
    }
    int bad = !mf || k->failed;
    if (mf && fclose(mf)) bad = 1;
    free(k);
    if (bad) {
      free(keys);
      free(keyoff);
      free(o);
      return TT_E_NOMEM;
    }
  }

  for (size_t i = 0; p && i < p->nrows && !o->failed; i++) {
    size_t first, n = tt_page_row(p, i, &first);
    size_t width = n > ncols ? n : ncols;
    if (format == TT_WRITE_JSONL) putch(o, '{');
    for (size_t j = 0; j < width; j++) {
      size_t len = 0;
      const char *s = j < n ? tt_page_cell(p, first + j, &len) : "";
      if (format == TT_WRITE_JSONL) {
        if (j) putch(o, ',');
        put(o, keys + keyoff[j], keyoff[j + 1] - keyoff[j]);
        char type = j < ncols && cols[j].type ? cols[j].type[0] : 'a';
        put_json_value(o, type, s, len);
      } else {
        if (j) putch(o, sep);
        if (format == TT_WRITE_TSV)
          put_tsv(o, s, len);
        else
          put_csv(o, s, len);
      }
    }
    if (format == TT_WRITE_JSONL) putch(o, '}');
    put(o, eol, eollen);
  }
  flush(o);
  /* Hand the page to the kernel now: bytes left in the FILE's own buffer would meet a full
   * disk (or a file size limit) only at fclose, after the caller counted them as written. */
  if (!o->failed) {
    errno = 0;
    if (fflush(f) || ferror(f)) o->failed = errno ? errno : EIO;
  }
  *bytes = o->total;
  int failed = o->failed;
  free(keys);
  free(keyoff);
  free(o);
  if (failed) {
    errno = failed;
    return TT_E_IO;
  }
  return 0;
}
