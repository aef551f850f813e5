-- Data-driven cases for <link> and <merge> (second subset). Same shape as
-- cases_basic.lua; run by tests/spec/macro_compile_spec.lua (SQLite CLI) and
-- tests/spec/macro_gateway_spec.lua (through tt-gateway). "NA" is N/A.
-- Every expected row was worked out by hand from the table rows below.
--
-- Keys: an N/A key matches an N/A key (as `=` does); the first foreign row in its row
-- order wins when keys repeat (w.stations has S2 twice).

local tables = {
  ["w.hourly"] = {
    cols = { "id:a", "date:i", "hour:i", "temp:f" },
    rows = {
      { "S1", 19900101, 1, 2.5 },
      { "S2", 19900101, 1, 5.0 },
      { "S9", 19900101, 1, 20.0 }, -- no such station
      { "NA", 19900101, 2, 7.0 },  -- N/A key
      { "S3", 19900102, 1, 15.0 },
      { "S1", 19900102, 2, "NA" },
      { "S2", 19900102, 3, 6.0 },
      { "S4", 19900103, 1, -1.0 },
    },
  },
  ["w.stations"] = {
    cols = { "id:a", "name:a", "state:a", "elev:i" },
    rows = {
      { "S1", "Albany", "NY", 100 },
      { "S2", "Newark", "NJ", 10 },
      { "S3", "Austin", "TX", 150 },
      { "S2", "Newark Dup", "NJ", 11 },
      { "NA", "Nowhere", "NA", "NA" },
      { "S4", "Buffalo", "NY", 180 },
    },
  },
  ["w.regions"] = {
    cols = { "st:a", "region:a" },
    rows = { { "NY", "East" }, { "TX", "South" }, { "NJ", "East" }, { "NA", "Unknown" } },
  },
  ["w.daily"] = {
    cols = { "id:a", "date:i", "rain:f" },
    rows = {
      { "S1", 19900101, 0.5 },
      { "S2", 19900102, 1.5 },
      { "S1", 19900102, "NA" },
      { "NA", 19900101, 9.0 },
      { "S2", 19900101, 2.0 },
      { "S1", "NA", 3.0 },
    },
  },
  ["w.more"] = {
    cols = { "id:a", "date:i", "hour:i", "temp:f", "note:a" },
    rows = { { "S5", 19900104, 1, 11.0, "x" }, { "S1", 19900104, 2, "NA", "y" } },
  },
  ["w.badtemp"] = {
    cols = { "id:a", "temp:a" },
    rows = { { "S1", "warm" } },
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

local H = "w.hourly"

---------------------------------------------------------------------------------------
-- link types, with N/A keys

add({
  name = "link (default): first match, every row kept, N/A key matches N/A key", table = H,
  ops = [[<link table2="w.stations" col="id"/>]],
  cols = { "id", "date", "hour", "temp", "name", "state", "elev" },
  types = { "a", "i", "i", "f", "a", "a", "i" },
  rows = {
    { "S1", 19900101, 1, 2.5, "Albany", "NY", 100 },
    { "S2", 19900101, 1, 5.0, "Newark", "NJ", 10 },
    { "S9", 19900101, 1, 20.0, "NA", "NA", "NA" },
    { "NA", 19900101, 2, 7.0, "Nowhere", "NA", "NA" },
    { "S3", 19900102, 1, 15.0, "Austin", "TX", 150 },
    { "S1", 19900102, 2, "NA", "Albany", "NY", 100 },
    { "S2", 19900102, 3, 6.0, "Newark", "NJ", 10 },
    { "S4", 19900103, 1, -1.0, "Buffalo", "NY", 180 },
  },
})
add({
  name = "link type=select keeps only matched rows", table = H,
  ops = [[<link table2="w.stations" col="id" type="select" cols="name"/><colord cols="hour,name"/>]],
  cols = { "hour", "name" },
  rows = { { 1, "Albany" }, { 1, "Newark" }, { 2, "Nowhere" }, { 1, "Austin" }, { 2, "Albany" },
           { 3, "Newark" }, { 1, "Buffalo" } },
})
add({
  name = "link type=include: matched rows, no column added", table = H,
  ops = [[<link table2="w.stations" col="id" type="include"/>]],
  cols = { "id", "date", "hour", "temp" },
  rows = {
    { "S1", 19900101, 1, 2.5 }, { "S2", 19900101, 1, 5.0 }, { "NA", 19900101, 2, 7.0 },
    { "S3", 19900102, 1, 15.0 }, { "S1", 19900102, 2, "NA" }, { "S2", 19900102, 3, 6.0 },
    { "S4", 19900103, 1, -1.0 },
  },
})
add({
  name = "link type=exclude: rows without a match", table = H,
  ops = [[<link table2="w.stations" col="id" type="exclude"/>]],
  cols = { "id", "date", "hour", "temp" }, rows = { { "S9", 19900101, 1, 20.0 } },
})
add({
  name = "link type=include when the foreign N/A key is filtered out", table = H,
  ops = [[<link table2="w.stations" col="id" type="include"><sel value="id<>''"/></link>
<colord cols="hour,temp"/>]],
  cols = { "hour", "temp" },
  rows = { { 1, 2.5 }, { 1, 5.0 }, { 1, 15.0 }, { 2, "NA" }, { 3, 6.0 }, { 1, -1.0 } },
})
add({
  name = "link type=exclude with an N/A key and no foreign N/A key", table = H,
  ops = [[<link table2="w.stations" col="id" type="exclude"><sel value="id<>''"/></link>]],
  cols = { "id", "date", "hour", "temp" },
  rows = { { "S9", 19900101, 1, 20.0 }, { "NA", 19900101, 2, 7.0 } },
})
add({
  name = "link type=select with an N/A key and no foreign N/A key", table = H,
  ops = [[<link table2="w.stations" col="id" type="select" cols="name"><sel value="id<>''"/></link>
<colord cols="temp,name"/>]],
  cols = { "temp", "name" },
  rows = { { 2.5, "Albany" }, { 5.0, "Newark" }, { 15.0, "Austin" }, { "NA", "Albany" },
           { 6.0, "Newark" }, { -1.0, "Buffalo" } },
})
add({
  name = "link default with an N/A key and no foreign N/A key", table = H,
  ops = [[<link table2="w.stations" col="id" cols="elev"><sel value="id<>''"/></link>
<colord cols="elev"/>]],
  cols = { "elev" }, types = { "i" }, rows = one({ 100, 10, "NA", "NA", 150, 100, 10, 180 }),
})
add({
  name = "link type is case-insensitive", table = H,
  ops = [[<link table2="w.stations" col="id" type="Exclude"/><colord cols="id"/>]],
  cols = { "id" }, rows = one({ "S9" }),
})

---------------------------------------------------------------------------------------
-- worked example E4

add({
  name = "E4 link select with a transformed foreign table, then tabu", table = H,
  ops = [[<base table="w.hourly"/>
<link table2="w.stations" col="id" col2="id" type="select" cols="name,state">
  <sel value="state='NY' 'NJ'"/>
</link>
<tabu breaks="state,name"><tcol source="temp" fun="avg" name="avg_temp"/></tabu>]],
  cols = { "state", "name", "avg_temp" }, types = { "a", "a", "f" },
  rows = { { "NY", "Albany", 2.5 }, { "NJ", "Newark", 5.5 }, { "NY", "Buffalo", -1.0 } },
})
add({
  name = "E4 exclude variant", table = H,
  ops = [[<link table2="w.stations" col="id" type="exclude"><sel value="state='NY' 'NJ'"/></link>
<colord cols="id,temp"/>]],
  cols = { "id", "temp" }, rows = { { "S9", 20.0 }, { "NA", 7.0 }, { "S3", 15.0 } },
})

---------------------------------------------------------------------------------------
-- keys, columns, names

add({
  name = "col2 names the foreign key; N/A state matches the N/A region", table = H,
  ops = [[<link table2="w.stations" col="id" cols="state"/>
<link table2="w.regions" col="state" col2="st"/><colord cols="id,region"/>]],
  cols = { "id", "region" },
  rows = { { "S1", "East" }, { "S2", "East" }, { "S9", "Unknown" }, { "NA", "Unknown" },
           { "S3", "South" }, { "S1", "East" }, { "S2", "East" }, { "S4", "East" } },
})
add({
  name = "suffix renames every added column", table = H,
  ops = [[<link table2="w.stations" col="id" cols="name,elev" suffix="_st"/><sel value="i_&lt;=2"/>]],
  cols = { "id", "date", "hour", "temp", "name_st", "elev_st" },
  rows = { { "S1", 19900101, 1, 2.5, "Albany", 100 }, { "S2", 19900101, 1, 5.0, "Newark", 10 } },
})
add({
  name = "cols with a wildcard", table = H,
  ops = [[<link table2="w.stations" col="id" cols="s*"/><colord cols="id,state"/><sel value="i_=1"/>]],
  cols = { "id", "state" }, rows = { { "S1", "NY" } },
})
add({
  name = "cols=* with a suffix brings the key too", table = H,
  ops = [[<link table2="w.stations" col="id" cols="*" suffix="_f"/><colord cols="id_f,name_f,state_f,elev_f"/>
<sel value="i_=3 4"/>]],
  cols = { "id_f", "name_f", "state_f", "elev_f" },
  rows = { { "NA", "NA", "NA", "NA" }, { "NA", "Nowhere", "NA", "NA" } },
})
add({
  name = "cols may name the key column", table = H,
  ops = [[<link table2="w.stations" col="id" cols="id,name" suffix="2"/><colord cols="id,id2,name2"/>
<sel value="i_&lt;=3"/>]],
  cols = { "id", "id2", "name2" },
  rows = { { "S1", "S1", "Albany" }, { "S2", "S2", "Newark" }, { "S9", "NA", "NA" } },
})
add({
  name = "leaving a clashing column out of cols", table = H,
  ops = [[<willbe name="name" value="'x'"/><link table2="w.stations" col="id" cols="state"/>
<colord cols="name,state"/><sel value="i_=1"/>]],
  cols = { "name", "state" }, rows = { { "x", "NY" } },
})
add({
  name = "two key columns, N/A key values matching", table = H,
  ops = [[<link table2="w.daily" col="id,date"/><colord cols="rain"/>]],
  cols = { "rain" }, types = { "f" }, rows = one({ 0.5, 2.0, "NA", 9.0, "NA", "NA", 1.5, "NA" }),
})
add({
  name = "two key columns, select (a match with an N/A value is a match)", table = H,
  ops = [[<link table2="w.daily" col="id, date" col2="id,date" type="select"/><colord cols="hour,rain"/>]],
  cols = { "hour", "rain" },
  rows = { { 1, 0.5 }, { 1, 2.0 }, { 2, 9.0 }, { 2, "NA" }, { 3, 1.5 } },
})
add({
  name = "an integer key meets a big-integer key", table = H,
  ops = [[<willbe name="d" value="date+5000000000-5000000000"/>
<link table2="w.daily" col="id,d" col2="id,date" type="include"/><colord cols="hour"/>]],
  cols = { "hour" }, rows = one({ 1, 1, 2, 2, 3 }),
})
add({
  name = "first match follows the foreign order after a nested sort", table = H,
  ops = [[<link table2="w.stations" col="id" cols="name"><sort col="elev" dir="down"/></link>
<colord cols="name"/>]],
  cols = { "name" },
  rows = one({ "Albany", "Newark Dup", "NA", "Nowhere", "Austin", "Albany", "Newark Dup", "Buffalo" }),
})
add({
  name = "a tabu nested in a link: link to a summary", table = H,
  ops = [[<link table2="w.hourly" col="id"><tabu breaks="id"><tcol source="temp" fun="avg" name="avgt"/></tabu></link>
<colord cols="id,avgt"/>]],
  cols = { "id", "avgt" }, types = { "a", "f" },
  rows = { { "S1", 2.5 }, { "S2", 5.5 }, { "S9", 20.0 }, { "NA", 7.0 }, { "S3", 15.0 },
           { "S1", 2.5 }, { "S2", 5.5 }, { "S4", -1.0 } },
})
add({
  name = "a link nested in a link", table = H,
  ops = [[<link table2="w.stations" col="id" cols="name,region">
  <link table2="w.regions" col="state" col2="st"/>
</link><colord cols="name,region"/>]],
  cols = { "name", "region" },
  rows = { { "Albany", "East" }, { "Newark", "East" }, { "NA", "NA" }, { "Nowhere", "Unknown" },
           { "Austin", "South" }, { "Albany", "East" }, { "Newark", "East" }, { "Buffalo", "East" } },
})
add({
  name = "nested willbe and g_ function on the foreign table", table = H,
  ops = [[<link table2="w.stations" col="id" cols="n"><willbe name="n" value="g_cnt(state;)"/></link>
<colord cols="id,n"/>]],
  cols = { "id", "n" }, types = { "a", "i" },
  rows = { { "S1", 2 }, { "S2", 2 }, { "S9", "NA" }, { "NA", 1 }, { "S3", 1 }, { "S1", 2 }, { "S2", 2 },
           { "S4", 2 } },
})

---------------------------------------------------------------------------------------
-- order, row variables and ops after a link

add({
  name = "a link keeps the worksheet order", table = H,
  ops = [[<sort col="temp" dir="down"/><link table2="w.stations" col="id" cols="name" type="select"/>
<colord cols="name"/>]],
  cols = { "name" },
  rows = one({ "Austin", "Nowhere", "Newark", "Newark", "Albany", "Buffalo", "Albany" }),
})
add({
  name = "sel and i_ after a link", table = H,
  ops = [[<link table2="w.stations" col="id"/><sel value="state='NY'"/><willbe name="r" value="i_"/>
<willbe name="n" value="n_"/><colord cols="hour,r,n"/>]],
  cols = { "hour", "r", "n" }, rows = { { 1, 1, 3 }, { 2, 2, 3 }, { 1, 3, 3 } },
})
add({
  name = "i_ after a select link is renumbered", table = H,
  ops = [[<link table2="w.stations" col="id" type="select" cols="name"/><willbe name="r" value="i_"/>
<sel value="r>5"/><colord cols="name,r"/>]],
  cols = { "name", "r" }, rows = { { "Newark", 6 }, { "Buffalo", 7 } },
})
add({
  name = "hidden worksheet columns stay hidden and usable", table = H,
  ops = [[<colord cols="id"/><link table2="w.stations" col="id" cols="name"/><sel value="temp>10"/>]],
  cols = { "id", "name" }, rows = { { "S9", "NA" }, { "S3", "Austin" } },
})
add({
  name = "a link of the table to itself with a suffix", table = H,
  ops = [[<link table2="w.hourly" col="id" cols="date" suffix="_first"/><colord cols="id,date_first"/>
<sel value="i_&gt;5"/>]],
  cols = { "id", "date_first" }, rows = { { "S1", 19900101 }, { "S2", 19900101 }, { "S4", 19900103 } },
})

---------------------------------------------------------------------------------------
-- merge

add({
  name = "merge appends the rows of the common columns", table = H,
  ops = [[<merge table2="w.more"/><sel value="i_>6"/>]],
  cols = { "id", "date", "hour", "temp" }, types = { "a", "i", "i", "f" },
  rows = { { "S2", 19900102, 3, 6.0 }, { "S4", 19900103, 1, -1.0 }, { "S5", 19900104, 1, 11.0 },
           { "S1", 19900104, 2, "NA" } },
})
add({
  name = "merge with ops nested: applied to the foreign table first", table = H,
  ops = [[<merge table2="w.more"><sel value="temp>0"/></merge><willbe name="n" value="n_"/>
<sel value="i_=n"/>]],
  cols = { "id", "date", "hour", "temp", "n" }, rows = { { "S5", 19900104, 1, 11.0, 9 } },
})
add({
  name = "merge: a nested willbe makes a common column", table = H,
  ops = [[<merge table2="w.stations"><willbe name="temp" value="elev/10"/></merge><sel value="i_>7"/>]],
  cols = { "id", "temp" }, types = { "a", "f" },
  rows = { { "S4", -1.0 }, { "S1", 10.0 }, { "S2", 1.0 }, { "S3", 15.0 }, { "S2", 1.1 },
           { "NA", "NA" }, { "S4", 18.0 } },
})
add({
  name = "merge then tabu", table = H,
  ops = [[<merge table2="w.more"/><tabu breaks="date"><tcol fun="cnt"/><tcol source="temp" fun="sum"/></tabu>]],
  cols = { "date", "t0", "t1" },
  rows = { { 19900101, 4, 34.5 }, { 19900102, 3, 21.0 }, { 19900103, 1, -1.0 }, { 19900104, 2, 11.0 } },
})
add({
  name = "merge after a sel: i_ over both parts", table = H,
  ops = [[<sel value="id='S1'"/><merge table2="w.more"><sel value="id='S1'"/></merge>
<willbe name="r" value="i_"/><colord cols="date,r"/>]],
  cols = { "date", "r" }, rows = { { 19900101, 1 }, { 19900102, 2 }, { 19900104, 3 } },
})
add({
  name = "merge: integer and big integer make big integer", table = H,
  ops = [[<willbe name="big" value="hour+5000000000"/><merge table2="w.more"><willbe name="big" value="hour"/></merge>
<colord cols="big"/><sel value="i_>7"/>]],
  cols = { "big" }, types = { "j" }, rows = one({ 5000000001, 1, 2 }),
})
add({
  name = "merge of a table with itself", table = H,
  ops = [[<merge table2="w.hourly"/><tabu><tcol fun="cnt"/></tabu>]],
  cols = { "t0" }, rows = { { 16 } },
})
add({
  name = "<merge/> alone leaves the worksheet as it is", table = H,
  ops = [[<sel value="hour=3"/><merge/>]],
  cols = { "id", "date", "hour", "temp" }, rows = { { "S2", 19900102, 3, 6.0 } },
})

---------------------------------------------------------------------------------------
-- errors

fails("link: column types differ (rc 10)", H, [[<link table2="w.stations" col="hour" col2="id"/>]],
  10, "op 1 <link col2>: column types differ: 'hour' is integer in the worksheet, 'id' is text in w.stations")
fails("link: column types differ after nested ops", H,
  [[<sel value="1"/><link table2="w.stations" col="hour" col2="k"><willbe name="k" value="elev/1"/></link>]],
  10, "op 2 <link col2>: column types differ: 'hour' is integer in the worksheet, 'k' is decimal")
fails("link: a column clash names the column and the cure", H,
  [[<willbe name="name" value="'x'"/><link table2="w.stations" col="id"/>]],
  9, "op 2 <link table2>: column 'name' of w.stations: the worksheet already has a column 'name'"
    .. " (add suffix= or leave it out of cols=)")
fails("link: a clash in cols", H, [[<link table2="w.stations" col="id" cols="id"/>]],
  9, "op 1 <link cols>: column 'id' of w.stations: the worksheet already has a column 'id'")
fails("link: type not supported", H, [[<link table2="w.stations" col="id" type="asof"/>]],
  10, [[op 1 <link type>: type="asof" is not supported]])
fails("link: unknown type", H, [[<link table2="w.stations" col="id" type="merge"/>]],
  9, [[op 1 <link type>: expected select or include or exclude in "merge"]])
fails("link: unknown foreign table", H, [[<link table2="w.nope" col="id"/>]],
  17, "op 1 <link table2>: no such table: w.nope")
fails("link: missing table2", H, [[<link col="id"/>]],
  10, "op 1 <link>: missing required attribute 'table2'")
fails("link: missing col", H, [[<link table2="w.stations"/>]],
  10, "op 1 <link>: missing required attribute 'col'")
fails("link: unknown col", H, [[<link table2="w.stations" col="nosuch"/>]],
  9, [[op 1 <link col>: unknown column 'nosuch' at 1 in "nosuch"]])
fails("link: unknown col2", H, [[<link table2="w.stations" col="id,hour" col2="id, height"/>]],
  9, "op 1 <link col2>: unknown column 'height' in w.stations at 5")
fails("link: col and col2 of different lengths", H, [[<link table2="w.stations" col="id,hour" col2="id"/>]],
  9, "op 1 <link col2>: names 1 columns, col names 2")
fails("link: unknown column in cols", H, [[<link table2="w.stations" col="id" cols="name,zip"/>]],
  9, "op 1 <link cols>: unknown column 'zip' in w.stations at 6")
fails("link: include adds no column, so cols is refused", H,
  [[<link table2="w.stations" col="id" type="include" cols="name"/>]],
  10, [[op 1 <link cols>: not allowed with type="include" (no column is added)]])
fails("link: bad suffix", H, [[<link table2="w.stations" col="id" suffix="-x"/>]],
  9, "op 1 <link suffix>: a suffix may only hold letters, digits and _")
fails("link: shift is not supported", H, [[<link table2="w.stations" col="id" shift="1"/>]],
  10, "op 1 <link shift>: not supported")
fails("link: base inside a link", H, [[<link table2="w.stations" col="id"><base table="w.hourly"/></link>]],
  10, "op 1.1 <base>: not allowed inside <link>")
fails("link: table inside a link", H, [[<link table2="w.stations" col="id"><note/><table cols="a">1</table></link>]],
  10, "op 1.2 <table>: not allowed inside <link>")
fails("link: an error in a nested op names its position", H,
  [[<sel value="1"/><link table2="w.stations" col="id"><sel value="1"/><sel value="elev>1 &amp; nosuch=1"/></link>]],
  9, [[op 2.2 <sel value>: unknown column 'nosuch' at 10 in "elev>1 & nosuch=1"]])
fails("link: nested ops see the foreign columns, not the worksheet's", H,
  [[<link table2="w.stations" col="id"><sel value="temp>1"/></link>]],
  9, "op 1.1 <sel value>: unknown column 'temp' at 1")
fails("link: nested unknown op", H, [[<link table2="w.stations" col="id"><frob/></link>]],
  10, "op 1.1 <frob>: unknown operation")
fails("merge: column types differ (rc 10)", H, [[<merge table2="w.badtemp"/>]],
  10, "op 1 <merge table2>: column types differ: 'temp' is decimal in the worksheet, text in w.badtemp")
fails("merge: no column in common", H, [[<colord cols="date" hard="1"/><merge table2="w.regions"/>]],
  10, "op 2 <merge table2>: no column in common with w.regions")
fails("merge: nested ops without table2", H, [[<merge><sel value="1"/></merge>]],
  10, "op 1 <merge>: missing required attribute 'table2'")
fails("merge: unknown foreign table", H, [[<merge table2="w.nope"/>]],
  17, "op 1 <merge table2>: no such table: w.nope")
fails("merge: base inside", H, [[<merge table2="w.more"><base table="w.more"/></merge>]],
  10, "op 1.1 <base>: not allowed inside <merge>")

return { tables = tables, cases = cases }
