-- Data-driven cases for the Macro Language, first subset (<base> <sel> <willbe> <colord>
-- <sort> <note>). Run by tests/spec/macro_compile_spec.lua (SQLite CLI, no gateway) and
-- by the gateway suite over HTTP. The second subset is in cases_tabu.lua, cases_link.lua
-- and cases_gfunc.lua (same shape).
--
-- tables[name] = { cols = { "name:type", ... }, rows = { { v, ... }, ... } }; "NA" is N/A.
-- cases[i]     = { name, table, ops, cols, types (optional), rows }  or
--                { name, table, ops, error = { code, match } } where match is a plain
--                substring of the error message.
-- Every expected row was worked out by hand from the table rows below.

local tables = {
  ["test.item"] = {
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
  ["test.na"] = {
    cols = { "x:i", "y:i", "f:f", "s:a", "t:a", "d:i" },
    rows = {
      { 1, 2, 1.5, "apple", "app", 20140315 },
      { 2, 1, "NA", "Banana", "an", 19991231 },
      { "NA", 1, 0.0, "NA", "x", "NA" },
      { 1, "NA", -2.5, "cherry", "NA", 20000101 },
      { "NA", "NA", 4.0, "date", "date", 20141105 },
      { 0, 0, 2.0, "apple pie", "pie", "NA" },
    },
  },
  ["test.text"] = {
    cols = { "name:a", "n:i" },
    rows = {
      { "it's", 1 },
      { "50% off", 2 },
      { "a_b", 3 },
      { "abc", 4 },
      { "ABC", 5 },
      { "NA", 6 },
    },
  },
}

local cases = {}

local function add(c)
  cases[#cases + 1] = c
end

-- one-column rows from a list of values
local function one(values)
  local rows = {}
  for i, v in ipairs(values) do
    rows[i] = { v }
  end
  return rows
end

-- a computed column r over every row of test.na (expression XML-escaped for &)
local function na_case(name, value, typ, values)
  add({
    name = name, table = "test.na",
    ops = '<willbe name="r" value="' .. value:gsub("&", "&amp;") .. '"/><colord cols="r"/>',
    cols = { "r" }, types = { typ }, rows = one(values),
  })
end

local function fails(name, tbl, ops, code, match)
  add({ name = name, table = tbl, ops = ops, error = { code = code, match = match } })
end

---------------------------------------------------------------------------------------
-- worked examples of the reference (E1, E5, E6, E7)

add({
  name = "E1 filters and column choice", table = "test.item",
  ops = [[<base table="test.item"/>
<sel value="store=1 3"/>
<sel value="(sales>10)&amp;(cost<>0)"/>
<colord cols="date,transid,sales"/>]],
  -- row 103 has N/A cost: cost<>0 is 1 (negation of N/A=0), so it stays
  cols = { "date", "transid", "sales" }, types = { "i", "i", "f" },
  rows = { { 20131230, 101, 12.5 }, { 20140105, 103, 25.0 }, { 20140315, 105, 14.0 },
           { 20140620, 107, 30.0 }, { 20140920, 112, 18.0 } },
})
add({
  name = "E5 overall top-N after a descending sort", table = "test.item",
  ops = [[<sort col="sales" dir="down"/><sel value="i_<=4"/><colord cols="transid,sales"/>]],
  cols = { "transid", "sales" }, types = { "i", "f" },
  rows = { { 107, 30.0 }, { 103, 25.0 }, { 111, 18.0 }, { 112, 18.0 } },
})
add({
  name = "E6 dates: between, year, month", table = "test.item",
  ops = [[<sel value="between(date;20140101;20141231)"/>
<willbe name="yr" value="year(date)" format="type:nocommas"/>
<willbe name="mo" value="month(date)"/>
<colord cols="transid,yr,mo"/>]],
  cols = { "transid", "yr", "mo" }, types = { "i", "i", "i" },
  rows = { { 102, 2014, 1 }, { 103, 2014, 1 }, { 104, 2014, 2 }, { 105, 2014, 3 },
           { 106, 2014, 4 }, { 107, 2014, 6 }, { 108, 2014, 12 }, { 110, 2014, 7 },
           { 111, 2014, 8 }, { 112, 2014, 9 } },
})
add({
  name = "E6 quoted dates beside an integer column", table = "test.item",
  ops = [[<sel value="between(date;'1/1/2014';'12/31/2014')"/><colord cols="transid"/>]],
  cols = { "transid" },
  rows = one({ 102, 103, 104, 105, 106, 107, 108, 110, 111, 112 }),
})
add({
  name = "E6 unquoted m/d/yy date literals", table = "test.item",
  ops = [[<sel value="date<1/5/14 | date>12/31/14"/><colord cols="transid"/>]],
  cols = { "transid" }, rows = one({ 101, 109 }),
})
add({
  name = "E7 x<10 with x N/A is 1", table = "test.item",
  ops = [[<sel value="sales<10"/><colord cols="transid"/>]],
  cols = { "transid" }, rows = one({ 102, 104, 106, 109, 110 }),
})
add({
  name = "E7 x>10 with x N/A is 0", table = "test.item",
  ops = [[<sel value="sales>10"/><colord cols="transid"/>]],
  cols = { "transid" }, rows = one({ 101, 103, 105, 107, 108, 111, 112 }),
})
add({
  name = "E7 (x>0)&(y>0) with an N/A drops the row", table = "test.na",
  ops = [[<sel value="(x>0)&amp;(y>0)"/><colord cols="x"/>]],
  cols = { "x" }, rows = one({ 1, 2 }),
})
na_case("E7 x=y with both N/A is 1", "x=y", "i", { 0, 0, 0, 0, 1, 1 })

---------------------------------------------------------------------------------------
-- operators and their N/A rules (test.na: x = 1 2 NA 1 NA 0, y = 2 1 1 NA NA 0)

na_case("<> is the negation of =", "x<>y", "i", { 1, 1, 1, 1, 0, 0 })
na_case("< : X N/A -> 1, else Y N/A -> 0", "x<y", "i", { 1, 0, 1, 0, 1, 0 })
na_case("> : X>Y = Y<X", "x>y", "i", { 0, 1, 0, 1, 1, 0 })
na_case("<= : X<=Y = ~(Y<X)", "x<=y", "i", { 1, 0, 1, 0, 0, 1 })
na_case(">= : X>=Y = ~(X<Y)", "x>=y", "i", { 0, 1, 0, 1, 0, 1 })
na_case("< against a constant", "x<2", "i", { 1, 0, 1, 1, 1, 1 })
na_case("& : N/A in either operand is N/A", "x&y", "i", { 1, 1, "NA", "NA", "NA", 0 })
na_case("| : N/A in either operand is N/A", "x|0", "i", { 1, 1, "NA", 1, "NA", 0 })
na_case("| of comparisons", "(x=1)|(y=1)", "i", { 1, 1, 1, 1, 0, 0 })
na_case("~ : N/A is N/A", "~x", "i", { 0, 0, "NA", 0, "NA", 1 })
na_case("+ propagates N/A", "x+y", "i", { 3, 3, "NA", "NA", "NA", 0 })
na_case("- propagates N/A", "x-y", "i", { -1, 1, "NA", "NA", "NA", 0 })
na_case("integer times decimal is decimal", "x*f", "f", { 1.5, "NA", "NA", -2.5, "NA", 0.0 })
na_case("/ is decimal and x/0 is N/A", "x/y", "f", { 0.5, 2.0, "NA", "NA", "NA", "NA" })
na_case("unary minus", "-x", "i", { -1, -2, "NA", -1, "NA", 0 })
na_case("* before + before =", "x+y*2=5", "i", { 1, 0, 0, 0, 0, 0 })
na_case("/ and - are left-associative", "12/4/3 + 10-4-3", "f", { 4.0, 4.0, 4.0, 4.0, 4.0, 4.0 })
na_case("unary minus binds tighter than *", "-2*3+x", "i", { -5, -4, "NA", -5, "NA", -6 })
na_case("~ has the lowest precedence", "~x=1&y=2", "i", { 0, 1, 1, 1, 1, 1 })
na_case("a ~ after & runs to the end", "x=1&~y=2", "i", { 0, 0, 0, 1, 0, 0 })
na_case("~ applies to a whole | chain", "~x=1|x=2", "i", { 0, 0, 1, 0, 1, 1 })
na_case("comparisons chain left to right", "x<y=0", "i", { 0, 1, 0, 1, 0, 1 })
na_case("+ - chain", "x+y-1+2", "i", { 4, 4, "NA", "NA", "NA", 1 })
na_case("* / chain", "x/y*2/4", "f", { 0.25, 1.0, "NA", "NA", "NA", "NA" })
na_case("product then division is decimal", "x*3/2", "f", { 1.5, 3.0, "NA", 1.5, "NA", 0.0 })
na_case("parenthesised right operand", "x-(y-1)", "i", { 0, 2, "NA", "NA", "NA", 1 })
na_case("& chain with N/A", "x&y&1", "i", { 1, 1, "NA", "NA", "NA", 0 })
na_case("| chain with N/A", "x|y|0", "i", { 1, 1, "NA", "NA", "NA", 0 })
na_case("& before | left to right", "x>0&y>0|x=0", "i", { 1, 1, 0, 0, 0, 1 })
na_case("| before & left to right (one level)", "x=0|x>0&y>0", "i", { 1, 1, 0, 0, 0, 0 })
na_case("list after =", "x=1 2", "i", { 1, 1, 0, 1, 0, 0 })
na_case("list after <>", "x<>1 2", "i", { 0, 0, 1, 0, 1, 1 })
na_case("list holding N/A", "x=0 ''", "i", { 0, 0, 1, 0, 1, 1 })
na_case("text list", "s='apple' 'date'", "i", { 1, 0, 0, 0, 1, 0 })
na_case("text order is binary", "s<'b'", "i", { 1, 1, 1, 0, 0, 1 })
na_case("text = with N/A", "s=t", "i", { 0, 0, 0, 0, 1, 0 })
na_case("'' is N/A", "s=''", "i", { 0, 0, 1, 0, 0, 0 })
na_case("<> '' is not N/A", "t<>''", "i", { 1, 1, 1, 0, 1, 1 })
na_case("decimal literal", "f=1.5", "i", { 1, 0, 0, 0, 0, 0 })
na_case("decimal column equals integer literal", "f=0", "i", { 0, 0, 1, 0, 0, 0 })
na_case("digit grouping with commas", "12,345+1", "i", { 12346, 12346, 12346, 12346, 12346, 12346 })
na_case("grouped decimal literal", "1,234.5*2", "f", { 2469.0, 2469.0, 2469.0, 2469.0, 2469.0, 2469.0 })
na_case("a literal beyond 32 bits makes j", "x+5000000000", "j",
  { 5000000001, 5000000002, "NA", 5000000001, "NA", 5000000000 })
na_case("power", "x^2", "f", { 1.0, 4.0, "NA", 1.0, "NA", 0.0 })
na_case("unary minus binds tighter than ^", "-2^2", "f", { 4.0, 4.0, 4.0, 4.0, 4.0, 4.0 })
na_case("^ before *", "2*3^2", "f", { 18.0, 18.0, 18.0, 18.0, 18.0, 18.0 })

---------------------------------------------------------------------------------------
-- scalar functions (test.na: s = apple Banana NA cherry date "apple pie",
-- t = app an x NA date pie, f = 1.5 NA 0 -2.5 4 2, d = 20140315 19991231 NA 20000101 20141105 NA)

na_case("contains", "contains(s;t)", "i", { 1, 1, 0, 0, 1, 1 })
na_case("contains a list", "contains(s;'an' 'pp')", "i", { 1, 1, 0, 0, 0, 1 })
na_case("contains is case-sensitive", "contains(s;'B')", "i", { 0, 1, 0, 0, 0, 0 })
na_case("beginswith", "beginswith(s;'app')", "i", { 1, 0, 0, 0, 0, 1 })
na_case("beginswith a column", "beginswith(s;t)", "i", { 1, 0, 0, 0, 1, 0 })
na_case("endswith a column", "endswith(s;t)", "i", { 0, 0, 0, 0, 1, 1 })
na_case("endswith a list", "endswith(s;'e' 'a')", "i", { 1, 1, 0, 0, 1, 1 })
na_case("endswith a longer text", "endswith(t;'app' 'xpie')", "i", { 1, 0, 0, 0, 0, 0 })
na_case("abs of decimals", "abs(f)", "f", { 1.5, "NA", 0.0, 2.5, 4.0, 2.0 })
na_case("abs of integers", "abs(x-y)", "i", { 1, 1, "NA", "NA", "NA", 0 })
na_case("min element-wise", "min(x;y)", "i", { 1, 1, "NA", "NA", "NA", 0 })
na_case("max element-wise", "max(x;y)", "i", { 2, 2, "NA", "NA", "NA", 0 })
na_case("max of integer and decimal", "max(x;f)", "f", { 1.5, "NA", "NA", 1, "NA", 2.0 })
na_case("min of texts", "min(s;t)", "a", { "app", "Banana", "NA", "NA", "date", "apple pie" })
na_case("if with text branches", "if(x>1;'big';'small')", "a",
  { "small", "big", "small", "small", "small", "small" })
na_case("if: condition not 1 (or N/A) takes the else branch", "if(x;10;20)", "i",
  { 10, 20, 20, 10, 20, 20 })
na_case("if on an N/A & result", "if(x&y;1;0)", "i", { 1, 1, 0, 0, 0, 0 })
na_case("if: quoted date beside an integer column", "if(x<>2;d;'1/1/2000')", "i",
  { 20140315, 20000101, "NA", 20000101, 20141105, "NA" })
na_case("if in the else branch", "if(x<1;'low';if(x<2;'mid';'high'))", "a",
  { "mid", "high", "low", "mid", "low", "low" })
na_case("between is inclusive, N/A value gives 0", "between(x;1;2)", "i", { 1, 1, 0, 1, 0, 0 })
na_case("between with an N/A bound gives 0", "between(x;y;2)", "i", { 0, 1, 0, 0, 0, 1 })
na_case("int of an integer", "int(x)", "i", { 1, 2, "NA", 1, "NA", 0 })
na_case("int of decimals is floor", "int(f)", "i", { 1, "NA", 0, -3, 4, 2 })
na_case("mod of integers", "mod(x;2)", "i", { 1, 0, "NA", 1, "NA", 0 })
na_case("mod is floor-mod", "mod(f;2)", "f", { 1.5, "NA", 0.0, 1.5, 0.0, 0.0 })
na_case("mod by zero is N/A", "mod(x;y)", "i", { 1, 0, "NA", "NA", "NA", "NA" })
na_case("lowercase", "lowercase(s)", "a", { "apple", "banana", "NA", "cherry", "date", "apple pie" })
na_case("year", "year(d)", "i", { 2014, 1999, "NA", 2000, 2014, "NA" })
na_case("month", "month(d)", "i", { 3, 12, "NA", 1, 11, "NA" })
na_case("year of a quoted date", "year('3/15/2014')", "i", { 2014, 2014, 2014, 2014, 2014, 2014 })
na_case("date literal", "d=3/15/14", "i", { 1, 0, 0, 0, 0, 0 })
na_case("date literal with N/A", "d<1/1/2000", "i", { 0, 1, 1, 0, 0, 1 })
na_case("two-digit year 99 is 1999", "d=12/31/99", "i", { 0, 1, 0, 0, 0, 0 })
na_case("two-digit year 00 is 2000", "d=1/1/00", "i", { 0, 0, 0, 1, 0, 0 })
na_case("quoted date compared with an integer column", "d='3/15/2014'", "i", { 1, 0, 0, 0, 0, 0 })
na_case("quoted date in between", "between(d;'1/1/2014';'12/31/2014')", "i", { 1, 0, 0, 0, 1, 0 })
na_case("quoted date beside a text column stays text", "s='1/1/2014'", "i", { 0, 0, 0, 0, 0, 0 })
add({
  name = "two-digit year pivot 49/50", table = "test.na",
  ops = [[<sel value="i_=1"/><willbe name="a" value="3/15/49"/><willbe name="b" value="3/15/50"/>
<colord cols="a,b"/>]],
  cols = { "a", "b" }, types = { "i", "i" }, rows = { { 20490315, 19500315 } },
})
add({
  name = "time literals", table = "test.na",
  ops = [[<sel value="i_=1"/><willbe name="a" value="13:45"/><willbe name="b" value="9:05:07"/>
<colord cols="a,b"/>]],
  cols = { "a", "b" }, types = { "i", "i" }, rows = { { 134500, 90507 } },
})

---------------------------------------------------------------------------------------
-- row variables, sorting

add({
  name = "i_ and n_ after sort and sel", table = "test.item",
  ops = [[<sort col="sales" dir="down"/><sel value="store=1"/>
<willbe name="rank" value="i_"/><willbe name="cnt" value="n_()"/>
<colord cols="transid,rank,cnt"/>]],
  cols = { "transid", "rank", "cnt" }, types = { "i", "i", "i" },
  rows = { { 107, 1, 5 }, { 112, 2, 5 }, { 101, 3, 5 }, { 104, 4, 5 }, { 109, 5, 5 } },
})
add({
  name = "i_() in a sel after a sel", table = "test.item",
  ops = [[<sel value="store=3"/><sel value="i_()=2"/><colord cols="transid"/>]],
  cols = { "transid" }, rows = one({ 105 }),
})
add({
  name = "i_ and n_ on the base table", table = "test.item",
  ops = [[<sel value="i_>n_-2"/><colord cols="transid"/>]],
  cols = { "transid" }, rows = one({ 111, 112 }),
})
na_case("n_ counts the rows", "n_", "i", { 6, 6, 6, 6, 6, 6 })
add({
  name = "sort by i_ after a sel reverses it", table = "test.na",
  ops = [[<sel value="x>0"/><sort col="i_" dir="down"/><colord cols="s"/>]],
  cols = { "s" }, rows = one({ "cherry", "Banana", "apple" }),
})
add({
  name = "sort cols with backtick for descending", table = "test.item",
  ops = [[<sort cols="store,`sales"/><colord cols="transid"/>]],
  cols = { "transid" },
  rows = one({ 107, 112, 101, 104, 109, 111, 102, 106, 103, 105, 108, 110 }),
})
add({
  name = "sort is stable: ties keep the previous order", table = "test.item",
  ops = [[<sort col="sales" dir="down"/><sort col="store"/><colord cols="transid"/>]],
  cols = { "transid" },
  rows = one({ 107, 112, 101, 104, 109, 111, 102, 106, 103, 105, 108, 110 }),
})
add({
  name = "sort up puts N/A first", table = "test.item",
  ops = [[<sort col="sales"/><colord cols="transid"/>]],
  cols = { "transid" },
  rows = one({ 106, 110, 109, 102, 104, 108, 101, 105, 111, 112, 103, 107 }),
})
add({
  name = "sort up naorder=last", table = "test.item",
  ops = [[<sort col="sales" dir="up" naorder="last"/><colord cols="transid"/>]],
  cols = { "transid" },
  rows = one({ 109, 102, 104, 108, 101, 105, 111, 112, 103, 107, 106, 110 }),
})
add({
  name = "sort down puts N/A last", table = "test.item",
  ops = [[<sort col="sales" dir="down"/><colord cols="transid"/>]],
  cols = { "transid" },
  rows = one({ 107, 103, 111, 112, 105, 101, 108, 104, 102, 109, 106, 110 }),
})
add({
  name = "sort down naorder=first", table = "test.item",
  ops = [[<sort col="sales" dir="down" naorder="first"/><colord cols="transid"/>]],
  cols = { "transid" },
  rows = one({ 106, 110, 107, 103, 111, 112, 105, 101, 108, 104, 102, 109 }),
})
add({
  name = "sort by an expression", table = "test.item",
  ops = [[<sort col="sales-cost" dir="down"/><sel value="i_<=5"/><colord cols="transid"/>]],
  cols = { "transid" }, rows = one({ 108, 107, 104, 112, 111 }),
})
add({
  name = "sort text up (binary order, N/A first)", table = "test.text",
  ops = [[<sort col="name"/><colord cols="n"/>]],
  cols = { "n" }, rows = one({ 6, 2, 5, 3, 4, 1 }),
})
add({
  name = "sort text down", table = "test.text",
  ops = [[<sort col="name" dir="down"/><colord cols="n"/>]],
  cols = { "n" }, rows = one({ 1, 4, 3, 5, 2, 6 }),
})
add({
  name = "sort text down naorder=first", table = "test.text",
  ops = [[<sort col="name" dir="down" naorder="first"/><colord cols="n"/>]],
  cols = { "n" }, rows = one({ 6, 1, 4, 3, 5, 2 }),
})
add({
  name = "sort by lowercase(name), stable on ties", table = "test.text",
  ops = [[<sort col="lowercase(name)"/><colord cols="n"/>]],
  cols = { "n" }, rows = one({ 6, 2, 3, 4, 5, 1 }),
})

---------------------------------------------------------------------------------------
-- willbe, colord, base, sel chains

add({
  name = "willbe chaining and sel on a computed column", table = "test.item",
  ops = [[<willbe name="margin" value="sales-cost" label="Margin"/>
<willbe name="m2" value="margin*2"/>
<sel value="m2>15"/>
<colord cols="transid,margin,m2"/>]],
  cols = { "transid", "margin", "m2" }, types = { "i", "f", "f" },
  rows = { { 104, 9.5, 19.0 }, { 107, 10.0, 20.0 }, { 108, 11.0, 22.0 }, { 112, 8.5, 17.0 } },
})
add({
  name = "willbe with N/A input", table = "test.item",
  ops = [[<willbe name="margin" value="sales-cost" format="dec:2"/><sel value="i_<=3"/>
<colord cols="margin"/>]],
  cols = { "margin" }, types = { "f" }, rows = one({ 4.5, 3.0, "NA" }),
})
add({
  name = "willbe combining year and month", table = "test.item",
  ops = [[<willbe name="ym" value="year(date)*100+month(date)"/><sel value="i_<=2"/>
<colord cols="ym"/>]],
  cols = { "ym" }, types = { "i" }, rows = one({ 201312, 201401 }),
})
add({
  name = "sel chain", table = "test.item",
  ops = [[<sel value="store=1"/><sel value="sales>10"/><sel value="cost<9"/>
<colord cols="transid"/>]],
  cols = { "transid" }, rows = one({ 101 }),
})
add({
  name = "sel with an | chain", table = "test.na",
  ops = [[<sel value="x=0|x=2|y=2"/><colord cols="s"/>]],
  cols = { "s" }, rows = one({ "apple", "Banana", "apple pie" }),
})
add({
  name = "sel with | then & (one level, left to right)", table = "test.na",
  ops = [[<sel value="x=0|x>0&amp;y>0"/><colord cols="s"/>]],
  cols = { "s" }, rows = one({ "apple", "Banana" }),
})
add({
  name = "list after <> in a sel", table = "test.item",
  ops = [[<sel value="store<>1 3"/><colord cols="transid"/>]],
  cols = { "transid" }, rows = one({ 102, 106, 111 }),
})
add({
  name = "colord wildcard", table = "test.item",
  ops = [[<sel value="i_<=2"/><colord cols="s*"/>]],
  cols = { "sku", "store", "sales" }, types = { "i", "i", "f" },
  rows = { { 501, 1, 12.5 }, { 502, 2, 8.0 } },
})
add({
  name = "colord hide", table = "test.item",
  ops = [[<sel value="i_<=2"/><colord hide="sku,cost"/>]],
  cols = { "date", "transid", "store", "sales" },
  rows = { { 20131230, 101, 1, 12.5 }, { 20140105, 102, 2, 8.0 } },
})
add({
  name = "colord: order from cols, a column in both lists is hidden", table = "test.item",
  ops = [[<sel value="i_<=2"/><colord cols="sales,transid,cost" hide="cost"/>]],
  cols = { "sales", "transid" }, rows = { { 12.5, 101 }, { 8.0, 102 } },
})
add({
  name = "colord ignores unknown names", table = "test.item",
  ops = [[<sel value="i_=1"/><colord cols="transid, nosuch ,store"/>]],
  cols = { "transid", "store" }, rows = { { 101, 1 } },
})
add({
  name = "colord wildcard in hide", table = "test.item",
  ops = [[<sel value="i_=1"/><colord hide="*s*"/>]],
  cols = { "date" }, rows = { { 20131230 } },
})
add({
  name = "hidden columns stay referenceable", table = "test.item",
  ops = [[<colord cols="transid"/><sel value="sales>20"/><willbe name="m" value="sales-cost"/>]],
  cols = { "transid", "m" }, types = { "i", "f" }, rows = { { 103, "NA" }, { 107, 10.0 } },
})
add({
  name = "willbe may reuse the name of a hard-dropped column", table = "test.item",
  ops = [[<sel value="i_<=2"/><colord cols="transid" hard="1"/><willbe name="sales" value="transid*2"/>]],
  cols = { "transid", "sales" }, types = { "i", "i" }, rows = { { 101, 202 }, { 102, 204 } },
})
add({
  name = "colord without cols shows every column again", table = "test.item",
  ops = [[<sel value="i_<=2"/><colord cols="transid"/><colord hide="date,sku,store,cost"/>]],
  cols = { "transid", "sales" }, rows = { { 101, 12.5 }, { 102, 8.0 } },
})
add({
  name = "base switches the worksheet", table = "test.item",
  ops = [[<base table="test.text"/><sel value="n<=2"/>]],
  cols = { "name", "n" }, types = { "a", "i" }, rows = { { "it's", 1 }, { "50% off", 2 } },
})
add({
  name = "base restarts after earlier ops", table = "test.item",
  ops = [[<sel value="store=1"/><willbe name="z" value="1"/><base table="test.text"/>
<sel value="n=6"/>]],
  cols = { "name", "n" }, rows = { { "NA", 6 } },
})
add({
  name = "no ops returns the table", table = "test.text", ops = "",
  cols = { "name", "n" }, types = { "a", "i" },
  rows = { { "it's", 1 }, { "50% off", 2 }, { "a_b", 3 }, { "abc", 4 }, { "ABC", 5 }, { "NA", 6 } },
})

---------------------------------------------------------------------------------------
-- XML leniency and entities

add({
  name = "raw < and > inside attribute values", table = "test.item",
  ops = [[<sel value="(sales<10)&amp;(cost>4)"/><colord cols="transid"/>]],
  cols = { "transid" }, rows = one({ 102 }),
})
add({
  name = "entities in attribute values", table = "test.item",
  ops = [[<sel value="sales&lt;10 &amp; cost&gt;=4"/><colord cols="transid"/>]],
  cols = { "transid" }, rows = one({ 102, 109 }),
})
add({
  name = "numeric character references", table = "test.item",
  ops = [[<sel value="store=&#49; &#x33;"/><colord cols="transid"/>]],
  cols = { "transid" }, rows = one({ 101, 103, 104, 105, 107, 108, 109, 110, 112 }),
})
add({
  name = "comments and note are skipped", table = "test.item",
  ops = [[<!-- first -->
<note>anything <b>bold</b> here</note>
  <sel value="store=2"/>   <!-- last -->
<colord cols="transid"/>]],
  cols = { "transid" }, rows = one({ 102, 106, 111 }),
})
add({
  name = "single-quoted attribute values", table = "test.item",
  ops = [[<sel value='store=2 &amp; sales>10'/><colord cols="transid"/>]],
  cols = { "transid" }, rows = one({ 111 }),
})
add({
  name = "a raw & in an attribute value is tolerated", table = "test.item",
  ops = [[<sel value="store=2&sales>10"/><colord cols="transid"/>]],
  cols = { "transid" }, rows = one({ 111 }),
})
add({
  name = "text literal with a doubled quote", table = "test.text",
  ops = [[<sel value="name='it''s'"/><colord cols="n"/>]],
  cols = { "n" }, rows = one({ 1 }),
})
add({
  name = "&quot; inside a text literal", table = "test.text",
  ops = [[<sel value="n=1"/><willbe name="q" value="'say &quot;hi&quot;'"/><colord cols="q"/>]],
  cols = { "q" }, types = { "a" }, rows = one({ 'say "hi"' }),
})
add({
  name = "contains '%' is not a pattern", table = "test.text",
  ops = [[<sel value="contains(name;'%')"/><colord cols="n"/>]],
  cols = { "n" }, rows = one({ 2 }),
})
add({
  name = "contains '_' is not a pattern", table = "test.text",
  ops = [[<sel value="contains(name;'_')"/><colord cols="n"/>]],
  cols = { "n" }, rows = one({ 3 }),
})
add({
  name = "beginswith is case-sensitive", table = "test.text",
  ops = [[<sel value="beginswith(name;'a')"/><colord cols="n"/>]],
  cols = { "n" }, rows = one({ 3, 4 }),
})
add({
  name = "text = is case-sensitive", table = "test.text",
  ops = [[<sel value="name='abc'"/><colord cols="n"/>]],
  cols = { "n" }, rows = one({ 4 }),
})
add({
  name = "lowercase for case-insensitive matching", table = "test.text",
  ops = [[<sel value="lowercase(name)='abc'"/><colord cols="n"/>]],
  cols = { "n" }, rows = one({ 4, 5 }),
})
add({
  name = "name='' selects N/A text", table = "test.text",
  ops = [[<sel value="name=''"/><colord cols="n"/>]],
  cols = { "n" }, rows = one({ 6 }),
})

---------------------------------------------------------------------------------------
-- errors

fails("unknown op", "test.item", [[<frobnicate/>]], 10, "op 1 <frobnicate>: unknown operation")
fails("block is not supported", "test.item",
  [[<sel value="store=1"/><block name="b"><sel value="1"/></block>]],
  10, "op 2 <block>: not supported")
fails("insert is not supported", "test.item", [[<insert block="b"/>]],
  10, "op 1 <insert>: not supported")
fails("defop is not supported", "test.item", [[<defop name="x"/>]],
  10, "op 1 <defop>: not supported")
fails("sel expand is not supported", "test.item", [[<sel value="1" expand="1"/>]],
  10, "op 1 <sel expand>: not supported")
fails("unknown column with position", "test.item",
  [[<sel value="store=1"/><sel value="sales>1&amp;foo=2"/>]],
  9, [[op 2 <sel value>: unknown column 'foo' at 9 in "sales>1&foo=2"]])
fails("_r is not a column", "test.item", [[<sel value="_r=1"/>]], 9, "unknown column '_r' at 1")
fails("unknown function", "test.item", [[<willbe name="z" value="foo(sales)"/>]],
  9, "op 1 <willbe value>: unknown function 'foo' at 1")
fails("arity", "test.item", [[<sel value="between(sales;1)"/>]],
  9, "function 'between' takes 3 arguments, got 2 at 1")
fails("arity of a one-argument function", "test.na", [[<sel value="x=abs(x;y)"/>]],
  9, "function 'abs' takes 1 argument, got 2 at 3")
fails("missing argument", "test.na", [[<sel value="if(x;;1)"/>]],
  9, "argument 2 of 'if' is missing at 6")
fails("syntax error at the end", "test.item", [[<sel value="(sales>1"/>]],
  9, [[syntax error: unexpected end of expression at 9 in "(sales>1"]])
fails("syntax error at a token", "test.item", [[<sel value="sales>>1"/>]],
  9, "syntax error: unexpected '>' at 7")
fails("empty expression", "test.item", [[<sel value=""/>]], 9, "syntax error: empty expression at 1")
fails("!= is not an operator", "test.item", [[<sel value="store!=1"/>]],
  9, "unknown operator '!=' (use <>) at 6")
fails("a list only after = or <>", "test.item", [[<sel value="sales<1 2"/>]],
  9, "syntax error: unexpected '2' at 9")
fails("comma lists are not value lists", "test.item", [[<sel value="store=1,2"/>]],
  9, "syntax error: unexpected ',' at 8")
fails("SQL text is never pasted", "test.item", [[<sel value="store=1; DROP TABLE x"/>]],
  9, "syntax error: unexpected ';' at 8")
fails("expression nested too deeply for SQLite", "test.na",
  '<sel value="' .. string.rep("abs(", 15) .. "x" .. string.rep(")", 15) .. '=1"/>',
  9, "expression nested too deeply at 1")
fails("unterminated text literal", "test.text", [[<sel value="name='abc"/>]],
  9, "unterminated text literal at 6")
fails("invalid date", "test.item", [[<sel value="date=2/30/2014"/>]],
  9, "invalid date '2/30/2014': day out of range at 6")
fails("unknown system variable", "test.item", [[<sel value="rn_=1"/>]],
  9, "unknown system variable 'rn_' at 1")
fails("type error in arithmetic", "test.text", [[<willbe name="z" value="name+1"/>]],
  9, "type error: '+' needs a number, got text at 5")
fails("type error comparing text with a number", "test.text", [[<sel value="name=1"/>]],
  9, "type error: '=' cannot mix text and numbers at 5")
fails("type error in a function argument", "test.item", [[<sel value="contains(store;'1')"/>]],
  9, "type error: argument 1 of 'contains' needs text, got integer at 10")
fails("year needs an integer date", "test.text", [[<willbe name="z" value="year(name)"/>]],
  9, "type error: argument 1 of 'year' needs an integer, got text at 6")
fails("willbe name clash", "test.item", [[<willbe name="sales" value="1"/>]],
  9, "op 1 <willbe name>: column 'sales' already exists")
fails("willbe name clash ignores case", "test.item",
  [[<willbe name="m" value="1"/><willbe name="M" value="2"/>]],
  9, "op 2 <willbe name>: column 'm' already exists")
fails("willbe bad name", "test.item", [[<willbe name='a"b' value="1"/>]],
  9, "op 1 <willbe name>: invalid column name")
fails("sel without value", "test.item", [[<sel/>]],
  10, "op 1 <sel>: missing required attribute 'value'")
fails("willbe without name", "test.item", [[<willbe value="1"/>]],
  10, "op 1 <willbe>: missing required attribute 'name'")
fails("sort without col", "test.item", [[<sort dir="up"/>]],
  10, "op 1 <sort>: missing required attribute 'col'")
fails("sort with a bad dir", "test.item", [[<sort col="sales" dir="sideways"/>]],
  9, [[op 1 <sort dir>: expected up or down in "sideways"]])
fails("sort cols unknown column", "test.item", [[<sort cols="store,`nosuch"/>]],
  9, "op 1 <sort cols>: unknown column 'nosuch' at 7")
fails("colord hard drops columns for later ops", "test.item",
  [[<colord cols="transid" hard="1"/><sel value="sales>20"/>]],
  9, "op 2 <sel value>: unknown column 'sales' at 1")
fails("colord leaving nothing visible", "test.item", [[<colord cols="nosuch"/>]],
  9, "op 1 <colord cols>: no column left visible")
fails("unknown base table", "test.item", [[<base table="test.nope"/>]],
  17, "no such table: test.nope")
fails("unknown request table", "test.nope", [[<sel value="x=1"/>]], 17, "no such table: test.nope")
fails("malformed XML: unclosed element", "test.item", [[<sel value="store=1">]],
  10, "malformed XML at byte 1: unclosed <sel>")
fails("malformed XML: unquoted attribute", "test.item", [[<sel value=store/>]],
  10, "malformed XML at byte 12: value of attribute 'value' must be quoted")
fails("malformed XML: wrong closing tag", "test.item", [[<note>x</sel>]],
  10, "malformed XML at byte 8: expected </note>")
fails("malformed XML: stray text", "test.item", [[hello]],
  10, "malformed XML at byte 1: expected an element")

return { tables = tables, cases = cases }
