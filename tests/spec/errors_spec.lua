-- One definition of every error code (issue 11, item 7): the core's codes come from
-- runtime/core/err.h through the binding, the client's own follow them in errors.lua, and every
-- failure the client raises is a tenten.Error.
local gateway = require "gateway"
local core = require "tenten.core"
local errors = require "tenten.errors"
local tenten = require "tenten"

local SRC = os.getenv("TT_SOURCE_DIR") or "."

-- TT_E_NAME = -N pairs from the C header, read as text so that the test sees what C sees.
local function header_codes()
  local text = assert(gateway.readfile(SRC .. "/runtime/core/err.h"), "cannot read err.h")
  local out, n = {}, 0
  for name, value in text:gmatch("TT_(E_[%u_]+)%s*=%s*(%-?%d+)") do
    out[name] = tonumber(value)
    n = n + 1
  end
  return out, n
end

describe("error codes", function()
  it("every code of err.h is exported by the binding and by tenten with the same value", function()
    local codes, n = header_codes()
    assert.is_true(n >= 9, "err.h should define at least nine codes")
    for name, value in pairs(codes) do
      assert.are.equal(value, core[name], "core." .. name)
      assert.are.equal(value, errors[name], "tenten.errors." .. name)
      assert.are.equal(value, tenten[name], "tenten." .. name)
    end
    -- and the binding exports nothing err.h does not define
    for k in pairs(core) do
      if type(k) == "string" and k:match("^E_") then assert.is_not_nil(codes[k], "core." .. k .. " not in err.h") end
    end
  end)

  it("E_IO is the core's code, not a second one", function()
    assert.are.equal(core.E_IO, tenten.E_IO)
  end)

  it("the client's own codes are distinct, below every core code, and exported", function()
    local codes = header_codes()
    local lowest = 0
    for _, v in pairs(codes) do lowest = math.min(lowest, v) end
    local seen = {}
    for _, name in ipairs { "E_CLOSED", "E_POOL_TIMEOUT", "E_SHORT", "E_INTERRUPTED" } do
      local v = tenten[name]
      assert.is_number(v, name)
      assert.is_true(v < lowest, name .. " must be numbered after the core's codes")
      assert.is_nil(seen[v], name .. " repeats a code")
      seen[v] = name
      assert.are.equal(errors[name], v)
    end
  end)

  it("names the platform's return codes", function()
    assert.are.equal(38, tenten.RC.POOL_BUSY)
    assert.are.equal(35, tenten.RC.NOT_LOGGED_IN)
    assert.are.equal(17, tenten.RC.NO_SUCH_TABLE)
    assert.are.equal(45, tenten.RC.THROTTLED)
    assert.are.equal(41, tenten.RC.UNAVAILABLE)
    assert.are.equal(23, tenten.RC.TOO_MANY)
    local seen = {}
    for name, v in pairs(tenten.RC) do
      assert.is_nil(seen[v], name .. " repeats rc " .. v)
      seen[v] = name
    end
  end)

  it("names each return code as the gateway's rc.h does", function()
    local text = assert(gateway.readfile(SRC .. "/runtime/gateway/rc.h"), "cannot read rc.h")
    local gw = {}
    for name, value in text:gmatch("GW_RC_([%u_]+)%s*=%s*(%d+)") do gw[name] = tonumber(value) end
    for name, v in pairs(tenten.RC) do
      assert.are.equal(v, gw[name], "tenten.RC." .. name .. " vs GW_RC_" .. name)
    end
  end)
end)

describe("error values", function()
  local g

  setup(function() g = gateway.start() end)
  teardown(function()
    if g then g:stop() end
    if g then gateway.cleanup(g.dir) end
  end)

  it("a platform refusal is a tenten.Error with the rc as code", function()
    local ok, err = pcall(tenten.run, function()
      local s = tenten.session { gateway = g.url, user = "plain1", password = "wrong", mode = tenten.KILL }
      s:close()
    end)
    assert.is_false(ok)
    assert.is_true(tenten.is_error(err), tostring(err))
    assert.are.equal(tenten.RC.INVALID_USER, err.code)
  end)

  it("a transport failure is a tenten.Error with a core code", function()
    -- a port nobody listens on: the gateway's, once it is stopped
    local g2 = gateway.start()
    local url = g2.url
    g2:stop()
    gateway.cleanup(g2.dir)
    local ok, err = pcall(tenten.run, function()
      tenten.session { gateway = url, user = "plain1", password = "x", mode = tenten.KILL, retries = 0 }
    end)
    assert.is_false(ok)
    assert.is_true(tenten.is_error(err), tostring(err))
    assert.are.equal(tenten.E_CONNECT, err.code)
  end)
end)
