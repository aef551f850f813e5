-- The row path against a real tt-gateway: q:rows() and q:batches() give the same values, page
-- after page, with N/A, every column type, empty results and short last pages; both agree with
-- the text the gateway sent (read here with our own small XML reader, through curl); and a
-- batch's lists, recycled once dropped, are never reused while the caller holds them.
local gateway = require "gateway"
local tenten = require "tenten"
local values = require "values"

-- Every type, N/A in each, text that XML must escape, non-ASCII, a line break, a column
-- named "n" (the batch's row count has that key).
local TYPES = "k:i,big:j,x:f,label:a,n:i\n" ..
  "1,9007199254740993,1.5,plain,10\n" ..
  "2,,-0.25,\"a,b\",\n" ..
  "3,-42,,\"<&>\"\"'\",30\n" ..
  "4,0,1e-05,,40\n" ..
  "5,123456789012,0.30000000000000004,Z\195\188rich \230\157\177\228\186\172,50\n" ..
  "6,7,100,\"two\nlines\",60\n" ..
  "7,8,-0,]]>,70\n"

describe("the row path", function()
  local g, dir, url

  setup(function()
    dir = gateway.tmpdir()
    local db = gateway.demo_db(dir, 0.01)
    assert.are.equal(0, gateway.import(db, "test.types", TYPES, dir))
    local fifty = { "i:i,s:a" }
    for i = 1, 50 do fifty[#fifty + 1] = i .. ",s" .. (i % 3) end
    assert.are.equal(0, gateway.import(db, "test.fifty", table.concat(fifty, "\n") .. "\n", dir))
    g = gateway.start { dir = dir, db = db }
    url = g.url
  end)

  teardown(function()
    if g then g:stop() end
  end)

  local function session()
    return tenten.Session(url, "plain1", "secret4", tenten.KILL)
  end

  local function all_rows(q)
    local rows = {}
    for row in q:rows() do rows[#rows + 1] = row end
    return rows
  end

  -- The batches of q, kept, and their rows laid out as rows() would give them.
  local function all_batches(q)
    local batches, rows = {}, {}
    for b in q:batches() do
      batches[#batches + 1] = b
      for i = 1, b.n do
        local row = {}
        for j = 1, #b do row[j] = b[j][i] end
        rows[#rows + 1] = row
      end
    end
    return batches, rows
  end

  -- The value a cell's text stands for, as the client promises: N/A for an empty cell,
  -- integers for i/j, floats for f (strtod's reading), text otherwise or when it does not read.
  local function value_of(text, ctype)
    if not text then return tenten.NA end -- the harness reads an empty cell as false
    if ctype == "i" or ctype == "j" then
      return text:match("^%-?%d+$") and math.tointeger(tonumber(text)) or text
    end
    if ctype == "f" then
      local v = tonumber(text)
      return v and v + 0.0 or text
    end
    return text
  end

  local assert_same_rows = values.assert_same_rows

  -- The rows as the gateway's own XML says, read through curl: an independent reading.
  local function gateway_rows(table_name, ops)
    local s = g:login("admin1", "secret2")
    local text, _, r = g:pull(s, table_name, ops or "", 5000)
    local types = {}
    for i, th in ipairs(r.root:find("cols"):all("th")) do types[i] = th.attrs.type end
    g:scall(s, "logout")
    local rows = {}
    for i, t in ipairs(text) do
      local row = {}
      for j, cell in ipairs(t) do row[j] = value_of(cell, types[j]) end
      for j = #t + 1, #types do row[j] = tenten.NA end
      rows[i] = row
    end
    return rows
  end

  for _, case in ipairs {
    { "pub.demo.weather.hourly90", 997 },
    { "pub.demo.weather.stations", 3 },
    { "pub.demo.retail.item", 250 },
    { "test.types", 2 },
  } do
    local name, page_rows = case[1], case[2]
    it("gives the same values by rows and by batches, and as the gateway sent them: " .. name, function()
      local s <close> = session()
      local q = s:query(name)
      q.page_rows = page_rows
      local rows = all_rows(q)
      assert.is_true(#rows > 0)
      local q2 = s:query(name)
      q2.page_rows = page_rows
      local batches, brows = all_batches(q2)
      assert_same_rows(rows, brows, name .. " rows vs batches")
      assert_same_rows(gateway_rows(name), rows, name .. " gateway vs rows")
      assert.are.equal(math.ceil(#rows / page_rows), #batches)
      -- every batch: a list per column, by position and by name, n rows each
      for k, b in ipairs(batches) do
        assert.are.equal(k < #batches and page_rows or #rows - (#batches - 1) * page_rows, b.n)
        assert.are.equal(#q2.columns, #b)
        for j, c in ipairs(q2.columns) do
          assert.are.equal(b.n, #b[j])
          if c.name ~= "n" then assert.are.equal(b[j], b[c.name]) end
        end
      end
    end)
  end

  it("has N/A, every type and escaped text in place", function()
    local s <close> = session()
    local rows = all_rows(s:query("test.types"))
    assert.are.equal(7, #rows)
    assert.are.same({ "i", "j", "f", "a", "i" }, (function(q)
      q:run()
      local t = {}
      for i, c in ipairs(q.columns) do t[i] = c.type end
      return t
    end)(s:query("test.types")))
    assert.are.equal(9007199254740993, rows[1][2]) -- beyond 2^53: still exact
    assert.are.equal("integer", math.type(rows[1][2]))
    assert.are.equal("float", math.type(rows[1][3]))
    assert.are.equal(tenten.NA, rows[2][2])
    assert.are.equal(tenten.NA, rows[2][5])
    assert.are.equal(tenten.NA, rows[3][3])
    assert.are.equal(tenten.NA, rows[4][4])
    assert.are.equal("a,b", rows[2][4])
    assert.are.equal("<&>\"'", rows[3][4])
    assert.are.equal("Z\195\188rich \230\157\177\228\186\172", rows[5][4])
    assert.are.equal(0.30000000000000004, rows[5][3])
    assert.are.equal("two\nlines", rows[6][4])
    assert.are.equal("]]>", rows[7][4])
    assert.are.equal(1e-05, rows[4][3])
    assert.are.equal("float", math.type(rows[7][3])) -- "-0" (or "0"): a float zero
    assert.are.equal(0, rows[7][3])
  end)

  it("keeps the row count in b.n even with a column named n", function()
    local s <close> = session()
    local q = s:query("test.types")
    local got
    for b in q:batches() do got = b end
    assert.are.equal(7, got.n)
    assert.are.equal("n", q.columns[5].name)
    assert.are.same({ 10, tenten.NA, 30, 40, 50, 60, 70 }, got[5])
  end)

  it("gives no row and no batch for an empty result", function()
    local s <close> = session()
    local q = s:query("test.fifty", '<sel value="i_ > 1000"/>')
    assert.are.equal(0, #all_rows(q))
    local n = 0
    for _ in s:query("test.fifty", '<sel value="i_ > 1000"/>'):batches() do n = n + 1 end
    assert.are.equal(0, n)
  end)

  it("pages with a small page size, the last one short", function()
    local s <close> = session()
    local q = s:query("test.fifty")
    q.page_rows = 7
    local batches = all_batches(q)
    assert.are.equal(8, #batches)
    local k = 0
    for i, b in ipairs(batches) do
      assert.are.equal(i < 8 and 7 or 1, b.n)
      for r = 1, b.n do
        k = k + 1
        assert.are.equal(k, b.i[r])
        assert.are.equal("s" .. (k % 3), b.s[r])
      end
    end
    assert.are.equal(50, k)
    local q2 = s:query("test.fifty")
    q2.page_rows = 7
    local rows = all_rows(q2)
    assert.are.equal(50, #rows)
    assert.are.same({ 50, "s2" }, rows[50])
  end)

  it("never reuses a list the caller still holds, however often memory is collected", function()
    local s <close> = session()
    local q = s:query("test.fifty")
    q.page_rows = 5
    local kept, dropped = {}, 0
    for b in q:batches() do
      -- keep every other batch's first column, drop the rest, and collect hard each time:
      -- dropped lists go back to the iterator and are refilled by later batches
      if #kept < 5 or dropped >= 3 then kept[#kept + 1] = { first = b.i[1], list = b.i } else dropped = dropped + 1 end
      b = nil -- luacheck: ignore 311
      collectgarbage()
      collectgarbage()
    end
    for _, k in ipairs(kept) do
      for r = 1, #k.list do assert.are.equal(k.first + r - 1, k.list[r]) end
    end
  end)

  it("refills spare lists in place, cut to length, with the metatable given (reply:batch)", function()
    local s <close> = session()
    local q = s:query("test.fifty")
    q:run()
    local page = s:call("getdata", '<in><rows mode="2"><start>0</start><end>3</end></rows></in>')
    local long, short = { 9, 9, 9, 9, 9, 9 }, {}
    local mt = {}
    local b = page:batch({ long, short }, mt) -- taken from the end: short first
    page:close()
    assert.are.equal(short, b[1])
    assert.are.equal(long, b[2])
    assert.are.same({ 1, 2, 3 }, b.i)
    assert.are.same({ "s1", "s2", "s0" }, b.s)
    assert.are.equal(mt, getmetatable(b.i))
    assert.are.equal(mt, getmetatable(b.s))
  end)

  it("stops cleanly when the loop breaks, and the session goes on", function()
    local s <close> = session()
    local q = s:query("pub.demo.weather.hourly90")
    q.page_rows = 100
    assert.are.equal(6, #q:rows()()) -- one row taken, the rest left unread
    assert.are.equal(100, q:batches()().n)
    local n = 0
    for b in s:query("test.fifty"):batches() do n = n + b.n end
    assert.are.equal(50, n)
  end)
end)
