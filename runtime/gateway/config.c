/* config: load the gateway configuration from a Lua file that returns a table. */
#include "auth.h"
#include "config.h"
#include "txn.h"

#include <crypt.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PAGE_ROWS         50000
#define DEFAULT_THROTTLE_FAILURES 5
#define DEFAULT_THROTTLE_HOLD     60.0
#define DEFAULT_MAX_BODY          (4L << 20)
/* login, logout and the pool calls take no body; a few KB is room for any client's habits. */
#define DEFAULT_MAX_LOGIN_BODY 16384
#define DEFAULT_CONN_TIMEOUT   30
#define DEFAULT_PER_IP_CONNS   64
/* Measured: 20,000 <sel> ops took SQLite 83 s to prepare; <willbe> ops cost about the cube
 * of their count (300: 0.9 s, 999: 77 s); 256 of them take about half a second. */
#define DEFAULT_MAX_OPS 256

static char *dup_or_null(const char *s)
{
  return s ? strdup(s) : NULL;
}

/* Read t[key] as a string; missing is NULL. Raises a Lua error on a wrong type. */
static const char *opt_string(lua_State *L, int t, const char *key, const char *where)
{
  lua_getfield(L, t, key);
  const char *s = NULL;
  if (lua_type(L, -1) == LUA_TSTRING)
    s = lua_tostring(L, -1);
  else if (!lua_isnil(L, -1))
    luaL_error(L, "%s: '%s' must be a string", where, key);
  lua_pop(L, 1); /* the string stays alive: t still refers to it */
  return s;
}

static double opt_number(lua_State *L, int t, const char *key, double dflt, const char *where)
{
  lua_getfield(L, t, key);
  double v = dflt;
  if (lua_type(L, -1) == LUA_TNUMBER)
    v = lua_tonumber(L, -1);
  else if (!lua_isnil(L, -1))
    luaL_error(L, "%s: '%s' must be a number", where, key);
  lua_pop(L, 1);
  if (v < 0) luaL_error(L, "%s: '%s' must not be negative", where, key);
  return v;
}

static int opt_bool(lua_State *L, int t, const char *key, int dflt, const char *where)
{
  lua_getfield(L, t, key);
  int v = dflt;
  if (lua_type(L, -1) == LUA_TBOOLEAN)
    v = lua_toboolean(L, -1);
  else if (!lua_isnil(L, -1))
    luaL_error(L, "%s: '%s' must be true or false", where, key);
  lua_pop(L, 1);
  return v;
}

/* A download limit: absent gives dflt (0 = unlimited); else a whole number >= 1. */
static long long opt_limit(lua_State *L, int t, const char *key, long long dflt, const char *where)
{
  lua_getfield(L, t, key);
  long long v = dflt;
  if (!lua_isnil(L, -1)) {
    int isnum = lua_type(L, -1) == LUA_TNUMBER;
    double d = lua_tonumber(L, -1);
    if (!isnum || d < 1 || d > 9007199254740992.0 || d != (double)(long long)d)
      luaL_error(L, "%s: '%s' must be a whole number >= 1 (leave it out for no limit)", where, key);
    v = (long long)d;
  }
  lua_pop(L, 1);
  return v;
}

/* inject = { api = { rc, ... }, ... }: strict, since a typo would silently inject nothing. */
static void load_inject(lua_State *L, int t, gw_config *cfg)
{
  lua_getfield(L, t, "inject");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  if (!lua_istable(L, -1))
    luaL_error(L, "config: 'inject' must be a table: { login = { 45, 41 } }");
  int it = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, it)) {
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "config: inject: keys must be api names");
    const char *api = lua_tostring(L, -2);
    if (!gw_txn_find(api)) luaL_error(L, "config: inject: unknown transaction '%s'", api);
    if (!lua_istable(L, -1)) luaL_error(L, "config: inject.%s must be a list of rcs", api);
    int lt = lua_gettop(L);
    size_t len = (size_t)lua_rawlen(L, lt), count = 0;
    lua_pushnil(L);
    while (lua_next(L, lt)) {
      count++;
      lua_pop(L, 1);
    }
    if (count != len) luaL_error(L, "config: inject.%s must be a list of rcs", api);
    gw_inject *in = realloc(cfg->inject, (cfg->ninject + 1) * sizeof *in);
    if (!in) luaL_error(L, "out of memory");
    cfg->inject = in;
    in = &cfg->inject[cfg->ninject++];
    memset(in, 0, sizeof *in);
    in->api = strdup(api);
    in->rcs = calloc(len ? len : 1, sizeof *in->rcs);
    if (!in->api || !in->rcs) luaL_error(L, "out of memory");
    for (size_t i = 0; i < len; i++) {
      lua_rawgeti(L, lt, (lua_Integer)i + 1);
      int isnum = 0;
      lua_Integer rc = lua_tointegerx(L, -1, &isnum);
      if (!isnum || rc < 1 || rc > 99)
        luaL_error(L, "config: inject.%s[%d] must be a whole number from 1 to 99", api, (int)i + 1);
      in->rcs[in->n++] = (int)rc;
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* login_throttle = { failures = N, first = S, hold = S }, or false for none. */
static void load_throttle(lua_State *L, int t, gw_config *cfg)
{
  cfg->throttle_failures = DEFAULT_THROTTLE_FAILURES;
  cfg->throttle_first = 1;
  cfg->throttle_hold = DEFAULT_THROTTLE_HOLD;
  lua_getfield(L, t, "login_throttle");
  if (lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
    cfg->throttle_failures = 0;
  } else if (!lua_isnil(L, -1)) {
    if (!lua_istable(L, -1))
      luaL_error(L,
                 "config: 'login_throttle' must be a table { failures = 5, hold = 60 } or false");
    int tt = lua_gettop(L);
    double f = opt_number(L, tt, "failures", DEFAULT_THROTTLE_FAILURES, "config: login_throttle");
    if (f < 1 || f > 1000 || f != (int)f)
      luaL_error(L, "config: login_throttle: 'failures' must be a whole number from 1 to 1000");
    double h = opt_number(L, tt, "hold", DEFAULT_THROTTLE_HOLD, "config: login_throttle");
    if (!(h > 0) || h > 86400)
      luaL_error(L, "config: login_throttle: 'hold' must be above 0 and at most 86400 seconds");
    /* a hold shorter than a second starts at the hold itself */
    double first = opt_number(L, tt, "first", h < 1 ? h : 1, "config: login_throttle");
    if (!(first > 0) || first > h)
      luaL_error(L, "config: login_throttle: 'first' must be above 0 and at most 'hold'");
    cfg->throttle_failures = (int)f;
    cfg->throttle_first = first;
    cfg->throttle_hold = h;
  }
  lua_pop(L, 1);
}

/* Name one place of a plain-text password for the start-up warning; past 400 bytes, "...". */
static void note_plain(lua_State *L, gw_config *cfg, const char *what)
{
  size_t have = cfg->warning ? strlen(cfg->warning) : 0;
  if (have > 400) {
    if (strcmp(cfg->warning + have - 3, "...") == 0) return;
    what = "...";
  }
  char *w = realloc(cfg->warning, have + strlen(what) + 3);
  if (!w) luaL_error(L, "out of memory");
  snprintf(w + have, strlen(what) + 3, "%s%s", have ? ", " : "", what);
  cfg->warning = w;
}

static int valid_id(const char *s)
{
  if (!s || !*s || strlen(s) > 64) return 0;
  for (const char *p = s; *p; p++)
    if (!(*p == '_' || *p == '-' || *p == '.' || (*p >= '0' && *p <= '9') ||
          (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
      return 0;
  return 1;
}

static gw_user *add_user(lua_State *L, gw_config *cfg)
{
  gw_user *u = realloc(cfg->users, (cfg->nusers + 1) * sizeof *u);
  if (!u) luaL_error(L, "out of memory");
  cfg->users = u;
  u = &cfg->users[cfg->nusers++];
  memset(u, 0, sizeof *u);
  u->group = -1;
  return u;
}

/* Runs as a protected Lua function so every check can simply raise. */
static int load(lua_State *L)
{
  gw_config *cfg = lua_touserdata(L, 2);
  int t = 1;
  char where[96];

  const char *db = opt_string(L, t, "database", "config");
  if (!db) luaL_error(L, "config: 'database' is required (path of the SQLite file)");
  cfg->database = strdup(db);
  cfg->listen = dup_or_null(opt_string(L, t, "listen", "config"));
  cfg->reserve_seconds = opt_number(L, t, "reserve_seconds", 900, "config");
  cfg->idle_seconds = opt_number(L, t, "idle_seconds", 1800, "config");
  cfg->page_rows = (long)opt_number(L, t, "page_rows", DEFAULT_PAGE_ROWS, "config");
  cfg->max_body = (long)opt_number(L, t, "max_body", (double)DEFAULT_MAX_BODY, "config");
  cfg->log_requests = opt_bool(L, t, "log_requests", 1, "config");
  if (cfg->page_rows < 1) luaL_error(L, "config: 'page_rows' must be at least 1");
  if (cfg->max_body < 1024) luaL_error(L, "config: 'max_body' must be at least 1024");
  cfg->max_login_body = (long)opt_number(L, t, "max_login_body", DEFAULT_MAX_LOGIN_BODY, "config");
  if (cfg->max_login_body < 1024) luaL_error(L, "config: 'max_login_body' must be at least 1024");
  cfg->conn_timeout = opt_number(L, t, "connection_timeout", DEFAULT_CONN_TIMEOUT, "config");
  if (cfg->conn_timeout < 1 || cfg->conn_timeout > 86400)
    luaL_error(L, "config: 'connection_timeout' must be from 1 to 86400 seconds");
  cfg->per_ip_conns = (long)opt_number(L, t, "per_ip_connections", DEFAULT_PER_IP_CONNS, "config");
  cfg->max_ops = (long)opt_number(L, t, "max_ops", DEFAULT_MAX_OPS, "config");
  if (cfg->max_ops < 1) luaL_error(L, "config: 'max_ops' must be at least 1");
  long long top_rows = opt_limit(L, t, "max_download_rows", 0, "config");
  long long top_cells = opt_limit(L, t, "max_download_cells", 0, "config");
  load_inject(L, t, cfg);
  load_throttle(L, t, cfg);

  lua_getfield(L, t, "users");
  if (!lua_istable(L, -1)) luaL_error(L, "config: 'users' must be a list of tables");
  int users = lua_gettop(L);
  for (lua_Integer i = 1;; i++) {
    if (lua_rawgeti(L, users, i) == LUA_TNIL) break;
    snprintf(where, sizeof where, "config: users[%lld]", (long long)i);
    if (!lua_istable(L, -1)) luaL_error(L, "%s must be a table", where);
    int ut = lua_gettop(L);
    const char *uid = opt_string(L, ut, "uid", where);
    if (!valid_id(uid)) luaL_error(L, "%s: 'uid' must be 1-64 of [A-Za-z0-9_.-]", where);
    if (gw_config_find_user(cfg, uid) >= 0) luaL_error(L, "%s: duplicate uid '%s'", where, uid);
    const char *pw = opt_string(L, ut, "password", where);
    const char *hash = opt_string(L, ut, "password_hash", where);
    if (!pw == !hash) luaL_error(L, "%s: give exactly one of 'password' or 'password_hash'", where);
    const char *why = hash ? gw_auth_hash_problem(hash) : NULL;
    if (why) luaL_error(L, "%s: 'password_hash' %s", where, why);
    const char *company = opt_string(L, ut, "company", where);
    int admin = opt_bool(L, ut, "admin", 0, where);
    long long rows = opt_limit(L, ut, "max_download_rows", top_rows, where);
    long long cells = opt_limit(L, ut, "max_download_cells", top_cells, where);
    gw_user *u = add_user(L, cfg);
    u->uid = strdup(uid);
    u->password = dup_or_null(pw);
    u->password_hash = dup_or_null(hash);
    u->company = strdup(company ? company : "");
    u->admin = admin;
    u->max_download_rows = rows;
    u->max_download_cells = cells;
    if (pw) {
      char what[96];
      snprintf(what, sizeof what, "users[%lld] %s", (long long)i, uid);
      note_plain(L, cfg, what);
    }
    if (hash && !cfg->dummy_hash) {
      /* Unknown uids are checked against this: same scheme and cost as a real user's. */
      struct crypt_data data;
      memset(&data, 0, sizeof data);
      const char *d = crypt_r("tt-gateway: nobody's password", hash, &data);
      cfg->dummy_hash = d && d[0] == '$' ? strdup(d) : NULL;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 2);

  lua_getfield(L, t, "groups");
  if (!lua_isnil(L, -1)) {
    if (!lua_istable(L, -1)) luaL_error(L, "config: 'groups' must be a list of tables");
    int groups = lua_gettop(L);
    for (lua_Integer i = 1;; i++) {
      if (lua_rawgeti(L, groups, i) == LUA_TNIL) break;
      snprintf(where, sizeof where, "config: groups[%lld]", (long long)i);
      if (!lua_istable(L, -1)) luaL_error(L, "%s must be a table", where);
      int gt = lua_gettop(L);
      const char *gid = opt_string(L, gt, "gid", where);
      if (!valid_id(gid)) luaL_error(L, "%s: 'gid' must be 1-64 of [A-Za-z0-9_.-]", where);
      if (gw_config_find_group(cfg, gid) >= 0) luaL_error(L, "%s: duplicate gid '%s'", where, gid);
      const char *owner = opt_string(L, gt, "owner", where);
      long o = owner ? gw_config_find_user(cfg, owner) : -1;
      if (o < 0) luaL_error(L, "%s: 'owner' must name a user of 'users'", where);
      double size = opt_number(L, gt, "size", 0, where);
      if (size < 1 || size > 10000 || size != (long)size)
        luaL_error(L, "%s: 'size' must be a whole number from 1 to 10000", where);
      const char *mpw = opt_string(L, gt, "member_password", where);
      if (mpw) {
        char what[96];
        snprintf(what, sizeof what, "groups[%lld] member_password", (long long)i);
        note_plain(L, cfg, what);
      }
      long long rows = opt_limit(L, gt, "max_download_rows", top_rows, where);
      long long cells = opt_limit(L, gt, "max_download_cells", top_cells, where);

      gw_group_config *g = realloc(cfg->groups, (cfg->ngroups + 1) * sizeof *g);
      if (!g) luaL_error(L, "out of memory");
      cfg->groups = g;
      g = &cfg->groups[cfg->ngroups];
      g->gid = strdup(gid);
      g->owner = (size_t)o;
      g->size = (size_t)size;
      g->first_member = cfg->nusers;
      g->max_download_rows = rows;
      g->max_download_cells = cells;
      cfg->ngroups++;
      for (size_t m = 0; m < g->size; m++) {
        char uid[96];
        snprintf(uid, sizeof uid, "%s_%zu", gid, m);
        if (gw_config_find_user(cfg, uid) >= 0)
          luaL_error(L, "%s: member '%s' clashes with another user", where, uid);
        const gw_user *ou = &cfg->users[o];
        gw_user *u = add_user(L, cfg); /* may move cfg->users: ou read before */
        ou = &cfg->users[o];
        u->uid = strdup(uid);
        /* Members share the owner's password unless the group names its own. */
        u->password = dup_or_null(mpw ? mpw : ou->password);
        u->password_hash = mpw ? NULL : dup_or_null(ou->password_hash);
        u->company = strdup(ou->company);
        u->group = (int)(cfg->ngroups - 1);
        u->max_download_rows = rows;
        u->max_download_cells = cells;
      }
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  return 0;
}

int gw_config_load(const char *path, gw_config *cfg, char *err, size_t errlen)
{
  memset(cfg, 0, sizeof *cfg);
  lua_State *L = luaL_newstate();
  if (!L) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  luaL_openlibs(L);
  int rc = -1;
  if (luaL_loadfile(L, path) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
    snprintf(err, errlen, "%s", lua_tostring(L, -1));
  } else if (!lua_istable(L, -1)) {
    snprintf(err, errlen, "%s: the file must return a table", path);
  } else {
    lua_pushcfunction(L, load);
    lua_insert(L, -2);
    lua_pushlightuserdata(L, cfg);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK)
      snprintf(err, errlen, "%s", lua_tostring(L, -1));
    else
      rc = 0;
  }
  lua_close(L);
  if (rc) gw_config_free(cfg);
  return rc;
}

void gw_config_free(gw_config *cfg)
{
  for (size_t i = 0; i < cfg->nusers; i++) {
    gw_user *u = &cfg->users[i];
    free(u->uid);
    free(u->password);
    free(u->password_hash);
    free(u->company);
  }
  for (size_t i = 0; i < cfg->ngroups; i++) free(cfg->groups[i].gid);
  for (size_t i = 0; i < cfg->ninject; i++) {
    free(cfg->inject[i].api);
    free(cfg->inject[i].rcs);
  }
  free(cfg->inject);
  free(cfg->users);
  free(cfg->groups);
  free(cfg->database);
  free(cfg->listen);
  free(cfg->dummy_hash);
  free(cfg->warning);
  memset(cfg, 0, sizeof *cfg);
}

long gw_config_find_user(const gw_config *cfg, const char *uid)
{
  if (!uid) return -1;
  for (size_t i = 0; i < cfg->nusers; i++)
    if (cfg->users[i].uid && strcmp(cfg->users[i].uid, uid) == 0) return (long)i;
  return -1;
}

long gw_config_find_group(const gw_config *cfg, const char *gid)
{
  if (!gid) return -1;
  for (size_t i = 0; i < cfg->ngroups; i++)
    if (strcmp(cfg->groups[i].gid, gid) == 0) return (long)i;
  return -1;
}

int gw_config_injected(gw_config *cfg, const char *api)
{
  for (size_t i = 0; api && i < cfg->ninject; i++) {
    gw_inject *in = &cfg->inject[i];
    if (strcmp(in->api, api) != 0) continue;
    if (__atomic_load_n(&in->taken, __ATOMIC_RELAXED) >= in->n) return 0;
    size_t k = __atomic_fetch_add(&in->taken, 1, __ATOMIC_RELAXED);
    return k < in->n ? in->rcs[k] : 0;
  }
  return 0;
}
