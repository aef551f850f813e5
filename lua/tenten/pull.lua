-- Declarative pulls: a list of jobs, each on its own pooled session, rows streamed straight to
-- its file. A file appears only when its job succeeded: q:write puts rows under a temporary
-- name in the same folder, renamed at the end, so a failed or cancelled job leaves nothing.
local api = require "tenten.api"
local core = require "tenten.core"
local errors = require "tenten.errors"
local formats = require "tenten.formats"
local progress = require "tenten.progress"
local sched = require "tenten.sched"

local M = {}

local function check_job(i, job, fname)
  local where = "jobs[" .. i .. "]"
  if type(job) == "function" then return { fn = job, name = "function job " .. i } end
  if type(job) ~= "table" then errors.arg(fname, where, "a table or a function", job, 4) end
  if job.fn ~= nil then
    if type(job.fn) ~= "function" then errors.arg(fname, where .. ".fn", "a function", job.fn, 4) end
    return { fn = job.fn, name = job.name or ("function job " .. i) }
  end
  if type(job.table) ~= "string" then errors.arg(fname, where .. ".table", "a string", job.table, 4) end
  if type(job.out) ~= "string" then errors.arg(fname, where .. ".out", "a path", job.out, 4) end
  if job.ops ~= nil and type(job.ops) ~= "string" then errors.arg(fname, where .. ".ops", "a string", job.ops, 4) end
  local cols = job.columns
  if type(cols) == "table" then cols = table.concat(cols, ",") end
  if cols ~= nil and type(cols) ~= "string" then
    errors.arg(fname, where .. ".columns", "a list of names", job.columns, 4)
  end
  local ops = job.ops or ""
  if cols then ops = ops .. '<colord cols="' .. core.xmlescape(cols) .. '"/>' end
  return {
    table = job.table, ops = ops, out = job.out, name = job.name or job.out,
    format = formats.of(job.out, job.format, fname),
    write = formats.pick(job.out, job, fname, where, 4), -- sep, header, na, dates, compress
  }
end

-- Run one job on a pooled session; fills its summary; raises its error. The job's error is
-- the first one: a release that fails afterwards never replaces it, and a release that fails
-- after a complete file leaves the job ok, with the failure in sum.release_error.
local function run_job(pool, job, sum, display, opts)
  local t0 = core.now()
  local s
  -- Also runs when the task is cancelled (fail_fast, Ctrl-C): the ID goes back, and q:write's
  -- own guard has removed its .part file before this runs.
  local _cleanup <close> = setmetatable({}, { __close = function() -- luacheck: ignore 211
    if s and not s:closed() then pcall(s.close, s) end
    sum.seconds = core.now() - t0
  end })
  local ok, err = pcall(function()
    s = pool:session()
    t0 = core.now() -- a job's time is its work, not its wait for an ID
    sum.uid = s.username
    display:start(sum.job)
    if job.fn then
      local rows, bytes = job.fn(s)
      sum.rows, sum.bytes = tonumber(rows) or 0, tonumber(bytes) or 0
      return
    end
    local q = s:query(job.table, job.ops)
    q.page_rows, q.pages = opts.page_rows, opts.pages
    display:track(sum.job, q) -- its page in flight moves the display between pages
    -- q:write writes out.part-N and renames it only when complete; it runs the query too, its
    -- first page coming with it (querydata)
    sum.rows, sum.bytes = q:write(job.out, job.write, function(rows, bytes)
      sum.rows, sum.bytes = rows, bytes
      display:update()
    end)
    sum.total = q.nrows -- known now even when the query did not state it
  end)
  if s then
    local closed, cerr = pcall(s.close, s)
    if not closed then sum.release_error = cerr end
  end
  if not ok then
    sum.error = err
    display:finish_job(sum.job, true)
    error(err, 0)
  end
  sum.done = true
  display:finish_job(sum.job, false)
end

-- The folder a path is in.
local function folder(path)
  local d = path:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  return d == "" and "/" or d
end

-- Before any ID is taken: every job's folder must exist and take a new file (the .part files
-- are made there). Raises E_IO naming the job and the path.
local function check_folders(jobs)
  local seen = {}
  for i, job in ipairs(jobs) do
    local d = job.out and folder(job.out)
    if d and not seen[d] then
      seen[d] = true
      local probe = string.format("%s/.tt-pull-probe-%x", d, math.random(0, 0x7fffffff))
      local f, why = io.open(probe, "wb")
      if not f then
        errors.raise(errors.E_IO, string.format("jobs[%d] (%s): cannot write in the folder of %s: %s", i,
          job.name, job.out, tostring(why)), "pull", nil, 4)
      end
      f:close()
      os.remove(probe)
    end
  end
end

-- After a signal: every job that did not finish gets an E_INTERRUPTED error (its file was
-- removed: a job's file exists only when complete), the display's last line says so, and the
-- table of the jobs goes to stderr unless summary = false. Returns the pull's E_INTERRUPTED.
local function interrupted(summaries, display, opts)
  local ok = 0
  for _, sum in ipairs(summaries) do
    if sum.done then
      ok = ok + 1
    elseif not sum.error or (errors.is_error(sum.error) and sum.error.code == errors.E_CANCELLED) then
      sum.error = errors.new(errors.E_INTERRUPTED, sum.uid and "interrupted before it finished; no file written"
        or "interrupted before it started", "pull", sum.uid)
    end
  end
  display:finish("interrupted")
  if opts.summary ~= false then io.stderr:write(M.format_summary(summaries)) end
  return errors.new(errors.E_INTERRUPTED, string.format("interrupted by a signal: %d of %d jobs finished", ok,
    #summaries), "pull")
end

-- pool:pull(jobs [, opts]) -> summaries, one per job in job order:
-- { job, name, table, out, rows, bytes, seconds, uid, total, error, release_error }.
function M.pull(pool, jobs, opts, fname)
  fname = fname or "pool:pull"
  if type(jobs) ~= "table" then errors.arg(fname, "jobs", "a list of jobs", jobs, 3) end
  opts = opts or {}
  if type(opts) ~= "table" then errors.arg(fname, "opts", "a table", opts, 3) end
  local checked = {}
  for i, job in ipairs(jobs) do checked[i] = check_job(i, job, fname) end
  check_folders(checked)
  local summaries = {}
  for i, job in ipairs(checked) do
    summaries[i] = { job = i, name = job.name, table = job.table, out = job.out, rows = 0, bytes = 0 }
  end
  local concurrency = opts.concurrency or (pool.size ~= math.huge and pool.size) or #checked
  local interval = opts.progress_interval
  if interval ~= nil and (type(interval) ~= "number" or interval ~= interval or interval <= 0) then
    errors.arg(fname, "opts.progress_interval", "a number of seconds > 0", interval, 3)
  end
  -- nil: each query asks for what its pool's connection says (tenten.pool's `pages`)
  if opts.pages ~= nil then api.pages(fname, "opts.pages", opts.pages, 3) end
  local display = progress.new(checked, summaries, opts.progress, { interval = interval })
  local ended = false
  -- A signal cancels the task running this pull (tenten.run, tt-lua) before it can return:
  -- then this says what finished, and the E_INTERRUPTED it raises, which tenten.run passes on,
  -- carries the summaries. Any other way out just stops the display's timer.
  local _interrupted <close> = setmetatable({}, { __close = function() -- luacheck: ignore 211
    if ended then return end
    display:stop()
    if core.interrupted() == 0 then return end
    local e = interrupted(summaries, display, opts)
    e.summaries = summaries
    error(e, 0)
  end })
  local indices = {}
  for i = 1, #checked do indices[i] = i end
  local _, errs = sched.parallel(indices, function(i)
    return run_job(pool, checked[i], summaries[i], display, opts)
  end, { concurrency = concurrency, fail_fast = opts.fail_fast })
  ended = true
  for _, e in ipairs(errs or {}) do
    summaries[e.index].error = summaries[e.index].error or e.error
  end
  if core.interrupted() > 0 then
    -- outside tenten.run (a sequential script under stock Lua) the pull itself survives the
    -- signal: it hands the summaries back, the unfinished jobs marked
    interrupted(summaries, display, opts)
    return summaries
  end
  for _, sum in ipairs(summaries) do
    if not sum.done and not sum.error then
      -- fail_fast stopped the queue before this job started
      sum.error = errors.new(errors.E_CANCELLED, "not run: another job failed (fail_fast)", "pull")
    end
  end
  display:finish()
  if opts.summary then io.stderr:write(M.format_summary(summaries)) end
  return summaries
end

-- A short table of the summaries, one line per job.
function M.format_summary(summaries)
  local lines = {
    string.format("%-4s %-36s %-12s %12s %10s %8s  %s", "job", "name", "id", "rows", "MB", "s", "result"),
  }
  for _, s in ipairs(summaries) do
    lines[#lines + 1] = string.format("%-4d %-36.36s %-12.12s %12s %10.2f %8.2f  %s", s.job, s.name or "",
      s.uid or "-", progress.thousands(s.rows or 0), (s.bytes or 0) / 1e6, s.seconds or 0,
      s.error and tostring(s.error) or
        (s.release_error and "ok; the release failed: " .. tostring(s.release_error) or "ok"))
  end
  return table.concat(lines, "\n") .. "\n"
end

return M
