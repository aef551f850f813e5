/* write: TSV, CSV (RFC 4180), JSON lines and JSON arrays from pages, through a private 64 KB
 * buffer so a cell costs a memcpy rather than a stdio call; with gzip the buffer goes through
 * zlib's deflate on its way to the FILE*. */
#include "write.h"

#include "err.h"
#include "number.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#define ZLIB_CONST /* next_in is const: the bytes fed to deflate are only read */
#include <zlib.h>

enum { ZBUF = 1 << 16 };

/* deflate with a gzip wrapper, writing through the caller's FILE*, rather than gzdopen: the
 * bytes then pass through the one FILE* the caller opened and will close (a Lua file, or a
 * device), every byte that reaches it is counted, and a failing write reports its errno the
 * same way with or without compression. */
typedef struct out {
  FILE *f;
  z_stream *z;         /* NULL: plain */
  unsigned char *zbuf; /* deflate's output, ZBUF bytes */
  size_t len;
  uint64_t total;
  int failed;
  char buf[1 << 16];
} out;

static void out_init(out *o, FILE *f)
{
  o->f = f;
  o->z = NULL;
  o->zbuf = NULL;
  o->len = 0;
  o->total = 0;
  o->failed = 0;
}

static void to_file(out *o, const void *s, size_t n)
{
  if (o->failed || n == 0) return;
  errno = 0; /* a short fwrite may leave errno alone: never report a stale one */
  size_t w = fwrite(s, 1, n, o->f);
  o->total += w;
  if (w != n) o->failed = errno ? errno : EIO;
}

/* Feed n bytes to deflate (mode Z_NO_FLUSH or Z_FINISH), writing what comes out. */
static void to_deflate(out *o, const char *s, size_t n, int mode)
{
  z_stream *z = o->z;
  do {
    size_t chunk = n > UINT_MAX ? UINT_MAX : n;
    z->next_in = (const Bytef *)s;
    z->avail_in = (uInt)chunk;
    s += chunk;
    n -= chunk;
    int last = mode == Z_FINISH && n == 0;
    int rc;
    do {
      z->next_out = o->zbuf;
      z->avail_out = ZBUF;
      rc = deflate(z, last ? Z_FINISH : Z_NO_FLUSH);
      if (rc == Z_STREAM_ERROR) { /* a broken stream state: nothing more can be written */
        if (!o->failed) o->failed = EIO;
        return;
      }
      to_file(o, o->zbuf, ZBUF - z->avail_out);
    } while ((z->avail_out == 0 || (last && rc != Z_STREAM_END)) && !o->failed);
  } while (n && !o->failed);
}

static void emit(out *o, const char *s, size_t n)
{
  if (o->z)
    to_deflate(o, s, n, Z_NO_FLUSH);
  else
    to_file(o, s, n);
}

static void flush(out *o)
{
  if (o->len && !o->failed) emit(o, o->buf, o->len);
  o->len = 0;
}

static void put(out *o, const char *s, size_t n)
{
  if (n > sizeof o->buf - o->len) {
    flush(o);
    if (n > sizeof o->buf) {
      emit(o, s, n);
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
  if (strcmp(name, "json") == 0) return TT_WRITE_JSON;
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

/* CSV: quote a field holding the separator, a quote, CR or LF; double the quotes inside. */
static void put_csv(out *o, char sep, const char *s, size_t n)
{
  size_t i = 0;
  while (i < n && s[i] != sep && s[i] != '"' && s[i] != '\n' && s[i] != '\r') i++;
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
      put(o, buf, tt_double_text(v, buf));
  } else {
    put_json_string(o, s, n);
  }
}

/* ---- dates ---------------------------------------------------------------------------------- */

enum { KIND_NONE, KIND_DATE, KIND_TIME, KIND_DATETIME };

/* Display formats that say a column's integers are dates (YYYYMMDD, as the platform stores
 * them), times (HHMMSS) or datetimes (YYYYMMDDHHMMSS). "date", "date4y", "hms12" and "hm24" are
 * the platform's documented names; the others complete the same families. */
static const struct {
  const char *name;
  int kind;
} KINDS[] = {
    {"date", KIND_DATE},       {"date4y", KIND_DATE},       {"time", KIND_TIME},
    {"hms", KIND_TIME},        {"hms12", KIND_TIME},        {"hms24", KIND_TIME},
    {"hm", KIND_TIME},         {"hm12", KIND_TIME},         {"hm24", KIND_TIME},
    {"ymdhms", KIND_DATETIME}, {"datetime", KIND_DATETIME},
};

static int same_word(const char *s, size_t n, const char *word)
{
  return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

static int kind_of_name(const char *s, size_t n)
{
  for (size_t k = 0; k < sizeof KINDS / sizeof KINDS[0]; k++)
    if (same_word(s, n, KINDS[k].name)) return KINDS[k].kind;
  return KIND_NONE;
}

/* A format is items separated by ';', each "key:value" or a bare name ("type:date;width:8",
 * "date4y"). The "type:" item decides when there is one, else the first bare name. */
static int date_kind(const char *format)
{
  int bare = KIND_NONE;
  for (const char *s = format; s && *s;) {
    const char *end = strchr(s, ';');
    if (!end) end = s + strlen(s);
    const char *a = s, *b = end;
    while (a < b && *a == ' ') a++;
    while (b > a && b[-1] == ' ') b--;
    const char *colon = memchr(a, ':', (size_t)(b - a));
    if (colon) {
      const char *k = colon;
      while (k > a && k[-1] == ' ') k--;
      const char *v = colon + 1;
      while (v < b && *v == ' ') v++;
      if (same_word(a, (size_t)(k - a), "type")) return kind_of_name(v, (size_t)(b - v));
    } else if (bare == KIND_NONE) {
      bare = kind_of_name(a, (size_t)(b - a));
    }
    s = *end ? end + 1 : end;
  }
  return bare;
}

static int days_in(long long y, long long m)
{
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return days[m - 1];
}

static int valid_ymd(long long v)
{
  if (v < 10000101 || v > 99991231) return 0;
  long long y = v / 10000, m = v / 100 % 100, d = v % 100;
  return m >= 1 && m <= 12 && d >= 1 && d <= days_in(y, m);
}

static int valid_hms(long long v)
{
  return v >= 0 && v <= 235959 && v / 100 % 100 < 60 && v % 100 < 60;
}

/* n decimal digits of v, zero-padded. */
static char *digits(char *p, long long v, int n)
{
  for (int i = n - 1; i >= 0; i--) {
    p[i] = (char)('0' + v % 10);
    v /= 10;
  }
  return p + n;
}

static char *put_ymd(char *p, long long v)
{
  p = digits(p, v / 10000, 4);
  *p++ = '-';
  p = digits(p, v / 100 % 100, 2);
  *p++ = '-';
  return digits(p, v % 100, 2);
}

static char *put_hms(char *p, long long v)
{
  p = digits(p, v / 10000, 2);
  *p++ = ':';
  p = digits(p, v / 100 % 100, 2);
  *p++ = ':';
  return digits(p, v % 100, 2);
}

/* The ISO 8601 text of a cell of a date kind, in buf (20 bytes at least), and its length; 0
 * when the cell is not a valid value of its kind, which is then written as sent: nothing is
 * lost, and a reader sees the odd value. */
static size_t iso_text(int kind, const char *s, size_t n, char *buf)
{
  long long v;
  if (!tt_page_cell_int(s, n, &v)) return 0;
  char *p = buf;
  if (kind == KIND_DATE) {
    if (!valid_ymd(v)) return 0;
    p = put_ymd(p, v);
  } else if (kind == KIND_TIME) {
    if (!valid_hms(v)) return 0;
    p = put_hms(p, v);
  } else {
    if (v < 0 || !valid_ymd(v / 1000000) || !valid_hms(v % 1000000)) return 0;
    p = put_ymd(p, v / 1000000);
    *p++ = 'T';
    p = put_hms(p, v % 1000000);
  }
  return (size_t)(p - buf);
}

/* ---- the writer ----------------------------------------------------------------------------- */

struct tt_writer {
  int format, header, dates, gzip;
  char sep;
  char *na; /* a copy: the caller's string may go */
  size_t nalen;
  int started;  /* the header is behind us (written, or not wanted) */
  int finished; /* tt_writer_finish ran */
  uint64_t rows;
  z_stream z;
  out o; /* last: its 64 KB buffer */
};

void tt_write_opts_init(tt_write_opts *o, int format)
{
  o->format = format;
  o->header = 1;
  o->sep = 0;
  o->na = NULL;
  o->dates = TT_DATES_RAW;
  o->gzip = 0;
}

int tt_writer_new(tt_writer **out_, FILE *f, const tt_write_opts *o)
{
  *out_ = NULL;
  int text = o->format == TT_WRITE_TSV || o->format == TT_WRITE_CSV;
  if (o->format < TT_WRITE_TSV || o->format > TT_WRITE_JSON) return TT_E_INVAL;
  if (o->dates != TT_DATES_RAW && o->dates != TT_DATES_ISO) return TT_E_INVAL;
  if (o->gzip < 0 || o->gzip > 9) return TT_E_INVAL;
  char sep = o->format == TT_WRITE_CSV ? ',' : '\t';
  if (o->sep && o->format == TT_WRITE_CSV) {
    if (o->sep == '"' || o->sep == '\r' || o->sep == '\n') return TT_E_INVAL;
    sep = o->sep;
  } else if (o->sep && o->sep != sep) {
    return TT_E_INVAL; /* TSV is tab-separated by definition; JSON has no separator */
  }
  if (!text && o->na && *o->na) return TT_E_INVAL; /* JSON's N/A is null */
  tt_writer *w = malloc(sizeof *w);
  if (!w) return TT_E_NOMEM;
  memset(w, 0, offsetof(tt_writer, o));
  out_init(&w->o, f);
  w->format = o->format;
  w->header = o->header && text;
  w->dates = o->dates;
  w->sep = sep;
  w->nalen = o->na ? strlen(o->na) : 0;
  w->na = malloc(w->nalen + 1);
  if (!w->na) {
    free(w);
    return TT_E_NOMEM;
  }
  memcpy(w->na, o->na ? o->na : "", w->nalen + 1);
  if (o->gzip) {
    w->o.zbuf = malloc(ZBUF);
    /* windowBits 15 + 16: a gzip header and trailer around the deflate data */
    int rc = w->o.zbuf ? deflateInit2(&w->z, o->gzip, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
                       : Z_MEM_ERROR;
    if (rc != Z_OK) {
      free(w->o.zbuf);
      free(w->na);
      free(w);
      return rc == Z_MEM_ERROR ? TT_E_NOMEM : TT_E_INVAL;
    }
    w->gzip = o->gzip;
    w->o.z = &w->z;
  }
  *out_ = w;
  return 0;
}

void tt_writer_free(tt_writer **wp)
{
  tt_writer *w = *wp;
  if (!w) return;
  *wp = NULL;
  if (w->gzip) deflateEnd(&w->z);
  free(w->o.zbuf);
  free(w->na);
  free(w);
}

uint64_t tt_writer_bytes(const tt_writer *w)
{
  return w->o.total;
}

static void put_name(out *o, const tt_writer *w, const tt_column *cols, size_t ncols, size_t j)
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
  if (w->format == TT_WRITE_TSV)
    put_tsv(o, name, len);
  else if (w->format == TT_WRITE_CSV)
    put_csv(o, w->sep, name, len);
  else
    put_json_string(o, name, len);
}

static const char *eol(const tt_writer *w)
{
  return w->format == TT_WRITE_CSV ? "\r\n" : "\n";
}

static void start(tt_writer *w, const tt_column *cols, size_t ncols)
{
  if (w->started) return;
  w->started = 1;
  if (!w->header || !ncols) return;
  for (size_t j = 0; j < ncols; j++) {
    if (j) putch(&w->o, w->sep);
    put_name(&w->o, w, cols, ncols, j);
  }
  put(&w->o, eol(w), strlen(eol(w)));
}

/* JSON keys are the same on every row: `"name":` rendered once per column of the page, into
 * *keys, with keyoff[j]..keyoff[j+1] the key of column j. 0 or TT_E_NOMEM. */
static int render_keys(const tt_writer *w, const tt_page *p, const tt_column *cols, size_t ncols,
                       char **keys, size_t **keyoff)
{
  size_t nkeys = ncols, keyslen = 0;
  for (size_t i = 0; p && i < p->nrows; i++) {
    size_t first, n = tt_page_row(p, i, &first);
    if (n > nkeys) nkeys = n;
  }
  *keys = NULL;
  *keyoff = calloc(nkeys + 1, sizeof **keyoff);
  out *k = malloc(sizeof *k);
  FILE *mf = *keyoff && k ? open_memstream(keys, &keyslen) : NULL;
  if (mf) {
    out_init(k, mf);
    for (size_t j = 0; j < nkeys; j++) {
      put_name(k, w, cols, ncols, j);
      putch(k, ':');
      flush(k);
      (*keyoff)[j + 1] = (size_t)k->total;
    }
  }
  int bad = !mf || k->failed;
  if (mf && fclose(mf)) bad = 1;
  free(k);
  if (bad) {
    free(*keys);
    free(*keyoff);
    *keys = NULL;
    *keyoff = NULL;
    return TT_E_NOMEM;
  }
  return 0;
}

/* Hand what the writer holds to the FILE* and the FILE* to the kernel: bytes left in the
 * FILE's own buffer would meet a full disk (or a file size limit) only at fclose, after the
 * caller counted them as written. */
static int settle(tt_writer *w)
{
  out *o = &w->o;
  flush(o);
  if (!o->failed) {
    errno = 0;
    if (fflush(o->f) || ferror(o->f)) o->failed = errno ? errno : EIO;
  }
  if (o->failed) {
    errno = o->failed;
    return TT_E_IO;
  }
  return 0;
}

int tt_writer_page(tt_writer *w, const tt_page *p, const tt_column *cols, size_t ncols)
{
  out *o = &w->o;
  if (o->failed) {
    errno = o->failed;
    return TT_E_IO;
  }
  if (w->finished) return TT_E_INVAL;
  int json = w->format == TT_WRITE_JSONL || w->format == TT_WRITE_JSON;
  char *keys = NULL;
  size_t *keyoff = NULL;
  unsigned char *kinds = NULL;
  if (json && render_keys(w, p, cols, ncols, &keys, &keyoff)) return TT_E_NOMEM;
  if (w->dates == TT_DATES_ISO && ncols) {
    kinds = malloc(ncols);
    if (!kinds) {
      free(keys);
      free(keyoff);
      return TT_E_NOMEM;
    }
    for (size_t j = 0; j < ncols; j++) kinds[j] = (unsigned char)date_kind(cols[j].format);
  }
  start(w, cols, ncols);
  const char *end = eol(w);
  size_t endlen = strlen(end);
  char iso[24];
  for (size_t i = 0; p && i < p->nrows && !o->failed; i++) {
    size_t first, n = tt_page_row(p, i, &first);
    size_t width = n > ncols ? n : ncols;
    if (w->format == TT_WRITE_JSON) put(o, w->rows ? ",\n" : "[\n", 2);
    if (json) putch(o, '{');
    for (size_t j = 0; j < width; j++) {
      size_t len = 0, isolen = 0;
      const char *s = j < n ? tt_page_cell(p, first + j, &len) : "";
      if (kinds && j < ncols && kinds[j] && len) isolen = iso_text(kinds[j], s, len, iso);
      if (isolen) {
        s = iso;
        len = isolen;
      }
      if (json) {
        if (j) putch(o, ',');
        put(o, keys + keyoff[j], keyoff[j + 1] - keyoff[j]);
        char type = j < ncols && cols[j].type ? cols[j].type[0] : 'a';
        if (isolen)
          put_json_string(o, s, len);
        else
          put_json_value(o, type, s, len);
      } else {
        if (j) putch(o, w->sep);
        if (len == 0) {
          s = w->na;
          len = w->nalen;
        }
        if (w->format == TT_WRITE_TSV)
          put_tsv(o, s, len);
        else
          put_csv(o, w->sep, s, len);
      }
    }
    if (json) putch(o, '}');
    if (w->format != TT_WRITE_JSON) put(o, end, endlen);
    w->rows++;
  }
  free(keys);
  free(keyoff);
  free(kinds);
  return settle(w);
}

int tt_writer_finish(tt_writer *w, const tt_column *cols, size_t ncols)
{
  out *o = &w->o;
  if (o->failed) {
    errno = o->failed;
    return TT_E_IO;
  }
  if (w->finished) return TT_E_INVAL;
  w->finished = 1;
  start(w, cols, ncols);
  if (w->format == TT_WRITE_JSON) {
    if (w->rows)
      put(o, "\n]\n", 3);
    else
      put(o, "[]\n", 3);
  }
  if (w->gzip) {
    flush(o);
    if (!o->failed) to_deflate(o, "", 0, Z_FINISH);
  }
  return settle(w);
}

int tt_write_page(FILE *f, int format, const tt_page *p, const tt_column *cols, size_t ncols,
                  int header, uint64_t *bytes)
{
  *bytes = 0;
  if (format == TT_WRITE_JSON) return TT_E_INVAL;
  tt_write_opts o;
  tt_write_opts_init(&o, format);
  o.header = header;
  tt_writer *w;
  int rc = tt_writer_new(&w, f, &o);
  if (rc) return rc;
  rc = p ? tt_writer_page(w, p, cols, ncols) : tt_writer_finish(w, cols, ncols);
  *bytes = tt_writer_bytes(w);
  int e = errno;
  tt_writer_free(&w);
  errno = e;
  return rc;
}
