-- The output formats of Query:write, pool:pull and tt-pull, in one place: a name or a file
-- extension to the format the C writer (runtime/core/write.c) knows, and the checked options of
-- a file (separator, header, N/A text, dates, compression). The writer alone decides what each
-- format's file holds, header included, for a result with rows or without; a new format is an
-- entry here and a case there.
local errors = require "tenten.errors"

local F = {}

-- Names and extensions -> the writer's format.
F.NAMES = { tsv = "tsv", txt = "tsv", csv = "csv", jsonl = "jsonl", ndjson = "jsonl", json = "json" }

-- The writer's formats, in the order messages list them.
F.LIST = { "tsv", "csv", "jsonl", "json" }

-- The options of a file, and the formats the ones that do not fit every format apply to.
F.KEYS = { "format", "sep", "header", "na", "dates", "compress", "compress_level" }
F.ONLY = {
  sep = { "csv" },            -- TSV is tab-separated by definition
  header = { "tsv", "csv" },
  na = { "tsv", "csv" },      -- JSON's N/A is null
}
F.DATES = { raw = true, iso = true }
F.COMPRESS = { none = true, gzip = true }

local function listed(list)
  return table.concat(list, ", ", 1, #list - 1) .. " or " .. list[#list]
end

-- A path's extension (after any ".gz") and whether it ends in ".gz".
local function suffix(path)
  if type(path) ~= "string" then return nil, false end
  local stem = path:match("^(.*)%.gz$")
  return (stem or path):match("%.([%w]+)$"), stem ~= nil
end

-- What a path's name says of its format, for a misuse message (issue 12: name what was seen).
local function seen(path)
  if type(path) ~= "string" then return nil end
  local ext = path:match("(%.[%w]+%.gz)$") or path:match("(%.[%w]+)$")
  return ext and ("the path ends in '" .. ext .. "'") or "the path has no extension"
end

-- The format for a destination: `format` when given, else the path's extension (a ".gz" after
-- it is compression, not the format). Raises a misuse error naming fname when neither gives a
-- known one.
function F.of(path, format, fname)
  local f = format or F.NAMES[suffix(path) or ""]
  if not F.NAMES[f or ""] then
    errors.arg(fname, "format", listed(F.LIST) .. " (or a path ending so, or so and .gz)", format, 3,
      { show = true, hint = not format and seen(path) or nil })
  end
  return F.NAMES[f]
end

-- A value for a message: strings quoted (with control bytes shown), anything else its type.
local function shown(v)
  if type(v) == "string" then return string.format("%q", v):gsub("\\\n", "\\n") end
  return type(v)
end

-- The options of one file, checked, as core.writer takes them: { format, header, sep, na,
-- dates, gzip }. opts is nil, a format name, or a table of format, sep, header, na, dates,
-- compress and compress_level (a pull job: other fields are the job's, and ignored here unless
-- strict). what
-- names the options in messages: "option" for Query:write, "jobs[2]" for a pull job. Raises a
-- misuse message naming fname and the option; level is what the caller would give error().
function F.options(dest, opts, fname, what, strict, level)
  level = level or 2 -- as the caller would pass it to error()
  what = what or "option"
  local function bad(key, msg, ...)
    error(string.format("%s: %s '%s' %s", fname, what, key, string.format(msg, ...)), level + 2)
  end
  if opts ~= nil and type(opts) ~= "string" and type(opts) ~= "table" then
    errors.arg(fname, "format", "a format name or a table of options", opts, level + 1)
  end
  if type(opts) == "string" then opts = { format = opts } end
  opts = opts or {}
  if strict then
    local known = {}
    for _, k in ipairs(F.KEYS) do known[k] = true end
    for k in pairs(opts) do
      if not known[k] then
        error(string.format("%s: unknown %s '%s' (%s)", fname, what, tostring(k), table.concat(F.KEYS, ", ")),
          level + 1)
      end
    end
  end
  if opts.format ~= nil and type(opts.format) ~= "string" then
    bad("format", "must be %s (got %s)", listed(F.LIST), shown(opts.format))
  end
  local format = F.NAMES[opts.format or suffix(dest) or ""]
  if not format then
    if opts.format then bad("format", "must be %s (got %s)", listed(F.LIST), shown(opts.format)) end
    errors.arg(fname, "format", listed(F.LIST) .. " (or a path ending so, or so and .gz)", nil, level + 1,
      { hint = seen(dest) })
  end
  local w = { format = format }
  for _, key in ipairs(F.KEYS) do
    local only = F.ONLY[key]
    local fits = not only
    for _, f in ipairs(only or {}) do fits = fits or f == format end
    if opts[key] ~= nil and not fits then
      bad(key, "applies to %s files only, not to %s", #only > 1 and listed(only) or only[1], format)
    end
  end
  local sep = opts.sep
  if sep ~= nil then
    if type(sep) ~= "string" or #sep ~= 1 or sep == '"' or sep == "\r" or sep == "\n" or sep == "\0" then
      bad("sep", "must be one byte other than a double quote, CR, LF and NUL (got %s)", shown(sep))
    end
    w.sep = sep
  end
  if opts.header ~= nil then
    if type(opts.header) ~= "boolean" then bad("header", "must be true or false (got %s)", shown(opts.header)) end
    w.header = opts.header
  end
  if opts.na ~= nil then
    if type(opts.na) ~= "string" or opts.na:find("\0", 1, true) then
      bad("na", "must be a string without NUL bytes (got %s)", shown(opts.na))
    end
    w.na = opts.na
  end
  if opts.dates ~= nil then
    if not F.DATES[opts.dates] then bad("dates", "must be \"raw\" or \"iso\" (got %s)", shown(opts.dates)) end
    w.dates = opts.dates
  end
  local _, gz = suffix(dest)
  local compress = opts.compress
  if compress ~= nil and not F.COMPRESS[compress] then
    bad("compress", "must be \"gzip\" or \"none\" (got %s)", shown(compress))
  end
  if gz and compress == "none" then
    bad("compress", "is \"none\" for a path ending in .gz: drop the .gz or the option")
  end
  w.gzip = gz or compress == "gzip"
  local zlevel = opts.compress_level
  if zlevel ~= nil then
    if math.type(zlevel) ~= "integer" or zlevel < 1 or zlevel > 9 then
      bad("compress_level", "must be a whole number from 1 (fastest) to 9 (smallest) (got %s)",
        type(zlevel) == "number" and tostring(zlevel) or shown(zlevel))
    end
    if not w.gzip then
      bad("compress_level", "applies to compressed files only (a .gz path, or compress = \"gzip\")")
    end
    w.gzip = zlevel -- else true: zlib's default level, 6
  end
  return w
end

-- The file options of a table holding other fields too (a pull job), checked as F.options
-- checks them, as a table Query:write takes.
function F.pick(dest, t, fname, what, level)
  F.options(dest, t, fname, what, false, (level or 2) + 1)
  local picked = {}
  for _, k in ipairs(F.KEYS) do picked[k] = t[k] end
  return picked
end

return F
