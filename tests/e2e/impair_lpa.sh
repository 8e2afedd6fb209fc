#!/usr/bin/env bash
# Downloads over a bad network: rsp-lpa -> rsp-impair -> rsp-smdp, real HTTPS (the TLS passes
# through the proxy untouched; the SM-DP+ address in the activation code is the proxy's).
# The proxy adds latency with jitter, holds the first connection silent (the LPA times out) and
# drops 30% of the connections mid-transfer (reset at a random byte offset, either direction)
# with a fixed seed. Every download must end Installed at the SM-DP+ and on the eUICC within the
# LPA's retry budget; the proxy's log must show the held connection and at least one drop.
# Prints the attempts and the time of each download.
#
# The drop offsets (DROP_RANGE, default 1-6000 bytes) include the TLS handshake (about 600 bytes
# client -> server and 2000 server -> client here): a reset inside it is a network failure for
# rsp-lpa, retried like any other.
#
#   impair_lpa.sh RSPCTL RSP_SMDP RSP_LPA RSP_IMPAIR
set -euo pipefail

RSPCTL=$(readlink -f "$1")
SMDP=$(readlink -f "$2")
LPA=$(readlink -f "$3")
IMPAIR=$(readlink -f "$4")
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rsp-impair-lpa.XXXXXX")
HOST=localhost
OPERATOR=impair-operator
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
DOWNLOADS=${IMPAIR_DOWNLOADS:-8}
smdp_pid=
impair_pid=
log() { echo "impair_lpa: $*"; }
die() {
  echo "impair_lpa: FAIL: $*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  for p in $impair_pid $smdp_pid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  if [ "$rc" -ne 0 ]; then
    echo "----- rsp-smdp log (last 20 lines)"; tail -n 20 "$DIR/smdp.log" 2>/dev/null || true
    echo "----- rsp-impair log (last 30 lines)"; tail -n 30 "$DIR/impair.log" 2>/dev/null || true
    echo "----- rsp-lpa events (last 30)"; cat "$DIR"/device/lpa/*/events.jsonl 2>/dev/null |
      tail -n 30 || true
  fi
  rm -rf "$DIR"
  exit "$rc"
}
trap cleanup EXIT

PROFILE_TYPE=imp
. "$(dirname "$(readlink -f "$0")")/smdp_env.sh"
e2e_inventory "$DOWNLOADS" 8949000000000002 0010100000020

# The SM-DP+ listens on a free port; the proxy in front of it picks its own (port file), and the
# SM-DP+ calls itself by the proxy's address (serverAddress must match the activation code).
smdp_port=$(e2e_free_port)

# 30% of connections reset at a byte offset in DROP_RANGE of either direction (a download is one
# keep-alive connection of about 4.4 kB up and 6.4 kB down), 40 +- 20 ms each way, the first
# connection held silent. Seed 6 plans cuts on connections 3, 4, 5, 9 and 12 (s2c), 6 and 10
# (c2s) at 2434..5117 bytes: responses lost after the SM-DP+ acted on the request as well as
# requests lost on the way (IMPAIR_SEED=N to try others).
"$IMPAIR" --listen 127.0.0.1:0 --upstream "127.0.0.1:$smdp_port" --port-file "$DIR/impair.port" \
  --log "$DIR/impair.log" --seed "${IMPAIR_SEED:-6}" --latency 40 --jitter 20 --drop-fraction 0.3 \
  --drop-range "${DROP_RANGE:-1-6000}" --drop-dir both --drop-first 1 2>"$DIR/impair.err" &
impair_pid=$!
for _ in $(seq 100); do [ -s "$DIR/impair.port" ] && break; sleep 0.05; done
[ -s "$DIR/impair.port" ] || die "rsp-impair did not start: $(cat "$DIR/impair.err")"
iport=$(cat "$DIR/impair.port")

e2e_smdp_conf "$smdp_port" "$iport"
e2e_smdp_try "$smdp_port" || die "rsp-smdp exited"
ES2_PORT=$smdp_port
cp -r "$DIR/pki" "$DIR/device"
events() { cat "$DIR"/device/lpa/*/events.jsonl 2>/dev/null || true; }

report=()
c0=0
for i in $(seq "$DOWNLOADS"); do
  read -r iccid mid <<<"$(order)"
  rm -f "$DIR"/device/lpa/*/events.jsonl
  t0=$(date +%s%N)
  st=0
  "$LPA" --euicc "soft:$DIR/device" --timeout 5 profile download \
    -a "LPA:1\$$HOST:$iport\$$mid" --backoff-base 200 --backoff-cap 1000 --max-attempts 8 \
    >"$DIR/lpa.out" 2>&1 || st=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  [ "$st" -eq 0 ] || die "download $i exited $st: $(tail -n 5 "$DIR/lpa.out")"
  [ "$(smdp_state "$iccid")" = Installed ] || die "profile $iccid is not Installed at the SM-DP+"
  "$LPA" --euicc "soft:$DIR/device" --json profile list | grep -q "\"iccid\":\"$iccid\"" ||
    die "profile $iccid is not on the eUICC"
  attempts=$(events | grep -c '"event":"attempt"' || true)
  c=$(grep -c '"event":"accept"' "$DIR/impair.log" || true)
  report+=("download $i: $attempts attempt(s), $((c - c0)) connection(s), $ms ms")
  c0=$c
done

drops=$(grep -c '"event":"drop"' "$DIR/impair.log" || true)
held=$(grep -c '"event":"hold".*"drop_first"' "$DIR/impair.log" || true)
conns=$(grep -c '"event":"accept"' "$DIR/impair.log" || true)
printf 'impair_lpa:   %s\n' "${report[@]}"
log "$conns connections through rsp-impair, $held held silent, $drops dropped mid-transfer"
[ "$held" -eq 1 ] || die "the first connection was not held"
[ "$drops" -ge 1 ] || die "no connection was dropped (the test proves nothing)"
kill -TERM "$impair_pid"
wait "$impair_pid" || die "rsp-impair did not exit 0 on SIGTERM"
impair_pid=
grep -q '"event":"summary"' "$DIR/impair.log" || die "no summary in the rsp-impair log"
log "PASS"
