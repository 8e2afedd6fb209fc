#!/usr/bin/env bash
# End-to-end PC/SC test: pcscd + vsmartcard's vpcd driver + `rsp-euicc serve --vpcd`.
#
#   pcsc_vpcd.sh RSP_EUICC PCSC_PROBE [RSPCTL PCSC_INSTALL]
#
# Part 1: pcsc_probe through the pcsc transport (SELECT ISD-R, GetEID, GetEuiccChallenge,
# chaining) against `rsp-euicc serve` with a throw-away PKI.
# Part 2 (with RSPCTL and PCSC_INSTALL): `rspctl pki init` writes a test PKI into a temporary
# directory; `rsp-euicc serve --config DIR --curve nist --state FILE` is the card; pcsc_install
# (LPA + in-process SM-DP+ with DIR's DP keys) downloads profiles in 120-byte STORE DATA blocks
# and enables one; rsp-euicc is stopped and started again on the same state file, and
# pcsc_install --phase check finds the profiles, the enabled one still enabled.
#
# Isolation: pcscd has no option for its socket (/run/pcscd/pcscd.comm is compiled in), so the
# script re-runs itself in a private mount namespace (unshare -m; plus a user namespace when not
# root) with a tmpfs over /run: its own pcscd never meets a system pcscd or its clients. The
# reader configuration is a private directory given with `pcscd -c`, vpcd listens on a random
# free port. Without namespaces, a running system pcscd is stopped through systemctl and started
# again on exit; if that is not possible the test fails with a message (it does not skip).
# Exit 77 (skip) only when pcscd or the vpcd driver is missing and cannot be installed.
set -euo pipefail

EUICC=${1:?usage: pcsc_vpcd.sh RSP_EUICC PCSC_PROBE [RSPCTL PCSC_INSTALL]}
PROBE=${2:?usage: pcsc_vpcd.sh RSP_EUICC PCSC_PROBE [RSPCTL PCSC_INSTALL]}
RSPCTL=${3:-}
INSTALL=${4:-}
EUICC=$(readlink -f "$EUICC")
PROBE=$(readlink -f "$PROBE")
[ -z "$RSPCTL" ] || RSPCTL=$(readlink -f "$RSPCTL")
[ -z "$INSTALL" ] || INSTALL=$(readlink -f "$INSTALL")
SELF=$(readlink -f "$0")
EID=89049032123451234512345678901235

log() { echo "pcsc_vpcd: $*"; }
die() {
  echo "pcsc_vpcd: FAIL: $*" >&2
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
  if ! command -v pcscd >/dev/null 2>&1 && [ -x /usr/sbin/pcscd ]; then
    PATH=$PATH:/usr/sbin
  fi
  if ! command -v pcscd >/dev/null 2>&1 || [ -z "$(find_vpcd_driver)" ]; then
    deps="$(dirname "$SELF")/../../scripts/deps.sh"
    if [ "${RSP_NO_INSTALL:-0}" != 1 ] && [ -x "$deps" ]; then
      log "pcscd or vpcd missing: trying scripts/deps.sh"
      "$deps" || true
    fi
    if ! command -v pcscd >/dev/null 2>&1 || [ -z "$(find_vpcd_driver)" ]; then
      echo "pcsc_vpcd: SKIP: pcscd or vsmartcard-vpcd not installed and not installable" >&2
      exit 77
    fi
  fi
  export RSP_PCSC_NS=1 PATH
  if [ "$(id -u)" -eq 0 ]; then
    ns=(unshare --mount --propagation private)
  else
    ns=(unshare --user --map-root-user --mount --propagation private)
  fi
  # RSP_PCSC_NO_NS=1 forces the shared-/run path (to exercise it, or where unshare misbehaves).
  if [ "${RSP_PCSC_NO_NS:-0}" != 1 ] && "${ns[@]}" true 2>/dev/null; then
    exec "${ns[@]}" bash "$SELF" "$EUICC" "$PROBE" $RSPCTL $INSTALL
  fi
  log "no private mount namespace available: sharing /run/pcscd with the system"
  export RSP_PCSC_SHARED_RUN=1
fi

# --- from here on: our own pcscd ------------------------------------------------------------
PATH=$PATH:/usr/sbin
DRIVER=$(find_vpcd_driver)
[ -n "$DRIVER" ] && [ -e "$DRIVER" ] || die "vpcd driver not found (LIBPATH in /etc/reader.conf.d/vpcd)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rsp-pcsc.XXXXXX")
PIDS=()
RESTART_SYSTEM_PCSCD=0
RMDIR_RUN_PCSCD=0
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    # wait up to 5 s for each, then insist
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ]; then
    for f in pcscd.log euicc.log probe.log pki.log euicc-config.log install.log check.log; do
      [ -s "$WORK/$f" ] && { echo "----- $f (last 60 lines)"; tail -n 60 "$WORK/$f"; }
    done
  fi
  if [ "$RMDIR_RUN_PCSCD" = 1 ]; then
    rmdir /run/pcscd 2>/dev/null || true
  fi
  if [ "$RESTART_SYSTEM_PCSCD" = 1 ]; then
    log "restarting the system pcscd"
    systemctl start pcscd.socket 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${RSP_PCSC_SHARED_RUN:-0}" = 1 ]; then
  if [ -S /run/pcscd/pcscd.comm ] || pgrep -x pcscd >/dev/null 2>&1; then
    if command -v systemctl >/dev/null 2>&1 && systemctl stop pcscd.socket pcscd.service 2>/dev/null; then
      RESTART_SYSTEM_PCSCD=1
      log "stopped the system pcscd for the duration of the test"
    else
      die "a system pcscd is running and there is no private mount namespace to avoid it"
    fi
  fi
  [ -d /run/pcscd ] || RMDIR_RUN_PCSCD=1
else
  # Private /run: our pcscd creates /run/pcscd on this tmpfs, invisible outside.
  mount -t tmpfs -o mode=0755 rsp-pcsc-run /run || die "cannot mount a private /run"
fi

# A free TCP port for vpcd (it binds on all addresses; the card connects to 127.0.0.1).
PORT=
for _ in $(seq 50); do
  p=$((20000 + RANDOM % 12000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    PORT=$p
    break
  fi
done
[ -n "$PORT" ] || die "no free TCP port found"

mkdir -p "$WORK/reader.conf.d"
cat >"$WORK/reader.conf.d/rspkit-vpcd" <<EOF
FRIENDLYNAME "rspkit vpcd"
DEVICENAME   /dev/null:$PORT
LIBPATH      $DRIVER
CHANNELID    $PORT
EOF

log "starting pcscd (private config $WORK/reader.conf.d, vpcd port $PORT)"
pcscd --foreground --debug --config "$WORK/reader.conf.d" >"$WORK/pcscd.log" 2>&1 &
PIDS+=($!)

# vpcd must be listening before the card connects (the card retries anyway).
for i in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  kill -0 "${PIDS[0]}" 2>/dev/null || die "pcscd exited early"
  [ "$i" -eq 100 ] && die "vpcd did not listen on port $PORT within 10 s"
  sleep 0.1
done

log "starting rsp-euicc serve --vpcd 127.0.0.1:$PORT"
"$EUICC" serve --vpcd "127.0.0.1:$PORT" --eid "$EID" --verbose >"$WORK/euicc.log" 2>&1 &
PIDS+=($!)

log "running pcsc_probe"
if ! timeout 60 "$PROBE" --reader "rspkit vpcd" --eid "$EID" --wait 30 >"$WORK/probe.log" 2>&1; then
  cat "$WORK/probe.log"
  die "pcsc_probe failed"
fi
cat "$WORK/probe.log"

# rsp-euicc must stop cleanly on SIGTERM: stop_euicc PID LOG
stop_euicc() {
  local pid=$1 st=0
  kill -TERM "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  wait "$pid" || st=$?
  [ "$st" -eq 0 ] || die "rsp-euicc exited with status $st after SIGTERM"
  grep -q "vpcd: stopped" "$2" || die "rsp-euicc did not report a clean stop"
  # reaped: the cleanup must not signal its (possibly reused) pid
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}
stop_euicc "${PIDS[1]}" "$WORK/euicc.log"

if [ -z "$INSTALL" ]; then
  log "PASS"
  exit 0
fi

# --- part 2: a full download with a PKI from rspctl pki init, persisted across a restart --------
log "rspctl pki init $WORK/pki"
"$RSPCTL" pki init "$WORK/pki" >"$WORK/pki.log" 2>&1 || die "rspctl pki init failed"
[ -s "$WORK/pki/nist/ci.der" ] && [ -s "$WORK/pki/brp/ci.der" ] || die "rspctl pki init wrote no CI"

EUICC_PID=
start_euicc() {
  log "starting rsp-euicc serve --config $WORK/pki --curve nist --state $WORK/euicc.state ($1)"
  echo "===== $1" >>"$WORK/euicc-config.log"
  "$EUICC" serve --vpcd "127.0.0.1:$PORT" --config "$WORK/pki" --curve nist \
    --state "$WORK/euicc.state" --verbose >>"$WORK/euicc-config.log" 2>&1 &
  EUICC_PID=$!
  PIDS+=("$EUICC_PID")
}
run_install() { # PHASE LOG
  log "running pcsc_install --phase $1"
  if ! timeout 120 "$INSTALL" --reader "rspkit vpcd" --config "$WORK/pki" --phase "$1" \
    --wait 30 >"$WORK/$2" 2>&1; then
    cat "$WORK/$2"
    die "pcsc_install --phase $1 failed"
  fi
  cat "$WORK/$2"
}

start_euicc "first start"
run_install install install.log
stop_euicc "$EUICC_PID" "$WORK/euicc-config.log"
[ -s "$WORK/euicc.state" ] || die "no state file after the download"

start_euicc "restart on the same state"
run_install check check.log
stop_euicc "$EUICC_PID" "$WORK/euicc-config.log"
log "PASS"
