-- Two tables pulled at once, each through its own pool session: the platform's own SAM example,
-- written with tenten. Credentials come from the environment:
--   TT_GATEWAY=http://127.0.0.1:8010/ TT_USER=owner1 TT_PASSWORD=... TT_GROUP=pool1 \
--     tt-lua scripts/examples/sam_two_tables.lua [OUTDIR]
local tenten = require "tenten"

local outdir = arg[1] or "."
local pulls = {
  { table = "pub.demo.weather.stations", out = outdir .. "/stations.csv" },
  { table = "pub.demo.retail.item", out = outdir .. "/item.csv" },
}

local tasks = {}
for i, p in ipairs(pulls) do
  tasks[i] = tenten.spawn(function()
    -- group given: the session takes a member ID of the pool and gives it back on close
    local s <close> = tenten.Session(os.getenv("TT_GATEWAY"), os.getenv("TT_USER"), os.getenv("TT_PASSWORD"),
      tenten.POSSESS, os.getenv("TT_GROUP"))
    local rows = s:query(p.table, ""):write(p.out)
    return rows, s.username
  end)
end

for i, t in ipairs(tasks) do
  local ok, rows, uid = t:wait()
  if not ok then error(rows, 0) end
  print(string.format("%-28s %8d rows -> %s (as %s)", pulls[i].table, rows, pulls[i].out, uid))
end
