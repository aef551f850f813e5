-- Helpers shared by the op handlers (ops.lua, tabu.lua, link.lua, inline.lua).
--
-- A worksheet is { cols = { {name, type, format, label, hidden}... }, dense = bool,
-- title = string|nil }; dense means _r is exactly 1..n (so i_ is _r). Column records are
-- never changed in place: a handler that changes one copies it.

local M = {}

M.TYPE_WORD = { i = "integer", j = "integer", f = "decimal", a = "text", n = "N/A" }

function M.copy_ws(ws, dense)
  local cols = {}
  for i, c in ipairs(ws.cols) do
    cols[i] = c
  end
  return { cols = cols, dense = dense == nil and ws.dense or dense, title = ws.title }
end

function M.copy_col(c, changes)
  local n = { name = c.name, type = c.type, format = c.format, label = c.label, hidden = c.hidden }
  for k, v in pairs(changes) do
    n[k] = v
  end
  return n
end

-- column of ws by name, case-insensitively (hidden columns included)
function M.find_col(ws, name)
  local lname = name:lower()
  for _, c in ipairs(ws.cols) do
    if c.name:lower() == lname then
      return c
    end
  end
end

-- comma list items with their 1-based start positions, surrounding blanks removed
function M.split_list(s)
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
function M.matcher(pat)
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

function M.flag(ctx, op, attr)
  local v = op.attrs[attr]
  if v == nil or v == "0" then
    return false
  elseif v == "1" then
    return true
  end
  ctx:bad_value(op, attr, "expected 0 or 1")
end

-- an attribute from a fixed set of words (case-insensitive); nil when absent
function M.choice(ctx, op, attr, allowed)
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

-- refuse attributes this implementation does not support (never silently ignored)
function M.refuse(ctx, op, attrs)
  for _, a in ipairs(attrs) do
    if op.attrs[a] ~= nil then
      ctx:fail(10, op, a, "not supported")
    end
  end
end

-- problem with a new column name, or nil; taken(lname) tells whether a name is in use
function M.name_problem(name, taken)
  if not name:find("^%a[%w_]*$") then
    return "invalid column name (letters, digits and _, starting with a letter)"
  elseif name:sub(-1) == "_" then
    return "names ending in _ are reserved for system variables"
  elseif taken and taken(name:lower()) then
    return ("column '%s' already exists"):format(name)
  end
end

-- label attribute -> heading: a backquote breaks the line
function M.heading(label)
  return label and (label:gsub("`", "\n")) or nil
end

-- i and j are both integers and may meet (in link keys, merged columns)
function M.same_kind(a, b)
  local ia, ib = a == "i" or a == "j", b == "i" or b == "j"
  return a == b or (ia and ib)
end

-- ORDER BY item for a sort key: N/A lowest (first up, last down) unless naorder says
function M.order_item(sql, desc, naorder)
  local s = sql .. (desc and " DESC" or "")
  if naorder == "first" and desc then
    s = s .. " NULLS FIRST"
  elseif naorder == "last" and not desc then
    s = s .. " NULLS LAST"
  end
  return s
end

return M
