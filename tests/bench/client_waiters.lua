-- client_waiters: table 4 of bench_client.sh. What a task waiting for a pool ID costs: TASKS
-- tasks each call p:session() on a pool of POOL_SIZE, so all but POOL_SIZE of them wait.
--
-- usage: tt-lua client_waiters.lua pool TASKS POOL_SIZE HOLD_SECONDS
--        tt-lua client_waiters.lua sleep TASKS
-- The gateway and credentials come from TT_GATEWAY, TT_USER, TT_PASSWORD and TT_GROUP.
--
-- pool: the first POOL_SIZE holders keep their IDs until the main task has measured the Lua
-- heap (collectgarbage "count", after a full collection) and VmRSS with every other task
-- waiting; then every holder sleeps HOLD_SECONDS and closes, and the IDs go down the queue by
-- handoff. sleep: the yardstick, TASKS tasks parked in tenten.sleep, measured the same way; a
-- process of its own, since memory the first run freed would hide what the second one takes.
-- Prints "key value" lines for the shell to read.
local tenten = require "tenten"

local mode, ntasks = arg[1], tonumber(arg[2])
local size, hold = tonumber(arg[3]), tonumber(arg[4])
if not (mode == "sleep" and ntasks or mode == "pool" and ntasks and size and hold) then
  error("usage: client_waiters.lua pool TASKS POOL_SIZE HOLD_SECONDS | sleep TASKS", 0)
end

-- kB from /proc/self/status (VmRSS, VmHWM).
local function status_kb(field)
  local f = assert(io.open("/proc/self/status"))
  local text = f:read("a")
  f:close()
  return tonumber(text:match(field .. ":%s*(%d+) kB"))
end

local function heap_kb()
  collectgarbage("collect")
  return collectgarbage("count")
end

if mode == "sleep" then
  local heap0, rss0 = heap_kb(), status_kb("VmRSS")
  local started, tasks = 0, {}
  for i = 1, ntasks do
    tasks[i] = tenten.spawn(function()
      started = started + 1
      tenten.sleep(3600)
    end)
  end
  while started < ntasks do tenten.sleep(0.001) end
  local heap1, rss1 = heap_kb(), status_kb("VmRSS")
  for _, t in ipairs(tasks) do t:cancel() end
  print("waiting " .. started)
  print("heap_kb_before " .. string.format("%.1f", heap0))
  print("heap_kb_waiting " .. string.format("%.1f", heap1))
  print("rss_kb_before " .. rss0)
  print("rss_kb_waiting " .. rss1)
  return
end

local pool = tenten.pool { size = size }
-- Log the IDs in once, outside the measurement, so the baseline already holds the
-- connection and the pool's bookkeeping for POOL_SIZE members.
do
  local warm = {}
  for i = 1, size do warm[i] = pool:session() end
  for i = 1, size do warm[i]:close() end
end

local heap0, rss0 = heap_kb(), status_kb("VmRSS")

local gate_open, acquired, done = false, 0, 0
local function worker()
  local _held <close> = pool:session() -- luacheck: ignore 211
  acquired = acquired + 1
  if acquired <= size then
    -- polling a flag every 10 ms is cheap with only POOL_SIZE pollers
    while not gate_open do tenten.sleep(0.01) end
  end
  tenten.sleep(hold)
  done = done + 1
end

local t0 = tenten.now()
local tasks = {}
for i = 1, ntasks do tasks[i] = tenten.spawn(worker) end
local spawned = tenten.now()
local expect_waiting = ntasks - size
while pool:stats().waiting < expect_waiting or acquired < size do tenten.sleep(0.001) end
local queued = tenten.now()
local st = pool:stats()
local heap1, rss1 = heap_kb(), status_kb("VmRSS")

local t1 = tenten.now()
gate_open = true
local ok, outcomes = tenten.wait_all(tasks)
local t2 = tenten.now()
if not ok then
  for _, o in ipairs(outcomes) do
    if not o[1] then error("a waiting task failed: " .. tostring(o[2]), 0) end
  end
end
if done ~= ntasks then error(string.format("%d of %d tasks got through", done, ntasks), 0) end
local final = pool:stats()

print("waiting " .. st.waiting)
print("busy " .. st.busy)
print("heap_kb_before " .. string.format("%.1f", heap0))
print("heap_kb_waiting " .. string.format("%.1f", heap1))
print("rss_kb_before " .. rss0)
print("rss_kb_waiting " .. rss1)
print("rss_kb_peak " .. status_kb("VmHWM"))
print("spawn_seconds " .. string.format("%.6f", spawned - t0))
print("queue_seconds " .. string.format("%.6f", queued - t0))
print("drain_seconds " .. string.format("%.6f", t2 - t1))
print("acquisitions " .. final.acquisitions)
print("handoffs " .. final.handoffs)
print("max_wait " .. string.format("%.6f", final.max_wait))
