-- Progress of a pull (or of one q:write) on stderr.
--
-- On a terminal, a live display: one overall line and one line per running job, redrawn every
-- REDRAW seconds by a timer, each line cut to the terminal's width (never wrapped: a wrapped
-- line is one the next redraw does not know to clear). Off a terminal (cron, a log file), one
-- plain line every `interval` seconds (INTERVAL by default) so a long pull shows life, and a
-- final line. Nothing when turned off.
--
-- Rows move within a page, not once per page: the page in flight is estimated from the bytes of
-- its reply received so far (req:received(), kept by the core's write callback anyway, so the
-- row path pays nothing; only the timer reads it):
--   * the reply announced its size (Content-Length): rows asked * bytes received / size;
--   * it did not: bytes received / the bytes per row of the pages of this job seen complete;
--   * neither yet (the first page of a reply without a size): 0 until the page is in;
--   * a first page that comes with its query (querydata, h.count_unknown): 0 until it is in,
--     since how many of the rows asked the result has is known only from the reply itself.
-- Written rows are exact; only the page in flight is estimated, and never past its rows asked.
local core = require "tenten.core"
local sched = require "tenten.sched"

local M = {}
local Display = {}
Display.__index = Display

M.INTERVAL = 30  -- seconds between lines off a terminal
M.REDRAW = 0.2   -- seconds between redraws on a terminal
M.MAX_JOB_LINES = 8 -- running jobs shown on a terminal; the rest are counted on one line

local function thousands(n)
  local s = tostring(math.floor(n))
  local out = s:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return (out:gsub("^,", ""))
end
M.thousands = thousands

local function megabytes(b)
  return string.format("%.1f MB", b / 1e6)
end

-- The width to fit: the terminal's own (TIOCGWINSZ on stderr, asked at every redraw, so a
-- resize is followed), else $COLUMNS, else 80.
function M.width()
  local w = core.stderr_columns()
  if w and w > 0 then return w end
  w = math.tointeger(tonumber(os.getenv("COLUMNS") or ""))
  if w and w > 0 then return w end
  return 80
end

-- s cut to at most n characters (UTF-8 characters when s is UTF-8, else bytes).
function M.fit(s, n)
  if n < 1 then return "" end
  local len = utf8.len(s)
  if not len then return s:sub(1, n) end
  if len <= n then return s end
  return s:sub(1, utf8.offset(s, n + 1) - 1)
end

-- The rows of job `t`'s page in flight, estimated from its bytes (see the top of this file).
-- `t` keeps the calibration: { q =, last =, bytes =, rows = }; `written` is the job's rows on
-- disk. Pure but for req:received().
function M.in_flight(t, written)
  local h = t.q and t.q._inflight
  local req = h and h.future and h.future.req
  if not req then return 0 end
  local last = t.last
  if last and last ~= h and h.first > last.first then
    -- the last page we saw is complete: it calibrates the bytes per row
    local lreq = last.future.req
    local lrows = math.min(last.asked, h.first - last.first)
    if lreq and lrows > 0 then
      t.bytes = (t.bytes or 0) + lreq:received()
      t.rows = (t.rows or 0) + lrows
    end
  end
  t.last = h
  -- a page already written, or one that failed (asked again after a back-off)
  if h.count_unknown or h.first < written or (h.future.done and h.future.result[1] == nil) then return 0 end
  local got, size = req:received()
  local est = 0
  if size and size > 0 then
    est = h.asked * got / size
  elseif (t.rows or 0) > 0 and t.bytes > 0 then
    est = got * t.rows / t.bytes
  end
  return math.min(math.floor(est), h.asked)
end

-- mode: nil or true = live on a terminal, lines otherwise; false = off; "line" = lines even on
-- a terminal; "live" = live even when stderr is not a terminal (tt-pull --progress always).
-- opts: interval (seconds between lines off a terminal), out (a file; stderr), what ("pull",
-- or "write" for q:write's one job).
function M.new(jobs, summaries, mode, opts)
  opts = opts or {}
  local tty = core.stderr_columns() ~= nil
  local kind = mode == false and "off" or mode == "live" and "live"
    or ((mode == "line" or not tty) and "line" or "live")
  local self = setmetatable({
    kind = kind, jobs = jobs, summaries = summaries, out = opts.out or io.stderr, what = opts.what or "pull",
    interval = opts.interval or M.INTERVAL, started = core.now(), running = {}, tracked = {}, done = 0,
    failed = 0, drawn = 0,
  }, Display)
  if kind ~= "off" then self:arm() end
  return self
end

-- The timer: a redraw (live) or a line (line) every period, until stop.
function Display:arm()
  local period = self.kind == "live" and M.REDRAW or self.interval
  self.timer = sched.at(core.now() + period, function()
    if self.stopped then return end
    -- a display never fails the pull: a write error on stderr is not the job's
    pcall(self.tick, self)
    self:arm()
  end)
end

function Display:stop()
  self.stopped = true
  if self.timer then self.timer.cancelled = true end
end

function Display:tick()
  if self.kind == "live" then
    self:draw(true)
  else
    self.out:write(os.date("[%H:%M:%S] "), self:overall(), "\n")
    self.out:flush()
  end
end

function Display:start(i)
  self.running[i] = true
  self.tracked[i] = self.tracked[i] or {}
  -- a new job line is drawn at once: a job of one exchange may be over before the next redraw
  self:draw(true)
end

-- The query job i reads its pages from: its page in flight is estimated from it.
function Display:track(i, q)
  self.tracked[i] = { q = q }
end

-- A page was written (the summaries hold the rows): redrawn now unless drawn just before.
function Display:update()
  self:draw(false)
end

function Display:finish_job(i, failed)
  self.running[i] = nil
  self.tracked[i] = nil
  self.done = self.done + 1
  if failed then self.failed = self.failed + 1 end
  self:draw(false)
end

-- rows (written plus estimated in flight), bytes written, the estimated total rows (nil while
-- no job's count is known), rows written only.
function Display:totals()
  local rows, written, bytes, sum_total, nknown = 0, 0, 0, 0, 0
  for i, s in pairs(self.summaries) do
    local r = s.rows or 0
    written = written + r
    local t = self.tracked[i]
    if t and self.running[i] and self.kind ~= "off" then r = r + M.in_flight(t, r) end
    local total = s.total or (t and t.q and t.q.nrows)
    if total then
      r = math.min(r, total)
      sum_total = sum_total + total
      nknown = nknown + 1
    end
    rows = rows + r
    bytes = bytes + (s.bytes or 0)
  end
  if nknown == 0 then return rows, bytes, nil, written end
  if nknown < #self.jobs then
    -- jobs not started yet: assume they are as large as the ones we know
    sum_total = sum_total + (sum_total / nknown) * (#self.jobs - nknown)
  end
  return rows, bytes, sum_total, written
end

local function percent(rows, total)
  if not total or total <= 0 then return nil end
  return math.min(100, math.floor(100 * rows / total))
end

function Display:overall()
  local rows, bytes, total = self:totals()
  local secs = core.now() - self.started
  local rate = secs > 0 and rows / secs or 0
  local pct = percent(rows, total)
  local parts = {}
  parts[1] = (pct and string.format("%d%% ", pct) or "") .. thousands(rows) ..
    (total and (" of " .. (self.done < #self.jobs and #self.jobs > 1 and "about " or "") .. thousands(total)) or "")
    .. " rows"
  if self.what == "pull" then
    parts[#parts + 1] = string.format("%d/%d jobs done%s", self.done, #self.jobs,
      self.failed > 0 and (" (" .. self.failed .. " failed)") or "")
  end
  parts[#parts + 1] = megabytes(bytes)
  parts[#parts + 1] = thousands(rate) .. " rows/s"
  local left = total and rate > 0 and (total - rows) / rate
  if left and left >= 1 then parts[#parts + 1] = string.format("about %.0f s left", left) end
  return table.concat(parts, ", ")
end

-- One running job: its percentage and rows first, so a narrow terminal cuts the name.
function Display:job_line(i)
  local s, t = self.summaries[i], self.tracked[i]
  local written = s.rows or 0
  local rows = written + (t and M.in_flight(t, written) or 0)
  local total = s.total or (t and t.q and t.q.nrows)
  if total then rows = math.min(rows, total) end
  local pct = percent(rows, total)
  return string.format("  %4s %s of %s  %s", pct and (pct .. "%") or "", thousands(rows),
    total and thousands(total) or "?", s.name or "")
end

-- force: the timer's redraw; otherwise at most one redraw every REDRAW seconds.
function Display:draw(force)
  if self.kind ~= "live" or self.stopped then return end
  local now = core.now()
  if not force and self.last and now - self.last < M.REDRAW then return end
  self.last = now
  local lines = { self:overall() }
  local ids = {}
  for i in pairs(self.running) do ids[#ids + 1] = i end
  table.sort(ids)
  for k, i in ipairs(ids) do
    if k > M.MAX_JOB_LINES then
      lines[#lines + 1] = string.format("  and %d more running", #ids - M.MAX_JOB_LINES)
      break
    end
    lines[#lines + 1] = self:job_line(i)
  end
  -- one column spare: a line that fills the last column wraps on some terminals
  local room = M.width() - 1
  local buf = {}
  if self.drawn > 0 then buf[#buf + 1] = string.format("\27[%dA", self.drawn) end
  for _, l in ipairs(lines) do buf[#buf + 1] = "\r\27[2K" .. M.fit(l, room) .. "\n" end
  buf[#buf + 1] = "\27[J" -- the lines of a longer earlier drawing
  self.out:write(table.concat(buf))
  self.out:flush()
  self.drawn = #lines
end

-- The last word: the live lines erased, then one line. how: nil (ended), "interrupted", or for
-- q:write "failed" or "stopped".
function Display:finish(how)
  self:stop()
  if self.kind == "off" then return end
  if self.kind == "live" and self.drawn > 0 then
    self.out:write(string.format("\27[%dA\r\27[J", self.drawn))
    self.drawn = 0
  end
  local _, bytes, _, rows = self:totals()
  local secs = core.now() - self.started
  local line
  if self.what == "write" then
    line = string.format("%s %s rows, %s to %s in %.2f s", how and (how .. ": wrote") or "wrote", thousands(rows),
      megabytes(bytes), self.summaries[1].name or "?", secs)
  else
    local unfinished = #self.jobs - self.done
    line = string.format("%s %d job%s: %d ok, %d failed%s, %s rows, %s in %.2f s",
      how == "interrupted" and "interrupted: pulled" or "pulled", #self.jobs, #self.jobs == 1 and "" or "s",
      self.done - self.failed, self.failed, unfinished > 0 and (", " .. unfinished .. " not finished") or "",
      thousands(rows), megabytes(bytes), secs)
  end
  self.out:write(line, "\n")
  self.out:flush()
end

-- q:write's display when asked (progress = true, or "live"/"line"): one job, the query's.
-- Returns nil when not asked, else an object whose report(rows, bytes) follows the pages and
-- whose __close ends the display (interrupted or not), so the caller holds it in a <close>.
function M.for_write(q, dest, want, interval)
  if not want then return nil end
  local sum = { name = type(dest) == "string" and dest or "file", rows = 0, bytes = 0 }
  local d = M.new({ sum }, { sum }, want ~= true and want or nil, { interval = interval, what = "write" })
  d:start(1)
  d:track(1, q)
  local w = { display = d }
  function w.report(rows, bytes)
    sum.rows, sum.bytes, sum.total = rows, bytes, q.nrows
  end
  return setmetatable(w, { __close = function(_, err)
    d.running[1] = nil
    d.done = 1
    local how = core.interrupted() > 0 and "interrupted" or err ~= nil and "failed"
      or (q.nrows and sum.rows < q.nrows and "stopped") or nil -- a cancelled task's write
    d:finish(how)
  end })
end

return M
