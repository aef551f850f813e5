-- The process-wide view of one SAM pool.
--
-- Waiters queue first in, first out, and nobody barges: a new acquire goes behind anyone
-- already waiting. A released ID goes straight to the next waiter of this process, still
-- logged in, with no reluid/getuid round trip. Only when no ID is free here does the pool ask
-- the platform, and then one poller asks for all waiters, every `wait` seconds while the
-- platform answers "System is busy" (rc 38), after a back-off while the answer is transient
-- (retry.lua decides which answers are). An ID whose reluid keeps failing is never dropped:
-- it stays on the "to release" list, asked again before the next getuid and at the end of
-- the run (tenten.run, a signal).
--
-- Linger: inside a run, an ID released while nobody waits stays with the pool, still logged
-- in, for `linger` seconds, so a task taking its next item a moment later skips a reluid, a
-- getuid and a login (three round trips). Its timer gives it back; so do the end of the run,
-- pool:close() and a signal, at once. Outside a run nothing would be left to give it back
-- when the script ends, so a release there goes straight to the platform.
local api = require "tenten.api"
local core = require "tenten.core"
local errors = require "tenten.errors"
local retry = require "tenten.retry"
local sched = require "tenten.sched"

local P = {}
local Pool = {}
Pool.__index = Pool
Pool.__name = "tenten.pool"

local pools = {} -- "gateway|owner|group|fingerprint of the password" -> pool
-- Closed pools that may still hold leased IDs: a signal must release those too.
local retired = setmetatable({}, { __mode = "k" })

-- How long a released ID lingers by default: long enough for a task to finish one item and
-- ask for the next, short next to the platform's own idle timers.
P.LINGER = 2

-- A fingerprint of a password for the pools' key, so two passwords never share a pool and the
-- key never shows one: FNV-1a (64 bits) over a salt drawn per process and the password.
local SALT = string.format("%x%x", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
local function fingerprint(password)
  local h = -3750763034362895579 -- the FNV-1a 64-bit offset basis, 0xcbf29ce484222325
  local text = SALT .. password
  for i = 1, #text do h = (h ~ text:byte(i)) * 1099511628211 end
  return string.format("%016x", h)
end

local function check(opts, key, kind, fname)
  local v = opts[key]
  if v ~= nil and type(v) ~= kind then errors.arg(fname, key, "a " .. kind, v, 4) end
  return v
end

-- tenten.pool{ gateway =, owner =, password =, group =, size =, wait =, retry =, retries =,
--              acquire_timeout =, backoff =, member_password =, linger =, conn = | the
--              connection options of api.conn }
function P.get(opts, fname)
  fname = fname or "tenten.pool"
  if type(opts) ~= "table" then errors.arg(fname, "options", "a table", opts, 3) end
  for _, k in ipairs { "owner", "password", "group" } do
    if type(opts[k]) ~= "string" then errors.arg(fname, k, "a string", opts[k], 3, { env = errors.ENV[k] }) end
  end
  -- opts.conn: connection settings a caller already built from the same options (api.conn)
  local conn = opts.conn or api.conn(fname, opts)
  local key = conn.gateway .. "|" .. opts.owner .. "|" .. opts.group .. "|" .. fingerprint(opts.password)
  local size = check(opts, "size", "number", fname)
  if size and (size < 1 or size ~= math.floor(size)) then
    errors.arg(fname, "size", "a whole number >= 1", size, 3)
  end
  local linger = check(opts, "linger", "number", fname)
  if linger and not (linger >= 0 and linger < math.huge) then
    errors.arg(fname, "linger", "a number of seconds >= 0", linger, 3)
  end
  local pool = pools[key]
  if pool then return pool end
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
    linger = linger or P.LINGER,
    lingering = {},  -- members released here and kept for the next acquire, newest last
    key = key,
    -- uid -> member: IDs no longer used but not yet given back (a reluid in flight, or failed)
    unreleased = {}, nfailed = 0,
    waiters = { head = 1, tail = 0 },
    nwaiting = 0,
    acquisitions = 0, timeouts = 0, max_wait = 0, handoffs = 0, release_failures = 0, reuses = 0,
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

-- One reluid ask: the member's own session credentials when it has a session, else its clear
-- password (the platform accepts both).
local function reluid_once(self, member)
  local params = { uid = member.uid, gid = self.group }
  if member.sid then
    params.sid, params.pswd = member.sid, member.enc
  else
    params.pswd = self.member_password
  end
  local ok, err = api.try(self.conn, "reluid", params)
  if not ok and member.sid and err.code == errors.RC.NOT_LOGGED_IN then
    -- the session is gone already: the clear password still releases the ID
    ok, err = api.try(self.conn, "reluid", { uid = member.uid, gid = self.group, pswd = self.member_password })
  end
  return ok, err
end

-- Mark a member that is not given back yet as failed (on the "to release" list) or not.
local function set_failed(self, member, failed)
  if (member.release_failed or false) ~= failed then
    member.release_failed = failed
    self.nfailed = self.nfailed + (failed and 1 or -1)
  end
end

local function forget(self, member)
  set_failed(self, member, false)
  self.unreleased[member.uid] = nil
end

local function note_failure(self, err)
  self.release_failures = self.release_failures + 1
  self.last_release_error = err
end

-- Give an ID back to the platform, asking up to `attempts` times while the failure is
-- transient (reluid is safe to repeat: releasing a free ID is rc 0). An ID still not given
-- back stays on the "to release" list; one the platform refuses for good (not a member, bad
-- credentials) is dropped. Returns true, or nil and the last error.
local function give_back(self, member, attempts)
  if self.held[member.uid] == member then
    self.held[member.uid] = nil
    self.nheld = self.nheld - 1
  end
  self.unreleased[member.uid] = member
  member.releasing = true
  -- a task cancelled in the middle leaves the member on the list, for a later ask
  local done = false
  local _guard <close> = setmetatable({}, { __close = function() -- luacheck: ignore 211
    member.releasing = false
    if not done then set_failed(self, member, true) end
  end })
  local ok, err = retry.run("reluid", { attempts = attempts, backoff = self.backoff },
    function() return reluid_once(self, member) end)
  done = true
  if ok then
    forget(self, member)
    return true
  end
  note_failure(self, err)
  if retry.kind("reluid", err) == "transient" then
    set_failed(self, member, true)
  else
    forget(self, member)
  end
  return nil, err
end

-- Ask once more for every ID on the "to release" list (not those a task is releasing now).
local function retry_unreleased(self)
  local list = {}
  for _, m in pairs(self.unreleased) do
    if not m.releasing then list[#list + 1] = m end
  end
  for _, m in ipairs(list) do give_back(self, m, 1) end
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

-- One getuid: a member, or nil and an error object (E_XML for a reply without its <uid>).
local function getuid(self)
  local reply, err = api.try(self.conn, "getuid", owner_params(self))
  if not reply then return nil, err end
  local uid = reply:field("uid")
  if type(uid) ~= "string" or uid == "" then
    return nil, errors.new(errors.E_XML, "a getuid reply without its <uid>", "getuid", self.owner)
  end
  return { uid = uid }
end

-- The poller's loop: one per pool, alive while anyone waits and the pool may hold more IDs.
local function fetch(self)
  local streak = 0 -- transient answers in a row, for the back-off
  while self.nwaiting > 0 and self.nheld < self.size do
    if self.nfailed > 0 then retry_unreleased(self) end
    local member, err = getuid(self)
    local kind = not member and retry.kind("getuid", err)
    if member then
      streak = 0
      self.held[member.uid] = member
      self.nheld = self.nheld + 1
      local w = pop_waiter(self)
      if w then
        give(self, w, member)
      else
        give_back(self, member, 1) -- everyone stopped waiting meanwhile
      end
    elseif kind then
      -- Count the attempt against every waiter; the ones out of attempts give up: with
      -- E_POOL_TIMEOUT while the pool is busy, with the platform's own answer otherwise.
      if kind == "busy" then
        streak = 0
        count_attempt(self, "attempts", self.retry, function(w)
          self.timeouts = self.timeouts + 1
          return errors.new(errors.E_POOL_TIMEOUT,
            string.format("no ID of pool %s after %d attempts: %s", self.group, w.attempts, err.msg),
            "getuid", self.owner)
        end)
      else
        streak = streak + 1
        count_attempt(self, "failures", self.attempts, function() return err end)
      end
      if self.nwaiting > 0 then
        -- Sleep, or less if the last waiter is served (or leaves) meanwhile.
        self.wakeup = sched.future()
        self.wakeup:wait(retry.pause(kind, streak, self.wait, self.backoff))
        self.wakeup = nil
      end
    else
      fail_waiters(self, err) -- bad credentials, not the owner: nobody will get an ID
    end
  end
end

-- Start the poller. Whatever ends it, even an error of its own, it clears itself, so the next
-- acquire starts a new one; an error also fails the waiters, who would otherwise wait for ever.
local function start_poller(self)
  local task
  task = sched.spawn(function()
    local ok, err = pcall(fetch, self)
    if self.poller == task then self.poller = nil end
    if not ok then
      if not errors.is_error(err) then
        err = errors.new(errors.E_CANCELLED, "the pool's poller failed: " .. tostring(err), "getuid", self.owner)
      end
      fail_waiters(self, err)
    end
  end)
  task.observed = true
  self.poller = task
  return task
end

-- Whether a poller runs; one cancelled (a signal, a cancelled run) never cleared itself.
local function poller_alive(self)
  local t = self.poller
  if t and (t.status == "done" or t.status == "failed" or t.status == "cancelled") then
    self.poller = nil
  end
  return self.poller ~= nil
end

-- Keep a released member for the next acquire; its timer gives it back after `linger` s.
local function keep_lingering(self, member)
  local list = self.lingering
  list[#list + 1] = member
  member.linger_timer = sched.at(core.now() + self.linger, function()
    for i, m in ipairs(self.lingering) do
      if m == member then
        table.remove(self.lingering, i)
        member.linger_timer = nil
        sched.spawn(give_back, self, member, retry.RELEASE_ATTEMPTS).observed = true
        return
      end
    end
  end)
end

-- The newest lingering member (its session is the freshest), or nil.
local function take_lingering(self)
  local m = table.remove(self.lingering)
  if m then
    m.linger_timer.cancelled = true
    m.linger_timer = nil
  end
  return m
end

-- Lease a member: { uid, sid, enc } (sid set when it is still logged in from a release).
function Pool:acquire(timeout)
  timeout = timeout or self.acquire_timeout
  local w = { future = sched.future(), since = core.now(), attempts = 0, failures = 0 }
  -- Always queue: a member released here goes to the longest waiter, so nobody barges.
  if self.closed then
    errors.raise(errors.E_CLOSED, "a session from pool " .. self.group .. " after pool:close()", "getuid",
      self.owner, 2)
  end
  local q = self.waiters
  q.tail = q.tail + 1
  q[q.tail] = w
  self.nwaiting = self.nwaiting + 1
  local kept = take_lingering(self)
  if kept then
    self.reuses = self.reuses + 1
    give(self, pop_waiter(self), kept)
  end
  if self.nwaiting > 0 and not poller_alive(self) and self.nheld < self.size then start_poller(self) end
  -- If the waiting task is cancelled, leave the queue, and give back a member that arrived
  -- just before the cancel: nobody else would ever release it. Never raises (a close handler).
  local returned = false
  local _guard <close> = setmetatable({}, { __close = function() -- luacheck: ignore 211
    if returned then return end
    if not w.gone then
      w.gone = true
      self.nwaiting = self.nwaiting - 1
      if self.nwaiting == 0 and self.wakeup then self.wakeup:set() end
    elseif w.future.done and w.future.result[1] then
      pcall(self.release, self, w.future.result[1])
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

-- Return a leased member: to the next waiter here, or to the platform. Returns true, or nil
-- and the error of a reluid that failed (the ID is then on the "to release" list, or was
-- refused for good). After a signal nothing is asked here: the interrupt releases everything
-- at once, within its grace time. `discard`: the member's session is known to be gone, so it
-- goes straight to the platform, never to another task.
function Pool:release(member, discard)
  if not member.leased then return true end
  member.leased = false
  self.nbusy = self.nbusy - 1
  if core.interrupted() > 0 then return true end
  local w = not discard and pop_waiter(self)
  if w then
    self.handoffs = self.handoffs + 1
    give(self, w, member)
    return true
  end
  if self.linger > 0 and not discard and not self.closed and sched.running() then
    keep_lingering(self, member)
    return true
  end
  local ok, err = give_back(self, member, retry.RELEASE_ATTEMPTS)
  -- Someone may have started waiting while the reluid was in flight.
  if self.nwaiting > 0 and not poller_alive(self) and self.nheld < self.size then start_poller(self) end
  if not ok then return nil, err end
  return true
end

function Pool:stats()
  return {
    total = self.nheld, busy = self.nbusy, idle = self.nheld - self.nbusy, waiting = self.nwaiting,
    max_wait = self.max_wait, acquisitions = self.acquisitions, timeouts = self.timeouts,
    handoffs = self.handoffs, size = self.size ~= math.huge and self.size or nil,
    to_release = self.nfailed, release_failures = self.release_failures,
    lingering = #self.lingering, reuses = self.reuses,
  }
end

-- Give back every lingering ID now, all reluids in flight together.
function Pool:release_lingering()
  local list = self.lingering
  if #list == 0 then return end
  self.lingering = {}
  for _, m in ipairs(list) do
    m.linger_timer.cancelled = true
    m.linger_timer = nil
  end
  local tasks = {}
  for i, m in ipairs(list) do
    tasks[i] = sched.spawn(give_back, self, m, retry.RELEASE_ATTEMPTS)
    tasks[i].observed = true
  end
  sched.wait_all(tasks)
end

-- Done with the pool: lingering IDs go back at once, the "to release" list is asked once more,
-- and the pool hands out no more IDs (tenten.pool{} with the same options makes a new one).
-- IDs still leased go back when their sessions close. Closing twice is fine.
function Pool:close()
  if self.closed then return end
  self.closed = true
  if pools[self.key] == self then pools[self.key] = nil end
  retired[self] = true
  fail_waiters(self, errors.new(errors.E_CLOSED, "pool:close() while waiting for an ID", "getuid", self.owner))
  self:release_lingering()
  if self.nfailed > 0 then retry_unreleased(self) end
end
Pool.__close = Pool.close

-- Ask once more for every ID on the "to release" list (tenten.run does this at its end).
-- Returns how many are still not given back.
function Pool:release_pending()
  retry_unreleased(self)
  return self.nfailed
end

-- Give every ID back at once, each with one reluid by its clear password, all in flight
-- together (used when a signal ends the program; api.lua bounds the time they get).
function Pool:release_all()
  fail_waiters(self, errors.new(errors.E_INTERRUPTED, "interrupted", "getuid", self.owner))
  for _, m in ipairs(self.lingering) do m.linger_timer.cancelled = true end
  self.lingering = {} -- still in `held`: released below with the rest
  local members = {}
  for _, m in pairs(self.held) do members[#members + 1] = m end
  for _, m in pairs(self.unreleased) do members[#members + 1] = m end
  local asks = {}
  for i, m in ipairs(members) do
    if m.leased then
      m.leased = false
      self.nbusy = self.nbusy - 1
    end
    if self.held[m.uid] == m then
      self.held[m.uid] = nil
      self.nheld = self.nheld - 1
    end
    self.unreleased[m.uid] = m
    asks[i] = api.begin(self.conn, "reluid", { uid = m.uid, gid = self.group, pswd = self.member_password })
  end
  for i, m in ipairs(members) do
    local ok, err = api.wait(asks[i])
    if ok or retry.kind("reluid", err) ~= "transient" and err.code ~= errors.E_INTERRUPTED then
      forget(self, m)
    else
      set_failed(self, m, true)
    end
    if not ok then note_failure(self, err) end
  end
end

-- Every pool of the process, for the end of a run and for a signal.
function P.each()
  local list = {}
  for _, pool in pairs(pools) do list[#list + 1] = pool end
  for pool in pairs(retired) do list[#list + 1] = pool end
  return list
end

-- The end of a run leaves nothing lingering.
sched.on_run_end(function()
  for _, pool in ipairs(P.each()) do pcall(pool.release_lingering, pool) end
end)

-- The two methods that use a pool rather than run it. Their modules build on this one
-- (session.lua needs pools, pull.lua needs sessions), so they are required when first called:
-- that keeps the class whole here without a require cycle.

-- pool:session([opts]): a session on a member ID of this pool.
function Pool:session(opts)
  return require("tenten.session").open({ pool = self, mode = opts and opts.mode }, "pool:session")
end

-- pool:pull(jobs [, opts]): declarative parallel pulls (lua/tenten/pull.lua).
function Pool:pull(jobs, opts)
  return require("tenten.pull").pull(self, jobs, opts, "pool:pull")
end

P.Pool = Pool
return P
