-- client_rows: one line of bench_rows.sh. One whole table through a pooled session, read one
-- way: `for row in q:rows()`, `for b in q:batches()`, or q:write to /dev/null as CSV.
--
-- usage: tt-lua client_rows.lua rows|batches|csv TABLE EXPECTED_ROWS PAGE_ROWS
-- The gateway and credentials come from TT_GATEWAY, TT_USER, TT_PASSWORD and TT_GROUP.
-- Prints "key value" lines for the pages only (after the query), as the curl side of the
-- table is timed: cpu (this process's user + sys seconds, os.clock), wall, rows, bytes.
-- Raises unless EXPECTED_ROWS came.
local tenten = require "tenten"

local mode, table_name = arg[1], arg[2]
local expected, page_rows = tonumber(arg[3]), tonumber(arg[4])
if not (table_name and expected and page_rows) or (mode ~= "rows" and mode ~= "batches" and mode ~= "csv") then
  error("usage: client_rows.lua rows|batches|csv TABLE EXPECTED_ROWS PAGE_ROWS", 0)
end

local pool = tenten.pool { size = 1 }
local s <close> = pool:session()
local q = s:query(table_name)
q.page_rows = page_rows
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
