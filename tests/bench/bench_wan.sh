#!/usr/bin/env bash
# bench_wan: pulls as users across a network feel them. tt-gateway holds every reply back 0 ms
# and then 50 ms (serve --latency), and these clients make the same 64 pulls of 10,000 rows of
# hourly90 through a SAM pool of 8:
#   tt-lua, 8 tasks    client_pulls.lua: tenten.pool of 8, tenten.parallel, q:write csv
#   tt-lua, 64 tasks   the same with 64 workers (56 wait in the pool's queue)
#   tt-lua, 8 tasks, CSV pages
#                      the 8-task line with the pool option pages = "csv": querydata asks for
#                      the <format type="csv" .../> page public clients ask for (the others
#                      read XML pages, the default)
#   xargs -P8 curl     wan_curl_pull.sh per pull, every exchange its own curl process
#   thread per pull    py1010_like.c: 64 threads at once, each with a libcurl easy handle, as a
#                      Python script drives py1010 (getuid again every WAIT s while busy)
# Columns: wall time of the whole client process (best of TT_BENCH_RUNS); exchanges per pull,
# in all and per transaction, from the gateway's own counts (samstatus <exchanges>) of that
# run; the round-trip lower bound ceil(64/8) x U x latency, U = 1 exchange a pull cannot avoid
# (a 10,000-row result fits one page, so querydata can bring it in one exchange; getuid, login
# and reluid can be amortized over a process's pulls); and wall / bound.
# The thread-per-pull client retries a busy getuid every 0.1 s here; py1010's default is 10 s,
# run once at each latency below the table (TT_BENCH_WAIT10=0 skips it: about a minute each).
# --latency delays replies only, not TCP connects, so clients that open a connection per
# exchange (curl) are flattered by it.
#
# usage: tests/bench/bench_wan.sh [--runs N]
#   TT_BENCH_RUNS=N          runs of each line, best shown (default 3)
#   TT_BENCH_LATENCIES="..." latencies in ms (default "0 50")
#   TT_BENCH_WAIT10=0|1      the extra py1010-default line (default 1)
#   TT_BENCH_DB=FILE         reuse this demo database (scale 1) instead of writing one
#   TT_BUILD_DIR=DIR         build tree holding tt-gateway, tt-lua (default: build/)
#   TT_BENCH_BASE=REV        also run the two XML tt-lua lines with tt-lua built from git
#                            revision REV (the "before" of a change), against the same gateway
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_runs "$@"
LATENCIES=${TT_BENCH_LATENCIES:-0 50}
WAIT10=${TT_BENCH_WAIT10:-1}

TABLE=pub.demo.weather.hourly90
OWNER=owner1
PASSWORD=secret1
GROUP=pool1
POOL_SIZE=8
PAGE_ROWS=50000 # the gateway's page_rows and tt-lua's default page
PULLS=64
PULL_ROWS=10000
WAIT=0.1        # seconds between busy getuids for curl and the thread-per-pull client
UNAVOIDABLE=1   # exchanges a pull cannot avoid (see the top)

build_targets tt-gateway tt-lua bench_py1010_like
PY1010=$BUILD_DIR/bench_py1010_like
command -v curl >/dev/null || die "curl is not installed"
make_workdir
BASE=${TT_BENCH_BASE:-}
[[ -n $BASE ]] && base_build "$BASE" tt-lua

demo_db
write_config "$WORK/gateway.lua" "$DB" "$POOL_SIZE" "$PAGE_ROWS"

export NO_PROXY='*' no_proxy='*'
export TT_USER=$OWNER TT_PASSWORD=$PASSWORD TT_GROUP=$GROUP
export OWNER PASSWORD GROUP TABLE PULL_ROWS PAGE_ROWS WAIT WORK
CURL=(curl -sS --noproxy '*')
NAMES=(total getuid login query getdata querydata reluid logout samstatus)

# counts: the gateway's exchange counts so far, in the order of NAMES, one line.
counts() {
  local reply attrs name vals=()
  reply=$("${CURL[@]}" "$GW_URL?apiversion=3&api=samstatus&uid=$OWNER&pswd=$PASSWORD&gid=$GROUP")
  [[ $reply =~ \<exchanges\ ([^/]*)/\> ]] || die "samstatus has no <exchanges>: ${reply:0:300}"
  attrs=" ${BASH_REMATCH[1]}"
  for name in "${NAMES[@]}"; do
    [[ $attrs =~ \ $name=\"([0-9]+)\" ]] || die "no $name in <exchanges$attrs/>"
    vals+=("${BASH_REMATCH[1]}")
  done
  echo "${vals[*]}"
}

# per_pull BEFORE AFTER: "exchanges/pull getuid login query getdata querydata reluid" per pull,
# leaving out the samstatus calls that read the counts.
per_pull() {
  awk -v b="$1" -v a="$2" -v n="$PULLS" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    for (i in y) d[i] = y[i] - x[i]
    printf "%.2f", (d[1] - d[9]) / n
    for (i = 2; i <= 7; i++) printf " %.2f", d[i] / n
    printf "\n"
  }'
}

# run_client NAME: one run of one client; sets ELAPSED, and checks every row arrived.
run_client() {
  local out=$WORK/client.out t0 t1 rows
  t0=$EPOCHREALTIME
  case $1 in
  lua8 | lua64 | lua8csv | base8 | base64)
    local bin=$TTLUA n=${1#lua} pages=xml
    [[ $1 == base* ]] && bin=$BASE_DIR/tt-lua n=${1#base}
    [[ $n == *csv ]] && n=${n%csv} pages=csv
    "$bin" "$BENCH_DIR/client_pulls.lua" "$n" write "$PULLS" "$PULL_ROWS" "$POOL_SIZE" "$pages" \
      >"$out" || die "tt-lua pulls failed ($1)"
    rows=$(awk '$1 == "rows" { print $2 }' "$out")
    ;;
  curl)
    seq 0 $((PULLS - 1)) | xargs -P "$POOL_SIZE" -n 1 "$BENCH_DIR/wan_curl_pull.sh" >"$out" ||
      die "a curl pull failed"
    rows=$(awk '{ r += $1 } END { print r }' "$out")
    ;;
  thread | thread10)
    local wait=$WAIT
    [[ $1 == thread10 ]] && wait=10
    "$PY1010" "$GW_URL" "$OWNER" "$PASSWORD" "$GROUP" "$TABLE" "$PULLS" "$PULL_ROWS" \
      "$PAGE_ROWS" "$wait" >"$out" || die "the thread-per-pull client failed"
    rows=$(awk '$1 == "rows" { print $2 }' "$out")
    ;;
  esac
  t1=$EPOCHREALTIME
  ELAPSED=$(fsub "$t1" "$t0")
  ((rows == PULLS * PULL_ROWS)) || die "$1: $rows rows, not $((PULLS * PULL_ROWS))"
}

CLIENTS=(lua8 lua64 lua8csv curl thread)
[[ -n $BASE ]] && CLIENTS=(base8 base64 "${CLIENTS[@]}")
declare -A LABEL=([lua8]="tt-lua, 8 tasks" [lua64]="tt-lua, 64 tasks"
  [lua8csv]="tt-lua, 8 tasks, CSV pages" [curl]="xargs -P8 curl"
  [base8]="tt-lua $BASE, 8 tasks" [base64]="tt-lua $BASE, 64 tasks"
  [thread]="thread per pull, wait 0.1 s" [thread10]="thread per pull, wait 10 s (1 run)")
declare -A BEST=() EXCH=()
ROWS_OUT=()

for ms in $LATENCIES; do
  [[ $ms =~ ^[0-9]+$ ]] || die "latency must be whole milliseconds: $ms"
  start_gateway "$WORK/gateway.lua" --latency "$ms"
  export TT_GATEWAY=$GW_URL GW_URL
  # Untimed warm-up: members logged in once, the rows in the page cache.
  run_client lua8
  lines=("${CLIENTS[@]}")
  [[ $WAIT10 == 1 ]] && lines+=(thread10)
  for ((r = 0; r < RUNS; r++)); do
    for c in "${lines[@]}"; do
      [[ $c == thread10 ]] && ((r > 0)) && continue
      before=$(counts)
      run_client "$c"
      after=$(counts)
      if [[ -z ${BEST[$ms.$c]:-} ]] || awk -v a="$ELAPSED" -v b="${BEST[$ms.$c]}" 'BEGIN { exit !(a < b) }'; then
        BEST[$ms.$c]=$ELAPSED
        EXCH[$ms.$c]=$(per_pull "$before" "$after")
      fi
    done
  done
  stop_gateway
  bound=$(awk -v p="$PULLS" -v s="$POOL_SIZE" -v u="$UNAVOIDABLE" -v ms="$ms" \
    'BEGIN { printf "%.2f", int((p + s - 1) / s) * u * ms / 1000 }')
  for c in "${lines[@]}"; do
    read -r ex gu li qu gd qd ru <<<"${EXCH[$ms.$c]}"
    ratio=$(awk -v w="${BEST[$ms.$c]}" -v b="$bound" 'BEGIN { if (b > 0) printf "%.1fx", w / b; else print "-" }')
    ROWS_OUT+=("$(printf '%4s  %-36s %7.2f  %6.2f   %4.2f %4.2f %4.2f %4.2f %4.2f %4.2f  %6s  %6s' \
      "$ms" "${LABEL[$c]}" "${BEST[$ms.$c]}" "$ex" "$gu" "$li" "$qu" "$gd" "$qd" "$ru" "$bound" "$ratio")")
  done
done

echo "WAN table: $PULLS pulls x $PULL_ROWS rows of $TABLE, SAM pool of $POOL_SIZE, page $PAGE_ROWS rows"
echo "(best of $RUNS; exchanges counted by the gateway; bound = ceil($PULLS/$POOL_SIZE) x $UNAVOIDABLE exchange x latency)"
echo
echo "exch/pull: all exchanges a pull cost; getu .. relu: getuid, login, query, getdata, querydata,"
echo "reluid per pull; bound in seconds"
echo
printf '%4s  %-36s %7s  %6s   %4s %4s %4s %4s %4s %4s  %6s  %6s\n' ms client "wall s" "exch" \
  getu logi qury getd qdat relu "bound" "/bound"
printf '%s\n' "${ROWS_OUT[@]}"
