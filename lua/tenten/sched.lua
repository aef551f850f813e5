-- The task scheduler: coroutines on one event loop.
--
-- A task is a coroutine the scheduler resumes. Anything that waits (a request, a timer, a
-- pool ID, another task) is a future. Inside a task, waiting on a future yields the task;
-- anywhere else (the main chunk of stock Lua, a plain coroutine, a __close handler) waiting
-- drives the loop until the future is done, so sequential scripts work unchanged and nothing
-- that waits can hang: when nothing is left that could complete it, the wait raises.
local core = require "tenten.core"
local errors = require "tenten.errors"

local S = {}

local SUSPEND = setmetatable({}, { __name = "tenten.suspend" })
local unpack = table.unpack

local tasks = setmetatable({}, { __mode = "k" }) -- coroutine -> task
local live = {}   -- task -> true while not finished
local nlive = 0
local ready = { head = 1, tail = 0 }
local inflight = {} -- request -> future
local unobserved = {} -- failed tasks nobody waited for, in order
local hooks = {}  -- functions run when a signal interrupts everything
local run_end_hooks = {} -- functions run when a top-level run ends
local interrupted = false
local resuming = 0 -- tasks inside coroutine.resume right now (a nested wait runs inside one)
local runs = 0     -- top-level run loops on the stack

---------------------------------------------------------------------------------------------
-- Timers: a binary heap on (at, seq).

local heap, nheap, seq = {}, 0, 0

local function before(a, b)
  return a.at < b.at or (a.at == b.at and a.seq < b.seq)
end

local function heap_push(t)
  nheap = nheap + 1
  local i = nheap
  heap[i] = t
  while i > 1 do
    local p = i // 2
    if before(heap[p], heap[i]) then break end
    heap[p], heap[i] = heap[i], heap[p]
    i = p
  end
end

local function heap_pop()
  local top = heap[1]
  heap[1] = heap[nheap]
  heap[nheap] = nil
  nheap = nheap - 1
  local i = 1
  while true do
    local l, r, m = 2 * i, 2 * i + 1, i
    if l <= nheap and before(heap[l], heap[m]) then m = l end
    if r <= nheap and before(heap[r], heap[m]) then m = r end
    if m == i then break end
    heap[m], heap[i] = heap[i], heap[m]
    i = m
  end
  return top
end

-- Call fn at monotonic time `at`. Returns a handle whose `cancelled` field may be set.
function S.at(at, fn)
  seq = seq + 1
  local t = { at = at, seq = seq, fn = fn }
  heap_push(t)
  return t
end

local function next_timer()
  while nheap > 0 and heap[1].cancelled do heap_pop() end
  return heap[1]
end

local function fire_timers()
  local now = core.now()
  while true do
    local t = next_timer()
    if not t or t.at > now then return end
    heap_pop()
    t.fn()
  end
end

---------------------------------------------------------------------------------------------
-- Tasks

local Task = {}
Task.__index = Task
Task.__name = "tenten.task"

-- The task running right now, if the code running is its coroutine and may yield.
local function current()
  local co, main = coroutine.running()
  if main then return nil end
  local t = tasks[co]
  if t and coroutine.isyieldable() then return t end
  return nil
end
S.current = current

local function push_ready(task, ...)
  ready.tail = ready.tail + 1
  ready[ready.tail] = { task = task, args = table.pack(...) }
end

local function finish(task, ok, ...)
  if not live[task] then return end
  live[task] = nil
  nlive = nlive - 1
  task.status = ok and "done" or (task.status == "cancelled" and "cancelled" or "failed")
  -- A cancel is deliberate, not an error nobody saw.
  if not ok and task.status == "failed" and not task.observed and #task.future.waiters == 0 then
    unobserved[#unobserved + 1] = task
  end
  task.future:set(ok, ...)
end

local function resume(task, args)
  if task.status ~= "new" and task.status ~= "suspended" then return end
  task.status = "running"
  resuming = resuming + 1
  local res = table.pack(coroutine.resume(task.co, unpack(args, 1, args.n)))
  resuming = resuming - 1
  if coroutine.status(task.co) == "dead" then
    if res[1] then
      -- the body is an xpcall: res = { true, ok, values or error }
      finish(task, unpack(res, 2, res.n))
    else
      finish(task, false, res[2])
    end
  elseif res[2] == SUSPEND then
    task.status = "suspended"
  else
    -- A plain coroutine.yield reached the scheduler: the task has no coroutine of its own
    -- around it. Nothing could ever resume it correctly, so it fails.
    task.status = "failed"
    coroutine.close(task.co)
    finish(task, false, "coroutine.yield called in a task outside a coroutine of its own")
  end
end

function S.spawn(fn, ...)
  if type(fn) ~= "function" then errors.arg("tenten.spawn", "fn", "a function", fn, 2) end
  local task = setmetatable({ status = "new", future = S.future() }, Task)
  local function handler(e)
    -- keep the error object itself; remember where it came from for whoever prints it
    task.traceback = debug.traceback(type(e) == "string" and e or tostring(e), 2)
    return e
  end
  task.co = coroutine.create(function(...) return xpcall(fn, handler, ...) end)
  tasks[task.co] = task
  live[task] = true
  nlive = nlive + 1
  push_ready(task, ...)
  return task
end

-- Suspend the running task until something wakes it; returns what the waker passed.
local function suspend()
  return coroutine.yield(SUSPEND)
end

function Task:wait(timeout)
  self.observed = true
  for i = #unobserved, 1, -1 do
    if unobserved[i] == self then table.remove(unobserved, i) end
  end
  if current() == self then error("tenten: a task cannot wait for itself", 2) end
  local done, ok = self.future:wait(timeout)
  if not done then return false, errors.new(errors.E_TIMEOUT, "task:wait timed out", "wait") end
  return ok, select(3, self.future:values())
end

function Task:cancel()
  if not live[self] then return false end
  if current() == self then
    errors.raise(errors.E_CANCELLED, "task cancelled itself", "cancel", nil, 2)
  end
  if self.status == "running" then
    -- It resumed a coroutine that is running us: it is not at a point where it can stop.
    error("tenten: cannot cancel a task that is running", 2)
  end
  if self.waiter then self.waiter.gone = true end
  if self.waiter and self.waiter.timer then self.waiter.timer.cancelled = true end
  if self.req then
    inflight[self.req] = nil
    self.req:cancel()
  end
  self.status = "cancelled"
  -- Runs the task's pending <close> variables, so sessions it holds are released.
  local ok, err = coroutine.close(self.co)
  finish(self, false, ok and errors.new(errors.E_CANCELLED, "task cancelled", "cancel") or err)
  return true
end

---------------------------------------------------------------------------------------------
-- Futures

local Future = {}
Future.__index = Future

function S.future()
  return setmetatable({ done = false, waiters = {} }, Future)
end

function Future:set(...)
  if self.done then return false end
  self.done = true
  self.result = table.pack(...)
  local ws = self.waiters
  self.waiters = {}
  for _, w in ipairs(ws) do
    if not w.gone then
      w.gone = true
      if w.timer then w.timer.cancelled = true end
      push_ready(w.task, true)
    end
  end
  return true
end

function Future:values()
  return true, unpack(self.result, 1, self.result.n)
end

-- Wait until set. Returns true, values... or false when the timeout passed first.
function Future:wait(timeout)
  if self.done then return self:values() end
  local task = current()
  if task then
    local w = { task = task }
    self.waiters[#self.waiters + 1] = w
    if timeout then
      w.timer = S.at(core.now() + timeout, function()
        if not w.gone then
          w.gone = true
          push_ready(task, false)
        end
      end)
    end
    task.waiter = w
    local ok = suspend()
    task.waiter = nil
    if not ok then return false end
    return self:values()
  end
  local deadline = timeout and core.now() + timeout
  while not self.done do
    local left = deadline and deadline - core.now()
    if left and left <= 0 then return false end
    if not S.step(left) and not self.done then
      error(errors.new(errors.E_CANCELLED,
        "waiting for something that can never happen: no task, request or timer is left", "wait"), 2)
    end
  end
  return self:values()
end

---------------------------------------------------------------------------------------------
-- The loop

-- One turn: resume the tasks that are ready, then wait for I/O or a timer at most `max_wait`
-- seconds. Returns false when nothing at all is left that could make progress. `for_run` is
-- set by run's own loop only: once no task is left it has nothing to wait for, while a nested
-- wait (a hook releasing IDs after an interrupt, say) still needs its I/O driven.
local function step(max_wait, for_run)
  -- Resume the tasks ready now, not those they make ready. A task may drive a nested step (a
  -- wait in a plain coroutine), which takes entries off this same queue: test the head each
  -- time rather than counting ahead.
  local last = ready.tail
  while ready.head <= last do
    local e = ready[ready.head]
    ready[ready.head] = nil
    ready.head = ready.head + 1
    resume(e.task, e.args)
  end
  fire_timers()
  if not interrupted and core.interrupted() > 0 then S.interrupt() end
  -- run's loop with no task left: do not block on a timer a cancelled task left behind
  if for_run and nlive == 0 then return true end
  local timeout
  if ready.tail >= ready.head then
    timeout = 0
  else
    local t = next_timer()
    if not t and core.pending() == 0 then return false end
    timeout = t and math.max(0, t.at - core.now()) or 1
  end
  if max_wait and max_wait < timeout then timeout = math.max(0, max_wait) end
  local done = core.step(timeout)
  for _, req in ipairs(done) do
    local f = inflight[req]
    if f then
      inflight[req] = nil
      f:set(req:result())
    end
  end
  fire_timers()
  return true
end

function S.step(max_wait)
  return step(max_wait, false)
end

-- Start an HTTP exchange without waiting: a future set to (reply) or (nil, err).
function S.start(opts)
  local req = core.request(opts)
  local f = S.future()
  f.req = req
  inflight[req] = f
  return f
end

-- Wait for a started exchange; a task cancelled meanwhile also cancels the transfer.
function S.finish(f)
  local task = current()
  if task then task.req = f.req end
  local _, reply, err = f:wait()
  if task then task.req = nil end
  return reply, err
end

function S.sleep(seconds)
  if type(seconds) ~= "number" or seconds < 0 then
    errors.arg("tenten.sleep", "seconds", "a number >= 0", seconds, 2)
  end
  local f = S.future()
  local timer = S.at(core.now() + seconds, function() f:set() end)
  -- a task cancelled while it sleeps leaves no timer behind
  local _guard <close> = setmetatable({}, { __close = function() timer.cancelled = true end }) -- luacheck: ignore 211
  f:wait()
end

-- Whether a top-level run is driving the loop: its end will run the on_run_end hooks.
function S.running()
  return runs > 0
end

-- Register fn to run when a top-level run ends without a signal, its tasks all done.
function S.on_run_end(fn)
  run_end_hooks[#run_end_hooks + 1] = fn
end

-- Register fn to run when a signal interrupts the program (after every task is cancelled).
function S.on_interrupt(fn)
  hooks[#hooks + 1] = fn
end

function S.interrupt()
  if interrupted then return end
  interrupted = true
  local victims = {}
  for t in pairs(live) do
    if t.status ~= "running" then victims[#victims + 1] = t end
  end
  for _, t in ipairs(victims) do t:cancel() end
  for _, fn in ipairs(hooks) do pcall(fn) end
end

-- Run fn as a task and drive the loop until it and every task it spawned have ended.
function S.run(fn, ...)
  if type(fn) ~= "function" then errors.arg("tenten.run", "fn", "a function", fn, 2) end
  if current() or resuming > 0 or runs > 0 then
    -- Nested: inside a task, a plain coroutine of one, or anything an outer run calls. The
    -- outer task is live until this returns, so "until no task is left" would never come:
    -- run fn as a task of its own (even a bare yield stays in it) and wait for that task
    -- only, suspending the caller's task or, outside one, driving the loop.
    local t = S.spawn(fn, ...)
    t.observed = true
    local res = table.pack(t:wait())
    if not res[1] then
      local e = res[2]
      if type(e) == "string" then error(t.traceback or e, 0) end
      error(e, 0)
    end
    return unpack(res, 2, res.n)
  end
  -- Only the errors of this run's tasks are this run's to raise (tt-lua -i runs every line).
  unobserved = {}
  local main = S.spawn(fn, ...)
  main.observed = true
  runs = runs + 1
  local ok, err = pcall(function()
    while nlive > 0 do
      if not step(nil, true) and nlive > 0 then
        -- Every live task waits on a future nobody can set: end them rather than hang.
        for t in pairs(live) do if t.status ~= "running" then t:cancel() end end
      end
    end
  end)
  runs = runs - 1
  -- What was kept for the run's own later use (IDs a pool lets linger) goes now, unless a
  -- signal ended the run: its own hooks released everything already.
  if runs == 0 and not interrupted then
    for _, h in ipairs(run_end_hooks) do pcall(h) end
  end
  local failed = unobserved[1]
  unobserved = {}
  if not ok then error(err, 0) end
  if interrupted then
    -- the main task's own E_INTERRUPTED (pool:pull's carries its summaries) says more
    local own = main.future.result and main.future.result[2]
    if errors.is_error(own) and own.code == errors.E_INTERRUPTED then error(own, 0) end
    error(errors.new(errors.E_INTERRUPTED, "interrupted by a signal", "run"), 0)
  end
  local function reraise(task, e)
    if errors.is_error(e) then
      e.traceback = e.traceback or task.traceback
      error(e, 0)
    end
    -- a string gains its traceback; any other error value is raised as it is
    if type(e) == "string" then error(task.traceback or e, 0) end
    error(e, 0)
  end
  local result = main.future.result
  if not result[1] then reraise(main, result[2]) end
  if failed then reraise(failed, failed.future.result[2]) end
  return unpack(result, 2, result.n)
end

-- Wait for every task; returns true when all succeeded, and for each task a packed
-- { ok, values or error }.
function S.wait_all(list)
  local all_ok, out = true, {}
  for i, t in ipairs(list) do
    out[i] = table.pack(t:wait())
    all_ok = all_ok and out[i][1]
  end
  return all_ok, out
end

-- Run fn(item, index) over items with `concurrency` workers draining one queue. Returns the
-- results in item order and, when any failed, a list of { index =, item =, error = }.
function S.parallel(items, fn, opts)
  if type(items) ~= "table" then errors.arg("tenten.parallel", "items", "a table", items, 2) end
  if type(fn) ~= "function" then errors.arg("tenten.parallel", "fn", "a function", fn, 2) end
  opts = opts or {}
  local n = #items
  local concurrency = math.max(1, math.min(opts.concurrency or n, n))
  local results, errs = {}, {}
  local next_i, stop = 0, false
  local workers, current_item = {}, {}
  for w = 1, concurrency do
    workers[w] = S.spawn(function()
      while not stop do
        next_i = next_i + 1
        local i = next_i
        if i > n then return end
        current_item[w] = i
        local ok, res = pcall(fn, items[i], i)
        current_item[w] = nil
        if ok then
          results[i] = res
        else
          errs[#errs + 1] = { index = i, item = items[i], error = res }
          if opts.fail_fast and not stop then
            stop = true
            for v, other in ipairs(workers) do
              if v ~= w and other:cancel() and current_item[v] then
                local j = current_item[v]
                errs[#errs + 1] = { index = j, item = items[j],
                  error = errors.new(errors.E_CANCELLED, "cancelled: another item failed (fail_fast)", "parallel") }
              end
            end
          end
        end
      end
    end)
  end
  for _, t in ipairs(workers) do t:wait() end
  table.sort(errs, function(a, b) return a.index < b.index end)
  return results, (#errs > 0 and errs or nil)
end

return S
