-- Porting from py1010 (issue 12): tenten.Session with four arguments is one user's session
-- even where TT_GROUP is set, the pool commands answer to py1010's spellings, and q:column is
-- py1010's query['col'], fetched page by page.
local gateway = require "gateway"
local tenten = require "tenten"

local build = os.getenv("TT_BUILD_DIR") or "build"
local bin = build .. "/tt-lua"
local q = gateway.q

-- N/A in the middle, and enough rows for many pages of 7 rows
local function words_csv(n)
  local lines = { "id:i,word:a,amount:f" }
  for i = 1, n do
    lines[#lines + 1] = string.format("%d,%s,%s", i, i % 10 == 0 and "" or "w" .. i, i % 7 == 0 and "" or i + 0.5)
  end
  return table.concat(lines, "\n") .. "\n"
end

describe("porting from py1010", function()
  local g, dir, url

  setup(function()
    dir = gateway.tmpdir()
    local db = gateway.demo_db(dir, 0.01)
    assert.are.equal(0, gateway.import(db, "test.words", words_csv(100), dir))
    local config = gateway.default_config()
    config.page_rows = 40 -- a cap of the gateway's own, under the client's page size
    g = gateway.start { dir = dir, db = db, config = config }
    url = g.url
  end)

  teardown(function()
    if g then g:stop() end
  end)

  before_each(function()
    tenten.resetpool(url, "owner1", "secret1", "pool1")
  end)

  -- Run a script under tt-lua with the environment given; returns stdout, exit code, stderr.
  local function ttlua(text, env)
    local path = dir .. "/script-" .. math.random(1e9) .. ".lua"
    gateway.writefile(path, text)
    local errf = path .. ".err"
    local out, rc = gateway.run(string.format("cd %s && env -u LUA_INIT %s %s %s 2>%s </dev/null",
      q(dir), env, q(bin), q(path), q(errf)))
    local err = gateway.readfile(errf) or ""
    os.remove(path)
    os.remove(errf)
    return out, rc, err
  end

  describe("tenten.Session with four arguments", function()
    local ENV

    before_each(function()
      ENV = string.format("TT_GATEWAY=%s TT_USER=owner1 TT_PASSWORD=secret1 TT_GROUP=pool1", q(url))
    end)

    it("is a single-user session although TT_GROUP is set: no getuid, no pool ID", function()
      local log = dir .. "/four.log"
      local out, rc, err = ttlua(string.format([[
local tenten = require "tenten"
local s = tenten.Session(os.getenv("TT_GATEWAY"), "owner1", "secret1", tenten.KILL, { logfile = %q })
print(s.username, s.group, s.owner)
local busy = 0
for _, id in ipairs(tenten.samstatus().ids) do
  if id.state == "BUSY" then busy = busy + 1 end
end
print("busy", busy)
s:close()
]], log), ENV)
      assert.are.equal(0, rc, err)
      assert.are.equal("owner1\tnil\tnil\nbusy\t0\n", out)
      local text = gateway.readfile(log)
      assert.truthy(text:find(" login uid=owner1 ", 1, true), text)
      assert.falsy(text:find(" getuid ", 1, true), text)
      assert.falsy(text:find("gid=", 1, true), text)
    end)

    it("with a fifth argument, or group in opts, is a pool session", function()
      local out, rc, err = ttlua([[
local tenten = require "tenten"
local gw = os.getenv("TT_GATEWAY")
local a <close> = tenten.Session(gw, "owner1", "secret1", tenten.POSSESS, "pool1")
local b <close> = tenten.Session(gw, "owner1", "secret1", tenten.POSSESS, { group = "pool1" })
print(a.group, a.owner, a.username:match("^pool1_%d$") ~= nil)
print(b.group, b.owner, b.username:match("^pool1_%d$") ~= nil)
]], ENV)
      assert.are.equal(0, rc, err)
      assert.are.equal("pool1\towner1\ttrue\npool1\towner1\ttrue\n", out)
    end)

    it("leaves TT_GROUP filling in where a group is expected", function()
      local out, rc, err = ttlua([[
local tenten = require "tenten"
local s <close> = tenten.session {}
print(s.group, s.username:match("^pool1_%d$") ~= nil)
local single <close> = tenten.session { group = false, mode = tenten.KILL }
print(single.group, single.username)
print(tenten.pool {}.group)
]], ENV)
      assert.are.equal(0, rc, err)
      assert.are.equal("pool1\ttrue\nnil\towner1\npool1\n", out)
    end)
  end)

  it("answers to py1010's spellings of the pool commands", function()
    assert.are.equal(tenten.warmpool, tenten.warmPool)
    assert.are.equal(tenten.flushpool, tenten.flushPool)
    assert.are.equal(tenten.resetpool, tenten.resetPool)
    assert.are.equal(4, tenten.warmPool(url, "owner1", "secret1", "pool1"))
    local warm = 0
    for _, id in ipairs(tenten.samstatus(url, "owner1", "secret1", "pool1").ids) do
      if id.state == "WARM" then warm = warm + 1 end
    end
    assert.are.equal(4, warm)
    -- py1010's flushPool(gateway, owner, password, group, logfile, mode)
    assert.is_true(tenten.flushPool(url, "owner1", "secret1", "pool1", nil, "mode"))
    for _, id in ipairs(tenten.samstatus(url, "owner1", "secret1", "pool1").ids) do
      assert.are.equal("COLD", id.state)
    end
    assert.are.equal(4, tenten.warmPool(url, "owner1", "secret1", "pool1", { tenten.BaseQuery("test.words", "") }))
    assert.is_true(tenten.resetPool(url, "owner1", "secret1", "pool1"))
  end)

  describe("q:column", function()
    it("is the whole column over many pages, equal to the rows' column", function()
      local log = dir .. "/column.log"
      local s <close> = tenten.Session(url, "plain1", "secret4", tenten.KILL, { logfile = log, log_bodies = true })
      local query = s:query("test.words", '<sel value="id>3"/>')
      query.page_rows = 7
      local want = { id = {}, word = {}, amount = {} }
      for row in query:rows() do
        want.id[#want.id + 1] = row[1]
        want.word[#want.word + 1] = row[2]
        want.amount[#want.amount + 1] = row[3]
      end
      assert.are.equal(97, #want.id)
      local before = #gateway.readfile(log)
      for _, name in ipairs { "id", "word", "amount" } do
        assert.are.same(want[name], query:column(name), name)
      end
      local words = query:column("word")
      assert.are.equal(tenten.NA, words[7]) -- id 10
      assert.are.equal("w4", words[1])
      assert.are.equal(4, query:column("id")[1])
      assert.are.equal("integer", math.type(query:column("id")[1]))
      -- page by page, each asking for the one column
      local text = gateway.readfile(log):sub(before + 1)
      local pages = 0
      for _ in text:gmatch("\n> <in><cols><col>word</col></cols><rows mode=\"2\">") do pages = pages + 1 end
      assert.is_true(pages >= 14, text) -- 97 rows, 7 a page
    end)

    it("pages under the gateway's own cap too", function()
      local s <close> = tenten.Session(url, "plain1", "secret4", tenten.KILL)
      local query = s:query("test.words", "")
      local ids = query:column("id") -- asks for 50000 rows a page; the gateway sends 40
      assert.are.equal(100, #ids)
      for i = 1, 100 do assert.are.equal(i, ids[i]) end
    end)

    it("names an unknown column and lists the known ones", function()
      local s <close> = tenten.Session(url, "plain1", "secret4", tenten.KILL)
      local query = s:query("test.words", "")
      local ok, err = pcall(query.column, query, "score")
      assert.is_false(ok)
      assert.matches([[Query:column: argument 'name' must be a column of test.words's result %(got "score"%): ]] ..
        "its columns are id, word, amount", err)
      ok, err = pcall(query.column, query, 3)
      assert.is_false(ok)
      assert.matches("Query:column: argument 'name' must be a column name %(a string%) %(got number%)", err)
    end)

    it("gives an empty list for an empty result", function()
      local s <close> = tenten.Session(url, "plain1", "secret4", tenten.KILL)
      assert.are.same({}, s:query("test.words", '<sel value="id>1000"/>'):column("word"))
    end)
  end)
end)
