#!/usr/bin/env bash
# `rspctl acceptance` end to end: the first-boot suite against the software eUICC as a PC/SC
# card (pcscd + vsmartcard's vpcd + `rsp-euicc serve`, in a private mount namespace as
# pcsc_vpcd.sh does) and a live rsp-smdp over HTTPS (tests/e2e/smdp_env.sh), with ES2+ orders.
#
#   acceptance.sh RSPCTL RSP_SMDP RSP_EUICC AT_MODEM RSP_IMPAIR
#
#   0. campaign "spring" marked as requiring acceptance: the gate refuses ("none recorded");
#   1. a run over PC/SC (low battery but charging, a TAC) passes: exit 0, the JUnit report
#      parses with tests=8 failures=0 skipped=0, the HTML report is self-contained, the run is
#      recorded as passed with the SHA-256 of the JUnit file, audited; the gate allows release;
#   2. the card restarted with an injected fault (rsp-euicc serve --fault fail-at-segment=3):
#      exit 1, the JUnit report shows the failing step 'download' (and the skipped chain), the
#      run is recorded as failed, the gate refuses with "last run #N failed at step 'download'";
#   3. the healthy card through an in-process impairment proxy (latency, jitter, 30% of the
#      connections reset mid-transfer, fixed seed): passes, the gate allows release again;
#      The same through an rsp-impair process (--impair-at), with the in-process software eUICC;
#   4. battery low and not charging (software eUICC in process): the download fails at once as
#      deferred by the device conditions; recorded, and the model is refused again;
#   5. a device model marked by itself, run through an AT-command modem (the software eUICC
#      behind tests/unit/at's fake modem on a pty) with the codes and conditions in a suite
#      file: passes, the model is released; a bad suite file is a usage error naming its line;
#   6. orders created by the runner over ES2+ (DownloadOrder linked to the card's EID,
#      ConfirmOrder) with the operator's token from a file: passes; a wrong token fails at
#      'download' with the ES2+ refusal;
#   7. the audit chain holds the runs and the marks;
#   8. with RSP_TEST_PG (scripts/pg.sh): a run recorded in PostgreSQL, and the gate read from it.
# Exit 77 (skip) only when pcscd or the vpcd driver is missing and cannot be installed.
set -euo pipefail

USAGE="usage: acceptance.sh RSPCTL RSP_SMDP RSP_EUICC AT_MODEM RSP_IMPAIR"
RSPCTL=$(readlink -f "${1:?$USAGE}")
SMDP=$(readlink -f "${2:?$USAGE}")
EUICC=$(readlink -f "${3:?$USAGE}")
ATMODEM=$(readlink -f "${4:?$USAGE}")
IMPAIR=$(readlink -f "${5:?$USAGE}")
SELF=$(readlink -f "$0")

log() { echo "acceptance: $*"; }
die() {
  echo "acceptance: FAIL: $*" >&2
  exit 1
}

find_vpcd_driver() {
  local f
  for f in /etc/reader.conf.d/vpcd /etc/reader.conf.d/*vpcd*; do
    [ -f "$f" ] || continue
    awk '$1 == "LIBPATH" { print $2; exit }' "$f"
    return 0
  done
  for f in /usr/lib/pcsc/drivers/serial/libifdvpcd.so /usr/lib/*/pcsc/drivers/serial/libifdvpcd.so \
    /usr/local/lib/pcsc/drivers/serial/libifdvpcd.so; do
    [ -e "$f" ] && echo "$f" && return 0
  done
  return 0
}

# --- outside the namespace: prerequisites, then re-exec inside a private mount namespace -------
if [ "${RSP_PCSC_NS:-0}" != 1 ]; then
  PATH=$PATH:/usr/sbin
  if ! command -v pcscd >/dev/null 2>&1 || [ -z "$(find_vpcd_driver)" ]; then
    echo "acceptance: SKIP: pcscd or vsmartcard-vpcd not installed" >&2
    exit 77
  fi
  command -v xmllint >/dev/null 2>&1 || die "xmllint (libxml2-utils, scripts/deps.sh) is missing"
  export RSP_PCSC_NS=1 PATH
  if [ "$(id -u)" -eq 0 ]; then
    ns=(unshare --mount --propagation private)
  else
    ns=(unshare --user --map-root-user --mount --propagation private)
  fi
  "${ns[@]}" true 2>/dev/null || die "no private mount namespace (unshare) for pcscd"
  exec "${ns[@]}" bash "$SELF" "$RSPCTL" "$SMDP" "$EUICC" "$ATMODEM" "$IMPAIR"
fi

# --- inside: our own /run, pcscd, rsp-smdp ----------------------------------------------------
DRIVER=$(find_vpcd_driver)
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rsp-accept.XXXXXX")
HOST=127.0.0.1
OPERATOR=accept-operator
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
PROFILE_TYPE=acc
smdp_pid=
pcscd_pid=
euicc_pid=
modem_pid=
impair_pid=
cleanup() {
  local rc=$?
  for p in $impair_pid $modem_pid $euicc_pid $pcscd_pid $smdp_pid; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in $impair_pid $modem_pid $euicc_pid $pcscd_pid $smdp_pid; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ]; then
    for f in smdp.log euicc.log pcscd.log modem.log run1.out run2.out run3.out run3b.out run4.out run5.out run6.out run6b.out; do
      [ -s "$DIR/$f" ] && { echo "----- $f (last 40 lines)"; tail -n 40 "$DIR/$f"; }
    done
  fi
  rm -rf "$DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mount -t tmpfs -o mode=0755 rsp-accept-run /run || die "cannot mount a private /run"

. "$(dirname "$SELF")/smdp_env.sh"
e2e_inventory 20 8949000000000007 0010100000007
for try in 1 2 3 4 5; do
  port=$(e2e_free_port)
  e2e_smdp_conf "$port"
  e2e_smdp_try "$port" && break
  [ "$try" -lt 5 ] || die "rsp-smdp exited (port $port)"
done
ES2_PORT=$port
DB="$DIR/smdp.db"
MODEL="Lab Phone 1"
CI="$DIR/pki/nist/ci.pem"

vport=$(e2e_free_port)
mkdir -p "$DIR/reader.conf.d"
cat >"$DIR/reader.conf.d/rspkit-vpcd" <<EOF
FRIENDLYNAME "rspkit accept vpcd"
DEVICENAME   /dev/null:$vport
LIBPATH      $DRIVER
CHANNELID    $vport
EOF
pcscd --foreground --config "$DIR/reader.conf.d" >"$DIR/pcscd.log" 2>&1 &
pcscd_pid=$!
for i in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$vport") 2>/dev/null && break
  kill -0 "$pcscd_pid" 2>/dev/null || die "pcscd exited early"
  [ "$i" -eq 100 ] && die "vpcd did not listen on port $vport"
  sleep 0.1
done

start_card() { # [rsp-euicc serve options...]
  echo "===== serve $*" >>"$DIR/euicc.log"
  "$EUICC" serve --vpcd "127.0.0.1:$vport" --config "$DIR/pki" --curve nist \
    --state "$DIR/card.state" --verbose "$@" >>"$DIR/euicc.log" 2>&1 &
  euicc_pid=$!
}
stop_card() {
  kill -TERM "$euicc_pid"
  wait "$euicc_pid" 2>/dev/null || true
  euicc_pid=
}

ac() { # a new released order: its activation code
  local o
  o=$(order)
  echo "LPA:1\$$HOST:$port\$${o#* }"
}

# junit FILE XPATH: the value of an XPath expression over the JUnit report
junit() { xmllint --xpath "$2" "$1" 2>/dev/null; }

gate() { # expected-exit [args]
  local want=$1 st=0
  shift
  "$RSPCTL" acceptance gate --db "$DB" "$@" >"$DIR/gate.out" 2>&1 || st=$?
  [ "$st" -eq "$want" ] || die "acceptance gate $* exited $st, not $want: $(cat "$DIR/gate.out")"
  cat "$DIR/gate.out"
}

# --- 0. the requirement, nothing recorded --------------------------------------------------------
"$RSPCTL" acceptance require --campaign spring --db "$DB" | grep -q "campaign spring requires" ||
  die "require --campaign did not confirm"
gate 3 --campaign spring --model "$MODEL"
grep -q "campaign spring requires a passing acceptance run for model $MODEL; none recorded" \
  "$DIR/gate.out" || die "the refusal does not say 'none recorded'"
gate 0 --campaign autumn --model "$MODEL"

run() { # N expected-exit [rspctl acceptance run options...]
  local n=$1 want=$2 st=0
  shift 2
  log "run $n: rspctl acceptance run $*"
  timeout 240 "$RSPCTL" acceptance run --ac "$(ac)" --ac "$(ac)" --ca "$CI" --db "$DB" \
    --model "$MODEL" --tac 35290611 --junit "$DIR/run$n.xml" --html "$DIR/run$n.html" \
    --state-dir "$DIR/lpa$n" "$@" >"$DIR/run$n.out" 2>&1 || st=$?
  cat "$DIR/run$n.out"
  [ "$st" -eq "$want" ] || die "run $n exited $st, not $want"
  xmllint --noout "$DIR/run$n.xml" || die "run $n: the JUnit report is not well-formed XML"
}

# --- 1. passing run over PC/SC -------------------------------------------------------------------
start_card
run 1 0 --pcsc "rspkit accept vpcd" --wait 30 --battery 15 --charging
[ "$(junit "$DIR/run1.xml" 'string(/testsuites/@tests)')" = 8 ] || die "run 1: tests != 8"
[ "$(junit "$DIR/run1.xml" 'string(/testsuites/@failures)')" = 0 ] || die "run 1: failures != 0"
[ "$(junit "$DIR/run1.xml" 'string(/testsuites/testsuite/@skipped)')" = 0 ] || die "run 1: skipped"
[ "$(junit "$DIR/run1.xml" 'count(//testcase)')" = 8 ] || die "run 1: not 8 test cases"
[ "$(junit "$DIR/run1.xml" 'count(//failure)')" = 0 ] || die "run 1: a <failure>"
for s in euicc-info download verify enable notifications disable delete re-download; do
  [ "$(junit "$DIR/run1.xml" "count(//testcase[@name='$s'])")" = 1 ] || die "run 1: no step $s"
done
[ "$(junit "$DIR/run1.xml" 'string(//property[@name="target"]/@value)')" = pcsc ] ||
  die "run 1: target is not pcsc"
svn=$(junit "$DIR/run1.xml" 'string(//property[@name="euicc.sgp22_version"]/@value)')
case "$svn" in 2.*) ;; *) die "run 1: SGP.22 version '$svn' not read from the card" ;; esac
grep -q 'PASSED: 8 passed, 0 failed, 0 skipped of 8 steps' "$DIR/run1.html" ||
  die "run 1: the HTML report does not say PASSED"
if grep -Eq '<script|src=|href=|https?://' "$DIR/run1.html"; then
  die "run 1: the HTML report is not self-contained"
fi
sha=$(sha256sum "$DIR/run1.xml" | cut -d' ' -f1)
grep -q "JUnit SHA-256 $sha" "$DIR/run1.out" || die "run 1: the recorded SHA-256 is not the file's"
"$RSPCTL" acceptance list --db "$DB" --model "$MODEL" >"$DIR/list.out"
head -n1 "$DIR/list.out" | grep -q "passed model=$MODEL tac=35290611 target=pcsc" ||
  die "run 1 not recorded as passed: $(cat "$DIR/list.out")"
gate 0 --campaign spring --model "$MODEL"
gate 0 --campaign spring --model 35290611 # by TAC

# --- 2. injected eUICC fault: the run fails at 'download' and blocks the campaign ---------------
stop_card
start_card --fault fail-at-segment=3
run 2 1 --pcsc "rspkit accept vpcd" --wait 30
[ "$(junit "$DIR/run2.xml" 'string(/testsuites/@tests)')" = 8 ] || die "run 2: tests != 8"
fails=$(junit "$DIR/run2.xml" 'string(/testsuites/@failures)')
[ "$fails" -ge 1 ] || die "run 2: no failure in the JUnit report"
[ "$(junit "$DIR/run2.xml" 'count(//testcase[@name="download"]/failure)')" = 1 ] ||
  die "run 2: the failing step 'download' is not in the JUnit report"
[ "$(junit "$DIR/run2.xml" 'count(//testcase[@name="enable"]/skipped)')" = 1 ] ||
  die "run 2: 'enable' is not skipped"
grep -q "first failure: download" "$DIR/run2.out" || die "run 2: first failure not download"
"$RSPCTL" acceptance list --db "$DB" --model "$MODEL" --limit 1 >"$DIR/list.out"
grep -q "FAILED model=$MODEL .* step=download" "$DIR/list.out" ||
  die "run 2 not recorded as failed at download: $(cat "$DIR/list.out")"
run2_id=$(sed -n 's/^run #\([0-9]*\) .*/\1/p' "$DIR/list.out")
gate 3 --campaign spring --model "$MODEL"
grep -q "campaign spring requires a passing acceptance run for model $MODEL; last run #$run2_id failed at step 'download'" \
  "$DIR/gate.out" || die "the refusal does not name run #$run2_id and its step"
"$RSPCTL" acceptance status --db "$DB" --campaign spring --model "$MODEL" >"$DIR/status.out"
grep -q "release refused" "$DIR/status.out" || die "status does not show the refusal"

# --- 3. healthy card through an impaired network: passes, the gate allows again -----------------
stop_card
start_card
run 3 0 --pcsc "rspkit accept vpcd" --wait 30 \
  --impair "latency=20,jitter=10,drop_fraction=0.3,drop_range=200-3000,seed=7" \
  --impair-log "$DIR/impair.log" --backoff-base 100 --backoff-cap 500 --max-attempts 12
[ "$(junit "$DIR/run3.xml" 'string(/testsuites/@failures)')" = 0 ] || die "run 3: failures"
grep -q '"event":"accept"' "$DIR/impair.log" || die "run 3: nothing went through the proxy"
junit "$DIR/run3.xml" 'string(//property[@name="impairment"]/@value)' | grep -q drop_fraction ||
  die "run 3: the impairment is not in the report"
gate 0 --campaign spring --model "$MODEL"
stop_card
cp -r "$DIR/pki" "$DIR/device"
"$IMPAIR" --listen 127.0.0.1:0 --port-file "$DIR/impair.port" --upstream "127.0.0.1:$port" \
  --latency 15 --log "$DIR/impair-proc.log" 2>/dev/null &
impair_pid=$!
for _ in $(seq 100); do [ -s "$DIR/impair.port" ] && break; sleep 0.1; done
[ -s "$DIR/impair.port" ] || die "rsp-impair did not start"
run 3b 0 --soft "$DIR/device" --impair-at "127.0.0.1:$(cat "$DIR/impair.port")"
grep -q '"event":"accept"' "$DIR/impair-proc.log" || die "run 3b: nothing went through rsp-impair"
kill -TERM "$impair_pid" && wait "$impair_pid" 2>/dev/null || true
impair_pid=

# --- 4. low battery, not charging (software eUICC in process): deferred, fails at download ------
cp -r "$DIR/pki" "$DIR/device"
run 4 1 --soft "$DIR/device" --battery 10
[ "$(junit "$DIR/run4.xml" 'count(//testcase[@name="download"]/failure)')" = 1 ] ||
  die "run 4: download did not fail"
junit "$DIR/run4.xml" 'string(//testcase[@name="download"]/failure/@message)' |
  grep -q "deferred by device conditions" || die "run 4: not deferred by the conditions"
gate 3 --campaign spring --model "$MODEL"

# --- 5. a device model marked, run through an AT modem with a suite file ------------------------
"$RSPCTL" acceptance require --model "Modem Box" --db "$DB" >/dev/null
gate 3 --model "Modem Box"
gate 3 --campaign autumn --model "Modem Box" # a model mark applies to every campaign
cp -r "$DIR/pki" "$DIR/modem"
"$ATMODEM" "$DIR/modem" "$DIR/modem.state" "$DIR/modem.path" 2>"$DIR/modem.log" &
modem_pid=$!
for _ in $(seq 100); do [ -s "$DIR/modem.path" ] && break; sleep 0.1; done
[ -s "$DIR/modem.path" ] || die "the fake modem did not start"
cat >"$DIR/suite.conf" <<EOF
# acceptance suite for the modem box
ac = $(ac)
ac = $(ac)
model = Modem Box
tac = 86000001
battery = 50
signal = 3
EOF
st=0
mkdir "$DIR/tmp" # the LPA state goes to a temporary directory, removed at the end
TMPDIR="$DIR/tmp" timeout 240 "$RSPCTL" acceptance run --at "$(cat "$DIR/modem.path")" --suite "$DIR/suite.conf" \
  --ca "$CI" --db "$DB" --junit "$DIR/run5.xml" --html "$DIR/run5.html" >"$DIR/run5.out" 2>&1 ||
  st=$?
cat "$DIR/run5.out"
[ "$st" -eq 0 ] || die "run 5 (AT modem) exited $st"
[ -z "$(ls -A "$DIR/tmp")" ] || die "run 5 left its temporary state behind: $(ls -A "$DIR/tmp")"
[ "$(junit "$DIR/run5.xml" 'string(/testsuites/@failures)')" = 0 ] || die "run 5: failures"
[ "$(junit "$DIR/run5.xml" 'string(//property[@name="target"]/@value)')" = at ] ||
  die "run 5: target is not at"
gate 0 --model "Modem Box"
gate 0 --model 86000001
printf 'ac = LPA:1$h$m\nbattery = lots\n' >"$DIR/bad.conf"
st=0
"$RSPCTL" acceptance run --soft "$DIR/device" --suite "$DIR/bad.conf" 2>"$DIR/bad.out" || st=$?
[ "$st" -eq 2 ] && grep -q "bad.conf:2: bad value for 'battery'" "$DIR/bad.out" ||
  die "a bad suite file: exit $st, $(cat "$DIR/bad.out")"

# --- 6. orders over ES2+ ------------------------------------------------------------------------
printf '%s\n' "$TOKEN" >"$DIR/es2.token"
run_es2() { # N expected-exit token-file
  local st=0
  "$RSPCTL" acceptance run --soft "$DIR/device" --es2 "https://$HOST:$port" --operator "$OPERATOR" \
    --token-file "$3" --profile-type "$PROFILE_TYPE" --ca "$CI" --db "$DB" --model "ES2 Phone" \
    --junit "$DIR/run$1.xml" --html "$DIR/run$1.html" >"$DIR/run$1.out" 2>&1 || st=$?
  cat "$DIR/run$1.out"
  [ "$st" -eq "$2" ] || die "run $1 (ES2+ orders) exited $st, not $2"
}
run_es2 6 0 "$DIR/es2.token"
grep -q "ES2+ order: ICCID" "$DIR/run6.xml" || die "run 6: the ES2+ orders are not in the report"
if grep -q "$TOKEN" "$DIR/run6.xml" "$DIR/run6.html" "$DIR/run6.out"; then
  die "run 6: the ES2+ token leaked into a report"
fi
printf 'not-the-token\n' >"$DIR/bad.token"
run_es2 6b 1 "$DIR/bad.token"
junit "$DIR/run6b.xml" 'string(//testcase[@name="download"]/failure/@message)' |
  grep -q "ES2+ downloadOrder refused" || die "run 6b: the ES2+ refusal is not the failure"

# --- 7. audited -----------------------------------------------------------------------------------
"$RSPCTL" acceptance unrequire --campaign spring --db "$DB" | grep -q "no longer requires" ||
  die "unrequire did not confirm"
gate 0 --campaign spring --model "$MODEL"
"$RSPCTL" audit list --db "$DB" >"$DIR/audit.out"
[ "$(awk '$3 == "acceptance"' "$DIR/audit.out" | wc -l)" -eq 8 ] ||
  die "not one audit record per run: $(grep acceptance "$DIR/audit.out")"
[ "$(awk '$3 == "acceptance-req"' "$DIR/audit.out" | wc -l)" -eq 3 ] ||
  die "the runs and marks are not in the audit trail: $(grep acceptance "$DIR/audit.out")"
"$RSPCTL" audit verify --db "$DB" --chain-only >/dev/null || die "the audit chain does not verify"

# --- 8. the record and the gate on PostgreSQL -------------------------------------------------------
if [ -n "${RSP_TEST_PG:-}" ] && command -v psql >/dev/null 2>&1; then
  pgdb="rsp_accept_$$"
  pgurl=$(printf '%s' "$RSP_TEST_PG" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\1/$pgdb#")
  psql "$RSP_TEST_PG" -qc "CREATE DATABASE $pgdb" >/dev/null || die "cannot create $pgdb"
  "$RSPCTL" acceptance require --model "$MODEL" --db "$pgurl" >/dev/null
  gate_pg() { # expected-exit
    local st=0
    "$RSPCTL" acceptance gate --db "$pgurl" --model "$MODEL" >"$DIR/gate.out" 2>&1 || st=$?
    [ "$st" -eq "$1" ] || die "PostgreSQL gate exited $st, not $1: $(cat "$DIR/gate.out")"
  }
  gate_pg 3
  st=0
  "$RSPCTL" acceptance run --soft "$DIR/device" --ac "$(ac)" --ac "$(ac)" --ca "$CI" \
    --db "$pgurl" --model "$MODEL" --junit "$DIR/run7.xml" --html "$DIR/run7.html" \
    >"$DIR/run7.out" 2>&1 || st=$?
  [ "$st" -eq 0 ] || { cat "$DIR/run7.out"; die "run 7 (recorded in PostgreSQL) exited $st"; }
  gate_pg 0
  "$RSPCTL" acceptance list --db "$pgurl" | grep -q "passed model=$MODEL tac=- target=soft" ||
    die "run 7 is not recorded in PostgreSQL"
  psql "$RSP_TEST_PG" -qc "DROP DATABASE $pgdb WITH (FORCE)" >/dev/null || true
  log "PostgreSQL: run recorded, gate allowed"
else
  log "PostgreSQL part skipped (RSP_TEST_PG unset)"
fi
log "PASS"
