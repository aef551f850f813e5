-- client_progress: the Lua side of bench_progress.sh. One whole pub.demo.weather.hourly90
-- through pool:pull to /dev/null as CSV, with the progress display off, as lines off a
-- terminal, or drawn live, every PERIOD seconds (the display's stderr is the caller's).
--
-- usage: tt-lua client_progress.lua off|line|live PERIOD EXPECTED_ROWS PAGE_ROWS
-- The gateway and credentials come from TT_GATEWAY, TT_USER, TT_PASSWORD and TT_GROUP. Prints
-- "key value" lines: seconds covers the pull (pool ID, login, query and pages). Raises unless
-- EXPECTED_ROWS came.
local tenten = require "tenten"
local progress = require "tenten.progress"

local TABLE = "pub.demo.weather.hourly90"
local mode, period, expected, page_rows = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4])
if not (period and expected and page_rows) or (mode ~= "off" and mode ~= "line" and mode ~= "live") then
  error("usage: client_progress.lua off|line|live PERIOD EXPECTED_ROWS PAGE_ROWS", 0)
end
progress.REDRAW = period -- the live display's period; the lines' is progress_interval

local pool = tenten.pool { size = 1 }
local t0 = tenten.now()
local s = pool:pull({ { table = TABLE, out = "/dev/null", format = "csv" } },
  { progress = mode ~= "off" and mode, progress_interval = period, page_rows = page_rows })
local t1 = tenten.now()
if s[1].error or s[1].rows ~= expected then
  error(string.format("expected %d rows: %d came (%s)", expected, s[1].rows, tostring(s[1].error)), 0)
end
print("seconds " .. string.format("%.6f", t1 - t0))
print("rows " .. s[1].rows)
