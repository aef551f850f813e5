#!/usr/bin/env bash
# bench_soak: the tenten client under transient faults. ROUNDS rounds of TASKS tasks (default
# 8 x 2,000) on one tenten.pool of 8, through tt-fixture in front of tt-gateway, failing 5% of
# every transaction the retry policy may ask again (lua/tenten/retry.lua): getuid (HTTP 503),
# login (rc 41), query (a reset before the gateway sees it), getdata (HTTP 503), reluid (HTTP
# 503). None of the faults reaches the gateway, so no fault may cost an ID. Each task takes a
# pool session, runs a query and reads its rows. Prints one line per round (time, tasks ok,
# failed, IDs on the pool's to-release list, RSS after a full collection) and the pool's state
# at the gateway at the end. Asserts nothing about speed; says FAIL when a task failed, an ID
# was left BUSY, or RSS grew by more than 10% from round 2 to the last.
#
# usage: tests/bench/bench_soak.sh [--tasks N] [--rounds N] [--p P]
#   TT_BUILD_DIR=DIR   build tree holding tt-gateway, tt-lua and tt-fixture (default: build/)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TASKS=2000 ROUNDS=8 P=0.05 SIZE=8
parse_args "--tasks TASKS --rounds ROUNDS --p P" "$@"
[[ $TASKS =~ ^[1-9][0-9]*$ && $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "tasks and rounds must be whole numbers above 0"

build_targets tt-gateway tt-lua tt-fixture
FIXTURE=$BUILD_DIR/tt-fixture
make_workdir

DB=$WORK/demo.db
"$GATEWAY" demo --db "$DB" --scale 0.01 >/dev/null
write_config "$WORK/gateway.lua" "$DB" "$SIZE" 50000
start_gateway "$WORK/gateway.lua"

# The proxy, stopped by this script's own exit trap before lib.sh's cleanup.
FX_PID=
stop_all() {
  [[ $BASHPID == "$$" ]] || return 0
  if [[ -n $FX_PID ]]; then
    kill -TERM "$FX_PID" 2>/dev/null || true
    wait "$FX_PID" 2>/dev/null || true
  fi
  cleanup
}
trap stop_all EXIT
"$FIXTURE" --listen 127.0.0.1:0 --upstream "${GW_URL%cgi-bin/gw}" \
  --rule "api=getuid,p=$P,seed=1,do=status:503" \
  --rule "api=login,p=$P,seed=2,do=body:<out><rc>41</rc><msg>unavailable</msg></out>" \
  --rule "api=query,p=$P,seed=3,do=reset-before" \
  --rule "api=getdata,p=$P,seed=4,do=status:503" \
  --rule "api=reluid,p=$P,seed=5,do=status:503" \
  >"$WORK/fixture.out" 2>"$WORK/fixture.err" &
FX_PID=$!
FX_URL=
for ((i = 0; i < 200; i++)); do
  line=$(grep -m1 '^listening on ' "$WORK/fixture.out" 2>/dev/null || true)
  if [[ -n $line ]]; then
    FX_URL="${line#listening on }cgi-bin/gw"
    break
  fi
  sleep 0.05
done
[[ -n $FX_URL ]] || die "tt-fixture did not start: $(cat "$WORK/fixture.err")"

export NO_PROXY='*' no_proxy='*'
out=$WORK/soak.out
t0=$EPOCHREALTIME
TT_GATEWAY=$FX_URL TT_SOAK_DIRECT=$GW_URL TT_USER=owner1 TT_PASSWORD=secret1 TT_GROUP=pool1 \
  "$TTLUA" "$BENCH_DIR/client_soak.lua" "$TASKS" "$ROUNDS" "$SIZE" >"$out" || die "client_soak.lua failed: $(cat "$out")"
wall=$(fsub "$EPOCHREALTIME" "$t0")
requests=$(grep -c 'accepted a connection' "$WORK/fixture.err" || true)

kv() { awk -v k="$1" '$1 == k { print $2 }' "$out"; }
echo "soak: $ROUNDS rounds of $TASKS tasks on a pool of $SIZE, $P of getuid/login/query/getdata/reluid failing"
{
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' round seconds "tasks ok" failed "to release" "RSS MB"
  awk '$1 == "round" { printf "%s\t%.2f\t%s\t%s\t%s\t%.1f\n", $2, $3, $4, $5, $6, $7 / 1024 }' "$out"
} | column -t -s $'\t' -o ' | '
echo "at the end: $(kv busy) of $(kv ids) IDs BUSY or RESERVED at the gateway; pool: $(kv acquisitions)" \
  "acquisitions, $(kv handoffs) handed over, $(kv release_failures) releases failed for good"
echo "wall: ${wall%.*} s for everything; the proxy accepted $requests connections"
verdict=ok
failed=$(awk '$1 == "round" { s += $5 } END { print s + 0 }' "$out")
[[ $failed == 0 ]] || verdict="FAIL: $failed tasks failed ($(awk '$1 == "first_error" { $1 = ""; print }' "$out"))"
[[ $(kv busy) == 0 ]] || verdict="FAIL: IDs left BUSY"
growth=$(awk '$1 == "round" { if ($2 == 2) a = $7; b = $7 } END { if (a) printf "%.1f", (b / a - 1) * 100; else print 0 }' "$out")
awk -v g="$growth" 'BEGIN { exit !(g > 10) }' && verdict="FAIL: RSS grew $growth% from round 2"
echo "RSS from round 2 to the last: ${growth}%; verdict: $verdict"
[[ $verdict == ok ]]
