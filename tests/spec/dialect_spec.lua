-- The client speaks the platform's dialect (issue 8): ops sent as raw XML elements, every
-- endpoint form, download limits met by halving the page, an unknown row count met by paging
-- until a short page, a short result refused (E_SHORT), and throttled or unavailable answers
-- on login/getuid retried. Against a real tt-gateway, which refuses escaped ops (rc 10); the
-- tt-fixture stub or proxy only for what the gateway cannot produce.
local fixture = require "fixture"
local gateway = require "gateway"
local tenten = require "tenten"

local HOURLY = "pub.demo.weather.hourly90"
local HOUR0 = '<sel value="hour=0"/>' -- 1,095 rows of 6 columns at scale 0.01
local FAST = { base = 0.005, cap = 0.02 } -- back-off for the tests: retries without long waits

local function count(text, pattern)
  local n = 0
  for _ in text:gmatch(pattern) do n = n + 1 end
  return n
end

local exists = gateway.exists

describe("the platform's dialect", function()
  local dir, db

  setup(function()
    dir = gateway.tmpdir()
    db = gateway.demo_db(dir, 0.01)
  end)

  teardown(function()
    if dir then os.execute("rm -rf " .. gateway.q(dir)) end
  end)

  -- The rows of HOURLY with HOUR0 as lists of strings (N/A as ""), read with curl by admin1.
  local function reference(g)
    local s = g:login("admin1", "secret2")
    local rows = assert(g:pull(s, HOURLY, HOUR0, 5000))
    local out = {}
    for i, row in ipairs(rows) do
      local cells = {}
      for c, v in ipairs(row) do cells[c] = v or "" end
      out[i] = table.concat(cells, ",")
    end
    return out
  end

  -- A row's key (station, date, hour) as text: unique in HOURLY, so equal lists of keys mean
  -- every row came once and in order. (Whole rows are compared in the files.)
  local function keys_of_rows(rows)
    local out = {}
    for i, row in ipairs(rows) do out[i] = table.concat({ row[1], row[2], row[3] }, ",") end
    return out
  end

  local function keys_of_lines(lines)
    local out = {}
    for i, line in ipairs(lines) do out[i] = line:match("^([^,]*,[^,]*,[^,]*)") end
    return out
  end

  local function csv_lines(path)
    local out = {}
    for line in io.lines(path) do out[#out + 1] = (line:gsub("\r$", "")) end
    table.remove(out, 1) -- the header
    return out
  end

  describe("ops", function()
    local g, url

    setup(function()
      g = gateway.start { dir = dir, db = db }
      url = g.url
    end)

    teardown(function()
      if g then g:stop() end
    end)

    it("go into <ops> as raw elements from every entry point; names and columns are escaped", function()
      local log = dir .. "/ops.log"
      -- a raw < and > inside the attribute, and an entity: all sent as they are
      local ops = '<sel value="(hour<3) &amp; (hour>-1)"/>'
      local s <close> = tenten.Session(url, "plain1", "secret4", tenten.KILL, { logfile = log, log_bodies = true })
      local q = s:query(HOURLY, ops)
      local n = 0
      for _ in q:rows() do n = n + 1 end
      assert.are.equal(3 * 365 * 3, n)
      assert.are.equal(q.nrows, n)
      assert.are.equal(10, #q:dictslice(0, 10).id)
      assert.are.equal(n, (q:write(dir .. "/ops.csv")))
      local text = gateway.readfile(log)
      assert.truthy(text:find("<ops>" .. ops .. "</ops>", 1, true), text:sub(1, 2000))
      -- a name is a value we build: escaped, and then refused as a name (16)
      local ok, err = pcall(function() return s:query("pub.demo.<x>&y", ops):run() end)
      assert.is_false(ok)
      assert.are.equal(16, err.code)
      assert.truthy(gateway.readfile(log):find("<name>pub.demo.&lt;x&gt;&amp;y</name>", 1, true))

      -- BaseQuery + warmpool
      tenten.resetpool(url, "owner1", "secret1", "pool1")
      local warmed = tenten.warmpool(url, "owner1", "secret1", "pool1", { tenten.BaseQuery(HOURLY, ops) },
        { logfile = log, log_bodies = true })
      assert.are.equal(4, warmed)
      -- the session's query, the one with the bad name, and one per warmed ID
      assert.are.equal(1 + 1 + 4, count(gateway.readfile(log), "<ops>" .. ops:gsub("%p", "%%%0") .. "</ops>"))

      -- pool:pull, with columns: the <colord cols> value is ours, escaped
      local pool = tenten.pool { gateway = url, owner = "owner1", password = "secret1", group = "pool1",
        logfile = log, log_bodies = true }
      local res = pool:pull({
        { table = HOURLY, ops = ops, out = dir .. "/ops-pull.csv", columns = { "id", "temp" } },
      }, { progress = false })
      assert.is_nil(res[1].error)
      assert.are.equal(n, res[1].rows)
      assert.truthy(gateway.readfile(log):find("<ops>" .. ops .. '<colord cols="id,temp"/></ops>', 1, true))
      tenten.resetpool(url, "owner1", "secret1", "pool1")
    end)

    it("escaped ops are refused by the gateway, so the specs above prove the raw form", function()
      local s <close> = tenten.Session(url, "plain1", "secret4", tenten.KILL)
      local reply = g:call("query", { uid = "plain1", sid = s.sid, pswd = s._enc },
        "<in><name>" .. HOURLY .. "</name><ops>&lt;sel value=&quot;hour=0&quot;/&gt;</ops></in>")
      assert.are.equal(10, reply.rc)
    end)
  end)

  describe("endpoints", function()
    local g

    setup(function()
      g = gateway.start { dir = dir, db = db }
    end)

    teardown(function()
      if g then g:stop() end
    end)

    it("log in, query and read rows at every gateway URL form", function()
      local forms = {
        g.base:gsub("/$", ""), -- a bare server gets /cgi-bin/gw
        g.base,
        g.base .. "cgi-bin/gw",
        g.base .. "cgi-bin/gw.k",
        g.base .. "prod-latest/gw",
        g.base .. "cgi-bin/prod-stable/gw.k?protocol=xml-rpc",
        g.base .. "cgi-bin/prod-stable/gw.k?protocol=xml-rpc&",
      }
      for _, form in ipairs(forms) do
        local log = dir .. "/endpoint.log"
        os.remove(log)
        local s <close> = tenten.Session(form, "plain1", "secret4", tenten.KILL, { logfile = log, log_bodies = true })
        local q = s:query("pub.demo.weather.stations", '<sel value="elev>-1000"/>')
        local rows = {}
        for row in q:rows() do rows[#rows + 1] = row end
        assert.are.equal(3, #rows, form)
        local text = gateway.readfile(log)
        if form:find("protocol=xml-rpc", 1, true) then
          -- the URL's own parameters first, the API's after them
          assert.matches("/cgi%-bin/prod%-stable/gw%.k%?protocol=xml%-rpc&api=querydata&apiversion=3&", text)
        end
        assert.is_nil(text:find("&&", 1, true))
      end
      local ok, err = pcall(tenten.Session, g.base .. "cgi-bin/gw#top", "plain1", "secret4", tenten.KILL)
      assert.is_false(ok)
      assert.matches("argument 'gateway' must be a URL without a #fragment", err)
    end)
  end)

  describe("download limits", function()
    local g, url, want

    setup(function()
      local config = gateway.default_config()
      -- 6 columns: 600 cells is 100 rows. 1000 -> 500 -> 250 -> 125 -> 62 rows: 4 halvings
      config.max_download_cells = 600
      config.users[2].max_download_rows = 1000000 -- admin1 reads the reference with curl
      config.users[2].max_download_cells = 100000000
      config.users[4].max_download_rows = 40   -- plain1: 5 halvings, to 31
      config.groups[1].max_download_rows = 100 -- pool1's members: 62 (cells) is under it
      config.groups[2].max_download_cells = 3  -- pool2's members: not even one row
      g = gateway.start { dir = dir, db = db, config = config }
      url = g.url
      want = reference(g)
      assert.are.equal(1095, #want)
    end)

    teardown(function()
      if g then g:stop() end
    end)

    it("halve the page for rows() and dictslice, each row arriving once, and keep the size", function()
      local log = dir .. "/limits.log"
      os.remove(log)
      local s <close> = tenten.Session(url, "plain1", "secret4", tenten.KILL, { logfile = log })
      local q = s:query(HOURLY, HOUR0)
      q.page_rows = 1000
      local rows = {}
      for row in q:rows() do rows[#rows + 1] = row end
      assert.are.same(keys_of_lines(want), keys_of_rows(rows))
      assert.are.equal(31, q.page_rows)
      assert.are.equal(5, count(gateway.readfile(log), " rc=23 "))
      local q2 = s:query(HOURLY, HOUR0)
      q2.page_rows = 1000
      local d = q2:dictslice(100, 1000)
      assert.are.equal(900, #d.id)
      local got = {}
      for i = 1, 900 do got[i] = { d.id[i], d.date[i], d.hour[i] } end
      assert.are.same(keys_of_lines { table.unpack(want, 101, 1000) }, keys_of_rows(got))
      -- halved from the 900 rows asked: 450, 225, 112, 56, 28
      assert.are.equal(28, q2.page_rows)
    end)

    it("halve the page for q:write and pool:pull, each row arriving once", function()
      local pool = tenten.pool { gateway = url, owner = "owner1", password = "secret1", group = "pool1" }
      local s = pool:session()
      local q = s:query(HOURLY, HOUR0)
      q.page_rows = 1000
      assert.are.equal(1095, (q:write(dir .. "/lim.csv")))
      assert.are.equal(62, q.page_rows)
      s:close()
      assert.are.same(want, csv_lines(dir .. "/lim.csv"))
      local res = pool:pull({
        { table = HOURLY, ops = HOUR0, out = dir .. "/lim1.csv" },
        { table = HOURLY, ops = HOUR0, out = dir .. "/lim2.csv" },
      }, { progress = false, page_rows = 1000 })
      for i = 1, 2 do
        assert.is_nil(res[i].error)
        assert.are.equal(1095, res[i].rows)
        assert.are.same(want, csv_lines(dir .. "/lim" .. i .. ".csv"))
      end
    end)

    it("raise rc 23 when even one row is over the limit", function()
      local pool = tenten.pool { gateway = url, owner = "other1", password = "secret3", group = "pool2",
        member_password = "memberpw" }
      local s <close> = pool:session()
      local q = s:query(HOURLY, HOUR0)
      q.page_rows = 4
      local ok, err = pcall(function() for _ in q:rows() do end end)
      assert.is_false(ok)
      assert.is_true(tenten.is_error(err), tostring(err))
      assert.are.equal(23, err.code)
      assert.are.equal(1, q.page_rows)
    end)

    it("handle the refusal of the page already in flight", function()
      -- the first getdata (asked while the first page, which came with the query, is read)
      -- comes back refused
      local fx = fixture.start { upstream = g.base, rules = {
        "api=getdata,nth=1,do=body:<out><rc>23</rc><msg>Download limit exceeded</msg></out>",
      } }
      local ok, err = pcall(function()
        local s <close> = tenten.Session(fx.gw, "admin1", "secret2", tenten.KILL)
        local q = s:query(HOURLY, HOUR0)
        q.page_rows = 400
        local rows = {}
        for row in q:rows() do rows[#rows + 1] = row end
        assert.are.same(keys_of_lines(want), keys_of_rows(rows))
        assert.are.equal(200, q.page_rows)
      end)
      local bodies = {}
      for _, r in ipairs(fx:requests()) do
        if r.api == "getdata" then bodies[#bodies + 1] = r.body:match("<start>(%d+)</start><end>(%d+)</end>") end
      end
      fx:stop()
      assert(ok, tostring(err))
      -- pages asked after the query's own [0,400): [400,800) refused, then [400,600) and on by 200
      assert.are.same({ "400", "400", "600", "800", "1000" }, bodies)
    end)
  end)

  describe("row counts", function()
    local files

    -- A reply file in the test's folder.
    local function file(name, text)
      local path = dir .. "/" .. name
      gateway.writefile(path, '<?xml version="1.0"?>\n' .. text)
      return path
    end

    local COLS = '<cols><th name="n" type="i">N</th><th name="s" type="a">S</th></cols>'
    local function page(first, last)
      local rows = {}
      for i = first, last - 1 do rows[#rows + 1] = "<tr><td>" .. i .. "</td><td>r" .. i .. "</td></tr>" end
      return "<out><rc>0</rc><msg>OK</msg><table>" .. COLS .. "</table><data>" .. table.concat(rows) ..
        "</data></out>"
    end

    setup(function()
      files = {
        login = file("login.xml", "<out><rc>0</rc><sid>77</sid><pswd>__enc</pswd><msg>OK</msg></out>"),
        getuid = file("getuid.xml", "<out><rc>0</rc><msg>OK</msg><uid>stub_1</uid></out>"),
        ok = file("ok.xml", "<out><rc>0</rc><msg>OK</msg></out>"),
        -- no nrows attribute, no <nrows> element: the count is unknown
        query = file("query.xml", "<out><rc>0</rc><msg>OK</msg><table>" .. COLS .. "</table></out>"),
        p1 = file("p1.xml", page(0, 2)),
        p2 = file("p2.xml", page(2, 4)),
        p3 = file("p3.xml", page(4, 5)),
        empty = file("empty.xml", page(0, 0)),
      }
    end)

    -- A stub serving the query without a count, then pages of 2, 2 and `last` rows. The
    -- sessions here say querydata = false: the query and its pages come apart (the last case
    -- has the first page come with the query).
    local function stub(last)
      return fixture.start { replies = {
        login = { files.login }, getuid = { files.getuid }, reluid = { files.ok }, logout = { files.ok },
        query = { files.query }, getdata = { files.p1, files.p2, last },
      } }
    end

    local function asked(fx)
      local out = {}
      for _, r in ipairs(fx:requests()) do
        if r.api == "getdata" then
          out[#out + 1] = table.concat({ r.body:match("<start>(%d+)</start><end>(%d+)</end>") }, "-")
        end
      end
      return out
    end

    it("unknown: rows() and dictslice page until a short page, then know the count", function()
      local fx = stub(files.p3)
      local s = tenten.Session(fx.gw, "u", "p", tenten.KILL, { group = false, querydata = false })
      local q = s:query("t.t", '<sel value="n>=0"/>'):run()
      assert.is_nil(q.nrows)
      q.page_rows = 2
      local got = {}
      for row in q:rows() do got[#got + 1] = row[1] end
      assert.are.same({ 0, 1, 2, 3, 4 }, got)
      assert.are.equal(5, q.nrows)
      assert.are.same({ "0-2", "2-4", "4-6" }, asked(fx))
      local sent
      for _, r in ipairs(fx:requests()) do
        if r.api == "query" then sent = r.body end
      end
      assert.are.equal('<in><name>t.t</name><ops><sel value="n>=0"/></ops></in>', sent)
      s:close()
      fx:stop()

      fx = stub(files.empty) -- 4 rows: the third page is empty
      s = tenten.Session(fx.gw, "u", "p", tenten.KILL, { group = false, querydata = false })
      q = s:query("t.t", "")
      q.page_rows = 2
      assert.are.same({ "r0", "r1", "r2", "r3" }, q:dictslice(0).s)
      assert.are.equal(4, q.nrows)
      s:close()
      fx:stop()
    end)

    it("unknown: q:write and pool:pull write every row; the summary gets the count", function()
      local fx = stub(files.p3)
      local s = tenten.Session(fx.gw, "u", "p", tenten.KILL, { group = false, querydata = false })
      local q = s:query("t.t", "")
      q.page_rows = 2
      assert.are.equal(5, (q:write(dir .. "/unknown.csv")))
      assert.are.equal("n,s\r\n0,r0\r\n1,r1\r\n2,r2\r\n3,r3\r\n4,r4\r\n", gateway.readfile(dir .. "/unknown.csv"))
      s:close()
      fx:stop()

      fx = stub(files.p3)
      local pool = tenten.pool { gateway = fx.gw, owner = "o", password = "p", group = "g", querydata = false }
      local res = pool:pull({ { table = "t.t", out = dir .. "/unknown.tsv" } }, { progress = false, page_rows = 2 })
      assert.is_nil(res[1].error)
      assert.are.equal(5, res[1].rows)
      assert.are.equal(5, res[1].total)
      assert.are.equal("n\ts\n0\tr0\n1\tr1\n2\tr2\n3\tr3\n4\tr4\n", gateway.readfile(dir .. "/unknown.tsv"))
      fx:stop()
    end)

    it("unknown, with querydata: the first page comes with the query, then getdata to a short page", function()
      local fx = fixture.start { replies = {
        login = { files.login }, logout = { files.ok },
        querydata = { files.p1 }, getdata = { files.p2, files.p3 },
      } }
      local s = tenten.Session(fx.gw, "u", "p", tenten.KILL, { group = false })
      local q = s:query("t.t", "")
      q.page_rows = 2
      local got = {}
      for row in q:rows() do got[#got + 1] = row[1] end
      assert.are.same({ 0, 1, 2, 3, 4 }, got)
      assert.are.equal(5, q.nrows)
      assert.are.same({ "2-4", "4-6" }, asked(fx))
      assert.are.equal(1, fx:count("querydata"))
      assert.are.equal(0, fx:count("query"))
      s:close()
      fx:stop()
    end)

    it("known: an empty page before the promised count raises E_SHORT after the rows that came", function()
      local g = gateway.start { dir = dir, db = db }
      local fx = fixture.start { upstream = g.base, rules = {
        "api=getdata,from=1,do=body:<out><rc>0</rc><msg>OK</msg><data></data></out>",
      } }
      local ok, err = pcall(function()
        local s <close> = tenten.Session(fx.gw, "plain1", "secret4", tenten.KILL)
        local q = s:query(HOURLY, HOUR0)
        q.page_rows = 400
        local n = 0
        local rok, rerr = pcall(function() for _ in q:rows() do n = n + 1 end end)
        assert.is_false(rok)
        assert.are.equal(tenten.E_SHORT, rerr.code, tostring(rerr))
        assert.matches("sent 400 rows of the 1095", rerr.msg)
        assert.are.equal(400, n)
        -- the same on write: the error comes after the first page was written
        local wok, werr = pcall(q.write, q, dir .. "/short.csv")
        assert.is_false(wok)
        assert.are.equal(tenten.E_SHORT, werr.code)
        -- q:write is atomic: no file at all, not even its .part
        assert.is_false(exists(dir .. "/short.csv"))
        assert.are.equal("", (gateway.run("ls " .. gateway.q(dir) .. " | grep short.csv.part || true")))
        -- and a pull reports the job failed and leaves no file
        local pool = tenten.pool { gateway = fx.gw, owner = "owner1", password = "secret1", group = "pool1" }
        local res = pool:pull({ { table = HOURLY, ops = HOUR0, out = dir .. "/short-pull.csv" } },
          { progress = false, page_rows = 400 })
        assert.are.equal(tenten.E_SHORT, res[1].error and res[1].error.code)
        assert.is_false(exists(dir .. "/short-pull.csv"))
        assert.are.equal(0, pool:stats().busy)
      end)
      fx:stop()
      g:stop()
      assert(ok, tostring(err))
    end)
  end)

  describe("transient answers", function()
    local function start(inject)
      local config = gateway.default_config()
      config.inject = inject
      return gateway.start { dir = dir, db = db, config = config }
    end

    it("a throttled or unavailable login is asked again and the session opens", function()
      local g = start { login = { 45, 41 } }
      local log = dir .. "/retry.log"
      os.remove(log)
      local ok, err = pcall(function()
        local s <close> = tenten.Session(g.url, "plain1", "secret4", tenten.KILL, { backoff = FAST, logfile = log })
        assert.are.equal(3, s:query("pub.demo.weather.stations"):run().nrows)
      end)
      g:stop()
      assert(ok, tostring(err))
      local text = gateway.readfile(log)
      assert.are.equal(1, count(text, " rc=45 "))
      assert.are.equal(1, count(text, " rc=41 "))
    end)

    it("a pool session gets its ID and logs in through throttled getuid and login answers", function()
      local g = start { getuid = { 45, 41 }, login = { 41 } }
      local ok, err = pcall(function()
        local pool = tenten.pool { gateway = g.url, owner = "owner1", password = "secret1", group = "pool1",
          backoff = { 0.005, 0.02 } }
        local s <close> = pool:session()
        assert.matches("^pool1_%d$", s.username)
        assert.are.equal(3, s:query("pub.demo.weather.stations"):run().nrows)
      end)
      g:stop()
      assert(ok, tostring(err))
    end)

    it("more transient answers than `retry` allows raise the platform's code", function()
      local g = start { login = { 45, 45, 45 }, getuid = { 41, 41, 41 } }
      local ok, err = pcall(function()
        local lok, lerr = pcall(tenten.Session, g.url, "plain1", "secret4", tenten.KILL, { backoff = FAST, retry = 2 })
        assert.is_false(lok)
        assert.are.equal(45, lerr.code, tostring(lerr))
        assert.are.equal("login", lerr.api)
        local gok, gerr = pcall(tenten.Session, g.url, "owner1", "secret1", tenten.POSSESS, "pool1",
          { backoff = FAST, retry = 3 })
        assert.is_false(gok)
        assert.are.equal(41, gerr.code, tostring(gerr))
        assert.are.equal("getuid", gerr.api)
        -- the answers are used up: both open now
        local s <close> = tenten.Session(g.url, "plain1", "secret4", tenten.KILL, { backoff = FAST, retry = 2 })
        local p <close> = tenten.Session(g.url, "owner1", "secret1", tenten.POSSESS, "pool1", { backoff = FAST })
        assert.is_false(s:closed() or p:closed())
      end)
      g:stop()
      assert(ok, tostring(err))
    end)

    it("acquire_timeout bounds the asking too", function()
      local many = {}
      for i = 1, 60 do many[i] = 41 end
      local g = start { login = many }
      local log = dir .. "/timeout.log"
      os.remove(log)
      local ok, err = pcall(function()
        local lok, lerr = pcall(tenten.Session, g.url, "plain1", "secret4", tenten.KILL,
          { backoff = { 0.02, 0.05 }, acquire_timeout = 0.2, retry = 1000, logfile = log })
        assert.is_false(lok)
        assert.are.equal(41, lerr.code, tostring(lerr))
      end)
      g:stop()
      assert(ok, tostring(err))
      local asks = count(gateway.readfile(log), " rc=41 ")
      assert.is_true(asks >= 2 and asks < 60, tostring(asks))
    end)

    it("follows one policy: what is retried, and a capped, jittered back-off", function()
      local retry = require "tenten.retry"
      local e = function(code) return { code = code } end
      assert.are.equal("busy", retry.kind("getuid", e(38)))
      assert.are.equal("transient", retry.kind("getuid", e(45)))
      assert.are.equal("transient", retry.kind("login", e(41)))
      assert.is_nil(retry.kind("login", e(38)))
      assert.is_nil(retry.kind("login", e(4)))
      assert.are.equal("transient", retry.kind("getdata", e(41)))
      assert.is_nil(retry.kind("getdata", e(9)))
      assert.is_nil(retry.kind("logout", e(41)))
      local b = { base = 0.5, cap = 4 }
      for n = 1, 8 do
        local bound = math.min(4, 0.5 * 2 ^ (n - 1))
        for _ = 1, 50 do
          local d = retry.delay(n, b)
          assert.is_true(d >= 0 and d < bound, n .. ": " .. d)
        end
      end
      assert.are.same({ base = 1, cap = 2 }, retry.backoff({ 1, 2 }, "f"))
      assert.are.same({ base = 0.1, cap = 30 }, retry.backoff({ base = 0.1 }, "f"))
    end)

    it("refuses a bad backoff option at once", function()
      local ok, err = pcall(tenten.Session, "http://127.0.0.1:9/", "u", "p", tenten.KILL, { backoff = { 2, 1 } })
      assert.is_false(ok)
      assert.matches("argument 'backoff'", err)
    end)
  end)
end)
