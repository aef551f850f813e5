-- client_rows: one line of bench_rows.sh. One whole table through a pooled session, read one
-- way: `for row in q:rows()`, `for b in q:batches()`, or q:write to /dev/null as CSV; with XML
-- pages (the default) or CSV pages (q.pages = "csv").
--
-- usage: tt-lua client_rows.lua rows|batches|write xml|csv TABLE EXPECTED_ROWS PAGE_ROWS
-- The gateway and credentials come from TT_GATEWAY, TT_USER, TT_PASSWORD and TT_GROUP.
-- Prints "key value" lines for the pages only (after the query), as the curl side of the
-- table is timed: cpu (this process's user + sys seconds, os.clock), wall, rows, bytes.
-- Raises unless EXPECTED_ROWS came.
local tenten = require "tenten"

local USAGE = "usage: client_rows.lua rows|batches|write xml|csv TABLE EXPECTED_ROWS PAGE_ROWS"
local MODES = { rows = true, batches = true, write = true }
local mode, page_format, table_name = arg[1], arg[2], arg[3]
local expected, page_rows = tonumber(arg[4]), tonumber(arg[5])
if not (MODES[mode] and (page_format == "xml" or page_format == "csv") and table_name and expected and page_rows) then
  error(USAGE, 0)
end

local pool = tenten.pool { size = 1 }
local s <close> = pool:session()
local q = s:query(table_name)
q.page_rows = page_rows
-- Only CSV is set: a build without the option (the base) then reads XML pages, as it always did.
if page_format == "csv" then q.pages = "csv" end
q:run()
if mode == "batches" and not q.batches then
  print("unsupported batches")
  return
end
collectgarbage()
local c0, t0 = os.clock(), tenten.now()
local rows, bytes = 0, 0
if mode == "rows" then
  for _ in q:rows() do rows = rows + 1 end
elseif mode == "batches" then
  for b in q:batches() do rows = rows + b.n end
else
  rows, bytes = q:write("/dev/null", "csv")
end
local c1, t1 = os.clock(), tenten.now()
if q.nrows ~= expected or rows ~= expected then
  error(string.format("expected %d rows: the query said %s, %d came", expected, tostring(q.nrows), rows), 0)
end
print(string.format("cpu %.6f", c1 - c0))
print(string.format("wall %.6f", t1 - t0))
print("rows " .. rows)
print("bytes " .. bytes)
