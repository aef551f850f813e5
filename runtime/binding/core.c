/* core (binding): luaopen_tenten_core. One loop per Lua state, kept in the registry; request
 * objects that hold themselves in the registry while in flight; core.step hands completed
 * requests back to Lua. No Lua runs inside libcurl: completions are popped after a step. */
#include "tenten_core.h"
#include "ttL.h"

#include "err.h"
#include "loop.h"
#include "sig.h"

#include <lauxlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The project's version, from CMake's project(VERSION) (or the rockspec, which reads it there):
 * tenten.VERSION is this string. */
#ifndef TT_VERSION
#error "TT_VERSION must be defined (CMake passes the project's version)"
#endif

#define LOOP     "tenten.core.loop"
#define LOOP_KEY "tenten.core.loop instance" /* registry key of this state's loop object */
#define REQUEST  "tenten.core.request"

typedef struct ttL_loop {
  tt_loop *loop;
} ttL_loop;

/* Uservalues: 1 the loop object (so the loop outlives its requests), 2 the reply object once
 * result() made it. */
typedef struct ttL_request {
  tt_http *h; /* NULL once closed */
  int ref;    /* registry ref to itself while the loop holds the exchange */
} ttL_request;

static tt_loop *getloop(lua_State *L)
{
  ttL_loop *lp = lua_touserdata(L, lua_upvalueindex(1));
  if (!lp || !lp->loop) luaL_error(L, "tenten.core: the loop is closed");
  return lp->loop;
}

static int loop_gc(lua_State *L)
{
  ttL_loop *lp = luaL_checkudata(L, 1, LOOP);
  tt_loop_free(&lp->loop);
  return 0;
}

/* ---- requests ------------------------------------------------------------------------------ */

static const char *const request_keys[] = {
    "url",   "body",       "connect_timeout", "timeout",  "cafile", "insecure", "proxy",
    "reuse", "idempotent", "stall",           "keep_raw", "sep",    "linesep",  NULL,
};

static const char *opt_string(lua_State *L, const char *key, size_t *len)
{
  int t = lua_getfield(L, 1, key);
  const char *s = NULL;
  if (t == LUA_TSTRING)
    s = lua_tolstring(L, -1, len); /* the options table keeps it alive */
  else if (t != LUA_TNIL)
    luaL_error(L, "core.request: '%s' must be a string", key);
  lua_pop(L, 1);
  return s;
}

static double opt_seconds(lua_State *L, const char *key, double dflt)
{
  int t = lua_getfield(L, 1, key);
  double v = dflt;
  if (t == LUA_TNUMBER)
    v = lua_tonumber(L, -1);
  else if (t != LUA_TNIL)
    luaL_error(L, "core.request: '%s' must be a number", key);
  if (!(v >= 0)) luaL_error(L, "core.request: '%s' must be 0 or more", key);
  lua_pop(L, 1);
  return v;
}

static int opt_bool(lua_State *L, const char *key, int dflt)
{
  int t = lua_getfield(L, 1, key);
  int v = dflt;
  if (t == LUA_TBOOLEAN)
    v = lua_toboolean(L, -1);
  else if (t != LUA_TNIL)
    luaL_error(L, "core.request: '%s' must be a boolean", key);
  lua_pop(L, 1);
  return v;
}

static int l_request(lua_State *L)
{
  tt_loop *loop = getloop(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  /* Unknown keys are typos: say so rather than ignore a timeout nobody set. */
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    lua_pop(L, 1);
    const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    int i = 0;
    while (k && request_keys[i] && strcmp(request_keys[i], k) != 0) i++;
    if (!k || !request_keys[i])
      return luaL_error(L, "core.request: unknown option '%s'", k ? k : luaL_typename(L, -1));
  }

  /* Allocate before reading the options: no Lua code (a finalizer) may run between taking
   * pointers to the option strings and handing them to the core, which copies them. */
  ttL_request *rq = lua_newuserdatauv(L, sizeof *rq, 2);
  rq->h = NULL;
  rq->ref = LUA_NOREF;
  luaL_setmetatable(L, REQUEST);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_setiuservalue(L, -2, 1);

  tt_http_opts o;
  memset(&o, 0, sizeof o);
  o.url = opt_string(L, "url", NULL);
  if (!o.url) return luaL_error(L, "core.request: 'url' is required");
  o.body = opt_string(L, "body", &o.body_len);
  o.connect_timeout = opt_seconds(L, "connect_timeout", 10);
  o.timeout = opt_seconds(L, "timeout", 0);
  o.cafile = opt_string(L, "cafile", NULL);
  o.insecure = opt_bool(L, "insecure", 0);
  o.proxy = opt_string(L, "proxy", NULL);
  o.reuse = opt_bool(L, "reuse", 1);
  o.no_replay = !opt_bool(L, "idempotent", 1);
  o.stall = opt_seconds(L, "stall", 0);
  o.keep_raw = opt_bool(L, "keep_raw", 0);
  o.sep = opt_string(L, "sep", NULL);
  o.eol = opt_string(L, "linesep", NULL);

  int rc = tt_http_new(&o, &rq->h);
  if (!rc) rc = tt_loop_add(loop, rq->h);
  if (rc) {
    tt_http_free(&rq->h);
    if (rc == TT_E_NOMEM) return luaL_error(L, "not enough memory");
    return luaL_error(L, "core.request: could not start the exchange (%s)", tt_err_name(rc));
  }
  tt_http_set_user(rq->h, rq);
  lua_pushvalue(L, -1);
  rq->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 1;
}

static ttL_request *torequest(lua_State *L)
{
  return luaL_checkudata(L, 1, REQUEST);
}

static int req_done(lua_State *L)
{
  ttL_request *rq = torequest(L);
  lua_pushboolean(L, !rq->h || tt_http_finished(rq->h));
  return 1;
}

static int req_cancel(lua_State *L)
{
  ttL_request *rq = torequest(L);
  if (rq->h) tt_loop_cancel(rq->h);
  return 0;
}

static int push_error(lua_State *L, int code, const char *msg)
{
  lua_pushstring(L, msg); /* first: msg may live in the exchange, which Lua code could close */
  lua_pushnil(L);
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, code);
  lua_setfield(L, -2, "code");
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "msg");
  lua_remove(L, -3);
  return 2;
}

static int req_result(lua_State *L)
{
  ttL_request *rq = torequest(L);
  if (lua_getiuservalue(L, 1, 2) == LUA_TUSERDATA) return 1; /* made by an earlier call */
  lua_pop(L, 1);
  if (!rq->h) return push_error(L, TT_E_CANCELLED, "the request was closed");
  if (!tt_http_finished(rq->h)) return luaL_error(L, "request:result(): the request is not done");
  const char *msg;
  int rc = tt_http_result(rq->h, &msg);
  if (rc) return push_error(L, rc, msg);
  ttL_reply_new(L); /* allocate first: no Lua runs between taking the reply and owning it */
  if (!rq->h) return push_error(L, TT_E_CANCELLED, "the request was closed");
  tt_reply *r = tt_http_take_reply(rq->h);
  if (!r) return luaL_error(L, "request:result(): no reply");
  ttL_reply_set(L, -1, r);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, 1, 2);
  /* The page lives outside Lua's heap; tell the collector about it so that dropped replies
   * of a long pull are collected at the pace they are made. */
  const tt_page *p = tt_reply_page(r);
  size_t kb = (p->len + (p->ncells + p->nrows) * sizeof(size_t)) / 1024;
  if (kb >= 64) lua_gc(L, LUA_GCSTEP, kb > 1 << 20 ? 1 << 20 : (int)kb);
  return 1;
}

static int req_raw(lua_State *L)
{
  ttL_request *rq = torequest(L);
  size_t len;
  const char *s = rq->h ? tt_http_raw(rq->h, &len) : NULL;
  if (s)
    lua_pushlstring(L, s, len);
  else
    lua_pushnil(L);
  return 1;
}

/* Bytes of the reply received so far, and the Content-Length it announced (nil when none):
 * what the progress display estimates the rows of a page in flight from. */
static int req_received(lua_State *L)
{
  ttL_request *rq = torequest(L);
  size_t expected = 0;
  size_t got = rq->h ? tt_http_received(rq->h, &expected) : 0;
  lua_pushinteger(L, (lua_Integer)got);
  if (expected)
    lua_pushinteger(L, (lua_Integer)expected);
  else
    lua_pushnil(L);
  return 2;
}

static int req_close(lua_State *L)
{
  ttL_request *rq = torequest(L);
  if (rq->h) tt_http_set_user(rq->h, NULL);
  tt_http_free(&rq->h); /* leaves the loop first: never completed, never handed out */
  if (rq->ref != LUA_NOREF) {
    luaL_unref(L, LUA_REGISTRYINDEX, rq->ref);
    rq->ref = LUA_NOREF;
  }
  return 0;
}

static int req_tostring(lua_State *L)
{
  ttL_request *rq = torequest(L);
  const char *state = !rq->h ? "closed" : tt_http_finished(rq->h) ? "done" : "running";
  lua_pushfstring(L, REQUEST " (%s): %p", state, (void *)rq);
  return 1;
}

static const luaL_Reg request_methods[] = {
    {"done", req_done},   {"cancel", req_cancel},     {"result", req_result}, {"raw", req_raw},
    {"close", req_close}, {"received", req_received}, {NULL, NULL},
};

/* ---- the loop ------------------------------------------------------------------------------ */

static int l_step(lua_State *L)
{
  double timeout = luaL_optnumber(L, 1, 0);
  ttL_loop *lp = lua_touserdata(L, lua_upvalueindex(1));
  lua_newtable(L); /* before stepping: a finalizer may run here, and may step itself */
  int rc = tt_loop_step(getloop(L), timeout);
  if (rc < 0) return luaL_error(L, "core.step: %s", tt_err_name(rc));
  /* Pop one at a time and anchor each request on the stack before anything can allocate:
   * Lua code run meanwhile (finalizers) may step, cancel or close, and sees a consistent
   * queue. */
  lua_Integer n = 0;
  tt_http *h;
  while (lp->loop && (h = tt_loop_pop(lp->loop))) {
    ttL_request *rq = tt_http_user(h);
    if (!rq || rq->ref == LUA_NOREF) continue;
    lua_rawgeti(L, LUA_REGISTRYINDEX, rq->ref);
    luaL_unref(L, LUA_REGISTRYINDEX, rq->ref);
    rq->ref = LUA_NOREF;
    lua_rawseti(L, -2, ++n);
  }
  return 1;
}

static int l_pending(lua_State *L)
{
  lua_pushinteger(L, (lua_Integer)tt_loop_pending(getloop(L)));
  return 1;
}

static int l_now(lua_State *L)
{
  lua_pushnumber(L, tt_loop_now());
  return 1;
}

static int l_interrupted(lua_State *L)
{
  lua_pushinteger(L, tt_sig_count());
  return 1;
}

static int l_catch_signals(lua_State *L)
{
  if (tt_sig_catch()) return luaL_error(L, "core.catch_signals: cannot create the self-pipe");
  return 0;
}

/* Standard error's terminal: nil when it is not one, else its width in columns (0 when the
 * terminal does not say, as a pseudo-terminal nobody sized). The progress display asks before
 * every redraw, so a resized window is fitted at once. */
static int l_stderr_columns(lua_State *L)
{
  if (!isatty(STDERR_FILENO)) {
    lua_pushnil(L);
    return 1;
  }
  struct winsize ws;
  lua_pushinteger(L, ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0);
  return 1;
}

/* ---- strings ------------------------------------------------------------------------------- */

static int l_urlencode(lua_State *L)
{
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  static const char hex[] = "0123456789ABCDEF";
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      luaL_addchar(&b, (char)c);
    } else {
      luaL_addchar(&b, '%');
      luaL_addchar(&b, hex[c >> 4]);
      luaL_addchar(&b, hex[c & 15]);
    }
  }
  luaL_pushresult(&b);
  return 1;
}

static int l_xmlescape(lua_State *L)
{
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    const char *rep;
    switch (s[i]) {
    case '&':
      rep = "&amp;";
      break;
    case '<':
      rep = "&lt;";
      break;
    case '>':
      rep = "&gt;";
      break;
    case '"':
      rep = "&quot;";
      break;
    default:
      continue;
    }
    luaL_addlstring(&b, s + start, i - start);
    luaL_addstring(&b, rep);
    start = i + 1;
  }
  luaL_addlstring(&b, s + start, n - start);
  luaL_pushresult(&b);
  return 1;
}

/* ---- the module ---------------------------------------------------------------------------- */

static const luaL_Reg functions[] = {
    {"request", l_request},
    {"step", l_step},
    {"pending", l_pending},
    {"now", l_now},
    {"interrupted", l_interrupted},
    {"catch_signals", l_catch_signals},
    {"stderr_columns", l_stderr_columns},
    {"urlencode", l_urlencode},
    {"xmlescape", l_xmlescape},
    {NULL, NULL},
};

static void push_loop(lua_State *L)
{
  if (lua_getfield(L, LUA_REGISTRYINDEX, LOOP_KEY) == LUA_TUSERDATA) return; /* one per state */
  lua_pop(L, 1);
  ttL_loop *lp = lua_newuserdatauv(L, sizeof *lp, 0);
  lp->loop = NULL;
  if (luaL_newmetatable(L, LOOP)) {
    lua_pushcfunction(L, loop_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  int rc = tt_loop_new(&lp->loop);
  if (rc) luaL_error(L, "tenten.core: cannot create the loop (%s)", tt_err_name(rc));
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, LOOP_KEY);
}

int luaopen_tenten_core(lua_State *L)
{
  luaL_checkversion(L);
  tt_sig_ignore_pipe(); /* tt-lua and stock lua5.4 alike: see sig.h */
  if (luaL_newmetatable(L, REQUEST)) {
    lua_newtable(L);
    luaL_setfuncs(L, request_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, req_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, req_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, req_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
  ttL_reply_open(L);

  push_loop(L);
  luaL_newlibtable(L, functions);
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, functions, 1);
  ttL_writer_open(L); /* core.writer */

  static const struct {
    const char *name;
    int code;
  } codes[] = {
      {"E_CONNECT", TT_E_CONNECT}, {"E_TIMEOUT", TT_E_TIMEOUT},     {"E_HTTP", TT_E_HTTP},
      {"E_XML", TT_E_XML},         {"E_CANCELLED", TT_E_CANCELLED}, {"E_TLS", TT_E_TLS},
      {"E_NOMEM", TT_E_NOMEM},     {"E_INVAL", TT_E_INVAL},         {"E_IO", TT_E_IO},
  };
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    lua_pushinteger(L, codes[i].code);
    lua_setfield(L, -2, codes[i].name);
  }
  lua_getfield(L, LUA_REGISTRYINDEX, TTL_NA);
  lua_setfield(L, -2, "NA");
  lua_pushboolean(L, tt_loop_asyncdns());
  lua_setfield(L, -2, "asyncdns");
  lua_pushliteral(L, TT_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
