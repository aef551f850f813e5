-- tt-lua's command line, run as a child process: the options of the stock lua, the arg table,
-- exit codes and error reports, LUA_INIT, the built-in tenten module, interactive mode, and
-- the exit on SIGINT/SIGTERM while a script waits.
local build = os.getenv("TT_BUILD_DIR") or "build"
local source = os.getenv("TT_SOURCE_DIR") or "."
local bin = build .. "/tt-lua"

local gateway = require "gateway"
local q, sh, readfile, writefile = gateway.q, gateway.run, gateway.readfile, gateway.writefile
local tmp = gateway.tmpdir()

-- Run tt-lua. args: the command line after the binary, already quoted for the shell.
-- opts.stdin: text for stdin (else /dev/null); opts.env: "VAR=value ..." (quoted);
-- opts.dir: working directory. Returns stdout, exit code, stderr. LUA_INIT is cleared unless
-- opts.env sets it, so the caller's environment does not leak in.
local function ttlua(args, opts)
  opts = opts or {}
  local errf, inf = tmp .. "/stderr", tmp .. "/stdin"
  local input = "/dev/null"
  if opts.stdin then
    writefile(inf, opts.stdin)
    input = inf
  end
  local cmd = string.format("%senv -u LUA_INIT -u LUA_INIT_5_4 %s %s %s <%s 2>%s",
    opts.dir and ("cd " .. q(opts.dir) .. " && ") or "", opts.env or "", q(bin), args or "",
    q(input), q(errf))
  local out, rc = sh(cmd)
  return out, rc, readfile(errf) or ""
end

-- A script file in the temp dir; returns its path.
local function script(name, text)
  local path = tmp .. "/" .. name
  writefile(path, text)
  return path
end

-- Every script runs as a task under require("tenten").run, so a failure to load the module
-- shows up in stderr: make the assertion say so.
local function explain(rc, err)
  return string.format("exit %s, stderr:\n%s", tostring(rc), err)
end

teardown(function()
  gateway.cleanup(tmp)
end)

describe("tt-lua", function()
  it("is built", function()
    local f = io.open(bin, "rb")
    assert(f, bin .. " does not exist (build the tt-lua target)")
    f:close()
  end)

  describe("-v", function()
    it("prints the Lua version line and the tt-lua version", function()
      local out, rc = ttlua("-v")
      assert.equal(0, rc)
      assert.truthy(out:find("^Lua 5%.4%.%d+  Copyright"), out)
      assert.truthy(out:find("\ntt%-lua 0%.1%.0\n$"), out)
    end)

    it("runs -e after printing the version", function()
      local out, rc = ttlua("-v -e 'print(\"after\")'")
      assert.equal(0, rc)
      assert.truthy(out:find("tt%-lua 0%.1%.0\nafter\n$"), out)
    end)

    it("is also spelled --version", function()
      local out, rc, err = ttlua("--version")
      assert.equal(0, rc, err)
      assert.equal(ttlua("-v"), out)
    end)
  end)

  describe("-h and --help", function()
    it("print tenten's usage, environment and Lua directory on stdout, exit 0", function()
      for _, flag in ipairs { "-h", "--help" } do
        local out, rc, err = ttlua(flag)
        assert.equal(0, rc, err)
        assert.equal("", err)
        assert.truthy(out:find("^usage: tt%-lua %[options%] %[script %[args%]%]\n"), out)
        for _, name in ipairs { "TT_GATEWAY", "TT_USER", "TT_PASSWORD", "TT_GROUP", "TT_LUA_DIR" } do
          assert.truthy(out:find("\n  " .. name .. " ", 1, true), name .. " missing:\n" .. out)
        end
        for _, opt in ipairs { "-e stat", "-l mod", "-i", "-v", "-E", "-W", "--help" } do
          assert.truthy(out:find(opt, 1, true), opt .. " missing:\n" .. out)
        end
        -- this binary runs from its build directory: the source tree's lua/
        assert.truthy(out:find("\ntt-lua 0.1.0, Lua files in " .. source .. "/lua (build tree)\n", 1, true), out)
      end
    end)

    it("name TT_LUA_DIR when it is set, unless -E", function()
      local out = ttlua("--help", { env = "TT_LUA_DIR=/somewhere/lua" })
      assert.truthy(out:find("Lua files in /somewhere/lua (TT_LUA_DIR)\n", 1, true), out)
      out = ttlua("-E -h", { env = "TT_LUA_DIR=/somewhere/lua" })
      assert.truthy(out:find("(build tree)\n", 1, true), out)
    end)

    it("run nothing else", function()
      local out, rc = ttlua("-e 'print(\"@@e ran\")' --help " .. q(script("never.lua", "print('@@script ran')\n")))
      assert.equal(0, rc)
      assert.is_nil(out:find("@@", 1, true), out)
    end)
  end)

  describe("-e", function()
    it("runs each statement in order, attached or separate", function()
      local out, rc, err = ttlua("-e 'x = 1' -e 'x = x + 1' '-eprint(x)'")
      assert.equal(0, rc, err)
      assert.equal("2\n", out)
    end)

    it("reports an error as tt-lua: message with a traceback and exits 1", function()
      local out, rc, err = ttlua("-e 'print(\"a\")' -e 'error(\"bad thing\")' -e 'print(\"b\")'")
      assert.equal(1, rc)
      assert.equal("a\n", out)
      assert.truthy(err:find("^tt%-lua: %(command line%):1: bad thing\nstack traceback:\n"), err)
    end)

    it("reports a syntax error", function()
      local _, rc, err = ttlua("-e 'x = = 1'")
      assert.equal(1, rc)
      assert.truthy(err:find("^tt%-lua: %(command line%):1:"), err)
    end)

    it("needs an argument", function()
      local _, rc, err = ttlua("-e")
      assert.equal(1, rc)
      assert.truthy(err:find("'%-e' needs argument"), err)
      assert.truthy(err:find("usage: tt%-lua %[options%] %[script %[args%]%]"), err)
    end)
  end)

  describe("-l", function()
    local env
    setup(function()
      script("ttmod.lua", "return { answer = 42 }\n")
      env = "LUA_PATH=" .. q(tmp .. "/?.lua;;")
    end)

    it("requires a module into the global of its name", function()
      local out, rc, err = ttlua("-l ttmod -e 'print(ttmod.answer)'", { env = env })
      assert.equal(0, rc, err)
      assert.equal("42\n", out)
    end)

    it("requires a module into another global with g=mod", function()
      local out, rc, err = ttlua("-l m=ttmod -e 'print(m.answer, ttmod)'", { env = env })
      assert.equal(0, rc, err)
      assert.equal("42\tnil\n", out)
    end)

    it("takes an attached argument and standard libraries", function()
      local out, rc, err = ttlua("-lstring -e 'print(string.rep(\"ab\", 2))'")
      assert.equal(0, rc, err)
      assert.equal("abab\n", out)
    end)

    it("loads C modules, which find the Lua API in tt-lua", function()
      local out, rc, err = ttlua("-l lpeg -e 'print(lpeg.match(lpeg.P\"a\" ^ 1, \"aab\"))'")
      assert.equal(0, rc, err)
      assert.equal("3\n", out)
    end)

    it("fails with exit 1 for a missing module", function()
      local _, rc, err = ttlua("-l no_such_module_xyz -e 'print(1)'")
      assert.equal(1, rc)
      assert.truthy(err:find("^tt%-lua: module 'no_such_module_xyz' not found"), err)
    end)
  end)

  describe("options", function()
    it("rejects an unknown option with the usage text", function()
      local out, rc, err = ttlua("-x")
      assert.equal(1, rc)
      assert.equal("", out)
      assert.truthy(err:find("^tt%-lua: unrecognized option '%-x'\nusage: "), err)
      assert.truthy(err:find("%-l g=mod"), err)
    end)

    it("-W turns warnings on", function()
      local _, rc, err = ttlua("-W -e 'warn(\"careful\")'")
      assert.equal(0, rc)
      assert.truthy(err:find("Lua warning: careful"), err)
      local _, rc2, err2 = ttlua("-e 'warn(\"careful\")'")
      assert.equal(0, rc2)
      assert.equal("", err2)
    end)

    it("-E ignores LUA_PATH, LUA_CPATH and TT_LUA_DIR", function()
      local env = "LUA_PATH=" .. q("/nonexistent-tt/?.lua;;") .. " LUA_CPATH=" ..
          q("/nonexistent-ttc/?.so;;") .. " TT_LUA_DIR=/nonexistent-ttd"
      local cmd = "-e 'print(package.path) print(package.cpath)'"
      local out = ttlua(cmd, { env = env })
      assert.truthy(out:find("/nonexistent-tt/", 1, true), out)
      assert.truthy(out:find("/nonexistent-ttc/", 1, true), out)
      assert.truthy(out:find("/nonexistent-ttd/", 1, true), out)
      out = ttlua("-E " .. cmd, { env = env })
      assert.falsy(out:find("/nonexistent-tt", 1, true), out)
    end)

    it("puts the tenten Lua directory first on package.path", function()
      local out = ttlua("-e 'print(package.path)'", { env = "TT_LUA_DIR=/somewhere/lua" })
      assert.truthy(out:find("^/somewhere/lua/%?%.lua;/somewhere/lua/%?/init%.lua;"), out)
      -- unset: this source tree's lua/ (it has tenten/init.lua)
      out = ttlua("-e 'print(package.path)'", { env = "TT_LUA_DIR=" })
      assert.equal(1, out:find(source .. "/lua/?.lua;" .. source .. "/lua/?/init.lua;", 1, true), out)
    end)

    it("runs the state's collector in generational mode", function()
      local out, rc = ttlua("-e 'print(collectgarbage(\"incremental\"))'")
      assert.equal(0, rc)
      assert.equal("generational\n", out)
    end)
  end)

  describe("LUA_INIT", function()
    it("runs LUA_INIT before -e", function()
      local out, rc, err = ttlua("-e 'print(x)'", { env = "LUA_INIT='x = 7'" })
      assert.equal(0, rc, err)
      assert.equal("7\n", out)
    end)

    it("prefers LUA_INIT_5_4", function()
      local out = ttlua("-e 'print(x)'", { env = "LUA_INIT='x = 7' LUA_INIT_5_4='x = 8'" })
      assert.equal("8\n", out)
    end)

    it("runs a file given as @path", function()
      local path = script("init.lua", "x = 'from file'\n")
      local out = ttlua("-e 'print(x)'", { env = "LUA_INIT=" .. q("@" .. path) })
      assert.equal("from file\n", out)
    end)

    it("is ignored with -E", function()
      local out, rc = ttlua("-E -e 'print(x)'", { env = "LUA_INIT='x = 7' LUA_INIT_5_4='x = 8'" })
      assert.equal(0, rc)
      assert.equal("nil\n", out)
    end)

    it("stops everything when it fails", function()
      local out, rc, err = ttlua("-e 'print(1)'", { env = "LUA_INIT='error(\"init failed\")'" })
      assert.equal(1, rc)
      assert.equal("", out)
      assert.truthy(err:find("^tt%-lua: LUA_INIT:1: init failed"), err)
    end)
  end)

  describe("the tenten module", function()
    it("is available to require", function()
      local out, rc, err = ttlua("-e 'print(type(require \"tenten\"))'")
      assert(rc == 0, "require 'tenten' failed under tt-lua: " .. explain(rc, err))
      assert.equal("table", out:match("^(%S+)"))
    end)

    it("has tenten.core preloaded", function()
      local out, rc, err = ttlua("-e 'print(type(package.preload[\"tenten.core\"]))'")
      assert.equal(0, rc, err)
      assert.equal("function\n", out)
      out, rc, err = ttlua("-e 'print(type(require(\"tenten.core\").catch_signals))'")
      assert(rc == 0, "require 'tenten.core' failed: " .. explain(rc, err))
      assert.equal("function\n", out)
    end)

    it("has tenten.run for the main chunk", function()
      local out, rc, err = ttlua("-e 'print(type(require(\"tenten\").run))'")
      assert(rc == 0 and out == "function\n",
        "tenten.run is missing (tt-lua runs scripts through it): " .. out .. explain(rc, err))
    end)
  end)

  describe("scripts", function()
    it("get arguments in ... and the arg table, negative indexes for the interpreter", function()
      local path = script("args.lua", [[
print(select("#", ...), ...)
for i = -4, #arg do io.write(i, "=", tostring(arg[i]), " ") end
print()
]])
      local out, rc, err = ttlua("-W -e 'x=1' " .. q(path) .. " a 'b c'")
      assert(rc == 0, explain(rc, err))
      local lines = {}
      for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
      assert.equal("2\ta\tb c", lines[1])
      assert.equal(string.format("-4=%s -3=-W -2=-e -1=x=1 0=%s 1=a 2=b c ", bin, path), lines[2])
    end)

    it("see the arg table as -e left it", function()
      local path = script("args2.lua", "print(...)\n")
      local out, rc, err = ttlua("-e 'arg[1] = \"changed\"' " .. q(path) .. " orig")
      assert(rc == 0, explain(rc, err))
      assert.equal("changed\n", out)
    end)

    it("exit 0 when they end normally", function()
      local path = script("ok.lua", "print('hello')\nreturn 5\n")
      local out, rc, err = ttlua(q(path))
      assert(rc == 0, explain(rc, err))
      assert.equal("hello\n", out)
      assert.equal("", err)
    end)

    it("exit 1 on an error, with tt-lua: message and the script's traceback", function()
      local path = script("fail.lua", [[
local function inner() error("went wrong") end
local function outer() inner() end
outer()
]])
      local out, rc, err = ttlua(q(path))
      assert.equal(1, rc, err)
      assert.equal("", out)
      assert.truthy(err:find("^tt%-lua: " .. path:gsub("%p", "%%%0") .. ":1: went wrong\n"), err)
      assert.truthy(err:find("stack traceback:", 1, true), err)
      assert.truthy(err:find(path .. ":2: in ", 1, true), err)
      assert.truthy(err:find(path .. ":3: in main chunk", 1, true), err)
      -- the frames of tt-lua's own wrapper around the chunk are left out
      assert.falsy(err:find("(tt-lua)", 1, true), err)
    end)

    it("report an error object through its __tostring", function()
      local path = script("obj.lua", [[
error(setmetatable({}, { __tostring = function() return "custom failure" end }))
]])
      local _, rc, err = ttlua(q(path))
      assert.equal(1, rc, err)
      assert.truthy(err:find("^tt%-lua: custom failure\nstack traceback:"), err)
    end)

    it("report an error object without __tostring by its type", function()
      local path = script("obj2.lua", "error({ code = 1 })\n")
      local _, rc, err = ttlua(q(path))
      assert.equal(1, rc, err)
      assert.truthy(err:find("^tt%-lua: %(error object is a table value%)"), err)
    end)

    it("exit with os.exit's status", function()
      local path = script("exit3.lua", "io.write('x') os.exit(3)\n")
      local out, rc, err = ttlua(q(path))
      assert.equal(3, rc, err)
      assert.equal("x", out)
      assert.equal(1, select(2, ttlua("-e 'os.exit(false)'")))
      assert.equal(0, select(2, ttlua("-e 'os.exit(true)'")))
    end)

    it("fail with exit 1 on a runtime error inside a coroutine", function()
      local path = script("co.lua", [[
local ok, msg = coroutine.resume(coroutine.create(function() error("caught") end))
print(ok, msg)
local f = coroutine.wrap(function()
  coroutine.yield(1)
  local t = nil
  return t.field
end)
print(f())
f()
print("not reached")
]])
      local out, rc, err = ttlua(q(path))
      assert.equal(1, rc, err)
      assert.equal("false\t" .. path .. ":1: caught\n1\n", out)
      assert.truthy(err:find("^tt%-lua: .*attempt to index a nil value %(local 't'%)"), err)
      assert.truthy(err:find("stack traceback:", 1, true), err)
    end)

    it("fail with exit 1 when they cannot be opened or compiled", function()
      local _, rc, err = ttlua(q(tmp .. "/missing.lua"))
      assert.equal(1, rc)
      assert.truthy(err:find("^tt%-lua: cannot open "), err)
      local path = script("syntax.lua", "x = = 1\n")
      _, rc, err = ttlua(q(path))
      assert.equal(1, rc)
      assert.truthy(err:find("^tt%-lua: " .. path:gsub("%p", "%%%0") .. ":1:"), err)
    end)

    it("run after -e and -l", function()
      local path = script("after.lua", "print(x, string.rep('-', 2))\n")
      local out, rc, err = ttlua("-e 'x = 1' -l string " .. q(path))
      assert(rc == 0, explain(rc, err))
      assert.equal("1\t--\n", out)
    end)

    it("can require tenten", function()
      local path = script("req.lua", "print(type(require 'tenten'))\n")
      local out, rc, err = ttlua(q(path))
      assert(rc == 0, explain(rc, err))
      assert.equal("table\n", out)
    end)

    it("run as a task, so blocking calls work in the main chunk", function()
      local path = script("sleep.lua", [[
local tt = require "tenten"
local t0 = tt.now()
local task = tt.spawn(function(x) tt.sleep(0.05) return x * 2 end, 21)
tt.sleep(0.05)
print(task:wait())
print(tt.now() - t0 < 1)
]])
      local out, rc, err = ttlua(q(path))
      assert(rc == 0, explain(rc, err))
      assert.equal("true\t42\ntrue\n", out)
    end)
  end)

  describe("stdin", function()
    it("runs with - and its arguments", function()
      local out, rc, err = ttlua("- a b", { stdin = "print(arg[0], ...)\n" })
      assert(rc == 0, explain(rc, err))
      assert.equal("-\ta\tb\n", out)
    end)

    it("runs when there is no script and stdin is not a terminal", function()
      local out, rc, err = ttlua("", { stdin = "print('from stdin', #arg)\n" })
      assert(rc == 0, explain(rc, err))
      assert.equal("from stdin\t0\n", out)
    end)

    it("names the chunk stdin in errors", function()
      local _, rc, err = ttlua("-", { stdin = "\nerror('oops')\n" })
      assert.equal(1, rc, err)
      assert.truthy(err:find("^tt%-lua: stdin:2: oops\nstack traceback:"), err)
    end)

    it("is not read after -e alone", function()
      local out, rc = ttlua("-e 'print(1)'", { stdin = "print('read')\n" })
      assert.equal(0, rc)
      assert.equal("1\n", out)
    end)
  end)

  describe("--", function()
    it("stops option handling: the next argument is the script", function()
      script("-dash.lua", "print('dash script', ...)\n")
      local out, rc, err = ttlua("-- -dash.lua -e", { dir = tmp })
      assert(rc == 0, explain(rc, err))
      assert.equal("dash script\t-e\n", out)
    end)

    it("without a script runs nothing more after -e", function()
      local out, rc = ttlua("-e 'print(arg[0] == \"" .. bin .. "\", arg[1], arg[3])' --")
      assert.equal(0, rc)
      assert.equal("true\t-e\t--\n", out)
    end)

    it("is rejected with extra characters", function()
      local _, rc, err = ttlua("--x")
      assert.equal(1, rc)
      assert.truthy(err:find("unrecognized option '%-%-x'"), err)
    end)
  end)

  describe("-i", function()
    it("prints values, runs statements over several lines and goes on after errors", function()
      local input = "1 + 1\nx = 5\nfor i = 1, 2 do\n  io.write(i, ' ')\nend\n" ..
          "error('at prompt')\nreturn x, nil, 'y'\n=x * 2\n"
      local out, rc, err = ttlua("-i", { stdin = input })
      assert(rc == 0, explain(rc, err))
      assert.truthy(out:find("^Lua 5%.4"), out)
      assert.truthy(out:find("tt-lua 0.1.0\n", 1, true), out)
      assert.truthy(out:find("> 2\n", 1, true), out)
      assert.truthy(out:find(">> >> 1 2 ", 1, true), out)
      assert.truthy(out:find("5\tnil\ty\n", 1, true), out)
      assert.truthy(out:find("> 10\n", 1, true), out)
      assert.truthy(err:find("^stdin:1: at prompt\nstack traceback:"), err)
    end)

    it("runs the script first, then the prompt sees its globals", function()
      local path = script("pre.lua", "y = 'set by script'\n")
      local out, rc, err = ttlua("-i " .. q(path), { stdin = "y\n" })
      assert(rc == 0, explain(rc, err))
      assert.truthy(out:find("> set by script\n", 1, true), out)
    end)

    it("runs each line as a task, so blocking calls work", function()
      local out, rc, err = ttlua("-i", { stdin = "require('tenten').sleep(0.01); return 'slept'\n" })
      assert(rc == 0, explain(rc, err))
      assert.truthy(out:find("> slept\n", 1, true), out)
    end)
  end)

  describe("signals", function()
    -- Start a script that sleeps 30 s, signal it once it has said so (polled, 10 s at most),
    -- and measure how long it took to end after the signal; a watchdog kills it after 5 s so
    -- that a failure does not take 30.
    -- env --default-signal: a background job of a non-interactive shell would otherwise start
    -- with SIGINT ignored.
    local function signal_run(sig)
      local path = script("sleeper.lua", [[
local tt = require "tenten"
io.stdout:write("sleeping\n")
io.stdout:flush()
tt.sleep(30)
print("woke up")
]])
      local cmd = string.format([[
exec 2>/dev/null
env -u LUA_INIT -u LUA_INIT_5_4 --default-signal=INT %s %s >%s 2>%s </dev/null &
pid=$!
i=0
until grep -q sleeping %s || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done
t0=$(date +%%s%%N)
kill -%s $pid
(sleep 5; kill -KILL $pid) >/dev/null 2>&1 &
watchdog=$!
wait $pid
rc=$?
t1=$(date +%%s%%N)
kill $watchdog 2>/dev/null
echo "rc=$rc ms=$(( (t1 - t0) / 1000000 ))"]], q(bin), q(path), q(tmp .. "/sig.out"),
        q(tmp .. "/sig.err"), q(tmp .. "/sig.out"), sig)
      local out = sh(cmd)
      local rc, ms = out:match("rc=(%d+) ms=(%d+)")
      return tonumber(rc), tonumber(ms), readfile(tmp .. "/sig.out") or "",
        readfile(tmp .. "/sig.err") or ""
    end

    it("SIGINT while a script sleeps exits 130 promptly", function()
      local rc, ms, out, err = signal_run("INT")
      assert(out:find("sleeping"), "the script never started: " .. explain(rc, err))
      assert(rc ~= 137, "still running 5 s after SIGINT (the watchdog killed it): " .. err)
      assert(rc == 130, "expected exit 130 on SIGINT: " .. explain(rc, err))
      assert(ms < 4500, "took " .. tostring(ms) .. " ms to exit after SIGINT")
      assert.falsy(out:find("woke up"), out)
    end)

    it("SIGINT at the interactive prompt ends the session with 130", function()
      local fifo = tmp .. "/fifo"
      local out = sh(string.format([[
exec 2>/dev/null
rm -f %s && mkfifo %s
(sleep 4) >%s &
writer=$!
env -u LUA_INIT -u LUA_INIT_5_4 --default-signal=INT %s -i <%s >%s 2>%s &
pid=$!
i=0
until grep -q '> ' %s || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done
kill -INT $pid
(sleep 3; kill -KILL $pid) >/dev/null 2>&1 &
wait $pid
echo "rc=$?"
kill $writer 2>/dev/null]], q(fifo), q(fifo), q(fifo), q(bin), q(fifo), q(tmp .. "/prompt.out"),
        q(tmp .. "/sig.err"), q(tmp .. "/prompt.out")))
      local err = readfile(tmp .. "/sig.err") or ""
      assert.equal("130", out:match("rc=(%d+)"), err)
      assert.truthy(err:find("interrupted", 1, true), err)
    end)

    it("SIGTERM does the same", function()
      local rc, ms, out, err = signal_run("TERM")
      assert(out:find("sleeping"), "the script never started: " .. explain(rc, err))
      assert(rc ~= 137, "still running 5 s after SIGTERM (the watchdog killed it): " .. err)
      assert(rc == 130, "expected exit 130 on SIGTERM: " .. explain(rc, err))
      assert(ms < 4500, "took " .. tostring(ms) .. " ms to exit after SIGTERM")
    end)
  end)
end)
