-- Test harness: start a real tt-gateway on a free loopback port and talk to it with the curl
-- command-line tool, so the tests exercise the server through a client that is not ours.
local xml = require "xml"

local M = {}
local Gateway = {}
Gateway.__index = Gateway

local build = os.getenv("TT_BUILD_DIR") or "build"
M.bin = build .. "/tt-gateway"

function M.q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
local q = M.q

function M.sh(cmd)
  local ok, how, code = os.execute(cmd)
  return ok, how, code
end

-- Run a command, return its stdout, and its exit code.
function M.run(cmd)
  local f = assert(io.popen(cmd .. "; echo \"@@rc=$?\""))
  local out = f:read("a")
  f:close()
  local rc = tonumber(out:match("@@rc=(%d+)%s*$"))
  return out:gsub("@@rc=%d+%s*$", ""), rc
end

function M.sleep(s)
  os.execute("sleep " .. s)
end

-- Poll cond() every `step` seconds (default 0.05), at most `seconds` worth of sleeps (default
-- 30: the machine may be busy); true as soon as it holds, else whether a last try holds.
function M.wait_for(cond, seconds, step)
  step = step or 0.05
  for _ = 1, math.floor((seconds or 30) / step + 0.5) do
    if cond() then return true end
    M.sleep(step)
  end
  return cond() and true or false
end

-- path as an absolute path (for commands that change directory first).
function M.absolute(path)
  return (M.run("cd " .. q(path) .. " && pwd"):gsub("%s+$", ""))
end

-- This build's and this source tree's folders, absolute (a spec's command may change
-- directory first), and the programs the specs run from them.
M.build_dir = M.absolute(build)
M.source_dir = M.absolute(os.getenv("TT_SOURCE_DIR") or ".")
M.ttlua = M.build_dir .. "/tt-lua"
M.ttpull = M.source_dir .. "/scripts/tt-pull"

-- The shell command that runs tt-pull in folder dir as pool1's owner against url, nothing
-- of the caller's Lua start-up (LUA_INIT) leaking in, stdin empty; args as the shell reads them.
function M.tt_pull_command(dir, url, args)
  return string.format("cd %s && env -u LUA_INIT -u LUA_INIT_5_4 TT_LUA=%s TT_GATEWAY=%s TT_USER=owner1 " ..
    "TT_PASSWORD=secret1 TT_GROUP=pool1 %s %s </dev/null", q(dir), q(M.ttlua), q(url), q(M.ttpull), args)
end

function M.readfile(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function M.writefile(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

function M.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- Temporary folders go under $TMPDIR (default /tmp). Every one tmpdir() makes is registered and
-- removed by cleanup(); what a spec leaves goes when its Lua state closes (busted ends with
-- os.exit(code, true)), after any gateway still running is stopped.
M.tmproot = os.getenv("TMPDIR")
if not M.tmproot or M.tmproot == "" then M.tmproot = "/tmp" end
local made, running = {}, {}

function M.tmpdir()
  local out = M.run("mktemp -d " .. q(M.tmproot .. "/tt-test.XXXXXX"))
  local dir = out:gsub("%s+$", "")
  assert(dir ~= "", "mktemp failed")
  made[dir] = true
  return dir
end

-- Remove one temporary folder, or (no argument) every one still registered.
function M.cleanup(dir)
  if dir then
    if made[dir] then
      os.execute("rm -rf " .. q(dir))
      made[dir] = nil
    end
    return
  end
  for g in pairs(running) do pcall(g.stop, g) end
  for d in pairs(made) do os.execute("rm -rf " .. q(d)) end
  made = {}
end

M._sentinel = setmetatable({}, { __gc = function() M.cleanup() end })

-- Lua source for a value (tables, strings, numbers, booleans).
local function serialize(v, indent)
  indent = indent or ""
  if type(v) == "table" then
    -- the list part in order (inject = { login = { 45, 41 } } is a sequence), then the
    -- other keys sorted, so the file is the same on every run
    local parts, keyed = {}, {}
    for i = 1, #v do parts[i] = indent .. "  " .. serialize(v[i], indent .. "  ") end
    for k, x in pairs(v) do
      if math.type(k) ~= "integer" or k < 1 or k > #v then
        keyed[#keyed + 1] = indent .. "  [" .. string.format("%q", k) .. "] = " .. serialize(x, indent .. "  ")
      end
    end
    table.sort(keyed)
    table.move(keyed, 1, #keyed, #parts + 1, parts)
    return "{\n" .. table.concat(parts, ",\n") .. "\n" .. indent .. "}"
  elseif type(v) == "string" then
    return string.format("%q", v)
  else
    return tostring(v)
  end
end
M.serialize = serialize

-- The users and pools most tests use.
function M.default_config()
  return {
    users = {
      { uid = "owner1", password = "secret1", company = "acme" },
      { uid = "admin1", password = "secret2", company = "acme", admin = true },
      { uid = "other1", password = "secret3", company = "globex", admin = true },
      { uid = "plain1", password = "secret4", company = "acme" },
    },
    groups = {
      { gid = "pool1", owner = "owner1", size = 4 },
      { gid = "pool2", owner = "other1", size = 2, member_password = "memberpw" },
    },
    reserve_seconds = 900,
    idle_seconds = 1800,
  }
end

-- Make a database with the demo tables at a small scale (shared by a spec file).
function M.demo_db(dir, scale)
  local db = dir .. "/demo.db"
  local out, rc = M.run(q(M.bin) .. " demo --db " .. q(db) .. " --scale " .. (scale or 0.01) .. " 2>&1")
  assert(rc == 0, "demo failed: " .. out)
  return db
end

function M.import(db, table_name, csv_text, dir)
  local path = (dir or M.tmproot) .. "/import-" .. tostring(math.random(1e9)) .. ".csv"
  M.writefile(path, csv_text)
  -- import makes a new database only when asked to (--create), so ask when there is none
  local f = io.open(db, "rb")
  if f then f:close() end
  local out, rc = M.run(q(M.bin) .. " import --db " .. q(db) .. " --table " .. q(table_name) ..
    " --csv " .. q(path) .. (f and "" or " --create") .. " 2>&1")
  os.remove(path)
  return rc, out
end

-- Start a gateway. opts: config (table, merged over the default), db (path), dir.
function M.start(opts)
  opts = opts or {}
  local dir = opts.dir or M.tmpdir()
  local config = opts.config or M.default_config()
  config.database = opts.db
  if not config.database then
    -- serve refuses a database that does not exist: make an empty one
    config.database = dir .. "/empty.db"
    assert(M.run("sqlite3 " .. q(config.database) .. " 'CREATE TABLE t(a); DROP TABLE t;'") ~= nil)
  end
  local cfgpath = dir .. "/gateway-" .. tostring(math.random(1e9)) .. ".lua"
  M.writefile(cfgpath, "return " .. serialize(config) .. "\n")
  local self = setmetatable({ dir = dir, config = config, cfgpath = cfgpath }, Gateway)
  local stem = cfgpath:gsub("%.lua$", "")
  self.out, self.err, self.pidfile, self.rcfile = stem .. ".out", stem .. ".err", stem .. ".pid", stem .. ".rc"
  -- opts.args: more serve options, e.g. { "--latency", "200" }
  local extra = ""
  for _, a in ipairs(opts.args or {}) do extra = extra .. " " .. q(a) end
  local inner = string.format(
    "%s serve --config %s --listen 127.0.0.1:0%s >%s 2>%s & echo $! >%s; wait $!; echo $? >%s",
    q(M.bin), q(cfgpath), extra, q(self.out), q(self.err), q(self.pidfile), q(self.rcfile))
  M.sh("sh -c " .. q(inner) .. " >/dev/null 2>&1 &")
  for _ = 1, 400 do
    local line = M.readfile(self.out) or ""
    local url = line:match("listening on (http://[%d%.]+:%d+/)")
    if url then
      self.base = url
      self.url = url .. "cgi-bin/gw"
      self.pid = tonumber(M.readfile(self.pidfile))
      running[self] = true
      return self
    end
    if M.readfile(self.rcfile) then break end
    M.sleep(0.025)
  end
  error("tt-gateway did not start: " .. (M.readfile(self.err) or "") .. (M.readfile(self.out) or ""))
end

function Gateway:log()
  return M.readfile(self.err) or ""
end

-- Send a signal and wait for the process to end. Returns its exit code.
function Gateway:stop(signal)
  running[self] = nil
  if not self.pid then return self.exit_code end
  M.sh("kill -" .. (signal or "TERM") .. " " .. self.pid .. " 2>/dev/null")
  for _ = 1, 400 do
    local rc = M.readfile(self.rcfile)
    if rc and rc:match("%d") then
      self.pid = nil
      self.exit_code = tonumber(rc:match("%d+"))
      return self.exit_code
    end
    M.sleep(0.025)
  end
  M.sh("kill -KILL " .. self.pid .. " 2>/dev/null")
  self.pid = nil
  error("tt-gateway did not stop within 10 s")
end

local function urlencode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

-- The query string for params (a table; keys in a stable order).
function M.query_string(params)
  local keys = {}
  for k in pairs(params) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = urlencode(k) .. "=" .. urlencode(params[k]) end
  return table.concat(parts, "&")
end

-- The curl command for one call; body may be nil. opts: method, path, out (file for the reply).
function Gateway:curl_command(params, body, opts)
  opts = opts or {}
  local url = opts.path and (self.base .. opts.path:gsub("^/", "")) or self.url
  -- a path may bring query parameters of its own (e.g. "?protocol=xml-rpc"): append to them
  url = url .. (url:find("?", 1, true) and "&" or "?") .. M.query_string(params)
  local cmd = "curl -s -S --max-time " .. (opts.timeout or 120) .. " -w '%{http_code}' -o " ..
    q(opts.out) .. " -X " .. (opts.method or "POST")
  if body then
    local bodyfile = opts.out .. ".in"
    M.writefile(bodyfile, body)
    cmd = cmd .. " -H 'Content-Type: text/xml' --data-binary @" .. q(bodyfile)
  end
  return cmd .. " " .. q(url)
end

-- Parse a reply: { status =, rc =, msg =, root =, raw = }.
function M.reply(raw, status)
  local r = { status = status, raw = raw }
  local root, err = xml.parse(raw or "")
  if not root then
    r.error = err
    return r
  end
  r.root = root
  r.rc = tonumber(root:get("rc"))
  r.msg = root:get("msg")
  return r
end

-- The rows of a reply's <data>, as lists of cell texts.
function M.rows_of(r)
  local rows = {}
  for _, tr in ipairs(r.root:child("data"):all("tr")) do
    local row = {}
    for i, td in ipairs(tr:all("td")) do row[i] = td.text end
    rows[#rows + 1] = row
  end
  return rows
end

-- One XML API call: api name, other params, optional body.
function Gateway:call(api, params, body, opts)
  params = params or {}
  if api then
    params.api = api
    params.apiversion = params.apiversion or 3
  end
  opts = opts or {}
  opts.out = os.tmpname()
  local status = M.run(self:curl_command(params, body, opts))
  local raw = M.readfile(opts.out)
  os.remove(opts.out)
  os.remove(opts.out .. ".in")
  return M.reply(raw, tonumber(status))
end

-- samstatus of a pool as its owner (params: { uid =, pswd =, gid = }): the reply, which must
-- be rc 0 and carry the gateway's <exchanges> counts.
local function samstatus(self, params)
  local r = self:call("samstatus", { uid = params.uid, pswd = params.pswd, gid = params.gid })
  assert(r.rc == 0, "samstatus failed: " .. tostring(r.rc) .. " " .. tostring(r.msg))
  assert(r.root:child("exchanges"), "samstatus has no <exchanges>: " .. tostring(r.raw))
  return r
end

-- The exchanges the gateway counted, per transaction, as numbers; and the samstatus reply.
function Gateway:exchanges(params)
  local r = samstatus(self, params)
  local n = {}
  for k, v in pairs(r.root:child("exchanges").attrs) do n[k] = tonumber(v) end
  return n, r
end

-- How many of the pool's IDs are in each state: { BUSY = 2, WARM = 1, ... }, straight from
-- the gateway (never through a proxy a test put in front of it).
function Gateway:pool_states(params)
  local n = {}
  for _, id in ipairs(samstatus(self, params).root:child("samstatus"):all("id")) do
    n[id.attrs.state] = (n[id.attrs.state] or 0) + 1
  end
  return n
end

-- Log in; returns a session table { uid =, sid =, pswd = } or raises with the reply.
function Gateway:login(uid, password, kill)
  local r = self:call("login", { uid = uid, pswd = password, kill = kill or "yes" })
  assert(r.rc == 0, "login of " .. uid .. " failed: " .. tostring(r.rc) .. " " .. tostring(r.msg))
  return { uid = uid, sid = r.root:get("sid"), pswd = r.root:get("pswd") }, r
end

-- A call on a session.
function Gateway:scall(s, api, body, extra)
  local params = { uid = s.uid, sid = s.sid, pswd = s.pswd }
  for k, v in pairs(extra or {}) do params[k] = v end
  return self:call(api, params, body)
end

-- Query then page through the whole result; returns the rows (lists of strings, false = N/A),
-- the column names and the query reply.
function Gateway:pull(s, table_name, ops, page)
  local body = "<in><name>" .. table_name .. "</name><ops>" .. (ops or "") .. "</ops></in>"
  local r = self:scall(s, "query", body)
  if r.rc ~= 0 then return nil, r end
  local rows = {}
  local names
  repeat
    local d = self:scall(s, "getdata", '<in><rows mode="1"><next>' .. (page or 1000) .. "</next></rows></in>")
    assert(d.rc == 0, "getdata failed: " .. tostring(d.msg))
    if not names then
      names = {}
      for _, th in ipairs(d.root:find("cols"):all("th")) do names[#names + 1] = th.attrs.name end
    end
    local n = 0
    for _, tr in ipairs(d.root:child("data"):all("tr")) do
      local row = {}
      for i, td in ipairs(tr:all("td")) do row[i] = td.text ~= "" and td.text or false end
      rows[#rows + 1] = row
      n = n + 1
    end
  until n == 0
  return rows, names, r
end

return M
