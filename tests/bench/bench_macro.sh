#!/usr/bin/env bash
# bench_macro: Macro Language queries through tt-gateway next to the same SQL in the sqlite3
# shell. Two queries over pub.demo.weather.hourly90 (scale 1, about a million rows): a tabu by
# one break, and a link to pub.demo.weather.stations. Prints a table; asserts nothing about
# speed.
#
# usage: tests/bench/bench_macro.sh
#   TT_BUILD_DIR=DIR   build tree holding tt-gateway (default: build/, made by scripts/build)
#
# gateway s: one api=query request timed with curl (compile + run into the session's result
# table; the reply carries the row count, not the rows). sqlite3 s: the compiler's SQL, with
# its parameters written in as literals, run by the sqlite3 shell with the rows sent to
# /dev/null. sqlite3 insert s: the same SQL run as the gateway runs it (INSERT into a temp
# table, nothing printed), for a like-for-like view. All best of 3.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=3
TABLE=pub.demo.weather.hourly90
declare -a NAMES=("tabu by id (120 groups)" "link to stations")
declare -a OPS=(
  '<tabu breaks="id"><tcol source="temp" fun="avg" name="avg_temp"/><tcol fun="cnt" name="n"/><tcol source="rain" fun="sum" name="rain"/></tabu>'
  '<link table2="pub.demo.weather.stations" col="id" cols="name,state"/>'
)

[[ -z ${TT_BUILD_DIR:-} ]] && { "$SOURCE_DIR/scripts/build" || die "scripts/build failed"; }
[[ -x $GATEWAY ]] || die "no $GATEWAY"
command -v sqlite3 >/dev/null || die "sqlite3 is not installed"
command -v lua5.4 >/dev/null || die "lua5.4 is not installed"
make_workdir
cd "$WORK"

"$GATEWAY" demo --db demo.db --scale 1 >/dev/null
cat >gateway.lua <<'EOF'
return { database = "demo.db", users = { { uid = "u", password = "p" } }, log_requests = false }
EOF

# sqlof.lua DB TABLE OPS [insert]: the compiler's SQL for OPS on TABLE, parameters inlined,
# resolving tables from DB's catalog like the gateway does (latest version of each name);
# with "insert", as the gateway runs it: into a temp table.
cat >sqlof.lua <<'EOF'
local macro = require "macro_source" -- ttgw.macro from the source tree
local db, tbl, ops = arg[1], arg[2], arg[3]
local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end
local function query(sql)
  local p = assert(io.popen(("sqlite3 -separator '\t' %s %s"):format(sh_quote(db), sh_quote(sql))))
  local rows = {}
  for line in p:lines() do
    local row = {}
    for f in (line .. "\t"):gmatch("([^\t]*)\t") do
      row[#row + 1] = f
    end
    rows[#rows + 1] = row
  end
  assert(p:close(), "sqlite3 failed")
  return rows
end
local function resolve(name)
  local t = query(("SELECT version, coalesce(title, '') FROM tt_catalog WHERE name = '%s'"
    .. " ORDER BY version DESC LIMIT 1"):format(name:gsub("'", "''")))[1]
  if not t then
    return nil
  end
  local cols = {}
  for _, c in ipairs(query("SELECT name, type FROM tt_columns WHERE version = " .. t[1] .. " ORDER BY pos")) do
    cols[#cols + 1] = { name = c[1], type = c[2] }
  end
  return { sql = "tt_v" .. t[1], columns = cols, title = t[2] }
end
local plan, err = macro.compile(ops, tbl, resolve)
if not plan then
  io.stderr:write("compile failed: ", err.msg, "\n")
  os.exit(1)
end
local function literal(v)
  if type(v) == "string" then
    return "'" .. v:gsub("'", "''") .. "'"
  elseif math.type(v) == "float" then
    local s = ("%.17g"):format(v)
    return s:find("[%.eEn]") and s or (s .. ".0")
  end
  return tostring(v)
end
local sql = plan.sql:gsub("%?(%d+)", function(d)
  return literal(plan.params[tonumber(d)])
end)
if arg[4] == "insert" then
  local cols = {}
  for i = 1, #plan.columns do
    cols[i] = "c" .. i
  end
  print(("CREATE TEMP TABLE res(%s);\nINSERT INTO temp.res %s;"):format(table.concat(cols, ","), sql))
else
  print(sql .. ";")
end
EOF

start_gateway gateway.lua
CURL=(curl -sS --noproxy '*')
reply=$("${CURL[@]}" "$GW_URL?api=login&apiversion=3&uid=u&pswd=p")
re='<rc>0</rc>.*<sid>([^<]+)</sid><pswd>([^<]+)</pswd>'
[[ $reply =~ $re ]] || die "login failed: $reply"
SESSION="apiversion=3&uid=u&sid=${BASH_REMATCH[1]}&pswd=${BASH_REMATCH[2]}"

# gateway_once OPS: one api=query; sets G_SECONDS and G_ROWS
gateway_once() {
  local t0 t1 body re='<rc>0</rc>.*nrows="([0-9]+)"'
  body="<in><name>$TABLE</name><ops>$1</ops></in>"
  t0=$EPOCHREALTIME
  "${CURL[@]}" -o query.xml -H 'Content-Type: text/xml' --data-binary "$body" "$GW_URL?api=query&$SESSION"
  t1=$EPOCHREALTIME
  reply=$(<query.xml)
  [[ $reply =~ $re ]] || die "query failed: ${reply:0:300}"
  G_ROWS=${BASH_REMATCH[1]}
  G_SECONDS=$(fsub "$t1" "$t0")
}

RESULTS=results.tsv
: >"$RESULTS"
for i in "${!OPS[@]}"; do
  ops=${OPS[$i]}
  LUA_PATH="$SOURCE_DIR/tests/support/?.lua;;" lua5.4 sqlof.lua demo.db "$TABLE" "$ops" >"q$i.sql"
  LUA_PATH="$SOURCE_DIR/tests/support/?.lua;;" lua5.4 sqlof.lua demo.db "$TABLE" "$ops" insert >"i$i.sql"
  sqlite_rows=$(sqlite3 demo.db <"q$i.sql" | wc -l)
  gw=() sq=() si=()
  for ((k = 0; k < RUNS; k++)); do
    gateway_once "$ops"
    gw+=("$G_SECONDS")
    t0=$EPOCHREALTIME
    sqlite3 demo.db <"q$i.sql" >/dev/null
    t1=$EPOCHREALTIME
    sq+=("$(fsub "$t1" "$t0")")
    t0=$EPOCHREALTIME
    sqlite3 demo.db <"i$i.sql" >/dev/null
    t1=$EPOCHREALTIME
    si+=("$(fsub "$t1" "$t0")")
  done
  ((G_ROWS == sqlite_rows)) || die "${NAMES[$i]}: the gateway made $G_ROWS rows, sqlite3 $sqlite_rows"
  printf '%s\t%s\t%s\t%s\t%s\n' "${NAMES[$i]}" "$G_ROWS" "$(fmin "${gw[@]}")" "$(fmin "${sq[@]}")" \
    "$(fmin "${si[@]}")" >>"$RESULTS"
done
stop_gateway

nrows=$(sqlite3 demo.db "SELECT nrows FROM tt_catalog WHERE name = '$TABLE' ORDER BY version DESC LIMIT 1")
echo "bench_macro: $TABLE, $nrows rows (demo scale 1); seconds: best of $RUNS"
awk -F'\t' '
  BEGIN {
    printf "%-24s | %9s | %9s | %7s | %16s | %7s | %s\n", "query", "gateway s", "sqlite3 s", "ratio",
      "sqlite3 insert s", "ratio", "result rows"
    printf "%s-+-%s-+-%s-+-%s-+-%s-+-%s-+-%s\n", "------------------------", "---------", "---------",
      "-------", "----------------", "-------", "-----------"
  }
  { printf "%-24s | %9.3f | %9.3f | %6.2fx | %16.3f | %6.2fx | %d\n", $1, $3, $4, $3 / $4, $5, $3 / $5, $2 }' \
  "$RESULTS"
for i in "${!OPS[@]}"; do
  echo "${NAMES[$i]}: ${OPS[$i]}"
done
echo "gateway: curl api=query (compile, run, rows into the session's result table, reply = row count)"
echo "sqlite3: sqlite3 demo.db < the compiler's SQL (parameters inlined), rows printed to /dev/null"
echo "sqlite3 insert: the same SQL as INSERT INTO a temp table, as the gateway runs it (ratio: gateway / it)"
