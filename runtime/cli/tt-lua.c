/* tt-lua: the Lua 5.4 interpreter with the tenten module built in. It takes the stock `lua`
 * command line; the differences are that the main chunk (script, stdin, interactive lines) runs
 * as a task under require("tenten").run, and that SIGINT/SIGTERM cancel that run cleanly. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "luadir.h"
#include "tenten_core.h"

#ifndef TT_VERSION
#error "TT_VERSION must be defined (CMake passes the project's version)"
#endif

#define PROGNAME         "tt-lua"
#define EXIT_INTERRUPTED 130

/* Registry keys. */
#define KEY_CORE    "tt-lua.core"    /* the tenten.core module, once loaded */
#define KEY_ERR     "tt-lua.err"     /* the last main-task failure, see record_error */
#define KEY_SIGNALS "tt-lua.signals" /* true once catch_signals() was called */
#define KEY_RESULTS "tt-lua.results" /* packed results of the last main chunk */

/* Chunk name of the wrapper around the main chunk; tracebacks are cut where it appears. */
#define WRAP_NAME "(tt-lua)"

static const char usage_text[] = "usage: " PROGNAME " [options] [script [args]]\n"
                                 "Available options are:\n"
                                 "  -e stat   execute string 'stat'\n"
                                 "  -i        enter interactive mode after executing 'script'\n"
                                 "  -l mod    require library 'mod' into global 'mod'\n"
                                 "  -l g=mod  require library 'mod' into global 'g'\n"
                                 "  -v        show version information (also --version)\n"
                                 "  -h        show tt-lua's help and exit (also --help)\n"
                                 "  -E        ignore environment variables\n"
                                 "  -W        turn warnings on\n"
                                 "  --        stop handling options\n"
                                 "  -         stop handling options and execute stdin\n";

/* --help: the options, the environment tenten reads, and (appended) the Lua directory in use. */
static const char help_text[] =
    "usage: " PROGNAME " [options] [script [args]]\n"
    "\n"
    "tt-lua runs a Lua 5.4 script with the tenten module built in (require \"tenten\"). The\n"
    "script runs as a task under require(\"tenten\").run, so blocking calls suspend only\n"
    "their task. SIGINT or SIGTERM cancels every task and releases pool IDs (exit 130).\n"
    "\n"
    "Options:\n"
    "  -e stat      execute string 'stat' (before the script, outside any task)\n"
    "  -i           enter interactive mode after executing 'script'\n"
    "  -l mod       require library 'mod' into global 'mod'\n"
    "  -l g=mod     require library 'mod' into global 'g'\n"
    "  -v           show version information (also --version)\n"
    "  -h, --help   show this help and exit\n"
    "  -E           ignore environment variables (LUA_*, TT_LUA_DIR)\n"
    "  -W           turn warnings on\n"
    "  --           stop handling options\n"
    "  -            stop handling options and execute stdin\n"
    "\n"
    "Environment:\n"
    "  TT_GATEWAY   gateway URL, when a call does not give one\n"
    "  TT_USER      user id (the pool owner for pools), when a call does not give one\n"
    "  TT_PASSWORD  that user's password, when a call does not give one\n"
    "  TT_GROUP     SAM group for pools and pool sessions, when a call does not give one\n"
    "  TT_TRACEBACK 1: an uncaught error's traceback keeps the frames inside tenten\n"
    "  TT_LUA_DIR   directory of tenten's Lua files, instead of the one found next to\n"
    "               tt-lua (<bin>/../share/lua/5.4, or the source tree for a build)\n"
    "  LUA_INIT, LUA_INIT_5_4, LUA_PATH, LUA_CPATH  as for the stock lua\n"
    "\n"
    "Exit status: 0 done, 1 an uncaught error, 130 interrupted.\n"
    "See tt-lua(1) and docs/guide.md.\n";

/* Runs the main chunk inside the task: errors keep their value (the scheduler and run() see
 * exactly what the chunk raised) while `record` notes the traceback of the task's own stack,
 * which is gone by the time run() re-raises the error on the main thread. `keep` saves the
 * results for the interactive mode, whatever run() itself returns. */
static const char wrap_src[] =
    "local chunk, record, keep = ...\n"
    "local xpcall, error = xpcall, error\n"
    "local function finish(ok, ...)\n"
    "  if ok then keep(...) return ... end\n"
    "  error((...), 0)\n"
    "end\n"
    "return function(...) return finish(xpcall(chunk, record, ...)) end\n";

typedef struct options {
  int script; /* argv index of the script; argc when there is none */
  int has_e, has_i, has_v, has_E, has_h;
  int bad; /* argv index of an invalid option, 0 when all are fine */
} options;

static void message(const char *prog, const char *msg)
{
  if (prog) fprintf(stderr, "%s: ", prog);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

/* Collect the flags, stopping at the first argument that is not an option. */
static void parse_args(int argc, char **argv, options *o)
{
  memset(o, 0, sizeof *o);
  int i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-') break;
    char c = a[1];
    if (c == '\0') break; /* "-": the script is stdin */
    if (c == '-') {
      if (strcmp(a, "--help") == 0) {
        o->has_h = 1;
        continue;
      }
      if (strcmp(a, "--version") == 0) {
        o->has_v = 1;
        continue;
      }
      if (a[2] != '\0') {
        o->bad = i;
        return;
      }
      i++;
      break;
    }
    if (c == 'e' || c == 'l') {
      if (c == 'e') o->has_e = 1;
      if (a[2] == '\0' && (i + 1 >= argc || argv[i + 1][0] == '-')) {
        o->bad = i;
        return;
      }
      if (a[2] == '\0') i++;
      continue;
    }
    if (a[2] != '\0' || !strchr("EWhiv", c)) {
      o->bad = i;
      return;
    }
    if (c == 'E') o->has_E = 1;
    if (c == 'h') o->has_h = 1;
    if (c == 'i') o->has_i = o->has_v = 1;
    if (c == 'v') o->has_v = 1;
  }
  o->script = i < argc ? i : argc;
}

static void print_usage(const char *badopt)
{
  if (badopt[1] == 'e' || badopt[1] == 'l')
    fprintf(stderr, "%s: '%s' needs argument\n", PROGNAME, badopt);
  else
    fprintf(stderr, "%s: unrecognized option '%s'\n", PROGNAME, badopt);
  fputs(usage_text, stderr);
  fflush(stderr);
}

static void print_version(void)
{
  fputs(LUA_COPYRIGHT "\n" PROGNAME " " TT_VERSION "\n", stdout);
  fflush(stdout);
}

/* Push a readable text for the error value at idx (strings and numbers as they are, else
 * __tostring, else its type). */
static const char *push_error_text(lua_State *L, int idx)
{
  idx = lua_absindex(L, idx);
  int t = lua_type(L, idx);
  if (t == LUA_TSTRING || t == LUA_TNUMBER) {
    lua_pushvalue(L, idx);
    return lua_tostring(L, -1);
  }
  if (luaL_callmeta(L, idx, "__tostring")) {
    if (lua_type(L, -1) == LUA_TSTRING) return lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  return lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
}

/* Whether the string at idx is text followed by a traceback. */
static int text_with_traceback(lua_State *L, int idx, const char *text, size_t n)
{
  static const char mark[] = "\nstack traceback:";
  size_t len;
  const char *e = lua_tolstring(L, idx, &len);
  return len >= n + sizeof mark - 1 && memcmp(e, text, n) == 0 &&
         memcmp(e + n, mark, sizeof mark - 1) == 0;
}

/* Whether the error value at idx is the one the main chunk raised (rec: its record): the same
 * value, or its text (ours or tostring's) with a traceback, as a scheduler may re-raise it. */
static int is_recorded(lua_State *L, int idx, int rec)
{
  lua_rawgeti(L, rec, 1);
  int same = lua_rawequal(L, idx, -1);
  lua_pop(L, 1);
  for (int i = 3; i <= 4 && !same && lua_type(L, idx) == LUA_TSTRING; i++) {
    if (lua_rawgeti(L, rec, i) == LUA_TSTRING) {
      size_t n;
      const char *text = lua_tolstring(L, -1, &n);
      same = text_with_traceback(L, idx, text, n);
    }
    lua_pop(L, 1);
  }
  return same;
}

static int has_traceback(lua_State *L, int idx)
{
  return lua_type(L, idx) == LUA_TSTRING && strstr(lua_tostring(L, idx), "\nstack traceback:\n");
}

/* Message handler on the main thread: the error text with a traceback. An error the main chunk
 * raised gets the traceback recorded in its task; an error that already carries one (the
 * scheduler adds them to failures of other tasks) keeps it; else the traceback is this stack's. */
static int msghandler(lua_State *L)
{
  if (lua_getfield(L, LUA_REGISTRYINDEX, KEY_ERR) == LUA_TTABLE && is_recorded(L, 1, 2)) {
    lua_rawgeti(L, 2, 2);
    return 1;
  }
  lua_settop(L, 1);
  if (has_traceback(L, 1)) return 1;
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_pushliteral(L, "traceback");
    lua_rawget(L, 1);
    if (has_traceback(L, -1)) return 1;
    lua_pop(L, 1);
  }
  luaL_traceback(L, L, push_error_text(L, 1), 1);
  return 1;
}

/* Save the results of the main chunk (see wrap_src). */
static int keep_results(lua_State *L)
{
  int n = lua_gettop(L);
  lua_createtable(L, n, 1);
  lua_insert(L, 1);
  for (int i = n; i >= 1; i--) lua_rawseti(L, 1, i);
  lua_pushinteger(L, n);
  lua_setfield(L, 1, "n");
  lua_setfield(L, LUA_REGISTRYINDEX, KEY_RESULTS);
  return 0;
}

/* Message handler inside the main task: record the error (value, traceback, its text and
 * tostring's) and keep the value. */
static int record_error(lua_State *L)
{
  lua_settop(L, 1);
  const char *text = push_error_text(L, 1);
  luaL_traceback(L, L, text, 1);
  size_t len;
  const char *tb = lua_tolstring(L, -1, &len);
  /* Frames from the wrapper down (wrapper, scheduler) are ours, not the script's. */
  const char *w = strstr(tb, "\n\t" WRAP_NAME ":");
  if (w) {
    const char *p = w - 1;
    while (p > tb && !(p[0] == '\n' && p[1] == '\t')) p--;
    len = (size_t)((p > tb && strncmp(p, "\n\t[C]:", 6) == 0 ? p : w) - tb);
  }
  lua_createtable(L, 4, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  lua_pushlstring(L, tb, len);
  lua_rawseti(L, -2, 2);
  lua_pushvalue(L, 2);
  lua_rawseti(L, -2, 3);
  luaL_tolstring(L, 1, NULL);
  lua_rawseti(L, -2, 4);
  lua_setfield(L, LUA_REGISTRYINDEX, KEY_ERR);
  lua_settop(L, 1);
  return 1;
}

/* Call the function below its narg arguments with the message handler. */
static int docall(lua_State *L, int narg, int nres)
{
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, narg, nres, base);
  lua_remove(L, base);
  return status;
}

/* ---- tracebacks without tenten's own frames ------------------------------------------- */

/* Whether a traceback line (after its tab) is a frame of a tenten module: its source ends in
 * tenten/NAME.lua (or tenten/DIR/NAME.lua) and module tenten.NAME (tenten for init.lua) is
 * loaded. The test reads the tail of the source, since a long path is shortened at its head
 * ("...tenten/session.lua"), and asks package.loaded, so a script of the user's that only
 * shares a file name is never taken for one. */
static int tenten_frame(lua_State *L, const char *line, size_t len)
{
  const char *end = memchr(line, ':', len);
  while (end && !(end + 1 < line + len && end[1] >= '0' && end[1] <= '9'))
    end = memchr(end + 1, ':', (size_t)(line + len - end - 1));
  if (!end) return 0; /* a C function or "(...tail calls...)" */
  static const char ext[] = ".lua";
  if ((size_t)(end - line) < sizeof ext || memcmp(end - 4, ext, 4) != 0) return 0;
  const char *mod = NULL;
  for (const char *p = line; p + 7 <= end; p++)
    if (memcmp(p, "tenten/", 7) == 0 && (p == line || p[-1] == '/' || p[-1] == '.')) mod = p;
  if (!mod) return 0;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (const char *p = mod; p < end - 4; p++) luaL_addchar(&b, *p == '/' ? '.' : *p);
  luaL_pushresult(&b);
  size_t n;
  const char *name = lua_tolstring(L, -1, &n);
  if (n > 5 && strcmp(name + n - 5, ".init") == 0)
    lua_pushlstring(L, name, n - 5);
  else
    lua_pushvalue(L, -1);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_insert(L, -2);
  int loaded = lua_type(L, -2) == LUA_TTABLE && lua_gettable(L, -2) != LUA_TNIL;
  lua_pop(L, 3);
  return loaded;
}

/* Whether tracebacks keep tenten's frames: TT_TRACEBACK set to anything but "" or "0". */
static int full_tracebacks(void)
{
  const char *v = getenv("TT_TRACEBACK");
  return v && *v && strcmp(v, "0") != 0;
}

#define MAX_FRAMES 256

/* Push msg with the frames of tenten's modules left out of its traceback: those frames, the C
 * functions they call and the tail calls between them. The user's frames stay; a last line
 * says how many went. A message without a traceback is pushed as it is. */
static const char *push_trimmed(lua_State *L, const char *msg)
{
  static const char mark[] = "\nstack traceback:\n";
  const char *tb = strstr(msg, mark);
  if (!tb || full_tracebacks()) return lua_pushstring(L, msg);
  const char *start[MAX_FRAMES];
  size_t len[MAX_FRAMES];
  char internal[MAX_FRAMES];
  int n = 0;
  const char *p = tb + sizeof mark - 1;
  while (*p == '\t' && n < MAX_FRAMES) {
    const char *eol = strchr(p, '\n');
    size_t l = eol ? (size_t)(eol - p) : strlen(p);
    start[n] = p + 1;
    len[n] = l - 1;
    internal[n] = (char)tenten_frame(L, p + 1, l - 1);
    n++;
    p += l + (eol ? 1 : 0);
  }
  /* A C function is tenten's when its caller, the next frame, is; a "(...tail calls...)"
   * line when the frame on either side of it is. */
  for (int i = n - 1; i >= 0; i--) {
    if (internal[i]) continue;
    if (strncmp(start[i], "[C]:", 4) == 0 && i + 1 < n) internal[i] = internal[i + 1];
    if (strncmp(start[i], "(...", 4) == 0)
      internal[i] = (char)((i + 1 < n && internal[i + 1]) || (i > 0 && internal[i - 1]));
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, msg, (size_t)(tb - msg) + sizeof mark - 1);
  int hidden = 0, kept = 0;
  for (int i = 0; i < n; i++) {
    if (internal[i]) {
      hidden++;
      continue;
    }
    if (kept++) luaL_addchar(&b, '\n');
    luaL_addchar(&b, '\t');
    luaL_addlstring(&b, start[i], len[i]);
  }
  if (hidden) {
    if (kept) luaL_addchar(&b, '\n');
    lua_pushfstring(L, "\t(%d frame%s inside tenten hidden; TT_TRACEBACK=1 shows them)", hidden,
                    hidden == 1 ? "" : "s");
    luaL_addvalue(&b);
  }
  if (*p) { /* lines past MAX_FRAMES, as they were */
    luaL_addchar(&b, '\n');
    luaL_addstring(&b, p);
  }
  luaL_pushresult(&b);
  return lua_tostring(L, -1);
}

/* Print the error message on top of the stack (if status is an error) and pop it. */
static int report(lua_State *L, int status, const char *prog)
{
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    message(prog, msg ? push_trimmed(L, msg) : "(error object is not a string)");
    lua_pop(L, msg ? 2 : 1);
  }
  return status;
}

static int dochunk(lua_State *L, int status)
{
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report(L, status, PROGNAME);
}

static int dostring(lua_State *L, const char *s, const char *name)
{
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l mod or -l g=mod: global g (or mod) = require(mod). */
static int dolibrary(lua_State *L, const char *spec)
{
  const char *eq = strchr(spec, '=');
  const char *mod = eq ? eq + 1 : spec;
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  int status = docall(L, 1, 1);
  if (status == LUA_OK) {
    if (eq)
      lua_pushlstring(L, spec, (size_t)(eq - spec));
    else
      lua_pushstring(L, spec);
    lua_insert(L, -2);
    lua_setglobal(L, lua_tostring(L, -2));
    lua_pop(L, 1);
  }
  return report(L, status, PROGNAME);
}

/* arg[0] is the script, arg[1..] its arguments, arg[-1..] the interpreter and its options;
 * without a script, arg[0] is the interpreter. */
static void create_arg_table(lua_State *L, int argc, char **argv, int script)
{
  if (script == argc) script = 0;
  lua_createtable(L, argc - script - 1 > 0 ? argc - script - 1 : 0, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int handle_luainit(lua_State *L)
{
  const char *name = "=LUA_INIT_5_4";
  const char *init = getenv("LUA_INIT_5_4");
  if (!init) {
    name = "=LUA_INIT";
    init = getenv("LUA_INIT");
  }
  if (!init) return LUA_OK;
  if (init[0] == '@') return dochunk(L, luaL_loadfile(L, init + 1));
  return dostring(L, init, name);
}

/* -e, -l and -W, in command-line order. */
static int run_options(lua_State *L, char **argv, int script)
{
  for (int i = 1; i < script; i++) {
    char c = argv[i][1];
    if (c == 'e' || c == 'l') {
      const char *val = argv[i][2] ? argv[i] + 2 : argv[++i];
      int status = c == 'e' ? dostring(L, val, "=(command line)") : dolibrary(L, val);
      if (status != LUA_OK) return status;
    } else if (c == 'W') {
      lua_warning(L, "@on", 0);
    }
  }
  return LUA_OK;
}

/* Where the Lua half of tenten lives: $TT_LUA_DIR (unless -E), else the source tree for a
 * binary in its build directory, else next to the executable (runtime/common/luadir.c). */
static const char *lua_dir(lua_State *L, int noenv, const char **origin)
{
  char dir[4096];
  if (tt_luadir_find(!noenv, dir, sizeof dir, origin))
    luaL_error(L, "the path of tenten's Lua directory is too long");
  return lua_pushstring(L, dir);
}

static void print_help(lua_State *L, int noenv)
{
  const char *origin;
  const char *dir = lua_dir(L, noenv, &origin);
  printf("%s\n" PROGNAME " " TT_VERSION ", Lua files in %s (%s)\n", help_text, dir, origin);
  fflush(stdout);
  lua_pop(L, 1);
}

static void setup_tenten(lua_State *L, int noenv)
{
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "preload");
  lua_pushcfunction(L, luaopen_tenten_core);
  lua_setfield(L, -2, "tenten.core");
  lua_pop(L, 1);
  const char *dir = lua_dir(L, noenv, NULL);
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", dir, dir);
  lua_remove(L, -2);
  lua_getfield(L, -2, "path");
  lua_concat(L, 2);
  lua_setfield(L, -2, "path");
  lua_pop(L, 1);
}

static void require(lua_State *L, const char *name)
{
  lua_getglobal(L, "require");
  lua_pushstring(L, name);
  lua_call(L, 1, 1);
}

/* start(chunk, args...): load tenten, catch signals (once) and return
 * require("tenten").run(wrapped chunk, args...). Runs under docall. */
static int start(lua_State *L)
{
  int n = lua_gettop(L);
  if (lua_getfield(L, LUA_REGISTRYINDEX, KEY_SIGNALS) == LUA_TNIL) {
    require(L, "tenten.core");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, KEY_CORE);
    if (lua_getfield(L, -1, "catch_signals") != LUA_TFUNCTION)
      return luaL_error(L, "module 'tenten.core' has no function 'catch_signals'");
    lua_call(L, 0, 0);
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, KEY_SIGNALS);
  }
  lua_settop(L, n);
  require(L, "tenten");
  if (lua_getfield(L, -1, "run") != LUA_TFUNCTION)
    return luaL_error(L, "module 'tenten' has no function 'run'");
  lua_remove(L, -2);
  if (luaL_loadbuffer(L, wrap_src, sizeof wrap_src - 1, "=" WRAP_NAME) != LUA_OK)
    return lua_error(L);
  lua_pushvalue(L, 1);
  lua_pushcfunction(L, record_error);
  lua_pushcfunction(L, keep_results);
  lua_call(L, 3, 1);
  for (int i = 2; i <= n; i++) lua_pushvalue(L, i);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L) - n;
}

static void clear(lua_State *L, const char *key)
{
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, key);
}

/* Run the function below its narg arguments as the main task. Leaves the error message on
 * the stack on failure, nothing on success (the results are in the registry). */
static int run_task(lua_State *L, int narg)
{
  clear(L, KEY_ERR);
  clear(L, KEY_RESULTS);
  lua_pushcfunction(L, start);
  lua_insert(L, -(narg + 2));
  int status = docall(L, narg + 1, 0);
  clear(L, KEY_ERR);
  return status;
}

/* How many SIGINT/SIGTERM tenten.core has seen (0 before it is loaded). */
static lua_Integer interrupted(lua_State *L)
{
  lua_Integer n = 0;
  int top = lua_gettop(L);
  if (lua_getfield(L, LUA_REGISTRYINDEX, KEY_CORE) == LUA_TTABLE &&
      lua_getfield(L, -1, "interrupted") == LUA_TFUNCTION && lua_pcall(L, 0, 1, 0) == LUA_OK)
    n = lua_tointeger(L, -1);
  lua_settop(L, top);
  return n;
}

/* Push arg[1..#arg] (read now: -e may have changed them); return how many. */
static int push_script_args(lua_State *L)
{
  if (lua_getglobal(L, "arg") != LUA_TTABLE) luaL_error(L, "'arg' is not a table");
  int n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -n - 1);
  return n;
}

static int exit_interrupted(void)
{
  message(PROGNAME, "interrupted");
  return EXIT_INTERRUPTED;
}

/* The script (stdin when fname is NULL) as the main task; returns the exit status. */
static int handle_script(lua_State *L, const char *fname)
{
  int status = luaL_loadfile(L, fname);
  if (status != LUA_OK) {
    report(L, status, PROGNAME);
    return EXIT_FAILURE;
  }
  int n = push_script_args(L);
  status = run_task(L, n);
  if (interrupted(L) > 0) {
    if (status != LUA_OK) lua_pop(L, 1);
    return exit_interrupted();
  }
  return report(L, status, PROGNAME) == LUA_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---- interactive mode ------------------------------------------------------------------- */

static volatile sig_atomic_t prompt_signal;

static void on_prompt_signal(int signo)
{
  prompt_signal = signo;
}

/* Take over SIGINT/SIGTERM (unless ignored) while waiting at the prompt, saving the previous
 * handlers in old. */
static void catch_at_prompt(struct sigaction old[2])
{
  static const int sigs[2] = {SIGINT, SIGTERM};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_prompt_signal;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 2; i++) {
    sigaction(sigs[i], NULL, &old[i]);
    if (old[i].sa_handler != SIG_IGN) sigaction(sigs[i], &sa, NULL);
  }
}

static void restore_signals(const struct sigaction old[2])
{
  sigaction(SIGINT, &old[0], NULL);
  sigaction(SIGTERM, &old[1], NULL);
}

/* Show the prompt, read a line and push it without its newline. 1 when there is one, 0 at end
 * of input, -1 on SIGINT/SIGTERM: nothing runs at the prompt, so a signal there ends the
 * session. tenten.core's handlers restart reads (SA_RESTART), hence handlers of our own. */
static int push_line(lua_State *L, int first)
{
  lua_getglobal(L, first ? "_PROMPT" : "_PROMPT2");
  const char *prompt = lua_tostring(L, -1);
  fputs(prompt ? prompt : first ? "> " : ">> ", stdout);
  fflush(stdout);
  lua_pop(L, 1);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len = -1;
  struct sigaction old[2];
  prompt_signal = 0;
  catch_at_prompt(old);
  for (;;) {
    errno = 0;
    len = prompt_signal ? -1 : getline(&line, &cap, stdin);
    if (len >= 0 || errno != EINTR || prompt_signal) break;
    clearerr(stdin); /* some other signal: read on */
  }
  restore_signals(old);
  if (len < 0) {
    free(line);
    clearerr(stdin);
    return prompt_signal ? -1 : 0;
  }
  if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
  if (first && line[0] == '=') /* "=expr" is an old spelling of "return expr" */
    lua_pushfstring(L, "return %s", line + 1);
  else
    lua_pushlstring(L, line, (size_t)len);
  free(line);
  return 1;
}

static int incomplete(lua_State *L, int status)
{
  if (status != LUA_ERRSYNTAX) return 0;
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  static const char mark[] = "<eof>";
  return len >= sizeof mark - 1 && strcmp(msg + len - (sizeof mark - 1), mark) == 0;
}

#define END_OF_INPUT (-1)
#define INTERRUPTED  (-2)

/* Read and compile one statement (or expression), asking for more lines while it is
 * incomplete. Pushes the function or an error message; END_OF_INPUT or INTERRUPTED (nothing
 * pushed) when there is no statement. */
static int load_statement(lua_State *L)
{
  int got = push_line(L, 1);
  if (got <= 0) return got < 0 ? INTERRUPTED : END_OF_INPUT;
  const char *line = lua_tostring(L, -1);
  const char *ret = lua_pushfstring(L, "return %s", line);
  if (luaL_loadbuffer(L, ret, strlen(ret), "=stdin") == LUA_OK) {
    lua_replace(L, -3);
    lua_pop(L, 1);
    return LUA_OK;
  }
  lua_pop(L, 2);
  for (;;) {
    size_t len;
    const char *src = lua_tolstring(L, -1, &len);
    int status = luaL_loadbuffer(L, src, len, "=stdin");
    if (!incomplete(L, status)) {
      lua_remove(L, -2);
      return status;
    }
    lua_pop(L, 1);
    got = push_line(L, 0);
    if (got < 0) {
      lua_pop(L, 1);
      return INTERRUPTED;
    }
    if (got == 0) {
      /* end of input inside a statement: report the syntax error */
      src = lua_tolstring(L, -1, &len);
      status = luaL_loadbuffer(L, src, len, "=stdin");
      lua_remove(L, -2);
      return status;
    }
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

/* Print the values above base with the global print. */
static void print_results(lua_State *L, int base)
{
  int n = lua_gettop(L) - base;
  if (n <= 0) return;
  lua_getglobal(L, "print");
  lua_insert(L, base + 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK)
    message(NULL, lua_pushfstring(L, "error calling 'print' (%s)", lua_tostring(L, -1)));
}

/* Each statement runs as its own main task so blocking calls work at the prompt. */
static int repl(lua_State *L)
{
  int status;
  while ((status = load_statement(L)) != END_OF_INPUT && status != INTERRUPTED) {
    int base = lua_gettop(L) - 1;
    if (status == LUA_OK) status = run_task(L, 0);
    /* The scheduler stays cancelled after a signal, so the session cannot go on. */
    if (interrupted(L) > 0) break;
    if (status == LUA_OK) {
      if (lua_getfield(L, LUA_REGISTRYINDEX, KEY_RESULTS) == LUA_TTABLE) {
        lua_getfield(L, -1, "n");
        int n = (int)lua_tointeger(L, -1);
        lua_pop(L, 1);
        luaL_checkstack(L, n + LUA_MINSTACK, "too many results to print");
        for (int i = 1; i <= n; i++) lua_rawgeti(L, base + 1, i);
        lua_remove(L, base + 1);
      } else {
        lua_pop(L, 1);
      }
      clear(L, KEY_RESULTS);
      print_results(L, base);
    } else {
      report(L, status, NULL);
    }
    lua_settop(L, base);
  }
  fputc('\n', stdout);
  fflush(stdout);
  if (status == END_OF_INPUT) return EXIT_SUCCESS;
  return exit_interrupted();
}

/* ---- main ------------------------------------------------------------------------------- */

static int pmain(lua_State *L)
{
  int argc = (int)lua_tointeger(L, 1);
  char **argv = lua_touserdata(L, 2);
  options o;
  parse_args(argc, argv, &o);
  luaL_checkversion(L);
  if (o.bad) {
    print_usage(argv[o.bad]);
    lua_pushinteger(L, EXIT_FAILURE);
    return 1;
  }
  if (o.has_h) {
    print_help(L, o.has_E);
    lua_pushinteger(L, EXIT_SUCCESS);
    return 1;
  }
  if (o.has_v) print_version();
  if (o.has_E) {
    /* the package library then leaves LUA_PATH and LUA_CPATH alone */
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  setup_tenten(L, o.has_E);
  create_arg_table(L, argc, argv, o.script);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);
  int code = EXIT_SUCCESS;
  if (!o.has_E && handle_luainit(L) != LUA_OK) code = EXIT_FAILURE;
  if (code == EXIT_SUCCESS && run_options(L, argv, o.script) != LUA_OK) code = EXIT_FAILURE;
  if (code == EXIT_SUCCESS && o.script < argc) {
    const char *fname = argv[o.script];
    /* "-" is stdin, unless it came after "--" */
    if (strcmp(fname, "-") == 0 && strcmp(argv[o.script - 1], "--") != 0) fname = NULL;
    code = handle_script(L, fname);
  }
  if (code == EXIT_SUCCESS) {
    if (o.has_i) {
      code = repl(L);
    } else if (o.script == argc && !o.has_e && !o.has_v) {
      if (isatty(STDIN_FILENO)) {
        print_version();
        code = repl(L);
      } else {
        code = handle_script(L, NULL);
      }
    }
  }
  lua_pushinteger(L, code);
  return 1;
}

int main(int argc, char **argv)
{
  lua_State *L = luaL_newstate();
  if (!L) {
    message(PROGNAME, "cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  lua_gc(L, LUA_GCSTOP); /* no collection while the state is being set up */
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int code = EXIT_FAILURE;
  if (status == LUA_OK)
    code = (int)lua_tointeger(L, -1);
  else
    report(L, status, PROGNAME);
  lua_close(L);
  return code;
}
