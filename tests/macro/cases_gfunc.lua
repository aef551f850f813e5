-- Data-driven cases for the group (g_) functions (second subset). Same shape as
-- cases_basic.lua; run by tests/spec/macro_compile_spec.lua (SQLite CLI) and
-- tests/spec/macro_gateway_spec.lua (through tt-gateway). "NA" is N/A.
-- Every expected row was worked out by hand from the table rows below.

local tables = {
  -- after the documentation's g_func_sample_usage: groups by state (first appearance)
  -- NY = rows 1 2 4 8, CA = 3 5 7, N/A = 6 10, TX = 9 (value all N/A);
  -- ord orders rows inside a state, k is distinct (10 .. 1)
  ["g.sample"] = {
    cols = { "state:a", "city:a", "include:i", "value:f", "ord:i", "k:i" },
    rows = {
      { "NY", "NYC", 1, 10.0, 3, 10 },
      { "NY", "Albany", 0, 5.0, 1, 9 },
      { "CA", "LA", 1, "NA", 2, 8 },
      { "NY", "NYC", 1, 20.0, 2, 7 },
      { "CA", "SF", 1, 7.0, 1, 6 },
      { "NA", "Nowhere", 1, 3.0, 1, 5 },
      { "CA", "LA", 0, 9.0, 3, 4 },
      { "NY", "Albany", 1, "NA", 4, 3 },
      { "TX", "Austin", 1, "NA", 1, 2 },
      { "NA", "Elsewhere", 0, 4.0, 2, 1 },
    },
  },
  ["g.item"] = {
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

-- a computed column r over every row of g.sample (expression XML-escaped)
local function gcase(name, value, typ, values)
  add({
    name = name, table = "g.sample",
    ops = '<willbe name="r" value="' .. value:gsub("&", "&amp;"):gsub("<", "&lt;") .. '"/><colord cols="r"/>',
    cols = { "r" }, types = { typ }, rows = one(values),
  })
end

local NA = "NA"
local T3 = 35 / 3

---------------------------------------------------------------------------------------
-- worked examples E2, E5 (per group), E7 (group parts), E8

add({
  name = "E2 computed columns and a group sum (no row loss)", table = "g.item",
  ops = [[<willbe name="margin" value="sales-cost" label="Margin"/>
<willbe name="store_sales" value="g_sum(store;;sales)" label="Sales By`Store"/>
<colord cols="transid,margin,store_sales"/>]],
  cols = { "transid", "margin", "store_sales" }, types = { "i", "f", "f" },
  rows = { { 101, 4.5, 77.0 }, { 102, 3.0, 26.0 }, { 103, NA, 50.0 }, { 104, 9.5, 77.0 },
           { 105, 4.0, 50.0 }, { 106, NA, 26.0 }, { 107, 10.0, 77.0 }, { 108, 11.0, 50.0 },
           { 109, 3.0, 77.0 }, { 110, NA, 50.0 }, { 111, 6.0, 26.0 }, { 112, 8.5, 77.0 } },
})
add({
  name = "E5 top-N per group: sort, then g_cumcnt", table = "g.sample",
  ops = [[<sort col="value" dir="down"/><sel value="g_cumcnt(state;;)&lt;=2"/><colord cols="city,value"/>]],
  cols = { "city", "value" },
  rows = { { "NYC", 20.0 }, { "NYC", 10.0 }, { "LA", 9.0 }, { "SF", 7.0 }, { "Elsewhere", 4.0 },
           { "Nowhere", 3.0 }, { "Austin", NA } },
})
add({
  name = "E5 top-N per group on the retail rows (latest 2 per store)", table = "g.item",
  ops = [[<sort col="date" dir="down"/><sel value="g_cumcnt(store;;)&lt;=2"/><colord cols="transid"/>]],
  cols = { "transid" }, rows = one({ 109, 108, 112, 111, 110, 106 }),
})
add({
  name = "top-N per group with O instead of a sort", table = "g.item",
  ops = [[<sel value="g_rank(store;;;sales)=1"/><colord cols="store,transid"/>]],
  cols = { "store", "transid" }, rows = { { 3, 103 }, { 1, 107 }, { 2, 111 } },
})
gcase("E7 g_sum of an all-N/A group is 0", "g_sum(state;;value)", "f",
  { 35.0, 35.0, 16.0, 35.0, 16.0, 7.0, 16.0, 35.0, 0.0, 7.0 })
gcase("E7 g_cumsum counts N/A as 0", "g_cumsum(state;;;value)", "f",
  { 10.0, 15.0, 0.0, 35.0, 7.0, 3.0, 16.0, 35.0, 0.0, 7.0 })
add({
  name = "E8 inline data and a group sum", table = "g.item",
  ops = [[<table cols="name,v" title="t">John,8;John,2;Mary,3</table>
<willbe name="s" value="g_sum(name;;v)"/>]],
  cols = { "name", "v", "s" }, types = { "a", "i", "f" },
  rows = { { "John", 8, 10.0 }, { "John", 2, 10.0 }, { "Mary", 3, 3.0 } },
})

---------------------------------------------------------------------------------------
-- each function, with and without S (include) and O (ord); N/A state is a group

gcase("g_sum with S: rows outside the selection get N/A", "g_sum(state;include;value)", "f",
  { 30.0, NA, 7.0, 30.0, 7.0, 3.0, NA, 30.0, 0.0, NA })
gcase("g_sum without G: the whole worksheet", "g_sum(;;value)", "f",
  { 58.0, 58.0, 58.0, 58.0, 58.0, 58.0, 58.0, 58.0, 58.0, 58.0 })
gcase("g_sum with two group columns (blank)", "g_sum(state city;;value)", "f",
  { 30.0, 5.0, 9.0, 30.0, 7.0, 3.0, 9.0, 5.0, 0.0, 4.0 })
gcase("g_sum with two group columns (comma)", "g_sum(state,city;;value)", "f",
  { 30.0, 5.0, 9.0, 30.0, 7.0, 3.0, 9.0, 5.0, 0.0, 4.0 })
gcase("g_sum with a condition as S", "g_sum(state;value>5;value)", "f",
  { 30.0, NA, NA, 30.0, 16.0, NA, 16.0, NA, NA, NA })
gcase("g_cnt", "g_cnt(state;)", "i", { 4, 4, 3, 4, 3, 2, 3, 4, 1, 2 })
gcase("g_cnt with S", "g_cnt(state;include)", "i", { 3, NA, 2, 3, 2, 1, NA, 3, 1, NA })
gcase("g_cnt without G or S", "g_cnt(;)", "i", { 10, 10, 10, 10, 10, 10, 10, 10, 10, 10 })
gcase("g_avg: all-N/A group is N/A", "g_avg(state;;value)", "f",
  { T3, T3, 8.0, T3, 8.0, 3.5, 8.0, T3, NA, 3.5 })
gcase("g_avg with S", "g_avg(state;include;value)", "f",
  { 15.0, NA, 7.0, 15.0, 7.0, 3.0, NA, 15.0, NA, NA })
gcase("g_min ignores N/A", "g_min(state;;value)", "f", { 5.0, 5.0, 7.0, 5.0, 7.0, 3.0, 7.0, 5.0, NA, 3.0 })
gcase("g_min with S", "g_min(state;include;value)", "f", { 10.0, NA, 7.0, 10.0, 7.0, 3.0, NA, 10.0, NA, NA })
gcase("g_max ignores N/A", "g_max(state;;value)", "f",
  { 20.0, 20.0, 9.0, 20.0, 9.0, 4.0, 9.0, 20.0, NA, 4.0 })
gcase("g_max with S", "g_max(state;include;value)", "f",
  { 20.0, NA, 7.0, 20.0, 7.0, 3.0, NA, 20.0, NA, NA })
gcase("g_min of text", "g_min(state;;city)", "a",
  { "Albany", "Albany", "LA", "Albany", "LA", "Elsewhere", "LA", "Albany", "Austin", "Elsewhere" })
gcase("g_first in row order skips N/A", "g_first(state;;;value)", "f",
  { 10.0, 10.0, 7.0, 10.0, 7.0, 3.0, 7.0, 10.0, NA, 3.0 })
gcase("g_first in O order", "g_first(state;;ord;value)", "f",
  { 5.0, 5.0, 7.0, 5.0, 7.0, 3.0, 7.0, 5.0, NA, 3.0 })
gcase("g_first with S", "g_first(state;include;;value)", "f",
  { 10.0, NA, 7.0, 10.0, 7.0, 3.0, NA, 10.0, NA, NA })
gcase("g_first of text without G", "g_first(;;;city)", "a",
  { "NYC", "NYC", "NYC", "NYC", "NYC", "NYC", "NYC", "NYC", "NYC", "NYC" })
gcase("g_last in row order skips N/A", "g_last(state;;;value)", "f",
  { 20.0, 20.0, 9.0, 20.0, 9.0, 4.0, 9.0, 20.0, NA, 4.0 })
gcase("g_last in O order", "g_last(state;;ord;value)", "f",
  { 10.0, 10.0, 9.0, 10.0, 9.0, 4.0, 9.0, 10.0, NA, 4.0 })
gcase("g_last with S and O", "g_last(state;include;ord;value)", "f",
  { 10.0, NA, 7.0, 10.0, 7.0, 3.0, NA, 10.0, NA, NA })
gcase("g_ucnt of text", "g_ucnt(state;;city)", "i", { 2, 2, 2, 2, 2, 2, 2, 2, 1, 2 })
gcase("g_ucnt does not count N/A", "g_ucnt(state;;value)", "i", { 3, 3, 2, 3, 2, 2, 2, 3, 0, 2 })
gcase("g_ucnt without G", "g_ucnt(;;state)", "i", { 3, 3, 3, 3, 3, 3, 3, 3, 3, 3 })
gcase("g_ucnt with S", "g_ucnt(state;include;city)", "i", { 2, NA, 2, 2, 2, 1, NA, 2, 1, NA })
gcase("g_cumsum in O order", "g_cumsum(state;;ord;value)", "f",
  { 35.0, 5.0, 7.0, 25.0, 7.0, 3.0, 16.0, 35.0, 0.0, 7.0 })
gcase("g_cumsum with S and O", "g_cumsum(state;include;ord;value)", "f",
  { 30.0, NA, 7.0, 20.0, 7.0, 3.0, NA, 30.0, 0.0, NA })
gcase("g_cumsum without G", "g_cumsum(;;;value)", "f",
  { 10.0, 15.0, 15.0, 35.0, 42.0, 45.0, 54.0, 54.0, 54.0, 58.0 })
gcase("g_cumcnt in row order", "g_cumcnt(state;;)", "i", { 1, 2, 1, 3, 2, 1, 3, 4, 1, 2 })
gcase("g_cumcnt in O order", "g_cumcnt(state;;ord)", "i", { 3, 1, 2, 2, 1, 1, 3, 4, 1, 2 })
gcase("g_cumcnt with S and O", "g_cumcnt(state;include;ord)", "i", { 2, NA, 2, 1, 1, 1, NA, 3, 1, NA })
gcase("g_cumcnt with two O columns", "g_cumcnt(;;include ord)", "i", { 9, 1, 7, 8, 4, 5, 3, 10, 6, 2 })
gcase("g_rank: largest is 1, N/A value is N/A", "g_rank(state;;;value)", "i",
  { 2, 3, NA, 1, 2, 2, 1, NA, NA, 1 })
gcase("g_rank ties in row order", "g_rank(;;;ord)", "i", { 2, 7, 4, 5, 8, 9, 3, 1, 10, 6 })
gcase("g_rank ties in O order", "g_rank(;;k;ord)", "i", { 3, 10, 6, 5, 9, 8, 2, 1, 7, 4 })
gcase("g_rank with S", "g_rank(state;include;;value)", "i", { 2, NA, NA, 1, 1, 1, NA, NA, NA, NA })
gcase("g_wavg skips rows with N/A value or weight", "g_wavg(state;;value;ord)", "f",
  { 12.5, 12.5, 8.5, 12.5, 8.5, 11 / 3, 8.5, 12.5, NA, 11 / 3 })
gcase("g_wavg with S", "g_wavg(state;include;value;ord)", "f",
  { 14.0, NA, 7.0, 14.0, 7.0, 3.0, NA, 14.0, NA, NA })
gcase("g_first1 in row order", "g_first1(state;;)", "i", { 1, 0, 1, 0, 0, 1, 0, 0, 1, 0 })
gcase("g_first1 in O order", "g_first1(state;;ord)", "i", { 0, 1, 0, 0, 1, 1, 0, 0, 1, 0 })
gcase("g_first1 with S", "g_first1(state;include;)", "i", { 1, NA, 1, 0, 0, 1, NA, 0, 1, NA })
gcase("g_ function names are case-insensitive", "G_Sum(State;;Value)", "f",
  { 35.0, 35.0, 16.0, 35.0, 16.0, 7.0, 16.0, 35.0, 0.0, 7.0 })
gcase("an N/A selection value counts as 0", "g_cnt(;if(i_=2;'';1))", "i",
  { 9, NA, 9, 9, 9, 9, 9, 9, 9, 9 })
gcase("a g_ function inside an expression", "value/g_sum(state;;value)", "f",
  { 10 / 35, 5 / 35, NA, 20 / 35, 7 / 16, 3 / 7, 9 / 16, NA, NA, 4 / 7 })
gcase("a g_ function of a g_ function", "g_max(;;g_sum(state;;value))", "f",
  { 35.0, 35.0, 35.0, 35.0, 35.0, 35.0, 35.0, 35.0, 35.0, 35.0 })

---------------------------------------------------------------------------------------
-- in sel, sort, tabu; row variables after sorts and selections

add({
  name = "g_first1(;;) keeps the first row", table = "g.sample",
  ops = [[<sel value="g_first1(;;)"/><colord cols="city"/>]],
  cols = { "city" }, rows = one({ "NYC" }),
})
add({
  name = "group maximum rows (N/A = N/A keeps the all-N/A group)", table = "g.sample",
  ops = [[<sel value="value=g_max(state;;value)"/><colord cols="city,value"/>]],
  cols = { "city", "value" },
  rows = { { "NYC", 20.0 }, { "LA", 9.0 }, { "Austin", NA }, { "Elsewhere", 4.0 } },
})
add({
  name = "g_ functions see the worksheet after a sel", table = "g.sample",
  ops = [[<sel value="include=1"/><willbe name="n" value="g_cnt(state;)"/><willbe name="c" value="g_cumcnt(;;)"/>
<colord cols="city,n,c"/>]],
  cols = { "city", "n", "c" },
  rows = { { "NYC", 3, 1 }, { "LA", 2, 2 }, { "NYC", 3, 3 }, { "SF", 2, 4 }, { "Nowhere", 1, 5 },
           { "Albany", 3, 6 }, { "Austin", 1, 7 } },
})
add({
  name = "i_, n_ and g_cumcnt after a sort and a sel", table = "g.sample",
  ops = [[<sel value="include=1"/><sort col="ord" dir="down"/><willbe name="r" value="i_"/>
<willbe name="n" value="n_"/><willbe name="c" value="g_cumcnt(;;)"/><sel value="r>4"/>
<willbe name="r2" value="i_"/><colord cols="city,r,n,c,r2"/>]],
  cols = { "city", "r", "n", "c", "r2" },
  rows = { { "SF", 5, 7, 5, 1 }, { "Nowhere", 6, 7, 6, 2 }, { "Austin", 7, 7, 7, 3 } },
})
add({
  name = "a window over i_ after a sel", table = "g.sample",
  ops = [[<sel value="include=1"/><willbe name="s" value="g_sum(;;i_)"/><sel value="i_=1"/><colord cols="s"/>]],
  cols = { "s" }, types = { "f" }, rows = one({ 28.0 }),
})
add({
  name = "sort by a g_ function", table = "g.sample",
  ops = [[<sort col="g_sum(state;;value)" dir="down"/><colord cols="city"/>]],
  cols = { "city" },
  rows = one({ "NYC", "Albany", "NYC", "Albany", "LA", "SF", "LA", "Nowhere", "Elsewhere", "Austin" }),
})
add({
  name = "g_ function over a tabu result", table = "g.sample",
  ops = [[<tabu breaks="state,city"><tcol source="value" fun="sum" name="s"/></tabu>
<willbe name="share" value="s/g_sum(state;;s)"/><sel value="state='NY'"/><colord cols="city,share"/>]],
  cols = { "city", "share" }, rows = { { "NYC", 30 / 35 }, { "Albany", 5 / 35 } },
})
add({
  name = "g_ function on a hidden column", table = "g.sample",
  ops = [[<colord cols="city"/><willbe name="n" value="g_cnt(state;include)"/><sel value="i_&lt;=2"/>]],
  cols = { "city", "n" }, rows = { { "NYC", 3 }, { "Albany", NA } },
})

---------------------------------------------------------------------------------------
-- errors (S and O checks that need the data stop the query: code 9, through tt_error)

fails("S other than 0/1 stops the query", "g.sample",
  [[<willbe name="s2" value="if(i_=3;2;1)"/><willbe name="x" value="g_sum(;s2;value)"/>]],
  9, "op 2 <willbe value>: argument 2 (S) of g_sum must be 0 or 1 at 8")
fails("N/A in O stops the query", "g.sample", [[<willbe name="x" value="g_cumsum(;;value;ord)"/>]],
  9, "op 1 <willbe value>: argument 3 (O) of g_cumsum is N/A in a row at 12")
fails("S must be a number", "g.sample", [[<willbe name="x" value="g_sum(;city;value)"/>]],
  9, "type error: argument 2 (S) of 'g_sum' needs a number, got text at 8")
fails("G must be column names", "g.sample", [[<willbe name="x" value="g_sum(ord+1;;value)"/>]],
  9, "argument 1 (G) of 'g_sum' must be column names at 10")
fails("O must be column names", "g.sample", [[<willbe name="x" value="g_cumcnt(;;'a')"/>]],
  9, "argument 3 (O) of 'g_cumcnt' must be column names at 12")
fails("unknown G column", "g.sample", [[<willbe name="x" value="g_sum(state nosuch;;value)"/>]],
  9, "op 1 <willbe value>: unknown column 'nosuch' at 13")
fails("missing X", "g.sample", [[<willbe name="x" value="g_sum(state;;)"/>]],
  9, "argument 3 of 'g_sum' is missing at 14")
fails("g_ arity", "g.sample", [[<willbe name="x" value="g_sum(state;value)"/>]],
  9, "function 'g_sum' takes 3 arguments, got 2 at 1")
fails("g_sum of text", "g.sample", [[<willbe name="x" value="g_sum(;;city)"/>]],
  9, "type error: argument 3 of 'g_sum' needs a number, got text at 9")
fails("names list only in G and O", "g.sample", [[<willbe name="x" value="g_sum(;;state city)"/>]],
  9, "argument 3 of 'g_sum' cannot be a list of names at 9")
fails("names list in a scalar function", "g.sample", [[<willbe name="x" value="if(state city;1;2)"/>]],
  9, "argument 1 of 'if' cannot be a list of names at 4")
fails("g_cumhi is not supported", "g.sample", [[<willbe name="x" value="g_cumhi(;;;value)"/>]],
  9, "op 1 <willbe value>: function 'g_cumhi' is not supported at 1")
fails("g_median is not supported", "g.sample", [[<sel value="value>g_median(;;value)"/>]],
  9, "function 'g_median' is not supported at 7")
fails("t_ functions are not supported", "g.sample", [[<willbe name="x" value="t_sum(value)"/>]],
  9, "function 't_sum' is not supported at 1")
fails("an unknown function stays unknown", "g.sample", [[<willbe name="x" value="gsum(value)"/>]],
  9, "unknown function 'gsum' at 1")
fails("a name list after a comma needs a name", "g.sample", [[<willbe name="x" value="g_sum(state,;;value)"/>]],
  9, "syntax error: unexpected ';' at 13")

return { tables = tables, cases = cases }
