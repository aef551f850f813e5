-- Errors that say what to do (issue 12, items 12 and 13): a missing TT_* variable is named, a
-- bad URL is echoed, a group that may not exist gets a hint, and tt-lua prints an uncaught
-- error without the frames of tenten's own modules (TT_TRACEBACK=1 keeps them).
local gateway = require "gateway"
local tenten = require "tenten"

local build = os.getenv("TT_BUILD_DIR") or "build"
local bin = build .. "/tt-lua"
local q = gateway.q

describe("error messages", function()
  local g, dir, url

  setup(function()
    dir = gateway.tmpdir()
    g = gateway.start { dir = dir, db = gateway.demo_db(dir, 0.01) }
    url = g.url
  end)

  teardown(function()
    if g then g:stop() end
  end)

  -- Run a script under tt-lua with no TT_* variable but those given ("VAR=value ...", quoted).
  -- Returns stdout, exit code, stderr.
  local function ttlua(text, env)
    local path = dir .. "/script-" .. math.random(1e9) .. ".lua"
    gateway.writefile(path, text)
    local errf = path .. ".err"
    local clean = "env -u TT_GATEWAY -u TT_USER -u TT_PASSWORD -u TT_GROUP -u TT_TRACEBACK -u LUA_INIT"
    local out, rc = gateway.run(string.format("cd %s && %s %s %s %s 2>%s </dev/null",
      q(dir), clean, env or "", q(bin), q(path), q(errf)))
    local err = gateway.readfile(errf) or ""
    os.remove(path)
    os.remove(errf)
    return out, rc, err, path
  end

  -- The misuse message a call raises under tt-lua with no TT_* variable set.
  local function misuse(call, env)
    local out, rc = ttlua("local tenten = require 'tenten'\n" ..
      "print(select(2, pcall(function() " .. call .. " end)))\n", env)
    assert.are.equal(0, rc, out)
    return out
  end

  describe("a missing TT_* variable", function()
    it("is named by tenten.pool", function()
      assert.matches("tenten.pool: argument 'owner' must be a string %(got nil%): set TT_USER or pass owner",
        misuse("tenten.pool {}", "TT_GATEWAY=" .. q(url)))
      assert.matches("argument 'password' must be a string %(got nil%): set TT_PASSWORD or pass password",
        misuse("tenten.pool {}", "TT_GATEWAY=" .. q(url) .. " TT_USER=owner1"))
      assert.matches("argument 'group' must be a string %(got nil%): set TT_GROUP or pass group",
        misuse("tenten.pool {}", "TT_GATEWAY=" .. q(url) .. " TT_USER=owner1 TT_PASSWORD=secret1"))
      assert.matches("tenten.pool: argument 'gateway' must be an http:// or https:// URL %(got nil%): " ..
        "set TT_GATEWAY or pass gateway",
        misuse("tenten.pool {}", "TT_USER=owner1 TT_PASSWORD=secret1 TT_GROUP=pool1"))
    end)

    it("is named by sessions", function()
      assert.matches("tenten.session: argument 'user' must be a string %(got nil%): set TT_USER or pass user",
        misuse("tenten.session {}"))
      assert.matches("tenten.session: argument 'password' must be a string %(got nil%): " ..
        "set TT_PASSWORD or pass password", misuse("tenten.session { user = 'plain1' }"))
      assert.matches("tenten.session: argument 'gateway' .* set TT_GATEWAY or pass gateway",
        misuse("tenten.session { user = 'plain1', password = 'secret4' }"))
      assert.matches("tenten.Session: argument 'gateway' .* set TT_GATEWAY or pass gateway",
        misuse("tenten.Session(nil, 'plain1', 'secret4', tenten.KILL)"))
      -- a pool session through tenten.Session's fifth argument: the owner's password
      assert.matches("tenten.Session: argument 'password' .* set TT_PASSWORD or pass password",
        misuse("tenten.Session(" .. string.format("%q", url) .. ", 'owner1', nil, tenten.KILL, 'pool1')"))
    end)

    it("is named by the pool commands and pulls", function()
      local calls = { "tenten.samstatus()", "tenten.warmpool()", "tenten.flushPool()", "tenten.resetpool()" }
      for _, call in ipairs(calls) do
        assert.matches("argument 'owner' must be a string %(got nil%): set TT_USER or pass owner", misuse(call))
      end
      assert.matches("tenten.samstatus: argument 'group' .* set TT_GROUP or pass group",
        misuse("tenten.samstatus(nil, 'owner1', 'secret1')", "TT_GATEWAY=" .. q(url)))
      assert.matches("tenten.samstatus: argument 'gateway' .* set TT_GATEWAY or pass gateway",
        misuse("tenten.samstatus(nil, 'owner1', 'secret1', 'pool1')"))
      assert.matches("tenten.pool: argument 'owner' .* set TT_USER or pass owner",
        misuse("tenten.pull({}, { { table = 't', out = 'x.csv' } })"))
    end)
  end)

  it("echoes a bad URL, without the password it may hold", function()
    local function bad(fn, opts)
      local ok, err = pcall(fn, opts)
      assert.is_false(ok)
      return err
    end
    assert.matches("tenten.session: argument 'gateway' must be an http:// or https:// URL " ..
      [[%(got "ftp://example.com/gw"%)$]],
      bad(tenten.session, { gateway = "ftp://example.com/gw", user = "u", password = "p" }))
    assert.matches([[%(got "http//127.0.0.1/gw"%)]],
      bad(tenten.session, { gateway = "http//127.0.0.1/gw", user = "u", password = "p" }))
    local err = bad(tenten.pool,
      { gateway = "gopher://bob:hunter2@example.com/", owner = "o", password = "p", group = "g" })
    assert.matches([[%(got "gopher://bob:%*%*%*@example.com/"%)]], err)
    assert.falsy(err:find("hunter2", 1, true))
    assert.matches("%(got number%)", bad(tenten.session, { gateway = 42, user = "u", password = "p" }))
  end)

  it("echoes a bad mode", function()
    local ok, err = pcall(tenten.session, { gateway = url, user = "plain1", password = "secret4",
      mode = "possess please" })
    assert.is_false(ok)
    assert.matches("argument 'mode' must be tenten.POSSESS, tenten.KILL or tenten.NOKILL " ..
      [[%(got "possess please"%)]], err)
  end)

  it("names the extension a format error saw", function()
    local s <close> = tenten.Session(url, "plain1", "secret4", tenten.KILL)
    local query = s:query("pub.demo.weather.stations", "")
    local function bad(...)
      local ok, err = pcall(query.write, query, ...)
      assert.is_false(ok)
      return err
    end
    assert.matches("Query:write: argument 'format' must be .* %(got nil%): the path ends in '%.xlsx'",
      bad(dir .. "/out.xlsx"))
    assert.matches("%(got nil%): the path ends in '%.xlsx%.gz'", bad(dir .. "/out.xlsx.gz"))
    assert.matches("%(got nil%): the path has no extension", bad(dir .. "/out"))
    assert.matches([[%(got "xls"%)]], bad(dir .. "/out.csv", "xls"))
  end)

  describe("a group that may not exist", function()
    local HINT = "group 'nosuch' does not exist or owner1 does not own it: check TT_GROUP / group"

    it("keeps the platform's rc 37 and message, and adds a hint (pool commands)", function()
      local ok, err = pcall(tenten.samstatus, url, "owner1", "secret1", "nosuch")
      assert.is_false(ok)
      assert.are.equal(37, err.code)
      assert.are.equal("You do not own the specified group", err.msg)
      assert.are.equal(HINT, err.hint)
      assert.are.equal("tenten: samstatus, uid owner1: You do not own the specified group (code 37); " .. HINT,
        tostring(err))
    end)

    it("says the same for a pool session's getuid", function()
      local p = tenten.pool { gateway = url, owner = "owner1", password = "secret1", group = "nosuch" }
      local ok, err = pcall(p.session, p)
      assert.is_false(ok)
      assert.are.equal(37, err.code)
      assert.are.equal("getuid", err.api)
      assert.are.equal(HINT, err.hint)
    end)

    it("and for a group that exists but is someone else's", function()
      local ok, err = pcall(tenten.samstatus, url, "owner1", "secret1", "pool2")
      assert.is_false(ok)
      assert.are.equal(37, err.code)
      assert.matches("group 'pool2' does not exist or owner1 does not own it", tostring(err))
    end)

    it("is not added to other failures", function()
      local ok, err = pcall(tenten.samstatus, url, "owner1", "wrong", "pool1")
      assert.is_false(ok)
      assert.are.equal(4, err.code)
      assert.is_nil(err.hint)
    end)
  end)

  describe("tt-lua's report of an uncaught error", function()
    local MISUSE = [[
local tenten = require "tenten"
local function open_it()
  local s = tenten.Session(URL, "plain1", "secret4", "possess please")
  return s
end
open_it()
]]
    local FAILURE = [[
local tenten = require "tenten"
local s <close> = tenten.Session(URL, "plain1", "secret4", tenten.KILL)
local function pull()
  s:query("no.such.table", ""):write("x.csv")
end
pull()
]]
    local CALLBACK = [[
local tenten = require "tenten"
local function each(item)
  if item == 2 then error("item two failed") end
end
tenten.spawn(each, 1)
tenten.spawn(each, 2) -- nobody waits for it: tenten.run raises its error at the end
]]

    local function script(text)
      return (text:gsub("URL", string.format("%q", url)))
    end

    it("keeps the script's frames and leaves tenten's out", function()
      local _, rc, err, path = ttlua(script(MISUSE))
      assert.are.equal(1, rc, err)
      local name = path:match("[^/]+$")
      assert.matches("^tt%-lua: " .. path:gsub("%p", "%%%0") .. ":3: tenten.Session: argument 'mode'", err)
      assert.truthy(err:find("\nstack traceback:\n", 1, true), err)
      assert.truthy(err:find(name .. ":3: in ", 1, true), err)
      assert.truthy(err:find(name .. ":6: in main chunk", 1, true), err)
      assert.falsy(err:find("tenten/", 1, true), err)
      assert.falsy(err:find("[C]: in function 'error'", 1, true), err)
      assert.matches("\n\t%(%d+ frames inside tenten hidden; TT_TRACEBACK=1 shows them%)\n$", err)
    end)

    it("does the same for a failure of the platform", function()
      local _, rc, err, path = ttlua(script(FAILURE))
      assert.are.equal(1, rc, err)
      local name = path:match("[^/]+$")
      assert.matches("^tt%-lua: tenten: query%a*, uid plain1: no such table: no%.such%.table %(code 17%)\n", err)
      assert.truthy(err:find(name .. ":4: in ", 1, true), err)
      assert.truthy(err:find(name .. ":6: in main chunk", 1, true), err)
      assert.falsy(err:find("tenten/", 1, true), err)
      assert.falsy(err:find("[C]: in ", 1, true), err)
    end)

    it("keeps the user's function that tenten called back", function()
      local _, rc, err, path = ttlua(CALLBACK)
      assert.are.equal(1, rc, err)
      local name = path:match("[^/]+$")
      assert.matches("item two failed", err)
      assert.truthy(err:find(name .. ":3: in ", 1, true), err)
      assert.falsy(err:find("tenten/", 1, true), err)
    end)

    it("shows every frame with TT_TRACEBACK=1", function()
      local _, rc, err, path = ttlua(script(MISUSE), "TT_TRACEBACK=1")
      assert.are.equal(1, rc, err)
      local name = path:match("[^/]+$")
      assert.truthy(err:find("tenten/session.lua:%d+: in "), err)
      assert.truthy(err:find("tenten/errors.lua:%d+: in "), err)
      assert.truthy(err:find("[C]: in function 'error'", 1, true), err)
      assert.truthy(err:find(name .. ":6: in main chunk", 1, true), err)
      assert.falsy(err:find("hidden", 1, true), err)
      _, rc, err = ttlua(script(FAILURE), "TT_TRACEBACK=1")
      assert.are.equal(1, rc, err)
      assert.truthy(err:find("tenten/session.lua:%d+: in "), err)
      -- TT_TRACEBACK=0 is the default
      _, rc, err = ttlua(script(MISUSE), "TT_TRACEBACK=0")
      assert.are.equal(1, rc, err)
      assert.falsy(err:find("tenten/", 1, true), err)
    end)

  end)
end)
