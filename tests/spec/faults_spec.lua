-- Faults between the client and a real tt-gateway (issue 9): the real client drives the real
-- gateway through tt-fixture's proxy, which injects one fault per case. One `describe` per
-- issue item; the scheduler's items (14-16) are in sched_spec.lua, which needs no gateway.
local gateway = require "gateway"
local fixture = require "fixture"
local tenten = require "tenten"
local api = require "tenten.api"

local ttlua = (os.getenv("TT_BUILD_DIR") or "build") .. "/tt-lua"
local STATIONS, HOURLY = "pub.demo.weather.stations", "pub.demo.weather.hourly90"
-- back-off short enough for a test, and no retries of reads unless a case asks for them
local FAST = { 0.01, 0.05 }

describe("faults", function()
  local g, dir

  setup(function()
    dir = gateway.tmpdir()
    g = gateway.start { dir = dir, db = gateway.demo_db(dir, 0.005) }
  end)

  teardown(function()
    if g then g:stop() end
    if dir then os.execute("rm -rf " .. gateway.q(dir)) end
  end)

  local fx
  before_each(function()
    tenten.resetpool(g.url, "owner1", "secret1", "pool1")
  end)
  after_each(function()
    -- exit status 0: the fixture itself ran clean (a sanitizer build aborts otherwise)
    if fx then assert.are.equal(0, fx:stop()) end
    fx = nil
  end)

  -- The pool's IDs by state, straight from the gateway (not through the proxy).
  local function states()
    return g:pool_states { uid = "owner1", pswd = "secret1", gid = "pool1" }
  end

  local OWNER = { uid = "owner1", pswd = "secret1", gid = "pool1" }

  describe("tt-fixture itself", function()
    -- One POST with the curl tool: exit code, HTTP status and body (curl -sS -i).
    local function post(url, api_name)
      local out, rc = gateway.run("curl -sS -i --max-time 3 -X POST --data-binary '<in/>' " ..
        gateway.q(url .. "?api=" .. api_name .. "&uid=owner1&pswd=secret1&gid=pool1&apiversion=3") .. " 2>&1")
      return rc, out
    end

    it("answers from reply files in order, the last one repeating, and logs each request", function()
      local a, b = dir .. "/a.xml", dir .. "/b.xml"
      gateway.writefile(a, "<out><rc>0</rc><sid>A</sid></out>")
      gateway.writefile(b, "<out><rc>0</rc><sid>B</sid></out>")
      fx = fixture.start { replies = { login = { a, b } } }
      local sids = {}
      for i = 1, 3 do
        local rc, out = post(fx.gw, "login")
        assert.are.equal(0, rc, out)
        sids[i] = out:match("<sid>(%w+)</sid>")
      end
      assert.are.same({ "A", "B", "B" }, sids)
      local _, out = post(fx.gw, "getdata")
      assert.matches("<rc>7</rc><msg>no fixture for api=getdata</msg>", out, 1, true)
      local reqs = fx:requests()
      assert.are.equal(4, #reqs)
      assert.are.same({ "login", "POST", "<in/>" }, { reqs[1].api, reqs[1].method, reqs[1].body })
      assert.matches("^/cgi%-bin/gw%?api=login&uid=owner1", reqs[1].path)
    end)

    it("injects each fault by nth call in front of the gateway", function()
      fx = fixture.start { upstream = g.base, rules = {
        "api=samstatus,nth=2,do=status:503", "api=samstatus,nth=3,do=reset-before",
        "api=samstatus,nth=4,do=cut:20", "api=samstatus,nth=5,do=truncate:10",
        "api=samstatus,nth=6,do=body:<out><rc>0</rc>,x</out>", "api=samstatus,nth=7,do=stall-body:5",
      } }
      local results = {}
      for i = 1, 8 do results[i] = { post(fx.gw, "samstatus") } end
      assert.matches("HTTP/1.1 200.*<rc>0</rc>", results[1][2])
      assert.matches("HTTP/1.1 503", results[2][2])
      assert.are.equal(56, results[3][1], results[3][2]) -- reset: curl's receive failure
      assert.are.equal(18, results[5][1], results[5][2]) -- a short body
      assert.matches("<out><rc>0</rc>,x</out>", results[6][2], 1, true)
      assert.are.equal(28, results[7][1], results[7][2]) -- stalled mid-body: curl's timeout
      assert.matches("HTTP/1.1 200.*<rc>0</rc>", results[8][2])
      assert.are.equal(8, fx:count("samstatus"))
    end)
  end)

  describe("item 10: libcurl never replays a transaction that is not idempotent", function()
    for _, fault in ipairs { "reset-before", "reset-after" } do
      it("a getuid on a connection that could be reused, " .. fault .. ": an error, no second ID", function()
        fx = fixture.start { upstream = g.base, rules = { "api=getuid,nth=2,do=" .. fault } }
        local conn = api.conn("faults", { gateway = fx.gw })
        -- an idempotent call leaves a connection to reuse; then two getuids
        assert(api.try(conn, "samstatus", OWNER))
        local first = assert(api.try(conn, "getuid", OWNER))
        local reply, err = api.try(conn, "getuid", OWNER)
        assert.is_nil(reply)
        assert.are.equal(tenten.E_CONNECT, err.code, tostring(err))
        -- the proxy saw each getuid once: libcurl did not send the second one again
        assert.are.equal(2, fx:count("getuid"))
        -- the gateway handed out one ID, or two when the reset came after it acted; never a
        -- third from a replay
        local busy = states().BUSY or 0
        assert.are.equal(fault == "reset-before" and 1 or 2, busy)
        assert.is_truthy(first:field("uid"))
      end)
    end

    it("idempotent reads still reuse the connection; each unsafe call costs one connect", function()
      fx = fixture.start { upstream = g.base }
      local conn = api.conn("faults", { gateway = fx.gw })
      for _ = 1, 5 do assert(api.try(conn, "samstatus", OWNER)) end
      assert.are.equal(1, fx:connections())
      local got = {}
      for i = 1, 3 do got[i] = assert(api.try(conn, "getuid", OWNER)):field("uid") end
      assert.are.equal(4, fx:connections())
      for _, uid in ipairs(got) do assert(api.try(conn, "reluid", { uid = uid, pswd = "secret1", gid = "pool1" })) end
      assert.are.equal(7, fx:connections())
      -- the connections the unsafe calls opened stay for the reads after them
      for _ = 1, 5 do assert(api.try(conn, "samstatus", OWNER)) end
      assert.are.equal(7, fx:connections())
    end)
  end)

  describe("item 12: a stalled transfer fails with E_TIMEOUT", function()
    local function timed(fn)
      local t0 = tenten.now()
      local ok, err = pcall(fn)
      return ok, err, tenten.now() - t0
    end

    it("a query that never answers, with stall = 1", function()
      fx = fixture.start { upstream = g.base, rules = { "api=querydata,do=stall" } }
      local s <close> = tenten.Session(fx.gw, "plain1", "secret4", tenten.KILL, false, { stall = 1, retries = 0 })
      local ok, err, took = timed(function() s:query("pub.demo.weather.stations", ""):run() end)
      assert.is_false(ok)
      assert.is_true(tenten.is_error(err), tostring(err))
      assert.are.equal(tenten.E_TIMEOUT, err.code, tostring(err))
      assert.matches("stalled", err.msg)
      assert.is_true(took < 20, "took " .. took .. " s")
    end)

    it("a page cut off mid-body, stall per kind, on a pool session: the ID comes back", function()
      -- the first page comes with the query (querydata); the second is the one cut off
      fx = fixture.start { upstream = g.base, rules = { "api=getdata,do=stall-body:40" } }
      local s = tenten.Session(fx.gw, "owner1", "secret1", tenten.POSSESS, "pool1",
        { stall = { getdata = 1 }, retries = 0, linger = 0 })
      local q = s:query(HOURLY, '<sel value="hour=0"/>')
      q.page_rows = 100
      q:run()
      local ok, err, took = timed(function() for _ in q:rows() do end end)
      assert.is_false(ok)
      assert.are.equal(tenten.E_TIMEOUT, err.code, tostring(err))
      assert.is_true(took < 20, "took " .. took .. " s")
      assert.are.equal(1, states().BUSY)
      s:close()
      assert.is_nil(states().BUSY)
    end)

    it("a getuid that never answers, on a pool session: E_TIMEOUT, and no ID is held", function()
      fx = fixture.start { upstream = g.base, rules = { "api=getuid,do=stall" } }
      local ok, err = pcall(tenten.Session, fx.gw, "owner1", "secret1", tenten.POSSESS, "pool1",
        { stall = 1, retry = 1 })
      assert.is_false(ok)
      assert.are.equal(tenten.E_TIMEOUT, err.code, tostring(err))
      assert.is_nil(states().BUSY)
    end)

    it("checks the option", function()
      for _, bad in ipairs { "1", -1, { query = "x" }, { scan = 3 } } do
        assert.has_error(function() api.conn("tenten.Session", { gateway = g.url, stall = bad }) end)
      end
      local c = api.conn("f", { gateway = g.url })
      assert.are.same(api.STALL, c.stall)
      c = api.conn("f", { gateway = g.url, stall = false })
      assert.are.same({ query = 0, getdata = 0, call = 0 }, c.stall)
      c = api.conn("f", { gateway = g.url, stall = { call = 5 } })
      assert.are.same({ query = api.STALL.query, getdata = api.STALL.getdata, call = 5 }, c.stall)
    end)
  end)

  local exists = gateway.exists

  -- Names in dir matching a Lua pattern.
  local function listing(pattern)
    local out = {}
    for name in gateway.run("ls -A " .. gateway.q(dir)):gmatch("[^\n]+") do
      if name:match(pattern) then out[#out + 1] = name end
    end
    return out
  end

  local function pool_opts(extra)
    -- linger = 0: a release here is one reluid at once (faults of lingering IDs: item 8 below)
    local o = { gateway = fx.gw, owner = "owner1", password = "secret1", group = "pool1", backoff = FAST, linger = 0 }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  describe("item 1: a full disk is an error, never a short file reported as pulled", function()
    it("q:write to /dev/full, by path or open file: E_IO", function()
      local s <close> = tenten.Session(g.url, "plain1", "secret4", tenten.KILL)
      local q = s:query(STATIONS, "")
      local ok, err = pcall(q.write, q, "/dev/full", "csv")
      assert.is_false(ok)
      assert.are.equal(tenten.E_IO, err.code, tostring(err))
      local f = assert(io.open("/dev/full", "w"))
      ok, err = pcall(q.write, q, f, "tsv")
      f:close()
      assert.is_false(ok)
      assert.are.equal(tenten.E_IO, err.code, tostring(err))
      assert.matches("No space left", err.msg)
    end)

    it("pull and q:write under a file size limit (ulimit -f, SIGXFSZ ignored): E_IO, no file", function()
      local script = dir .. "/full.lua"
      gateway.writefile(script, [[
        local tenten = require "tenten"
        local gw, out = arg[1], arg[2]
        local pool = tenten.pool { gateway = gw, owner = "owner1", password = "secret1", group = "pool1" }
        local res = pool:pull({ { table = "pub.demo.weather.hourly90", out = out .. "/full-pull.csv" },
          { table = "pub.demo.weather.hourly90", ops = '<colord cols="hour"/>', out = out .. "/full-small.tsv" } },
          { progress = false })
        print("pull", res[1].error and res[1].error.code, res[2].error and res[2].error.code)
        print("busy", pool:stats().busy)
        local s <close> = tenten.Session(gw, "plain1", "secret4", tenten.KILL)
        local q = s:query("pub.demo.weather.hourly90", "")
        local ok, err = pcall(q.write, q, out .. "/full-write.jsonl")
        print("write", not ok and err.code)
        error(err, 0)
      ]])
      -- 512-byte blocks under dash: every output here is bigger than that
      local out, rc = gateway.run(string.format("sh -c %s 2>&1", gateway.q(string.format(
        "trap '' XFSZ; ulimit -f 1; exec %s %s %s %s", gateway.q(ttlua), gateway.q(script), gateway.q(g.url),
        gateway.q(dir)))))
      local io_code = tostring(tenten.E_IO):gsub("%-", "%%-")
      assert.matches("pull\t" .. io_code .. "\t" .. io_code, out)
      assert.matches("busy\t0", out)
      assert.matches("write\t" .. io_code, out)
      assert.matches("code " .. io_code, out)
      assert.are.equal(1, rc, out)
      assert.are.same({}, listing("^full%-"))
      assert.is_nil(states().BUSY)
    end)
  end)

  describe("item 3: a pull reports a job's first error; a failed release apart", function()
    it("the first page fails, then the release fails: the job's error is the page's", function()
      fx = fixture.start { upstream = g.base, rules = { "api=querydata,do=status:500", "api=reluid,do=status:503" } }
      local p = tenten.pool(pool_opts { retries = 0 })
      local res = p:pull({ { table = STATIONS, out = dir .. "/prec1.csv" } }, { progress = false })
      assert.are.equal(tenten.E_HTTP, res[1].error.code, tostring(res[1].error))
      assert.are.equal("querydata", res[1].error.api)
      assert.are.equal("reluid", res[1].release_error and res[1].release_error.api)
      assert.is_false(exists(dir .. "/prec1.csv"))
      assert.are.equal(1, p:stats().to_release)
    end)

    it("a complete file whose release fails: ok for the data, the release failure beside it", function()
      fx = fixture.start { upstream = g.base, rules = { "api=reluid,do=status:503" } }
      local p = tenten.pool(pool_opts())
      local res = p:pull({ { table = STATIONS, out = dir .. "/prec2.csv" } }, { progress = false })
      assert.is_nil(res[1].error)
      assert.are.equal(tenten.E_HTTP, res[1].release_error.code)
      assert.is_true(exists(dir .. "/prec2.csv"))
      assert.matches("ok; the release failed: tenten: reluid", tenten.format_summary(res))
      os.remove(dir .. "/prec2.csv")
    end)
  end)

  describe("item 4: q:write to a path is atomic", function()
    it("a missing table, a failed page: no file and no .part; a success: the file alone", function()
      fx = fixture.start { upstream = g.base, rules = { "api=querydata,nth=2,do=status:500" } }
      local s <close> = tenten.Session(fx.gw, "plain1", "secret4", tenten.KILL, { retries = 0 })
      local q = s:query("pub.demo.nosuch", "")
      local ok, err = pcall(q.write, q, dir .. "/atomic.csv")
      assert.is_false(ok)
      assert.are.equal(17, err.code, tostring(err))
      q = s:query(STATIONS, "")
      ok, err = pcall(q.write, q, dir .. "/atomic.csv")
      assert.is_false(ok)
      assert.are.equal(tenten.E_HTTP, err.code, tostring(err))
      assert.are.same({}, listing("^atomic"))
      assert.are.equal(3, (q:write(dir .. "/atomic.csv")))
      assert.are.same({ "atomic.csv" }, listing("^atomic"))
      os.remove(dir .. "/atomic.csv")
    end)
  end)

  describe("item 5: pull checks every output folder before it takes an ID", function()
    it("a missing folder and a folder that is a file: E_IO naming the job, no getuid", function()
      fx = fixture.start { upstream = g.base }
      local p = tenten.pool(pool_opts())
      gateway.writefile(dir .. "/plainfile", "x")
      for _, bad in ipairs { dir .. "/nosuch/x.csv", dir .. "/plainfile/x.csv" } do
        local ok, err = pcall(p.pull, p, { { table = STATIONS, out = dir .. "/fine.csv" },
          { table = STATIONS, out = bad } }, { progress = false })
        assert.is_false(ok)
        assert.are.equal(tenten.E_IO, err.code, tostring(err))
        assert.matches("jobs[2]", err.msg, 1, true)
        assert.matches(bad, err.msg, 1, true)
      end
      assert.are.equal(0, fx:count("getuid"))
      assert.is_nil(states().BUSY)
      assert.is_false(exists(dir .. "/fine.csv"))
      os.remove(dir .. "/plainfile")
    end)
  end)

  describe("item 6: a transient getuid failure is retried, not passed to every waiter", function()
    it("503, reset, garbage and rc 41 in a row: three waiters all get an ID", function()
      fx = fixture.start { upstream = g.base, rules = {
        "api=getuid,nth=1,do=status:503", "api=getuid,nth=2,do=reset-before",
        "api=getuid,nth=3,do=body:this is not XML", "api=getuid,nth=4,do=body:<out><rc>41</rc><msg>later</msg></out>",
      } }
      local p = tenten.pool(pool_opts())
      local uids = tenten.run(function()
        local got = {}
        local _, errs = tenten.parallel({ 1, 2, 3 }, function(i)
          local s <close> = p:session()
          got[i] = s.username
          tenten.sleep(0.05) -- hold it, so each waiter needs an ID of its own
        end)
        assert.is_nil(errs, errs and tostring(errs[1].error))
        return got
      end)
      assert.are.equal(3, #uids)
      assert.are.equal(7, fx:count("getuid"))
      assert.is_nil(states().BUSY)
    end)

    it("a reply cut off after the gateway acted: retried; that ID is the known, documented leak", function()
      fx = fixture.start { upstream = g.base, rules = { "api=getuid,nth=1,do=cut:30" } }
      local p = tenten.pool(pool_opts())
      local s = p:session()
      assert.are.equal(2, fx:count("getuid"))
      assert.are.equal(2, states().BUSY) -- the first ID's reply never came: nobody holds it
      s:close()
      assert.are.equal(1, states().BUSY) -- resetpool (before_each) frees it
    end)

    it("bad credentials fail the waiter at once", function()
      fx = fixture.start { upstream = g.base }
      local ok, err = pcall(tenten.Session, fx.gw, "owner1", "nope", tenten.POSSESS, "pool1", { backoff = FAST })
      assert.is_false(ok)
      assert.are.equal(4, err.code, tostring(err))
      assert.are.equal(1, fx:count("getuid"))
    end)
  end)

  describe("item 7: a getuid reply without <uid>, and a poller that fails", function()
    it("a reply without <uid> is E_XML, asked again", function()
      fx = fixture.start { upstream = g.base,
        rules = { "api=getuid,nth=1,do=body:<out><rc>0</rc><msg>OK</msg></out>" } }
      local s <close> = tenten.Session(fx.gw, "owner1", "secret1", tenten.POSSESS, "pool1", { backoff = FAST })
      assert.matches("^pool1_%d$", s.username)
      assert.are.equal(2, fx:count("getuid"))
    end)

    it("an error inside the poller fails its waiters and clears it; the next acquire works", function()
      fx = fixture.start { upstream = g.base }
      local real, n = api.try, 0
      api.try = function(conn, name, ...)
        if name == "getuid" then
          n = n + 1
          if n == 1 then error("broken on purpose") end
        end
        return real(conn, name, ...)
      end
      local ok, err = pcall(tenten.Session, fx.gw, "owner1", "secret1", tenten.POSSESS, "pool1", { backoff = FAST })
      api.try = real
      assert.is_false(ok)
      assert.is_true(tenten.is_error(err), tostring(err))
      assert.matches("broken on purpose", err.msg)
      local p = tenten.pool(pool_opts())
      assert.is_nil(p.poller)
      local s <close> = p:session()
      assert.matches("^pool1_%d$", s.username)
    end)
  end)

  -- Four reluids that fail, each its own way; the fifth goes through (item 8's cases).
  local FAILS = { "api=reluid,nth=1,do=status:503", "api=reluid,nth=2,do=reset-before",
    "api=reluid,nth=3,do=status:502", "api=reluid,nth=4,do=body:junk" }

  describe("item 8: a failed reluid keeps the ID on a to-release list", function()
    it("retried with back-off, then listed, counted, and released before the next getuid", function()
      fx = fixture.start { upstream = g.base, rules = FAILS }
      local p = tenten.pool(pool_opts())
      local s = p:session()
      local ok, err = pcall(s.close, s)
      assert.is_false(ok)
      assert.is_true(tenten.is_error(err), tostring(err))
      assert.are.equal(4, fx:count("reluid"))
      assert.are.equal(1, p:stats().to_release)
      assert.are.equal(1, states().BUSY)
      -- the next session first gives that ID back, then asks for one
      local s2 = p:session()
      assert.are.equal(0, p:stats().to_release)
      local reqs = fx:requests()
      assert.are.same({ "reluid", "getuid" }, { reqs[#reqs - 2].api, reqs[#reqs - 1].api })
      s2:close()
      assert.is_nil(states().BUSY)
    end)

    it("released at the end of tenten.run", function()
      fx = fixture.start { upstream = g.base, rules = FAILS }
      local p = tenten.pool(pool_opts())
      local ok, err = pcall(tenten.run, function()
        local s <close> = p:session()
        s:query(STATIONS, ""):run()
      end)
      -- the close raised the release failure (nothing else was in flight)...
      assert.is_false(ok)
      assert.are.equal("reluid", err.api, tostring(err))
      -- ...and the run's end gave the ID back
      assert.are.equal(5, fx:count("reluid"))
      assert.are.equal(0, p:stats().to_release)
      assert.is_nil(states().BUSY)
    end)
  end)

  describe("item 8, lingering IDs: a failed reluid is not lost when the linger ends", function()
    it("pool:close() asks again for an ID whose reluid failed", function()
      fx = fixture.start { upstream = g.base, rules = FAILS }
      local p = tenten.pool(pool_opts { linger = 30 })
      tenten.run(function()
        local s <close> = p:session()
        s:query(STATIONS, ""):run()
        s:close()
        assert.are.equal(1, p:stats().lingering)
        assert.are.equal(0, fx:count("reluid"))
        p:close() -- four failed reluids put it on the list; close asks once more
      end)
      assert.are.equal(5, fx:count("reluid"))
      assert.are.equal(0, p:stats().to_release)
      assert.is_nil(states().BUSY)
    end)

    it("a timer that ends a linger keeps a failed ID on the list for the run's end", function()
      fx = fixture.start { upstream = g.base, rules = FAILS }
      local p = tenten.pool(pool_opts { linger = 0.05 })
      tenten.run(function()
        do
          local s <close> = p:session()
          s:query(STATIONS, ""):run()
        end
        -- the timer's reluids fail four times: the ID waits on the "to release" list
        for _ = 1, 400 do
          if p:stats().to_release == 1 then break end
          tenten.sleep(0.05)
        end
        assert.are.equal(1, p:stats().to_release)
        assert.are.equal(0, p:stats().lingering)
        assert.are.equal(0, p:release_pending()) -- asked once more: given back
      end)
      assert.are.equal(5, fx:count("reluid"))
      assert.are.equal(0, p:stats().to_release)
      assert.is_nil(states().BUSY)
      p:close()
    end)
  end)

  describe("item 9: a release failing in a <close> handler never replaces the error in flight", function()
    it("a session, a pull job and a pool guard keep the first error", function()
      fx = fixture.start { upstream = g.base, rules = { "api=reluid,do=status:503" } }
      local p = tenten.pool(pool_opts())
      local ok, err = pcall(function()
        local _s <close> = p:session() -- luacheck: ignore 211
        error("the first error")
      end)
      assert.is_false(ok)
      assert.matches("the first error", err)
      assert.are.equal(1, p:stats().to_release)
      assert.is_true(p:stats().release_failures >= 1)
      -- with nothing in flight, close does raise the release failure
      local s = p:session()
      ok, err = pcall(s.close, s)
      assert.is_false(ok)
      assert.are.equal("reluid", err.api)
      -- a job function that fails: its own error in the summary
      local res = p:pull({ function() error("job failed first") end }, { progress = false })
      assert.matches("job failed first", res[1].error)
      assert.are.equal("reluid", res[1].release_error.api)
    end)
  end)

  describe("item 11: a wrong password never shares a pool that is open", function()
    it("rc 4 every time, and one pool object per password", function()
      local _s <close> = tenten.Session(g.url, "owner1", "secret1", tenten.POSSESS, "pool1") -- luacheck: ignore 211
      for _ = 1, 2 do
        local ok, err = pcall(tenten.Session, g.url, "owner1", "wrong", tenten.POSSESS, "pool1")
        assert.is_false(ok)
        assert.are.equal(4, err.code, tostring(err))
      end
      local base = { gateway = g.url, owner = "owner1", group = "pool1" }
      local function pool_with(pw)
        local o = { password = pw }
        for k, v in pairs(base) do o[k] = v end
        return tenten.pool(o)
      end
      assert.are.equal(pool_with("secret1"), pool_with("secret1"))
      assert.are_not.equal(pool_with("secret1"), pool_with("wrong"))
      assert.are.equal(1, pool_with("secret1"):stats().busy)
      assert.are.equal(0, pool_with("wrong"):stats().total)
    end)
  end)

  describe("item 13: SIGTERM while the gateway hangs", function()
    it("ends promptly: .part files gone, releases tried within a short grace, exit 130", function()
      fx = fixture.start { upstream = g.base, rules = { "api=getdata,do=stall", "api=reluid,do=stall" } }
      local script = dir .. "/hang.lua"
      gateway.writefile(script, [[
        local tenten = require "tenten"
        local gw, out = arg[1], arg[2]
        local pool = tenten.pool { gateway = gw, owner = "owner1", password = "secret1", group = "pool1" }
        -- two pages a job: the first comes with the query and is written, the second hangs
        pool:pull({ { table = "pub.demo.weather.stations", out = out .. "/hang1.csv" },
          { table = "pub.demo.weather.stations", out = out .. "/hang2.csv" } }, { progress = false, page_rows = 2 })
      ]])
      local out, pidfile = dir .. "/hang.out", dir .. "/hang.pid"
      os.remove(out)
      os.remove(pidfile)
      gateway.sh(string.format("(%s %s %s %s >%s 2>&1 & echo $! >%s; wait $!; echo \"rc=$?\" >>%s) >/dev/null 2>&1 &",
        gateway.q(ttlua), gateway.q(script), gateway.q(fx.gw), gateway.q(dir), gateway.q(out), gateway.q(pidfile),
        gateway.q(out)))
      gateway.wait_for(function()
        return #listing("^hang%d%.csv%.part") == 2 and fx:count("getdata") == 2
      end, 20)
      assert.are.equal(2, #listing("^hang%d%.csv%.part"))
      assert.are.equal(2, fx:count("getdata"))
      local t0 = tenten.now()
      gateway.sh("kill -TERM " .. assert(tonumber(gateway.readfile(pidfile))))
      local text
      gateway.wait_for(function()
        text = gateway.readfile(out) or ""
        return text:find("rc=")
      end, 30)
      local took = tenten.now() - t0
      assert.matches("rc=130", text)
      -- the grace for releases is 2 s; the default stall limit for a reluid would be 120 s
      assert.is_true(took < 15, "took " .. took .. " s")
      assert.are.same({}, listing("^hang%d"))
      assert.are.equal(2, fx:count("reluid")) -- both tried, at once
    end)
  end)

  describe("reads are retried (retry.lua, the `retries` option)", function()
    it("a reset query and failed pages: every row, once; with retries = 0 the error", function()
      fx = fixture.start { upstream = g.base, rules = { "api=querydata,nth=1,do=reset-before",
        "api=getdata,nth=1,do=status:503", "api=getdata,nth=3,do=truncate:20",
        "api=getdata,nth=5,do=body:<out><rc>41</rc><msg>later</msg></out>" } }
      local s <close> = tenten.Session(fx.gw, "plain1", "secret4", tenten.KILL, { backoff = FAST })
      local q = s:query(HOURLY, '<sel value="hour=0"/>')
      q.page_rows = 100
      local n = 0
      for _ in q:rows() do n = n + 1 end
      assert.are.equal(q.nrows, n)
      assert.is_true(n > 300, tostring(n))
      assert.are.equal(2, fx:count("querydata"))
      s:close()
      assert.are.equal(0, fx:stop())
      fx = fixture.start { upstream = g.base, rules = { "api=querydata,nth=1,do=status:503" } }
      local s1 <close> = tenten.Session(fx.gw, "plain1", "secret4", tenten.KILL, { retries = 0 })
      local ok, err = pcall(function() for _ in s1:query(STATIONS, ""):rows() do end end)
      assert.is_false(ok)
      assert.are.equal(tenten.E_HTTP, err.code, tostring(err))
    end)

    it("checks the option", function()
      for _, bad in ipairs { -1, 1.5, "2" } do
        assert.has_error(function() api.conn("tenten.Session", { gateway = g.url, retries = bad }) end)
      end
    end)
  end)
end)
