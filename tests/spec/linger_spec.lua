-- Linger: inside a run, a released ID stays with the pool for `linger` seconds, still logged
-- in, so the next acquire skips reluid, getuid and login. Proved by counting the exchanges the
-- gateway answered (samstatus's <exchanges>), never by timing.
local gateway = require "gateway"
local tenten = require "tenten"

local OWNER = { uid = "owner1", pswd = "secret1", gid = "pool1" }

describe("pool linger", function()
  local g, dir

  setup(function()
    dir = gateway.tmpdir()
    g = gateway.start { dir = dir, db = gateway.demo_db(dir, 0.01) }
  end)

  teardown(function()
    if g then assert.are.equal(0, g:stop()) end
  end)

  -- Exchanges per transaction so far, and the pool's IDs that are not free.
  local function exchanges()
    local n, r = g:exchanges(OWNER)
    local taken = 0
    for _, id in ipairs(r.root:child("samstatus"):all("id")) do
      if id.attrs.free ~= "1" then taken = taken + 1 end
    end
    return n, taken
  end

  -- How many of each transaction fn caused (the samstatus calls that measure excluded).
  local function count(fn)
    local before = exchanges()
    fn()
    local after, taken = exchanges()
    local d = {}
    for k, v in pairs(after) do d[k] = v - (before[k] or 0) end
    d.samstatus = (d.samstatus or 0) - 1
    return d, taken
  end

  local function new_pool(opts)
    local o = { gateway = g.url, owner = "owner1", password = "secret1", group = "pool1", size = 4 }
    for k, v in pairs(opts or {}) do o[k] = v end
    -- a pool per test: the options' key is the same, so close the last one first
    local p = tenten.pool(o)
    p:close()
    return tenten.pool(o)
  end

  -- One query on a pooled session, its rows read: the result fits one page.
  local function query_on(pool)
    local s <close> = pool:session()
    local q = s:query("pub.demo.weather.stations")
    q:run()
    local n = 0
    for _ in q:rows() do n = n + 1 end
    assert(n == q.nrows and n > 0, "rows read: " .. n .. " of " .. tostring(q.nrows))
    return q.nrows
  end

  it("lets 4 tasks run 16 queries on 4 IDs: one getuid, login and reluid each", function()
    local pool = new_pool { linger = 30 }
    local d, taken = count(function()
      tenten.run(function()
        local ok = tenten.parallel({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }, function()
          return query_on(pool)
        end, { concurrency = 4 })
        assert.is_truthy(ok)
        assert.are.equal(4, pool:stats().lingering)
      end)
    end)
    assert.are.equal(4, d.getuid)
    assert.are.equal(4, d.login)
    -- a result of one page is one exchange: querydata, no query, no getdata
    assert.are.equal(16, d.querydata)
    assert.are.equal(0, d.query)
    assert.are.equal(0, d.getdata)
    -- the run's end gave every lingering ID back at once, though 30 s had not passed
    assert.are.equal(4, d.reluid)
    assert.are.equal(0, taken)
    assert.are.equal(0, pool:stats().lingering)
    -- the other 12 sessions: a lingering ID, or one handed straight to a task already waiting
    local st = pool:stats()
    assert.are.equal(12, st.reuses + st.handoffs)
  end)

  it("gives an ID back when its linger time is over, while the run goes on", function()
    local pool = new_pool { linger = 0.2 }
    local d = count(function()
      tenten.run(function()
        query_on(pool)
        assert.are.equal(1, pool:stats().lingering)
        local gone = false
        for _ = 1, 600 do -- poll the pool, in the run, for its timer to give the ID back
          if pool:stats().lingering == 0 and pool:stats().total == 0 then gone = true break end
          tenten.sleep(0.05)
        end
        assert.is_true(gone, "the ID still lingers")
        -- a new acquire after the window asks the platform again
        query_on(pool)
      end)
    end)
    assert.are.equal(2, d.getuid)
    assert.are.equal(2, d.login)
    assert.are.equal(2, d.reluid)
  end)

  it("does not linger outside a run: the script may end right after", function()
    local pool = new_pool { linger = 30 }
    local d, taken = count(function() query_on(pool) end)
    assert.are.equal(1, d.reluid)
    assert.are.equal(0, taken)
    assert.are.equal(0, pool:stats().lingering)
  end)

  it("pool:close() gives lingering IDs back at once and refuses new sessions", function()
    local pool = new_pool { linger = 30 }
    local d, taken = count(function()
      tenten.run(function()
        query_on(pool)
        assert.are.equal(1, pool:stats().lingering)
        pool:close()
        pool:close() -- twice is fine
        assert.are.equal(0, pool:stats().lingering)
        local ok, err = pcall(pool.session, pool)
        assert.is_false(ok)
        assert.are.equal(tenten.E_CLOSED, err.code)
      end)
    end)
    assert.are.equal(1, d.reluid)
    assert.are.equal(0, taken)
  end)

  it("linger = 0 gives every ID back as soon as it is released", function()
    local pool = new_pool { linger = 0 }
    local d = count(function()
      tenten.run(function()
        query_on(pool)
        query_on(pool)
      end)
    end)
    assert.are.equal(2, d.getuid)
    assert.are.equal(2, d.reluid)
  end)

  it("after a resetpool ended the lingering sessions, the next session takes a fresh ID", function()
    local pool = new_pool { linger = 30 }
    local d, taken = count(function()
      tenten.run(function()
        query_on(pool)
        query_on(pool)
        assert.are.equal(1, pool:stats().lingering)
        tenten.resetpool(g.url, "owner1", "secret1", "pool1") -- every session ends, every ID is free
        -- the handed-over session answers rc 35 once: its ID goes back, a fresh one is logged in
        assert.are.equal(3, query_on(pool))
        assert.are.equal(1, pool:stats().lingering)
      end)
    end)
    assert.are.equal(2, d.getuid)
    assert.are.equal(2, d.login)
    assert.are.equal(4, d.querydata) -- three runs, one of them asked twice
    assert.are.equal(2, d.reluid) -- the dead session's ID, and the fresh one at the run's end
    assert.are.equal(0, taken)
  end)

  it("a session ended in the middle of the work keeps its rc 35", function()
    local pool = new_pool { linger = 30 }
    tenten.run(function()
      local s <close> = pool:session()
      s:query("pub.demo.weather.stations"):run()
      tenten.resetpool(g.url, "owner1", "secret1", "pool1")
      local ok, err = pcall(function() return s:query("pub.demo.weather.stations"):run() end)
      assert.is_false(ok)
      assert.are.equal(35, err.code)
    end)
    local _, taken = exchanges()
    assert.are.equal(0, taken)
  end)

  it("refuses a linger that is not a number of seconds", function()
    for _, bad in ipairs { -1, "2", 1 / 0 } do
      local ok, err = pcall(tenten.pool, { gateway = g.url, owner = "owner1", password = "secret1",
        group = "pool1", linger = bad, size = 3 })
      assert.is_false(ok)
      assert.matches("linger", tostring(err))
    end
  end)

  -- A script that lets one ID linger in a run, then does `rest` in that run.
  local function lingering_script(name, rest)
    local script = dir .. "/" .. name
    gateway.writefile(script, string.format([[
      local tenten = require "tenten"
      local pool = tenten.pool { gateway = %q, owner = "owner1", password = "secret1", group = "pool1",
        linger = 60 }
      tenten.run(function()
        local s = pool:session()
        s:close()
        assert(pool:stats().lingering == 1)
        %s
      end)
    ]], g.url, rest))
    return script
  end

  it("os.exit gives lingering IDs back first (tt-lua and stock lua5.4)", function()
    local script = lingering_script("exit.lua", "os.exit(3)")
    local bin = gateway.ttlua
    for _, cmd in ipairs { gateway.q(bin), "lua5.4" } do
      local out, rc = gateway.run(cmd .. " " .. gateway.q(script) .. " 2>&1")
      assert.are.equal(3, rc, out)
      local _, taken = exchanges()
      assert.are.equal(0, taken, cmd)
    end
  end)

  -- SIGPIPE's default would end the process where it stands, IDs taken, as soon as `head` has
  -- what it wants; tenten ignores it, so the script runs to its end and gives them back.
  it("a closed stdout (| head -c 1) does not cut the script short (tt-lua and stock lua5.4)", function()
    local script = lingering_script("pipe.lua", 'for i = 1, 20000 do print(string.rep("x", 100) .. i) end')
    local bin = gateway.ttlua
    for _, cmd in ipairs { gateway.q(bin), "lua5.4" } do
      local line = cmd .. " " .. gateway.q(script) .. " | head -c 1 >/dev/null; echo \"rc=${PIPESTATUS[0]}\""
      local out = gateway.run("bash -c " .. gateway.q(line) .. " 2>&1")
      assert.matches("rc=0", out, nil, true)
      local _, taken = exchanges()
      assert.are.equal(0, taken, cmd)
    end
  end)

  it("a signal gives lingering IDs back (tt-lua, SIGINT)", function()
    local script = dir .. "/linger.lua"
    local ready = dir .. "/linger.ready"
    gateway.writefile(script, string.format([[
      local tenten = require "tenten"
      local pool = tenten.pool { gateway = %q, owner = "owner1", password = "secret1", group = "pool1",
        linger = 60 }
      local s = pool:session()
      s:close()
      assert(pool:stats().lingering == 1)
      io.open(%q, "w"):close()
      tenten.sleep(120)
    ]], g.url, ready))
    local bin = gateway.ttlua
    local pidfile = dir .. "/linger.pid"
    gateway.sh(string.format("(%s %s >/dev/null 2>&1 & echo $! > %s; wait) &", gateway.q(bin),
      gateway.q(script), gateway.q(pidfile)))
    assert.is_true(gateway.wait_for(function() return gateway.exists(ready) end), "the script never got its ID")
    local _, taken = exchanges()
    assert.are.equal(1, taken)
    gateway.sh("kill -INT " .. gateway.readfile(pidfile):match("%d+"))
    assert.is_true(gateway.wait_for(function()
      local _, t = exchanges()
      return t == 0
    end), "the lingering ID was not given back")
  end)
end)
