-- tt-gateway hardening, part A (issue 10: items 1-4, 9-12): session tokens, failed-login
-- holds, password hashes, DTDs, query-string values, empty <col>, sessions ended during a
-- compile, well-formed UTF-8 replies and whole log lines. Each case is the issue's
-- reproducer, scaled down.
local gateway = require "gateway"
local q = gateway.q

local TABLE = "pub.demo.weather.stations"

-- Run many calls at once from one curl process (-Z); returns the replies in order.
local function burst(g, calls, parallel)
  local dir = gateway.tmpdir()
  local lines = {}
  for i, c in ipairs(calls) do
    local qs = c.raw_query
    if not qs then
      c.params.apiversion = c.params.apiversion or 3
      qs = gateway.query_string(c.params)
    end
    lines[#lines + 1] = string.format('url = "%s?%s"', g.url, qs)
    lines[#lines + 1] = string.format('output = "%s/r%d"', dir, i)
    if c.body then
      gateway.writefile(dir .. "/b" .. i, c.body)
      lines[#lines + 1] = string.format('data-binary = "@%s/b%d"', dir, i)
    else
      lines[#lines + 1] = 'request = "POST"'
    end
    if i < #calls then lines[#lines + 1] = "next" end
  end
  gateway.writefile(dir .. "/curl.cfg", table.concat(lines, "\n") .. "\n")
  gateway.run("curl -s -S --no-progress-meter --noproxy '*' -Z --parallel-max " .. (parallel or 16) ..
    " -K " .. q(dir .. "/curl.cfg") .. " 2>&1")
  local out = {}
  for i = 1, #calls do
    out[i] = gateway.reply(gateway.readfile(dir .. "/r" .. i))
  end
  gateway.run("rm -rf " .. q(dir))
  return out
end

-- One call whose query string is given as is (to send %00, %FF and the like).
local function raw_call(g, query, body)
  local out = os.tmpname()
  local cmd = "curl -s -S --noproxy '*' -o " .. q(out) .. " -X POST"
  if body then
    gateway.writefile(out .. ".in", body)
    cmd = cmd .. " --data-binary @" .. q(out .. ".in")
  end
  gateway.run(cmd .. " " .. q(g.url .. "?" .. query))
  local raw = gateway.readfile(out)
  os.remove(out)
  os.remove(out .. ".in")
  return gateway.reply(raw)
end

-- Well-formed XML by a strict parser (xmllint), and valid UTF-8.
local function strict_ok(raw)
  if not raw or not utf8.len(raw) then return false end
  local path = os.tmpname()
  gateway.writefile(path, raw)
  local _, rc = gateway.run("xmllint --noout " .. q(path) .. " 2>/dev/null")
  os.remove(path)
  return rc == 0
end

describe("session tokens (item 1)", function()
  local g
  setup(function() g = gateway.start {} end)
  teardown(function() assert.are.equal(0, g:stop()) end)

  it("are well-formed and never repeat over many logins", function()
    local calls = {}
    for i = 1, 120 do
      local uid = ({ "owner1", "admin1", "other1", "plain1" })[i % 4 + 1]
      local pw = ({ owner1 = "secret1", admin1 = "secret2", other1 = "secret3", plain1 = "secret4" })[uid]
      calls[i] = { params = { api = "login", uid = uid, pswd = pw, kill = "yes" } }
    end
    local sids, pswds = {}, {}
    for _, r in ipairs(burst(g, calls, 4)) do
      if r.rc == 0 then
        local sid, pswd = r.root:get("sid"), r.root:get("pswd")
        assert.matches("^[1-9]%d%d%d%d%d%d%d%d%d$", sid)
        assert.matches("^__" .. string.rep("[0-9a-f]", 32) .. "$", pswd)
        assert.is_nil(sids[sid], "sid repeated: " .. sid)
        assert.is_nil(pswds[pswd], "session password repeated")
        sids[sid], pswds[pswd] = true, true
      else
        -- kill=yes logins of one uid racing each other may lose three times in a row
        assert.are.equal(5, r.rc, r.msg)
      end
    end
    local n = 0
    for _ in pairs(sids) do n = n + 1 end
    assert.is_true(n >= 100, "only " .. n .. " logins succeeded")
  end)

  it("takes the session password only whole and exact", function()
    local s = g:login("plain1", "secret4")
    assert.are.equal(0, g:scall(s, "dir").rc)
    assert.are.equal(4, g:call("dir", { uid = "plain1", sid = s.sid, pswd = s.pswd:sub(1, -2) }).rc)
    assert.are.equal(4, g:call("dir", { uid = "plain1", sid = s.sid, pswd = s.pswd .. "0" }).rc)
    assert.are.equal(4, g:call("dir", { uid = "plain1", sid = s.sid, pswd = s.pswd:upper() }).rc)
  end)
end)

describe("failed logins (item 2)", function()
  -- first = hold = 60 where a test looks at a held key (no hold runs out under a slow
  -- machine), a short one where it waits for the hold to end (by polling).
  local function throttled_gateway(hold, extra)
    local config = gateway.default_config()
    config.login_throttle = { failures = 3, first = math.min(hold, 60), hold = hold }
    for k, v in pairs(extra or {}) do config[k] = v end
    local g = gateway.start { config = config }
    finally(function() g:stop() end) -- a failed assertion must not leave it running
    return g
  end

  it("holds a uid after N failures with rc 45 and a retry hint", function()
    local g = throttled_gateway(60)
    for _ = 1, 3 do
      assert.are.equal(4, g:call("login", { uid = "owner1", pswd = "wrong" }).rc)
    end
    -- held: even the right password is refused, without being looked at
    local r = g:call("login", { uid = "owner1", pswd = "secret1" })
    assert.are.equal(45, r.rc)
    assert.matches("^Login throttled: too many failed logins; retry in %d+ s$", r.msg)
    -- the clear-password pool calls are held too
    assert.are.equal(45, g:call("getuid", { uid = "owner1", pswd = "secret1", gid = "pool1" }).rc)
    -- so is any uid from the address the failures came from
    assert.are.equal(45, g:call("login", { uid = "plain1", pswd = "secret4" }).rc)
    -- session calls are not password guesses: they go on
    assert.are.equal(35, g:call("dir", { uid = "plain1", sid = "1234567890", pswd = "x" }).rc)
    assert.are.equal(0, g:stop())
  end)

  it("lets the uid in again once the hold is over, and starts the count over", function()
    local g = throttled_gateway(0.3)
    for _ = 1, 3 do
      assert.are.equal(4, g:call("login", { uid = "owner1", pswd = "wrong" }).rc)
    end
    assert.is_true(gateway.wait_for(function()
      return g:call("login", { uid = "owner1", pswd = "secret1", kill = "possess" }).rc == 0
    end, 10))
    -- a success starts the count over: two more failures are not yet a hold
    for _ = 1, 2 do
      assert.are.equal(4, g:call("login", { uid = "owner1", pswd = "wrong" }).rc)
    end
    assert.are.equal(0, g:call("login", { uid = "owner1", pswd = "secret1", kill = "possess" }).rc)
    assert.are.equal(0, g:stop())
  end)

  it("holds unknown uids like known ones, and the address they come from", function()
    local g = throttled_gateway(60)
    for _ = 1, 3 do
      assert.are.equal(4, g:call("login", { uid = "ghost", pswd = "x" }).rc)
      -- each success in between clears the address: only the uid's count grows
      assert.are.equal(0, g:call("login", { uid = "plain1", pswd = "secret4", kill = "possess" }).rc)
    end
    assert.are.equal(45, g:call("login", { uid = "ghost", pswd = "x" }).rc)
    assert.are.equal(0, g:call("login", { uid = "plain1", pswd = "secret4", kill = "possess" }).rc)
    -- three unknown uids, one failure each: the address is held
    for i = 1, 3 do
      assert.are.equal(4, g:call("login", { uid = "nobody" .. i, pswd = "x" }).rc)
    end
    assert.are.equal(45, g:call("login", { uid = "plain1", pswd = "secret4", kill = "possess" }).rc)
    assert.are.equal(0, g:stop())
  end)

  it("can be turned off", function()
    local g = throttled_gateway(60, { login_throttle = false })
    for _ = 1, 8 do
      assert.are.equal(4, g:call("login", { uid = "owner1", pswd = "wrong" }).rc)
    end
    assert.are.equal(0, g:call("login", { uid = "owner1", pswd = "secret1" }).rc)
    assert.are.equal(0, g:stop())
  end)
end)

describe("password hashes and tt-gateway passwd (item 2)", function()
  local dir
  setup(function() dir = gateway.tmpdir() end)
  teardown(function() gateway.run("rm -rf " .. q(dir)) end)

  local function passwd(input, args)
    return gateway.run("printf '%s\\n' " .. q(input) .. " | " .. q(gateway.bin) .. " passwd " ..
      (args or "--stdin") .. " 2>&1")
  end

  it("prints a yescrypt hash that logs in, and the config needs no plain text", function()
    local out, rc = passwd("s3cret pw")
    assert.are.equal(0, rc, out)
    local hash = out:match("^(%$[^\n]+)\n$")
    assert.matches("^%$y%$", hash)
    local again = passwd("s3cret pw")
    assert.are_not.equal(out, again) -- a fresh salt each time
    local config = { users = { { uid = "h1", password_hash = hash } } }
    local g = gateway.start { config = config, dir = dir }
    assert.are.equal(0, g:call("login", { uid = "h1", pswd = "s3cret pw" }).rc)
    assert.are.equal(4, g:call("login", { uid = "h1", pswd = "s3cret" }).rc)
    assert.are.equal(0, g:stop())
    assert.is_nil(g:log():find("plain-text", 1, true))
  end)

  it("reads from a terminal without echo, twice, and wants --stdin otherwise", function()
    local out, rc = gateway.run("printf 'pw one\\npw one\\n' | script -qec " ..
      q(q(gateway.bin) .. " passwd") .. " /dev/null 2>&1")
    assert.are.equal(0, rc, out)
    -- (the pty echoes what is typed ahead before the prompt, so the transcript cannot show
    -- whether echo was off while reading)
    assert.matches("Password:", out)
    assert.matches("Again:", out)
    assert.matches("%$y%$", out)
    out, rc = gateway.run("printf 'a\\nb\\n' | script -qec " .. q(q(gateway.bin) .. " passwd") ..
      " /dev/null 2>&1")
    assert.are.equal(1, rc)
    assert.matches("differ", out)
    out, rc = gateway.run("echo pw | " .. q(gateway.bin) .. " passwd 2>&1")
    assert.are.equal(2, rc)
    assert.matches("use %-%-stdin", out)
    out, rc = passwd("")
    assert.are.equal(1, rc)
    assert.matches("empty", out)
  end)

  it("refuses DES and MD5 hashes at load and warns about plain-text passwords", function()
    local function serve(users)
      local cfg = dir .. "/c.lua"
      gateway.run("sqlite3 " .. q(dir .. "/x.db") .. " 'CREATE TABLE t(a); DROP TABLE t;'")
      gateway.writefile(cfg, "return { database = 'x.db', users = " .. gateway.serialize(users) .. " }")
      return gateway.run(q(gateway.bin) .. " serve --config " .. q(cfg) .. " --listen bad 2>&1")
    end
    local out, rc = serve { { uid = "a", password_hash = "$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0" } }
    assert.are.equal(1, rc)
    assert.matches("users%[1%]: 'password_hash' is an MD5 crypt hash", out)
    out, rc = serve { { uid = "a", password_hash = "abJnggxhB/yWI" } }
    assert.are.equal(1, rc)
    assert.matches("DES", out)
    local sha = gateway.run("openssl passwd -6 pw"):gsub("%s+$", "")
    out = serve { { uid = "a", password_hash = sha }, { uid = "b", password = "plain" } }
    assert.matches("warning: plain%-text passwords in .-%(users%[2%] b%)", out)
    assert.matches("bad listen address", out) -- got past the config
  end)
end)

describe("request bodies and query strings (items 3, 4)", function()
  local g, dir
  setup(function()
    dir = gateway.tmpdir()
    g = gateway.start { db = gateway.demo_db(dir, 0.005), dir = dir }
  end)
  teardown(function()
    assert.are.equal(0, g:stop())
    gateway.run("rm -rf " .. q(dir))
  end)

  it("refuses a billion-laughs body with rc 2 before expanding anything", function()
    local s = g:login("owner1", "secret1", "possess")
    local decl = { '<!ENTITY l0 "lol">' }
    for i = 1, 9 do
      decl[#decl + 1] = string.format('<!ENTITY l%d "%s">', i, string.rep("&l" .. (i - 1) .. ";", 10))
    end
    local body = "<?xml version=\"1.0\"?><!DOCTYPE in [" .. table.concat(decl) .. "]>" ..
      "<in><name>&l9;</name></in>"
    local r = g:scall(s, "tabinfo", body)
    assert.are.equal(2, r.rc)
    assert.matches("DTD", r.msg)
    assert.are.equal(0, g:scall(s, "dir").rc)
  end)

  it("refuses ops that arrive through an entity instead of dropping them", function()
    local s = g:login("owner1", "secret1", "possess")
    local body = "<!DOCTYPE in [<!ENTITY o '<sel value=\"elev&gt;100\"/>'>]><in><name>" .. TABLE ..
      "</name><ops>&o;</ops></in>"
    assert.are.equal(2, g:scall(s, "query", body).rc)
    -- an entity no DTD declares is an XML error too
    local r = g:scall(s, "query", "<in><name>" .. TABLE .. "</name><ops>&o;</ops></in>")
    assert.are.equal(2, r.rc)
  end)

  it("refuses a NUL in any query-string value with rc 9", function()
    local r = raw_call(g, "api=login&apiversion=3&uid=plain1&pswd=secret4%00junk")
    assert.are.equal(9, r.rc)
    assert.matches("NUL", r.msg)
    assert.are.equal(9, raw_call(g, "api=login&uid=plain1%00x&pswd=secret4").rc)
    assert.are.equal(9, raw_call(g, "api=login%00&uid=plain1&pswd=secret4").rc)
    assert.are.equal(9, raw_call(g, "api=login&uid=plain1&pswd=secret4&x%00=1").rc)
    assert.are.equal(0, raw_call(g, "api=login&uid=plain1&pswd=secret4&kill=possess").rc)
  end)

  it("takes only canonical decimal sids; others get rc 9, a missing one rc 35", function()
    local s = g:login("plain1", "secret4", "possess")
    for _, sid in ipairs { "+" .. s.sid, " " .. s.sid, s.sid .. " ", "0" .. s.sid, "-" .. s.sid,
                           "99999999999999999999", "9223372036854775808", "0x10", "1e9", "abc" } do
      local r = g:call("dir", { uid = "plain1", sid = sid, pswd = s.pswd })
      assert.are.equal(9, r.rc, "sid '" .. sid .. "'")
      assert.matches("^Invalid value for sid", r.msg)
    end
    assert.are.equal(35, g:call("dir", { uid = "plain1", sid = "", pswd = s.pswd }).rc)
    assert.are.equal(35, g:call("dir", { uid = "plain1", sid = "0", pswd = s.pswd }).rc)
    assert.are.equal(35, g:call("dir", { uid = "plain1", sid = "9223372036854775807", pswd = s.pswd }).rc)
    assert.are.equal(0, g:scall(s, "dir").rc)
  end)
end)

describe("query replies (items 9, 10)", function()
  local g, dir
  setup(function()
    dir = gateway.tmpdir()
    g = gateway.start { db = gateway.demo_db(dir, 0.005), dir = dir }
  end)
  teardown(function()
    -- under ASan a leak makes the stop fail
    assert.are.equal(0, g:stop())
    gateway.run("rm -rf " .. q(dir))
  end)

  it("answers an empty <col> with rc 36, not column 0", function()
    local s = g:login("owner1", "secret1", "possess")
    assert.are.equal(0, g:scall(s, "query", "<in><name>" .. TABLE .. "</name></in>").rc)
    for _, cols in ipairs { "<col></col>", "<col/>", "<col> </col>", "<col>id</col><col>\n</col>" } do
      for _ = 1, 20 do
        local r = g:scall(s, "getdata", '<in><rows mode="2"><start>0</start><end>2</end></rows>' ..
          "<cols>" .. cols .. "</cols></in>")
        assert.are.equal(36, r.rc, cols)
        assert.matches("empty <col>", r.msg)
      end
    end
    local r = g:scall(s, "getdata", '<in><rows mode="2"><start>0</start><end>2</end></rows>' ..
      "<cols><col>name</col></cols></in>")
    assert.are.equal(0, r.rc)
    assert.are.equal("name", r.root:find("cols"):all("th")[1].attrs.name)
  end)

  it("answers rc 35, never rc 17, when a logout races a query", function()
    -- Queries on one session wait for each other; a kill=yes login lands among them, so some
    -- are compiling when their session ends. Unfixed, about 1 in 300 got rc 17.
    local ops = {}
    for i = 1, 3 do
      ops[i] = '<link table2="' .. TABLE .. '" col="id" col2="id" suffix="_' .. i .. '"/>'
    end
    local body = "<in><name>" .. TABLE .. "</name><ops>" .. table.concat(ops) .. "</ops></in>"
    local seen = {}
    for _ = 1, 60 do
      local s = g:login("owner1", "secret1", "yes")
      local calls = {}
      for i = 1, 16 do
        calls[i] = { params = { api = "query", uid = s.uid, sid = s.sid, pswd = s.pswd }, body = body }
      end
      calls[5] = { params = { api = "login", uid = "owner1", pswd = "secret1", kill = "yes" } }
      for i, r in ipairs(burst(g, calls, 8)) do
        if i ~= 5 then
          assert.is_true(r.rc == 0 or r.rc == 35, "rc " .. tostring(r.rc) .. ": " .. tostring(r.msg))
          seen[r.rc] = (seen[r.rc] or 0) + 1
        end
      end
    end
    assert.is_true((seen[35] or 0) > 0)
  end)
end)

describe("replies and the log (items 11, 12)", function()
  local g, dir
  setup(function()
    dir = gateway.tmpdir()
    g = gateway.start { db = gateway.demo_db(dir, 0.005), dir = dir }
  end)
  teardown(function()
    assert.are.equal(0, g:stop())
    gateway.run("rm -rf " .. q(dir))
  end)

  it("replaces bytes that are not UTF-8 echoed from the query string", function()
    for _, query in ipairs { "api=l%FFogin&uid=x", "api=%C3&uid=x", "api=%ED%A0%80",
                             "api=" .. string.rep("%C3%A9", 40),
                             "api=reluid&uid=pool1_0&pswd=secret1&gid=g%FF%FE" } do
      local r = raw_call(g, query)
      assert.is_true(strict_ok(r.raw), query .. ": " .. tostring(r.raw))
      assert.is_true(r.rc ~= nil and r.rc ~= 0)
    end
    local r = raw_call(g, "api=l%FFogin")
    assert.are.equal("Invalid transaction type 'l\u{FFFD}ogin'", r.msg)
  end)

  it("makes libxml2's messages one line of UTF-8, cut on a character boundary", function()
    local s = g:login("owner1", "secret1", "possess")
    -- "Input is not proper UTF-8 ... \nBytes: ..." is two lines from libxml2
    local r = g:scall(s, "tabinfo", "<in><name>caf\xe9</name></in>")
    assert.are.equal(2, r.rc)
    assert.is_true(strict_ok(r.raw))
    assert.is_nil(r.msg:find("\n", 1, true))
    -- a mismatch message naming two long non-ASCII tags runs past 1023 bytes
    for _, pad in ipairs { "", "x", "xy" } do
      local a, b = pad .. string.rep("é", 400), pad .. string.rep("ü", 400)
      r = g:scall(s, "tabinfo", "<in><" .. a .. "></" .. b .. "></in>")
      assert.are.equal(2, r.rc)
      assert.is_true(strict_ok(r.raw), r.raw)
    end
    -- so do many absent columns with long names, each cut at 64 bytes
    assert.are.equal(0, g:scall(s, "query", "<in><name>" .. TABLE .. "</name></in>").rc)
    local cols = {}
    for i = 1, 30 do cols[i] = "<col>x" .. string.rep("é", 50) .. i .. "</col>" end
    r = g:scall(s, "getdata", "<in><cols>" .. table.concat(cols) .. "</cols></in>")
    assert.are.equal(36, r.rc)
    assert.is_true(strict_ok(r.raw), r.raw)
  end)

  it("writes whole log lines under a burst of concurrent requests", function()
    local calls = {}
    for i = 1, 160 do
      local k = i % 4
      if k == 0 then
        calls[i] = { params = { api = "login", uid = "plain1", pswd = "secret4", kill = "possess" } }
      elseif k == 1 then
        calls[i] = { params = { api = "login", uid = "plain1", pswd = "secret4", kill = "possess" },
                     body = "<in>caf\xe9 " .. i .. "</in>" }
      elseif k == 2 then
        calls[i] = { raw_query = "api=l%FFogin%0Afake%20line&uid=a%0Ab" }
      else
        calls[i] = { params = { api = "dir", uid = "plain1", sid = "12", pswd = "x" },
                     body = "<in><a></b></in>" }
      end
    end
    for _, r in ipairs(burst(g, calls, 16)) do
      assert.is_true(strict_ok(r.raw), tostring(r.raw))
    end
    local log = g:log()
    local requests = 0
    for line in log:gmatch("([^\n]*)\n") do
      assert.is_truthy(utf8.len(line), line)
      -- lines starting "tt-gateway: " are start-up and housekeeping lines
      if not line:match("^tt%-gateway: ") then
        assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ [%d%.:a-f%-]+ POST /cgi%-bin/gw " ..
          "api=%S+ uid=%S+ rc=%d+ bytes=%d+ ms=%d+%.%d$", (line:gsub(" gid=%S+", "", 1)))
        requests = requests + 1
      end
    end
    assert.is_true(requests >= 160)
    assert.are.equal("\n", log:sub(-1))
  end)
end)
