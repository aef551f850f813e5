/* macro: compile Macro Language ops to SQL by calling the Lua compiler from C. */
#include "macro.h"

#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Enough states that two cores never wait on each other for a compile (which takes well under
 * a millisecond); more would only cost memory. */
#define NSTATES 4

struct gw_macro {
  pthread_mutex_t lock;
  pthread_cond_t freed;
  lua_State *states[NSTATES];
  int busy[NSTATES];
};

typedef struct resolve_ctx {
  sqlite3 *db;
  int64_t gen;
} resolve_ctx;

static lua_State *new_state(char *err, size_t errlen)
{
  lua_State *L = luaL_newstate();
  if (!L) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  luaL_openlibs(L);
  /* The compiler's files are built in: each goes into package.preload, so require finds
   * them before any search path (only lpeg, a C module, comes from package.cpath). */
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  for (const gw_lua_file *f = gw_macro_lua; f->name; f++) {
    char chunk[128];
    snprintf(chunk, sizeof chunk, "=%s", f->name);
    if (luaL_loadbufferx(L, (const char *)f->text, f->len, chunk, "t") != LUA_OK) {
      snprintf(err, errlen, "cannot load the macro compiler: %s", lua_tostring(L, -1));
      lua_close(L);
      return NULL;
    }
    lua_setfield(L, -2, f->name);
  }
  lua_pop(L, 2);
  lua_getglobal(L, "require");
  lua_pushstring(L, "ttgw.macro");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    snprintf(err, errlen, "cannot load the macro compiler: %s", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  lua_getfield(L, -1, "compile");
  if (!lua_isfunction(L, -1)) {
    snprintf(err, errlen, "ttgw.macro has no compile function");
    lua_close(L);
    return NULL;
  }
  lua_setfield(L, LUA_REGISTRYINDEX, "tt.compile");
  lua_pop(L, 1);
  return L;
}

int gw_macro_new(gw_macro **out, char *err, size_t errlen)
{
  gw_macro *m = calloc(1, sizeof *m);
  if (!m) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  pthread_mutex_init(&m->lock, NULL);
  pthread_cond_init(&m->freed, NULL);
  for (int i = 0; i < NSTATES; i++) {
    if (!(m->states[i] = new_state(err, errlen))) {
      gw_macro_free(m);
      return -1;
    }
  }
  *out = m;
  return 0;
}

void gw_macro_free(gw_macro *m)
{
  if (!m) return;
  for (int i = 0; i < NSTATES; i++)
    if (m->states[i]) lua_close(m->states[i]);
  pthread_mutex_destroy(&m->lock);
  pthread_cond_destroy(&m->freed);
  free(m);
}

static void set_opt_string(lua_State *L, const char *key, const char *v)
{
  if (!v) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, key);
}

/* resolve(name) -> { sql = "tt_vN", title =, nrows =, columns = {...} } or nil */
static int resolve(lua_State *L)
{
  resolve_ctx *ctx = lua_touserdata(L, lua_upvalueindex(1));
  const char *name = luaL_checkstring(L, 1);
  gw_table_info t;
  char err[256];
  memset(&t, 0, sizeof t);
  if (gw_store_resolve(ctx->db, name, ctx->gen, &t, err, sizeof err)) {
    lua_pushnil(L);
    return 1;
  }
  lua_createtable(L, 0, 4);
  lua_pushfstring(L, "tt_v%I", (lua_Integer)t.version);
  lua_setfield(L, -2, "sql");
  set_opt_string(L, "title", t.title);
  lua_pushinteger(L, t.nrows);
  lua_setfield(L, -2, "nrows");
  lua_createtable(L, (int)t.ncols, 0);
  for (size_t i = 0; i < t.ncols; i++) {
    lua_createtable(L, 0, 4);
    set_opt_string(L, "name", t.cols[i].name);
    lua_pushlstring(L, &t.cols[i].type, 1);
    lua_setfield(L, -2, "type");
    set_opt_string(L, "format", t.cols[i].format);
    set_opt_string(L, "label", t.cols[i].label);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "columns");
  gw_table_info_free(&t);
  return 1;
}

static char *field_string(lua_State *L, int t, const char *key)
{
  lua_getfield(L, t, key);
  char *s = lua_type(L, -1) == LUA_TSTRING ? strdup(lua_tostring(L, -1)) : NULL;
  lua_pop(L, 1);
  return s;
}

/* Copy the plan at the top of the stack into C memory. */
static int take_plan(lua_State *L, gw_plan *p, char *msg, size_t msglen)
{
  int t = lua_gettop(L);
  p->sql = field_string(L, t, "sql");
  if (!p->sql) goto bad;
  lua_getfield(L, t, "params");
  if (lua_istable(L, -1)) {
    size_t n = (size_t)lua_rawlen(L, -1);
    p->params = calloc(n ? n : 1, sizeof *p->params);
    if (!p->params) goto bad;
    p->nparams = n;
    for (size_t i = 0; i < n; i++) {
      gw_param *q = &p->params[i];
      lua_rawgeti(L, -1, (lua_Integer)i + 1);
      if (lua_isinteger(L, -1)) {
        q->type = 'i';
        q->i = lua_tointeger(L, -1);
      } else if (lua_type(L, -1) == LUA_TNUMBER) {
        q->type = 'f';
        q->f = lua_tonumber(L, -1);
      } else if (lua_type(L, -1) == LUA_TSTRING) {
        q->type = 'a';
        q->s = strdup(lua_tostring(L, -1));
      } else {
        q->type = 'n';
      }
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  lua_getfield(L, t, "columns");
  if (!lua_istable(L, -1)) goto bad;
  p->ncols = (size_t)lua_rawlen(L, -1);
  p->cols = calloc(p->ncols ? p->ncols : 1, sizeof *p->cols);
  if (!p->cols) goto bad;
  for (size_t i = 0; i < p->ncols; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    int c = lua_gettop(L);
    p->cols[i].name = field_string(L, c, "name");
    char *type = field_string(L, c, "type");
    p->cols[i].type = type && strchr("ijfa", type[0]) ? type[0] : 'a';
    free(type);
    p->cols[i].format = field_string(L, c, "format");
    p->cols[i].label = field_string(L, c, "label");
    lua_pop(L, 1);
    if (!p->cols[i].name) goto bad;
  }
  lua_pop(L, 1);
  return 0;
bad:
  snprintf(msg, msglen, "internal error: the macro compiler returned a malformed plan");
  gw_plan_free(p);
  return -1;
}

int gw_macro_compile(gw_macro *m, sqlite3 *db, int64_t gen, const char *table, const char *ops,
                     gw_plan *plan, int *rc, char *msg, size_t msglen)
{
  memset(plan, 0, sizeof *plan);
  pthread_mutex_lock(&m->lock);
  int k;
  for (;;) {
    for (k = 0; k < NSTATES && m->busy[k]; k++) {
    }
    if (k < NSTATES) break;
    pthread_cond_wait(&m->freed, &m->lock);
  }
  m->busy[k] = 1;
  pthread_mutex_unlock(&m->lock);

  lua_State *L = m->states[k];
  resolve_ctx ctx = {db, gen};
  int base = lua_gettop(L);
  int result = -1;
  *rc = 1;
  lua_getfield(L, LUA_REGISTRYINDEX, "tt.compile");
  lua_pushstring(L, ops ? ops : "");
  lua_pushstring(L, table);
  lua_pushlightuserdata(L, &ctx);
  lua_pushcclosure(L, resolve, 1);
  if (lua_pcall(L, 3, 2, 0) != LUA_OK) {
    snprintf(msg, msglen, "internal error in the macro compiler: %s", lua_tostring(L, -1));
  } else if (lua_istable(L, -2)) {
    lua_pop(L, 1);
    if (take_plan(L, plan, msg, msglen) == 0) result = 0;
  } else if (lua_istable(L, -1)) {
    lua_getfield(L, -1, "code");
    *rc = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 1;
    lua_getfield(L, -2, "msg");
    snprintf(msg, msglen, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "invalid query");
  } else {
    snprintf(msg, msglen, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "invalid query");
  }
  lua_settop(L, base);
  /* Requests must not grow the heap of a long-lived state. */
  lua_gc(L, LUA_GCSTEP, 0);

  pthread_mutex_lock(&m->lock);
  m->busy[k] = 0;
  pthread_cond_signal(&m->freed);
  pthread_mutex_unlock(&m->lock);
  if (result == 0) *rc = 0;
  return result;
}

void gw_columns_free(gw_column *cols, size_t n)
{
  for (size_t i = 0; cols && i < n; i++) {
    free(cols[i].name);
    free(cols[i].format);
    free(cols[i].label);
  }
  free(cols);
}

gw_column *gw_columns_dup(const gw_column *cols, size_t n)
{
  gw_column *c = calloc(n ? n : 1, sizeof *c);
  if (!c) return NULL;
  for (size_t i = 0; i < n; i++) {
    c[i].name = cols[i].name ? strdup(cols[i].name) : NULL;
    c[i].type = cols[i].type;
    c[i].format = cols[i].format ? strdup(cols[i].format) : NULL;
    c[i].label = cols[i].label ? strdup(cols[i].label) : NULL;
    c[i].indexed = cols[i].indexed;
  }
  return c;
}

void gw_plan_free(gw_plan *p)
{
  free(p->sql);
  for (size_t i = 0; p->params && i < p->nparams; i++) free(p->params[i].s);
  free(p->params);
  gw_columns_free(p->cols, p->ncols);
  memset(p, 0, sizeof *p);
}

int gw_plan_bind(const gw_plan *p, sqlite3_stmt *st)
{
  for (size_t i = 0; i < p->nparams; i++) {
    const gw_param *q = &p->params[i];
    int idx = (int)i + 1, rc;
    switch (q->type) {
    case 'i':
      rc = sqlite3_bind_int64(st, idx, q->i);
      break;
    case 'f':
      rc = sqlite3_bind_double(st, idx, q->f);
      break;
    case 'a':
      rc = sqlite3_bind_text(st, idx, q->s, -1, SQLITE_STATIC);
      break;
    default:
      rc = sqlite3_bind_null(st, idx);
      break;
    }
    if (rc != SQLITE_OK) return -1;
  }
  return 0;
}

/* ---- SQL functions used by compiled statements -------------------------------------------- */

static int any_null(int argc, sqlite3_value **argv)
{
  for (int i = 0; i < argc; i++)
    if (sqlite3_value_type(argv[i]) == SQLITE_NULL) return 1;
  return 0;
}

static void fn_pow(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
  if (any_null(argc, argv)) return sqlite3_result_null(cx);
  double r = pow(sqlite3_value_double(argv[0]), sqlite3_value_double(argv[1]));
  if (isfinite(r))
    sqlite3_result_double(cx, r);
  else
    sqlite3_result_null(cx);
}

/* Floor modulo (the sign follows the divisor), N/A for a zero divisor. */
static void fn_mod(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
  if (any_null(argc, argv)) return sqlite3_result_null(cx);
  if (sqlite3_value_type(argv[0]) == SQLITE_INTEGER &&
      sqlite3_value_type(argv[1]) == SQLITE_INTEGER) {
    int64_t a = sqlite3_value_int64(argv[0]), b = sqlite3_value_int64(argv[1]);
    if (b == 0) return sqlite3_result_null(cx);
    if (b == -1) return sqlite3_result_int64(cx, 0); /* avoids INT64_MIN % -1 */
    int64_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return sqlite3_result_int64(cx, r);
  }
  double a = sqlite3_value_double(argv[0]), b = sqlite3_value_double(argv[1]);
  if (b == 0) return sqlite3_result_null(cx);
  sqlite3_result_double(cx, a - b * floor(a / b));
}

static void fn_floor(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
  if (any_null(argc, argv)) return sqlite3_result_null(cx);
  if (sqlite3_value_type(argv[0]) == SQLITE_INTEGER)
    return sqlite3_result_int64(cx, sqlite3_value_int64(argv[0]));
  double f = floor(sqlite3_value_double(argv[0]));
  if (f >= -9.2e18 && f <= 9.2e18)
    sqlite3_result_int64(cx, (int64_t)f);
  else
    sqlite3_result_null(cx);
}

/* Fails the statement with the compiler's own message: run-time checks such as "S must be 0
 * or 1" that only the data can trip. The prefix lets the query transaction tell it apart. */
static void fn_error(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
  const char *msg = (const char *)sqlite3_value_text(argv[0]);
  char text[600];
  snprintf(text, sizeof text, "%s%s", GW_MACRO_ERROR_PREFIX, msg ? msg : "invalid data");
  sqlite3_result_error(cx, text, -1);
}

int gw_macro_register_sql(sqlite3 *db)
{
  int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  if (sqlite3_create_function(db, "tt_pow", 2, flags, NULL, fn_pow, NULL, NULL) ||
      sqlite3_create_function(db, "tt_mod", 2, flags, NULL, fn_mod, NULL, NULL) ||
      sqlite3_create_function(db, "tt_floor", 1, flags, NULL, fn_floor, NULL, NULL) ||
      sqlite3_create_function(db, "tt_error", 1, SQLITE_UTF8 | SQLITE_INNOCUOUS, NULL, fn_error,
                              NULL, NULL))
    return -1;
  return 0;
}
