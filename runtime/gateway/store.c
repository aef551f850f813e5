/*
 * store: tt-gateway's tables in one SQLite file. The catalog of table versions, the writer that
 * lays a version out (used by the CSV importer and the demo tables), name resolution at a
 * generation, and the collector of versions no live session can see. Layout: see store.h.
 */
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_NAME 255

/* ---- errors ---------------------------------------------------------------------------- */

int gw_store_fail(char *err, size_t errlen, int code, const char *fmt, ...)
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
  return gw_store_fail(err, errlen, GW_STORE_ERR_DB, "%s: %s", what, sqlite3_errmsg(db));
}

int gw_store_nomem(char *err, size_t errlen)
{
  return gw_store_fail(err, errlen, GW_STORE_ERR_DB, "out of memory");
}

const char *gw_store_shown(const char *s, size_t len, char *out, size_t outlen)
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
  return gw_store_fail(err, errlen, GW_STORE_ERR_NAME,
                       "bad table name \"%s\": want two or more dot-separated names, each a letter "
                       "followed by letters, digits or _, at most %d characters in all",
                       gw_store_shown(t, strlen(t), buf, sizeof buf), MAX_NAME);
}

int gw_store_writable_name(const char *table, char *err, size_t errlen)
{
  if (!gw_store_valid_name(table)) return bad_name(table, err, errlen);
  if (strcmp(table, GW_STORE_LONELY) == 0)
    return gw_store_fail(
        err, errlen, GW_STORE_ERR_NAME,
        "bad table name \"%s\": it is built in (one row, no columns) and cannot be loaded", table);
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

int gw_store_open(const char *path, int how, sqlite3 **db, char *err, size_t errlen)
{
  int create = how & GW_STORE_CREATE;
  *db = NULL;
  /* SQLite's own "unable to open database file" does not say why; a plain file path that is
   * missing is the common case, so say that. URIs and :memory: are left to SQLite. */
  struct stat sb;
  if (!create && strncmp(path, "file:", 5) != 0 && strcmp(path, ":memory:") != 0 &&
      stat(path, &sb) != 0)
    return gw_store_fail(err, errlen, GW_STORE_ERR_IO, "cannot open database \"%s\": %s", path,
                         strerror(errno));
  int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) |
              (how & GW_STORE_PRIVATE ? SQLITE_OPEN_NOMUTEX : 0);
  sqlite3 *d = NULL;
  if (sqlite3_open_v2(path, &d, flags, NULL) != SQLITE_OK) {
    gw_store_fail(err, errlen, GW_STORE_ERR_IO, "cannot open database \"%s\": %s", path,
                  d ? sqlite3_errmsg(d) : "out of memory");
    sqlite3_close(d);
    return GW_STORE_ERR_IO;
  }
  /* Before the first statement, so even switching to WAL waits for another process. */
  sqlite3_busy_timeout(d, 10000);
  int rc = 0;
  if (sqlite3_exec(d, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK) {
    if (sqlite3_errcode(d) == SQLITE_NOTADB)
      rc = gw_store_fail(err, errlen, GW_STORE_ERR_IO, "\"%s\" is not an SQLite database", path);
    else
      rc = gw_store_fail(err, errlen, GW_STORE_ERR_DB, "opening \"%s\": %s", path,
                         sqlite3_errmsg(d));
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

int gw_store_valid_ident(const char *s, size_t len)
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
    if (!gw_store_valid_ident(s, n)) return 0;
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
  if (ncols > GW_STORE_MAX_COLS)
    return gw_store_fail(err, errlen, GW_STORE_ERR_INPUT, "%zu columns, at most %d are allowed",
                         ncols, GW_STORE_MAX_COLS);
  for (size_t i = 0; i < ncols; i++) {
    const char *n = cols[i].name ? cols[i].name : "";
    if (!gw_store_valid_ident(n, strlen(n)))
      return gw_store_fail(err, errlen, GW_STORE_ERR_INPUT, "column %zu: bad column name \"%s\"",
                           i + 1, gw_store_shown(n, strlen(n), buf, sizeof buf));
    if (!cols[i].type || !strchr("ijfa", cols[i].type))
      return gw_store_fail(err, errlen, GW_STORE_ERR_INPUT, "column %zu (%s): bad type '%c'", i + 1,
                           n, cols[i].type ? cols[i].type : '?');
    for (size_t j = 0; j < i; j++)
      if (strcasecmp(cols[j].name, n) == 0)
        return gw_store_fail(err, errlen, GW_STORE_ERR_INPUT,
                             "column %zu: duplicate column name \"%s\"", i + 1, n);
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
    rc = gw_store_nomem(err, errlen);
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
  int rc = gw_store_writable_name(table, err, errlen);
  if (rc) return rc;
  rc = check_columns(cols, ncols, err, errlen);
  if (rc) return rc;
  gw_store_writer *nw = calloc(1, sizeof *nw);
  if (!nw) return gw_store_nomem(err, errlen);
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
    rc = gw_store_fail(err, errlen, GW_STORE_ERR_DB, "inserting row %lld: %s",
                       (long long)w->nrows + 1, sqlite3_errmsg(w->db));
  else
    w->nrows++;
  sqlite3_reset(w->ins);
  sqlite3_clear_bindings(w->ins);
  return rc;
}

int gw_store_commit(gw_store_writer *w, char *err, size_t errlen)
{
  if (!w) return gw_store_fail(err, errlen, GW_STORE_ERR_DB, "no load in progress");
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
    return oom ? gw_store_nomem(err, errlen) : db_fail(db, err, errlen, "reading columns");
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
    return gw_store_nomem(err, errlen);
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
      rc = gw_store_fail(err, errlen, GW_STORE_ERR_NOTABLE, "no table \"%s\"",
                         gw_store_shown(table, strlen(table), buf, sizeof buf));
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
    rc = s == SQLITE_ROW ? gw_store_nomem(err, errlen)
                         : db_fail(db, err, errlen, "reading the catalog");
  sqlite3_finalize(st);

  if (!rc && nlive) {
    sorted = malloc(nlive * sizeof *sorted);
    if (!sorted)
      rc = gw_store_nomem(err, errlen);
    else {
      memcpy(sorted, live, nlive * sizeof *sorted);
      qsort(sorted, nlive, sizeof *sorted, cmp_i64);
    }
  }
  if (!rc && n) {
    drop = malloc(n * sizeof *drop);
    if (!drop) rc = gw_store_nomem(err, errlen);
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
