#!/usr/bin/env bash
# rsp-euicc command line: --help, exit status 2 on usage errors, clean stop on SIGTERM while
# vpcd is unreachable, credentials from `rspctl pki init`, corrupt state files.
#   rsp_euicc_cli.sh RSP_EUICC RSPCTL
set -uo pipefail
EUICC=${1:?usage: rsp_euicc_cli.sh RSP_EUICC RSPCTL}
RSPCTL=${2:?usage: rsp_euicc_cli.sh RSP_EUICC RSPCTL}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail=0
check() { # expected-status description command...
  local want=$1 what=$2
  shift 2
  "$@" >/dev/null 2>&1
  local st=$?
  if [ "$st" -eq "$want" ]; then echo "ok: $what"; else echo "FAIL: $what: status $st, want $want"; fail=1; fi
}
check 0 "--help" "$EUICC" --help
"$EUICC" --help | grep -q -- "--config DIR" || { echo "FAIL: --help does not document --config"; fail=1; }
check 0 "serve --help" "$EUICC" serve --help
check 2 "no command" "$EUICC"
check 2 "unknown command" "$EUICC" frobnicate
check 2 "serve without --vpcd" "$EUICC" serve
check 2 "--vpcd without value" "$EUICC" serve --vpcd
check 2 "--vpcd without port" "$EUICC" serve --vpcd localhost
check 2 "--vpcd port 0" "$EUICC" serve --vpcd localhost:0
check 2 "--eid too short" "$EUICC" serve --vpcd 127.0.0.1:1 --eid 8904
check 2 "--eid not decimal" "$EUICC" serve --vpcd 127.0.0.1:1 --eid 8904903212345123451234567890123A
check 2 "--isdr-aid not hex" "$EUICC" serve --vpcd 127.0.0.1:1 --isdr-aid XYZ
check 2 "--isdr-aid too short" "$EUICC" serve --vpcd 127.0.0.1:1 --isdr-aid A0000005
check 2 "unknown option" "$EUICC" serve --vpcd 127.0.0.1:1 --bogus
check 2 "--curve unknown" "$EUICC" serve --vpcd 127.0.0.1:1 --curve p384
check 1 "--config without credentials" "$EUICC" serve --vpcd 127.0.0.1:1 --config "$WORK/none"
"$RSPCTL" pki init "$WORK/pki" >/dev/null || { echo "FAIL: rspctl pki init"; exit 1; }
check 2 "--eid other than CERT.EUICC" "$EUICC" serve --vpcd 127.0.0.1:1 --config "$WORK/pki" \
  --eid 89049032123451234512345678901234
printf 'not a state file' >"$WORK/bad.state"
check 1 "corrupt --state file" "$EUICC" serve --vpcd 127.0.0.1:1 --config "$WORK/pki" \
  --state "$WORK/bad.state"
"$EUICC" serve --vpcd 127.0.0.1:1 --config "$WORK/pki" --curve brp --state "$WORK/s" 2>"$WORK/log" &
pid=$!
sleep 0.5
kill -TERM "$pid"
wait "$pid"
st=$?
if [ "$st" -eq 0 ] && grep -q "pki credentials, state" "$WORK/log"; then
  echo "ok: serve --config --curve brp --state"
else
  echo "FAIL: serve --config: status $st"; cat "$WORK/log"; fail=1
fi

# Port 1 on loopback refuses connections: the card keeps retrying until SIGTERM.
"$EUICC" serve --vpcd 127.0.0.1:1 >/dev/null 2>&1 &
pid=$!
sleep 0.5
kill -TERM "$pid"
st=0
for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
  echo "FAIL: rsp-euicc still running 3 s after SIGTERM"
  kill -KILL "$pid"
  fail=1
fi
wait "$pid" || st=$?
[ "$st" -eq 0 ] && echo "ok: SIGTERM stops serve with status 0" || { echo "FAIL: status $st after SIGTERM"; fail=1; }
exit $fail
