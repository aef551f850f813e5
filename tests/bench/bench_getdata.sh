#!/usr/bin/env bash
# bench_getdata: how long it takes to pull a whole table out of tt-gateway with curl, page by
# page, next to sqlite3 reading the same rows straight from the file. Prints a table; asserts
# nothing about speed.
#
# usage: tests/bench/bench_getdata.sh [--page-rows N]
#   TT_BENCH_DB=FILE         reuse this demo database instead of writing one (scale 1)
#   TT_BENCH_PAGE_ROWS=N     page size (the gateway's page_rows and each <next>), default 50000
#   TT_BUILD_DIR=DIR         build tree holding tt-gateway (default: build/)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PAGE_ROWS=${TT_BENCH_PAGE_ROWS:-50000}
parse_args "--page-rows PAGE_ROWS" "$@"
[[ $PAGE_ROWS =~ ^[1-9][0-9]*$ ]] || die "page rows must be a whole number above 0"

TABLE=pub.demo.weather.hourly90
COLS=id,date,hour,temp,dewpt,rain
RUNS=3

build_targets tt-gateway
make_workdir

demo_db
VERSION=$(sqlite3 "$DB" \
  "select version from tt_catalog where name='$TABLE' order by version desc limit 1")
[[ -n $VERSION ]] || die "$DB has no $TABLE"
SQL="SELECT $COLS FROM tt_v$VERSION ORDER BY _r"

write_config "$WORK/gateway.lua" "$DB" 32 "$PAGE_ROWS"
start_gateway "$WORK/gateway.lua"

# Results, one line per measurement: what, rows, bytes, then the seconds of each run.
RESULTS=$WORK/results.tsv
: >"$RESULTS"
record() {
  local IFS=$'\t'
  echo "$*" >>"$RESULTS"
}

# ---- sqlite3 straight from the file --------------------------------------------------------
# Its output size is measured outside the timed runs, which write to /dev/null.
sqlite_bytes=$(sqlite3 "$DB" "$SQL" | wc -c)
sqlite_rows=$(sqlite3 "$DB" "SELECT count(*) FROM tt_v$VERSION")
times=()
for ((i = 0; i < RUNS; i++)); do
  t0=$EPOCHREALTIME
  sqlite3 "$DB" "$SQL" >/dev/null
  t1=$EPOCHREALTIME
  times+=("$(fsub "$t1" "$t0")")
done
record "sqlite3 CLI, same rows" "$sqlite_rows" "$sqlite_bytes" "${times[@]}"

# ---- the gateway -----------------------------------------------------------------------------
CURL=(curl -sS --noproxy '*')
XML_HEADER='Content-Type: text/xml'

reply=$("${CURL[@]}" "$GW_URL?api=login&apiversion=3&uid=owner1&pswd=secret1&kill=yes")
re='<rc>0</rc>.*<sid>([^<]+)</sid><pswd>([^<]+)</pswd>'
[[ $reply =~ $re ]] || die "login failed: $reply"
SESSION="apiversion=3&uid=owner1&sid=${BASH_REMATCH[1]}&pswd=${BASH_REMATCH[2]}"

# run_query: a fresh query, which also rewinds the page cursor; sets Q_SECONDS, Q_BYTES, NROWS.
run_query() {
  local t0 t1 reply re='<rc>0</rc><msg>[^<]*</msg><table [^>]*nrows="([0-9]+)"'
  t0=$EPOCHREALTIME
  Q_BYTES=$("${CURL[@]}" -o "$WORK/query.xml" -w '%{size_download}' -H "$XML_HEADER" \
    --data-binary "<in><name>$TABLE</name><ops></ops></in>" "$GW_URL?api=query&$SESSION")
  t1=$EPOCHREALTIME
  Q_SECONDS=$(fsub "$t1" "$t0")
  reply=$(<"$WORK/query.xml")
  [[ $reply =~ $re ]] || die "query failed: ${reply:0:300}"
  NROWS=${BASH_REMATCH[1]}
}

# page_body FORMAT: the getdata request for the next page, as XML or CSV.
page_body() {
  local fmt=
  [[ $1 == csv ]] && fmt='<format type="csv"/>'
  printf '<in><rows mode="1"><next>%s</next></rows>%s</in>' "$PAGE_ROWS" "$fmt"
}

# pages_curl_each FORMAT: one curl process per page until the empty page, as a user's shell
# script would do it; sets P_SECONDS, P_BYTES, P_ROWS.
#
# Each page goes to a pipe where `head -c 120` keeps the start of the reply (rc and msg "N rows"
# are there) and `tail -c 32` drains the rest without storing it, keeping only curl's trailer
# with the body size. That costs two small processes and a pipe copy per page, cheap next to
# rendering the page, and much cheaper than parsing it.
pages_curl_each() {
  local body t0 t1 out n pages=0 max
  local re_msg='<rc>0</rc><msg>([0-9]+) rows</msg>' re_size='@@([0-9]+)$'
  body=$(page_body "$1")
  max=$((NROWS / PAGE_ROWS + 3))
  P_BYTES=0 P_ROWS=0
  t0=$EPOCHREALTIME
  while :; do
    out=$("${CURL[@]}" -w '\n@@%{size_download}' -H "$XML_HEADER" --data-binary "$body" \
      "$GW_URL?api=getdata&$SESSION" | { head -c 120 && tail -c 32; })
    [[ $out =~ $re_msg ]] || die "getdata failed: ${out:0:200}"
    n=${BASH_REMATCH[1]}
    [[ $out =~ $re_size ]] || die "getdata: no size trailer in: ${out:0:200}"
    P_BYTES=$((P_BYTES + BASH_REMATCH[1]))
    P_ROWS=$((P_ROWS + n))
    ((n > 0)) || break
    (((pages += 1) <= max)) || die "getdata: more pages than $NROWS rows can fill"
  done
  t1=$EPOCHREALTIME
  P_SECONDS=$(fsub "$t1" "$t0")
  ((P_ROWS == NROWS)) || die "getdata returned $P_ROWS rows, the query said $NROWS"
}

# pages_curl_once FORMAT: the same pages from a single curl process given every page in a
# config file (one transfer after another on one kept-alive connection). Without the process
# start-ups and new connections this is close to the gateway's own cost per page. The end is
# checked, not detected: the last transfer, one past the pages the row count needs, must be the
# empty page, which proves the cursor reached the end. Sets P_SECONDS, P_BYTES, P_ROWS.
pages_curl_once() {
  local body npages i cfg=$WORK/pages.curlrc last=$WORK/last-page.xml sizes t0 t1 reply
  body=$(page_body "$1")
  body=${body//\"/\\\"}
  npages=$(((NROWS + PAGE_ROWS - 1) / PAGE_ROWS + 1))
  {
    echo 'silent'
    echo 'show-error'
    for ((i = 1; i <= npages; i++)); do
      echo "url = \"$GW_URL?api=getdata&$SESSION\""
      echo 'noproxy = "*"'
      echo "header = \"$XML_HEADER\""
      echo "data-binary = \"$body\""
      # shellcheck disable=SC2028 # the \n is for curl to expand, not echo
      echo 'write-out = "%{http_code} %{size_download}\n"'
      if ((i < npages)); then
        echo 'output = "/dev/null"'
        echo 'next'
      else
        echo "output = \"$last\""
      fi
    done
  } >"$cfg"
  t0=$EPOCHREALTIME
  sizes=$(curl -K "$cfg")
  t1=$EPOCHREALTIME
  P_SECONDS=$(fsub "$t1" "$t0")
  reply=$(<"$last")
  [[ $reply == *'<rc>0</rc><msg>0 rows</msg>'* ]] || die "the last page is not empty: ${reply:0:200}"
  read -r P_BYTES < <(awk '$1 != 200 { bad = 1 } { s += $2 } END { print bad ? -1 : s }' <<<"$sizes")
  ((P_BYTES >= 0)) || die "a getdata transfer did not return HTTP 200"
  P_ROWS=$NROWS
}

# measure LABEL FUNCTION FORMAT: best of RUNS, each after a fresh (untimed here) query.
measure() {
  local label=$1 fn=$2 fmt=$3 i times=()
  for ((i = 0; i < RUNS; i++)); do
    run_query
    "$fn" "$fmt"
    times+=("$P_SECONDS")
  done
  record "$label" "$P_ROWS" "$P_BYTES" "${times[@]}"
}

times=()
for ((i = 0; i < RUNS; i++)); do
  run_query
  times+=("$Q_SECONDS")
done
record "gateway query (curl)" "$NROWS" "$Q_BYTES" "${times[@]}"

measure "getdata XML, curl per page" pages_curl_each xml
measure "getdata CSV, curl per page" pages_curl_each csv
measure "getdata XML, 1 curl all pages" pages_curl_once xml
measure "getdata CSV, 1 curl all pages" pages_curl_once csv

stop_gateway

# ---- the table -------------------------------------------------------------------------------
pages=$(((NROWS + PAGE_ROWS - 1) / PAGE_ROWS))
echo "getdata: $TABLE, $NROWS rows, page_rows $PAGE_ROWS ($pages pages + the empty one)"
echo "seconds: best of $RUNS runs (all $RUNS listed); MB: 10^6 bytes of output / reply bodies"
awk -F'\t' '
  function min3(a, b, c) { m = a; if (b < m) m = b; if (c < m) m = c; return m }
  function dashes(n) { d = ""; while (n-- > 0) d = d "-"; return d }
  BEGIN {
    printf "%-30s | %7s | %9s | %6s | %10s | %s\n",
      "what", "seconds", "rows/s", "MB", "vs sqlite3", "runs (s)"
    printf "%s-+-%s-+-%s-+-%s-+-%s-+-%s\n",
      dashes(30), dashes(7), dashes(9), dashes(6), dashes(10), dashes(17)
  }
  {
    best = min3($4, $5, $6)
    if (NR == 1) base = best
    printf "%-30s | %7.3f | %9.0f | %6.1f | %9.2fx | %.3f %.3f %.3f\n",
      $1, best, $2 / best, $3 / 1e6, best / base, $4, $5, $6
  }' "$RESULTS"
echo "sqlite3 CLI: sqlite3 FILE \"$SQL\" > /dev/null"
echo "curl per page: a new curl process and connection for every page, as a shell script does;"
echo "1 curl all pages: one curl, one kept-alive connection, every page in a config file."
echo "The query row is the query alone (its rows/s: rows materialised per second)."
