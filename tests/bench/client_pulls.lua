-- client_pulls: table 1 of bench_client.sh and the tt-lua lines of bench_wan.sh. PULLS pulls
-- of ROWS rows each from pub.demo.weather.hourly90, run by tenten.parallel through one
-- tenten.pool; each pull either streams its rows to /dev/null with q:write (CSV) or walks them
-- with q:rows(). PAGES is the page format the pool's queries ask for: xml (the default) or csv.
--
-- usage: tt-lua client_pulls.lua CONCURRENCY write|rows PULLS ROWS POOL_SIZE [xml|csv]
-- The gateway and credentials come from TT_GATEWAY, TT_USER, TT_PASSWORD and TT_GROUP.
-- Prints "key value" lines for the shell to read; raises if any pull did not get exactly ROWS
-- rows, so a wrong count can never pass for a fast run.
local tenten = require "tenten"

local TABLE = "pub.demo.weather.hourly90"

local concurrency, mode = tonumber(arg[1]), arg[2]
local npulls, nrows, size = tonumber(arg[3]), tonumber(arg[4]), tonumber(arg[5])
local page_format = arg[6] or "xml"
if not (concurrency and npulls and nrows and size) or (mode ~= "write" and mode ~= "rows")
  or (page_format ~= "xml" and page_format ~= "csv") then
  error("usage: client_pulls.lua CONCURRENCY write|rows PULLS ROWS POOL_SIZE [xml|csv]", 0)
end

-- Pull k takes rows (k-1)*ROWS+1 .. k*ROWS, each pull its own selection. One sel with both
-- bounds, not <sel i_>A/><sel i_<=ROWS/>: the second sel of that pair numbers the rows left by
-- the first with a window function over up to a million rows (about 0.8 s of gateway time per
-- query), which would make this a benchmark of the gateway. This form is a range on the row key.
local items = {}
for k = 1, npulls do
  items[k] = string.format('<sel value="i_>%d &amp; i_<=%d"/>', (k - 1) * nrows, k * nrows)
end

-- The option is given only for csv, so a build without it (TT_BENCH_BASE) runs as it always did.
local pool = tenten.pool { size = size, pages = page_format == "csv" and "csv" or nil }

local function pull(ops, k)
  local s <close> = pool:session()
  local q = s:query(TABLE, ops):run()
  if q.nrows ~= nrows then error(string.format("pull %d: the query has %d rows, not %d", k, q.nrows, nrows), 0) end
  local got, bytes = 0, 0
  if mode == "write" then
    got, bytes = q:write("/dev/null", "csv")
  else
    for _ in q:rows() do got = got + 1 end
  end
  if got ~= nrows then error(string.format("pull %d: got %d rows, not %d", k, got, nrows), 0) end
  return bytes
end

local t0 = tenten.now()
local results, errs = tenten.parallel(items, pull, { concurrency = concurrency })
local seconds = tenten.now() - t0
if errs then
  error(string.format("%d of %d pulls failed; the first: %s", #errs, npulls, tostring(errs[1].error)), 0)
end

local bytes = 0
for k = 1, npulls do bytes = bytes + results[k] end
local st = pool:stats()
print("seconds " .. string.format("%.6f", seconds))
print("rows " .. npulls * nrows)
print("bytes " .. bytes)
print("acquisitions " .. st.acquisitions)
print("handoffs " .. st.handoffs)
