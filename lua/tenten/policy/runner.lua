-- The policy runner: every tick it reads the pool status (samstatus) and the watched tables
-- (tabinfo), asks the policy, carries the actions out with warmpool and flushpool, and logs
-- each decision with its reason. It outlives a gateway that goes away (it backs off and
-- resumes) and stops cleanly on SIGINT/SIGTERM. docs/policies.md describes it for users.
local core = require "tenten.core"
local errors = require "tenten.errors"
local policy = require "tenten.policy"
local session = require "tenten.session"
local tenten = require "tenten"

local R = {}
local fmt = string.format
local RC = errors.RC

R.USAGE = [==[
usage: tt-policy POLICY.lua [--once] [--dry-run [--at TIME]] [--log FILE]
   or: tt-lua -e 'require "tenten.policy".main(arg)' POLICY.lua [options]
  --once      run one tick, carry its actions out, and exit (0, or 1 when it failed)
  --dry-run   run one tick and log the actions it would take, without taking them
  --at TIME   with --dry-run: decide as if the clock read TIME (YYYY-MM-DDTHH:MM, local time)
  --log FILE  append the log to FILE (else standard error; --once and --dry-run: standard output)
]==]

local function text(e)
  return tostring(e)
end

local function timeout_error(what, seconds, uid)
  return errors.new(errors.E_TIMEOUT, fmt("no answer within %g s", seconds), what, uid)
end

-- Run fn(...) as a task of its own and wait at most `seconds` for it: the pool commands have no
-- timeout of their own, and a gateway that accepts connections but never answers must not
-- stall the runner for good.
local function bounded(seconds, what, uid, fn, ...)
  local task = tenten.spawn(fn, ...)
  local ok, res = task:wait(seconds)
  if ok then return res end
  if task:cancel() then error(timeout_error(what, seconds, uid), 0) end -- still running: it timed out
  error(res, 0)
end

-- The log: one line per decision, to standard error (a service manager collects it), to a
-- file, and, for the one-shot modes, to standard output where the person running them looks.
local function open_log(p, opts)
  local sinks, file = {}, nil
  local path = opts.log or p.log
  if path then
    local err
    file, err = io.open(path, "a")
    if not file then error("cannot open the log: " .. tostring(err), 0) end
    sinks[#sinks + 1] = file
  end
  if opts.once or opts.dry_run then
    sinks[#sinks + 1] = io.stdout
  elseif not file then
    sinks[#sinks + 1] = io.stderr
  end
  local function log(msg)
    local line = os.date("%Y-%m-%dT%H:%M:%S%z") .. " " .. p.name .. ": " .. msg .. "\n"
    for _, f in ipairs(sinks) do
      f:write(line)
      f:flush()
    end
  end
  return log, file
end

-- A single-user session for tabinfo: group = false, because a pool session (which TT_GROUP,
-- the usual way to give a policy its pool, would otherwise make) ties up a member ID and,
-- possessing a warm one, sees its old snapshot. kill=yes also ends a session left over on the
-- ID; the login is asked once (retry = 1), the runner backing off on its own; closing logs out,
-- so no session is left on the ID between ticks (after a signal, within retry.GRACE).
local function watch_session(p)
  return tenten.session {
    gateway = p.gateway, user = p.watch_user, password = p.watch_password, group = false,
    mode = tenten.KILL, timeout = { p.timeout, p.timeout }, retry = 1,
  }
end

-- The watched tables as a fresh session sees them. A session sees every table as of its
-- login, so only a new login shows a new version: each tick logs in with kill=yes (which also
-- ends a session left over on that ID) and logs out at the end.
local function read_tables(p)
  local out = { tables = {}, problems = {} }
  if #p.watch == 0 then return out end
  local s = watch_session(p)
  -- a failed logout changes nothing (the next login kills whatever is left): never raise it
  local _logout <close> = setmetatable({}, { __close = function() pcall(s.close, s) end }) -- luacheck: ignore 211
  for _, name in ipairs(p.watch) do
    local ok, info = pcall(session.tabinfo, s, name)
    if ok then
      out.tables[name] = {
        version = info.version, loaded = info.loaded, loaded_unix = info.loaded_unix, nrows = info.nrows,
      }
    elseif tenten.is_error(info) and (info.code == RC.BAD_TABLE_NAME or info.code == RC.NO_SUCH_TABLE) then
      out.problems[name] = info.msg -- this table only: the others are still worth watching
    else
      error(info, 0)
    end
  end
  return out
end

local function samstatus(p)
  return bounded(p.timeout, "samstatus", p.owner, tenten.samstatus, p.gateway, p.owner, p.password, p.group)
end

local function base_queries(list)
  if not list or #list == 0 then return nil end
  local out = {}
  for i, q in ipairs(list) do out[i] = tenten.BaseQuery(q.table, q.ops) end
  return out
end

-- Carry the decisions out in order. `counts` is the pool as last read; an action makes it
-- stale, and the next warm reads it again, so that "warm N" after a flush sees the flush.
local function carry_out(ctx, state, decisions)
  local p, dry, log = ctx.p, ctx.opts.dry_run, ctx.log
  local counts = state.pool
  local notes, lines = {}, 0
  local function say(msg)
    lines = lines + 1
    log(msg)
  end
  for _, d in ipairs(decisions) do
    local what = policy.describe(d)
    local why = d.reason and (" (" .. d.reason .. ")") or ""
    if d.kind == "note" then
      if d.reason then notes[#notes + 1] = d.reason end
    elseif d.held then
      say("held " .. what .. why .. ": " .. d.held)
    elseif d.kind == "flush" then
      if dry then
        say(fmt("would %s%s: %d warm sessions would end, %d busy IDs would be marked", what, why, counts.warm,
          counts.busy))
        counts.cold, counts.warm = counts.cold + counts.warm, 0
        counts.marked, counts.busy = counts.marked + counts.busy, 0
      else
        bounded(p.timeout, "flushpool", p.owner, tenten.flushpool, p.gateway, p.owner, p.password, p.group)
        -- Sessions started from now on see the tables as read this tick.
        ctx.synced = policy.copy(state.tables)
        ctx.last_action = { at = state.now, kind = "flush", reason = d.reason }
        say(what .. why .. ": done")
        counts = nil
      end
    else
      if not counts then counts = policy.pool_counts(samstatus(p)) end
      local want = d.count == true and counts.size or d.count
      if counts.warm >= want then
        say(fmt("skip %s%s: %d already warm", what, why, counts.warm))
      elseif counts.cold == 0 then
        say(fmt("skip %s%s: no COLD ID to warm (%s)", what, why, policy.pool_label(counts)))
      elseif dry then
        say(fmt("would %s%s: warmpool would warm the %d COLD IDs", what, why, counts.cold))
        counts.warm, counts.cold = counts.warm + counts.cold, 0
      else
        local n = bounded(p.timeout, "warmpool", p.owner, tenten.warmpool, p.gateway, p.owner, p.password, p.group,
          base_queries(d.queries))
        ctx.last_action = { at = state.now, kind = "warm", reason = d.reason }
        say(fmt("%s%s: warmpool warmed %d IDs", what, why, n))
        counts = nil
      end
    end
  end
  if lines == 0 then
    say("nothing" .. (#notes > 0 and (" (" .. table.concat(notes, "; ") .. ")") or ""))
  end
end

-- One look at the pool and one decision.
local function tick(ctx)
  local p, opts = ctx.p, ctx.opts
  ctx.ticks = ctx.ticks + 1
  local now = opts.at or os.time()
  local pool = policy.pool_counts(samstatus(p))
  if ctx.down then
    ctx.log(fmt("gateway reachable again after %d failed attempt%s", ctx.failures, ctx.failures == 1 and "" or "s"))
    ctx.down = false
  end
  local read = bounded(p.timeout, "tabinfo", p.watch_user, read_tables, p)
  for name, msg in pairs(read.problems) do
    if ctx.problems[name] ~= msg then ctx.log(fmt("cannot read table %s: %s", name, msg)) end
  end
  for name in pairs(ctx.problems) do
    if not read.problems[name] then ctx.log(fmt("table %s can be read again", name)) end
  end
  ctx.problems = read.problems
  -- The first look is the baseline: the runner cannot know which versions the sessions that
  -- are already warm started with, so it takes them to be the current ones.
  if not ctx.synced then ctx.synced = policy.copy(read.tables) end
  local state = {
    now = now, clock = os.date("*t", now), pool = pool, tables = read.tables,
    synced = policy.copy(ctx.synced), last_action = policy.copy(ctx.last_action), tick = ctx.ticks,
    dry_run = opts.dry_run == true,
  }
  -- The rules get a copy: what they do to it must not change what the runner carries out.
  local ok, decisions = pcall(policy.evaluate, p, policy.copy(state))
  if not ok then error("policy error: " .. text(decisions), 0) end
  carry_out(ctx, state, decisions)
end

local function transport(err)
  return tenten.is_error(err) and err.code < 0
end

local function need(p, key, env)
  if type(p[key]) ~= "string" or p[key] == "" then
    error(fmt("%s: no %s: set '%s' in the policy or %s in the environment", p.name, key, key, env), 0)
  end
end

-- Check a policy for running: the connection settings must be there.
function R.prepare(p, source)
  if type(p) == "string" then
    p = policy.load(p)
  elseif not (type(p) == "table" and p.rule_names) then
    p = policy.check(p, source or "policy")
  end
  need(p, "gateway", "TT_GATEWAY")
  need(p, "owner", "TT_USER")
  need(p, "password", "TT_PASSWORD")
  need(p, "group", "TT_GROUP")
  return p
end

-- Run a policy (a path, a policy table or a checked policy). opts: once, dry_run (one tick,
-- nothing carried out), at (a Unix time for the clock, dry_run only), log (a path). Loops for
-- good unless once or dry_run; then returns whether the tick succeeded.
function R.run(p, opts)
  opts = opts or {}
  p = R.prepare(p)
  local log, file = open_log(p, opts)
  local ctx = { p = p, opts = opts, log = log, ticks = 0, problems = {} }
  if opts.once or opts.dry_run then
    local ok, err = pcall(tick, ctx)
    if not ok then
      log((transport(err) and "gateway unreachable: " or "tick failed: ") .. text(err))
    end
    if file then file:close() end
    return ok
  end
  local rules = table.concat(p.rule_names, ", ")
  if p.decide then rules = rules == "" and "decide" or (rules .. ", decide") end
  log(fmt("started: pool %s at %s, every %g s%s, rules: %s%s", p.group, p.gateway, p.every,
    p.min_interval > 0 and fmt(", min_interval %g s", p.min_interval) or "", rules,
    #p.watch > 0 and (", watching " .. table.concat(p.watch, ", ")) or ""))
  -- Runs however the loop ends: a signal cancels this task, which closes it.
  local _stop <close> = setmetatable({}, { __close = function(_, err) -- luacheck: ignore 211
    if core.interrupted() > 0 then
      log("stopped by a signal")
    else
      log("stopped" .. (err ~= nil and (": " .. text(err)) or ""))
    end
    if file then file:close() end
  end })
  ctx.failures, ctx.down = 0, false
  while true do
    local started = tenten.now()
    local ok, err = pcall(tick, ctx)
    local delay
    if ok then
      ctx.failures, ctx.down = 0, false
      delay = p.every - (tenten.now() - started)
    else
      ctx.failures = ctx.failures + 1
      if transport(err) then
        -- Back off from 1 s, doubling, up to the tick interval: a gateway being restarted is
        -- found again quickly, one that stays away costs one attempt per tick.
        ctx.down = true
        delay = math.min(p.every, 2 ^ (ctx.failures - 1))
        log(fmt("gateway unreachable: %s; retrying in %g s", text(err), delay))
      else
        -- A refusal (bad password, not the owner) or a policy error: trying again sooner would
        -- not help, and repeated bad logins may lock an ID.
        delay = p.every
        log(fmt("tick failed: %s; next try in %g s", text(err), delay))
      end
    end
    if delay > 0 then tenten.sleep(delay) end
  end
end

-- YYYY-MM-DDTHH:MM[:SS] (or with a space) in local time -> Unix time.
function R.parse_time(s)
  local y, mo, d, h, mi, sec = tostring(s):match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ](%d%d):(%d%d):?(%d*)$")
  if not y then return nil end
  return os.time {
    year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = tonumber(h), min = tonumber(mi),
    sec = tonumber(sec) or 0, isdst = nil,
  }
end

-- The command line: a list of arguments, or Lua's `arg` table, whose arg[0] is the script
-- (the policy file) when there is one (then arg[-1] is set too).
function R.parse(argv)
  local list = {}
  if type(argv) == "table" then
    -- Lua's arg without a script holds the interpreter's own options in arg[1..]: none of ours.
    local first = argv[0] == nil and 1 or (argv[-1] ~= nil and 0 or nil)
    for i = first or #argv + 1, #argv do list[#list + 1] = argv[i] end
  end
  local opts, rest = {}, false
  local i = 1
  local function value(name, inline)
    if inline then return inline end
    i = i + 1
    if list[i] == nil then error(name .. " needs a value", 0) end
    return list[i]
  end
  while i <= #list do
    local a = list[i]
    local name, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    name = name or a
    if rest or a == "-" or a:sub(1, 1) ~= "-" then
      if opts.path then error("one policy file only (got " .. opts.path .. " and " .. a .. ")", 0) end
      opts.path = a
    elseif a == "--" then
      rest = true
    elseif name == "--once" and not inline then
      opts.once = true
    elseif name == "--dry-run" and not inline then
      opts.dry_run = true
    elseif name == "--log" then
      opts.log = value(name, inline)
    elseif name == "--at" then
      local v = value(name, inline)
      opts.at = R.parse_time(v)
      if not opts.at then error("--at wants YYYY-MM-DDTHH:MM (got " .. v .. ")", 0) end
    elseif name == "--help" or name == "-h" then
      opts.help = true
    else
      error("unknown option " .. a, 0)
    end
    i = i + 1
  end
  if opts.help then return opts end
  if not opts.path then error("no policy file", 0) end
  if opts.at and not opts.dry_run then error("--at goes with --dry-run", 0) end
  return opts
end

-- The command: returns the exit status (0 ok, 1 the tick failed, 2 usage or a bad policy,
-- 130 SIGINT/SIGTERM).
function R.command(argv)
  local okp, opts = pcall(R.parse, argv)
  if not okp then
    io.stderr:write("tt-policy: ", text(opts), "\n", R.USAGE)
    return 2
  end
  if opts.help then
    io.stdout:write(R.USAGE)
    return 0
  end
  local ok, p = pcall(R.prepare, opts.path)
  if not ok then
    io.stderr:write("tt-policy: ", text(p), "\n")
    return 2
  end
  -- tt-lua catches the signals for its main chunk only; -e code and the stock lua need this.
  core.catch_signals()
  local res
  ok, res = pcall(tenten.run, R.run, p, opts)
  if core.interrupted() > 0 then return 130 end
  if not ok then
    io.stderr:write("tt-policy: ", text(res), "\n")
    return 1
  end
  return res and 0 or 1
end

function R.main(argv)
  io.stdout:flush()
  -- close the state as tt-lua does when a script ends, so that every finalizer runs
  os.exit(R.command(argv or _G.arg), true)
end

return R
