-- Sessions and queries, with the SDKs' semantics: a pool session acquires a member ID and logs
-- it in; close releases it (pool), leaves it running (single user, POSSESS) or logs out.
local api = require "tenten.api"
local core = require "tenten.core"
local errors = require "tenten.errors"
local formats = require "tenten.formats"
local pool_mod = require "tenten.pool"
local progress = require "tenten.progress"
local retry = require "tenten.retry"
local sched = require "tenten.sched"

local M = {}

M.POSSESS, M.KILL, M.NOKILL = "possess", "yes", "no"
local MODES = { possess = true, yes = true, no = true }

-- The default rows per getdata page; the gateway may cap it lower.
M.PAGE_ROWS = 50000

local Session = {}
Session.__index = Session
Session.__name = "tenten.Session"

local Query = {}
Query.__index = Query
Query.__name = "tenten.Query"

-- Sessions not yet closed, so a signal can release their IDs. Weak: an unreferenced session
-- is still collected (and its __gc releases it).
local open = setmetatable({}, { __mode = "k" })
-- Logouts a signal put off: the interrupt runs them all at once, after every .part file is gone.
local logouts = {}
-- The .part files being written now (path -> true), removed first when a signal comes.
local partial = {}
local part_seq = 0

local function auth(s)
  return { uid = s.username, sid = s.sid, pswd = s._enc }
end

local function check_open(s, what)
  if s._closed then errors.raise(errors.E_CLOSED, what .. " on a closed session", what, s.username, 3) end
end

-- Log in, asking again while the platform throttles logins or is unavailable (retry.lua).
local function login(s, uid, password, mode, limits)
  local reply, err = retry.run("login", limits, function()
    return api.try(s._conn, "login", { uid = uid, pswd = password, kill = mode })
  end)
  if not reply then error(err, 0) end
  s.sid = reply:field("sid")
  s._enc = reply:field("pswd")
end

-- Put a leased member on pool session s: the member's platform session when it came still
-- logged in (handed over by a task a moment ago, or lingering: returns true), else a login.
local function take_member(s, member, limits)
  s._member, s.username = member, member.uid
  if member.sid then
    s.sid, s._enc = member.sid, member.enc
    return true
  end
  login(s, member.uid, s._pool.member_password, s.mode, limits)
  member.sid, member.enc = s.sid, s._enc
  return false
end

-- opts: gateway, user, password, mode, group, wait, retry, retries, acquire_timeout, backoff,
-- logfile, log_bodies, timeout, stall, reuse_connection, querydata, pages, member_password,
-- cafile, proxy, insecure.
function M.open(opts, fname)
  fname = fname or "tenten.session"
  local started = core.now()
  opts.gateway = opts.gateway or os.getenv("TT_GATEWAY")
  opts.user = opts.user or os.getenv("TT_USER")
  opts.password = opts.password or os.getenv("TT_PASSWORD")
  -- group = false asks for a single-user session even where TT_GROUP is set
  if opts.group == false then opts.group = nil else opts.group = opts.group or os.getenv("TT_GROUP") end
  for _, k in ipairs { "user", "password" } do
    if not opts.pool and type(opts[k]) ~= "string" then
      errors.arg(fname, k, "a string", opts[k], 3, { env = errors.ENV[k] })
    end
  end
  local mode = opts.mode or M.POSSESS
  if not MODES[mode] then
    errors.arg(fname, "mode", "tenten.POSSESS, tenten.KILL or tenten.NOKILL", mode, 3, { show = true })
  end
  if opts.group ~= nil and type(opts.group) ~= "string" then errors.arg(fname, "group", "a string", opts.group, 3) end
  for _, k in ipairs { "retry", "acquire_timeout" } do
    if opts[k] ~= nil and type(opts[k]) ~= "number" then errors.arg(fname, k, "a number", opts[k], 3) end
  end
  local s = setmetatable({ mode = mode, group = opts.group }, Session)
  -- The connection settings are built once, here, from the caller's options, and passed on.
  local conn = not opts.pool and api.conn(fname, opts) or nil
  if opts.pool then
    s._pool, s.group, s.owner = opts.pool, opts.pool.group, opts.pool.owner
  elseif opts.group then
    s.owner = opts.user
    -- the pool options are the session's own, the user being the pool's owner
    local popts = {}
    for k, v in pairs(opts) do popts[k] = v end
    popts.owner, popts.conn = opts.user, conn
    s._pool = pool_mod.get(popts, fname)
  end
  if s._pool then
    s._conn = s._pool.conn
    local member = s._pool:acquire()
    -- Until this session is returned nobody else can release the member: a failed login or
    -- a task cancelled during it gives the ID back here.
    local opened = false
    local _guard <close> = setmetatable({}, { __close = function() -- luacheck: ignore 211
      -- never raises: the login's error (or the cancel) is the one that goes on
      if not opened then pcall(s._pool.release, s._pool, member) end
    end })
    s._handed = take_member(s, member, s._pool:limits(started))
    opened = true
  else
    s._conn = conn
    s.username = opts.user
    login(s, opts.user, opts.password, mode, retry.limits({
      retry = opts.retry, acquire_timeout = opts.acquire_timeout,
      backoff = retry.backoff(opts.backoff, fname, 3),
    }, started))
  end
  open[s] = true
  return s
end

function Session:close()
  if self._closed then return end
  self._closed = true
  open[self] = nil
  if self._member then
    local member = self._member
    self._member = nil
    local ok, err = self._pool:release(member)
    if not ok and err then error(err, 2) end
  elseif self.mode ~= M.POSSESS then
    if core.interrupted() > 0 then
      logouts[#logouts + 1] = { conn = self._conn, params = auth(self) }
      return
    end
    local ok, err = api.try(self._conn, "logout", auth(self))
    if not ok and err.code ~= errors.RC.NOT_LOGGED_IN then error(err, 2) end
  end
  -- single user with POSSESS: the platform session keeps running, as the SDKs leave it
end

-- A <close> variable going out of scope with an error in flight (Lua 5.4 passes it as the
-- second argument) must not replace that error with its own: the release's failure is then
-- kept in s.close_error (and, for a pool, counted in its stats) and the first error goes on.
Session.__close = function(s, inflight)
  if inflight == nil then return s:close() end
  local ok, err = pcall(s.close, s)
  if not ok then s.close_error = err end
end

-- Collected without close: no I/O may run inside a finalizer, so the release runs as a task.
Session.__gc = function(s)
  if s._closed then return end
  s._closed = true
  local member, pool_ = s._member, s._pool
  if member then
    s._member = nil
    sched.spawn(function() pool_:release(member) end).observed = true
  elseif s.mode ~= M.POSSESS then
    local conn, params = s._conn, auth(s)
    sched.spawn(function() api.try(conn, "logout", params) end).observed = true
  end
end

function Session:closed()
  return self._closed == true
end

function Session:query(table_name, ops)
  check_open(self, "query")
  if type(table_name) ~= "string" then errors.arg("Session:query", "table", "a string", table_name, 2) end
  if ops ~= nil and type(ops) ~= "string" then errors.arg("Session:query", "ops", "a string", ops, 2) end
  return setmetatable({ session = self, table = table_name, ops = ops or "" }, Query)
end

-- Raw transaction on this session (for what the module does not wrap).
-- A pool session handed over still logged in (released here a moment ago, or lingering) may
-- find that platform session gone: a resetpool ends them all. Then this member goes back to
-- the platform, and with it every ID lingering in the pool (their sessions most likely went the
-- same way), and the session goes on with a fresh member.
local function renew(s)
  local pool, old = s._pool, s._member
  s._member = nil
  old.sid, old.enc = nil, nil -- released by its clear password
  pool:release(old, true)
  pool:release_lingering()
  take_member(s, pool:acquire(), pool:limits(core.now()))
end

-- One call on the session. The first call of a session handed over logged in that answers
-- "not logged in" renews the member once and asks again; later calls keep rc 35: a session
-- ended in the middle of the work is the caller's to see.
local function attempt(s, api_name, body, on_begin)
  local reply, err = api.try(s._conn, api_name, auth(s), body, on_begin)
  if not reply and s._handed and err.code == errors.RC.NOT_LOGGED_IN and core.interrupted() == 0 then
    s._handed = nil
    renew(s)
    reply, err = api.try(s._conn, api_name, auth(s), body, on_begin)
  end
  s._handed = nil
  return reply, err
end

local function call(s, api_name, body)
  local reply, err = attempt(s, api_name, body)
  if not reply then error(err, 0) end
  return reply
end

function Session:call(api_name, body)
  check_open(self, api_name)
  return call(self, api_name, body)
end

function M.tabinfo(s, table_name)
  local reply = s:call("tabinfo", "<in><name>" .. core.xmlescape(table_name) .. "</name></in>")
  local attrs = reply:table_attrs()
  local title
  for _, node in ipairs(reply:tree().children) do
    if node.tag == "table" then
      for _, c in ipairs(node.children) do
        if c.tag == "title" then title = c.text end
      end
    end
  end
  return {
    name = attrs.name, title = title, nrows = reply:total(), version = tonumber(attrs.version),
    loaded = attrs.loaded, loaded_unix = tonumber(attrs.loadedunix), columns = reply:columns(),
  }
end
function Session:tabinfo(table_name) return M.tabinfo(self, table_name) end

---------------------------------------------------------------------------------------------
-- Queries

local function columns_of(reply)
  local cols = reply:columns()
  for _, c in ipairs(cols) do c.label = c.label or c.name end
  return cols
end

-- The body of a query: the table name is ours to escape; the ops are the caller's XML, pasted
-- in as they are (the platform takes them as child elements of <ops>, as its docs and public
-- clients send them; a raw "<" inside an attribute value stays raw).
-- more: elements after <ops> (querydata's <rows> and <format>).
function M.query_body(table_name, ops, more)
  return "<in><name>" .. core.xmlescape(table_name) .. "</name><ops>" .. (ops or "") .. "</ops>" .. (more or "") ..
    "</in>"
end

-- The <format> a query's pages ask for (q.pages, else the connection's `pages`): none for
-- XML; for CSV the form public clients send, with their separators. The reader takes the
-- separators from the request it sent (core/http.c), so these are the only place they live.
local CSV_FORMAT = '<format type="csv" values="formatted"><sep>|</sep><linesep>^</linesep></format>'
local function page_format(self)
  local f = self.pages
  if f == nil then return self.session._conn.pages == "csv" and CSV_FORMAT or "" end
  return api.pages("query", "q.pages", f, 3) == "csv" and CSV_FORMAT or ""
end

local function page_size(self)
  return math.max(1, math.floor(self.page_rows or M.PAGE_ROWS))
end

-- Run the query and bring its first page in the same exchange (querydata): a result that fits
-- one page costs one round trip. The page waits in q._first for the first read of the whole
-- result (pages below). Over the user's download limit (rc 23) the query runs alone, and
-- paging halves its pages as usual. The connection option querydata = false runs it alone.
local function run(self, with_page)
  local s = self.session
  check_open(s, "query")
  local size = page_size(self)
  local reply, first
  if with_page and s._conn.querydata then
    local err
    reply, err = attempt(s, "querydata", M.query_body(self.table, self.ops,
      '<rows mode="2"><start>0</start><end>' .. size .. "</end></rows>" .. page_format(self)), function(h)
        h.first, h.asked, h.count_unknown = 0, size, true
        self._inflight = h -- the first page in flight, for the progress display
      end)
    if reply then
      first = { page = reply, asked = size }
    elseif err.code == errors.RC.TOO_MANY then
      self.page_rows = math.max(1, size // 2) -- as paging would: the query alone, smaller pages
    else
      error(err, 0)
    end
  end
  if not reply then reply = call(s, "query", M.query_body(self.table, self.ops)) end
  self._first = first
  -- nil when the reply does not state the count: paging then goes on until a short page
  self.nrows = reply:total()
  self.columns = columns_of(reply)
  self._head = reply -- its columns, for an empty result's file (Query:write)
  self._ran = true
  return self
end

function Query:run()
  return run(self, true)
end

-- Start fetching rows [first, last) of the result as one getdata; `pick`, when given, is the
-- list of the columns to fetch (getdata's documented <cols>), else every column comes.
local function begin_page(self, first, last, format, pick)
  local s = self.session
  local cols = ""
  if pick then
    local list = {}
    for i, c in ipairs(pick) do list[i] = "<col>" .. core.xmlescape(c.name) .. "</col>" end
    cols = "<cols>" .. table.concat(list) .. "</cols>"
  end
  local body = "<in>" .. cols .. '<rows mode="2"><start>' .. first .. "</start><end>" .. last .. "</end></rows>" ..
    format .. "</in>"
  local h = api.begin(s._conn, "getdata", auth(s), body)
  h.first, h.asked = first, last - first
  self._inflight = h -- read by the progress display (progress.lua) between pages
  return h
end

-- Whether a page should be read with the query's columns: it has none of its own, or its own
-- carry no types (the reader calls those text, "a") and have the query's names (a CSV page
-- without <cols>, a <th> with only a name): numbers then come back as numbers, as the query
-- said, not as text.
local function query_columns_fit(own, query)
  if #own == 0 then return true end
  if not query or #own ~= #query then return false end
  for i, c in ipairs(own) do
    if (c.type and c.type ~= "" and c.type ~= "a") or c.name ~= query[i].name then return false end
  end
  return true
end

-- The pages of rows [first, last) in order (last nil: to the end of the result), one getdata
-- in flight ahead of the page being handled. Returns a function that gives the next page and
-- its row count, or nil at the end. A page that fails transiently is asked again (retry.lua,
-- the session's `retries`); two platform behaviours are handled here too:
--   * a refusal with rc 23 (over the user's download limit): the page size is halved (down to
--     1 row) and the same rows asked again; the smaller size is kept in q.page_rows;
--   * an unknown row count (the query reply did not state it): pages are asked until one comes
--     back shorter than asked, and q.nrows becomes the count read.
-- With the count known, an empty page before the end is an error (E_SHORT), never the end.
local function pages(self, first, last, pick)
  -- a first page read from anywhere but row 0 would be wasted: then the query runs alone
  if not self._ran then run(self, first == 0 and not last and not pick) end
  check_open(self.session, "getdata")
  local size = page_size(self)
  local format = page_format(self)
  local limits = retry.read_limits(self.session._conn)
  local at = first
  local function start(from)
    local stop = last
    if self.nrows and (not stop or stop > self.nrows) then stop = self.nrows end
    if stop and from >= stop then return nil end
    local to = from + size
    if stop and to > stop then to = stop end
    return begin_page(self, from, to, format, pick)
  end
  local pending
  local ready = self._first
  if ready and first == 0 and not last and not pick then
    -- the first page came with the query: a handle that is already answered
    self._first = nil
    pending = { ready = ready.page, first = 0, asked = ready.asked }
  else
    pending = start(at)
  end
  return function()
    while pending do
      local h = pending
      pending = nil
      local page, err
      if h.ready then
        page = h.ready
      else
        page, err = api.wait(h)
      end
      if not page then
        local tries = (h.tries or 1) + 1
        if err.code == errors.RC.TOO_MANY and h.asked > 1 then
          size = math.max(1, math.min(size, h.asked) // 2)
          self.page_rows = size
          pending = start(h.first)
        elseif retry.kind("getdata", err) == "transient" and tries <= limits.attempts and core.interrupted() == 0 then
          -- the same rows again after the back-off (retry.lua): asking is safe, rows are absolute
          sched.sleep(retry.delay(tries - 1, limits.backoff))
          pending = start(h.first)
          pending.tries = tries
        else
          error(err, 0)
        end
      else
        local n = page:nrows()
        if not self.nrows then self.nrows = page:total() end -- a page may state what the query did not
        at = h.first + n
        -- The query's own reply, handed out as a page, is closed by whoever reads it: it no
        -- longer names an empty result's columns. Empty, it stays open for that.
        if page == self._head then
          if n > 0 then self._head = nil else page = nil end
        end
        if self.nrows then
          if n == 0 then
            if page then page:close() end
            if at < math.min(last or self.nrows, self.nrows) then
              errors.raise(errors.E_SHORT, string.format("the platform sent %d rows of the %d it promised",
                at, self.nrows), "getdata", self.session.username)
            end
            return nil
          end
          pending = start(at)
        elseif n < h.asked then
          self.nrows = at -- the short page was the last: now the count is known
        else
          pending = start(at)
        end
        if n == 0 then
          if page then page:close() end
          return nil
        end
        local want = pick or self.columns
        if query_columns_fit(page:columns(), want) then page:set_columns(want) end
        return page, n
      end
    end
    return nil
  end
end

-- Visit the pages of rows [first, last) in order with fn(page, n).
local function each_page(self, first, last, fn)
  local next_page = pages(self, first, last)
  while true do
    local page, n = next_page()
    if not page then return end
    fn(page, n)
    -- Free the page now: left to the collector, a page that lived through many minor
    -- collections waits for a major one, and memory grows with the result.
    page:close()
  end
end

-- Rows made per call into C by Query:rows: the C call is paid once per block, not per row.
local ROW_BLOCK = 256

-- for row in q:rows() do ... end: rows are lists of values; N/A is tenten.NA. The next page is
-- on its way while the current one is read, and only one page is held at a time.
function Query:rows()
  local next_page = pages(self, 0, nil)
  local page, n, at = nil, 0, 0 -- the page, its rows, the rows of it made so far
  local block, k, m = {}, 0, 0   -- rows made ahead, the last one handed out, how many
  return function()
    if k < m then
      k = k + 1
      return block[k]
    end
    while true do
      if at < n then
        m = page:rows_into(block, at + 1, ROW_BLOCK)
        if m > 0 then
          at, k = at + m, 1
          return block[1]
        end
      end
      if page then page:close() end -- rows are copies: nothing points into a read page
      page, n = next_page()
      at = 0
      if not page then
        n = 0
        return nil
      end
    end
  end
end

-- for b in q:batches() do ... end: each page as columns, what analysis code wants:
-- b[j] and b[name] are the page's values of column j (q.columns[j]) as a list, N/A as
-- tenten.NA like rows(); b.n is the page's row count (a column named "n" is at its position
-- only). Values are those rows() gives, one page at a time; an empty result gives no batch.
--
-- A page's lists are big (16 bytes a value), and fresh memory of that size costs a page
-- fault per 4 KB, as much as filling it. So lists are recycled: each carries a metatable
-- whose finalizer hands it back once nothing references it, and the next batch refills it in
-- place. And while the heap is mostly these batches, a full collection before each batch
-- finds the last one dropped, so memory stays at about two batches instead of growing to
-- what the incremental collector lets pile up. A list the caller keeps is never reused.
function Query:batches()
  local next_page = pages(self, 0, nil)
  local spare = {}
  local recycle = { __name = "tenten.batch.column", __gc = function(list) spare[#spare + 1] = list end }
  local kb = 0 -- what one batch's lists take, in KB
  return function()
    local page, n = next_page()
    if not page then return nil end
    if kb > 0 and collectgarbage("count") < 3 * kb + 1024 then collectgarbage() end
    local b = page:batch(spare, recycle)
    page:close() -- the batch holds copies
    kb = math.max(kb, n * #b * 16 / 1024)
    return b
  end
end

-- { column = { values... } } for rows first .. last-1 (0-based, as py1010's dictslice).
function Query:dictslice(first, last)
  if type(first) ~= "number" then errors.arg("Query:dictslice", "first", "a number", first, 2) end
  if last ~= nil and type(last) ~= "number" then errors.arg("Query:dictslice", "last", "a number", last, 2) end
  if not self._ran then run(self, first <= 0 and last == nil) end
  local out = {}
  for _, c in ipairs(self.columns) do out[c.name] = {} end
  local k = 0
  each_page(self, math.max(0, math.floor(first)), last and math.floor(last), function(page, n)
    for i = 1, n do
      k = k + 1
      local row = page:row(i)
      for j, c in ipairs(self.columns) do out[c.name][k] = row[j] end
    end
  end)
  return out
end

function Query:coldict()
  return self:dictslice(0)
end

-- q:column(name): the whole column as a list (py1010's query['name']), N/A as tenten.NA. Pages
-- come as for dictslice, each asking for this one column only. A name that is no column of
-- the result is misuse, and the message lists the columns there are.
function Query:column(name)
  if type(name) ~= "string" then errors.arg("Query:column", "name", "a column name (a string)", name, 2) end
  if not self._ran then run(self, false) end -- its pages ask for one column: no first page
  local col
  for _, c in ipairs(self.columns) do
    if c.name == name then col = c end
  end
  if not col then
    local names = {}
    for i, c in ipairs(self.columns) do names[i] = c.name end
    errors.arg("Query:column", "name", "a column of " .. self.table .. "'s result", name, 2, {
      show = true, hint = #names > 0 and ("its columns are " .. table.concat(names, ", ")) or "it has no columns",
    })
  end
  local out, k = {}, 0
  local next_page = pages(self, 0, nil, { col })
  while true do
    local page, n = next_page()
    if not page then return out end
    local values = page:batch()[1] -- the page as its one column: no table per row
    table.move(values, 1, n, k + 1, out)
    k = k + n
    page:close()
  end
end

-- Whether a path names a device (/dev/null, /dev/stdout, ...): written in place, since no
-- temporary file can be made beside it and renamed over it.
local function device(path)
  return path:match("^/dev/") ~= nil
end

-- Stream the result into a file (a path or an open file): rows never become Lua values.
-- format: a name, or a table of file options (formats.lua: format, sep, header, na, dates,
-- compress). on_page(rows, bytes), when given, is called after every page. Returns rows, bytes. A path is
-- written as PATH.part-N and renamed to PATH only when every row, the flush and the close
-- succeeded: a failed write leaves no file.
function Query:write(dest, format, on_page)
  local spec = formats.options(dest, format, "Query:write", "option", true, 2)
  if on_page ~= nil and type(on_page) ~= "function" then
    errors.arg("Query:write", "on_page", "a function", on_page, 2)
  end
  local file, own, tmp = dest, false, nil
  if type(dest) == "string" then
    local path = dest
    if not device(dest) then
      part_seq = part_seq + 1
      tmp = dest .. ".part-" .. part_seq
      path = tmp
    end
    local why
    file, why = io.open(path, "wb")
    if not file then errors.raise(errors.E_IO, "cannot open " .. path .. ": " .. tostring(why), "write", nil, 2) end
    own = true
    if tmp then partial[tmp] = true end
  elseif io.type(dest) ~= "file" then
    errors.arg("Query:write", "dest", "a path or an open file", dest, 2)
  end
  -- Whatever ends this call (an error, a cancelled task): our file closed, the .part gone.
  local _cleanup <close> = setmetatable({}, { __close = function() -- luacheck: ignore 211
    if own and io.type(file) == "file" then file:close() end
    if tmp then
      os.remove(tmp)
      partial[tmp] = nil
    end
  end })
  -- progress = true ("live", "line") among the options, or q.progress: pool:pull's display
  -- for this one write (progress.lua)
  local asked = type(format) == "table" and format.progress ~= nil and format or self
  local shown <close> = progress.for_write(self, dest, asked.progress, asked.progress_interval)
  local function failed(what, why)
    errors.raise(errors.E_IO, "cannot " .. what .. (type(dest) == "string" and " " .. dest or "") .. ": " ..
      tostring(why), "write")
  end
  local rows, bytes = 0, 0
  local writer <close> = core.writer(file, spec)
  each_page(self, 0, nil, function(page, n)
    local wrote, why = writer:write(page)
    if not wrote then failed("write the rows to", why) end
    bytes = wrote
    rows = rows + n
    if on_page then on_page(rows, bytes) end
    if shown then shown.report(rows, bytes) end
  end)
  -- the end (an empty result's header, a JSON array's brackets, the gzip trailer): the writer's call
  local wrote, fwhy = writer:finish(self._head)
  if not wrote then failed("write the end of", fwhy) end
  bytes = wrote
  -- Buffered bytes meet a full disk only here: a write is done when its flush and close are.
  local ok, why
  if own then
    ok, why = file:close()
  else
    ok, why = file:flush()
  end
  if not ok then failed(own and "close" or "flush", why) end
  if tmp then
    local renamed, rwhy = os.rename(tmp, dest)
    if not renamed then failed("rename into", rwhy) end
    partial[tmp] = nil
    tmp = nil
  end
  return rows, bytes
end

M.Session, M.Query = Session, Query

-- A signal: by now every task is cancelled (their .part files removed, their releases put
-- off). First any .part file left, then every session still open, then all the releases and
-- logouts at once, which api.lua gives retry.GRACE seconds in all.
sched.on_interrupt(function()
  for path in pairs(partial) do os.remove(path) end
  partial = {}
  local list = {}
  for s in pairs(open) do list[#list + 1] = s end
  for _, s in ipairs(list) do pcall(s.close, s) end
  local asks = {}
  for i, l in ipairs(logouts) do asks[i] = api.begin(l.conn, "logout", l.params) end
  logouts = {}
  for _, pool in ipairs(pool_mod.each()) do pcall(pool.release_all, pool) end
  for _, h in ipairs(asks) do pcall(api.wait, h) end
end)

-- At the end of a run: ask once more for the IDs whose release failed. Returns how many are
-- still not given back.
function M.release_pending()
  local left = 0
  for _, pool in ipairs(pool_mod.each()) do
    if pool.nfailed > 0 then
      local ok, n = pcall(pool.release_pending, pool)
      left = left + (ok and n or pool.nfailed)
    end
  end
  return left
end

return M
