-- Twelve queries pulled in parallel through a SAM pool: one file per month of hourly weather.
-- Jobs run at once up to the pool's size; the progress display goes to stderr.
--   TT_GATEWAY=... TT_USER=... TT_PASSWORD=... TT_GROUP=... tt-lua scripts/examples/parallel_pull.lua [OUTDIR]
local tenten = require "tenten"

local outdir = arg[1] or "."
local pool = tenten.pool { size = tonumber(os.getenv("TT_POOL_SIZE") or "4") }

local jobs = {}
for month = 1, 12 do
  jobs[month] = {
    table = "pub.demo.weather.hourly90",
    ops = '<sel value="month(date)=' .. month .. '"/>',
    out = string.format("%s/hourly90-1990-%02d.csv", outdir, month),
  }
end

local summaries = pool:pull(jobs, { summary = true })
local failed = 0
for _, s in ipairs(summaries) do
  if s.error then failed = failed + 1 end
end
os.exit(failed == 0 and 0 or 1)
