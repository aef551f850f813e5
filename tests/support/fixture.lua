-- Test harness for tt-fixture (tests/support/tt-fixture.c): a stub that answers the XML API
-- from files, or a fault-injecting proxy in front of a real tt-gateway.
--
--   local fx = fixture.start { replies = { login = { "/abs/login.xml" } } }           -- stub
--   local fx = fixture.start { upstream = g.base, rules = { "api=getuid,nth=2,do=reset-before" } }
--   fx.url         "http://127.0.0.1:PORT/"; the client talks to fx.url .. "cgi-bin/gw"
--   fx:requests()  { { api =, method =, path =, body = }, ... } as logged so far
--   fx:connections()  how many connections the client opened so far
--   fx:stop()      SIGTERM, wait for the exit, remove the temporary files (also on __gc)
--
-- No fixed sleeps: start reads the "listening on" line from the program's own stdout.
local M = {}
local Fixture = {}
Fixture.__index = Fixture

local build = os.getenv("TT_BUILD_DIR") or "build"
M.bin = build .. "/tt-fixture"

local gateway = require "gateway"
local q, readfile = gateway.q, gateway.readfile

-- Start tt-fixture. opts: upstream (URL of a gateway; proxy mode) or replies (api -> list of
-- files; reply mode), rules (list of rule strings), log (keep the request log; default on).
function M.start(opts)
  opts = opts or {}
  local stem = os.tmpname()
  local self = setmetatable({ stem = stem, log = stem .. ".log", err = stem .. ".err",
    rcfile = stem .. ".rc" }, Fixture)
  local args = { q(M.bin), "--listen", "127.0.0.1:0", "--log", q(self.log) }
  if opts.upstream then
    args[#args + 1] = "--upstream " .. q(opts.upstream)
  end
  local apis = {}
  for api in pairs(opts.replies or {}) do apis[#apis + 1] = api end
  table.sort(apis)
  for _, api in ipairs(apis) do
    args[#args + 1] = "--reply " .. q(api .. "=" .. table.concat(opts.replies[api], ","))
  end
  for _, rule in ipairs(opts.rules or {}) do
    args[#args + 1] = "--rule " .. q(rule)
  end
  -- A background subshell keeps the program as its child, waits for it and records its exit
  -- status; its stdout (and the program's) is our pipe: the pid and "listening on".
  local cmd = string.format("(%s 2>%s & echo $!; wait $!; echo $? >%s) &",
    table.concat(args, " "), q(self.err), q(self.rcfile))
  local f = assert(io.popen(cmd, "r"))
  -- The pid and the program's line race to the pipe: take them in either order.
  local line
  for _ = 1, 2 do
    local l = f:read("l") or ""
    if l:match("^%d+$") and not self.pid then self.pid = tonumber(l) else line = line or l end
  end
  line = line or ""
  f:close()
  self.url = line:match("^listening on (http://[%d%.]+:%d+/)$")
  if not self.url then
    local err = readfile(self.err) or ""
    -- a program left running would keep its waiting subshell, and our stderr, open
    if self.pid then os.execute("kill -TERM " .. self.pid .. " 2>/dev/null") end
    self.pid = nil
    self:cleanup()
    error("tt-fixture did not start: " .. line .. err)
  end
  self.gw = self.url .. "cgi-bin/gw"
  return self
end

-- The requests logged so far, in order.
function Fixture:requests()
  local text = readfile(self.log) or ""
  local out, pos = {}, 1
  while pos <= #text do
    local api, method, path, n, nxt = text:match("^api=(%S*) method=(%S+) path=(%S+) bytes=(%d+)\n()", pos)
    if not api then break end
    n = tonumber(n)
    out[#out + 1] = { api = api, method = method, path = path, body = text:sub(nxt, nxt + n - 1) }
    pos = nxt + n + #"\n--\n"
  end
  return out
end

-- How many logged requests had api=API.
function Fixture:count(api)
  local n = 0
  for _, r in ipairs(self:requests()) do
    if r.api == api then n = n + 1 end
  end
  return n
end

-- How many connections the client opened so far.
function Fixture:connections()
  local n = 0
  for _ in (readfile(self.err) or ""):gmatch("accepted a connection") do n = n + 1 end
  return n
end

function Fixture:cleanup()
  for _, p in ipairs { self.stem, self.log, self.err, self.rcfile } do os.remove(p) end
end

-- Stop the program (SIGTERM) and wait for it, polling for its exit status. Returns it.
function Fixture:stop()
  if self.pid then
    os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
    self.pid = nil
    for _ = 1, 1000 do
      local rc = readfile(self.rcfile)
      if rc and rc:match("%d") then
        self.exit_code = tonumber(rc:match("%d+"))
        break
      end
      os.execute("sleep 0.01")
    end
    self:cleanup()
  end
  return self.exit_code
end

Fixture.__gc = function(self)
  if self.pid then pcall(Fixture.stop, self) end
end

return M
