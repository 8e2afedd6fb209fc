#!/usr/bin/env bash
# Downloads over a bad network, at volume: BADNET_DOWNLOADS downloads, BADNET_PARALLEL at a time,
# each by its own rsp-lpa and software eUICC (its own EID) with the LPA's DEFAULT retry budget
# (8 attempts, back-off 1 s doubling to 60 s, 900 s), through rsp-impair in front of rsp-smdp:
# BADNET_LATENCY ms added each way (default 800, jitter 10%) and 30% of the connections reset
# mid-transfer at a random byte offset of either direction (TLS handshake included).
# Passes when at least 99% of the downloads end Installed at the SM-DP+ and on their eUICC, and
# at least one connection was dropped. Without BADNET_SEED the seed is drawn at random among those
# whose drop plan (rsp-impair --plan) cuts one of the first connections inside its TLS handshake,
# which every connection carries: so a drop is certain, even with a handful of downloads.
# Writes the distribution of attempts and of the time to service (histograms, p50/p95/max) to
# BADNET_REPORT (Markdown, appended; emptied first with BADNET_REPORT_FRESH=1) and prints it.
#
#   badnet.sh RSPCTL RSP_SMDP RSP_LPA RSP_IMPAIR
set -euo pipefail

RSPCTL=$(readlink -f "$1")
SMDP=$(readlink -f "$2")
LPA=$(readlink -f "$3")
IMPAIR=$(readlink -f "$4")
N=${BADNET_DOWNLOADS:-24}
PAR=${BADNET_PARALLEL:-8}
LAT=${BADNET_LATENCY:-800}
DROP=${BADNET_DROP:-0.3}
SEED=${BADNET_SEED:-}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rsp-badnet.XXXXXX")
HOST=localhost
OPERATOR=badnet-operator
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
PROFILE_TYPE=bad
smdp_pid=
impair_pid=
log() { echo "badnet: $*"; }
die() {
  echo "badnet: FAIL: $*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  for p in $impair_pid $smdp_pid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  if [ "$rc" -ne 0 ]; then
    echo "----- rsp-smdp log (last 10 lines)"; tail -n 10 "$DIR/smdp.log" 2>/dev/null || true
    for f in "$DIR"/d*.out; do grep -q . "$f" 2>/dev/null && { echo "----- $f"; tail -n 3 "$f"; }; done 2>/dev/null | tail -n 40
  fi
  if [ "${RSP_KEEP_TMP:-0}" = 1 ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
  exit "$rc"
}
trap cleanup EXIT
# a command that fails outside a test of its status ends the script (set -e): say which
trap 'echo "badnet: FAIL: line $LINENO: a command exited with status $?" >&2' ERR

. "$(dirname "$(readlink -f "$0")")/smdp_env.sh"
e2e_inventory "$N" 894900000000008 001010000008 3

# a seed whose plan drops one of the first min(N, 8) connections at a byte every TLS handshake
# reaches (its first flights: about 600 bytes client -> server, 2000 back; see impair_lpa.sh)
if [ -z "$SEED" ]; then
  first=$((N < 8 ? N : 8))
  s=$RANDOM
  for _ in $(seq 2000); do
    if "$IMPAIR" --plan "$first" --seed "$s" --drop-fraction "$DROP" --drop-range 1-6000 \
      --drop-dir both | grep -qE '"dir":"s2c","at":([1-9][0-9]{0,2}|1000)\}|"dir":"c2s","at":([1-9][0-9]?|1[0-9]{2}|200)\}'; then
      SEED=$s
      break
    fi
    s=$((s + 1))
  done
  [ -n "$SEED" ] || die "no seed in 2000 drops one of the first $first connections early (drop fraction $DROP)"
fi

smdp_port=$(e2e_free_port)
"$IMPAIR" --listen 127.0.0.1:0 --upstream "127.0.0.1:$smdp_port" --port-file "$DIR/impair.port" \
  --log "$DIR/impair.log" --seed "$SEED" --latency "$LAT" --jitter $((LAT / 10)) \
  --drop-fraction "$DROP" --drop-range 1-6000 --drop-dir both 2>"$DIR/impair.err" &
impair_pid=$!
for _ in $(seq 100); do [ -s "$DIR/impair.port" ] && break; sleep 0.05; done
[ -s "$DIR/impair.port" ] || die "rsp-impair did not start: $(cat "$DIR/impair.err")"
iport=$(cat "$DIR/impair.port")
e2e_smdp_conf "$smdp_port" "$iport"
e2e_smdp_try "$smdp_port" || die "rsp-smdp exited"
ES2_PORT=$smdp_port

: >"$DIR/orders"
for i in $(seq "$N"); do
  read -r iccid mid <<<"$(order)"
  echo "$i $iccid $mid" >>"$DIR/orders"
done

one() { # i iccid mid: one download on a new eUICC; appends "i status attempts ms iccid"
  local i=$1 iccid=$2 mid=$3 dev="$DIR/d$1" st=0 t0 ms attempts
  "$RSPCTL" pki issue "$DIR/pki" --role euicc --eid "$(e2e_eid "$((50000 + i))")" -o "$dev" >/dev/null
  t0=$(date +%s%N)
  "$LPA" --euicc "soft:$dev" profile download -a "LPA:1\$$HOST:$iport\$$mid" >"$dev.out" 2>&1 ||
    st=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  attempts=$(grep -c '"event":"attempt"' "$dev"/lpa/*/events.jsonl 2>/dev/null || true)
  echo "$i $st ${attempts:-0} $ms $iccid" >>"$DIR/results"
}
t_start=$(date +%s)
pids=()
while read -r i iccid mid; do
  one "$i" "$iccid" "$mid" &
  pids+=($!)
  while [ "$(jobs -rp | grep -vcx -e "$impair_pid" -e "$smdp_pid")" -ge "$PAR" ]; do sleep 0.2; done
done <"$DIR/orders"
for p in "${pids[@]}"; do wait "$p" || true; done
wall=$(($(date +%s) - t_start))

ok=0
while read -r i st attempts ms iccid; do
  [ "$st" = 0 ] || continue
  [ "$(smdp_state "$iccid")" = Installed ] || die "download $i: rsp-lpa succeeded, $iccid is not Installed at the SM-DP+"
  "$LPA" --euicc "soft:$DIR/d$i" --json profile list | grep -q "\"iccid\":\"$iccid" ||
    die "download $i: $iccid is not on its eUICC"
  ok=$((ok + 1))
done <"$DIR/results"
conns=$(grep -c '"event":"accept"' "$DIR/impair.log" || true)
drops=$(grep -c '"event":"drop"' "$DIR/impair.log" || true)

# figures: completion, attempts histogram, time-to-service histogram and percentiles
pct() { # P: the P-th percentile (nearest rank) of the times of the completed downloads
  awk '$2 == 0 {print $4}' "$DIR/results" | sort -n | awk -v p="$1" '{a[NR] = $1}
    END {if (NR == 0) {print "-"; exit} r = int((p * NR + 99) / 100); if (r < 1) r = 1; print a[r]}'
}
{
  echo "### bad network: $N downloads, $PAR in parallel"
  echo
  echo "rsp-impair: ${LAT} ms added each way (jitter $((LAT / 10)) ms), $DROP of the connections reset"
  echo "mid-transfer (byte 1-6000, either direction), seed $SEED. rsp-lpa with its default retry budget"
  echo "(8 attempts, back-off 1 s doubling to 60 s, 900 s). Wall time ${wall} s; $conns connections,"
  echo "$drops dropped."
  echo
  echo "Completed: **$ok of $N** ($(awk -v a="$ok" -v b="$N" 'BEGIN {printf "%.1f", 100 * a / b}')%)."
  echo
  echo "| attempts | downloads |"
  echo "|---|---|"
  awk '{print ($2 == 0 ? $3 : "failed")}' "$DIR/results" | sort -n | uniq -c | awk '{print "| " $2 " | " $1 " |"}'
  echo
  echo "| time to service | downloads |"
  echo "|---|---|"
  awk '$2 == 0 {b = int($4 / 10000) * 10; print b}' "$DIR/results" | sort -n | uniq -c |
    awk '{print "| " $2 "-" $2 + 10 " s | " $1 " |"}'
  echo
  echo "Time to service of the completed downloads: p50 $(pct 50) ms, p95 $(pct 95) ms, max $(pct 100) ms."
  echo
} >"$DIR/report.md"
cat "$DIR/report.md"
if [ -n "${BADNET_REPORT:-}" ]; then
  [ "${BADNET_REPORT_FRESH:-0}" = 1 ] && : >"$BADNET_REPORT"
  cat "$DIR/report.md" >>"$BADNET_REPORT"
  log "report in $BADNET_REPORT"
fi
[ "$drops" -ge 1 ] || die "no connection was dropped (the test proves nothing)"
[ $((ok * 100)) -ge $((N * 99)) ] || die "$ok of $N downloads completed: below 99%"
log "PASS"
