-- Scalar functions of value expressions: one entry per function.
--
-- Entry fields:
--   args            exact argument count (or min / max for a range)
--   list_ok[i]      argument i may be a space-separated list of literals
--   empty_ok[i]     argument i may be omitted (g_ functions later)
--   compile(c, args, node) -> { sql, t, nn, bool }   (see sql.lua)
-- The compiler checks the count, omitted and list arguments before compile runs.
-- c:expr(node, hint) compiles an argument; c:pair(a, b) compiles two that meet each
-- other (a quoted date beside an integer becomes YYYYMMDD).
-- tt_pow, tt_mod and tt_floor are scalar functions the gateway registers.
-- Group (g_) functions are defined in ttgw.macro.gfuncs and added to this table.

local F = {}

local function name_of(node)
  return "'" .. node.name:lower() .. "'"
end

-- 1 if the argument is 1, else the other branch (also when the condition is N/A)
F["if"] = {
  args = 3,
  compile = function(c, a, node)
    local cond = c:want_num(c:expr(a[1]), "argument 1 of 'if'", a[1].pos)
    local x, y = c:pair(a[2], a[3])
    local t = c:common(x, y, "'if'", node.pos)
    -- an if in the else branch joins this CASE instead of nesting (bucketing chains)
    local whens = { "WHEN " .. c:cond(cond) .. " THEN " .. x.sql }
    local last = y.sql
    if y.whens then
      table.move(y.whens, 1, #y.whens, 2, whens)
      last = y.last
    end
    return {
      sql = ("CASE %s ELSE %s END"):format(table.concat(whens, " "), last),
      whens = whens, last = last,
      t = t, nn = x.nn and y.nn, bool = x.bool and y.bool,
    }
  end,
}

-- inclusive; N/A in any argument gives 0
F.between = {
  args = 3,
  compile = function(c, a, node)
    local x = c:expr(a[1])
    local lo, hi = c:expr(a[2], x.t), c:expr(a[3], x.t)
    c:common(x, lo, "'between'", node.pos)
    c:common(x, hi, "'between'", node.pos)
    local core = ("%s BETWEEN %s AND %s"):format(x.sql, lo.sql, hi.sql)
    local sql = (x.nn and lo.nn and hi.nn) and ("(" .. core .. ")") or ("coalesce(" .. core .. ", 0)")
    return { sql = sql, t = "i", nn = true, bool = true, w = "(" .. core .. ")" }
  end,
}

-- text tests: case-sensitive, binary, no pattern characters (instr/substr, never LIKE);
-- Y may be a list (any item matches); N/A X gives 0, an N/A item never matches
local function text_test(build)
  return {
    args = 2,
    list_ok = { [2] = true },
    compile = function(c, a, node)
      local what = "argument 1 of " .. name_of(node)
      local x = c:want_text(c:expr(a[1]), what, a[1].pos)
      local items = a[2].k == "list" and a[2].items or { a[2] }
      local tests, nn = {}, x.nn
      for _, item in ipairs(items) do
        local y = c:want_text(c:expr(item), "argument 2 of " .. name_of(node), item.pos)
        nn = nn and y.nn
        tests[#tests + 1] = build(x.sql, y.sql)
      end
      local w = "(" .. table.concat(tests, " OR ") .. ")"
      local sql = nn and w or ("coalesce(" .. w .. ", 0)")
      return { sql = sql, t = "i", nn = true, bool = true, w = w }
    end,
  }
end

F.contains = text_test(function(x, y)
  return ("instr(%s, %s) > 0"):format(x, y)
end)
F.beginswith = text_test(function(x, y)
  return ("instr(%s, %s) = 1"):format(x, y)
end)
F.endswith = text_test(function(x, y)
  return ("substr(%s, - length(%s)) = %s"):format(x, y, y)
end)

F.abs = {
  args = 1,
  compile = function(c, a)
    local x = c:want_num(c:expr(a[1]), "argument 1 of 'abs'", a[1].pos)
    return { sql = "abs(" .. x.sql .. ")", t = x.t, nn = x.nn }
  end,
}

-- element-wise; SQLite's two-argument min/max give NULL when either is NULL
local function minmax(fn)
  return {
    args = 2,
    compile = function(c, a, node)
      local x, y = c:pair(a[1], a[2])
      local t = c:common(x, y, "'" .. fn .. "'", node.pos)
      return { sql = ("%s(%s, %s)"):format(fn, x.sql, y.sql), t = t, nn = x.nn and y.nn }
    end,
  }
end
F.min = minmax("min")
F.max = minmax("max")

F.mod = {
  args = 2,
  compile = function(c, a)
    local x = c:want_num(c:expr(a[1]), "argument 1 of 'mod'", a[1].pos)
    local y = c:want_num(c:expr(a[2]), "argument 2 of 'mod'", a[2].pos)
    local t = "f"
    if x.t ~= "f" and y.t ~= "f" then
      t = (x.t == "j" or y.t == "j") and "j" or "i"
    end
    return { sql = ("tt_mod(%s, %s)"):format(x.sql, y.sql), t = t, nn = false }
  end,
}

-- floor; an integer argument is already its own floor
F.int = {
  args = 1,
  compile = function(c, a)
    local x = c:want_num(c:expr(a[1]), "argument 1 of 'int'", a[1].pos)
    if x.t ~= "f" then
      return { sql = x.sql, t = x.t == "j" and "j" or "i", nn = x.nn }
    end
    return { sql = "tt_floor(" .. x.sql .. ")", t = "i", nn = x.nn }
  end,
}

F.lowercase = {
  args = 1,
  compile = function(c, a)
    local x = c:want_text(c:expr(a[1]), "argument 1 of 'lowercase'", a[1].pos)
    return { sql = "lower(" .. x.sql .. ")", t = "a", nn = x.nn }
  end,
}

-- dates are YYYYMMDD integers; a quoted m/d/y argument counts as one
F.year = {
  args = 1,
  compile = function(c, a)
    local d = c:want_int(c:expr(a[1], "i"), "argument 1 of 'year'", a[1].pos)
    return { sql = "(" .. d.sql .. " / 10000)", t = "i", nn = d.nn }
  end,
}

F.month = {
  args = 1,
  compile = function(c, a)
    local d = c:want_int(c:expr(a[1], "i"), "argument 1 of 'month'", a[1].pos)
    return { sql = "((" .. d.sql .. " / 100) % 100)", t = "i", nn = d.nn }
  end,
}

for name, entry in pairs(require("ttgw.macro.gfuncs").entries) do
  F[name] = entry
end

return F
