/* writer (binding): core.writer(file, opts), a file being written page by page through the C
 * writer (runtime/core/write.c): rows never become Lua values, and what the file holds
 * besides them (header, JSON brackets, gzip framing) is the C writer's business alone. */
#include "ttL.h"

#include "err.h"
#include "write.h"

#include <errno.h>
#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

typedef struct ttL_writer {
  tt_writer *w;
  luaL_Stream *fs; /* the Lua file, kept alive by the userdata's user value */
} ttL_writer;

static ttL_writer *towriter(lua_State *L)
{
  ttL_writer *u = luaL_checkudata(L, 1, TTL_WRITER);
  if (!u->w) luaL_error(L, "attempt to use a closed writer");
  if (!u->fs->closef) luaL_error(L, "attempt to use a closed file");
  return u;
}

static int w_close(lua_State *L)
{
  ttL_writer *u = luaL_checkudata(L, 1, TTL_WRITER);
  tt_writer_free(&u->w);
  return 0;
}

/* The bytes so far, or nil, message, errno when the file failed. */
static int w_result(lua_State *L, const ttL_writer *u, int rc, const char *what)
{
  if (rc == TT_E_IO) return luaL_fileresult(L, 0, NULL);
  if (rc) return luaL_error(L, "writer:%s: %s", what, tt_err_name(rc));
  lua_pushinteger(L, (lua_Integer)tt_writer_bytes(u->w));
  return 1;
}

/* w:write(reply): the reply's page of rows. */
static int w_write(lua_State *L)
{
  ttL_writer *u = towriter(L);
  tt_reply *r = ttL_reply_check(L, 2);
  size_t ncols;
  const tt_column *cols = tt_reply_columns(r, &ncols);
  return w_result(L, u, tt_writer_page(u->w, tt_reply_page(r), cols, ncols), "write");
}

/* w:finish([reply]): the end of the file; reply names the columns of a header written now
 * because no rows came. */
static int w_finish(lua_State *L)
{
  ttL_writer *u = towriter(L);
  const tt_column *cols = NULL;
  size_t ncols = 0;
  if (!lua_isnoneornil(L, 2)) cols = tt_reply_columns(ttL_reply_check(L, 2), &ncols);
  return w_result(L, u, tt_writer_finish(u->w, cols, ncols), "finish");
}

static int w_bytes(lua_State *L)
{
  ttL_writer *u = towriter(L);
  lua_pushinteger(L, (lua_Integer)tt_writer_bytes(u->w));
  return 1;
}

static int w_tostring(lua_State *L)
{
  ttL_writer *u = luaL_checkudata(L, 1, TTL_WRITER);
  if (!u->w)
    lua_pushstring(L, TTL_WRITER " (closed)");
  else
    lua_pushfstring(L, TTL_WRITER " (%I bytes)", (lua_Integer)tt_writer_bytes(u->w));
  return 1;
}

/* ---- core.writer(file, opts) --------------------------------------------------------------- */

static const char *const OPTS[] = {"format", "header", "sep", "na", "dates", "gzip", NULL};

static int l_writer(lua_State *L)
{
  luaL_Stream *fs = luaL_checkudata(L, 1, LUA_FILEHANDLE);
  if (!fs->closef) return luaL_error(L, "attempt to use a closed file");
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    lua_pop(L, 1);
    int known = 0;
    for (int k = 0; OPTS[k] && lua_type(L, -1) == LUA_TSTRING; k++)
      known |= strcmp(lua_tostring(L, -1), OPTS[k]) == 0;
    if (!known)
      return luaL_error(L, "core.writer: unknown option '%s'", luaL_tolstring(L, -1, NULL));
  }
  tt_write_opts o;
  lua_getfield(L, 2, "format");
  const char *fmt = lua_tostring(L, -1);
  int format = fmt ? tt_write_format(fmt) : -1;
  if (format < 0)
    return luaL_error(L, "core.writer: 'format' must be \"tsv\", \"csv\", \"jsonl\" or \"json\"");
  tt_write_opts_init(&o, format);
  if (lua_getfield(L, 2, "header") != LUA_TNIL) o.header = lua_toboolean(L, -1);
  if (lua_getfield(L, 2, "sep") != LUA_TNIL) {
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    if (!s || n != 1 || *s == '\0')
      return luaL_error(L, "core.writer: 'sep' must be a string of one byte");
    o.sep = *s;
  }
  if (lua_getfield(L, 2, "na") != LUA_TNIL) {
    size_t n;
    o.na = lua_tolstring(L, -1, &n);
    if (!o.na || strlen(o.na) != n)
      return luaL_error(L, "core.writer: 'na' must be a string without NUL bytes");
  }
  if (lua_getfield(L, 2, "dates") != LUA_TNIL) {
    const char *d = lua_tostring(L, -1);
    if (d && strcmp(d, "iso") == 0)
      o.dates = TT_DATES_ISO;
    else if (!d || strcmp(d, "raw") != 0)
      return luaL_error(L, "core.writer: 'dates' must be \"raw\" or \"iso\"");
  }
  int t = lua_getfield(L, 2, "gzip");
  if (t == LUA_TBOOLEAN) {
    o.gzip = lua_toboolean(L, -1) ? 6 : 0; /* zlib's default level */
  } else if (t != LUA_TNIL) {
    lua_Integer level = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : -1;
    if (level < 1 || level > 9)
      return luaL_error(L, "core.writer: 'gzip' must be a boolean or a level from 1 to 9");
    o.gzip = (int)level;
  }
  /* Allocate the userdata before the writer: no finalizer may run between the two. */
  ttL_writer *u = lua_newuserdatauv(L, sizeof *u, 1);
  u->w = NULL;
  u->fs = fs;
  luaL_setmetatable(L, TTL_WRITER);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1);
  int rc = tt_writer_new(&u->w, fs->f, &o);
  if (rc == TT_E_INVAL)
    return luaL_error(L, "core.writer: these options do not go together for %s", fmt);
  if (rc) return luaL_error(L, "core.writer: %s", tt_err_name(rc));
  return 1;
}

static const luaL_Reg methods[] = {
    {"write", w_write}, {"finish", w_finish}, {"bytes", w_bytes}, {"close", w_close}, {NULL, NULL},
};

void ttL_writer_open(lua_State *L)
{
  if (luaL_newmetatable(L, TTL_WRITER)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, w_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, w_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, w_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  lua_pushcfunction(L, l_writer);
  lua_setfield(L, -2, "writer");
}
