#!/usr/bin/env bash
# Post-activation end to end (issue 7 items 2-5): real rsp-smdp (SQLite, HTTPS, sweeper every
# second, short session and order lifetimes, a rollback SLA), rsp-lpa with the in-process
# software eUICC, rspctl.
#   A. rollback: failures of every kind injected -- pir-error (rsp-lpa with the eUICC fault
#      fail-at-segment: a PIR errorResult), install-failed / cancelled / verification-failed
#      (device_cancel: the software eUICC signs CancelSession loadBppExecutionError,
#      endUserRejection, metadataMismatch after the BPP was bound), download-failed (rsp-lpa
#      killed after a segment, the session expires; re-released, then downloaded again by
#      rsp-lpa), ttl-expired (a released order nobody downloads), verification-failed also as
#      reported by care (rspctl rollback fail); after the SLA no profile is in an intermediate
#      state, every rollback is closed with its audit records, `report rollback` shows no
#      breach, overdue rollback or orphan;
#   B. reconciliation: events imported from CSV and pushed over HTTPS (ES2+ authentication; a
#      wrong token and a bad event are refused and store nothing), `recon report` JSON counts,
#      `recon act` once (audited), a re-import changes nothing;
#   C. privacy: `privacy erase` of the customer; its reference, EID and IMEI are nowhere in the
#      database dump, the rsp-smdp log, rspctl's output or an audit export; `audit verify` passes.
#
#   recon.sh RSPCTL RSP_SMDP RSP_LPA DEVICE_CANCEL
set -euo pipefail

RSPCTL=$(readlink -f "$1")
SMDP=$(readlink -f "$2")
LPA=$(readlink -f "$3")
DEVCANCEL=$(readlink -f "$4")
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rsp-recon.XXXXXX")
HOST=localhost
OPERATOR=recon-operator
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOKEN2=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n') # a second operator
SLA=20
smdp_pid=
log() { echo "recon: $*"; }
die() {
  echo "recon: FAIL: $*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  [ -n "$smdp_pid" ] && kill "$smdp_pid" 2>/dev/null && wait "$smdp_pid" 2>/dev/null
  if [ "$rc" -ne 0 ]; then
    echo "----- rsp-smdp log (last 30 lines)"; tail -n 30 "$DIR/smdp.log" 2>/dev/null || true
    echo "----- profiles"; "$RSPCTL" profiles list --db "$DIR/smdp.db" 2>/dev/null || true
    echo "----- rollbacks"; "$RSPCTL" rollback list --db "$DIR/smdp.db" 2>/dev/null || true
  fi
  [ -n "${RECON_KEEP:-}" ] || rm -rf "$DIR"
  exit "$rc"
}
trap cleanup EXIT

PROFILE_TYPE=rcn
. "$(dirname "$(readlink -f "$0")")/smdp_env.sh"
E2E_CURVE=both # device_cancel loads both curves of the test PKI
e2e_inventory 10 8949000000000002 0010100000002
"$RSPCTL" audit keygen "$DIR/keys" >/dev/null
EID=$(openssl x509 -in "$DIR/pki/nist/euicc.pem" -noout -subject | sed -n 's/.*serialNumber *= *\([0-9]*\).*/\1/p')
[ ${#EID} -eq 32 ] || die "cannot read the test eUICC's EID"
for try in 1 2 3 4 5; do
  port=$(e2e_free_port)
  e2e_smdp_conf "$port"
  cat >>"$DIR/smdp.conf" <<CONF
sweep_interval = 1
session_lifetime = 4
order_lifetime = 8
rollback_sla = $SLA
rollback_policies = download-failed=rerelease,install-failed=available,pir-error=quarantine,cancelled=available,ttl-expired=available,verification-failed=quarantine
pseudonym_key = $DIR/keys/pseudonym.key
audit_key = $DIR/keys/audit.key.pem
operator = other-operator token_sha256=$(printf '%s' "$TOKEN2" | openssl dgst -sha256 -r | cut -d' ' -f1)
CONF
  e2e_smdp_try "$port" && break
  [ "$try" -lt 5 ] || die "rsp-smdp exited (port $port)"
done
ES2_PORT=$port
cp -r "$DIR/pki" "$DIR/device"
lpa() { "$LPA" --euicc "soft:$DIR/device" "$@"; }
AC() { echo "LPA:1\$$HOST:$port\$$1"; }
FAST=(--backoff-base 100 --backoff-cap 300)
DB="$DIR/smdp.db"

log "A. rollback: one failure of every kind"
# every order first: a profile rolled back to Available goes back to stock and would be taken
# by the next order
read -r ic_pir mid_pir <<<"$(order)"
read -r ic_inst mid_inst <<<"$(order)"
read -r ic_cancel mid_cancel <<<"$(order)"
read -r ic_meta mid_meta <<<"$(order)"
read -r ic_dl mid_dl <<<"$(order)"
read -r ic_ttl mid_ttl <<<"$(order)"
read -r ic_ver mid_ver <<<"$(order)"
mid=$mid_pir
st=0
lpa --euicc-fault fail-at-segment=3 profile download -a "$(AC "$mid")" "${FAST[@]}" >"$DIR/a1.out" 2>&1 || st=$?
log "   pir-error: rsp-lpa exit $st, SM-DP+ $(smdp_state "$ic_pir")"

dev_cancel() { # MATCHINGID REASON
  "$DEVCANCEL" --pki "$DIR/pki" --address "$HOST:$port" --matching-id "$1" --reason "$2" \
    >"$DIR/dc.out" 2>&1 || die "device_cancel reason $2: $(cat "$DIR/dc.out")"
}
dev_cancel "$mid_inst" 5
log "   install-failed: CancelSession loadBppExecutionError, SM-DP+ $(smdp_state "$ic_inst")"
dev_cancel "$mid_cancel" 0
log "   cancelled: CancelSession endUserRejection, SM-DP+ $(smdp_state "$ic_cancel")"
dev_cancel "$mid_meta" 4
log "   verification-failed: CancelSession metadataMismatch, SM-DP+ $(smdp_state "$ic_meta")"

st=0
RSP_LPA_TEST_KILL_AT=acked:2 "$LPA" --euicc "soft:$DIR/device" profile download -a "$(AC "$mid_dl")" "${FAST[@]}" >"$DIR/a4.out" 2>&1 || st=$?
[ "$st" -eq 137 ] || die "the killed rsp-lpa exited $st"
rm -f "$DIR"/device/lpa/*/attempt.json # the device forgets it: the SM-DP+ session expires
log "   download-failed: SM-DP+ $(smdp_state "$ic_dl") (session expires in 4 s)"

log "   ttl-expired: SM-DP+ $(smdp_state "$ic_ttl") (order lifetime 8 s)"

"$RSPCTL" rollback fail --db "$DB" --iccid "$ic_ver" --kind verification-failed >/dev/null ||
  die "rollback fail"
"$RSPCTL" rollback fail --db "$DB" --iccid "$ic_ver" --kind bogus >/dev/null 2>&1 && die "a bad kind was accepted"

# wait until every failure was rolled back (the download-failed one is re-released: download it)
want_closed=7
redownloaded=0
for _ in $(seq 120); do
  if [ "$redownloaded" -eq 0 ] && grep -q "download-failed.*Released" <<<"$("$RSPCTL" rollback list --db "$DB")"; then
    lpa profile download -a "$(AC "$mid_dl")" "${FAST[@]}" >"$DIR/a5.out" 2>&1 || die "the re-released order failed: $(cat "$DIR/a5.out")"
    redownloaded=1
  fi
  closed=$("$RSPCTL" rollback list --db "$DB" | awk 'NR > 1 && $6 != "-"' | wc -l)
  [ "$closed" -ge "$want_closed" ] && [ "$redownloaded" -eq 1 ] && break
  sleep 0.5
done
"$RSPCTL" rollback list --db "$DB"
check_state() { # ICCID WANT WHAT
  local s
  s=$(smdp_state "$1")
  [ "$s" = "$2" ] || die "$3: $1 is $s, want $2"
}
check_state "$ic_pir" Unavailable "pir-error (quarantine)"
check_state "$ic_inst" Available "install-failed (available)"
check_state "$ic_cancel" Available "cancelled (available)"
check_state "$ic_dl" Installed "download-failed (re-released, then downloaded)"
check_state "$ic_ttl" Available "ttl-expired (available)"
check_state "$ic_ver" Unavailable "verification-failed (quarantine)"
check_state "$ic_meta" Unavailable "verification-failed by metadataMismatch (quarantine)"
for k in pir-error install-failed cancelled download-failed ttl-expired verification-failed; do
  [ -n "$("$RSPCTL" rollback list --db "$DB" | awk -v k="$k" '$3 == k && $6 != "-"')" ] ||
    die "no closed rollback of kind $k"
done
# nothing in an intermediate state; every rollback closed, with its audit records
states=$("$RSPCTL" profiles list --db "$DB" | awk '{print $3}')
grep -qE '^(Error|Downloaded)$' <<<"$states" &&
  die "a profile is left in an intermediate state"
[ "$("$RSPCTL" rollback list --db "$DB" --open | wc -l)" -eq 1 ] || die "an open rollback is left"
for ic in "$ic_pir" "$ic_inst" "$ic_cancel" "$ic_meta" "$ic_dl" "$ic_ttl" "$ic_ver"; do
  a=$("$RSPCTL" audit list --db "$DB" --key "$ic")
  grep -q "rollback.*open:" <<<"$a" || die "no audit record opening the rollback of $ic"
  grep -q "rollback.*done:" <<<"$a" || die "no audit record closing the rollback of $ic"
done
"$RSPCTL" report rollback --db "$DB" --sla "$SLA" --fail-on-breach >"$DIR/rb.txt" ||
  { cat "$DIR/rb.txt"; die "report rollback: breach, overdue or orphan"; }
cat "$DIR/rb.txt"
"$RSPCTL" report rollback --db "$DB" --sla "$SLA" --format json | jq -e '.orphans == 0 and .breaches == 0' >/dev/null ||
  die "report rollback JSON"

log "B. reconciliation"
# the installed profile (re-released, then downloaded) is the customer's subscription
IMSI_DL=$("$RSPCTL" profiles list --db "$DB" | awk -v i="$ic_dl" '($1 "") == (i "") {print $2}')
CUST=CUST-E2E-0007
IMEI=356938035643809
NOW=$(date +%s)
cat >"$DIR/billing.csv" <<CSV
event_id,iccid,imsi,customer,plan,timestamp
b-1,$ic_dl,$IMSI_DL,$CUST,plan-a,$NOW
b-2,8949000000000099999,,$CUST,plan-a,$NOW
b-3,$ic_pir,001019999999999,,plan-a,$NOW
CSV
# the activation order of the customer's subscription names the tariff billing must match (plan-b;
# it is billed on plan-a: a tariff mismatch, and no billing match in the parity report)
"$RSPCTL" order create --db "$DB" --id O-E2E-7 --customer "$CUST" --iccid "$ic_dl" \
  --tariff plan-b --eid "$EID" >/dev/null || die "order create"
"$RSPCTL" recon import --db "$DB" --kind billing "$DIR/billing.csv" >"$DIR/imp.out" || die "recon import"
grep -q "3 new" "$DIR/imp.out" || die "import: $(cat "$DIR/imp.out")"
grep -q "0 new, 3 already" <<<"$("$RSPCTL" recon import --db "$DB" --kind billing "$DIR/billing.csv")" ||
  die "a re-import added events"
printf 'event_id,iccid,timestamp\nx,123,1\n' >"$DIR/bad.csv"
"$RSPCTL" recon import --db "$DB" --kind billing "$DIR/bad.csv" 2>"$DIR/bad.err" && die "a bad file was imported"
grep -q "line 2: iccid" "$DIR/bad.err" || die "bad file message: $(cat "$DIR/bad.err")"
push() { # TOKEN BODY
  curl -sS --cacert "$DIR/pki/nist/ci.pem" -H 'Content-Type: application/json' \
    -H 'X-Admin-Protocol: gsma/rsp/v2.5.0' -H "Authorization: Bearer $1" \
    -d "$2" "https://$HOST:$ES2_PORT/rspkit/recon/v1/events"
}
HDR="\"header\":{\"functionRequesterIdentifier\":\"$OPERATOR\",\"functionCallIdentifier\":\"r1\"}"
r=$(push "$TOKEN" "{$HDR,\"kind\":\"attach\",\"events\":[{\"event_id\":\"a-1\",\"iccid\":\"$ic_dl\",\"imsi\":\"$IMSI_DL\",\"eid\":\"$EID\",\"imei\":\"$IMEI\",\"timestamp\":$NOW}]}")
echo "$r" | jq -e '.received == 1 and .new == 1' >/dev/null || die "push: $r"
r=$(push "wrong$TOKEN" "{$HDR,\"kind\":\"attach\",\"events\":[{\"event_id\":\"a-2\",\"iccid\":\"$ic_dl\",\"timestamp\":1}]}")
grep -q '"status":"Failed"' <<<"$r" || die "a wrong token was accepted: $r"
r=$(push "$TOKEN" "{$HDR,\"kind\":\"attach\",\"events\":[{\"event_id\":\"a-3\",\"iccid\":\"$ic_dl\",\"timestamp\":1},{\"event_id\":\"a-4\",\"iccid\":\"12\",\"timestamp\":1}]}")
grep -q 'events\[1\]: iccid' <<<"$r" || die "a bad event was accepted: $r"
# another operator cannot push events about this operator's profile (ES2+ isolation)
HDR2="\"header\":{\"functionRequesterIdentifier\":\"other-operator\",\"functionCallIdentifier\":\"r2\"}"
r=$(push "$TOKEN2" "{$HDR2,\"kind\":\"billing\",\"events\":[{\"event_id\":\"o-1\",\"iccid\":\"$ic_dl\",\"plan\":\"x\",\"timestamp\":1}]}")
grep -q '"subjectCode":"8.2.1"' <<<"$r" && grep -q '"reasonCode":"3.9"' <<<"$r" ||
  die "another operator's push about this profile was not refused as unknown: $r"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM recon_events WHERE event_id = 'o-1'")" -eq 0 ] ||
  die "another operator's refused push stored an event"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM recon_events WHERE kind = 'attach'")" -eq 1 ] ||
  die "a refused push stored events"
rep=$("$RSPCTL" recon report --db "$DB" --format json --release-ttl 3600 --attach-grace 3600 --billing-grace 3600)
echo "$rep" | jq -c .counts
echo "$rep" | jq -e '.counts["billed-not-installed"] == 2 and .counts["imsi-mismatch"] == 1 and
  .counts["tariff-mismatch"] == 1 and
  .counts["installed-not-attached"] == 0 and .counts["released-not-installed"] == 0' >/dev/null ||
  die "recon report: $rep"
grep -q '^kind,subject,event_id' <<<"$("$RSPCTL" recon report --db "$DB" --format csv)" || die "CSV report"
"$RSPCTL" recon act --db "$DB" --release-ttl 3600 --attach-grace 3600 --billing-grace 3600 \
  --action imsi-mismatch=notify --notify-file "$DIR/notify.jsonl" >"$DIR/act.out" || die "recon act"
grep -q "3 flagged, 1 notified" "$DIR/act.out" || die "recon act: $(cat "$DIR/act.out")"
again=$("$RSPCTL" recon act --db "$DB" --release-ttl 3600 --attach-grace 3600 --billing-grace 3600 \
  --action imsi-mismatch=notify --notify-file "$DIR/notify.jsonl")
grep -q "4 already handled" <<<"$again" || die "recon act repeated an action: $again"
[ "$(wc -l <"$DIR/notify.jsonl")" -eq 1 ] || die "notify file"
grep -q "recon" <<<"$("$RSPCTL" audit list --db "$DB")" || die "no audit record of the actions"

log "B2. parity: eSIM vs physical SIM"
# 40 physical-SIM activations ordered during this test: 38 in service after 30-60 minutes (the
# timestamps may lie in the future: only differences count), 2 failed; 30 of them billed
{
  echo "event_id,iccid,imsi,plan,ordered_at,timestamp,outcome"
  for i in $(seq 40); do
    o=$((NOW - 5 + i % 3))
    echo "p-$i,$(printf '89491%014d' "$i"),$(printf '00102%010d' "$i"),plan-a,$o,$((o + 1800 + i * 45)),$([ "$i" -le 2 ] && echo failed || echo ok)"
  done
} >"$DIR/physical.csv"
grep -q "40 new" <<<"$("$RSPCTL" recon import --db "$DB" --kind physical "$DIR/physical.csv")" || die "physical import"
{
  echo "event_id,iccid,plan,timestamp"
  for i in $(seq 3 32); do echo "pb-$i,$(printf '89491%014d' "$i"),plan-a,$NOW"; done
} >"$DIR/pbill.csv"
"$RSPCTL" recon import --db "$DB" --kind billing "$DIR/pbill.csv" >/dev/null || die "physical billing import"
st=0
"$RSPCTL" report parity --db "$DB" --cohort "$((NOW - 3600))..$((NOW + 3600))" --format json >"$DIR/parity.json" || st=$?
cat "$DIR/parity.json"
[ "$st" -eq 3 ] || die "report parity exited $st, not 3 (a flagged difference)"
jq -e '.esim.activations == 7 and .esim.successes == 1 and .physical.activations == 40 and
  .physical.successes == 38 and .physical.billed_match == 30 and .esim.billed_match == 0 and
  .success_rate.different == true and .success_rate.p < 0.05' "$DIR/parity.json" >/dev/null ||
  die "report parity JSON"
"$RSPCTL" report parity --db "$DB" --cohort "$((NOW - 3600))..$((NOW + 3600))" >"$DIR/parity.txt" || true
grep -q "success rate.*DIFFERENT" "$DIR/parity.txt" || die "report parity table: $(cat "$DIR/parity.txt")"
"$RSPCTL" report parity --db "$DB" --cohort 2001-01-01..2001-01-02 --format json |
  jq -e '.esim.activations == 0 and .physical.activations == 0' >/dev/null || die "an empty cohort"
"$RSPCTL" report parity --db "$DB" --cohort yesterday >/dev/null 2>&1 && die "a bad cohort was accepted"

log "C. privacy erase"
# a policy that could put one profile on two eUICCs is refused before anything is touched
set +e
"$RSPCTL" rollback sweep --db "$DB" --policy download-failed=available >/dev/null 2>"$DIR/pol.err"
rc=$?
set -e
[ "$rc" = 2 ] && grep -q "may have reached the eUICC" "$DIR/pol.err" ||
  die "download-failed=available accepted (exit $rc): $(cat "$DIR/pol.err")"
"$RSPCTL" rollback sweep --db "$DB" >/dev/null || true
out=$("$RSPCTL" privacy erase --db "$DB" --customer "$CUST" --pseudonym-key "$DIR/keys/pseudonym.key") ||
  die "privacy erase: $out"
echo "$out"
grep -q "$CUST" <<<"$out" && die "rspctl printed the customer reference"
kill "$smdp_pid" && wait "$smdp_pid" 2>/dev/null || true
smdp_pid=
"$RSPCTL" audit verify --db "$DB" --pubkey "$DIR/keys/audit.pub.pem" >"$DIR/verify.out" ||
  die "audit verify after the erasure: $(cat "$DIR/verify.out")"
"$RSPCTL" audit export --db "$DB" --pubkey "$DIR/keys/audit.pub.pem" "$DIR/archive.rspa" >/dev/null ||
  die "audit export"
"$RSPCTL" recon report --db "$DB" --format csv -o "$DIR/report.csv" || die "report after erase"
sqlite3 "$DB" .dump >"$DIR/dump.sql"
for id in "$CUST" "$EID" "$IMEI"; do
  for f in "$DIR/dump.sql" "$DB" "$DIR/smdp.log" "$DIR/archive.rspa" "$DIR/report.csv" "$DIR/notify.jsonl" "$DIR/verify.out"; do
    if grep -qaF "$id" "$f"; then die "$(basename "$f") still holds the raw identifier $id"; fi
  done
done
# the search does find what is there: the ICCID is not personal data and stays
grep -qF "$ic_dl" "$DIR/dump.sql" || die "the dump search is broken"
log "D. report rollback finds orphans (a store no sweeper looked at)"
printf 'host = x\nport = 0\nplain_http = true\ndb_path = %s/o.db\n' "$DIR" >"$DIR/o.conf"
"$SMDP" -c "$DIR/o.conf" --check-config >/dev/null || die "check-config o.conf"
NOWS=$(date +%s)
sqlite3 "$DIR/o.db" "INSERT INTO profiles (iccid, imsi, state, state_since, created_at, error_reason)
  VALUES ('8949000000000099901', '001', 'Downloaded', 1000, 1000, ''),
         ('8949000000000099902', '001', 'Error', 1000, 1000, 'cancelSession endUserRejection'),
         ('8949000000000099903', '001', 'Downloaded', $NOWS, 1000, '');
  INSERT INTO sessions (tid, iccid, state, server_challenge, euicc_challenge, otpk_euicc,
    expires_at, created_at, updated_at)
  VALUES ('AA01', '8949000000000099901', 'BPP-bound', x'00', x'00', x'01', $NOWS + 600, 1, 1);"
o=$("$RSPCTL" report rollback --db "$DIR/o.db" --format json)
jq -e '.orphans == 1 and .orphan_examples == ["8949000000000099902"]' <<<"$o" >/dev/null ||
  die "orphans with a live download session: $o"
sqlite3 "$DIR/o.db" "UPDATE sessions SET expires_at = 5"
st=0
o=$("$RSPCTL" report rollback --db "$DIR/o.db" --format json --fail-on-breach) || st=$?
[ "$st" -eq 1 ] || die "--fail-on-breach with orphans exited $st"
jq -e '.orphans == 2' <<<"$o" >/dev/null || die "orphans after the session expired: $o"
log "PASS"
