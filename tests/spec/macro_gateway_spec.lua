-- Every data-driven macro case (tests/macro/cases_*.lua) run through a real tt-gateway:
-- import the case tables, query, page the result out over HTTP, compare typed values.
local gateway = require "gateway"

local source = os.getenv("TT_SOURCE_DIR") or "."

local function case_files()
  local out = gateway.run("ls " .. gateway.q(source .. "/tests/macro") .. "/cases_*.lua 2>/dev/null")
  local files = {}
  for f in out:gmatch("[^\n]+") do files[#files + 1] = f end
  return files
end

local function csv_field(v)
  if v == "NA" or v == nil then return "" end
  local s = tostring(v)
  if math.type(v) == "float" then s = string.format("%.17g", v) end
  if s:find('[,"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function to_csv(t)
  local lines = { table.concat(t.cols, ",") }
  for _, row in ipairs(t.rows) do
    local cells = {}
    for i = 1, #t.cols do cells[i] = csv_field(row[i]) end
    lines[#lines + 1] = table.concat(cells, ",")
  end
  return table.concat(lines, "\n") .. "\n"
end

-- Compare one cell: expected is a Lua value or "NA"; got is the <td> text (false for N/A).
local function same(expected, got, ctype)
  if expected == "NA" then return got == false end
  if got == false then return false end
  if type(expected) == "number" then
    local n = tonumber(got)
    if not n then return false end
    if math.type(expected) == "integer" and ctype ~= "f" then return n == expected end
    return math.abs(n - expected) <= 1e-9 * math.max(1, math.abs(expected))
  end
  return tostring(expected) == got
end

for _, file in ipairs(case_files()) do
  local spec = dofile(file)
  describe("macro cases of " .. file:match("[^/]+$") .. " through tt-gateway", function()
    local g, s

    setup(function()
      local dir = gateway.tmpdir()
      local db = dir .. "/cases.db"
      for name, t in pairs(spec.tables) do
        local rc, out = gateway.import(db, name, to_csv(t), dir)
        assert(rc == 0, "import of " .. name .. " failed: " .. out)
      end
      g = gateway.start { dir = dir, db = db }
      s = g:login("owner1", "secret1")
    end)

    teardown(function()
      if g then g:stop() end
    end)

    for _, c in ipairs(spec.cases) do
      it(c.name, function()
        -- Ops travel as raw elements, as clients of the platform send them.
        local rows, names, r = g:pull(s, c.table, c.ops, 500)
        if not rows then r = names end
        if c.error and c.error.match and c.error.match:find("^malformed XML") then
          -- Not well-formed, the macro cannot travel as elements: the body is malformed
          -- (rc 2), or stray text in <ops> is refused (rc 10). The compiler's own message for
          -- it is checked by macro_compile_spec.
          assert.is_nil(rows, "expected an error, got a result")
          if r.rc == 10 then
            assert.matches("must be XML elements", r.msg)
          else
            assert.are.equal(2, r.rc, r.msg)
            assert.matches("^XML error", r.msg)
          end
          return
        end
        if c.error then
          assert.is_nil(rows, "expected an error, got a result")
          assert.are.equal(c.error.code, r.rc, r.msg)
          if c.error.match then
            assert.is_truthy(r.msg:find(c.error.match, 1, true),
              "message '" .. tostring(r.msg) .. "' lacks '" .. c.error.match .. "'")
          end
          return
        end
        assert.is_table(rows, r and r.msg)
        assert.are.same(c.cols, names)
        local types = {}
        for i, th in ipairs(r.root:child("table"):child("cols"):all("th")) do types[i] = th.attrs.type end
        if c.types then assert.are.same(c.types, types) end
        assert.are.equal(#c.rows, #rows, "row count")
        for i, want in ipairs(c.rows) do
          for j = 1, #c.cols do
            assert(same(want[j], rows[i][j], types[j]), string.format("row %d column %s: expected %s, got %s",
              i, c.cols[j], tostring(want[j]), tostring(rows[i][j])))
          end
        end
      end)
    end
  end)
end
