-- Comparing row values in the specs: N/A only with N/A, numbers of the same math.type and
-- value (a zero with its sign, NaN with NaN), anything else by equality.
local tenten = require "tenten"

local M = {}

function M.same(a, b)
  if a == tenten.NA or b == tenten.NA then return a == b end
  if type(a) == "number" and type(b) == "number" then
    if math.type(a) ~= math.type(b) then return false end
    if a ~= a then return b ~= b end
    return a == b and (a ~= 0 or 1 / a == 1 / b)
  end
  return type(a) == type(b) and a == b
end

-- A value for a failure message: a string quoted (long ones cut), anything else with its type.
function M.show(v)
  if type(v) == "string" then
    local t = string.format("%q", #v > 200 and v:sub(1, 200) .. "..." or v)
    return (t:gsub("\\\n", "\\n"))
  end
  return tostring(v) .. " (" .. (math.type(v) or type(v)) .. ")"
end

-- Raise (at the caller's caller) unless two lists of rows hold the same values.
function M.assert_same_rows(want, got, what)
  if #want ~= #got then error(string.format("%s: %d rows, want %d", what, #got, #want), 2) end
  for i = 1, #want do
    if #want[i] ~= #got[i] then
      error(string.format("%s: row %d has %d values, want %d", what, i, #got[i], #want[i]), 2)
    end
    for j = 1, #want[i] do
      if not M.same(want[i][j], got[i][j]) then
        error(string.format("%s: row %d column %d: %s vs %s", what, i, j, M.show(want[i][j]), M.show(got[i][j])), 2)
      end
    end
  end
end

return M
