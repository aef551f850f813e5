#!/usr/bin/env bash
# bench_formats: what each output format and option costs q:write. The whole hourly90 table at
# scale 1 (1,051,200 rows of 6 columns) written by tt-lua to a file in each format: CSV (also
# with ISO dates, and with another separator and N/A text), TSV, JSON lines, one JSON array,
# and the gzip (deflate level 6, and level 1 for the CSV) of each. Prints a table: file size, size against the CSV, the
# best wall time of the write and its CPU time; asserts nothing about speed.
#
# usage: tests/bench/bench_formats.sh [--runs N]
#   TT_BENCH_RUNS=N    runs of each line, the lines taking turns, best shown (default 3)
#   TT_BENCH_DB=FILE   reuse this demo database (scale 1) instead of writing one
#   TT_BUILD_DIR=DIR   build tree holding tt-gateway and tt-lua (default: build/)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_runs "$@"

NROWS=1051200
PAGE_ROWS=50000

build_targets tt-gateway tt-lua
make_workdir
demo_db
write_config "$WORK/gateway.lua" "$DB" 1 "$PAGE_ROWS"
start_gateway "$WORK/gateway.lua"
mkdir "$WORK/out"

echo "output formats: $NROWS rows of pub.demo.weather.hourly90 (6 columns) by q:write, pages of $PAGE_ROWS"
echo "seconds: the whole write (getdata pages, writer, close, rename), best of $RUNS; vs csv: against line 1"
TT_GATEWAY=$GW_URL TT_USER=owner1 TT_PASSWORD=secret1 TT_GROUP=pool1 NO_PROXY='*' no_proxy='*' \
  "$TTLUA" "$BENCH_DIR/client_formats.lua" "$RUNS" "$NROWS" "$WORK/out" ||
  die "tt-lua client_formats.lua failed"
echo "CPU s: tt-lua's CPU seconds over the write, the reply parser included (the gateway apart)."
