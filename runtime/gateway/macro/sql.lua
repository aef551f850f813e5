-- Expression AST -> SQLite expression text.
--
-- A Compiler is made per op (stage). It knows the worksheet the op reads, shares the
-- statement's parameter list, and collects window expressions (i_, n_, g_...) that the
-- stage must compute in a subquery before it can use them in WHERE or in a window
-- ORDER BY. `where` (set by the caller) names the op and attribute for messages that
-- are raised while the query runs.
--
-- Every compiled value is { sql = "...", t = type, nn = bool, bool = bool }:
--   t    'i' 'j' 'f' 'a', or 'n' for the bare N/A literal '' (fits any type)
--   nn   true when the value is never N/A (lets comparisons drop their N/A handling)
--   bool true when the value is 0/1 (or N/A), so it can be used as an SQL condition
--   w    optional shorter SQL valid only as a condition, where NULL stands for 0
--   fam, bare, wfam, wbare, whens, last: flat forms of operator chains and if chains,
--        see left_of and funcs["if"]
-- No request text is ever pasted: columns are emitted only after lookup in the
-- worksheet, literals only as numbered parameters.

local expr = require "ttgw.macro.expr"
local funcs = require "ttgw.macro.funcs"
local gfuncs = require "ttgw.macro.gfuncs"

local fail = expr.fail
local concat = table.concat

local M = {}

-- SQLite's default limit on ?N
local MAX_PARAMS = 32766

local Compiler = {}
Compiler.__index = Compiler

-- ps = { list = { values... }, map = { key -> index } } shared by one statement
function M.new(ws, ps)
  return setmetatable({ ws = ws, ps = ps, windows = {}, wmap = {} }, Compiler)
end

local TYPE_WORD = { i = "integer", j = "integer", f = "decimal", a = "text", n = "N/A" }
M.TYPE_WORD = TYPE_WORD

local function is_num(t)
  return t ~= "a"
end
local function is_text(t)
  return t == "a" or t == "n"
end

local function arith_type(a, b)
  if a == "f" or b == "f" then
    return "f"
  elseif a == "j" or b == "j" then
    return "j"
  end
  return "i"
end
M.arith_type = arith_type

-- "?N" for value v in parameter list ps (equal values share one), nil when full
function M.add_param(ps, v)
  local mt = math.type(v)
  local key = (mt == "float" and ("f:%a"):format(v)) or (mt == "integer" and ("i:%d"):format(v))
    or ("s:" .. v)
  local idx = ps.map[key]
  if not idx then
    idx = #ps.list + 1
    if idx > MAX_PARAMS then
      return nil
    end
    ps.list[idx] = v
    ps.map[key] = idx
  end
  return "?" .. idx
end

function Compiler:param(v, pos)
  return M.add_param(self.ps, v) or fail(pos or 1, "too many literals in one query")
end

-- register a window expression computed before the stage; returns its column alias.
-- Its level is one more than the deepest window alias (_wN) its SQL refers to.
function Compiler:window(sql)
  local name = self.wmap[sql]
  if not name then
    local level = 1
    for d in sql:gmatch("%f[%w_]_w(%d+)%f[^%w_]") do
      level = math.max(level, self.windows[tonumber(d)].level + 1)
    end
    name = "_w" .. (#self.windows + 1)
    self.windows[#self.windows + 1] = { sql = sql, name = name, level = level }
    self.wmap[sql] = name
  end
  return name
end

-- SQL that stops the query with `msg` when SQLite evaluates it (only ever inside a CASE
-- branch for bad data): tt_error is a function the gateway registers, which fails the
-- statement with this text; the gateway answers rc 9 with it.
function Compiler:raise_sql(msg, pos)
  local text = (self.where and (self.where .. ": ") or "") .. msg .. " at " .. pos
  return ("tt_error(%s)"):format(self:param(text, pos))
end

function Compiler:find_col(name)
  local lname = name:lower()
  for _, c in ipairs(self.ws.cols) do
    if c.name:lower() == lname then
      return c
    end
  end
end

-- SQLite's parser stack (100 entries) limits how deeply SQL may nest: inside a stage,
-- measured, one nesting level (parenthesis, call or CASE, with the operator, argument or
-- WHEN that is pending around it) can cost up to six entries. Refuse expressions nested
-- deeper than that allows instead of failing in SQLite. Chains (a+b+c, x=1|x=2|...,
-- nested ifs in the else branch) are written flat and do not count.
local MAX_GROUPS = 14

function M.too_deep(sql)
  local depth, i, n = 0, 1, #sql
  while i <= n do
    local c = sql:sub(i, i)
    local step = 1
    if c == '"' then -- quoted column name
      step = sql:find('"', i + 1, true) - i + 1
    elseif c:find("[%w_]") then
      local w = sql:match("^[%w_]+", i):upper()
      step = #w
      if w == "CASE" then
        depth = depth + 1
      elseif w == "END" then
        depth = depth - 1
      end
    elseif c == "(" then
      depth = depth + 1
    elseif c == ")" then
      depth = depth - 1
    end
    if depth > MAX_GROUPS then
      return true
    end
    i = i + step
  end
  return false
end

---------------------------------------------------------------------------------------
-- type checks used by operators and functions

function Compiler.want_num(_, v, what, pos)
  if not is_num(v.t) then
    fail(pos, ("type error: %s needs a number, got text"):format(what))
  end
  return v
end

function Compiler.want_int(_, v, what, pos)
  if not (v.t == "i" or v.t == "j" or v.t == "n") then
    fail(pos, ("type error: %s needs an integer, got %s"):format(what, TYPE_WORD[v.t]))
  end
  return v
end

function Compiler.want_text(_, v, what, pos)
  if not is_text(v.t) then
    fail(pos, ("type error: %s needs text, got %s"):format(what, TYPE_WORD[v.t]))
  end
  return v
end

-- type two values can share (comparison, if branches, min/max); text never mixes
-- with numbers
function Compiler.common(_, a, b, what, pos)
  if a.t == "n" then
    return b.t
  elseif b.t == "n" then
    return a.t
  elseif (a.t == "a") ~= (b.t == "a") then
    fail(pos, ("type error: %s cannot mix text and numbers"):format(what))
  elseif a.t == "a" then
    return "a"
  end
  return arith_type(a.t, b.t)
end

-- SQL that is true exactly when v is 1 (v N/A -> N/A, so false in WHERE/CASE)
function Compiler.cond(_, v)
  if v.w then
    return v.w
  elseif v.bool then
    return v.sql
  end
  return "(" .. v.sql .. " = 1)"
end

-- SQL that is 0/1 for non-N/A v, keeping N/A
local function truth(v)
  if v.bool then
    return v.sql
  end
  return "(" .. v.sql .. " <> 0)"
end

---------------------------------------------------------------------------------------
-- nodes

local NODE = {}

-- hint: the type of the operand this one meets; a quoted m/d/y text literal meeting an
-- integer becomes a YYYYMMDD integer
function Compiler:expr(node, hint)
  return NODE[node.k](self, node, hint)
end

-- compile an operand pair so that a text literal sees the type of the other side
function Compiler:pair(ln, rn)
  if rn.k == "str" and ln.k ~= "str" then
    local l = self:expr(ln)
    return l, self:expr(rn, l.t)
  elseif ln.k == "str" and rn.k ~= "str" then
    local r = self:expr(rn)
    return self:expr(ln, r.t), r
  end
  return self:expr(ln), self:expr(rn)
end

function NODE.num(c, node)
  return { sql = c:param(node.v, node.pos), t = node.t, nn = true }
end

function NODE.str(c, node, hint)
  if node.v == "" then
    return { sql = "NULL", t = "n", nn = false }
  end
  if hint == "i" or hint == "j" then
    local d = expr.date_string(node.v)
    if d then
      return { sql = c:param(d, node.pos), t = "i", nn = true }
    end
  end
  return { sql = c:param(node.v, node.pos), t = "a", nn = true }
end

local SYSVARS = {
  i_ = function(c)
    -- the worksheet's _r is 1..n while no op has removed rows since the last renumbering
    if c.ws.dense then
      return { sql = "_r", t = "i", nn = true }
    end
    return { sql = c:window("ROW_NUMBER() OVER (ORDER BY _r)"), t = "i", nn = true }
  end,
  n_ = function(c)
    return { sql = c:window("COUNT(*) OVER ()"), t = "i", nn = true }
  end,
}
M.SYSVARS = SYSVARS

local function sysvar(c, node)
  local f = SYSVARS[node.name:lower()]
  if not f then
    fail(node.pos, ("unknown system variable '%s'"):format(node.name))
  end
  return f(c, node)
end

NODE.sys = sysvar

function NODE.id(c, node)
  if SYSVARS[node.name:lower()] then
    return sysvar(c, node)
  end
  local col = c:find_col(node.name)
  if col then
    return { sql = '"' .. col.name .. '"', t = col.type, nn = false }
  end
  if node.name:sub(-1) == "_" then
    fail(node.pos, ("unknown system variable '%s'"):format(node.name))
  end
  fail(node.pos, ("unknown column '%s'"):format(node.name))
end

function NODE.neg(c, node)
  local v = c:want_num(c:expr(node.e), "unary '-'", node.pos)
  return { sql = "(- " .. v.sql .. ")", t = v.t, nn = v.nn }
end

NODE["not"] = function(c, node)
  local v = c:want_num(c:expr(node.e), "'~'", node.pos)
  local sql = v.bool and ("(NOT " .. v.sql .. ")") or ("(" .. v.sql .. " = 0)")
  return { sql = sql, t = "i", nn = v.nn, bool = true }
end

function NODE.list(_, node)
  fail(node.pos, "a list of values is only allowed after = or <> (or where a function takes one)")
end

function NODE.names(_, node)
  fail(node.pos, "a list of column names is only allowed as the group or order argument of a g_ function")
end

function NODE.empty(_, node)
  fail(node.pos, "syntax error: missing value")
end

function NODE.call(c, node)
  local name = node.name:lower()
  local f = funcs[name]
  if not f then
    if gfuncs.unsupported(name) then
      fail(node.pos, ("function '%s' is not supported"):format(name))
    end
    fail(node.pos, ("unknown function '%s'"):format(node.name))
  end
  local n = #node.args
  local lo, hi = f.min or f.args, f.max or f.args
  if n < lo or n > hi then
    local want = lo == hi and tostring(lo) or (lo .. " to " .. hi)
    fail(node.pos, ("function '%s' takes %s argument%s, got %d"):format(
      name, want, (lo == 1 and hi == 1) and "" or "s", n))
  end
  for i, a in ipairs(node.args) do
    if a.k == "empty" and not (f.empty_ok and f.empty_ok[i]) then
      fail(a.pos, ("argument %d of '%s' is missing"):format(i, name))
    end
    if a.k == "list" and not (f.list_ok and f.list_ok[i]) then
      fail(a.pos, ("argument %d of '%s' cannot be a list"):format(i, name))
    end
    if a.k == "names" and not (f.names_ok and f.names_ok[i]) then
      fail(a.pos, ("argument %d of '%s' cannot be a list of names"):format(i, name))
    end
  end
  return f.compile(c, node.args, node)
end

---------------------------------------------------------------------------------------
-- binary operators

local ARITH = { ["+"] = true, ["-"] = true, ["*"] = true, ["/"] = true, ["^"] = true }

-- Left-deep chains of one operator family are written without nested parentheses
-- (a + b + c, A AND B AND C, min(a, b, c)): SQLite's parser stack is shallow, and long
-- chains (x=1|x=2|...) are common. A result keeps `fam` and `bare` (its text without
-- the outer parentheses) for that; only the left operand is ever unwrapped.
local function left_of(v, fam)
  return v.fam == fam and v.bare or v.sql
end

local function arith(c, node)
  local l, r = c:expr(node.l), c:expr(node.r)
  local op = node.op
  local what = "'" .. op .. "'"
  c:want_num(l, what, node.pos)
  c:want_num(r, what, node.pos)
  if op == "^" then
    return { sql = ("tt_pow(%s, %s)"):format(l.sql, r.sql), t = "f", nn = false }
  end
  local bare, fam, real
  if op == "/" then
    -- always decimal (a left operand already REAL needs no CAST); SQLite gives NULL
    -- for a zero divisor
    local left = (l.fam == "mul" and l.real) and l.bare or ("CAST(" .. (l.bare or l.sql) .. " AS REAL)")
    bare, fam, real = left .. " / " .. r.sql, "mul", true
  elseif op == "*" then
    bare, fam, real = left_of(l, "mul") .. " * " .. r.sql, "mul", l.fam == "mul" and l.real
  else
    bare, fam = left_of(l, "add") .. " " .. op .. " " .. r.sql, "add"
  end
  return { sql = "(" .. bare .. ")", bare = bare, fam = fam, real = real,
           t = op == "/" and "f" or arith_type(l.t, r.t), nn = op ~= "/" and l.nn and r.nn }
end

-- value of a comparison whose SQL result is NULL (some operand N/A): N/A is the lowest
-- value, X<Y is 1 when X is N/A, else 0 when Y is N/A; > <= >= follow from
-- X>Y = Y<X, X<=Y = ~(Y<X), X>=Y = ~(X<Y)
local function na_fallback(op, l, r)
  if op == "<" then
    return l.nn and "0" or (r.nn and "1" or (l.sql .. " IS NULL"))
  elseif op == ">" then
    return r.nn and "0" or (l.nn and "1" or (r.sql .. " IS NULL"))
  elseif op == "<=" then
    return r.nn and "1" or (l.nn and "0" or (r.sql .. " IS NOT NULL"))
  end -- ">="
  return l.nn and "1" or (r.nn and "0" or (l.sql .. " IS NOT NULL"))
end

local function member(c, node, l)
  local vals, has_na = {}, false
  for _, item in ipairs(node.r.items) do
    local v = c:expr(item, l.t)
    c:common(l, v, "'" .. node.op .. "'", item.pos)
    if v.t == "n" then
      has_na = true
    else
      vals[#vals + 1] = v.sql
    end
  end
  local parts, w = {}, nil
  if #vals > 0 then
    local inx = ("%s IN (%s)"):format(l.sql, concat(vals, ", "))
    parts[1] = l.nn and inx or ("coalesce(" .. inx .. ", 0)")
    if not has_na and node.op == "=" then
      w = "(" .. inx .. ")"
    end
  end
  if has_na then
    parts[#parts + 1] = l.sql .. " IS NULL"
  end
  local sql = "(" .. concat(parts, " OR ") .. ")"
  if node.op == "<>" then
    sql = "(NOT " .. sql .. ")"
  end
  return { sql = sql, t = "i", nn = true, bool = true, w = w }
end

local function compare(c, node)
  local op = node.op
  if node.r.k == "list" then
    return member(c, node, c:expr(node.l))
  end
  local l, r = c:pair(node.l, node.r)
  c:common(l, r, "'" .. op .. "'", node.pos)
  local sql, w
  if op == "=" or op == "<>" then
    -- IS makes N/A equal to N/A and unequal to everything else
    local sop = (l.nn and r.nn) and op or (op == "=" and "IS" or "IS NOT")
    sql = ("(%s %s %s)"):format(l.sql, sop, r.sql)
    if op == "=" and (l.nn or r.nn) then
      w = ("(%s = %s)"):format(l.sql, r.sql) -- as a condition N/A = value is simply false
    end
  elseif l.nn and r.nn then
    sql = ("(%s %s %s)"):format(l.sql, op, r.sql)
  else
    local fb = na_fallback(op, l, r)
    sql = ("coalesce(%s %s %s, %s)"):format(l.sql, op, r.sql, fb)
    if fb == "0" then
      w = ("(%s %s %s)"):format(l.sql, op, r.sql)
    end
  end
  return { sql = sql, t = "i", nn = true, bool = true, w = w }
end

local function logic(c, node)
  local l, r = c:expr(node.l), c:expr(node.r)
  local what = "'" .. node.op .. "'"
  c:want_num(l, what, node.pos)
  c:want_num(r, what, node.pos)
  local is_and = node.op == "&"
  local word = is_and and " AND " or " OR "
  local res = { t = "i", nn = l.nn and r.nn, bool = true }
  -- as a condition NULL only has to be false: & may use AND on any operands, | only
  -- where neither operand is N/A
  if is_and or res.nn then
    local wfam = is_and and "wand" or "wor"
    local left = l.wfam == wfam and l.wbare or l.w or truth(l)
    res.wbare, res.wfam = left .. word .. (r.w or truth(r)), wfam
    res.w = "(" .. res.wbare .. ")"
  end
  if res.nn then
    res.fam = is_and and "and" or "or"
    res.bare = (l.fam == res.fam and l.bare or truth(l)) .. word .. truth(r)
    res.sql = "(" .. res.bare .. ")"
  else
    -- N/A in either operand gives N/A: SQLite's multi-argument min/max return NULL
    -- when any argument is NULL
    res.fam = is_and and "min" or "max"
    res.bare = (l.fam == res.fam and l.bare or truth(l)) .. ", " .. truth(r)
    res.sql = res.fam .. "(" .. res.bare .. ")"
  end
  return res
end

function NODE.bin(c, node)
  if ARITH[node.op] then
    return arith(c, node)
  elseif node.op == "&" or node.op == "|" then
    return logic(c, node)
  end
  return compare(c, node)
end

return M
