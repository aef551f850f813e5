-- SAM pools over HTTP: getuid, reluid, flushpool, resetpool, warmpool, samstatus.
local gateway = require "gateway"

local OWNER = { uid = "owner1", pswd = "secret1", gid = "pool1" }

local function with(t, extra)
  local out = {}
  for k, v in pairs(t) do out[k] = v end
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

-- samstatus as { [uid] = attrs } plus the pool's own attributes.
local function status(g, who)
  local r = g:call("samstatus", who or OWNER)
  assert.are.equal(0, r.rc, r.msg)
  local node = r.root:child("samstatus")
  local ids = {}
  for _, id in ipairs(node:all("id")) do ids[id.attrs.uid] = id.attrs end
  return ids, node.attrs
end

local function getuid(g)
  local r = g:call("getuid", OWNER)
  return r.rc == 0 and r.root:get("uid") or nil, r
end

describe("tt-gateway SAM pools", function()
  local g, dir

  setup(function()
    dir = gateway.tmpdir()
    g = gateway.start { dir = dir, db = gateway.demo_db(dir, 0.005) }
  end)

  teardown(function()
    if g then assert.are.equal(0, g:stop()) end
  end)

  before_each(function()
    assert.are.equal(0, g:call("resetpool", OWNER).rc)
  end)

  it("hands out each ID once and answers rc 38 when the pool is full", function()
    local seen = {}
    for _ = 1, 4 do
      local uid = assert(getuid(g))
      assert.matches("^pool1_%d$", uid)
      assert.is_nil(seen[uid])
      seen[uid] = true
    end
    local uid, r = getuid(g)
    assert.is_nil(uid)
    assert.are.equal(38, r.rc)
    assert.matches("busy", r.msg)
    local ids, pool = status(g)
    assert.are.equal("0", pool.free)
    for u in pairs(seen) do assert.are.equal("BUSY", ids[u].state) end
  end)

  it("never hands one ID to two holders under concurrent getuid calls", function()
    for round = 1, 3 do
      assert.are.equal(0, g:call("resetpool", OWNER).rc)
      local cmds = {}
      for i = 1, 24 do
        local out = string.format("%s/getuid-%d-%d.xml", dir, round, i)
        local cmd = g:curl_command(with(OWNER, { api = "getuid", apiversion = 3 }), nil, { out = out })
        cmds[#cmds + 1] = cmd .. " >/dev/null &"
      end
      gateway.sh(table.concat(cmds, "\n") .. "\nwait")
      local got, busy = {}, 0
      for i = 1, 24 do
        local r = gateway.reply(gateway.readfile(string.format("%s/getuid-%d-%d.xml", dir, round, i)))
        if r.rc == 0 then
          local uid = r.root:get("uid")
          assert.is_nil(got[uid], "handed out twice: " .. uid)
          got[uid] = true
        else
          assert.are.equal(38, r.rc)
          busy = busy + 1
        end
      end
      local n = 0
      for _ in pairs(got) do n = n + 1 end
      assert.are.equal(4, n)
      assert.are.equal(20, busy)
    end
  end)

  it("prefers a WARM ID and lets login possess reuse its session", function()
    local uid = assert(getuid(g))
    local s = g:login(uid, "secret1", "possess")
    assert.are.equal(0, g:scall(s, "reluid", nil, { gid = "pool1" }).rc)
    assert.are.equal("WARM", status(g)[uid].state)
    -- the warm ID comes out first even though cold ones are free
    assert.are.equal(uid, getuid(g))
    local again = g:login(uid, "secret1", "possess")
    assert.are.equal(s.sid, again.sid)
    assert.are.equal(0, g:scall(again, "dir").rc)
  end)

  it("lets only the owner call getuid and the owner or a company admin run the pool", function()
    assert.are.equal(37, g:call("getuid", with(OWNER, { uid = "admin1", pswd = "secret2" })).rc)
    assert.are.equal(37, g:call("getuid", with(OWNER, { gid = "pool2" })).rc)
    assert.are.equal(37, g:call("getuid", with(OWNER, { gid = "nosuch" })).rc)
    assert.are.equal(8, g:call("getuid", with(OWNER, { gid = "" })).rc)
    assert.are.equal(4, g:call("getuid", with(OWNER, { pswd = "bad" })).rc)
    local admin = { uid = "admin1", pswd = "secret2", gid = "pool1" }
    local foreign = { uid = "other1", pswd = "secret3", gid = "pool1" }
    local plain = { uid = "plain1", pswd = "secret4", gid = "pool1" }
    for _, api in ipairs { "flushpool", "resetpool", "warmpool", "samstatus" } do
      assert.are.equal(0, g:call(api, admin).rc, api)
      assert.are.equal(37, g:call(api, foreign).rc, api)
      assert.are.equal(37, g:call(api, plain).rc, api)
      assert.are.equal(4, g:call(api, with(admin, { pswd = "x" })).rc, api)
    end
    -- pool2's owner is an admin of another company: it runs pool2 only
    assert.are.equal(0, g:call("samstatus", { uid = "other1", pswd = "secret3", gid = "pool2" }).rc)
  end)

  it("releases with the member's session or, when that is gone, its clear password", function()
    local uid = assert(getuid(g))
    local s = g:login(uid, "secret1", "possess")
    local r = g:scall(s, "reluid", nil, { gid = "pool1" })
    assert.are.equal(0, r.rc)
    assert.are.equal("Released", r.msg)
    assert.are.equal("WARM", status(g)[uid].state)
    -- releasing a free ID is harmless
    r = g:scall(s, "reluid", nil, { gid = "pool1" })
    assert.are.equal(0, r.rc)
    assert.matches("not in use", r.msg)
    local uid2 = assert(getuid(g))
    assert.are.equal(0, g:call("reluid", { uid = uid2, pswd = "secret1", gid = "pool1" }).rc)
    assert.are.equal(4, g:call("reluid", { uid = uid2, pswd = "wrong", gid = "pool1" }).rc)
    -- not a member, or the wrong group
    assert.are.equal(1, g:call("reluid", { uid = "plain1", pswd = "secret4" }).rc)
    assert.are.equal(1, g:call("reluid", { uid = uid2, pswd = "secret1", gid = "pool2" }).rc)
  end)

  it("holds an ID whose holder logged out without reluid", function()
    local uid = assert(getuid(g))
    local s = g:login(uid, "secret1", "possess")
    assert.are.equal(0, g:scall(s, "logout").rc)
    local ids = status(g)
    assert.are.equal("RESERVED", ids[uid].state)
    assert.is_true(tonumber(ids[uid].reserved) > 800)
    for _ = 1, 3 do assert.are_not.equal(uid, getuid(g)) end
    assert.are.equal(38, select(2, getuid(g)).rc)
    -- reluid with the clear password frees it at once
    assert.are.equal(0, g:call("reluid", { uid = uid, pswd = "secret1", gid = "pool1" }).rc)
    assert.are.equal("COLD", status(g)[uid].state)
    assert.are.equal(uid, getuid(g))
  end)

  it("flushpool ends idle sessions and marks busy IDs without interrupting them", function()
    local busy = assert(getuid(g))
    local warm = assert(getuid(g))
    local sb = g:login(busy, "secret1", "possess")
    local sw = g:login(warm, "secret1", "possess")
    assert.are.equal(0, g:scall(sw, "reluid").rc)
    local r = g:call("flushpool", OWNER)
    assert.are.equal(0, r.rc)
    local ids = status(g)
    assert.are.equal("COLD", ids[warm].state)
    assert.are.equal("MARKED", ids[busy].state)
    assert.are.equal(35, g:scall(sw, "dir").rc)
    -- the busy holder keeps working, and its release logs it out
    assert.are.equal(0, g:scall(sb, "dir").rc)
    assert.are.equal(0, g:scall(sb, "reluid").rc)
    assert.are.equal("COLD", status(g)[busy].state)
    assert.are.equal(35, g:scall(sb, "dir").rc)
  end)

  it("resetpool ends every session and frees every ID", function()
    local a = assert(getuid(g))
    local b = assert(getuid(g))
    local sa = g:login(a, "secret1", "possess")
    g:login(b, "secret1", "possess")
    local sb = g:login(b, "secret1", "possess")
    assert.are.equal(0, g:scall(sb, "logout").rc) -- b RESERVED
    assert.are.equal(0, g:call("resetpool", OWNER).rc)
    local ids, pool = status(g)
    assert.are.equal("4", pool.free)
    for _, attrs in pairs(ids) do
      assert.are.equal("COLD", attrs.state)
      assert.are.equal("0", attrs.loggedin)
    end
    assert.are.equal(35, g:scall(sa, "dir").rc)
  end)

  it("warmpool logs in every free cold ID and says how many", function()
    local held = assert(getuid(g))
    local r = g:call("warmpool", OWNER)
    assert.are.equal(0, r.rc)
    assert.are.equal("3", r.root:get("count"))
    local ids = status(g)
    for uid, attrs in pairs(ids) do
      if uid == held then assert.are.equal("BUSY", attrs.state)
      else
        assert.are.equal("WARM", attrs.state)
        assert.are.equal("1", attrs.loggedin)
      end
    end
    assert.are.equal("0", g:call("warmpool", OWNER).root:get("count"))
    -- a warmed ID comes out of getuid first, already logged in
    local uid = assert(getuid(g))
    assert.are_not.equal(held, uid)
    local login = g:call("login", { uid = uid, pswd = "secret1", kill = "possess" })
    assert.matches("Possessed", login.msg)
  end)

  it("uses member_password for the members of a group that sets one", function()
    local who = { uid = "other1", pswd = "secret3", gid = "pool2" }
    local r = g:call("getuid", who)
    assert.are.equal(0, r.rc)
    local uid = r.root:get("uid")
    assert.are.equal(4, g:call("login", { uid = uid, pswd = "secret3" }).rc)
    assert.are.equal(0, g:call("login", { uid = uid, pswd = "memberpw" }).rc)
    assert.are.equal(0, g:call("resetpool", who).rc)
  end)
end)

describe("tt-gateway SAM timers", function()
  it("frees a RESERVED ID after reserve_seconds and ends a WARM session after idle_seconds", function()
    local config = gateway.default_config()
    config.reserve_seconds = 1
    config.idle_seconds = 1
    local g = gateway.start { config = config }
    local uid = assert(getuid(g))
    local s = g:login(uid, "secret1", "possess")
    g:scall(s, "logout")
    assert.are.equal("RESERVED", status(g)[uid].state)
    local warm = assert(getuid(g))
    local sw = g:login(warm, "secret1", "possess")
    g:scall(sw, "reluid")
    assert.are.equal("WARM", status(g)[warm].state)
    -- the housekeeping tick runs once a second: poll for its effect, up to a generous bound
    local ids
    gateway.wait_for(function()
      ids = status(g)
      return ids[uid].state == "COLD" and ids[warm].state == "COLD"
    end, 20)
    assert.are.equal("COLD", ids[uid].state)
    assert.are.equal("COLD", ids[warm].state)
    assert.are.equal(35, g:scall(sw, "dir").rc)
    assert.are.equal(0, g:stop())
  end)
end)

describe("tt-gateway SAM and running work", function()
  local g, dir
  -- The table merged onto itself `merges` times, then four full sorts. The pool command lands
  -- about half a second into the run (see slow_query), so the query must run for several
  -- times that even on a fast machine: four sorts of the bare table (~1.8 s here) once finished
  -- before a resetpool on a loaded CI machine. Three copies: ~6 s; seven: ~18 s.
  local function slow_ops(merges)
    return "<in><name>pub.demo.weather.hourly90</name><ops>" ..
      string.rep('<merge table2="pub.demo.weather.hourly90"/>', merges) ..
      '<sort col="temp" dir="down"/><sort col="dewpt"/><sort col="rain"/><sort col="hour" dir="down"/>' ..
      "</ops></in>"
  end

  setup(function()
    dir = gateway.tmpdir()
    g = gateway.start { dir = dir, db = gateway.demo_db(dir, 0.3) }
  end)

  teardown(function()
    if g then assert.are.equal(0, g:stop()) end
  end)

  -- Start the slow query on a pool session in the background; return a function that waits
  -- for its reply.
  local function slow_query(merges)
    local uid = assert(getuid(g))
    local s = g:login(uid, "secret1", "possess")
    local out = dir .. "/slow-" .. uid .. ".xml"
    local cmd = g:curl_command({ api = "query", apiversion = 3, uid = s.uid, sid = s.sid, pswd = s.pswd },
      slow_ops(merges), { out = out })
    gateway.sh("(" .. cmd .. " >/dev/null 2>&1; touch " .. gateway.q(out .. ".done") .. ") &")
    -- Wait until the query runs: it then holds its session, so a dir on the same session gets
    -- no answer within half a second (before the query arrives, or after it ends, dir answers).
    local running = false
    for _ = 1, 400 do
      local r = g:call("dir", { uid = s.uid, sid = s.sid, pswd = s.pswd }, nil, { timeout = 0.5 })
      if r.rc == nil then running = true break end
      assert.is_nil(gateway.readfile(out .. ".done"), "the slow query ended before it was seen running")
      gateway.sleep(0.02)
    end
    assert.is_true(running, "the slow query never started")
    return uid, s, function()
      for _ = 1, 1200 do
        if gateway.readfile(out .. ".done") then return gateway.reply(gateway.readfile(out)) end
        gateway.sleep(0.05)
      end
      error("the query did not finish")
    end
  end

  it("resetpool interrupts a running query", function()
    local uid, s, reply = slow_query(6) -- interrupted: its full length costs nothing
    assert.are.equal(0, g:call("resetpool", OWNER).rc)
    local r = reply()
    assert.are.equal(35, r.rc, r.msg)
    assert.matches("session ended", r.msg)
    assert.are.equal("COLD", status(g)[uid].state)
    assert.are.equal(35, g:scall(s, "dir").rc)
  end)

  it("flushpool lets a running query finish and marks its ID", function()
    local uid, s, reply = slow_query(2) -- runs to its end
    assert.are.equal(0, g:call("flushpool", OWNER).rc)
    assert.are.equal("MARKED", status(g)[uid].state)
    local r = reply()
    assert.are.equal(0, r.rc, r.msg)
    assert.are.equal(0, g:scall(s, "reluid").rc)
    assert.are.equal("COLD", status(g)[uid].state)
  end)
end)
