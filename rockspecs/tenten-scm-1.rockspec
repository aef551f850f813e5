-- The tenten client for stock Lua 5.4: the C core (tenten.core, over the system's libcurl,
-- libxml2 and zlib) and the client's Lua modules. Not the gateway: tt-gateway, with the Macro
-- Language compiler built into it (runtime/gateway/macro/), comes with the CMake build.
-- From a checkout, offline:
--   luarocks --lua-version 5.4 make rockspecs/tenten-scm-1.rockspec [--tree DIR]
-- core.so is compiled into build-rock/ (ignored by git). libxml2's headers are looked for
-- under $(LIBXML2_INCDIR)/libxml2 (/usr/include/libxml2); curl/curl.h wherever the compiler
-- finds it (Debian keeps it in a multiarch directory that luarocks does not search, so only
-- the library is checked); zlib.h and libz in luarocks' usual places. Elsewhere, pass
-- LIBXML2_DIR=..., CURL_DIR=..., ZLIB_DIR=... (or the *_INCDIR and *_LIBDIR variables) to
-- luarocks.
--
-- The version compiled into core.so (tenten.VERSION) is read from CMakeLists.txt's project()
-- line, its one home; "scm-1" above is only this rockspec's own revision.
--
-- The "command" build type rather than "builtin": builtin copies the whole lua/ directory,
-- which would install the gateway's compiler with the client.
rockspec_format = "3.0"
package = "tenten"
version = "scm-1"
source = {
  -- `luarocks make` builds the checkout it runs in; the project has no published address.
  url = "git+file://.",
}
description = {
  summary = "Client for the 1010data XML API with SAM pools, many pulls on one thread",
  detailed = [[
Sessions, Macro Language queries, rows streamed page by page or written straight to
CSV, TSV or JSON files (gzipped when asked), and Shared Access Management pools. Every
call that waits on the network suspends only its own task, so one script runs many pulls
at once.]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
external_dependencies = {
  CURL = { library = "curl" },
  LIBXML2 = { header = "libxml2/libxml/parser.h", library = "xml2" },
  ZLIB = { header = "zlib.h", library = "z" },
}
build = {
  type = "command",
  build_command = [[
v=`sed -n 's/^project(tenten-lua VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt` && test -n "$v" &&
mkdir -p build-rock &&
$(CC) $(CFLAGS) -std=gnu11 -D_GNU_SOURCE -DTT_VERSION="\"$v\"" -fvisibility=hidden \
  -I$(LUA_INCDIR) -Iruntime/core -Iruntime/common -Iruntime/binding -I$(LIBXML2_INCDIR)/libxml2 \
  -I$(ZLIB_INCDIR) runtime/common/number.c runtime/core/csv.c runtime/core/http.c runtime/core/loop.c \
  runtime/core/page.c runtime/core/reply.c runtime/core/sig.c runtime/core/write.c \
  runtime/binding/core.c runtime/binding/reply.c runtime/binding/writer.c \
  -o build-rock/core.so $(LIBFLAG) -L$(CURL_LIBDIR) -L$(LIBXML2_LIBDIR) -L$(ZLIB_LIBDIR) \
  -lcurl -lxml2 -lz -lm
]],
  install = {
    lib = {
      ["tenten.core"] = "build-rock/core.so",
    },
    lua = {
      ["tenten"] = "lua/tenten/init.lua",
      ["tenten.api"] = "lua/tenten/api.lua",
      ["tenten.dates"] = "lua/tenten/dates.lua",
      ["tenten.errors"] = "lua/tenten/errors.lua",
      ["tenten.formats"] = "lua/tenten/formats.lua",
      ["tenten.json"] = "lua/tenten/json.lua",
      ["tenten.policy"] = "lua/tenten/policy.lua",
      ["tenten.policy.runner"] = "lua/tenten/policy/runner.lua",
      ["tenten.pool"] = "lua/tenten/pool.lua",
      ["tenten.progress"] = "lua/tenten/progress.lua",
      ["tenten.pull"] = "lua/tenten/pull.lua",
      ["tenten.pullcli"] = "lua/tenten/pullcli.lua",
      ["tenten.retry"] = "lua/tenten/retry.lua",
      ["tenten.sched"] = "lua/tenten/sched.lua",
      ["tenten.session"] = "lua/tenten/session.lua",
    },
  },
}
