-- Ctrl-C and SIGTERM on a tt-lua that holds pool sessions: every ID comes back.
local gateway = require "gateway"
local tenten = require "tenten"

local ttlua = (os.getenv("TT_BUILD_DIR") or "build") .. "/tt-lua"

describe("tt-lua and signals", function()
  local g, dir

  setup(function()
    dir = gateway.tmpdir()
    g = gateway.start { dir = dir, db = gateway.demo_db(dir, 0.005) }
  end)

  teardown(function()
    if g then g:stop() end
  end)

  local function states()
    local out = {}
    for _, id in ipairs(tenten.samstatus(g.url, "owner1", "secret1", "pool1").ids) do out[#out + 1] = id.state end
    table.sort(out)
    return table.concat(out, " ")
  end

  for _, signal in ipairs { "INT", "TERM" } do
    it("SIG" .. signal .. " cancels every task, releases every ID and exits 130", function()
      tenten.resetpool(g.url, "owner1", "secret1", "pool1")
      local script = dir .. "/hold.lua"
      gateway.writefile(script, string.format([[
        local tenten = require "tenten"
        for _ = 1, 3 do
          tenten.spawn(function()
            local s <close> = tenten.Session(%q, "owner1", "secret1", tenten.POSSESS, "pool1")
            s:query("pub.demo.weather.stations", ""):run()
            tenten.sleep(120)
          end)
        end
        -- a session nobody closes: the interrupt must release it too
        _G.kept = tenten.Session(%q, "owner1", "secret1", tenten.POSSESS, "pool1")
        print("holding") io.stdout:flush()
        tenten.sleep(120)
      ]], g.url, g.url))
      -- the script's text is on the command line of nothing but tt-lua
      local out = dir .. "/hold.out"
      local pidfile = out .. ".pid"
      os.remove(pidfile)
      gateway.sh(string.format("(%s %s >%s 2>&1 & echo $! >%s; wait $!; echo \"rc=$?\" >>%s) >/dev/null 2>&1 &",
        gateway.q(ttlua), gateway.q(script), gateway.q(out), gateway.q(pidfile), gateway.q(out)))
      for _ = 1, 200 do
        if (gateway.readfile(out) or ""):find("holding") and states() == "BUSY BUSY BUSY BUSY" then break end
        gateway.sleep(0.05)
      end
      assert.are.equal("BUSY BUSY BUSY BUSY", states())
      gateway.sh("kill -" .. signal .. " " .. assert(tonumber(gateway.readfile(pidfile))))
      local text
      for _ = 1, 200 do
        text = gateway.readfile(out) or ""
        if text:find("rc=") then break end
        gateway.sleep(0.05)
      end
      assert.matches("rc=130", text)
      assert.is_nil(states():find("BUSY"), states())
      assert.is_nil(states():find("RESERVED"), states())
    end)
  end
end)
