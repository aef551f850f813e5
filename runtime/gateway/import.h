/*
 * import: CSV files into new table versions of the store (store.h), all or nothing.
 *
 * Errors are the store's: 0 or a negative GW_STORE_* code, with a message naming the line and
 * column of the CSV input (or the file) in err.
 */
#ifndef GW_IMPORT_H
#define GW_IMPORT_H

#include <sqlite3.h>
#include <stddef.h>

#include "store.h"

/* The default cap on one CSV record, in bytes (its fields plus one byte each). */
#define GW_IMPORT_MAX_RECORD (64UL << 20)

/* Load a CSV file as a new version of `table`, all or nothing. Header cells are `name` or
 * `name:t` with t one of i j f a; untyped columns are inferred. An empty field is N/A. The
 * whole file is checked before the database is written; records are capped at
 * GW_IMPORT_MAX_RECORD bytes. A value SQLite cannot store is an error, never N/A. */
int gw_import_csv(sqlite3 *db, const char *table, const char *csv_path, char *err, size_t errlen);

/* May an import write into `path`? 0 when it is a tt-gateway database, an empty file or an
 * SQLite database without tables, or does not exist and `create` is set; else an error. The
 * file is only read. */
int gw_import_check_target(const char *path, int create, char *err, size_t errlen);

/* The import command: the CSV checked in full (records capped at max_record bytes, 0 = no
 * cap), then the target (gw_import_check_target), and only then the database opened (made when
 * `create`) and the new version written. On success *db is the open database. A failure
 * leaves every file as it was. */
int gw_import_file(const char *db_path, int create, const char *table, const char *csv_path,
                   size_t max_record, sqlite3 **db, char *err, size_t errlen);

#endif
