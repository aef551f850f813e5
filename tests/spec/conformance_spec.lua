-- The client against every reply shape seen in public: tt-fixture's reply mode serves the
-- files of tests/fixtures/platform/ (README.md there lists each shape and its source), and the
-- real tenten module logs in, queries and pages through them. Every shape must give the same
-- rows, columns and row count, and the query must reach the wire with its ops raw.
local fixture = require "fixture"
local tenten = require "tenten"

local DIR = (os.getenv("TT_SOURCE_DIR") or ".") .. "/tests/fixtures/platform/"
local NA = tenten.NA

-- The corpus's one data set, typed as the query's columns say (station a, elev i, note a).
local ROWS = {
  { "KBOS", 6, "Logan, Boston|MA" },
  { "KDEN", 1656, NA },
  { "KSEA", 132, 'Sea & "Tac" <WA>' },
}
local NAMES = { "station", "elev", "note" }
local LABELS = { "Station\nID", "Elevation (m)", "Note" }
local CSV = 'station,elev,note\r\nKBOS,6,"Logan, Boston|MA"\r\nKDEN,1656,\r\n' ..
  'KSEA,132,"Sea & ""Tac"" <WA>"\r\n'

local QUERIES = {
  { file = "query_nrows_attr.xml", total = 3 },
  { file = "query_nrows_out.xml", total = 3 },
  { file = "query_nrows_table.xml", total = 3 },
  { file = "query_count_absent.xml", total = nil },
}

-- Pages as the client asks for them (no <format>: "," and LF if the reply is CSV).
-- typed: the rows come typed, by the page's own column types or, when the page's columns carry
-- no types but the query's names, by the query's (only a page whose names differ, <th> text
-- alone, reads as text: "6" for 6);
-- header: the CSV header line q:write gives (the page's column names);
-- by_query: typed only by the query's own reply, so a querydata reply of this shape alone (no
-- query reply in the exchange to say the types) reads as text.
local PAGES = {
  { file = "getdata_data_out.xml", typed = true },
  { file = "getdata_data_table.xml", typed = true },
  { file = "csv_cdata.xml", typed = true },
  { file = "csv_plain.xml", typed = true },
  { file = "csv_nocols.xml", typed = true, by_query = true },
  { file = "th_all_attrs.xml", typed = true },
  { file = "th_name_only.xml", typed = true, by_query = true },
  { file = "th_text_only.xml", typed = false, header = '"Station\nID",Elevation (m),Note\r\n' },
  { file = "cols_under_out.xml", typed = true },
  { file = "unknown_elements.xml", typed = true },
}

local function path(name) return DIR .. name end

local function expected_rows(typed)
  local out = {}
  for i, row in ipairs(ROWS) do
    out[i] = {}
    for j, v in ipairs(row) do
      out[i][j] = (typed or v == NA) and v or tostring(v)
    end
  end
  return out
end

local function readfile(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- A stub serving login/logout and the given query and getdata files.
local function serve(query, getdata, extra)
  local replies = {
    login = { path "login.xml" },
    logout = { path "logout.xml" },
    query = { path(query) },
    getdata = {},
  }
  for i, f in ipairs(getdata) do replies.getdata[i] = path(f) end
  for k, v in pairs(extra or {}) do replies[k] = v end
  return fixture.start { replies = replies }
end

-- querydata = false unless asked: the query and getdata shapes are served apart (querydata
-- replies, a page with whatever the query states, are the last block below).
local function open(fx, querydata)
  return tenten.session { gateway = fx.url, user = "corpus1", password = "pw1", group = false,
    querydata = querydata or false }
end

describe("the client reads every public reply shape", function()
  local tmp = os.tmpname()

  teardown(function()
    os.remove(tmp)
  end)

  it("logs in from a login reply whose msg follows pswd, and sends the ops raw", function()
    local fx = serve("query_nrows_attr.xml", { "getdata_data_out.xml" })
    local ok, err = pcall(function()
      local s = open(fx)
      assert.are.equal("4807715523", s.sid)
      local q = s:query("pub.demo.weather.stations", '<sel value="x>1"/><sel value="y<2"/>')
      q:run()
      assert.are.equal(3, q.nrows)
      s:close()
      local bodies = {}
      for _, r in ipairs(fx:requests()) do bodies[r.api] = r.body end
      assert.truthy(bodies.query:find('<ops><sel value="x>1"/><sel value="y<2"/></ops>', 1, true),
        bodies.query)
      assert.falsy(bodies.query:find("&lt;", 1, true))
      assert.truthy(bodies.query:find("<name>pub.demo.weather.stations</name>", 1, true))
    end)
    fx:stop()
    assert(ok, err)
  end)

  for _, qs in ipairs(QUERIES) do
    describe("query reply " .. qs.file, function()
      it("gives the columns and the stated count (or none)", function()
        local fx = serve(qs.file, { "getdata_data_out.xml" })
        local ok, err = pcall(function()
          local s = open(fx)
          local q = s:query("pub.demo.weather.stations", "")
          q:run()
          assert.are.equal(qs.total, q.nrows)
          local names, labels, types = {}, {}, {}
          for i, c in ipairs(q.columns) do names[i], labels[i], types[i] = c.name, c.label, c.type end
          assert.are.same(NAMES, names)
          assert.are.same(LABELS, labels)
          assert.are.same({ "a", "i", "a" }, types)
          s:close()
        end)
        fx:stop()
        assert(ok, err)
      end)

      for _, ps in ipairs(PAGES) do
        it("then getdata reply " .. ps.file .. ": rows(), dictslice(0), write csv", function()
          local fx = serve(qs.file, { ps.file })
          local ok, err = pcall(function()
            local s = open(fx)
            local want = expected_rows(ps.typed)

            local q = s:query("pub.demo.weather.stations", "")
            local got = {}
            for row in q:rows() do got[#got + 1] = row end
            assert.are.same(want, got)
            assert.are.equal(3, q.nrows) -- stated, or learned from the short page

            local d = s:query("pub.demo.weather.stations", ""):dictslice(0)
            for j, name in ipairs(NAMES) do
              assert.are.same({ want[1][j], want[2][j], want[3][j] }, d[name])
            end

            local w = s:query("pub.demo.weather.stations", "")
            local rows = w:write(tmp, "csv")
            assert.are.equal(3, rows)
            local text = readfile(tmp)
            if ps.header then
              assert.are.equal(ps.header .. CSV:gsub("^[^\n]*\n", ""), text)
            else
              assert.are.equal(CSV, text)
            end
            s:close()
            -- One page was enough each time: a count read or a short page ends the paging.
            assert.are.equal(3, fx:count("getdata"))
          end)
          fx:stop()
          assert(ok, err)
        end)
      end
    end)
  end

  -- querydata (the default): the query's first page comes in its own reply, whatever shape the
  -- page has; a page shorter than asked is the whole result, so no getdata follows.
  for _, ps in ipairs(PAGES) do
    it("querydata reply " .. ps.file .. ": rows(), dictslice(0), write csv, no getdata", function()
      local fx = serve("query_nrows_attr.xml", { ps.file }, { querydata = { path(ps.file) } })
      local ok, err = pcall(function()
        local s = open(fx, true)
        local want = expected_rows(ps.typed and not ps.by_query)
        local got = {}
        local q = s:query("pub.demo.weather.stations", "")
        for row in q:rows() do got[#got + 1] = row end
        assert.are.same(want, got)
        assert.are.equal(3, q.nrows)
        -- a <th> with text alone names its column by that text: there is no query reply to
        -- give the names
        local d = s:query("pub.demo.weather.stations", ""):dictslice(0)
        for j, name in ipairs(ps.header and LABELS or NAMES) do
          assert.are.same({ want[1][j], want[2][j], want[3][j] }, d[name])
        end
        assert.are.equal(3, s:query("pub.demo.weather.stations", ""):write(tmp, "csv"))
        assert.are.equal((ps.header and ps.header .. CSV:gsub("^[^\n]*\n", "") or CSV), readfile(tmp))
        s:close()
        -- dictslice(0) reads from row 0 with no end: the first page serves it too
        assert.are.equal(3, fx:count("querydata"))
        assert.are.equal(0, fx:count("getdata"))
        assert.are.equal(0, fx:count("query"))
      end)
      fx:stop()
      assert(ok, err)
    end)
  end

  it("pages until an empty page when the count is unknown and pages are full", function()
    local fx = serve("query_count_absent.xml", { "getdata_data_table.xml", "getdata_empty.xml" })
    local ok, err = pcall(function()
      local s = open(fx)
      local q = s:query("pub.demo.weather.stations", "")
      q.page_rows = 3
      local got = {}
      for row in q:rows() do got[#got + 1] = row end
      assert.are.same(ROWS, got)
      assert.are.equal(3, q.nrows)
      assert.are.equal(2, fx:count("getdata"))
      s:close()
    end)
    fx:stop()
    assert(ok, err)
  end)

  it("reads CSV with the request's own <sep> and <linesep>", function()
    local fx = serve("query_nrows_attr.xml", { "csv_sep_linesep.xml" })
    local ok, err = pcall(function()
      local s = open(fx)
      local reply = s:call("getdata",
        '<in><format type="csv" values="formatted"><sep>|</sep><linesep>^</linesep></format></in>')
      assert.is_nil(reply:total())
      assert.are.equal(3, reply:nrows())
      for i = 1, 3 do assert.are.same(ROWS[i], reply:row(i)) end
      local f = assert(io.open(tmp, "wb"))
      reply:write(f, "csv")
      f:close()
      assert.are.equal(CSV, readfile(tmp))
      reply:close()
      s:close()
    end)
    fx:stop()
    assert(ok, err)
  end)

  it("exposes total() and each column's desc on the reply", function()
    local fx = serve("query_nrows_table.xml", { "th_all_attrs.xml", "getdata_data_table.xml" })
    local ok, err = pcall(function()
      local s = open(fx)
      local reply = s:call("getdata", "<in/>")
      assert.are.equal(3, reply:total())
      local c = reply:columns()
      assert.are.same({ name = "station", type = "a", format = "type:char", label = "Station\nID",
        desc = "ICAO station code" }, c[1])
      assert.are.equal("Height above sea level", c[2].desc)
      reply:close()
      reply = s:call("getdata", "<in/>")
      assert.is_nil(reply:total())
      assert.is_nil(reply:columns()[1].desc)
      reply:close()
      s:close()
    end)
    fx:stop()
    assert(ok, err)
  end)

  it("raises the platform's error from an rc+msg reply", function()
    local fx = serve("error.xml", { "getdata_data_out.xml" })
    local ok, err = pcall(function()
      local s = open(fx)
      local q = s:query("pub.demo.nowhere", "")
      local ok2, e = pcall(q.run, q)
      assert.is_false(ok2)
      assert.is_true(tenten.is_error(e))
      assert.are.equal(17, e.code)
      assert.are.equal("Table not found: pub.demo.nowhere", e.msg)
      s:close()
    end)
    fx:stop()
    assert(ok, err)
  end)

  it("takes a pool member from the docs' getuid reply", function()
    local fx = serve("query_nrows_out.xml", { "cols_under_out.xml" },
      { getuid = { path "getuid.xml" }, reluid = { path "logout.xml" } })
    local ok, err = pcall(function()
      local p = tenten.pool { gateway = fx.url, owner = "owner1", password = "pw1", group = "g1", size = 1,
        querydata = false }
      local s = p:session()
      assert.are.equal("acme_pool_2", s.username)
      local got = {}
      for row in s:query("pub.demo.weather.stations", ""):rows() do got[#got + 1] = row end
      assert.are.same(ROWS, got)
      s:close()
    end)
    fx:stop()
    assert(ok, err)
  end)
end)
