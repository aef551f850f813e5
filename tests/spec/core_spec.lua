-- tenten.core (build/tenten/core.so) against a real tt-gateway: requests, the loop, replies,
-- errors and writers, as docs/core-api.md defines them.
local gateway = require "gateway"
local core = require "tenten.core"

local CSV = "id:i,name:a,score:f\n1,alpha,1.5\n2,\"b,eta\",2\n3,,\n4,\"say \"\"hi\"\"\",4.25\n" ..
  "5,\"tab\tx\",-5\n6,\"two\nlines\",6e-05\n"
local SORT = '<sort col="temp"/><sort col="dewpt"/><sort col="rain"/>'

-- Run one request to its end with core.step; returns reply | nil, err, and the request.
local function call(opts)
  local req = core.request(opts)
  local deadline = core.now() + 60
  while not req:done() do
    core.step(1)
    assert(core.now() < deadline, "request did not finish")
  end
  local reply, err = req:result()
  return reply, err, req
end

local function readfile(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

describe("tenten.core", function()
  local g, dir, url

  local function api(name, s, extra)
    local u = url .. "?apiversion=3&api=" .. name
    if s then u = u .. "&uid=" .. core.urlencode(s.uid) .. "&sid=" .. s.sid .. "&pswd=" .. core.urlencode(s.pswd) end
    return u .. (extra or "")
  end

  local function login(uid, pw)
    local r, err = call { url = api("login", nil, "&uid=" .. uid .. "&pswd=" .. pw .. "&kill=yes") }
    assert(r, err and err.msg)
    assert(r:rc() == 0, r:msg())
    return { uid = uid, sid = r:field("sid"), pswd = r:field("pswd") }
  end

  local s -- owner1's session, for most tests

  setup(function()
    dir = gateway.tmpdir()
    local db = gateway.demo_db(dir, 0.3) -- 315,360 hourly rows: enough for a slow sort
    assert.are.equal(0, gateway.import(db, "test.small", CSV, dir))
    local config = gateway.default_config()
    config.page_rows = 50000
    g = gateway.start { dir = dir, db = db, config = config }
    url = g.url
    s = login("owner1", "secret1")
  end)

  teardown(function()
    if g then assert.are.equal(0, g:stop()) end
    if dir then os.execute("rm -rf " .. gateway.q(dir)) end
  end)

  it("exposes the constants of the contract", function()
    assert.are.same({ -1, -2, -3, -4, -5, -6, -7 }, { core.E_CONNECT, core.E_TIMEOUT, core.E_HTTP,
      core.E_XML, core.E_CANCELLED, core.E_TLS, core.E_NOMEM })
    assert.are.equal("NA", tostring(core.NA))
    assert.are.equal("boolean", type(core.asyncdns))
    assert.are.equal("a%20b%26c%3D%C3%A9~-._", core.urlencode("a b&c=é~-._"))
    assert.are.equal("&lt;a href=&quot;x&quot;&gt;&amp;'", core.xmlescape("<a href=\"x\">&'"))
    local t0 = core.now()
    assert.is_true(core.now() >= t0)
    assert.are.equal(0, core.pending())
    assert.are.same({}, core.step(0))
  end)

  it("raises on misuse", function()
    assert.has_error(function() core.request() end)
    assert.has_error(function() core.request { body = "<in/>" } end, "core.request: 'url' is required")
    assert.has_error(function() core.request { url = url, time_out = 3 } end,
      "core.request: unknown option 'time_out'")
    assert.has_error(function() core.request { url = url, timeout = "3" } end)
    assert.has_error(function() core.request { url = url, timeout = -1 } end)
    local req = core.request { url = api("login", nil, "&uid=owner1&pswd=secret1&kill=auth") }
    assert.is_false(req:done())
    assert.has_error(function() req:result() end, "request:result(): the request is not done")
    req:close()
    assert.are.equal(0, core.pending())
  end)

  it("logs in and reads the fields and the tree", function()
    local r = call { url = api("login", nil, "&uid=plain1&pswd=secret4&kill=yes") }
    assert.are.equal(0, r:rc())
    assert.are.equal("Logged in", r:msg())
    assert.matches("^%d+$", r:field("sid"))
    assert.matches("^__%x+$", r:field("pswd"))
    assert.is_nil(r:field("nosuch"))
    local tree = r:tree()
    assert.are.equal("out", tree.tag)
    assert.are.same({}, tree.attrs)
    local tags = {}
    for i, c in ipairs(tree.children) do tags[i] = c.tag end
    assert.are.same({ "rc", "msg", "sid", "pswd", "version" }, tags)
    assert.are.equal("tt-gateway " .. core.version, r:field("version")) -- one version string
    assert.are.equal("0", tree.children[1].text)
    assert.are.same({}, r:table_attrs())
    assert.are.same({}, r:columns())
    assert.are.equal(0, r:nrows())
    r:close()
    r:close() -- idempotent
    assert.has_error(function() r:rc() end, "attempt to use a closed reply")
  end)

  it("returns the column metadata of a query", function()
    local r = call { url = api("query", s), body = "<in><name>pub.demo.weather.hourly90</name><ops/></in>" }
    assert.are.equal(0, r:rc(), r:msg())
    local t = r:table_attrs()
    assert.are.equal("315360", t.nrows)
    assert.are.equal("6", t.ncols)
    local cols = r:columns()
    assert.are.equal(6, #cols)
    assert.are.same({ name = "id", type = "a", label = "Station ID" }, cols[1])
    assert.are.same({ name = "date", type = "i", format = "type:date", label = "Date" }, cols[2])
    assert.are.equal("f", cols[4].type)
  end)

  it("reads the same rows from XML and CSV pages, N/A in place", function()
    local q = call { url = api("query", s), body = "<in><name>pub.demo.weather.hourly90</name><ops/></in>" }
    assert.are.equal(0, q:rc())
    local range = '<rows mode="2"><start>1000</start><end>3000</end></rows>'
    local x = call { url = api("getdata", s), body = "<in>" .. range .. "</in>" }
    local c = call { url = api("getdata", s), body = "<in>" .. range .. '<format type="csv"/></in>' }
    local p = call { url = api("getdata", s),
      body = "<in>" .. range .. '<format type="csv"><sep>|</sep><linesep>^</linesep></format></in>' }
    assert.are.equal(2000, x:nrows())
    assert.are.equal(2000, c:nrows())
    assert.are.equal(2000, p:nrows())
    local nas = 0
    for i = 1, 2000 do
      local a, b, d = x:row(i), c:row(i), p:row(i)
      assert.are.same(a, b)
      assert.are.same(a, d)
      for j = 1, 6 do if a[j] == core.NA then nas = nas + 1 end end
    end
    assert.is_true(nas > 0) -- the demo has ~1% missing rain
    local r1 = x:row(1)
    assert.are.equal("string", type(r1[1]))
    assert.is_true(math.type(r1[2]) == "integer" and math.type(r1[3]) == "integer")
    assert.are.equal("float", math.type(r1[4]))
    assert.is_nil(x:row(0))
    assert.is_nil(x:row(2001))
    -- Same bytes through every writer.
    for _, fmt in ipairs { "tsv", "csv", "jsonl" } do
      local outs = {}
      for k, reply in ipairs { x, c, p } do
        local path = dir .. "/out" .. k .. "." .. fmt
        local f = assert(io.open(path, "wb"))
        local n = reply:write(f, fmt)
        f:close()
        outs[k] = readfile(path)
        assert.are.equal(#outs[k], n)
      end
      assert.are.equal(outs[1], outs[2])
      assert.are.equal(outs[1], outs[3])
    end
  end)

  it("writes tsv, csv and jsonl exactly", function()
    assert.are.equal(0, call { url = api("query", s), body = "<in><name>test.small</name></in>" }:rc())
    local r = call { url = api("getdata", s), body = '<in><rows mode="2"><start>0</start><end>9</end></rows></in>' }
    assert.are.equal(6, r:nrows())
    assert.are.same({ 3, core.NA, core.NA }, r:row(3))
    assert.are.same({ 4, 'say "hi"', 4.25 }, r:row(4))
    local want = {
      tsv = "id\tname\tscore\n1\talpha\t1.5\n2\tb,eta\t2\n3\t\t\n4\tsay \"hi\"\t4.25\n5\ttab\\tx\t-5\n" ..
        "6\ttwo\\nlines\t6e-05\n",
      csv = "id,name,score\r\n1,alpha,1.5\r\n2,\"b,eta\",2\r\n3,,\r\n4,\"say \"\"hi\"\"\",4.25\r\n" ..
        "5,tab\tx,-5\r\n6,\"two\nlines\",6e-05\r\n",
      jsonl = '{"id":1,"name":"alpha","score":1.5}\n{"id":2,"name":"b,eta","score":2}\n' ..
        '{"id":3,"name":null,"score":null}\n{"id":4,"name":"say \\"hi\\"","score":4.25}\n' ..
        '{"id":5,"name":"tab\\tx","score":-5}\n{"id":6,"name":"two\\nlines","score":6e-05}\n',
    }
    for fmt, text in pairs(want) do
      local path = dir .. "/small." .. fmt
      local f = assert(io.open(path, "wb"))
      assert.are.equal(#text, r:write(f, fmt))
      f:close()
      assert.are.equal(text, readfile(path))
    end
    local path = dir .. "/nohead.tsv"
    local f = assert(io.open(path, "wb"))
    r:write(f, "tsv", false)
    f:close()
    assert.are.equal(want.tsv:gsub("^[^\n]*\n", ""), readfile(path))
    -- Columns set by hand rename and retype.
    r:set_columns { { name = "a", type = "a" }, "b", { name = "c", type = "f" } }
    assert.are.same({ "1", "alpha", 1.5 }, r:row(1))
    assert.are.same({ name = "b", type = "a", label = "b" }, r:columns()[2])
    assert.has_error(function() r:write(f, "tsv") end, "attempt to use a closed file")
    assert.has_error(function() r:write(io.stdout, "xls") end)
  end)

  it("runs 50 requests at once with core.step", function()
    assert.are.equal(0, call { url = api("query", s), body = "<in><name>pub.demo.weather.hourly90</name></in>" }:rc())
    local reqs, index = {}, {}
    for i = 1, 50 do
      local body = ('<in><rows mode="2"><start>%d</start><end>%d</end></rows></in>'):format(i * 100, i * 100 + 7)
      reqs[i] = core.request { url = api("getdata", s), body = body }
      index[reqs[i]] = i
    end
    assert.are.equal(50, core.pending())
    -- How many steps it takes depends on scheduling (a loaded machine may finish all 50 in
    -- one), so only what came back is checked.
    local seen = {}
    while core.pending() > 0 do
      for _, req in ipairs(core.step(5)) do
        local i = assert(index[req], "step returned an unknown request")
        assert.is_nil(seen[i], "a request came back twice")
        seen[i] = true
        assert.is_true(req:done())
        local r = assert(req:result())
        assert.are.equal(0, r:rc())
        assert.are.equal(7, r:nrows())
        assert.are.equal(tostring(i * 100), r:table_attrs().first)
        assert.are.equal(r, req:result()) -- the same object every time
      end
    end
    for i = 1, 50 do assert.is_true(seen[i]) end
  end)

  it("cancels a request, and forgets a closed one", function()
    local p = login("plain1", "secret4")
    local body = "<in><name>pub.demo.weather.hourly90</name><ops>" .. SORT .. "</ops></in>"
    local req = core.request { url = api("query", p), body = body }
    core.step(0.05)
    assert.is_false(req:done())
    req:cancel()
    req:cancel() -- idempotent
    assert.is_true(req:done())
    local r, err = req:result()
    assert.is_nil(r)
    assert.are.equal(core.E_CANCELLED, err.code)
    local back = core.step(0)
    assert.are.equal(req, back[1]) -- a cancelled request completes like any other
    assert.are.equal(0, core.pending())

    local other = core.request { url = api("login", nil, "&uid=owner1&pswd=secret1&kill=auth") }
    assert.are.equal(1, core.pending())
    other:close()
    assert.are.equal(0, core.pending())
    assert.are.same({}, core.step(0.1))
    assert.is_true(other:done())
    assert.are.equal(core.E_CANCELLED, select(2, other:result()).code)
    do
      local _closed <close> = core.request { -- luacheck: ignore 211
        url = api("login", nil, "&uid=owner1&pswd=secret1&kill=auth") }
    end
    assert.are.equal(0, core.pending())
  end)

  it("keeps a dropped request alive until core.step hands it back", function()
    core.request { url = api("login", nil, "&uid=owner1&pswd=secret1&kill=auth") }
    collectgarbage()
    collectgarbage()
    assert.are.equal(1, core.pending())
    local got
    while core.pending() > 0 do
      for _, req in ipairs(core.step(5)) do got = req end
    end
    assert.are.equal("Authenticated", assert(got:result()):msg())
  end)

  it("steps again from finalizers that run inside a step", function()
    -- With a collector that runs a whole cycle at every allocation, the finalizer of an object
    -- dropped just before core.step runs at core.step's first allocation, and steps again.
    -- Every request must come back exactly once, from one step or another.
    local nested, seen, count = 0, {}, 0
    local step = core.step
    local function take(list)
      for _, req in ipairs(list) do
        assert.is_nil(seen[req], "a request came back twice")
        seen[req] = true
        count = count + 1
      end
    end
    local function arm()
      setmetatable({}, { __gc = function()
        if debug.getinfo(2, "f").func == step then nested = nested + 1 end
        take(step(0))
      end })
    end
    for _ = 1, 20 do core.request { url = api("login", nil, "&uid=owner1&pswd=secret1&kill=auth") } end
    collectgarbage("incremental", 1, 1000, 30)
    collectgarbage() -- starts the new pace from here
    local rounds, deadline = 0, core.now() + 30
    while (core.pending() > 0 or rounds < 500) and core.now() < deadline do
      rounds = rounds + 1
      arm()
      take(step(0.002))
    end
    collectgarbage("generational")
    collectgarbage()
    assert.are.equal(20, count)
    assert.is_true(nested > 0, "no finalizer ran inside core.step")
  end)

  it("fails to connect to a closed port with E_CONNECT", function()
    local r, err = call { url = "http://127.0.0.1:1/cgi-bin/gw?api=login", connect_timeout = 5 }
    assert.is_nil(r)
    assert.are.equal(core.E_CONNECT, err.code)
    assert.matches("connect", err.msg)
  end)

  it("gives up after the timeout with E_TIMEOUT", function()
    local a = login("admin1", "secret2")
    local body = "<in><name>pub.demo.weather.hourly90</name><ops>" .. SORT .. "</ops></in>"
    local t0 = core.now()
    local r, err = call { url = api("query", a), body = body, timeout = 0.2 }
    local took = core.now() - t0
    assert.is_nil(r)
    assert.are.equal(core.E_TIMEOUT, err.code)
    assert.is_true(took >= 0.19 and took < 5, "took " .. took) -- generous: a loaded machine
  end)

  it("reports HTTP 404 as E_HTTP with the gateway's message", function()
    local r, err = call { url = g.base .. "nope?api=login" }
    assert.is_nil(r)
    assert.are.equal(core.E_HTTP, err.code)
    assert.matches("^HTTP 404", err.msg)
    assert.matches("No gateway at", err.msg)
  end)

  it("speaks only http and https", function()
    local r, err = call { url = "file:///etc/hostname" }
    assert.is_nil(r)
    assert.are.equal(core.E_CONNECT, err.code)
  end)

  it("keeps the reply bytes only when asked", function()
    local u = api("login", nil, "&uid=owner1&pswd=secret1&kill=auth")
    local _, _, req = call { url = u, keep_raw = true }
    local raw = req:raw()
    assert.matches('^<%?xml version="1.0" encoding="UTF%-8"%?>\n<out><rc>0</rc><msg>Authenticated</msg></out>\n$', raw)
    local _, _, plain = call { url = u }
    assert.is_nil(plain:raw())
    local _, err, bad = call { url = g.base .. "nope", keep_raw = true }
    assert.are.equal(core.E_HTTP, err.code)
    assert.matches("<rc>1</rc>", bad:raw())
  end)

  it("counts SIGINT, returns from a step early, and exits 130 on the second", function()
    local script = dir .. "/sig.lua"
    local f = assert(io.open(script, "wb"))
    f:write([[
      local core = require "tenten.core"
      core.catch_signals()
      local pid = io.open("/proc/self/stat"):read("l"):match("^(%d+)")
      os.execute("(sleep 0.2; kill -INT " .. pid .. ") &")
      local t0 = core.now()
      core.step(10)
      io.write(core.interrupted(), " ", core.now() - t0 < 5 and "early" or "late", "\n")
      io.flush()
      os.execute("kill -TERM " .. pid)
      core.step(10)
      io.write("not reached\n")
    ]])
    f:close()
    local out, rc = gateway.run("lua5.4 " .. gateway.q(script))
    assert.are.equal("1 early\n", out)
    assert.are.equal(130, rc)
  end)
end)
