-- Lenient XML reader for Macro Language op lists.
--
-- Real macros carry raw `<`, `>` (and sometimes `&`) inside attribute values, so an
-- attribute value simply runs to its closing quote. Everything else is ordinary XML:
-- elements, quoted attributes, entity references, comments, CDATA, processing
-- instructions (skipped). Positions are 1-based byte offsets into the input.

local M = {}

local NAMED = { lt = "<", gt = ">", amp = "&", quot = '"', apos = "'" }
local MAX_DEPTH = 200

-- error values are tables so callers can tell them from bugs
local function fail(pos, msg)
  error({ code = 10, msg = ("malformed XML at byte %d: %s"):format(pos, msg) }, 0)
end

-- Decode entity references. Unknown named references and a bare `&` are kept as
-- written (leniency); a numeric reference to an invalid code point is an error.
local function decode(s, pos)
  if not s:find("&", 1, true) then
    return s
  end
  return (s:gsub("&(#?[%w]+);", function(ref)
    if ref:sub(1, 1) ~= "#" then
      return NAMED[ref]
    end
    local cp
    if ref:match("^#[xX]%x+$") then
      cp = tonumber(ref:sub(3), 16)
    elseif ref:match("^#%d+$") then
      cp = tonumber(ref:sub(2))
    end
    if not cp or cp == 0 or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then
      fail(pos, ("bad character reference '&%s;'"):format(ref))
    end
    return utf8.char(cp)
  end))
end
M.decode = decode

local NAME_START = "^[%a_:]"
local NAME = "^[%a_:][%w_:%.%-]*"

-- Parse a fragment: zero or more elements with whitespace, comments and processing
-- instructions between them. Returns the list of top-level nodes (raises on error).
local function parse_fragment(src)
  local n = #src
  local pos = 1

  local function skip_ws()
    pos = src:find("[^ \t\r\n]", pos) or n + 1
  end

  -- at "<!--" or "<?": skip the construct; returns true when one was skipped
  local function skip_special()
    if src:sub(pos, pos + 3) == "<!--" then
      local e = src:find("-->", pos + 4, true)
      if not e then
        fail(pos, "unterminated comment")
      end
      pos = e + 3
      return true
    elseif src:sub(pos, pos + 1) == "<?" then
      local e = src:find("?>", pos + 2, true)
      if not e then
        fail(pos, "unterminated processing instruction")
      end
      pos = e + 2
      return true
    end
    return false
  end

  local parse_element

  -- element content up to the matching close tag; fills node.children / node.text
  local function parse_content(node, depth)
    local texts = {}
    while true do
      local lt = src:find("<", pos, true)
      if not lt then
        fail(node.pos, ("unclosed <%s>"):format(node.tag))
      end
      if lt > pos then
        texts[#texts + 1] = decode(src:sub(pos, lt - 1), pos)
      end
      pos = lt
      if skip_special() then -- luacheck: ignore 542
        -- comment or PI: nothing to keep
      elseif src:sub(pos, pos + 8) == "<![CDATA[" then
        local e = src:find("]]>", pos + 9, true)
        if not e then
          fail(pos, "unterminated CDATA section")
        end
        texts[#texts + 1] = src:sub(pos + 9, e - 1)
        pos = e + 3
      elseif src:sub(pos, pos + 1) == "</" then
        local name = src:match(NAME, pos + 2)
        if name ~= node.tag then
          fail(pos, ("expected </%s>"):format(node.tag))
        end
        pos = pos + 2 + #name
        skip_ws()
        if src:sub(pos, pos) ~= ">" then
          fail(pos, "expected '>'")
        end
        pos = pos + 1
        break
      elseif src:find(NAME_START, pos + 1) then
        local child = parse_element(depth + 1, #node.children + 1)
        node.children[#node.children + 1] = child
      else
        -- a `<` that starts nothing: keep it as text (leniency)
        texts[#texts + 1] = "<"
        pos = pos + 1
      end
    end
    node.text = table.concat(texts)
  end

  -- at "<name": one element with its attributes and content
  function parse_element(depth, index)
    if depth > MAX_DEPTH then
      fail(pos, "elements nested too deeply")
    end
    local start = pos
    local tag = src:match(NAME, pos + 1)
    pos = pos + 1 + #tag
    local node = { tag = tag, attrs = {}, attr_order = {}, children = {}, text = "",
                   index = index, pos = start }
    while true do
      local before = pos
      skip_ws()
      local c = src:sub(pos, pos)
      if c == "/" then
        if src:sub(pos + 1, pos + 1) ~= ">" then
          fail(pos, "expected '/>'")
        end
        pos = pos + 2
        return node
      elseif c == ">" then
        pos = pos + 1
        parse_content(node, depth)
        return node
      elseif c == "" then
        fail(start, ("unclosed <%s>"):format(tag))
      end
      local name = src:match(NAME, pos)
      if not name then
        fail(pos, ("unexpected '%s' in <%s>"):format(c, tag))
      end
      if pos == before then
        fail(pos, "expected whitespace before attribute")
      end
      local apos = pos
      pos = pos + #name
      skip_ws()
      if src:sub(pos, pos) ~= "=" then
        fail(pos, ("attribute '%s' has no value"):format(name))
      end
      pos = pos + 1
      skip_ws()
      local q = src:sub(pos, pos)
      if q ~= '"' and q ~= "'" then
        fail(pos, ("value of attribute '%s' must be quoted"):format(name))
      end
      local e = src:find(q, pos + 1, true)
      if not e then
        fail(pos, ("unterminated value of attribute '%s'"):format(name))
      end
      if node.attrs[name] ~= nil then
        fail(apos, ("duplicate attribute '%s'"):format(name))
      end
      node.attrs[name] = decode(src:sub(pos + 1, e - 1), pos + 1)
      node.attr_order[#node.attr_order + 1] = name
      pos = e + 1
    end
  end

  local nodes = {}
  while true do
    skip_ws()
    if pos > n then
      break
    end
    if not skip_special() then
      if src:sub(pos, pos) == "<" and src:find(NAME_START, pos + 1) then
        nodes[#nodes + 1] = parse_element(1, #nodes + 1)
      elseif src:sub(pos, pos + 1) == "</" then
        fail(pos, "unexpected closing tag")
      else
        fail(pos, "expected an element")
      end
    end
  end
  return nodes
end

-- Returns nodes, or nil and { code = 10, msg = ... }.
function M.parse(src)
  if type(src) ~= "string" then
    return nil, { code = 10, msg = "malformed XML at byte 1: ops text must be a string" }
  end
  local ok, res = pcall(parse_fragment, src)
  if ok then
    return res
  end
  if type(res) == "table" then
    return nil, res
  end
  error(res, 0)
end

return M
