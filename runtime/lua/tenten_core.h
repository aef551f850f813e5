/* tenten_core: the entry point of the tenten.core Lua module (docs/core-api.md), for tt-lua to
 * preload. build/tenten/core.so exports the same function for stock lua5.4. */
#ifndef TENTEN_CORE_H
#define TENTEN_CORE_H

#include <lua.h>

int luaopen_tenten_core(lua_State *L);

#endif
