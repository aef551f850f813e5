-- The client's one retry policy: which transactions may be asked again, which answers are
-- worth asking again, how long to wait between asks, and how many asks a call may make. Every
-- retry in the module goes through here, so the table in docs/api.md ("Retries") describes
-- all of them.
--
-- Kinds of answer (R.kind):
--   "busy"      rc 38 on getuid: the pool has no free ID. Asked again every `wait` seconds
--               (py1010's fixed interval), by the pool's one poller.
--   "transient" the platform or the network may answer differently in a moment: asked again
--               after a capped exponential back-off with full jitter. Which answers count
--               depends on the transaction (R.kind below).
-- Anything else fails at once.
local core = require "tenten.core"
local errors = require "tenten.errors"
local sched = require "tenten.sched"

local R = {}

-- Back-off defaults, in seconds: the n-th retry waits a random time in [0, min(cap, base*2^(n-1))).
R.BASE, R.CAP = 0.5, 30
-- Attempts (the first ask included) for login and getuid when the caller gives no `retry`: the
-- public C# client of the platform gives up on login throttling after 10.
R.ATTEMPTS = 10
-- Retries of a read (the `retries` option) when the caller gives none: with 5% of asks failing
-- at random, 4 retries leave about 3 failed reads in 10 million.
R.RETRIES = 4
-- Asks of a reluid before its member goes on the pool's "to release" list.
R.RELEASE_ATTEMPTS = 4
-- Seconds every exchange together may take once a signal has interrupted the run: releases
-- and logouts are tried, but a gateway that hangs cannot hold the exit up longer than this.
R.GRACE = 2

-- Transactions that must not run twice for one call: each goes on a new connection, so
-- libcurl never re-sends it after a reset (core.request's `idempotent = false`), and nothing
-- asks them again after a transport failure, since the platform may have acted. reluid is the
-- exception the docs allow: releasing an ID that is already free is rc 0, so the pool asks it
-- again itself.
R.NOT_IDEMPOTENT = { getuid = true, login = true, reluid = true, logout = true, warmpool = true,
  flushpool = true, resetpool = true }

-- Reads: asking again gives the same answer and changes nothing (getdata asks for absolute
-- rows), so every transient failure is asked again, up to the `retries` option.
R.READS = { getdata = true, query = true, querydata = true, tabinfo = true, dir = true, samstatus = true }

-- getuid answers that no retry can change: bad credentials, not the group's owner, no such group.
local RC = errors.RC
local FATAL_GETUID = { [RC.INVALID_USER] = true, [RC.NOT_OWNER] = true, [RC.BAD_ADDRESS] = true }

-- A transport failure that a new ask may not meet: no connection, a stall or timeout, a reply
-- cut off or not XML, an HTTP status that says "later" (5xx, 408, 429).
function R.transport_transient(err)
  local c = err.code
  if c == errors.E_CONNECT or c == errors.E_TIMEOUT or c == errors.E_XML then return true end
  if c == errors.E_HTTP then
    local status = tonumber(tostring(err.msg):match("HTTP (%d+)"))
    return status == nil or status >= 500 or status == 408 or status == 429
  end
  return false
end

-- "busy", "transient" or nil for an error object of transaction `api`.
function R.kind(api, err)
  if type(err) ~= "table" then return nil end
  local c = err.code
  if type(c) ~= "number" then return nil end
  if api == "getuid" then
    -- The poller asks for every waiter: only an answer no retry can change fails them at once.
    if c == RC.POOL_BUSY then return "busy" end
    if c > 0 then return not FATAL_GETUID[c] and "transient" or nil end
    return R.transport_transient(err) and "transient" or nil
  elseif api == "login" then
    -- a login may have started (or ended) a session: only the platform's "not now" is asked again
    return (c == RC.THROTTLED or c == RC.UNAVAILABLE) and "transient" or nil
  elseif api == "reluid" or R.READS[api] then
    if c == RC.UNAVAILABLE or c == RC.THROTTLED then return "transient" end
    return R.transport_transient(err) and "transient" or nil
  end
  return nil
end

-- The back-off before retry number n (1 for the first retry): full jitter, so many clients
-- throttled at once do not come back together.
function R.delay(n, backoff)
  local base = backoff and backoff.base or R.BASE
  local cap = backoff and backoff.cap or R.CAP
  return math.random() * math.min(cap, base * 2 ^ (n - 1))
end

-- The pause before the n-th ask again after an answer of `kind`: `wait` seconds while the pool
-- is busy, the back-off otherwise.
function R.pause(kind, n, wait, backoff)
  if kind == "busy" then return wait end
  return R.delay(n, backoff)
end

-- Check and normalise a `backoff` option: { base, cap } or { base =, cap = }, seconds.
function R.backoff(v, fname, level)
  if v == nil then return nil end
  if type(v) ~= "table" then errors.arg(fname, "backoff", "{base, cap} in seconds", v, (level or 2) + 1) end
  local base, cap = v.base or v[1] or R.BASE, v.cap or v[2] or R.CAP
  if type(base) ~= "number" or type(cap) ~= "number" or base < 0 or cap < base then
    errors.arg(fname, "backoff", "{base, cap} with 0 <= base <= cap", v, (level or 2) + 1)
  end
  return { base = base, cap = cap }
end

-- Check a `retries` option: a whole number >= 0, or nil.
function R.retries(v, fname, level)
  if v == nil then return nil end
  if type(v) ~= "number" or v < 0 or v ~= math.floor(v) then
    errors.arg(fname, "retries", "a whole number >= 0", v, (level or 2) + 1)
  end
  return v
end

-- Limits for one call: { attempts, deadline (a tenten.now() time or nil), backoff }, from the
-- options a session or pool was given (retry, acquire_timeout, backoff).
function R.limits(opts, started)
  local timeout = opts.acquire_timeout
  return {
    attempts = opts.retry or R.ATTEMPTS,
    deadline = timeout and (started or core.now()) + timeout or nil,
    backoff = opts.backoff,
  }
end

-- Limits for a read on connection settings `conn` (api.conn): `retries` asks again.
function R.read_limits(conn)
  return { attempts = (conn.retries or R.RETRIES) + 1, backoff = conn.backoff }
end

-- Run fn() -> reply | nil, err for transaction `api`, asking again while the answer is
-- transient and the limits allow. Returns fn's last results: the reply, or nil and the last
-- error (with its own code: a caller sees the 45 or 41 that made it give up). After a signal
-- nothing is asked again.
function R.run(api, limits, fn)
  local n = 0
  while true do
    local reply, err, extra = fn()
    if reply then return reply, err, extra end
    n = n + 1
    if R.kind(api, err) ~= "transient" or n >= (limits.attempts or R.ATTEMPTS) or core.interrupted() > 0 then
      return nil, err, extra
    end
    local pause = R.delay(n, limits.backoff)
    if limits.deadline then
      local left = limits.deadline - core.now()
      if left <= 0 then return nil, err, extra end
      pause = math.min(pause, left)
    end
    if limits.on_retry then limits.on_retry(err, n) end
    sched.sleep(pause)
  end
end

return R
