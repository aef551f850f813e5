-- CSV pages against a real tt-gateway: a query asks its pages as XML (the
-- default) or as CSV (q.pages, the connection's `pages`). Every read path gives the same
-- values, types included, and every file the same bytes either way, for the demo tables and a
-- table of hard values, at page sizes 1, 3, 7 and the default; the exchange log shows the
-- <format> element sent; the option is checked where it is given; a CSV record that does not
-- fit its header fails the read (through tt-fixture) without leaving a file or a held ID; and
-- pool:pull and tt-pull write the same files with either.
local gateway = require "gateway"
local fixture = require "fixture"
local json = require "tenten.json"
local tenten = require "tenten"
local values = require "values"

local q = gateway.q
local CSV_FORMAT = '<format type="csv" values="formatted"><sep>|</sep><linesep>^</linesep></format>'
local STATIONS, HOURLY, ITEM, HARD = "pub.demo.weather.stations", "pub.demo.weather.hourly90", "pub.demo.retail.item",
  "test.hard"
local FAST = { 0.01, 0.05 } -- back-off short enough for a test

-- The hard table, one row per text value; the number columns cycle through their own lists, so
-- N/A falls on different rows in each. Column u has no type in the header: import infers f.
local TEXTS = {
  "a|b", "a^b", "|", "^", "^|^", "a,b", 'say "hi"', '"', '""', "a\rb", "a\nb", "a\r\nb", "\r\n", "a\r", "\nx",
  "a\tb", "]]>", "x]]>y]]", "<&>", "&amp;", "  both  ", " lead", "trail ", " ",
  "Z\195\188rich \230\157\177\228\186\172", "\240\159\152\128", "007", "1e5", "-0", "12.50", "0x10", "N/A", "",
  -- long enough to cross the reads of a reply (libcurl hands it over in pieces) inside quotes,
  -- doubled quotes, separators and CDATA ends
  string.rep('ab|c^d"e\r\nf]]>g \195\169', 6000), string.rep('""|', 25000) .. "^",
}
local INT64 = { "9007199254740991", "9007199254740992", "9007199254740993", "-9007199254740993",
  "9223372036854775807", "-9223372036854775808", "0", "-1", "", "4611686018427387904", "123456789012345678" }
local INT32 = { "2147483647", "-2147483648", "0", "-7", "" }
local FLOATS = { "0.30000000000000004", "1.2345678901234567", "-0", "1e-05", "1e300", "-2.5", "5e-324",
  "1.7976931348623157e308", "-1e-300", "123456789.12345679", "100", "", "2.2250738585072014e-308", "0.1",
  "-123.456", "9007199254740993" }
local INFERRED = { "1.5", "2", "", "-3.25" }

local function pick(list, i) return list[(i - 1) % #list + 1] end

local function csv_field(s)
  return '"' .. s:gsub('"', '""') .. '"'
end

local function hard_csv()
  local lines = { "k:i,t:a,j:j,i32:i,f:f,u" }
  for i, t in ipairs(TEXTS) do
    lines[#lines + 1] = table.concat({ i, csv_field(t), pick(INT64, i), pick(INT32, i), pick(FLOATS, i),
      pick(INFERRED, i) }, ",")
  end
  return table.concat(lines, "\n") .. "\n"
end

-- What the client should give for row i of the hard table, as its own reading of the text.
local function float_of(s)
  local v = tonumber(s)
  if math.type(v) == "integer" then v = tonumber(s .. ".0") end
  return v
end
local function hard_row(i)
  local function na(s, fn) return s == "" and tenten.NA or fn(s) end
  local t = TEXTS[i]
  return { i, t == "" and tenten.NA or t, na(pick(INT64, i), math.tointeger), na(pick(INT32, i), math.tointeger),
    na(pick(FLOATS, i), float_of), na(pick(INFERRED, i), float_of) }
end

local same_value, show, assert_same_rows = values.same, values.show, values.assert_same_rows

local function assert_same_list(want, got, what)
  assert.are.equal(#want, #got, what .. ": length")
  for i = 1, #want do
    if not same_value(want[i], got[i]) then
      error(string.format("%s: value %d: %s vs %s", what, i, show(want[i]), show(got[i])), 2)
    end
  end
end

-- The files each read writes: every format, gzipped too, and two with options (ISO dates).
local WRITES = {
  { "tsv" }, { "csv" }, { "jsonl" }, { "json" }, { "tsv.gz" }, { "csv.gz" }, { "jsonl.gz" }, { "json.gz" },
  { "iso.jsonl", { dates = "iso" } }, { "opts.csv", { sep = "|", na = "N/A", dates = "iso" } },
}

-- The exchange lines of a log (logfile, with or without bodies): { api =, text = }.
local function log_lines(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    local api = line:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ (%l+) uid=")
    if api then out[#out + 1] = { api = api, text = line } end
  end
  return out
end

local function count_api(lines, ...)
  local want, n = {}, 0
  for _, a in ipairs { ... } do want[a] = true end
  for _, l in ipairs(lines) do
    if want[l.api] then n = n + 1 end
  end
  return n
end

-- The request bodies of the page exchanges in a log with log_bodies: the "> " lines after each
-- querydata or getdata line, joined.
local function page_requests(text)
  local out, api, body = {}, nil, nil
  local function flush()
    if api then out[#out + 1] = { api = api, body = table.concat(body, "\n") } end
    api, body = nil, nil
  end
  for line in text:gmatch("[^\n]+") do
    local a = line:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ (%l+) uid=")
    if a then
      flush()
      if a == "querydata" or a == "getdata" then api, body = a, {} end
    elseif api and line:sub(1, 2) == "> " and not line:match("^> POST ") then
      body[#body + 1] = line:sub(3)
    end
  end
  flush()
  return out
end

local function count(text, plain)
  local n, at = 0, 1
  while true do
    local s, e = text:find(plain, at, true)
    if not s then return n end
    n, at = n + 1, e + 1
  end
end

describe("pages = \"csv\"", function()
  local g, dir, url
  local nlog = 0

  setup(function()
    dir = gateway.tmpdir()
    local db = gateway.demo_db(dir, 0.01)
    local rc, out = gateway.import(db, HARD, hard_csv(), dir)
    assert(rc == 0, out)
    g = gateway.start { dir = dir, db = db }
    url = g.url
  end)

  teardown(function()
    if g then g:stop() end
    gateway.cleanup(dir)
  end)

  before_each(function()
    tenten.resetpool(url, "owner1", "secret1", "pool1")
  end)

  local function logpath()
    nlog = nlog + 1
    return dir .. "/x" .. nlog .. ".log"
  end

  local function session(pages, extra)
    local o = { pages = pages }
    for k, v in pairs(extra or {}) do o[k] = v end
    return tenten.Session(url, "plain1", "secret4", tenten.KILL, o)
  end

  -- Names in dir matching a Lua pattern, sorted.
  local function listing(pattern, where)
    local names = {}
    for name in gateway.run("ls -A " .. q(where or dir)):gmatch("[^\n]+") do
      if name:match(pattern) then names[#names + 1] = name end
    end
    table.sort(names)
    return names
  end

  -- Everything the read paths give for one query, on a session asking `pages`: rows(),
  -- batches(), q:column() of each column, and the bytes of each file of WRITES. Each path runs
  -- a query of its own, so each has its first page from querydata (q:column: the query alone).
  local function read_all(s, case, page_rows, tag)
    local function fresh()
      local x = s:query(case[1], case[2])
      x.page_rows = page_rows
      return x
    end
    local out = { files = {}, sizes = {}, cols = {} }
    local x = fresh()
    out.rows = {}
    for row in x:rows() do out.rows[#out.rows + 1] = row end
    out.nrows, out.columns = x.nrows, x.columns
    x = fresh()
    out.batches = {}
    for b in x:batches() do
      out.sizes[#out.sizes + 1] = b.n
      assert.are.equal(#out.columns, #b)
      for i = 1, b.n do
        local row = {}
        for j = 1, #b do row[j] = b[j][i] end
        out.batches[#out.batches + 1] = row
      end
    end
    x = fresh()
    for _, c in ipairs(out.columns) do out.cols[c.name] = x:column(c.name) end
    for _, w in ipairs(WRITES) do
      local path = dir .. "/" .. tag .. "." .. w[1]
      local rows, bytes = fresh():write(path, w[2])
      assert.are.equal(out.nrows, rows)
      local text = gateway.readfile(path)
      assert.are.equal(#text, bytes)
      out.files[w[1]] = text
      os.remove(path)
    end
    return out
  end

  -- One case: every path on an XML session and on a CSV one; everything equal. The sessions'
  -- logs show each page came as asked: <data> in every XML page, <csv> in every CSV page.
  local function compare(case, page_rows)
    local got = {}
    for _, pages in ipairs { "xml", "csv" } do
      local path = logpath()
      do
        local s <close> = session(pages, { logfile = path, log_bodies = true })
        got[pages] = read_all(s, case, page_rows, "v-" .. pages)
      end
      local text = gateway.readfile(path)
      os.remove(path)
      local npages = count_api(log_lines(text), "querydata", "getdata")
      assert.is_true(npages >= 1 + #WRITES + 2)
      -- a page reply's opening, before any cut: the element holding the rows
      if pages == "csv" then
        assert.are.equal(npages, count(text, "<csv><![CDATA["))
        assert.are.equal(0, count(text, "<data>"))
        assert.are.equal(npages, count(text, CSV_FORMAT))
      else
        assert.are.equal(npages, count(text, "<data>") + count(text, "<data/>"))
        assert.are.equal(0, count(text, "<csv>"))
        assert.are.equal(0, count(text, "<format"))
      end
    end
    local x, c = got.xml, got.csv
    local what = case[1] .. " page_rows " .. tostring(page_rows)
    assert.is_true(#x.rows > 0, what)
    assert.are.equal(x.nrows, #x.rows)
    assert.are.equal(x.nrows, c.nrows)
    assert.are.same(x.columns, c.columns)
    assert_same_rows(x.rows, c.rows, what .. ": rows(), xml vs csv")
    assert_same_rows(x.rows, x.batches, what .. ": rows() vs batches(), xml")
    assert_same_rows(x.batches, c.batches, what .. ": batches(), xml vs csv")
    assert.are.same(x.sizes, c.sizes)
    local size = page_rows or 50000
    assert.are.equal(math.ceil(x.nrows / size), #x.sizes)
    for j, col in ipairs(x.columns) do
      local want = {}
      for i, row in ipairs(x.rows) do want[i] = row[j] end
      assert_same_list(want, x.cols[col.name], what .. ": column " .. col.name .. ", xml")
      assert_same_list(want, c.cols[col.name], what .. ": column " .. col.name .. ", csv")
    end
    for _, w in ipairs(WRITES) do
      local a, b = x.files[w[1]], c.files[w[1]]
      assert.is_true(#a > 0, w[1])
      if a ~= b then
        local at = 1
        while a:sub(at, at) == b:sub(at, at) do at = at + 1 end
        error(string.format("%s: %s differs at byte %d: xml %q vs csv %q", what, w[1], at, a:sub(at, at + 40),
          b:sub(at, at + 40)))
      end
    end
    return x
  end

  describe("item 1: the same values and files, XML pages or CSV pages", function()
    -- Small results at every page size (so a result spans querydata's page and many getdata
    -- pages), the whole demo tables at the default one.
    local SMALL = {
      { STATIONS, "" },
      { HOURLY, '<sel value="date=19900101"/><sel value="hour<4"/>' ..
        '<willbe name="t" value="hour*10000+502" format="type:time"/>' ..
        '<willbe name="dt" value="date*1000000+hour*10000+502" format="type:datetime"/>' },
      { ITEM, '<sel value="transid<=100004"/>' },
      { HARD, "" },
    }
    for _, case in ipairs(SMALL) do
      for _, page_rows in ipairs { 1, 3, 7, false } do
        it(case[1] .. " " .. case[2] .. ", page_rows " .. tostring(page_rows or "default"), function()
          local x = compare(case, page_rows or nil)
          if case[1] == HARD then
            -- and the values are the ones imported, whatever the page format
            local want = {}
            for i = 1, #TEXTS do want[i] = hard_row(i) end
            assert.are.same({ "i", "a", "j", "i", "f", "f" }, (function()
              local t = {}
              for i, col in ipairs(x.columns) do t[i] = col.type end
              return t
            end)())
            -- SQLite keeps no negative zero: "-0" comes back as 0.0, from either format
            for _, row in ipairs(want) do
              if row[5] == 0 then row[5] = 0.0 end
            end
            assert_same_rows(want, x.rows, "imported vs read")
          end
        end)
      end
    end
    for _, name in ipairs { HOURLY, ITEM } do
      it(name .. ", the whole table, page_rows default", function()
        local x = compare({ name, "" })
        assert.are.equal(name == HOURLY and 26280 or 500, x.nrows)
      end)
    end
  end)

  -- tt-gateway keeps no negative zero (SQLite stores -0.0 as 0), so its sign is checked on
  -- replies from files, the same values in both forms.
  it("a negative zero and number forms tt-gateway never writes read the same from XML and CSV", function()
    local cells = { { "1", "-0", "x" }, { "2", "-0.0", "-0" }, { "3", "1.50", "" }, { "4", "1E-5", " 7 " },
      { "5", "", "a|b^c" } }
    local head = '<out><rc>0</rc><msg>5 rows</msg><table name="t.z" nrows="5" first="0" count="5"><cols>' ..
      '<th name="k" type="i">k</th><th name="f" type="f">f</th><th name="t" type="a">t</th></cols></table>'
    local xml, csv = { head, "<data>" }, { head, "<csv><![CDATA[k|f|t^" }
    for _, r in ipairs(cells) do
      xml[#xml + 1] = "<tr><td>" .. table.concat(r, "</td><td>") .. "</td></tr>"
      local t = r[3]:find("[|^]") and '"' .. r[3] .. '"' or r[3]
      csv[#csv + 1] = r[1] .. "|" .. r[2] .. "|" .. t .. "^"
    end
    xml[#xml + 1] = "</data></out>"
    csv[#csv + 1] = "]]></csv></out>"
    local files = { xml = dir .. "/z-xml.xml", csv = dir .. "/z-csv.xml", logout = dir .. "/z-logout.xml" }
    gateway.writefile(files.xml, table.concat(xml))
    gateway.writefile(files.csv, table.concat(csv))
    gateway.writefile(files.logout, "<out><rc>0</rc><msg>bye</msg></out>")
    local login = gateway.source_dir .. "/tests/fixtures/replies/login.xml"
    local got = {}
    for _, pages in ipairs { "xml", "csv" } do
      local fx = fixture.start { replies = { login = { login }, querydata = { files[pages] },
        logout = { files.logout } } }
      do
        local s <close> = tenten.Session(fx.gw, "plain1", "secret4", tenten.KILL, { pages = pages })
        got[pages] = {}
        for row in s:query("t.z"):rows() do got[pages][#got[pages] + 1] = row end
      end
      local asked = fx:requests()
      assert.are.equal(0, fx:stop())
      assert.are.equal("querydata", asked[2].api)
      assert.are.equal(pages == "csv", asked[2].body:find(CSV_FORMAT, 1, true) ~= nil)
    end
    assert_same_rows(got.xml, got.csv, "xml vs csv")
    assert.are.equal(-math.huge, 1 / got.csv[1][2])
    assert.are.equal(-math.huge, 1 / got.csv[2][2])
    assert.are.same({ 1.5, 1e-05 }, { got.csv[3][2], got.csv[4][2] })
    assert.are.equal(tenten.NA, got.csv[5][2])
    assert.are.same({ "x", "-0", tenten.NA, " 7 ", "a|b^c" }, { got.csv[1][3], got.csv[2][3], got.csv[3][3],
      got.csv[4][3], got.csv[5][3] })
  end)

  describe("item 2: the exchange log shows the <format> asked", function()
    it("in every querydata and getdata body with \"csv\", q:column's too; none with \"xml\"", function()
      for _, pages in ipairs { "csv", "xml" } do
        local path = logpath()
        do
          local s <close> = session(pages, { logfile = path, log_bodies = true })
          local x = s:query(HARD, '<sel value="k<=10"/>')
          x.page_rows = 4
          for _ in x:rows() do end
          local y = s:query(HARD, '<sel value="k<=10"/>')
          y.page_rows = 4
          assert.are.equal(10, #y:column("t"))
        end
        local text = gateway.readfile(path)
        local bodies = page_requests(text)
        -- rows(): querydata (rows 0-4), getdata 4-8, 8-10; column(): query, getdata x3
        local apis = {}
        for i, b in ipairs(bodies) do apis[i] = b.api end
        assert.are.same({ "querydata", "getdata", "getdata", "getdata", "getdata", "getdata" }, apis)
        local fmt = pages == "csv" and CSV_FORMAT or ""
        assert.are.equal('<in><name>test.hard</name><ops><sel value="k<=10"/></ops><rows mode="2"><start>0</start>' ..
          "<end>4</end></rows>" .. fmt .. "</in>", bodies[1].body)
        assert.are.equal('<in><rows mode="2"><start>4</start><end>8</end></rows>' .. fmt .. "</in>", bodies[2].body)
        assert.are.equal('<in><rows mode="2"><start>8</start><end>10</end></rows>' .. fmt .. "</in>", bodies[3].body)
        assert.are.equal('<in><cols><col>t</col></cols><rows mode="2"><start>0</start><end>4</end></rows>' .. fmt ..
          "</in>", bodies[4].body)
        for _, b in ipairs(bodies) do
          assert.are.equal(pages == "csv" and 1 or 0, count(b.body, "<format"), b.body)
        end
        -- the query run alone never asks a format: it brings no rows
        assert.truthy(text:find('\n> <in><name>test.hard</name><ops><sel value="k<=10"/></ops></in>\n', 1, true), text)
        if pages == "xml" then assert.are.equal(0, count(text, "<format")) end
        os.remove(path)
      end
    end)
  end)

  describe("item 3: the option", function()
    it("tenten.pool { pages = \"csv\" } asks CSV, q.pages = \"xml\" overrides it; and the other way", function()
      local path = logpath()
      do
        local p <close> = tenten.pool { gateway = url, owner = "owner1", password = "secret1", group = "pool1",
          pages = "csv", logfile = path, log_bodies = true, linger = 0 }
        local s <close> = p:session()
        local a = s:query(STATIONS)
        a.page_rows = 2
        for _ in a:rows() do end
        local b = s:query(STATIONS)
        b.page_rows = 2
        b.pages = "xml"
        for _ in b:rows() do end
        assert.are.equal(3, b.nrows)
      end
      do
        -- a session's own connection, "xml" by default: q.pages = "csv" asks CSV for that query
        local s <close> = session(nil, { logfile = path, log_bodies = true })
        local c = s:query(STATIONS)
        c.page_rows = 2
        c.pages = "csv"
        for _ in c:rows() do end
        for _ in s:query(STATIONS):rows() do end
      end
      local asked = {}
      for i, b in ipairs(page_requests(gateway.readfile(path))) do
        asked[i] = b.api .. (b.body:find(CSV_FORMAT, 1, true) and " csv" or (b.body:find("<format", 1, true) and
          " ?" or " xml"))
      end
      assert.are.same({ "querydata csv", "getdata csv", "querydata xml", "getdata xml", "querydata csv",
        "getdata csv", "querydata xml" }, asked)
      os.remove(path)
    end)

    it("refuses a bad value, naming the argument, before anything is asked", function()
      local function says(want, fn, ...)
        local ok, err = pcall(fn, ...)
        assert.is_false(ok, "no error")
        assert.matches(want, tostring(err), 1, true)
      end
      local creds = { gateway = url, owner = "owner1", password = "secret1", group = "pool1" }
      local function with(extra)
        local o = {}
        for k, v in pairs(creds) do o[k] = v end
        for k, v in pairs(extra) do o[k] = v end
        return o
      end
      says([[tenten.pool: argument 'pages' must be "xml" or "csv" (got "CSV")]], tenten.pool, with { pages = "CSV" })
      says([[argument 'pages' must be "xml" or "csv" (got boolean)]], tenten.pool, with { pages = true })
      says([[tenten.Session: argument 'pages' must be "xml" or "csv" (got "")]], tenten.Session, url, "plain1",
        "secret4", tenten.KILL, { pages = "" })
      says([[tenten.samstatus: argument 'pages' must be "xml" or "csv" (got "xls")]], tenten.samstatus, url, "owner1",
        "secret1", "pool1", { pages = "xls" })
      says([[tenten.pool: argument 'pages' must be "xml" or "csv" (got number)]], tenten.pull, with { pages = 2 },
        { { table = STATIONS, out = dir .. "/never.csv" } }, { progress = false })
      local p <close> = tenten.pool(with { linger = 0 })
      local jobs = { { table = STATIONS, out = dir .. "/never.csv" } }
      says([[pool:pull: argument 'opts.pages' must be "xml" or "csv" (got "x")]], p.pull, p, jobs, { pages = "x" })
      says([[argument 'opts.pages' must be "xml" or "csv" (got "CSV")]], tenten.pull, with {}, jobs,
        { pages = "CSV", progress = false })
      assert.are.equal(0, p:stats().acquisitions)
      assert.are.same({}, listing("^never"))
      -- q.pages is checked when the query asks its first page
      local s <close> = session("csv")
      for _, bad in ipairs { 1, "CSV", "json", false } do
        local x = s:query(STATIONS)
        x.pages = bad
        says("argument 'q.pages' must be \"xml\" or \"csv\" (got " .. (type(bad) == "string" and '"' .. bad .. '"' or
          type(bad)) .. ")", function() for _ in x:rows() do end end)
        says("argument 'q.pages' must be", x.write, x, dir .. "/never.csv")
      end
      assert.are.same({}, listing("^never"))
      local x = s:query(STATIONS)
      x.pages = nil -- nil: the connection's
      assert.are.equal(3, (x:write(dir .. "/fine.csv")))
      os.remove(dir .. "/fine.csv")
    end)
  end)

  describe("item 4: a CSV record that does not fit its header (through tt-fixture)", function()
    local fx
    after_each(function()
      if fx then assert.are.equal(0, fx:stop()) end
      fx = nil
    end)

    -- The pool's IDs by state, from the gateway itself (not through the proxy).
    local function states()
      return g:pool_states { uid = "owner1", pswd = "secret1", gid = "pool1" }
    end

    -- The gateway's own CSV reply for rows [first, last) of the stations (querydata when
    -- first is 0, getdata after), with one value given an unquoted separator: its record has
    -- one field too many. The XML declaration goes (a rule is one line), and the message gets
    -- a comma: tt-fixture reads a rule's fields up to the next comma, 255 bytes at most, before
    -- it sees that do=body-after takes the rest of the rule.
    local function bad_reply(first, last)
      local s = g:login("plain1", "secret4")
      local r = g:scall(s, "querydata", "<in><name>" .. STATIONS .. '</name><ops></ops><rows mode="2"><start>0' ..
        "</start><end>" .. last .. "</end></rows>" .. CSV_FORMAT .. "</in>")
      if first > 0 then
        r = g:scall(s, "getdata", '<in><rows mode="2"><start>' .. first .. "</start><end>" .. last .. "</end></rows>" ..
          CSV_FORMAT .. "</in>")
      end
      g:scall(s, "logout")
      assert.are.equal(0, r.rc, r.raw)
      local text, n = r.raw:gsub("^<%?xml[^>]*>%s*", ""):gsub("%s+$", ""):gsub("%^ST0002|", "^ST0002|extra|")
      assert.are.equal(1, n, r.raw)
      text, n = text:gsub("</msg>", ", one made ragged</msg>", 1)
      assert.are.equal(1, n, r.raw)
      assert.is_nil(text:find("\n", 1, true))
      return text
    end

    local function fails_with_record(err, api, record)
      assert.is_true(tenten.is_error(err), tostring(err))
      assert.are.equal(tenten.E_XML, err.code, tostring(err))
      assert.are.equal(api, err.api)
      assert.matches("CSV record " .. record .. " has 7 fields where the header has 6", err.msg, 1, true)
    end

    it("in querydata's page: rows() raises E_XML naming the record; q:write leaves nothing", function()
      fx = fixture.start { upstream = g.base, rules = { "api=querydata,do=body-after:" .. bad_reply(0, 3) } }
      local s <close> = tenten.Session(fx.gw, "plain1", "secret4", tenten.KILL, { pages = "csv", backoff = FAST })
      local ok, err = pcall(function() for _ in s:query(STATIONS):rows() do end end)
      assert.is_false(ok)
      fails_with_record(err, "querydata", 2)
      local x = s:query(STATIONS)
      ok, err = pcall(x.write, x, dir .. "/bad1.csv")
      assert.is_false(ok)
      fails_with_record(err, "querydata", 2)
      assert.are.same({}, listing("^bad1"))
      -- the session goes on: q:column runs the query alone, then getdata, neither rewritten
      assert.are.same({ "ST0001", "ST0002", "ST0003" }, s:query(STATIONS):column("id"))
    end)

    it("in a getdata page on a pooled session: no file, no .part, and the ID goes back", function()
      fx = fixture.start { upstream = g.base, rules = { "api=getdata,do=body-after:" .. bad_reply(1, 2) } }
      do
        local s <close> = tenten.Session(fx.gw, "owner1", "secret1", tenten.POSSESS, "pool1",
          { pages = "csv", linger = 0, backoff = FAST })
        local x = s:query(STATIONS)
        x.page_rows = 1 -- the first row comes with the query and is written; the second fails
        local ok, err = pcall(x.write, x, dir .. "/bad2.csv")
        assert.is_false(ok)
        fails_with_record(err, "getdata", 1)
        assert.are.same({}, listing("^bad2"))
        local got = {}
        local y = s:query(STATIONS)
        y.page_rows = 1
        ok, err = pcall(function() for row in y:rows() do got[#got + 1] = row[1] end end)
        assert.is_false(ok)
        fails_with_record(err, "getdata", 1)
        assert.are.same({ "ST0001" }, got) -- the rows before the bad page, never a shifted one
        assert.are.equal(1, states().BUSY)
      end
      assert.are.equal(1, fx:count("reluid"))
      assert.is_nil(states().BUSY)
    end)

    it("in pool:pull: the job fails with E_XML, leaves no file, and its ID is free again", function()
      fx = fixture.start { upstream = g.base, rules = { "api=getdata,do=body-after:" .. bad_reply(1, 2) } }
      local p <close> = tenten.pool { gateway = fx.gw, owner = "owner1", password = "secret1", group = "pool1",
        linger = 0, backoff = FAST }
      local res = p:pull({ { table = STATIONS, out = dir .. "/bad3.csv" } },
        { pages = "csv", page_rows = 1, progress = false })
      fails_with_record(res[1].error, "getdata", 1)
      assert.are.equal(0, p:stats().busy)
      assert.are.same({}, listing("^bad3"))
      assert.are.equal(1, fx:count("reluid"))
      assert.is_nil(states().BUSY)
    end)
  end)

  describe("item 5: pulls write the same files with CSV pages", function()
    -- Jobs of every output format, gzip and ISO dates among them, into folder d.
    local function jobs(d)
      return {
        { table = HOURLY, ops = '<sel value="hour=0"/>', out = d .. "/a.csv" },
        { table = STATIONS, out = d .. "/b.tsv" },
        { table = ITEM, out = d .. "/c.jsonl.gz", columns = { "sku", "sales", "date" }, dates = "iso" },
        { table = HARD, out = d .. "/d.json" },
        { table = HARD, ops = '<sel value="k>3"/>', out = d .. "/e.csv", sep = "|", na = "N/A" },
      }
    end
    local NAMES = { "a.csv", "b.tsv", "c.jsonl.gz", "d.json", "e.csv" }

    local function folder(name)
      local d = dir .. "/" .. name
      assert(os.execute("mkdir -p " .. q(d)))
      return d
    end

    local function pull_into(name, pool_pages, opts)
      local d = folder(name)
      local path = logpath()
      local p <close> = tenten.pool { gateway = url, owner = "owner1", password = "secret1", group = "pool1",
        size = 3, linger = 0, pages = pool_pages, logfile = path, log_bodies = true }
      opts.progress = false
      local res = tenten.run(function() return p:pull(jobs(d), opts) end)
      for i, sm in ipairs(res) do assert.is_nil(sm.error, NAMES[i] .. ": " .. tostring(sm.error)) end
      local text = gateway.readfile(path)
      os.remove(path)
      local files = {}
      for _, n in ipairs(NAMES) do files[n] = assert(gateway.readfile(d .. "/" .. n), n) end
      assert.are.same(NAMES, listing(".", d))
      os.execute("rm -rf " .. q(d))
      return files, res, text
    end

    local function asked_csv(text)
      local n, with = 0, 0
      for _, b in ipairs(page_requests(text)) do
        n = n + 1
        if b.body:find(CSV_FORMAT, 1, true) then with = with + 1 end
      end
      assert.is_true(n >= 5)
      return with == n and "csv" or with == 0 and "xml" or "mixed"
    end

    it("pool:pull with pages = \"csv\" (and a pool made with it) as with \"xml\"", function()
      local xml, rx, tx = pull_into("px", nil, { page_rows = 100 })
      local csv, rc, tc = pull_into("pc", nil, { page_rows = 100, pages = "csv" })
      local pool_csv, _, tp = pull_into("pp", "csv", { page_rows = 100 })
      local over, _, to = pull_into("po", "csv", { page_rows = 100, pages = "xml" })
      assert.are.same({ "xml", "csv", "csv", "xml" }, { asked_csv(tx), asked_csv(tc), asked_csv(tp), asked_csv(to) })
      for _, n in ipairs(NAMES) do
        assert.is_true(xml[n] == csv[n], n .. " differs between xml and csv pages")
        assert.is_true(xml[n] == pool_csv[n], n .. " differs with the pool's pages")
        assert.is_true(xml[n] == over[n], n .. " differs with pages overridden")
      end
      for i in ipairs(NAMES) do
        assert.are.equal(rx[i].rows, rc[i].rows)
        assert.is_true(rx[i].rows > 0)
      end
      assert.are.equal(3 * 365, rx[1].rows)
    end)
  end)

  describe("item 3: tt-pull --pages", function()
    -- tt-pull in dir with the pool owner's variables; stdout, status, stderr.
    local function run(args)
      local errf = dir .. "/tt-pull.err"
      local out, rc = gateway.run(gateway.tt_pull_command(dir, url, "--progress never " .. args) .. " 2>" .. q(errf))
      local err = gateway.readfile(errf) or ""
      os.remove(errf)
      return out, rc, err
    end

    it("--pages csv writes the file it writes without; --pages bad is exit 2; --dry-run shows it", function()
      for _, case in ipairs { { HARD, "", "h.csv" }, { HOURLY, '<sel value="hour=12"/>', "w.tsv.gz" } } do
        local files = {}
        for _, flag in ipairs { "", "--pages csv", "--pages=xml" } do
          local out, rc, err = run("--table " .. case[1] .. " --ops " .. q(case[2]) .. " --out " .. case[3] ..
            " --summary none " .. flag)
          assert(rc == 0, flag .. ": exit " .. tostring(rc) .. "\n" .. err .. out)
          files[#files + 1] = assert(gateway.readfile(dir .. "/" .. case[3]))
          os.remove(dir .. "/" .. case[3])
        end
        assert.is_true(#files[1] > 100)
        assert.is_true(files[1] == files[2], case[3] .. ": --pages csv wrote other bytes")
        assert.is_true(files[1] == files[3], case[3] .. ": --pages=xml wrote other bytes")
      end
      for _, bad in ipairs { "bad", "CSV", "''" } do
        local out, rc, err = run("--table " .. STATIONS .. " --out s.csv --pages " .. bad)
        assert.are.equal(2, rc, err .. out)
        assert.matches("--pages wants xml or csv (got " .. bad:gsub("''", "") .. ")", err, 1, true)
      end
      local out, rc, err = run("--table " .. STATIONS .. " --out s.csv --pages")
      assert.are.equal(2, rc, err .. out)
      assert.matches("--pages needs a value", err, 1, true)
      assert.are.same({}, listing("^s%.csv"))
      for flag, want in pairs { [""] = "xml", ["--pages csv"] = "csv", ["--pages xml"] = "xml" } do
        out, rc, err = run("--table " .. STATIONS .. " --out s.csv --dry-run " .. flag .. " --summary json")
        assert(rc == 0, err .. out)
        local plan = assert(json.decode(out))
        assert.are.equal(want, plan.pages)
      end
      out, rc, err = run("--table " .. STATIONS .. " --out s.csv --dry-run --pages csv")
      assert(rc == 0, err .. out)
      assert.are.same({}, listing("^s%.csv"))
    end)
  end)
end)
