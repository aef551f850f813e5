-- query, getdata, querydata, tabinfo, dir over HTTP, and what a session sees of imports.
local gateway = require "gateway"
local xml = require "xml"

local CSV = "id:i,name:a,score:f\n1,alpha,1.5\n2,\"b,eta\",2\n3,,\n4,\"say \"\"hi\"\"\",4.25\n5,epsilon,-5\n" ..
  "6,zeta,6\n7,eta,7\n8,theta,8\n9,iota,9\n10,kappa,10\n"

describe("tt-gateway queries", function()
  local g, dir, db, s

  setup(function()
    dir = gateway.tmpdir()
    db = gateway.demo_db(dir, 0.005)
    assert.are.equal(0, gateway.import(db, "test.small", CSV, dir))
    local config = gateway.default_config()
    config.page_rows = 4
    g = gateway.start { dir = dir, db = db, config = config }
    s = g:login("owner1", "secret1")
  end)

  teardown(function()
    if g then assert.are.equal(0, g:stop()) end
  end)

  local function query(ops, name)
    return g:scall(s, "query", "<in><name>" .. (name or "test.small") .. "</name><ops>" .. (ops or "") .. "</ops></in>")
  end

  local rows_of = gateway.rows_of

  it("replies to query with the row count and the column metadata", function()
    local r = query("")
    assert.are.equal(0, r.rc, r.msg)
    local t = r.root:child("table")
    assert.are.equal("10", t.attrs.nrows)
    local ths = t:child("cols"):all("th")
    assert.are.equal(3, #ths)
    assert.are.same({ "id", "i" }, { ths[1].attrs.name, ths[1].attrs.type })
    assert.are.same({ "name", "a" }, { ths[2].attrs.name, ths[2].attrs.type })
    assert.are.same({ "score", "f" }, { ths[3].attrs.name, ths[3].attrs.type })
    assert.are.equal("score", ths[3].text) -- the heading defaults to the name
  end)

  it("pages relatively with mode 1 and caps every page at page_rows", function()
    assert.are.equal(0, query("").rc)
    local d = g:scall(s, "getdata", '<in><rows mode="1"><next>3</next></rows></in>')
    assert.are.equal(0, d.rc)
    assert.are.same({ { "1", "alpha", "1.5" }, { "2", "b,eta", "2" }, { "3", "", "" } }, rows_of(d))
    d = g:scall(s, "getdata", '<in><rows mode="1"><next>100</next></rows></in>')
    assert.are.equal(4, #rows_of(d)) -- capped
    assert.are.equal("3", d.root:child("table").attrs.first)
    assert.are.equal('say "hi"', rows_of(d)[1][2])
    d = g:scall(s, "getdata") -- no <rows>: the next page
    assert.are.same({ "8", "9", "10" }, { rows_of(d)[1][1], rows_of(d)[2][1], rows_of(d)[3][1] })
    d = g:scall(s, "getdata", '<in><rows mode="1"><next>5</next></rows></in>')
    assert.are.equal(0, d.rc)
    assert.are.equal(0, #rows_of(d)) -- past the end: an empty page
  end)

  it("reads absolute ranges with mode 2 without moving the cursor", function()
    assert.are.equal(0, query("").rc)
    local d = g:scall(s, "getdata", '<in><rows mode="2"><start>8</start><end>10</end></rows></in>')
    assert.are.same({ { "9", "iota", "9" }, { "10", "kappa", "10" } }, rows_of(d))
    d = g:scall(s, "getdata", '<in><rows mode="2"><start>20</start><end>30</end></rows></in>')
    assert.are.equal(0, #rows_of(d))
    d = g:scall(s, "getdata", '<in><rows mode="1"><next>1</next></rows></in>')
    assert.are.equal("1", rows_of(d)[1][1])
  end)

  it("returns chosen columns and CSV text when asked", function()
    assert.are.equal(0, query("").rc)
    local d = g:scall(s, "getdata", '<in><cols><col>score</col><col>name</col></cols>' ..
      '<rows mode="2"><start>0</start><end>4</end></rows><format type="csv"><sep>,</sep></format></in>')
    assert.are.equal(0, d.rc)
    assert.are.equal('score,name\n1.5,alpha\n2,"b,eta"\n,\n4.25,"say ""hi"""\n', d.root:get("csv"))
    d = g:scall(s, "getdata", '<in><rows mode="2"><start>0</start><end>2</end></rows>' ..
      '<format type="csv"><sep>|</sep><linesep>^</linesep></format></in>')
    assert.are.equal("id|name|score^1|alpha|1.5^2|b,eta|2^", d.root:get("csv"))
  end)

  it("takes separators as sent and quotes what holds one", function()
    assert.are.equal(0, query("").rc)
    local d = g:scall(s, "getdata", '<in><rows mode="2"><start>0</start><end>2</end></rows>' ..
      '<format type="csv"><sep>\t</sep><linesep>&#13;&#10;</linesep></format></in>')
    assert.are.equal("id\tname\tscore\r\n1\talpha\t1.5\r\n2\tb,eta\t2\r\n", d.root:get("csv"))
    d = g:scall(s, "getdata", '<in><rows mode="2"><start>0</start><end>2</end></rows>' ..
      '<format type="csv"><sep>.</sep><linesep>a</linesep></format></in>')
    assert.are.equal('id."name".scorea1."alpha"."1.5"a2."b,eta".2a', d.root:get("csv"))
    d = g:scall(s, "getdata", "<in><cols><col> name </col></cols></in>")
    assert.are.equal(0, d.rc)
  end)

  it("answers bad getdata requests with the documented codes", function()
    local fresh = g:login("plain1", "secret4")
    assert.are.equal(21, g:scall(fresh, "getdata").rc) -- no query yet
    assert.are.equal(0, query("").rc)
    local function rc(body) return g:scall(s, "getdata", body).rc end
    assert.are.equal(36, rc("<in><cols><col>nosuch</col></cols></in>"))
    assert.are.equal(11, rc("<in><rows><next>3</next></rows></in>"))
    assert.are.equal(13, rc('<in><rows mode="7"><next>3</next></rows></in>'))
    assert.are.equal(8, rc('<in><rows mode="1"></rows></in>'))
    assert.are.equal(9, rc('<in><rows mode="1"><next>-3</next></rows></in>'))
    assert.are.equal(9, rc('<in><rows mode="1"><next>lots</next></rows></in>'))
    assert.are.equal(8, rc('<in><rows mode="2"><start>3</start></rows></in>'))
    assert.are.equal(9, rc('<in><rows mode="2"><start>5</start><end>2</end></rows></in>'))
    assert.are.equal(13, rc('<in><format type="json"/></in>'))
  end)

  it("answers bad queries with rc 8, 16 and 17", function()
    assert.are.equal(8, g:scall(s, "query", "<in><ops/></in>").rc)
    assert.are.equal(16, query("", "not a name").rc)
    assert.are.equal(16, query("", "x").rc)
    local r = query("", "pub.demo.nosuch")
    assert.are.equal(17, r.rc)
    assert.matches("pub.demo.nosuch", r.msg)
  end)

  it("runs querydata as query plus the first page", function()
    local r = g:scall(s, "querydata", '<in><name>test.small</name><ops></ops>' ..
      '<rows mode="1"><next>2</next></rows></in>')
    assert.are.equal(0, r.rc)
    assert.are.same({ { "1", "alpha", "1.5" }, { "2", "b,eta", "2" } }, rows_of(r))
    local d = g:scall(s, "getdata", '<in><rows mode="1"><next>1</next></rows></in>')
    assert.are.equal("3", rows_of(d)[1][1])
  end)

  it("tells tabinfo and dir what the session sees", function()
    local r = g:scall(s, "tabinfo", "<in><name>pub.demo.weather.stations</name></in>")
    assert.are.equal(0, r.rc)
    local t = r.root:child("table")
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT", t.attrs.loaded)
    assert.is_true(tonumber(t.attrs.loadedunix) > 1.6e9)
    assert.are.equal("Weather Stations", t:get("title"))
    assert.are.equal(17, g:scall(s, "tabinfo", "<in><name>pub.demo.none</name></in>").rc)
    assert.are.equal(8, g:scall(s, "tabinfo").rc)
    local d = g:scall(s, "dir", "<in><path>pub.demo.weather</path></in>")
    assert.are.equal(0, d.rc)
    local names = {}
    for _, tt in ipairs(d.root:child("dir"):all("table")) do names[#names + 1] = tt.attrs.name end
    assert.are.same({ "pub.demo.weather.hourly90", "pub.demo.weather.stations" }, names)
    assert.are.equal(15, g:scall(s, "dir", "<in><path>no.such</path></in>").rc)
    local all = g:scall(s, "dir")
    assert.are.equal(4, #all.root:child("dir"):all("table"))
  end)

  it("shows each session its tables as of its login, and drops versions nobody needs", function()
    assert.are.equal(0, gateway.import(db, "test.snap", "v:i\n1\n2\n", dir))
    local early = g:login("admin1", "secret2")
    assert.are.equal(0, gateway.import(db, "test.snap", "v:i\n10\n20\n30\n", dir))
    local late = g:login("plain1", "secret4")
    local function count(sess)
      local r = g:scall(sess, "query", "<in><name>test.snap</name><ops/></in>")
      assert.are.equal(0, r.rc, r.msg)
      return r.root:child("table").attrs.nrows
    end
    assert.are.equal("2", count(early))
    assert.are.equal("3", count(late))
    local function version(sess)
      return g:scall(sess, "tabinfo", "<in><name>test.snap</name></in>").root:child("table").attrs.version
    end
    local v_early, v_late = version(early), version(late)
    assert.are_not.equal(v_early, v_late)
    -- the old version stays while the early session lives, and goes after it ends
    local function versions()
      local sql = "SELECT count(*) FROM tt_catalog WHERE name='test.snap'"
      local out = gateway.run("sqlite3 " .. gateway.q(db) .. " " .. gateway.q(sql))
      return tonumber(out)
    end
    -- Wait for a housekeeping tick that ran while `early` lives, seen by what it drops: a
    -- version of test.tick that only `probe` needed goes once probe has logged out. The same
    -- pass must keep test.snap's old version.
    local function tick_versions()
      local sql = "SELECT count(*) FROM tt_catalog WHERE name='test.tick'"
      return tonumber((gateway.run("sqlite3 " .. gateway.q(db) .. " " .. gateway.q(sql))))
    end
    assert.are.equal(0, gateway.import(db, "test.tick", "v:i\n1\n", dir))
    local probe = g:login("other1", "secret3")
    assert.are.equal(0, gateway.import(db, "test.tick", "v:i\n1\n2\n", dir))
    assert.are.equal(2, tick_versions())
    g:scall(probe, "logout")
    gateway.wait_for(function() return tick_versions() <= 1 end, 10)
    assert.are.equal(1, tick_versions())
    assert.are.equal(2, versions())
    assert.are.equal("2", count(early))
    g:scall(early, "logout")
    gateway.wait_for(function() return versions() <= 1 end, 10)
    assert.are.equal(1, versions())
    assert.are.equal("3", count(late))
  end)

  it("streams a large result through many pages", function()
    local r = query("", "pub.demo.weather.hourly90")
    assert.are.equal(0, r.rc)
    local n = tonumber(r.root:child("table").attrs.nrows)
    assert.is_true(n > 1000)
    -- page_rows is 4 here: read 3 pages and check they follow each other
    local ids = {}
    for _ = 1, 3 do
      local d = g:scall(s, "getdata", '<in><rows mode="1"><next>4</next></rows></in>')
      for _, row in ipairs(rows_of(d)) do ids[#ids + 1] = row[2] .. "/" .. row[3] end
    end
    assert.are.equal(12, #ids)
    assert.are.equal("19900101/0", ids[1])
    assert.are.equal("19900101/11", ids[12])
  end)

  it("keeps the reply well-formed for any text in the data", function()
    assert.are.equal(0, gateway.import(db, "test.odd", "t:a\n\"a]]>b\"\n<tag> & \"q\"\n", dir))
    local t = g:login("other1", "secret3")
    assert.are.equal(0, g:scall(t, "query", "<in><name>test.odd</name><ops/></in>").rc)
    local d = g:scall(t, "getdata", '<in><format type="csv"/></in>')
    assert.is_truthy(xml.parse(d.raw))
    assert.are.equal('t\na]]>b\n"<tag> & ""q"""\n', d.root:get("csv"))
    d = g:scall(t, "getdata", '<in><rows mode="2"><start>0</start><end>2</end></rows></in>')
    assert.are.same({ { "a]]>b" }, { '<tag> & "q"' } }, rows_of(d))
  end)
end)
