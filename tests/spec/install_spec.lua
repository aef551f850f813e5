-- Installing, as a user would, with nothing of the checkout in reach: `cmake --install` into a
-- temporary prefix that is then moved (so no path configured at build time is valid), and
-- every program run from the moved prefix with a minimal environment (env -i: no LUA_PATH,
-- LUA_CPATH or TT_LUA_DIR) from a directory outside the source tree. Also the rockspec
-- (`luarocks make` into a tree of its own, offline), the man pages, and the --help of
-- tt-gateway's commands.
local gateway = require "gateway"

local q, run, readfile, writefile = gateway.q, gateway.run, gateway.readfile, gateway.writefile
local build = os.getenv("TT_BUILD_DIR") or "build"
local source = os.getenv("TT_SOURCE_DIR") or "."

local function trim(s)
  return (s:gsub("%s+$", ""))
end

local function realpath(p)
  return trim(run("realpath " .. q(p)))
end

-- Run a shell command; returns stdout, exit code, stderr.
local tmp
local function sh(cmd)
  local errf = tmp .. "/stderr"
  local out, rc = run("(" .. cmd .. ") 2>" .. q(errf))
  return out, rc, readfile(errf) or ""
end

local prefix, work, home
local BASE_PATH = "/usr/local/bin:/usr/bin:/bin"

-- cmd in the scratch directory with only PATH, HOME and the given variables ("VAR=value ...").
local function clean(cmd, vars, path)
  return sh("cd " .. q(work) .. " && env -i PATH=" .. q(path or BASE_PATH) .. " HOME=" .. q(home) ..
    " " .. (vars or "") .. " " .. cmd)
end

local function explain(rc, err)
  return "exit " .. tostring(rc) .. ", stderr:\n" .. tostring(err)
end

local exists = gateway.exists

-- Sorted list of the files under dir (relative paths).
local function files(dir)
  local out = run("cd " .. q(dir) .. " && find . -type f | sed 's|^\\./||' | LC_ALL=C sort")
  local list = {}
  for line in out:gmatch("[^\n]+") do list[#list + 1] = line end
  return list
end

-- The client's script used against the installed programs: one query, its rows counted by
-- the client and written to a CSV file.
local QUERY_SCRIPT = [[
local tenten = require "tenten"
local s <close> = tenten.session { gateway = os.getenv("TT_GATEWAY"), user = "owner1",
  password = "secret1", mode = tenten.KILL, group = false }
local q = s:query("pub.demo.weather.stations", '<sel value="elev<2000"/>')
local n = 0
for _ in q:rows() do n = n + 1 end
q:write("stations.csv")
print("rows " .. n .. " of " .. tostring(q.nrows))
]]

local saved_bin, gw, expected_rows

setup(function()
  tmp = gateway.tmpdir()
  work, home = tmp .. "/work", tmp .. "/home"
  assert(run("mkdir -p " .. q(work) .. " " .. q(home)))
  local out, rc, err = sh("cmake --install " .. q(build) .. " --prefix " .. q(tmp .. "/a"))
  assert(rc == 0, "cmake --install failed: " .. out .. err)
  rc = select(2, run("mv " .. q(tmp .. "/a") .. " " .. q(tmp .. "/b")))
  assert(rc == 0)
  prefix = realpath(tmp .. "/b")
  writefile(work .. "/query.lua", QUERY_SCRIPT)

  -- The harness starts whatever gateway.bin names: here the installed tt-gateway, through a
  -- wrapper that clears the environment and leaves the checkout.
  local wrapper = tmp .. "/tt-gateway-installed"
  writefile(wrapper, "#!/bin/sh\ncd " .. q(work) .. " && exec env -i PATH=" .. q(BASE_PATH) ..
    " HOME=" .. q(home) .. " " .. q(prefix .. "/bin/tt-gateway") .. ' "$@"\n')
  assert(run("chmod +x " .. q(wrapper)))
  saved_bin = gateway.bin
  gateway.bin = wrapper
  local db = gateway.demo_db(tmp, 0.01)
  gw = gateway.start { db = db, dir = tmp }
  -- what the rows should be, read with curl rather than with the client under test
  local s = gw:login("owner1", "secret1")
  local rows = assert(gw:pull(s, "pub.demo.weather.stations", '<sel value="elev<2000"/>'))
  expected_rows = #rows
  assert(expected_rows > 0)
end)

teardown(function()
  if gw then gw:stop() end
  gateway.bin = saved_bin
  if tmp then run("rm -rf " .. q(tmp)) end
end)

describe("cmake --install, moved elsewhere", function()
  it("installs the programs, the Lua files, core.so, the man pages and the licence", function()
    for _, p in ipairs { "bin/tt-lua", "bin/tt-gateway", "bin/tt-policy", "bin/tt-pull" } do
      local _, rc = run("test -x " .. q(prefix .. "/" .. p))
      assert.are.equal(0, rc, p .. " is not an executable file")
    end
    for _, p in ipairs { "lib/lua/5.4/tenten/core.so", "share/man/man1/tt-lua.1",
      "share/man/man1/tt-gateway.1", "share/man/man1/tt-policy.1", "share/man/man1/tt-pull.1",
      "share/doc/tenten-lua/LICENSE" } do
      assert.is_true(exists(prefix .. "/" .. p), p .. " is not installed")
    end
    -- every Lua file of the client and nothing else: the gateway's Macro Language compiler
    -- is built into tt-gateway
    assert.are.same(files(source .. "/lua"), files(prefix .. "/share/lua/5.4"))
    assert.is_false(exists(prefix .. "/share/lua/5.4/ttgw"))
  end)

  it("tt-lua loads tenten from its own prefix, never from the checkout", function()
    -- the files every loaded tenten module's functions come from, and the search path
    local out, rc, err = clean(q(prefix .. "/bin/tt-lua") .. " -e " .. q([[
      require "tenten"
      local seen = {}
      for name, mod in pairs(package.loaded) do
        if name:find("^tenten") and type(mod) == "table" then
          for _, f in pairs(mod) do
            if type(f) == "function" then seen[debug.getinfo(f, "S").source] = true end
          end
        end
      end
      local list = {}
      for src in pairs(seen) do list[#list + 1] = src end
      table.sort(list)
      print(table.concat(list, " "))
      print(package.path)]]))
    assert.are.equal(0, rc, explain(rc, err))
    local sources, path = out:match("^(.-)\n(.-)\n$")
    local lua_files, n = prefix .. "/share/lua/5.4/tenten/", 0
    for src in sources:gmatch("%S+") do
      if src ~= "=[C]" then
        n = n + 1
        assert.are.equal("@" .. lua_files, src:sub(1, #lua_files + 1))
      end
    end
    assert.truthy(sources:find("@" .. lua_files .. "init.lua", 1, true), sources)
    assert.is_true(n >= 5, sources)
    assert.are.equal(1, path:find(prefix .. "/share/lua/5.4/?.lua;", 1, true), path)
    assert.is_nil(path:find(realpath(source), 1, true), path)
  end)

  it("tt-lua --help names the installed Lua directory", function()
    local out, rc, err = clean("tt-lua --help", nil, prefix .. "/bin:" .. BASE_PATH)
    assert.are.equal(0, rc, explain(rc, err))
    assert.truthy(out:find("Lua files in " .. prefix .. "/share/lua/5.4 (installed)\n", 1, true), out)
  end)

  it("tt-gateway serves from its own prefix and tt-lua queries it", function()
    local out, rc, err = clean(q(prefix .. "/bin/tt-lua") .. " query.lua", "TT_GATEWAY=" .. q(gw.base))
    assert.are.equal(0, rc, explain(rc, err))
    assert.are.equal("rows " .. expected_rows .. " of " .. expected_rows .. "\n", out)
    local csv = readfile(work .. "/stations.csv")
    assert.are.equal(expected_rows + 1, select(2, csv:gsub("\n", "")))
    os.remove(work .. "/stations.csv")
  end)

  it("tt-gateway needs no Lua files: it serves with no share/lua tree", function()
    -- A copy of the prefix without share/lua; TT_LUA_DIR and LUA_PATH name a directory of
    -- broken compilers, which the gateway must not read: its compiler is built in.
    local other, broken = tmp .. "/c", tmp .. "/broken-lua"
    assert(run("cp -a " .. q(prefix) .. " " .. q(other) .. " && rm -rf " .. q(other .. "/share/lua")))
    other = realpath(other)
    assert.is_false(exists(other .. "/share/lua"))
    assert(run("mkdir -p " .. q(broken .. "/tenten") .. " " .. q(broken .. "/ttgw/macro")))
    for _, f in ipairs { "tenten/macro.lua", "ttgw/macro.lua", "ttgw/macro/init.lua" } do
      writefile(broken .. "/" .. f, 'error("broken copy of the compiler")\n')
    end
    local wrapper = tmp .. "/tt-gateway-other"
    writefile(wrapper, "#!/bin/sh\ncd " .. q(work) .. " && exec env -i PATH=" .. q(BASE_PATH) ..
      " HOME=" .. q(home) .. " TT_LUA_DIR=" .. q(broken) .. " LUA_PATH=" .. q(broken .. "/?.lua;;") ..
      " " .. q(other .. "/bin/tt-gateway") .. ' "$@"\n')
    assert(run("chmod +x " .. q(wrapper)))
    gateway.bin = wrapper
    local ok, gw2 = pcall(gateway.start, { db = gw.config.database, dir = tmp })
    gateway.bin = tmp .. "/tt-gateway-installed"
    assert(ok, gw2)
    local s = gw2:login("owner1", "secret1")
    local rows, err = gw2:pull(s, "pub.demo.weather.stations", '<sel value="elev<2000"/>')
    gw2:stop()
    assert(rows, err and err.msg)
    assert.are.equal(expected_rows, #rows)
    run("rm -rf " .. q(other) .. " " .. q(broken))
  end)

  it("tt-policy runs from the prefix with the tt-lua beside it", function()
    local out, rc, err = clean(q(prefix .. "/bin/tt-policy") .. " --help")
    assert.are.equal(0, rc, explain(rc, err))
    assert.truthy(out:find("^usage: tt%-policy POLICY%.lua"), out)
    writefile(work .. "/warm.lua", [[
      local policy = require "tenten.policy"
      return { rules = { policy.keep_warm { count = 2, days = "Mon-Fri", hours = { 8, 18 } } } }
    ]])
    out, rc, err = clean(q(prefix .. "/bin/tt-policy") .. " warm.lua --dry-run --at 2024-05-06T09:00",
      "TT_GATEWAY=" .. q(gw.base) .. " TT_USER=owner1 TT_PASSWORD=secret1 TT_GROUP=pool1")
    assert.are.equal(0, rc, explain(rc, err))
    assert.truthy(out:find("would warm 2", 1, true), out)
  end)

  it("tt-pull runs from the prefix with the tt-lua beside it (and finds lpeg)", function()
    local out, rc, err = clean(q(prefix .. "/bin/tt-pull") .. " --table pub.demo.weather.stations --out st.csv" ..
      " --summary json", "TT_GATEWAY=" .. q(gw.base) .. " TT_USER=owner1 TT_PASSWORD=secret1 TT_GROUP=pool1")
    assert.are.equal(0, rc, explain(rc, err))
    assert.truthy(out:find('"result":"ok"', 1, true), out)
    assert.is_true(exists(work .. "/st.csv"))
  end)

  it("the stock lua5.4 loads tenten and core.so from the prefix and queries", function()
    local vars = "LUA_PATH=" .. q(prefix .. "/share/lua/5.4/?.lua;" .. prefix .. "/share/lua/5.4/?/init.lua") ..
      " LUA_CPATH=" .. q(prefix .. "/lib/lua/5.4/?.so") .. " TT_GATEWAY=" .. q(gw.base)
    local out, rc, err = clean("lua5.4 -e " .. q([[
      require "tenten"
      print(package.searchpath("tenten", package.path))
      print(package.searchpath("tenten.core", package.cpath))]]), vars)
    assert.are.equal(0, rc, explain(rc, err))
    assert.are.equal(prefix .. "/share/lua/5.4/tenten/init.lua\n" .. prefix .. "/lib/lua/5.4/tenten/core.so\n", out)
    out, rc, err = clean("lua5.4 query.lua", vars)
    assert.are.equal(0, rc, explain(rc, err))
    assert.are.equal("rows " .. expected_rows .. " of " .. expected_rows .. "\n", out)
  end)
end)

describe("man pages", function()
  local version

  setup(function()
    version = trim(run(q(prefix .. "/bin/tt-gateway") .. " --version")):match("^tt%-gateway (%S+)")
  end)

  for _, page in ipairs { "tt-lua", "tt-gateway", "tt-policy", "tt-pull" } do
    it(page .. "(1) renders without warnings and carries the project's version", function()
      local path = prefix .. "/share/man/man1/" .. page .. ".1"
      local _, rc, err = sh("groff -man -ww -z " .. q(path))
      assert.are.equal(0, rc, err)
      assert.are.equal("", err)
      -- rendered for an 80-column terminal, overstrikes (bold, underline) removed
      local out
      out, rc, err = sh("groff -man -ww -Tascii -rLL=80n " .. q(path))
      assert.are.equal(0, rc, err)
      assert.are.equal("", err)
      out = out:gsub(".\b", "")
      assert.truthy(out:find("NAME\n       " .. page:gsub("%-", "%%-") .. " %- "), out)
      assert.truthy(out:find("tenten-lua " .. version, 1, true), out)
      assert.is_nil(out:find("@", 1, true), out)
    end)
  end
end)

describe("tt-gateway --help", function()
  local bin

  setup(function()
    bin = q(prefix .. "/bin/tt-gateway")
  end)

  it("lists the commands, on standard output, exit 0", function()
    for _, flag in ipairs { "--help", "-h" } do
      local out, rc, err = sh(bin .. " " .. flag)
      assert.are.equal(0, rc, err)
      for _, cmd in ipairs { "serve", "import", "demo", "passwd" } do
        assert.truthy(out:find("\n" .. cmd .. " ", 1, true), out)
      end
      assert.truthy(out:find("tt-gateway [COMMAND] --help", 1, true), out)
    end
  end)

  it("gives each command's options", function()
    local want = {
      serve = { "--config FILE", "--listen HOST:PORT" },
      import = { "--db FILE", "--table NAME", "--csv FILE", "--create" },
      demo = { "--db FILE", "--scale N" },
      passwd = { "--stdin" },
    }
    -- and every option a command accepts (its `known` list in main.c), so new ones get help
    local main_c = assert(readfile(source .. "/runtime/gateway/main.c"))
    for cmd, opts in pairs(want) do
      local known = main_c:match("static int " .. cmd .. "%(int argc, char %*%*argv%)%s*{%s*" ..
        "static const char %*const known%[%] = {(.-)};")
      if cmd ~= "passwd" then assert.truthy(known, "no option list for " .. cmd .. " in main.c") end
      for o in (known or ""):gmatch('"(%-%-[%w-]+)"') do opts[#opts + 1] = o .. " " end
    end
    for cmd, opts in pairs(want) do
      for _, flag in ipairs { "--help", "-h" } do
        -- help wins over other options, even wrong ones
        local out, rc, err = sh(bin .. " " .. cmd .. " --bogus x " .. flag)
        assert.are.equal(0, rc, cmd .. ": " .. err)
        assert.truthy(out:find("^usage: tt%-gateway " .. cmd), out)
        for _, o in ipairs(opts) do assert.truthy(out:find(o, 1, true), cmd .. ": " .. o .. "\n" .. out) end
      end
    end
  end)

  it("serve --help lists every top-level key the config loader reads", function()
    local out, rc, err = sh(bin .. " serve --help")
    assert.are.equal(0, rc, err)
    local src = assert(readfile(source .. "/runtime/gateway/config.c"))
    local n = 0
    for key in src:gmatch('%(L, t, "([%w_]+)"') do
      n = n + 1
      assert.truthy(out:find("\n  " .. key .. " ", 1, true), "serve --help does not list '" .. key .. "'")
    end
    assert.is_true(n >= 10, "found only " .. n .. " config keys in config.c")
  end)

  it("--version gives the project's version, the one every program and the module carry", function()
    local out, rc = sh(bin .. " --version")
    assert.are.equal(0, rc)
    local cache = assert(readfile(build .. "/CMakeCache.txt"))
    local v = cache:match("CMAKE_PROJECT_VERSION:STATIC=([%d%.]+)")
    assert.are.equal("tt-gateway " .. v .. " (XML API v3)\n", out)
    -- tt-lua -v, and tenten.VERSION from the installed core.so under the stock lua5.4.
    local err
    out, rc, err = clean(q(prefix .. "/bin/tt-lua") .. " -v")
    assert.are.equal(0, rc, explain(rc, err))
    assert.truthy(out:find("\ntt-lua " .. v .. "\n", 1, true), out)
    local vars = "LUA_PATH=" .. q(prefix .. "/share/lua/5.4/?.lua;" .. prefix .. "/share/lua/5.4/?/init.lua") ..
      " LUA_CPATH=" .. q(prefix .. "/lib/lua/5.4/?.so")
    out, rc, err = clean("lua5.4 -e " .. q('print(require "tenten".VERSION, require "tenten.core".version)'), vars)
    assert.are.equal(0, rc, explain(rc, err))
    assert.are.equal(v .. "\t" .. v .. "\n", out)
  end)
end)

describe("the rockspec", function()
  local spec_path = "rockspecs/tenten-scm-1.rockspec"

  local function load_rockspec()
    local env = {}
    assert(loadfile(source .. "/" .. spec_path, "t", env))()
    return env
  end

  it("names every module of the client and every C source of its core", function()
    local spec = load_rockspec()
    local installed = {}
    for _, file in pairs(spec.build.install.lua) do installed[file] = true end
    -- lua/tenten is the client alone (the gateway's compiler is runtime/gateway/macro/)
    for _, f in ipairs(files(source .. "/lua/tenten")) do
      local path = "lua/tenten/" .. f
      assert.is_true(installed[path], path .. " is missing from " .. spec_path)
    end
    for _, dir in ipairs { "runtime/core", "runtime/binding" } do
      for _, f in ipairs(files(source .. "/" .. dir)) do
        if f:find("%.c$") then
          local path = dir .. "/" .. f
          assert.truthy(spec.build.build_command:find(path, 1, true), path .. " is missing from " .. spec_path)
        end
      end
    end
  end)

  it("luarocks make builds core.so offline; the stock lua5.4 then queries", function()
    local _, has = run("command -v luarocks >/dev/null")
    assert.are.equal(0, has, "luarocks is not installed (scripts/setup installs it)")
    -- Built in a copy: luarocks compiles inside the directory it runs in.
    local src, tree = tmp .. "/rock-src", tmp .. "/rock-tree"
    -- CMakeLists.txt too: the build reads the version from its project() line.
    assert(run("mkdir -p " .. q(src) .. " && cp -r " .. q(source .. "/rockspecs") .. " " ..
      q(source .. "/lua") .. " " .. q(source .. "/runtime") .. " " .. q(source .. "/CMakeLists.txt") ..
      " " .. q(src)))
    local out, rc, err = sh("cd " .. q(src) .. " && env -i PATH=" .. q(BASE_PATH) .. " HOME=" .. q(home) ..
      " luarocks --lua-version 5.4 make --tree " .. q(tree) .. " " .. spec_path)
    assert.are.equal(0, rc, out .. err)
    tree = realpath(tree)
    -- the client only: no compiler
    assert.is_false(exists(tree .. "/share/lua/5.4/tenten/macro.lua"))
    assert.is_true(exists(tree .. "/lib/lua/5.4/tenten/core.so"))
    local cmd = "sh -c " .. q('eval "$(luarocks --lua-version 5.4 path --tree ' .. q(tree) .. ')" && ' ..
      'lua5.4 -e \'print(require "tenten".VERSION, package.searchpath("tenten.core", package.cpath))\' && ' ..
      "lua5.4 query.lua")
    out, rc, err = clean(cmd, "TT_GATEWAY=" .. q(gw.base))
    assert.are.equal(0, rc, explain(rc, err))
    local v = assert(readfile(build .. "/CMakeCache.txt")):match("CMAKE_PROJECT_VERSION:STATIC=([%d%.]+)")
    assert.are.equal(v .. "\t" .. tree .. "/lib/lua/5.4/tenten/core.so\nrows " .. expected_rows .. " of " ..
      expected_rows .. "\n", out)
  end)
end)
