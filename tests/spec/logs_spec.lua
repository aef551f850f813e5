-- The exchange log (`logfile`, issue 12 item 7) against a real tt-gateway: one line per
-- exchange with no password, session password or data in it; bodies only with `log_bodies`,
-- each cut to its length and masked.
local gateway = require "gateway"
local tenten = require "tenten"

local LINE = "^(%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ) (%l+) uid=(%S+) rc=(%-?%d+) ms=([%d.]+) bytes=(%d+) sent=(%d+)"

-- The exchange lines of a log: { api, uid, rc, bytes, sent, text }, and the other lines.
local function parse(text)
  local lines, other = {}, {}
  for line in text:gmatch("[^\n]+") do
    local _, api, uid, rc, _, bytes, sent = line:match(LINE)
    if api then
      lines[#lines + 1] = { api = api, uid = uid, rc = tonumber(rc), bytes = tonumber(bytes),
        sent = tonumber(sent), text = line }
    else
      other[#other + 1] = line
    end
  end
  return lines, other
end

local function count(lines, api)
  local n = 0
  for _, l in ipairs(lines) do
    if l.api == api then n = n + 1 end
  end
  return n
end

-- Queries run as `query`, or as `querydata` bringing the first page with them.
local function queries(lines)
  return count(lines, "query") + count(lines, "querydata")
end

-- The exchanges that brought pages of rows.
local function pages(lines)
  return count(lines, "getdata") + count(lines, "querydata")
end

describe("the exchange log", function()
  local g, dir, url

  setup(function()
    dir = gateway.tmpdir()
    local db = gateway.demo_db(dir, 0.01)
    -- 3000 rows of words found nowhere else, so a log holding data would show it
    local csv = { "id:i,word:a,amount:f" }
    for i = 1, 3000 do csv[#csv + 1] = string.format("%d,w%05dq,%d.25", i, i, i) end
    assert.are.equal(0, gateway.import(db, "test.words", table.concat(csv, "\n") .. "\n", dir))
    local config = gateway.default_config()
    config.page_rows = 700 -- small pages: a pull is many getdata exchanges
    g = gateway.start { dir = dir, db = db, config = config }
    url = g.url
  end)

  teardown(function()
    if g then g:stop() end
  end)

  before_each(function()
    tenten.resetpool(url, "owner1", "secret1", "pool1")
  end)

  it("writes one line per exchange, without passwords, sid or data", function()
    local path = dir .. "/single.log"
    local out = dir .. "/item.csv"
    local enc, sid
    do
      local s <close> = tenten.Session(url, "plain1", "secret4", tenten.KILL, { logfile = path })
      enc, sid = s._enc, s.sid
      s:query("test.words", '<sel value="id>100"/>'):write(out)
    end
    local text = gateway.readfile(path)
    local lines, other = parse(text)
    assert.are.same({}, other)
    assert.are.equal(1, count(lines, "login"))
    assert.are.equal(1, queries(lines))
    assert.are.equal(1, count(lines, "logout"))
    assert.is_true(pages(lines) >= 5, text) -- 2900 rows in pages of at most 700
    assert.are.equal(#lines, 2 + queries(lines) + count(lines, "getdata"))
    for _, l in ipairs(lines) do
      assert.are.equal("plain1", l.uid)
      assert.are.equal(0, l.rc)
      assert.is_true(l.bytes > 0, l.text)
    end
    assert.truthy(text:find(" kill=yes", 1, true), text)
    assert.truthy(text:find(" table=test.words", 1, true), text)
    -- rows asked, rows the capped page brought
    assert.truthy(text:find(" rows=0%-%d+ nrows=700"), text)
    assert.truthy(text:find(" rows=700%-2900 nrows=700"), text)
    -- no secret of any kind, and neither the ops nor the reply bodies
    assert.falsy(text:find("secret4", 1, true))
    assert.falsy(text:find(enc, 1, true))
    assert.falsy(text:find(sid, 1, true))
    assert.falsy(text:find("pswd", 1, true))
    assert.falsy(text:find("<", 1, true))
    -- no data: none of the 2900 words
    local csv = gateway.readfile(out)
    local checked = 0
    for word in csv:gmatch("w%d%d%d%d%dq") do
      assert.falsy(text:find(word, 1, true), word)
      checked = checked + 1
    end
    assert.are.equal(2900, checked)
    assert.falsy(text:find("w%d%d%d%d%dq"))
    -- what the pages brought is counted: the XML pages weigh more than the CSV they became
    local got = 0
    for _, l in ipairs(lines) do
      if l.api == "getdata" or l.api == "querydata" then got = got + l.bytes end
    end
    assert.is_true(got > #csv, got .. " " .. #csv)
    -- a few hundred bytes per exchange, whatever the data
    assert.is_true(#text < 200 * #lines, #text)
    assert.is_true(#text * 20 < #csv, #text .. " vs " .. #csv)
  end)

  it("keeps a pull's log tiny next to its data, with no password of the owner or members", function()
    local path = dir .. "/pull.log"
    local outs = { dir .. "/a.csv", dir .. "/b.tsv" }
    local summaries = tenten.pull({ gateway = url, owner = "owner1", password = "secret1", group = "pool1",
      size = 2, logfile = path }, {
      { table = "test.words", out = outs[1] },
      { table = "test.words", ops = '<sel value="id<1000"/>', out = outs[2] },
    }, { progress = false })
    for _, sm in ipairs(summaries) do assert.is_nil(sm.error, tostring(sm.error)) end
    local text = gateway.readfile(path)
    local lines, other = parse(text)
    assert.are.same({}, other)
    assert.is_true(count(lines, "getuid") >= 2)
    assert.are.equal(2, queries(lines))
    for _, l in ipairs(lines) do
      if l.api == "getuid" or l.api == "reluid" then
        assert.truthy(l.text:find(" gid=pool1", 1, true), l.text)
      end
    end
    assert.falsy(text:find("secret1", 1, true))
    assert.falsy(text:find("pswd", 1, true))
    assert.falsy(text:find("w%d%d%d%d%dq"))
    local data = #gateway.readfile(outs[1]) + #gateway.readfile(outs[2])
    assert.is_true(#text * 20 < data, #text .. " vs " .. data)
  end)

  it("logs a failure's rc and message, and a transport error's code", function()
    local path = dir .. "/fail.log"
    local ok = pcall(function()
      local s <close> = tenten.Session(url, "plain1", "secret4", tenten.KILL, { logfile = path })
      s:query("no.such.table", ""):run()
    end)
    assert.is_false(ok)
    assert.is_false(pcall(tenten.Session, "http://127.0.0.1:1/", "plain1", "secret4", tenten.KILL,
      { logfile = path }))
    local text = gateway.readfile(path)
    assert.truthy(text:find(" query%a* uid=plain1 rc=17 .* table=no%.such%.table .*msg=\"[^\"]*no%.such%.table\""),
      text)
    assert.truthy(text:find(" login uid=plain1 rc=%-1 .* msg=\"connection failed: "), text)
  end)

  it("adds bodies with log_bodies, cut to 4096 bytes and masked", function()
    local path = dir .. "/bodies.log"
    local enc
    do
      local s <close> = tenten.Session(url, "plain1", "secret4", tenten.KILL, { logfile = path, log_bodies = true })
      enc = s._enc
      local q = s:query("test.words", '<sel value="id<1000"/>')
      q.page_rows = 200
      for _ in q:rows() do end
    end
    local text = gateway.readfile(path)
    local lines, other = parse(text)
    for _, api in ipairs { "login", "logout" } do assert.are.equal(1, count(lines, api), api) end
    assert.are.equal(1, queries(lines))
    assert.is_true(pages(lines) >= 2)
    -- every other line is a request ("> ") or reply ("< ") line
    for _, l in ipairs(other) do assert.truthy(l:match("^[<>] "), l) end
    local login = "\n> POST " .. url .. "?api=login&apiversion=3&uid=plain1&pswd=***&kill=yes\n"
    assert.truthy(text:find(login, 1, true), text)
    assert.truthy(text:find("\n< <out><rc>0</rc>", 1, true), text)
    assert.truthy(text:find("<pswd>***</pswd>", 1, true), text)
    assert.truthy(text:find('\n> <in><name>test.words</name><ops><sel value="id<1000"/></ops>', 1, true), text)
    assert.falsy(text:find("secret4", 1, true))
    assert.falsy(text:find(enc, 1, true))
    -- each reply body of a 200-row page is over 4096 bytes: cut there
    local cuts = 0
    for n, total in text:gmatch("\n< %[cut: (%d+) of (%d+) bytes%]") do
      assert.are.equal("4096", n)
      assert.is_true(tonumber(total) > 4096)
      cuts = cuts + 1
    end
    assert.is_true(cuts >= 1, text)
    -- the kept text of a cut reply is 4096 bytes, less the "< " of each line
    local block = text:match("\n(< [^\n]*\n< <out><rc>0</rc><msg>200 rows.-)\n< %[cut:")
    assert.truthy(block, text)
    local kept = block:gsub("^< ", ""):gsub("\n< ", "\n")
    assert.are.equal(4096, #kept)
  end)

  it("takes a length for log_bodies, and masks a session password cut in the middle", function()
    -- where the session password starts in the gateway's login reply
    local r = g:call("login", { uid = "plain1", pswd = "secret4", kill = "yes" })
    local at = assert(r.raw:find("<pswd>", 1, true)) + #"<pswd>" - 1
    local path = dir .. "/cut.log"
    local enc
    do
      -- cut the reply 5 bytes into the session password
      local s <close> = tenten.Session(url, "plain1", "secret4", tenten.KILL, { logfile = path, log_bodies = at + 5 })
      enc = s._enc
    end
    local text = gateway.readfile(path)
    -- what is left of the element is the mask, never the first bytes of the password
    local left = text:match("<pswd>([^\n]*)\n< %[cut: " .. (at + 5) .. " of ")
    assert.truthy(left, text)
    assert.truthy(left:match("^%*%*%*"), left)
    assert.falsy(text:find(enc:sub(1, 5), 1, true), text)
    assert.falsy(text:find("secret4", 1, true))
  end)

  it("refuses a bad log_bodies", function()
    for _, v in ipairs { 0, -1, 1.5, "yes" } do
      local ok, err = pcall(tenten.Session, url, "plain1", "secret4", tenten.KILL,
        { logfile = dir .. "/x.log", log_bodies = v })
      assert.is_false(ok)
      assert.matches("argument 'log_bodies' must be true, false or a number of bytes > 0", err)
    end
  end)
end)
