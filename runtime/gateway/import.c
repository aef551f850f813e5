/*
 * import: a CSV file into a new version of a table (import.h). Two passes: the whole file is
 * checked (header, shape, types, UTF-8, record caps) before the database is touched, then the
 * rows go through the store's writer in one transaction.
 */
#include "import.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Large reads keep the per-character parser fed without a syscall per line. */
#define CSV_BUFSZ (1 << 20)

/* ---- CSV reading ----------------------------------------------------------------------- */

typedef struct csv {
  FILE *f;
  const char *path;
  unsigned char *buf;
  size_t pos, len;
  int ioerr;  /* errno of a failed read, 0 if none */
  long line;  /* physical line of the next unread character, from 1 */
  char *data; /* the current record's fields, each NUL-terminated */
  size_t dlen, dcap;
  size_t *off; /* where each field starts in data */
  size_t nf, fcap;
  size_t max_record; /* bytes of one record (its fields plus a NUL each); 0 = no cap */
  size_t max_fields; /* fields of one record (so offsets stay small too); 0 = no cap */
} csv;

static int fill(csv *c)
{
  c->pos = 0;
  c->len = fread(c->buf, 1, CSV_BUFSZ, c->f);
  if (c->len == 0 && ferror(c->f) && !c->ioerr) c->ioerr = errno ? errno : EIO;
  return c->len > 0;
}

static inline int getch(csv *c)
{
  if (c->pos == c->len && !fill(c)) return EOF;
  return c->buf[c->pos++];
}

static inline int peekch(csv *c)
{
  if (c->pos == c->len && !fill(c)) return EOF;
  return c->buf[c->pos];
}

static void csv_close(csv *c)
{
  if (c->f) fclose(c->f);
  free(c->buf);
  free(c->data);
  free(c->off);
  memset(c, 0, sizeof *c);
}

static int csv_open(csv *c, const char *path, size_t max_record, char *err, size_t errlen)
{
  memset(c, 0, sizeof *c);
  c->path = path;
  c->line = 1;
  c->max_record = max_record;
  c->max_fields =
      GW_STORE_MAX_COLS + 1; /* one more than a table may have: the check says how many */
  c->f = fopen(path, "rb");
  if (!c->f)
    return gw_store_fail(err, errlen, GW_STORE_ERR_IO, "cannot open \"%s\": %s", path,
                         strerror(errno));
  c->buf = malloc(CSV_BUFSZ);
  c->dcap = 4096;
  c->data = malloc(c->dcap);
  c->fcap = 64;
  c->off = malloc(c->fcap * sizeof *c->off);
  if (!c->buf || !c->data || !c->off) {
    csv_close(c);
    return gw_store_nomem(err, errlen);
  }
  /* Spreadsheets like to start UTF-8 files with a byte order mark; it is not data. */
  if (fill(c) && c->len >= 3 && memcmp(c->buf, "\xEF\xBB\xBF", 3) == 0) c->pos = 3;
  return 0;
}

/* push and add_field: 0, -1 when memory runs out, -2 past the record cap, -3 past the field
 * cap. */
static inline int push(csv *c, int ch)
{
  if (c->max_record && c->dlen >= c->max_record) return -2;
  if (c->dlen == c->dcap) {
    char *p = realloc(c->data, c->dcap * 2);
    if (!p) return -1;
    c->data = p;
    c->dcap *= 2;
  }
  c->data[c->dlen++] = (char)ch;
  return 0;
}

static int add_field(csv *c)
{
  if (c->max_fields && c->nf >= c->max_fields) return -3;
  if (c->nf == c->fcap) {
    size_t *p = realloc(c->off, c->fcap * 2 * sizeof *p);
    if (!p) return -1;
    c->off = p;
    c->fcap *= 2;
  }
  c->off[c->nf++] = c->dlen;
  return 0;
}

static inline const char *field(const csv *c, size_t i, size_t *len)
{
  size_t end = i + 1 < c->nf ? c->off[i + 1] : c->dlen;
  *len = end - c->off[i] - 1;
  return c->data + c->off[i];
}

static int read_error(csv *c, char *err, size_t errlen)
{
  return gw_store_fail(err, errlen, GW_STORE_ERR_IO, "cannot read \"%s\": %s", c->path,
                       strerror(c->ioerr));
}

/* What a failed push or add_field means, as read_record's error. The caps keep one record's
 * memory bounded whatever the file holds (200 MB of commas once took 1.8 GB). */
static int grow_fail(const csv *c, int why, long start, char *err, size_t errlen)
{
  if (why == -1) return gw_store_nomem(err, errlen);
  if (why == -3)
    return c->max_fields > GW_STORE_MAX_COLS
               ? gw_store_fail(err, errlen, GW_STORE_ERR_INPUT,
                               "line %ld: more than %d fields (a table has at most %d columns)",
                               start, GW_STORE_MAX_COLS, GW_STORE_MAX_COLS)
               : gw_store_fail(err, errlen, GW_STORE_ERR_INPUT,
                               "line %ld: more than %zu fields, the header has %zu", start,
                               c->max_fields, c->max_fields);
  return gw_store_fail(err, errlen, GW_STORE_ERR_INPUT,
                       "line %ld: a record longer than %zu bytes (raise --max-record to load it)",
                       start, c->max_record);
}

/* Read one record into c->data/c->off. Returns 1, 0 at the end of the file, or an error;
 * *start is the physical line the record starts on. */
static int read_record(csv *c, long *start, char *err, size_t errlen)
{
  int ch = getch(c);
  if (ch == EOF) return c->ioerr ? read_error(c, err, errlen) : 0;
  *start = c->line;
  c->dlen = 0;
  c->nf = 0;
  int g;
  for (;;) {
    if ((g = add_field(c)) != 0) return grow_fail(c, g, *start, err, errlen);
    if (ch == '"') {
      for (;;) {
        ch = getch(c);
        if (ch == EOF) {
          if (c->ioerr) return read_error(c, err, errlen);
          return gw_store_fail(err, errlen, GW_STORE_ERR_INPUT,
                               "line %ld, column %zu: unterminated quoted field (no closing \")",
                               *start, c->nf);
        }
        if (ch == '"') {
          ch = getch(c);
          if (ch != '"') break; /* closing quote; ch is what follows it */
        } else if (ch == '\n' || (ch == '\r' && peekch(c) != '\n')) {
          c->line++;
        }
        if ((g = push(c, ch)) != 0) return grow_fail(c, g, *start, err, errlen);
      }
      if (ch != ',' && ch != '\n' && ch != '\r' && ch != EOF)
        return gw_store_fail(
            err, errlen, GW_STORE_ERR_INPUT,
            "line %ld, column %zu: unexpected character after a closing quote (a quote "
            "inside a quoted field is written \"\")",
            *start, c->nf);
    } else {
      /* A stray quote inside an unquoted field is taken literally, as most writers expect. */
      while (ch != ',' && ch != '\n' && ch != '\r' && ch != EOF) {
        if ((g = push(c, ch)) != 0) return grow_fail(c, g, *start, err, errlen);
        ch = getch(c);
      }
    }
    if ((g = push(c, '\0')) != 0) return grow_fail(c, g, *start, err, errlen);
    if (ch == ',') {
      ch = getch(c);
      continue;
    }
    if (ch == '\r' && peekch(c) == '\n') getch(c);
    if (ch != EOF) c->line++;
    if (c->ioerr) return read_error(c, err, errlen);
    return 1;
  }
}

/* ---- CSV values -------------------------------------------------------------------------------
 */

enum { INT_OK = 0, INT_SYNTAX, INT_RANGE };

/* [+-]?[0-9]+ to int64, no spaces. */
static int parse_int(const char *s, size_t len, int64_t *v)
{
  size_t i = 0;
  int neg = 0;
  if (i < len && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (i == len) return INT_SYNTAX;
  /* Accumulate as a negative number so INT64_MIN is representable. */
  int64_t acc = 0;
  int range = 0;
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return INT_SYNTAX;
    int d = s[i] - '0';
    if (acc < (INT64_MIN + d) / 10)
      range = 1;
    else
      acc = acc * 10 - d;
  }
  if (range || (!neg && acc == INT64_MIN)) return INT_RANGE;
  *v = neg ? acc : -acc;
  return INT_OK;
}

/* A finite decimal number. strtod alone would also take spaces, hex, inf and nan. */
static int parse_num(const char *s, size_t len, double *v)
{
  if (len == 0 || strspn(s, "0123456789+-.eE") != len) return 0;
  char *end;
  double d = strtod(s, &end);
  if (end != s + len || !isfinite(d)) return 0;
  *v = d;
  return 1;
}

/* Why a value is not of type t, or NULL when it is. */
static const char *misfit(char t, const char *s, size_t len)
{
  int64_t iv;
  double dv;
  switch (t) {
  case 'i':
    switch (parse_int(s, len, &iv)) {
    case INT_SYNTAX:
      return "is not an integer (i)";
    case INT_RANGE:
      return "does not fit a 32-bit integer (i)";
    }
    return iv < INT32_MIN || iv > INT32_MAX ? "does not fit a 32-bit integer (i)" : NULL;
  case 'j':
    switch (parse_int(s, len, &iv)) {
    case INT_SYNTAX:
      return "is not an integer (j)";
    case INT_RANGE:
      return "does not fit a 64-bit integer (j)";
    }
    return NULL;
  case 'f':
    return parse_num(s, len, &dv) ? NULL : "is not a decimal number (f)";
  }
  return NULL;
}

/* Inference state of an untyped column: what every value seen so far could be. */
enum { CAN_I = 1, CAN_J = 2, CAN_F = 4 };

static int can_be(const char *s, size_t len)
{
  int64_t iv;
  double dv;
  int r = parse_int(s, len, &iv);
  if (r == INT_OK) return CAN_J | CAN_F | (iv >= INT32_MIN && iv <= INT32_MAX ? CAN_I : 0);
  return parse_num(s, len, &dv) ? CAN_F : 0;
}

/* ---- CSV import ---------------------------------------------------------------------------- */

typedef struct layout {
  size_t ncols;
  gw_column *cols;
  char *typed;         /* the header gave column i's type */
  unsigned char *can;  /* CAN_* of an untyped column */
  unsigned char *seen; /* an untyped column had a non-empty value */
} layout;

static void layout_free(layout *im)
{
  for (size_t i = 0; i < im->ncols; i++) free(im->cols[i].name);
  free(im->cols);
  free(im->typed);
  free(im->can);
  free(im->seen);
  memset(im, 0, sizeof *im);
}

static int read_header(csv *c, layout *im, char *err, size_t errlen)
{
  long line = 1;
  char buf[64];
  int rc = read_record(c, &line, err, errlen);
  if (rc < 0) return rc;
  if (rc == 0)
    return gw_store_fail(err, errlen, GW_STORE_ERR_INPUT,
                         "line 1: empty file (a header row is required)");
  size_t n = c->nf, len;
  if (n == 1 && field(c, 0, &len) && len == 0)
    return gw_store_fail(err, errlen, GW_STORE_ERR_INPUT, "line %ld: the header row is empty",
                         line);
  if (n > GW_STORE_MAX_COLS)
    return gw_store_fail(err, errlen, GW_STORE_ERR_INPUT,
                         "line %ld: %zu columns, at most %d are allowed", line, n,
                         GW_STORE_MAX_COLS);
  im->cols = calloc(n, sizeof *im->cols);
  im->typed = calloc(n, 1);
  im->can = calloc(n, 1);
  im->seen = calloc(n, 1);
  if (!im->cols || !im->typed || !im->can || !im->seen) return gw_store_nomem(err, errlen);
  for (size_t i = 0; i < n; i++) {
    const char *s = field(c, i, &len);
    const char *colon = memchr(s, ':', len);
    size_t nlen = colon ? (size_t)(colon - s) : len;
    char type = 0;
    if (colon) {
      size_t tlen = len - nlen - 1;
      if (tlen != 1 || !strchr("ijfa", colon[1]) || colon[1] == '\0')
        return gw_store_fail(
            err, errlen, GW_STORE_ERR_INPUT,
            "line %ld, column %zu: bad column type in \"%s\" (after the colon: i, j, f "
            "or a)",
            line, i + 1, gw_store_shown(s, len, buf, sizeof buf));
      type = colon[1];
    }
    if (nlen == 0)
      return gw_store_fail(err, errlen, GW_STORE_ERR_INPUT,
                           "line %ld, column %zu: empty column name", line, i + 1);
    if (s[0] == '_')
      return gw_store_fail(
          err, errlen, GW_STORE_ERR_INPUT,
          "line %ld, column %zu: column name \"%s\" is reserved (names starting with _ "
          "belong to the gateway)",
          line, i + 1, gw_store_shown(s, nlen, buf, sizeof buf));
    if (!gw_store_valid_ident(s, nlen))
      return gw_store_fail(err, errlen, GW_STORE_ERR_INPUT,
                           "line %ld, column %zu: bad column name \"%s\"", line, i + 1,
                           gw_store_shown(s, nlen, buf, sizeof buf));
    /* SQLite identifiers ignore case, so Sales and sales would be one column. */
    for (size_t j = 0; j < i; j++)
      if (strlen(im->cols[j].name) == nlen && strncasecmp(im->cols[j].name, s, nlen) == 0)
        return gw_store_fail(err, errlen, GW_STORE_ERR_INPUT,
                             "line %ld, column %zu: duplicate column name \"%.*s\"", line, i + 1,
                             (int)nlen, s);
    im->cols[i].name = strndup(s, nlen);
    if (!im->cols[i].name) return gw_store_nomem(err, errlen);
    im->ncols = i + 1;
    im->cols[i].type = type ? type : 'a';
    im->typed[i] = type != 0;
    im->can[i] = CAN_I | CAN_J | CAN_F;
  }
  return 0;
}

static int ragged(long line, size_t nf, size_t ncols, char *err, size_t errlen)
{
  return gw_store_fail(err, errlen, GW_STORE_ERR_INPUT, "line %ld: %zu field%s, the header has %zu",
                       line, nf, nf == 1 ? "" : "s", ncols);
}

static int bad_value(const layout *im, long line, size_t col, const char *s, size_t len,
                     const char *why, char *err, size_t errlen)
{
  char buf[64];
  return gw_store_fail(err, errlen, GW_STORE_ERR_INPUT, "line %ld, column %zu (%s): \"%s\" %s",
                       line, col + 1, im->cols[col].name, gw_store_shown(s, len, buf, sizeof buf),
                       why);
}

/* Replies are XML, which cannot carry bytes that are not UTF-8: refuse them at the door.
 * Strict: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int valid_utf8(const unsigned char *s, size_t n)
{
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    size_t k;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      k = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      k = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      k = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return 0;
    }
    if (i + k >= n) return 0; /* cut short */
    if (s[i + 1] < lo || s[i + 1] > hi) return 0;
    for (size_t j = 2; j <= k; j++)
      if (s[i + j] < 0x80 || s[i + j] > 0xBF) return 0;
    i += k + 1;
  }
  return 1;
}

/* First pass: check the shape and the typed columns, infer the untyped ones. No database
 * work, so a bad file never takes the write lock. */
static int scan_rows(csv *c, layout *im, char *err, size_t errlen)
{
  long line;
  int rc;
  while ((rc = read_record(c, &line, err, errlen)) == 1) {
    if (c->nf != im->ncols) return ragged(line, c->nf, im->ncols, err, errlen);
    for (size_t i = 0; i < im->ncols; i++) {
      size_t len;
      const char *s = field(c, i, &len);
      if (len == 0) continue;
      if (!valid_utf8((const unsigned char *)s, len))
        return bad_value(im, line, i, s, len, "is not valid UTF-8", err, errlen);
      if (im->typed[i]) {
        const char *why = misfit(im->cols[i].type, s, len);
        if (why) return bad_value(im, line, i, s, len, why, err, errlen);
      } else {
        im->seen[i] = 1;
        if (im->can[i]) im->can[i] &= can_be(s, len);
      }
    }
  }
  if (rc < 0) return rc;
  for (size_t i = 0; i < im->ncols; i++) {
    if (im->typed[i]) continue;
    int k = im->seen[i] ? im->can[i] : 0;
    im->cols[i].type = k & CAN_I ? 'i' : k & CAN_J ? 'j' : k & CAN_F ? 'f' : 'a';
  }
  return 0;
}

/* Bind one record's fields; empty ones stay unbound, i.e. NULL. Values are checked again
 * because the file could have changed since the first pass. */
static int bind_record(const csv *c, const layout *im, long line, sqlite3_stmt *st, char *err,
                       size_t errlen)
{
  for (size_t i = 0; i < im->ncols; i++) {
    size_t len;
    const char *s = field(c, i, &len);
    if (len == 0) continue;
    char t = im->cols[i].type;
    const char *why = misfit(t, s, len);
    if (why) return bad_value(im, line, i, s, len, why, err, errlen);
    int p = (int)i + 1;
    if (t == 'i' || t == 'j') {
      int64_t v = 0;
      parse_int(s, len, &v);
      sqlite3_bind_int64(st, p, v);
    } else if (t == 'f') {
      double v = 0;
      parse_num(s, len, &v);
      sqlite3_bind_double(st, p, v);
    } else if (len > INT_MAX ||
               sqlite3_bind_text(st, p, s, (int)len, SQLITE_STATIC) == SQLITE_TOOBIG) {
      /* The record buffer outlives the step, so SQLite need not copy. Past SQLite's limit on
       * one value (SQLITE_MAX_LENGTH) the bind fails: never store N/A in its place. */
      return gw_store_fail(
          err, errlen, GW_STORE_ERR_INPUT,
          "line %ld, column %zu (%s): a value of %zu bytes, more than SQLite stores in "
          "one field",
          line, i + 1, im->cols[i].name, len);
    }
  }
  return 0;
}

/* Second pass: the rows into a new version, all in the writer's transaction. */
static int load_rows(sqlite3 *db, const char *table, const char *path, const layout *im,
                     size_t max_record, char *err, size_t errlen)
{
  csv c;
  long line;
  int rc = csv_open(&c, path, max_record, err, errlen);
  if (rc) return rc;
  rc = read_record(&c, &line, err, errlen);
  if (rc == 1 && c.nf != im->ncols)
    rc = gw_store_fail(err, errlen, GW_STORE_ERR_IO, "\"%s\" changed while being imported", path);
  else if (rc == 0)
    rc = gw_store_fail(err, errlen, GW_STORE_ERR_IO, "\"%s\" changed while being imported", path);
  if (rc < 0) {
    csv_close(&c);
    return rc;
  }
  gw_store_writer *w;
  rc = gw_store_begin(db, table, NULL, im->cols, im->ncols, &w, err, errlen);
  if (rc) {
    csv_close(&c);
    return rc;
  }
  sqlite3_stmt *st = gw_store_row(w);
  while ((rc = read_record(&c, &line, err, errlen)) == 1) {
    if (c.nf != im->ncols) rc = ragged(line, c.nf, im->ncols, err, errlen);
    if (rc == 1) rc = bind_record(&c, im, line, st, err, errlen);
    if (!rc) rc = gw_store_next(w, err, errlen);
    if (rc) break;
    rc = 1;
  }
  csv_close(&c);
  if (rc) {
    gw_store_abort(w);
    return rc;
  }
  return gw_store_commit(w, err, errlen);
}

/* The whole file checked: header, shape, types, UTF-8, record caps. No database work. */
static int check_csv(const char *table, const char *path, size_t max_record, layout *im, char *err,
                     size_t errlen)
{
  int rc = gw_store_writable_name(table, err, errlen);
  if (rc) return rc;
  csv c;
  rc = csv_open(&c, path, max_record, err, errlen);
  if (rc) return rc;
  rc = read_header(&c, im, err, errlen);
  if (!rc) rc = scan_rows(&c, im, err, errlen);
  csv_close(&c);
  return rc;
}

int gw_import_csv(sqlite3 *db, const char *table, const char *csv_path, char *err, size_t errlen)
{
  layout im = {0};
  int rc = check_csv(table, csv_path, GW_IMPORT_MAX_RECORD, &im, err, errlen);
  if (!rc) rc = load_rows(db, table, csv_path, &im, GW_IMPORT_MAX_RECORD, err, errlen);
  layout_free(&im);
  return rc;
}

int gw_import_check_target(const char *path, int create, char *err, size_t errlen)
{
  struct stat sb;
  if (stat(path, &sb) != 0) {
    if (errno == ENOENT && create) return 0;
    if (errno == ENOENT)
      return gw_store_fail(err, errlen, GW_STORE_ERR_IO,
                           "no database \"%s\" (give --create to make a new one)", path);
    return gw_store_fail(err, errlen, GW_STORE_ERR_IO, "cannot open database \"%s\": %s", path,
                         strerror(errno));
  }
  if (!S_ISREG(sb.st_mode))
    return gw_store_fail(err, errlen, GW_STORE_ERR_IO, "\"%s\" is not a regular file", path);
  if (sb.st_size == 0) return 0; /* an empty file is an empty database: nothing to harm */
  /* Read-only, so a file that turns out not to be ours is left exactly as it was. */
  sqlite3 *d = NULL;
  int rc = 0;
  if (sqlite3_open_v2(path, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    rc = gw_store_fail(err, errlen, GW_STORE_ERR_IO, "cannot open database \"%s\": %s", path,
                       d ? sqlite3_errmsg(d) : "out of memory");
    sqlite3_close(d);
    return rc;
  }
  sqlite3_busy_timeout(d, 10000);
  sqlite3_stmt *st = NULL;
  int ours = 0, tables = 0;
  if (sqlite3_prepare_v2(d,
                         "SELECT count(*), count(CASE WHEN name IN ('tt_catalog', 'tt_columns') "
                         "THEN 1 END) FROM sqlite_master WHERE type = 'table'",
                         -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    tables = sqlite3_column_int(st, 0);
    ours = sqlite3_column_int(st, 1);
  } else if (sqlite3_errcode(d) == SQLITE_NOTADB) {
    rc = gw_store_fail(err, errlen, GW_STORE_ERR_IO, "\"%s\" is not an SQLite database", path);
  } else {
    rc = gw_store_fail(err, errlen, GW_STORE_ERR_DB, "reading \"%s\": %s", path, sqlite3_errmsg(d));
  }
  sqlite3_finalize(st);
  sqlite3_close(d);
  if (!rc && tables > 0 && ours < 2)
    rc = gw_store_fail(
        err, errlen, GW_STORE_ERR_IO,
        "\"%s\" is an SQLite database but not a tt-gateway one (it has no tt_catalog): "
        "refusing to change it",
        path);
  return rc;
}

int gw_import_file(const char *db_path, int create, const char *table, const char *csv_path,
                   size_t max_record, sqlite3 **out, char *err, size_t errlen)
{
  *out = NULL;
  layout im = {0};
  sqlite3 *db = NULL;
  struct stat sb;
  int existed = stat(db_path, &sb) == 0;
  int rc = check_csv(table, csv_path, max_record, &im, err, errlen);
  if (rc && err && errlen) { /* a message about the file names the file */
    char *why = strdup(err);
    if (why) snprintf(err, errlen, "%s: %s", csv_path, why);
    free(why);
  }
  if (!rc) rc = gw_import_check_target(db_path, create, err, errlen);
  if (!rc) rc = gw_store_open(db_path, create ? GW_STORE_CREATE : 0, &db, err, errlen);
  if (!rc) rc = load_rows(db, table, csv_path, &im, max_record, err, errlen);
  layout_free(&im);
  if (rc) {
    sqlite3_close(db);
    if (db && !existed) { /* made by this import, which wrote nothing into it: take it back */
      static const char *const ext[] = {"", "-wal", "-shm"};
      for (size_t i = 0; i < 3; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s%s", db_path, ext[i]);
        unlink(p);
      }
    }
    return rc;
  }
  *out = db;
  return 0;
}
