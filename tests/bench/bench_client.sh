#!/usr/bin/env bash
# bench_client: the tenten Lua client (tt-lua) against a local tt-gateway, beside curl doing the
# same HTTP exchanges, all in one run. Prints four tables; asserts nothing about speed.
#   1. 64 pulls of 10,000 rows through a SAM pool of 8: tt-lua (tenten.pool, tenten.parallel
#      with 64 or 8 workers, q:write or q:rows) beside xargs -P 8 running one shell function
#      per pull, every exchange its own curl (getuid, login, query, getdata, reluid).
#   2. Handoff: from one task's s:close() to the next waiting task's p:session() returning,
#      pools of 1 and 2, beside the same gap through the gateway (reluid, getuid, login).
#   3. A million rows (hourly90, pages of 50,000): q:rows(), q:write csv and tsv beside one
#      curl fetching the same pages; rows/s and peak RSS.
#   4. 10,000 tasks waiting on a pool of 8: memory per waiting task, time to get through.
#
# usage: tests/bench/bench_client.sh [--runs N]
#   TT_BENCH_RUNS=N    runs of each timed line in tables 1 and 3, best shown (default 3)
#   TT_BENCH_DB=FILE   reuse this demo database (scale 1) instead of writing one
#   TT_BUILD_DIR=DIR   build tree holding tt-gateway and tt-lua (default: build/)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_runs "$@"

TABLE=pub.demo.weather.hourly90
OWNER=owner1
PASSWORD=secret1
GROUP=pool1
POOL_SIZE=8          # the gateway's group and tt-lua's pool
PAGE_ROWS=50000      # the gateway's page_rows and the client's q.page_rows
PULLS=64             # table 1
PULL_ROWS=10000
HANDOFF_TASKS=200    # table 2: tasks per round, rounds pooled
HANDOFF_ROUNDS=5
WAITERS=10000        # table 4
HOLD=0.001           # seconds each holder keeps its ID in table 4
XML='Content-Type: text/xml'

build_targets tt-gateway tt-lua
command -v curl >/dev/null || die "curl is not installed"
command -v xargs >/dev/null || die "xargs is not installed"
need_gnu_time "the peak RSS columns"
make_workdir

demo_db

# Like lib.sh's write_config, but with the request log on: it is how the tables count the
# HTTP exchanges each side really made. Both sides pay for the log line alike.
cat >"$WORK/gateway.lua" <<EOF
return {
  database = $(lua_string "$DB"),
  users = { { uid = "$OWNER", password = "$PASSWORD" } },
  groups = { { gid = "$GROUP", owner = "$OWNER", size = $POOL_SIZE } },
  page_rows = $PAGE_ROWS,
  log_requests = true,
}
EOF
start_gateway "$WORK/gateway.lua"
GW_LOG=$WORK/gateway.err

# tt-lua takes the gateway and credentials from the environment (docs/api.md). Its libcurl
# reads proxy settings from there too: NO_PROXY='*' keeps it direct, as --noproxy '*' does curl.
export TT_GATEWAY=$GW_URL TT_USER=$OWNER TT_PASSWORD=$PASSWORD TT_GROUP=$GROUP
export NO_PROXY='*' no_proxy='*'
CURL=(curl -sS --noproxy '*')

# exchanges: "N (api n, api n, ...)" for the log lines the gateway wrote since line $1. The log
# line of the last request may trail its reply by a moment, hence the short pause first.
log_mark() { wc -l <"$GW_LOG"; }
exchanges() {
  sleep 0.1
  tail -n +"$(($1 + 1))" "$GW_LOG" | awk '
    match($0, / api=[a-z]+ /) { api = substr($0, RSTART + 5, RLENGTH - 6); n[api]++; t++ }
    END {
      split("getuid login query getdata reluid", order, " ")
      s = ""
      for (i = 1; i <= 5; i++) if (n[order[i]]) { s = s sep order[i] " " n[order[i]]; sep = ", "; delete n[order[i]] }
      for (a in n) { s = s sep a " " n[a]; sep = ", " }
      printf "%d (%s)\n", t, s
    }'
}

# kv FILE KEY: the value of a "key value" line a Lua script printed.
kv() { awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1" || die "no $2 in $1"; }

# lua_run OUT SCRIPT ARGS...: tt-lua on a script of this directory, output to OUT, its peak RSS
# (kB) to OUT.rss; sets ELAPSED to the wall time of the whole process.
lua_run() {
  local out=$1 script=$BENCH_DIR/$2 t0 t1
  shift 2
  t0=$EPOCHREALTIME
  /usr/bin/time -f %M -o "$out.rss" "$TTLUA" "$script" "$@" >"$out" || die "tt-lua $script $* failed"
  t1=$EPOCHREALTIME
  ELAPSED=$(fsub "$t1" "$t0")
}

# ---- table 1: 64 pulls of 10,000 rows through a pool of 8 ------------------------------------

# pull_ops K: the selection of pull K (0-based), the same text client_pulls.lua sends: rows
# K*10000+1 .. (K+1)*10000 as one sel on the row number (why one sel: see client_pulls.lua).
pull_ops() {
  printf '<sel value="i_>%d &amp; i_<=%d"/>' $(($1 * PULL_ROWS)) $((($1 + 1) * PULL_ROWS))
}

# curl_pull K: pull K as a shell script would do it, each exchange its own curl process:
# getuid (again after 10 ms on rc 38), login kill=possess, query, getdata over the row windows
# tt-lua asks for, reluid. Prints "rows bytes busy-retries". Runs in a fresh bash under xargs,
# so it checks every step itself instead of relying on set -e.
curl_pull() {
  local k=$1 gw="$GW_URL?apiversion=3" reply uid auth head size at=0 end rows=0 bytes=0 busy=0
  local page=$WORK/pull-$k.xml
  local -a c=(curl -sS --noproxy '*')
  local re_uid='<rc>0</rc>.*<uid>([^<]+)</uid>' re_login='<rc>0</rc>.*<sid>([^<]+)</sid><pswd>([^<]+)</pswd>'
  local re_nrows='<rc>0</rc>.* nrows="([0-9]+)"' re_page='<rc>0</rc><msg>([0-9]+) rows</msg>'
  while :; do
    reply=$("${c[@]}" "$gw&api=getuid&uid=$OWNER&pswd=$PASSWORD&gid=$GROUP") || return 1
    [[ $reply =~ $re_uid ]] && break
    [[ $reply == *'<rc>38</rc>'* ]] || { echo "pull $k: getuid: $reply" >&2 && return 1; }
    busy=$((busy + 1))
    sleep 0.01
  done
  uid=${BASH_REMATCH[1]}
  reply=$("${c[@]}" "$gw&api=login&uid=$uid&pswd=$PASSWORD&kill=possess") || return 1
  [[ $reply =~ $re_login ]] || { echo "pull $k: login: $reply" >&2 && return 1; }
  auth="uid=$uid&sid=${BASH_REMATCH[1]}&pswd=${BASH_REMATCH[2]}"
  reply=$("${c[@]}" -H "$XML" --data-binary "<in><name>$TABLE</name><ops>$(pull_ops "$k")</ops></in>" \
    "$gw&api=query&$auth") || return 1
  if ! { [[ $reply =~ $re_nrows ]] && ((BASH_REMATCH[1] == PULL_ROWS)); }; then
    echo "pull $k: query: ${reply:0:300}" >&2
    return 1
  fi
  while ((at < PULL_ROWS)); do
    end=$((at + PAGE_ROWS < PULL_ROWS ? at + PAGE_ROWS : PULL_ROWS))
    size=$("${c[@]}" -o "$page" -w '%{size_download}' -H "$XML" \
      --data-binary "<in><rows mode=\"2\"><start>$at</start><end>$end</end></rows></in>" \
      "$gw&api=getdata&$auth") || return 1
    # The reply starts with its row count; read -N is a builtin, so checking costs no process.
    read -r -N 200 head <"$page" || true
    if ! { [[ $head =~ $re_page ]] && ((BASH_REMATCH[1] == end - at)); }; then
      echo "pull $k: getdata: ${head:0:200}" >&2
      return 1
    fi
    rows=$((rows + end - at)) bytes=$((bytes + size)) at=$end
  done
  rm -f -- "$page"
  reply=$("${c[@]}" "$gw&api=reluid&$auth&gid=$GROUP") || return 1
  [[ $reply == *'<rc>0</rc>'* ]] || { echo "pull $k: reluid: $reply" >&2 && return 1; }
  echo "$rows $bytes $busy"
}
export -f curl_pull pull_ops
export GW_URL WORK TABLE OWNER PASSWORD GROUP PULL_ROWS PAGE_ROWS XML

T1=$WORK/table1.tsv
: >"$T1"
declare -A T1_SECS=() T1_EXCH=() T1_RSS=()

# curl_pulls: one xargs -P 8 run of every pull; sets ELAPSED.
curl_pulls() {
  local out=$WORK/curl-pulls.out t0 t1 n rows
  t0=$EPOCHREALTIME
  # shellcheck disable=SC2016 # $1 is for the bash that xargs starts
  seq 0 $((PULLS - 1)) | xargs -P "$POOL_SIZE" -n 1 bash -c 'curl_pull "$1"' curl_pull >"$out" ||
    die "a curl pull failed"
  t1=$EPOCHREALTIME
  ELAPSED=$(fsub "$t1" "$t0")
  read -r n rows < <(awk '{ n++; r += $1 } END { print n, r }' "$out")
  ((n == PULLS && rows == PULLS * PULL_ROWS)) || die "curl pulls: $n pulls, $rows rows"
}

# t1_record KEY SECONDS EXCHANGES RSS: one run of one line of table 1.
t1_record() {
  T1_SECS[$1]+="$2 "
  T1_EXCH[$1]=$3 T1_RSS[$1]=$4
}

# Untimed warm-up: every member gets a session on the gateway and the rows are in the page
# cache, so neither side pays for a first login or a cold file.
curl_pulls
lua_run "$WORK/warm.out" client_pulls.lua "$POOL_SIZE" write "$PULLS" "$PULL_ROWS" "$POOL_SIZE"

T1_LINES=("curl" "lua c64 write" "lua c8 write" "lua c64 rows" "lua c8 rows")
for ((r = 0; r < RUNS; r++)); do
  mark=$(log_mark)
  curl_pulls
  t1_record curl "$ELAPSED" "$(exchanges "$mark")" -
  for line in "${T1_LINES[@]:1}"; do
    read -r _ conc mode <<<"$line"
    mark=$(log_mark)
    lua_run "$WORK/pulls.out" client_pulls.lua "${conc#c}" "$mode" "$PULLS" "$PULL_ROWS" "$POOL_SIZE"
    rows=$(kv "$WORK/pulls.out" rows)
    ((rows == PULLS * PULL_ROWS)) || die "tt-lua pulls: $rows rows"
    t1_record "$line" "$ELAPSED" "$(exchanges "$mark")" "$(<"$WORK/pulls.out.rss")"
  done
done

# ---- table 2: handoff latency ---------------------------------------------------------------

lua_run "$WORK/handoff1.out" client_handoff.lua 1 "$HANDOFF_TASKS" "$HANDOFF_ROUNDS"
lua_run "$WORK/handoff2.out" client_handoff.lua 2 "$HANDOFF_TASKS" "$HANDOFF_ROUNDS"

# ---- table 3: a million rows ----------------------------------------------------------------

# A member session for curl, as tt-lua's own pulls use, and the query's row count (lib.sh).
member_session
big_query
[[ -n ${TT_BENCH_DB:-} ]] || ((NROWS == 1051200)) || die "hourly90 at scale 1 should have 1051200 rows, not $NROWS"

# Untimed check of what the pages hold: every page must carry exactly its window's rows. The
# timed runs then write to /dev/null and must see the same status and size for every page.
mkdir "$WORK/pages"
pages_config "$WORK/pages/page-%d" >"$WORK/check.curlrc"
curl -K "$WORK/check.curlrc" >"$WORK/pages.sizes"
for ((i = 0; i < NPAGES; i++)); do
  read -r -N 200 head <"$WORK/pages/page-$i" || true
  want=$((i + 1 < NPAGES ? PAGE_ROWS : NROWS - i * PAGE_ROWS))
  if ! { [[ $head =~ \<rc\>0\</rc\>\<msg\>([0-9]+)\ rows\</msg\> ]] && ((BASH_REMATCH[1] == want)); }; then
    die "page $i: want $want rows, got: ${head:0:200}"
  fi
done
rm -rf -- "$WORK/pages"
awk '$1 != 200 { exit 1 }' "$WORK/pages.sizes" || die "a getdata page was not HTTP 200"
PAGES_BYTES=$(awk '{ s += $2 } END { print s }' "$WORK/pages.sizes")
pages_config /dev/null >"$WORK/pages.curlrc"

T3_LINES=("curl: 1 process, every page" "tt-lua: for row in q:rows()" "tt-lua: q:write csv" "tt-lua: q:write tsv")
declare -A T3_SECS=() T3_BYTES=() T3_RSS=() T3_QUERY=()
for ((r = 0; r < RUNS; r++)); do
  big_query
  t0=$EPOCHREALTIME
  /usr/bin/time -f %M -o "$WORK/curl.rss" curl -K "$WORK/pages.curlrc" >"$WORK/run.sizes" || die "curl pages failed"
  t1=$EPOCHREALTIME
  cmp -s "$WORK/run.sizes" "$WORK/pages.sizes" || die "the pages differ from the checked ones"
  line=${T3_LINES[0]}
  T3_SECS[$line]+="$(fsub "$t1" "$t0") " T3_BYTES[$line]=$PAGES_BYTES T3_RSS[$line]=$(<"$WORK/curl.rss")
  for line in "${T3_LINES[@]:1}"; do
    mode=${line##* }
    [[ $mode == "q:rows()" ]] && mode=rows
    lua_run "$WORK/stream.out" client_stream.lua "$mode" "$NROWS" "$PAGE_ROWS"
    T3_SECS[$line]+="$(kv "$WORK/stream.out" seconds) "
    T3_QUERY[$line]+="$(kv "$WORK/stream.out" query_seconds) "
    T3_BYTES[$line]=$(kv "$WORK/stream.out" bytes) T3_RSS[$line]=$(<"$WORK/stream.out.rss")
  done
done
"${CURL[@]}" "$GW_URL?api=reluid&$MEMBER_AUTH&gid=$GROUP" >/dev/null

# ---- table 4: 10,000 waiting tasks ----------------------------------------------------------

lua_run "$WORK/waiters.out" client_waiters.lua pool "$WAITERS" "$POOL_SIZE" "$HOLD"
lua_run "$WORK/waiters0.out" client_waiters.lua pool "$WAITERS" "$POOL_SIZE" 0
lua_run "$WORK/sleepers.out" client_waiters.lua sleep "$WAITERS"
WAITING=$(kv "$WORK/waiters.out" waiting)
((WAITING == WAITERS - POOL_SIZE)) ||
  die "only $WAITING tasks were waiting, not $((WAITERS - POOL_SIZE))"

stop_gateway

# ---- the tables -----------------------------------------------------------------------------

# best SECONDS...: the smallest; runs SECONDS...: all of them, 3 decimals.
best() { fmin "$@"; }
runs() { printf '%.3f ' "$@"; }

echo "1. $PULLS pulls of $PULL_ROWS rows ($TABLE, one <sel> on i_ each), SAM pool of $POOL_SIZE," \
  "gateway page_rows $PAGE_ROWS"
echo "seconds: wall time of the whole run (processes included), best of $RUNS (all listed)"
{
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' what seconds rows/s "vs curl" "peak RSS MB" "HTTP exchanges (one run)" "runs (s)"
  # shellcheck disable=SC2086 # the runs are a space-separated list on purpose
  base=$(best ${T1_SECS[curl]})
  for line in "${T1_LINES[@]}"; do
    # shellcheck disable=SC2086
    b=$(best ${T1_SECS[$line]})
    rss=${T1_RSS[$line]}
    [[ $rss == - ]] || rss=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
    label=$line
    case $line in
    curl) label="curl: xargs -P $POOL_SIZE, 5 curls a pull" ;;
    *) read -r _ conc mode <<<"$line" && label="tt-lua: parallel ${conc#c} workers, q:${mode}" ;;
    esac
    # shellcheck disable=SC2086
    printf '%s\t%.3f\t%.0f\t%.2fx\t%s\t%s\t%s\n' "$label" "$b" \
      "$(awk -v s="$b" -v n=$((PULLS * PULL_ROWS)) 'BEGIN { print n / s }')" \
      "$(awk -v a="$b" -v c="$base" 'BEGIN { print a / c }')" "$rss" "${T1_EXCH[$line]}" "$(runs ${T1_SECS[$line]})"
  done
} | column -t -s $'\t' -o ' | '
echo "tt-lua writes CSV (q:write) or makes every row a Lua table (q:rows); curl writes the XML"
echo "pages to files it checks. peak RSS is tt-lua's; curl's side is many short processes."

echo
echo "2. handoff: from s:close() to the next holder's p:session() returning, in one tt-lua"
echo "$HANDOFF_ROUNDS rounds of $HANDOFF_TASKS tasks queued on the pool; microseconds"
{
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' what samples "p50 us" "p99 us" "max us" "mean us" "p50 vs gateway"
  grep '^platform ' "$WORK/handoff1.out" >"$WORK/handoff1.out.platform"
  read -r _ _ gw_p50 _ <"$WORK/handoff1.out.platform"
  for size in 1 2; do
    read -r _ n p50 p99 max mean < <(grep '^handoff ' "$WORK/handoff$size.out")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%.3fx\n' "in-process handoff, pool of $size" "$n" "$p50" "$p99" "$max" "$mean" \
      "$(awk -v a="$p50" -v b="$gw_p50" 'BEGIN { print a / b }')"
  done
  read -r _ n p50 p99 max mean <"$WORK/handoff1.out.platform"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "through the gateway: reluid, getuid, login" "$n" "$p50" "$p99" "$max" "$mean" 1.000x
} | column -t -s $'\t' -o ' | '
echo "through the gateway: nobody waits, so close gives the ID back (reluid) and the next"
echo "p:session() asks for one (getuid, login kill=possess), one task, $((HANDOFF_ROUNDS * HANDOFF_TASKS)) times."

echo
echo "3. $NROWS rows ($TABLE, whole table), pages of $PAGE_ROWS (getdata rows mode 2, XML)"
echo "seconds: the pages only, after the query; best of $RUNS (all listed)"
{
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' what seconds rows/s "vs curl" MB "peak RSS MB" "runs (s)"
  # shellcheck disable=SC2086
  base=$(best ${T3_SECS[${T3_LINES[0]}]})
  for line in "${T3_LINES[@]}"; do
    # shellcheck disable=SC2086
    b=$(best ${T3_SECS[$line]})
    mb=$(awk -v x="${T3_BYTES[$line]}" 'BEGIN { printf "%.1f", x / 1e6 }')
    [[ ${T3_BYTES[$line]} == 0 ]] && mb=-
    # shellcheck disable=SC2086
    printf '%s\t%.3f\t%.0f\t%.2fx\t%s\t%.1f\t%s\n' "$line" "$b" \
      "$(awk -v s="$b" -v n="$NROWS" 'BEGIN { print n / s }')" "$(awk -v a="$b" -v c="$base" 'BEGIN { print a / c }')" \
      "$mb" "$(awk -v k="${T3_RSS[$line]}" 'BEGIN { print k / 1024 }')" "$(runs ${T3_SECS[$line]})"
  done
} | column -t -s $'\t' -o ' | '
# shellcheck disable=SC2086
echo "MB: XML bodies received (curl), bytes written (q:write). The query itself took" \
  "$(runs ${T3_QUERY[${T3_LINES[1]}]})s in the tt-lua runs."

echo
w=$WORK/waiters.out s=$WORK/sleepers.out
echo "4. $WAITERS tasks call p:session() on a pool of $POOL_SIZE (gateway group of $POOL_SIZE)"
echo "memory once $WAITING wait and $(kv "$w" busy) hold (full collection first); KB per waiting task"
{
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' what tasks "Lua heap KB" "heap KB/task" "RSS KB" "RSS KB/task" \
    "heap vs sleep" "RSS vs sleep"
  awk -v w="$WAITING" -v n="$WAITERS" \
    -v ph0="$(kv "$w" heap_kb_before)" -v ph1="$(kv "$w" heap_kb_waiting)" \
    -v pr0="$(kv "$w" rss_kb_before)" -v pr1="$(kv "$w" rss_kb_waiting)" \
    -v sh0="$(kv "$s" heap_kb_before)" -v sh1="$(kv "$s" heap_kb_waiting)" \
    -v sr0="$(kv "$s" rss_kb_before)" -v sr1="$(kv "$s" rss_kb_waiting)" 'BEGIN {
      ph = (ph1 - ph0) / w; pr = (pr1 - pr0) / w; sh = (sh1 - sh0) / n; sr = (sr1 - sr0) / n
      printf "tasks waiting in p:session()\t%d\t%.0f -> %.0f\t%.2f\t%d -> %d\t%.2f\t%.2fx\t%.2fx\n",
        w, ph0, ph1, ph, pr0, pr1, pr, ph / sh, pr / sr
      printf "tasks in tenten.sleep (yardstick)\t%d\t%.0f -> %.0f\t%.2f\t%d -> %d\t%.2f\t1.00x\t1.00x\n",
        n, sh0, sh1, sh, sr0, sr1, sr
    }'
} | column -t -s $'\t' -o ' | '
echo "time for all $WAITERS to get through (the pause to measure left out)"
{
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "hold per ID" "spawn s" "all queued s" "drain s" "total s" \
    "lower bound s" "handoffs" "max wait s"
  for f in "$WORK/waiters.out:$HOLD" "$WORK/waiters0.out:0"; do
    out=${f%%:*} hold=${f#*:}
    awk -v sp="$(kv "$out" spawn_seconds)" -v q="$(kv "$out" queue_seconds)" -v d="$(kv "$out" drain_seconds)" \
      -v h="$hold" -v n="$WAITERS" -v k="$POOL_SIZE" -v ho="$(kv "$out" handoffs)" -v mw="$(kv "$out" max_wait)" \
      'BEGIN { printf "%g ms\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%.3f\n", h * 1000, sp, q, d, q + d, n / k * h, ho, mw }'
  done
} | column -t -s $'\t' -o ' | '
echo "all queued: from the first spawn until $WAITING wait and $POOL_SIZE hold; drain: from then"
echo "until the last task closed; lower bound: $WAITERS / $POOL_SIZE holds of the hold time in a row."
echo "peak RSS of the 1 ms run: $(kv "$w" rss_kb_peak) KB"
