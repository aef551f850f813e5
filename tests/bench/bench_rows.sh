#!/usr/bin/env bash
# bench_rows: the row path, before and after, in one run. One whole pub.demo.weather.hourly90
# (1,051,200 rows at demo scale 1, pages of 50,000) read by tt-lua three ways -- for row in
# q:rows(), for b in q:batches(), q:write to /dev/null as CSV -- beside curl fetching the same
# pages, in both page formats: XML (the default) and CSV (q.pages = "csv": the reply's <csv>
# text, asked with the <format type="csv" .../> element public clients send; curl sends the
# same element for the same windows). Each tt-lua line runs with this tree's build (AFTER), in
# both formats, and with a build of the base commit (git archive, read-only; built in the temp
# dir) as BEFORE, in XML only (the base may have no page-format option). Prints one table;
# asserts nothing about speed.
#
# Columns: client CPU is the tt-lua (or curl) process's own user + sys seconds for the pages
# (tt-lua measures from after the query with os.clock; curl's is its whole process), so the
# gateway's work is excluded; rows/s is rows per client CPU second; both are the best of the
# runs. wall is the pages' wall time and vs curl the ratio to the curl run of the same round
# and the same page format, both the median of the runs (on a shared machine the gateway's
# speed drifts between rounds). peak RSS is the process's (GNU time %M).
#
# usage: tests/bench/bench_rows.sh [--runs N] [--base REV]
#   --runs N           runs of each line (default 3, or TT_BENCH_RUNS)
#   --base REV         the git revision to compare against (default TT_BENCH_BASE, else HEAD:
#                      the working tree's changes against the last commit)
#   TT_BENCH_DB=FILE   reuse this demo database (scale 1) instead of writing one
#   TT_BUILD_DIR=DIR   build tree holding tt-gateway and tt-lua (default: build/)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${TT_BENCH_RUNS:-3}
BASE_REF=${TT_BENCH_BASE:-HEAD}
parse_args "--runs RUNS --base BASE_REF" "$@"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "runs must be a whole number above 0"

TABLE=pub.demo.weather.hourly90
OWNER=owner1
PASSWORD=secret1
GROUP=pool1
PAGE_ROWS=50000
XML='Content-Type: text/xml'

build_targets tt-gateway tt-lua
command -v curl >/dev/null || die "curl is not installed"
need_gnu_time "the CPU and peak RSS columns"
make_workdir

# The base, built in its own tree (so its tt-lua reads its own Lua files).
base_build "$BASE_REF" tt-lua
BASE_NAME="$BASE_REF ($(git -C "$SOURCE_DIR" rev-parse --short "$BASE_REF"))"
declare -A BUILD_TTLUA=([after]=$TTLUA [before]=$BASE_DIR/tt-lua)

demo_db
write_config "$WORK/gateway.lua" "$DB" 2 "$PAGE_ROWS"
start_gateway "$WORK/gateway.lua"
export TT_GATEWAY=$GW_URL TT_USER=$OWNER TT_PASSWORD=$PASSWORD TT_GROUP=$GROUP
export NO_PROXY='*' no_proxy='*'
CURL=(curl -sS --noproxy '*')

# curl's own pool member session, and the query's row count (lib.sh).
member_session
big_query
[[ -n ${TT_BENCH_DB:-} ]] || ((NROWS == 1051200)) || die "hourly90 at scale 1 should have 1051200 rows, not $NROWS"

# Untimed check, per page format: every page holds its window's rows (its <msg>) in that
# format's element (<data> or <csv>); the timed runs must see the same sizes.
FORMATS=(xml csv)
declare -A PAGES_MB=() BODY=([xml]='<data>' [csv]='<csv>')
for fmt in "${FORMATS[@]}"; do
  mkdir "$WORK/pages"
  pages_config "$WORK/pages/page-%d" "$fmt" >"$WORK/check.curlrc"
  curl -K "$WORK/check.curlrc" >"$WORK/pages-$fmt.sizes"
  for ((i = 0; i < NPAGES; i++)); do
    read -r -N 200 head <"$WORK/pages/page-$i" || true
    want=$((i + 1 < NPAGES ? PAGE_ROWS : NROWS - i * PAGE_ROWS))
    if ! { [[ $head =~ \<rc\>0\</rc\>\<msg\>([0-9]+)\ rows\</msg\> ]] && ((BASH_REMATCH[1] == want)); }; then
      die "$fmt page $i: want $want rows, got: ${head:0:200}"
    fi
    grep -qF "${BODY[$fmt]}" "$WORK/pages/page-$i" || die "$fmt page $i has no ${BODY[$fmt]}"
  done
  rm -rf -- "$WORK/pages"
  awk '$1 != 200 { exit 1 }' "$WORK/pages-$fmt.sizes" || die "a getdata page ($fmt) was not HTTP 200"
  PAGES_MB[$fmt]=$(awk '{ s += $2 } END { printf "%.1f", s / 1e6 }' "$WORK/pages-$fmt.sizes")
  pages_config /dev/null "$fmt" >"$WORK/pages-$fmt.curlrc"
done

kv() { awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1" || die "no $2 in $1"; }

declare -A CPU=() WALL=() RATIO=() RSS=() CURL_WALL=()
# "MODE FORMAT BUILD"; MODE curl is curl's pages (BUILD -). No CSV line for the base.
LINES=("curl xml -" "curl csv -")
for mode in rows batches write; do
  LINES+=("$mode xml after" "$mode csv after" "$mode xml before")
done

# Untimed warm-up of both clients and the gateway's page cache.
for line in "write xml after" "write csv after" "write xml before"; do
  read -r mode fmt build <<<"$line"
  "${BUILD_TTLUA[$build]}" "$BENCH_DIR/client_rows.lua" "$mode" "$fmt" "$TABLE" "$NROWS" "$PAGE_ROWS" \
    >/dev/null || die "tt-lua $fmt ($build) failed"
done

for ((r = 0; r < RUNS; r++)); do
  for fmt in "${FORMATS[@]}"; do
    big_query
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%U %S %M' -o "$WORK/curl.time" curl -K "$WORK/pages-$fmt.curlrc" \
      >"$WORK/run.sizes" || die "curl $fmt pages failed"
    t1=$EPOCHREALTIME
    cmp -s "$WORK/run.sizes" "$WORK/pages-$fmt.sizes" || die "the $fmt pages differ from the checked ones"
    read -r u s m <"$WORK/curl.time"
    CURL_WALL[$fmt]=$(fsub "$t1" "$t0")
    line="curl $fmt -"
    CPU[$line]+="$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }') " WALL[$line]+="${CURL_WALL[$fmt]} "
    RATIO[$line]+="1 " RSS[$line]=$m
  done
  for line in "${LINES[@]}"; do
    read -r mode fmt build <<<"$line"
    [[ $mode == curl ]] && continue
    out=$WORK/$mode-$fmt-$build.out
    /usr/bin/time -f %M -o "$out.rss" "${BUILD_TTLUA[$build]}" "$BENCH_DIR/client_rows.lua" "$mode" "$fmt" \
      "$TABLE" "$NROWS" "$PAGE_ROWS" >"$out" || die "tt-lua $mode $fmt ($build) failed"
    if grep -q '^unsupported' "$out"; then
      CPU[$line]=- WALL[$line]=- RSS[$line]=-
      continue
    fi
    wall=$(kv "$out" wall)
    CPU[$line]+="$(kv "$out" cpu) " WALL[$line]+="$wall " RSS[$line]=$(<"$out.rss")
    RATIO[$line]+="$(awk -v a="$wall" -v c="${CURL_WALL[$fmt]}" 'BEGIN { print a / c }') "
  done
done
stop_gateway

best() { fmin "$@"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "$NROWS rows ($TABLE, whole table), pages of $PAGE_ROWS rows (getdata rows mode 2;" \
  "XML pages: ${PAGES_MB[xml]} MB, CSV pages: ${PAGES_MB[csv]} MB)"
echo "after: this tree ($BUILD_DIR); before: $BASE_NAME. $RUNS runs: CPU the best, wall the median."
{
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' what "client CPU s" "rows/s (CPU)" "wall s" "vs curl" \
    "peak RSS MB" "CPU runs (s)" "vs curl runs"
  for line in "${LINES[@]}"; do
    read -r mode fmt build <<<"$line"
    case $mode in
    curl) label="curl: every page" ;;
    rows) label="tt-lua: for row in q:rows()" ;;
    batches) label="tt-lua: for b in q:batches()" ;;
    write) label="tt-lua: q:write csv" ;;
    esac
    if [[ $mode == curl ]]; then
      label+=" (${fmt^^})"
    else
      label+=" (${fmt^^} pages, $build)"
    fi
    if [[ ${CPU[$line]} == - ]]; then
      printf '%s\t-\t-\t-\t-\t-\t(not in the base)\t-\n' "$label"
      continue
    fi
    # shellcheck disable=SC2086 # the runs are a space-separated list on purpose
    cpu=$(best ${CPU[$line]}) wall=$(median ${WALL[$line]}) ratio=$(median ${RATIO[$line]})
    # shellcheck disable=SC2086
    printf '%s\t%.3f\t%.0f\t%.3f\t%.2fx\t%.1f\t%s\t%s\n' "$label" "$cpu" \
      "$(awk -v c="$cpu" -v n="$NROWS" 'BEGIN { print n / c }')" "$wall" "$ratio" \
      "$(awk -v k="${RSS[$line]}" 'BEGIN { print k / 1024 }')" "$(printf '%.3f ' ${CPU[$line]})" \
      "$(printf '%.2f ' ${RATIO[$line]})"
  done
} | column -t -s $'\t' -o ' | '
echo "client CPU: the process's user + sys for the pages (tt-lua: from after the query, os.clock;"
echo "curl: its whole process). The gateway's CPU is in no column. wall: the pages only."
echo "vs curl: against curl in the same round fetching the same pages in the same format (a CSV"
echo "pages line against curl's CSV pages, an XML pages line against curl's XML pages)."
