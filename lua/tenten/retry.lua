-- The client's one retry policy: which answers are worth asking again, how long to wait
-- between asks, and how many asks a call may make. Every retry in the module goes through
-- here, so the table in docs/api.md ("Retries") describes all of them.
--
-- Two kinds of answer are retried:
--   "busy"      rc 38 on getuid: the pool has no free ID. Asked again every `wait` seconds
--               (py1010's fixed interval), by the pool's one poller.
--   "transient" rc 45 (login throttling) and rc 41 (platform unavailable) on login and
--               getuid: asked again after a capped exponential back-off with full jitter.
-- Anything else fails at once.
local core = require "tenten.core"
local errors = require "tenten.errors"
local sched = require "tenten.sched"

local R = {}

-- Back-off defaults, in seconds: the n-th retry waits a random time in [0, min(cap, base*2^(n-1))).
R.BASE, R.CAP = 0.5, 30
-- Attempts (the first ask included) when the caller gives no `retry`: the public C# client of
-- the platform gives up on login throttling after 10.
R.ATTEMPTS = 10

-- Per transaction, rc -> kind. A transaction not listed has nothing retried.
R.RETRIED = {
  login = { [45] = "transient", [41] = "transient" },
  getuid = { [38] = "busy", [45] = "transient", [41] = "transient" },
}

-- "busy", "transient" or nil for an error object of transaction `api`.
function R.kind(api, err)
  local t = R.RETRIED[api]
  return t and err and t[err.code] or nil
end

-- The back-off before retry number n (1 for the first retry): full jitter, so many clients
-- throttled at once do not come back together.
function R.delay(n, backoff)
  local base = backoff and backoff.base or R.BASE
  local cap = backoff and backoff.cap or R.CAP
  return math.random() * math.min(cap, base * 2 ^ (n - 1))
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

-- Run fn() -> reply | nil, err for transaction `api`, asking again while the answer is
-- transient and the limits allow. Returns fn's last results: the reply, or nil and the last
-- error (with its own code: a caller sees the 45 or 41 that made it give up).
function R.run(api, limits, fn)
  local n = 0
  while true do
    local reply, err, extra = fn()
    if reply then return reply end
    n = n + 1
    if R.kind(api, err) ~= "transient" or n >= (limits.attempts or R.ATTEMPTS) then return nil, err, extra end
    local pause = R.delay(n, limits.backoff)
    if limits.deadline then
      local left = limits.deadline - core.now()
      if left <= 0 then return nil, err, extra end
      pause = math.min(pause, left)
    end
    sched.sleep(pause)
  end
end

return R
