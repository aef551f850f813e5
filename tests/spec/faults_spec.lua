-- Faults between the client and a real tt-gateway (issue 9): the real client drives the real
-- gateway through tt-fixture's proxy, which injects one fault per case. One `describe` per
-- issue item; the scheduler's items (14-16) are in sched_spec.lua, which needs no gateway.
local gateway = require "gateway"
local fixture = require "fixture"
local tenten = require "tenten"
local api = require "tenten.api"

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
    local n = {}
    for _, id in ipairs(tenten.samstatus(g.url, "owner1", "secret1", "pool1").ids) do
      n[id.state] = (n[id.state] or 0) + 1
    end
    return n
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
      fx = fixture.start { upstream = g.base, rules = { "api=query,do=stall" } }
      local s <close> = tenten.Session(fx.gw, "plain1", "secret4", tenten.KILL, false, { stall = 1 })
      local ok, err, took = timed(function() s:query("pub.demo.weather.stations", ""):run() end)
      assert.is_false(ok)
      assert.is_true(tenten.is_error(err), tostring(err))
      assert.are.equal(tenten.E_TIMEOUT, err.code, tostring(err))
      assert.matches("stalled", err.msg)
      assert.is_true(took < 20, "took " .. took .. " s")
    end)

    it("a page cut off mid-body, stall per kind, on a pool session: the ID comes back", function()
      fx = fixture.start { upstream = g.base, rules = { "api=getdata,do=stall-body:40" } }
      local s = tenten.Session(fx.gw, "owner1", "secret1", tenten.POSSESS, "pool1",
        { stall = { getdata = 1 } })
      local q = s:query("pub.demo.weather.stations", "")
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
end)
