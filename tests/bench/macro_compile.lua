-- macro_compile: compile every case of tests/macro/cases_*.lua N times with the Macro
-- Language compiler and print the time per compile (best of R runs). Measures the
-- compiler alone (parse, expression grammar, SQL generation); nothing is executed.
--
-- usage: lua5.4 tests/bench/macro_compile.lua [N] [R]
--   N: rounds over all cases (default 1000); R: runs (default 3). The compiler comes from
--   the source tree this file is in (tests/support/macro_source.lua).
local N = tonumber(arg[1]) or 1000
local R = tonumber(arg[2]) or 3
local here = arg[0]:match("^(.*)/[^/]+$") or "."
package.path = here .. "/../support/?.lua;" .. package.path
local macro = require "macro_source"

local dir = here .. "/../macro"
local sets = {}
for _, f in ipairs { "cases_basic", "cases_tabu", "cases_link", "cases_gfunc" } do
  local data = dofile(dir .. "/" .. f .. ".lua")
  local names, map = {}, {}
  for name in pairs(data.tables) do names[#names + 1] = name end
  table.sort(names)
  for k, name in ipairs(names) do
    local cols = {}
    for i, spec in ipairs(data.tables[name].cols) do
      local cname, ctype = spec:match("^(.-):(.)$")
      cols[i] = { name = cname, type = ctype }
    end
    map[name] = { sql = "tt_v" .. k, columns = cols }
  end
  sets[#sets + 1] = { cases = data.cases, resolve = function(name) return map[name] end }
end

local ncases = 0
for _, s in ipairs(sets) do ncases = ncases + #s.cases end

local best = math.huge
for _ = 1, R do
  collectgarbage()
  local t0 = os.clock()
  for _ = 1, N do
    for _, s in ipairs(sets) do
      for _, c in ipairs(s.cases) do
        macro.compile(c.ops, c.table, s.resolve)
      end
    end
  end
  best = math.min(best, os.clock() - t0)
end
print(("%-10s %8s %8s %12s"):format("cases", "rounds", "best s", "us/compile"))
print(("%-10d %8d %8.3f %12.2f"):format(ncases, N, best, best / (N * ncases) * 1e6))
