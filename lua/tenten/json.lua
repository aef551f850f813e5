-- A small JSON (RFC 8259) decoder and encoder, for tt-pull's jobs files and its summary.
-- Decoding is an LPeg grammar; a syntax error is raised from inside it as a table carrying
-- the byte offset, so every message names line and column. Encoding is by hand.
--
--   json.decode(text) -> value, or nil, "line L, column C: ..."
--   json.encode(value) -> text (raises on what JSON cannot hold: cycles, NaN, functions)
--
-- null decodes to json.null (a unique value), so arrays keep their length and objects their
-- keys. Decoded arrays and objects carry the metatables json.array_mt / json.object_mt, so an
-- empty one encodes back as it came; json.array(t) and json.object(t) mark tables the same way.
-- An unmarked table encodes as an array when it is a non-empty sequence, else as an object.
local lpeg = require "lpeg"

local P, R, S, C, Cc, Ct, Cs, Cp, Cmt = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cc, lpeg.Ct, lpeg.Cs, lpeg.Cp,
  lpeg.Cmt

local M = {}

M.null = setmetatable({}, { __tostring = function() return "null" end, __name = "json.null" })
M.array_mt = { __name = "json.array" }
M.object_mt = { __name = "json.object" }

function M.array(t)
  return setmetatable(t or {}, M.array_mt)
end

function M.object(t)
  return setmetatable(t or {}, M.object_mt)
end

-- ---- decoding -------------------------------------------------------------------------------

-- A syntax error at byte `pos`: raised through lpeg.match, caught in decode.
local function fail_at(pos, what)
  error({ pos = pos, msg = what }, 0)
end

-- A pattern that matches nothing and raises "expected WHAT" where it is tried: the last
-- alternative of each choice, so the message names what the grammar wanted there.
local function expect(what)
  return Cmt(P(true), function(_, i) fail_at(i, "expected " .. what) end)
end

local ws = S(" \t\r\n") ^ 0
local digit = R("09")
local xdigit = R("09", "af", "AF")

-- Numbers: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; integers stay integers when Lua can
-- hold them exactly (tonumber gives a float past 2^63).
local int = P("-") ^ -1 * (P("0") + R("19") * digit ^ 0)
local frac = P(".") * (digit ^ 1 + expect("a digit after '.'"))
local exp = S("eE") * S("+-") ^ -1 * (digit ^ 1 + expect("a digit in the exponent"))
local number = C(int * frac ^ -1 * exp ^ -1) / tonumber

-- Strings: unescaped runs, simple escapes, and \uXXXX, where a high surrogate must be followed
-- by a low one (the pair is one code point) and a low one alone is an error. Inside Cs a
-- capture's value replaces only what it matched, so each escape's capture spans all of it.
local simple = { ['\\"'] = '"', ["\\\\"] = "\\", ["\\/"] = "/", ["\\b"] = "\b", ["\\f"] = "\f", ["\\n"] = "\n",
  ["\\r"] = "\r", ["\\t"] = "\t" }
local hex4 = C(xdigit * xdigit * xdigit * xdigit)
local uescape = Cmt(Cp() * P("\\u") * (hex4 + expect("four hex digits after \\u")), function(s, i, start, h)
  local c = tonumber(h, 16)
  if c >= 0xDC00 and c <= 0xDFFF then fail_at(start, "a low surrogate (\\u" .. h .. ") without a high one") end
  if c >= 0xD800 and c <= 0xDBFF then
    local lo = s:match("^\\u(%x%x%x%x)", i)
    local l = lo and tonumber(lo, 16)
    if not l or l < 0xDC00 or l > 0xDFFF then
      fail_at(start, "a high surrogate (\\u" .. h .. ") not followed by a low one")
    end
    return i + 6, utf8.char(0x10000 + (c - 0xD800) * 0x400 + (l - 0xDC00))
  end
  return i, utf8.char(c)
end)
local escape = uescape
  + (P("\\") * S('"\\/bfnrt')) / simple
  + P("\\") * expect("an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)")
local control = Cmt(R("\0\31"), function(_, i) fail_at(i - 1, "a control character in a string (escape it)") end)
local plain = (P(1) - S('"\\') - R("\0\31")) ^ 1
local str = P('"') * Cs((plain + escape + control) ^ 0) * (P('"') + expect("'\"' (the string is not closed)"))

local function object_of(list)
  local t = {}
  for i = 1, #list, 2 do t[list[i]] = list[i + 1] end
  return setmetatable(t, M.object_mt)
end

local function array_of(list)
  return setmetatable(list, M.array_mt)
end

local function empty_object()
  return setmetatable({}, M.object_mt)
end

local function empty_array()
  return setmetatable({}, M.array_mt)
end

local V = lpeg.V
local grammar = P {
  "document",
  document = ws * V("value") * ws * (P(-1) + expect("the end of the text")),
  value = V("object") + V("array") + str + number
    + P("true") * Cc(true) + P("false") * Cc(false) + P("null") * Cc(M.null)
    + expect("a value"),
  member = ws * (str + expect("a string key")) * ws * (P(":") + expect("':'")) * ws * V("value") * ws,
  object = P("{") * ws * (P("}") / empty_object
    + Ct(V("member") * (P(",") * V("member")) ^ 0) / object_of * (P("}") + expect("',' or '}'"))),
  element = ws * V("value") * ws,
  array = P("[") * ws * (P("]") / empty_array
    + Ct(V("element") * (P(",") * V("element")) ^ 0) / array_of * (P("]") + expect("',' or ']'"))),
}

-- "line L, column C" of byte offset pos (columns count bytes, from 1).
local function where(text, pos)
  local line, start = 1, 1
  for nl in text:sub(1, pos - 1):gmatch("()\n") do
    line, start = line + 1, nl + 1
  end
  return string.format("line %d, column %d", line, pos - start + 1)
end
M.where = where

function M.decode(text)
  if type(text) ~= "string" then return nil, "json: expected a string to decode, got " .. type(text) end
  -- JSON text is UTF-8: check it once here rather than byte by byte in the grammar
  local ok, bad = utf8.len(text)
  if not ok then return nil, where(text, bad) .. ": invalid UTF-8" end
  local res
  ok, res = pcall(lpeg.match, grammar, text)
  if ok then return res end
  if type(res) == "table" and res.pos then return nil, where(text, res.pos) .. ": " .. res.msg end
  -- LPeg's own limit on nesting (its backtrack stack) has no position
  return nil, "nested too deeply (" .. tostring(res) .. ")"
end

-- ---- encoding -------------------------------------------------------------------------------

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r",
  ["\t"] = "\\t" }

-- Bytes that are not UTF-8 become U+FFFD: the output must stay valid JSON whatever a server put
-- in an error message.
local function valid_utf8(s)
  if utf8.len(s) then return s end
  local out, i = {}, 1
  while i <= #s do
    local n, bad = utf8.len(s, i)
    if n then
      out[#out + 1] = s:sub(i)
      break
    end
    out[#out + 1] = s:sub(i, bad - 1) .. "\u{FFFD}"
    i = bad + 1
  end
  return table.concat(out)
end

local function quote(s)
  s = valid_utf8(s):gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end)
  return '"' .. s .. '"'
end

-- The shortest %g form that reads back as the same float.
local function float(x)
  if x ~= x or x == math.huge or x == -math.huge then error("json: cannot encode " .. tostring(x), 0) end
  for digits = 15, 17 do
    local s = string.format("%." .. digits .. "g", x)
    if tonumber(s) == x then return s end
  end
  return string.format("%.17g", x)
end

local function is_sequence(t)
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
    count = count + 1
  end
  return count == n
end

local encode

local function encode_table(t, out, seen)
  if seen[t] then error("json: cannot encode a table that contains itself", 0) end
  seen[t] = true
  local mt = getmetatable(t)
  if mt == M.array_mt or (mt ~= M.object_mt and is_sequence(t)) then
    out[#out + 1] = "["
    for i = 1, #t do
      if i > 1 then out[#out + 1] = "," end
      encode(t[i], out, seen)
    end
    out[#out + 1] = "]"
  else
    -- keys sorted, so the same value always gives the same text
    local keys = {}
    for k in pairs(t) do
      if type(k) == "number" then k = math.type(k) == "integer" and tostring(k) or float(k) end
      if type(k) ~= "string" then error("json: cannot encode a key of type " .. type(k), 0) end
      keys[#keys + 1] = k
    end
    table.sort(keys)
    out[#out + 1] = "{"
    for i, k in ipairs(keys) do
      if i > 1 then out[#out + 1] = "," end
      local v = t[k]
      if v == nil then v = t[tonumber(k)] end
      out[#out + 1] = quote(k) .. ":"
      encode(v, out, seen)
    end
    out[#out + 1] = "}"
  end
  seen[t] = nil
end

function encode(v, out, seen)
  local kind = type(v)
  if v == nil or v == M.null then
    out[#out + 1] = "null"
  elseif kind == "boolean" then
    out[#out + 1] = tostring(v)
  elseif kind == "number" then
    out[#out + 1] = math.type(v) == "integer" and string.format("%d", v) or float(v)
  elseif kind == "string" then
    out[#out + 1] = quote(v)
  elseif kind == "table" then
    encode_table(v, out, seen)
  else
    error("json: cannot encode a " .. kind, 0)
  end
end

function M.encode(v)
  local out = {}
  encode(v, out, {})
  return table.concat(out)
end

return M
