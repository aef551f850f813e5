-- tt-pull, run as a user runs it: the wrapper scripts/tt-pull with this build's tt-lua, against
-- a real tt-gateway (and tt-fixture in front of it where a run must be slowed or watched).
-- Each flag, each exit code, and lua/tenten/json.lua's decoder and encoder.
local fixture = require "fixture"
local gateway = require "gateway"
local json = require "tenten.json"

local q = gateway.q

-- Absolute paths: the runs below change directory.
local ttlua, ttpull = gateway.ttlua, gateway.ttpull

describe("tenten.json", function()
  local function fails(text, where, what)
    local v, err = json.decode(text)
    assert.is_nil(v, "decoded " .. text)
    assert.truthy(err:find(where, 1, true), err)
    if what then assert.truthy(err:find(what, 1, true), err) end
  end

  it("decodes strings with every escape, \\u sequences and surrogate pairs", function()
    assert.are.equal('a"b\\c/d\b\f\n\r\te', json.decode([["a\"b\\c\/d\b\f\n\r\te"]]))
    assert.are.equal("é€", json.decode([["\u00e9\u20AC"]]))
    assert.are.equal("A\0B", json.decode([["A\u0000B"]]))
    assert.are.equal("😀x", json.decode([["\ud83d\ude00x"]]))
    assert.are.equal("\u{10FFFF}", json.decode([["\udbff\udfff"]]))
    assert.are.equal("x😀", json.decode([["\u0078\uD83D\uDE00"]]))
    assert.are.equal("déjà", json.decode('"déjà"'))
  end)

  it("decodes numbers as integers when they are whole and fit, else floats", function()
    local v = json.decode("[0, -7, 12345678901234, 1.5, -2.5e3, 1E2, 9223372036854775807, 9223372036854775808]")
    assert.are.equal(0, v[1])
    assert.are.equal("integer", math.type(v[2]))
    assert.are.equal(12345678901234, v[3])
    assert.are.equal(1.5, v[4])
    assert.are.equal(-2500.0, v[5])
    assert.are.equal("float", math.type(v[6]))
    assert.are.equal(math.maxinteger, v[7])
    assert.are.equal("float", math.type(v[8]))
  end)

  it("decodes nesting, literals and null, and keeps empty arrays apart from empty objects", function()
    local v = json.decode(' { "a" : [ 1 , { "b" : [ [ ] , { } ] } ] , "t" : true , "f" : false , "n" : null } ')
    assert.are.equal(1, v.a[1])
    assert.are.equal(json.array_mt, getmetatable(v.a[2].b[1]))
    assert.are.equal(json.object_mt, getmetatable(v.a[2].b[2]))
    assert.is_true(v.t)
    assert.is_false(v.f)
    assert.are.equal(json.null, v.n)
    assert.are.equal('{"a":[1,{"b":[[],{}]}],"f":false,"n":null,"t":true}', json.encode(v))
    local deep = string.rep("[", 90) .. "7" .. string.rep("]", 90)
    assert.are.equal(deep, json.encode(json.decode(deep)))
  end)

  it("reports errors with line and column", function()
    fails("", "line 1, column 1", "expected a value")
    fails("[1,]", "line 1, column 4", "expected a value")
    fails("[1 2]", "line 1, column 4", "expected ',' or ']'")
    fails('{"a" 1}', "line 1, column 6", "expected ':'")
    fails('{"a":1,}', "line 1, column 8", "expected a string key")
    fails("{1:2}", "line 1, column 2", "expected a string key")
    fails('{"a":1 "b":2}', "line 1, column 8", "expected ',' or '}'")
    fails('"abc', "line 1, column 5", "not closed")
    fails('"\\q"', "line 1, column 3", "expected an escape")
    fails('"\\u12g4"', "line 1, column 4", "four hex digits")
    fails('"\\ud800x"', "line 1, column 2", "high surrogate")
    fails('"\\ud800\\u0041"', "line 1, column 2", "high surrogate")
    fails('"\\udc00"', "line 1, column 2", "low surrogate")
    fails('"a\tb"', "line 1, column 3", "control character")
    fails("1.", "line 1, column 3", "digit after '.'")
    fails("1e+", "line 1, column 4", "exponent")
    fails("-", "line 1, column 1", "expected a value")
    fails("01", "line 1, column 2", "the end of the text")
    fails("[true] x", "line 1, column 8", "the end of the text")
    fails("[\n  1,\n  nul\n]", "line 3, column 3", "expected a value")
    fails('["\255"]', "line 1, column 3", "invalid UTF-8")
    fails(string.rep("[", 500), "nested too deeply")
  end)

  it("encodes strings, numbers, nesting and null, and reads its own output back", function()
    assert.are.equal('"a\\"b\\\\c\\n\\t\\u0001é😀"', json.encode('a"b\\c\n\t\1é😀'))
    assert.are.equal('"\\u0000"', json.encode("\0"))
    assert.are.equal('"x\u{FFFD}y"', json.encode("x\255y")) -- not UTF-8: replaced, still JSON
    assert.are.equal("[1,-2,0.1,1e+300,0.3333333333333333]", json.encode({ 1, -2, 0.1, 1e300, 1 / 3 }))
    assert.are.equal("[[],{},null,true]", json.encode({ json.array(), {}, json.null, true }))
    assert.are.equal('{"1":"x","b":{"c":[1]}}', json.encode({ [1] = "x", b = { c = { 1 } }, [3] = nil }))
    local value = { name = "ü\"\n", list = { 1, 2.5, json.null, { deep = { "x" } } }, empty = json.object() }
    local back = json.decode(json.encode(value))
    assert.are.same(json.encode(value), json.encode(back))
    assert.are.equal(2.5, back.list[2])
  end)

  it("refuses what JSON cannot hold", function()
    local t = {}
    t.self = t
    assert.has_error(function() json.encode(t) end, "json: cannot encode a table that contains itself")
    assert.has_error(function() json.encode(0 / 0) end)
    assert.has_error(function() json.encode(math.huge) end)
    assert.has_error(function() json.encode(print) end, "json: cannot encode a function")
    assert.has_error(function() json.encode({ [true] = 1 }) end, "json: cannot encode a key of type boolean")
  end)
end)

describe("tt-pull", function()
  local g, dir, n = nil, nil, 0

  setup(function()
    dir = gateway.tmpdir()
    local config = gateway.default_config()
    config.page_rows = 500 -- many pages, so a slowed page leaves a pull half done
    g = gateway.start { dir = dir, db = gateway.demo_db(dir, 0.01), config = config }
  end)

  teardown(function()
    if g then g:stop() end
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  -- A fresh folder per test, so files of one test never answer for another.
  local function workdir()
    n = n + 1
    local d = dir .. "/run" .. n
    assert(os.execute("mkdir -p " .. q(d)))
    return d
  end

  local exists = gateway.exists

  local function lines(path)
    local list = {}
    for l in io.lines(path) do list[#list + 1] = l end
    return list
  end

  local function listing(d)
    return (gateway.run("ls -a " .. q(d)))
  end

  -- Environment words for the gateway's pool owner; `without` drops one variable.
  local function creds(url, without)
    local vars = { TT_GATEWAY = url or g.url, TT_USER = "owner1", TT_PASSWORD = "secret1", TT_GROUP = "pool1" }
    if without then vars[without] = nil end
    local words = {}
    for _, k in ipairs { "TT_GATEWAY", "TT_USER", "TT_PASSWORD", "TT_GROUP" } do
      if vars[k] then words[#words + 1] = k .. "=" .. q(vars[k]) end
    end
    return table.concat(words, " ")
  end

  -- Run tt-pull in folder d with env words (nothing of the caller's TT_* leaks in); returns
  -- stdout, exit status, stderr.
  local function run(d, args, env)
    local errf = d .. "/.stderr"
    local out, rc = gateway.run(string.format(
      "cd %s && env -u TT_GATEWAY -u TT_USER -u TT_PASSWORD -u TT_GROUP -u LUA_INIT -u LUA_INIT_5_4 " ..
      "TT_LUA=%s %s %s %s" ..
      " </dev/null 2>%s", q(d), q(ttlua), env or "", q(ttpull), args, q(errf)))
    local err = gateway.readfile(errf) or ""
    os.remove(errf)
    return out, rc, err
  end

  local function explain(rc, err, out)
    return string.format("exit %s\nstderr:\n%s\nstdout:\n%s", tostring(rc), err, out or "")
  end

  describe("command line", function()
    it("--help prints the usage and --version the version, both with status 0", function()
      local d = workdir()
      local out, rc, err = run(d, "--help")
      assert(rc == 0, explain(rc, err, out))
      assert.matches("^usage: tt%-pull ", out)
      for _, flag in ipairs { "--table", "--ops", "--out", "--columns", "--format", "--pool-size", "--progress",
        "--summary", "--lock", "--dry-run", "--gateway", "--user", "--group", "--credentials", "--version" } do
        assert.truthy(out:find(flag, 1, true), flag)
      end
      out, rc = run(d, "-h")
      assert.are.equal(0, rc)
      assert.matches("^usage:", out)
      out, rc, err = run(d, "--version")
      assert(rc == 0, explain(rc, err, out))
      assert.are.equal("tt-pull " .. require("tenten").VERSION .. "\n", out)
    end)

    it("exits 2 on a bad flag, a bad value, or nothing to pull, saying why", function()
      local d = workdir()
      for args, says in pairs {
        ["--bogus"] = "unknown option --bogus",
        ["--table t.t --out x.csv --pool-size 0"] = "--pool-size wants a whole number",
        ["--table t.t --out x.csv --pool-size=two"] = "--pool-size wants a whole number",
        ["--table t.t --out x.csv --progress sometimes"] = "--progress wants one of always, auto, never",
        ["--table t.t --out x.csv --summary xml"] = "--summary wants one of json, none, text",
        ["--table t.t --out x.csv --lock"] = "--lock needs a value",
        [""] = "nothing to pull",
        ["--table t.t"] = "--out is missing",
        ["--out x.csv"] = "--table is missing",
        ["--table t.t --out x.unknown"] = "format",
        ["jobs.json --table t.t --out x.csv"] = "not with a jobs file",
        ["a.json b.json"] = "one jobs file only",
        ["--table t.t --out nosuchdir/x.csv"] = "the folder nosuchdir does not exist",
      } do
        local out, rc, err = run(d, args, creds())
        assert(rc == 2, args .. ": " .. explain(rc, err, out))
        assert(err:find(says, 1, true), args .. ": " .. err)
        assert.are.equal("", out)
      end
    end)

    it("refuses --password in every spelling, saying why", function()
      local d = workdir()
      for _, args in ipairs { "--password secret1", "--password=secret1", "--passwd secret1" } do
        local out, rc, err = run(d, "--table pub.demo.weather.stations --out s.csv " .. args, creds())
        assert(rc == 2, explain(rc, err, out))
        assert.truthy(err:find("is refused", 1, true), err)
        assert.truthy(err:find("TT_PASSWORD", 1, true), err)
        assert.is_false(exists(d .. "/s.csv"))
      end
    end)

    it("exits 2 naming the variable when a credential is missing, or echoing a bad gateway URL", function()
      local d = workdir()
      for _, var in ipairs { "TT_USER", "TT_GATEWAY", "TT_PASSWORD", "TT_GROUP" } do
        local out, rc, err = run(d, "--table pub.demo.weather.stations --out s.csv", creds(nil, var))
        assert(rc == 2, var .. ": " .. explain(rc, err, out))
        assert.truthy(err:find("set " .. var, 1, true), err)
      end
      local out, rc, err = run(d, "--table pub.demo.weather.stations --out s.csv --dry-run", creds("ftp://127.0.0.1/"))
      assert(rc == 2, explain(rc, err, out))
      assert.truthy(err:find("gateway ftp://127.0.0.1/", 1, true), err)
    end)
  end)

  describe("pulls", function()
    it("one job from flags: --table, --ops, --out, and the summary table on stderr", function()
      local d = workdir()
      local out, rc, err = run(d, "--table pub.demo.weather.hourly90 --ops " ..
        q('<sel value="month(date)=1"/>') .. " --out jan.csv", creds())
      assert(rc == 0, explain(rc, err, out))
      assert.are.equal("", out)
      local rows = lines(d .. "/jan.csv")
      assert.are.equal(3 * 31 * 24 + 1, #rows) -- 3 stations, every hour of January
      assert.matches("^pulled 1 job: 1 ok, 0 failed, 2,232 rows", err)
      assert.matches("\njob%s+name%s+id", err)
      assert.matches("\n1%s+jan%.csv%s+pool1_%d", err)
      assert.is_nil(listing(d):find("part", 1, true))
    end)

    it("--columns picks and orders the columns, --format overrides the extension, --name names the job", function()
      local d = workdir()
      local out, rc, err = run(d, "--table pub.demo.weather.stations --columns elev,name --format tsv " ..
        "--out st.txt --name stations --summary json", creds())
      assert(rc == 0, explain(rc, err, out))
      local rows = lines(d .. "/st.txt")
      assert.are.equal("elev\tname", rows[1])
      assert.are.equal(4, #rows)
      local s = assert(json.decode(out))
      assert.are.equal("stations", s.jobs[1].name)
      assert.are.equal("tsv", s.jobs[1].format)
    end)

    it("runs the jobs of a JOBS.lua, in a sandbox that has os.getenv but no io", function()
      local d = workdir()
      gateway.writefile(d .. "/jobs.lua", [[
        local jobs = {}
        for _, m in ipairs { 1, 2 } do
          jobs[#jobs + 1] = { table = "pub.demo.weather.hourly90",
            ops = string.format('<sel value="month(date)=%d"/>', m), out = string.format("m%02d.csv", m) }
        end
        jobs[#jobs + 1] = { table = "pub.demo.retail.item", columns = { "sku", "sales" },
          out = os.getenv("ITEM_OUT"), name = "items" }
        return jobs
      ]])
      local out, rc, err = run(d, "jobs.lua --summary json", creds() .. " ITEM_OUT=items.jsonl")
      assert(rc == 0, explain(rc, err, out))
      assert.are.equal(3 * 31 * 24 + 1, #lines(d .. "/m01.csv"))
      assert.are.equal(3 * 28 * 24 + 1, #lines(d .. "/m02.csv"))
      local items = lines(d .. "/items.jsonl")
      assert.are.equal(500, #items)
      assert.matches('^{"sku":%d+,"sales":[%d.]+}$', items[1])
      local s = assert(json.decode(out))
      assert.are.equal("items", s.jobs[3].name)

      gateway.writefile(d .. "/evil.lua", [[
        io.open("written-by-jobs-file", "w")
        return {}
      ]])
      out, rc, err = run(d, "evil.lua", creds())
      assert(rc == 2, explain(rc, err, out))
      assert.truthy(err:find("evil.lua:1", 1, true) and err:find("io", 1, true), err)
      assert.is_false(exists(d .. "/written-by-jobs-file"))
    end)

    it("runs the jobs of a JOBS.json", function()
      local d = workdir()
      gateway.writefile(d .. "/jobs.json", [[
[
  {"table": "pub.demo.weather.stations", "out": "stations.csv"},
  {"table": "pub.demo.retail.item", "ops": "<sel value=\"store=2\"/>", "columns": ["date", "sku"],
   "out": "store2.tsv", "name": "store \u0032"}
]
]])
      local out, rc, err = run(d, "jobs.json --summary json", creds())
      assert(rc == 0, explain(rc, err, out))
      assert.are.equal(4, #lines(d .. "/stations.csv"))
      local store2 = lines(d .. "/store2.tsv")
      assert.are.equal("date\tsku", store2[1])
      local s = assert(json.decode(out))
      assert.are.equal("store 2", s.jobs[2].name)
      assert.are.equal(#store2 - 1, s.jobs[2].rows)
    end)

    it("exits 2 on a jobs file that is not a list of jobs, naming the place", function()
      local d = workdir()
      for name, case in pairs {
        ["syntax.json"] = { '[{"table": "t.t", "out": "x.csv"},\n {"table" "t.t"}]', "syntax.json: line 2, column 11" },
        ["notlist.json"] = { '{"table": "t.t", "out": "x.csv"}', "must be a list of jobs" },
        ["empty.json"] = { "[]", "holds no jobs" },
        ["field.json"] = { '[{"table": "t.t", "out": "x.csv", "colums": "a"}]', "job 1: unknown field 'colums'" },
        ["notable.json"] = { '[{"out": "x.csv"}]', "job 1: 'table' must be a non-empty string" },
        ["dup.json"] = { '[{"table": "a.a", "out": "x.csv"}, {"table": "b.b", "out": "x.csv"}]', "as job 1 does" },
        ["syntax.lua"] = { "return {", "syntax.lua:1:" },
        ["raises.lua"] = { "error('no jobs today')", "no jobs today" },
        ["jobs.yaml"] = { "- table: t.t", "ends in .lua" },
      } do
        gateway.writefile(d .. "/" .. name, case[1])
        local out, rc, err = run(d, name, creds())
        assert(rc == 2, name .. ": " .. explain(rc, err, out))
        assert(err:find(case[2], 1, true), name .. ": " .. err)
      end
      local out, rc, err = run(d, "missing.json", creds())
      assert(rc == 2, explain(rc, err, out))
      assert.truthy(err:find("missing.json", 1, true), err)
    end)

    it("--summary json prints one JSON object on stdout: each job's name, out, rows, bytes, seconds, uid, result",
      function()
        local d = workdir()
        gateway.writefile(d .. "/jobs.json", [==[[
          {"table": "pub.demo.weather.stations", "out": "ok.csv"},
          {"table": "pub.demo.nosuch", "out": "bad.csv", "name": "missing table"}
        ]]==])
        local out, rc, err = run(d, "jobs.json --summary json --progress never", creds())
        assert(rc == 1, explain(rc, err, out))
        assert.are.equal("", err) -- no table on stderr, no progress
        local s, why = json.decode(out)
        assert(s, why)
        assert.is_false(s.ok)
        assert.are.equal(2, #s.jobs)
        local ok, bad = s.jobs[1], s.jobs[2]
        assert.are.same({ "bytes", "error", "format", "job", "name", "out", "release_error", "result", "rows",
          "seconds", "table", "total", "uid" }, (function()
          local keys = {}
          for k in pairs(ok) do keys[#keys + 1] = k end
          table.sort(keys)
          return keys
        end)())
        assert.are.equal(1, ok.job)
        assert.are.equal("ok.csv", ok.name)
        assert.are.equal("ok.csv", ok.out)
        assert.are.equal("pub.demo.weather.stations", ok.table)
        assert.are.equal("csv", ok.format)
        assert.are.equal(3, ok.rows)
        assert.are.equal(3, ok.total)
        assert.are.equal(#gateway.readfile(d .. "/ok.csv"), ok.bytes)
        assert.is_true(type(ok.seconds) == "number" and ok.seconds >= 0)
        assert.matches("^pool1_%d$", ok.uid)
        assert.are.equal("ok", ok.result)
        assert.are.equal(json.null, ok.error)
        assert.are.equal(json.null, ok.release_error)
        assert.are.equal("missing table", bad.name)
        assert.are.equal("failed", bad.result)
        assert.are.equal(17, bad.error.code)
        assert.are.equal("querydata", bad.error.api)
        assert.matches("no such table", bad.error.message)
        assert.are.equal(0, bad.rows)
      end)

    it("a failed job: exit 1, no file for it, the others written", function()
      local d = workdir()
      gateway.writefile(d .. "/jobs.lua", [[return {
        { table = "pub.demo.weather.stations", out = "good.csv" },
        { table = "pub.demo.weather.stations", ops = '<sel value="nosuch=1"/>', out = "bad.csv" },
      }]])
      local out, rc, err = run(d, "jobs.lua", creds())
      assert(rc == 1, explain(rc, err, out))
      assert.truthy(err:find("1 ok, 1 failed", 1, true), err)
      assert.truthy(err:find("(code 9)", 1, true), err)
      assert.is_true(exists(d .. "/good.csv"))
      assert.is_false(exists(d .. "/bad.csv"))
      assert.is_nil(listing(d):find("part", 1, true))
    end)

    it("--pool-size caps the IDs held at once", function()
      local d = workdir()
      local jobs = {}
      for i = 1, 6 do jobs[i] = string.format('{"table": "pub.demo.weather.hourly90", "out": "s%d.csv"}', i) end
      gateway.writefile(d .. "/jobs.json", "[" .. table.concat(jobs, ",") .. "]")
      -- the proxy's log shows every getuid and reluid in order: the IDs held at a time
      local function most_held(size)
        local fx = fixture.start { upstream = g.base }
        local out, rc, err = run(d, "jobs.json --pool-size " .. size, creds(fx.gw))
        local held, most = 0, 0
        for _, r in ipairs(fx:requests()) do
          if r.api == "getuid" then held = held + 1 elseif r.api == "reluid" then held = held - 1 end
          most = math.max(most, held)
        end
        fx:stop()
        assert(rc == 0, explain(rc, err, out))
        return most
      end
      assert.are.equal(1, most_held(1))
      assert.is_true(most_held(2) <= 2)
      local out, rc, err = run(d, "jobs.json --pool-size=2 --dry-run", creds())
      assert(rc == 0, explain(rc, err, out))
      assert.truthy(out:find("at most 2 at once", 1, true), out)
    end)

    it("--progress never writes nothing on stderr; always draws live; auto writes one line off a terminal", function()
      local d = workdir()
      local args = "--table pub.demo.weather.stations --out p.csv --summary none --progress "
      local out, rc, err = run(d, args .. "never", creds())
      assert(rc == 0, explain(rc, err, out))
      assert.are.equal("", err)
      out, rc, err = run(d, args .. "auto", creds())
      assert(rc == 0, explain(rc, err, out))
      assert.matches("^pulled 1 job: 1 ok, 0 failed, 3 rows, [^\n]*\n$", err)
      assert.is_nil(err:find("\27", 1, true))
      out, rc, err = run(d, args .. "always", creds())
      assert(rc == 0, explain(rc, err, out))
      assert.truthy(err:find("\27[2K", 1, true), err)
      assert.truthy(err:find("pulled 1 job", 1, true), err)
    end)

    it("takes the pool from --gateway, --user and --group, and only the password from the environment", function()
      local d = workdir()
      local out, rc, err = run(d, "--table pub.demo.weather.stations --out f.csv --gateway " .. q(g.url) ..
        " --user owner1 --group=pool1 --summary json", "TT_PASSWORD=secret1 TT_USER=nobody TT_GROUP=nogroup")
      assert(rc == 0, explain(rc, err, out))
      assert.matches("^pool1_%d$", assert(json.decode(out)).jobs[1].uid)
    end)
  end)

  describe("--credentials", function()
    local function credfile(d, mode, text)
      local path = d .. "/creds"
      gateway.writefile(path, text or string.format(
        "# tt-pull credentials\nTT_GATEWAY=%s\nexport TT_USER=owner1\n\nTT_PASSWORD='secret1'\n" ..
        'TT_GROUP = "pool1"\n', g.url))
      assert(os.execute("chmod " .. mode .. " " .. q(path)))
      return path
    end

    it("reads a file of mode 0600 with no TT_* variable set", function()
      local d = workdir()
      local path = credfile(d, "600")
      local out, rc, err = run(d, "--table pub.demo.weather.stations --out c.csv --credentials " .. q(path))
      assert(rc == 0, explain(rc, err, out))
      assert.are.equal(4, #lines(d .. "/c.csv"))
    end)

    it("refuses a file that group or others may read or write, with exit 2", function()
      local d = workdir()
      for _, mode in ipairs { "644", "640", "604", "620", "602" } do
        local path = credfile(d, mode)
        local out, rc, err = run(d, "--table pub.demo.weather.stations --out c.csv --credentials " .. q(path))
        assert(rc == 2, mode .. ": " .. explain(rc, err, out))
        assert.truthy(err:find("mode 0" .. mode, 1, true), err)
        assert.truthy(err:find("chmod 600", 1, true), err)
        assert.is_false(exists(d .. "/c.csv"))
      end
    end)

    it("refuses unknown keys and malformed lines without echoing them", function()
      local d = workdir()
      for text, says in pairs {
        ["TT_PASSWORD=hunter2\nTT_PASWORD=hunter2\n"] = "line 2: unknown key TT_PASWORD",
        ["TT_USER=owner1\nhunter2\n"] = "line 2: expected KEY=value",
      } do
        local path = credfile(d, "600", text)
        local out, rc, err = run(d, "--table pub.demo.weather.stations --out c.csv --credentials " .. q(path))
        assert(rc == 2, explain(rc, err, out))
        assert.truthy(err:find(says, 1, true), err)
        assert.is_nil(err:find("hunter2", 1, true), err)
      end
      local out, rc, err = run(d, "--table pub.demo.weather.stations --out c.csv --credentials " .. q(d .. "/none"))
      assert(rc == 2, explain(rc, err, out))
    end)
  end)

  describe("--dry-run", function()
    it("prints each job's table, ops, out and format and makes no connection", function()
      local d = workdir()
      -- a listener that counts connections, where the gateway would be
      local fx = fixture.start { replies = {} }
      gateway.writefile(d .. "/jobs.lua", [[return {
        { table = "pub.demo.weather.hourly90", ops = '<sel value="month(date)=1"/>', out = "jan.csv" },
        { table = "pub.demo.retail.item", columns = "sku,sales", out = "items.txt", format = "csv", name = "items" },
      }]])
      local out, rc, err = run(d, "jobs.lua --dry-run --lock run.lock", creds(fx.gw))
      local conns = fx:connections()
      fx:stop()
      assert(rc == 0, explain(rc, err, out))
      assert.are.equal("", err)
      assert.are.equal(0, conns)
      assert.truthy(out:find("dry run: 2 jobs through pool pool1 of owner1 at " .. fx.gw, 1, true), out)
      assert.truthy(out:find([[
job 1: jan.csv
  table    pub.demo.weather.hourly90
  ops      <sel value="month(date)=1"/>
  out      jan.csv
  format   csv
job 2: items
  table    pub.demo.retail.item
  ops      (none: the whole table)
  columns  sku,sales
  out      items.txt
  format   csv
]], 1, true), out)
      assert.is_false(exists(d .. "/jan.csv") or exists(d .. "/items.txt") or exists(d .. "/run.lock"))
    end)

    it("with a closed port: exit 0, and --summary json gives the plan as JSON", function()
      local d = workdir()
      local out, rc, err = run(d, "--table pub.demo.weather.stations --out s.csv --dry-run --summary json",
        creds("http://127.0.0.1:1/cgi-bin/gw"))
      assert(rc == 0, explain(rc, err, out))
      local plan = assert(json.decode(out))
      assert.is_true(plan.dry_run)
      assert.are.equal("pool1", plan.group)
      assert.are.equal("pub.demo.weather.stations", plan.jobs[1].table)
      assert.are.equal("csv", plan.jobs[1].format)
      assert.is_false(exists(d .. "/s.csv"))
    end)

    it("still checks the configuration: a missing variable is exit 2", function()
      local d = workdir()
      local out, rc, err = run(d, "--table pub.demo.weather.stations --out s.csv --dry-run", creds(nil, "TT_GROUP"))
      assert(rc == 2, explain(rc, err, out))
      assert.truthy(err:find("TT_GROUP", 1, true), err)
    end)
  end)

  describe("--lock", function()
    local args = "--table pub.demo.weather.stations --out l.csv --lock run.lock"

    it("refuses to start while a live process holds the lock, and leaves the lock alone", function()
      local d = workdir()
      gateway.writefile(d .. "/run.lock", g.pid .. "\n") -- the gateway: surely alive
      local out, rc, err = run(d, args, creds())
      assert(rc == 2, explain(rc, err, out))
      assert.truthy(err:find("held by the running process " .. g.pid, 1, true), err)
      assert.are.equal(g.pid .. "\n", gateway.readfile(d .. "/run.lock"))
      assert.is_false(exists(d .. "/l.csv"))
      -- a lock that names no pid is never taken over
      gateway.writefile(d .. "/run.lock", "")
      out, rc, err = run(d, args, creds())
      assert(rc == 2, explain(rc, err, out))
      assert.truthy(err:find("holds no pid", 1, true), err)
    end)

    it("takes over a stale lock with a message, and removes it at the end", function()
      local d = workdir()
      -- the pid of a process that has exited
      local dead = assert(tonumber((gateway.run("sh -c 'echo $$'"))))
      gateway.writefile(d .. "/run.lock", dead .. "\n")
      local out, rc, err = run(d, args, creds())
      assert(rc == 0, explain(rc, err, out))
      assert.truthy(err:find("taking over the stale lock run.lock (process " .. dead .. " is gone)", 1, true), err)
      assert.is_true(exists(d .. "/l.csv"))
      assert.is_false(exists(d .. "/run.lock"))
      -- a live pid with another start time: the pid was reused, the holder is gone
      gateway.writefile(d .. "/run.lock", g.pid .. " 1\n")
      out, rc, err = run(d, args, creds())
      assert(rc == 0, explain(rc, err, out))
      assert.truthy(err:find("taking over the stale lock", 1, true), err)
      assert.is_false(exists(d .. "/run.lock"))
      assert.is_nil(listing(d):find("tmp", 1, true))
    end)

    it("is removed after a failed run too", function()
      local d = workdir()
      local out, rc, err = run(d, "--table pub.demo.nosuch --out l.csv --lock run.lock", creds())
      assert(rc == 1, explain(rc, err, out))
      assert.is_false(exists(d .. "/run.lock"))
    end)
  end)

  describe("SIGINT", function()
    it("during a pull: exit 130, the lock removed, no .part file, no output", function()
      local d = workdir()
      -- the third page and later wait 30 s in the proxy: the pull is surely under way when
      -- the signal comes, with a .part file on disk
      local fx = fixture.start { upstream = g.base, rules = { "api=getdata,from=3,do=delay:30000" } }
      local pidfile, rcfile = d .. "/.pid", d .. "/.rc"
      -- env --default-signal: a background job of a non-interactive shell starts with SIGINT ignored
      gateway.sh(string.format("(cd %s && env -u LUA_INIT -u LUA_INIT_5_4 --default-signal=INT TT_LUA=%s %s %s " ..
        "--table pub.demo.weather.hourly90 --out big.csv --lock run.lock --progress never >out 2>err </dev/null & " ..
        "echo $! >%s; wait $!; echo $? >%s) >/dev/null 2>&1 &", q(d), q(ttlua), creds(fx.gw), q(ttpull),
        q(pidfile), q(rcfile)))
      local started = false
      for _ = 1, 400 do
        if listing(d):find("big.csv.part", 1, true) and fx:count("getdata") >= 3 then
          started = true
          break
        end
        gateway.sleep(0.025)
      end
      local pid = assert(tonumber(gateway.readfile(pidfile)))
      assert(started, "the pull never got under way: " .. (gateway.readfile(d .. "/err") or ""))
      assert.matches("^" .. pid .. " %d+\n$", gateway.readfile(d .. "/run.lock"))
      gateway.sh("kill -INT " .. pid)
      local rc
      for _ = 1, 400 do
        rc = tonumber(gateway.readfile(rcfile))
        if rc then break end
        gateway.sleep(0.025)
      end
      if not rc then gateway.sh("kill -KILL " .. pid) end
      fx:stop()
      local err = gateway.readfile(d .. "/err") or ""
      assert(rc == 130, "exit " .. tostring(rc) .. ", stderr:\n" .. err)
      assert.truthy(err:find("tt-pull: interrupted", 1, true), err)
      local files = listing(d)
      assert.is_nil(files:find("run.lock", 1, true), files)
      assert.is_nil(files:find("part", 1, true), files)
      assert.is_nil(files:find("big.csv", 1, true), files)
    end)
  end)
end)
