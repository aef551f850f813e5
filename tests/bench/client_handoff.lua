-- client_handoff: table 2 of bench_client.sh. How long a pool ID takes to get from one task to
-- the next, in one process.
--
-- usage: tt-lua client_handoff.lua POOL_SIZE TASKS ROUNDS
-- The gateway and credentials come from TT_GATEWAY, TT_USER, TT_PASSWORD and TT_GROUP.
--
-- handoff: TASKS tasks queue on a pool of POOL_SIZE; each one, once p:session() returns, notes
-- the time, notes it again just before s:close(), and closes. The gap between a close and the
-- moment the next holder of the same ID sees p:session() return is one handoff (the ID goes
-- from task to task inside the process, still logged in). Done ROUNDS times, samples pooled.
--
-- platform: the same gap when nobody is waiting, so the ID goes back to the gateway: one task
-- closes (reluid) and asks again (getuid, login kill=possess), TASKS times a round.
--
-- Prints one line per measurement: name, samples, p50, p99, max and mean in microseconds.
local tenten = require "tenten"

local size, ntasks, rounds = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3])
if not (size and ntasks and rounds) then error("usage: client_handoff.lua POOL_SIZE TASKS ROUNDS", 0) end

local pool = tenten.pool { size = size }

local function summary(name, gaps)
  table.sort(gaps)
  local n, sum = #gaps, 0
  for _, g in ipairs(gaps) do sum = sum + g end
  -- nearest rank: the smallest sample with at least p of them at or below it
  local function pct(p) return gaps[math.max(1, math.ceil(p * n))] * 1e6 end
  print(string.format("%s %d %.1f %.1f %.1f %.1f", name, n, pct(0.5), pct(0.99), gaps[n] * 1e6, sum / n * 1e6))
end

local handoff = {}
for _ = 1, rounds do
  local released = {} -- member ID -> when its last holder started closing
  local tasks = {}
  for i = 1, ntasks do
    tasks[i] = tenten.spawn(function()
      local s = pool:session()
      local got = tenten.now()
      local before = released[s.username]
      if before then handoff[#handoff + 1] = got - before end
      released[s.username] = tenten.now()
      s:close()
    end)
  end
  local ok, outcomes = tenten.wait_all(tasks)
  if not ok then
    for _, o in ipairs(outcomes) do
      if not o[1] then error("a handoff task failed: " .. tostring(o[2]), 0) end
    end
  end
end
local st = pool:stats()
if st.handoffs ~= #handoff then
  error(string.format("%d gaps measured but the pool counted %d handoffs", #handoff, st.handoffs), 0)
end
summary("handoff", handoff)

local platform = {}
for _ = 1, rounds do
  local s = pool:session()
  for _ = 1, ntasks do
    local before = tenten.now()
    s:close()
    s = pool:session()
    platform[#platform + 1] = tenten.now() - before
  end
  s:close()
end
if pool:stats().handoffs ~= st.handoffs then error("the platform runs were handed off in the process", 0) end
summary("platform", platform)
