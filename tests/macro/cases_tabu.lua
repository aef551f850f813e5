-- Data-driven cases for <tabu>/<tcol>/<break> and the inline <table> op (second subset).
-- Same shape as cases_basic.lua; run by tests/spec/macro_compile_spec.lua (SQLite CLI)
-- and tests/spec/macro_gateway_spec.lua (through tt-gateway). "NA" is N/A.
-- Every expected row was worked out by hand from the table rows below.

local tables = {
  -- the retail rows of cases_basic.lua
  ["tabu.item"] = {
    cols = { "date:i", "transid:i", "sku:i", "store:i", "sales:f", "cost:f" },
    rows = {
      { 20131230, 101, 501, 1, 12.5, 8.0 },
      { 20140105, 102, 502, 2, 8.0, 5.0 },
      { 20140105, 103, 501, 3, 25.0, "NA" },
      { 20140210, 104, 503, 1, 9.5, 0.0 },
      { 20140315, 105, 502, 3, 14.0, 10.0 },
      { 20140401, 106, 504, 2, "NA", 3.0 },
      { 20140620, 107, 501, 1, 30.0, 20.0 },
      { 20141231, 108, 503, 3, 11.0, 0.0 },
      { 20150102, 109, 502, 1, 7.0, 4.0 },
      { 20140704, 110, 504, 3, "NA", "NA" },
      { 20140811, 111, 501, 2, 18.0, 12.0 },
      { 20140920, 112, 503, 1, 18.0, 9.5 },
    },
  },
  -- groups by g (first appearance): a = rows 1 3 7, b = 2 5 (x, f, s all N/A),
  -- c = 4 9, N/A = 6 8
  ["tabu.na"] = {
    cols = { "g:a", "x:i", "f:f", "s:a", "w:f" },
    rows = {
      { "a", 3, 1.5, "p", 2.0 },
      { "b", "NA", "NA", "NA", 1.0 },
      { "a", "NA", 2.5, "q", "NA" },
      { "c", 5, "NA", "r", 1.0 },
      { "b", "NA", "NA", "NA", 3.0 },
      { "NA", 1, 4.0, "s", 1.0 },
      { "a", 7, -1.0, "NA", 2.0 },
      { "NA", "NA", 0.5, "s", 0.0 },
      { "c", 5, 3.0, "r", 3.0 },
    },
  },
}

local cases = {}

local function add(c)
  cases[#cases + 1] = c
end

local function fails(name, tbl, ops, code, match)
  add({ name = name, table = tbl, ops = ops, error = { code = code, match = match } })
end

local function one(values)
  local rows = {}
  for i, v in ipairs(values) do
    rows[i] = { v }
  end
  return rows
end

-- a tabu of tabu.na by g with one tcol; values per group a, b, c, N/A
local function per_group(name, tcol, typ, values)
  local rows = {}
  for i, g in ipairs({ "a", "b", "c", "NA" }) do
    rows[i] = { g, values[i] }
  end
  add({
    name = name, table = "tabu.na",
    ops = '<tabu breaks="g">' .. tcol .. "</tabu>",
    cols = { "g", "t0" }, types = { "a", typ }, rows = rows,
  })
end

---------------------------------------------------------------------------------------
-- worked example E3 and the basic shapes

add({
  name = "E3 tabulation, then filter and sort the summary", table = "tabu.item",
  ops = [[<tabu label="Sales by store" breaks="store">
  <break col="store" sort="up"/>
  <tcol source="sales" fun="sum" name="tot" label="Total`Sales" format="type:currency"/>
  <tcol fun="cnt" label="Rows"/>
  <tcol source="sku" fun="ucnt" label="SKUs"/>
</tabu>
<sel value="tot>30"/>
<sort col="tot" dir="down"/>]],
  cols = { "store", "tot", "t1", "t2" }, types = { "i", "f", "i", "i" },
  rows = { { 1, 77.0, 5, 3 }, { 3, 50.0, 4, 4 } },
})
add({
  name = "tabu without breaks is one summary row", table = "tabu.item",
  ops = [[<tabu><tcol source="sales" fun="sum"/><tcol fun="cnt"/><tcol source="sales" fun="avg"/></tabu>]],
  cols = { "t0", "t1", "t2" }, types = { "f", "i", "f" }, rows = { { 153.0, 12, 15.3 } },
})
add({
  name = "tabu by one break: groups in order of first appearance", table = "tabu.item",
  ops = [[<tabu breaks="sku"><tcol fun="cnt"/><tcol source="sales" fun="sum"/></tabu>]],
  cols = { "sku", "t0", "t1" }, types = { "i", "i", "f" },
  rows = { { 501, 4, 85.5 }, { 502, 3, 29.0 }, { 503, 3, 38.5 }, { 504, 2, 0.0 } },
})
add({
  name = "first appearance follows the current order (after a sort)", table = "tabu.item",
  ops = [[<sort col="sales" dir="down"/><tabu breaks="store"><tcol fun="cnt"/></tabu>]],
  cols = { "store", "t0" }, rows = { { 1, 5 }, { 3, 4 }, { 2, 3 } },
})
add({
  name = "break sort down", table = "tabu.item",
  ops = [[<tabu breaks="store"><break col="store" sort="down"/><tcol fun="cnt"/></tabu>]],
  cols = { "store", "t0" }, rows = { { 3, 4 }, { 2, 3 }, { 1, 5 } },
})
add({
  name = "break sort none keeps first appearance", table = "tabu.item",
  ops = [[<sort col="sales" dir="down"/>
<tabu breaks="store"><break col="store" sort="none"/><tcol fun="cnt"/></tabu>]],
  cols = { "store", "t0" }, rows = { { 1, 5 }, { 3, 4 }, { 2, 3 } },
})
add({
  name = "two breaks, first appearance of each combination", table = "tabu.item",
  ops = [[<tabu breaks="store,sku"><tcol fun="cnt"/></tabu>]],
  cols = { "store", "sku", "t0" },
  rows = { { 1, 501, 2 }, { 2, 502, 1 }, { 3, 501, 1 }, { 1, 503, 2 }, { 3, 502, 1 },
           { 2, 504, 1 }, { 3, 503, 1 }, { 1, 502, 1 }, { 3, 504, 1 }, { 2, 501, 1 } },
})
add({
  name = "two breaks, only the first sorted: then first appearance", table = "tabu.item",
  ops = [[<tabu breaks="store,sku"><break col="store" sort="up"/><tcol fun="cnt"/></tabu>]],
  cols = { "store", "sku", "t0" },
  rows = { { 1, 501, 2 }, { 1, 503, 2 }, { 1, 502, 1 }, { 2, 502, 1 }, { 2, 504, 1 },
           { 2, 501, 1 }, { 3, 501, 1 }, { 3, 502, 1 }, { 3, 503, 1 }, { 3, 504, 1 } },
})
add({
  name = "two sorted breaks: up then down", table = "tabu.item",
  ops = [[<sel value="store&lt;3"/><tabu breaks="store,sku"><break col="store" sort="up"/>
<break col="sku" sort="down"/><tcol fun="cnt"/></tabu>]],
  cols = { "store", "sku", "t0" },
  rows = { { 1, 503, 2 }, { 1, 502, 1 }, { 1, 501, 2 }, { 2, 504, 1 }, { 2, 502, 1 }, { 2, 501, 1 } },
})
add({
  name = "a <break> not named in breaks adds a break", table = "tabu.item",
  ops = [[<tabu><break col="store" sort="up"/><tcol fun="cnt"/></tabu>]],
  cols = { "store", "t0" }, rows = { { 1, 5 }, { 2, 3 }, { 3, 4 } },
})
add({
  name = "unnamed tcols are t<position> beside named ones", table = "tabu.item",
  ops = [[<tabu breaks="store"><tcol fun="cnt"/><tcol source="sales" fun="sum" name="tot"/>
<tcol source="sales" fun="max"/></tabu>]],
  cols = { "store", "t0", "tot", "t2" }, types = { "i", "i", "f", "f" },
  rows = { { 1, 5, 77.0, 30.0 }, { 2, 3, 26.0, 18.0 }, { 3, 4, 50.0, 25.0 } },
})
add({
  name = "tcol without fun counts rows", table = "tabu.item",
  ops = [[<tabu breaks="store"><tcol/></tabu>]],
  cols = { "store", "t0" }, types = { "i", "i" }, rows = { { 1, 5 }, { 2, 3 }, { 3, 4 } },
})
add({
  name = "cnt with a source still counts every row", table = "tabu.item",
  ops = [[<tabu breaks="store"><tcol source="sales" fun="cnt"/></tabu>]],
  cols = { "store", "t0" }, rows = { { 1, 5 }, { 2, 3 }, { 3, 4 } },
})
add({
  name = "tabu with breaks and no tcol lists the groups", table = "tabu.item",
  ops = [[<tabu breaks="store"><break col="store" sort="down"/></tabu>]],
  cols = { "store" }, types = { "i" }, rows = one({ 3, 2, 1 }),
})
add({
  name = "duplicate tcols are allowed", table = "tabu.item",
  ops = [[<tabu breaks="store"><tcol fun="cnt"/><tcol fun="cnt"/></tabu>]],
  cols = { "store", "t0", "t1" }, rows = { { 1, 5, 5 }, { 2, 3, 3 }, { 3, 4, 4 } },
})
add({
  name = "tcol source may be an expression", table = "tabu.item",
  ops = [[<tabu breaks="store"><tcol source="sales-cost" fun="sum" name="margin"/></tabu>]],
  cols = { "store", "margin" }, types = { "i", "f" },
  rows = { { 1, 35.5 }, { 2, 9.0 }, { 3, 15.0 } },
})
add({
  name = "min and max keep the source type", table = "tabu.item",
  ops = [[<tabu breaks="store"><tcol source="date" fun="min"/><tcol source="date" fun="max"/></tabu>]],
  cols = { "store", "t0", "t1" }, types = { "i", "i", "i" },
  rows = { { 1, 20131230, 20150102 }, { 2, 20140105, 20140811 }, { 3, 20140105, 20141231 } },
})
add({
  name = "break rename and relabel", table = "tabu.item",
  ops = [[<tabu breaks="store"><break col="store" rename="shop" relabel="Shop"/>
<tcol fun="cnt" name="n"/></tabu><sel value="shop=2"/>]],
  cols = { "shop", "n" }, rows = { { 2, 3 } },
})
add({
  name = "break on a hidden column shows it", table = "tabu.item",
  ops = [[<colord cols="sales"/><tabu breaks="store"><tcol fun="cnt"/></tabu>]],
  cols = { "store", "t0" }, rows = { { 1, 5 }, { 2, 3 }, { 3, 4 } },
})
add({
  name = "break on a computed column", table = "tabu.item",
  ops = [[<willbe name="yr" value="year(date)"/><tabu breaks="yr"><tcol source="sales" fun="sum"/></tabu>]],
  cols = { "yr", "t0" }, rows = { { 2013, 12.5 }, { 2014, 133.5 }, { 2015, 7.0 } },
})

---------------------------------------------------------------------------------------
-- ops after a tabu work on its result

add({
  name = "willbe, sel and colord on a tabu result", table = "tabu.item",
  ops = [[<tabu breaks="store"><tcol source="sales" fun="sum" name="s"/><tcol fun="cnt" name="n"/></tabu>
<willbe name="avg" value="s/n"/><sel value="avg>10"/><colord cols="store,avg"/>]],
  cols = { "store", "avg" }, types = { "i", "f" }, rows = { { 1, 15.4 }, { 3, 12.5 } },
})
add({
  name = "i_ and n_ after a tabu and a sel", table = "tabu.item",
  ops = [[<tabu breaks="sku"><tcol fun="cnt"/></tabu><sel value="t0>2"/>
<willbe name="r" value="i_"/><willbe name="n" value="n_"/>]],
  cols = { "sku", "t0", "r", "n" },
  rows = { { 501, 4, 1, 3 }, { 502, 3, 2, 3 }, { 503, 3, 3, 3 } },
})
add({
  name = "top-N groups: tabu, sort, i_", table = "tabu.item",
  ops = [[<tabu breaks="sku"><tcol source="sales" fun="sum" name="s"/></tabu>
<sort col="s" dir="down"/><sel value="i_&lt;=2"/>]],
  cols = { "sku", "s" }, rows = { { 501, 85.5 }, { 503, 38.5 } },
})
add({
  name = "tabu of a tabu", table = "tabu.item",
  ops = [[<tabu breaks="store,sku"><tcol fun="cnt" name="n"/></tabu>
<tabu breaks="n"><break col="n" sort="up"/><tcol fun="cnt" name="groups"/></tabu>]],
  cols = { "n", "groups" }, rows = { { 1, 8 }, { 2, 2 } },
})
add({
  name = "the source worksheet's columns are gone after a tabu", table = "tabu.item",
  ops = [[<tabu breaks="store"><tcol fun="cnt"/></tabu><sel value="sales>1"/>]],
  error = { code = 9, match = "op 2 <sel value>: unknown column 'sales' at 1" },
})
add({
  name = "a sel before the tabu filters its input", table = "tabu.item",
  ops = [[<sel value="sales>10"/><tabu breaks="store"><tcol fun="cnt"/></tabu>]],
  cols = { "store", "t0" }, rows = { { 1, 3 }, { 3, 3 }, { 2, 1 } },
})
add({
  name = "tabu over no rows without breaks: one row", table = "tabu.item",
  ops = [[<sel value="0"/><tabu><tcol fun="cnt"/><tcol source="sales" fun="sum"/>
<tcol source="sales" fun="avg"/><tcol source="sales" fun="first"/></tabu>]],
  cols = { "t0", "t1", "t2", "t3" }, rows = { { 0, 0.0, "NA", "NA" } },
})
add({
  name = "tabu over no rows with breaks: no row", table = "tabu.item",
  ops = [[<sel value="0"/><tabu breaks="store"><tcol fun="cnt"/></tabu>]],
  cols = { "store", "t0" }, rows = {},
})
add({
  name = "tcol source using a g_ function", table = "tabu.item",
  ops = [[<tabu breaks="store"><tcol source="g_cnt(sku;)" fun="max" name="m"/></tabu>]],
  cols = { "store", "m" }, types = { "i", "i" }, rows = { { 1, 4 }, { 2, 4 }, { 3, 4 } },
})
add({
  name = "tcol source using i_ after a sel", table = "tabu.item",
  ops = [[<sel value="store=3"/><tabu><tcol source="i_" fun="sum"/><tcol source="i_" fun="last"/></tabu>]],
  cols = { "t0", "t1" }, types = { "f", "i" }, rows = { { 10.0, 4 } },
})

---------------------------------------------------------------------------------------
-- each summary function with N/A inputs (tabu.na: x per group a = 3 NA 7, b = NA NA,
-- c = 5 5, N/A = 1 NA)

per_group("cnt counts rows, N/A or not", [[<tcol source="x" fun="cnt"/>]], "i", { 3, 2, 2, 2 })
per_group("E7 tabu sum ignores N/A, all-N/A group is 0", [[<tcol source="x" fun="sum"/>]], "f",
  { 10.0, 0.0, 10.0, 1.0 })
per_group("avg ignores N/A, all-N/A group is N/A", [[<tcol source="x" fun="avg"/>]], "f",
  { 5.0, "NA", 5.0, 1.0 })
per_group("min ignores N/A", [[<tcol source="x" fun="min"/>]], "i", { 3, "NA", 5, 1 })
per_group("max ignores N/A", [[<tcol source="x" fun="max"/>]], "i", { 7, "NA", 5, 1 })
per_group("ucnt does not count N/A", [[<tcol source="x" fun="ucnt"/>]], "i", { 2, 0, 1, 1 })
per_group("first is the first non-N/A value", [[<tcol source="x" fun="first"/>]], "i",
  { 3, "NA", 5, 1 })
per_group("last is the last non-N/A value", [[<tcol source="x" fun="last"/>]], "i",
  { 7, "NA", 5, 1 })
per_group("first of decimals skips a leading N/A", [[<tcol source="f" fun="first"/>]], "f",
  { 1.5, "NA", 3.0, 4.0 })
per_group("last of decimals", [[<tcol source="f" fun="last"/>]], "f", { -1.0, "NA", 3.0, 0.5 })
per_group("sum of decimals", [[<tcol source="f" fun="sum"/>]], "f", { 3.0, 0.0, 3.0, 4.5 })
per_group("avg of decimals", [[<tcol source="f" fun="avg"/>]], "f", { 1.0, "NA", 3.0, 2.25 })
per_group("wavg skips rows with N/A value or weight", [[<tcol source="f" fun="wavg" weight="w"/>]],
  "f", { 0.25, "NA", 3.0, 4.0 })
per_group("wavg with weights adding up to 0 is N/A",
  [[<tcol source="f" fun="wavg" weight="w*0"/>]], "f", { "NA", "NA", "NA", "NA" })
per_group("min of text", [[<tcol source="s" fun="min"/>]], "a", { "p", "NA", "r", "s" })
per_group("max of text", [[<tcol source="s" fun="max"/>]], "a", { "q", "NA", "r", "s" })
per_group("first of text", [[<tcol source="s" fun="first"/>]], "a", { "p", "NA", "r", "s" })
per_group("last of text", [[<tcol source="s" fun="last"/>]], "a", { "q", "NA", "r", "s" })
per_group("ucnt of text", [[<tcol source="s" fun="ucnt"/>]], "i", { 2, 0, 1, 1 })
add({
  name = "every function over an all-N/A group without breaks", table = "tabu.na",
  ops = [[<sel value="g='b'"/><tabu><tcol source="x" fun="sum"/><tcol source="x" fun="avg"/>
<tcol source="x" fun="min"/><tcol source="x" fun="max"/><tcol source="x" fun="ucnt"/>
<tcol source="x" fun="first"/><tcol source="x" fun="last"/><tcol source="f" fun="wavg" weight="w"/>
<tcol source="x" fun="cnt"/></tabu>]],
  cols = { "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8" },
  types = { "f", "f", "i", "i", "i", "i", "i", "f", "i" },
  rows = { { 0.0, "NA", "NA", "NA", 0, "NA", "NA", "NA", 2 } },
})
add({
  name = "N/A break value is a group; sort up puts it first", table = "tabu.na",
  ops = [[<tabu breaks="g"><break col="g" sort="up"/><tcol fun="cnt"/></tabu>]],
  cols = { "g", "t0" }, rows = { { "NA", 2 }, { "a", 3 }, { "b", 2 }, { "c", 2 } },
})
add({
  name = "break sort down puts N/A last", table = "tabu.na",
  ops = [[<tabu breaks="g"><break col="g" sort="down"/><tcol fun="cnt"/></tabu>]],
  cols = { "g", "t0" }, rows = { { "c", 2 }, { "b", 2 }, { "a", 3 }, { "NA", 2 } },
})
add({
  name = "break naorder=last", table = "tabu.na",
  ops = [[<tabu breaks="g"><break col="g" sort="up" naorder="last"/><tcol fun="cnt"/></tabu>]],
  cols = { "g", "t0" }, rows = { { "a", 3 }, { "b", 2 }, { "c", 2 }, { "NA", 2 } },
})
add({
  name = "first and last with breaks, beside other functions", table = "tabu.na",
  ops = [[<tabu breaks="g"><tcol source="x" fun="first"/><tcol fun="cnt"/><tcol source="s" fun="last"/>
<tcol source="x" fun="sum"/></tabu>]],
  cols = { "g", "t0", "t1", "t2", "t3" }, types = { "a", "i", "i", "a", "f" },
  rows = { { "a", 3, 3, "q", 10.0 }, { "b", "NA", 2, "NA", 0.0 }, { "c", 5, 2, "r", 10.0 },
           { "NA", 1, 2, "s", 1.0 } },
})
add({
  name = "first and last follow the current row order", table = "tabu.na",
  ops = [[<sort col="x" dir="down"/><tabu breaks="g"><tcol source="x" fun="first"/>
<tcol source="x" fun="last"/></tabu>]],
  cols = { "g", "t0", "t1" }, rows = { { "a", 7, 3 }, { "c", 5, 5 }, { "NA", 1, 1 }, { "b", "NA", "NA" } },
})
add({
  name = "first with a sorted break", table = "tabu.na",
  ops = [[<tabu breaks="g"><break col="g" sort="down"/><tcol source="f" fun="first"/></tabu>]],
  cols = { "g", "t0" }, rows = { { "c", 3.0 }, { "b", "NA" }, { "a", 1.5 }, { "NA", 4.0 } },
})
add({
  name = "first and last without breaks", table = "tabu.na",
  ops = [[<tabu><tcol source="x" fun="first"/><tcol source="f" fun="last"/><tcol fun="cnt"/></tabu>]],
  cols = { "t0", "t1", "t2" }, rows = { { 3, 3.0, 9 } },
})
add({
  name = "sum of integers is decimal", table = "tabu.na",
  ops = [[<tabu><tcol source="x" fun="sum"/></tabu>]],
  cols = { "t0" }, types = { "f" }, rows = { { 21.0 } },
})
add({
  name = "fun names are case-insensitive", table = "tabu.na",
  ops = [[<tabu><tcol source="x" fun="SUM"/><tcol fun="Cnt"/></tabu>]],
  cols = { "t0", "t1" }, rows = { { 21.0, 9 } },
})

---------------------------------------------------------------------------------------
-- inline data: <table>

add({
  name = "table: types inferred (i, f, a, j)", table = "tabu.item",
  ops = [[<table cols="a,b,c,d">1,1.5,x,3000000000;2,2,y,1</table>]],
  cols = { "a", "b", "c", "d" }, types = { "i", "f", "a", "j" },
  rows = { { 1, 1.5, "x", 3000000000 }, { 2, 2.0, "y", 1 } },
})
add({
  name = "table: explicit types", table = "tabu.item",
  ops = [[<table cols="a:f, b:a ,c:j">1,2,3</table>]],
  cols = { "a", "b", "c" }, types = { "f", "a", "j" }, rows = { { 1.0, "2", 3 } },
})
add({
  name = "table: quoted values keep commas, semicolons, blanks and quotes", table = "tabu.item",
  ops = [[<table cols="s,n">'a,b',1;'it''s; fine',2; ' padded ' ,3</table>]],
  cols = { "s", "n" }, types = { "a", "i" },
  rows = { { "a,b", 1 }, { "it's; fine", 2 }, { " padded ", 3 } },
})
add({
  name = "table: empty values and '' are N/A", table = "tabu.item",
  ops = [[<table cols="s,n">,1;'',;x,3;,</table>]],
  cols = { "s", "n" }, types = { "a", "i" },
  rows = { { "NA", 1 }, { "NA", "NA" }, { "x", 3 }, { "NA", "NA" } },
})
add({
  name = "table: a quoted number makes a text column", table = "tabu.item",
  ops = [[<table cols="s">'1';2</table>]],
  cols = { "s" }, types = { "a" }, rows = one({ "1", "2" }),
})
add({
  name = "table: blank rows, line breaks and a trailing ; are skipped", table = "tabu.item",
  ops = "<table cols=\"n,s\">\n  1, a;\n\n  2, b c ;\n</table>",
  cols = { "n", "s" }, rows = { { 1, "a" }, { 2, "b c" } },
})
add({
  name = "table: one-column N/A row written ''", table = "tabu.item",
  ops = [[<table cols="n">1;'';3</table>]],
  cols = { "n" }, types = { "i" }, rows = one({ 1, "NA", 3 }),
})
add({
  name = "table: m/d/y values are YYYYMMDD integers", table = "tabu.item",
  ops = [[<table cols="d,e:i">1/15/2014,3/1/14;12/31/99,20000101</table>]],
  cols = { "d", "e" }, types = { "i", "i" }, rows = { { 20140115, 20140301 }, { 19991231, 20000101 } },
})
add({
  name = "table: negative and exponent numbers", table = "tabu.item",
  ops = [[<table cols="a,b">-3,-1.5e2;+4,.25</table>]],
  cols = { "a", "b" }, types = { "i", "f" }, rows = { { -3, -150.0 }, { 4, 0.25 } },
})
add({
  name = "table: only N/A values make a text column", table = "tabu.item",
  ops = [[<table cols="a,b">,1</table>]],
  cols = { "a", "b" }, types = { "a", "i" }, rows = { { "NA", 1 } },
})
add({
  name = "table: no rows", table = "tabu.item",
  ops = [[<table cols="a:i,b:a"></table>]],
  cols = { "a", "b" }, types = { "i", "a" }, rows = {},
})
add({
  name = "table: no rows, then a summary", table = "tabu.item",
  ops = [[<table cols="a:i"> </table><tabu><tcol fun="cnt"/><tcol source="a" fun="sum"/></tabu>]],
  cols = { "t0", "t1" }, rows = { { 0, 0.0 } },
})
add({
  name = "table: ops after it work on it", table = "tabu.item",
  ops = [[<table cols="name,v" title="t">John,8;John,2;Mary,3;Ann,</table>
<sel value="v>2"/><tabu breaks="name"><tcol source="v" fun="sum"/></tabu>]],
  cols = { "name", "t0" }, rows = { { "John", 8.0 }, { "Mary", 3.0 } },
})
add({
  name = "table: starts the worksheet over", table = "tabu.item",
  ops = [[<sel value="store=1"/><willbe name="z" value="1"/><table cols="a">7</table>]],
  cols = { "a" }, rows = one({ 7 }),
})
add({
  name = "table: CDATA text", table = "tabu.item",
  ops = [==[<table cols="s,n"><![CDATA['<b>',1]]></table>]==],
  cols = { "s", "n" }, rows = { { "<b>", 1 } },
})

---------------------------------------------------------------------------------------
-- errors

fails("tabu: unknown summary function", "tabu.item",
  [[<tabu breaks="store"><tcol source="sales" fun="total"/></tabu>]],
  9, [[op 1.1 <tcol fun>: unknown summary function in "total"]])
fails("tabu: a 1010data summary function not supported", "tabu.item",
  [[<tabu breaks="store"><tcol fun="cnt"/><tcol source="sales" fun="PGcnt"/></tabu>]],
  9, [[op 1.2 <tcol fun>: summary function not supported in "PGcnt"]])
fails("tabu: sum needs a source", "tabu.item",
  [[<tabu breaks="store"><tcol fun="sum"/></tabu>]],
  10, [[op 1.1 <tcol>: missing required attribute 'source' (fun="sum")]])
fails("tabu: sum of text", "tabu.na", [[<tabu><tcol source="s" fun="sum"/></tabu>]],
  9, [[op 1.1 <tcol source>: type error: 'sum' needs a number, got text in "s"]])
fails("tabu: unknown column in a tcol source, with position", "tabu.item",
  [[<sel value="1"/><tabu breaks="store"><tcol fun="cnt"/><tcol source="sales+nosuch" fun="sum"/></tabu>]],
  9, [[op 2.2 <tcol source>: unknown column 'nosuch' at 7 in "sales+nosuch"]])
fails("tabu: unknown break column", "tabu.item",
  [[<tabu breaks="store, nosuch"><tcol fun="cnt"/></tabu>]],
  9, [[op 1 <tabu breaks>: unknown column 'nosuch' at 8 in "store, nosuch"]])
fails("tabu: a break named twice", "tabu.item",
  [[<tabu breaks="store,Store"><tcol fun="cnt"/></tabu>]],
  9, "op 1 <tabu breaks>: column 'store' named twice at 7")
fails("tabu: unknown <break> column", "tabu.item",
  [[<tabu breaks="store"><break col="shop" sort="up"/></tabu>]],
  9, [[op 1.1 <break col>: unknown column in "shop"]])
fails("tabu: bad break sort", "tabu.item",
  [[<tabu breaks="store"><break col="store" sort="sideways"/></tabu>]],
  9, [[op 1.1 <break sort>: expected up or down or none in "sideways"]])
fails("tabu: weight on a function without one", "tabu.item",
  [[<tabu><tcol source="sales" fun="sum" weight="cost"/></tabu>]],
  10, "op 1.1 <tcol weight>: only wavg takes a weight, not sum")
fails("tabu: wavg without a weight", "tabu.item",
  [[<tabu><tcol source="sales" fun="wavg"/></tabu>]],
  10, "op 1.1 <tcol>: missing required attribute 'weight'")
fails("tabu: tcol name clashing with a break", "tabu.item",
  [[<tabu breaks="store"><tcol fun="cnt" name="Store"/></tabu>]],
  9, [[op 1.1 <tcol name>: column 'Store' already exists in "Store"]])
fails("tabu: default name clashing with a named tcol", "tabu.item",
  [[<tabu><tcol fun="cnt" name="t1"/><tcol fun="cnt"/></tabu>]],
  9, "op 1.2 <tcol>: column 't1' already exists (give the tcol a name)")
fails("tabu: bad tcol name", "tabu.item",
  [[<tabu><tcol fun="cnt" name="a b"/></tabu>]],
  9, "op 1.1 <tcol name>: invalid column name")
fails("tabu: cross-tab cbreaks not supported", "tabu.item",
  [[<tabu breaks="store" cbreaks="sku"><tcol fun="cnt"/></tabu>]],
  10, "op 1 <tabu cbreaks>: not supported")
fails("tabu: unknown element inside", "tabu.item",
  [[<tabu breaks="store"><sel value="1"/></tabu>]],
  10, "op 1.1 <sel>: not allowed inside <tabu> (only <tcol> and <break>)")
fails("tabu: nothing to tabulate", "tabu.item", [[<tabu/>]],
  10, "op 1 <tabu>: nothing to tabulate")
fails("tcol outside a tabu", "tabu.item", [[<tcol fun="cnt"/>]],
  10, "op 1 <tcol>: only allowed inside <tabu>")
fails("break outside a tabu", "tabu.item", [[<note/><break col="store"/>]],
  10, "op 2 <break>: only allowed inside <tabu>")
fails("table: rows of the wrong width", "tabu.item", [[<table cols="a,b">1,2;3</table>]],
  9, "op 1 <table>: row 2 has 1 value for 2 columns at 5")
fails("table: a value that is not of the column's type", "tabu.item",
  [[<table cols="a:i,b">1,x;2x,y</table>]],
  9, "op 1 <table>: value '2x' of column a (integer) is not an integer at 5")
fails("table: an integer beyond 32 bits in an i column", "tabu.item",
  [[<table cols="a:i">3000000000</table>]],
  9, "value '3000000000' of column a (integer) is out of range at 1")
fails("table: unknown type letter", "tabu.item", [[<table cols="a:z">1</table>]],
  9, [[op 1 <table cols>: unknown type 'z' at 1 (i, j, f or a) in "a:z"]])
fails("table: duplicate column names", "tabu.item", [[<table cols="a,A">1,2</table>]],
  9, "op 1 <table cols>: column 'A' already exists at 3")
fails("table: bad column name", "tabu.item", [[<table cols="a,2b">1,2</table>]],
  9, "op 1 <table cols>: invalid column name")
fails("table: missing cols", "tabu.item", [[<table>1</table>]],
  10, "op 1 <table>: missing required attribute 'cols'")
fails("table: unterminated quote", "tabu.item", [[<table cols="a">1;'x</table>]],
  9, "op 1 <table>: unterminated quoted value at 3")
fails("table: text after a quoted value", "tabu.item", [[<table cols="a">'x'y</table>]],
  9, "op 1 <table>: expected , or ; after a quoted value at 4")
fails("table: a quote inside an unquoted value", "tabu.item", [[<table cols="a">it's</table>]],
  9, "op 1 <table>: a quote inside an unquoted value (quote the whole value) at 3")
fails("table: an element inside", "tabu.item", [[<table cols="a"><b/></table>]],
  10, "op 1.1 <b>: not allowed inside <table>")

return { tables = tables, cases = cases }
