-- Issue 10, item 6: a request head the gateway cannot take (malformed, too long, a body too
-- big) gets an <out> reply with the right HTTP status and Connection: close, never
-- libmicrohttpd's HTML page; on the first request of a connection and on a later one alike.
-- The requests are raw bytes on a bash /dev/tcp socket (curl cannot send most of them).
local gateway = require "gateway"
local q = gateway.q

-- Send bytes on a new connection and read until the gateway closes it (bash's /dev/tcp).
-- `script` may do more before the final read (see keepalive below). Returns the raw reply.
local function exchange(g, bytes, script)
  local port = g.base:match(":(%d+)/")
  local path = os.tmpname()
  gateway.writefile(path, bytes)
  local out = gateway.run("timeout 20 bash -c " ..
    q("exec 3<>/dev/tcp/127.0.0.1/" .. port .. "; " .. (script or "") .. "cat " .. q(path) ..
      " >&3; cat <&3") .. " 2>/dev/null")
  os.remove(path)
  return out
end

-- Split a raw reply: status, headers (lower-case names), body, and the parsed <out>.
local function parse(raw)
  local head, body = raw:match("^(.-)\r\n\r\n(.*)$")
  assert(head, "no complete reply in: " .. raw:sub(1, 200))
  local status = tonumber(head:match("^HTTP/1%.1 (%d%d%d) "))
  local headers = {}
  for name, value in head:gmatch("\r\n([^:\r\n]+):[ \t]*([^\r\n]*)") do headers[name:lower()] = value end
  local r = gateway.reply(body, status)
  r.headers = headers
  return r
end

-- The checks every refusal must pass: the status, an <out> with this rc and a message, our
-- Content-Type, the whole body as declared, and the connection closed.
local function refused(r, status, rc, pattern)
  assert.are.equal(status, r.status, r.raw)
  assert.is_nil(r.error, r.raw)
  assert.are.equal(rc, r.rc)
  assert.is_truthy(r.msg and #r.msg > 0)
  if pattern then assert.matches(pattern, r.msg) end
  assert.are.equal("text/xml; charset=utf-8", r.headers["content-type"])
  assert.are.equal("close", r.headers["connection"])
  assert.are.equal(#r.raw, tonumber(r.headers["content-length"]))
end

local GOOD = "GET /cgi-bin/gw?api=samstatus HTTP/1.1\r\nHost: x\r\n"

describe("request heads the gateway refuses (item 6)", function()
  local g, dir

  setup(function()
    dir = gateway.tmpdir()
    g = gateway.start { dir = dir }
  end)

  teardown(function()
    if g then assert.are.equal(0, g:stop("TERM")) end
    gateway.sh("rm -rf " .. q(dir))
  end)

  it("answers a malformed request line with 400 and an <out>", function()
    for _, line in ipairs { "GET /cgi-bin/gw\r\n", "\1\2\3 junk\r\n", "GET /cgi-bin/gw FOO/1.1\r\n",
                            "GET  /cgi-bin/gw HTTP/1.1\r\n", "GET /cgi bin/gw HTTP/1.1\r\n" } do
      refused(parse(exchange(g, line .. "Host: x\r\n\r\n")), 400, 1, "request line")
    end
  end)

  it("answers a malformed header line with 400 and an <out>", function()
    for _, bad in ipairs { "BadHeader", "Bad Header: x", ": x", " folded: x", "X-A: a\rb",
                           "X-A: a\0b", "Content-Length: 12x", "Content-Length: -1" } do
      refused(parse(exchange(g, GOOD .. bad .. "\r\n\r\n")), 400, 1)
    end
    -- a line ending in a bare LF, and two Content-Length values that disagree
    refused(parse(exchange(g, "GET /cgi-bin/gw HTTP/1.1\nHost: x\n\n")), 400, 1, "LF without CR")
    refused(parse(exchange(g, GOOD .. "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab")), 400, 1,
      "disagree")
  end)

  it("answers a target over 8 KB with 414, and logs no part of it", function()
    local r = parse(exchange(g, "GET /cgi-bin/gw?api=login&uid=owner1&pswd=SECRET" ..
      ("x"):rep(40000) .. " HTTP/1.1\r\nHost: x\r\n\r\n"))
    refused(r, 414, 1, "target longer than 8192 bytes")
    -- curl sends one too, and reads the same reply
    r = g:call("login", { uid = "owner1", pswd = ("x"):rep(9000) })
    assert.are.equal(414, r.status)
    assert.are.equal(1, r.rc)
    assert.is_true(gateway.wait_for(function()
      return g:log():find("answered HTTP 414 to 127.0.0.1 (GET, ", 1, true) ~= nil
    end, 5), g:log())
    assert.is_nil(g:log():find("SECRET", 1, true))
  end)

  it("answers a head over 16 KB, over 64 header lines or 32 cookies, with 431", function()
    refused(parse(exchange(g, GOOD .. "X-Big: " .. ("b"):rep(40000) .. "\r\n\r\n")), 431, 1,
      "head larger than 16384 bytes")
    local many = {}
    for i = 1, 65 do many[i] = "X-" .. i .. ": a\r\n" end
    refused(parse(exchange(g, GOOD .. table.concat(many) .. "\r\n")), 431, 1, "more than 64 header")
    refused(parse(exchange(g, GOOD .. "Cookie: " .. ("a=1; "):rep(40) .. "\r\n\r\n")), 431, 1, "cookies")
    -- curl's own big header
    local out = gateway.run("curl -s -o /dev/null -w '%{http_code}' -H " ..
      q("X-Big: " .. ("b"):rep(20000)) .. " " .. q(g.url .. "?api=samstatus"))
    assert.are.equal("431", out)
  end)

  it("answers a declared body over max_body with 413 and rc 2, before any of it is sent", function()
    local r = parse(exchange(g, "POST /cgi-bin/gw?api=query HTTP/1.1\r\nHost: x\r\n" ..
      "Content-Type: text/xml\r\nContent-Length: 99999999999999999999\r\n\r\n"))
    refused(r, 413, 2, "larger than 4194304 bytes")
    r = parse(exchange(g, "POST /cgi-bin/gw?api=query HTTP/1.1\r\nHost: x\r\n" ..
      "Content-Length: 4194305\r\n\r\n<in>"))
    refused(r, 413, 2)
  end)

  it("answers Transfer-Encoding with 411 and an unknown HTTP version with 505", function()
    refused(parse(exchange(g, "POST /cgi-bin/gw?api=login HTTP/1.1\r\nHost: x\r\n" ..
      "Transfer-Encoding: chunked\r\n\r\n5\r\n<in/>\r\n0\r\n\r\n")), 411, 1, "Content%-Length")
    refused(parse(exchange(g, "GET /cgi-bin/gw HTTP/2.0\r\nHost: x\r\n\r\n")), 505, 1)
  end)

  it("still takes well-formed heads: blank lines before, tabs, HTTP/1.0", function()
    local r = parse(exchange(g, "\r\n" .. GOOD .. "X-Tab:\tv\r\nConnection: close\r\n\r\n"))
    assert.are.equal(200, r.status)
    assert.are.equal(3, r.rc) -- samstatus without a uid
    r = parse(exchange(g, "GET /cgi-bin/gw?api=samstatus HTTP/1.0\r\n\r\n"))
    assert.are.equal(200, r.status)
    assert.are.equal(3, r.rc)
  end)
end)

describe("kept-alive connections (item 6)", function()
  local g, dir

  setup(function()
    dir = gateway.tmpdir()
    local config = gateway.default_config()
    config.connection_timeout = 2
    g = gateway.start { dir = dir, config = config }
  end)

  teardown(function()
    if g then assert.are.equal(0, g:stop("TERM")) end
    gateway.sh("rm -rf " .. q(dir))
  end)

  -- bash that sends a good request and reads its whole reply (by its Content-Length), leaving
  -- the connection open; it prints the reply's body first.
  local FIRST = "printf 'GET /cgi-bin/gw?api=samstatus HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3; " ..
    "len=0; while IFS= read -r line <&3; do line=${line%$'\\r'}; [ -z \"$line\" ] && break; " ..
    "case $line in Content-Length:*) len=${line#*: };; esac; done; " ..
    "IFS= read -r -N \"$len\" body <&3; printf '%s@@FIRST@@' \"$body\"; "

  it("serves a normal client's requests on one connection (curl, two URLs)", function()
    local url = g.url .. "?api=samstatus"
    local out = gateway.run("curl -sv " .. q(url) .. " " .. q(url) .. " 2>&1")
    local _, replies = out:gsub("<out><rc>3</rc>", "")
    assert.are.equal(2, replies, out)
    assert.matches("Re%-using existing connection", out)
  end)

  it("answers a malformed head sent after a good request with an <out> too", function()
    local raw = exchange(g, "GET /cgi-bin/gw?api=samstatus HTTP/1.1\r\nBad Header\r\n\r\n", FIRST)
    local first, rest = raw:match("^(.-)@@FIRST@@(.*)$")
    assert.matches("<rc>3</rc>", first)
    refused(parse(rest), 400, 1, "header line")
    raw = exchange(g, "GET /cgi-bin/gw?api=x&pswd=" .. ("y"):rep(9000) .. " HTTP/1.1\r\n\r\n", FIRST)
    refused(parse(raw:match("@@FIRST@@(.*)$")), 414, 1)
  end)

  it("closes a kept-alive connection whose next head trickles past connection_timeout", function()
    -- after a good request, half a head; the gateway must close the connection (cat returns)
    local raw = exchange(g, "GET /cgi-bin/gw?api=samstatus HTTP/1.1\r\nX-Slow: ", FIRST)
    assert.matches("@@FIRST@@$", raw)
    assert.is_true(gateway.wait_for(function()
      return g:log():find("no complete request header within 2 s %(connection_timeout%)") ~= nil
    end, 15), g:log())
  end)

  it("closes a pipelining client's connection after the first reply, unchecked heads unread",
    function()
      local good = "GET /cgi-bin/gw?api=samstatus HTTP/1.1\r\nHost: x\r\n\r\n"
      local raw = exchange(g, good .. good .. "GET /x HTTP/1.1\r\nBad Header\r\n\r\n")
      local r = parse(raw)
      assert.are.equal(200, r.status)
      assert.are.equal("close", r.headers["connection"])
      assert.is_nil(raw:find("<html", 1, true))
    end)
end)
