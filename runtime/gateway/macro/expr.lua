-- The grammar of value / selection expressions (LPeg), and the helpers for literals.
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

-- The grammar below is LPeg, one pattern per precedence level, matched straight on the
-- text (no token list). Every failure raises: a failed branch would lose the position a
-- message needs, and the language only ever needs one token of look-ahead (two for a
-- list of names; a few for a list of literals), so no branch is undone after a node
-- is built.
--
-- Match-time captures (Cmt) never return values: LPeg removes the values of nested
-- match-time captures one by one from the middle of the Lua stack, which costs time
-- quadratic in their number. The one Cmt that builds a node (expr, below) leaves it in a
-- side table instead.
local lpeg = require "lpeg"
local P, R, S, C, Cc, Cp, Cs, Cmt, Ct, V, Carg =
  lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cc, lpeg.Cp, lpeg.Cs, lpeg.Cmt, lpeg.Ct, lpeg.V, lpeg.Carg

-- A bracket level costs about a dozen backtrack entries; the caller allows 64 levels
-- (init.lua), far past LPeg's default of 400.
lpeg.setmaxstack(4000)

---------------------------------------------------------------------------------------
-- tokens

local space = S(" \t\n\v\f\r") ^ 0
local digit = R("09")
local alpha = R("az", "AZ") + "_"
local word = alpha + digit
local glued = word + "." -- after a date or time it would glue it to a following word
local d12 = digit * digit ^ -1
local d2 = digit * digit

-- m/d/y with a 2- or 4-digit year; any other year length is not a date (the text is then
-- read as numbers and operators)
local date_raw = d12 * "/" * d12 * "/" * (d2 * d2 + d2) * -glued
local date = Cp() * C(C(d12) * "/" * C(d12) * "/" * C(d2 * d2 + d2)) * -glued
  / function(i, src, m, d, y)
    local v, why = date_value(m, d, y)
    if not v then
      fail(i, ("invalid date '%s': %s"):format(src, why))
    end
    return { k = "num", v = v, t = "i", src = src, pos = i }
  end

-- hh:mm or hh:mm:ss; glued to a following word it is an error, not a number
local time_raw = d12 * ":" * d2 * (":" * d2) ^ -1
local time = Cp() * C(C(d12) * ":" * C(d2) * (":" * C(d2)) ^ -1) * -glued
  / function(i, src, hh, mi, ss)
    local h, m, sc = tonumber(hh), tonumber(mi), tonumber(ss or "00")
    if h > 23 or m > 59 or sc > 59 then
      fail(i, ("invalid time '%s'"):format(src))
    end
    return { k = "num", v = h * 10000 + m * 100 + sc, t = "i", src = src, pos = i }
  end
  + #(time_raw * glued) * Cp() * C((word + S(".:")) ^ 1) / function(i, src)
    fail(i, ("invalid time '%s'"):format(src))
  end

-- digits, optionally grouped by commas in threes (1,234,567), then an optional fraction
local grouped = digit * digit ^ -2 * -digit * ("," * d2 * digit * -digit) ^ 1
local number_raw = (grouped + digit ^ 1) * ("." * digit ^ 1) ^ -1 + "." * digit ^ 1
local fraction = "." * C(digit ^ 1)
local number = Cp() * C(C(grouped + digit ^ 1) * fraction ^ -1 + Cc("") * fraction)
  / function(i, src, digits, frac)
    if digits:find(",", 1, true) then
      digits = digits:gsub(",", "")
    end
    local v
    if frac then
      v = tonumber((digits == "" and "0" or digits) .. "." .. frac)
    else
      v = math.tointeger(tonumber(digits)) or tonumber(digits)
    end
    return { k = "num", v = v, t = int_type(v), src = src, pos = i }
  end

local starts_number = #(digit + "." * digit)
local numeric = starts_number * (date + time + number)
local numeric_raw = starts_number * (date_raw + time_raw + number_raw)
local text_raw = "'" * (P("''") + (1 - P("'"))) ^ 0 * "'"
local text = Cp() * "'" * Cs((P("''") / "'" + (1 - P("'"))) ^ 0) * "'"
  / function(i, v) return { k = "str", v = v, pos = i } end
local literal = numeric + text
local literal_raw = numeric_raw + text_raw
local ident = alpha * word ^ 0
local op2 = P("<>") + "<=" + ">="
local op1 = S("^*/+-=<>&|~();,")

-- The first lexical error in s (raised), as a lexer running ahead of the parser would
-- meet it: it wins over any syntax error, wherever that is. Each token's captures are
-- built (and so checked) as it is read.
local function at_end(_, e)
  return e
end
local scanner = (space * Cmt(literal + ident + op2 + op1, at_end)) ^ 0 * space * Cp()
local token_text = space * C(literal_raw + ident + op2 + op1)

local function scan(s)
  local e = scanner:match(s)
  if e > #s then
    return
  end
  local c = s:sub(e, e)
  if c == "'" then
    fail(e, "unterminated text literal")
  elseif s:sub(e, e + 1) == "!=" then
    fail(e, "unknown operator '!=' (use <>)")
  end
  fail(e, ("unexpected character '%s'"):format(s:match("^" .. utf8.charpattern, e) or c))
end

---------------------------------------------------------------------------------------
-- grammar

-- SQLite refuses expression trees deeper than 1000; a level here adds at most about three
local MAX_DEPTH = 300

-- set the nesting depth of a new inner node (leaves count 1)
local function nest(node, a, b)
  local d = a.d or 1
  if b and (b.d or 1) > d then
    d = b.d or 1
  end
  node.d = d + 1
  if node.d > MAX_DEPTH then
    fail(node.pos, "expression nested too deeply")
  end
  return node
end

-- a syntax error at p; parse() names the token found there
local unexpected = Cmt(space * Cp(), function(_, _, p)
  error({ syntax = p }, 0)
end) * P(1) -- never reached; tells LPeg this pattern consumes input

local function expect(patt)
  return space * patt + unexpected
end

-- one operator token: its position and text
local function op(patt)
  return space * Cp() * C(patt)
end

-- left-associative chain: l op r op r ...
local function fold(l, ...)
  local n = select("#", ...)
  if n == 0 then
    return l
  end
  local t = { ... }
  for i = 1, n, 3 do
    local r = t[i + 2]
    l = nest({ k = "bin", op = t[i + 1], l = l, r = r, pos = t[i] }, l, r)
  end
  return l
end

-- prefix chain (~ ~ x, - - x): positions of the operators, then the operand; built from
-- the inside out, without recursion however long the chain
local function prefixed(kind)
  return function(ps, e)
    local n = #ps
    if n > 0 and kind == "neg" and e.k == "num" then -- fold so that -1 is one literal
      local v = n % 2 == 1 and -e.v or e.v
      return { k = "num", v = v, t = int_type(v), src = ("-"):rep(n) .. e.src, pos = ps[1] }
    end
    for i = n, 1, -1 do
      e = nest({ k = kind, e = e, pos = ps[i] }, e)
    end
    return e
  end
end
local neg_chain, not_chain = prefixed("neg"), prefixed("not")

local function list(first, ...)
  return { k = "list", items = { first, ... }, pos = first.pos }
end

local id_node = Cp() * C(ident)
  / function(pos, name) return { k = "id", name = name, pos = pos } end

-- Text that parses to a single literal (a literal, in brackets or after minus signs: the
-- parser folds -1 and (1) to literals, though not -'x'). Followed by another literal it
-- starts a list; this look-ahead decides that without building anything.
local is_literal = P({
  "lit",
  lit = space * (literal_raw + "(" * V("lit") * space * ")" + "-" * V("num")),
  num = space * (numeric_raw + "(" * V("num") * space * ")" + "-" * V("num")),
})
local starts_list = #(is_literal * space * literal_raw)

local grammar = P({
  "root",
  root = V("expr") * (space * -1 + unexpected),
  -- A match-time capture: the node is built here and left in the side table (argument 1),
  -- which keeps LPeg's capture nesting (at most 200) to one bracket level. Keyed by end
  -- position: an enclosing expr ending at the same place (a & ~b) reads the inner entry
  -- before it overwrites it.
  expr = Cmt(Ct((space * Cp() * "~") ^ 0) * V("logical") * Carg(1), function(_, e, ps, node, side)
    side[e] = not_chain(ps, node)
    return e
  end) * Cp() * Carg(1) / function(e, side) return side[e] end,
  -- & and | share a level; a ~ operand runs to the end of the expression
  logical = V("compare") * (op(S("&|")) * (#(space * "~") * V("expr") + V("compare"))) ^ 0 / fold,
  -- after = and <>, space-separated literals make a list
  compare = V("additive") * (op(P("<>") + "=")
      * (starts_list * V("additive") * (space * literal) ^ 1 / list + V("additive"))
    + op(P("<=") + ">=" + "<" + ">") * V("additive")) ^ 0 / fold,
  additive = V("term") * (op(S("+-")) * V("term")) ^ 0 / fold,
  term = V("power") * (op(S("*/")) * V("power")) ^ 0 / fold,
  power = V("unary") * (op("^") * V("unary")) ^ 0 / fold,
  unary = Ct((space * Cp() * "-") ^ 0) * V("primary") / neg_chain,
  primary = space * (literal + V("sys") + V("call") + id_node + "(" * V("expr") * expect(")"))
    + unexpected,
  -- i_() and the like: a name ending in _ takes no argument
  sys = #Cmt(Cp() * C(ident) * space * "(" * space * Cp() * C(P(")")) ^ -1,
    function(_, e, _, name, q, close)
      if name:sub(-1) ~= "_" then
        return false
      end
      if not close then
        fail(q, ("system variable '%s' takes no argument"):format(name))
      end
      return e
    end) * Cp() * C(ident) * space * "(" * space * ")"
    / function(pos, name) return { k = "sys", name = name, pos = pos } end,
  call = Cp() * C(ident) * space * "(" * Ct(V("args")) / function(pos, name, args)
    local node = { k = "call", name = name, args = args, pos = pos }
    if #args == 0 then
      return node
    end
    local d = 0
    for _, a in ipairs(args) do
      if (a.d or 1) > d then
        d = a.d or 1
      end
    end
    return nest(node, { d = d })
  end,
  args = space * ")" + V("arg") * (space * ";" * V("arg")) ^ 0 * expect(")"),
  arg = space * Cp() * #S(";)") / function(pos) return { k = "empty", pos = pos } end
    + V("names") + starts_list * V("expr") * (space * literal) ^ 1 / list + V("expr"),
  -- two or more names separated by blanks or commas (the G and O arguments of g_
  -- functions: `g_sum(state city;;sales)`); decided by the first two tokens
  names = space * Ct(id_node * #(space * (alpha + ",")) * (-#(space * S(";)"))
    * (space * ",") ^ -1 * space * (id_node + unexpected)) ^ 1)
    / function(items) return { k = "names", items = items, pos = items[1].pos } end,
})

function M.parse(s)
  if not s:find("%S") then
    fail(1, "syntax error: empty expression")
  end
  local ok, res = pcall(grammar.match, grammar, s, 1, {})
  if ok then
    return res
  end
  scan(s)
  if type(res) == "table" and res.syntax then
    local p = res.syntax
    if p > #s then
      fail(p, "syntax error: unexpected end of expression")
    end
    fail(p, ("syntax error: unexpected '%s'"):format(token_text:match(s, p)))
  end
  error(res, 0)
end

return M
