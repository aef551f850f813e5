-- Every script in scripts/examples runs here against a real tt-gateway with small demo data,
-- through tt-lua, as a user would run it, so none of them can rot.
local gateway = require "gateway"

local source = os.getenv("TT_SOURCE_DIR") or "."
local ttlua = (os.getenv("TT_BUILD_DIR") or "build") .. "/tt-lua"

describe("scripts/examples", function()
  local g, dir, env

  setup(function()
    dir = gateway.tmpdir()
    g = gateway.start { dir = dir, db = gateway.demo_db(dir, 0.01) }
    env = string.format("TT_GATEWAY=%s TT_USER=owner1 TT_PASSWORD=secret1 TT_GROUP=pool1 ", gateway.q(g.base))
  end)

  teardown(function()
    if g then g:stop() end
  end)

  local function example(name, args)
    local cmd = env .. gateway.q(ttlua) .. " " .. gateway.q(source .. "/scripts/examples/" .. name) ..
      " " .. (args or "") .. " 2>&1"
    return gateway.run(cmd)
  end

  local function lines(path)
    local n = 0
    for _ in io.lines(path) do n = n + 1 end
    return n
  end

  it("sam_two_tables.lua pulls two tables through two pool sessions", function()
    local out, rc = example("sam_two_tables.lua", gateway.q(dir))
    assert.are.equal(0, rc, out)
    assert.matches("pub.demo.weather.stations%s+3 rows", out)
    assert.matches("as pool1_%d", out)
    assert.are.equal(4, lines(dir .. "/stations.csv"))
    assert.are.equal(501, lines(dir .. "/item.csv"))
  end)

  it("parallel_pull.lua pulls twelve months into twelve files with a summary", function()
    local outdir = dir .. "/months"
    gateway.sh("mkdir -p " .. gateway.q(outdir))
    local out, rc = example("parallel_pull.lua", gateway.q(outdir))
    assert.are.equal(0, rc, out)
    assert.matches("pulled 12 jobs: 12 ok, 0 failed", out)
    local total = 0
    for m = 1, 12 do total = total + lines(string.format("%s/hourly90-1990-%02d.csv", outdir, m)) - 1 end
    assert.are.equal(3 * 8760, total) -- three stations at this scale, every hour of 1990
    local leftovers = gateway.run("ls " .. gateway.q(outdir) .. " | grep -c part || true")
    assert.are.equal("0", leftovers:match("%d+"))
  end)

  it("warm_pool.lua warms every free ID and runs the queries on each", function()
    gateway.run(env .. gateway.q(ttlua) .. " " .. gateway.q(source .. "/scripts/examples/pool_admin.lua") .. " reset")
    local out, rc = example("warm_pool.lua")
    assert.are.equal(0, rc, out)
    assert.matches("warmed 4 IDs, each ran 2 queries", out)
  end)

  it("pool_admin.lua shows, flushes and resets the pool, and refuses a bad command", function()
    local out, rc = example("pool_admin.lua", "status")
    assert.are.equal(0, rc, out)
    assert.matches("pool pool1 %(owner owner1%): 4 IDs", out)
    out, rc = example("pool_admin.lua", "flush pool1")
    assert.are.equal(0, rc, out)
    assert.matches("flushed pool1", out)
    out, rc = example("pool_admin.lua", "reset")
    assert.are.equal(0, rc, out)
    assert.matches("4 free", out)
    out, rc = example("pool_admin.lua", "explode")
    assert.are.equal(2, rc, out)
    assert.matches("usage", out)
  end)
end)
