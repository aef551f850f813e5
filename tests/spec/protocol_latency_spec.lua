-- serve --latency (every reply held back, no thread held meanwhile) and the exchange counts
-- the gateway keeps per transaction (samstatus's <exchanges>, the stop line).
local gateway = require "gateway"

local q = gateway.q
local OWNER = { uid = "owner1", pswd = "secret1", gid = "pool1" }
local LATENCY = 200 -- ms

-- The default users plus u1..u8, so concurrent logins are independent sessions.
local function config()
  local c = gateway.default_config()
  for i = 1, 8 do c.users[#c.users + 1] = { uid = "u" .. i, password = "pw" .. i } end
  return c
end

local function url(g, params)
  params.apiversion = 3
  return g.url .. "?" .. gateway.query_string(params)
end

-- curl's own measure of each transfer: { { code =, seconds = }, ... } in URL order, and the
-- whole command's wall time in seconds (one curl process running the URLs in parallel).
local function timed_parallel(urls)
  local args = {}
  for _, u in ipairs(urls) do args[#args + 1] = "-o /dev/null " .. q(u) end
  local cmd = "s=$(date +%s%N); curl -s --no-progress-meter --noproxy '*' --parallel --parallel-immediate" ..
    " --parallel-max " .. #urls .. " -w '%{url_effective} %{http_code} %{time_total}\\n' " .. table.concat(args, " ") ..
    "; e=$(date +%s%N); echo wall $(( (e - s) / 1000000 ))"
  local out, rc = gateway.run(cmd)
  assert.are.equal(0, rc, out)
  local by_url = {}
  for u, code, t in out:gmatch("(%S+) (%d+) ([%d%.]+)\n") do
    by_url[u] = { code = tonumber(code), seconds = tonumber(t) }
  end
  local res = {}
  for i, u in ipairs(urls) do res[i] = assert(by_url[u], "no result for " .. u .. "\n" .. out) end
  return res, tonumber(out:match("wall (%d+)")) / 1000
end

-- The <exchanges> counts of a samstatus reply, as numbers.
local function exchanges(g)
  local n, r = g:exchanges(OWNER)
  -- the members are <samstatus>'s only children: <exchanges> is beside it, not in it
  for _, c in ipairs(r.root:child("samstatus").children) do assert.are.equal("id", c.tag) end
  return n
end

describe("tt-gateway serve --latency", function()
  local g

  setup(function()
    g = gateway.start { config = config(), args = { "--latency", tostring(LATENCY) } }
  end)

  teardown(function()
    if g then assert.are.equal(0, g:stop()) end
  end)

  it("holds a reply back at least the latency", function()
    local res = timed_parallel { url(g, { api = "login", uid = "u1", pswd = "pw1", kill = "yes" }) }
    assert.are.equal(200, res[1].code)
    assert.is_true(res[1].seconds >= LATENCY / 1000, "login took " .. res[1].seconds .. " s")
  end)

  it("holds concurrent replies at the same time, not one after another", function()
    local urls = {}
    for i = 1, 8 do urls[i] = url(g, { api = "login", uid = "u" .. i, pswd = "pw" .. i, kill = "yes" }) end
    local res, wall = timed_parallel(urls)
    for i = 1, 8 do
      assert.are.equal(200, res[i].code)
      assert.is_true(res[i].seconds >= LATENCY / 1000, "login " .. i .. " took " .. res[i].seconds .. " s")
    end
    -- serialized holds would take 8 x the latency; a generous bound far below that
    assert.is_true(wall < 4 * LATENCY / 1000, "8 logins took " .. wall .. " s")
  end)

  it("holds error replies too, and logs the time to make the reply without the hold", function()
    local res = timed_parallel { url(g, { api = "frobnicate" }) }
    assert.are.equal(200, res[1].code)
    assert.is_true(res[1].seconds >= LATENCY / 1000)
    local ms = tonumber(g:log():match("api=frobnicate [^\n]* ms=([%d%.]+)\n"))
    assert.is_true(ms < LATENCY, "logged ms=" .. tostring(ms))
  end)
end)

describe("tt-gateway serve --latency, stopping", function()
  it("sends a held reply at once when the gateway stops", function()
    local g = gateway.start { args = { "--latency", "60000" } }
    local out = os.tmpname()
    gateway.sh("curl -s --noproxy '*' -o " .. q(out) .. " " ..
      q(url(g, { api = "login", uid = "owner1", pswd = "secret1" })) .. " >/dev/null 2>&1 &")
    -- the log line is written when the reply is made, just before the hold begins
    local held = gateway.wait_for(function()
      return g:log():find("api=login uid=owner1", 1, true)
    end, 10, 0.025)
    assert.is_true(held, g:log())
    assert.are.equal(0, g:stop()) -- waits at most 10 s, far less than the hold
    local reply
    gateway.wait_for(function()
      reply = gateway.readfile(out) or ""
      return reply:find("</out>", 1, true)
    end, 10, 0.025)
    os.remove(out)
    assert.matches("<rc>0</rc>", reply)
  end)

  it("refuses a latency that is not a whole number of milliseconds from 0 to 60000", function()
    for _, bad in ipairs { "-1", "60001", "1.5", "abc", "" } do
      local out, rc = gateway.run(q(gateway.bin) .. " serve --config /nonexistent --latency " .. q(bad) .. " 2>&1")
      assert.are.equal(2, rc, bad .. ": " .. out)
      assert.matches("%-%-latency must be a whole number of milliseconds", out)
    end
  end)
end)

describe("tt-gateway exchange counts", function()
  local g

  setup(function()
    local dir = gateway.tmpdir()
    g = gateway.start { dir = dir, db = gateway.demo_db(dir, 0.005), config = config() }
  end)

  teardown(function()
    if g then g:stop() end
  end)

  it("rise by exactly the calls made, per transaction", function()
    local before = exchanges(g)
    -- a pull as a script makes it, plus refusals and wrong requests
    local r = g:call("getuid", { uid = OWNER.uid, pswd = OWNER.pswd, gid = OWNER.gid })
    assert.are.equal(0, r.rc, r.msg)
    local s = g:login(r.root:get("uid"), "secret1", "possess")
    assert.are.equal(0, g:scall(s, "query", "<in><name>pub.demo.weather.stations</name><ops/></in>").rc)
    for _ = 1, 3 do
      assert.are.equal(0, g:scall(s, "getdata", '<in><rows mode="1"><next>10</next></rows></in>').rc)
    end
    assert.are.equal(0, g:scall(s, "reluid").rc)
    assert.are.equal(4, g:call("login", { uid = "u1", pswd = "wrong" }).rc) -- refused: still one
    assert.are.equal(7, g:call("frobnicate", {}).rc)                        -- other
    assert.are.equal(6, g:call(nil, {}).rc)                                  -- other
    assert.are.equal(404, g:call("login", { uid = "u1", pswd = "pw1" }, nil, { path = "/nowhere" }).status)
    local after = exchanges(g)
    local want = { getuid = 1, login = 2, query = 1, getdata = 3, reluid = 1, samstatus = 1, other = 3 }
    local total = 0
    for k, v in pairs(after) do
      if k ~= "total" then
        assert.are.equal(want[k] or 0, v - before[k], k)
        total = total + (want[k] or 0)
      end
    end
    assert.are.equal(total, after.total - before.total)
  end)

  it("are printed on standard error when the gateway stops", function()
    local n = exchanges(g)
    assert.are.equal(0, g:stop())
    local line = g:log():match("tt%-gateway: exchanges: ([^\n]*)\n")
    assert.truthy(line, g:log())
    assert.matches("^total=" .. n.total .. " ", line) -- the samstatus above was the last call
    assert.matches(" samstatus=" .. n.samstatus .. " ", line)
    assert.matches(" login=" .. n.login .. " ", line)
  end)
end)
