-- Lexer and parser for value / selection expressions.
--
-- parse(text) returns an AST; errors are raised as { code = 9, epos = <1-based
-- character position in text>, detail = "..." } for the caller to put in context.
--
-- Node kinds:
--   num   { v = <lua number>, t = "i"|"j"|"f", src = "12,345" }   (dates/times become num)
--   str   { v = "text" }                                           ('' is N/A)
--   id    { name = "sales" }                                       (column or system variable)
--   sys   { name = "i_" }                                          (written i_())
--   call  { name = "between", args = { ... } }
--   neg   { e = node }        not { e = node }
--   bin   { op = "+", l = node, r = node }
--   list  { items = { literal nodes } }                            (space-separated literals)
--   names { items = { id nodes } }       (call argument: names separated by blanks or commas)
--   empty {}                                                       (omitted call argument)
-- Every node has pos, the character position where it starts (bin: the operator).

local M = {}

local function fail(pos, detail)
  error({ code = 9, epos = pos, detail = detail }, 0)
end
M.fail = fail

local INT32_MIN, INT32_MAX = -2147483648, 2147483647

local function int_type(v)
  if math.type(v) ~= "integer" then
    return "f"
  end
  return (v >= INT32_MIN and v <= INT32_MAX) and "i" or "j"
end
M.int_type = int_type

-- The quoted text starting at s[i] ("'"): '' inside stands for one quote, so the text ''
-- alone is empty (N/A). Returns the text and the position after the closing quote, or nil
-- when the quote is never closed.
function M.quoted(s, i)
  local parts, p = {}, i + 1
  while true do
    local q = s:find("'", p, true)
    if not q then return nil end
    parts[#parts + 1] = s:sub(p, q - 1)
    if s:sub(q + 1, q + 1) ~= "'" then return table.concat(parts), q + 1 end
    parts[#parts + 1] = "'"
    p = q + 2
  end
end

local DAYS = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

-- m/d/y strings to YYYYMMDD; two-digit years: 00-49 -> 20xx, 50-99 -> 19xx.
-- Returns the integer, or nil and a reason.
local function date_value(m, d, y)
  local mm, dd, yy = tonumber(m), tonumber(d), tonumber(y)
  if #y == 2 then
    yy = yy + (yy < 50 and 2000 or 1900)
  end
  if mm < 1 or mm > 12 then
    return nil, "month out of range"
  end
  local leap = (yy % 4 == 0 and yy % 100 ~= 0) or yy % 400 == 0
  local maxd = (mm == 2 and not leap) and 28 or DAYS[mm]
  if dd < 1 or dd > maxd then
    return nil, "day out of range"
  end
  return yy * 10000 + mm * 100 + dd
end

-- A whole string that is an m/d/y date, as used for quoted dates ('1/1/2014').
function M.date_string(s)
  local m, d, y = s:match("^%s*(%d%d?)/(%d%d?)/(%d+)%s*$")
  if not m or (#y ~= 2 and #y ~= 4) then
    return nil
  end
  return (date_value(m, d, y))
end

local OPS2 = { ["<>"] = true, ["<="] = true, [">="] = true }
local OPS1 = {
  ["^"] = true, ["*"] = true, ["/"] = true, ["+"] = true, ["-"] = true, ["="] = true,
  ["<"] = true, [">"] = true, ["&"] = true, ["|"] = true, ["~"] = true, ["("] = true,
  [")"] = true, [";"] = true, [","] = true,
}

-- character right after a literal must not glue it to a following word
local function ends_clean(s, p)
  return not s:find("^[%w_%.]", p)
end

local function lex(s)
  local toks = {}
  local i, n = 1, #s
  while true do
    i = s:find("%S", i)
    if not i then
      break
    end
    local c = s:sub(i, i)
    local tok
    if c:find("%d") or (c == "." and s:find("^%.%d", i)) then
      local m, d, y, e = s:match("^(%d%d?)/(%d%d?)/(%d+)()", i)
      local hh, mi, e2 = s:match("^(%d%d?):(%d%d)()", i)
      if m and (#y == 2 or #y == 4) and ends_clean(s, e) then
        local v, why = date_value(m, d, y)
        if not v then
          fail(i, ("invalid date '%s': %s"):format(s:sub(i, e - 1), why))
        end
        tok = { k = "num", v = v, t = "i", pos = i, src = s:sub(i, e - 1) }
      elseif hh then
        local ss = "00"
        local sec, e3 = s:match("^:(%d%d)()", e2)
        if sec then
          ss, e2 = sec, e3
        end
        if not ends_clean(s, e2) then
          fail(i, ("invalid time '%s'"):format(s:match("^[%w_%.:]+", i)))
        end
        local h, mm, sc = tonumber(hh), tonumber(mi), tonumber(ss)
        if h > 23 or mm > 59 or sc > 59 then
          fail(i, ("invalid time '%s'"):format(s:sub(i, e2 - 1)))
        end
        tok = { k = "num", v = h * 10000 + mm * 100 + sc, t = "i", pos = i, src = s:sub(i, e2 - 1) }
      else
        -- digits, optionally grouped by commas in threes, then an optional fraction
        local digits = s:match("^%d*", i)
        local p = i + #digits
        if #digits >= 1 and #digits <= 3 then
          while s:find("^,%d%d%d", p) and not s:find("^%d", p + 4) do
            digits = digits .. s:sub(p + 1, p + 3)
            p = p + 4
          end
        end
        local frac = s:match("^%.(%d+)", p)
        local v
        if frac then
          p = p + 1 + #frac
          v = tonumber((digits == "" and "0" or digits) .. "." .. frac)
        else
          v = math.tointeger(tonumber(digits)) or tonumber(digits)
        end
        tok = { k = "num", v = v, t = int_type(v), pos = i, src = s:sub(i, p - 1) }
      end
    elseif c == "'" then
      local v, p = M.quoted(s, i)
      if not v then fail(i, "unterminated text literal") end
      tok = { k = "str", v = v, pos = i, src = s:sub(i, p - 1) }
    elseif c:find("[%a_]") then
      local name = s:match("^[%w_]+", i)
      tok = { k = "id", v = name, pos = i, src = name }
    elseif OPS2[s:sub(i, i + 1)] then
      tok = { k = "op", v = s:sub(i, i + 1), pos = i, src = s:sub(i, i + 1) }
    elseif OPS1[c] then
      tok = { k = "op", v = c, pos = i, src = c }
    elseif s:sub(i, i + 1) == "!=" then
      fail(i, "unknown operator '!=' (use <>)")
    else
      fail(i, ("unexpected character '%s'"):format(s:match("^" .. utf8.charpattern, i) or c))
    end
    toks[#toks + 1] = tok
    i = tok.pos + #tok.src
  end
  toks[#toks + 1] = { k = "eof", pos = n + 1, src = "" }
  return toks
end
M.lex = lex

-- SQLite refuses expression trees deeper than 1000; a level here adds at most about three
local MAX_DEPTH = 300

-- set the nesting depth of a new inner node (leaves count 1)
local function nest(node, ...)
  local d = 0
  for _, child in ipairs({ ... }) do
    d = math.max(d, child.d or 1)
  end
  node.d = d + 1
  if node.d > MAX_DEPTH then
    fail(node.pos, "expression nested too deeply")
  end
  return node
end

local RELOPS = { ["="] = true, ["<>"] = true, ["<"] = true, [">"] = true, ["<="] = true,
                 [">="] = true }

local function is_literal(node)
  return node.k == "num" or node.k == "str" or (node.k == "neg" and node.e.k == "num")
end

function M.parse(text)
  local toks = lex(text)
  local k = 1
  local function peek()
    return toks[k]
  end
  local function is_op(v)
    local t = toks[k]
    return t.k == "op" and t.v == v
  end
  local function unexpected()
    local t = toks[k]
    if t.k == "eof" then
      fail(t.pos, "syntax error: unexpected end of expression")
    end
    fail(t.pos, ("syntax error: unexpected '%s'"):format(t.src))
  end
  local function expect(v)
    if not is_op(v) then
      unexpected()
    end
    k = k + 1
  end
  local function starts_literal()
    local t = toks[k]
    return t.k == "num" or t.k == "str"
  end

  local expr

  local function literal()
    local t = toks[k]
    k = k + 1
    if t.k == "num" then
      return { k = "num", v = t.v, t = t.t, src = t.src, pos = t.pos }
    end
    return { k = "str", v = t.v, pos = t.pos }
  end

  -- after a first literal, more space-separated literals make a list
  local function maybe_list(first)
    if not (is_literal(first) and starts_literal()) then
      return first
    end
    local items = { first }
    while starts_literal() do
      items[#items + 1] = literal()
    end
    return { k = "list", items = items, pos = first.pos }
  end

  -- a call argument that is two or more names separated by blanks or commas (the G and
  -- O arguments of g_ functions: `g_sum(state city;;sales)`); nil if it is not one
  local function name_list()
    local t, nxt = toks[k], toks[k + 1]
    if t.k ~= "id" or not (nxt.k == "id" or (nxt.k == "op" and nxt.v == ",")) then
      return nil
    end
    local items = {}
    while true do
      local tt = peek()
      if tt.k ~= "id" then
        unexpected()
      end
      items[#items + 1] = { k = "id", name = tt.v, pos = tt.pos }
      k = k + 1
      if is_op(",") then
        k = k + 1
      elseif is_op(";") or is_op(")") then
        return { k = "names", items = items, pos = t.pos }
      end
    end
  end

  local function call_args(name, pos)
    local args = {}
    expect("(")
    if is_op(")") then
      k = k + 1
      return { k = "call", name = name, args = args, pos = pos }
    end
    while true do
      if is_op(";") or is_op(")") then
        args[#args + 1] = { k = "empty", pos = peek().pos }
      else
        args[#args + 1] = name_list() or maybe_list(expr())
      end
      if is_op(";") then
        k = k + 1
      elseif is_op(")") then
        k = k + 1
        return nest({ k = "call", name = name, args = args, pos = pos }, table.unpack(args))
      else
        unexpected()
      end
    end
  end

  local function primary()
    local t = peek()
    if t.k == "num" or t.k == "str" then
      return literal()
    elseif t.k == "id" then
      k = k + 1
      if is_op("(") then
        if t.v:sub(-1) == "_" then
          k = k + 1
          if not is_op(")") then
            fail(peek().pos, ("system variable '%s' takes no argument"):format(t.v))
          end
          k = k + 1
          return { k = "sys", name = t.v, pos = t.pos }
        end
        return call_args(t.v, t.pos)
      end
      return { k = "id", name = t.v, pos = t.pos }
    elseif is_op("(") then
      k = k + 1
      local e = expr()
      expect(")")
      return e
    end
    unexpected()
  end

  local function unary()
    if is_op("-") then
      local pos = peek().pos
      k = k + 1
      local e = unary()
      if e.k == "num" then -- fold so that -1 is one literal
        return { k = "num", v = -e.v, t = int_type(-e.v), src = "-" .. e.src, pos = pos }
      end
      return nest({ k = "neg", e = e, pos = pos }, e)
    end
    return primary()
  end

  -- one precedence level of left-associative binary operators
  local function level(ops, sub)
    return function()
      local l = sub()
      while true do
        local t = peek()
        if not (t.k == "op" and ops[t.v]) then
          return l
        end
        k = k + 1
        local r = sub()
        l = nest({ k = "bin", op = t.v, l = l, r = r, pos = t.pos }, l, r)
      end
    end
  end

  local power = level({ ["^"] = true }, unary)
  local term = level({ ["*"] = true, ["/"] = true }, power)
  local additive = level({ ["+"] = true, ["-"] = true }, term)

  local function compare()
    local l = additive()
    while true do
      local t = peek()
      if not (t.k == "op" and RELOPS[t.v]) then
        return l
      end
      k = k + 1
      local r = additive()
      if t.v == "=" or t.v == "<>" then
        r = maybe_list(r)
      end
      l = nest({ k = "bin", op = t.v, l = l, r = r, pos = t.pos }, l, r)
    end
  end

  -- & and | share a level; a ~ operand runs to the end of the expression
  local function logical()
    local l = compare()
    while is_op("&") or is_op("|") do
      local t = peek()
      k = k + 1
      local r
      if is_op("~") then
        r = expr()
      else
        r = compare()
      end
      l = nest({ k = "bin", op = t.v, l = l, r = r, pos = t.pos }, l, r)
    end
    return l
  end

  function expr()
    if is_op("~") then
      local pos = peek().pos
      k = k + 1
      local e = expr()
      return nest({ k = "not", e = e, pos = pos }, e)
    end
    return logical()
  end

  if toks[1].k == "eof" then
    fail(1, "syntax error: empty expression")
  end
  local root = expr()
  if peek().k ~= "eof" then
    unexpected()
  end
  return root
end

return M
