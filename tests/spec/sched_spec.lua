-- The task scheduler on its own (issue 9, items 14-17): no gateway, only tasks and timers.
local gateway = require "gateway"
local tenten = require "tenten"
local sched = require "tenten.sched"

local build = os.getenv("TT_BUILD_DIR") or "build"

-- Run Lua code in a child interpreter bounded by `timeout`, so a regression that spins fails
-- the case instead of hanging the suite (busted has no per-test timeout).
local function child(interp, code)
  local path = os.tmpname()
  gateway.writefile(path, code)
  local out, rc = gateway.run("timeout 20 " .. gateway.q(interp) .. " " .. gateway.q(path) .. " 2>&1")
  os.remove(path)
  return out, rc
end

describe("scheduler", function()
  describe("a plain coroutine that waits inside a task (item 14)", function()
    it("does not break the turn that resumed its task when other tasks are ready", function()
      local order = {}
      local got = tenten.run(function()
        -- a, b and c are all ready in the same turn; a's plain coroutine drives nested turns,
        -- which resume b and c before the outer turn reaches them
        local a = tenten.spawn(function()
          local co = coroutine.wrap(function()
            tenten.sleep(0.01)
            return "slept"
          end)
          order[#order + 1] = "a"
          return co()
        end)
        local b = tenten.spawn(function() order[#order + 1] = "b" return "b" end)
        local c = tenten.spawn(function() order[#order + 1] = "c" return "c" end)
        local _, ra = a:wait()
        local _, rb = b:wait()
        local _, rc = c:wait()
        return ra .. rb .. rc
      end)
      assert.are.equal("sleptbc", got)
      assert.are.same({ "a", "b", "c" }, order)
    end)

    it("keeps tasks made ready during the nested wait for a later turn", function()
      local seen = {}
      tenten.run(function()
        for i = 1, 4 do
          tenten.spawn(function()
            local co = coroutine.wrap(function()
              tenten.sleep(0)
              seen[#seen + 1] = i
            end)
            co()
            tenten.spawn(function() seen[#seen + 1] = -i end)
          end)
        end
      end)
      table.sort(seen)
      assert.are.same({ -4, -3, -2, -1, 1, 2, 3, 4 }, seen)
    end)
  end)

  describe("tenten.run from a plain coroutine inside a task (item 15)", function()
    local code = [[
      local tenten = require "tenten"
      local got = tenten.run(function()
        local co = coroutine.wrap(function()
          return tenten.run(function()
            local t = tenten.spawn(function() tenten.sleep(0.01) return 40 end)
            local _, v = t:wait()
            return v + 2
          end)
        end)
        return co()
      end)
      print("got " .. tostring(got))
      local ok, err = pcall(tenten.run, function()
        return coroutine.wrap(function()
          return tenten.run(function() error("inner failed") end)
        end)()
      end)
      print(ok, (tostring(err):match("inner failed")))
    ]]

    it("runs fn as a task of its own and returns its results (stock lua5.4)", function()
      local out, rc = child("lua5.4", code)
      assert.are.equal(0, rc, out)
      assert.matches("got 42\nfalse\tinner failed", out)
    end)

    it("does the same under tt-lua, where the script itself is the main task", function()
      local out, rc = child(build .. "/tt-lua", code)
      assert.are.equal(0, rc, out)
      assert.matches("got 42\nfalse\tinner failed", out)
    end)
  end)

  describe("each tenten.run raises only its own errors (item 16)", function()
    it("does not raise an unobserved error of an earlier run", function()
      local ok, err = pcall(tenten.run, function()
        tenten.spawn(function() error("first unobserved", 0) end)
        tenten.spawn(function() error("second unobserved", 0) end)
      end)
      assert.is_false(ok)
      assert.matches("first unobserved", tostring(err))
      assert.are.equal(7, tenten.run(function() return 7 end))
    end)

    it("does not raise an earlier run's unobserved error after that run's own error", function()
      local ok, err = pcall(tenten.run, function()
        tenten.spawn(function() error("spawned failed", 0) end)
        tenten.sleep(0)
        error("main failed", 0)
      end)
      assert.is_false(ok)
      assert.matches("main failed", tostring(err))
      assert.are.equal("clean", tenten.run(function() return "clean" end))
    end)

    it("does not raise the error of a task that failed outside any run", function()
      local t = tenten.spawn(function() error("outside", 0) end)
      tenten.sleep(0)
      assert.are.equal("failed", t.status)
      assert.are.equal("clean", tenten.run(function() return "clean" end))
    end)
  end)

  describe("exports (item 17)", function()
    it("has no dead entry points", function()
      for _, name in ipairs { "wake", "request", "stats", "interrupted", "Task" } do
        assert.is_nil(sched[name], name)
      end
      local t = tenten.spawn(function() end)
      assert.is_nil(t.status_name)
      tenten.run(function() t:wait() end)
    end)
  end)
end)
