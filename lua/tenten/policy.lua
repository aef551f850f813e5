-- Pool-warming policies: the policy file format, its building blocks and the decision a policy
-- takes from one look at the pool (docs/policies.md).
--
-- Everything here is pure: a rule is a function of a state table (the pool status, the watched
-- tables, the clock) that returns actions, so rules can be tested without a gateway. The part
-- that talks to the gateway, loops and logs is tenten.policy.runner, loaded only when a policy
-- runs, so that requiring this module does not load tenten.core.
local M = {}

local floor, fmt = math.floor, string.format

-- os.date's wday numbers (1 = Sunday), by every spelling a policy may use.
local DAY_NAMES = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" }
local DAY_INDEX = {}
for i, d in ipairs(DAY_NAMES) do
  DAY_INDEX[d:lower()] = i
end
for i, d in ipairs { "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday" } do
  DAY_INDEX[d] = i
end
M.DAY_NAMES = DAY_NAMES

local function bad(fname, what, got, level)
  error(fmt("%s: %s (got %s)", fname, what, type(got) == "string" and fmt("%q", got) or tostring(got)),
    (level or 1) + 1)
end

local function is_callable(v)
  if type(v) == "function" then return true end
  local mt = getmetatable(v)
  return type(mt) == "table" and type(mt.__call) == "function"
end
M.is_callable = is_callable

local function copy(t)
  if type(t) ~= "table" then return t end
  local out = {}
  for k, v in pairs(t) do out[k] = copy(v) end
  return out
end
M.copy = copy

---------------------------------------------------------------------------------------------
-- Days and hours

local function day_of(name, fname)
  if type(name) == "number" and DAY_NAMES[name] then return name end
  local i = type(name) == "string" and DAY_INDEX[name:lower():match("^%s*(.-)%s*$")]
  if not i then bad(fname, "a day must be Mon, Tue, ... Sun (or the full name)", name, 3) end
  return i
end

-- days: nil (every day), a list of day names, or a string of names and ranges such as
-- "Mon-Fri" or "Mon-Wed,Sat". A range may wrap ("Fri-Mon"). Returns a set of wday numbers.
function M.parse_days(spec, fname)
  fname = fname or "days"
  local set = {}
  if spec == nil then
    for i = 1, 7 do set[i] = true end
    return set
  end
  local items = {}
  if type(spec) == "string" then
    for part in spec:gmatch("[^,]+") do items[#items + 1] = part end
  elseif type(spec) == "table" then
    for i, v in ipairs(spec) do items[i] = v end
  else
    bad(fname, "days must be a list of day names or a string such as \"Mon-Fri\"", spec, 2)
  end
  if #items == 0 then bad(fname, "days must name at least one day", spec, 2) end
  for _, item in ipairs(items) do
    local a, b
    if type(item) == "string" then a, b = item:match("^%s*(%a+)%s*%-%s*(%a+)%s*$") end
    if a then
      local i, j = day_of(a, fname), day_of(b, fname)
      while true do
        set[i] = true
        if i == j then break end
        i = i % 7 + 1
      end
    else
      set[day_of(item, fname)] = true
    end
  end
  return set
end

-- "Mon-Fri", "Mon,Wed,Sat", "every day": runs of consecutive days, Monday first.
function M.days_label(set)
  local order = { 2, 3, 4, 5, 6, 7, 1 }
  local n = 0
  for _ in pairs(set) do n = n + 1 end
  if n == 7 then return "every day" end
  local parts, k = {}, 1
  while k <= 7 do
    if set[order[k]] then
      local j = k
      while j < 7 and set[order[j + 1]] do j = j + 1 end
      local a, b = DAY_NAMES[order[k]], DAY_NAMES[order[j]]
      parts[#parts + 1] = j == k and a or (j == k + 1 and (a .. "," .. b) or (a .. "-" .. b))
      k = j + 1
    else
      k = k + 1
    end
  end
  return table.concat(parts, ",")
end

-- A time of day in minutes: a number of hours (8, 17.5) or "HH:MM".
local function minutes_of(v, fname)
  local m
  if type(v) == "number" then
    m = v * 60
  elseif type(v) == "string" then
    local h, mi = v:match("^%s*(%d%d?):(%d%d)%s*$")
    if h and tonumber(mi) < 60 then m = tonumber(h) * 60 + tonumber(mi) end
  end
  if not m or m ~= floor(m) or m < 0 or m > 24 * 60 then
    bad(fname, "an hour must be a number of hours 0-24 or \"HH:MM\"", v, 3)
  end
  return floor(m)
end

-- hours: nil (all day) or { from, to }: from inclusive, to exclusive. from > to is a window
-- that runs past midnight ({ 22, 6 }). Returns from and to in minutes of the day.
function M.parse_hours(spec, fname)
  fname = fname or "hours"
  if spec == nil then return 0, 24 * 60 end
  if type(spec) ~= "table" or spec[1] == nil or spec[2] == nil then
    bad(fname, "hours must be { from, to }, e.g. { 8, 18 } or { \"08:30\", \"17:00\" }", spec, 2)
  end
  local from, to = minutes_of(spec[1], fname), minutes_of(spec[2], fname)
  if from == to then bad(fname, "hours must not start and end at the same time", spec[2], 2) end
  if from == 24 * 60 then bad(fname, "hours must start before 24:00", spec[1], 2) end
  return from, to
end

function M.hours_label(from, to)
  if from == 0 and to == 24 * 60 then return "all day" end
  return fmt("%02d:%02d-%02d:%02d", from // 60, from % 60, to // 60, to % 60)
end

-- Whether clock (os.date("*t")) falls in the window. A window past midnight belongs to the day
-- it starts on: with Fri and { 22, 6 }, Saturday 02:00 is in, Friday 02:00 is not.
function M.in_window(clock, days, from, to)
  local m = clock.hour * 60 + clock.min
  if from < to then
    return days[clock.wday] == true and m >= from and m < to
  end
  if m >= from then return days[clock.wday] == true end
  if m < to then return days[(clock.wday + 5) % 7 + 1] == true end -- yesterday's window
  return false
end

---------------------------------------------------------------------------------------------
-- The pool and the tables as a rule sees them

local STATES = { "WARM", "COLD", "BUSY", "MARKED", "RESERVED" }

-- A samstatus table with counts per state added: warm, cold, busy, marked, reserved.
function M.pool_counts(status)
  local p = copy(status) or {}
  p.ids = p.ids or {}
  for _, s in ipairs(STATES) do p[s:lower()] = 0 end
  for _, id in ipairs(p.ids) do
    local k = type(id.state) == "string" and id.state:lower()
    if k and p[k] then p[k] = p[k] + 1 end
  end
  p.size = p.size or #p.ids
  return p
end

function M.pool_label(p)
  return fmt("%d warm, %d cold, %d busy", p.warm or 0, p.cold or 0, (p.busy or 0) + (p.marked or 0))
end

-- Whether a table has a version other than the one the pool was last brought up to date with.
-- A table that cannot be read now tells nothing; one that appeared since is new.
function M.table_changed(now, synced)
  if now == nil then return false end
  if synced == nil then return true end
  if now.version ~= nil and synced.version ~= nil then return now.version ~= synced.version end
  return now.loaded_unix ~= synced.loaded_unix
end

-- "pub.x version 4 -> 7, loaded 2024-05-06T09:00:02Z"
local function change_label(name, now, synced)
  local v
  if now.version ~= nil then
    v = fmt("%s version %s -> %s", name, synced and synced.version ~= nil and tostring(synced.version) or "none",
      tostring(now.version))
  else
    v = name
  end
  return now.loaded and (v .. ", loaded " .. now.loaded) or v
end

---------------------------------------------------------------------------------------------
-- Actions and decisions
--
-- A rule returns nil, one action or a list of actions. An action is
--   { warm = N or true, queries = { BaseQuery, ... }, reason = "..." }   at least N IDs warm
--   { flush = true, reason = "..." }                                       end the warm sessions
--   { flush = true, warm = N, ... }                                        both, flush first
--   { reason = "..." }                                                     nothing, and why
-- They become decisions: { kind = "warm" | "flush" | "note", count, queries, reason, rule,
-- held }, `held` saying why an action must wait (min_interval).

local function check_queries(qs, where)
  if qs == nil then return nil end
  if type(qs) ~= "table" then bad(where, "queries must be a list of tenten.BaseQuery(table, ops)", qs, 4) end
  local out = {}
  for i, q in ipairs(qs) do
    if type(q) == "string" then
      out[i] = { table = q, ops = "" }
    elseif type(q) == "table" and type(q.table) == "string" and (q.ops == nil or type(q.ops) == "string") then
      out[i] = { table = q.table, ops = q.ops or "" }
    else
      bad(where, fmt("queries[%d] must be tenten.BaseQuery(table, ops) or a table name", i), q, 4)
    end
  end
  return out
end

local function check_count(n, where, key)
  if n == true then return true end
  if type(n) ~= "number" or n ~= floor(n) or n < 1 or n == math.huge then
    bad(where, "'" .. key .. "' must be a whole number >= 1 or true (every free ID)", n, 4)
  end
  return floor(n)
end

local KINDS = { warm = true, flush = true, note = true }

local function add_action(out, a, rule)
  local where = "policy: " .. rule
  if type(a) ~= "table" then bad(where, "an action must be a table", a, 3) end
  if a.kind then -- already a decision (from a wrapped rule)
    if not KINDS[a.kind] then bad(where, "unknown decision kind", a.kind, 3) end
    out[#out + 1] = a
    return
  end
  local reason = a.reason
  if reason ~= nil and type(reason) ~= "string" then bad(where, "'reason' must be a string", reason, 3) end
  for k in pairs(a) do
    if k ~= "warm" and k ~= "flush" and k ~= "queries" and k ~= "reason" then
      bad(where, "an action has warm, flush, queries and reason only; unknown key", k, 3)
    end
  end
  if a.flush ~= nil and a.flush ~= true and a.flush ~= false then
    bad(where, "'flush' must be true", a.flush, 3)
  end
  if a.flush then out[#out + 1] = { kind = "flush", reason = reason or rule, rule = rule } end
  if a.warm ~= nil and a.warm ~= false then
    out[#out + 1] = {
      kind = "warm", count = check_count(a.warm, where, "warm"), queries = check_queries(a.queries, where),
      reason = reason or rule, rule = rule,
    }
  elseif a.queries ~= nil then
    bad(where, "'queries' goes with 'warm'", a.queries, 3)
  end
  if not a.flush and (a.warm == nil or a.warm == false) then
    out[#out + 1] = { kind = "note", reason = reason, rule = rule }
  end
end

-- What a rule returned, as a list of decisions.
function M.normalize(result, rule)
  rule = rule or "decide"
  local out = {}
  if result == nil then return out end
  if type(result) ~= "table" then
    bad("policy: " .. rule, "a rule must return nil, an action or a list of actions", result, 2)
  end
  if result[1] ~= nil then
    for _, a in ipairs(result) do add_action(out, a, rule) end
  elseif next(result) ~= nil then
    add_action(out, result, rule)
  end
  return out
end

-- Mark the actions among decisions as held when the last action is younger than `seconds`.
local function hold(decisions, state, seconds)
  local last = state.last_action
  if not last or not last.at or seconds <= 0 then return decisions end
  local age = (state.now or 0) - last.at
  if age >= seconds then return decisions end
  local why = fmt("min_interval %g s: last action (%s) %d s ago, next possible in %d s", seconds,
    last.kind or "?", floor(age), math.ceil(seconds - age))
  for _, d in ipairs(decisions) do
    if d.kind ~= "note" and not d.held then d.held = why end
  end
  return decisions
end

---------------------------------------------------------------------------------------------
-- Building blocks. Each returns a rule: a callable table with a `name` and the tables it
-- needs watched, so the runner reads them without the policy listing them twice.

local Rule = {}
Rule.__index = Rule
Rule.__name = "tenten.policy.rule"
Rule.__call = function(self, state) return self.fn(state) end

local function rule(name, watch, fn)
  return setmetatable({ name = name, watch = watch or {}, fn = fn }, Rule)
end

local function opts_of(fname, opts, allowed)
  if type(opts) ~= "table" then bad(fname, "options must be a table", opts, 3) end
  for k in pairs(opts) do
    if not allowed[k] then bad(fname, "unknown option", k, 3) end
  end
  return opts
end

-- keep_warm{ count = K, days = "Mon-Fri", hours = { 8, 18 }, queries = {...} }: during the
-- window, make sure at least K IDs are WARM; outside it, do nothing (the gateway's idle
-- timeout cools them).
function M.keep_warm(opts)
  local fname = "policy.keep_warm"
  opts = opts_of(fname, opts, { count = true, days = true, hours = true, queries = true })
  local count = opts.count
  if math.type(count) ~= "integer" or count < 1 then bad(fname, "'count' must be a whole number >= 1", count) end
  local days = M.parse_days(opts.days, fname)
  local from, to = M.parse_hours(opts.hours, fname)
  local queries = check_queries(opts.queries, fname)
  local label = fmt("keep %d warm", count)
  local dl, hl = M.days_label(days), M.hours_label(from, to)
  if dl ~= "every day" then label = label .. " " .. dl end
  if hl ~= "all day" then label = label .. " " .. hl end
  local r = rule("keep_warm", nil, function(state)
    if not M.in_window(state.clock, days, from, to) then
      return { reason = label .. ": outside the hours" }
    end
    local p = state.pool
    if p.warm >= count then return { reason = fmt("%s: %d warm", label, p.warm) } end
    if p.cold == 0 then
      return { reason = fmt("%s: %s, no COLD ID to warm", label, M.pool_label(p)) }
    end
    return { warm = count, queries = queries, reason = fmt("%s: %s", label, M.pool_label(p)) }
  end)
  r.label, r.count, r.days, r.from, r.to = label, count, days, from, to
  return r
end

-- on_reload{ tables = { ... }, warm = true, queries = {...} }: when any of the tables has a
-- version the pool was not brought up to date with, flush, then warm (true: every free ID;
-- N: at least N; false: flush only).
function M.on_reload(opts)
  local fname = "policy.on_reload"
  opts = opts_of(fname, opts, { tables = true, warm = true, queries = true })
  local tables = opts.tables
  if type(tables) == "string" then tables = { tables } end
  if type(tables) ~= "table" or #tables == 0 then bad(fname, "'tables' must be a list of table names", tables) end
  for i, t in ipairs(tables) do
    if type(t) ~= "string" then bad(fname, fmt("tables[%d] must be a table name", i), t) end
  end
  local warm = opts.warm
  if warm == nil then warm = true end
  if warm ~= false then warm = check_count(warm, fname, "warm") end
  local queries = check_queries(opts.queries, fname)
  if queries and warm == false then bad(fname, "'queries' needs 'warm'", false) end
  local watch = copy(tables)
  local r = rule("on_reload", watch, function(state)
    local changed = {}
    for _, t in ipairs(tables) do
      local now, synced = state.tables[t], state.synced and state.synced[t]
      if M.table_changed(now, synced) then
        changed[#changed + 1] = change_label(t, now, synced)
      end
    end
    if #changed == 0 then
      return { reason = fmt("no new version of %s", #tables == 1 and tables[1] or (#tables .. " tables")) }
    end
    local reason = "new version: " .. table.concat(changed, "; ")
    return { flush = true, warm = warm, queries = queries, reason = reason }
  end)
  r.tables = watch
  return r
end

-- min_interval(seconds, rule): the rule's actions wait until `seconds` have passed since the
-- runner last acted (whichever rule that was for). The runner applies the policy's own
-- `min_interval` to every action the same way.
function M.min_interval(seconds, inner)
  local fname = "policy.min_interval"
  if type(seconds) ~= "number" or seconds < 0 then bad(fname, "seconds must be a number >= 0", seconds) end
  if not is_callable(inner) then bad(fname, "the second argument must be a rule", inner) end
  local name = type(inner) == "table" and inner.name or "rule"
  local watch = type(inner) == "table" and copy(inner.watch) or {}
  return rule(name, watch, function(state)
    return hold(M.normalize(inner(state), name), state, seconds)
  end)
end

---------------------------------------------------------------------------------------------
-- The policy file

local KEYS = {
  name = "string", gateway = "string", owner = "string", password = "string", group = "string",
  watch_user = "string", watch_password = "string", every = "number", min_interval = "number",
  timeout = "number", watch = "table", rules = "table", decide = "function", log = "string",
}

-- Check a policy table and fill in the defaults. Raises a message naming the field.
function M.check(p, source)
  source = source or "policy"
  local function fail(msg, got)
    error(fmt("%s: %s (got %s)", source, msg, type(got) == "string" and fmt("%q", got) or tostring(got)), 0)
  end
  if type(p) ~= "table" then fail("the policy file must return a table", type(p)) end
  for k, v in pairs(p) do
    if type(k) ~= "string" or not KEYS[k] then fail("unknown key", k) end
    if type(v) ~= KEYS[k] then fail(fmt("'%s' must be a %s", k, KEYS[k]), type(v)) end
  end
  local out = {}
  for k, v in pairs(p) do out[k] = v end
  out.name = p.name or (source:match("([^/]+)%.lua$") or source:match("([^/]+)$") or "policy")
  out.gateway = p.gateway or os.getenv("TT_GATEWAY")
  out.owner = p.owner or os.getenv("TT_USER")
  out.password = p.password or os.getenv("TT_PASSWORD")
  out.group = p.group or os.getenv("TT_GROUP")
  if p.watch_user and not p.watch_password then fail("'watch_user' needs 'watch_password'", nil) end
  out.watch_user = p.watch_user or out.owner
  out.watch_password = p.watch_password or out.password
  out.every = p.every or 60
  if out.every <= 0 then fail("'every' must be more than 0 seconds", out.every) end
  out.min_interval = p.min_interval or 0
  if out.min_interval < 0 then fail("'min_interval' must not be negative", out.min_interval) end
  out.timeout = p.timeout or 120
  if out.timeout <= 0 then fail("'timeout' must be more than 0 seconds", out.timeout) end
  if p.rules == nil and p.decide == nil then fail("give 'rules' or 'decide' (or both)", nil) end
  local names, seen, watch = {}, {}, {}
  local function want(t)
    if not seen[t] then
      seen[t] = true
      watch[#watch + 1] = t
    end
  end
  for i, t in ipairs(p.watch or {}) do
    if type(t) ~= "string" then fail(fmt("watch[%d] must be a table name", i), t) end
    want(t)
  end
  for i, r in ipairs(p.rules or {}) do
    if not is_callable(r) then fail(fmt("rules[%d] must be a function or a building block", i), type(r)) end
    local name = type(r) == "table" and r.name or ("rules[" .. i .. "]")
    names[i] = name
    if type(r) == "table" and type(r.watch) == "table" then
      for _, t in ipairs(r.watch) do want(t) end
    end
  end
  if p.rules and #p.rules == 0 and not p.decide then fail("'rules' is empty", nil) end
  out.rule_names = names
  out.watch = watch
  return out
end

-- Load and check a policy file.
function M.load(path)
  if type(path) ~= "string" then error("policy: the path must be a string", 2) end
  local chunk, err = loadfile(path, "t")
  if not chunk then error(err, 0) end
  local ok, p = pcall(chunk)
  if not ok then error(path .. ": " .. tostring(p), 0) end
  return M.check(p, path)
end

-- Every decision of a checked policy for one state: the rules in order, then decide, then the
-- policy's min_interval.
function M.evaluate(p, state)
  local out = {}
  local function add(list)
    for _, d in ipairs(list) do out[#out + 1] = d end
  end
  for i, r in ipairs(p.rules or {}) do
    local name = p.rule_names and p.rule_names[i] or ("rules[" .. i .. "]")
    add(M.normalize(r(state), name))
  end
  if p.decide then add(M.normalize(p.decide(state), "decide")) end
  return hold(out, state, p.min_interval or 0)
end

-- How a decision reads in the log: "warm 3", "warm every free ID", "flush".
function M.describe(d)
  if d.kind == "warm" then
    local what = d.count == true and "warm every free ID" or ("warm " .. d.count)
    if d.queries and #d.queries > 0 then
      what = what .. fmt(" with %d quer%s", #d.queries, #d.queries == 1 and "y" or "ies")
    end
    return what
  end
  return d.kind
end

---------------------------------------------------------------------------------------------
-- Running (tenten.policy.runner; docs/policies.md)

-- main(arg): the command line. Exits the process with the status of the run.
function M.main(argv)
  return require("tenten.policy.runner").main(argv)
end

-- run(policy_or_path, { once =, dry_run =, at =, log = }) -> true when the last tick succeeded.
function M.run(p, opts)
  return require("tenten.policy.runner").run(p, opts)
end

return M
