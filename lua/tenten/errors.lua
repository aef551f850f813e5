-- Error objects of the tenten module. Platform failures carry the platform's rc as `code`;
-- transport failures carry a negative code (see docs/api.md). Misuse raises a plain message.
local core = require "tenten.core"

local M = {}

local Error = {}
Error.__index = Error
Error.__name = "tenten.Error"

-- One line: "tenten: API, uid UID: MSG (code N)", then "; HINT" when the client has one (what
-- to check, for an answer whose text alone does not say).
function Error.__tostring(e)
  local where = {}
  if e.api then where[#where + 1] = e.api end
  if e.uid then where[#where + 1] = "uid " .. e.uid end
  local head = #where > 0 and ("tenten: " .. table.concat(where, ", ") .. ": ") or "tenten: "
  local hint = e.hint and ("; " .. e.hint) or ""
  return head .. tostring(e.msg) .. " (code " .. tostring(e.code) .. ")" .. hint
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

-- The variables that fill in a left-out argument, by the argument's name.
M.ENV = { gateway = "TT_GATEWAY", user = "TT_USER", owner = "TT_USER", password = "TT_PASSWORD", group = "TT_GROUP" }

-- A value for a message: a string quoted and cut (a URL, a mode, a file name), else its type.
-- Userinfo in a URL ("//user:secret@host") loses its password first.
function M.show(v)
  if type(v) ~= "string" then return type(v) end
  local s = v:gsub("^(%a[%w+.-]*://[^/@:]*:)[^/@]*@", "%1***@")
  if #s > 80 then s = s:sub(1, 77) .. "..." end
  return (string.format("%q", s):gsub("\\\n", "\\n"))
end

-- Raise a misuse error naming the function and the argument:
--   "FNAME: argument 'ARG' must be EXPECTED (got TYPE)[: HINT]"
-- more (optional): show = true echoes a string value instead of its type (M.show); env = the
-- TT_* variable that fills the argument in, so a missing one says "set TT_X or pass ARG";
-- hint = text of the caller's own.
function M.arg(fname, argname, expected, got, level, more)
  more = more or {}
  local hint = more.hint
  if got == nil and more.env then hint = "set " .. more.env .. " or pass " .. argname end
  error(string.format("%s: argument '%s' must be %s (got %s)%s", fname, argname, expected,
    more.show and M.show(got) or type(got), hint and (": " .. hint) or ""), (level or 2) + 1)
end

-- The hint for rc 37. The platform answers "You do not own the specified group" both to a
-- group that does not exist and to one the caller does not own (the public docs even show
-- rc 1 with that text), so the hint names both.
function M.group_hint(err, gid)
  if gid and (err.code == M.RC.NOT_OWNER or tostring(err.msg):find("do not own the specified group", 1, true)) then
    err.hint = string.format("group '%s' does not exist or %s does not own it: check TT_GROUP / group",
      gid, tostring(err.uid))
  end
  return err
end

return M
