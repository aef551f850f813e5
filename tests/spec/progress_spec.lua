-- The progress display of pool:pull, tt-pull and q:write: periodic lines off a terminal, a
-- live display cut to the terminal's width, rows that move within a page, and Ctrl-C, which
-- prints what finished and exits 130. Against a real tt-gateway holding its replies back
-- (serve --latency) so that a pull lasts long enough to be watched, and tt-fixture in front of
-- it where a reply must stop half-way.
local fixture = require "fixture"
local gateway = require "gateway"
local json = require "tenten.json"
local progress = require "tenten.progress"

local q = gateway.q

local ttlua, ttpull = gateway.ttlua, gateway.ttpull

local HOURLY = "pub.demo.weather.hourly90"
local STATIONS = "pub.demo.weather.stations"

-- The periodic lines of a display off a terminal: "[HH:MM:SS] ..." (progress.lua).
local function progress_lines(text)
  local out = {}
  for l in text:gmatch("[^\n]+") do
    if l:match("^%[%d%d:%d%d:%d%d%] ") then out[#out + 1] = l end
  end
  return out
end

describe("progress", function()
  local g, dir, n = nil, nil, 0

  setup(function()
    dir = gateway.tmpdir()
    -- every reply held back 100 ms: a pull of a few pages lasts a second or more
    g = gateway.start { dir = dir, db = gateway.demo_db(dir, 0.005), args = { "--latency", "100" } }
  end)

  teardown(function()
    if g then g:stop() end
  end)

  local function workdir()
    n = n + 1
    local d = dir .. "/run" .. n
    assert(os.execute("mkdir -p " .. q(d)))
    return d
  end

  local function env(url)
    return string.format("env -u LUA_INIT -u LUA_INIT_5_4 TT_GATEWAY=%s TT_USER=owner1 TT_PASSWORD=secret1 " ..
      "TT_GROUP=pool1 TT_LUA=%s", q(url or g.url), q(ttlua))
  end

  -- Start a command in folder d in the background, stdout and stderr to d/out and d/err;
  -- returns a handle whose wait() gives the exit status (polling, at most 60 s).
  local function start(d, cmd)
    local pidfile, rcfile = d .. "/.pid", d .. "/.rc"
    -- env --default-signal: a background job of a non-interactive shell starts with SIGINT ignored
    gateway.sh(string.format("(cd %s && env --default-signal=INT %s >out 2>err </dev/null & echo $! >%s; " ..
      "wait $!; echo $? >%s) >/dev/null 2>&1 &", q(d), cmd, q(pidfile), q(rcfile)))
    local h = {}
    function h.pid()
      assert(gateway.wait_for(function() return tonumber(gateway.readfile(pidfile) or "") ~= nil end, 10))
      return tonumber(gateway.readfile(pidfile))
    end
    function h.wait()
      local rc
      gateway.wait_for(function()
        rc = tonumber(gateway.readfile(rcfile) or "")
        return rc ~= nil
      end, 60)
      if not rc then gateway.sh("kill -KILL " .. h.pid() .. " 2>/dev/null") end
      return rc
    end
    function h.err() return gateway.readfile(d .. "/err") or "" end
    function h.out() return gateway.readfile(d .. "/out") or "" end
    return h
  end

  local function explain(rc, h)
    return string.format("exit %s\nstderr:\n%s\nstdout:\n%s", tostring(rc), h.err(), h.out())
  end

  local function listing(d)
    return (gateway.run("ls -a " .. q(d)))
  end

  describe("off a terminal", function()
    it("tt-pull prints a line every --progress-interval seconds while the pull runs", function()
      local d = workdir()
      -- six jobs one after the other, each two exchanges or more of 100 ms at least
      gateway.writefile(d .. "/jobs.json", json.encode {
        { table = HOURLY, out = "a.csv" }, { table = HOURLY, out = "b.csv" }, { table = STATIONS, out = "c.csv" },
        { table = HOURLY, out = "d.csv" }, { table = HOURLY, out = "e.csv" }, { table = HOURLY, out = "f.csv" },
      })
      local h = start(d, env() .. " " .. q(ttpull) .. " jobs.json --pool-size 1 --summary none --progress-interval 0.2")
      -- two lines while it runs: the pull shows life before it ends
      local seen = gateway.wait_for(function()
        return #progress_lines(h.err()) >= 2 or gateway.readfile(d .. "/.rc") ~= nil
      end, 60)
      local before_end = #progress_lines(h.err())
      local rc = h.wait()
      assert(rc == 0, explain(rc, h))
      assert(seen and before_end >= 2, explain(rc, h))
      local err = h.err()
      for _, l in ipairs(progress_lines(err)) do
        assert.matches("^%[%d%d:%d%d:%d%d%] .* rows, %d/6 jobs done, [%d.]+ MB, [%d,]+ rows/s", l)
      end
      assert.is_nil(err:find("\27", 1, true), err) -- no terminal control off a terminal
      assert.matches("\npulled 6 jobs: 6 ok, 0 failed, [%d,]+ rows, [^\n]*\n$", err)
    end)

    it("tt-pull refuses a --progress-interval that is not a number of seconds > 0, with exit 2", function()
      local d = workdir()
      for _, bad in ipairs { "0", "-1", "soon", "nan" } do
        local out, rc = gateway.run(string.format("cd %s && %s %s --table t.t --out x.csv --progress-interval %s 2>&1",
          q(d), env(), q(ttpull), bad))
        assert.are.equal(2, rc, out)
        assert.truthy(out:find("--progress-interval wants a number of seconds > 0 (got " .. bad .. ")", 1, true), out)
      end
    end)

    it("pool:pull takes progress_interval, and a short pull still prints only its final line", function()
      local d = workdir()
      gateway.writefile(d .. "/pull.lua", string.format([[
        local tenten = require "tenten"
        local pool = tenten.pool { size = 1 }
        pool:pull({ { table = %q, out = "h.csv" } }, { page_rows = 4000, progress_interval = 0.2 })
        pool:pull({ { table = %q, out = "s.csv" } }) -- the default, 30 s: no line before the end
      ]], HOURLY, STATIONS))
      local h = start(d, env() .. " " .. q(ttlua) .. " pull.lua")
      local rc = h.wait()
      assert(rc == 0, explain(rc, h))
      local err = h.err()
      assert(#progress_lines(err) >= 2, err)
      -- the second pull's only line follows the first pull's last
      assert.matches("\npulled 1 job: 1 ok, 0 failed, [%d,]+ rows, [^\n]*\n" ..
        "pulled 1 job: 1 ok, 0 failed, 3 rows, [^\n]*\n$", err)
      local ok, e = pcall(function()
        return require("tenten").pool({ gateway = g.url, owner = "owner1", password = "secret1", group = "pool1" })
          :pull({ { table = STATIONS, out = d .. "/x.csv" } }, { progress_interval = 0 })
      end)
      assert.is_false(ok)
      assert.truthy(tostring(e):find("progress_interval", 1, true), tostring(e))
    end)

    it("q:write shows the display when asked (q.progress) and says what it wrote", function()
      local d = workdir()
      gateway.writefile(d .. "/write.lua", string.format([[
        local tenten = require "tenten"
        local s <close> = tenten.Session(os.getenv("TT_GATEWAY"), "owner1", "secret1")
        local q = s:query(%q)
        q.page_rows, q.progress, q.progress_interval = 500, "line", 0.2
        print(q:write("w.csv"))
        local quiet = s:query(%q)
        quiet:write("quiet.csv") -- not asked: nothing on stderr
      ]], HOURLY, STATIONS))
      local h = start(d, env() .. " " .. q(ttlua) .. " write.lua")
      local rc = h.wait()
      assert(rc == 0, explain(rc, h))
      local rows = tonumber(h.out():match("^(%d+)"))
      assert(rows and rows > 1000, h.out())
      local err = h.err()
      assert(#progress_lines(err) >= 2, err)
      local shown = progress.thousands(rows):gsub("%p", "%%%0")
      assert.matches("\nwrote " .. shown .. " rows, [%d.]+ MB to w%.csv in [%d.]+ s\n$", err)
    end)
  end)

  describe("within a page", function()
    it("rows move with the bytes of the page in flight: more distinct percentages than pages", function()
      local d = workdir()
      -- pages of 2,000 rows: the first comes with the query (querydata); the second's first ask
      -- sends its headers and 60,000 bytes of its body, then nothing; the client gives up on it
      -- after 1 s (stall) and asks again, and the second ask is served
      local fx = fixture.start { upstream = g.base, rules = { "api=getdata,nth=1,do=stall-body:60000" } }
      gateway.writefile(d .. "/pull.lua", string.format([[
        local tenten = require "tenten"
        local pool = tenten.pool { size = 1, stall = { getdata = 1 } }
        local s = pool:pull({ { table = %q, out = "one.csv" } },
          { page_rows = 2000, progress = "line", progress_interval = 0.05 })
        print(s[1].rows, s[1].error)
      ]], HOURLY))
      local h = start(d, env(fx.gw) .. " " .. q(ttlua) .. " pull.lua")
      local rc = h.wait()
      local asked = fx:count("getdata")
      fx:stop()
      assert(rc == 0, explain(rc, h))
      assert.matches("^%d+\tnil\n$", h.out())
      local rows = tonumber(h.out():match("^(%d+)"))
      assert(rows > 4000, h.out())
      -- every page but the first (which came with the query) once, the second twice
      assert.are.equal(math.ceil(rows / 2000), asked)
      -- paging alone could only say what the first page made (written while the second stalls)
      local low, high = math.floor(2000 * 100 / rows), math.floor(4000 * 100 / rows)
      local between = 0
      for _, l in ipairs(progress_lines(h.err())) do
        local pct = tonumber(l:match("^%[[%d:]+%] (%d+)%% "))
        if pct and pct > low and pct < high then between = between + 1 end
      end
      assert(between > 0, h.err())
    end)

    it("estimates from bytes per row when the reply announces no size", function()
      -- the estimator alone, with requests that report what the core's req:received() would
      local function req(got, size)
        return { received = function() return got, size end }
      end
      local function page(first, asked, got, size, failed)
        return { first = first, asked = asked,
          future = { req = req(got, size), done = failed or false, result = failed and {} or { true } } }
      end
      local t = { q = { _inflight = page(0, 1000, 5000, nil) } }
      assert.are.equal(0, progress.in_flight(t, 0)) -- no size, no page seen complete yet
      t.q._inflight = page(1000, 1000, 25000, nil)
      -- the first page (5,000 bytes... as it was when last seen) calibrates: 5 bytes a row
      assert.are.equal(1000, progress.in_flight(t, 1000))
      t.q._inflight = page(2000, 1000, 1500, nil)
      -- 30,000 bytes for 2,000 rows: 15 a row; 1,500 bytes in flight is 100 rows
      assert.are.equal(100, progress.in_flight(t, 2000))
      -- with a size: the share of it received, never more than the rows asked
      t.q._inflight = page(3000, 1000, 600, 2400)
      assert.are.equal(250, progress.in_flight(t, 3000))
      t.q._inflight = page(4000, 1000, 9999, 2400)
      assert.are.equal(1000, progress.in_flight(t, 4000))
      -- a page already written, and one that failed (asked again later), count nothing
      assert.are.equal(0, progress.in_flight(t, 5000))
      t.q._inflight = page(5000, 1000, 600, 2400, true)
      assert.are.equal(0, progress.in_flight(t, 5000))
    end)
  end)

  describe("on a terminal", function()
    -- The display as a terminal of `cols` columns shows it (script(1) gives the command a
    -- pseudo-terminal; stty sizes it, or leaves it unsized with 0 so that $COLUMNS counts).
    local function on_tty(d, cols, columns_env)
      gateway.writefile(d .. "/jobs.json", json.encode {
        { table = HOURLY, out = "a-file-with-a-name-long-enough-to-be-cut-on-a-narrow-terminal.csv" },
        { table = HOURLY, out = "b.csv" },
      })
      local inner = string.format("stty cols %d rows 24; %s %s %s jobs.json --summary none", cols, env(),
        columns_env and ("COLUMNS=" .. columns_env) or "", q(ttpull))
      local out, rc = gateway.run(string.format("cd %s && script -qec %s /dev/null </dev/null", q(d), q(inner)))
      assert(rc == 0, "exit " .. tostring(rc) .. ":\n" .. out)
      return out
    end

    -- Every line a redraw wrote ("\r\27[2K" then the text), without its escapes.
    local function drawn(out)
      local list = {}
      for seg in out:gmatch("\r\27%[2K([^\r\n]*)") do
        list[#list + 1] = (seg:gsub("\27%[[%d;]*%a", ""))
      end
      return list
    end

    for _, case in ipairs { { cols = 40, what = "the terminal's width" }, { cols = 0, env = 44, what = "$COLUMNS" } } do
      it("cuts every line to " .. case.what .. " and clears the rest of the line", function()
        local d = workdir()
        local width = case.env or case.cols
        local out = on_tty(d, case.cols, case.env)
        local lines = drawn(out)
        assert(#lines >= 3, out) -- the overall line and a job's, at least once
        local longest, cut = 0, false
        for _, l in ipairs(lines) do
          longest = math.max(longest, utf8.len(l))
          if l:find("a-file-with-a-name", 1, true) and not l:find("terminal.csv", 1, true) then cut = true end
        end
        assert(longest <= width - 1, string.format("a line of %d columns on %d:\n%s", longest, width,
          table.concat(lines, "\n")))
        assert.is_true(cut, table.concat(lines, "\n"))
        -- a redraw moves up over the last drawing and clears below what it drew
        assert.truthy(out:find("\27[J", 1, true))
        assert.matches("pulled 2 jobs: 2 ok, 0 failed", out)
      end)
    end
  end)

  describe("Ctrl-C", function()
    -- Two jobs one after the other: the first finishes, the second's query (querydata, its
    -- first page with it) never gets an answer (the proxy holds it), so the signal comes while
    -- it runs with a .part on disk.
    local function jobs_and_proxy(d)
      local fx = fixture.start { upstream = g.base, rules = { "api=querydata,nth=2,do=stall" } }
      return fx, function()
        return gateway.exists(d .. "/first.csv") and fx:count("querydata") >= 2
          and listing(d):find("second.csv.part", 1, true) ~= nil
      end
    end

    local function interrupt(h, ready)
      local pid = h.pid()
      assert(gateway.wait_for(ready, 30), "the pull never reached its second job:\n" .. h.err())
      gateway.sh("kill -INT " .. pid)
      return h.wait()
    end

    it("tt-pull prints the jobs that finished, hands their summaries to --summary json, exits 130", function()
      for _, summary in ipairs { "text", "json" } do
        local d = workdir()
        local fx, ready = jobs_and_proxy(d)
        gateway.writefile(d .. "/jobs.json", json.encode {
          { table = STATIONS, out = "first.csv" }, { table = HOURLY, out = "second.csv" },
        })
        local h = start(d, env(fx.gw) .. " " .. q(ttpull) .. " jobs.json --pool-size 1 --summary " .. summary)
        local rc = interrupt(h, ready)
        fx:stop()
        assert(rc == 130, explain(rc, h))
        local err = h.err()
        assert.matches("interrupted: pulled 2 jobs: 1 ok, 0 failed, 1 not finished", err)
        assert.matches("tt%-pull: interrupted\n$", err)
        if summary == "text" then
          assert.matches("\n1 +first%.csv +pool1_%d +3 [^\n]* ok\n", err)
          assert.matches("\n2 +second%.csv +pool1_%d [^\n]*interrupted before it finished", err)
        else
          local res = assert(json.decode(h.out()), h.out())
          assert.is_false(res.ok)
          assert.are.equal("ok", res.jobs[1].result)
          assert.are.equal(3, res.jobs[1].rows)
          assert.are.equal("interrupted", res.jobs[2].result)
          assert.are.equal(-130, res.jobs[2].error.code)
        end
        -- the finished file stays; the unfinished one left nothing, not even its .part
        local files = listing(d)
        assert.truthy(files:find("first.csv", 1, true), files)
        assert.is_nil(files:find("second.csv", 1, true), files)
        assert.is_nil(files:find("part", 1, true), files)
      end
    end)

    it("pool:pull under tt-lua prints the jobs that finished and exits 130", function()
      local d = workdir()
      local fx, ready = jobs_and_proxy(d)
      gateway.writefile(d .. "/pull.lua", string.format([[
        local tenten = require "tenten"
        local pool = tenten.pool { size = 1 }
        pool:pull({ { table = %q, out = "first.csv" }, { table = %q, out = "second.csv" },
          { table = %q, out = "third.csv" } }, { progress = false })
        print("not reached")
      ]], STATIONS, HOURLY, STATIONS))
      local h = start(d, env(fx.gw) .. " " .. q(ttlua) .. " pull.lua")
      local rc = interrupt(h, ready)
      fx:stop()
      assert(rc == 130, explain(rc, h))
      assert.are.equal("", h.out())
      local err = h.err()
      assert.matches("\n1 +first%.csv +pool1_%d +3 [^\n]* ok\n", err)
      assert.matches("\n2 +second%.csv [^\n]*interrupted before it finished", err)
      assert.matches("\n3 +third%.csv [^\n]*interrupted before it started", err)
      assert.matches("tt%-lua: interrupted\n$", err)
      local files = listing(d)
      assert.truthy(files:find("first.csv", 1, true), files)
      assert.is_nil(files:find("second.csv", 1, true), files)
      assert.is_nil(files:find("third.csv", 1, true), files)
      assert.is_nil(files:find("part", 1, true), files)
    end)
  end)
end)
