-- client_limits: the Lua side of bench_limits.sh. One whole pub.demo.weather.hourly90 through a
-- single-user session, walked with `for row in q:rows()` or streamed to /dev/null as CSV, with
-- the page size starting at PAGE_ROWS (the gateway may refuse it and the client halve it).
--
-- usage: tt-lua client_limits.lua rows|csv EXPECTED_ROWS PAGE_ROWS
-- The gateway and credentials come from TT_GATEWAY, TT_USER and TT_PASSWORD. Prints "key value"
-- lines: seconds covers the pages only (refusals included), page_rows the size the client
-- ended with. Raises unless EXPECTED_ROWS came.
local tenten = require "tenten"

local TABLE = "pub.demo.weather.hourly90"
local mode, expected, page_rows = arg[1], tonumber(arg[2]), tonumber(arg[3])
if not (expected and page_rows) or (mode ~= "rows" and mode ~= "csv") then
  error("usage: client_limits.lua rows|csv EXPECTED_ROWS PAGE_ROWS", 0)
end

local s <close> = tenten.session { mode = tenten.KILL, group = false }
local q = s:query(TABLE)
q.page_rows = page_rows
q:run()
local t0 = tenten.now()
local rows = 0
if mode == "rows" then
  for _ in q:rows() do rows = rows + 1 end
else
  rows = q:write("/dev/null", "csv")
end
local t1 = tenten.now()
if q.nrows ~= expected or rows ~= expected then
  error(string.format("expected %d rows: the query said %s, %d came", expected, tostring(q.nrows), rows), 0)
end
print("seconds " .. string.format("%.6f", t1 - t0))
print("rows " .. rows)
print("page_rows " .. q.page_rows)
