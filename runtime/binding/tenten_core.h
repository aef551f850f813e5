/* tenten_core: the entry point of the tenten.core Lua module (docs/core-api.md), for tt-lua to
 * preload. build/tenten/core.so exports the same function for stock lua5.4. */
#ifndef TENTEN_CORE_H
#define TENTEN_CORE_H

#include <lua.h>

/* core.so is built with hidden symbols: this is the one it exports. */
#if defined(__GNUC__)
#define TT_CORE_EXPORT __attribute__((visibility("default")))
#else
#define TT_CORE_EXPORT
#endif

TT_CORE_EXPORT int luaopen_tenten_core(lua_State *L);

#endif
