-- Error objects of the tenten module. Platform failures carry the platform's rc as `code`;
-- transport failures carry a negative code (see docs/api.md). Misuse raises a plain message.
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

-- Transport and client-side codes, beside the platform's positive rc values.
M.E_CONNECT = -1
M.E_TIMEOUT = -2
M.E_HTTP = -3
M.E_XML = -4
M.E_CANCELLED = -5
M.E_TLS = -6
M.E_NOMEM = -7
M.E_CLOSED = -10      -- a closed session or query was used
M.E_POOL_TIMEOUT = -11 -- no pool ID within acquire_timeout or retry attempts
M.E_IO = -12           -- a local file could not be written or renamed
M.E_SHORT = -13        -- the platform sent fewer rows than the query's reply promised
M.E_INTERRUPTED = -130 -- SIGINT or SIGTERM

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
