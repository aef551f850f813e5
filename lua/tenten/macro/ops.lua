-- Op handlers: one function per Macro Language operation.
--
-- handler(ctx, ws, op) -> new worksheet. ws = { cols = { {name, type, format, label,
-- hidden}... }, dense = bool } where dense means _r is exactly 1..n (so i_ is _r).
-- Column records are never changed in place: a handler that changes one copies it.
-- ctx (tenten.macro) provides: fail, bad_value, attr, expr, source, stage, col_list,
-- quote, load. A handler that changes rows adds one stage (CTE) with ctx:stage.

local M = {}

local H = {}
M.handlers = H

-- ops of later subsets: refused by name rather than called unknown
M.unsupported = {
  tabu = true, tcol = true, ["break"] = true, link = true, merge = true, table = true,
  block = true, library = true, insert = true, let = true, defop = true,
}

-- ops that may come before any table is loaded
M.no_table = { base = true, note = true }

local function copy_ws(ws, dense)
  local cols = {}
  for i, c in ipairs(ws.cols) do
    cols[i] = c
  end
  return { cols = cols, dense = dense == nil and ws.dense or dense }
end

local function copy_col(c, changes)
  local n = { name = c.name, type = c.type, format = c.format, label = c.label, hidden = c.hidden }
  for k, v in pairs(changes) do
    n[k] = v
  end
  return n
end

local function find_col(ws, name)
  local lname = name:lower()
  for _, c in ipairs(ws.cols) do
    if c.name:lower() == lname then
      return c
    end
  end
end

-- comma list items with their 1-based start positions, surrounding blanks removed
local function split_list(s)
  local items = {}
  for start, item in (s .. ","):gmatch("()([^,]*),") do
    local lead, body = item:match("^(%s*)(.-)%s*$")
    if body ~= "" then
      items[#items + 1] = { text = body, pos = start + #lead }
    end
  end
  return items
end

-- `*` matches any run of characters; names compare case-insensitively
local function matcher(pat)
  local lp = pat:lower()
  if not lp:find("*", 1, true) then
    return function(name)
      return name:lower() == lp
    end
  end
  local lua_pat = "^" .. lp:gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0"):gsub("%*", ".*") .. "$"
  return function(name)
    return name:lower():find(lua_pat) ~= nil
  end
end

local function flag(ctx, op, attr)
  local v = op.attrs[attr]
  if v == nil or v == "0" then
    return false
  elseif v == "1" then
    return true
  end
  ctx:bad_value(op, attr, "expected 0 or 1")
end

local function choice(ctx, op, attr, allowed)
  local v = op.attrs[attr]
  if v == nil then
    return nil
  end
  local lv = v:lower()
  for _, a in ipairs(allowed) do
    if lv == a then
      return lv
    end
  end
  ctx:bad_value(op, attr, "expected " .. table.concat(allowed, " or "))
end

---------------------------------------------------------------------------------------

function H.note(_, ws)
  return ws
end

function H.base(ctx, _, op)
  return ctx:load(ctx:attr(op, "table", true), op)
end

-- keep rows whose value is 1
function H.sel(ctx, ws, op)
  for _, a in ipairs({ "expand", "sample" }) do
    if op.attrs[a] ~= nil then
      ctx:fail(10, op, a, "not supported")
    end
  end
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
  if not name:find("^%a[%w_]*$") then
    ctx:bad_value(op, "name", "invalid column name (letters, digits and _, starting with a letter)")
  elseif name:sub(-1) == "_" then
    ctx:bad_value(op, "name", "names ending in _ are reserved for system variables")
  elseif find_col(ws, name) then
    ctx:bad_value(op, "name", ("column '%s' already exists"):format(find_col(ws, name).name))
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
    label = label and label:gsub("`", "\n") or nil,
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
    local s = k.sql .. (k.desc and " DESC" or "")
    -- SQLite already puts NULL first ascending and last descending (N/A lowest)
    if naorder == "first" and k.desc then
      s = s .. " NULLS FIRST"
    elseif naorder == "last" and not k.desc then
      s = s .. " NULLS LAST"
    end
    parts[#parts + 1] = s
  end
  parts[#parts + 1] = "_r"
  local rest = ctx:col_list(ws, false)
  ctx:stage(("SELECT ROW_NUMBER() OVER (ORDER BY %s) AS _r%s FROM %s"):format(
    table.concat(parts, ", "), rest == "" and "" or ", " .. rest, ctx:source(comp)))
  return copy_ws(ws, true)
end

return M
