-- One XML API transaction: build the request, wait for the reply on the loop, log it, and turn
-- a failure into an error object. Parameters go in the query string, POST with text/xml.
local core = require "tenten.core"
local errors = require "tenten.errors"
local retry = require "tenten.retry"
local sched = require "tenten.sched"

local A = {}

-- The order parameters appear in on the wire (after api and apiversion).
local ORDER = { "uid", "pswd", "sid", "kill", "gid" }

-- Transactions that must not run twice for one call (retry.lua owns the list).
A.NOT_IDEMPOTENT = retry.NOT_IDEMPOTENT

-- Default stall limits, seconds without a byte before E_TIMEOUT, per kind of transaction. A
-- query may compute for many minutes before its first byte; a page or a small call should not.
A.STALL = { query = 3600, getdata = 600, call = 120 }
local STALL_KIND = { query = "query", querydata = "query", warmpool = "query", getdata = "getdata" }

-- The gateway URL as requests use it, or nil when it is not an http(s) URL. Any path works
-- (/cgi-bin/gw, /cgi-bin/gw.k, /prod-latest/gw, ...) and a query string in it is kept, the
-- API's parameters going after it; a bare server ("http://host:port" or ".../") gets the usual
-- path. A #fragment is refused (nil, why): what followed it would never reach the server.
function A.normalize(gateway)
  if type(gateway) ~= "string" then return nil end
  local scheme_host, path, query = gateway:match("^(https?://[^/?#]+)([^?#]*)(%??[^#]*)$")
  if not scheme_host then
    if gateway:match("^https?://[^#]*#") then return nil, "a URL without a #fragment" end
    return nil
  end
  if path == "" or path == "/" then path = "/cgi-bin/gw" end
  return scheme_host .. path .. query
end

local function url_for(conn, api, params)
  local parts = { "api=" .. api, "apiversion=3" }
  for _, k in ipairs(ORDER) do
    local v = params[k]
    if v ~= nil then parts[#parts + 1] = k .. "=" .. core.urlencode(tostring(v)) end
  end
  local gw = conn.gateway
  local sep = "?"
  if gw:find("?", 1, true) then sep = gw:match("[?&]$") and "" or "&" end
  return gw .. sep .. table.concat(parts, "&")
end

-- The exchange log (the `logfile` option). One line per exchange, always:
--   TIME API uid=UID rc=RC ms=MS bytes=IN sent=OUT [kill=K] [gid=G] [table=T] [rows=A-B]
--   [nrows=N] [msg="..."]
-- with no password, session password or sid in it, and no row of data. With `log_bodies` the
-- request (URL and body) and the reply follow, every line prefixed "> " or "< ", each cut to
-- `log_bodies` bytes (default A.LOG_BODY_BYTES), passwords and session passwords masked.
A.LOG_BODY_BYTES = 4096

local function mask(text)
  text = text:gsub("([?&]pswd=)[^&]*", "%1***")
  text = text:gsub("(<pswd>)[^<]*(</pswd>)", "%1***%2")
  -- a body cut inside a <pswd> element: what is left of the password goes too
  return (text:gsub("<pswd>[^<]*$", "<pswd>***"))
end

-- A body for the log: masked, cut to n bytes, every line prefixed.
local function excerpt(text, n, prefix)
  local total = #text
  -- mask a little more than is kept, so a <pswd> cut at the edge is still recognized
  local out = mask(text:sub(1, n + 256)):sub(1, n)
  out = prefix .. out:gsub("\r?\n$", ""):gsub("\n", "\n" .. prefix) .. "\n"
  if total > n then out = out .. string.format("%s[cut: %d of %d bytes]\n", prefix, n, total) end
  return out
end

local function quoted(text)
  return '"' .. tostring(text):gsub('[%c"\\]', function(c)
    return c == "\n" and "\\n" or c == '"' and '\\"' or c == "\\" and "\\\\" or string.format("\\x%02x", c:byte())
  end) .. '"'
end

local function log(h, reply, err)
  local conn = h.conn
  local f = conn.log
  if not f then return end
  local req = h.future.req
  local ms = (core.now() - h.started) * 1000
  local params, body = h.params, h.body or ""
  local parts = {
    os.date("!%Y-%m-%dT%H:%M:%SZ"), h.api, "uid=" .. tostring(params.uid),
    "rc=" .. (reply and reply:rc() or err.code), string.format("ms=%.1f", ms),
    "bytes=" .. (req and req:received() or 0), "sent=" .. #body,
  }
  if params.kill then parts[#parts + 1] = "kill=" .. params.kill end
  if params.gid then parts[#parts + 1] = "gid=" .. params.gid end
  local name = body:match("<name>([^<]*)</name>")
  if name then parts[#parts + 1] = "table=" .. name end
  local first, last = body:match("<start>(%d+)</start><end>(%d+)</end>")
  if first then parts[#parts + 1] = "rows=" .. first .. "-" .. last end
  if reply and (h.api == "getdata" or h.api == "querydata") then parts[#parts + 1] = "nrows=" .. reply:nrows() end
  local msg = reply and reply:rc() ~= 0 and reply:msg() or err and err.msg
  if msg then parts[#parts + 1] = "msg=" .. quoted(msg) end
  f:write(table.concat(parts, " "), "\n")
  local n = conn.log_bodies
  if n then
    f:write(excerpt("POST " .. h.url, n, "> "))
    if h.body then f:write(excerpt(h.body, n, "> ")) end
    local raw = req and req:raw()
    if raw then f:write(excerpt(raw, n, "< ")) end
  end
  f:flush()
end

-- Once a signal interrupted the run, every exchange together gets retry.GRACE seconds from
-- the first one after it: the time left, or nil while no signal came.
local grace_end
local function grace_left()
  if core.interrupted() == 0 then return nil end
  grace_end = grace_end or core.now() + retry.GRACE
  return grace_end - core.now()
end

-- Start one transaction without waiting for it.
function A.begin(conn, api, params, body)
  local url = url_for(conn, api, params)
  local h = { conn = conn, api = api, uid = params.uid, params = params, url = url, body = body, started = core.now() }
  local connect, total = conn.connect_timeout, conn.total_timeout
  local left = grace_left()
  if left then
    if left <= 0 then
      h.future = sched.future()
      h.future:set(nil, errors.new(errors.E_INTERRUPTED, "interrupted: no time left to ask", api, params.uid))
      return h
    end
    connect, total = math.min(connect or left, left), math.min(total or left, left)
  end
  h.future = sched.start {
    url = url, body = body,
    connect_timeout = connect, timeout = total,
    cafile = conn.cafile, proxy = conn.proxy, insecure = conn.insecure,
    reuse = conn.reuse ~= false, keep_raw = conn.log_bodies ~= nil,
    idempotent = not A.NOT_IDEMPOTENT[api], stall = (conn.stall or A.STALL)[STALL_KIND[api] or "call"],
  }
  return h
end

-- Wait for a started transaction: the reply (rc 0), or nil, an error object and the reply.
function A.wait(h)
  local reply, err = sched.finish(h.future)
  log(h, reply, err)
  if not reply then return nil, errors.new(err.code, err.msg, h.api, h.uid) end
  local rc = reply:rc()
  if rc ~= 0 then return nil, errors.group_hint(errors.new(rc, reply:msg(), h.api, h.uid), h.params.gid), reply end
  return reply
end

-- Run one transaction. Returns the reply (rc 0), or nil and an error object. A read that
-- fails transiently is asked again (retry.lua; the connection's `retries`). on_begin(h), when
-- given, sees each ask's handle as it starts (a progress display follows its bytes).
function A.try(conn, api, params, body, on_begin)
  local function ask()
    local h = A.begin(conn, api, params, body)
    if on_begin then on_begin(h) end
    return A.wait(h)
  end
  if retry.READS[api] then return retry.run(api, retry.read_limits(conn), ask) end
  return ask()
end

-- The same, raising the error.
function A.call(conn, api, params, body)
  local reply, err = A.try(conn, api, params, body)
  if not reply then error(err, 0) end
  return reply
end

-- The `stall` option: nil (the defaults), a number of seconds for every kind (0 or false: no
-- limit), or { query =, getdata =, call = } over the defaults. Returns the limits per kind.
function A.stall(fname, v)
  local out = { query = A.STALL.query, getdata = A.STALL.getdata, call = A.STALL.call }
  local function seconds(x, key)
    if x == false then return 0 end
    if type(x) ~= "number" or x < 0 then
      errors.arg(fname, key, "a number of seconds >= 0, or false", x, 5)
    end
    return x
  end
  if type(v) == "table" then
    for k, x in pairs(v) do
      if not out[k] then errors.arg(fname, "stall", "a number or { query =, getdata =, call = }", v, 4) end
      out[k] = seconds(x, "stall." .. tostring(k))
    end
  elseif v ~= nil then
    local s = seconds(v, "stall")
    out.query, out.getdata, out.call = s, s, s
  end
  return out
end

-- The page format a query asks for: "xml" (the default: the platform's values as its XML
-- replies carry them) or "csv" (a third of the bytes, about half the client CPU; see
-- docs/api.md for what is and is not known to be identical).
A.PAGE_FORMATS = { xml = true, csv = true }
function A.pages(fname, key, v, level)
  if v == nil then return "xml" end
  if not A.PAGE_FORMATS[v] then errors.arg(fname, key, '"xml" or "csv"', v, level + 1, { show = true }) end
  return v
end

-- Connection settings from user options: { gateway, timeout = {connect, total}, ... }.
function A.conn(fname, opts)
  local gateway, why = A.normalize(opts.gateway)
  if not gateway then
    errors.arg(fname, "gateway", why or "an http:// or https:// URL", opts.gateway, 3,
      { show = true, env = "TT_GATEWAY" })
  end
  local conn = { gateway = gateway, cafile = opts.cafile, proxy = opts.proxy, insecure = opts.insecure }
  local t = opts.timeout
  if type(t) == "table" then
    conn.connect_timeout, conn.total_timeout = t[1] or t.connect, t[2] or t.total
  elseif type(t) == "number" then
    conn.total_timeout = t
  elseif t ~= nil then
    errors.arg(fname, "timeout", "{connect, total} or a number of seconds", t, 3)
  end
  if opts.reuse_connection ~= nil then conn.reuse = opts.reuse_connection and true or false end
  -- querydata = false: a query runs alone and every page is a getdata (two exchanges where one
  -- would do), for a server that does not know querydata
  if opts.querydata ~= nil and type(opts.querydata) ~= "boolean" then
    errors.arg(fname, "querydata", "true or false", opts.querydata, 3)
  end
  conn.querydata = opts.querydata ~= false
  conn.pages = A.pages(fname, "pages", opts.pages, 3)
  conn.stall = A.stall(fname, opts.stall)
  conn.retries = retry.retries(opts.retries, fname, 3)
  conn.backoff = retry.backoff(opts.backoff, fname, 3)
  local lf = opts.logfile
  if type(lf) == "string" then
    conn.log = assert(io.open(lf, "a"))
  elseif io.type(lf) == "file" then
    conn.log = lf
  elseif lf ~= nil then
    errors.arg(fname, "logfile", "a path or an open file", lf, 3)
  end
  local lb = opts.log_bodies
  if lb == true then
    conn.log_bodies = A.LOG_BODY_BYTES
  elseif math.type(lb) == "integer" and lb > 0 then
    conn.log_bodies = lb
  elseif lb ~= nil and lb ~= false then
    errors.arg(fname, "log_bodies", "true, false or a number of bytes > 0", lb, 3)
  end
  if not conn.log then conn.log_bodies = nil end
  return conn
end

return A
