#!/usr/bin/env bash
# rsp-smdp command line and process: --help, configuration checks, environment overrides, the
# routes answering over plain HTTP on loopback, clean stop on SIGTERM; with RSPCTL, the same over
# HTTPS with the PKI written by `rspctl pki init` (certificate verified against its CI).
#   rsp_smdp_cli.sh RSP_SMDP [RSPCTL]
set -uo pipefail
SMDP=${1:?usage: rsp_smdp_cli.sh RSP_SMDP [RSPCTL]}
RSPCTL=${2:-}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fail=0
check() { # expected-status description command...
  local want=$1 what=$2
  shift 2
  "$@" >/dev/null 2>&1
  local st=$?
  if [ "$st" -eq "$want" ]; then echo "ok: $what"; else echo "FAIL: $what: status $st, want $want"; fail=1; fi
}
check 0 "--help" "$SMDP" --help
"$SMDP" --help >"$tmp/help0.txt" # a file, not a pipe: see below
grep -q "smdp_function_not_yet_available" "$tmp/help0.txt" || { echo "FAIL: --help does not name the placeholder"; fail=1; }
grep -q "ES9+.InitiateAuthentication *available" "$tmp/help0.txt" || { echo "FAIL: --help status (ES9+)"; fail=1; }
check 2 "unknown argument" "$SMDP" --bogus
check 2 "-c without value" "$SMDP" -c
check 1 "missing config file" "$SMDP" -c "$tmp/none.conf" --check-config

cat > "$tmp/plain.conf" <<CONF
# test configuration
host = testsmdpplus1.example.com
listen_address = 127.0.0.1
port = 0
plain_http = true
db_path = $tmp/smdp.db
threads = 2
sweep_interval = 1
shutdown_grace = 5
CONF
check 0 "--check-config (plain)" "$SMDP" -c "$tmp/plain.conf" --check-config
[ -f "$tmp/smdp.db" ] || { echo "FAIL: --check-config did not create the store"; fail=1; }
check 1 "env override with a bad number" env RSP_SMDP_PORT=abc "$SMDP" -c "$tmp/plain.conf" --check-config
check 1 "env override: TLS without files" env RSP_SMDP_PLAIN_HTTP=false "$SMDP" -c "$tmp/plain.conf" --check-config
check 1 "env override: unreadable CI" env RSP_SMDP_CI_CERTS=/nonexistent.pem "$SMDP" -c "$tmp/plain.conf" --check-config
# branch recon: rollback policies and the SLA
check 0 "rollback policies" env RSP_SMDP_ROLLBACK_POLICIES="pir-error=rerelease, cancelled=quarantine" "$SMDP" -c "$tmp/plain.conf" --check-config
check 1 "a bad rollback policy" env RSP_SMDP_ROLLBACK_POLICIES="pir-error=forget" "$SMDP" -c "$tmp/plain.conf" --check-config
check 1 "an unknown failure kind" env RSP_SMDP_ROLLBACK_POLICIES="meteor=available" "$SMDP" -c "$tmp/plain.conf" --check-config
# a download failure may have left the profile on the eUICC: never straight back to stock
check 1 "download-failed=available refused" env RSP_SMDP_ROLLBACK_POLICIES="download-failed=available" "$SMDP" -c "$tmp/plain.conf" --check-config
check 1 "sweep_interval above rollback_sla" env RSP_SMDP_ROLLBACK_SLA=0 "$SMDP" -c "$tmp/plain.conf" --check-config
check 0 "rollback off: no SLA rule" env RSP_SMDP_ROLLBACK_SLA=0 RSP_SMDP_ROLLBACK=false "$SMDP" -c "$tmp/plain.conf" --check-config
printf 'host = x\nbogus = 1\n' > "$tmp/bad.conf"
check 1 "unknown key" "$SMDP" -c "$tmp/bad.conf" --check-config
printf 'host x\n' > "$tmp/bad2.conf"
check 1 "line without =" "$SMDP" -c "$tmp/bad2.conf" --check-config
# (into a file: with pipefail, grep -q leaving early would SIGPIPE a --help longer than a buffer)
"$SMDP" --help >"$tmp/help.txt"
grep -q "ES2+.DownloadOrder *available" "$tmp/help.txt" || { echo "FAIL: --help ES2+ status"; fail=1; }
{ cat "$tmp/plain.conf"; echo "operator = op1 token_sha256=0011"; } > "$tmp/badop.conf"
check 1 "operator with a short token hash" "$SMDP" -c "$tmp/badop.conf" --check-config
{ cat "$tmp/plain.conf"; echo "operator = op1 token_sha256=$(printf %064d 0)"; echo "operator = op1 token_sha256=$(printf %064d 1)"; } > "$tmp/dupop.conf"
check 1 "operator defined twice" "$SMDP" -c "$tmp/dupop.conf" --check-config
{ cat "$tmp/plain.conf"; echo "operator = op1 token_sha256=$(printf %064d 0) callback_url=http://127.0.0.1:9/cb"; } > "$tmp/okop.conf"
check 0 "operator line" "$SMDP" -c "$tmp/okop.conf" --check-config

# The store URL (database): SQLite by sqlite:PATH, PostgreSQL by URL; a refused or unreachable
# store stops the check with a message that never shows the password.
check 0 "database = sqlite:PATH" env RSP_SMDP_DATABASE="sqlite:$tmp/url.db" "$SMDP" -c "$tmp/plain.conf" --check-config
[ -f "$tmp/url.db" ] || { echo "FAIL: database = sqlite:PATH did not create the file"; fail=1; }
check 1 "database = mysql://" env RSP_SMDP_DATABASE="mysql://h/db" "$SMDP" -c "$tmp/plain.conf" --check-config
msg=$(RSP_SMDP_DATABASE="postgresql://rspkit:s3cret@127.0.0.1:1/none" "$SMDP" -c "$tmp/plain.conf" --check-config 2>&1)
st=$?
if [ "$st" -eq 1 ] && printf '%s' "$msg" | grep -q 'postgresql://rspkit:\*\*\*@127.0.0.1:1/none' &&
   ! printf '%s' "$msg" | grep -q s3cret; then
  echo "ok: unreachable PostgreSQL: exit 1, password not shown"
else
  echo "FAIL: unreachable PostgreSQL: status $st: $msg"; fail=1
fi
if [ -n "${RSP_TEST_PG:-}" ] && command -v psql >/dev/null; then
  pgdb="rsp_cli_$$"
  pgurl=$(printf '%s' "$RSP_TEST_PG" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\1/$pgdb#")
  psql "$RSP_TEST_PG" -qc "CREATE DATABASE $pgdb" >/dev/null
  out=$(RSP_SMDP_DATABASE="$pgurl" "$SMDP" -c "$tmp/plain.conf" --check-config 2>&1)
  psql "$RSP_TEST_PG" -qc "DROP DATABASE $pgdb WITH (FORCE)" >/dev/null
  # the same schema version as the SQLite store of the plain configuration (numbered alike)
  sqv=$("$SMDP" -c "$tmp/plain.conf" --check-config 2>&1 | sed -n 's/.*sqlite schema version \([0-9]*\).*/\1/p')
  case "$out" in
    *"postgres schema version ${sqv:-none},"*) echo "ok: --check-config on PostgreSQL" ;;
    *) echo "FAIL: --check-config on PostgreSQL: $out"; fail=1 ;;
  esac
else
  echo "ok: --check-config on PostgreSQL # SKIP RSP_TEST_PG unset"
fi

"$SMDP" -c "$tmp/plain.conf" >"$tmp/out.log" 2>"$tmp/err.log" &
pid=$!
port=
for _ in $(seq 50); do
  port=$(sed -n 's/.*"event":"listening","detail":"127.0.0.1 port \([0-9]*\).*/\1/p' "$tmp/err.log")
  [ -n "$port" ] && break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "FAIL: rsp-smdp did not report its port"; cat "$tmp/err.log"; exit 1
fi
base="http://127.0.0.1:$port/gsma/rsp2/es9plus"
body=$(curl -s -X POST -H 'Content-Type: application/json' -d '{}' "$base/initiateAuthentication")
case "$body" in
  *'"subjectCode":"1.6","reasonCode":"3.7"'*) echo "ok: initiateAuthentication unavailable without DPauth" ;;
  *) echo "FAIL: initiateAuthentication answered: $body"; fail=1 ;;
esac
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/initiateAuthentication")
[ "$code" = 405 ] && echo "ok: GET is 405" || { echo "FAIL: GET gave $code"; fail=1; }
body=$(curl -s -X POST -H 'Content-Type: text/plain' -d '{}' "$base/authenticateClient")
case "$body" in
  *'"subjectCode":"1.2.1","reasonCode":"2.1"'*) echo "ok: wrong Content-Type refused as JSON" ;;
  *) echo "FAIL: wrong Content-Type answered: $body"; fail=1 ;;
esac
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' \
  "http://127.0.0.1:$port/gsma/rsp2/es2plus/downloadOrder")
[ "$code" = 200 ] && echo "ok: ES2+ route present" || { echo "FAIL: downloadOrder gave $code"; fail=1; }
# ES2+ log line: the functionCallIdentifier, never the EID in full or the Authorization token
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -H 'Authorization: Bearer tok-SECRET-9' \
  -d '{"header":{"functionRequesterIdentifier":"op1","functionCallIdentifier":"CALL-42"},"eid":"89049032123451234512345678901235","profileType":"test"}' \
  "http://127.0.0.1:$port/gsma/rsp2/es2plus/downloadOrder"
sleep 1.2 # at least one sweep
if grep -q '"functionCallIdentifier":"CALL-42"' "$tmp/out.log" &&
   ! grep -q -e '89049032123451234512345678901235' -e 'tok-SECRET-9' "$tmp/out.log"; then
  echo "ok: ES2+ log line carries the functionCallIdentifier, not the EID or token"
else
  echo "FAIL: ES2+ log line"; cat "$tmp/out.log"; fail=1
fi
lines=$(grep -c '"function":"ES9+.InitiateAuthentication"' "$tmp/out.log")
[ "$lines" -ge 2 ] && echo "ok: request log lines" || { echo "FAIL: request log: $lines lines"; cat "$tmp/out.log"; fail=1; }

kill -TERM "$pid"
st=
for _ in $(seq 50); do
  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; st=$?; break; fi
  sleep 0.1
done
if [ -z "$st" ]; then
  echo "FAIL: rsp-smdp still running 5 s after SIGTERM"; fail=1
elif [ "$st" -ne 0 ]; then
  echo "FAIL: rsp-smdp exit status $st after SIGTERM"; cat "$tmp/err.log"; fail=1
else
  echo "ok: clean stop on SIGTERM"
fi
pid=
grep -q '"event":"stopped"' "$tmp/err.log" || { echo "FAIL: no stopped event"; fail=1; }

# HTTPS with the DPtls chain and key from `rspctl pki init`
if [ -n "$RSPCTL" ]; then
  host=testsmdpplus1.example.com
  "$RSPCTL" pki init "$tmp/pki" --curve nist >/dev/null || { echo "FAIL: rspctl pki init"; exit 1; }
  cat > "$tmp/tls.conf" <<CONF
host = $host
port = 0
tls_chain = $tmp/pki/nist/dptls.chain.pem
tls_key = $tmp/pki/nist/dptls.key.pem
dpauth_cert = $tmp/pki/nist/dpauth.pem
dpauth_key = $tmp/pki/nist/dpauth.key.pem
dppb_cert = $tmp/pki/nist/dppb.pem
dppb_key = $tmp/pki/nist/dppb.key.pem
ci_certs = $tmp/pki/nist/ci.pem
db_path = $tmp/smdp-tls.db
threads = 2
CONF
  check 0 "--check-config (TLS)" "$SMDP" -c "$tmp/tls.conf" --check-config
  "$SMDP" -c "$tmp/tls.conf" >"$tmp/out2.log" 2>"$tmp/err2.log" &
  pid=$!
  port=
  for _ in $(seq 50); do
    port=$(sed -n 's/.*"event":"listening","detail":"127.0.0.1 port \([0-9]*\) tls.*/\1/p' "$tmp/err2.log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  if [ -z "$port" ]; then
    echo "FAIL: rsp-smdp (TLS) did not report its port"; cat "$tmp/err2.log"; exit 1
  fi
  body=$(curl -s --cacert "$tmp/pki/nist/ci.pem" --resolve "$host:$port:127.0.0.1" -X POST \
    -H 'Content-Type: application/json' -d '{}' "https://$host:$port/gsma/rsp2/es9plus/cancelSession")
  case "$body" in
    *'"subjectCode":"1.3.1","reasonCode":"2.2"'*) echo "ok: HTTPS with the rspctl PKI, server verified, ES9+ served" ;;
    *) echo "FAIL: HTTPS answered: '$body'"; fail=1 ;;
  esac
  body=$(curl -s --tlsv1.2 --tls-max 1.2 --cacert "$tmp/pki/nist/ci.pem" \
    --resolve "$host:$port:127.0.0.1" -X POST -H 'Content-Type: application/json' -d '{}' \
    "https://$host:$port/gsma/rsp2/es9plus/cancelSession")
  case "$body" in
    *'"reasonCode":"2.2"'*) echo "ok: TLS 1.2" ;;
    *) echo "FAIL: TLS 1.2 answered: '$body'"; fail=1 ;;
  esac
  curl -s -o /dev/null --resolve "$host:$port:127.0.0.1" -X POST -d '{}' \
    "https://$host:$port/gsma/rsp2/es9plus/cancelSession"
  [ $? -ne 0 ] && echo "ok: unverified server refused by default trust" || { echo "FAIL: system trust accepted the test CI"; fail=1; }
  kill -TERM "$pid"
  st=
  for _ in $(seq 50); do
    if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; st=$?; break; fi
    sleep 0.1
  done
  [ "$st" = 0 ] && echo "ok: clean stop (TLS)" || { echo "FAIL: TLS server stop status '$st'"; fail=1; }
  pid=
fi
exit $fail
