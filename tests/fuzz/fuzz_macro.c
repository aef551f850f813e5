/*
 * fuzz_macro: libFuzzer target for the Macro Language compiler. One input is the text of a
 * query's <ops>, compiled (gw_macro_compile, through the gateway's pool of Lua states) against
 * a fixed schema in an in-memory database; a plan that compiles must prepare, bind and run in
 * SQLite, since the compiler promises valid SQL or an rc.
 */
#include "macro.h"
#include "store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gw_macro *macro;
static sqlite3 *db;
static int64_t gen;

static void add_table(const char *name, const gw_column *cols, size_t ncols, int rows)
{
  char err[512];
  gw_store_writer *w;
  if (gw_store_begin(db, name, NULL, cols, ncols, &w, err, sizeof err)) {
    fprintf(stderr, "fuzz_macro: %s\n", err);
    exit(2);
  }
  for (int r = 0; r < rows; r++) {
    sqlite3_stmt *st = gw_store_row(w);
    for (size_t c = 0; c < ncols; c++) {
      if ((r + (int)c) % 4 == 3) continue; /* some N/A */
      if (cols[c].type == 'a')
        sqlite3_bind_text(st, (int)c + 1, r % 2 ? "abc" : "x y", -1, SQLITE_STATIC);
      else if (cols[c].type == 'f')
        sqlite3_bind_double(st, (int)c + 1, r * 1.5 - 2);
      else
        sqlite3_bind_int64(st, (int)c + 1, r * 7 - 3);
    }
    if (gw_store_next(w, err, sizeof err)) {
      fprintf(stderr, "fuzz_macro: %s\n", err);
      exit(2);
    }
  }
  if (gw_store_commit(w, err, sizeof err)) {
    fprintf(stderr, "fuzz_macro: %s\n", err);
    exit(2);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  char err[512];
  if (gw_store_open(":memory:", 1, &db, err, sizeof err) || gw_macro_register_sql(db) ||
      gw_macro_new(&macro, err, sizeof err)) {
    fprintf(stderr, "fuzz_macro: %s\n", err);
    exit(2);
  }
  static const gw_column item[] = {{"date", 'i', "type:date", "Date", 0},
                                   {"store", 'i', NULL, NULL, 0},
                                   {"sales", 'f', "dec:2", NULL, 0},
                                   {"big", 'j', NULL, NULL, 0},
                                   {"name", 'a', NULL, "Name", 0}};
  static const gw_column stores[] = {{"store", 'i', NULL, NULL, 0}, {"city", 'a', NULL, NULL, 0}};
  add_table("test.item", item, 5, 12);
  add_table("test.stores", stores, 2, 4);
  gw_store_generation(db, &gen);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *ops = malloc(size + 1);
  if (!ops) return 0;
  memcpy(ops, data, size);
  ops[size] = '\0'; /* the gateway hands the compiler text from libxml2: never a NUL */
  gw_plan plan;
  int rc;
  char msg[1024];
  if (gw_macro_compile(macro, db, gen, "test.item", ops, &plan, &rc, msg, sizeof msg) == 0) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, plan.sql, -1, &st, NULL) != SQLITE_OK || gw_plan_bind(&plan, st)) {
      fprintf(stderr, "fuzz_macro: compiled SQL does not prepare: %s\nops: %s\nsql: %s\n",
              sqlite3_errmsg(db), ops, plan.sql);
      abort();
    }
    int s, rows = 0;
    while ((s = sqlite3_step(st)) == SQLITE_ROW && rows < 1000) rows++;
    /* tt_error is the compiler's own run-time check: an rc 9 the data trips, not a bug. */
    if (s != SQLITE_ROW && s != SQLITE_DONE &&
        strncmp(sqlite3_errmsg(db), GW_MACRO_ERROR_PREFIX, strlen(GW_MACRO_ERROR_PREFIX)) != 0) {
      fprintf(stderr, "fuzz_macro: compiled SQL fails: %s\nops: %s\nsql: %s\n", sqlite3_errmsg(db),
              ops, plan.sql);
      abort();
    }
    sqlite3_finalize(st);
    gw_plan_free(&plan);
  } else if (rc == 1 && strstr(msg, "internal error")) {
    fprintf(stderr, "fuzz_macro: %s\nops: %s\n", msg, ops);
    abort();
  }
  free(ops);
  return 0;
}
