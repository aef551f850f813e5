-- Macro compiler: unit checks of parse/compile, and a runner that executes every case of
-- every tests/macro/cases_*.lua in SQLite through the sqlite3 CLI (no gateway), one
-- database per file.
--
-- TEST-ONLY: the runner pastes the plan's parameters into the SQL as literals because
-- the CLI cannot bind them; production binds them. The CLI cannot define the gateway's
-- tt_pow / tt_mod / tt_floor / tt_error either, so cases whose SQL uses them are reported pending
-- here and run by the gateway suite.
--
-- An error case whose macro compiles is an error raised while the query runs (a g_
-- selection that is not 0/1, N/A in a g_ order): the runner then expects code 1 and the
-- SQLite error to contain the match, as the gateway reports "Query failed: ...".

local macro = require "macro_source" -- ttgw.macro, from runtime/gateway/macro/

local function find_plain(s, sub)
  return s:find(sub, 1, true) ~= nil
end

---------------------------------------------------------------------------------------
-- unit checks

local UNIT_TABLES = {
  ["demo.item"] = {
    sql = "tt_v7",
    columns = {
      { name = "date", type = "i", format = "type:date", label = "Date" },
      { name = "store", type = "i" },
      { name = "sales", type = "f", format = "dec:2", label = "Sales" },
      { name = "name", type = "a" },
    },
  },
  ["demo.other"] = { sql = "tt_v8", columns = { { name = "k", type = "j" } } },
  ["demo.stores"] = {
    sql = "tt_v9", title = "Stores",
    columns = {
      { name = "store", type = "i", label = "Store" },
      { name = "city", type = "a", label = "City" },
      { name = "sqft", type = "f", format = "dec:0" },
    },
  },
}
local function unit_resolve(name)
  return UNIT_TABLES[name]
end
local function compile(ops, tbl)
  return macro.compile(ops, tbl or "demo.item", unit_resolve)
end

describe("macro.parse", function()
  it("returns op nodes with tag, attrs, attr_order, children, text, index, pos", function()
    local ops = assert(macro.parse([[<sel value="i_<10"/>  <willbe name="a" value='1'/>]]))
    assert.equal(2, #ops)
    assert.same({ tag = "sel", attrs = { value = "i_<10" }, attr_order = { "value" },
                  children = {}, text = "", index = 1, pos = 1 }, ops[1])
    assert.equal("willbe", ops[2].tag)
    assert.same({ "name", "value" }, ops[2].attr_order)
    assert.equal(2, ops[2].index)
    assert.equal(23, ops[2].pos)
  end)

  it("accepts an empty fragment, whitespace, comments and processing instructions", function()
    assert.same({}, macro.parse(""))
    assert.same({}, macro.parse("  \n<!-- x <sel/> -->\n<?xml version='1.0'?> "))
  end)

  it("decodes entities in attribute values and text", function()
    local ops = assert(macro.parse(
      [==[<note a="&lt;&gt;&amp;&quot;&apos;&#65;&#x42;">x &amp; y<![CDATA[<raw>&amp;]]></note>]==]))
    assert.equal([[<>&"'AB]], ops[1].attrs.a)
    assert.equal("x & y<raw>&amp;", ops[1].text)
  end)

  it("keeps unknown entities and bare & as written", function()
    local ops = assert(macro.parse([[<sel value="a&b &foo; c"/>]]))
    assert.equal("a&b &foo; c", ops[1].attrs.value)
  end)

  it("collects children with their own index and position", function()
    local ops = assert(macro.parse([[<tabu breaks="a"><tcol fun="cnt"/><break col="a"/></tabu>]]))
    local t = ops[1]
    assert.equal(2, #t.children)
    assert.equal("tcol", t.children[1].tag)
    assert.equal(1, t.children[1].index)
    assert.equal("break", t.children[2].tag)
    assert.equal(2, t.children[2].index)
    assert.equal(35, t.children[2].pos)
  end)

  it("reports malformed XML with code 10 and the byte position", function()
    local cases = {
      { [[<sel value="x"]], "malformed XML at byte 1: unclosed <sel>" },
      { [[<sel value="x" value="y"/>]], "malformed XML at byte 16: duplicate attribute 'value'" },
      { [[<sel value="x/>]], "malformed XML at byte 12: unterminated value of attribute 'value'" },
      { [[<!-- x]], "malformed XML at byte 1: unterminated comment" },
      { [[<a></b>]], "malformed XML at byte 4: expected </a>" },
      { [[</a>]], "malformed XML at byte 1: unexpected closing tag" },
      { [[<sel value="&#0;"/>]], "bad character reference '&#0;'" },
      { [[<sel value>]], "attribute 'value' has no value" },
    }
    for _, c in ipairs(cases) do
      local ops, err = macro.parse(c[1])
      assert.is_nil(ops, c[1])
      assert.equal(10, err.code)
      assert.is_true(find_plain(err.msg, c[2]), err.msg)
    end
  end)
end)

describe("macro.compile", function()
  it("builds one CTE per op and orders by _r", function()
    local plan = assert(compile([[<sel value="store=1"/><willbe name="x" value="sales*2"/>]]))
    assert.equal('WITH s0 AS (SELECT _r, "date", "store", "sales", "name" FROM "tt_v7"),\n'
      .. 's1 AS (SELECT _r, "date", "store", "sales", "name" FROM s0 WHERE ("store" = ?1)),\n'
      .. 's2 AS (SELECT _r, "date", "store", "sales", "name", ("sales" * ?2) AS "x" FROM s1)\n'
      .. 'SELECT "date", "store", "sales", "name", "x" FROM s2 ORDER BY _r', plan.sql)
    assert.same({ 1, 2 }, plan.params)
  end)

  it("binds every literal and never pastes request text", function()
    local plan = assert(compile([[<sel value="name='x'' OR 1=1 --' | sales>1.5"/>]]))
    assert.same({ "x' OR 1=1 --", 1.5 }, plan.params)
    assert.is_false(find_plain(plan.sql, "OR 1=1"))
    assert.equal("float", math.type(plan.params[2]))
  end)

  it("shares a parameter between equal literals", function()
    local plan = assert(compile([[<sel value="store=1|date=1|sales=1.0"/>]]))
    assert.same({ 1, 1.0 }, plan.params)
    assert.equal("integer", math.type(plan.params[1]))
  end)

  it("uses no window function for plain sels and for i_ after a sort", function()
    local plan = assert(compile([[<sel value="sales>1"/>]]))
    assert.is_false(find_plain(plan.sql, "OVER"))
    plan = assert(compile([[<sort col="sales" dir="down"/><sel value="i_<=10"/>]]))
    assert.is_true(find_plain(plan.sql, 'WHERE (_r <= ?1)'))
    local _, n = plan.sql:gsub("OVER", "")
    assert.equal(1, n)
  end)

  it("computes i_ with a window once rows were removed", function()
    local plan = assert(compile([[<sel value="store=1"/><sel value="i_=1"/>]]))
    assert.is_true(find_plain(plan.sql, "ROW_NUMBER() OVER (ORDER BY _r) AS _w1"))
  end)

  it("reports column metadata", function()
    local plan = assert(compile([[<willbe name="m" value="sales/2" label="Half`Sales" format="dec:1"/>
      <willbe name="t" value="lowercase(name)"/><colord cols="date,sales,m,t"/>]]))
    assert.same({
      { name = "date", type = "i", format = "type:date", label = "Date" },
      { name = "sales", type = "f", format = "dec:2", label = "Sales" },
      { name = "m", type = "f", format = "dec:1", label = "Half\nSales" },
      { name = "t", type = "a" },
    }, plan.columns)
  end)

  it("infers types", function()
    local plan = assert(compile([[<willbe name="a" value="store+1"/><willbe name="b" value="store*sales"/>
      <willbe name="c" value="store/2"/><willbe name="d" value="store>1"/>
      <willbe name="e" value="store+3000000000"/><willbe name="f" value="if(store=1;name;'')"/>
      <colord cols="a,b,c,d,e,f"/>]]))
    local types = {}
    for i, c in ipairs(plan.columns) do
      types[i] = c.type
    end
    assert.same({ "i", "f", "f", "i", "j", "a" }, types)
  end)

  it("can start without a request table when the first op is base", function()
    local plan = assert(macro.compile([[<note/><base table="demo.other"/>]], nil, unit_resolve))
    assert.same({ { name = "k", type = "j" } }, plan.columns)
    local _, err = macro.compile([[<sel value="1"/>]], nil, unit_resolve)
    assert.equal(10, err.code)
  end)

  it("refuses the ops it does not support by name", function()
    for _, tag in ipairs({ "block", "library", "insert", "let", "defop" }) do
      local _, err = compile(("<note/><%s/>"):format(tag))
      assert.same({ code = 10, msg = ("op 2 <%s>: not supported"):format(tag) }, err)
    end
  end)

  it("keeps error messages on one line", function()
    local _, err = compile("<sel value=\"sales>1 &amp;\nfoo=2\"/>")
    assert.equal(9, err.code)
    assert.equal([[op 1 <sel value>: unknown column 'foo' at 11 in "sales>1 & foo=2"]], err.msg)
  end)

  it("rejects an unsafe physical table name from the resolver", function()
    local _, err = macro.compile("", "x", function()
      return { sql = 'tt"; DROP', columns = {} }
    end)
    assert.equal(17, err.code)
  end)
end)

describe("macro.compile, second subset", function()
  local function count(sql, word)
    local _, n = sql:gsub(word, "")
    return n
  end

  it("compiles a tabu by one break to one GROUP BY ordered by first appearance", function()
    local plan = assert(compile([[<tabu breaks="store"><tcol source="sales" fun="sum"/>
      <tcol fun="cnt"/><tcol source="sales" fun="avg"/></tabu>]]))
    assert.equal(1, count(plan.sql, "GROUP BY"))
    assert.equal(1, count(plan.sql, "OVER"))
    assert.is_true(find_plain(plan.sql, "ROW_NUMBER() OVER (ORDER BY MIN(_r)) AS _r"))
  end)

  it("puts sorted breaks before first appearance", function()
    local plan = assert(compile([[<tabu breaks="store,name"><break col="name" sort="down" naorder="first"/>
      <tcol fun="cnt"/></tabu>]]))
    assert.is_true(find_plain(plan.sql, 'OVER (ORDER BY "name" DESC NULLS FIRST, MIN(_r))'))
  end)

  it("reads the source once more per first/last tcol", function()
    local plan = assert(compile([[<tabu breaks="store"><tcol source="sales" fun="first"/>
      <tcol source="name" fun="last"/><tcol fun="cnt"/></tabu>]]))
    assert.equal(3, count(plan.sql, "GROUP BY"))
    assert.is_true(find_plain(plan.sql, 'MIN(_r) AS _p, "sales" AS _v'))
    assert.is_true(find_plain(plan.sql, 'MAX(_r) AS _p, "name" AS _v'))
  end)

  it("reports tabu column metadata and the label as title", function()
    local plan = assert(compile([[<tabu label="By store" breaks="store,date">
      <tcol source="sales" fun="sum" name="tot" label="Total`Sales" format="type:currency"/>
      <tcol source="sales" fun="max"/><tcol source="date" fun="first"/><tcol fun="cnt"/></tabu>]]))
    assert.equal("By store", plan.title)
    assert.same({
      { name = "store", type = "i" },
      { name = "date", type = "i", format = "type:date", label = "Date" },
      { name = "tot", type = "f", format = "type:currency", label = "Total\nSales" },
      { name = "t1", type = "f", format = "dec:2" },
      { name = "t2", type = "i", format = "type:date" },
      { name = "t3", type = "i" },
    }, plan.columns)
  end)

  it("takes the title from the resolver, a <table> title, a tabu label", function()
    assert.equal("Stores", assert(compile("", "demo.stores")).title)
    assert.is_nil(assert(compile("")).title)
    assert.equal("t", assert(compile([[<table cols="a" title="t">1</table>]])).title)
    assert.equal("Stores", assert(compile([[<sel value="store=1"/><link table2="demo.item" col="store"
      type="include"/>]], "demo.stores")).title)
  end)

  it("i_ after a tabu needs no window", function()
    local plan = assert(compile([[<tabu breaks="store"><tcol fun="cnt"/></tabu><sel value="i_=1"/>]]))
    assert.is_true(find_plain(plan.sql, "WHERE (_r = ?1)"))
  end)

  it("links through one GROUP BY of the foreign side and a join on IS", function()
    local plan = assert(compile([[<link table2="demo.stores" col="store" label="Store`info"/>]]))
    assert.is_true(find_plain(plan.sql, 'LEFT JOIN (SELECT "store" AS _k1, MIN(_r) AS _m, "city" AS _c1,'
      .. ' "sqft" AS _c2 FROM s1 GROUP BY "store") AS f ON "store" IS f._k1'))
    assert.equal(0, count(plan.sql, "OVER"))
    assert.same({ name = "city", type = "a", label = "Store\ninfo\nCity" }, plan.columns[5])
    assert.same({ name = "sqft", type = "f", format = "dec:0", label = "Store\ninfo\nsqft" },
      plan.columns[6])
  end)

  it("keeps foreign labels without a link label", function()
    local plan = assert(compile([[<link table2="demo.stores" col="store" cols="city" suffix="_s"/>]]))
    assert.same({ name = "city_s", type = "a", label = "City" }, plan.columns[5])
  end)

  it("builds the foreign stages before the joining stage", function()
    local plan = assert(compile([[<sel value="store=1"/><link table2="demo.stores" col="store" type="select">
      <sel value="sqft>100"/></link>]]))
    local s3 = plan.sql:find("s3 AS", 1, true)
    local s4 = plan.sql:find("s4 AS", 1, true)
    assert.is_true(s3 < s4)
    assert.is_true(find_plain(plan.sql, 's3 AS (SELECT _r, "store", "city", "sqft" FROM s2 WHERE'))
    assert.is_true(find_plain(plan.sql, 'FROM s1 JOIN (SELECT "store" AS _k1'))
    assert.same({ 1, 100 }, plan.params)
  end)

  it("merges with UNION ALL, shifting the foreign row order", function()
    local plan = assert(compile([[<merge table2="demo.stores"/>]]))
    assert.is_true(find_plain(plan.sql, 'SELECT _r, "store" FROM s0 UNION ALL SELECT _r + '
      .. '(SELECT coalesce(max(_r), 0) FROM s0), "store" FROM s1'))
  end)

  it("binds every value of an inline table", function()
    local plan = assert(compile([[<table cols="a,b">1,x;2,'y'' OR 1=1'</table>]]))
    assert.same({ 1, "x", 2, "y' OR 1=1" }, plan.params)
    assert.is_true(find_plain(plan.sql, "FROM (VALUES (1, ?1, ?2), (2, ?3, ?4))"))
  end)

  it("computes a window over a window one level further out", function()
    local plan = assert(compile([[<willbe name="u" value="g_ucnt(store;;name)"/>]]))
    assert.is_true(find_plain(plan.sql, "FROM (SELECT *, MAX(CASE WHEN"))
    assert.is_true(find_plain(plan.sql, "FROM (SELECT *, DENSE_RANK() OVER (PARTITION BY"))
  end)

  it("passes g_ group and order columns as names", function()
    local plan = assert(compile([[<willbe name="c" value="g_cumsum(store,name;;date;sales)"/>]]))
    assert.is_true(find_plain(plan.sql, 'TOTAL("sales") OVER (PARTITION BY "store", "name" ORDER BY '
      .. 'CASE WHEN "date" IS NULL THEN tt_error'))
    assert.is_true(find_plain(plan.sql, 'ELSE "date" END, _r ROWS UNBOUNDED PRECEDING)'))
  end)

  it("names nested elements by their path", function()
    local _, err = compile([[<note/><link table2="demo.stores" col="store"><sel value="1"/>
      <link table2="demo.item" col="store" type="include"><sel value="x=1"/></link></link>]])
    assert.same({ code = 9, msg = [[op 2.2.1 <sel value>: unknown column 'x' at 1 in "x=1"]] }, err)
  end)
end)

---------------------------------------------------------------------------------------
-- runner over the data-driven cases

local NULL = setmetatable({}, { __tostring = function() return "NA" end })
local SQLTYPE = { i = "INTEGER", j = "INTEGER", f = "REAL", a = "TEXT" }
local UDF = { "tt_pow(", "tt_mod(", "tt_floor(", "tt_error(" }

local function float_lit(v)
  local s = ("%.17g"):format(v)
  if not s:find("[%.eEn]") then
    s = s .. ".0"
  end
  return s
end

local function literal(v, typ)
  if v == "NA" then
    return "NULL"
  elseif typ == "a" or (typ == nil and type(v) == "string") then
    return "'" .. v:gsub("'", "''") .. "'"
  elseif typ == "f" or math.type(v) == "float" then
    return float_lit(v)
  end
  return ("%d"):format(v)
end

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write_file(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- run a script with the sqlite3 CLI; returns stdout or nil, stderr
local function sqlite(db, script)
  local base = os.tmpname()
  write_file(base, script)
  local ok = os.execute(("sqlite3 -bail %s < %s > %s.out 2> %s.err"):format(db, base, base, base))
  local out, err = read_file(base .. ".out"), read_file(base .. ".err")
  os.remove(base)
  os.remove(base .. ".out")
  os.remove(base .. ".err")
  if not ok or err ~= "" then
    return nil, err
  end
  return out
end

-- parse `.mode quote` output into rows of Lua values (NULL for SQL NULL)
local function parse_quoted(out)
  local rows, row, i, n = {}, {}, 1, #out
  while i <= n do
    local c = out:sub(i, i)
    if c == "'" then
      local parts, p = {}, i + 1
      while true do
        local q = assert(out:find("'", p, true), "unterminated text in sqlite output")
        parts[#parts + 1] = out:sub(p, q - 1)
        if out:sub(q + 1, q + 1) == "'" then
          parts[#parts + 1] = "'"
          p = q + 2
        else
          i = q + 1
          break
        end
      end
      row[#row + 1] = table.concat(parts)
    elseif out:sub(i, i + 3) == "NULL" then
      row[#row + 1] = NULL
      i = i + 4
    elseif c == "," then
      i = i + 1
    elseif c == "\n" then
      rows[#rows + 1] = row
      row = {}
      i = i + 1
    else
      local num = assert(out:match("^[-+%w%.]+", i), "unexpected sqlite output at " .. i)
      row[#row + 1] = math.tointeger(tonumber(num)) or tonumber(num)
      if num:find("[%.eE]") then
        row[#row] = row[#row] + 0.0
      end
      i = i + #num
    end
  end
  if #row > 0 then
    rows[#rows + 1] = row
  end
  return rows
end

local function same_value(exp, act, typ)
  if exp == "NA" then
    return act == NULL
  elseif act == NULL then
    return false
  elseif type(exp) == "string" then
    return act == exp and typ == "a"
  elseif type(act) ~= "number" then
    return false
  elseif (typ == "i" or typ == "j") and math.type(act) ~= "integer" then
    return false -- an integer column must hold integers
  elseif math.type(exp) == "integer" and math.type(act) == "integer" then
    return exp == act
  end
  return math.abs(exp - act) <= 1e-9 * math.max(math.abs(exp), math.abs(act)) + 1e-12
end

local function show_rows(rows)
  local t = {}
  for i, r in ipairs(rows) do
    local cells = {}
    for j, v in ipairs(r) do
      cells[j] = type(v) == "string" and ("%q"):format(v) or tostring(v)
    end
    t[i] = "{" .. table.concat(cells, ", ") .. "}"
  end
  return table.concat(t, " ")
end

local function case_files()
  local p = assert(io.popen("ls tests/macro/cases_*.lua"))
  local files = {}
  for f in p:lines() do
    files[#files + 1] = f
  end
  p:close()
  return files
end

local total = 0

local function run_file(file)
  local data = dofile(file)
  total = total + #data.cases
  describe("macro cases of " .. file:match("[^/]+$") .. " (sqlite3 CLI)", function()
    local db = os.tmpname()
    local resolve_map = {}

    setup(function()
      local names = {}
      for name in pairs(data.tables) do
        names[#names + 1] = name
      end
      table.sort(names)
      local script = {}
      for k, name in ipairs(names) do
        local t = data.tables[name]
        local phys = "tt_v" .. k
        local cols, defs, types = {}, { "_r INTEGER PRIMARY KEY" }, {}
        for i, spec in ipairs(t.cols) do
          local cname, ctype = spec:match("^([%a][%w_]*):([ijfa])$")
          assert(cname, "bad column spec " .. spec)
          cols[i] = { name = cname, type = ctype }
          types[i] = ctype
          defs[#defs + 1] = ('"%s" %s'):format(cname, SQLTYPE[ctype])
        end
        resolve_map[name] = { sql = phys, columns = cols }
        script[#script + 1] = ("CREATE TABLE %s(%s);"):format(phys, table.concat(defs, ", "))
        for r, row in ipairs(t.rows) do
          assert(#row == #cols, name .. " row " .. r .. " has the wrong width")
          local vals = { tostring(r) }
          for i, v in ipairs(row) do
            vals[#vals + 1] = literal(v, types[i])
          end
          script[#script + 1] = ("INSERT INTO %s VALUES (%s);"):format(phys, table.concat(vals, ", "))
        end
      end
      assert(sqlite(db, table.concat(script, "\n") .. "\n"))
    end)

    teardown(function()
      os.remove(db)
    end)

    local function resolve(name)
      return resolve_map[name]
    end

    for _, case in ipairs(data.cases) do
      it(case.name, function()
        local plan, err = macro.compile(case.ops, case.table, resolve)
        if case.error and plan then
          -- Raised while the query runs, through tt_error, which only the gateway has (the
          -- gateway suite runs these for real): check the statement carries the message.
          assert.equal(case.error.code, 9, "compiled, so the error must come from tt_error")
          assert.is_true(find_plain(plan.sql, "tt_error(?"))
          local carried = false
          for _, v in ipairs(plan.params) do
            if type(v) == "string" and find_plain(v, case.error.match) then carried = true end
          end
          assert.is_true(carried, "no parameter carries " .. case.error.match)
          return
        end
        if case.error then
          assert.is_nil(plan, "expected an error")
          assert.equal(case.error.code, err.code, err.msg)
          assert.is_true(find_plain(err.msg, case.error.match),
            ("message %q does not contain %q"):format(err.msg, case.error.match))
          assert.is_false(find_plain(err.msg, "\n"))
          return
        end
        assert.is_not_nil(plan, err and err.msg)

        -- every parameter is used and nothing beyond them is referenced
        local used = {}
        for d in plan.sql:gmatch("%?(%d+)") do
          used[tonumber(d)] = true
        end
        for i = 1, #plan.params do
          assert.is_true(used[i] == true, "parameter ?" .. i .. " unused")
          used[i] = nil
        end
        assert.is_nil(next(used), "SQL references a parameter that is not in params")

        local names, types = {}, {}
        for i, c in ipairs(plan.columns) do
          names[i], types[i] = c.name, c.type
        end
        assert.same(case.cols, names)
        if case.types then
          assert.same(case.types, types)
        end

        for _, f in ipairs(UDF) do
          if find_plain(plan.sql, f) then
            pending("needs the gateway's " .. f .. ") function")
            return
          end
        end

        local sql = plan.sql:gsub("%?(%d+)", function(d)
          return literal(plan.params[tonumber(d)])
        end)
        local rescols = {}
        for i = 1, #plan.columns do
          rescols[i] = "c" .. i
        end
        local out, serr = sqlite(db, ("CREATE TEMP TABLE res(%s);\nINSERT INTO res %s;\n.mode quote\n"
          .. "SELECT * FROM res ORDER BY rowid;\n"):format(table.concat(rescols, ", "), sql))
        assert.is_not_nil(out, (serr or "") .. "\n" .. sql)
        local rows = parse_quoted(out)

        local ok = #rows == #case.rows
        for r = 1, ok and #rows or 0 do
          for c = 1, #plan.columns do
            if not same_value(case.rows[r][c], rows[r][c], types[c]) then
              ok = false
            end
          end
        end
        assert.is_true(ok, ("rows differ\nexpected %s\n     got %s\nsql: %s"):format(
          show_rows(case.rows), show_rows(rows), sql))
      end)
    end
  end)
end

for _, file in ipairs(case_files()) do
  run_file(file)
end

describe("macro cases", function()
  it("are enough", function()
    assert.is_true(total >= 250, "only " .. total .. " cases")
  end)
end)
