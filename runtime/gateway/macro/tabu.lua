-- <tabu breaks= label=> with nested <tcol> and <break>: group and aggregate.
--
-- One stage, one GROUP BY over the current worksheet:
--   SELECT ROW_NUMBER() OVER (ORDER BY <break sorts>, MIN(_r)) AS _r, <breaks>, <aggs>
--     FROM <worksheet> GROUP BY <breaks>
-- so groups come out in order of first appearance unless a <break sort> says otherwise.
-- A first/last tcol takes its value from the row where the group's smallest/largest _r
-- with a non-N/A value occurs: one more GROUP BY per such tcol, using SQLite's rule that
-- the bare columns of a query with a single min()/max() come from that row, joined to
-- the main aggregate on the break values.

local util = require "ttgw.macro.util"

local concat = table.concat
local find_col, split_list = util.find_col, util.split_list

local M = {}

-- summary functions: agg = SQL format over the source value; t = result type (nil: the
-- source's); num = source must be numeric; src = "none" when the source is not used
local FUNS = {
  cnt = { agg = "COUNT(*)", t = "i", src = "none" },
  sum = { agg = "TOTAL(%s)", t = "f", num = true },
  avg = { agg = "AVG(%s)", t = "f", num = true },
  min = { agg = "MIN(%s)" },
  max = { agg = "MAX(%s)" },
  ucnt = { agg = "COUNT(DISTINCT %s)", t = "i" },
  first = { pick = "MIN" },
  last = { pick = "MAX" },
  wavg = { t = "f", num = true, weighted = true },
}

-- summary functions of 1010data this implementation does not do
local UNSUPPORTED_FUNS = {
  pgcnt = true, valcnt = true, cnt0 = true, med = true, median = true, mode = true,
  dev = true, stdev = true, var = true, pct = true, pctcnt = true, pctsum = true,
  bitand = true, bitor = true, sumsq = true, prod = true, cntnz = true, nth = true,
}

-- min/max/first/last of a plain column keep its display format
local KEEPS_FORMAT = { min = true, max = true, first = true, last = true }

local function child_ops(ctx, op)
  local tcols, brks = {}, {}
  for _, ch in ipairs(op.children) do
    ch.path = op.path .. "." .. ch.index
    if ch.tag == "tcol" then
      tcols[#tcols + 1] = ch
    elseif ch.tag == "break" then
      brks[#brks + 1] = ch
    else
      ctx:fail(10, ch, nil, "not allowed inside <tabu> (only <tcol> and <break>)")
    end
  end
  return tcols, brks
end

-- break columns: the breaks attribute, then any <break col> it does not name
local function break_list(ctx, ws, op, brks)
  local list, seen = {}, {}
  local function add(c, sub, pos)
    if seen[c] then
      if sub then
        return seen[c]
      end
      ctx:bad_value(op, "breaks", ("column '%s' named twice at %d"):format(c.name, pos))
    end
    local b = { col = c }
    list[#list + 1] = b
    seen[c] = b
    return b
  end
  for _, item in ipairs(split_list(op.attrs.breaks or "")) do
    local c = find_col(ws, item.text)
    if not c then
      ctx:bad_value(op, "breaks", ("unknown column '%s' at %d"):format(item.text, item.pos))
    end
    add(c, false, item.pos)
  end
  for _, br in ipairs(brks) do
    util.refuse(ctx, br, { "placeholder" })
    local name = ctx:attr(br, "col", true)
    local c = find_col(ws, name)
    if not c then
      ctx:bad_value(br, "col", "unknown column")
    end
    local b = add(c, true)
    if b.op then
      ctx:bad_value(br, "col", ("a second <break> for column '%s'"):format(c.name))
    end
    b.op = br
    b.sort = util.choice(ctx, br, "sort", { "up", "down", "none" })
    b.naorder = util.choice(ctx, br, "naorder", { "first", "last" })
    b.rename = br.attrs.rename
    b.relabel = br.attrs.relabel
  end
  return list
end

function M.tabu(ctx, ws, op)
  util.refuse(ctx, op, { "cbreaks", "cols" })
  local tcols, brks = child_ops(ctx, op)
  local breaks = break_list(ctx, ws, op, brks)
  if #breaks == 0 and #tcols == 0 then
    ctx:fail(10, op, nil, "nothing to tabulate (no breaks and no <tcol>)")
  end

  -- result columns, names unique case-insensitively
  local out, taken = {}, {}
  -- attr nil: a default name (t0, t1 ...), reported on the element itself
  local function claim(name, who, attr)
    local problem = util.name_problem(name, function(l)
      return taken[l]
    end)
    if problem and attr then
      ctx:bad_value(who, attr, problem)
    elseif problem then
      ctx:fail(9, who, nil, problem .. " (give the tcol a name)")
    end
    taken[name:lower()] = true
  end
  for _, b in ipairs(breaks) do
    local name = b.rename or b.col.name
    claim(name, b.op or op, b.op and b.rename and "rename" or "breaks")
    b.name = name
    out[#out + 1] = util.copy_col(b.col, {
      name = name, hidden = false,
      label = b.relabel and util.heading(b.relabel) or b.col.label,
    })
  end

  local comp = ctx:compiler(ws)
  local aggs = {}
  for pos, tc in ipairs(tcols) do
    util.refuse(ctx, tc, { "cmlabel", "cmorder" })
    local fname = (tc.attrs.fun or "cnt"):lower()
    local fun = FUNS[fname]
    if not fun then
      ctx:bad_value(tc, "fun", UNSUPPORTED_FUNS[fname] and "summary function not supported"
        or "unknown summary function")
    end
    local src, weight
    if tc.attrs.source then
      src = ctx:expr(ws, tc, "source", nil, comp)
      if fun.num then
        if src.t == "a" then
          ctx:bad_value(tc, "source", ("type error: '%s' needs a number, got text"):format(fname))
        end
      end
    elseif fun.src ~= "none" then
      ctx:fail(10, tc, nil, ("missing required attribute 'source' (fun=\"%s\")"):format(fname))
    end
    if fun.weighted then
      ctx:attr(tc, "weight", true)
      weight = ctx:expr(ws, tc, "weight", nil, comp)
      if weight.t == "a" then
        ctx:bad_value(tc, "weight", "type error: a weight needs a number, got text")
      end
    elseif tc.attrs.weight then
      ctx:fail(10, tc, "weight", ("only wavg takes a weight, not %s"):format(fname))
    end
    local name = tc.attrs.name or ("t" .. (pos - 1))
    claim(name, tc, tc.attrs.name and "name" or nil)
    local format = tc.attrs.format
    if not format and KEEPS_FORMAT[fname] then
      local c = find_col(ws, tc.attrs.source)
      format = c and c.format
    end
    local typ = fun.t or (src.t == "n" and "a" or src.t)
    out[#out + 1] = { name = name, type = typ, format = format, label = util.heading(tc.attrs.label) }
    local a = { name = name, pick = fun.pick, src = src }
    if fun.weighted then
      a.sql = ("CAST(SUM(%s * %s) AS REAL) / SUM(CASE WHEN %s IS NOT NULL THEN %s END)"):format(
        src.sql, weight.sql, src.sql, weight.sql)
    elseif fun.agg then
      a.sql = fun.agg:format(src and src.sql or "")
    end
    aggs[#aggs + 1] = a
  end

  -- row order of the result: sorted breaks (in break order), then first appearance
  local function order_keys(prefix, first_r)
    local keys = {}
    for _, b in ipairs(breaks) do
      if b.sort == "up" or b.sort == "down" then
        keys[#keys + 1] = util.order_item(prefix .. ctx:quote(b.col.name), b.sort == "down",
          b.naorder)
      end
    end
    keys[#keys + 1] = first_r
    return concat(keys, ", ")
  end

  local src = ctx:source(comp)
  local gcols = {}
  for i, b in ipairs(breaks) do
    gcols[i] = ctx:quote(b.col.name)
  end
  local group_by = #gcols > 0 and (" GROUP BY " .. concat(gcols, ", ")) or ""
  local npick = 0
  for _, a in ipairs(aggs) do
    npick = npick + (a.pick and 1 or 0)
  end

  if npick == 0 then
    local sel = { #gcols > 0 and ("ROW_NUMBER() OVER (ORDER BY " .. order_keys("", "MIN(_r)")
      .. ") AS _r") or "1 AS _r" }
    for _, b in ipairs(breaks) do
      sel[#sel + 1] = ctx:quote(b.col.name) .. (b.name ~= b.col.name and (" AS " .. ctx:quote(b.name)) or "")
    end
    for _, a in ipairs(aggs) do
      sel[#sel + 1] = a.sql .. " AS " .. ctx:quote(a.name)
    end
    ctx:stage(("SELECT %s FROM %s%s"):format(concat(sel, ", "), src, group_by))
  else
    -- the source is read once per first/last tcol: give it a name first
    if src ~= ctx.cur then
      ctx:stage("SELECT * FROM " .. src)
      src = ctx.cur
    end
    local inner, outer, joins = {}, {}, {}
    for i, b in ipairs(breaks) do
      inner[#inner + 1] = gcols[i]
      outer[#outer + 1] = "m." .. gcols[i] .. " AS " .. ctx:quote(b.name)
    end
    local k = 0
    for i, a in ipairs(aggs) do
      if a.pick then
        k = k + 1
        local on = {}
        for _, g in ipairs(gcols) do
          on[#on + 1] = ("m.%s IS p%d.%s"):format(g, k, g)
        end
        joins[#joins + 1] = (" LEFT JOIN (SELECT %s%s(_r) AS _p, %s AS _v FROM %s WHERE %s IS NOT NULL%s)"
          .. " AS p%d ON %s"):format(#gcols > 0 and (concat(gcols, ", ") .. ", ") or "", a.pick,
          a.src.sql, src, a.src.sql, group_by, k, #on > 0 and concat(on, " AND ") or "1")
        outer[#outer + 1] = ("p%d._v AS %s"):format(k, ctx:quote(a.name))
      else
        inner[#inner + 1] = ("%s AS _a%d"):format(a.sql, i)
        outer[#outer + 1] = ("m._a%d AS %s"):format(i, ctx:quote(a.name))
      end
    end
    inner[#inner + 1] = "MIN(_r) AS _o"
    local rn = #gcols > 0 and ("ROW_NUMBER() OVER (ORDER BY " .. order_keys("m.", "m._o") .. ")")
      or "1"
    ctx:stage(("SELECT %s AS _r, %s FROM (SELECT %s FROM %s%s) AS m%s"):format(rn,
      concat(outer, ", "), concat(inner, ", "), src, group_by, concat(joins)))
  end
  return { cols = out, dense = true, title = op.attrs.label or nil }
end

return M
