-- The output formats of Query:write, pool:pull and tt-pull, in one table: a name or a file
-- extension to the format the C writer (runtime/core/write.c, tt_write_format) knows. The
-- writer alone decides what each format's file holds, header included, for a result with rows
-- or without; a new format is an entry here and a case there.
local errors = require "tenten.errors"

local F = {}

-- Names and extensions -> the writer's format.
F.NAMES = { tsv = "tsv", txt = "tsv", csv = "csv", jsonl = "jsonl", json = "jsonl", ndjson = "jsonl" }

-- The writer's formats, in the order messages list them.
F.LIST = { "tsv", "csv", "jsonl" }

local function listed()
  return table.concat(F.LIST, ", ", 1, #F.LIST - 1) .. " or " .. F.LIST[#F.LIST]
end

-- The format for a destination: `format` when given, else the path's extension. Raises a
-- misuse error naming fname when neither gives a known one.
function F.of(path, format, fname)
  local f = format or (type(path) == "string" and F.NAMES[path:match("%.([%w]+)$") or ""])
  if not F.NAMES[f or ""] then
    errors.arg(fname, "format", listed() .. " (or a path ending so)", format, 3)
  end
  return F.NAMES[f]
end

return F
