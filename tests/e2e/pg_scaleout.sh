#!/usr/bin/env bash
# Scale-out: two rsp-smdp processes (A and B) serve ONE PostgreSQL database, with no shared
# memory, and every download is served by both:
#   - ES2+: DownloadOrder, ConfirmOrder and ReleaseProfile of one order alternate between A and B;
#   - ES9+: the four calls of one download alternate between A and B (split_download: the LPA
#     and software eUICC behind a layer-4 forwarder that is pointed at the other process before
#     each call), plan ABAB for the first profile, BABA for the second;
#   - both profiles end Installed, each session Finished, the audit trail complete (one hash
#     chain written by both processes, verified by rspctl audit verify), and the
#     operator receives the installation notification (from whichever process's outbox worker).
# Needs the server of scripts/pg.sh (RSP_TEST_PG); exit 77 (skipped) without it.
#
#   pg_scaleout.sh RSP_SMDP RSPCTL SPLIT_DOWNLOAD
set -euo pipefail
SMDP=$1 RSPCTL=$2 SPLIT=$3
if [ -z "${RSP_TEST_PG:-}" ]; then
  echo "RSP_TEST_PG unset (run through scripts/pg.sh, as make check does): skipping"
  exit 77
fi
for t in psql jq curl openssl; do
  command -v "$t" >/dev/null || { echo "pg_scaleout: $t is missing"; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/rsp-scaleout.XXXXXX")
db="rsp_scaleout_$$"
url=$(printf '%s' "$RSP_TEST_PG" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\1/$db#")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  psql "$RSP_TEST_PG" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  if [ "${RSP_KEEP_TMP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
  echo "pg_scaleout: FAILED: $*"
  for f in "$work"/logs/*; do echo "--- $f"; tail -n 30 "$f"; done
  exit 1
}
# below the ephemeral range (32768-60999): a port an outgoing connection holds cannot be bound
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 12000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  return 1
}
mkdir -p "$work/logs" "$work/profiles"
psql "$RSP_TEST_PG" -qc "CREATE DATABASE $db" >/dev/null

echo "# test PKI, two profiles signed by the operator, imported into PostgreSQL by rspctl"
"$RSPCTL" pki init "$work/pki" --curve both --smdp-host localhost >/dev/null
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
  openssl pkcs8 -topk8 -nocrypt -out "$work/op.key.pem"
openssl pkey -in "$work/op.key.pem" -pubout -out "$work/op.pub.pem" 2>/dev/null
for i in 1 2; do
  "$RSPCTL" profiles generate --iccid "894900000000000077$i" --imsi "00101000000077$i" \
    --spn "rspkit scale" --profile-type scale -o "$work/profiles/p$i.der" >/dev/null
  "$RSPCTL" manifest sign --key "$work/op.key.pem" --operator op1 \
    --package "$work/profiles/p$i.der" --name "Scale-out $i" --class operational \
    --profile-type scale -o "$work/profiles/p$i.manifest" >/dev/null
done
"$RSPCTL" profiles import --db "$url" --operator-cert "$work/op.pub.pem" --operator op1 \
  --dir "$work/profiles"

echo "# operator callback receiver, two rsp-smdp processes on the same database"
"$RSPCTL" es2-sink --out "$work/callbacks.log" --port-file "$work/sink.port" \
  2> "$work/logs/sink.log" &
pids+=($!)
for _ in $(seq 1 50); do [ -s "$work/sink.port" ] && break; sleep 0.1; done
sink=$(cat "$work/sink.port")
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
token_hash=$(printf '%s' "$token" | openssl dgst -sha256 -r | cut -d' ' -f1)
front=$(free_port)
declare -A port aport
admin_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'bearer %s\n' "$admin_token" > "$work/admin.auth"
for n in A B; do
  port[$n]=$(free_port)
  aport[$n]=$(free_port)
  cat > "$work/$n.conf" <<CONF
host = localhost:$front
listen_address = 127.0.0.1
port = ${port[$n]}
tls_chain = $work/pki/nist/dptls.chain.pem
tls_key = $work/pki/nist/dptls.key.pem
dpauth_cert = $work/pki/nist/dpauth.pem
dpauth_key = $work/pki/nist/dpauth.key.pem
dppb_cert = $work/pki/nist/dppb.pem
dppb_key = $work/pki/nist/dppb.key.pem
ci_certs = $work/pki/nist/ci.pem
database = $url
threads = 2
operator = op1 token_sha256=$token_hash callback_url=http://127.0.0.1:$sink/gsma/rsp2/es2plus/handleDownloadProgressInfo
notify_poll_ms = 100
admin_port = ${aport[$n]}
admin_plain_http = true
admin_auth_file = $work/admin.auth
CONF
  "$SMDP" -c "$work/$n.conf" > "$work/logs/$n.log" 2> "$work/logs/$n.err" &
  pids+=($!)
done
for n in A B; do
  # ready once it logged "listening" (after the "store" line; the port accepts a little earlier)
  for _ in $(seq 1 100); do
    grep -q '"event":"listening"' "$work/logs/$n.err" 2>/dev/null &&
      curl -s -o /dev/null --cacert "$work/pki/nist/ci.pem" "https://localhost:${port[$n]}/" && break
    sleep 0.1
  done
  grep -q '"event":"store","detail":"postgres ' "$work/logs/$n.err" ||
    fail "rsp-smdp $n is not on PostgreSQL"
  echo "#   $n on https://localhost:${port[$n]}"
done

es2() { # A|B function body
  curl -sS --cacert "$work/pki/nist/ci.pem" -H 'Content-Type: application/json' \
    -H 'X-Admin-Protocol: gsma/rsp/v2.5.0' -H "Authorization: Bearer $token" \
    -d "$3" "https://localhost:${port[$1]}/gsma/rsp2/es2plus/$2"
}
hdr='"header":{"functionRequesterIdentifier":"op1","functionCallIdentifier":"scale"}'
ok() { # json
  [ "$(printf '%s' "$1" | jq -r '.header.functionExecutionStatus.status')" = Executed-Success ]
}
other() { [ "$1" = A ] && echo B || echo A; }

n_dl=0
for plan in ABAB BABA; do
  n_dl=$((n_dl + 1))
  first=${plan:0:1}
  second=$(other "$first")
  echo "# order $n_dl: DownloadOrder on $first, ConfirmOrder on $second, ReleaseProfile on $first"
  r=$(es2 "$first" downloadOrder "{$hdr,\"profileType\":\"scale\"}")
  ok "$r" || fail "downloadOrder: $r"
  iccid=$(printf '%s' "$r" | jq -r .iccid)
  r=$(es2 "$second" confirmOrder "{$hdr,\"iccid\":\"$iccid\",\"releaseFlag\":false}")
  ok "$r" || fail "confirmOrder: $r"
  mid=$(printf '%s' "$r" | jq -r .matchingId)
  r=$(es2 "$first" releaseProfile "{$hdr,\"iccid\":\"$iccid\"}")
  ok "$r" || fail "releaseProfile: $r"
  for f in DownloadOrder ReleaseProfile; do
    [ "$(jq -c "select(.function==\"ES2+.$f\")" "$work/logs/$first.log" | wc -l)" -ge 1 ] ||
      fail "$f was not served by $first"
  done
  [ "$(jq -c 'select(.function=="ES2+.ConfirmOrder")' "$work/logs/$second.log" | wc -l)" -ge 1 ] ||
    fail "ConfirmOrder was not served by $second"

  echo "# download $n_dl of $iccid (matchingId $mid), ES9+ plan $plan"
  "$SPLIT" --pki "$work/pki" --state "$work/euicc.state" --address "localhost:$front" \
    --backend "${port[A]}" --backend "${port[B]}" --plan "$plan" --matching-id "$mid" \
    > "$work/logs/split$n_dl.tap" 2>&1 || { cat "$work/logs/split$n_dl.tap"; fail "download $n_dl"; }
  grep '^#' "$work/logs/split$n_dl.tap"
  # The other side: which process served which call of this session.
  tid=$(jq -r 'select(.function=="ES9+.InitiateAuthentication" and .outcome=="Executed-Success")
               | .transactionId' "$work/logs/$first.log" | tail -n 1)
  [ -n "$tid" ] || fail "no initiateAuthentication on $first"
  served() { # process function -> count for this tid
    jq -c --arg t "$tid" --arg f "ES9+.$2" \
      'select(.function==$f and .transactionId==$t and (.status==200 or .status==204))' \
      "$work/logs/$1.log" | wc -l
  }
  [ "$(served "$second" AuthenticateClient)" = 1 ] || fail "authenticateClient of $tid not on $second"
  [ "$(served "$first" AuthenticateClient)" = 0 ] || fail "authenticateClient of $tid also on $first"
  [ "$(served "$first" GetBoundProfilePackage)" = 1 ] ||
    fail "getBoundProfilePackage of $tid not on $first"
  [ "$(served "$second" GetBoundProfilePackage)" = 0 ] ||
    fail "getBoundProfilePackage of $tid also on $second"
  [ "$(jq -c 'select(.function=="ES9+.HandleNotification" and (.status==200 or .status==204))' \
      "$work/logs/$second.log" | wc -l)" -ge 1 ] || fail "handleNotification not on $second"
  echo "#   session $tid: initiateAuthentication + getBoundProfilePackage on $first," \
       "authenticateClient + handleNotification on $second"
  eval "iccid_$n_dl=${iccid%F}"
done

echo "# the database: both Installed, sessions Finished, full audit trail"
for i in "$iccid_1" "$iccid_2"; do
  state=$("$RSPCTL" profiles list --db "$url" --json | jq -r --arg i "$i" '.[] | select(.iccid==$i) | .state')
  [ "$state" = Installed ] || fail "profile $i is $state, not Installed"
  trail=$(psql "$url" -Atc "SELECT string_agg(to_state, ',' ORDER BY seq) FROM audit WHERE key = '$i' AND entity = 'profile'")
  [ "$trail" = "Available,Allocated,Confirmed,Released,Downloaded,Installed" ] ||
    fail "audit trail of $i: $trail"
  echo "#   $i Installed; audit $trail"
done
finished=$(psql "$url" -Atc "SELECT count(*) FROM sessions WHERE state = 'Finished'")
[ "$finished" = 2 ] || fail "$finished sessions Finished, expected 2"
# both processes appended to one audit hash chain (docs/AUDIT.md): it verifies as one sequence
"$RSPCTL" audit verify --db "$url" --chain-only > "$work/verify.out" 2>&1 ||
  { cat "$work/verify.out"; fail "the audit chain written by both processes does not verify"; }
echo "#   $(grep 'audit verify:' "$work/verify.out")"

echo "# the operator is told of both installations (by either process's outbox worker)"
for _ in $(seq 1 100); do
  [ "$(grep -c '^4 Executed-Success ' "$work/callbacks.log" 2>/dev/null || true)" -ge 2 ] && break
  sleep 0.1
done
for i in "$iccid_1" "$iccid_2"; do
  grep -q "^4 Executed-Success $i " "$work/callbacks.log" ||
    fail "no installation notification for $i"
done
echo "# telemetry is deployment-wide: /metrics of A and B are the same, from the one database"
metrics() { # A|B (without the process-local write-failure counter)
  curl -sS -H "Authorization: Bearer $admin_token" "http://127.0.0.1:${aport[$1]}/metrics" |
    grep -v telemetry_write_failures
}
metrics A > "$work/metrics.A"
metrics B > "$work/metrics.B"
cmp -s "$work/metrics.A" "$work/metrics.B" ||
  { diff "$work/metrics.A" "$work/metrics.B" | head; fail "/metrics differ between A and B"; }
for m in 'rsp_smdp_sessions_total{event="installed"} 2' 'rsp_smdp_downloads_total 2' \
  'rsp_smdp_es9_requests_total{function="authenticateClient",outcome="ok"} 2'; do
  grep -qxF "$m" "$work/metrics.A" || fail "/metrics lacks '$m'"
done
# the labels of a session follow it across processes (authenticateClient on one, the PIR on the
# other): both installs are counted under the profile type
"$RSPCTL" report es9 --db "$url" --by profile_type > "$work/report.json"
n=$(jq '[.groups[] | select(.cohort == "scale" and .function == "session" and
  .outcome == "installed") | .count] | add' "$work/report.json")
[ "$n" = 2 ] || fail "report: $n installs under profile type scale, expected 2"
echo "#   /metrics identical on A and B; 2 installs under profile type scale"
echo "pg_scaleout: ok (2 processes, 1 PostgreSQL database, 2 downloads split across both)"
