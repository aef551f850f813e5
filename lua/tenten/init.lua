-- tenten: automate data pulls from the 1010data Insights Platform.
--
-- Sessions, queries and SAM pools with the py1010 semantics, running as tasks (coroutines)
-- on one event loop: every call that waits on the network suspends only its own task.
-- The whole surface is documented in docs/api.md.
local api = require "tenten.api"
local core = require "tenten.core"
local errors = require "tenten.errors"
local pool = require "tenten.pool"
local pull = require "tenten.pull"
local retry = require "tenten.retry"
local sched = require "tenten.sched"
local session = require "tenten.session"

local T = {}

T.VERSION = core.version -- CMake's project(VERSION), compiled into the core
T.POSSESS, T.KILL, T.NOKILL = session.POSSESS, session.KILL, session.NOKILL
T.NA = core.NA
T.Error = errors.Error
T.is_error = errors.is_error
T.RC = errors.RC
for k, v in pairs(errors) do
  if k:match("^E_") then T[k] = v end
end

-- Tasks
T.spawn = sched.spawn
T.sleep = sched.sleep
-- tenten.run: sched.run, then one more ask for every ID whose release failed (the pools' "to
-- release" lists), whether fn succeeded or not. After a signal the interrupt did that already.
function T.run(fn, ...)
  if type(fn) ~= "function" then errors.arg("tenten.run", "fn", "a function", fn, 2) end
  local res = table.pack(pcall(sched.run, fn, ...))
  if core.interrupted() == 0 then session.release_pending() end
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end
T.wait_all = sched.wait_all
T.parallel = sched.parallel

-- os.exit ends the process where it stands, before any run's end: an ID lingering in a pool
-- (pool.lua) would stay taken until the platform's own timers free it. While tenten is
-- loaded, os.exit first gives back every lingering ID and asks once more for those whose
-- release failed, then exits as asked. Nothing is asked after a signal (the interrupt did it).
local exit = os.exit
os.exit = function(...) -- luacheck: ignore 122
  if core.interrupted() == 0 then
    pcall(function()
      for _, p in ipairs(pool.each()) do p:release_lingering() end
      session.release_pending()
    end)
  end
  return exit(...)
end
T.now = core.now

-- tenten.Session(gateway, user, password, mode [, group] [, opts]): py1010's argument order.
-- As in py1010, a group is the fifth argument (or opts.group, py1010's `group=`): without one
-- the session is a single user's, whatever TT_GROUP says.
function T.Session(gateway, user, password, mode, group, opts)
  if type(group) == "table" and opts == nil then group, opts = nil, group end
  if opts ~= nil and type(opts) ~= "table" then errors.arg("tenten.Session", "opts", "a table", opts, 2) end
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.gateway, o.user, o.password, o.mode = gateway, user, password, mode
  if group ~= nil then o.group = group end
  if o.group == nil then o.group = false end
  local s = session.open(o, "tenten.Session") -- not a tail call: misuse names the caller's line
  return s
end

-- tenten.session{ gateway =, user =, password =, mode =, group =, ... }
function T.session(opts)
  if type(opts) ~= "table" then errors.arg("tenten.session", "options", "a table", opts, 2) end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  local s = session.open(o, "tenten.session") -- not a tail call: misuse names the caller's line
  return s
end

-- tenten.pool{ gateway =, owner =, password =, group =, size =, wait =, ... }
function T.pool(opts)
  if type(opts) ~= "table" then errors.arg("tenten.pool", "options", "a table", opts, 2) end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.gateway = o.gateway or os.getenv("TT_GATEWAY")
  o.owner = o.owner or os.getenv("TT_USER")
  o.password = o.password or os.getenv("TT_PASSWORD")
  o.group = o.group or os.getenv("TT_GROUP")
  local p = pool.get(o, "tenten.pool") -- not a tail call: misuse names the caller's line
  return p
end

-- tenten.pull(pool_or_options, jobs [, opts])
function T.pull(p, jobs, opts)
  if getmetatable(p) ~= pool.Pool then
    if type(p) ~= "table" then errors.arg("tenten.pull", "pool", "a pool or pool options", p, 2) end
    p = T.pool(p)
  end
  return pull.pull(p, jobs, opts, "tenten.pull")
end

T.format_summary = pull.format_summary
T.date = require("tenten.dates").date -- a YYYYMMDD (or ISO) value as { year, month, day }

-- A query not tied to a session, for warmpool.
function T.BaseQuery(table_name, ops)
  if type(table_name) ~= "string" then errors.arg("tenten.BaseQuery", "table", "a string", table_name, 2) end
  if ops ~= nil and type(ops) ~= "string" then errors.arg("tenten.BaseQuery", "ops", "a string", ops, 2) end
  return { table = table_name, ops = ops or "" }
end

-- The leading arguments of the pool commands: (url, owner, password, group [, ...]). py1010's
-- `logfile` argument may also be a table of connection options ({ logfile =, log_bodies =,
-- timeout =, ... }, as sessions take them).
local function admin(fname, url, owner, password, group, logfile)
  local o = {}
  if type(logfile) == "table" then
    for k, v in pairs(logfile) do o[k] = v end
  else
    o.logfile = logfile
  end
  o.gateway, o.owner = url or os.getenv("TT_GATEWAY"), owner or os.getenv("TT_USER")
  o.password, o.group = password or os.getenv("TT_PASSWORD"), group or os.getenv("TT_GROUP")
  for _, k in ipairs { "owner", "password", "group" } do
    if type(o[k]) ~= "string" then errors.arg(fname, k, "a string", o[k], 3, { env = errors.ENV[k] }) end
  end
  local conn = api.conn(fname, o)
  return conn, { uid = o.owner, pswd = o.password, gid = o.group }, o
end

-- warmpool: log in every free cold ID; with queries, run them on each warmed ID. Returns how
-- many IDs were warmed.
function T.warmpool(url, owner, password, group, queries, logfile)
  -- the queries may be left out: a path, a file or a table of options in their place is the log
  local options = type(queries) == "table" and queries[1] == nil and next(queries) ~= nil
  if queries ~= nil and (type(queries) ~= "table" or options) then
    if logfile == nil then queries, logfile = nil, queries
    else errors.arg("tenten.warmpool", "queries", "a list of BaseQuery", queries, 2) end
  end
  local conn, params, o = admin("tenten.warmpool", url, owner, password, group, logfile)
  local n = tonumber(api.call(conn, "warmpool", params):field("count")) or 0
  if n == 0 or not queries or #queries == 0 then return n end
  -- After warmpool every free ID is warm: take them all (until the pool says busy), so the
  -- ones just warmed run the queries too, then give every one back, whatever happens.
  local uids = {}
  local _release <close> = setmetatable({}, { __close = function() -- luacheck: ignore 211
    for _, uid in ipairs(uids) do
      pcall(api.try, conn, "reluid", { uid = uid, pswd = o.password, gid = o.group }) -- never raises
    end
  end })
  local limits = retry.limits({})
  while true do
    local reply = retry.run("getuid", limits, function() return api.try(conn, "getuid", params) end)
    if not reply then break end
    uids[#uids + 1] = reply:field("uid")
  end
  local _, errs = sched.parallel(uids, function(uid)
    local login, err = retry.run("login", limits, function()
      return api.try(conn, "login", { uid = uid, pswd = o.password, kill = session.POSSESS })
    end)
    if not login then error(err, 0) end
    local auth = { uid = uid, sid = login:field("sid"), pswd = login:field("pswd") }
    for _, q in ipairs(queries) do
      api.call(conn, "query", auth, session.query_body(q.table, q.ops))
    end
  end)
  if errs then error(errs[1].error, 2) end
  return n
end

function T.flushpool(url, owner, password, group, logfile)
  local conn, params = admin("tenten.flushpool", url, owner, password, group, logfile)
  api.call(conn, "flushpool", params)
  return true
end

function T.resetpool(url, owner, password, group, logfile)
  local conn, params = admin("tenten.resetpool", url, owner, password, group, logfile)
  api.call(conn, "resetpool", params)
  return true
end

-- py1010's spellings of the pool commands. py1010's flushPool takes a sixth argument, `mode`,
-- that its own docs leave undocumented; it is accepted and ignored here.
T.warmPool, T.flushPool, T.resetPool = T.warmpool, T.flushpool, T.resetpool

-- samstatus as a Lua table: { gid, owner, size, free, ids = { { uid, state, loggedin, free,
-- marked, age, handouts, reserved }, ... } }.
function T.samstatus(url, owner, password, group, logfile)
  local conn, params = admin("tenten.samstatus", url, owner, password, group, logfile)
  local tree = api.call(conn, "samstatus", params):tree()
  local out = { ids = {} }
  for _, node in ipairs(tree.children) do
    if node.tag == "samstatus" then
      local a = node.attrs
      out.gid, out.owner, out.size, out.free = a.gid, a.owner, tonumber(a.size), tonumber(a.free)
      for _, id in ipairs(node.children) do
        local x = id.attrs
        out.ids[#out.ids + 1] = {
          uid = x.uid, state = x.state, loggedin = x.loggedin == "1", free = x.free == "1",
          marked = x.marked == "1", age = tonumber(x.age), handouts = tonumber(x.handouts),
          reserved = tonumber(x.reserved),
        }
      end
    end
  end
  return out
end

return T
