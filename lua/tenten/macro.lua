-- Macro Language compiler: an op list (XML fragment) -> one SQLite SELECT.
--
--   ops, err  = macro.parse(ops_text)
--   plan, err = macro.compile(ops_text, base_table, resolve)
--
-- The worksheet flows through a pipeline of stages, one CTE per op (s0, s1, ...), each
-- carrying the hidden row-order key _r. Op handlers live in tenten.macro.ops, scalar
-- functions in tenten.macro.funcs, expression compilation in tenten.macro.sql.
-- See docs/macro.md for the language as implemented.

local xml = require "tenten.macro.xml"
local expr = require "tenten.macro.expr"
local sqlc = require "tenten.macro.sql"
local ops = require "tenten.macro.ops"

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

local function where(op, attr)
  if attr then
    return ("op %d <%s %s>"):format(op.index, op.tag, attr)
  end
  return ("op %d <%s>"):format(op.index, op.tag)
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

-- compile an expression attribute against worksheet ws; returns value, compiler
function Ctx:expr(ws, op, attr, text)
  text = text or op.attrs[attr]
  local comp = sqlc.new(ws, self.ps)
  local ok, res = pcall(function()
    return comp:expr(expr.parse(text))
  end)
  if ok and (sqlc.too_deep(res.sql) or (res.w and sqlc.too_deep(res.w))) then
    ok, res = false, { code = 9, epos = 1, detail = "expression nested too deeply" }
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
-- stage's expressions use (window functions are not allowed in WHERE)
function Ctx:source(comp)
  if not comp or #comp.windows == 0 then
    return self.cur
  end
  local w = {}
  for _, x in ipairs(comp.windows) do
    w[#w + 1] = x.sql .. " AS " .. x.name
  end
  return ("(SELECT *, %s FROM %s)"):format(concat(w, ", "), self.cur)
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

-- start the worksheet over from a stored table (request <name> or <base table>);
-- earlier stages and parameters are dropped since nothing can refer to them
function Ctx:load(name, op)
  local t = type(name) == "string" and name ~= "" and self.resolve(name) or nil
  if not t then
    local msg = "no such table: " .. (type(name) == "string" and quoted(name):sub(2, -2) or "(none)")
    if op then
      self:fail(17, op, "table", msg)
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
  self.stages = {}
  self.ps = { list = {}, map = {} }
  local ws = { cols = cols, dense = true }
  self:stage(("SELECT %s FROM %s"):format(self:col_list(ws), self:quote(t.sql)))
  return ws
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
  for _, op in ipairs(nodes) do
    local h = ops.handlers[op.tag]
    if not h then
      ctx:fail(10, op, nil, ops.unsupported[op.tag] and "not supported" or "unknown operation")
    end
    if not ws and not ops.no_table[op.tag] then
      ctx:fail(10, op, nil, "no table to work on (start with <base table=\"...\"/>)")
    end
    ws = h(ctx, ws, op)
  end
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
  return { sql = sql, params = ctx.ps.list, columns = columns }
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
