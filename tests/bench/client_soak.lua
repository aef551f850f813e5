-- client_soak: the table of bench_soak.sh. ROUNDS rounds of TASKS tasks on one tenten.pool of
-- POOL_SIZE, through tt-fixture injecting transient failures; each task takes a pool session,
-- runs a query and reads its rows.
--
-- usage: tt-lua client_soak.lua TASKS ROUNDS POOL_SIZE
-- The proxy's URL and credentials come from TT_GATEWAY, TT_USER, TT_PASSWORD and TT_GROUP;
-- TT_SOAK_DIRECT is the gateway itself, for samstatus (which should not see faults).
-- Prints one "round N seconds ok failed to_release rss_kb" line per round, then "busy N" (IDs
-- BUSY or RESERVED at the gateway at the end) and "first_error ..." when a task failed.
local tenten = require "tenten"

local ntasks, rounds, size = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3])
if not (ntasks and rounds and size) then error("usage: client_soak.lua TASKS ROUNDS POOL_SIZE", 0) end

local TABLE = "pub.demo.weather.stations"

local function rss_kb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmRSS:%s+(%d+)")
    if kb then return tonumber(kb) end
  end
end

-- A short back-off: the faults are one ask in twenty, not a platform in trouble.
local pool = tenten.pool { size = size, backoff = { 0.01, 0.2 }, wait = 0.05 }
local expect
local first_error

for r = 1, rounds do
  local t0 = tenten.now()
  local ok, failed = 0, 0
  local tasks = {}
  for i = 1, ntasks do
    tasks[i] = tenten.spawn(function()
      local s <close> = pool:session()
      local n = 0
      for _ in s:query(TABLE, ""):rows() do n = n + 1 end
      return n
    end)
  end
  for _, t in ipairs(tasks) do
    local done, n = t:wait()
    if done then
      expect = expect or n
      if n == expect then ok = ok + 1 else failed = failed + 1 end
    else
      failed = failed + 1
      first_error = first_error or tostring(n)
    end
  end
  tasks = nil -- luacheck: ignore 311
  collectgarbage("collect")
  collectgarbage("collect")
  print(string.format("round %d %.3f %d %d %d %d", r, tenten.now() - t0, ok, failed, pool:stats().to_release,
    rss_kb()))
  io.stdout:flush()
end

pool:release_pending()
local st = tenten.samstatus(os.getenv("TT_SOAK_DIRECT"), os.getenv("TT_USER"), os.getenv("TT_PASSWORD"),
  os.getenv("TT_GROUP"))
local busy = 0
for _, id in ipairs(st.ids) do
  if id.state == "BUSY" or id.state == "RESERVED" then busy = busy + 1 end
end
print("busy " .. busy)
print("ids " .. #st.ids)
local stats = pool:stats()
print("acquisitions " .. stats.acquisitions)
print("handoffs " .. stats.handoffs)
print("release_failures " .. stats.release_failures)
if first_error then print("first_error " .. first_error) end
