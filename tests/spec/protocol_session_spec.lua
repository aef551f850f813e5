-- XML API v3 over HTTP: login/logout, kill modes, request handling and bad input.
local gateway = require "gateway"

describe("tt-gateway sessions", function()
  local g

  setup(function()
    local dir = gateway.tmpdir()
    g = gateway.start { dir = dir, db = gateway.demo_db(dir, 0.005) }
  end)

  teardown(function()
    if g then assert.are.equal(0, g:stop("TERM")) end
  end)

  it("logs in and returns a sid and a per-session password", function()
    local s, r = g:login("owner1", "secret1")
    assert.are.equal(0, r.rc)
    assert.matches("^%d+$", s.sid)
    assert.matches("^__%x+$", s.pswd)
    assert.are_not.equal("secret1", s.pswd)
    -- every later call presents sid and the encrypted password
    local d = g:scall(s, "dir")
    assert.are.equal(0, d.rc)
    local bad = g:call("dir", { uid = "owner1", sid = s.sid, pswd = "secret1" })
    assert.are.equal(4, bad.rc)
  end)

  it("answers bad credentials with rc 4", function()
    assert.are.equal(4, g:call("login", { uid = "owner1", pswd = "wrong" }).rc)
    assert.are.equal(4, g:call("login", { uid = "nobody", pswd = "secret1" }).rc)
    assert.are.equal(4, g:call("login", { uid = "owner1" }).rc)
  end)

  it("answers a missing uid with rc 3, a missing api with rc 6, an unknown api with rc 7", function()
    assert.are.equal(3, g:call("login", { pswd = "x" }).rc)
    assert.are.equal(3, g:call("getuid", { pswd = "x", gid = "pool1" }).rc)
    local r = g:call(nil, { uid = "owner1", pswd = "secret1" })
    assert.are.equal(6, r.rc)
    r = g:call("frobnicate", { uid = "owner1" })
    assert.are.equal(7, r.rc)
    assert.matches("frobnicate", r.msg)
  end)

  it("kill=no refuses a second session with rc 5; kill=auth only checks", function()
    local s = g:login("plain1", "secret4", "yes")
    local r = g:call("login", { uid = "plain1", pswd = "secret4", kill = "no" })
    assert.are.equal(5, r.rc)
    r = g:call("login", { uid = "plain1", pswd = "secret4", kill = "auth" })
    assert.are.equal(0, r.rc)
    assert.is_nil(r.root:get("sid"))
    assert.are.equal(0, g:scall(s, "dir").rc) -- auth touched nothing
    assert.are.equal(4, g:call("login", { uid = "plain1", pswd = "nope", kill = "auth" }).rc)
    assert.are.equal(9, g:call("login", { uid = "plain1", pswd = "secret4", kill = "maybe" }).rc)
    g:scall(s, "logout")
    assert.are.equal(0, g:call("login", { uid = "plain1", pswd = "secret4", kill = "no" }).rc)
  end)

  it("kill=possess attaches to the running session; kill=yes replaces it (old sid: rc 35)", function()
    local a = g:login("admin1", "secret2", "yes")
    local b = g:login("admin1", "secret2", "possess")
    assert.are.equal(a.sid, b.sid)
    assert.are.equal(a.pswd, b.pswd)
    local c = g:login("admin1", "secret2", "yes")
    assert.are_not.equal(a.sid, c.sid)
    local r = g:scall(a, "dir")
    assert.are.equal(35, r.rc)
    assert.are.equal(0, g:scall(c, "dir").rc)
    -- possess with no running session starts one
    g:scall(c, "logout")
    local d = g:login("admin1", "secret2", "possess")
    assert.are.equal(0, g:scall(d, "dir").rc)
  end)

  it("logout ends the session; a dead or made-up sid gets rc 35", function()
    local s = g:login("other1", "secret3")
    assert.are.equal(0, g:scall(s, "logout").rc)
    assert.are.equal(35, g:scall(s, "dir").rc)
    assert.are.equal(35, g:scall(s, "logout").rc)
    assert.are.equal(35, g:call("dir", { uid = "other1", sid = "1234567890", pswd = s.pswd }).rc)
    assert.are.equal(9, g:call("dir", { uid = "other1", sid = "abc", pswd = s.pswd }).rc) -- malformed
    assert.are.equal(35, g:call("dir", { uid = "other1", pswd = s.pswd }).rc)
  end)

  it("takes GET and POST on every path ending in /gw or /gw.k", function()
    for _, path in ipairs { "/cgi-bin/gw", "/cgi-bin/gw.k", "/prod-latest/gw", "/gw", "/gw.k",
                            "/cgi-bin/prod-stable/gw.k" } do
      for _, method in ipairs { "GET", "POST" } do
        local r = g:call("login", { uid = "plain1", pswd = "secret4", kill = "possess" },
          nil, { path = path, method = method })
        assert.are.equal(200, r.status)
        assert.are.equal(0, r.rc, path .. " " .. method)
      end
    end
    local r = g:call("login", { uid = "plain1", pswd = "secret4" }, nil, { path = "/cgi-bin/other" })
    assert.are.equal(404, r.status)
    assert.are.equal(1, r.rc)
    r = g:call("login", { uid = "plain1", pswd = "secret4" }, nil, { method = "PUT" })
    assert.are.equal(405, r.status)
  end)

  it("refuses a body that is not XML rooted at <in> with rc 2", function()
    local s = g:login("owner1", "secret1", "possess")
    for _, body in ipairs { "<in><name>x", "<in><name>x</nam></in>", "plain text", "<out></out>",
                            "<in>&bogus;</in>", "<in></in><in></in>" } do
      local r = g:scall(s, "query", body)
      assert.are.equal(2, r.rc, body)
      assert.matches("XML error", r.msg)
    end
    -- the session is still fine
    assert.are.equal(0, g:scall(s, "dir").rc)
  end)

  it("does not expand entities that point outside the document", function()
    local s = g:login("owner1", "secret1", "possess")
    local body = '<?xml version="1.0"?><!DOCTYPE in [<!ENTITY x SYSTEM "file:///etc/passwd">]>' ..
      "<in><name>&x;</name></in>"
    local r = g:scall(s, "tabinfo", body)
    assert.are_not.equal(0, r.rc)
    assert.is_nil((r.raw or ""):find("root:", 1, true))
  end)

  it("refuses an oversized body with rc 2 and keeps serving", function()
    local s = g:login("owner1", "secret1", "possess")
    local big = "<in><name>" .. string.rep("x", 5 * 1024 * 1024) .. "</name></in>"
    local r = g:scall(s, "tabinfo", big)
    assert.are.equal(413, r.status) -- refused from its Content-Length, before it is read
    assert.are.equal(2, r.rc)
    assert.matches("larger than", r.msg)
    assert.are.equal(0, g:scall(s, "dir").rc)
  end)

  it("answers apiversion other than 3 with rc 9", function()
    assert.are.equal(9, g:call("login", { uid = "owner1", pswd = "secret1", apiversion = 2 }).rc)
  end)

  it("logs one line per request and never a password", function()
    g:call("login", { uid = "owner1", pswd = "secret1", kill = "possess" })
    local log = g:log()
    assert.matches("api=login uid=owner1", log)
    assert.is_nil(log:find("secret1", 1, true))
    assert.is_nil(log:find("pswd", 1, true))
  end)
end)

describe("tt-gateway serve", function()
  it("prints the real port for port 0 and stops cleanly on SIGINT", function()
    local g = gateway.start {}
    assert.matches("^http://127%.0%.0%.1:%d+/$", g.base)
    assert.is_not.equal("0", g.base:match(":(%d+)/$"))
    assert.are.equal(0, g:call("login", { uid = "owner1", pswd = "secret1" }).rc)
    assert.are.equal(0, g:stop("INT"))
    assert.matches("stopped", g:log())
  end)

  it("refuses unknown options wherever they stand", function()
    local out, rc = gateway.run(gateway.q(gateway.bin) .. " import --db x.db --table a.b --csv f.csv --bogus 1 2>&1")
    assert.are.equal(2, rc)
    assert.matches("unknown option '%-%-bogus'", out)
  end)

  it("refuses text that is not UTF-8 on import, naming line and column", function()
    local dir = gateway.tmpdir()
    local rc, out = gateway.import(dir .. "/u.db", "test.bad", "a:i,t:a\n1,ok\n2,caf\xe9\n", dir)
    assert.are.equal(1, rc)
    assert.matches("line 3, column 2 %(t%)", out)
    assert.matches("not valid UTF%-8", out)
  end)

  it("refuses a database that does not exist instead of serving an empty one", function()
    local dir = gateway.tmpdir()
    local cfg = dir .. "/cfg.lua"
    gateway.writefile(cfg, "return { database = 'missing.db', users = {} }")
    local out, rc = gateway.run(gateway.q(gateway.bin) .. " serve --config " .. gateway.q(cfg) .. " 2>&1")
    assert.are.equal(1, rc)
    assert.matches("missing.db", out)
    assert.matches("tt%-gateway demo", out)
  end)

  it("refuses a bad config with a message naming the field", function()
    local dir = gateway.tmpdir()
    local cfg = dir .. "/bad.lua"
    gateway.writefile(cfg, "return { database = 'x.db', users = { { uid = 'a' } } }")
    local out, rc = gateway.run(gateway.q(gateway.bin) .. " serve --config " .. gateway.q(cfg) .. " 2>&1")
    assert.are.equal(1, rc)
    assert.matches("users%[1%]", out)
    out, rc = gateway.run(gateway.q(gateway.bin) .. " serve 2>&1")
    assert.are.equal(2, rc)
    assert.matches("%-%-config is required", out)
    local good = dir .. "/good.lua"
    gateway.run("sqlite3 " .. gateway.q(dir .. "/x.db") .. " 'CREATE TABLE t(a); DROP TABLE t;'")
    gateway.writefile(good, "return { database = 'x.db', users = {} }")
    out, rc = gateway.run(gateway.q(gateway.bin) .. " serve --config " .. gateway.q(good) ..
      " --listen nonsense 2>&1")
    assert.are.equal(1, rc)
    assert.matches("bad listen address 'nonsense'", out)
  end)
end)
