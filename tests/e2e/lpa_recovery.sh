#!/usr/bin/env bash
# LPA recovery end to end: rsp-smdp over HTTPS on loopback (SQLite), ES2+ orders, rsp-lpa with
# the in-process software eUICC. Each case asserts the profile ends Installed at the SM-DP+ and
# on the eUICC, and that the event log (STATE/events.jsonl) shows what the LPA did:
#   1. eUICC tear (power lost) at segment 5 -> eUICC reset, back-off, retry -> installed; the
#      retry reuses the eUICC's kept one-time key (bppEuiccOtpk) and the SM-DP+ re-binds the BPP;
#   2. rsp-lpa killed (SIGKILL) right after segment 6 was acked -> `--resume`: the in-process
#      eUICC restarted with the LPA and lost the session -> retry path -> installed;
#   3. SM-DP+ unreachable -> back-off with growing delays -> the server comes back -> installed;
#   4. battery low, not charging -> deferred (nothing sent to the SM-DP+) -> charging -> resumed
#      -> installed; --no-wait exits 7 while deferred;
#   5. SM-DP+ down for good -> gives up after --max-attempts with exit 5.
#
#   lpa_recovery.sh RSPCTL RSP_SMDP RSP_LPA
set -euo pipefail

RSPCTL=$(readlink -f "$1")
SMDP=$(readlink -f "$2")
LPA=$(readlink -f "$3")
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rsp-recovery.XXXXXX")
HOST=localhost
OPERATOR=recovery-operator
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
smdp_pid=
bg_pid=
log() { echo "recovery: $*"; }
die() {
  echo "recovery: FAIL: $*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  for p in $smdp_pid $bg_pid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  if [ "$rc" -ne 0 ]; then
    echo "----- rsp-smdp log (last 20 lines)"; tail -n 20 "$DIR/smdp.log" 2>/dev/null || true
    echo "----- events"; cat "$DIR"/device/lpa/*/events.jsonl 2>/dev/null | tail -n 30 || true
  fi
  rm -rf "$DIR"
  exit "$rc"
}
trap cleanup EXIT

PROFILE_TYPE=rec
. "$(dirname "$(readlink -f "$0")")/smdp_env.sh"
e2e_inventory 6 8949000000000001 0010100000001

start_smdp() { e2e_smdp_try "$port" || die "rsp-smdp exited"; }
stop_smdp() {
  kill "$smdp_pid" && wait "$smdp_pid" 2>/dev/null || true
  smdp_pid=
}
# the first start picks the port; a port taken between the probe and the bind is picked again
for try in 1 2 3 4 5; do
  port=$(e2e_free_port)
  e2e_smdp_conf "$port"
  e2e_smdp_try "$port" && break
  [ "$try" -lt 5 ] || die "rsp-smdp exited (port $port)"
done
ES2_PORT=$port
cp -r "$DIR/pki" "$DIR/device"
lpa() { "$LPA" --euicc "soft:$DIR/device" "$@"; }
events() { cat "$DIR"/device/lpa/*/events.jsonl 2>/dev/null || true; }
count_events() { events | grep -c "\"event\":\"$1\"" || true; }
gbpp_calls() { grep -c '"function":"ES9+.GetBoundProfilePackage"' "$DIR/smdp.log" || true; }
assert_installed() { # ICCID
  local st
  st=$(smdp_state "$1")
  [ "$st" = Installed ] || die "profile $1 is '$st' at the SM-DP+, not Installed"
  lpa --json profile list | grep -q "\"iccid\":\"$1\"" || die "profile $1 is not on the eUICC"
}

AC() { echo "LPA:1\$$HOST:$port\$$1"; }
FAST=(--backoff-base 200 --backoff-cap 1000)

log "1. eUICC tear at segment 5"
read -r iccid mid <<<"$(order)"
g0=$(gbpp_calls)
lpa --euicc-fault tear-at-segment=5 profile download -a "$(AC "$mid")" "${FAST[@]}" ||
  die "download after a tear failed"
assert_installed "$iccid"
[ "$(count_events euicc-reset)" -ge 1 ] || die "no euicc-reset event"
[ "$(count_events backoff)" -ge 1 ] || die "no backoff event after the tear"
[ $(($(gbpp_calls) - g0)) -eq 2 ] || die "expected 2 getBoundProfilePackage calls (first + retry)"
log "   installed after the tear; events: $(events | sed -n 's/.*"event":"\([a-z-]*\)".*/\1/p' | tr '\n' ' ')"

log "2. rsp-lpa killed after segment 6, then --resume"
rm -f "$DIR"/device/lpa/*/events.jsonl
read -r iccid mid <<<"$(order)"
st=0
RSP_LPA_TEST_KILL_AT=acked:6 "$LPA" --euicc "soft:$DIR/device" profile download \
  -a "$(AC "$mid")" "${FAST[@]}" || st=$?
[ "$st" -eq 137 ] || die "the killed rsp-lpa exited with $st, not 137 (SIGKILL)"
grep -q '"state": "Downloading"' "$DIR"/device/lpa/*/attempt.json || die "no Downloading record"
grep -q '"acked": 6' "$DIR"/device/lpa/*/attempt.json || die "the record does not say 6 acked"
lpa profile download --resume "${FAST[@]}" || die "--resume failed"
assert_installed "$iccid"
[ "$(count_events resume)" -ge 1 ] || die "no resume event"
[ "$(count_events session-lost)" -ge 1 ] || die "no session-lost event (in-process eUICC)"
[ ! -e "$(echo "$DIR"/device/lpa/*)/attempt.json" ] || die "the attempt record was not cleared"

log "3. SM-DP+ unreachable, then back"
rm -f "$DIR"/device/lpa/*/events.jsonl
read -r iccid mid <<<"$(order)"
stop_smdp
lpa --retries 0 profile download -a "$(AC "$mid")" --backoff-base 300 --backoff-cap 2000 \
  >"$DIR/bg.out" 2>&1 &
bg_pid=$!
for _ in $(seq 200); do
  [ "$(count_events backoff)" -ge 3 ] && break
  kill -0 "$bg_pid" 2>/dev/null || die "rsp-lpa gave up while the server was down: $(cat "$DIR/bg.out")"
  sleep 0.1
done
[ "$(count_events backoff)" -ge 3 ] || die "fewer than 3 back-offs while the server was down"
start_smdp
st=0
wait "$bg_pid" || st=$?
bg_pid=
[ "$st" -eq 0 ] || die "rsp-lpa exited $st after the server came back: $(cat "$DIR/bg.out")"
assert_installed "$iccid"
delays=$(events | sed -n 's/.*"event":"backoff".*"delay_ms":\([0-9]*\).*/\1/p' | tr '\n' ' ')
log "   back-off delays (ms): $delays"
set -- $delays
[ "$1" -ge 150 ] && [ "$1" -le 300 ] || die "first back-off $1 ms not in [150, 300]"
[ "$3" -ge 600 ] && [ "$3" -le 1200 ] || die "third back-off $3 ms not in [600, 1200]"

log "4. battery low -> deferred -> charging -> resumed"
rm -f "$DIR"/device/lpa/*/events.jsonl
read -r iccid mid <<<"$(order)"
printf 'battery=12\ncharging=0\nsignal=3\n' >"$DIR/conditions"
st=0
lpa profile download -a "$(AC "$mid")" --conditions "$DIR/conditions" --no-wait || st=$?
[ "$st" -eq 7 ] || die "--no-wait while the battery is low exited $st, not 7"
ia0=$(grep -c '"function":"ES9+.InitiateAuthentication"' "$DIR/smdp.log" || true)
lpa profile download -a "$(AC "$mid")" --conditions "$DIR/conditions" >"$DIR/bg.out" 2>&1 &
bg_pid=$!
for _ in $(seq 100); do
  [ "$(count_events deferred)" -ge 2 ] && break
  sleep 0.1
done
[ "$(count_events deferred)" -ge 2 ] || die "no deferred event"
sleep 1
kill -0 "$bg_pid" 2>/dev/null || die "rsp-lpa did not wait: $(cat "$DIR/bg.out")"
ia1=$(grep -c '"function":"ES9+.InitiateAuthentication"' "$DIR/smdp.log" || true)
[ "$ia0" -eq "$ia1" ] || die "the SM-DP+ was contacted while the download was deferred"
printf 'battery=12\ncharging=1\nsignal=3\n' >"$DIR/conditions"
st=0
wait "$bg_pid" || st=$?
bg_pid=
[ "$st" -eq 0 ] || die "rsp-lpa exited $st after charging started: $(cat "$DIR/bg.out")"
[ "$(count_events resumed)" -ge 1 ] || die "no resumed event"
assert_installed "$iccid"

log "5. SM-DP+ down for good -> gives up"
rm -f "$DIR"/device/lpa/*/events.jsonl
read -r iccid mid <<<"$(order)"
stop_smdp
st=0
lpa --retries 0 profile download -a "$(AC "$mid")" --max-attempts 3 --backoff-base 100 || st=$?
[ "$st" -eq 5 ] || die "giving up exited $st, not 5"
[ "$(count_events attempt)" -eq 3 ] || die "expected exactly 3 attempts"
[ "$(count_events gave-up)" -eq 1 ] || die "no gave-up event"
log "PASS"
