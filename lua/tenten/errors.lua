-- Error objects of the tenten module. Platform failures carry the platform's rc as `code`;
-- transport failures carry a negative code (see docs/api.md). Misuse raises a plain message.
local core = require "tenten.core"

local M = {}

local Error = {}
Error.__index = Error
Error.__name = "tenten.Error"

function Error.__tostring(e)
  local where = {}
  if e.api then where[#where + 1] = e.api end
  if e.uid then where[#where + 1] = "uid " .. e.uid end
  local head = #where > 0 and ("tenten: " .. table.concat(where, ", ") .. ": ") or "tenten: "
  return head .. tostring(e.msg) .. " (code " .. tostring(e.code) .. ")"
end

M.Error = Error

-- The codes an exchange or the core can end with come from the core itself (err.h, exported by
-- the binding as core.E_*), so C and Lua never disagree. The client's own codes follow the
-- core's, in this one table; a load-time check keeps the two sets apart.
for k, v in pairs(core) do
  if type(k) == "string" and k:match("^E_") then M[k] = v end
end
local CLIENT = {
  E_CLOSED = -10,       -- a closed session or query was used
  E_POOL_TIMEOUT = -11, -- no pool ID within acquire_timeout or retry attempts
  E_SHORT = -12,        -- the platform sent fewer rows than the query's reply promised
  E_INTERRUPTED = -130, -- SIGINT or SIGTERM (128 + the signal, as a shell reports it)
}
for k, v in pairs(CLIENT) do
  for ck, cv in pairs(M) do
    assert(cv ~= v and ck ~= k, "tenten.errors: client code " .. k .. " collides with core." .. ck)
  end
  M[k] = v
end

-- The platform's return codes (the rc of a reply) that the client acts on, by name. Meanings
-- from the platform's documented table; 45 is seen in public clients (docs/protocol.md).
M.RC = {
  OK = 0,
  FAILED = 1,            -- unclassified error
  INVALID_USER = 4,      -- invalid user id or password
  ALREADY_LOGGED_IN = 5,
  BAD_TABLE_NAME = 16,   -- invalid table name
  NO_SUCH_TABLE = 17,
  NO_QUERY = 21,         -- getdata before any query
  TOO_MANY = 23,         -- a page over the caller's download limits
  NOT_LOGGED_IN = 35,    -- session ended, replaced or made up
  NOT_OWNER = 37,        -- you do not own the group
  POOL_BUSY = 38,        -- system is busy: no free ID in the pool
  BAD_ADDRESS = 39,      -- not at an authorised IP address
  UNAVAILABLE = 41,      -- platform unavailable
  THROTTLED = 45,        -- login throttling
}

function M.new(code, msg, api, uid)
  return setmetatable({ code = code, msg = msg, api = api, uid = uid }, Error)
end

function M.raise(code, msg, api, uid, level)
  error(M.new(code, msg, api, uid), level or 2)
end

function M.is_error(e)
  return getmetatable(e) == Error
end

-- Raise a misuse error naming the function and the argument.
function M.arg(fname, argname, expected, got, level)
  error(string.format("%s: argument '%s' must be %s (got %s)", fname, argname, expected, type(got)),
    (level or 2) + 1)
end

return M
