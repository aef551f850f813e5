-- tt-pull: pool:pull from the command line, for cron and shell users (tt-pull(1)). One job
-- from flags or a list of jobs from a Lua or JSON file; credentials from TT_* variables or a
-- private file, never from argv; an optional lock file so runs do not overlap; a text or JSON
-- summary; exit codes 0 ok, 1 a job failed, 2 usage or configuration, 130 interrupted.
local core = require "tenten.core"
local errors = require "tenten.errors"
local formats = require "tenten.formats"
local json = require "tenten.json"
local tenten = require "tenten"

local M = {}
local fmt = string.format

M.USAGE = [==[
usage: tt-pull --table NAME --out FILE [--ops OPS] [--columns A,B] [--format F] [--name N] [options]
   or: tt-pull JOBS.lua|JOBS.json [options]
Options:
  --pool-size N          hold at most N pool IDs at once (default: as many as there are jobs)
  --pages xml|csv        the page format asked of the platform: xml (default) or csv, a third
                         of the bytes and about half the CPU (see tt-pull(1) before using it)
  --sep C                CSV field separator, one byte (default ,)
  --no-header            no line of column names (CSV, TSV)
  --na TEXT              the text of an N/A cell (CSV, TSV; default: an empty field)
  --dates raw|iso        date, time and datetime columns as sent (default) or as ISO 8601
  --compress gzip|none   gzip the files (a path ending in .gz always is)
  --compress-level N     gzip level, 1 (fastest) to 9 (smallest); default 6
  --progress auto|always|never
                         progress on stderr: live on a terminal, else a line every
                         --progress-interval seconds and a final line (auto); live even
                         when stderr is not a terminal (always); none (never)
  --progress-interval S  off a terminal, a progress line every S seconds (default 30)
  --summary text|json|none
                         text: a table of the jobs on stderr (default); json: one JSON object
                         on stdout; none: no summary
  --lock FILE            refuse to start while another run holds FILE; a lock left by a
                         process that is gone is taken over
  --dry-run              print what would run; no connection is made
  --gateway URL          instead of TT_GATEWAY
  --user ID              the pool owner, instead of TT_USER
  --group GID            the SAM group, instead of TT_GROUP
  --credentials FILE     KEY=value lines (TT_GATEWAY, TT_USER, TT_PASSWORD, TT_GROUP); the file
                         must not be readable or writable by group or others
  -h, --help             this text
  --version              the version
The password comes only from TT_PASSWORD or the credentials file, never from the command line.
Exit status: 0 every job ok, 1 a job failed, 2 usage or configuration error, 130 interrupted.
]==]

-- A usage or configuration error: exit status 2 with its message.
local Usage = {}
Usage.__tostring = function(e) return e.msg end

local function fail(...)
  error(setmetatable({ msg = fmt(...) }, Usage), 0)
end

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- ---- the command line -----------------------------------------------------------------------

local JOB_FLAGS = { ["--table"] = "table", ["--ops"] = "ops", ["--out"] = "out", ["--columns"] = "columns",
  ["--format"] = "format", ["--name"] = "name" }
local VALUE_FLAGS = { ["--pool-size"] = "pool_size", ["--progress"] = "progress", ["--summary"] = "summary",
  ["--lock"] = "lock", ["--gateway"] = "gateway", ["--user"] = "user", ["--group"] = "group",
  ["--credentials"] = "credentials" }
VALUE_FLAGS["--progress-interval"] = "progress_interval"
VALUE_FLAGS["--pages"] = "pages"
local CHOICES = { progress = { auto = true, always = true, never = true }, summary = { text = true, json = true,
  none = true }, dates = { raw = true, iso = true }, compress = { gzip = true, none = true } }
-- The file options: flags that apply to every job that does not set the field itself.
local WRITE_FLAGS = { ["--sep"] = "sep", ["--na"] = "na", ["--dates"] = "dates", ["--compress"] = "compress",
  ["--compress-level"] = "compress_level" }
local WRITE_FIELDS = { "sep", "header", "na", "dates", "compress", "compress_level" }

-- Lua's arg table (arg[0] is the first argument after tt-lua's "--", when there is one) or a
-- plain list -> a plain list.
local function arg_list(argv)
  local list = {}
  if type(argv) ~= "table" then return list end
  -- no script: arg[1..] would be the interpreter's own options, none of ours
  local first = argv[0] == nil and 1 or (argv[-1] ~= nil and 0 or nil)
  for i = first or #argv + 1, #argv do list[#list + 1] = argv[i] end
  return list
end
M.arg_list = arg_list

function M.parse(list)
  local opts = { job = {}, write = {}, progress = "auto", summary = "text" }
  local i, rest = 1, false
  local function value(name, inline)
    if inline then return inline end
    i = i + 1
    if list[i] == nil then fail("%s needs a value", name) end
    return list[i]
  end
  while i <= #list do
    local a = list[i]
    local name, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    name = name or a
    if rest or a == "-" or a:sub(1, 1) ~= "-" then
      if opts.jobs_file then fail("one jobs file only (got %s and %s)", opts.jobs_file, a) end
      opts.jobs_file = a
    elseif a == "--" then
      rest = true
    elseif name == "--password" or name:match("^%-%-pass") then
      fail("%s is refused: a password on the command line can be read by every user of this machine " ..
        "(ps, /proc/PID/cmdline) and stays in shell history; set TT_PASSWORD or use --credentials FILE", name)
    elseif JOB_FLAGS[name] then
      opts.job[JOB_FLAGS[name]] = value(name, inline)
    elseif VALUE_FLAGS[name] or WRITE_FLAGS[name] then
      local key = VALUE_FLAGS[name] or WRITE_FLAGS[name]
      local v = value(name, inline)
      if CHOICES[key] and not CHOICES[key][v] then
        local names = {}
        for c in pairs(CHOICES[key]) do names[#names + 1] = c end
        table.sort(names)
        fail("%s wants one of %s (got %s)", name, table.concat(names, ", "), v)
      end
      if WRITE_FLAGS[name] then opts.write[key] = v else opts[key] = v end
    elseif name == "--no-header" and not inline then
      opts.write.header = false
    elseif name == "--dry-run" and not inline then
      opts.dry_run = true
    elseif (name == "--help" or name == "-h") and not inline then
      opts.help = true
    elseif name == "--version" and not inline then
      opts.version = true
    else
      fail("unknown option %s", a)
    end
    i = i + 1
  end
  if opts.help or opts.version then return opts end
  if opts.pool_size then
    local n = math.tointeger(tonumber(opts.pool_size))
    if not n or n < 1 then fail("--pool-size wants a whole number >= 1 (got %s)", opts.pool_size) end
    opts.pool_size = n
  end
  if opts.write.compress_level then
    local n = math.tointeger(tonumber(opts.write.compress_level))
    if not n or n < 1 or n > 9 then
      fail("--compress-level wants a whole number from 1 to 9 (got %s)", opts.write.compress_level)
    end
    opts.write.compress_level = n
  end
  if opts.pages and opts.pages ~= "xml" and opts.pages ~= "csv" then
    fail("--pages wants xml or csv (got %s)", opts.pages)
  end
  if opts.progress_interval then
    local s = tonumber(opts.progress_interval)
    if not s or s ~= s or s <= 0 or s == math.huge then
      fail("--progress-interval wants a number of seconds > 0 (got %s)", opts.progress_interval)
    end
    opts.progress_interval = s
  end
  if next(opts.job) then
    if opts.jobs_file then fail("--table, --ops, --out, --columns, --format and --name describe one job: " ..
      "not with a jobs file (%s)", opts.jobs_file) end
    if not opts.job.table then fail("--table is missing (the table to pull)") end
    if not opts.job.out then fail("--out is missing (the file to write)") end
  elseif not opts.jobs_file then
    fail("nothing to pull: give --table and --out, or a jobs file")
  end
  return opts
end

-- ---- jobs -----------------------------------------------------------------------------------

local function readfile(path)
  local f, why = io.open(path, "rb")
  if not f then fail("cannot read %s", why) end
  local text = f:read("a")
  f:close()
  return text
end

-- What a jobs file written in Lua may use: it builds a list, it does not act. A guard against
-- accidents (no io, os.execute, require, load), not a security boundary: the file is the
-- user's own code. The libraries are copies, so the file cannot change ours.
local function sandbox()
  local env = {}
  for _, k in ipairs { "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber",
    "tostring", "type", "rawequal", "rawlen", "rawget" } do
    env[k] = _G[k]
  end
  for _, lib in ipairs { "string", "table", "math", "utf8" } do
    env[lib] = {}
    for k, v in pairs(_G[lib]) do env[lib][k] = v end
  end
  env.os = { date = os.date, time = os.time, getenv = os.getenv, clock = os.clock }
  return env
end

function M.load_jobs(path)
  local text = readfile(path)
  if path:match("%.json$") then
    local jobs, err = json.decode(text)
    if jobs == nil then fail("%s: %s", path, err) end
    return jobs
  elseif path:match("%.lua$") then
    local chunk, err = load(text, "@" .. path, "t", sandbox())
    if not chunk then fail("%s", err) end
    local ok, jobs = pcall(chunk)
    if not ok then fail("%s: %s", path, tostring(jobs)) end
    return jobs
  end
  fail("%s: a jobs file ends in .lua (returns a list of jobs) or .json (an array of jobs)", path)
end

local FIELDS = { table = true, ops = true, out = true, columns = true, format = true, name = true, sep = true,
  header = true, na = true, dates = true, compress = true, compress_level = true }

local function is_list(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

-- Check every job before anything connects, and make each the table pool:pull takes.
-- defaults: file options (sep, header, ...) for the jobs that do not set them. Returns the
-- jobs (with format filled in).
function M.check_jobs(list, from, defaults)
  if not is_list(list) then fail("%s must be a list of jobs (got %s)", from, type(list)) end
  if #list == 0 then fail("%s holds no jobs", from) end
  local jobs, outs = {}, {}
  for i, job in ipairs(list) do
    local where = fmt("%s: job %d", from, i)
    if type(job) ~= "table" or is_list(job) and #job > 0 then fail("%s must be a table of fields", where) end
    for k in pairs(job) do
      if not FIELDS[k] then
        fail("%s: unknown field '%s' (a job has table, ops, out, columns, format, name, sep, header, na, " ..
          "dates, compress, compress_level)", where, tostring(k))
      end
    end
    for _, k in ipairs { "table", "out" } do
      if type(job[k]) ~= "string" or job[k] == "" then fail("%s: '%s' must be a non-empty string", where, k) end
    end
    for _, k in ipairs { "ops", "format", "name" } do
      if job[k] ~= nil and type(job[k]) ~= "string" then fail("%s: '%s' must be a string", where, k) end
    end
    local cols = job.columns
    if type(cols) == "table" then
      if not is_list(cols) then fail("%s: 'columns' must be a list of names", where) end
      for _, c in ipairs(cols) do
        if type(c) ~= "string" then fail("%s: 'columns' must be a list of names", where) end
      end
      cols = table.concat(cols, ",")
    elseif cols ~= nil and type(cols) ~= "string" then
      fail("%s: 'columns' must be a list of names or \"a,b\"", where)
    end
    if cols == "" then cols = nil end
    local ok, format = pcall(formats.of, job.out, job.format, "tt-pull")
    if not ok then
      fail("%s (%s): %s", where, job.out, (tostring(format):gsub("^tt%-pull: ", "")))
    end
    if outs[job.out] then fail("%s writes %s, as job %d does", where, job.out, outs[job.out]) end
    outs[job.out] = i
    jobs[i] = { table = job.table, ops = job.ops, out = job.out, columns = cols, format = format,
      name = job.name or job.out }
    for _, k in ipairs(WRITE_FIELDS) do
      local v = job[k]
      if v == nil and defaults then v = defaults[k] end
      jobs[i][k] = v
    end
    local fits, why = pcall(formats.options, job.out, jobs[i], "tt-pull", "option", false, 1)
    if not fits then
      fail("%s (%s): %s", where, job.out, (tostring(why):gsub("^tt%-pull: ", "")))
    end
  end
  return jobs
end

-- Every output folder must exist and be writable (pull checks it again by writing there; this
-- test writes nothing, so --dry-run can make it too).
local function check_folders(jobs)
  local seen = {}
  for i, job in ipairs(jobs) do
    local d = job.out:match("^(.*)/[^/]*$") or "."
    if d == "" then d = "/" end
    if not seen[d] then
      seen[d] = true
      if os.execute("test -d " .. q(d) .. " && test -w " .. q(d)) ~= true then
        fail("job %d (%s): the folder %s does not exist or is not writable", i, job.name, d)
      end
    end
  end
end

-- ---- credentials ----------------------------------------------------------------------------

local KEYS = { TT_GATEWAY = true, TT_USER = true, TT_PASSWORD = true, TT_GROUP = true }

-- The file's permission bits, from stat(1): tt-lua has no stat of its own, and a C helper for
-- one number is not worth it.
local function file_mode(path)
  local p = io.popen("stat -c %a -- " .. q(path) .. " 2>/dev/null")
  local out = p and p:read("a") or ""
  if p then p:close() end
  local digits = out:match("^(%d+)")
  return digits and tonumber(digits, 8)
end

-- KEY=value lines; blank lines and #-comments skipped; "export " before a key and quotes
-- around a value allowed, so the same file can be sourced by sh. Messages never show a value.
function M.read_credentials(path)
  local mode = file_mode(path)
  if not mode then fail("--credentials %s: no such file, or it cannot be examined", path) end
  if mode & 0x36 ~= 0 then -- 0066: read or write for group or others
    fail("--credentials %s: its mode %04o lets group or others read or write it; " ..
      "chmod 600 %s (as ssh refuses a private key others can read)", path, mode, path)
  end
  local text = readfile(path)
  local c, n = {}, 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = line:gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" and line:sub(1, 1) ~= "#" then
      local key, val = line:gsub("^export%s+", ""):match("^([%w_]+)%s*=%s*(.*)$")
      if not key then fail("--credentials %s: line %d: expected KEY=value", path, n) end
      if not KEYS[key] then
        fail("--credentials %s: line %d: unknown key %s (TT_GATEWAY, TT_USER, TT_PASSWORD, TT_GROUP)", path, n, key)
      end
      val = val:match('^"(.*)"$') or val:match("^'(.*)'$") or val
      c[key] = val
    end
  end
  return c
end

-- Each credential from, in order: its flag (not the password), the credentials file, the
-- environment. An empty value counts as unset.
function M.credentials(opts, getenv)
  getenv = getenv or os.getenv
  local file = opts.credentials and M.read_credentials(opts.credentials) or {}
  local function pick(flag, key)
    for _, v in ipairs { flag or false, file[key] or false, getenv(key) or false } do
      if v and v ~= "" then return v end
    end
  end
  local c = {
    gateway = pick(opts.gateway, "TT_GATEWAY"), owner = pick(opts.user, "TT_USER"),
    password = pick(nil, "TT_PASSWORD"), group = pick(opts.group, "TT_GROUP"),
  }
  local how = opts.credentials and " or in the --credentials file" or ""
  if not c.gateway then fail("no gateway: set TT_GATEWAY (or give --gateway URL%s)", how) end
  if not c.owner then fail("no user: set TT_USER, the pool owner (or give --user ID%s)", how) end
  if not c.password then fail("no password: set TT_PASSWORD%s", how ~= "" and how or " or use --credentials FILE") end
  if not c.group then fail("no group: set TT_GROUP, the SAM group (or give --group GID%s)", how) end
  return c
end

-- ---- the lock -------------------------------------------------------------------------------

-- "PID STARTTIME" of a process from /proc/PID/stat (starttime is field 22, counted after the
-- command name, which may hold spaces); nil when there is no such process.
local function proc_identity(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "rb")
  if not f then return nil end
  local s = f:read("a") or ""
  f:close()
  local after = s:match("^.*%)%s+(.*)$")
  if not after then return nil end
  local fields = {}
  for w in after:gmatch("%S+") do fields[#fields + 1] = w end
  return tostring(s:match("^(%d+)")) .. " " .. tostring(fields[20])
end

local function my_identity()
  local id = proc_identity("self")
  if id then return id end
  -- no /proc: the shell that popen starts has us as its parent
  local p = io.popen("echo $PPID")
  local pid = p:read("l")
  p:close()
  return pid
end

-- Whether the process a lock names still runs. With a start time, a new process that reuses
-- the pid is not mistaken for the holder.
local function holder_alive(content)
  local pid, start = content:match("^(%d+)%s*(%d*)")
  if not pid then return true end -- not written by tt-pull: never taken over
  local now = proc_identity(pid)
  if now then return start == "" or now == pid .. " " .. start end
  if io.open("/proc/self/stat") then return false end
  return os.execute("kill -0 " .. pid .. " 2>/dev/null") == true
end

-- Take the lock: our identity is written to a private file first, which link(2) then puts in
-- place only if nothing is there (ln -T; Lua 5.4's io.open refuses the "x" mode). So a lock
-- file always holds a whole pid, and two runs never both get it. Returns the lock.
function M.lock(path, warn)
  local me = my_identity()
  local tmp = fmt("%s.tmp-%s", path, me:match("^%d+"))
  local f, why = io.open(tmp, "wb")
  if not f then fail("--lock %s: cannot write beside it: %s", path, why) end
  f:write(me, "\n")
  f:close()
  for _ = 1, 5 do
    if os.execute("ln -T -- " .. q(tmp) .. " " .. q(path) .. " 2>/dev/null") == true then
      os.remove(tmp)
      return { path = path, content = me .. "\n" }
    end
    local held = io.open(path, "rb")
    if held then
      local content = held:read("a") or ""
      held:close()
      if holder_alive(content) then
        os.remove(tmp)
        local pid = content:match("^(%d+)")
        fail("--lock %s is held %s; not starting", path,
          pid and ("by the running process " .. pid) or "(it holds no pid: remove it if no run is going on)")
      end
      warn(fmt("tt-pull: taking over the stale lock %s (process %s is gone)\n", path, content:match("^(%d+)")))
      -- remove only the stale lock we read, not one another run has just put in its place
      local again = io.open(path, "rb")
      if again then
        local now = again:read("a")
        again:close()
        if now == content then os.remove(path) end
      end
    end
  end
  os.remove(tmp)
  fail("--lock %s: could not take it (other runs keep taking it)", path)
end

function M.unlock(lock)
  if not lock then return end
  local f = io.open(lock.path, "rb")
  if not f then return end
  local content = f:read("a")
  f:close()
  if content == lock.content then os.remove(lock.path) end
end

-- ---- output ---------------------------------------------------------------------------------

local function plan_text(jobs, creds, opts, concurrency)
  local out = {}
  out[1] = fmt("dry run: %d job%s through pool %s of %s at %s, at most %d at once; no connection made",
    #jobs, #jobs == 1 and "" or "s", creds.group, creds.owner, creds.gateway, concurrency)
  for i, job in ipairs(jobs) do
    out[#out + 1] = fmt("job %d: %s", i, job.name)
    out[#out + 1] = "  table    " .. job.table
    out[#out + 1] = "  ops      " .. ((job.ops or "") ~= "" and job.ops or "(none: the whole table)")
    if job.columns then out[#out + 1] = "  columns  " .. job.columns end
    out[#out + 1] = "  out      " .. job.out
    out[#out + 1] = "  format   " .. job.format
    local w = {}
    if job.sep then w[#w + 1] = "sep " .. q(job.sep) end
    if job.header == false then w[#w + 1] = "no header" end
    if job.na then w[#w + 1] = "na " .. q(job.na) end
    if job.dates then w[#w + 1] = "dates " .. job.dates end
    if job.compress == "gzip" or job.out:match("%.gz$") then
      w[#w + 1] = "gzip" .. (job.compress_level and " level " .. job.compress_level or "")
    end
    if #w > 0 then out[#out + 1] = "  options  " .. table.concat(w, ", ") end
  end
  if opts.lock then out[#out + 1] = "(--lock " .. opts.lock .. " is neither taken nor checked by a dry run)" end
  return table.concat(out, "\n") .. "\n"
end

local function plan_json(jobs, creds, opts, concurrency)
  local list = json.array()
  for i, job in ipairs(jobs) do
    list[i] = { job = i, name = job.name, table = job.table, ops = job.ops or "", columns = job.columns or json.null,
      out = job.out, format = job.format, sep = job.sep or json.null, header = job.header ~= false,
      na = job.na or json.null, dates = job.dates or "raw",
      compress = (job.compress == "gzip" or job.out:match("%.gz$")) and "gzip" or "none",
      compress_level = job.compress_level or json.null }
  end
  return json.encode {
    dry_run = true, gateway = creds.gateway, user = creds.owner, group = creds.group,
    pool_size = opts.pool_size or json.null, concurrency = concurrency, pages = opts.pages or "xml", jobs = list,
  } .. "\n"
end

local function error_json(e)
  if e == nil then return json.null end
  if errors.is_error(e) then
    return { code = e.code, message = tostring(e.msg), api = e.api or json.null, uid = e.uid or json.null }
  end
  return { code = json.null, message = tostring(e), api = json.null, uid = json.null }
end

function M.summary_json(summaries, jobs)
  local list, ok = json.array(), true
  for i, s in ipairs(summaries) do
    if s.error then ok = false end
    list[i] = {
      job = s.job, name = s.name, table = s.table, out = s.out, format = jobs[i] and jobs[i].format or json.null,
      rows = s.rows or 0, bytes = s.bytes or 0, uid = s.uid or json.null,
      seconds = math.floor((s.seconds or 0) * 1000 + 0.5) / 1000, -- to the millisecond: no false precision
      total = s.total or json.null, result = not s.error and "ok"
        or (errors.is_error(s.error) and s.error.code == errors.E_INTERRUPTED and "interrupted" or "failed"),
      error = error_json(s.error), release_error = error_json(s.release_error),
    }
  end
  return json.encode { ok = ok, jobs = list } .. "\n"
end

-- ---- the command ----------------------------------------------------------------------------

local PROGRESS = { auto = nil, always = "live", never = false }

-- Everything but the run: returns the checked options, jobs and credentials.
local function prepare(argv)
  local parsed, opts = pcall(M.parse, arg_list(argv))
  if not parsed then
    if getmetatable(opts) == Usage then opts.hint = true end
    error(opts, 0)
  end
  if opts.help or opts.version then return opts end
  local jobs
  if opts.jobs_file then
    jobs = M.check_jobs(M.load_jobs(opts.jobs_file), opts.jobs_file, opts.write)
  else
    jobs = M.check_jobs({ opts.job }, "the command line", opts.write)
  end
  check_folders(jobs)
  local creds = M.credentials(opts)
  -- makes no connection: checks the URL and the options only
  local ok, pool = pcall(tenten.pool, { gateway = creds.gateway, owner = creds.owner, password = creds.password,
    group = creds.group, size = opts.pool_size })
  if not ok then fail("the pool (gateway %s, user %s, group %s) is refused: %s", creds.gateway, creds.owner,
    creds.group, tostring(pool)) end
  return opts, jobs, creds, pool
end

-- The exit status of a run of tt-pull with this command line.
function M.command(argv)
  local ok, opts, jobs, creds, pool = pcall(prepare, argv)
  if not ok then
    if getmetatable(opts) ~= Usage then error(opts, 0) end
    io.stderr:write("tt-pull: ", opts.msg, "\n", opts.hint and "(tt-pull --help lists the options)\n" or "")
    return 2
  end
  if opts.help then
    io.stdout:write(M.USAGE)
    return 0
  end
  if opts.version then
    io.stdout:write("tt-pull ", tenten.VERSION, "\n")
    return 0
  end
  local concurrency = math.min(opts.pool_size or #jobs, #jobs)
  if opts.dry_run then
    io.stdout:write((opts.summary == "json" and plan_json or plan_text)(jobs, creds, opts, concurrency))
    return 0
  end
  -- tt-lua catches the signals for its main chunk only; this runs from -e
  core.catch_signals()
  local lock
  if opts.lock then
    local got, l = pcall(M.lock, opts.lock, function(msg) io.stderr:write(msg) end)
    if not got then
      if getmetatable(l) ~= Usage then error(l, 0) end
      io.stderr:write("tt-pull: ", l.msg, "\n")
      return 2
    end
    lock = l
  end
  -- the lock goes whatever happens below, a Lua error included
  local _unlock <close> = setmetatable({}, { __close = function() M.unlock(lock) end }) -- luacheck: ignore 211
  local ran, summaries = pcall(tenten.run, function()
    return pool:pull(jobs, { progress = PROGRESS[opts.progress], summary = opts.summary == "text",
      concurrency = concurrency, progress_interval = opts.progress_interval, pages = opts.pages })
  end)
  if core.interrupted() > 0 then
    -- the pull has printed what finished (--summary text); its summaries come with its error
    local partial = ran and summaries or (errors.is_error(summaries) and summaries.summaries)
    if partial and opts.summary == "json" then io.stdout:write(M.summary_json(partial, jobs)) end
    io.stderr:write("tt-pull: interrupted\n")
    return 130
  end
  if not ran then
    io.stderr:write("tt-pull: ", tostring(summaries), "\n")
    return 1
  end
  if opts.summary == "json" then io.stdout:write(M.summary_json(summaries, jobs)) end
  for _, s in ipairs(summaries) do
    if s.error then return 1 end
  end
  return 0
end

function M.main(argv)
  local status = M.command(argv or _G.arg)
  io.stdout:flush()
  -- close the state as tt-lua does when a script ends, so that every finalizer runs
  os.exit(status, true)
end

return M
