-- Issue 10, part B: bounded work before and after login, slow clients, macro and ops limits,
-- and an import that keeps databases safe. Each case is the issue's reproducer, scaled down.
local gateway = require "gateway"
local q = gateway.q

local wait_for = gateway.wait_for

describe("request parsing before login (item 5)", function()
  local g, dir

  setup(function()
    dir = gateway.tmpdir()
    g = gateway.start { dir = dir, db = gateway.demo_db(dir, 0.005) }
  end)

  teardown(function()
    if g then assert.are.equal(0, g:stop("TERM")) end
    gateway.sh("rm -rf " .. q(dir))
  end)

  it("answers a 1 MB unterminated-comment body at once (curl gives up after 10 s)", function()
    local body = ("<!--"):rep(250000)
    local r = g:call("query", { uid = "owner1", sid = "1", pswd = "x" }, body, { timeout = 10 })
    assert.are.equal(2, r.rc)
    assert.matches("'%-%-' inside a comment", r.msg)
    r = g:call("query", { uid = "owner1", sid = "1", pswd = "x" }, "<in><!--" .. ("a"):rep(1000000),
      { timeout = 10 })
    assert.are.equal(2, r.rc)
    assert.matches("unterminated comment", r.msg)
  end)

  it("refuses 100,000 attributes on <in> and more than 20,000 elements", function()
    local attrs = {}
    for i = 1, 100000 do attrs[i] = ("a%d=\"1\""):format(i) end
    local r = g:call("query", { uid = "owner1", sid = "1", pswd = "x" },
      "<in " .. table.concat(attrs, " ") .. "/>", { timeout = 10 })
    assert.are.equal(2, r.rc)
    assert.matches("more than 256 attributes", r.msg)
    r = g:call("query", { uid = "owner1", sid = "1", pswd = "x" },
      "<in>" .. ("<a/>"):rep(20001) .. "</in>", { timeout = 10 })
    assert.are.equal(2, r.rc)
    assert.matches("more than 20000 elements", r.msg)
    -- 256 attributes are still fine
    local ok = {}
    for i = 1, 256 do ok[i] = ("a%d=\"1\""):format(i) end
    r = g:call("login", { uid = "owner1", pswd = "secret1" }, "<in " .. table.concat(ok, " ") .. "/>")
    assert.are.equal(0, r.rc)
  end)

  it("caps the body of login and the pool calls at max_login_body", function()
    local big = "<in>" .. ("x"):rep(20000) .. "</in>"
    for _, api in ipairs { "login", "getuid", "samstatus" } do
      local r = g:call(api, { uid = "owner1", pswd = "secret1", gid = "pool1" }, big)
      assert.are.equal(2, r.rc)
      assert.matches("larger than 16384 bytes, the most a " .. api .. " request may carry", r.msg)
    end
    -- a query may still send up to max_body
    local s = g:login("owner1", "secret1")
    local r = g:scall(s, "query", "<in><name>pub.demo.weather.stations</name><ops><sel value=\"elev>0\"/>"
      .. "</ops><!--" .. ("x"):rep(20000) .. "--></in>")
    assert.are.equal(0, r.rc)
  end)
end)

describe("macro and ops limits (items 7 and 8)", function()
  local g, dir, s

  setup(function()
    dir = gateway.tmpdir()
    local config = gateway.default_config()
    config.max_ops = 50
    g = gateway.start { dir = dir, db = gateway.demo_db(dir, 0.005), config = config }
    s = g:login("owner1", "secret1")
  end)

  teardown(function()
    if g then assert.are.equal(0, g:stop("TERM")) end
    gateway.sh("rm -rf " .. q(dir))
  end)

  local function query(ops)
    return g:scall(s, "query", "<in><name>pub.demo.weather.stations</name><ops>" .. ops ..
      "</ops></in>")
  end

  it("answers deep nesting with rc 10 before parsing it", function()
    local r = query('<sel value="' .. ("("):rep(30000) .. "elev" .. (")"):rep(30000) .. '>0"/>')
    assert.are.equal(10, r.rc)
    assert.matches("brackets nested deeper than the limit of 64", r.msg)
    r = query('<willbe name="x" value="' .. ("abs("):rep(65) .. "elev" .. (")"):rep(65) .. '"/>')
    assert.are.equal(10, r.rc)
    -- nesting within the limit goes on to the compiler as before
    r = query('<sel value="' .. ("("):rep(5) .. "elev>0" .. (")"):rep(5) .. '"/>')
    assert.are.equal(0, r.rc)
  end)

  it("answers an expression over 64 KB with rc 10", function()
    local r = query('<sel value="' .. ("elev=1|"):rep(10000) .. 'elev=1"/>')
    assert.are.equal(10, r.rc)
    assert.matches("longer than the limit of 65536", r.msg)
  end)

  it("caps the ops of one query at max_ops, nested ones included", function()
    local r = query(('<sel value="elev>0"/>'):rep(51))
    assert.are.equal(10, r.rc)
    assert.matches("at most 50", r.msg)
    r = query(('<sel value="elev>0"/>'):rep(50))
    assert.are.equal(0, r.rc)
    -- ops nested in a link count too
    local inner = ('<sel value="elev>0"/>'):rep(45)
    r = query('<link table2="pub.demo.weather.stations" col="id" col2="id">' .. inner .. "</link>" ..
      ('<sel value="elev>0"/>'):rep(5))
    assert.are.equal(10, r.rc)
    assert.matches("at most 50", r.msg)
  end)
end)

describe("slow clients (item 6)", function()
  local g, dir, hostport

  setup(function()
    dir = gateway.tmpdir()
    local config = gateway.default_config()
    config.connection_timeout = 1
    config.per_ip_connections = 2
    g = gateway.start { dir = dir, config = config }
    hostport = g.base:match("http://([^/]+)/")
  end)

  teardown(function()
    if g then assert.are.equal(0, g:stop("TERM")) end
    gateway.sh("rm -rf " .. q(dir))
  end)

  -- A client that sends a header a byte every 0.2 s (MHD's idle timeout never fires) in the
  -- background, for at most `n` bytes. Returns a function that ends it (kills its curl).
  local function trickle(n, to)
    local pidfile = dir .. "/trickle-" .. tostring(math.random(1e9))
    local feed = "printf 'GET /cgi-bin/gw?api=login HTTP/1.1\\r\\n'; i=0; while [ $i -lt " .. n ..
      " ]; do printf 'X'; sleep 0.2; i=$((i+1)); done"
    gateway.sh("(" .. feed .. ") | curl -s telnet://" .. (to or hostport) .. " >/dev/null 2>&1 & echo $! >" ..
      q(pidfile))
    return function() gateway.sh("kill $(cat " .. q(pidfile) .. ") 2>/dev/null") end
  end

  it("closes a connection that trickles its header, with a log line", function()
    trickle(60)
    assert.is_true(wait_for(function()
      return g:log():find("no complete request header within 1 s %(connection_timeout%)") ~= nil
    end, 15), g:log())
  end)

  it("turns away a client address past per_ip_connections, with a log line", function()
    -- A gateway of its own whose connection_timeout cannot cut the two slow clients before
    -- a loaded machine gets round to the third: the slots are freed by ending them.
    local config = gateway.default_config()
    config.connection_timeout = 60
    config.per_ip_connections = 2
    local g2 = gateway.start { config = config }
    finally(function() g2:stop() end)
    local to = g2.base:match("http://([^/]+)/")
    local stop1, stop2 = trickle(300, to), trickle(300, to)
    -- Both slow clients must hold their slots before the first login tries: a login that got
    -- in between them would take the second one's slot instead.
    local port = string.format("%04X", tonumber(to:match(":(%d+)$")))
    local function established()
      local n = 0
      for _, file in ipairs { "/proc/net/tcp", "/proc/net/tcp6" } do
        for line in (gateway.readfile(file) or ""):gmatch("[^\n]+") do
          local lport, st = line:match("^%s*%d+: %x+:(%x+) %x+:%x+ (%x+)")
          if lport == port and st == "01" then n = n + 1 end
        end
      end
      return n
    end
    assert.is_true(wait_for(function() return established() >= 2 end, 30))
    local refused = wait_for(function()
      local r = g2:call("login", { uid = "owner1", pswd = "secret1" }, nil, { timeout = 5 })
      return r.rc == nil
    end, 30)
    assert.is_true(refused)
    assert.matches("at most 2 open connections %(per_ip_connections%)", g2:log())
    -- once the slow ones are gone, the address is served again
    stop1()
    stop2()
    assert.is_true(wait_for(function()
      return g2:call("login", { uid = "owner1", pswd = "secret1" }).rc == 0
    end, 30))
  end)

  it("answers an oversized request line with an <out> reply, and logs it", function()
    local r = g:call("login", { uid = "owner1", pswd = ("x"):rep(40000) })
    assert.are.equal(414, r.status)
    assert.are.equal(1, r.rc)
    assert.is_true(wait_for(function()
      return g:log():find("answered HTTP 414 to 127.0.0.1 (POST, ", 1, true) ~= nil
    end, 5))
    -- the rest of the refusals are in security_heads_spec.lua
  end)
end)

describe("import keeps databases safe (items 13 and 14)", function()
  local dir

  setup(function() dir = gateway.tmpdir() end)
  teardown(function() gateway.sh("rm -rf " .. q(dir)) end)

  local function import(db, csv_text, extra)
    local path = dir .. "/in.csv"
    gateway.writefile(path, csv_text)
    return gateway.run(q(gateway.bin) .. " import --db " .. q(db) .. " --table test.t --csv " ..
      q(path) .. " " .. (extra or "") .. " 2>&1")
  end

  local exists = gateway.exists

  it("does not create a database unless asked (--create)", function()
    local out, rc = import(dir .. "/typo.db", "a:i\n1\n")
    assert.are.equal(1, rc)
    assert.matches("no database .* %(give %-%-create", out)
    assert.is_false(exists(dir .. "/typo.db"))
    out, rc = import(dir .. "/new.db", "a:i\nnot a number\n", "--create")
    assert.are.equal(1, rc, out)
    assert.is_false(exists(dir .. "/new.db"))
    out, rc = import(dir .. "/new.db", "a:i\n1\n", "--create")
    assert.are.equal(0, rc, out)
    out, rc = import(dir .. "/new.db", "a:i\n2\n")
    assert.are.equal(0, rc, out)
    assert.matches("version 2", out)
  end)

  it("leaves another program's SQLite file and a non-SQLite file exactly as they were", function()
    local other = dir .. "/other.db"
    assert.are.equal(0, select(2, gateway.run("sqlite3 " .. q(other) ..
      " 'CREATE TABLE people(name); INSERT INTO people VALUES (1);'")))
    local before = gateway.readfile(other)
    local out, rc = import(other, "a:i\n1\n", "--create")
    assert.are.equal(1, rc)
    assert.matches("not a tt%-gateway one", out)
    assert.are.equal(before, gateway.readfile(other))
    assert.is_false(exists(other .. "-wal"))
    out, rc = gateway.run(q(gateway.bin) .. " demo --db " .. q(other) .. " --scale 0.001 2>&1")
    assert.are.equal(1, rc, out)
    assert.are.equal(before, gateway.readfile(other))
    local junk = dir .. "/junk.db"
    gateway.writefile(junk, "not a database at all\n")
    out, rc = import(junk, "a:i\n1\n")
    assert.are.equal(1, rc)
    assert.matches("not an SQLite database", out)
    assert.are.equal("not a database at all\n", gateway.readfile(junk))
  end)

  it("caps the record length (--max-record), and the fields of a record", function()
    local db = dir .. "/cap.db"
    local out, rc = import(db, "a\n" .. ("x"):rep(5000) .. "\n", "--create --max-record 4096")
    assert.are.equal(1, rc)
    assert.matches("line 2: a record longer than 4096 bytes", out)
    assert.is_false(exists(db))
    out, rc = import(db, "a\n" .. (","):rep(100000) .. "\n", "--create")
    assert.are.equal(1, rc)
    assert.matches("line 2: more than 1999 fields", out)
    out, rc = import(db, "a\n" .. ("x"):rep(5000) .. "\n", "--create --max-record 8192")
    assert.are.equal(0, rc, out)
  end)
end)
