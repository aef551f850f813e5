-- client_formats: the table of bench_formats.sh. One whole pub.demo.weather.hourly90 written by
-- q:write to a file in OUTDIR in each format and option set, on one pooled session; every line
-- RUNS times, the lines taking turns, best shown.
--
-- usage: tt-lua client_formats.lua RUNS EXPECTED_ROWS OUTDIR
-- The gateway and credentials come from TT_GATEWAY, TT_USER, TT_PASSWORD and TT_GROUP.
-- seconds: the whole write (every getdata, the writer, the close and rename); CPU: this
-- process's CPU seconds over the write (os.clock), the reply parser included. Raises unless
-- EXPECTED_ROWS came each time.
local tenten = require "tenten"

local TABLE = "pub.demo.weather.hourly90"
local runs, expected, outdir = tonumber(arg[1]), tonumber(arg[2]), arg[3]
if not (runs and expected and outdir) then
  error("usage: client_formats.lua RUNS EXPECTED_ROWS OUTDIR", 0)
end

local LINES = {
  { "csv", "t.csv" },
  { "csv, dates iso", "t.csv", { dates = "iso" } },
  { "csv, sep ; na NA", "t.csv", { sep = ";", na = "NA" } },
  { "tsv", "t.tsv" },
  { "jsonl", "t.jsonl" },
  { "json (array)", "t.json" },
  { "csv.gz", "t.csv.gz" },
  { "csv.gz, level 1", "t.csv.gz", { compress_level = 1 } },
  { "tsv.gz", "t.tsv.gz" },
  { "jsonl.gz", "t.jsonl.gz" },
  { "json.gz", "t.json.gz" },
}

local pool = tenten.pool { size = 1 }
local s <close> = pool:session()
local q = s:query(TABLE)
q:run()
local best, cpu, size = {}, {}, {}
for _ = 1, runs do
  for i, line in ipairs(LINES) do
    local path = outdir .. "/" .. line[2]
    local c0, t0 = os.clock(), tenten.now()
    local rows, bytes = q:write(path, line[3])
    local t, c = tenten.now() - t0, os.clock() - c0
    if rows ~= expected then error(string.format("%s: %d rows, not %d", line[1], rows, expected), 0) end
    best[i] = math.min(best[i] or math.huge, t)
    cpu[i] = math.min(cpu[i] or math.huge, c)
    size[i] = bytes
    os.remove(path)
  end
end
print(string.format("%-18s | %9s | %8s | %7s | %8s | %7s | %s", "file", "rows", "MB", "ratio", "seconds",
  "vs csv", "CPU s"))
for i, line in ipairs(LINES) do
  print(string.format("%-18s | %9d | %8.2f | %6.1f%% | %8.3f | %+6.1f%% | %.3f", line[1], expected, size[i] / 1e6,
    100 * size[i] / size[1], best[i], 100 * (best[i] / best[1] - 1), cpu[i]))
end
