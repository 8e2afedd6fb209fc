#!/usr/bin/env bash
# The SM-DP+ audit trail end to end with real processes: profiles imported by rspctl, rsp-smdp
# serving ES2+ orders (one refused, one unauthenticated) with an audit key and a pseudonym key,
# a clean stop; then `rspctl audit verify` on the live store, on copies where one byte was
# flipped, a record deleted, one inserted, two swapped, a checkpoint signature broken and the tail
# cut (each must be reported at the right seq); no raw EID in the store's audit records or the
# logs; export to an archive that verifies in an empty directory with nothing but rspctl; prune,
# after which the rest still verifies.
#   audit.sh RSP_SMDP RSPCTL
set -uo pipefail
SMDP=${1:?usage: audit.sh RSP_SMDP RSPCTL}
RSPCTL=${2:?usage: audit.sh RSP_SMDP RSPCTL}
SMDP=$(readlink -f "$SMDP")
RSPCTL=$(readlink -f "$RSPCTL")
for c in openssl sqlite3 curl; do
  command -v "$c" >/dev/null || { echo "$c absent: skipping"; exit 77; }
done
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; [ -n "${RSP_KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
fail=0
EID=89049032123451234512345678901235
check() { # expected-status description command...
  local want=$1 what=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local st=$?
  if [ "$st" -eq "$want" ]; then echo "ok: $what"; else
    echo "FAIL: $what: status $st, want $want"; cat "$tmp/out" "$tmp/err"; fail=1; fi
}
keys="$tmp/keys"
db="$tmp/smdp.db"

# ---- a store with history ----
check 0 "audit keygen" "$RSPCTL" audit keygen "$keys"
[ "$(stat -c %a "$keys/audit.key.pem")" = 600 ] && [ "$(stat -c %a "$keys/pseudonym.key")" = 600 ] ||
  { echo "FAIL: key files are not mode 0600"; fail=1; }
check 1 "keygen refuses to overwrite" "$RSPCTL" audit keygen "$keys"
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/op.key" 2>/dev/null
openssl ec -in "$tmp/op.key" -pubout -out "$tmp/op.pub" 2>/dev/null
mkdir "$tmp/p"
for i in 1 2 3 4; do
  "$RSPCTL" profiles generate --iccid "899900000000000000$i" --imsi "00101000000000$i" \
    --profile-type t -o "$tmp/p/p$i.der" >/dev/null || fail=1
  "$RSPCTL" manifest sign --key "$tmp/op.key" --operator op1 --package "$tmp/p/p$i.der" \
    --profile-type t -o "$tmp/p/p$i.manifest" >/dev/null || fail=1
done
check 0 "import 4 profiles" "$RSPCTL" profiles import --db "$db" --operator-cert "$tmp/op.pub" --operator op1 --dir "$tmp/p"
check 0 "checkpoint after the import" "$RSPCTL" audit checkpoint --db "$db" --key "$keys/audit.key.pem"
grep -q "checkpoint: seq 4 " "$tmp/out" || { echo "FAIL: checkpoint at seq 4"; cat "$tmp/out"; fail=1; }
check 0 "a second checkpoint of the same head is a no-op" "$RSPCTL" audit checkpoint --db "$db" --key "$keys/audit.key.pem"

TOKEN=audit-test-token
cat > "$tmp/smdp.conf" <<CONF
host = testsmdpplus1.example.com
listen_address = 127.0.0.1
port = 0
plain_http = true
db_path = $db
threads = 2
sweep_interval = 1
shutdown_grace = 5
operator = op1 token_sha256=$(printf %s "$TOKEN" | openssl dgst -sha256 -r | cut -d' ' -f1)
audit_key = $keys/audit.key.pem
pseudonym_key = $keys/pseudonym.key
audit_checkpoint_records = 3
CONF
check 0 "--check-config names the audit key" "$SMDP" -c "$tmp/smdp.conf" --check-config
grep -q "audit checkpoints signed by key" "$tmp/out" || { echo "FAIL: check-config output"; cat "$tmp/out"; fail=1; }
printf 'abc\n' > "$tmp/bad.key"
check 1 "a malformed pseudonym key is refused" env RSP_SMDP_PSEUDONYM_KEY="$tmp/bad.key" "$SMDP" -c "$tmp/smdp.conf" --check-config

"$SMDP" -c "$tmp/smdp.conf" >"$tmp/smdp.out" 2>"$tmp/smdp.err" &
pid=$!
port=
for _ in $(seq 50); do
  port=$(sed -n 's/.*"event":"listening","detail":"127.0.0.1 port \([0-9]*\).*/\1/p' "$tmp/smdp.err")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "FAIL: rsp-smdp did not start"; cat "$tmp/smdp.err"; exit 1; }
es2() { # function body [token]
  curl -s -H 'Content-Type: application/json' -H 'X-Admin-Protocol: gsma/rsp/v2.5.0' \
    -H "Authorization: Bearer ${3:-$TOKEN}" -d "$2" "http://127.0.0.1:$port/gsma/rsp2/es2plus/$1"
}
hdr='"header":{"functionRequesterIdentifier":"op1","functionCallIdentifier":"call-1"}'
es2 downloadOrder "{$hdr,\"iccid\":\"8999000000000000001\",\"eid\":\"$EID\"}" | grep -q '"iccid":"8999000000000000001' ||
  { echo "FAIL: DownloadOrder"; fail=1; }
es2 confirmOrder "{$hdr,\"iccid\":\"8999000000000000001\",\"releaseFlag\":true}" | grep -q '"matchingId"' ||
  { echo "FAIL: ConfirmOrder"; fail=1; }
es2 downloadOrder "{$hdr,\"iccid\":\"8999000000000000002\",\"eid\":\"${EID%??}00\"}" | grep -q '"status":"Failed"' ||
  { echo "FAIL: DownloadOrder with bad EID check digits not refused"; fail=1; }
es2 downloadOrder "{$hdr,\"iccid\":\"8999000000000000003\",\"eid\":\"$EID\"}" wrong-token | grep -q '"status":"Failed"' ||
  { echo "FAIL: wrong token not refused"; fail=1; }
kill -TERM "$pid"
wait "$pid"
st=$?
pid=
[ "$st" -eq 0 ] || { echo "FAIL: rsp-smdp exit status $st"; cat "$tmp/smdp.err"; fail=1; }

# ---- the live chain verifies; records name the EID only by pseudonym ----
pub="$keys/audit.pub.pem"
check 0 "verify the live store" "$RSPCTL" audit verify --db "$db" --pubkey "$pub"
grep -q "audit verify: OK" "$tmp/out" || { echo "FAIL: verify output"; cat "$tmp/out"; fail=1; }
head_seq=$(sqlite3 "$db" "SELECT seq FROM audit_head")
grep -q "signed through seq $head_seq" "$tmp/out" || { echo "FAIL: the clean stop signs the head"; cat "$tmp/out"; fail=1; }
check 2 "verify without a key needs --chain-only" "$RSPCTL" audit verify --db "$db"
check 0 "verify --chain-only" "$RSPCTL" audit verify --db "$db" --chain-only
grep -q "NOT verified" "$tmp/out" || { echo "FAIL: --chain-only says signatures are not checked"; fail=1; }
check 2 "verify usage: both --db and --archive" "$RSPCTL" audit verify --db "$db" --archive x --pubkey "$pub"
check 1 "verify a missing store" "$RSPCTL" audit verify --db "$tmp/none.db" --pubkey "$pub"
[ -e "$tmp/none.db" ] && { echo "FAIL: verify created a store"; fail=1; }
pseudo=$("$RSPCTL" audit pseudonym --key-file "$keys/pseudonym.key" "$EID")
n=$(sqlite3 "$db" "SELECT count(*) FROM audit WHERE subject = '$pseudo'")
[ "$n" -ge 3 ] || { echo "FAIL: records about the EID carry its pseudonym ($n)"; fail=1; }
for e in "$EID" "${EID%??}00" "${EID:0:8}"; do
  n=$(sqlite3 "$db" "SELECT count(*) FROM audit WHERE instr(entity||key||from_state||to_state||actor||subject||reason, '$e') > 0")
  [ "$n" -eq 0 ] || { echo "FAIL: $e appears raw in $n audit records"; fail=1; }
  ! grep -q "$e" "$tmp/smdp.out" "$tmp/smdp.err" || { echo "FAIL: $e appears in the rsp-smdp logs"; fail=1; }
done
grep -q "\"eid\":\"$pseudo\"" "$tmp/smdp.out" || { echo "FAIL: the request log names the EID by its pseudonym"; fail=1; }
for what in "es2p 8999000000000000003 Failed unauthenticated:op1" "es2p 8999000000000000002 Failed op1" \
            "config rsp-smdp Changed" "process rsp-smdp Stopped" "profile 8999000000000000001 Linked->Released op1"; do
  "$RSPCTL" audit list --db "$db" | grep -q " $what " || { echo "FAIL: no record '$what'"; fail=1; }
done
[ "$(grep -c '"event":"audit-checkpoint"' "$tmp/smdp.err")" -ge 2 ] || { echo "FAIL: checkpoints logged"; fail=1; }

# ---- tampering: each reported at the right seq ----
K=6   # a record in the middle
tamper() { # name sql...
  rm -f "$tmp/t.db"
  sqlite3 "$db" ".backup '$tmp/t.db'"
  sqlite3 "$tmp/t.db" "$2" || { echo "FAIL: tamper $1: sql"; fail=1; }
}
expect_fail() { # description first-seq problem [extra-regex]
  "$RSPCTL" audit verify --db "$tmp/t.db" --pubkey "$pub" >"$tmp/out" 2>&1
  local st=$?
  local first
  first=$(grep -m1 '^FAIL' "$tmp/out")
  if [ "$st" -eq 1 ] && printf '%s\n' "$first" | grep -q "^FAIL seq $2 .*\[$3\]" &&
     { [ -z "${4:-}" ] || grep -q "$4" "$tmp/out"; }; then
    echo "ok: $1 reported at seq $2 ($3)"
  else
    echo "FAIL: $1: status $st, first finding: $first"; cat "$tmp/out"; fail=1
  fi
}
xor1='char((unicode(substr(reason,2,1)) | 1) - (unicode(substr(reason,2,1)) & 1))'
tamper flip "UPDATE audit SET reason = substr(reason,1,1) || $xor1 || substr(reason,3) WHERE seq = $K"
expect_fail "one flipped byte" "$K" edited
tamper delete "DELETE FROM audit WHERE seq = $K"
expect_fail "a deleted record" "$K" missing "record $K..$K missing"
tamper insert "UPDATE audit SET seq = -seq WHERE seq >= $K; UPDATE audit SET seq = 1 - seq WHERE seq < 0;
  INSERT INTO audit (seq, at, entity, key, from_state, to_state, actor, subject, reason, prev_hash, hash)
  SELECT $K, at, 'profile', '8999000000000000004', 'Available', 'Unavailable', 'intruder', '', 'inserted', hash, randomblob(32)
  FROM audit WHERE seq = $((K - 1));
  UPDATE audit_head SET seq = seq + 1, hash = (SELECT hash FROM audit WHERE seq = (SELECT max(seq) FROM audit))"
expect_fail "an inserted record" "$K" edited "renumbered"
tamper swap "UPDATE audit SET seq = CASE seq WHEN $K THEN -$((K + 1)) ELSE -$K END WHERE seq IN ($K, $((K + 1)));
  UPDATE audit SET seq = -seq WHERE seq < 0"
expect_fail "two swapped records" "$K" renumbered "records $K and $((K + 1)) are out of order"
tamper sig "UPDATE audit_checkpoints SET sig = randomblob(64) WHERE seq = 4"
expect_fail "a bad checkpoint signature" 4 checkpoint-signature
tamper cut "DELETE FROM audit WHERE seq > $((head_seq - 2));
  UPDATE audit_head SET seq = $((head_seq - 2)), hash = (SELECT hash FROM audit WHERE seq = $((head_seq - 2)))"
expect_fail "a cut tail (head rewound too)" "$head_seq" truncated "records $((head_seq - 1))..$head_seq deleted"
# the tail cut together with its checkpoints: only a copy kept outside the store shows it
tamper cut2 "DELETE FROM audit WHERE seq > $((head_seq - 2)); DELETE FROM audit_checkpoints WHERE seq > $((head_seq - 2));
  UPDATE audit_head SET seq = $((head_seq - 2)), hash = (SELECT hash FROM audit WHERE seq = $((head_seq - 2)))"
check 0 "a tail cut with its checkpoints passes from the store alone (documented limit)" \
  "$RSPCTL" audit verify --db "$tmp/t.db" --pubkey "$pub"
line=$(grep '"event":"audit-checkpoint"' "$tmp/smdp.err" | tail -n1)
cseq=$(printf '%s' "$line" | sed -n 's/.*"seq":\([0-9]*\).*/\1/p')
chash=$(printf '%s' "$line" | sed -n 's/.*"hash":"\([0-9a-f]*\)".*/\1/p')
"$RSPCTL" audit verify --db "$tmp/t.db" --pubkey "$pub" --expect "$cseq:$chash" >"$tmp/out" 2>&1
[ $? -eq 1 ] && grep -q "^FAIL seq $cseq \[expected\]" "$tmp/out" &&
  echo "ok: ... but not against the checkpoint line of the log (--expect)" ||
  { echo "FAIL: --expect did not catch the cut"; cat "$tmp/out"; fail=1; }
check 0 "the untouched store still verifies" "$RSPCTL" audit verify --db "$db" --pubkey "$pub"

# ---- export, verify the archive with nothing else around, prune ----
check 1 "prune before any export is refused" "$RSPCTL" audit prune --db "$db" --through 4
grep -q "exported" "$tmp/err" || { echo "FAIL: prune refusal says why"; cat "$tmp/err"; fail=1; }
check 1 "export to a seq without a checkpoint is refused" "$RSPCTL" audit export --db "$db" --pubkey "$pub" --to 5 "$tmp/a.txt"
check 0 "export 1..4" "$RSPCTL" audit export --db "$db" --pubkey "$pub" --from 1 --to 4 "$tmp/a1.txt"
mkdir "$tmp/fresh"
cp "$tmp/a1.txt" "$tmp/fresh/archive.txt"
( cd "$tmp/fresh" && env -i PATH=/usr/bin:/bin "$RSPCTL" audit verify --archive archive.txt ) >"$tmp/out" 2>&1 &&
  grep -q "audit verify: OK" "$tmp/out" && echo "ok: the archive verifies alone in an empty directory" ||
  { echo "FAIL: archive verification"; cat "$tmp/out"; fail=1; }
grep -q "^#     rspctl audit verify --archive" "$tmp/a1.txt" || { echo "FAIL: the archive's README names the verifier"; fail=1; }
check 0 "archive with the published key" "$RSPCTL" audit verify --archive "$tmp/a1.txt" --pubkey "$pub"
grep -q "is one of them" "$tmp/out" || { echo "FAIL: key match not reported"; fail=1; }
sed 's/"seq":3,"at":\([0-9]*\)/"seq":3,"at":1\1/' "$tmp/a1.txt" > "$tmp/fresh/edited.txt"
check 1 "an edited archive fails" "$RSPCTL" audit verify --archive "$tmp/fresh/edited.txt"
grep -q "^FAIL seq 3 .*\[edited\]" "$tmp/out" || { echo "FAIL: edited archive finding"; cat "$tmp/out"; fail=1; }
head -n -1 "$tmp/a1.txt" > "$tmp/fresh/short.txt"
check 1 "an archive missing its last record fails" "$RSPCTL" audit verify --archive "$tmp/fresh/short.txt"
check 1 "prune at a seq without a checkpoint is refused" "$RSPCTL" audit prune --db "$db" --through 3
check 0 "prune through 4" "$RSPCTL" audit prune --db "$db" --through 4
grep -q "pruned 4 record" "$tmp/out" || { echo "FAIL: prune count"; cat "$tmp/out"; fail=1; }
[ "$(sqlite3 "$db" "SELECT count(*) FROM audit WHERE seq <= 4")" -eq 0 ] || { echo "FAIL: records remain"; fail=1; }
check 0 "the rest verifies after the prune" "$RSPCTL" audit verify --db "$db" --pubkey "$pub"
grep -q "follows seq 4" "$tmp/out" || { echo "FAIL: verify names the prune anchor"; cat "$tmp/out"; fail=1; }
check 0 "checkpoint the prune record" "$RSPCTL" audit checkpoint --db "$db" --key "$keys/audit.key.pem"
check 0 "export the rest" "$RSPCTL" audit export --db "$db" --key "$keys/audit.key.pem" "$tmp/a2.txt"
check 0 "the second archive verifies" "$RSPCTL" audit verify --archive "$tmp/a2.txt" --pubkey "$pub"
last1=$(tail -n1 "$tmp/a1.txt" | sed -n 's/.*"hash":"\([0-9a-f]*\)".*/\1/p')
grep -q "\"prev_hash\":\"$last1\"" "$tmp/a2.txt" || { echo "FAIL: the archives do not chain"; fail=1; }
tamper base "UPDATE audit_head SET base_seq = 5, base_hash = (SELECT hash FROM audit WHERE seq = 5); DELETE FROM audit WHERE seq = 5"
expect_fail "records removed without a recorded prune" 5 anchor
exit $fail
