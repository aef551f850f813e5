/* reply (binding): the tenten.core.reply object. Rows stay in the C page; row(i) converts one
 * row on demand and write() streams the page to a Lua file without making Lua values. */
#include "ttL.h"

#include "err.h"
#include "write.h"

#include <errno.h>
#include <limits.h>
#include <lauxlib.h>
#include <string.h>

typedef struct ttL_reply {
  tt_reply *r;
} ttL_reply;

static ttL_reply *toreply(lua_State *L)
{
  ttL_reply *u = luaL_checkudata(L, 1, TTL_REPLY);
  if (!u->r) luaL_error(L, "attempt to use a closed reply");
  return u;
}

/* Lua code (a finalizer) may run at any allocation and could close this reply: check after
 * allocating, before touching the reply's memory again. */
static void alive(lua_State *L, const ttL_reply *u, const tt_reply *r)
{
  if (u->r != r) luaL_error(L, "the reply was closed while in use");
}

void ttL_reply_new(lua_State *L)
{
  ttL_reply *u = lua_newuserdatauv(L, sizeof *u, 0);
  u->r = NULL;
  luaL_setmetatable(L, TTL_REPLY);
}

void ttL_reply_set(lua_State *L, int idx, tt_reply *r)
{
  ttL_reply *u = luaL_checkudata(L, idx, TTL_REPLY);
  tt_reply_free(&u->r);
  u->r = r;
}

tt_reply *ttL_reply_check(lua_State *L, int idx)
{
  ttL_reply *u = luaL_checkudata(L, idx, TTL_REPLY);
  if (!u->r) luaL_error(L, "attempt to use a closed reply");
  return u->r;
}

static int l_close(lua_State *L)
{
  ttL_reply *u = luaL_checkudata(L, 1, TTL_REPLY);
  tt_reply_free(&u->r);
  return 0;
}

static int l_tostring(lua_State *L)
{
  ttL_reply *u = luaL_checkudata(L, 1, TTL_REPLY);
  if (!u->r)
    lua_pushstring(L, TTL_REPLY " (closed)");
  else
    lua_pushfstring(L, TTL_REPLY " (rc %I, %I rows)", (lua_Integer)tt_reply_rc(u->r),
                    (lua_Integer)tt_page_nrows(tt_reply_page(u->r)));
  return 1;
}

static int l_rc(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)tt_reply_rc(toreply(L)->r));
  return 1;
}

static int l_msg(lua_State *L)
{
  lua_pushstring(L, tt_reply_msg(toreply(L)->r));
  return 1;
}

static int l_field(lua_State *L)
{
  ttL_reply *u = toreply(L);
  size_t len;
  const char *s = tt_reply_field(u->r, luaL_checkstring(L, 2), &len);
  if (s)
    lua_pushlstring(L, s, len);
  else
    lua_pushnil(L);
  return 1;
}

/* ---- tree ---------------------------------------------------------------------------------- */

static void push_attrs(lua_State *L, const ttL_reply *u, const tt_node *n)
{
  lua_newtable(L);
  alive(L, u, u->r);
  for (const char **a = n ? n->attrs : NULL; a && *a; a += 2) {
    lua_pushstring(L, a[1]);
    alive(L, u, u->r);
    lua_setfield(L, -2, a[0]);
    alive(L, u, u->r);
  }
}

static void push_node(lua_State *L, const ttL_reply *u, const tt_node *n)
{
  const tt_reply *r = u->r;
  luaL_checkstack(L, 4, "reply too deep");
  lua_createtable(L, 0, 4);
  alive(L, u, r);
  lua_pushstring(L, n->tag);
  lua_setfield(L, -2, "tag");
  alive(L, u, r);
  push_attrs(L, u, n);
  lua_setfield(L, -2, "attrs");
  alive(L, u, r);
  lua_pushlstring(L, n->text, n->text_len);
  lua_setfield(L, -2, "text");
  alive(L, u, r);
  lua_newtable(L);
  alive(L, u, r);
  lua_Integer i = 0;
  for (const tt_node *c = n->children; c; c = c->next) {
    push_node(L, u, c);
    lua_rawseti(L, -2, ++i);
    alive(L, u, r);
  }
  lua_setfield(L, -2, "children");
  alive(L, u, r);
}

static int l_tree(lua_State *L)
{
  ttL_reply *u = toreply(L);
  const tt_node *root = tt_reply_tree(u->r);
  if (root)
    push_node(L, u, root);
  else
    lua_pushnil(L);
  return 1;
}

static int l_table_attrs(lua_State *L)
{
  ttL_reply *u = toreply(L);
  push_attrs(L, u, tt_reply_table(u->r));
  return 1;
}

/* ---- columns ------------------------------------------------------------------------------- */

static int l_columns(lua_State *L)
{
  ttL_reply *u = toreply(L);
  const tt_reply *r = u->r;
  size_t n;
  tt_reply_columns(r, &n);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    alive(L, u, r);
    const tt_column *c = &tt_reply_columns(r, &n)[i];
    lua_createtable(L, 0, 5);
    alive(L, u, r);
    const char *v[5] = {c->name, c->type, c->format, c->label, c->desc};
    const char *k[5] = {"name", "type", "format", "label", "desc"};
    for (int j = 0; j < 5; j++) {
      if (!v[j]) continue;
      lua_pushstring(L, v[j]);
      alive(L, u, r);
      lua_setfield(L, -2, k[j]);
      alive(L, u, r);
    }
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

static const char *opt_field(lua_State *L, int t, const char *key, size_t i)
{
  int type = lua_getfield(L, t, key);
  const char *s = NULL;
  if (type == LUA_TSTRING)
    s = lua_tostring(L, -1); /* stays alive: the table still holds it */
  else if (type != LUA_TNIL)
    luaL_error(L, "set_columns: column %d: '%s' must be a string", (int)i + 1, key);
  lua_pop(L, 1);
  return s;
}

static int l_set_columns(lua_State *L)
{
  ttL_reply *u = toreply(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  size_t n = (size_t)luaL_len(L, 2);
  tt_column *cols = lua_newuserdatauv(L, (n ? n : 1) * sizeof *cols, 0); /* freed by the GC */
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, 2, (lua_Integer)i + 1);
    int t = lua_gettop(L);
    memset(&cols[i], 0, sizeof cols[i]);
    if (lua_type(L, t) == LUA_TSTRING) {
      cols[i].name = (char *)lua_tostring(L, t); /* the table still holds it */
      lua_pop(L, 1);
      continue;
    }
    if (lua_type(L, t) != LUA_TTABLE)
      return luaL_error(L, "set_columns: column %d must be a table or a name", (int)i + 1);
    cols[i].name = (char *)opt_field(L, t, "name", i);
    if (!cols[i].name) return luaL_error(L, "set_columns: column %d has no name", (int)i + 1);
    cols[i].type = (char *)opt_field(L, t, "type", i);
    cols[i].format = (char *)opt_field(L, t, "format", i);
    cols[i].label = (char *)opt_field(L, t, "label", i);
    cols[i].desc = (char *)opt_field(L, t, "desc", i);
    lua_pop(L, 1);
  }
  alive(L, u, u->r);
  if (tt_reply_set_columns(u->r, cols, n)) return luaL_error(L, "not enough memory");
  return 0;
}

/* ---- rows ---------------------------------------------------------------------------------- */

/* The result's row count as the reply states it, or nil when it does not. */
static int l_total(lua_State *L)
{
  int64_t n;
  if (tt_reply_total(toreply(L)->r, &n))
    lua_pushinteger(L, (lua_Integer)n);
  else
    lua_pushnil(L);
  return 1;
}

static int l_nrows(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)tt_page_nrows(tt_reply_page(toreply(L)->r)));
  return 1;
}

/* Building rows and columns: cells are converted by column type straight from the page's
 * bytes (numbers never become Lua strings first), tables are made at their final size, and a
 * text cell equal to the one above it in its column reuses that Lua string instead of making
 * (hashing and interning) it again: sorted and repetitive columns are the common case. */

/* Columns whose types are copied up front; past these a cell reads its column's type itself. */
#define TYPES_MAX 64

typedef struct build {
  ttL_reply *u;
  const tt_reply *r;
  const tt_page *p;
  size_t ncols;
  char types[TYPES_MAX];
  int slots; /* stack index of the first cached string, one slot per column; 0: no cache */
  size_t nslots;
  struct {
    const char *s;
    size_t n;
  } last[TYPES_MAX]; /* the text behind each cached string */
} build;

static void build_init(lua_State *L, build *b, ttL_reply *u, size_t width)
{
  b->u = u;
  b->r = u->r;
  b->p = tt_reply_page(u->r);
  const tt_column *cols = tt_reply_columns(u->r, &b->ncols);
  for (size_t j = 0; j < TYPES_MAX; j++)
    b->types[j] = j < b->ncols && cols[j].type ? cols[j].type[0] : 'a';
  b->nslots = width < TYPES_MAX ? width : TYPES_MAX;
  luaL_checkstack(L, (int)b->nslots + 8, "too many columns");
  b->slots = lua_gettop(L) + 1;
  for (size_t j = 0; j < b->nslots; j++) {
    lua_pushnil(L);
    b->last[j].s = NULL;
    b->last[j].n = 0;
  }
}

static inline char build_type(lua_State *L, const build *b, size_t j)
{
  if (j < TYPES_MAX) return b->types[j];
  alive(L, b->u, b->r);
  size_t ncols;
  const tt_column *cols = tt_reply_columns(b->r, &ncols);
  return j < ncols && cols[j].type ? cols[j].type[0] : 'a';
}

/* memcmp(a, b, n) == 0 for the few bytes of a cell, without a call that costs more than the
 * comparison (most cells differ early, or are a handful of bytes). */
static inline int same(const char *a, const char *b, size_t n)
{
  for (size_t k = 0; k < n; k++)
    if (a[k] != b[k]) return 0;
  return 1;
}

/* Push the value of cell j of a row: n bytes at s (n 0: N/A). */
__attribute__((always_inline)) static inline void push_cell(lua_State *L, build *b, size_t j,
                                                            char type, const char *s, size_t n)
{
  long long i;
  double d;
  if (n == 0) {
    lua_pushvalue(L, lua_upvalueindex(1)); /* N/A */
    return;
  }
  if ((type == 'i' || type == 'j') && tt_page_cell_int(s, n, &i)) {
    lua_pushinteger(L, (lua_Integer)i);
    return;
  }
  if (type == 'f' && tt_page_cell_double(s, n, &d)) {
    lua_pushnumber(L, (lua_Number)d);
    return;
  }
  if (j < b->nslots && b->last[j].n == n && same(b->last[j].s, s, n)) {
    lua_pushvalue(L, b->slots + (int)j);
    return;
  }
  lua_pushlstring(L, s, n);
  alive(L, b->u, b->r);
  if (j < b->nslots) {
    lua_copy(L, -1, b->slots + (int)j);
    b->last[j].s = s;
    b->last[j].n = n;
  }
}

/* Push row i (0-based) as a list: as many values as the row has cells or the reply columns,
 * whichever is more, N/A for the missing ones. */
static void push_row(lua_State *L, build *b, size_t i)
{
  size_t first, n = tt_page_row(b->p, i, &first);
  size_t width = n > b->ncols ? n : b->ncols;
  lua_createtable(L, (int)width, 0);
  alive(L, b->u, b->r);
  for (size_t j = 0; j < width; j++) {
    size_t len = 0;
    const char *s = j < n ? tt_page_cell(b->p, first + j, &len) : "";
    push_cell(L, b, j, build_type(L, b, j), s, len);
    lua_rawseti(L, -2, (lua_Integer)j + 1);
  }
}

/* The widest row of the page, or the reply's column count if more. */
static size_t page_width(const tt_page *p, size_t ncols)
{
  size_t w = ncols, first;
  for (size_t i = 0; i < p->nrows; i++) {
    size_t n = tt_page_row(p, i, &first);
    if (n > w) w = n;
  }
  return w;
}

static int l_row(lua_State *L)
{
  ttL_reply *u = toreply(L);
  lua_Integer i = luaL_checkinteger(L, 2);
  const tt_page *p = tt_reply_page(u->r);
  if (i < 1 || (lua_Unsigned)i > p->nrows) {
    lua_pushnil(L);
    return 1;
  }
  build b;
  build_init(L, &b, u, 0);
  push_row(L, &b, (size_t)i - 1);
  return 1;
}

/* reply:rows_into(t, i, count): rows i .. i+count-1 (1-based, up to the last) as lists in
 * t[1], t[2], ...; returns how many. Lets a Lua iterator hand out rows with one C call per
 * block of rows instead of one per row. */
static int l_rows_into(lua_State *L)
{
  ttL_reply *u = toreply(L);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer from = luaL_checkinteger(L, 3), count = luaL_checkinteger(L, 4);
  const tt_page *p = tt_reply_page(u->r);
  if (from < 1 || count < 1 || (lua_Unsigned)from > p->nrows) {
    lua_pushinteger(L, 0);
    return 1;
  }
  size_t first = (size_t)from - 1, n = p->nrows - first;
  if ((lua_Unsigned)count < n) n = (size_t)count;
  size_t ncols;
  tt_reply_columns(u->r, &ncols);
  build b;
  build_init(L, &b, u, ncols);
  for (size_t k = 0; k < n; k++) {
    push_row(L, &b, first + k);
    lua_rawseti(L, 2, (lua_Integer)k + 1);
  }
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

/* A list for a column of nrows values: a spare one when there is one (refilled in place: no
 * allocation, no fresh memory), else a new one; either way given the metatable mt. */
static void new_list(lua_State *L, int spare, int mt, size_t nrows)
{
  lua_Integer k = spare ? (lua_Integer)lua_rawlen(L, spare) : 0;
  if (k > 0) {
    lua_rawgeti(L, spare, k);
    lua_pushnil(L);
    lua_rawseti(L, spare, k);
    for (lua_Integer i = (lua_Integer)lua_rawlen(L, -1); i > (lua_Integer)nrows; i--) {
      lua_pushnil(L);
      lua_rawseti(L, -2, i);
    }
  } else {
    lua_createtable(L, (int)nrows, 0);
  }
  if (mt) {
    lua_pushvalue(L, mt);
    lua_setmetatable(L, -2);
  }
}

/* reply:batch(): the page as columns, { [j] = values, [name] = values, n = rows }: one list
 * per column (the reply's columns first, in order, then any cells past them in ragged rows),
 * N/A as NA, also where a row is short; each list also under its column's name, and the row
 * count under "n", which wins over a column named "n" (that one is still at its position).
 * The page is read once, row by row, into all the lists at once. reply:batch(spare, mt):
 * the lists are taken from the end of the list `spare` while it has any (refilled, cut to
 * length) and all given the metatable mt; Query:batches passes a finalizer there that puts
 * dropped lists back into spare. */
static int l_batch(lua_State *L)
{
  ttL_reply *u = toreply(L);
  const tt_reply *r = u->r;
  const tt_page *p = tt_reply_page(r);
  size_t ncols;
  tt_reply_columns(r, &ncols);
  size_t width = page_width(p, ncols), nrows = p->nrows;
  if (width > INT_MAX / 2 - 16 || nrows > INT_MAX)
    return luaL_error(L, "reply:batch: page too large");
  luaL_checkstack(L, (int)width + 16, "too many columns");
  int spare = lua_istable(L, 2) ? 2 : 0, mt = lua_istable(L, 3) ? 3 : 0;
  lua_createtable(L, (int)width, (int)ncols + 1);
  int out = lua_gettop(L), lists = out + 1;
  for (size_t j = 0; j < width; j++) {
    new_list(L, spare, mt, nrows);
    alive(L, u, r);
  }
  build b;
  build_init(L, &b, u, width);
  for (size_t i = 0; i < nrows; i++) {
    size_t first, n = tt_page_row(p, i, &first);
    for (size_t j = 0; j < width; j++) {
      size_t len = 0;
      const char *s = j < n ? tt_page_cell(p, first + j, &len) : "";
      push_cell(L, &b, j, build_type(L, &b, j), s, len);
      lua_rawseti(L, lists + (int)j, (lua_Integer)i + 1);
    }
  }
  for (size_t j = 0; j < width; j++) {
    size_t nc;
    const tt_column *cols = tt_reply_columns(r, &nc);
    if (j < nc && cols[j].name) {
      lua_pushstring(L, cols[j].name);
      alive(L, u, r);
      lua_pushvalue(L, lists + (int)j);
      lua_rawset(L, out);
    }
    lua_pushvalue(L, lists + (int)j);
    lua_rawseti(L, out, (lua_Integer)j + 1);
  }
  lua_pushinteger(L, (lua_Integer)nrows);
  lua_setfield(L, out, "n");
  lua_settop(L, out);
  return 1;
}

/* reply:write(file, format [, header]) writes the page's rows; reply:write_header(file,
 * format) only what an empty result's file holds (the header line, in TSV and CSV). */
static int write_common(lua_State *L, int rows)
{
  ttL_reply *u = toreply(L);
  luaL_Stream *fs = luaL_checkudata(L, 2, LUA_FILEHANDLE);
  if (!fs->closef) return luaL_error(L, "attempt to use a closed file");
  const char *fmtname = luaL_checkstring(L, 3);
  int fmt = tt_write_format(fmtname);
  /* a JSON array spans pages: only a writer (core.writer) knows where it ends */
  if (fmt < 0 || fmt == TT_WRITE_JSON)
    return luaL_argerror(L, 3, "format must be \"tsv\", \"csv\" or \"jsonl\" (json: core.writer)");
  int header = !rows || lua_isnoneornil(L, 4) ? 1 : lua_toboolean(L, 4);
  size_t ncols;
  const tt_column *cols = tt_reply_columns(u->r, &ncols);
  uint64_t bytes;
  int rc =
      tt_write_page(fs->f, fmt, rows ? tt_reply_page(u->r) : NULL, cols, ncols, header, &bytes);
  if (rc == TT_E_IO) return luaL_fileresult(L, 0, NULL);
  if (rc) return luaL_error(L, "reply:write: %s", tt_err_name(rc));
  lua_pushinteger(L, (lua_Integer)bytes);
  return 1;
}

static int l_write(lua_State *L)
{
  return write_common(L, 1);
}

static int l_write_header(lua_State *L)
{
  return write_common(L, 0);
}

/* ---- registration -------------------------------------------------------------------------- */

static int na_tostring(lua_State *L)
{
  lua_pushliteral(L, "NA");
  return 1;
}

static const luaL_Reg methods[] = {
    {"rc", l_rc},
    {"msg", l_msg},
    {"field", l_field},
    {"tree", l_tree},
    {"table_attrs", l_table_attrs},
    {"columns", l_columns},
    {"set_columns", l_set_columns},
    {"total", l_total},
    {"nrows", l_nrows},
    {"row", l_row},
    {"rows_into", l_rows_into},
    {"batch", l_batch},
    {"write", l_write},
    {"write_header", l_write_header},
    {"close", l_close},
    {NULL, NULL},
};

void ttL_reply_open(lua_State *L)
{
  /* NA: one userdata per Lua state, compared by identity. */
  if (lua_getfield(L, LUA_REGISTRYINDEX, TTL_NA) != LUA_TUSERDATA) {
    lua_pop(L, 1);
    lua_newuserdatauv(L, 1, 0);
    lua_createtable(L, 0, 3);
    lua_pushliteral(L, "tenten.core.NA");
    lua_setfield(L, -2, "__name");
    lua_pushcfunction(L, na_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "NA is not a table");
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, TTL_NA);
  }
  if (luaL_newmetatable(L, TTL_REPLY)) {
    lua_newtable(L);
    lua_pushvalue(L, -3); /* NA, the upvalue of every method */
    luaL_setfuncs(L, methods, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 2);
}
