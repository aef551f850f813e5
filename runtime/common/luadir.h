/* luadir: where tt-lua finds its Lua files (the tenten modules). tt-gateway has its Lua
 * files built in (runtime/gateway/macro.c) and does not use this. */
#ifndef TT_LUADIR_H
#define TT_LUADIR_H

#include <stddef.h>

/* Write the Lua directory into out (len bytes) and point *origin (if not NULL) at how it was
 * chosen: "TT_LUA_DIR" (the environment, read only when use_env is set), "build tree" (the
 * executable runs from the build directory: the source tree's lua/), "installed" (the
 * directory at the install layout's place relative to the executable) or "configured" (the
 * executable's own path cannot be read: the configured install location). Returns 0, or -1
 * when the path does not fit (out is then empty). */
int tt_luadir_find(int use_env, char *out, size_t len, const char **origin);

#endif
