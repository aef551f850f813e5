-- The platform's dialect, held to by tt-gateway: ops as raw elements, <th pos index>, the row
-- count as an <nrows> element too, default.lonely, values="formatted", download limits,
-- injected transient answers, and the endpoint forms public clients use.
local gateway = require "gateway"

local CSV = "id:i,name:a,score:f\n1,alpha,1.5\n2,\"b,eta\",2\n3,,\n4,delta,4.25\n5,epsilon,-5\n" ..
  "6,zeta,6\n7,eta,7\n8,theta,8\n9,iota,9\n10,kappa,10\n"

local function tags(node)
  local out = {}
  for _, c in ipairs(node.children) do out[#out + 1] = c.tag end
  return out
end

local rows_of = gateway.rows_of

local function first_ids(r)
  local ids = {}
  for _, row in ipairs(rows_of(r)) do ids[#ids + 1] = row[1] end
  return ids
end

local function next_rows(n, extra)
  return '<in>' .. (extra or "") .. '<rows mode="1"><next>' .. n .. '</next></rows></in>'
end

describe("tt-gateway dialect", function()
  local g, dir, db, s

  setup(function()
    dir = gateway.tmpdir()
    db = gateway.demo_db(dir, 0.005)
    assert.are.equal(0, gateway.import(db, "test.small", CSV, dir))
    local config = gateway.default_config()
    config.page_rows = 5
    config.max_download_cells = 12 -- everybody's default
    config.users[2].max_download_cells = 1000 -- admin1: its own beats the top level
    config.users[4].max_download_rows = 3 -- plain1: rows 3, cells still 12
    config.groups[1].max_download_rows = 2 -- pool1's members
    g = gateway.start { dir = dir, db = db, config = config }
    s = g:login("owner1", "secret1")
  end)

  teardown(function()
    if g then assert.are.equal(0, g:stop()) end
    gateway.run("rm -rf " .. gateway.q(dir))
  end)

  local function query(sess, name, ops)
    return g:scall(sess, "query", "<in><name>" .. name .. "</name><ops>" .. (ops or "") .. "</ops></in>")
  end

  describe("<ops>", function()
    it("refuses escaped text and CDATA with rc 10, keeping the previous result", function()
      assert.are.equal(0, query(s, "test.small").rc)
      assert.are.same({ "1", "2" }, first_ids(g:scall(s, "getdata", next_rows(2))))
      for _, ops in ipairs {
        '&lt;sel value="id&gt;3"/&gt;',
        '<![CDATA[<sel value="id>3"/>]]>',
        '<sel value="id>3"/> id>3 ',
        'id>3',
      } do
        local r = query(s, "test.small", ops)
        assert.are.equal(10, r.rc, ops)
        assert.matches("<ops> must be XML elements, not ", r.msg, 1, true)
        assert.matches("send the macro as is", r.msg, 1, true)
        assert.is_nil(r.root:child("table"))
      end
      local r = g:scall(s, "querydata", '<in><name>test.small</name><ops>&lt;sel value="id&gt;3"/&gt;</ops></in>')
      assert.are.equal(10, r.rc)
      -- nothing ran: the result and its cursor are as they were
      local d = g:scall(s, "getdata", next_rows(1))
      assert.are.equal(0, d.rc, d.msg)
      assert.are.same({ "3" }, first_ids(d))
    end)

    it("takes elements with blanks, comments and raw '<' in attribute values, and empty ops", function()
      local r = query(s, "test.small", '\n  <sel value="id<3"/>\n  <!-- a note -->\n  <colord cols="id"/>\n')
      assert.are.equal(0, r.rc, r.msg)
      assert.are.equal("2", r.root:child("table").attrs.nrows)
      r = query(s, "test.small", '<sel value="(id>3)&(id<6)"/>') -- a bare & in a value, too
      assert.are.equal(0, r.rc, r.msg)
      assert.are.equal("2", r.root:child("table").attrs.nrows)
      for _, body in ipairs {
        "<in><name>test.small</name><ops/></in>",
        "<in><name>test.small</name><ops>  \n\t</ops></in>",
        "<in><name>test.small</name><ops><![CDATA[ ]]></ops></in>",
        "<in><name>test.small</name></in>",
      } do
        r = g:scall(s, "query", body)
        assert.are.equal(0, r.rc, body)
        assert.are.equal("10", r.root:child("table").attrs.nrows)
      end
    end)
  end)

  describe("<th>", function()
    it("gives the position as pos and whether the column is indexed as index", function()
      local r = query(s, "test.small")
      local ths = r.root:child("table"):child("cols"):all("th")
      for i, th in ipairs(ths) do
        assert.are.equal(tostring(i - 1), th.attrs.pos)
        assert.are.equal("0", th.attrs.index)
      end
      local d = g:scall(s, "getdata", next_rows(1, "<cols><col>score</col><col>id</col></cols>"))
      local picked = d.root:child("table"):child("cols"):all("th")
      assert.are.same({ "2", "0" }, { picked[1].attrs.pos, picked[2].attrs.pos })
      assert.are.same({ "0", "0" }, { picked[1].attrs.index, picked[2].attrs.index })
    end)

    it("says index=1 in tabinfo for a column that leads an index of the stored table", function()
      local t = g:scall(s, "tabinfo", "<in><name>test.small</name></in>").root:child("table")
      local version = t.attrs.version
      for _, th in ipairs(t:child("cols"):all("th")) do assert.are.equal("0", th.attrs.index) end
      local sql = ('CREATE INDEX test_small_name ON tt_v%s("name")'):format(version)
      local _, rc = gateway.run("sqlite3 " .. gateway.q(db) .. " " .. gateway.q(sql))
      assert.are.equal(0, rc)
      t = g:scall(s, "tabinfo", "<in><name>test.small</name></in>").root:child("table")
      local index = {}
      for _, th in ipairs(t:child("cols"):all("th")) do index[th.attrs.name] = th.attrs.index end
      assert.are.same({ id = "0", name = "1", score = "0" }, index)
      -- a query result is a table of its own, with no index
      for _, th in ipairs(query(s, "test.small").root:child("table"):child("cols"):all("th")) do
        assert.are.equal("0", th.attrs.index)
      end
    end)
  end)

  describe("<nrows>", function()
    it("follows <table> directly under <out> on query, getdata, querydata and tabinfo", function()
      local r = query(s, "test.small", '<sel value="id>2"/>')
      assert.are.same({ "rc", "msg", "table", "nrows" }, tags(r.root))
      assert.are.equal("8", r.root:get("nrows"))
      local d = g:scall(s, "getdata", next_rows(2))
      assert.are.same({ "rc", "msg", "table", "nrows", "data" }, tags(d.root))
      assert.are.equal("8", d.root:get("nrows"))
      d = g:scall(s, "getdata", next_rows(2, '<format type="csv"/>'))
      assert.are.same({ "rc", "msg", "table", "nrows", "csv" }, tags(d.root))
      assert.are.equal("8", d.root:get("nrows"))
      assert.are.equal("8", d.root:child("table").attrs.nrows) -- the attributes stay
      assert.are.equal("2", d.root:child("table").attrs.first)
      local q = g:scall(s, "querydata", "<in><name>test.small</name><ops/>" .. next_rows(1):sub(5))
      assert.are.same({ "rc", "msg", "table", "nrows", "data" }, tags(q.root))
      assert.are.equal("10", q.root:get("nrows"))
      local t = g:scall(s, "tabinfo", "<in><name>pub.demo.weather.stations</name></in>")
      assert.are.same({ "rc", "msg", "table", "nrows" }, tags(t.root))
      assert.are.equal(t.root:child("table").attrs.nrows, t.root:get("nrows"))
    end)
  end)

  describe("default.lonely", function()
    it("is a table of one row and no columns", function()
      local t = g:scall(s, "tabinfo", "<in><name>default.lonely</name></in>")
      assert.are.equal(0, t.rc, t.msg)
      assert.are.same({ "1", "0", "0" },
        { t.root:child("table").attrs.nrows, t.root:child("table").attrs.ncols, t.root:child("table").attrs.version })
      local r = query(s, "default.lonely")
      assert.are.equal(0, r.rc, r.msg)
      assert.are.equal("1", r.root:get("nrows"))
      assert.are.equal(0, #r.root:child("table"):child("cols"):all("th"))
      local d = g:scall(s, "getdata")
      assert.are.equal(0, d.rc, d.msg)
      assert.are.equal(1, #d.root:child("data"):all("tr"))
      assert.are.equal(0, #d.root:child("data"):child("tr"):all("td"))
      d = g:scall(s, "getdata", '<in><rows mode="2"><start>0</start><end>5</end></rows><format type="csv"/></in>')
      assert.are.equal("\n\n", d.root:get("csv")) -- an empty header, one empty row
    end)

    it("serves as <name> for ops that start from <base table>", function()
      local r = g:scall(s, "querydata", '<in><name>default.lonely</name><ops><base table="test.small"/>' ..
        '<sel value="id>8"/></ops></in>')
      assert.are.equal(0, r.rc, r.msg)
      assert.are.equal("default.lonely", r.root:child("table").attrs.name)
      assert.are.same({ { "9", "iota", "9" }, { "10", "kappa", "10" } }, rows_of(r))
      r = g:scall(s, "querydata", '<in><name>default.lonely</name><ops><willbe name="x" value="6*7"/></ops></in>')
      assert.are.equal(0, r.rc, r.msg)
      assert.are.same({ { "42" } }, rows_of(r))
    end)

    it("cannot be imported over and is not listed by dir", function()
      local rc, out = gateway.import(db, "default.lonely", "a:i\n1\n", dir)
      assert.are.equal(1, rc)
      assert.matches("built in", out)
      local all = g:scall(s, "dir")
      for _, t in ipairs(all.root:child("dir"):all("table")) do assert.are_not.equal("default.lonely", t.attrs.name) end
      assert.are.equal(15, g:scall(s, "dir", "<in><path>default</path></in>").rc)
    end)
  end)

  describe('<format values="formatted">', function()
    it("is accepted on getdata and querydata, xml and csv, and sends the same raw values", function()
      assert.are.equal(0, query(s, "test.small").rc)
      local range = '<rows mode="2"><start>0</start><end>3</end></rows>'
      local plain = g:scall(s, "getdata", "<in>" .. range .. "</in>")
      local formatted = g:scall(s, "getdata", "<in>" .. range .. '<format type="xml" values="formatted"/></in>')
      assert.are.equal(0, formatted.rc, formatted.msg)
      assert.are.same(rows_of(plain), rows_of(formatted))
      local csv = g:scall(s, "getdata", "<in>" .. range .. '<format type="csv"><sep>|</sep></format></in>')
      local fcsv = g:scall(s, "getdata", "<in>" .. range ..
        '<format type="csv" values="formatted"><sep>|</sep><linesep>^</linesep></format></in>')
      assert.are.equal(csv.root:get("csv"):gsub("\n", "^"), fcsv.root:get("csv"))
      local q = g:scall(s, "querydata", '<in><name>test.small</name><ops><sel value="id=4"/></ops>' ..
        '<cols><col>score</col></cols><format type="csv" values="formatted"/></in>')
      assert.are.equal(0, q.rc, q.msg)
      assert.are.equal("score\n4.25\n", q.root:get("csv"))
    end)

    it("refuses any other values with rc 13", function()
      assert.are.equal(0, query(s, "test.small").rc)
      for _, v in ipairs { "raw", "pretty", "" } do
        local r = g:scall(s, "getdata", '<in><format type="csv" values="' .. v .. '"/></in>')
        assert.are.equal(13, r.rc, v)
        assert.matches("values", r.msg)
      end
    end)
  end)

  describe("download limits", function()
    it("refuses a page over max_download_cells with rc 23, leaving cursor and result", function()
      assert.are.equal(0, query(s, "test.small").rc)
      assert.are.same({ "1", "2", "3", "4" }, first_ids(g:scall(s, "getdata", next_rows(4)))) -- 12 cells
      local r = g:scall(s, "getdata", next_rows(5))
      assert.are.equal(23, r.rc)
      assert.are.equal("Download limit exceeded: 5 rows x 3 columns = 15 cells is over max_download_cells (12)", r.msg)
      assert.is_nil(r.root:child("table"))
      r = g:scall(s, "getdata", '<in><rows mode="2"><start>0</start><end>5</end></rows></in>')
      assert.are.equal(23, r.rc)
      -- fewer columns, fewer cells: the same rows go through, from where the cursor stood
      local d = g:scall(s, "getdata", next_rows(5, "<cols><col>id</col></cols>"))
      assert.are.equal(0, d.rc, d.msg)
      assert.are.same({ "5", "6", "7", "8", "9" }, first_ids(d))
    end)

    it("counts the rows a page would carry: page_rows and the end of the result cut first", function()
      assert.are.equal(0, query(s, "test.small").rc)
      -- page_rows is 5; 4 rows x 3 = 12 cells passes, whatever was asked
      local d = g:scall(s, "getdata", '<in><rows mode="2"><start>6</start><end>1000</end></rows></in>')
      assert.are.equal(0, d.rc, d.msg)
      assert.are.same({ "7", "8", "9", "10" }, first_ids(d))
      local plain = g:login("plain1", "secret4") -- max_download_rows 3
      assert.are.equal(0, query(plain, "test.small").rc)
      local r = g:scall(plain, "getdata", next_rows(4))
      assert.are.equal(23, r.rc)
      assert.are.equal("Download limit exceeded: 4 rows is over max_download_rows (3)", r.msg)
      d = g:scall(plain, "getdata", '<in><rows mode="2"><start>8</start><end>100</end></rows></in>')
      assert.are.equal(0, d.rc, d.msg) -- only 2 rows remain
      g:scall(plain, "logout")
    end)

    it("keeps a querydata result that its first page could not carry", function()
      local r = g:scall(s, "querydata", "<in><name>test.small</name><ops/>" .. next_rows(5):sub(5))
      assert.are.equal(23, r.rc)
      local d = g:scall(s, "getdata", next_rows(4))
      assert.are.equal(0, d.rc, d.msg)
      assert.are.same({ "1", "2", "3", "4" }, first_ids(d))
    end)

    it("takes the most specific limit: the user's, then its group's, then the top level", function()
      local admin = g:login("admin1", "secret2") -- max_download_cells 1000 of its own
      assert.are.equal(0, query(admin, "test.small").rc)
      assert.are.equal(0, g:scall(admin, "getdata", next_rows(5)).rc)
      g:scall(admin, "logout")
      local member = g:login("pool1_0", "secret1") -- pool1: max_download_rows 2; cells 12
      assert.are.equal(0, query(member, "test.small").rc)
      local r = g:scall(member, "getdata", next_rows(3))
      assert.are.equal(23, r.rc)
      assert.matches("max_download_rows %(2%)", r.msg)
      assert.are.equal(0, g:scall(member, "getdata", next_rows(2)).rc)
      g:scall(member, "logout")
      local other = g:login("pool2_0", "memberpw") -- pool2 sets nothing: the top level
      assert.are.equal(0, query(other, "test.small").rc)
      r = g:scall(other, "getdata", next_rows(5))
      assert.are.equal(23, r.rc)
      assert.matches("max_download_cells %(12%)", r.msg)
      g:scall(other, "logout")
    end)
  end)

  describe("endpoints", function()
    it("answer on every form public clients use, extra parameters ignored", function()
      for _, path in ipairs {
        "/cgi-bin/gw", "/cgi-bin/gw.k", "/prod-latest/gw", "/beta-latest/gw", "/gw",
        "/cgi-bin/prod-stable/gw.k?protocol=xml-rpc",
      } do
        local r = g:call("login", { uid = "other1", pswd = "secret3", kill = "possess" }, nil, { path = path })
        assert.are.equal(200, r.status, path)
        assert.are.equal(0, r.rc, path)
        local sess = { uid = "other1", sid = r.root:get("sid"), pswd = r.root:get("pswd") }
        local q = g:call("querydata", { uid = sess.uid, sid = sess.sid, pswd = sess.pswd },
          '<in><name>test.small</name><ops><sel value="id=2"/></ops></in>', { path = path })
        assert.are.equal(0, q.rc, path .. " " .. tostring(q.msg))
        assert.are.same({ { "2", "b,eta", "2" } }, rows_of(q))
      end
    end)
  end)
end)

describe("tt-gateway injected answers", function()
  local g

  setup(function()
    local config = gateway.default_config()
    config.inject = { login = { 45, 41, 45 }, getuid = { 45, 38 } }
    g = gateway.start { config = config } -- an empty database
  end)

  teardown(function()
    if g then assert.are.equal(0, g:stop()) end
    if g then gateway.run("rm -rf " .. gateway.q(g.dir)) end
  end)

  it("answers the first calls with the listed rcs, across concurrent callers, then runs normally", function()
    -- six logins at once, some with a wrong password: the first three calls get the rcs
    local cmds, outs = {}, {}
    for i = 1, 6 do
      outs[i] = os.tmpname()
      local uid = ({ "owner1", "admin1", "plain1" })[(i - 1) % 3 + 1]
      local pswd = ({ owner1 = "secret1", admin1 = "secret2", plain1 = "secret4" })[uid]
      cmds[i] = g:curl_command({ api = "login", uid = uid, pswd = i == 6 and "wrong" or pswd, kill = "possess" },
        nil, { out = outs[i] }) .. " >/dev/null &"
    end
    gateway.run("{ " .. table.concat(cmds, " ") .. " wait; }")
    local count = {}
    for i = 1, 6 do
      local r = gateway.reply(gateway.readfile(outs[i]))
      os.remove(outs[i])
      count[r.rc] = (count[r.rc] or 0) + 1
      if r.rc == 45 then assert.are.equal("Login throttled, try again later", r.msg) end
      if r.rc == 41 then assert.are.equal("1010data unavailable", r.msg) end
    end
    assert.are.equal(2, count[45])
    assert.are.equal(1, count[41])
    assert.are.equal(3, (count[0] or 0) + (count[4] or 0))
    assert.are.equal(0, g:call("login", { uid = "owner1", pswd = "secret1", kill = "possess" }).rc)
    assert.are.equal(4, g:call("login", { uid = "owner1", pswd = "wrong" }).rc)
  end)

  it("comes before every other check, with a generic message for other rcs", function()
    local r = g:call("getuid", { uid = "nobody", pswd = "x", gid = "nope" })
    assert.are.equal(45, r.rc)
    r = g:call("getuid", { uid = "owner1", pswd = "secret1", gid = "pool1" })
    assert.are.equal(38, r.rc)
    assert.matches("Injected answer", r.msg)
    r = g:call("getuid", { uid = "owner1", pswd = "secret1", gid = "pool1" })
    assert.are.equal(0, r.rc, r.msg)
    assert.are.equal("pool1_0", r.root:get("uid"))
  end)

  it("leaves default.lonely in a database with no tables", function()
    local s = g:login("plain1", "secret4")
    local d = g:scall(s, "dir")
    assert.are.equal(0, d.rc)
    assert.are.equal(0, #d.root:child("dir"):all("table"))
    local r = g:scall(s, "querydata", "<in><name>default.lonely</name></in>")
    assert.are.equal(0, r.rc, r.msg)
    assert.are.equal("1", r.root:get("nrows"))
  end)
end)

describe("tt-gateway serve", function()
  it("lists the config keys in --help", function()
    local out, rc = gateway.run(gateway.q(gateway.bin) .. " serve --help")
    assert.are.equal(0, rc)
    for _, key in ipairs { "max_download_rows", "max_download_cells", "inject", "page_rows" } do
      assert.matches(key, out, 1, true)
    end
  end)

  it("refuses bad limit and inject keys, naming them", function()
    local dir = gateway.tmpdir()
    for cfg, want in pairs {
      ["max_download_rows = 0"] = "config: 'max_download_rows' must be a whole number >= 1",
      ["inject = { logn = { 45 } }"] = "config: inject: unknown transaction 'logn'",
      ["inject = { login = { 100 } }"] = "config: inject.login[1] must be a whole number from 1 to 99",
    } do
      local path = dir .. "/bad.lua"
      gateway.writefile(path, "return { database = 'x.db', users = {}, " .. cfg .. " }\n")
      local out, rc = gateway.run(gateway.q(gateway.bin) .. " serve --config " .. gateway.q(path) .. " 2>&1")
      assert.are.equal(1, rc, cfg)
      assert.matches(want, out, 1, true)
    end
    gateway.run("rm -rf " .. gateway.q(dir))
  end)
end)
