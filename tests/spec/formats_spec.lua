-- Output formats (issue 11, item 8; issue 12, items 8-11): one table maps names and extensions
-- to formats and checks a file's options (lua/tenten/formats.lua), and the C writer alone
-- writes what each format's file holds, header included, for a result with rows and for an
-- empty one: CSV and TSV with their options, JSON lines, one JSON array, gzip, ISO dates.
local gateway = require "gateway"
local fixture = require "fixture"
local formats = require "tenten.formats"
local json = require "tenten.json"
local pullcli = require "tenten.pullcli"
local tenten = require "tenten"

local q = gateway.q
local CSV = "id:i,name:a,score:f\n1,alpha,1.5\n2,\"b,eta\",2\n3,,\n"
local ITEM, HOURLY = "pub.demo.retail.item", "pub.demo.weather.hourly90"

-- The message of a call that must fail.
local function failure(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "no error")
  return tostring(err)
end

describe("formats", function()
  it("maps names and extensions, the format argument first, a .gz after the extension", function()
    assert.are.equal("tsv", formats.of("x.tsv"))
    assert.are.equal("tsv", formats.of("x.txt"))
    assert.are.equal("csv", formats.of("out/x.csv"))
    assert.are.equal("json", formats.of("x.json"))
    assert.are.equal("jsonl", formats.of("x.jsonl"))
    assert.are.equal("jsonl", formats.of("x.ndjson"))
    assert.are.equal("csv", formats.of("x.tsv", "csv"))
    assert.are.equal("jsonl", formats.of(io.stdout, "jsonl"))
    for ext, want in pairs { ["csv.gz"] = "csv", ["tsv.gz"] = "tsv", ["txt.gz"] = "tsv", ["jsonl.gz"] = "jsonl",
      ["ndjson.gz"] = "jsonl", ["json.gz"] = "json" } do
      assert.are.equal(want, formats.of("d/x." .. ext))
      local w = formats.options("d/x." .. ext, nil, "f")
      assert.are.equal(want, w.format)
      assert.is_true(w.gzip)
    end
    for name, w in pairs(formats.NAMES) do
      local listed = false
      for _, l in ipairs(formats.LIST) do listed = listed or l == w end
      assert.is_true(listed, name .. " maps to a format the list does not name")
    end
  end)

  it("refuses an unknown one, naming every format", function()
    assert.matches("Query:write: argument 'format' must be tsv, csv, jsonl or json",
      failure(formats.of, "x.parquet", nil, "Query:write"), 1, true)
    assert.is_false((pcall(formats.of, "x.csv", "xml", "f")))
    assert.is_false((pcall(formats.of, "x.gz", nil, "f")))
  end)

  it("checks the options, naming the option and what it must be", function()
    assert.are.same({ format = "csv", sep = ";", header = false, na = "NA", dates = "iso", gzip = true },
      formats.options("x.csv", { sep = ";", header = false, na = "NA", dates = "iso", compress = "gzip" }, "f"))
    assert.are.same({ format = "tsv", gzip = false }, formats.options("x.gz.tsv", nil, "f"))
    assert.are.same({ format = "json", dates = "raw", gzip = false },
      formats.options("x", { format = "json", dates = "raw", compress = "none" }, "f"))
    local function says(dest, opts, want)
      assert.matches(want, failure(formats.options, dest, opts, "Query:write", "option", true), 1, true)
    end
    says("x.csv", { sep = ";;" }, [[Query:write: option 'sep' must be one byte other than a double quote, CR, LF]])
    says("x.csv", { sep = '"' }, [[option 'sep' must be one byte]])
    says("x.csv", { sep = "\n" }, [[(got "\n")]])
    says("x.csv", { sep = "\r" }, [[option 'sep' must be one byte]])
    says("x.csv", { sep = "" }, [[option 'sep' must be one byte]])
    says("x.csv", { sep = 44 }, [[option 'sep' must be one byte other than a double quote, CR, LF and NUL (got num]])
    says("x.tsv", { sep = ";" }, "option 'sep' applies to csv files only, not to tsv")
    says("x.jsonl", { sep = ";" }, "option 'sep' applies to csv files only, not to jsonl")
    says("x.json", { header = false }, "option 'header' applies to tsv or csv files only, not to json")
    says("x.jsonl", { na = "" }, "option 'na' applies to tsv or csv files only, not to jsonl")
    says("x.csv", { header = "no" }, [[option 'header' must be true or false (got "no")]])
    says("x.csv", { na = 0 }, "option 'na' must be a string")
    says("x.csv", { dates = "us" }, [[option 'dates' must be "raw" or "iso" (got "us")]])
    says("x.csv", { compress = "zip" }, [[option 'compress' must be "gzip" or "none" (got "zip")]])
    says("x.csv.gz", { compress = "none" }, [[option 'compress' is "none" for a path ending in .gz]])
    says("x.csv", { seperator = ";" }, "unknown option 'seperator' (format, sep, header, na, dates, compress, ")
    says("x.csv", { compress_level = 1 }, "option 'compress_level' applies to compressed files only")
    says("x.csv.gz", { compress_level = 0 }, "option 'compress_level' must be a whole number from 1 (fastest) to 9")
    says("x.csv.gz", { compress_level = 1.5 }, "(got 1.5)")
    assert.are.equal(9, formats.options("x.csv.gz", { compress_level = 9 }, "f").gzip)
    says("x.csv", { format = "xls" }, "option 'format' must be tsv, csv, jsonl or json")
    says("x.bin", { sep = ";" }, "argument 'format' must be tsv, csv, jsonl or json")
  end)

  it("tenten.date: YYYYMMDD, YYYYMMDDHHMMSS and ISO text as os.time's fields", function()
    assert.are.same({ year = 2011, month = 1, day = 31 }, tenten.date(20110131))
    assert.are.same({ year = 2000, month = 2, day = 29 }, tenten.date(20000229.0))
    assert.are.same({ year = 1990, month = 12, day = 3 }, tenten.date("19901203"))
    assert.are.same({ year = 1990, month = 12, day = 3 }, tenten.date("1990-12-03"))
    local dt = { year = 2011, month = 6, day = 1, hour = 13, min = 5, sec = 9 }
    assert.are.same(dt, tenten.date(20110601130509))
    assert.are.same(dt, tenten.date("2011-06-01T13:05:09"))
    assert.are.same(dt, tenten.date("2011-06-01 13:05:09"))
    local noon = tenten.date(20110131)
    noon.hour = 12
    assert.are.equal(os.time { year = 2011, month = 1, day = 31, hour = 12 }, os.time(noon))
    assert.is_nil(tenten.date(tenten.NA))
    for _, bad in ipairs { 20110230, 19000229, 2011013, 0, -20110101, 20110101.5, 20111301000000, 20110101240000,
      "2011-02-30", "2011-1-31", "20110131x", "2011-01-31T25:00:00", "", {}, true } do
      local msg = failure(tenten.date, bad)
      assert.matches("tenten.date: .* is not a date %(YYYYMMDD or YYYYMMDDHHMMSS", msg)
    end
    assert.matches('tenten.date: "2011-02-30" is not a date', failure(tenten.date, "2011-02-30"), 1, true)
    assert.matches("tenten.date: 20110230 is not a date", failure(tenten.date, 20110230), 1, true)
    assert.matches("tenten.date: a table is not a date", failure(tenten.date, {}), 1, true)
  end)
end)

describe("files of a query result", function()
  local g, dir, db

  setup(function()
    dir = gateway.tmpdir()
    db = gateway.demo_db(dir, 0.01) -- 500 items, 26,280 hourly rows
    assert.are.equal(0, gateway.import(db, "test.fmt", CSV, dir))
    g = gateway.start { dir = dir, db = db }
  end)

  teardown(function()
    if g then g:stop() end
    gateway.cleanup(dir)
  end)

  local function session(url, opts)
    return tenten.Session(url or g.url, "plain1", "secret4", tenten.KILL, opts)
  end

  -- The files of dir whose names match a pattern, sorted.
  local function listing(pattern)
    local names = {}
    for name in gateway.run("ls -a " .. q(dir)):gmatch("[^\n]+") do
      if name:match(pattern) then names[#names + 1] = name end
    end
    table.sort(names)
    return names
  end

  local function gunzip(path)
    local out, rc = gateway.run("gzip -dc " .. q(path))
    assert.are.equal(0, rc, "gzip -dc " .. path)
    return out
  end

  local function write_all(ops, opts)
    local s <close> = session()
    local query = s:query("test.fmt", ops)
    local out = {}
    for _, ext in ipairs { "csv", "tsv", "jsonl", "json" } do
      local path = dir .. "/r." .. ext
      out[ext] = { rows = query:write(path, opts and opts[ext]), text = gateway.readfile(path) }
      os.remove(path)
    end
    return out
  end

  it("an empty result: the header line in TSV and CSV, nothing in JSON lines, [] in JSON", function()
    local out = write_all('<sel value="id<0"/>')
    assert.are.equal(0, out.csv.rows)
    assert.are.equal("id,name,score\r\n", out.csv.text)
    assert.are.equal("id\tname\tscore\n", out.tsv.text)
    assert.are.equal("", out.jsonl.text)
    assert.are.equal("[]\n", out.json.text)
    assert.are.same({}, json.decode(out.json.text))
  end)

  it("a result with rows: the header once, then the rows; JSON as lines or as one array", function()
    local out = write_all("")
    assert.are.equal(3, out.csv.rows)
    assert.are.equal('id,name,score\r\n1,alpha,1.5\r\n2,"b,eta",2\r\n3,,\r\n', out.csv.text)
    assert.are.equal("id\tname\tscore\n1\talpha\t1.5\n2\tb,eta\t2\n3\t\t\n", out.tsv.text)
    local lines = '{"id":1,"name":"alpha","score":1.5}\n{"id":2,"name":"b,eta","score":2}\n' ..
      '{"id":3,"name":null,"score":null}\n'
    assert.are.equal(lines, out.jsonl.text)
    assert.are.equal("[\n" .. lines:gsub("}\n{", "},\n{"):gsub("\n$", "") .. "\n]\n", out.json.text)
  end)

  it("CSV options: sep, header, na; TSV takes header and na", function()
    local out = write_all("", {
      csv = { sep = ";", header = false, na = "NA" },
      tsv = { na = "\\N", header = true },
      jsonl = { dates = "iso" },
      json = "json",
    })
    assert.are.equal('1;alpha;1.5\r\n2;b,eta;2\r\n3;NA;NA\r\n', out.csv.text)
    assert.are.equal("id\tname\tscore\n1\talpha\t1.5\n2\tb,eta\t2\n3\t\\\\N\t\\\\N\n", out.tsv.text)
    out = write_all('<sel value="id<0"/>', { csv = { sep = "|" }, tsv = { header = false } })
    assert.are.equal("id|name|score\r\n", out.csv.text)
    assert.are.equal("", out.tsv.text)
    out = write_all("", { csv = { sep = "\t", na = "N,A" } })
    assert.are.equal('id\tname\tscore\r\n1\talpha\t1.5\r\n2\tb,eta\t2\r\n3\tN,A\tN,A\r\n', out.csv.text)
  end)

  it("bad options are refused before anything is asked, naming the option", function()
    local s <close> = session()
    local query = s:query("test.fmt", "")
    for _, case in ipairs {
      { "x.csv", { sep = ";;" }, "Query:write: option 'sep' must be one byte" },
      { "x.tsv", { sep = "," }, "Query:write: option 'sep' applies to csv files only" },
      { "x.json", { na = "NA" }, "Query:write: option 'na' applies to tsv or csv files only" },
      { "x.csv", { dates = true }, "Query:write: option 'dates' must be" },
      { "x.csv", { delimiter = ";" }, "Query:write: unknown option 'delimiter'" },
      { "x.csv", 7, "Query:write: argument 'format' must be a format name or a table of options" },
    } do
      local msg = failure(function()
        local rows = query:write(dir .. "/" .. case[1], case[2]) -- not a tail call: the line is kept
        return rows
      end)
      assert.matches(case[3], msg, 1, true)
      assert.matches("formats_spec.lua:%d+:", msg) -- raised at the caller's line
    end
    assert.is_nil(query.nrows) -- refused before the query ran
    assert.are.same({}, listing("^x%."))
  end)

  it("JSON over many pages: one array a JSON reader takes, the rows of the JSON lines", function()
    local s <close> = session()
    local query = s:query(ITEM, "")
    query.page_rows = 64 -- 8 pages
    local rows = query:write(dir .. "/item.json")
    assert.are.equal(500, rows)
    local text = gateway.readfile(dir .. "/item.json")
    assert.are.equal("[\n", text:sub(1, 2))
    assert.are.equal("\n]\n", text:sub(-3))
    local arr = assert(json.decode(text))
    assert.are.equal(json.array_mt, getmetatable(arr))
    assert.are.equal(500, #arr)
    assert.are.equal(500, (query:write(dir .. "/item.jsonl")))
    local n = 0
    for line in io.lines(dir .. "/item.jsonl") do
      n = n + 1
      assert.are.same(arr[n], json.decode(line))
    end
    assert.are.equal(500, n)
    -- each row an object keyed by the columns, in the query's column order
    local first = text:match("^%[\n(%b{})")
    local keys = {}
    for k in first:gmatch('"(%w+)":') do keys[#keys + 1] = k end
    local names = {}
    for i, c in ipairs(query.columns) do names[i] = c.name end
    assert.are.same(names, keys)
    os.remove(dir .. "/item.json")
    os.remove(dir .. "/item.jsonl")
  end)

  it("gzip: each format's .gz decompresses to exactly the plain file's bytes", function()
    local s <close> = session()
    local query = s:query(ITEM, '<sel value="store<=2"/>')
    query.page_rows = 100
    for _, ext in ipairs { "csv", "tsv", "txt", "jsonl", "ndjson", "json" } do
      local plain, gz = dir .. "/g." .. ext, dir .. "/g." .. ext .. ".gz"
      local rows, bytes = query:write(plain)
      local zrows, zbytes = query:write(gz)
      assert.are.equal(rows, zrows)
      local z = gateway.readfile(gz)
      assert.are.equal(#z, zbytes) -- the bytes reported are the file's, compressed
      assert.are.equal("\31\139", z:sub(1, 2))
      assert.is_true(zbytes < bytes / 2, ext .. ": " .. zbytes .. " of " .. bytes)
      assert.are.equal(gateway.readfile(plain), gunzip(gz))
      local _, rc = gateway.run("gzip -t " .. q(gz))
      assert.are.equal(0, rc)
      os.remove(plain)
      os.remove(gz)
    end
    -- the level: 1 is fastest, 9 smallest, the bytes inside the same
    local r1, b1 = query:write(dir .. "/l1.csv.gz", { compress_level = 1 })
    local r9, b9 = query:write(dir .. "/l9.csv.gz", { compress_level = 9 })
    assert.are.equal(r1, r9)
    assert.is_true(b9 < b1, b9 .. " < " .. b1)
    assert.are.equal(gunzip(dir .. "/l1.csv.gz"), gunzip(dir .. "/l9.csv.gz"))
    os.remove(dir .. "/l1.csv.gz")
    os.remove(dir .. "/l9.csv.gz")
    -- compress = "gzip" for a path without the suffix, with the other options
    local rows = query:write(dir .. "/g.dat", { format = "csv", compress = "gzip", sep = ";", dates = "iso" })
    local text = gunzip(dir .. "/g.dat")
    assert.are.equal(rows + 1, select(2, text:gsub("\r\n", "")))
    assert.matches("^date;", text)
    assert.matches("\r\n%d%d%d%d%-%d%d%-%d%d;", text)
    -- an empty result: a whole gzip file of what the plain file holds
    query = s:query(ITEM, '<sel value="store<0"/>')
    assert.are.equal(0, (query:write(dir .. "/e.csv.gz")))
    assert.are.equal("date,transid,sku,store,account,sales,cost\r\n", gunzip(dir .. "/e.csv.gz"))
    assert.are.equal(0, (query:write(dir .. "/e.json.gz")))
    assert.are.equal("[]\n", gunzip(dir .. "/e.json.gz"))
    assert.are.same({ "e.csv.gz", "e.json.gz", "g.dat" }, listing("^[eg]%."))
    os.remove(dir .. "/g.dat")
    os.remove(dir .. "/e.csv.gz")
    os.remove(dir .. "/e.json.gz")
  end)

  it("a reply cut in the middle of a gzip write leaves no file and no .part", function()
    local fx = fixture.start { upstream = g.base, rules = { "api=getdata,nth=3,do=truncate:300" } }
    local ok, err = pcall(function()
      local s <close> = session(fx.gw, { retries = 0 })
      local query = s:query(HOURLY, "")
      query.page_rows = 2000
      return query:write(dir .. "/cut.csv.gz")
    end)
    assert.are.equal(0, fx:stop())
    assert.is_false(ok)
    assert.is_true(tenten.is_error(err), tostring(err))
    assert.are.equal("getdata", err.api)
    assert.are.same({}, listing("^cut"))
  end)

  it("dates = \"iso\": date, time and datetime columns as ISO 8601; raw by default", function()
    local s <close> = session()
    local query = s:query(ITEM, '<colord cols="date,transid,sales"/>')
    query.page_rows = 128
    assert.are.equal(500, (query:write(dir .. "/raw.csv")))
    assert.are.equal(500, (query:write(dir .. "/iso.csv", { dates = "iso" })))
    local raw, iso = {}, {}
    for line in io.lines(dir .. "/raw.csv") do raw[#raw + 1] = line end
    for line in io.lines(dir .. "/iso.csv") do iso[#iso + 1] = line end
    assert.are.equal(501, #iso)
    assert.are.equal(raw[1], iso[1]) -- the header
    for i = 2, #raw do
      local d, rest = raw[i]:match("^(%d+)(,.*)$")
      local t = tenten.date(tonumber(d))
      assert.are.equal(string.format("%04d-%02d-%02d", t.year, t.month, t.day) .. rest, iso[i])
      assert.are.same(t, tenten.date(iso[i]:match("^[^,]+")))
    end
    -- times and datetimes: columns made with those formats (the gateway keeps a willbe's format)
    query = s:query(HOURLY, '<sel value="hour=13"/><willbe name="t" value="hour*10000+502" format="type:time"/>' ..
      '<willbe name="dt" value="date*1000000+hour*10000+502" format="type:datetime"/>' ..
      '<willbe name="d4" value="date" format="date4y"/><colord cols="date,hour,t,dt,d4"/>')
    query:write(dir .. "/t.jsonl", { dates = "iso" })
    query:write(dir .. "/t.json")
    local first = json.decode(io.lines(dir .. "/t.jsonl")())
    assert.are.same({ date = "1990-01-01", hour = 13, t = "13:05:02", dt = "1990-01-01T13:05:02", d4 = "1990-01-01" },
      first)
    local rawrow = json.decode(gateway.readfile(dir .. "/t.json"))[1]
    assert.are.same({ date = 19900101, hour = 13, t = 130502, dt = 19900101130502, d4 = 19900101 }, rawrow)
    assert.are.same(tenten.date(first.dt), tenten.date(rawrow.dt))
    for _, f in ipairs { "raw.csv", "iso.csv", "t.jsonl", "t.json" } do os.remove(dir .. "/" .. f) end
  end)

  it("pool:pull jobs take the options; a bad one names the job and the option", function()
    local pool = tenten.pool { gateway = g.url, owner = "owner1", password = "secret1", group = "pool1", size = 2 }
    local res = pool:pull({
      { table = "test.fmt", out = dir .. "/p1.csv.gz", sep = ";", na = "NA", header = false },
      { table = ITEM, ops = '<sel value="store=1"/><colord cols="date,sku"/>', out = dir .. "/p2.json",
        dates = "iso" },
    }, { progress = false })
    assert.is_nil(res[1].error, tostring(res[1].error))
    assert.is_nil(res[2].error, tostring(res[2].error))
    assert.are.equal("1;alpha;1.5\r\n2;b,eta;2\r\n3;NA;NA\r\n", gunzip(dir .. "/p1.csv.gz"))
    local arr = json.decode(gateway.readfile(dir .. "/p2.json"))
    assert.are.equal(res[2].rows, #arr)
    assert.matches("^%d%d%d%d%-%d%d%-%d%d$", arr[1].date)
    local msg = failure(pool.pull, pool, { { table = ITEM, out = dir .. "/p3.csv" },
      { table = ITEM, out = dir .. "/p4.tsv", sep = ";" } }, { progress = false })
    assert.matches("jobs[2] 'sep' applies to csv files only, not to tsv", msg, 1, true)
    assert.are.same({}, listing("^p[34]"))
    os.remove(dir .. "/p1.csv.gz")
    os.remove(dir .. "/p2.json")
  end)

  it("tt-pull, run as a user runs it: the flags reach the file", function()
    local out, rc = gateway.run(gateway.tt_pull_command(dir, g.url, "--table test.fmt --out cli.csv.gz " ..
      "--sep ';' --no-header --na NA --compress-level 9 --summary none --progress never") .. " 2>&1")
    assert.are.equal(0, rc, out)
    assert.are.equal("1;alpha;1.5\r\n2;b,eta;2\r\n3;NA;NA\r\n", gunzip(dir .. "/cli.csv.gz"))
    os.remove(dir .. "/cli.csv.gz")
    out, rc = gateway.run(gateway.tt_pull_command(dir, g.url, "--table test.fmt --out cli.csv --sep ';' " ..
      "--no-header --na NA --dates iso --compress gzip --compress-level 9 --dry-run") .. " 2>&1")
    assert.are.equal(0, rc, out)
    assert.matches("  options  sep ';', no header, na 'NA', dates iso, gzip level 9\n", out, 1, true)
  end)

  it("tt-pull: --sep, --no-header, --na, --dates, --compress for every job; fields of a jobs file win", function()
    local opts = pullcli.parse { "--table", "t", "--out", "x.csv", "--sep", ";", "--no-header", "--na", "NA",
      "--dates", "iso", "--compress=gzip", "--compress-level", "1" }
    assert.are.same({ sep = ";", header = false, na = "NA", dates = "iso", compress = "gzip", compress_level = 1 },
      opts.write)
    local jobs = pullcli.check_jobs({ { table = "a", out = "a.csv" }, { table = "b", out = "b.csv", sep = "|",
      header = true } }, "jobs.lua", opts.write)
    assert.are.equal(";", jobs[1].sep)
    assert.are.equal("|", jobs[2].sep)
    assert.is_false(jobs[1].header)
    assert.is_true(jobs[2].header)
    assert.are.equal("iso", jobs[2].dates)
    for args, says in pairs {
      ["--dates us"] = "--dates wants one of iso, raw (got us)",
      ["--compress zip"] = "--compress wants one of gzip, none (got zip)",
      ["--compress-level 10"] = "--compress-level wants a whole number from 1 to 9 (got 10)",
      ["--compress-level 3"] = "option 'compress_level' applies to compressed files only",
      ["--sep ';;'"] = "the command line: job 1 (x.csv): option 'sep' must be one byte",
      ["--format tsv --sep ';'"] = "option 'sep' applies to csv files only, not to tsv",
      ["--out y.jsonl --na NA"] = "job 1 (y.jsonl): option 'na' applies to tsv or csv files only",
    } do
      local list = { "--table", "t" }
      local out = "x.csv"
      for w in args:gsub("'", ""):gmatch("%S+") do list[#list + 1] = w end
      for i, w in ipairs(list) do
        if w == "--out" then out = list[i + 1] end
      end
      if out == "x.csv" then
        list[#list + 1] = "--out"
        list[#list + 1] = "x.csv"
      end
      local msg = failure(function()
        local o = pullcli.parse(list)
        pullcli.check_jobs({ o.job }, "the command line", o.write)
      end)
      assert.matches(says, msg, 1, true)
    end
  end)
end)
