-- Pool-warming policies (docs/policies.md): the building blocks as pure functions over crafted
-- states, and the runner as a user runs it (scripts/tt-policy, i.e. tt-lua) against a real
-- tt-gateway: --once, --dry-run, a reload seen while it watches, a gateway that goes away and
-- comes back, and SIGTERM.
--
-- This file never loads tenten.core itself (the pure part of tenten.policy does not need it),
-- so it runs under the stock lua5.4 of any build, sanitized ones included.
local gateway = require "gateway"
local policy = require "tenten.policy"

local source = os.getenv("TT_SOURCE_DIR") or "."
local build = os.getenv("TT_BUILD_DIR") or "build"
local q = gateway.q

-- os.date("*t")-like clocks; wday 1 is Sunday. 2024-05-06 was a Monday.
local function clock(wday, hour, min)
  return { year = 2024, month = 5, day = 5 + wday - 1, wday = wday, hour = hour, min = min or 0, sec = 0 }
end
local SUN, MON, FRI, SAT = 1, 2, 6, 7

local function pool(warm, cold, busy)
  local ids = {}
  local function add(n, state)
    for _ = 1, n or 0 do ids[#ids + 1] = { uid = "pool1_" .. #ids, state = state } end
  end
  add(warm, "WARM")
  add(cold, "COLD")
  add(busy, "BUSY")
  return policy.pool_counts { gid = "pool1", size = #ids, ids = ids }
end

local function state(t)
  t.now = t.now or 1714982400
  t.clock = t.clock or clock(MON, 9)
  t.pool = t.pool or pool(0, 4)
  t.tables = t.tables or {}
  t.synced = t.synced or {}
  return t
end

local function kinds(decisions)
  local out = {}
  for i, d in ipairs(decisions) do out[i] = d.kind .. (d.held and "(held)" or "") end
  return table.concat(out, " ")
end

describe("tenten.policy building blocks", function()
  it("loads without tenten.core", function()
    assert.is_nil(package.loaded["tenten.core"])
  end)

  describe("days and hours", function()
    it("reads day names, ranges, wrapping ranges and full names", function()
      local function set(spec)
        local s, out = policy.parse_days(spec), {}
        for i = 1, 7 do if s[i] then out[#out + 1] = policy.DAY_NAMES[i] end end
        return table.concat(out, " ")
      end
      assert.are.equal("Mon Tue Wed Thu Fri", set("Mon-Fri"))
      assert.are.equal("Sun Mon Fri Sat", set("Fri-Mon"))
      assert.are.equal("Mon Wed Sat", set { "monday", "WED", "Sat" })
      assert.are.equal("Sun Mon Tue Wed Sat", set("Mon-Wed, Sat-Sun"))
      assert.are.equal("Sun Mon Tue Wed Thu Fri Sat", set(nil))
      assert.are.equal("Mon-Fri", policy.days_label(policy.parse_days("Mon-Fri")))
      assert.are.equal("Mon-Wed,Sat,Sun", policy.days_label(policy.parse_days("Sat-Wed")))
      assert.are.equal("every day", policy.days_label(policy.parse_days(nil)))
      assert.has_error(function() policy.parse_days("Mon-Fry") end)
      assert.has_error(function() policy.parse_days({}) end)
      assert.has_error(function() policy.parse_days(5) end)
    end)

    it("reads hours as numbers or HH:MM and refuses nonsense", function()
      assert.are.same({ 480, 1080 }, { policy.parse_hours { 8, 18 } })
      assert.are.same({ 510, 1440 }, { policy.parse_hours { "08:30", 24 } })
      assert.are.same({ 1320, 360 }, { policy.parse_hours { 22, "6:00" } })
      assert.are.same({ 0, 1440 }, { policy.parse_hours(nil) })
      assert.has_error(function() policy.parse_hours { 8, 8 } end)
      assert.has_error(function() policy.parse_hours { 8, 25 } end)
      assert.has_error(function() policy.parse_hours { "8h", 18 } end)
      assert.has_error(function() policy.parse_hours { "08:60", 18 } end)
      assert.has_error(function() policy.parse_hours { 8 } end)
      assert.has_error(function() policy.parse_hours { 24, 6 } end)
    end)

    it("puts the window's edges where they belong: from in, to out", function()
      local days = policy.parse_days("Mon-Fri")
      local from, to = policy.parse_hours { 8, 18 }
      assert.is_false(policy.in_window(clock(MON, 7, 59), days, from, to))
      assert.is_true(policy.in_window(clock(MON, 8, 0), days, from, to))
      assert.is_true(policy.in_window(clock(FRI, 17, 59), days, from, to))
      assert.is_false(policy.in_window(clock(FRI, 18, 0), days, from, to))
      assert.is_false(policy.in_window(clock(SAT, 12, 0), days, from, to))
      assert.is_false(policy.in_window(clock(SUN, 12, 0), days, from, to))
    end)

    it("gives a window past midnight to the day it starts on", function()
      local days = policy.parse_days("Fri")
      local from, to = policy.parse_hours { 22, 6 }
      assert.is_true(policy.in_window(clock(FRI, 22, 0), days, from, to))
      assert.is_true(policy.in_window(clock(FRI, 23, 59), days, from, to))
      assert.is_true(policy.in_window(clock(SAT, 0, 0), days, from, to))
      assert.is_true(policy.in_window(clock(SAT, 5, 59), days, from, to))
      assert.is_false(policy.in_window(clock(SAT, 6, 0), days, from, to))
      assert.is_false(policy.in_window(clock(FRI, 2, 0), days, from, to)) -- Thursday's night
      assert.is_false(policy.in_window(clock(SAT, 22, 0), days, from, to))
      -- Sunday's window runs into Monday: wday arithmetic wraps from 1 back to 7
      local sun = policy.parse_days("Sun")
      assert.is_true(policy.in_window(clock(MON, 1, 0), sun, from, to))
      assert.is_false(policy.in_window(clock(SUN, 1, 0), sun, from, to))
    end)
  end)

  describe("keep_warm", function()
    local rule = policy.keep_warm { count = 3, days = "Mon-Fri", hours = { 8, 18 }, queries = { "a.b" } }

    it("warms during the hours when fewer than count IDs are warm", function()
      local d = policy.normalize(rule(state { clock = clock(MON, 8), pool = pool(1, 3) }), "keep_warm")
      assert.are.equal(1, #d)
      assert.are.equal("warm", d[1].kind)
      assert.are.equal(3, d[1].count)
      assert.are.same({ { table = "a.b", ops = "" } }, d[1].queries)
      assert.are.equal("keep 3 warm Mon-Fri 08:00-18:00: 1 warm, 3 cold, 0 busy", d[1].reason)
    end)

    it("does nothing when enough are warm, none is cold, or outside the hours", function()
      local function note(s)
        local d = policy.normalize(rule(state(s)))
        assert.are.equal("note", kinds(d))
        return d[1].reason
      end
      assert.matches(": 3 warm$", note { pool = pool(3, 1) })
      assert.matches("no COLD ID to warm", note { pool = pool(1, 0, 3) })
      assert.matches("outside the hours$", note { clock = clock(MON, 18), pool = pool(0, 4) })
      assert.matches("outside the hours$", note { clock = clock(SAT, 10), pool = pool(0, 4) })
      assert.matches("outside the hours$", note { clock = clock(MON, 7, 59), pool = pool(0, 4) })
    end)

    it("refuses bad options", function()
      assert.has_error(function() policy.keep_warm {} end)
      assert.has_error(function() policy.keep_warm { count = 0 } end)
      assert.has_error(function() policy.keep_warm { count = 2.5 } end)
      assert.has_error(function() policy.keep_warm { count = 2, hour = { 8, 18 } } end)
      assert.has_error(function() policy.keep_warm { count = 2, queries = { 42 } } end)
    end)
  end)

  describe("on_reload", function()
    local rule = policy.on_reload { tables = { "t.a", "t.b" }, queries = { { table = "t.a", ops = "<x/>" } } }

    it("names the tables it needs watched", function()
      assert.are.same({ "t.a", "t.b" }, rule.watch)
    end)

    it("does nothing while every table has the version the pool was synced with", function()
      local v = { ["t.a"] = { version = 3, loaded_unix = 10 }, ["t.b"] = { version = 1, loaded_unix = 5 } }
      local d = policy.normalize(rule(state { tables = v, synced = policy.copy(v) }))
      assert.are.equal("note", kinds(d))
      assert.are.equal("no new version of 2 tables", d[1].reason)
    end)

    it("flushes then warms when any table has a new version", function()
      local d = policy.normalize(rule(state {
        tables = { ["t.a"] = { version = 3 }, ["t.b"] = { version = 2, loaded = "2024-05-06T09:00:00Z" } },
        synced = { ["t.a"] = { version = 3 }, ["t.b"] = { version = 1 } },
      }), "on_reload")
      assert.are.equal("flush warm", kinds(d))
      assert.is_true(d[2].count)
      assert.are.same({ { table = "t.a", ops = "<x/>" } }, d[2].queries)
      assert.are.equal("new version: t.b version 1 -> 2, loaded 2024-05-06T09:00:00Z", d[1].reason)
      assert.are.equal(d[1].reason, d[2].reason)
    end)

    it("goes by the load time when there are no version numbers", function()
      local r = policy.on_reload { tables = "t.a", warm = 2 }
      local d = policy.normalize(r(state {
        tables = { ["t.a"] = { loaded_unix = 20 } }, synced = { ["t.a"] = { loaded_unix = 10 } },
      }))
      assert.are.equal("flush warm", kinds(d))
      assert.are.equal(2, d[2].count)
      d = policy.normalize(r(state {
        tables = { ["t.a"] = { loaded_unix = 10 } }, synced = { ["t.a"] = { loaded_unix = 10 } },
      }))
      assert.are.equal("note", kinds(d))
    end)

    it("takes a table that appeared as new and one it cannot read as unchanged", function()
      local r = policy.on_reload { tables = "t.a", warm = false }
      assert.are.equal("flush", kinds(policy.normalize(r(state { tables = { ["t.a"] = { version = 1 } } }))))
      assert.are.equal("note", kinds(policy.normalize(r(state { synced = { ["t.a"] = { version = 1 } } }))))
    end)

    it("refuses bad options", function()
      assert.has_error(function() policy.on_reload {} end)
      assert.has_error(function() policy.on_reload { tables = {} } end)
      assert.has_error(function() policy.on_reload { tables = { 1 } } end)
      assert.has_error(function() policy.on_reload { tables = "t.a", warm = 0 } end)
      assert.has_error(function() policy.on_reload { tables = "t.a", warm = false, queries = { "t.a" } } end)
    end)
  end)

  describe("min_interval", function()
    local always = function() return { warm = 2, reason = "always" } end
    local rule = policy.min_interval(300, always)

    it("lets actions through when nothing was done yet, or long enough ago", function()
      assert.are.equal("warm", kinds(rule(state {})))
      assert.are.equal("warm", kinds(rule(state { now = 1000, last_action = { at = 700, kind = "warm" } })))
    end)

    it("holds actions until the interval has passed since the last one", function()
      local d = rule(state { now = 1000, last_action = { at = 701, kind = "flush" } })
      assert.are.equal("warm(held)", kinds(d))
      assert.are.equal("min_interval 300 s: last action (flush) 299 s ago, next possible in 1 s", d[1].held)
    end)

    it("passes notes through and keeps the inner rule's name and tables", function()
      local r = policy.min_interval(60, policy.on_reload { tables = "t.a" })
      assert.are.equal("on_reload", r.name)
      assert.are.same({ "t.a" }, r.watch)
      local d = r(state { now = 10, last_action = { at = 5 }, synced = { ["t.a"] = {} }, tables = { ["t.a"] = {} } })
      assert.are.equal("note", kinds(d))
    end)

    it("refuses a bad interval or rule", function()
      assert.has_error(function() policy.min_interval(-1, always) end)
      assert.has_error(function() policy.min_interval(10, "rule") end)
    end)
  end)

  describe("a policy", function()
    it("fills in the defaults, the environment's credentials and the watched tables", function()
      local p = policy.check({
        gateway = "http://127.0.0.1:1/", owner = "o", password = "pw", group = "g",
        watch = { "x.y", "t.a" },
        rules = { policy.on_reload { tables = { "t.a", "t.b" } }, function() end },
      }, "/some/where/nightly.lua")
      assert.are.equal("nightly", p.name)
      assert.are.equal(60, p.every)
      assert.are.equal(0, p.min_interval)
      assert.are.equal(120, p.timeout)
      assert.are.same({ "x.y", "t.a", "t.b" }, p.watch)
      assert.are.same({ "on_reload", "rules[2]" }, p.rule_names)
      assert.are.equal("o", p.watch_user)
      assert.are.equal("pw", p.watch_password)
    end)

    it("refuses unknown keys, wrong types and a policy without rules", function()
      local function err(t)
        local ok, e = pcall(policy.check, t, "p.lua")
        assert.is_false(ok)
        return e
      end
      assert.matches("^p%.lua: unknown key %(got \"evrey\"%)", err { evrey = 5, rules = { function() end } })
      assert.matches("'every' must be a number", err { every = "5", rules = { function() end } })
      assert.matches("'every' must be more than 0", err { every = 0, rules = { function() end } })
      assert.matches("give 'rules' or 'decide'", err {})
      assert.matches("rules%[1%] must be a function", err { rules = { 42 } })
      assert.matches("'watch_user' needs 'watch_password'", err { watch_user = "u", rules = { function() end } })
      assert.matches("must return a table", err(nil))
    end)

    it("evaluates the rules in order, then decide, then holds everything under min_interval", function()
      local p = policy.check({
        min_interval = 120,
        rules = { function() return { reason = "r1 idle" } end, function() return { flush = true, reason = "r2" } end },
        decide = function(s) return { { warm = s.pool.size, reason = "decide" } } end,
      })
      local d = policy.evaluate(p, state {})
      assert.are.equal("note flush warm", kinds(d))
      assert.are.equal(4, d[3].count)
      assert.are.equal("rules[2]", d[2].rule)
      d = policy.evaluate(p, state { now = 100, last_action = { at = 50, kind = "warm" } })
      assert.are.equal("note flush(held) warm(held)", kinds(d))
    end)

    it("refuses actions it cannot carry out", function()
      local function eval(result)
        local p = policy.check { decide = function() return result end }
        return policy.evaluate(p, state {})
      end
      assert.are.equal("", kinds(eval(nil)))
      assert.are.equal("flush warm", kinds(eval { flush = true, warm = 1 }))
      assert.has_error(function() eval { warm = 0 } end)
      assert.has_error(function() eval { warm = "3" } end)
      assert.has_error(function() eval { flush = "yes" } end)
      assert.has_error(function() eval { wram = 3 } end)
      assert.has_error(function() eval { queries = { "t.a" } } end)
      assert.has_error(function() eval "warm" end)
    end)

    it("describes decisions for the log", function()
      assert.are.equal("warm 3", policy.describe { kind = "warm", count = 3 })
      assert.are.equal("warm every free ID with 2 queries",
        policy.describe { kind = "warm", count = true, queries = { {}, {} } })
      assert.are.equal("flush", policy.describe { kind = "flush" })
    end)
  end)
end)

---------------------------------------------------------------------------------------------
-- The runner, as a command

local CSV1 = "id:i,name\n1,one\n"
local CSV2 = "id:i,name\n1,one\n2,two\n"

describe("the policy runner", function()
  local g, dir, db, env
  local runners = {} -- background runners still to stop

  local function writepolicy(name, text)
    local path = dir .. "/" .. name
    gateway.writefile(path, text)
    return path
  end

  local function envfor(url)
    return string.format("env -u LUA_INIT -u LUA_INIT_5_4 TT_LUA=%s TT_GATEWAY=%s TT_USER=owner1 " ..
      "TT_PASSWORD=secret1 TT_GROUP=pool1 ", q(build .. "/tt-lua"), q(url))
  end

  -- Run scripts/tt-policy to the end: stdout, exit code, stderr.
  local function policy_cmd(args, url)
    local errf = dir .. "/cmd.err"
    local out, rc = gateway.run((url and envfor(url) or env) .. q(source .. "/scripts/tt-policy") .. " " ..
      args .. " 2>" .. q(errf))
    return out, rc, gateway.readfile(errf) or ""
  end

  -- Start scripts/tt-policy in the background; its log goes to r.err, its exit code to r.rcfile.
  local function start_runner(path, url)
    local r = { err = path .. ".log", pidfile = path .. ".pid", rcfile = path .. ".rc" }
    for _, f in ipairs { r.err, r.pidfile, r.rcfile } do os.remove(f) end
    local inner = string.format("%s%s %s >/dev/null 2>%s & echo $! >%s; wait $!; echo $? >%s",
      url and envfor(url) or env, q(source .. "/scripts/tt-policy"), q(path), q(r.err), q(r.pidfile), q(r.rcfile))
    gateway.sh("sh -c " .. q(inner) .. " >/dev/null 2>&1 &")
    gateway.wait_for(function()
      r.pid = tonumber(gateway.readfile(r.pidfile) or "")
      return r.pid
    end, 5, 0.025)
    assert(r.pid, "the runner did not start")
    runners[#runners + 1] = r
    function r.log() return gateway.readfile(r.err) or "" end
    return r
  end

  local wait_for = gateway.wait_for

  local function count(text, pattern)
    local n = 0
    for _ in text:gmatch(pattern) do n = n + 1 end
    return n
  end

  -- SIGTERM a background runner and wait for its exit code.
  local function stop_runner(r)
    gateway.sh("kill -TERM " .. r.pid .. " 2>/dev/null")
    assert(wait_for(function() return (gateway.readfile(r.rcfile) or ""):match("%d") end),
      "the runner did not stop on SIGTERM:\n" .. r.log())
    r.stopped = true
    return tonumber(gateway.readfile(r.rcfile):match("%d+"))
  end

  local function states(gw)
    local r = (gw or g):call("samstatus", { uid = "owner1", pswd = "secret1", gid = "pool1" })
    assert.are.equal(0, r.rc, r.msg)
    local out = {}
    for _, id in ipairs(r.root:child("samstatus"):all("id")) do out[#out + 1] = id.attrs.state end
    table.sort(out)
    return table.concat(out, " ")
  end

  local function reset(gw)
    assert.are.equal(0, (gw or g):call("resetpool", { uid = "owner1", pswd = "secret1", gid = "pool1" }).rc)
  end

  setup(function()
    dir = gateway.tmpdir()
    db = gateway.demo_db(dir, 0.005)
    assert.are.equal(0, gateway.import(db, "test.small", CSV1, dir))
    g = gateway.start { dir = dir, db = db }
    env = envfor(g.base)
  end)

  teardown(function()
    for _, r in ipairs(runners) do
      if not r.stopped then gateway.sh("kill -KILL " .. r.pid .. " 2>/dev/null") end
    end
    if g then g:stop() end
  end)

  before_each(function()
    reset()
  end)

  describe("its command line", function()
    it("prints the usage for --help, and refuses no policy or an unknown option with status 2", function()
      local out, rc = policy_cmd("--help")
      assert.are.equal(0, rc)
      assert.matches("usage: tt%-policy POLICY%.lua", out)
      local _, err
      _, rc, err = policy_cmd("")
      assert.are.equal(2, rc)
      assert.matches("tt%-policy: no policy file", err)
      _, rc, err = policy_cmd(q(dir .. "/x.lua") .. " --fast")
      assert.are.equal(2, rc)
      assert.matches("unknown option %-%-fast", err)
      _, rc, err = policy_cmd(q(dir .. "/x.lua") .. " --once --at 2024-05-06T09:00")
      assert.are.equal(2, rc)
      assert.matches("%-%-at goes with %-%-dry%-run", err)
    end)

    it("refuses a policy that is missing, not Lua, or wrong, naming the problem", function()
      local _, rc, err = policy_cmd(q(dir .. "/nonexistent.lua") .. " --once")
      assert.are.equal(2, rc)
      assert.matches("cannot open", err)
      _, rc, err = policy_cmd(q(writepolicy("syntax.lua", "return {")) .. " --once")
      assert.are.equal(2, rc)
      assert.matches("syntax%.lua:1:", err)
      _, rc, err = policy_cmd(q(writepolicy("typo.lua", "return { evrey = 5, rules = {} }")) .. " --once")
      assert.are.equal(2, rc)
      assert.matches("typo%.lua: unknown key %(got \"evrey\"%)", err)
      local out2
      out2, rc = gateway.run("env -u TT_GATEWAY TT_LUA=" .. q(build .. "/tt-lua") .. " " ..
        q(source .. "/scripts/tt-policy") .. " " ..
        q(writepolicy("nogw.lua", "return { decide = function() end }")) .. " --once 2>&1")
      assert.are.equal(2, rc)
      assert.matches("no gateway: set 'gateway' in the policy or TT_GATEWAY", out2)
    end)
  end)

  describe("--dry-run", function()
    local path

    setup(function()
      path = writepolicy("hours.lua", [[
        local policy = require "tenten.policy"
        return { rules = { policy.keep_warm { count = 2, days = "Mon-Fri", hours = { 8, 18 } } } }
      ]])
    end)

    it("prints the actions it would take and takes none", function()
      local out, rc, err = policy_cmd(q(path) .. " --dry-run --at 2024-05-06T09:00")
      assert.are.equal(0, rc, err)
      assert.matches("hours: would warm 2 %(keep 2 warm Mon%-Fri 08:00%-18:00: 0 warm, 4 cold, 0 busy%): " ..
        "warmpool would warm the 4 COLD IDs\n$", out)
      assert.are.equal(1, count(out, "\n"))
      assert.are.equal("COLD COLD COLD COLD", states())
    end)

    it("says why it would do nothing", function()
      local out, rc = policy_cmd(q(path) .. " --dry-run --at 2024-05-04T09:00") -- a Saturday
      assert.are.equal(0, rc)
      assert.matches("hours: nothing %(keep 2 warm Mon%-Fri 08:00%-18:00: outside the hours%)\n$", out)
    end)

    it("runs both examples against a real gateway", function()
      local ex = source .. "/scripts/examples/"
      local out, rc, err = policy_cmd(q(ex .. "policy_business_hours.lua") .. " --once --dry-run --at 2024-05-06T08:00")
      assert.are.equal(0, rc, err .. out)
      assert.matches("policy_business_hours: would warm 3 with 2 queries %(keep 3 warm Mon%-Fri 08:00%-18:00: " ..
        "0 warm, 4 cold, 0 busy%)", out)
      out, rc, err = policy_cmd(q(ex .. "policy_business_hours.lua") .. " --once --dry-run --at 2024-05-06T18:00")
      assert.are.equal(0, rc, err .. out)
      assert.matches("nothing %(keep 3 warm Mon%-Fri 08:00%-18:00: outside the hours%)", out)
      out, rc, err = policy_cmd(q(ex .. "policy_reload_watch.lua") .. " --once --dry-run")
      assert.are.equal(0, rc, err .. out)
      assert.matches("policy_reload_watch: nothing %(no new version of 2 tables%)\n$", out)
      assert.are.equal("COLD COLD COLD COLD", states())
    end)
  end)

  describe("--once", function()
    it("carries the actions out, logs them, and has nothing left to do the second time", function()
      local path = writepolicy("warm2.lua", [[
        local policy = require "tenten.policy"
        return { rules = { policy.keep_warm { count = 2, queries = { "test.small" } } } }
      ]])
      local logfile = dir .. "/warm2.log"
      local out, rc, err = policy_cmd(q(path) .. " --once --log " .. q(logfile))
      assert.are.equal(0, rc, err .. out)
      assert.matches("warm2: warm 2 with 1 query %(keep 2 warm: 0 warm, 4 cold, 0 busy%): " ..
        "warmpool warmed 4 IDs\n$", out)
      assert.are.equal("WARM WARM WARM WARM", states())
      assert.are.equal(out, gateway.readfile(logfile))
      out, rc = policy_cmd(q(path) .. " --once")
      assert.are.equal(0, rc)
      assert.matches("warm2: nothing %(keep 2 warm: 4 warm%)\n$", out)
    end)

    it("exits 1 when the gateway cannot be reached", function()
      local path = writepolicy("down.lua", "return { decide = function() return { flush = true } end }")
      local out, rc = policy_cmd(q(path) .. " --once", "http://127.0.0.1:1/")
      assert.are.equal(1, rc)
      assert.matches("down: gateway unreachable: tenten: samstatus, uid owner1: .*%(code %-1%)\n$", out)
    end)

    it("exits 1 when the gateway refuses, and when the policy fails", function()
      local path = writepolicy("refused.lua", "return { password = 'wrong', decide = function() end }")
      local out, rc = policy_cmd(q(path) .. " --once")
      assert.are.equal(1, rc)
      assert.matches("refused: tick failed: tenten: samstatus, uid owner1: .*%(code %d+%)", out)
      path = writepolicy("broken.lua", "return { decide = function(s) return s.nothing.here end }")
      out, rc = policy_cmd(q(path) .. " --once")
      assert.are.equal(1, rc)
      assert.matches("broken: tick failed: policy error: .*broken%.lua:1: attempt to index", out)
      assert.are.equal("COLD COLD COLD COLD", states())
    end)
  end)

  describe("running", function()
    it("flushes and warms when a watched table gets a new version, then stops on SIGTERM", function()
      local path = writepolicy("reload.lua", [[
        local policy = require "tenten.policy"
        return {
          every = 0.5,
          rules = { policy.on_reload { tables = { "test.small", "pub.demo.weather.stations" },
                                       queries = { "test.small" } } },
        }
      ]])
      -- a warm ID that sees the old version: the flush must end its session
      assert.are.equal(0, g:call("warmpool", { uid = "owner1", pswd = "secret1", gid = "pool1" }).rc)
      local r = start_runner(path)
      assert(wait_for(function() return r.log():find("nothing %(no new version of 2 tables%)") end), r.log())
      assert.are.equal(0, gateway.import(db, "test.small", CSV2, dir))
      assert(wait_for(function() return r.log():find("warmpool warmed") end), r.log())
      local log = r.log()
      local flush = log:find("reload: flush %(new version: test%.small version %d+ %-> %d+, " ..
        "loaded [%d%-T:]+Z%): done\n")
      local warm = log:find("reload: warm every free ID with 1 query %(new version: test%.small .-%): " ..
        "warmpool warmed 4 IDs\n")
      assert(flush and warm and flush < warm, log)
      assert.are.equal("WARM WARM WARM WARM", states())
      -- the warm sessions see the new version: two rows
      local uid = g:call("getuid", { uid = "owner1", pswd = "secret1", gid = "pool1" }).root:get("uid")
      local s = g:login(uid, "secret1", "possess")
      local info = g:scall(s, "tabinfo", "<in><name>test.small</name></in>")
      assert.are.equal("2", info.root:child("table").attrs.nrows)
      g:scall(s, "reluid", nil, { gid = "pool1" })
      -- and it does not act again for the same version
      local n = count(r.log(), "nothing")
      assert(wait_for(function() return count(r.log(), "nothing") >= n + 2 end), r.log())
      assert.are.equal(1, count(r.log(), "flush"))
      assert.are.equal(130, stop_runner(r))
      log = r.log()
      assert.matches("reload: stopped by a signal\n$", log)
      assert.is_nil(log:find("traceback"), log)
      assert.is_nil(log:find("tt%-policy:"), log)
    end)

    it("backs off while the gateway cannot be reached, keeps running, and stops on SIGTERM", function()
      local path = writepolicy("away.lua", "return { every = 2, decide = function() end }")
      local r = start_runner(path, "http://127.0.0.1:1/")
      assert(wait_for(function() return count(r.log(), "gateway unreachable") >= 3 end), r.log())
      local log = r.log()
      assert.matches("away: started: pool pool1 at http://127%.0%.0%.1:1/, every 2 s, rules: decide\n", log)
      local waits = {}
      for s in log:gmatch("gateway unreachable: [^\n]*%(code %-1%); retrying in (%d+) s\n") do waits[#waits + 1] = s end
      assert.are.same({ "1", "2", "2" }, { waits[1], waits[2], waits[3] })
      assert.is_nil(gateway.readfile(r.rcfile))
      assert.are.equal(130, stop_runner(r))
      log = r.log()
      assert.matches("away: stopped by a signal\n$", log)
      assert.is_nil(log:find("traceback"), log)
    end)

    it("resumes when the gateway comes back", function()
      local g2 = gateway.start { dir = dir, db = db }
      local port = g2.base:match(":(%d+)/$")
      local path = writepolicy("comeback.lua", [[
        local policy = require "tenten.policy"
        return { every = 1, rules = { policy.keep_warm { count = 1 } } }
      ]])
      local r = start_runner(path, g2.base)
      assert(wait_for(function() return r.log():find("warmpool warmed 4 IDs") end), r.log())
      assert.are.equal(0, g2:stop())
      assert(wait_for(function() return count(r.log(), "gateway unreachable") >= 2 end), r.log())
      -- the same config on the same port: a fresh gateway, every ID cold
      local out = dir .. "/g3.out"
      local inner = string.format("%s serve --config %s --listen 127.0.0.1:%s >%s 2>/dev/null & echo $! >%s",
        q(gateway.bin), q(g2.cfgpath), port, q(out), q(out .. ".pid"))
      gateway.sh("sh -c " .. q(inner) .. " >/dev/null 2>&1")
      local g3 = setmetatable({ base = g2.base, url = g2.url }, getmetatable(g2))
      local ok = wait_for(function() return (gateway.readfile(out) or ""):find("listening") end)
      local pid = tonumber(gateway.readfile(out .. ".pid") or "")
      local function cleanup()
        if pid then gateway.sh("kill -TERM " .. pid .. " 2>/dev/null") end
      end
      if not ok then cleanup() end
      assert(ok, "the gateway did not restart on port " .. port)
      local resumed = wait_for(function()
        return r.log():find("gateway reachable again after %d+ failed attempts?\n.-warmpool warmed 4 IDs")
      end)
      local log = r.log()
      local st = resumed and states(g3)
      local rc = stop_runner(r)
      cleanup()
      assert(resumed, log)
      assert.are.equal("WARM WARM WARM WARM", st)
      assert.are.equal(130, rc)
    end)
  end)
end)
