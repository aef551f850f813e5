/*
 * store: the gateway's tables in SQLite.
 *
 * Every import of a table makes a new version. Versions are numbered by one counter shared by
 * all tables (the catalog's `version` column), so a single number, the generation, names a
 * consistent view of every table: a session remembers the generation current at its login and
 * resolves each table name to the newest version not newer than it.
 *
 * Layout in the database file:
 *   tt_catalog(version INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, title TEXT,
 *              nrows INTEGER, loaded_at REAL)           -- one row per table version
 *   tt_columns(version, pos, name, type, format, label)  -- its columns, pos from 0
 *   tt_v<version>(_r INTEGER PRIMARY KEY, <columns>...)  -- its rows; _r = 1..nrows keeps order
 *
 * default.lonely (GW_STORE_LONELY) is built in: one row, no columns, in every generation. It is
 * version 0, never in the catalog; its rows are the view temp.tt_v0 that gw_store_open makes in
 * each connection. It cannot be imported over, and gw_store_list does not list it.
 *
 * Errors: functions return 0 or a negative GW_STORE_* code and write a message naming the
 * problem into err. The CSV importer that fills versions from files is import.h.
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

enum {
  GW_STORE_OK = 0,
  GW_STORE_ERR_IO = -1,      /* cannot open or read a file */
  GW_STORE_ERR_INPUT = -2,   /* bad CSV: ragged row, value not of its type, bad header */
  GW_STORE_ERR_NAME = -3,    /* bad table name */
  GW_STORE_ERR_NOTABLE = -4, /* no such table in this generation */
  GW_STORE_ERR_DB = -5,      /* SQLite failed */
};

#define GW_STORE_LONELY "default.lonely"

typedef struct gw_column {
  char *name;   /* reference name: [A-Za-z][A-Za-z0-9_]* */
  char type;    /* 'i' (32-bit int), 'j' (64-bit int), 'f' (double), 'a' (text) */
  char *format; /* display format, may be NULL (e.g. "type:date" for YYYYMMDD ints) */
  char *label;  /* heading, may be NULL (then the name is the heading) */
  int indexed;  /* gw_store_resolve: the column leads an SQLite index of its version's table */
} gw_column;

typedef struct gw_table_info {
  int64_t version; /* catalog version; the rows live in tt_v<version> */
  char *name;      /* dotted path */
  char *title;     /* may be NULL */
  int64_t nrows;
  double loaded_at; /* unix time, seconds */
  size_t ncols;
  gw_column *cols;
} gw_table_info;

/* The error idiom of the store and the importer: write the message into err (when given)
 * and return code; gw_store_nomem is GW_STORE_ERR_DB with "out of memory". */
__attribute__((format(printf, 4, 5))) int gw_store_fail(char *err, size_t errlen, int code,
                                                        const char *fmt, ...);
int gw_store_nomem(char *err, size_t errlen);

/* gw_store_open's flags. */
enum {
  GW_STORE_CREATE = 1, /* make the file if it is missing */
  GW_STORE_PRIVATE = 2 /* one thread at a time uses the connection (the caller's lock sees to
                          it): SQLite takes no mutex of its own on every call */
};
/* Open a database, WAL mode, busy timeout, catalog tables ensured. */
int gw_store_open(const char *path, int flags, sqlite3 **db, char *err, size_t errlen);

/* A table name is a dotted path of two or more identifiers: "pub.demo.retail.item". */
int gw_store_valid_name(const char *name);

/* Column names: a letter, then letters, digits or _ (len bytes of s). */
int gw_store_valid_ident(const char *s, size_t len);

/* A name a version may be written under: valid, and not the built-in default.lonely. 0, or
 * GW_STORE_ERR_NAME with a message. */
int gw_store_writable_name(const char *table, char *err, size_t errlen);

/* SQLite's default SQLITE_MAX_COLUMN is 2000 and _r takes one of them. */
#define GW_STORE_MAX_COLS 1999

/* A value quoted in a message: at most 40 bytes of s (not cutting a UTF-8 sequence), control
 * characters shown as '?', so a runaway field cannot flood the message. Returns out. */
const char *gw_store_shown(const char *s, size_t len, char *out, size_t outlen);

/* Largest version in the catalog (0 when empty): the generation a new session sees. */
int gw_store_generation(sqlite3 *db, int64_t *gen);

/* The version of `table` visible at generation `gen`. GW_STORE_ERR_NOTABLE when none. */
int gw_store_resolve(sqlite3 *db, const char *table, int64_t gen, gw_table_info *out, char *err,
                     size_t errlen);
void gw_table_info_free(gw_table_info *t);

/* Call fn for every table visible at generation gen, in name order; fn returns nonzero to stop. */
typedef int (*gw_store_list_fn)(void *ud, const gw_table_info *t);
int gw_store_list(sqlite3 *db, int64_t gen, gw_store_list_fn fn, void *ud, char *err,
                  size_t errlen);

/* Drop every version that is neither the newest of its table nor visible at one of the
 * generations in live[0..nlive). Returns the number of versions dropped, or a negative code. */
int gw_store_gc(sqlite3 *db, const int64_t *live, size_t nlive, char *err, size_t errlen);

/* ---- writing a version row by row --------------------------------------------------------
 * gw_store_begin opens a write transaction, adds the catalog and column rows of a new version
 * of `table` and creates its tt_v<version> table. Bind ?1..?ncols of gw_store_row's statement
 * (an unbound parameter is N/A) and call gw_store_next once per row; _r is numbered for you.
 * gw_store_commit records nrows and commits; gw_store_abort (or any failure of begin or commit)
 * rolls everything back; after gw_store_next fails, call gw_store_abort. Commit and abort free
 * the writer. The CSV importer and the demo writer both use this. */
typedef struct gw_store_writer gw_store_writer;
int gw_store_begin(sqlite3 *db, const char *table, const char *title, const gw_column *cols,
                   size_t ncols, gw_store_writer **w, char *err, size_t errlen);
sqlite3_stmt *gw_store_row(gw_store_writer *w); /* the insert statement: bind ?1..?ncols */
int gw_store_next(gw_store_writer *w, char *err, size_t errlen);   /* step + reset + clear */
int gw_store_commit(gw_store_writer *w, char *err, size_t errlen); /* sets nrows, commits, frees */
void gw_store_abort(gw_store_writer *w); /* rolls back, frees w; NULL is ok */

#endif
