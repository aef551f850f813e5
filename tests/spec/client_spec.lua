-- The tenten module against a real tt-gateway: sessions, queries, tasks and pools.
-- Run by ctest under stock lua5.4 (require "tenten") and again under tt-lua.
local gateway = require "gateway"
local tenten = require "tenten"

local CSV = "id:i,name:a,score:f\n1,alpha,1.5\n2,\"b,eta\",2\n3,,\n4,\"say \"\"hi\"\"\",4.25\n5,epsilon,-5\n"

describe("tenten client", function()
  local g, dir, db, url

  setup(function()
    dir = gateway.tmpdir()
    db = gateway.demo_db(dir, 0.01)
    assert.are.equal(0, gateway.import(db, "test.small", CSV, dir))
    local config = gateway.default_config()
    config.groups[1].size = 2
    config.page_rows = 700 -- small pages: every pull here spans many getdata calls
    g = gateway.start { dir = dir, db = db, config = config }
    url = g.url
  end)

  teardown(function()
    if g then g:stop() end
  end)

  before_each(function()
    tenten.resetpool(url, "owner1", "secret1", "pool1")
  end)

  local function busy_ids()
    local n = 0
    for _, id in ipairs(tenten.samstatus(url, "owner1", "secret1", "pool1").ids) do
      if id.state == "BUSY" or id.state == "MARKED" then n = n + 1 end
    end
    return n
  end

  -- No ID is leased any more: the gateway's busy IDs are exactly those lingering in the pool.
  -- A top-level tenten.run gives those back at its end; under tt-lua this spec is itself a run,
  -- so they may still linger: give them back, then count what the gateway holds.
  local function busy_after_release()
    local p = tenten.pool { gateway = url, owner = "owner1", password = "secret1", group = "pool1" }
    assert.are.equal(0, p:stats().busy)
    assert.are.equal(p:stats().lingering, busy_ids())
    p:release_lingering()
    return busy_ids()
  end

  it("runs a query and streams its rows with typed values and N/A in place", function()
    local s <close> = tenten.Session(url, "plain1", "secret4", tenten.KILL)
    local q = s:query("test.small", "")
    q:run()
    assert.are.equal(5, q.nrows)
    assert.are.same({ "id", "name", "score" }, { q.columns[1].name, q.columns[2].name, q.columns[3].name })
    assert.are.same({ "i", "a", "f" }, { q.columns[1].type, q.columns[2].type, q.columns[3].type })
    local rows = {}
    for row in q:rows() do rows[#rows + 1] = row end
    assert.are.equal(5, #rows)
    assert.are.same({ 1, "alpha", 1.5 }, rows[1])
    assert.are.equal("b,eta", rows[2][2])
    assert.are.equal(3, #rows[3])
    assert.are.equal(tenten.NA, rows[3][2])
    assert.are.equal(tenten.NA, rows[3][3])
    assert.are.equal(math.type(rows[1][1]), "integer")
    local d = q:dictslice(1, 3)
    assert.are.same({ 2, 3 }, d.id)
    assert.are.same({ 1, 2, 3, 4, 5 }, q:coldict().id)
  end)

  it("pulls two tables into two files at once, each task on its own pool session", function()
    local files = { dir .. "/stations.csv", dir .. "/item.tsv" }
    local tables = { "pub.demo.weather.stations", "pub.demo.retail.item" }
    tenten.run(function()
      local tasks = {}
      for i = 1, 2 do
        tasks[i] = tenten.spawn(function()
          local s <close> = tenten.Session(url, "owner1", "secret1", tenten.POSSESS, "pool1")
          return s:query(tables[i], ""):write(files[i])
        end)
      end
      local ok, outcomes = tenten.wait_all(tasks)
      assert.is_true(ok, tostring(outcomes[1][2]) .. " " .. tostring(outcomes[2][2]))
    end)
    -- the files hold exactly the rows the gateway has
    local s = g:login("admin1", "secret2")
    for i = 1, 2 do
      local want = g:pull(s, tables[i], "", 5000)
      local sep = i == 1 and "," or "\t"
      local lines = {}
      for line in io.lines(files[i]) do lines[#lines + 1] = line:gsub("\r$", "") end -- csv ends lines CRLF
      assert.are.equal(#want + 1, #lines)
      for r, row in ipairs(want) do
        local cells = {}
        for c, v in ipairs(row) do cells[c] = v or "" end
        assert.are.equal(table.concat(cells, sep), lines[r + 1])
      end
    end
    assert.are.equal(0, busy_after_release())
  end)

  it("queues 8 tasks on a pool of 2, never uses more than 2, and hands IDs over locally", function()
    local p = tenten.pool { gateway = url, owner = "owner1", password = "secret1", group = "pool1", wait = 60 }
    local before = p:stats() -- one pool object per process: earlier cases used it too
    local running, most, over = 0, 0, 0
    tenten.run(function()
      local watcher = tenten.spawn(function()
        while true do
          if busy_ids() > 2 then over = over + 1 end
          tenten.sleep(0.05)
        end
      end)
      local results = tenten.parallel({ 1, 2, 3, 4, 5, 6, 7, 8 }, function(i)
        local s <close> = p:session()
        running = running + 1
        most = math.max(most, running)
        local q = s:query("pub.demo.weather.hourly90", '<sel value="i_<=' .. i .. '"/>'):run()
        tenten.sleep(0.1)
        running = running - 1
        return q.nrows
      end, { concurrency = 8 })
      watcher:cancel()
      assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 8 }, results)
    end)
    assert.are.equal(2, most)
    assert.are.equal(0, over)
    local st = p:stats()
    -- with wait = 60, finishing at all means released IDs went straight to the next task
    assert.is_true(st.handoffs - before.handoffs >= 6)
    assert.are.equal(8, st.acquisitions - before.acquisitions)
    assert.are.equal(0, st.busy)
    assert.are.equal(0, busy_after_release())
  end)

  it("closes per mode: KILL logs out, POSSESS leaves the session running; twice is fine", function()
    local s = tenten.Session(url, "plain1", "secret4", tenten.KILL)
    local sid = s.sid
    s:close()
    s:close()
    assert.is_true(s:closed())
    local r = g:call("dir", { uid = "plain1", sid = sid, pswd = s._enc })
    assert.are.equal(35, r.rc)
    local p = tenten.Session(url, "plain1", "secret4", tenten.POSSESS)
    p:close()
    r = g:call("dir", { uid = "plain1", sid = p.sid, pswd = p._enc })
    assert.are.equal(0, r.rc)
    local ok, err = pcall(p.query, p, "test.small")
    assert.is_false(ok)
    assert.is_true(tenten.is_error(err))
    assert.are.equal(tenten.E_CLOSED, err.code)
  end)

  it("releases the ID of a pool session on <close>, on close, and when its task fails", function()
    do
      local s <close> = tenten.Session(url, "owner1", "secret1", tenten.POSSESS, "pool1")
      assert.matches("^pool1_%d$", s.username)
      assert.are.equal("owner1", s.owner)
      assert.are.equal("pool1", s.group)
      assert.are.equal(1, busy_ids())
    end
    assert.are.equal(0, busy_after_release())
    local ok, err = pcall(tenten.run, function()
      local t = tenten.spawn(function()
        local s <close> = tenten.Session(url, "owner1", "secret1", tenten.POSSESS, "pool1")
        s:query("test.small"):run()
        error("boom")
      end)
      local tok, terr = t:wait()
      assert.is_false(tok)
      assert.matches("boom", tostring(terr))
      error("outer " .. tostring(terr))
    end)
    assert.is_false(ok)
    assert.matches("outer", tostring(err))
    assert.are.equal(0, busy_after_release())
  end)

  it("releases the ID when a waiting task is cancelled", function()
    tenten.run(function()
      local t = tenten.spawn(function()
        local s <close> = tenten.Session(url, "owner1", "secret1", tenten.POSSESS, "pool1")
        tenten.sleep(60)
        return s
      end)
      tenten.sleep(0.3)
      assert.are.equal(1, busy_ids())
      assert.is_true(t:cancel())
      local ok, err = t:wait()
      assert.is_false(ok)
      assert.are.equal(tenten.E_CANCELLED, err.code)
    end)
    assert.are.equal(0, busy_after_release())
  end)

  it("raises error objects: bad password (4), not the owner (37), a killed session (35)", function()
    local ok, err = pcall(tenten.Session, url, "owner1", "wrong", tenten.KILL)
    assert.is_false(ok)
    assert.is_true(tenten.is_error(err))
    assert.are.equal(4, err.code)
    assert.are.equal("login", err.api)
    assert.are.equal("owner1", err.uid)
    assert.matches("^tenten: login, uid owner1: .+ %(code 4%)$", tostring(err))
    ok, err = pcall(tenten.flushpool, url, "plain1", "secret4", "pool1")
    assert.is_false(ok)
    assert.are.equal(37, err.code)
    local a = tenten.Session(url, "admin1", "secret2", tenten.KILL)
    local b = tenten.Session(url, "admin1", "secret2", tenten.KILL)
    ok, err = pcall(function() return a:query("test.small"):run() end)
    assert.is_false(ok)
    assert.are.equal(35, err.code)
    b:close()
    a:close()
  end)

  it("lets a plain coroutine make blocking calls, inside a task or outside, without hanging", function()
    local function counts()
      return coroutine.wrap(function()
        local s <close> = tenten.Session(url, "owner1", "secret1", tenten.POSSESS, "pool1")
        for _, t in ipairs { "test.small", "pub.demo.weather.stations" } do
          coroutine.yield(s:query(t, ""):run().nrows)
        end
      end)
    end
    local gen = counts()
    assert.are.same({ 5, 3 }, { gen(), gen() })
    assert.is_nil(gen()) -- finishing the generator closes its session
    local got = tenten.run(function()
      local g2 = counts()
      local other = tenten.spawn(function() tenten.sleep(0.05) return "ran" end)
      local a, b = g2(), g2()
      g2()
      return { a, b, select(2, other:wait()) }
    end)
    assert.are.same({ 5, 3, "ran" }, got)
    -- a bare yield inside a task fails that task with a clear message instead of hanging
    local ok, err = pcall(tenten.run, function() coroutine.yield() end)
    assert.is_false(ok)
    assert.matches("coroutine.yield called in a task", tostring(err))
    assert.are.equal(0, busy_after_release())
  end)

  it("raises at once on misuse, naming the argument", function()
    local ok, err = pcall(tenten.Session, 42, "u", "p", tenten.KILL)
    assert.is_false(ok)
    assert.matches("argument 'gateway'", err)
    for _, case in ipairs {
      { "mode", tenten.Session, url, "u", "p", "sometimes" },
      { "fn", tenten.spawn, "not a function" },
      { "seconds", tenten.sleep, -1 },
      { "table", tenten.BaseQuery, 7 },
    } do
      ok, err = pcall(table.unpack(case, 2))
      assert.is_false(ok)
      assert.matches("argument '" .. case[1] .. "'", err)
    end
  end)

  it("reports a stopped gateway as a transport error, without hanging", function()
    local config = gateway.default_config()
    config.page_rows = 200
    local g2 = gateway.start { dir = dir, db = db, config = config }
    local s = tenten.Session(g2.url, "plain1", "secret4", tenten.KILL, { timeout = { 2, 5 } })
    local q = s:query("pub.demo.weather.hourly90", ""):run()
    local n = 0
    local ok, err = pcall(function()
      for _ in q:rows() do
        n = n + 1
        if n == 500 then g2:stop("KILL") end
      end
    end)
    assert.is_false(ok)
    assert.is_true(tenten.is_error(err), tostring(err))
    assert.is_true(err.code < 0, tostring(err))
    assert.is_true(n >= 500)
  end)

  it("writes csv, tsv and jsonl, and keeps the whole exchange in a log without passwords", function()
    local log = dir .. "/exchange.log"
    local s <close> = tenten.Session(url, "plain1", "secret4", tenten.KILL, { logfile = log, log_bodies = true })
    local q = s:query("test.small", '<sel value="id<=3"/>')
    assert.are.equal(3, q:write(dir .. "/o.csv"))
    q:write(dir .. "/o.tsv")
    q:write(dir .. "/o.jsonl")
    assert.are.equal('id,name,score\r\n1,alpha,1.5\r\n2,"b,eta",2\r\n3,,\r\n', gateway.readfile(dir .. "/o.csv"))
    assert.are.equal("id\tname\tscore\n1\talpha\t1.5\n2\tb,eta\t2\n3\t\t\n", gateway.readfile(dir .. "/o.tsv"))
    assert.are.equal('{"id":1,"name":"alpha","score":1.5}\n{"id":2,"name":"b,eta","score":2}\n' ..
      '{"id":3,"name":null,"score":null}\n', gateway.readfile(dir .. "/o.jsonl"))
    local text = gateway.readfile(log)
    assert.matches("api=login", text)
    assert.matches("api=getdata", text)
    assert.is_nil(text:find("secret4", 1, true))
    assert.is_nil(text:find(s._enc, 1, true))
    assert.matches("<pswd>%*%*%*</pswd>", text) -- reply bodies are logged, masked
    assert.matches("<rc>0</rc>", text)
    local ok, err = pcall(q.write, q, dir .. "/no/such/dir/x.csv")
    assert.is_false(ok)
    assert.are.equal(tenten.E_IO, err.code)
  end)

  it("takes credentials from TT_GATEWAY, TT_USER, TT_PASSWORD, TT_GROUP", function()
    local lua = "lua5.4"
    local script = dir .. "/env.lua"
    gateway.writefile(script, [[
      local tenten = require "tenten"
      local s <close> = tenten.session{}
      print(s.username, s.group)
    ]])
    local cmd = string.format("TT_GATEWAY=%s TT_USER=owner1 TT_PASSWORD=secret1 TT_GROUP=pool1 %s %s 2>&1",
      gateway.q(url), lua, gateway.q(script))
    local out, rc = gateway.run(cmd)
    assert.are.equal(0, rc, out)
    assert.matches("^pool1_%d\tpool1", out)
  end)

  it("warms the pool, running base queries on each warmed ID", function()
    local n = tenten.warmpool(url, "owner1", "secret1", "pool1",
      { tenten.BaseQuery("pub.demo.weather.stations", '<sel value="state=\'NY\'"/>') })
    assert.are.equal(2, n)
    local st = tenten.samstatus(url, "owner1", "secret1", "pool1")
    assert.are.equal(2, st.free)
    for _, id in ipairs(st.ids) do assert.are.equal("WARM", id.state) end
  end)
end)
