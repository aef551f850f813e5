/*
 * store: tt-gateway's tables in one SQLite file. The catalog of table versions, the writer that
 * lays a version out (used by the CSV importer and the demo tables), name resolution at a
 * generation, and the collector of versions no live session can see. Layout: see store.h.
 */
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* SQLite's default SQLITE_MAX_COLUMN is 2000 and _r takes one of them. */
#define MAX_COLS 1999
#define MAX_NAME 255
/* Large reads keep the per-character parser fed without a syscall per line. */
#define CSV_BUFSZ (1 << 20)

/* ---- errors ---------------------------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int code,
                                                      const char *fmt, ...)
{
  if (err && errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

static int db_fail(sqlite3 *db, char *err, size_t errlen, const char *what)
{
  return fail(err, errlen, GW_STORE_ERR_DB, "%s: %s", what, sqlite3_errmsg(db));
}

static int nomem(char *err, size_t errlen)
{
  return fail(err, errlen, GW_STORE_ERR_DB, "out of memory");
}

/* A value quoted in a message: at most 40 bytes (not cutting a UTF-8 sequence), control
 * characters shown as '?', so a runaway field cannot flood the message. */
static const char *shown(const char *s, size_t len, char *out, size_t outlen)
{
  size_t n = len, o = 0;
  int cut = 0;
  if (n > 40) {
    n = 40;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    cut = 1;
  }
  for (size_t i = 0; i < n && o + 4 < outlen; i++)
    out[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
  if (cut && o + 4 < outlen) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
  return out;
}

static int bad_name(const char *table, char *err, size_t errlen)
{
  char buf[64];
  const char *t = table ? table : "";
  return fail(err, errlen, GW_STORE_ERR_NAME,
              "bad table name \"%s\": want two or more dot-separated names, each a letter "
              "followed by letters, digits or _, at most %d characters in all",
              shown(t, strlen(t), buf, sizeof buf), MAX_NAME);
}

/* A name a version may be written under: valid, and not the built-in default.lonely. */
static int writable_name(const char *table, char *err, size_t errlen)
{
  if (!gw_store_valid_name(table)) return bad_name(table, err, errlen);
  if (strcmp(table, GW_STORE_LONELY) == 0)
    return fail(err, errlen, GW_STORE_ERR_NAME,
                "bad table name \"%s\": it is built in (one row, no columns) and cannot be loaded",
                table);
  return 0;
}

/* ---- small SQLite helpers ----------------------------------------------------------------- */

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
  if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) return db_fail(db, err, errlen, sql);
  return 0;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
  if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
    *st = NULL;
    return db_fail(db, err, errlen, "preparing a statement");
  }
  return 0;
}

/* Run a statement that returns no rows and leave it ready to run again. */
static int step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, char *err, size_t errlen)
{
  int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, err, errlen, what);
  sqlite3_reset(st);
  return rc;
}

static double unix_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* strdup of a column that may be NULL; *oom is set when a non-NULL copy fails. */
static char *col_dup(sqlite3_stmt *st, int i, int *oom)
{
  const char *s = (const char *)sqlite3_column_text(st, i);
  if (!s) return NULL;
  char *d = strdup(s);
  if (!d) *oom = 1;
  return d;
}

/* A growing string for building SQL whose length depends on the column count. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

__attribute__((format(printf, 2, 3))) static void sb_add(sbuf *b, const char *fmt, ...)
{
  for (;;) {
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->oom = 1;
      return;
    }
    if (b->p && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap <= b->len + (size_t)n) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
}

/* ---- open and names ----------------------------------------------------------------------- */

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS tt_catalog(version INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL, title TEXT, nrows INTEGER NOT NULL DEFAULT 0, loaded_at REAL NOT NULL);"
    "CREATE INDEX IF NOT EXISTS tt_catalog_name ON tt_catalog(name, version);"
    "CREATE TABLE IF NOT EXISTS tt_columns(version INTEGER NOT NULL, pos INTEGER NOT NULL,"
    " name TEXT NOT NULL, type TEXT NOT NULL, format TEXT, label TEXT,"
    " PRIMARY KEY(version, pos));";

int gw_store_open(const char *path, int create, sqlite3 **db, char *err, size_t errlen)
{
  *db = NULL;
  /* SQLite's own "unable to open database file" does not say why; a plain file path that is
   * missing is the common case, so say that. URIs and :memory: are left to SQLite. */
  struct stat sb;
  if (!create && strncmp(path, "file:", 5) != 0 && strcmp(path, ":memory:") != 0 &&
      stat(path, &sb) != 0)
    return fail(err, errlen, GW_STORE_ERR_IO, "cannot open database \"%s\": %s", path,
                strerror(errno));
  int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
  sqlite3 *d = NULL;
  if (sqlite3_open_v2(path, &d, flags, NULL) != SQLITE_OK) {
    fail(err, errlen, GW_STORE_ERR_IO, "cannot open database \"%s\": %s", path,
         d ? sqlite3_errmsg(d) : "out of memory");
    sqlite3_close(d);
    return GW_STORE_ERR_IO;
  }
  /* Before the first statement, so even switching to WAL waits for another process. */
  sqlite3_busy_timeout(d, 10000);
  int rc = 0;
  if (sqlite3_exec(d, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK) {
    if (sqlite3_errcode(d) == SQLITE_NOTADB)
      rc = fail(err, errlen, GW_STORE_ERR_IO, "\"%s\" is not an SQLite database", path);
    else
      rc = fail(err, errlen, GW_STORE_ERR_DB, "opening \"%s\": %s", path, sqlite3_errmsg(d));
  }
  /* NORMAL under WAL loses at most the last commits on power loss, never consistency. */
  if (!rc) rc = exec(d, "PRAGMA synchronous=NORMAL", err, errlen);
  if (!rc) rc = exec(d, schema_sql, err, errlen);
  /* default.lonely, the built-in table of one row and no columns, is version 0 of every
   * generation: a view in this connection's temporary schema, so nothing is written to the
   * file and the importer's versions (from 1) can never meet it. */
  if (!rc) rc = exec(d, "CREATE TEMP VIEW IF NOT EXISTS tt_v0(_r) AS SELECT 1", err, errlen);
  if (rc) {
    sqlite3_close(d);
    return rc;
  }
  *db = d;
  return 0;
}

static int valid_ident(const char *s, size_t len)
{
  if (len == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'))) return 0;
  for (size_t i = 1; i < len; i++) {
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return 0;
  }
  return 1;
}

int gw_store_valid_name(const char *name)
{
  if (!name) return 0;
  size_t len = strlen(name);
  if (len > MAX_NAME) return 0;
  int segs = 0;
  const char *s = name;
  for (;;) {
    const char *dot = strchr(s, '.');
    size_t n = dot ? (size_t)(dot - s) : strlen(s);
    if (!valid_ident(s, n)) return 0;
    segs++;
    if (!dot) break;
    s = dot + 1;
  }
  return segs >= 2;
}

/* ---- the writer ----------------------------------------------------------------------------- */

struct gw_store_writer {
  sqlite3 *db;
  sqlite3_stmt *ins;
  int64_t version;
  int64_t nrows;
  int rpar; /* the parameter that carries _r: ncols + 1, after the caller's */
};

static const char *sql_type(char t)
{
  return t == 'f' ? "REAL" : t == 'a' ? "TEXT" : "INTEGER";
}

static int check_columns(const gw_column *cols, size_t ncols, char *err, size_t errlen)
{
  char buf[64];
  if (ncols > MAX_COLS)
    return fail(err, errlen, GW_STORE_ERR_INPUT, "%zu columns, at most %d are allowed", ncols,
                MAX_COLS);
  for (size_t i = 0; i < ncols; i++) {
    const char *n = cols[i].name ? cols[i].name : "";
    if (!valid_ident(n, strlen(n)))
      return fail(err, errlen, GW_STORE_ERR_INPUT, "column %zu: bad column name \"%s\"", i + 1,
                  shown(n, strlen(n), buf, sizeof buf));
    if (!cols[i].type || !strchr("ijfa", cols[i].type))
      return fail(err, errlen, GW_STORE_ERR_INPUT, "column %zu (%s): bad type '%c'", i + 1, n,
                  cols[i].type ? cols[i].type : '?');
    for (size_t j = 0; j < i; j++)
      if (strcasecmp(cols[j].name, n) == 0)
        return fail(err, errlen, GW_STORE_ERR_INPUT, "column %zu: duplicate column name \"%s\"",
                    i + 1, n);
  }
  return 0;
}

/* Inside the open transaction: the catalog row (which numbers the version), the column rows,
 * the table, and the prepared insert. */
static int start_version(gw_store_writer *w, const char *table, const char *title,
                         const gw_column *cols, size_t ncols, char *err, size_t errlen)
{
  sqlite3 *db = w->db;
  sqlite3_stmt *st;
  int rc = prepare(db, "INSERT INTO tt_catalog(name, title, nrows, loaded_at) VALUES(?1,?2,0,?3)",
                   &st, err, errlen);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
  if (title) sqlite3_bind_text(st, 2, title, -1, SQLITE_STATIC);
  sqlite3_bind_double(st, 3, unix_now());
  rc = step_done(db, st, "adding to the catalog", err, errlen);
  sqlite3_finalize(st);
  if (rc) return rc;
  w->version = sqlite3_last_insert_rowid(db);

  rc = prepare(db,
               "INSERT INTO tt_columns(version, pos, name, type, format, label)"
               " VALUES(?1,?2,?3,?4,?5,?6)",
               &st, err, errlen);
  if (rc) return rc;
  for (size_t i = 0; i < ncols && !rc; i++) {
    char type[2] = {cols[i].type, '\0'};
    sqlite3_bind_int64(st, 1, w->version);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
    sqlite3_bind_text(st, 3, cols[i].name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, type, 1, SQLITE_TRANSIENT);
    if (cols[i].format) sqlite3_bind_text(st, 5, cols[i].format, -1, SQLITE_STATIC);
    if (cols[i].label) sqlite3_bind_text(st, 6, cols[i].label, -1, SQLITE_STATIC);
    rc = step_done(db, st, "adding a column", err, errlen);
    sqlite3_clear_bindings(st);
  }
  sqlite3_finalize(st);
  if (rc) return rc;

  /* Column names are plain identifiers (checked), quoted anyway so that names like "order"
   * or "group" that are SQL keywords still work. */
  sbuf create = {0}, insert = {0};
  sb_add(&create, "CREATE TABLE tt_v%lld(_r INTEGER PRIMARY KEY", (long long)w->version);
  sb_add(&insert, "INSERT INTO tt_v%lld VALUES(?%d", (long long)w->version, w->rpar);
  for (size_t i = 0; i < ncols; i++) {
    sb_add(&create, ", \"%s\" %s", cols[i].name, sql_type(cols[i].type));
    sb_add(&insert, ",?%zu", i + 1);
  }
  sb_add(&create, ")");
  sb_add(&insert, ")");
  if (create.oom || insert.oom)
    rc = nomem(err, errlen);
  else
    rc = exec(db, create.p, err, errlen);
  /* Persistent: it lives for the whole load, possibly millions of steps. */
  if (!rc &&
      sqlite3_prepare_v3(db, insert.p, -1, SQLITE_PREPARE_PERSISTENT, &w->ins, NULL) != SQLITE_OK) {
    w->ins = NULL;
    rc = db_fail(db, err, errlen, "preparing the row insert");
  }
  free(create.p);
  free(insert.p);
  return rc;
}

int gw_store_begin(sqlite3 *db, const char *table, const char *title, const gw_column *cols,
                   size_t ncols, gw_store_writer **w, char *err, size_t errlen)
{
  *w = NULL;
  int rc = writable_name(table, err, errlen);
  if (rc) return rc;
  rc = check_columns(cols, ncols, err, errlen);
  if (rc) return rc;
  gw_store_writer *nw = calloc(1, sizeof *nw);
  if (!nw) return nomem(err, errlen);
  nw->db = db;
  nw->rpar = (int)ncols + 1;
  /* IMMEDIATE takes the write lock now (waiting out the busy timeout), so two importers
   * cannot both read the catalog and then collide on the upgrade. */
  rc = exec(db, "BEGIN IMMEDIATE", err, errlen);
  if (rc) {
    free(nw);
    return rc;
  }
  rc = start_version(nw, table, title, cols, ncols, err, errlen);
  if (rc) {
    gw_store_abort(nw);
    return rc;
  }
  *w = nw;
  return 0;
}

sqlite3_stmt *gw_store_row(gw_store_writer *w)
{
  return w->ins;
}

int gw_store_next(gw_store_writer *w, char *err, size_t errlen)
{
  sqlite3_bind_int64(w->ins, w->rpar, w->nrows + 1);
  int rc = 0;
  if (sqlite3_step(w->ins) != SQLITE_DONE)
    rc = fail(err, errlen, GW_STORE_ERR_DB, "inserting row %lld: %s", (long long)w->nrows + 1,
              sqlite3_errmsg(w->db));
  else
    w->nrows++;
  sqlite3_reset(w->ins);
  sqlite3_clear_bindings(w->ins);
  return rc;
}

int gw_store_commit(gw_store_writer *w, char *err, size_t errlen)
{
  if (!w) return fail(err, errlen, GW_STORE_ERR_DB, "no load in progress");
  sqlite3 *db = w->db;
  sqlite3_finalize(w->ins);
  w->ins = NULL;
  sqlite3_stmt *st;
  int rc = prepare(db, "UPDATE tt_catalog SET nrows = ?1 WHERE version = ?2", &st, err, errlen);
  if (!rc) {
    sqlite3_bind_int64(st, 1, w->nrows);
    sqlite3_bind_int64(st, 2, w->version);
    rc = step_done(db, st, "recording the row count", err, errlen);
    sqlite3_finalize(st);
  }
  if (!rc) rc = exec(db, "COMMIT", err, errlen);
  if (rc) {
    gw_store_abort(w);
    return rc;
  }
  free(w);
  return 0;
}

void gw_store_abort(gw_store_writer *w)
{
  if (!w) return;
  sqlite3_finalize(w->ins);
  /* May fail harmlessly when SQLite already rolled back on its own (e.g. after SQLITE_FULL). */
  sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
  free(w);
}

/* ---- CSV reading ------------------------------------------------------------------------------
 */

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
  c->max_fields = MAX_COLS + 1; /* one more than a table may have: the check says how many */
  c->f = fopen(path, "rb");
  if (!c->f)
    return fail(err, errlen, GW_STORE_ERR_IO, "cannot open \"%s\": %s", path, strerror(errno));
  c->buf = malloc(CSV_BUFSZ);
  c->dcap = 4096;
  c->data = malloc(c->dcap);
  c->fcap = 64;
  c->off = malloc(c->fcap * sizeof *c->off);
  if (!c->buf || !c->data || !c->off) {
    csv_close(c);
    return nomem(err, errlen);
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
  return fail(err, errlen, GW_STORE_ERR_IO, "cannot read \"%s\": %s", c->path, strerror(c->ioerr));
}

/* What a failed push or add_field means, as read_record's error. The caps keep one record's
 * memory bounded whatever the file holds (200 MB of commas once took 1.8 GB). */
static int grow_fail(const csv *c, int why, long start, char *err, size_t errlen)
{
  if (why == -1) return nomem(err, errlen);
  if (why == -3)
    return c->max_fields > MAX_COLS
               ? fail(err, errlen, GW_STORE_ERR_INPUT,
                      "line %ld: more than %d fields (a table has at most %d columns)", start,
                      MAX_COLS, MAX_COLS)
               : fail(err, errlen, GW_STORE_ERR_INPUT,
                      "line %ld: more than %zu fields, the header has %zu", start, c->max_fields,
                      c->max_fields);
  return fail(err, errlen, GW_STORE_ERR_INPUT,
              "line %ld: a record longer than %zu bytes (raise --max-record to load it)", start,
              c->max_record);
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
          return fail(err, errlen, GW_STORE_ERR_INPUT,
                      "line %ld, column %zu: unterminated quoted field (no closing \")", *start,
                      c->nf);
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
        return fail(err, errlen, GW_STORE_ERR_INPUT,
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

/* ---- CSV import --------------------------------------------------------------------------- */

typedef struct import {
  size_t ncols;
  gw_column *cols;
  char *typed;         /* the header gave column i's type */
  unsigned char *can;  /* CAN_* of an untyped column */
  unsigned char *seen; /* an untyped column had a non-empty value */
} import;

static void import_free(import *im)
{
  for (size_t i = 0; i < im->ncols; i++) free(im->cols[i].name);
  free(im->cols);
  free(im->typed);
  free(im->can);
  free(im->seen);
  memset(im, 0, sizeof *im);
}

static int read_header(csv *c, import *im, char *err, size_t errlen)
{
  long line = 1;
  char buf[64];
  int rc = read_record(c, &line, err, errlen);
  if (rc < 0) return rc;
  if (rc == 0)
    return fail(err, errlen, GW_STORE_ERR_INPUT, "line 1: empty file (a header row is required)");
  size_t n = c->nf, len;
  if (n == 1 && field(c, 0, &len) && len == 0)
    return fail(err, errlen, GW_STORE_ERR_INPUT, "line %ld: the header row is empty", line);
  if (n > MAX_COLS)
    return fail(err, errlen, GW_STORE_ERR_INPUT, "line %ld: %zu columns, at most %d are allowed",
                line, n, MAX_COLS);
  im->cols = calloc(n, sizeof *im->cols);
  im->typed = calloc(n, 1);
  im->can = calloc(n, 1);
  im->seen = calloc(n, 1);
  if (!im->cols || !im->typed || !im->can || !im->seen) return nomem(err, errlen);
  for (size_t i = 0; i < n; i++) {
    const char *s = field(c, i, &len);
    const char *colon = memchr(s, ':', len);
    size_t nlen = colon ? (size_t)(colon - s) : len;
    char type = 0;
    if (colon) {
      size_t tlen = len - nlen - 1;
      if (tlen != 1 || !strchr("ijfa", colon[1]) || colon[1] == '\0')
        return fail(err, errlen, GW_STORE_ERR_INPUT,
                    "line %ld, column %zu: bad column type in \"%s\" (after the colon: i, j, f "
                    "or a)",
                    line, i + 1, shown(s, len, buf, sizeof buf));
      type = colon[1];
    }
    if (nlen == 0)
      return fail(err, errlen, GW_STORE_ERR_INPUT, "line %ld, column %zu: empty column name", line,
                  i + 1);
    if (s[0] == '_')
      return fail(err, errlen, GW_STORE_ERR_INPUT,
                  "line %ld, column %zu: column name \"%s\" is reserved (names starting with _ "
                  "belong to the gateway)",
                  line, i + 1, shown(s, nlen, buf, sizeof buf));
    if (!valid_ident(s, nlen))
      return fail(err, errlen, GW_STORE_ERR_INPUT, "line %ld, column %zu: bad column name \"%s\"",
                  line, i + 1, shown(s, nlen, buf, sizeof buf));
    /* SQLite identifiers ignore case, so Sales and sales would be one column. */
    for (size_t j = 0; j < i; j++)
      if (strlen(im->cols[j].name) == nlen && strncasecmp(im->cols[j].name, s, nlen) == 0)
        return fail(err, errlen, GW_STORE_ERR_INPUT,
                    "line %ld, column %zu: duplicate column name \"%.*s\"", line, i + 1, (int)nlen,
                    s);
    im->cols[i].name = strndup(s, nlen);
    if (!im->cols[i].name) return nomem(err, errlen);
    im->ncols = i + 1;
    im->cols[i].type = type ? type : 'a';
    im->typed[i] = type != 0;
    im->can[i] = CAN_I | CAN_J | CAN_F;
  }
  return 0;
}

static int ragged(long line, size_t nf, size_t ncols, char *err, size_t errlen)
{
  return fail(err, errlen, GW_STORE_ERR_INPUT, "line %ld: %zu field%s, the header has %zu", line,
              nf, nf == 1 ? "" : "s", ncols);
}

static int bad_value(const import *im, long line, size_t col, const char *s, size_t len,
                     const char *why, char *err, size_t errlen)
{
  char buf[64];
  return fail(err, errlen, GW_STORE_ERR_INPUT, "line %ld, column %zu (%s): \"%s\" %s", line,
              col + 1, im->cols[col].name, shown(s, len, buf, sizeof buf), why);
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
static int scan_rows(csv *c, import *im, char *err, size_t errlen)
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
static int bind_record(const csv *c, const import *im, long line, sqlite3_stmt *st, char *err,
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
      return fail(err, errlen, GW_STORE_ERR_INPUT,
                  "line %ld, column %zu (%s): a value of %zu bytes, more than SQLite stores in "
                  "one field",
                  line, i + 1, im->cols[i].name, len);
    }
  }
  return 0;
}

/* Second pass: the rows into a new version, all in the writer's transaction. */
static int load_rows(sqlite3 *db, const char *table, const char *path, const import *im,
                     size_t max_record, char *err, size_t errlen)
{
  csv c;
  long line;
  int rc = csv_open(&c, path, max_record, err, errlen);
  if (rc) return rc;
  rc = read_record(&c, &line, err, errlen);
  if (rc == 1 && c.nf != im->ncols)
    rc = fail(err, errlen, GW_STORE_ERR_IO, "\"%s\" changed while being imported", path);
  else if (rc == 0)
    rc = fail(err, errlen, GW_STORE_ERR_IO, "\"%s\" changed while being imported", path);
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
static int check_csv(const char *table, const char *path, size_t max_record, import *im, char *err,
                     size_t errlen)
{
  int rc = writable_name(table, err, errlen);
  if (rc) return rc;
  csv c;
  rc = csv_open(&c, path, max_record, err, errlen);
  if (rc) return rc;
  rc = read_header(&c, im, err, errlen);
  if (!rc) rc = scan_rows(&c, im, err, errlen);
  csv_close(&c);
  return rc;
}

int gw_store_import_csv(sqlite3 *db, const char *table, const char *csv_path, char *err,
                        size_t errlen)
{
import im = {0 };
  int rc = check_csv(table, csv_path, GW_STORE_MAX_RECORD, &im, err, errlen);
  if (!rc) rc = load_rows(db, table, csv_path, &im, GW_STORE_MAX_RECORD, err, errlen);
  import_free(&im);
  return rc;
}

int gw_store_check_target(const char *path, int create, char *err, size_t errlen)
{
  struct stat sb;
  if (stat(path, &sb) != 0) {
    if (errno == ENOENT && create) return 0;
    if (errno == ENOENT)
      return fail(err, errlen, GW_STORE_ERR_IO,
                  "no database \"%s\" (give --create to make a new one)", path);
    return fail(err, errlen, GW_STORE_ERR_IO, "cannot open database \"%s\": %s", path,
                strerror(errno));
  }
  if (!S_ISREG(sb.st_mode))
    return fail(err, errlen, GW_STORE_ERR_IO, "\"%s\" is not a regular file", path);
  if (sb.st_size == 0) return 0; /* an empty file is an empty database: nothing to harm */
  /* Read-only, so a file that turns out not to be ours is left exactly as it was. */
  sqlite3 *d = NULL;
  int rc = 0;
  if (sqlite3_open_v2(path, &d, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    rc = fail(err, errlen, GW_STORE_ERR_IO, "cannot open database \"%s\": %s", path,
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
    rc = fail(err, errlen, GW_STORE_ERR_IO, "\"%s\" is not an SQLite database", path);
  } else {
    rc = fail(err, errlen, GW_STORE_ERR_DB, "reading \"%s\": %s", path, sqlite3_errmsg(d));
  }
  sqlite3_finalize(st);
  sqlite3_close(d);
  if (!rc && tables > 0 && ours < 2)
    rc = fail(err, errlen, GW_STORE_ERR_IO,
              "\"%s\" is an SQLite database but not a tt-gateway one (it has no tt_catalog): "
              "refusing to change it",
              path);
  return rc;
}

int gw_store_import_file(const char *db_path, int create, const char *table, const char *csv_path,
                         size_t max_record, sqlite3 **out, char *err, size_t errlen)
{
  *out = NULL;
import im = {0 };
  sqlite3 *db = NULL;
  struct stat sb;
  int existed = stat(db_path, &sb) == 0;
  int rc = check_csv(table, csv_path, max_record, &im, err, errlen);
  if (rc && err && errlen) { /* a message about the file names the file */
    char *why = strdup(err);
    if (why) snprintf(err, errlen, "%s: %s", csv_path, why);
    free(why);
  }
  if (!rc) rc = gw_store_check_target(db_path, create, err, errlen);
  if (!rc) rc = gw_store_open(db_path, create, &db, err, errlen);
  if (!rc) rc = load_rows(db, table, csv_path, &im, max_record, err, errlen);
  import_free(&im);
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

/* ---- reading the catalog ---------------------------------------------------------------- */

int gw_store_generation(sqlite3 *db, int64_t *gen)
{
  sqlite3_stmt *st;
  *gen = 0;
  if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM tt_catalog", -1, &st, NULL) !=
      SQLITE_OK)
    return GW_STORE_ERR_DB;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *gen = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 0 : GW_STORE_ERR_DB;
}

void gw_table_info_free(gw_table_info *t)
{
  if (!t) return;
  free(t->name);
  free(t->title);
  for (size_t i = 0; i < t->ncols; i++) {
    free(t->cols[i].name);
    free(t->cols[i].format);
    free(t->cols[i].label);
  }
  free(t->cols);
  memset(t, 0, sizeof *t);
}

/* Fill *t from a row (version, name, title, nrows, loaded_at) of `cat` and the columns of
 * that version, read through `cst` (SELECT name, type, format, label ... WHERE version = ?1). */
static int fill_info(sqlite3 *db, sqlite3_stmt *cat, sqlite3_stmt *cst, gw_table_info *t, char *err,
                     size_t errlen)
{
  int oom = 0;
  memset(t, 0, sizeof *t);
  t->version = sqlite3_column_int64(cat, 0);
  t->name = col_dup(cat, 1, &oom);
  t->title = col_dup(cat, 2, &oom);
  t->nrows = sqlite3_column_int64(cat, 3);
  t->loaded_at = sqlite3_column_double(cat, 4);
  size_t cap = 0;
  int rc;
  sqlite3_bind_int64(cst, 1, t->version);
  while ((rc = sqlite3_step(cst)) == SQLITE_ROW) {
    if (t->ncols == cap) {
      size_t ncap = cap ? cap * 2 : 8;
      gw_column *p = realloc(t->cols, ncap * sizeof *p);
      if (!p) {
        oom = 1;
        break;
      }
      t->cols = p;
      cap = ncap;
    }
    gw_column *col = &t->cols[t->ncols++];
    memset(col, 0, sizeof *col);
    col->name = col_dup(cst, 0, &oom);
    const char *ty = (const char *)sqlite3_column_text(cst, 1);
    col->type = ty && ty[0] ? ty[0] : 'a';
    col->format = col_dup(cst, 2, &oom);
    col->label = col_dup(cst, 3, &oom);
  }
  int ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
  sqlite3_reset(cst);
  if (oom || !ok) {
    gw_table_info_free(t);
    return oom ? nomem(err, errlen) : db_fail(db, err, errlen, "reading columns");
  }
  return 0;
}

static const char cols_sql[] =
    "SELECT name, type, format, label FROM tt_columns WHERE version = ?1 ORDER BY pos";

/* Catalog reads run under a savepoint so the catalog and column rows come from one snapshot,
 * even if gc commits in between; a savepoint also nests inside a caller's transaction. */
static void end_read(sqlite3 *db)
{
  sqlite3_exec(db, "RELEASE tt_read", NULL, NULL, NULL);
}

/* Flag the columns that lead an index of the version's table. The importer makes none, so this
 * is 0 everywhere unless someone added an index to the file by hand; the flag then says so. */
static int mark_indexed(sqlite3 *db, gw_table_info *t, char *err, size_t errlen)
{
  char table[32];
  snprintf(table, sizeof table, "tt_v%lld", (long long)t->version);
  sqlite3_stmt *st;
  int rc = prepare(db,
                   "SELECT ii.name FROM pragma_index_list(?1) AS il,"
                   " pragma_index_info(il.name) AS ii WHERE ii.seqno = 0",
                   &st, err, errlen);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0);
    for (size_t i = 0; name && i < t->ncols; i++)
      if (strcmp(t->cols[i].name, name) == 0) t->cols[i].indexed = 1;
  }
  rc = s == SQLITE_DONE ? 0 : db_fail(db, err, errlen, "reading the indexes");
  sqlite3_finalize(st);
  return rc;
}

static int lonely(gw_table_info *out, char *err, size_t errlen)
{
  out->version = 0;
  out->name = strdup(GW_STORE_LONELY);
  out->title = strdup("One row, no columns");
  out->nrows = 1;
  if (!out->name || !out->title) {
    gw_table_info_free(out);
    return nomem(err, errlen);
  }
  return 0;
}

int gw_store_resolve(sqlite3 *db, const char *table, int64_t gen, gw_table_info *out, char *err,
                     size_t errlen)
{
  memset(out, 0, sizeof *out);
  char buf[64];
  if (!table) table = "";
  if (strcmp(table, GW_STORE_LONELY) == 0) return lonely(out, err, errlen);
  int rc = exec(db, "SAVEPOINT tt_read", err, errlen);
  if (rc) return rc;
  sqlite3_stmt *cat = NULL, *cst = NULL;
  rc = prepare(db,
               "SELECT version, name, title, nrows, loaded_at FROM tt_catalog"
               " WHERE name = ?1 AND version <= ?2 ORDER BY version DESC LIMIT 1",
               &cat, err, errlen);
  if (!rc) rc = prepare(db, cols_sql, &cst, err, errlen);
  if (!rc) {
    sqlite3_bind_text(cat, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_int64(cat, 2, gen);
    int s = sqlite3_step(cat);
    if (s == SQLITE_ROW) {
      rc = fill_info(db, cat, cst, out, err, errlen);
      if (!rc) rc = mark_indexed(db, out, err, errlen);
      if (rc) gw_table_info_free(out);
    } else if (s == SQLITE_DONE)
      rc = fail(err, errlen, GW_STORE_ERR_NOTABLE, "no table \"%s\"",
                shown(table, strlen(table), buf, sizeof buf));
    else
      rc = db_fail(db, err, errlen, "reading the catalog");
  }
  sqlite3_finalize(cat);
  sqlite3_finalize(cst);
  end_read(db);
  return rc;
}

int gw_store_list(sqlite3 *db, int64_t gen, gw_store_list_fn fn, void *ud, char *err, size_t errlen)
{
  int rc = exec(db, "SAVEPOINT tt_read", err, errlen);
  if (rc) return rc;
  sqlite3_stmt *cat = NULL, *cst = NULL;
  rc = prepare(db,
               "SELECT c.version, c.name, c.title, c.nrows, c.loaded_at FROM tt_catalog c"
               " JOIN (SELECT max(version) AS v FROM tt_catalog WHERE version <= ?1"
               " GROUP BY name) m ON c.version = m.v ORDER BY c.name",
               &cat, err, errlen);
  if (!rc) rc = prepare(db, cols_sql, &cst, err, errlen);
  if (!rc) {
    sqlite3_bind_int64(cat, 1, gen);
    int s;
    while ((s = sqlite3_step(cat)) == SQLITE_ROW) {
      gw_table_info t;
      rc = fill_info(db, cat, cst, &t, err, errlen);
      if (rc) break;
      int stop = fn(ud, &t);
      gw_table_info_free(&t);
      if (stop) break;
    }
    if (!rc && s != SQLITE_ROW && s != SQLITE_DONE) rc = db_fail(db, err, errlen, "listing");
  }
  sqlite3_finalize(cat);
  sqlite3_finalize(cst);
  end_read(db);
  return rc;
}

/* ---- garbage collection ------------------------------------------------------------------ */

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Is some live generation g in [lo, hi)? live is sorted. */
static int live_in(const int64_t *live, size_t n, int64_t lo, int64_t hi)
{
  size_t a = 0, b = n;
  while (a < b) {
    size_t m = a + (b - a) / 2;
    if (live[m] < lo)
      a = m + 1;
    else
      b = m;
  }
  return a < n && live[a] < hi;
}

typedef struct vrow {
  char *name;
  int64_t version;
} vrow;

/* Versions to drop, decided inside the write transaction so no import can slip in between. */
static int doomed(sqlite3 *db, const int64_t *live, size_t nlive, int64_t **out, size_t *nout,
                  char *err, size_t errlen)
{
  sqlite3_stmt *st;
  vrow *rows = NULL;
  size_t n = 0, cap = 0;
  int64_t *sorted = NULL, *drop = NULL;
  *out = NULL;
  *nout = 0;
  int rc =
      prepare(db, "SELECT name, version FROM tt_catalog ORDER BY name, version", &st, err, errlen);
  if (rc) return rc;
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      vrow *p = realloc(rows, ncap * sizeof *p);
      if (!p) break;
      rows = p;
      cap = ncap;
    }
    int oom = 0;
    rows[n].name = col_dup(st, 0, &oom);
    rows[n].version = sqlite3_column_int64(st, 1);
    n++;
    if (oom) break;
  }
  if (s != SQLITE_DONE)
    rc = s == SQLITE_ROW ? nomem(err, errlen) : db_fail(db, err, errlen, "reading the catalog");
  sqlite3_finalize(st);

  if (!rc && nlive) {
    sorted = malloc(nlive * sizeof *sorted);
    if (!sorted)
      rc = nomem(err, errlen);
    else {
      memcpy(sorted, live, nlive * sizeof *sorted);
      qsort(sorted, nlive, sizeof *sorted, cmp_i64);
    }
  }
  if (!rc && n) {
    drop = malloc(n * sizeof *drop);
    if (!drop) rc = nomem(err, errlen);
  }
  /* Version k of a name is what generation g sees when v[k] <= g < v[k+1]; the newest is
   * always kept, since every future session sees it. */
  for (size_t k = 0; !rc && k < n; k++) {
    int newest = k + 1 == n || !rows[k].name || !rows[k + 1].name ||
                 strcmp(rows[k].name, rows[k + 1].name) != 0;
    if (!newest && !live_in(sorted, nlive, rows[k].version, rows[k + 1].version))
      drop[(*nout)++] = rows[k].version;
  }
  for (size_t k = 0; k < n; k++) free(rows[k].name);
  free(rows);
  free(sorted);
  if (rc) {
    free(drop);
    *nout = 0;
    return rc;
  }
  *out = drop;
  return 0;
}

int gw_store_gc(sqlite3 *db, const int64_t *live, size_t nlive, char *err, size_t errlen)
{
  int rc = exec(db, "BEGIN IMMEDIATE", err, errlen);
  if (rc) return rc;
  int64_t *drop = NULL;
  size_t ndrop = 0;
  sqlite3_stmt *dcol = NULL, *dcat = NULL;
  rc = doomed(db, live, nlive, &drop, &ndrop, err, errlen);
  if (!rc) rc = prepare(db, "DELETE FROM tt_columns WHERE version = ?1", &dcol, err, errlen);
  if (!rc) rc = prepare(db, "DELETE FROM tt_catalog WHERE version = ?1", &dcat, err, errlen);
  for (size_t i = 0; !rc && i < ndrop; i++) {
    char sql[64];
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS tt_v%lld", (long long)drop[i]);
    rc = exec(db, sql, err, errlen);
    sqlite3_bind_int64(dcol, 1, drop[i]);
    sqlite3_bind_int64(dcat, 1, drop[i]);
    if (!rc) rc = step_done(db, dcol, "dropping columns", err, errlen);
    if (!rc) rc = step_done(db, dcat, "dropping from the catalog", err, errlen);
  }
  sqlite3_finalize(dcol);
  sqlite3_finalize(dcat);
  free(drop);
  if (!rc) rc = exec(db, "COMMIT", err, errlen);
  if (rc) {
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
  }
  return ndrop > INT_MAX ? INT_MAX : (int)ndrop;
}
