-- Progress of a pull on stderr: a live display on a terminal (one line per running job and
-- one overall line, redrawn at most every 0.2 s), only a final line when stderr is not a
-- terminal, nothing when turned off.
local core = require "tenten.core"

local M = {}
local Display = {}
Display.__index = Display

local stderr_is_tty
local function is_tty()
  if stderr_is_tty == nil then
    -- The child inherits our stderr, so this asks about it without a C helper.
    stderr_is_tty = os.execute("test -t 2") == true
  end
  return stderr_is_tty
end

local function thousands(n)
  local s = tostring(math.floor(n))
  local out = s:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return (out:gsub("^,", ""))
end
M.thousands = thousands

local function megabytes(b)
  return string.format("%.1f MB", b / 1e6)
end

-- mode: nil = live on a terminal, a final line otherwise; false = off; "line" = final line;
-- "live" = live even when stderr is not a terminal (tt-pull --progress always).
function M.new(jobs, summaries, mode, out)
  local kind = mode == false and "off" or mode == "live" and "live"
    or ((mode == "line" or not is_tty()) and "line" or "live")
  return setmetatable({
    kind = kind, jobs = jobs, summaries = summaries, out = out or io.stderr,
    started = core.now(), running = {}, done = 0, failed = 0, drawn = 0, last = 0,
  }, Display)
end

function Display:start(i)
  self.running[i] = true
  self:draw(false)
end

function Display:update()
  self:draw(false)
end

function Display:finish_job(i, failed)
  self.running[i] = nil
  self.done = self.done + 1
  if failed then self.failed = self.failed + 1 end
  self:draw(false)
end

function Display:totals()
  local rows, bytes, known, sum_total, nknown = 0, 0, true, 0, 0
  for _, s in pairs(self.summaries) do
    rows = rows + (s.rows or 0)
    bytes = bytes + (s.bytes or 0)
    if s.total then
      sum_total = sum_total + s.total
      nknown = nknown + 1
    end
  end
  if nknown < #self.jobs then
    -- jobs not started yet: assume they are as large as the ones we know
    if nknown == 0 then known = false
    else sum_total = sum_total + (sum_total / nknown) * (#self.jobs - nknown) end
  end
  return rows, bytes, known and sum_total or nil
end

function Display:overall()
  local rows, bytes, total = self:totals()
  local secs = core.now() - self.started
  local rate = secs > 0 and rows / secs or 0
  local left = ""
  if total and rate > 0 and total > rows then left = string.format(", about %.0f s left", (total - rows) / rate) end
  return string.format("%d/%d jobs done%s, %s rows, %s, %s rows/s%s",
    self.done, #self.jobs, self.failed > 0 and (" (" .. self.failed .. " failed)") or "",
    thousands(rows), megabytes(bytes), thousands(rate), left)
end

function Display:draw(force)
  if self.kind ~= "live" then return end
  local now = core.now()
  if not force and now - self.last < 0.2 then return end
  self.last = now
  local lines = { self:overall() }
  local ids = {}
  for i in pairs(self.running) do ids[#ids + 1] = i end
  table.sort(ids)
  for _, i in ipairs(ids) do
    local s = self.summaries[i]
    local pct = s.total and s.total > 0 and string.format(" %3d%%", math.floor(100 * (s.rows or 0) / s.total)) or ""
    lines[#lines + 1] = string.format("  %-40.40s %s of %s%s", s.name, thousands(s.rows or 0),
      s.total and thousands(s.total) or "?", pct)
  end
  local buf = {}
  if self.drawn > 0 then buf[#buf + 1] = string.format("\27[%dA", self.drawn) end
  for _, l in ipairs(lines) do buf[#buf + 1] = "\27[2K" .. l .. "\n" end
  for _ = #lines + 1, self.drawn do buf[#buf + 1] = "\27[2K\n" end
  local extra = math.max(0, self.drawn - #lines)
  if extra > 0 then buf[#buf + 1] = string.format("\27[%dA", extra) end
  self.out:write(table.concat(buf))
  self.out:flush()
  self.drawn = #lines
end

function Display:finish()
  if self.kind == "off" then return end
  if self.kind == "live" and self.drawn > 0 then
    self.out:write(string.format("\27[%dA", self.drawn))
    for _ = 1, self.drawn do self.out:write("\27[2K\n") end
    self.out:write(string.format("\27[%dA", self.drawn))
  end
  local rows, bytes = self:totals()
  self.out:write(string.format("pulled %d job%s: %d ok, %d failed, %s rows, %s in %.2f s\n", #self.jobs,
    #self.jobs == 1 and "" or "s", self.done - self.failed, self.failed, thousands(rows), megabytes(bytes),
    core.now() - self.started))
  self.out:flush()
end

return M
