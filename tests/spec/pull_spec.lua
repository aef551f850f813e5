-- pool:pull and tenten.pull against a real tt-gateway.
local gateway = require "gateway"
local tenten = require "tenten"

describe("pool:pull", function()
  local g, dir, pool, url

  setup(function()
    dir = gateway.tmpdir()
    local config = gateway.default_config()
    config.page_rows = 500
    g = gateway.start { dir = dir, db = gateway.demo_db(dir, 0.01), config = config }
    url = g.url
    pool = tenten.pool { gateway = url, owner = "owner1", password = "secret1", group = "pool1" }
  end)

  teardown(function()
    if g then g:stop() end
  end)

  local exists = gateway.exists

  local function count_lines(path)
    local n = 0
    for _ in io.lines(path) do n = n + 1 end
    return n
  end

  it("pulls every job into its file and summarises each", function()
    local jobs = {
      { table = "pub.demo.weather.hourly90", ops = '<sel value="hour=0"/>', out = dir .. "/a.csv" },
      { table = "pub.demo.weather.stations", out = dir .. "/b.tsv" },
      { table = "pub.demo.retail.item", out = dir .. "/c.out", format = "jsonl", columns = { "sku", "sales" } },
    }
    local res = tenten.run(function() return pool:pull(jobs, { progress = false }) end)
    assert.are.equal(3, #res)
    assert.are.equal(3 * 365, res[1].rows)
    assert.are.equal(3 * 365 + 1, count_lines(dir .. "/a.csv"))
    assert.are.equal(4, count_lines(dir .. "/b.tsv"))
    assert.are.equal(500, res[3].rows)
    local first = io.open(dir .. "/c.out"):read("l")
    assert.matches('^{"sku":%d+,"sales":[%d.]+}$', first)
    for _, s in ipairs(res) do
      assert.is_nil(s.error)
      assert.matches("^pool1_%d$", s.uid)
      assert.is_true(s.bytes > 0 and s.seconds >= 0)
    end
  end)

  it("leaves no file for a failed job, reports its error, and goes on with the others", function()
    local jobs = {
      { table = "pub.demo.weather.stations", out = dir .. "/ok1.csv" },
      { table = "pub.demo.nosuch", out = dir .. "/bad.csv" },
      { table = "pub.demo.weather.stations", ops = '<sel value="nosuch=1"/>', out = dir .. "/bad2.csv" },
      { table = "pub.demo.retail.item", out = dir .. "/ok2.csv" },
    }
    local res = pool:pull(jobs, { progress = false })
    assert.is_nil(res[1].error)
    assert.are.equal(17, res[2].error.code)
    assert.are.equal(9, res[3].error.code)
    assert.is_nil(res[4].error)
    assert.is_true(exists(dir .. "/ok1.csv") and exists(dir .. "/ok2.csv"))
    assert.is_false(exists(dir .. "/bad.csv") or exists(dir .. "/bad2.csv"))
    local leftovers = gateway.run("ls " .. gateway.q(dir) .. " | grep -c part || true")
    assert.are.equal("0", leftovers:match("%d+"))
  end)

  it("stops the others with fail_fast and leaves none of their partial files", function()
    local jobs = { { table = "pub.demo.nosuch", out = dir .. "/ff0.csv" } }
    for i = 1, 6 do
      jobs[#jobs + 1] = { table = "pub.demo.weather.hourly90", out = dir .. "/ff" .. i .. ".csv" }
    end
    local res = tenten.run(function()
      return pool:pull(jobs, { progress = false, fail_fast = true, concurrency = 3 })
    end)
    assert.are.equal(17, res[1].error.code)
    local stopped = 0
    for i = 2, 7 do
      if res[i].error then
        stopped = stopped + 1
        assert.is_false(exists(jobs[i].out))
      end
    end
    assert.is_true(stopped >= 4)
    local leftovers = gateway.run("ls " .. gateway.q(dir) .. " | grep -c part || true")
    assert.are.equal("0", leftovers:match("%d+"))
    assert.are.equal(0, pool:stats().busy)
  end)

  it("gives a function job a pooled session and the same bookkeeping", function()
    local res = tenten.pull({ gateway = url, owner = "owner1", password = "secret1", group = "pool1" }, {
      function(s)
        local q = s:query("pub.demo.weather.stations", ""):run()
        local t = s:query("pub.demo.retail.item", ""):run()
        return q.nrows + t.nrows, 0
      end,
      { fn = function() error("no luck") end, name = "unlucky" },
    }, { progress = false })
    assert.are.equal(503, res[1].rows)
    assert.matches("^pool1_%d$", res[1].uid)
    assert.are.equal("unlucky", res[2].name)
    assert.matches("no luck", tostring(res[2].error))
  end)

  it("prints only a final line when stderr is not a terminal, and a summary on request", function()
    local script = dir .. "/p.lua"
    gateway.writefile(script, string.format([[
      local tenten = require "tenten"
      local p = tenten.pool { gateway = %q, owner = "owner1", password = "secret1", group = "pool1" }
      p:pull({ { table = "pub.demo.weather.stations", out = %q } }, { summary = true })
    ]], url, dir .. "/s.csv"))
    local out, rc = gateway.run(gateway.q((os.getenv("TT_BUILD_DIR") or "build") .. "/tt-lua") .. " " ..
      gateway.q(script) .. " 2>&1 >/dev/null")
    assert.are.equal(0, rc, out)
    assert.matches("^pulled 1 job: 1 ok, 0 failed, 3 rows", out)
    assert.matches("\njob%s+name", out)
    assert.is_nil(out:find("\27[", 1, true))
  end)

  it("refuses bad jobs at once, naming them", function()
    local ok, err = pcall(pool.pull, pool, { { table = "x.y" } })
    assert.is_false(ok)
    assert.matches("jobs%[1%]%.out", err)
    ok, err = pcall(pool.pull, pool, { { table = "x.y", out = "f.parquet" } })
    assert.is_false(ok)
    assert.matches("argument 'format'", err)
    ok, err = pcall(pool.pull, pool, { 42 })
    assert.is_false(ok)
    assert.matches("jobs%[1%]", err)
  end)
end)
