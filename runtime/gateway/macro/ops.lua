-- Op handlers: one function per Macro Language operation.
--
-- handler(ctx, ws, op) -> new worksheet (see ttgw.macro.util for its shape).
-- ctx (ttgw.macro) provides: fail, bad_value, attr, expr, compiler, source, stage,
-- col_list, quote, load, foreign, param. A handler that changes rows adds one stage (CTE)
-- with ctx:stage. <tabu> lives in macro/tabu.lua, <link> and <merge> in macro/link.lua,
-- <table> in macro/inline.lua.

local util = require "ttgw.macro.util"
local tabu = require "ttgw.macro.tabu"
local link = require "ttgw.macro.link"
local inline = require "ttgw.macro.inline"

local copy_ws, copy_col, find_col = util.copy_ws, util.copy_col, util.find_col
local split_list, matcher, flag, choice = util.split_list, util.matcher, util.flag, util.choice

local M = {}

local H = {}
M.handlers = H

-- known ops this implementation does not do: refused by name rather than called unknown
M.unsupported = {
  block = true, library = true, insert = true, let = true, defop = true,
}

-- elements that only make sense inside another one
M.child_of = { tcol = "tabu", ["break"] = "tabu" }

-- ops that may come before any table is loaded
M.no_table = { base = true, note = true, table = true }

-- ops that start the worksheet over: not allowed inside <link> or <merge>
M.top_only = { base = true, table = true }

---------------------------------------------------------------------------------------

function H.note(_, ws)
  return ws
end

function H.base(ctx, _, op)
  return ctx:load(ctx:attr(op, "table", true), op)
end

-- keep rows whose value is 1
function H.sel(ctx, ws, op)
  util.refuse(ctx, op, { "expand", "sample" })
  ctx:attr(op, "value", true)
  local v, comp = ctx:expr(ws, op, "value")
  ctx:stage(("SELECT %s FROM %s WHERE %s"):format(ctx:col_list(ws), ctx:source(comp),
    comp:cond(v)))
  return copy_ws(ws, false)
end

-- append a computed column
function H.willbe(ctx, ws, op)
  local name = ctx:attr(op, "name", true)
  ctx:attr(op, "value", true)
  local clash = find_col(ws, name)
  local problem = util.name_problem(name) or (clash and ("column '%s' already exists"):format(clash.name))
  if problem then
    ctx:bad_value(op, "name", problem)
  end
  local v, comp = ctx:expr(ws, op, "value")
  ctx:stage(("SELECT %s, %s AS %s FROM %s"):format(ctx:col_list(ws), v.sql, ctx:quote(name),
    ctx:source(comp)))
  local out = copy_ws(ws)
  local label = op.attrs.label
  out.cols[#out.cols + 1] = {
    name = name,
    type = v.t == "n" and "a" or v.t,
    format = op.attrs.format,
    label = util.heading(label),
  }
  return out
end

-- choose and order visible columns; no SQL: later stages and the final SELECT project
-- from the worksheet description
function H.colord(ctx, ws, op)
  local hard = flag(ctx, op, "hard")
  local cols_attr, hide_attr = op.attrs.cols, op.attrs.hide
  local order, picked = {}, {}
  if cols_attr and cols_attr:find("%S") then
    for _, item in ipairs(split_list(cols_attr)) do
      local m = matcher(item.text)
      for _, c in ipairs(ws.cols) do
        if not picked[c] and m(c.name) then
          picked[c] = true
          order[#order + 1] = c
        end
      end
    end
  else
    for _, c in ipairs(ws.cols) do
      picked[c] = true
      order[#order + 1] = c
    end
  end
  local hide = {}
  for _, item in ipairs(split_list(hide_attr or "")) do
    local m = matcher(item.text)
    for _, c in ipairs(ws.cols) do
      if m(c.name) then
        hide[c] = true
      end
    end
  end
  for _, c in ipairs(ws.cols) do
    if not picked[c] then
      order[#order + 1] = c
      hide[c] = true
    end
  end
  local out, nvis = copy_ws(ws), 0
  out.cols = {}
  for _, c in ipairs(order) do
    if not (hard and hide[c]) then
      out.cols[#out.cols + 1] = copy_col(c, { hidden = hide[c] or false })
    end
    if not hide[c] then
      nvis = nvis + 1
    end
  end
  if nvis == 0 then
    ctx:fail(9, op, cols_attr and "cols" or "hide", "no column left visible")
  end
  return out
end

-- stable re-sort; _r becomes the new row number
function H.sort(ctx, ws, op)
  local col, cols = op.attrs.col, op.attrs.cols
  if col and cols then
    ctx:fail(10, op, nil, "use either col or cols, not both")
  elseif not col and not cols then
    ctx:fail(10, op, nil, "missing required attribute 'col'")
  end
  local dir = choice(ctx, op, "dir", { "up", "down" })
  local naorder = choice(ctx, op, "naorder", { "first", "last" })
  if cols and dir then
    ctx:fail(10, op, nil, "dir cannot be combined with cols (prefix a name with ` for down)")
  end
  local keys, comp = {}, nil
  if col then
    local v
    v, comp = ctx:expr(ws, op, "col")
    keys[1] = { sql = v.sql, desc = dir == "down" }
  else
    for _, item in ipairs(split_list(cols)) do
      local desc = item.text:sub(1, 1) == "`"
      local name = desc and item.text:sub(2):match("^%s*(.-)$") or item.text
      local c = find_col(ws, name)
      if not c then
        ctx:bad_value(op, "cols", ("unknown column '%s' at %d"):format(name, item.pos))
      end
      keys[#keys + 1] = { sql = ctx:quote(c.name), desc = desc }
    end
    if #keys == 0 then
      ctx:bad_value(op, "cols", "no column to sort by")
    end
  end
  local parts = {}
  for _, k in ipairs(keys) do
    parts[#parts + 1] = util.order_item(k.sql, k.desc, naorder)
  end
  parts[#parts + 1] = "_r"
  local rest = ctx:col_list(ws, false)
  ctx:stage(("SELECT ROW_NUMBER() OVER (ORDER BY %s) AS _r%s FROM %s"):format(
    table.concat(parts, ", "), rest == "" and "" or ", " .. rest, ctx:source(comp)))
  return copy_ws(ws, true)
end

H.tabu = tabu.tabu
H.link = link.link
H.merge = link.merge
H.table = inline.table

return M
