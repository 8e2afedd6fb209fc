#!/usr/bin/env bash
# Load generator smoke test (no timing assertions): rsp-smdp over HTTPS on SQLite, an inventory
# generated and imported by `loadgen inventory`, ES2+ orders by `loadgen orders`, then
# `loadgen run`: N complete downloads by 4 in-process software eUICCs over keep-alive
# connections, and M sessions left open after authenticateClient. Asserts every download
# completed, the counts agree (generator, SM-DP+ profiles and sessions, per-function samples)
# and the audit trail verifies.
#
# With `hsm` as the 4th argument the SM-DP+ signs through PKCS#11: DPauth, DPpb and the audit
# checkpoint key live in a SoftHSM2 token (tests/common/softhsm_token.sh) and are named by
# pkcs11: URIs (PIN from a file, and once as pin-value, which must appear in no log); rspctl
# signs one more checkpoint through the token; skipped (77) without SoftHSM2.
#
#   loadgen_smoke.sh RSPCTL RSP_SMDP LOADGEN [hsm]
set -euo pipefail
RSPCTL=$(readlink -f "$1")
SMDP=$(readlink -f "$2")
LOADGEN=$(readlink -f "$3")
MODE=${4:-file}
N=${LOADGEN_SMOKE_N:-12}
M=${LOADGEN_SMOKE_OPEN:-6}
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rsp-loadgen.XXXXXX")
HOST=localhost
OPERATOR=lg-operator
PROFILE_TYPE=lgsmoke
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
PIN=pin-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
smdp_pid=
die() {
  echo "loadgen_smoke: FAIL: $*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  [ -n "$smdp_pid" ] && kill "$smdp_pid" 2>/dev/null && wait "$smdp_pid" 2>/dev/null
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    echo "----- rsp-smdp log (last 20 lines)"
    tail -n 20 "$DIR/smdp.log" 2>/dev/null || true
  fi
  if [ "${RSP_KEEP_TMP:-0}" = 1 ]; then echo "kept $DIR"; else rm -rf "$DIR"; fi
  exit "$rc"
}
trap cleanup EXIT
# shellcheck source=smdp_env.sh
. "$HERE/smdp_env.sh"
for t in jq sqlite3 openssl curl; do command -v "$t" >/dev/null || die "$t is missing"; done

"$RSPCTL" pki init "$DIR/pki" --curve nist --smdp-host "$HOST" >/dev/null
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
  openssl pkcs8 -topk8 -nocrypt -out "$DIR/op.key.pem"
# the profiles served below come with batch manifests (so each download re-checks a batch entry
# record before binding); per-profile manifests are imported into a side store
"$LOADGEN" inventory --db "$DIR/smdp.db" --operator-key "$DIR/op.key.pem" --operator "$OPERATOR" \
  --profile-type "$PROFILE_TYPE" --count $((N + M)) --batch 7 --manifests batch >"$DIR/inventory.json" ||
  die "loadgen inventory: $(cat "$DIR/inventory.json")"
[ "$(jq .imported "$DIR/inventory.json")" = $((N + M)) ] || die "inventory: $(cat "$DIR/inventory.json")"
[ "$(sqlite3 "$DIR/smdp.db" "SELECT count(*) FROM manifest_batches")" -ge 1 ] || die "no batch manifest stored"
"$LOADGEN" inventory --db "$DIR/side.db" --operator-key "$DIR/op.key.pem" --operator "$OPERATOR" \
  --count 9 --batch 4 --manifests profile >"$DIR/side.json" || die "loadgen inventory: $(cat "$DIR/side.json")"
[ "$(jq .imported "$DIR/side.json")" = 9 ] || die "per-profile inventory: $(cat "$DIR/side.json")"

openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
  openssl pkcs8 -topk8 -nocrypt -out "$DIR/audit.key.pem"
openssl pkey -in "$DIR/audit.key.pem" -pubout -out "$DIR/audit.pub.pem" 2>/dev/null
port=$(e2e_free_port)
e2e_smdp_conf "$port"
if [ "$MODE" = hsm ]; then
  st=0
  module=$("$HERE/../common/softhsm_token.sh" "$DIR/hsm" rspkit "$PIN" \
    "$DIR/pki/nist/dpauth.key.pem=dpauth=01" "$DIR/pki/nist/dppb.key.pem=dppb=02" \
    "$DIR/audit.key.pem=audit=03") || st=$?
  [ "$st" -eq 77 ] && { echo "SoftHSM2 not installed: skipping"; exit 77; }
  [ "$st" -eq 0 ] || die "SoftHSM2 token fixture failed"
  export SOFTHSM2_CONF=$DIR/hsm/softhsm2.conf
  uri() { echo "pkcs11:token=rspkit;object=$1;type=private?module-path=$module&$2"; }
  sed -i -e '/^dpauth_key/d' -e '/^dppb_key/d' "$DIR/smdp.conf"
  {
    echo "dpauth_key = $(uri dpauth "pin-source=file:$DIR/hsm/pin")"
    echo "dppb_key = $(uri dppb "pin-source=file:$DIR/hsm/pin")"
    echo "audit_key = $(uri audit "pin-value=$PIN")"
  } >>"$DIR/smdp.conf"
  # the key files are not needed any more: prove the SM-DP+ does not read them
  rm -f "$DIR/pki/nist/dpauth.key.pem" "$DIR/pki/nist/dppb.key.pem"
else
  echo "audit_key = $DIR/audit.key.pem" >>"$DIR/smdp.conf"
fi
echo "threads = 4" >>"$DIR/smdp.conf"
e2e_smdp_try "$port" || die "rsp-smdp did not start (port $port)"

"$LOADGEN" orders --smdp "$HOST:$port" --ca "$DIR/pki/nist/ci.pem" --token "$TOKEN" \
  --operator "$OPERATOR" --profile-type "$PROFILE_TYPE" --count $((N + M)) -o "$DIR/codes" \
  --threads 2 >"$DIR/orders.json" || die "loadgen orders: $(cat "$DIR/orders.json")"
[ "$(wc -l <"$DIR/codes")" -eq $((N + M)) ] || die "orders: $(cat "$DIR/orders.json")"
head -n "$N" "$DIR/codes" >"$DIR/codes.dl"
tail -n "$M" "$DIR/codes" >"$DIR/codes.open"

"$LOADGEN" run --smdp "$HOST:$port" --ca "$DIR/pki/nist/ci.pem" --pki "$DIR/pki" \
  --codes "$DIR/codes.dl" --threads 4 --pid "$smdp_pid" --floor-iters 50 \
  --json "$DIR/run.json" >/dev/null || die "loadgen run: $(cat "$DIR/run.json" 2>/dev/null)"
r=$DIR/run.json
[ "$(jq .ok "$r")" = "$N" ] && [ "$(jq .failed "$r")" = 0 ] || die "downloads: $(cat "$r")"
for f in initiateAuthentication authenticateClient getBoundProfilePackage handleNotification; do
  [ "$(jq ".latency_ms.$f.n" "$r")" = "$N" ] || die "$f samples: $(cat "$r")"
done
[ "$(jq '.errors | length' "$r")" = 0 ] || die "errors: $(cat "$r")"
awk -v c="$(jq .server_cpu_s "$r")" 'BEGIN { exit !(c > 0) }' || die "no server CPU time read"
installed=$(sqlite3 "$DIR/smdp.db" "SELECT count(*) FROM profiles WHERE state = 'Installed'")
finished=$(sqlite3 "$DIR/smdp.db" "SELECT count(*) FROM sessions WHERE state = 'Finished'")
[ "$installed" = "$N" ] && [ "$finished" = "$N" ] ||
  die "SM-DP+: $installed Installed, $finished sessions Finished, expected $N"

"$LOADGEN" run --mode open --smdp "$HOST:$port" --ca "$DIR/pki/nist/ci.pem" --pki "$DIR/pki" \
  --codes "$DIR/codes.open" --threads 2 --pid "$smdp_pid" --floor-iters 50 \
  --json "$DIR/open.json" >/dev/null || die "loadgen run --mode open: $(cat "$DIR/open.json")"
[ "$(jq .ok "$DIR/open.json")" = "$M" ] || die "open sessions: $(cat "$DIR/open.json")"
[ "$(jq .server_rss_kib_after "$DIR/open.json")" -gt 0 ] || die "no server RSS read"
open=$(sqlite3 "$DIR/smdp.db" "SELECT count(*) FROM sessions WHERE state = 'Authenticated'")
[ "$open" = "$M" ] || die "$open sessions Authenticated at the SM-DP+, expected $M"

kill "$smdp_pid" && wait "$smdp_pid" 2>/dev/null || true
smdp_pid=
if [ "$MODE" = hsm ]; then
  # one more checkpoint signed by rspctl through the token, then the whole trail verifies
  "$RSPCTL" audit checkpoint --db "$DIR/smdp.db" \
    --key "$(uri audit "pin-source=file:$DIR/hsm/pin")" >/dev/null || die "rspctl checkpoint via PKCS#11"
  if grep -rqF -- "$PIN" "$DIR/smdp.log"; then die "the PIN appears in the SM-DP+ log"; fi
  if sqlite3 "$DIR/smdp.db" "SELECT reason FROM audit" | grep -qF -- "$PIN"; then
    die "the PIN appears in the audit trail"
  fi
fi
"$RSPCTL" audit verify --db "$DIR/smdp.db" --pubkey "$DIR/audit.pub.pem" >"$DIR/verify.out" ||
  die "audit verify: $(cat "$DIR/verify.out")"
grep -q "checkpoint" "$DIR/verify.out" || die "no checkpoint verified: $(cat "$DIR/verify.out")"
echo "loadgen_smoke ($MODE): $N downloads, $M open sessions, audit verified"
