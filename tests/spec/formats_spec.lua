-- Output formats (issue 11, item 8): one table maps names and extensions to formats
-- (lua/tenten/formats.lua), and the C writer alone writes what each format's file holds,
-- header included, for a result with rows and for an empty one.
local gateway = require "gateway"
local formats = require "tenten.formats"
local tenten = require "tenten"

local CSV = "id:i,name:a,score:f\n1,alpha,1.5\n2,\"b,eta\",2\n"

describe("formats", function()
  it("maps names and extensions, the format argument first", function()
    assert.are.equal("tsv", formats.of("x.tsv"))
    assert.are.equal("tsv", formats.of("x.txt"))
    assert.are.equal("csv", formats.of("out/x.csv"))
    assert.are.equal("jsonl", formats.of("x.json"))
    assert.are.equal("jsonl", formats.of("x.ndjson"))
    assert.are.equal("csv", formats.of("x.tsv", "csv"))
    assert.are.equal("jsonl", formats.of(io.stdout, "jsonl"))
    for name, w in pairs(formats.NAMES) do
      local listed = false
      for _, l in ipairs(formats.LIST) do listed = listed or l == w end
      assert.is_true(listed, name .. " maps to a format the list does not name")
    end
  end)

  it("refuses an unknown one, naming every format", function()
    local ok, err = pcall(formats.of, "x.parquet", nil, "Query:write")
    assert.is_false(ok)
    assert.matches("Query:write: argument 'format' must be tsv, csv or jsonl", err)
    assert.is_false((pcall(formats.of, "x.csv", "xml", "f")))
  end)
end)

describe("files of a query result", function()
  local g, dir

  setup(function()
    dir = gateway.tmpdir()
    local db = dir .. "/t.db"
    assert.are.equal(0, gateway.import(db, "test.fmt", CSV, dir))
    g = gateway.start { dir = dir, db = db }
  end)

  teardown(function()
    if g then g:stop() end
    gateway.cleanup(dir)
  end)

  local function write_all(ops)
    local s <close> = tenten.Session(g.url, "plain1", "secret4", tenten.KILL)
    local q = s:query("test.fmt", ops)
    local out = {}
    for _, ext in ipairs { "csv", "tsv", "jsonl" } do
      local path = dir .. "/r." .. ext
      out[ext] = { rows = q:write(path), text = gateway.readfile(path) }
    end
    return out
  end

  it("an empty result: the header line in TSV and CSV, an empty file in JSON lines", function()
    local out = write_all('<sel value="id<0"/>')
    assert.are.equal(0, out.csv.rows)
    assert.are.equal("id,name,score\r\n", out.csv.text)
    assert.are.equal("id\tname\tscore\n", out.tsv.text)
    assert.are.equal("", out.jsonl.text)
  end)

  it("a result with rows: the header once, then the rows", function()
    local out = write_all("")
    assert.are.equal(2, out.csv.rows)
    assert.are.equal('id,name,score\r\n1,alpha,1.5\r\n2,"b,eta",2\r\n', out.csv.text)
    assert.are.equal("id\tname\tscore\n1\talpha\t1.5\n2\tb,eta\t2\n", out.tsv.text)
    assert.are.equal('{"id":1,"name":"alpha","score":1.5}\n{"id":2,"name":"b,eta","score":2}\n', out.jsonl.text)
  end)
end)
