-- Group (g_) functions: one entry per function, in the shape of ttgw.macro.funcs.
--
-- Each becomes a window function computed in the stage's subquery (see Compiler:window)
-- and referenced by its alias. Arguments follow the documented G;S;O rules:
--   G  group: column names separated by blanks or commas; empty = the whole worksheet is
--      one group; N/A is an ordinary group value (PARTITION BY groups NULLs together)
--   S  selection: empty = every row; else a 0/1 value: only rows where it is 1 take
--      part, the other rows get N/A. N/A counts as 0; any other value stops the query.
--   O  order (cumulative and positional functions): column names; empty = the current
--      row order. The worksheet order (_r) always breaks ties. N/A in O stops the query.
-- A selection is one more PARTITION BY key, so rows outside it never meet rows in it.

local expr = require "ttgw.macro.expr"

local fail = expr.fail
local concat = table.concat

local M = {}
local E = {}
M.entries = E

-- known 1010data group and table functions this implementation does not do
local UNSUPPORTED = {
  g_cumhi = true, g_cumlo = true, g_cumfreq = true, g_cumrunlen = true, g_cumprod = true,
  g_median = true, g_mode = true, g_stdev = true, g_stdevp = true, g_var = true,
  g_varp = true, g_pct = true, g_nth = true, g_last1 = true, g_aucnt = true,
  g_bitand = true, g_bitor = true, g_dev = true, g_count = true, g_sort = true,
  g_cnt0 = true, g_valcnt = true, g_cumavg = true, g_cummin = true, g_cummax = true,
  g_prev = true, g_next = true, g_rank0 = true, g_pctile = true, g_quantile = true,
  g_corr = true, g_cov = true, g_beta = true, g_alpha = true, g_sumsq = true,
}

-- every g_ and t_ name is a group function of 1010data; the ones not in E are refused as
-- not supported rather than unknown
function M.unsupported(name)
  return UNSUPPORTED[name] or name:find("^g_") ~= nil or name:find("^t_") ~= nil
end

local function q(name)
  return '"' .. name .. '"'
end

-- G or O argument -> list of quoted column names
local function names(c, node, fname, n, what)
  if node.k == "empty" then
    return {}
  end
  local items = (node.k == "names" and node.items) or (node.k == "id" and { node }) or nil
  if not items then
    fail(node.pos, ("argument %d (%s) of '%s' must be column names"):format(n, what, fname))
  end
  local out = {}
  for _, it in ipairs(items) do
    local col = c:find_col(it.name)
    if not col then
      fail(it.pos, ("unknown column '%s'"):format(it.name))
    end
    out[#out + 1] = q(col.name)
  end
  return out
end

-- S argument -> SQL that is 1 for rows taking part and 0 for the others (never N/A)
local function selection(c, node, fname)
  if node.k == "empty" then
    return nil
  end
  local v = c:want_num(c:expr(node), ("argument 2 (S) of '%s'"):format(fname), node.pos)
  if v.bool then
    return ("CASE WHEN %s THEN 1 ELSE 0 END"):format(c:cond(v))
  end
  -- (no quotes in run-time messages: SQLite doubles them when it quotes the message)
  return ("CASE WHEN %s = 1 THEN 1 WHEN %s = 0 OR %s IS NULL THEN 0 ELSE %s END"):format(
    v.sql, v.sql, v.sql, c:raise_sql(("argument 2 (S) of %s must be 0 or 1"):format(fname), node.pos))
end

-- O argument -> ORDER BY keys; an N/A key in a row taking part stops the query
local function ordering(c, node, fname, n, sel)
  local keys = {}
  for _, col in ipairs(names(c, node, fname, n, "O")) do
    local bad = col .. " IS NULL" .. (sel and (" AND (" .. sel .. ") = 1") or "")
    keys[#keys + 1] = ("CASE WHEN %s THEN %s ELSE %s END"):format(bad,
      c:raise_sql(("argument %d (O) of %s is N/A in a row"):format(n, fname), node.pos), col)
  end
  return keys
end

local function over(part, order, frame)
  local t = {}
  if #part > 0 then
    t[#t + 1] = "PARTITION BY " .. concat(part, ", ")
  end
  if order and #order > 0 then
    t[#t + 1] = "ORDER BY " .. concat(order, ", ")
  end
  t[#t + 1] = frame
  return "OVER (" .. concat(t, " ") .. ")"
end

-- the parts every g_ function shares: partition (G then the selection flag), the order
-- keys when it takes O, and mask() giving rows outside the selection N/A
local function setup(c, a, node, o_arg)
  local fname = node.name:lower()
  local g = names(c, a[1], fname, 1, "G")
  local sel = selection(c, a[2], fname)
  local part = {}
  for i, x in ipairs(g) do
    part[i] = x
  end
  if sel then
    part[#part + 1] = sel
  end
  local order = o_arg and ordering(c, a[o_arg], fname, o_arg, sel) or {}
  local function mask(sql)
    return sel and ("CASE WHEN (%s) = 1 THEN %s END"):format(sel, sql) or sql
  end
  return { fname = fname, part = part, order = order, sel = sel, mask = mask }
end

local function with(t, ...)
  local out = {}
  for i, x in ipairs(t) do
    out[i] = x
  end
  for _, x in ipairs({ ... }) do
    out[#out + 1] = x
  end
  return out
end

local function result(st, sql, t, nn, extra)
  local r = { sql = st.mask(sql), t = t, nn = nn and not st.sel }
  for k, v in pairs(extra or {}) do
    r[k] = v
  end
  return r
end

local function value_arg(c, a, n, st, numeric)
  local v = c:expr(a[n])
  if numeric then
    c:want_num(v, ("argument %d of '%s'"):format(n, st.fname), a[n].pos)
  end
  return v
end

local function value_type(v)
  return v.t == "n" and "a" or v.t
end

-- G;S;X aggregates over the whole group
local function aggregate(fn, numeric, typef, nn)
  return {
    args = 3,
    empty_ok = { true, true },
    names_ok = { true },
    compile = function(c, a, node)
      local st = setup(c, a, node)
      local x = value_arg(c, a, 3, st, numeric)
      local w = c:window(("%s(%s) %s"):format(fn, x.sql, over(st.part)))
      return result(st, w, typef or value_type(x), nn)
    end,
  }
end

-- sum of non-N/A values, 0 when there are none; decimal
E.g_sum = aggregate("TOTAL", true, "f", true)
-- mean of non-N/A values, N/A when there are none
E.g_avg = aggregate("AVG", true, "f", false)
-- extreme non-N/A value (numbers or text), N/A when there are none
E.g_min = aggregate("MIN", false, nil, false)
E.g_max = aggregate("MAX", false, nil, false)

-- rows in the group
E.g_cnt = {
  args = 2,
  empty_ok = { true, true },
  names_ok = { true },
  compile = function(c, a, node)
    local st = setup(c, a, node)
    return result(st, c:window("COUNT(*) " .. over(st.part)), "i", true)
  end,
}

-- distinct non-N/A values: dense rank of X among the group's non-N/A values, then its
-- largest value over the group (SQLite has no COUNT(DISTINCT) window)
E.g_ucnt = {
  args = 3,
  empty_ok = { true, true },
  names_ok = { true },
  compile = function(c, a, node)
    local st = setup(c, a, node)
    local x = value_arg(c, a, 3, st, false)
    local rank = c:window(("DENSE_RANK() %s"):format(
      over(with(st.part, x.sql .. " IS NULL"), { x.sql })))
    local w = c:window(("MAX(CASE WHEN %s IS NOT NULL THEN %s END) %s"):format(
      x.sql, rank, over(st.part)))
    return result(st, "coalesce(" .. w .. ", 0)", "i", true)
  end,
}

-- first / last non-N/A value in O order (N/A when there is none)
local function positional(last)
  return {
    args = 4,
    empty_ok = { true, true, true },
    names_ok = { true, nil, true },
    compile = function(c, a, node)
      local st = setup(c, a, node, 3)
      local x = value_arg(c, a, 4, st, false)
      local keys = { x.sql .. " IS NULL" }
      for _, k in ipairs(st.order) do
        keys[#keys + 1] = k .. (last and " DESC" or "")
      end
      keys[#keys + 1] = last and "_r DESC" or "_r"
      local w = c:window(("FIRST_VALUE(%s) %s"):format(x.sql, over(st.part, keys)))
      return result(st, w, value_type(x), false)
    end,
  }
end
E.g_first = positional(false)
E.g_last = positional(true)

-- running sum in O order, N/A counted as 0; decimal
E.g_cumsum = {
  args = 4,
  empty_ok = { true, true, true },
  names_ok = { true, nil, true },
  compile = function(c, a, node)
    local st = setup(c, a, node, 3)
    local x = value_arg(c, a, 4, st, true)
    local w = c:window(("TOTAL(%s) %s"):format(x.sql,
      over(st.part, with(st.order, "_r"), "ROWS UNBOUNDED PRECEDING")))
    return result(st, w, "f", true)
  end,
}

-- running row count in O order: 1, 2, 3 ...
E.g_cumcnt = {
  args = 3,
  empty_ok = { true, true, true },
  names_ok = { true, nil, true },
  compile = function(c, a, node)
    local st = setup(c, a, node, 3)
    local w = c:window("ROW_NUMBER() " .. over(st.part, with(st.order, "_r")))
    return result(st, w, "i", true)
  end,
}

-- 1 on the first row of each group in O order, 0 on the others
E.g_first1 = {
  args = 3,
  empty_ok = { true, true, true },
  names_ok = { true, nil, true },
  compile = function(c, a, node)
    local st = setup(c, a, node, 3)
    local w = c:window("ROW_NUMBER() " .. over(st.part, with(st.order, "_r")))
    return result(st, "(" .. w .. " = 1)", "i", true, { bool = true })
  end,
}

-- rank of X in its group, largest = 1; ties in O order, then row order; N/A X -> N/A
E.g_rank = {
  args = 4,
  empty_ok = { true, true, true },
  names_ok = { true, nil, true },
  compile = function(c, a, node)
    local st = setup(c, a, node, 3)
    local x = value_arg(c, a, 4, st, false)
    local keys = with({ x.sql .. " DESC" }, table.unpack(st.order))
    keys[#keys + 1] = "_r"
    local w = c:window("ROW_NUMBER() " .. over(with(st.part, x.sql .. " IS NULL"), keys))
    return result(st, ("CASE WHEN %s IS NOT NULL THEN %s END"):format(x.sql, w), "i", false)
  end,
}

-- mean of X weighted by Y over rows where both are valid; N/A when none are (or the
-- weights add up to 0)
E.g_wavg = {
  args = 4,
  empty_ok = { true, true },
  names_ok = { true },
  compile = function(c, a, node)
    local st = setup(c, a, node)
    local x = value_arg(c, a, 3, st, true)
    local y = value_arg(c, a, 4, st, true)
    local num = c:window(("SUM(%s * %s) %s"):format(x.sql, y.sql, over(st.part)))
    local den = c:window(("SUM(CASE WHEN %s IS NOT NULL THEN %s END) %s"):format(
      x.sql, y.sql, over(st.part)))
    return result(st, ("(CAST(%s AS REAL) / %s)"):format(num, den), "f", false)
  end,
}

return M
