#!/usr/bin/env bash
# Hostile input catalogue (SGP.23-style negative cases) against a live rsp-smdp over real HTTPS.
# Each case asserts the exact answer (the SGP.22 subject/reason code, from the SM-DP+'s request
# log and rsp-lpa's JSON result, or the HTTP status for transport-level abuse) and that nothing
# changed: the profiles (state, EID, version, counters) and the sessions past Started are the
# same before and after, and every audit record written meanwhile is an ES9+ outcome record or
# a session start/end (the design writes one outcome record per exchange). TAP output, one line
# per case; docs/HOSTILE.md maps each case to its expected answer.
#
#   hostile.sh RSPCTL RSP_SMDP RSP_LPA
set -uo pipefail

RSPCTL=$(readlink -f "$1")
SMDP=$(readlink -f "$2")
LPA=$(readlink -f "$3")
for t in curl openssl sqlite3; do command -v "$t" >/dev/null || { echo "1..0 # SKIP $t missing"; exit 0; }; done
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rsp-hostile.XXXXXX")
HOST=localhost
OPERATOR=hostile-operator
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
PROFILE_TYPE=hos
smdp_pid=
n=0
failed=0
die() {
  echo "Bail out! $*"
  exit 1
}
cleanup() {
  [ -n "$smdp_pid" ] && kill "$smdp_pid" 2>/dev/null && wait "$smdp_pid" 2>/dev/null
  if [ "${RSP_KEEP_TMP:-0}" = 1 ]; then echo "# kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

. "$(dirname "$(readlink -f "$0")")/smdp_env.sh"
e2e_inventory 12 894900000000007 001010000007 3 >/dev/null
DB=$DIR/smdp.db
port=$(e2e_free_port)
e2e_smdp_conf "$port"
cat >>"$DIR/smdp.conf" <<CONF
conn_timeout = 3
per_ip_connections = 24
body_limit = 65536
rate_limit_source = 600
rate_limit_source_burst = 150
rate_limit_matching_id = 2
rate_limit_matching_id_burst = 5
cc_max_attempts = 3
CONF
e2e_smdp_try "$port" || die "rsp-smdp did not start"
ES2_PORT=$port
URL="https://$HOST:$port"
CURL=(curl -s --cacert "$DIR/pki/nist/ci.pem" --max-time 20)

# ---- helpers ----
snapshot() { # the state that must not change
  sqlite3 "$DB" "SELECT iccid, state, eid, version, cc_attempts, download_attempts FROM profiles ORDER BY iccid;
    SELECT tid, state FROM sessions WHERE state NOT IN ('Started', 'Cancelled', 'Expired') ORDER BY tid;"
}
audit_seq() { sqlite3 "$DB" "SELECT coalesce(max(seq), 0) FROM audit"; }
# the audit records since seq $1 that are neither ES9+ outcomes nor session start/end records
foreign_audit() {
  sqlite3 "$DB" "SELECT entity || ' ' || key || ' ' || from_state || '>' || to_state FROM audit WHERE seq > $1
    AND NOT (entity = 'es9p' OR (entity = 'session' AND to_state IN ('Started', 'Cancelled', 'Expired')))"
}
log_lines() { wc -l <"$DIR/smdp.log"; }
# the outcomes of function $2 logged since line $1 ("Failed 8.1.3/6.3", "HTTP 413", ...)
outcomes() { tail -n +"$(($1 + 1))" "$DIR/smdp.log" | grep "\"function\":\"$2\"" | sed -n 's/.*"outcome":"\([^"]*\)".*/\1/p'; }
statuses() { tail -n +"$(($1 + 1))" "$DIR/smdp.log" | grep '"status"' | sed -n 's/.*"status":\([0-9]*\).*/\1/p'; }

result() { # ok? description [diagnostic]
  n=$((n + 1))
  if [ "$1" = 0 ]; then echo "ok $n - $2"; else
    echo "not ok $n - $2"
    [ -n "${3:-}" ] && printf '#   %s\n' "$3"
    failed=$((failed + 1))
  fi
}
# unchanged CASE_NAME: compares the snapshot and the audit records with those taken by begin()
begin() {
  snap0=$(snapshot)
  seq0=$(audit_seq)
  line0=$(log_lines)
}
unchanged() {
  local f
  f=$(foreign_audit "$seq0")
  if [ "$(snapshot)" != "$snap0" ]; then
    result 1 "$1: nothing changed" "the store changed: $(diff <(echo "$snap0") <(snapshot) | head -n 4 | tr '\n' ' ')"
  elif [ -n "$f" ]; then
    result 1 "$1: nothing changed" "audit records other than outcomes: $(echo "$f" | head -n 3 | tr '\n' ' ')"
  else
    result 0 "$1: nothing changed"
  fi
}
expect_outcome() { # description function expected: the last outcome of the function since begin
  local got
  got=$(outcomes "$line0" "$2" | tail -n 1)
  [ "$got" = "$3" ]
  result $? "$1: $2 answered '$3'" "got '${got:-nothing}'"
}
device() { # name [pki issue options...]: a software eUICC with its own certificate
  local name=$1
  shift
  "$RSPCTL" pki issue "$DIR/pki" --role euicc -o "$DIR/$name" "$@" >/dev/null
}
lpa_dl() { # device AC [options]: one attempt, JSON result in $DIR/lpa.json
  local dev=$1 ac=$2
  shift 2
  "$LPA" --json --euicc "soft:$DIR/$dev" --ca "$DIR/pki/nist/ci.pem" --retries 0 --timeout 10 \
    ${FAULT:+--euicc-fault "$FAULT"} profile download -a "$ac" \
    --max-attempts 1 "$@" >"$DIR/lpa.json" 2>"$DIR/lpa.err"
}
AC() { echo "LPA:1\$$HOST:$port\$$1"; }
eid_under() { # IIN: a valid EID (check digits) under another issuer's IIN
  local base r
  base=$(printf '%s%0*d' "$1" $((30 - ${#1})) 4711)
  r=$(printf '%s00' "$base" | awk '{m = 0; for (i = 1; i <= length($0); i++) m = (m * 10 + substr($0, i, 1)) % 97; print m}')
  printf '%s%02d\n' "$base" $((98 - r))
}

echo "# rsp-smdp on $URL, store $DB"
read -r iccid1 mid1 <<<"$(order)"

# ---- certificates and signatures (signed ES9+ exchanges made by rsp-lpa + a software eUICC) ----
# wrong CI: an eUICC of another PKI (its own CI, EUM and eUICC)
"$RSPCTL" pki init "$DIR/other" --curve nist --smdp-host "$HOST" >/dev/null
begin
lpa_dl other "$(AC "$mid1")"
expect_outcome "wrong CI (eUICC chain to another root)" ES9+.InitiateAuthentication "Failed 8.8.2/3.1"
unchanged "wrong CI"

for c in "expired eUICC certificate|--start-days -10 --days 1|Failed 8.1.3/6.3" \
  "not-yet-valid eUICC certificate|--start-days 10|Failed 8.1.3/6.3" \
  "EID outside the EUM's permitted IIN|--eid $(eid_under 89044)|Failed 8.1.3/6.1"; do
  IFS='|' read -r what opts want <<<"$c"
  name=dev$n
  # shellcheck disable=SC2086
  device "$name" $opts
  begin
  lpa_dl "$name" "$(AC "$mid1")"
  expect_outcome "$what" ES9+.AuthenticateClient "$want"
  unchanged "$what"
done

for c in "expired EUM certificate|--start-days -10 --days 1|Failed 8.1.2/6.3" \
  "not-yet-valid EUM certificate|--start-days 10|Failed 8.1.2/6.3"; do
  IFS='|' read -r what opts want <<<"$c"
  name=eum$n
  # shellcheck disable=SC2086
  "$RSPCTL" pki issue "$DIR/pki" --role eum -o "$DIR/$name" $opts >/dev/null
  "$RSPCTL" pki issue "$DIR/$name" --role euicc -o "$DIR/$name-dev" >/dev/null
  begin
  lpa_dl "$name-dev" "$(AC "$mid1")"
  expect_outcome "$what" ES9+.AuthenticateClient "$want"
  unchanged "$what"
done

# bad euiccSignature1 / euiccSignature2: the software eUICC flips a bit of its signature
device badsig
begin
FAULT=bad-signature=1 lpa_dl badsig "$(AC "$mid1")"
expect_outcome "bad euiccSignature1" ES9+.AuthenticateClient "Failed 8.1/6.1"
unchanged "bad euiccSignature1"
# (authenticateClient passes and links the EID, as it does for any download; the refusal at
# getBoundProfilePackage must leave the profile Released with no BPP bound)
begin
FAULT=bad-signature=2 lpa_dl badsig "$(AC "$mid1")"
expect_outcome "bad euiccSignature2" ES9+.GetBoundProfilePackage "Failed 8.1/6.1"
[ "$(smdp_state "$iccid1")" = Released ] &&
  [ "$(sqlite3 "$DB" "SELECT count(*) FROM sessions WHERE iccid = '$iccid1' AND bpp IS NOT NULL")" = 0 ]
result $? "bad euiccSignature2: the profile stays Released, no BPP bound" "state $(smdp_state "$iccid1")"

# ---- matchingId enumeration and the per-matchingId limit (valid eUICC, guessed matchingIds) ----
device guesser
begin
refused=0
for i in $(seq 12); do
  lpa_dl guesser "$(AC "GUESS-$i-$RANDOM")"
  [ "$(outcomes "$line0" ES9+.AuthenticateClient | tail -n 1)" = "Failed 8.2.6/3.8" ] && refused=$((refused + 1))
done
[ "$refused" = 12 ]
result $? "matchingId enumeration: 12 guesses each answered 'Failed 8.2.6/3.8'" "$refused of 12"
unchanged "matchingId enumeration"
begin
for i in 1 2 3 4 5 6; do lpa_dl guesser "$(AC "SAME-GUESS")"; done
got=$(outcomes "$line0" ES9+.AuthenticateClient | tr '\n' ',')
[ "$got" = "Failed 8.2.6/3.8,Failed 8.2.6/3.8,Failed 8.2.6/3.8,Failed 8.2.6/3.8,Failed 8.2.6/3.8,rate limited (matchingId)," ]
result $? "per-matchingId limit (burst 5): the 6th authenticateClient is answered HTTP 429" "got $got"
tail -n +"$((line0 + 1))" "$DIR/smdp.log" | grep -q '"outcome":"rate limited (matchingId)","status":429' 
result $? "per-matchingId limit: HTTP status 429 in the log"
unchanged "per-matchingId limit"

# ---- brute-forced confirmation code: cc_max_attempts = 3, then the order ends (Error) ----
hdr="\"header\":{\"functionRequesterIdentifier\":\"$OPERATOR\",\"functionCallIdentifier\":\"cc\"}"
o=$(es2 downloadOrder "{$hdr,\"profileType\":\"$PROFILE_TYPE\"}")
icc=$(printf '%s' "$o" | sed -n 's/.*"iccid":"\([0-9F]*\)".*/\1/p')
c=$(es2 confirmOrder "{$hdr,\"iccid\":\"$icc\",\"releaseFlag\":true,\"confirmationCode\":\"4711\"}")
ccmid=$(printf '%s' "$c" | sed -n 's/.*"matchingId":"\([^"]*\)".*/\1/p')
icc=${icc%F}
device ccdev
begin
for i in 1 2 3; do lpa_dl ccdev "$(AC "$ccmid")" -c "000$i"; done
got=$(outcomes "$line0" ES9+.GetBoundProfilePackage | tr '\n' ',')
[ "$got" = "Failed 8.2.7/3.8,Failed 8.2.7/3.8,Failed 8.2.7/6.4," ]
result $? "brute-forced confirmation code: wrong, wrong, then 'Failed 8.2.7/6.4' at the limit" "got $got"
[ "$(smdp_state "$icc")" = Error ]
result $? "brute-forced confirmation code: the profile ends Error (order terminated)" "state $(smdp_state "$icc")"
lpa_dl ccdev "$(AC "$ccmid")" -c 4711
[ "$(outcomes "$line0" ES9+.AuthenticateClient | tail -n 1)" = "Failed 8.2.6/3.8" ]
result $? "brute-forced confirmation code: the right code after the limit is refused (8.2.6/3.8)"

# ---- replays ----
# a transactionId of a finished download, replayed to getBoundProfilePackage and cancelSession
device good
lpa_dl good "$(AC "$mid1")" >/dev/null
[ "$(smdp_state "$iccid1")" = Installed ]
result $? "a genuine download (the reference for the replays) ends Installed"
tid=$(grep '"function":"ES9+.GetBoundProfilePackage"' "$DIR/smdp.log" | grep Executed-Success | tail -n 1 |
  sed -n 's/.*"transactionId":"\([0-9A-F]*\)".*/\1/p')
begin
"${CURL[@]}" -H 'Content-Type: application/json' -H 'X-Admin-Protocol: gsma/rsp/v2.2.0' \
  -d "{\"transactionId\":\"$tid\",\"prepareDownloadResponse\":\"vyGBhqCBgzAAAA==\"}" \
  "$URL/gsma/rsp2/es9plus/getBoundProfilePackage" >/dev/null
expect_outcome "replayed transactionId (finished session) to getBoundProfilePackage" \
  ES9+.GetBoundProfilePackage "Failed 8.10.1/3.9"
unchanged "replayed transactionId"

# ---- malformed and oversized input (transport and JSON/DER level) ----
post() { # function body-file: prints the HTTP status
  "${CURL[@]}" -o "$DIR/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H 'X-Admin-Protocol: gsma/rsp/v2.2.0' --data-binary "@$2" "$URL/gsma/rsp2/es9plus/$1"
}
begin
head -c 200000 /dev/zero | tr '\0' 'a' | sed 's/^/{"x":"/; s/$/"}/' >"$DIR/big.json"
# (Expect: 100-continue, as HTTP clients send for large bodies: the 413 comes before the upload;
# without it the answer can race a client still sending and show as a reset)
st=$("${CURL[@]}" -o "$DIR/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
  -H 'X-Admin-Protocol: gsma/rsp/v2.2.0' -H 'Expect: 100-continue' --data-binary "@$DIR/big.json" \
  "$URL/gsma/rsp2/es9plus/initiateAuthentication")
[ "$st" = 413 ]
result $? "oversized JSON body (200 kB > body_limit 64 kB): HTTP 413" "got $st"
python3 -c 'print("[" * 30000 + "]" * 30000)' >"$DIR/deep.json"
st=$(post initiateAuthentication "$DIR/deep.json")
got=$(outcomes "$line0" ES9+.InitiateAuthentication | tail -n 1)
[ "$st" = 200 ] && [ "$got" = "Failed 1.3.1/2.1" ]
result $? "deeply nested JSON (30000 levels): HTTP 200, 'Failed 1.3.1/2.1'" "got $st '$got'"
printf '{"smdpAddress":"%s:%s","euiccChallenge":"AAECAwQFBgcICQoLDA0ODw==","euiccInfo1":' "$HOST" "$port" >"$DIR/der.json"
python3 -c '
import base64,sys
d=b""
for i in range(300): d=b"\x30\x81"+bytes([len(d)]) +d if len(d)<256 else b"\x30\x82"+len(d).to_bytes(2,"big")+d
sys.stdout.write("\""+base64.b64encode(b"\xbf\x20\x82"+len(d).to_bytes(2,"big")+d).decode()+"\"}")' >>"$DIR/der.json"
st=$(post initiateAuthentication "$DIR/der.json")
got=$(outcomes "$line0" ES9+.InitiateAuthentication | tail -n 1)
[ "$st" = 200 ] && [ "$got" = "Failed 8.1/6.1" ] || [ "$got" = "Failed 1.3.1/2.1" ] || [ "$got" = "Failed 8.8.3/3.1" ]
result $? "deeply nested DER in euiccInfo1 (300 levels): HTTP 200 and a refusal code" "got $st '$got'"
echo "# deeply nested DER answered: $got"
printf '{"smdpAddress":' >"$DIR/bad.json"
st=$(post initiateAuthentication "$DIR/bad.json")
got=$(outcomes "$line0" ES9+.InitiateAuthentication | tail -n 1)
[ "$st" = 200 ] && [ "$got" = "Failed 1.3.1/2.1" ]
result $? "truncated JSON: HTTP 200, 'Failed 1.3.1/2.1'" "got $st '$got'"
st=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$URL/gsma/rsp2/es9plus/initiateAuthentication")
[ "$st" = 405 ]
result $? "GET on a function: HTTP 405" "got $st"
st=$("${CURL[@]}" -o /dev/null -w '%{http_code}' -d '{}' "$URL/gsma/rsp2/es9plus/nothing")
[ "$st" = 404 ]
result $? "unknown function: HTTP 404" "got $st"
unchanged "malformed and oversized input"

# ---- slow-loris: idle connections are cut at conn_timeout, per-address connection limit ----
begin
exec {probe}<>"/dev/tcp/127.0.0.1/$port"
printf '\x16\x03\x01\x00' >&"$probe" # the first bytes of a TLS record, then nothing more
t0=$(date +%s)
timeout 15 cat <&"$probe" >/dev/null 2>&1
dt=$(($(date +%s) - t0))
exec {probe}>&-
[ "$dt" -le 8 ]
result $? "slow-loris: a connection that stops mid-handshake is closed after conn_timeout (3 s)" "closed after $dt s"
fds=()
for i in $(seq 30); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" && fds+=("$fd")
done
sleep 0.5
closed=0
for fd in "${fds[@]}"; do
  timeout 0.2 cat <&"$fd" >/dev/null 2>&1
  [ $? -ne 124 ] && closed=$((closed + 1))
done
for fd in "${fds[@]}"; do exec {fd}>&-; done
[ "$closed" -ge 6 ]
result $? "slow-loris: 30 idle connections from one address, per_ip_connections 24: the extra ones are closed at once" "$closed closed"
sleep 4
st=$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$URL/")
[ "$st" = 404 ]
result $? "slow-loris: the server answers normally once the idle connections are gone" "got $st"
unchanged "slow-loris"

# ---- per-source rate limit: a burst of 400 requests on one keep-alive connection ----
begin
args=()
for i in $(seq 400); do args+=(-o /dev/null "$URL/"); done
"${CURL[@]}" -w '%{http_code} %header{retry-after}\n' "${args[@]}" >"$DIR/burst"
codes=$(cut -d' ' -f1 "$DIR/burst" | sort | uniq -c | tr -s ' ' | tr '\n' ',')
n429=$(printf '%s' "$codes" | tr ',' '\n' | awk '$2 == 429 {print $1}')
[ "${n429:-0}" -ge 40 ]
result $? "per-source limit (burst 150): a burst of 400 requests gets HTTP 429 beyond it" "codes: $codes"
ra=$(awk '$1 == 429 {print $2; exit}' "$DIR/burst")
[ -n "$ra" ] && [ "$ra" -ge 1 ]
result $? "per-source limit: 429 carries Retry-After" "Retry-After '$ra'"
unchanged "per-source rate limit"

"$RSPCTL" audit verify --db "$DB" --chain-only --quiet >/dev/null 2>&1
result $? "the audit chain verifies after the catalogue"
kill -0 "$smdp_pid" 2>/dev/null
result $? "rsp-smdp is still running"
echo "1..$n"
[ "$failed" = 0 ]
