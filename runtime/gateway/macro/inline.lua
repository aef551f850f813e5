-- <table cols="name:a,v:i" title="t">John,8;John,2;Mary,3</table>: a worksheet from
-- literal data in the element's text. Like <base>, it starts the worksheet over.
--
-- Text: rows separated by `;`, values by `,`; blanks around values are dropped; a value
-- may be quoted with single quotes to keep `,` `;` and blanks ('' inside stands for one
-- quote). An empty value (or '') is N/A. Rows holding only blanks (not even a comma)
-- are skipped, so a trailing `;` and line breaks are fine; a one-column N/A row is ''.
-- Types: `name:i|j|f|a` in cols, else inferred from the values: all integers (or m/d/y
-- dates, stored YYYYMMDD) -> i (j beyond 32 bits), all numbers -> f, otherwise (or any
-- quoted value, or only N/A) -> a.
-- SQL: SELECT column1 AS _r, column2 AS "name", ... FROM (VALUES (1, ?1, ?2), ...), every
-- value a bound parameter.

local util = require "ttgw.macro.util"
local expr = require "ttgw.macro.expr"

local concat = table.concat

local M = {}

local INT32_MIN, INT32_MAX = -2147483648, 2147483647

-- split the text into rows of { raw = text|nil (N/A), quoted = bool, pos = n }
local function parse_rows(ctx, op, text)
  local rows, row = {}, {}
  local i, n = 1, #text
  local blank_row = true
  local function bad(pos, msg)
    ctx:fail(9, op, nil, ("%s at %d"):format(msg, pos))
  end
  while true do
    -- one value
    local s = text:find("[^ \t\r\n]", i) or n + 1
    local cell
    if text:sub(s, s) == "'" then
      local v, p = expr.quoted(text, s)
      if not v then bad(s, "unterminated quoted value") end
      cell = { raw = v ~= "" and v or nil, quoted = true, pos = s }
      i = text:find("[^ \t\r\n]", p) or n + 1
      local c = text:sub(i, i)
      if c ~= "" and c ~= "," and c ~= ";" then
        bad(i, "expected , or ; after a quoted value")
      end
      blank_row = false
    else
      local e = text:find("[,;]", s) or n + 1
      local v = text:sub(s, e - 1):match("^(.-)%s*$")
      if v:find("'", 1, true) then
        bad(s + (v:find("'", 1, true) - 1), "a quote inside an unquoted value (quote the whole value)")
      end
      cell = { raw = v ~= "" and v or nil, quoted = false, pos = s }
      if v ~= "" then
        blank_row = false
      end
      i = e
    end
    row[#row + 1] = cell
    local c = text:sub(i, i)
    if c == "," then
      blank_row = false
      i = i + 1
    else -- ";" or end of text
      if not blank_row then
        row.pos = row[1].pos
        rows[#rows + 1] = row
      end
      if c == "" then
        break
      end
      row, blank_row, i = {}, true, i + 1
    end
  end
  return rows
end

local function is_int(s)
  return s:find("^[-+]?%d+$") ~= nil
end

local function is_num(s)
  return s:find("^[-+]?%d+%.?%d*$") ~= nil or s:find("^[-+]?%.%d+$") ~= nil
    or s:find("^[-+]?%d+%.?%d*[eE][-+]?%d+$") ~= nil or s:find("^[-+]?%.%d+[eE][-+]?%d+$") ~= nil
end

local function infer(rows, j)
  local kind = nil -- nil: only N/A so far
  for _, row in ipairs(rows) do
    local cell = row[j]
    if cell.raw then
      if cell.quoted then
        return "a"
      end
      local k = (is_int(cell.raw) or expr.date_string(cell.raw)) and "i" or (is_num(cell.raw) and "f")
      if not k then
        return "a"
      end
      if k == "i" and is_int(cell.raw) then
        local v = math.tointeger(tonumber(cell.raw))
        if not v then
          k = "f"
        elseif v < INT32_MIN or v > INT32_MAX then
          k = "j"
        end
      end
      if kind == nil or k == "f" or (k == "j" and kind == "i") then
        kind = k
      end
    end
  end
  return kind or "a"
end

-- Lua value of a cell for column type t, or nil and a reason
local function value(raw, t)
  if t == "a" then
    return raw
  elseif t == "f" then
    if is_num(raw) then
      return tonumber(raw) + 0.0
    end
    return nil, "is not a number"
  end
  local d = expr.date_string(raw)
  if d then
    return d
  end
  if not is_int(raw) then
    return nil, "is not an integer"
  end
  local v = math.tointeger(tonumber(raw))
  if not v or (t == "i" and (v < INT32_MIN or v > INT32_MAX)) then
    return nil, "is out of range"
  end
  return v
end

function M.table(ctx, _, op)
  if #op.children > 0 then
    local ch = op.children[1]
    ch.path = op.path .. "." .. ch.index
    ctx:fail(10, ch, nil, "not allowed inside <table> (rows go in its text)")
  end
  ctx:restart()
  local cols, taken = {}, {}
  local specs = util.split_list(ctx:attr(op, "cols", true))
  if #specs == 0 then
    ctx:bad_value(op, "cols", "no column")
  end
  for _, item in ipairs(specs) do
    local name, t = item.text:match("^(.-)%s*:%s*(%a)$")
    name = name or item.text
    if t and not (t == "i" or t == "j" or t == "f" or t == "a") then
      ctx:bad_value(op, "cols", ("unknown type '%s' at %d (i, j, f or a)"):format(t, item.pos))
    end
    local problem = util.name_problem(name, function(l)
      return taken[l]
    end)
    if problem then
      ctx:bad_value(op, "cols", ("%s at %d"):format(problem, item.pos))
    end
    taken[name:lower()] = true
    cols[#cols + 1] = { name = name, type = t }
  end
  local rows = parse_rows(ctx, op, op.text)
  for r, row in ipairs(rows) do
    if #row ~= #cols then
      ctx:fail(9, op, nil, ("row %d has %d value%s for %d column%s at %d"):format(r, #row,
        #row == 1 and "" or "s", #cols, #cols == 1 and "" or "s", row.pos))
    end
  end
  for j, c in ipairs(cols) do
    c.type = c.type or infer(rows, j)
  end

  local tuples = {}
  for r, row in ipairs(rows) do
    local vals = { tostring(r) }
    for j, c in ipairs(cols) do
      local cell = row[j]
      if cell.raw == nil then
        vals[#vals + 1] = "NULL"
      else
        local v, why = value(cell.raw, c.type)
        if v == nil then
          ctx:fail(9, op, nil, ("value '%s' of column %s (%s) %s at %d"):format(cell.raw, c.name,
            util.TYPE_WORD[c.type], why, cell.pos))
        end
        vals[#vals + 1] = ctx:param(v, op)
      end
    end
    tuples[r] = "(" .. concat(vals, ", ") .. ")"
  end
  local sel = { "column1 AS _r" }
  for j, c in ipairs(cols) do
    sel[#sel + 1] = ("column%d AS %s"):format(j + 1, ctx:quote(c.name))
  end
  if #rows == 0 then
    local empty = { "NULL AS _r" }
    for _, c in ipairs(cols) do
      empty[#empty + 1] = "NULL AS " .. ctx:quote(c.name)
    end
    ctx:stage(("SELECT %s WHERE 0"):format(concat(empty, ", ")))
  else
    ctx:stage(("SELECT %s FROM (VALUES %s)"):format(concat(sel, ", "), concat(tuples, ", ")))
  end
  return { cols = cols, dense = true, title = op.attrs.title }
end

return M
