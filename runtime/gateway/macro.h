/*
 * macro: the bridge to the Macro Language compiler written in Lua (runtime/gateway/macro/,
 * modules ttgw.macro*), whose files are built into the gateway (cmake/embed_lua.cmake).
 *
 * A small pool of Lua states, each with the compiler loaded, lets request threads compile at
 * the same time. The compiler asks back for table schemas through a resolver that reads the
 * catalog at the session's generation, so a query sees exactly the session's tables.
 */
#ifndef GW_MACRO_H
#define GW_MACRO_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct gw_macro gw_macro;

/* One embedded Lua file; the generated array gw_macro_lua ends with a NULL name. */
typedef struct gw_lua_file {
  const char *name; /* module name, e.g. "ttgw.macro.expr" */
  const unsigned char *text;
  size_t len;
} gw_lua_file;

extern const gw_lua_file gw_macro_lua[];

typedef struct gw_param {
  char type; /* 'i' integer, 'f' double, 'a' text, 'n' N/A */
  int64_t i;
  double f;
  char *s;
} gw_param;

typedef struct gw_plan {
  char *sql; /* one SELECT, rows in worksheet order */
  gw_param *params;
  size_t nparams;
  gw_column *cols;
  size_t ncols;
} gw_plan;

int gw_macro_new(gw_macro **m, char *err, size_t errlen);
void gw_macro_free(gw_macro *m);

/* Compile ops against table at generation gen. On failure returns -1 with the platform rc
 * (9, 10, 16 or 17 ...) in *rc and a one-line message in msg. */
int gw_macro_compile(gw_macro *m, sqlite3 *db, int64_t gen, const char *table, const char *ops,
                     gw_plan *plan, int *rc, char *msg, size_t msglen);
void gw_plan_free(gw_plan *p);
int gw_plan_bind(const gw_plan *p, sqlite3_stmt *st);

/* The message of a statement stopped by tt_error starts with this. */
#define GW_MACRO_ERROR_PREFIX "tt-macro: "

/* SQL functions the compiled statements use: tt_pow, tt_mod, tt_floor, tt_error. */
int gw_macro_register_sql(sqlite3 *db);

void gw_columns_free(gw_column *cols, size_t n);
gw_column *gw_columns_dup(const gw_column *cols, size_t n);

#endif
