#!/usr/bin/env bash
# wan_curl_pull K: one pull of bench_wan.sh as a shell script does it, every exchange its own
# curl process (so a new connection each): getuid (again every WAIT seconds on rc 38), login
# kill=possess, query (one sel on the row key, the text client_pulls.lua sends), getdata over
# windows of PAGE_ROWS rows (<rows mode="2">), reluid. Prints "rows busy-retries".
# Settings come from the environment bench_wan.sh exports: GW_URL OWNER PASSWORD GROUP TABLE
# PULL_ROWS PAGE_ROWS WAIT WORK (a directory for the pages).
set -uo pipefail
k=$1
gw="$GW_URL?apiversion=3"
c=(curl -sS --noproxy '*')
xml='Content-Type: text/xml'
busy=0 rows=0 at=0
page=$WORK/pull-$k.xml

die() {
  echo "pull $k: $*" >&2
  exit 1
}

while :; do
  reply=$("${c[@]}" "$gw&api=getuid&uid=$OWNER&pswd=$PASSWORD&gid=$GROUP") || die "getuid: curl failed"
  [[ $reply =~ \<rc\>0\</rc\>.*\<uid\>([^\<]+)\</uid\> ]] && break
  [[ $reply == *'<rc>38</rc>'* ]] || die "getuid: $reply"
  busy=$((busy + 1))
  sleep "$WAIT"
done
uid=${BASH_REMATCH[1]}

reply=$("${c[@]}" "$gw&api=login&uid=$uid&pswd=$PASSWORD&kill=possess") || die "login: curl failed"
[[ $reply =~ \<rc\>0\</rc\>.*\<sid\>([^\<]+)\</sid\>\<pswd\>([^\<]+)\</pswd\> ]] || die "login: $reply"
auth="uid=$uid&sid=${BASH_REMATCH[1]}&pswd=${BASH_REMATCH[2]}"

ops=$(printf '<sel value="i_>%d &amp; i_<=%d"/>' $((k * PULL_ROWS)) $(((k + 1) * PULL_ROWS)))
reply=$("${c[@]}" -H "$xml" --data-binary "<in><name>$TABLE</name><ops>$ops</ops></in>" \
  "$gw&api=query&$auth") || die "query: curl failed"
if ! [[ $reply =~ \<rc\>0\</rc\>.*\ nrows=\"([0-9]+)\" ]] || ((BASH_REMATCH[1] != PULL_ROWS)); then
  die "query: ${reply:0:300}"
fi

while ((at < PULL_ROWS)); do
  end=$((at + PAGE_ROWS < PULL_ROWS ? at + PAGE_ROWS : PULL_ROWS))
  "${c[@]}" -o "$page" -H "$xml" --data-binary \
    "<in><rows mode=\"2\"><start>$at</start><end>$end</end></rows></in>" \
    "$gw&api=getdata&$auth" || die "getdata: curl failed"
  # The reply's <msg> states its row count; read -N is a builtin, so checking costs no process.
  read -r -N 300 head <"$page" || true
  if ! [[ $head =~ \<rc\>0\</rc\>\<msg\>([0-9]+)\ rows\</msg\> ]] || ((BASH_REMATCH[1] != end - at)); then
    die "getdata: ${head:0:200}"
  fi
  rows=$((rows + end - at)) at=$end
done

rm -f -- "$page"
reply=$("${c[@]}" "$gw&api=reluid&$auth&gid=$GROUP") || die "reluid: curl failed"
[[ $reply == *'<rc>0</rc>'* ]] || die "reluid: $reply"
echo "$rows $busy"
