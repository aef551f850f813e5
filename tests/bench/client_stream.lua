-- client_stream: table 3 of bench_client.sh. One whole pub.demo.weather.hourly90 through a
-- pooled session: walked with `for row in q:rows()`, or streamed to /dev/null with q:write.
--
-- usage: tt-lua client_stream.lua rows|csv|tsv EXPECTED_ROWS PAGE_ROWS
-- The gateway and credentials come from TT_GATEWAY, TT_USER, TT_PASSWORD and TT_GROUP.
-- Prints "key value" lines: seconds covers the pages only (after the query), as the curl side
-- of the table does; query_seconds is the query alone. Raises unless EXPECTED_ROWS came.
local tenten = require "tenten"

local TABLE = "pub.demo.weather.hourly90"
local mode, expected, page_rows = arg[1], tonumber(arg[2]), tonumber(arg[3])
if not (expected and page_rows) or (mode ~= "rows" and mode ~= "csv" and mode ~= "tsv") then
  error("usage: client_stream.lua rows|csv|tsv EXPECTED_ROWS PAGE_ROWS", 0)
end

local pool = tenten.pool { size = 1 }
local s <close> = pool:session()
local t0 = tenten.now()
local q = s:query(TABLE)
q.page_rows = page_rows
q:run()
local t1 = tenten.now()
local rows, bytes = 0, 0
if mode == "rows" then
  for _ in q:rows() do rows = rows + 1 end
else
  rows, bytes = q:write("/dev/null", mode)
end
local t2 = tenten.now()
if q.nrows ~= expected or rows ~= expected then
  error(string.format("expected %d rows: the query said %d, %d came", expected, q.nrows, rows), 0)
end
print("seconds " .. string.format("%.6f", t2 - t1))
print("query_seconds " .. string.format("%.6f", t1 - t0))
print("rows " .. rows)
print("bytes " .. bytes)
