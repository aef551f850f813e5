-- A small reader for the well-formed XML the gateway sends back, for the tests only.
-- parse(text) -> root node { tag =, attrs = {}, children = {}, text = "" } or nil, err.
local M = {}

local entities = { lt = "<", gt = ">", amp = "&", quot = '"', apos = "'" }

local function decode(s)
  return (s:gsub("&(#?x?)(%w+);", function(kind, name)
    if kind == "" then return entities[name] end
    local code = kind == "#x" and tonumber(name, 16) or tonumber(name)
    return code and utf8.char(code)
  end))
end

local Node = {}
Node.__index = Node

-- First child element with this tag.
function Node:child(tag)
  for _, c in ipairs(self.children) do
    if c.tag == tag then return c end
  end
end

-- All child elements with this tag.
function Node:all(tag)
  local out = {}
  for _, c in ipairs(self.children) do
    if c.tag == tag then out[#out + 1] = c end
  end
  return out
end

-- Text of the first child with this tag (nil when absent).
function Node:get(tag)
  local c = self:child(tag)
  return c and c.text
end

-- First descendant (depth first) with this tag.
function Node:find(tag)
  for _, c in ipairs(self.children) do
    if c.tag == tag then return c end
    local d = c:find(tag)
    if d then return d end
  end
end

function M.parse(s)
  local pos = 1
  local root
  local stack = {}
  s = s:gsub("^%s*<%?xml.-%?>", "")
  while pos <= #s do
    local lt = s:find("<", pos, true)
    local text = s:sub(pos, (lt or #s + 1) - 1)
    if #stack > 0 and #text > 0 then
      local top = stack[#stack]
      top.text = top.text .. decode(text)
    end
    if not lt then break end
    if s:sub(lt, lt + 8) == "<![CDATA[" then
      local close = s:find("]]>", lt + 9, true)
      if not close then return nil, "unterminated CDATA" end
      if #stack > 0 then
        local top = stack[#stack]
        top.text = top.text .. s:sub(lt + 9, close - 1)
      end
      pos = close + 3
    elseif s:sub(lt, lt + 3) == "<!--" then
      local close = s:find("-->", lt + 4, true)
      if not close then return nil, "unterminated comment" end
      pos = close + 3
    elseif s:sub(lt + 1, lt + 1) == "/" then
      local tag, gt = s:match("^</([%w_:%.%-]+)%s*()>", lt)
      if not tag then return nil, "bad end tag at " .. lt end
      local top = table.remove(stack)
      if not top or top.tag ~= tag then return nil, "mismatched </" .. tag .. "> at " .. lt end
      pos = gt + 1
    else
      local tag, rest = s:match("^<([%w_:%.%-]+)()", lt)
      if not tag then return nil, "bad tag at " .. lt end
      local node = setmetatable({ tag = tag, attrs = {}, children = {}, text = "" }, Node)
      local p = rest
      while true do
        local name, q, after = s:match("^%s+([%w_:%.%-]+)%s*=%s*([\"'])()", p)
        if not name then break end
        local close = s:find(q, after, true)
        if not close then return nil, "unterminated attribute at " .. p end
        node.attrs[name] = decode(s:sub(after, close - 1))
        p = close + 1
      end
      local selfclose, gt = s:match("^%s*(/?)>()", p)
      if not gt then return nil, "bad tag end at " .. p end
      if #stack > 0 then
        local top = stack[#stack]
        top.children[#top.children + 1] = node
      elseif root then
        return nil, "two root elements"
      else
        root = node
      end
      if selfclose == "" then stack[#stack + 1] = node end
      pos = gt
    end
  end
  if #stack > 0 then return nil, "unclosed <" .. stack[#stack].tag .. ">" end
  if not root then return nil, "no element" end
  return root
end

return M
