# shellcheck shell=bash
# Shared by the bench scripts (sourced, not run): build, temp dir, gateway start/stop, timing.
# Everything talks to 127.0.0.1 only; curl is always given --noproxy '*' so a proxy from the
# environment never sees a request.

# EPOCHREALTIME and printf %f follow the locale's decimal point; the arithmetic below wants '.'.
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE_DIR=$(cd "$BENCH_DIR/../.." && pwd)
BUILD_DIR=${TT_BUILD_DIR:-$SOURCE_DIR/build}
GATEWAY=$BUILD_DIR/tt-gateway
# shellcheck disable=SC2034 # for the scripts that source this
TTLUA=$BUILD_DIR/tt-lua

GW_PID=
GW_URL=
WORK=

die() {
  echo "${0##*/}: $*" >&2
  exit 1
}

# parse_args "OPTION VAR ..." [ARG...]: a bench script's command line. Each OPTION takes a
# value, stored in the variable VAR (the caller sets its default first); -h/--help prints the
# script's header comment (line 2 up to the first line that is not a comment).
parse_args() {
  local -a spec
  read -ra spec <<<"$1"
  shift
  local i found
  while (($#)); do
    if [[ $1 == -h || $1 == --help ]]; then
      sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"
      exit 0
    fi
    found=
    for ((i = 0; i < ${#spec[@]}; i += 2)); do
      [[ $1 == "${spec[i]}" ]] || continue
      [[ -n ${2:-} ]] || die "$1 needs a value"
      printf -v "${spec[i + 1]}" '%s' "$2"
      found=1
      break
    done
    [[ -n $found ]] || die "unknown argument: $1"
    shift 2
  done
}

# parse_runs [ARG...]: RUNS from --runs N, else TT_BENCH_RUNS, else 3; a whole number above 0.
parse_runs() {
  RUNS=${TT_BENCH_RUNS:-3}
  parse_args "--runs RUNS" "$@"
  [[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "runs must be a whole number above 0"
}

# demo_db: DB is TT_BENCH_DB when set (it must exist), else a scale-1 demo database in WORK.
demo_db() {
  if [[ -n ${TT_BENCH_DB:-} ]]; then
    [[ -f $TT_BENCH_DB ]] || die "TT_BENCH_DB: no such file: $TT_BENCH_DB"
    DB=$(realpath "$TT_BENCH_DB")
  else
    DB=$WORK/demo.db
    "$GATEWAY" demo --db "$DB" --scale 1 >/dev/null
  fi
}

# build_in SRC DIR WHAT TARGET...: configure build tree DIR from source tree SRC if needed and
# bring the targets up to date (quietly: the benchmark's output is the table); each target is
# a program DIR/TARGET afterwards. WHAT names the tree in errors.
build_in() {
  local src=$1 dir=$2 what=$3 log target
  shift 3
  if [[ ! -f $dir/CMakeCache.txt ]]; then
    cmake -S "$src" -B "$dir" >/dev/null || die "cmake of $what failed"
  fi
  if ! log=$(cmake --build "$dir" -j2 --target "$@" 2>&1); then
    printf '%s\n' "$log" >&2
    die "build of $* ($what) failed"
  fi
  for target in "$@"; do
    [[ -x $dir/$target ]] || die "no $dir/$target after the build of $what"
  done
}

# build_targets TARGET...: this tree's build (BUILD_DIR).
build_targets() {
  build_in "$SOURCE_DIR" "$BUILD_DIR" "this tree" "$@"
}

# need_gnu_time WHAT: GNU time (/usr/bin/time) gives a child's CPU and peak RSS (%U, %M); the
# bash keyword cannot. Dies naming WHAT (the columns that need it) when it is missing.
need_gnu_time() {
  /usr/bin/time -f %M -o /dev/null true 2>/dev/null || die "GNU time (/usr/bin/time) is needed for $1"
}

# base_build REV TARGET...: build the given targets of git revision REV (read-only: git
# archive, never a checkout) in its own tree under $WORK, for "before" lines measured in the
# same run as "after". Sets BASE_DIR to that tree's build directory. Needs make_workdir first.
base_build() {
  local rev=$1 tree
  shift
  tree=$WORK/base-src
  mkdir -p "$tree"
  git -C "$SOURCE_DIR" archive "$rev" | tar -x -C "$tree" || die "cannot read revision $rev"
  BASE_DIR=$tree/build
  build_in "$tree" "$BASE_DIR" "$rev" "$@"
}

# A private temp dir, and a trap that stops the gateway and removes the dir however the script
# ends (normal exit, set -e failure, Ctrl-C, SIGTERM).
make_workdir() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/tt-bench.XXXXXX")
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

cleanup() {
  [[ $BASHPID == "$$" ]] || return 0 # a subshell owns neither the gateway nor the dir
  stop_gateway
  if [[ -n $WORK && -d $WORK ]]; then rm -rf -- "$WORK"; fi
}

# lua_string S: S as a Lua string literal.
lua_string() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

# write_config FILE DB POOL_SIZE PAGE_ROWS
write_config() {
  cat >"$1" <<EOF
return {
  database = $(lua_string "$2"),
  users = { { uid = "owner1", password = "secret1" } },
  groups = { { gid = "pool1", owner = "owner1", size = $3 } },
  page_rows = $4,
  log_requests = false,
}
EOF
}

# start_gateway CONFIG [SERVE_OPTION...]: serve on a free loopback port; sets GW_PID and GW_URL
# (endpoint URL).
start_gateway() {
  local cfg=$1 out=$WORK/gateway.out err=$WORK/gateway.err
  shift
  "$GATEWAY" serve --config "$cfg" --listen 127.0.0.1:0 "$@" >"$out" 2>"$err" &
  GW_PID=$!
  local i line
  for ((i = 0; i < 200; i++)); do
    line=$(grep -m1 '^listening on ' "$out" 2>/dev/null || true)
    if [[ -n $line ]]; then
      GW_URL="${line#listening on }cgi-bin/gw"
      [[ $GW_URL == http://127.0.0.1:* ]] || die "gateway is not on loopback: $GW_URL"
      return 0
    fi
    if ! kill -0 "$GW_PID" 2>/dev/null; then
      GW_PID=
      cat "$err" >&2
      die "gateway exited before listening"
    fi
    sleep 0.05
  done
  die "gateway did not print its address within 10 s"
}

# Stop the gateway this script started (by its pid only), SIGKILL if it ignores SIGTERM.
stop_gateway() {
  [[ -n $GW_PID ]] || return 0
  local pid=$GW_PID i
  GW_PID=
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# fsub A B: A - B for EPOCHREALTIME values, printed with 6 decimals.
fsub() {
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", a - b }'
}

# fmin A B C ...: the smallest.
fmin() {
  printf '%s\n' "$@" | sort -g | head -n1
}

# ---- curl's own pull, beside tt-lua's (bench_client.sh, bench_rows.sh) ----------------------
# They use CURL (the curl command, an array), XML (the Content-Type header), GW_URL, OWNER,
# PASSWORD, GROUP, TABLE and PAGE_ROWS.

# member_session: a pool member logged in for curl, as tt-lua's own pulls use one (getuid,
# then login kill=possess); sets MEMBER and MEMBER_AUTH (the query-string credentials).
member_session() {
  local reply
  reply=$("${CURL[@]}" "$GW_URL?apiversion=3&api=getuid&uid=$OWNER&pswd=$PASSWORD&gid=$GROUP")
  [[ $reply =~ \<uid\>([^\<]+)\</uid\> ]] || die "getuid failed: $reply"
  MEMBER=${BASH_REMATCH[1]}
  reply=$("${CURL[@]}" "$GW_URL?apiversion=3&api=login&uid=$MEMBER&pswd=$PASSWORD&kill=possess")
  [[ $reply =~ \<sid\>([^\<]+)\</sid\>\<pswd\>([^\<]+)\</pswd\> ]] || die "login failed: $reply"
  MEMBER_AUTH="apiversion=3&uid=$MEMBER&sid=${BASH_REMATCH[1]}&pswd=${BASH_REMATCH[2]}"
}

# big_query: a fresh query of the whole table on curl's session; sets NROWS and NPAGES.
big_query() {
  local reply re='<rc>0</rc>.* nrows="([0-9]+)"'
  reply=$("${CURL[@]}" -H "$XML" --data-binary "<in><name>$TABLE</name><ops></ops></in>" \
    "$GW_URL?api=query&$MEMBER_AUTH")
  [[ $reply =~ $re ]] || die "query failed: ${reply:0:300}"
  NROWS=${BASH_REMATCH[1]}
  NPAGES=$(((NROWS + PAGE_ROWS - 1) / PAGE_ROWS))
}

# The <format> element of CSV pages: the form public clients send, and tt-lua with pages "csv".
CSV_FORMAT='<format type="csv" values="formatted"><sep>|</sep><linesep>^</linesep></format>'

# pages_config OUT [xml|csv]: a curl config fetching, one after another on one connection, the
# pages tt-lua asks for (getdata rows mode 2, windows of PAGE_ROWS; XML pages, or CSV pages
# with CSV_FORMAT), each to OUT with %d replaced by the page's number (or to /dev/null); each
# transfer writes "http_code size".
pages_config() {
  local i at end out format=
  case ${2:-xml} in
  xml) ;;
  csv) format=${CSV_FORMAT//\"/\\\"} ;; # in a curl config's quoted value, " is \"
  *) die "pages_config: page format must be xml or csv, not $2" ;;
  esac
  echo 'silent'
  echo 'show-error'
  for ((i = 0; i < NPAGES; i++)); do
    at=$((i * PAGE_ROWS))
    end=$((at + PAGE_ROWS < NROWS ? at + PAGE_ROWS : NROWS))
    out=${1//%d/$i}
    echo "url = \"$GW_URL?api=getdata&$MEMBER_AUTH\""
    echo 'noproxy = "*"'
    echo "header = \"$XML\""
    echo "data-binary = \"<in><rows mode=\\\"2\\\"><start>$at</start><end>$end</end></rows>$format</in>\""
    # shellcheck disable=SC2028 # the \n is for curl to expand, not echo
    echo 'write-out = "%{http_code} %{size_download}\n"'
    echo "output = \"$out\""
    ((i + 1 < NPAGES)) && echo 'next'
  done
  return 0
}
