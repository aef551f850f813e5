-- <link> and <merge>: bring in a second (foreign) table.
--
-- The foreign table goes through the resolver like any table, then through the ops
-- nested in the link/merge (ctx:foreign), all as stages of the same statement.
--
-- link: the foreign side is reduced to one row per key, the first in its row order
--   (GROUP BY keys with MIN(_r): SQLite takes the other, bare, columns from that row),
--   and joined on the keys with IS, so N/A keys match N/A keys like `=` does:
--     default   LEFT JOIN   every row kept, foreign columns N/A without a match
--     select    JOIN        only rows with a match
--     include   JOIN        only rows with a match, no foreign column added
--     exclude   LEFT JOIN ... WHERE no match
--   The worksheet keeps its row order (_r).
-- merge: UNION ALL of the common columns; the foreign rows follow, their _r shifted
--   past the worksheet's.

local util = require "ttgw.macro.util"

local concat = table.concat
local find_col, split_list, TYPE_WORD = util.find_col, util.split_list, util.TYPE_WORD

local M = {}

local TYPES = { "select", "include", "exclude" }
local UNSUPPORTED_TYPES = { exact = true, asof = true, side = true, expand = true }

-- key column pairs from col / col2 (col2 defaults to col)
local function keys(ctx, op, ws, fws)
  local left = split_list(ctx:attr(op, "col", true))
  local right_attr = op.attrs.col2 and "col2" or "col"
  local right = split_list(op.attrs[right_attr])
  if #left == 0 then
    ctx:bad_value(op, "col", "no column to link on")
  elseif #left ~= #right then
    ctx:bad_value(op, "col2", ("names %d columns, col names %d"):format(#right, #left))
  end
  local out = {}
  for i, l in ipairs(left) do
    local a = find_col(ws, l.text)
    if not a then
      ctx:bad_value(op, "col", ("unknown column '%s' at %d"):format(l.text, l.pos))
    end
    local r = right[i]
    local b = find_col(fws, r.text)
    if not b then
      ctx:bad_value(op, right_attr, ("unknown column '%s' in %s at %d"):format(r.text,
        op.attrs.table2, r.pos))
    end
    if not util.same_kind(a.type, b.type) then
      ctx:fail(10, op, right_attr, ("column types differ: '%s' is %s in the worksheet, '%s' is %s in %s")
        :format(a.name, TYPE_WORD[a.type], b.name, TYPE_WORD[b.type], op.attrs.table2))
    end
    out[i] = { a = a, b = b }
  end
  return out
end

-- foreign columns to add: `cols` (wildcards allowed), else every visible foreign column
-- but the keys; each named name..suffix, which must be new to the worksheet
local function added_cols(ctx, op, ws, fws, ks)
  local suffix = op.attrs.suffix or ""
  if suffix ~= "" and not suffix:find("^[%w_]+$") then
    ctx:bad_value(op, "suffix", "a suffix may only hold letters, digits and _")
  end
  local picked, seen = {}, {}
  if op.attrs.cols then
    for _, item in ipairs(split_list(op.attrs.cols)) do
      local m, any = util.matcher(item.text), false
      for _, c in ipairs(fws.cols) do
        if m(c.name) and (not c.hidden or not item.text:find("*", 1, true)) then
          any = true
          if not seen[c] then
            seen[c] = true
            picked[#picked + 1] = c
          end
        end
      end
      if not any then
        ctx:bad_value(op, "cols", ("unknown column '%s' in %s at %d"):format(item.text,
          op.attrs.table2, item.pos))
      end
    end
  else
    local is_key = {}
    for _, k in ipairs(ks) do
      is_key[k.b] = true
    end
    for _, c in ipairs(fws.cols) do
      if not c.hidden and not is_key[c] then
        picked[#picked + 1] = c
      end
    end
  end
  local link_label = util.heading(op.attrs.label)
  local out, taken = {}, {}
  for _, c in ipairs(picked) do
    local name = c.name .. suffix
    local clash = find_col(ws, name)
    local problem = util.name_problem(name, function(l)
      return taken[l]
    end)
    if clash then
      problem = ("column '%s' of %s: the worksheet already has a column '%s' (add suffix= or"
        .. " leave it out of cols=)"):format(c.name, op.attrs.table2, clash.name)
    end
    if problem then
      ctx:bad_value(op, op.attrs.cols and "cols" or "table2", problem)
    end
    taken[name:lower()] = true
    local label = c.label or c.name
    out[#out + 1] = {
      src = c, col = { name = name, type = c.type, format = c.format,
                       label = link_label and (link_label .. "\n" .. label) or c.label },
    }
  end
  return out
end

function M.link(ctx, ws, op)
  util.refuse(ctx, op, { "shift", "after", "keepcols", "maxrows" })
  local t = op.attrs.type and op.attrs.type:lower()
  if t == "" then
    t = nil
  end
  if t and UNSUPPORTED_TYPES[t] then
    ctx:fail(10, op, "type", ("type=\"%s\" is not supported"):format(t))
  elseif t then
    util.choice(ctx, op, "type", TYPES)
  end
  local semi = t == "include" or t == "exclude"
  if semi then
    for _, a in ipairs({ "cols", "suffix", "label" }) do
      if op.attrs[a] then
        ctx:fail(10, op, a, ("not allowed with type=\"%s\" (no column is added)"):format(t))
      end
    end
  end

  local fws, fcur = ctx:foreign(op, "table2")
  local ks = keys(ctx, op, ws, fws)
  local add = semi and {} or added_cols(ctx, op, ws, fws, ks)

  local fsel, on = {}, {}
  for i, k in ipairs(ks) do
    fsel[i] = ctx:quote(k.b.name) .. " AS _k" .. i
    on[i] = ("%s IS f._k%d"):format(ctx:quote(k.a.name), i)
  end
  local gkeys = {}
  for i, k in ipairs(ks) do
    gkeys[i] = ctx:quote(k.b.name)
  end
  fsel[#fsel + 1] = "MIN(_r) AS _m"
  local sel = { ctx:col_list(ws) }
  for i, a in ipairs(add) do
    fsel[#fsel + 1] = ctx:quote(a.src.name) .. " AS _c" .. i
    sel[#sel + 1] = ("f._c%d AS %s"):format(i, ctx:quote(a.col.name))
  end
  local foreign = ("(SELECT %s FROM %s GROUP BY %s) AS f"):format(concat(fsel, ", "), fcur,
    concat(gkeys, ", "))
  local join = (t == nil or t == "exclude") and "LEFT JOIN" or "JOIN"
  ctx:stage(("SELECT %s FROM %s %s %s ON %s%s"):format(concat(sel, ", "), ctx.cur, join, foreign,
    concat(on, " AND "), t == "exclude" and " WHERE f._m IS NULL" or ""))

  local out = util.copy_ws(ws, t == nil and ws.dense or false)
  for _, a in ipairs(add) do
    out.cols[#out.cols + 1] = a.col
  end
  return out
end

function M.merge(ctx, ws, op)
  util.refuse(ctx, op, { "cols", "common", "after" })
  if not op.attrs.table2 then
    if #op.children > 0 then
      ctx:fail(10, op, nil, "missing required attribute 'table2'")
    end
    return ws -- <merge/> alone copies the worksheet: nothing to do here
  end
  local fws, fcur = ctx:foreign(op, "table2")
  local cols, left, right = {}, {}, {}
  for _, c in ipairs(ws.cols) do
    local f = find_col(fws, c.name)
    if f then
      if not util.same_kind(c.type, f.type) then
        ctx:fail(10, op, "table2", ("column types differ: '%s' is %s in the worksheet, %s in %s")
          :format(c.name, TYPE_WORD[c.type], TYPE_WORD[f.type], op.attrs.table2))
      end
      local typ = (c.type == "j" or f.type == "j") and "j" or c.type
      cols[#cols + 1] = util.copy_col(c, { type = typ })
      left[#left + 1] = ctx:quote(c.name)
      right[#right + 1] = ctx:quote(f.name)
    end
  end
  if #cols == 0 then
    ctx:fail(10, op, "table2", ("no column in common with %s"):format(op.attrs.table2))
  end
  local cur = ctx.cur
  ctx:stage(("SELECT _r, %s FROM %s UNION ALL SELECT _r + (SELECT coalesce(max(_r), 0) FROM %s), %s FROM %s")
    :format(concat(left, ", "), cur, cur, concat(right, ", "), fcur))
  local out = util.copy_ws(ws, ws.dense and fws.dense)
  out.cols = cols
  local visible = false
  for _, c in ipairs(cols) do
    visible = visible or not c.hidden
  end
  if not visible then
    ctx:fail(10, op, "table2", "no visible column in common")
  end
  return out
end

return M
