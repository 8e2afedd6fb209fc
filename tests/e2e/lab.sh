#!/usr/bin/env bash
# `make lab` as a test, and the whole flow through the PC/SC path:
#   rsp-lpa --pcsc -> pcscd -> vpcd -> rsp-euicc serve, ES9+ over HTTPS to rsp-smdp.
#
#   lab.sh LAB_SCRIPT RSP_LPA RSPCTL   (BUILD in the environment: the build directory)
#
# Starts scripts/lab.sh with a temporary LAB_DIR on a free loopback port, waits for the printed
# activation codes, downloads the first one with `rsp-lpa --pcsc` run inside the lab's namespace
# (scripts/lab.sh exec) and enables it; asserts exit 0, the profile enabled over PC/SC and
# Installed at the SM-DP+; then sends SIGTERM to the lab and asserts that every process it started
# is gone. Exit 77 (skip) only when pcscd or the vpcd driver is not installed.
set -euo pipefail

LAB=$(readlink -f "${1:?usage: lab.sh LAB_SCRIPT RSP_LPA RSPCTL}")
LPA=$(readlink -f "${2:?usage: lab.sh LAB_SCRIPT RSP_LPA RSPCTL}")
RSPCTL=$(readlink -f "${3:?usage: lab.sh LAB_SCRIPT RSP_LPA RSPCTL}")
export BUILD=${BUILD:?BUILD must name the build directory}

log() { echo "lab-test: $*"; }
die() {
  echo "lab-test: FAIL: $*" >&2
  exit 1
}

PATH=$PATH:/usr/sbin
have_vpcd=0
for f in /etc/reader.conf.d/*vpcd* /usr/lib/pcsc/drivers/serial/libifdvpcd.so \
  /usr/lib/*/pcsc/drivers/serial/libifdvpcd.so /usr/local/lib/pcsc/drivers/serial/libifdvpcd.so; do
  [ -e "$f" ] && have_vpcd=1
done
if ! command -v pcscd >/dev/null 2>&1 || [ "$have_vpcd" = 0 ]; then
  echo "lab-test: SKIP: pcscd or vsmartcard-vpcd not installed" >&2
  exit 77
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/rsp-lab.XXXXXX")
LAB_DIR="$DIR/lab"
# rsp-lpa keeps download attempts per EID; the test eUICC's EID is the same in every run, so
# concurrent runs must not share the user's default state directory.
export RSP_LPA_STATE_DIR="$DIR/lpa-default"
lab_pid=
cleanup() {
  local rc=$?
  if [ -n "$lab_pid" ] && kill -0 "$lab_pid" 2>/dev/null; then
    kill -TERM "$lab_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$lab_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$lab_pid" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ]; then
    echo "----- lab output"
    cat "$DIR/lab.out" 2>/dev/null || true
    for f in "$LAB_DIR"/logs/*.log; do
      [ -s "$f" ] && { echo "----- $f (last 30 lines)"; tail -n 30 "$f"; }
    done
  fi
  rm -rf "$DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=
for _ in $(seq 50); do
  p=$((20000 + RANDOM % 12000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p && break; fi
done
[ -n "$port" ] || die "no free TCP port"

log "starting scripts/lab.sh (LAB_DIR $LAB_DIR, port $port)"
LAB_DIR=$LAB_DIR LAB_PORT=$port LAB_ORDERS=3 "$LAB" >"$DIR/lab.out" 2>&1 &
lab_pid=$!

for i in $(seq 600); do
  grep -q '^lab: ready' "$DIR/lab.out" 2>/dev/null && break
  kill -0 "$lab_pid" 2>/dev/null || die "scripts/lab.sh exited before it was ready"
  [ "$i" -eq 600 ] && die "scripts/lab.sh not ready within 60 s"
  sleep 0.1
done
cat "$DIR/lab.out"
code=$(grep -m1 '^LPA:1\$127\.0\.0\.1:'"$port"'\$' "$DIR/lab.out") || die "no activation code printed"
[ "$(grep -c '^LPA:1\$' "$DIR/lab.out")" -ge 3 ] || die "fewer than 3 activation codes printed"
ci=$(sed -n 's/^lab: CI certificate a device must trust.*: //p' "$DIR/lab.out")
[ -s "$ci" ] || die "the printed CI certificate '$ci' does not exist"
grep -q "^lab: logs in $LAB_DIR/logs" "$DIR/lab.out" || die "the log directory is not printed"
started=$(cat "$LAB_DIR"/run/{lab,smdp,ns,pcscd,euicc}.pid)
log "processes of the lab: $(echo $started)"

log "rsp-lpa --pcsc (inside the lab's namespace) profile download -a $code --enable"
st=0
timeout 120 "$LAB" exec --dir "$LAB_DIR" -- "$LPA" --pcsc rspkit --ca "$ci" \
  profile download -a "$code" --enable || st=$?
[ "$st" -eq 0 ] || die "rsp-lpa profile download exited with $st"

list=$(timeout 60 "$LAB" exec --dir "$LAB_DIR" -- "$LPA" --json --pcsc rspkit profile list)
echo "$list"
iccid=$(printf '%s' "$list" | sed -n 's/.*"iccid":"\([0-9]*\)".*"state":"enabled".*/\1/p')
[ -n "$iccid" ] || die "no profile enabled on the eUICC over PC/SC"
smdp_state_of() {
  "$RSPCTL" profiles list --db "$LAB_DIR/smdp.db" | awk -v i="$1" '($1 "") == (i "") {print $3}'
}
smdp_state=$(smdp_state_of "$iccid")
[ "$smdp_state" = Installed ] || die "profile $iccid is '$smdp_state' at the SM-DP+, not Installed"
log "profile $iccid: enabled over PC/SC, Installed at the SM-DP+"

# Recovery through PC/SC: the card (rsp-euicc serve) outlives the LPA, so a restarted rsp-lpa
# sends the rest of the BPP it saved -- no second getBoundProfilePackage.
code2=$(grep '^LPA:1\$' "$DIR/lab.out" | sed -n 2p)
gbpp() { grep -c '"function":"ES9+.GetBoundProfilePackage"' "$LAB_DIR/logs/rsp-smdp.log" || true; }
g0=$(gbpp)
log "rsp-lpa --pcsc killed (SIGKILL) right after segment 4 was acked, then --resume"
st=0
timeout 120 "$LAB" exec --dir "$LAB_DIR" -- \
  env RSP_LPA_TEST_KILL_AT=acked:4 "$LPA" --pcsc rspkit --ca "$ci" --state-dir "$DIR/lpa-state" \
  profile download -a "$code2" || st=$?
[ "$st" -eq 137 ] || die "the killed rsp-lpa exited with $st, not 137"
st=0
timeout 120 "$LAB" exec --dir "$LAB_DIR" -- "$LPA" --pcsc rspkit --ca "$ci" \
  --state-dir "$DIR/lpa-state" profile download --resume || st=$?
[ "$st" -eq 0 ] || die "rsp-lpa --resume exited with $st"
[ "$(gbpp)" -eq $((g0 + 1)) ] || die "the BPP was fetched $(($(gbpp) - g0)) times, not once"
grep -q '"event":"resume"' "$DIR"/lpa-state/*/events.jsonl || die "no resume event"
if grep -q '"event":"session-lost"' "$DIR"/lpa-state/*/events.jsonl; then
  die "the card lost the session"
fi
iccid2=$(sed -n 's/.*"event":"installed".*"iccid":"\([0-9]*\)".*/\1/p' "$DIR"/lpa-state/*/events.jsonl)
[ "$(smdp_state_of "$iccid2")" = Installed ] || die "resumed profile $iccid2 not Installed"
log "resumed over PC/SC: profile $iccid2 Installed, one BPP download"

log "SIGTERM to the lab"
kill -TERM "$lab_pid"
st=0
for _ in $(seq 150); do kill -0 "$lab_pid" 2>/dev/null || break; sleep 0.1; done
wait "$lab_pid" || st=$?
lab_pid=
[ "$st" -eq 0 ] || die "scripts/lab.sh exited with $st after SIGTERM"
for _ in $(seq 50); do
  left=
  for p in $started; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
  [ -z "$left" ] && break
  sleep 0.1
done
[ -z "$left" ] || die "still running after the lab stopped:$left ($(ps -o pid=,args= -p "${left# }" || true))"
if pgrep -f "$LAB_DIR" >/dev/null 2>&1; then
  die "processes naming $LAB_DIR survive: $(pgrep -af "$LAB_DIR")"
fi
[ ! -e "$LAB_DIR/run/nsenter" ] || die "the namespace helper file was not removed"
log "PASS"
