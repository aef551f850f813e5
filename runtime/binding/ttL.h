/* ttL: what the files of the binding share. */
#ifndef TTL_H
#define TTL_H

#include "reply.h"

#include <lua.h>

#define TTL_REPLY  "tenten.core.reply"
#define TTL_NA     "tenten.core.NA value" /* registry key of the NA userdata */
#define TTL_WRITER "tenten.core.writer"

/* Create the reply metatable and the NA value (kept in the registry under TTL_NA). */
void ttL_reply_open(lua_State *L);
/* Push a reply object that owns nothing yet; allocating first lets a caller hand it the
 * reply afterwards without any Lua code (a finalizer) running in between. */
void ttL_reply_new(lua_State *L);
/* Give the reply object at idx its reply (it frees r on close or collection). */
void ttL_reply_set(lua_State *L, int idx, tt_reply *r);
/* The reply of the reply object at idx; raises when it is not one, or is closed. */
tt_reply *ttL_reply_check(lua_State *L, int idx);
/* Create the writer metatable and set core.writer in the table on top of the stack. */
void ttL_writer_open(lua_State *L);

#endif
