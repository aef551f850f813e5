-- Macro Language compiler: an op list (XML fragment) -> one SQLite SELECT.
--
--   ops, err  = macro.parse(ops_text)
--   plan, err = macro.compile(ops_text, base_table, resolve)
--
-- The worksheet flows through a pipeline of stages, one CTE per op (s0, s1, ...), each
-- carrying the hidden row-order key _r. Op handlers live in ttgw.macro.ops (with
-- tabu.lua, link.lua, inline.lua), scalar functions in ttgw.macro.funcs, group (g_)
-- functions in ttgw.macro.gfuncs, expression compilation in ttgw.macro.sql.
-- The ops nested in a <link> or <merge> build the foreign table's stages in the same
-- statement, before the stage that joins it. See docs/macro.md for the language as
-- implemented.

local xml = require "ttgw.macro.xml"
local expr = require "ttgw.macro.expr"
local sqlc = require "ttgw.macro.sql"
local ops = require "ttgw.macro.ops"

local concat = table.concat

local M = {}

-- error values raised inside the compiler; compile() turns them into return values
local function raise(code, msg)
  error({ code = code, msg = msg }, 0)
end

-- messages are one line whatever the request contained
local function one_line(s)
  return (tostring(s):gsub("[%c]", " "))
end
M.one_line = one_line

-- a request value quoted in a message: one line, long values cut
local function quoted(s)
  s = one_line(s)
  local ok, cut = pcall(utf8.offset, s, 201) -- raises on a leading stray continuation byte
  if not ok then
    cut = 201
  end
  if cut and cut <= #s then
    s = s:sub(1, cut - 1) .. "..."
  end
  return '"' .. s .. '"'
end

local PHYS_NAME = "^[%a_][%w_]*$"
local COL_NAME = "^%a[%w_]*$"
local TYPES = { i = true, j = true, f = true, a = true }

---------------------------------------------------------------------------------------
-- compile context: what op handlers use

local Ctx = {}
Ctx.__index = Ctx

local function new_ctx(resolve)
  return setmetatable({
    resolve = resolve,
    stages = {},                -- "sK AS (...)" in order
    ps = { list = {}, map = {} }, -- statement parameters
    nstage = 0,
    cur = nil,                  -- CTE holding the current worksheet
  }, Ctx)
end

-- op.path: "2" for the second op, "2.1" for the first element nested in it
local function where(op, attr)
  local path = op.path or tostring(op.index)
  if attr then
    return ("op %s <%s %s>"):format(path, op.tag, attr)
  end
  return ("op %s <%s>"):format(path, op.tag)
end

-- error about an op: code 10 for op structure, 9 for a bad attribute value
function Ctx.fail(_, code, op, attr, detail)
  raise(code, where(op, attr) .. ": " .. one_line(detail))
end

-- error about an attribute value, quoting the value
function Ctx:bad_value(op, attr, detail)
  self:fail(9, op, attr, ("%s in %s"):format(detail, quoted(op.attrs[attr])))
end

function Ctx:attr(op, name, required)
  local v = op.attrs[name]
  if v == nil and required then
    self:fail(10, op, nil, ("missing required attribute '%s'"):format(name))
  end
  return v
end

-- Limits on one expression, checked in a single linear pass before the expression grammar
-- runs (each bracket level costs LPeg stack and capture nesting; see docs/macro.md): longer
-- text or deeper brackets are refused with rc 10. No real macro comes near them, and SQL
-- itself cannot nest more than a few levels deeper than the compiler already allows.
local MAX_EXPR_BYTES = 65536
local MAX_EXPR_DEPTH = 64
M.MAX_EXPR_BYTES, M.MAX_EXPR_DEPTH = MAX_EXPR_BYTES, MAX_EXPR_DEPTH

-- why text breaks a limit, or nil; brackets inside 'text literals' do not count
local function over_limits(text)
  if #text > MAX_EXPR_BYTES then
    return ("expression of %d bytes, longer than the limit of %d"):format(#text, MAX_EXPR_BYTES)
  end
  local depth, i = 0, 1
  while true do
    i = text:find("[()']", i)
    if not i then
      return nil
    end
    local c = text:byte(i)
    if c == 39 then -- a quote: skip to the closing one ('' inside is two quoted runs)
      i = text:find("'", i + 1, true)
      if not i then
        return nil -- unterminated: the parser says so
      end
    elseif c == 40 then
      depth = depth + 1
      if depth > MAX_EXPR_DEPTH then
        return ("brackets nested deeper than the limit of %d at %d"):format(MAX_EXPR_DEPTH, i)
      end
    else
      depth = depth - 1
    end
    i = i + 1
  end
end

-- a fresh expression compiler for worksheet ws (one per stage: it collects the window
-- values the stage computes first)
function Ctx:compiler(ws)
  return sqlc.new(ws, self.ps)
end

-- compile an expression attribute against worksheet ws; returns value, compiler.
-- comp: a compiler to reuse (several expressions in one stage), else a new one.
function Ctx:expr(ws, op, attr, text, comp)
  text = text or op.attrs[attr]
  local over = type(text) == "string" and over_limits(text)
  if over then
    self:fail(10, op, attr, over)
  end
  comp = comp or sqlc.new(ws, self.ps)
  comp.where = where(op, attr)
  local nwin = #comp.windows
  local ok, res = pcall(function()
    return comp:expr(expr.parse(text))
  end)
  if ok and (sqlc.too_deep(res.sql) or (res.w and sqlc.too_deep(res.w))) then
    ok, res = false, { code = 9, epos = 1, detail = "expression nested too deeply" }
  end
  for i = nwin + 1, ok and #comp.windows or 0 do
    if sqlc.too_deep(comp.windows[i].sql) then
      ok, res = false, { code = 9, epos = 1, detail = "expression nested too deeply" }
    end
  end
  if ok then
    return res, comp
  end
  if type(res) == "table" and res.epos then
    raise(res.code, ("%s: %s at %d in %s"):format(where(op, attr), one_line(res.detail),
      res.epos, quoted(text)))
  end
  error(res, 0)
end

-- FROM source for a stage: the current CTE, wrapped to compute the window values the
-- stage's expressions use (window functions are not allowed in WHERE). A window over
-- another window's value (g_ucnt, g_sum(;;i_) after a sel) is one level further out.
function Ctx:source(comp)
  if not comp or #comp.windows == 0 then
    return self.cur
  end
  local levels = {}
  for _, x in ipairs(comp.windows) do
    levels[x.level] = levels[x.level] or {}
    local l = levels[x.level]
    l[#l + 1] = x.sql .. " AS " .. x.name
  end
  local src = self.cur
  for lv = 1, #levels do
    src = ("(SELECT *, %s FROM %s)"):format(concat(levels[lv], ", "), src)
  end
  return src
end

-- "?N" for a literal value (shared with the expressions of the statement)
function Ctx:param(v, op, attr)
  local ref = sqlc.add_param(self.ps, v)
  if not ref then
    self:fail(9, op, attr, "too many literals in one query")
  end
  return ref
end

function Ctx.quote(_, name)
  return '"' .. name .. '"'
end

-- "_r", "c1", "c2" ... for every column of ws (hidden ones included)
function Ctx:col_list(ws, with_r)
  local t = {}
  if with_r ~= false then
    t[1] = "_r"
  end
  for _, c in ipairs(ws.cols) do
    t[#t + 1] = self:quote(c.name)
  end
  return concat(t, ", ")
end

-- add a stage; its SELECT must output _r and every column of the new worksheet
function Ctx:stage(select_sql)
  local name = "s" .. self.nstage
  self.nstage = self.nstage + 1
  self.stages[#self.stages + 1] = name .. " AS (" .. select_sql .. ")"
  self.cur = name
  return name
end

-- a stage reading stored table `name` (through the resolver, so a session's snapshot
-- applies); returns its worksheet. op/attr name the attribute for errors.
function Ctx:open(name, op, attr)
  local t = type(name) == "string" and name ~= "" and self.resolve(name) or nil
  if not t then
    local msg = "no such table: " .. (type(name) == "string" and quoted(name):sub(2, -2) or "(none)")
    if op then
      self:fail(17, op, attr or "table", msg)
    end
    raise(17, msg)
  end
  if type(t.sql) ~= "string" or not t.sql:find(PHYS_NAME) then
    raise(17, "bad physical name for table: " .. one_line(name))
  end
  local cols = {}
  for i, c in ipairs(t.columns or {}) do
    if type(c.name) ~= "string" or not c.name:find(COL_NAME) or not TYPES[c.type] then
      raise(17, ("bad column %d in table %s"):format(i, one_line(name)))
    end
    cols[i] = { name = c.name, type = c.type, format = c.format, label = c.label }
  end
  local ws = { cols = cols, dense = true, title = type(t.title) == "string" and t.title or nil }
  self:stage(("SELECT %s FROM %s"):format(self:col_list(ws), self:quote(t.sql)))
  return ws
end

-- drop every stage and parameter: the worksheet starts over (<base>, <table>), and
-- nothing can refer to what came before
function Ctx:restart()
  self.stages = {}
  self.ps = { list = {}, map = {} }
end

-- start the worksheet over from a stored table (request <name> or <base table>)
function Ctx:load(name, op)
  self:restart()
  return self:open(name, op, "table")
end

-- run ops on ws; parent: the op they are nested in (nil at the top level)
function Ctx:run(ws, nodes, parent)
  for _, op in ipairs(nodes) do
    op.path = parent and (parent.path .. "." .. op.index) or tostring(op.index)
    local h = ops.handlers[op.tag]
    if not h then
      local inside = ops.child_of[op.tag]
      self:fail(10, op, nil, (inside and ("only allowed inside <%s>"):format(inside))
        or (ops.unsupported[op.tag] and "not supported") or "unknown operation")
    end
    if parent and ops.top_only[op.tag] then
      self:fail(10, op, nil, ("not allowed inside <%s>"):format(parent.tag))
    end
    if not ws and not ops.no_table[op.tag] then
      self:fail(10, op, nil, "no table to work on (start with <base table=\"...\"/>)")
    end
    ws = h(self, ws, op)
  end
  return ws
end

-- the foreign table of a <link>/<merge> op: table `attr` with the nested ops applied;
-- returns its worksheet and CTE name, leaving the current worksheet as it was
function Ctx:foreign(op, attr)
  local cur = self.cur
  local fws = self:open(self:attr(op, attr, true), op, attr)
  fws = self:run(fws, op.children, op)
  local fcur = self.cur
  self.cur = cur
  return fws, fcur
end

---------------------------------------------------------------------------------------
-- API

function M.parse(ops_text)
  return xml.parse(ops_text)
end

local function run(nodes, base_table, resolve)
  local ctx = new_ctx(resolve)
  local ws
  if base_table ~= nil then
    ws = ctx:load(base_table)
  end
  ws = ctx:run(ws, nodes, nil)
  if not ws then
    raise(10, "no table to work on (start with <base table=\"...\"/>)")
  end
  local sel, columns = {}, {}
  for _, c in ipairs(ws.cols) do
    if not c.hidden then
      sel[#sel + 1] = ctx:quote(c.name)
      columns[#columns + 1] = { name = c.name, type = c.type, format = c.format, label = c.label }
    end
  end
  if #sel == 0 then
    raise(10, "no visible columns left")
  end
  local sql = ("WITH %s\nSELECT %s FROM %s ORDER BY _r"):format(concat(ctx.stages, ",\n"),
    concat(sel, ", "), ctx.cur)
  return { sql = sql, params = ctx.ps.list, columns = columns, title = ws.title }
end

function M.compile(ops_text, base_table, resolve)
  local nodes, err = xml.parse(ops_text)
  if not nodes then
    return nil, err
  end
  local ok, res = pcall(run, nodes, base_table, resolve)
  if ok then
    return res
  end
  if type(res) == "table" and res.code then
    return nil, { code = res.code, msg = res.msg }
  end
  -- a bug, not a bad request: still answer with an error value
  return nil, { code = 1, msg = "internal error: " .. one_line(res) }
end

return M
