#!/usr/bin/env bash
# bench_progress: what the progress display costs a pull. The whole hourly90 table at scale 1
# (1,051,200 rows of 6 columns) through pool:pull to /dev/null as CSV in pages of 50,000, with
# the display off, as lines off a terminal (every 30 s, the default, and every 0.2 s), and live
# (every 0.2 s, the default, and every 0.01 s to magnify it); its output goes to /dev/null.
# The display reads the bytes of the page in flight on a timer; the row path gains nothing.
# Prints a table; asserts nothing about speed.
#
# usage: tests/bench/bench_progress.sh [--runs N]
#   TT_BENCH_RUNS=N    runs of each line, alternating the lines, best shown (default 3)
#   TT_BENCH_DB=FILE   reuse this demo database (scale 1) instead of writing one
#   TT_BUILD_DIR=DIR   build tree holding tt-gateway and tt-lua (default: build/)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_runs "$@"

NROWS=1051200
PAGE_ROWS=50000

build_targets tt-gateway tt-lua
need_gnu_time "the CPU column"
make_workdir

demo_db
write_config "$WORK/gateway.lua" "$DB" 4 "$PAGE_ROWS"
start_gateway "$WORK/gateway.lua"

export TT_GATEWAY=$GW_URL TT_USER=owner1 TT_PASSWORD=secret1 TT_GROUP=pool1
export NO_PROXY='*' no_proxy='*'

# kv FILE KEY: the value of a "key value" line the Lua script printed.
kv() { awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1" || die "no $2 in $1"; }

# run_one LINE MODE PERIOD: one tt-lua run; appends its wall seconds to SECS[LINE] and the CPU
# seconds of the whole tt-lua process (user + system) to CPU[LINE].
declare -A SECS=() CPU=()
run_one() {
  local out=$WORK/run.out
  /usr/bin/time -f '%U %S' -o "$out.cpu" "$TTLUA" "$BENCH_DIR/client_progress.lua" "$2" "$3" "$NROWS" \
    "$PAGE_ROWS" >"$out" 2>/dev/null || die "tt-lua client_progress.lua $2 $3 failed"
  SECS[$1]+="$(kv "$out" seconds) "
  CPU[$1]+="$(awk '{ printf "%.2f", $1 + $2 }' "$out.cpu") "
}

LINES=("off" "lines every 30 s" "lines every 0.2 s" "live every 0.2 s" "live every 0.01 s")
MODES=("off 30" "line 30" "line 0.2" "live 0.2" "live 0.01")
for ((r = 0; r < RUNS; r++)); do
  # alternate, so drift in the machine's speed falls on every line alike
  for i in "${!LINES[@]}"; do
    # shellcheck disable=SC2086 # mode and period, two words
    run_one "${LINES[$i]}" ${MODES[$i]}
  done
done

echo "progress display: pool:pull of $NROWS rows of pub.demo.weather.hourly90 to /dev/null (CSV), pages of $PAGE_ROWS"
echo "seconds: the whole pull (ID, login, query, pages), best of $RUNS (all listed)"
{
  printf '%s\t%s\t%s\t%s\t%s\n' display seconds "vs off" "tt-lua CPU s" "runs (s)"
  # shellcheck disable=SC2086 # the runs are a space-separated list on purpose
  base=$(fmin ${SECS[off]})
  for line in "${LINES[@]}"; do
    # shellcheck disable=SC2086
    b=$(fmin ${SECS[$line]})
    # shellcheck disable=SC2086
    printf '%s\t%.3f\t%+.1f%%\t%s\t%s\n' "$line" "$b" "$(awk -v a="$b" -v c="$base" 'BEGIN { print (a / c - 1) * 100 }')" \
      "$(fmin ${CPU[$line]})" "$(printf '%.3f ' ${SECS[$line]})"
  done
} | column -t -s $'\t' -o ' | '
echo "tt-lua CPU: user + system seconds of the whole process, best. The display writes to /dev/null."
echo "The machine's load matters: the lines run alternately, so compare within one table."
