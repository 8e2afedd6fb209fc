#!/usr/bin/env bash
# Activation workflow and activation integrity end to end: rsp-smdp over HTTPS on loopback
# (SQLite), orders from CSV, reservation and release through the ES2+ logic (rspctl order),
# activation tokens and pushes (rspctl token/push and the ES2+-style push endpoint), real
# downloads by rsp-lpa into the software eUICC, some made to fail with --euicc-fault.
#
# Asserts: the integrity figures per cohort (campaign, EUM, TAC); no quarantine below the
# minimum sample even at a 67 % failure rate; the quarantine exactly when the failure rate
# reaches the threshold (2 of 4 = 50 %); the alert (log line, webhook retried after a 503);
# a quarantined cohort's new release (rspctl order release, rspctl campaign release) and new
# download (ES9+ 8.2.6/3.8) refused with a clear message; `rspctl quarantine release` needs a
# reason, is audited, and lifts it (the download then installs); revoked and expired tokens
# refused at ES9+ (8.2.6/3.8, 8.8.5/4.10) with the profile left Released; the identity check
# by URL; the token's links and QR codes; the capability check against the EUICCInfo2 rsp-smdp
# kept for the EID; the funnel adds up.
#
#   act_integrity.sh RSPCTL RSP_SMDP RSP_LPA
set -euo pipefail

RSPCTL=$(readlink -f "$1")
SMDP=$(readlink -f "$2")
LPA=$(readlink -f "$3")
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rsp-act.XXXXXX")
HOST=localhost
OPERATOR=act-operator
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
smdp_pid=
hook_pid=
n=0
ok() {
  n=$((n + 1))
  echo "ok $n - $*"
}
die() {
  echo "not ok - $*"
  exit 1
}
cleanup() {
  local rc=$?
  for p in $smdp_pid $hook_pid; do { kill "$p" && wait "$p"; } 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then
    echo "# ----- rsp-smdp log (last 30 lines)"
    tail -n 30 "$DIR/smdp.log" 2>/dev/null | sed 's/^/# /' || true
  fi
  rm -rf "$DIR"
  exit "$rc"
}
trap cleanup EXIT

PROFILE_TYPE=act
. "$(dirname "$(readlink -f "$0")")/smdp_env.sh"
e2e_inventory 13 8949000000000007 0010100000007
DB="$DIR/smdp.db"

# The alert webhook: answers 503 to the first POST, 200 afterwards; one body per line.
hook_port=$(e2e_free_port)
python3 - "$hook_port" "$DIR/webhook.log" <<'PY' &
import http.server, json, sys
port, out = int(sys.argv[1]), sys.argv[2]
seen = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        if self.path == '/kyc':  # the identity-check hook as a URL
            o = json.loads(body)
            bad = o['order_id'].startswith('KFAIL')
            ans = json.dumps({'result': 'fail' if bad else 'pass',
                              'reason': 'document mismatch' if bad else 'ok'}).encode()
            self.send_response(200)
            self.send_header('Content-Length', str(len(ans)))
            self.end_headers()
            self.wfile.write(ans)
            return
        seen[0] += 1
        with open(out, 'a') as f:
            f.write(('%d %s\n' % (seen[0], body.decode())))
        self.send_response(503 if seen[0] == 1 else 200)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(('127.0.0.1', port), H).serve_forever()
PY
hook_pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$hook_port") 2>/dev/null && break
  sleep 0.1
done

for try in 1 2 3 4 5; do
  port=$(e2e_free_port)
  e2e_smdp_conf "$port"
  cat >>"$DIR/smdp.conf" <<CONF
integrity_failure_pct = 50
integrity_min_sample = 4
integrity_window = 3600
integrity_webhook = http://127.0.0.1:$hook_port/alert
notify_poll_ms = 100
notify_base_delay = 1
notify_max_delay = 1
CONF
  e2e_smdp_try "$port" && break
  [ "$try" -lt 5 ] || die "rsp-smdp exited (port $port)"
done
ES2_PORT=$port
cp -r "$DIR/pki" "$DIR/device"
lpa() { "$LPA" --euicc "soft:$DIR/device" "$@"; }
EID=$(lpa --json chip info | sed -n 's/.*"eid":"\([0-9]*\)".*/\1/p' | head -1)
[ -n "$EID" ] || die "no EID from the software eUICC"
EUM=${EID:0:8}

# ---- stage 0: orders from CSV, reservation and release through ES2+ ----
{
  echo "order_id,customer_ref,tariff_plan,campaign,country,profile_type,tac,device_model"
  for i in 1 2 3 4; do echo "G$i,cust-g$i,basic,good,DE,act,35000011,Phone A"; done
  for i in 1 2 3 4 5 6; do echo "B$i,\"cust, b$i\",basic,bad,DE,act,35999922,Phone B"; done
  echo "R1,cust-r1,basic,misc,DE,act,35000011,Phone A"
  echo "E1,cust-e1,basic,misc,DE,act,35000011,Phone A"
} >"$DIR/orders.csv"
"$RSPCTL" order create --db "$DB" --csv "$DIR/orders.csv" >/dev/null || die "order create"
ok "12 orders imported from CSV"
printf 'order_id,customer_ref,campaign,profile_type\nK1,cust-k1,kyc,act\nKFAIL1,cust-k2,kyc,act\n' \
  >"$DIR/kyc.csv"
"$RSPCTL" order create --db "$DB" --csv "$DIR/kyc.csv" \
  --identity-check "http://127.0.0.1:$hook_port/kyc" >/dev/null || die "order create with hook"
[ "$("$RSPCTL" order show K1 --db "$DB" --json | jq -r '.stage + " " + .identity_check')" = \
  "pre-provisioned pass" ] || die "K1: $("$RSPCTL" order show K1 --db "$DB" --json)"
[ "$("$RSPCTL" order show KFAIL1 --db "$DB" --json | jq -r '.stage + " " + .identity_reason')" = \
  "identity-rejected document mismatch" ] || die "KFAIL1"
"$RSPCTL" order create --db "$DB" --id K3 --customer c --profile-type act \
  --identity-check "http://127.0.0.1:1/kyc" --identity-timeout 2 >/dev/null || die "K3"
"$RSPCTL" order show K3 --db "$DB" --json | jq -e '.stage == "identity-rejected" and
  (.identity_reason | startswith("identity check error"))' >/dev/null || die "K3 not rejected"
ok "identity check by URL: pass, fail with its reason, unreachable hook = rejected"
for o in G1 G2 G3 G4 B1 B2 B3 B4 B6 R1 E1; do
  "$RSPCTL" order reserve "$o" --db "$DB" --operator "$OPERATOR" >/dev/null || die "reserve $o"
  "$RSPCTL" order release "$o" --db "$DB" >/dev/null || die "release $o"
done
"$RSPCTL" order reserve B5 --db "$DB" --operator "$OPERATOR" >/dev/null || die "reserve B5"
ok "orders reserved and released through ES2+"
"$RSPCTL" token issue --campaign good --db "$DB" --smdp-address "$HOST:$port" \
  --qr-dir "$DIR/qr" >/dev/null || die "token issue good"
"$RSPCTL" token issue --campaign bad --db "$DB" --smdp-address "$HOST:$port" >/dev/null ||
  die "token issue bad"
"$RSPCTL" token issue R1 --db "$DB" --smdp-address "$HOST:$port" >/dev/null || die "token R1"
"$RSPCTL" token issue E1 --ttl 1 --db "$DB" --smdp-address "$HOST:$port" >/dev/null ||
  die "token E1"
[ "$(ls "$DIR/qr" | wc -l)" = 8 ] || die "QR files: $(ls "$DIR/qr")"
g1_mid=$("$RSPCTL" order show G1 --db "$DB" --json | jq -r .matching_id)
t=$("$RSPCTL" token show "$g1_mid" --db "$DB" --json)
enc="LPA%3A1%24localhost%3A$port%24$g1_mid"
echo "$t" | jq -e --arg m "$g1_mid" --arg e "$enc" --arg h "$HOST:$port" '
  .activation_code == "1$" + $h + "$" + $m and .lpa_uri == "LPA:1$" + $h + "$" + $m
  and .apple == "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata=" + $e
  and .android == "https://esimsetup.android.com/esim_qrcode_provisioning?carddata=" + $e
  and .state == "valid"' >/dev/null || die "token links: $t"
[ "$(zbarimg -q --raw "$DIR/qr/G1.png" 2>/dev/null)" = "LPA:1\$$HOST:$port\$$g1_mid" ] ||
  die "QR of G1"
"$RSPCTL" token show "$g1_mid" --db "$DB" --qr | grep -q '▀' || die "no terminal QR rendering"
ok "tokens issued: activation code, LPA: URI, Apple/Android setup links, QR PNG (decoded) + SVG, terminal QR"
mid_of() { "$RSPCTL" order show "$1" --db "$DB" --json | jq -r .matching_id; }
code_of() { "$RSPCTL" token show "$(mid_of "$1")" --db "$DB" --json | jq -r .lpa_uri; }
for o in G1 G2 G3 G4 B1 B2 B3 B4 B6; do
  "$RSPCTL" push record --order "$o" --channel sms --ref "msg-$o" --db "$DB" >/dev/null ||
    die "push $o"
done
# the ES2+-style endpoint: authenticated like ES2+
push_api() { # TOKEN BODY
  curl -sS --cacert "$DIR/pki/nist/ci.pem" -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $1" -d "$2" "https://$HOST:$port/rspkit/es2plus/recordPush"
}
hdr="\"header\":{\"functionRequesterIdentifier\":\"$OPERATOR\",\"functionCallIdentifier\":\"p1\"}"
out=$(push_api "$TOKEN" "{$hdr,\"matchingId\":\"$(mid_of R1)\",\"channel\":\"email\",\"channelReference\":\"mail-1\"}")
echo "$out" | jq -e '.header.functionExecutionStatus.status == "Executed-Success" and .pushId > 0' \
  >/dev/null || die "push endpoint: $out"
out=$(push_api wrong-token "{$hdr,\"matchingId\":\"$(mid_of R1)\",\"channel\":\"email\",\"channelReference\":\"x\"}")
echo "$out" | grep -q '"subjectCode":"1.1"' || die "push endpoint without the token: $out"
out=$(push_api "$TOKEN" "{$hdr,\"matchingId\":\"NOPE\",\"channel\":\"email\",\"channelReference\":\"x\"}")
echo "$out" | grep -q '"reasonCode":"3.9"' || die "push endpoint, unknown matchingId: $out"
[ "$("$RSPCTL" order show R1 --db "$DB" --json | jq -r .stage)" = pushed ] || die "R1 not pushed"
ok "pushes recorded (rspctl push record, authenticated push endpoint)"

download() { # ORDER [LPA ARGS...]
  local o=$1
  shift
  lpa "$@" profile download -a "$(code_of "$o")" --max-attempts 1 --backoff-base 100 \
    >"$DIR/lpa.out" 2>&1
}
pushes() { "$RSPCTL" quarantine show "$1" "$2" --db "$DB" --json | jq -r .pushes; }
figures() { # DIM VALUE -> "attempts installs failures quarantined"
  "$RSPCTL" quarantine show "$1" "$2" --db "$DB" --json |
    jq -r '"\(.attempts) \(.installs) \(.failures) \(.quarantined)"'
}
quarantined_count() { "$RSPCTL" quarantine list --db "$DB" --json | jq length; }

# ---- downloads ----
for o in G1 G2 G3 G4; do download "$o" || die "download $o: $(cat "$DIR/lpa.out")"; done
[ "$(figures campaign good)" = "4 4 0 false" ] || die "good: $(figures campaign good)"
[ "$(pushes campaign good)" = 4 ] && [ "$(pushes campaign bad)" = 5 ] &&
  [ "$(pushes campaign misc)" = 1 ] || die "pushes per cohort"
ok "campaign good: 4 pushes, 4 attempts, 4 installs"
download B1 --euicc-fault fail-at-segment=2 && die "B1 should fail"
download B2 --euicc-fault fail-at-segment=2 && die "B2 should fail"
download B3 || die "download B3: $(cat "$DIR/lpa.out")"
[ "$(figures campaign bad)" = "3 1 2 false" ] || die "bad after 3: $(figures campaign bad)"
[ "$(quarantined_count)" = 0 ] || die "quarantined below the minimum sample"
ok "67 % failures over 3 completed attempts: below the minimum sample of 4, no quarantine"
[ "$("$RSPCTL" order show B1 --db "$DB" --json | jq -r .stage)" = failed ] || die "B1 stage"
download B4 || die "download B4: $(cat "$DIR/lpa.out")"
[ "$(figures campaign bad)" = "4 2 2 true" ] || die "bad after 4: $(figures campaign bad)"
[ "$(figures tac 35999922)" = "4 2 2 true" ] || die "tac: $(figures tac 35999922)"
[ "$(figures eum "$EUM")" = "8 6 2 false" ] || die "eum: $(figures eum "$EUM")"
[ "$(figures profile-type act)" = "8 6 2 false" ] || die "ptype: $(figures profile-type act)"
[ "$(figures campaign good)" = "4 4 0 false" ] || die "good: $(figures campaign good)"
[ "$(quarantined_count)" = 2 ] || die "quarantines: $("$RSPCTL" quarantine list --db "$DB")"
ok "2 of 4 failed (exactly 50 %): campaign bad and TAC 35999922 quarantined; EUM, profile type, campaign good not"
grep -q '"event":"quarantine".*cohort campaign bad quarantined' "$DIR/smdp.log" ||
  die "no quarantine log line"
for _ in $(seq 100); do
  [ "$(grep -c '"event":"quarantine"' "$DIR/webhook.log" 2>/dev/null || true)" -ge 3 ] && break
  sleep 0.1
done
grep -q '^1 .*"dim":"campaign","value":"bad"' "$DIR/webhook.log" || die "webhook: $(cat "$DIR/webhook.log")"
grep -q '^[2-9] .*"dim":"campaign","value":"bad"' "$DIR/webhook.log" ||
  die "webhook not retried after 503: $(cat "$DIR/webhook.log")"
grep -q '"dim":"tac","value":"35999922"' "$DIR/webhook.log" || die "no TAC alert"
ok "alert: log line and webhook POST, retried after a 503"

# ---- a quarantined cohort: no new release, no new download ----
if "$RSPCTL" order release B5 --db "$DB" 2>"$DIR/err"; then die "B5 released while quarantined"; fi
grep -q "quarantined" "$DIR/err" || die "release refusal unclear: $(cat "$DIR/err")"
[ "$("$RSPCTL" order show B5 --db "$DB" --json | jq -r .stage)" = reserved ] || die "B5 moved"
if "$RSPCTL" campaign release bad --db "$DB" --operator "$OPERATOR" 2>"$DIR/err"; then
  die "campaign release while quarantined"
fi
grep -q "campaign bad is quarantined" "$DIR/err" || die "campaign release: $(cat "$DIR/err")"
ok "release refused: $(head -c 120 "$DIR/err")"
b6_iccid=$("$RSPCTL" order show B6 --db "$DB" --json | jq -r .iccid)
set +e
download B6
rc=$?
set -e
[ "$rc" = 4 ] || die "B6 download while quarantined: exit $rc $(cat "$DIR/lpa.out")"
grep -q "8.2.6" "$DIR/lpa.out" && grep -qi "quarantined" "$DIR/lpa.out" ||
  die "download refusal unclear: $(cat "$DIR/lpa.out")"
[ "$(smdp_state "$b6_iccid")" = Released ] || die "B6 profile moved"
ok "download refused at ES9+ (8.2.6/3.8, cohort named), profile still Released"

# ---- release of the quarantine ----
if "$RSPCTL" quarantine release campaign bad --db "$DB" 2>/dev/null; then
  die "release without a reason"
fi
"$RSPCTL" quarantine release campaign bad --db "$DB" --reason "vendor fixed firmware" \
  --actor alice >/dev/null || die "quarantine release"
"$RSPCTL" quarantine release tac 35999922 --db "$DB" --reason "vendor fixed firmware" \
  >/dev/null || die "quarantine release tac"
"$RSPCTL" audit list --db "$DB" --key campaign:bad | grep -q 'quarantined->released.*alice' ||
  die "release not audited: $("$RSPCTL" audit list --db "$DB" --key campaign:bad)"
[ "$(quarantined_count)" = 0 ] || die "still quarantined"
download B6 || die "download B6 after release: $(cat "$DIR/lpa.out")"
[ "$(smdp_state "$b6_iccid")" = Installed ] || die "B6 not installed"
"$RSPCTL" order release B5 --db "$DB" >/dev/null || die "B5 release after the quarantine"
ok "quarantine release (reason required, audited) lifts it: B6 installs, B5 releases"

# ---- eUICC capability: the EUICCInfo2 rsp-smdp kept from this EID's authenticateClient ----
"$RSPCTL" order create --db "$DB" --id C1 --customer cust-c1 --campaign misc --profile-type act \
  --eid "$EID" >/dev/null || die "order C1"
"$RSPCTL" order reserve C1 --db "$DB" --operator "$OPERATOR" >/dev/null 2>"$DIR/err" || die "reserve C1: $(cat "$DIR/err")"
[ "$("$RSPCTL" order show C1 --db "$DB" --json | jq -r '.stage + " " + .eum')" = "reserved $EUM" ] ||
  die "C1: $("$RSPCTL" order show C1 --db "$DB" --json)"
ok "capability check against the stored EUICCInfo2 of the EID passes; profile reserved for the EID"

# ---- tokens: revoked, expired ----
r1_iccid=$("$RSPCTL" order show R1 --db "$DB" --json | jq -r .iccid)
"$RSPCTL" token revoke "$(mid_of R1)" --db "$DB" --reason "customer cancelled" >/dev/null ||
  die "revoke"
set +e
download R1
rc=$?
set -e
[ "$rc" = 4 ] && grep -q "8.2.6" "$DIR/lpa.out" && grep -qi revoked "$DIR/lpa.out" ||
  die "revoked token: exit $rc $(cat "$DIR/lpa.out")"
[ "$(smdp_state "$r1_iccid")" = Released ] || die "R1 profile moved"
sleep 2
e1_iccid=$("$RSPCTL" order show E1 --db "$DB" --json | jq -r .iccid)
set +e
download E1
rc=$?
set -e
[ "$rc" = 4 ] && grep -q "8.8.5" "$DIR/lpa.out" && grep -qi expired "$DIR/lpa.out" ||
  die "expired token: exit $rc $(cat "$DIR/lpa.out")"
[ "$(smdp_state "$e1_iccid")" = Released ] || die "E1 profile moved"
"$RSPCTL" order sweep --db "$DB" >/dev/null
[ "$("$RSPCTL" order show E1 --db "$DB" --json | jq -r .stage)" = expired ] || die "E1 stage"
ok "revoked token refused 8.2.6/3.8, expired token 8.8.5/4.10; profiles unchanged"

# ---- funnel ----
f=$("$RSPCTL" report funnel --db "$DB" --json)
echo "$f" | jq -e '.total == 16 and ([.current[]] | add) == 16' >/dev/null || die "funnel: $f"
echo "$f" | jq -e '.current["identity-rejected"] == 2 and .current["pre-provisioned"] == 1
  and .current.reserved == 1' \
  >/dev/null || die "funnel: $f"
echo "$f" | jq -e '.current.installed == 7 and .current.failed == 2 and .current.released == 1
  and .current.revoked == 1 and .current.expired == 1 and .reached["first-contact"] == 9
  and .reached["token-issued"] == 11' >/dev/null || die "funnel: $f"
"$RSPCTL" audit verify --db "$DB" --chain-only --quiet || die "audit chain"
ok "funnel adds up (16 orders, one stage each); audit chain verifies"
echo "1..$n"
