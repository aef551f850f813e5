-- One XML API transaction: build the request, wait for the reply on the loop, log it, and turn
-- a failure into an error object. Parameters go in the query string, POST with text/xml.
local core = require "tenten.core"
local errors = require "tenten.errors"
local sched = require "tenten.sched"

local A = {}

-- The order parameters appear in on the wire (after api and apiversion).
local ORDER = { "uid", "pswd", "sid", "kill", "gid" }

-- A gateway given as a bare server ("http://host:port" or ".../") gets the usual path.
function A.normalize(gateway)
  if type(gateway) ~= "string" or not gateway:match("^https?://") then return nil end
  local scheme_host, path = gateway:match("^(https?://[^/?#]+)(.*)$")
  if not scheme_host then return nil end
  if path == "" or path == "/" then return scheme_host .. "/cgi-bin/gw" end
  return gateway
end

local function url_for(conn, api, params)
  local parts = { "api=" .. api, "apiversion=3" }
  for _, k in ipairs(ORDER) do
    local v = params[k]
    if v ~= nil then parts[#parts + 1] = k .. "=" .. core.urlencode(tostring(v)) end
  end
  local sep = conn.gateway:find("?", 1, true) and "&" or "?"
  return conn.gateway .. sep .. table.concat(parts, "&")
end

local function mask(text)
  text = text:gsub("([?&]pswd=)[^&]*", "%1***")
  return (text:gsub("(<pswd>)[^<]*(</pswd>)", "%1***%2"))
end

local function log(conn, url, body, reply, err, started, req)
  local f = conn.log
  if not f then return end
  f:write(os.date("!%Y-%m-%dT%H:%M:%SZ"), " >>> POST ", mask(url), "\n")
  if body then f:write(mask(body), "\n") end
  local ms = (core.now() - started) * 1000
  if reply then
    f:write(string.format("<<< rc=%d %.1f ms\n", reply:rc(), ms))
    local raw = req and req:raw()
    if raw then f:write(mask(raw), raw:sub(-1) == "\n" and "" or "\n") end
  else
    f:write(string.format("<<< transport error %d: %s (%.1f ms)\n", err.code, err.msg, ms))
  end
  f:flush()
end

-- Start one transaction without waiting for it.
function A.begin(conn, api, params, body)
  local url = url_for(conn, api, params)
  return {
    conn = conn, api = api, uid = params.uid, url = url, body = body, started = core.now(),
    future = sched.start {
      url = url, body = body,
      connect_timeout = conn.connect_timeout, timeout = conn.total_timeout,
      cafile = conn.cafile, proxy = conn.proxy, insecure = conn.insecure,
      reuse = conn.reuse ~= false, keep_raw = conn.log ~= nil,
    },
  }
end

-- Wait for a started transaction: the reply (rc 0), or nil, an error object and the reply.
function A.wait(h)
  local reply, err = sched.finish(h.future)
  log(h.conn, h.url, h.body, reply, err, h.started, h.future.req)
  if not reply then return nil, errors.new(err.code, err.msg, h.api, h.uid) end
  local rc = reply:rc()
  if rc ~= 0 then return nil, errors.new(rc, reply:msg(), h.api, h.uid), reply end
  return reply
end

-- Run one transaction. Returns the reply (rc 0), or nil and an error object.
function A.try(conn, api, params, body)
  return A.wait(A.begin(conn, api, params, body))
end

-- The same, raising the error.
function A.call(conn, api, params, body)
  local reply, err = A.try(conn, api, params, body)
  if not reply then error(err, 0) end
  return reply
end

-- Connection settings from user options: { gateway, timeout = {connect, total}, ... }.
function A.conn(fname, opts)
  local gateway = A.normalize(opts.gateway)
  if not gateway then errors.arg(fname, "gateway", "an http:// or https:// URL", opts.gateway, 3) end
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
  local lf = opts.logfile
  if type(lf) == "string" then
    conn.log = assert(io.open(lf, "a"))
  elseif io.type(lf) == "file" then
    conn.log = lf
  elseif lf ~= nil then
    errors.arg(fname, "logfile", "a path or an open file", lf, 3)
  end
  return conn
end

return A
