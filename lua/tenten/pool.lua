-- The process-wide view of one SAM pool.
--
-- Waiters queue first in, first out, and nobody barges: a new acquire goes behind anyone
-- already waiting. A released ID goes straight to the next waiter of this process, still
-- logged in, with no reluid/getuid round trip. Only when no ID is free here does the pool ask
-- the platform, and then one poller asks for all waiters, every `wait` seconds while the
-- platform answers "System is busy" (rc 38), after a back-off while it throttles or is
-- unavailable (rc 45, 41; the policy is retry.lua's).
local api = require "tenten.api"
local core = require "tenten.core"
local errors = require "tenten.errors"
local retry = require "tenten.retry"
local sched = require "tenten.sched"

local P = {}
local Pool = {}
Pool.__index = Pool
Pool.__name = "tenten.pool"

local pools = {} -- "gateway|owner|group" -> pool

local function check(opts, key, kind, fname)
  local v = opts[key]
  if v ~= nil and type(v) ~= kind then errors.arg(fname, key, "a " .. kind, v, 4) end
  return v
end

-- tenten.pool{ gateway =, owner =, password =, group =, size =, wait =, retry =,
--              acquire_timeout =, backoff =, member_password =, timeout =, logfile = ... }
function P.get(opts, fname)
  fname = fname or "tenten.pool"
  if type(opts) ~= "table" then errors.arg(fname, "options", "a table", opts, 3) end
  for _, k in ipairs { "owner", "password", "group" } do
    if type(opts[k]) ~= "string" then errors.arg(fname, k, "a string", opts[k], 3) end
  end
  local conn = api.conn(fname, opts)
  local key = conn.gateway .. "|" .. opts.owner .. "|" .. opts.group
  local pool = pools[key]
  if pool then return pool end
  local size = check(opts, "size", "number", fname)
  if size and (size < 1 or size ~= math.floor(size)) then
    errors.arg(fname, "size", "a whole number >= 1", size, 3)
  end
  pool = setmetatable({
    conn = conn, owner = opts.owner, password = opts.password, group = opts.group,
    member_password = check(opts, "member_password", "string", fname) or opts.password,
    size = size or math.huge,
    wait = check(opts, "wait", "number", fname) or 10,
    retry = check(opts, "retry", "number", fname) or 2 ^ 30,
    -- asks after a transient answer: `retry` when given, else retry.lua's default
    attempts = opts.retry or retry.ATTEMPTS,
    backoff = retry.backoff(opts.backoff, fname, 3),
    acquire_timeout = check(opts, "acquire_timeout", "number", fname),
    held = {},       -- uid -> member { uid, sid, enc, leased }
    nheld = 0, nbusy = 0,
    waiters = { head = 1, tail = 0 },
    nwaiting = 0,
    acquisitions = 0, timeouts = 0, max_wait = 0, handoffs = 0,
  }, Pool)
  pools[key] = pool
  return pool
end

local function owner_params(self)
  return { uid = self.owner, pswd = self.password, gid = self.group }
end

local function pop_waiter(self)
  local q = self.waiters
  while q.head <= q.tail do
    local w = q[q.head]
    q[q.head] = nil
    q.head = q.head + 1
    if not w.gone then return w end
  end
end

local function give(self, w, member)
  w.gone = true
  self.nwaiting = self.nwaiting - 1
  member.leased = true
  self.nbusy = self.nbusy + 1
  self.acquisitions = self.acquisitions + 1
  local waited = core.now() - w.since
  if waited > self.max_wait then self.max_wait = waited end
  w.future:set(member)
  if self.nwaiting == 0 and self.wakeup then self.wakeup:set() end
end

local function fail_waiters(self, err)
  while true do
    local w = pop_waiter(self)
    if not w then return end
    w.gone = true
    self.nwaiting = self.nwaiting - 1
    w.future:set(nil, err)
  end
end

-- Give an ID back to the platform. The member's own session credentials when it has a
-- session, else its clear password (the platform accepts both).
local function reluid(self, member)
  local params = { uid = member.uid, gid = self.group }
  if member.sid then
    params.sid, params.pswd = member.sid, member.enc
  else
    params.pswd = self.member_password
  end
  local ok, err = api.try(self.conn, "reluid", params)
  if not ok and member.sid and err.code == 35 then
    -- the session is gone already: the clear password still releases the ID
    ok, err = api.try(self.conn, "reluid", { uid = member.uid, gid = self.group, pswd = self.member_password })
  end
  self.held[member.uid] = nil
  self.nheld = self.nheld - 1
  return ok, err
end

-- The retry limits of a member's login that started at `started`: the pool's own.
function Pool:limits(started)
  return retry.limits({ retry = self.attempts, acquire_timeout = self.acquire_timeout, backoff = self.backoff },
    started)
end

-- Count one more unanswered ask against every waiter (`counter` of each); those that reach
-- `limit` give up with make_err(w).
local function count_attempt(self, counter, limit, make_err)
  local q = self.waiters
  for i = q.head, q.tail do
    local w = q[i]
    if w and not w.gone then
      w[counter] = w[counter] + 1
      if w[counter] >= limit then
        w.gone = true
        self.nwaiting = self.nwaiting - 1
        w.future:set(nil, make_err(w))
      end
    end
  end
end

-- The poller: one per pool, alive while anyone waits and the pool may hold more IDs.
local function fetch(self)
  local streak = 0 -- transient answers in a row, for the back-off
  while self.nwaiting > 0 and self.nheld < self.size do
    local reply, err = api.try(self.conn, "getuid", owner_params(self))
    local kind = not reply and retry.kind("getuid", err)
    if reply then
      streak = 0
      local member = { uid = reply:field("uid") }
      self.held[member.uid] = member
      self.nheld = self.nheld + 1
      local w = pop_waiter(self)
      if w then
        give(self, w, member)
      else
        reluid(self, member) -- everyone stopped waiting meanwhile
      end
    elseif kind then
      -- Count the attempt against every waiter; the ones out of attempts give up: with
      -- E_POOL_TIMEOUT while the pool is busy, with the platform's own answer otherwise.
      local pause
      if kind == "busy" then
        streak = 0
        count_attempt(self, "attempts", self.retry, function(w)
          self.timeouts = self.timeouts + 1
          return errors.new(errors.E_POOL_TIMEOUT,
            string.format("no ID of pool %s after %d attempts: %s", self.group, w.attempts, err.msg),
            "getuid", self.owner)
        end)
        pause = self.wait
      else
        streak = streak + 1
        count_attempt(self, "failures", self.attempts, function() return err end)
        pause = retry.delay(streak, self.backoff)
      end
      if self.nwaiting > 0 then
        -- Sleep, or less if the last waiter is served (or leaves) meanwhile.
        self.wakeup = sched.future()
        self.wakeup:wait(pause)
        self.wakeup = nil
      end
    else
      fail_waiters(self, err) -- bad credentials, not the owner: nobody will get an ID
    end
  end
  self.poller = nil
end

-- Lease a member: { uid, sid, enc } (sid set when it is still logged in from a release).
function Pool:acquire(timeout)
  timeout = timeout or self.acquire_timeout
  local w = { future = sched.future(), since = core.now(), attempts = 0, failures = 0 }
  -- Always queue: a member released here goes to the longest waiter, so nobody barges.
  local q = self.waiters
  q.tail = q.tail + 1
  q[q.tail] = w
  self.nwaiting = self.nwaiting + 1
  if not self.poller and self.nheld < self.size then
    self.poller = sched.spawn(fetch, self)
    self.poller.observed = true
  end
  -- If the waiting task is cancelled, leave the queue, and give back a member that arrived
  -- just before the cancel: nobody else would ever release it.
  local returned = false
  local _guard <close> = setmetatable({}, { __close = function() -- luacheck: ignore 211
    if returned then return end
    if not w.gone then
      w.gone = true
      self.nwaiting = self.nwaiting - 1
      if self.nwaiting == 0 and self.wakeup then self.wakeup:set() end
    elseif w.future.done and w.future.result[1] then
      self:release(w.future.result[1])
    end
  end })
  local done, member, err = w.future:wait(timeout)
  returned = true
  if not done then
    w.gone = true
    self.nwaiting = self.nwaiting - 1
    self.timeouts = self.timeouts + 1
    if self.nwaiting == 0 and self.wakeup then self.wakeup:set() end
    errors.raise(errors.E_POOL_TIMEOUT, string.format("no ID of pool %s within %g s", self.group, timeout),
      "getuid", self.owner, 2)
  end
  if not member then error(err, 2) end
  return member
end

-- Return a leased member: to the next waiter here, or to the platform.
function Pool:release(member)
  if not member.leased then return end
  member.leased = false
  self.nbusy = self.nbusy - 1
  local w = pop_waiter(self)
  if w then
    self.handoffs = self.handoffs + 1
    give(self, w, member)
    return true
  end
  local ok, err = reluid(self, member)
  if not ok then return nil, err end
  -- Someone may have started waiting while the reluid was in flight.
  if self.nwaiting > 0 and not self.poller then
    self.poller = sched.spawn(fetch, self)
    self.poller.observed = true
  end
  return true
end

function Pool:stats()
  return {
    total = self.nheld, busy = self.nbusy, idle = self.nheld - self.nbusy, waiting = self.nwaiting,
    max_wait = self.max_wait, acquisitions = self.acquisitions, timeouts = self.timeouts,
    handoffs = self.handoffs, size = self.size ~= math.huge and self.size or nil,
  }
end

-- Give every held ID back (used when a signal ends the program).
function Pool:release_all()
  fail_waiters(self, errors.new(errors.E_INTERRUPTED, "interrupted", "getuid", self.owner))
  for _, member in pairs(self.held) do
    if member.leased then
      member.leased = false
      self.nbusy = self.nbusy - 1
    end
    reluid(self, member)
  end
end

sched.on_interrupt(function()
  for _, pool in pairs(pools) do pool:release_all() end
end)

P.Pool = Pool
return P
