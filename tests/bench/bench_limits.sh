#!/usr/bin/env bash
# bench_limits: what a download limit costs the tenten client. The whole hourly90 table at
# scale 1 (1,051,200 rows of 6 columns) through tt-lua, from two gateways on the same database
# in the same run: one without limits, one whose max_download_cells refuses pages until the
# client has halved its page 4 times (50,000 -> 3,125 rows: 18,750 cells is under the limit,
# 37,500 over). For q:rows() and q:write csv; the goal is at most 10% more wall time with the
# limit. Prints a table; asserts nothing about speed.
#
# usage: tests/bench/bench_limits.sh [--runs N]
#   TT_BENCH_RUNS=N    runs of each line, alternating the two gateways, best shown (default 3)
#   TT_BENCH_DB=FILE   reuse this demo database (scale 1) instead of writing one
#   TT_BUILD_DIR=DIR   build tree holding tt-gateway and tt-lua (default: build/)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_runs "$@"

NROWS=1051200
PAGE_ROWS=50000  # where the client starts, and the gateway's own page cap
CELLS=20000      # the limit: 3,125 rows x 6 columns fit, 6,250 do not
FINAL_ROWS=3125

build_targets tt-gateway tt-lua
need_gnu_time "the CPU column"
make_workdir

demo_db

# config FILE [LIMIT-LINE]
config() {
  cat >"$1" <<CFG
return {
  database = $(lua_string "$DB"),
  users = { { uid = "user1", password = "secret1" } },
  page_rows = $PAGE_ROWS,
  ${2:-}
}
CFG
}

# Two gateways at once: lib.sh tracks one, so the first one's pid is kept here and stopped by
# this script's own exit trap before lib.sh's cleanup.
mkdir "$WORK/free" "$WORK/limited"
config "$WORK/free/gateway.lua"
config "$WORK/limited/gateway.lua" "max_download_cells = $CELLS,"
WORK_ROOT=$WORK
WORK=$WORK_ROOT/free start_gateway "$WORK_ROOT/free/gateway.lua"
FREE_PID=$GW_PID FREE_URL=$GW_URL
GW_PID=
WORK=$WORK_ROOT/limited start_gateway "$WORK_ROOT/limited/gateway.lua"
LIMITED_URL=$GW_URL
WORK=$WORK_ROOT
stop_both() {
  [[ $BASHPID == "$$" ]] || return 0
  local limited=$GW_PID
  GW_PID=$FREE_PID
  stop_gateway
  GW_PID=$limited
  cleanup
}
trap stop_both EXIT

export TT_USER=user1 TT_PASSWORD=secret1
export NO_PROXY='*' no_proxy='*'

# kv FILE KEY: the value of a "key value" line the Lua script printed.
kv() { awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1" || die "no $2 in $1"; }

# run_one LINE MODE URL: one tt-lua run; appends its wall seconds to SECS[LINE] and the CPU
# seconds of the whole tt-lua process (user + system, from GNU time) to CPU[LINE].
declare -A SECS=() CPU=() FINAL=()
run_one() {
  local out=$WORK/$2.out
  TT_GATEWAY=$3 /usr/bin/time -f '%U %S' -o "$out.cpu" "$TTLUA" "$BENCH_DIR/client_limits.lua" "$2" "$NROWS" \
    "$PAGE_ROWS" >"$out" || die "tt-lua client_limits.lua $2 failed against $3"
  SECS[$1]+="$(kv "$out" seconds) "
  CPU[$1]+="$(awk '{ printf "%.2f", $1 + $2 }' "$out.cpu") "
  FINAL[$1]=$(kv "$out" page_rows)
}

LINES=("q:rows(), no limit" "q:rows(), limit" "q:write csv, no limit" "q:write csv, limit")
for ((r = 0; r < RUNS; r++)); do
  # alternate, so drift in the machine's speed falls on both sides alike
  run_one "${LINES[0]}" rows "$FREE_URL"
  run_one "${LINES[1]}" rows "$LIMITED_URL"
  run_one "${LINES[2]}" csv "$FREE_URL"
  run_one "${LINES[3]}" csv "$LIMITED_URL"
done
[[ ${FINAL[${LINES[1]}]} == "$FINAL_ROWS" && ${FINAL[${LINES[3]}]} == "$FINAL_ROWS" ]] ||
  die "the client ended with pages of ${FINAL[${LINES[1]}]} / ${FINAL[${LINES[3]}]} rows, not $FINAL_ROWS"

echo "download limits: $NROWS rows of pub.demo.weather.hourly90 (6 columns), pages from $PAGE_ROWS rows"
echo "limit: max_download_cells = $CELLS, so the client halves 4 times, to $FINAL_ROWS rows a page"
echo "seconds: the pages only (refusals included), best of $RUNS (all listed)"
{
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' what "final page" pages seconds "vs no limit" "tt-lua CPU s" "runs (s)"
  for i in 0 1 2 3; do
    line=${LINES[$i]}
    # shellcheck disable=SC2086 # the runs are a space-separated list on purpose
    b=$(fmin ${SECS[$line]})
    # shellcheck disable=SC2086
    base=$(fmin ${SECS[${LINES[$((i / 2 * 2))]}]})
    final=${FINAL[$line]}
    # shellcheck disable=SC2086
    printf '%s\t%s\t%s\t%.3f\t%+.1f%%\t%s\t%s\n' "$line" "$final" $(((NROWS + final - 1) / final)) "$b" \
      "$(awk -v a="$b" -v c="$base" 'BEGIN { print (a / c - 1) * 100 }')" "$(fmin ${CPU[$line]})" \
      "$(printf '%.3f ' ${SECS[$line]})"
  done
} | column -t -s $'\t' -o ' | '
echo "pages: getdata pages that brought rows; the limited runs also had 4 refused asks each."
echo "tt-lua CPU: user + system seconds of the whole process (login and query included), best."
echo "The machine's load matters: both sides run alternately, so compare within one table."
