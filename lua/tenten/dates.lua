-- tenten.date: a platform date value as a table. The platform stores a date as the integer
-- YYYYMMDD and a time as HHMMSS (docs/macro.md); a datetime here is the two side by side,
-- YYYYMMDDHHMMSS, as the file writer reads it too (runtime/core/write.c). Text of those digits
-- and ISO 8601 text (what `dates = "iso"` writes) are read as well, so a value from a row or
-- from a written file gives the same table. The fields are os.time's and os.date("*t")'s.
local core = require "tenten.core"

local M = {}

local DAYS = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

local function leap(y)
  return (y % 4 == 0 and y % 100 ~= 0) or y % 400 == 0
end

-- The table for these parts, or nil when they name no real day or time of day.
local function parts(y, m, d, hh, mi, ss)
  if y < 1000 or m < 1 or m > 12 or d < 1 or d > (m == 2 and leap(y) and 29 or DAYS[m]) then return nil end
  local t = { year = y, month = m, day = d }
  if hh then
    if hh > 23 or mi > 59 or ss > 59 then return nil end
    t.hour, t.min, t.sec = hh, mi, ss
  end
  return t
end

local function from_digits(s)
  local n = tonumber
  if #s == 8 then return parts(n(s:sub(1, 4)), n(s:sub(5, 6)), n(s:sub(7, 8))) end
  if #s == 14 then
    return parts(n(s:sub(1, 4)), n(s:sub(5, 6)), n(s:sub(7, 8)), n(s:sub(9, 10)), n(s:sub(11, 12)),
      n(s:sub(13, 14)))
  end
end

local function from_text(s)
  if s:match("^%d+$") then return from_digits(s) end
  local y, m, d, rest = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)(.*)$")
  if not y then return nil end
  if rest == "" then return parts(tonumber(y), tonumber(m), tonumber(d)) end
  local hh, mi, ss = rest:match("^[T ](%d%d):(%d%d):(%d%d)$")
  if hh then return parts(tonumber(y), tonumber(m), tonumber(d), tonumber(hh), tonumber(mi), tonumber(ss)) end
end

-- tenten.date(v) -> { year, month, day [, hour, min, sec] }; nil for tenten.NA (a missing
-- date). Raises for anything else that is not a date.
function M.date(v)
  if v == core.NA then return nil end
  local t
  if type(v) == "number" then
    local i = math.tointeger(v) -- 20110101.0 too: a float column may hold a date
    if i and i >= 0 then t = from_digits(tostring(i)) end
  elseif type(v) == "string" then
    t = from_text(v)
  end
  if t then return t end
  local shown = type(v) == "string" and string.format("%q", v) or
    ((type(v) == "number") and tostring(v) or "a " .. type(v))
  error(string.format("tenten.date: %s is not a date (YYYYMMDD or YYYYMMDDHHMMSS, as a number or text, " ..
    "or ISO 8601 text YYYY-MM-DD[THH:MM:SS])", shown), 2)
end

return M
