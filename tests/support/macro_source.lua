-- The gateway's Macro Language compiler (modules ttgw.macro*, built into tt-gateway) read
-- from the source tree, for the specs and benchmarks that call it without a gateway:
-- runtime/gateway/macro/init.lua is ttgw.macro, runtime/gateway/macro/expr.lua
-- ttgw.macro.expr, and so on. Returns the module ttgw.macro.
--
-- The source tree is $TT_SOURCE_DIR, else the directory two levels above this file.
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local source = os.getenv("TT_SOURCE_DIR") or (here .. "/../..")
local dir = source .. "/runtime/gateway/macro/"

local function searcher(name)
  local rest = name:match("^ttgw%.macro(.*)$")
  if not rest then
    return nil
  end
  local path = dir .. (rest == "" and "init" or rest:sub(2):gsub("%.", "/")) .. ".lua"
  local chunk, err = loadfile(path)
  if not chunk then
    return "\n\t" .. err
  end
  return chunk, path
end

table.insert(package.searchers, 2, searcher)
return require "ttgw.macro"
