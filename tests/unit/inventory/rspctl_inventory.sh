#!/usr/bin/env bash
# rspctl manifest / profiles end to end: generate -> sign -> verify -> import -> list, a directory
# of 50 generated profiles with planted bad ones, a CSV batch, re-import, and the exit codes of
# refusals (1) and usage errors (2).
#   rspctl_inventory.sh RSPCTL
set -uo pipefail
RSPCTL=${1:?usage: rspctl_inventory.sh RSPCTL}
command -v openssl >/dev/null || { echo "openssl command absent: skipping"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # expected-status description command...
  local want=$1 what=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local st=$?
  if [ "$st" -eq "$want" ]; then echo "ok: $what"; else echo "FAIL: $what: status $st, want $want"; cat "$tmp/err"; fail=1; fi
}
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/op.key" 2>/dev/null
openssl ec -in "$tmp/op.key" -pubout -out "$tmp/op.pub" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/evil.key" 2>/dev/null
db="$tmp/smdp.sqlite"

# usage errors
check 2 "manifest without subcommand" "$RSPCTL" manifest
check 2 "sign without --key" "$RSPCTL" manifest sign --operator op1 --package x -o y
check 2 "import with two sources" "$RSPCTL" profiles import --db "$db" --operator-cert "$tmp/op.pub" --dir "$tmp" --csv x
check 2 "list with a bad state" "$RSPCTL" profiles list --db "$db" --state Nope
check 2 "generate with a bad ICCID" "$RSPCTL" profiles generate --iccid 12 --imsi 001010000000001 -o "$tmp/x.der"
check 2 "sign with a bad class" "$RSPCTL" manifest sign --key "$tmp/op.key" --operator op1 --package x --class gold -o y

# one profile
check 0 "generate" "$RSPCTL" profiles generate --iccid 8999000000000000001 --imsi 001010000000001 --spn rspkit -o "$tmp/one.der"
check 0 "sign" "$RSPCTL" manifest sign --key "$tmp/op.key" --operator op1 --package "$tmp/one.der" --name "One" --class test --owner 00101 -o "$tmp/one.manifest"
grep -q '"iccid":"8999000000000000001"' "$tmp/out" || { echo "FAIL: sign prints the manifest"; fail=1; }
grep -q "PRIVATE" "$tmp/out" "$tmp/err" && { echo "FAIL: private key printed"; fail=1; }
check 0 "verify" "$RSPCTL" manifest verify --pubkey "$tmp/op.pub" --package "$tmp/one.der" "$tmp/one.manifest"
check 1 "verify with another key" "$RSPCTL" manifest verify --pubkey <(openssl ec -in "$tmp/evil.key" -pubout 2>/dev/null) --package "$tmp/one.der" "$tmp/one.manifest"
grep -q "signature" "$tmp/err" || { echo "FAIL: wrong key refusal names the signature"; fail=1; }
check 1 "verify with another operator id" "$RSPCTL" manifest verify --pubkey "$tmp/op.pub" --operator op2 --package "$tmp/one.der" "$tmp/one.manifest"
cp "$tmp/one.der" "$tmp/bad.der"
printf '\x55' | dd of="$tmp/bad.der" bs=1 seek=200 conv=notrunc 2>/dev/null
check 1 "verify a tampered package" "$RSPCTL" manifest verify --pubkey "$tmp/op.pub" --package "$tmp/bad.der" "$tmp/one.manifest"
grep -q "digest" "$tmp/err" || { echo "FAIL: tampered package refusal names the digest"; fail=1; }
check 0 "import one" "$RSPCTL" profiles import --db "$db" --operator-cert "$tmp/op.pub" --package "$tmp/one.der" --manifest "$tmp/one.manifest"
check 0 "re-import one (no-op)" "$RSPCTL" profiles import --db "$db" --operator-cert "$tmp/op.pub" --package "$tmp/one.der" --manifest "$tmp/one.manifest"
grep -q "0 imported, 1 already present, 0 refused" "$tmp/out" || { echo "FAIL: re-import is a no-op"; fail=1; }
check 0 "list" "$RSPCTL" profiles list --db "$db" --state Available --json
grep -q '"iccid":"8999000000000000001","imsi":"001010000000001","state":"Available"' "$tmp/out" || { echo "FAIL: list --json"; cat "$tmp/out"; fail=1; }

# a directory of 50, four planted bad ones
mkdir "$tmp/batch"
for i in $(seq 100 149); do
  n=$(printf '%07d' "$i")
  "$RSPCTL" profiles generate --iccid "899900000000$n" --imsi "00101000$n" -o "$tmp/batch/p$i.der" || fail=1
  "$RSPCTL" manifest sign --key "$tmp/op.key" --operator op1 --package "$tmp/batch/p$i.der" -o "$tmp/batch/p$i.manifest" >/dev/null || fail=1
done
"$RSPCTL" manifest sign --key "$tmp/evil.key" --operator op1 --package "$tmp/batch/p110.der" -o "$tmp/batch/p110.manifest" >/dev/null
printf '\x01' | dd of="$tmp/batch/p120.der" bs=1 seek=100 conv=notrunc 2>/dev/null
cp "$tmp/batch/p131.manifest" "$tmp/batch/p130.manifest"
rm "$tmp/batch/p140.manifest"
check 1 "import a directory with bad ones" "$RSPCTL" profiles import --db "$db" --operator-cert "$tmp/op.pub" --dir "$tmp/batch" --store-packages-in "$tmp/pkgs"
grep -q "46 imported, 0 already present, 4 refused" "$tmp/out" || { echo "FAIL: batch counts"; cat "$tmp/out"; fail=1; }
for b in p110 p120 p130 p140; do
  grep -q "REFUSED $b.der" "$tmp/err" || { echo "FAIL: $b not reported"; fail=1; }
done
[ "$(ls "$tmp/pkgs" | wc -l)" -eq 46 ] || { echo "FAIL: stored packages"; fail=1; }
[ "$("$RSPCTL" profiles list --db "$db" --state Available | wc -l)" -eq 47 ] || { echo "FAIL: 47 Available"; fail=1; }
check 1 "re-import the directory" "$RSPCTL" profiles import --db "$db" --operator-cert "$tmp/op.pub" --dir "$tmp/batch"
grep -q "0 imported, 46 already present, 4 refused" "$tmp/out" || { echo "FAIL: directory re-import"; cat "$tmp/out"; fail=1; }
if command -v sqlite3 >/dev/null; then
  [ "$(sqlite3 "$db" "SELECT count(*) FROM audit WHERE to_state='Available'")" -eq 47 ] || { echo "FAIL: audit Available rows"; fail=1; }
  [ "$(sqlite3 "$db" "SELECT count(*) FROM audit WHERE entity='import' AND to_state='Refused'")" -eq 8 ] || { echo "FAIL: audit Refused rows"; fail=1; }
fi

# CSV: the one fixed profile plus a different manifest for an existing ICCID
"$RSPCTL" manifest sign --key "$tmp/op.key" --operator op1 --package "$tmp/batch/p100.der" --name renamed -o "$tmp/batch/p100b.manifest" >/dev/null
printf 'package,manifest\nbatch/p130.der,batch/p130b.manifest\nbatch/p100.der,batch/p100b.manifest\n' > "$tmp/list.csv"
"$RSPCTL" manifest sign --key "$tmp/op.key" --operator op1 --package "$tmp/batch/p130.der" -o "$tmp/batch/p130b.manifest" >/dev/null
check 1 "CSV import with a conflicting manifest" "$RSPCTL" profiles import --db "$db" --operator-cert "$tmp/op.pub" --csv "$tmp/list.csv"
grep -q "1 imported, 0 already present, 1 refused" "$tmp/out" || { echo "FAIL: CSV counts"; cat "$tmp/out"; fail=1; }
grep -q "another manifest" "$tmp/err" || { echo "FAIL: conflict reported"; fail=1; }

# batch manifest: 20 packages, one signature (docs/MANIFEST.md)
mkdir "$tmp/bm" "$tmp/bmi"
for i in $(seq 200 219); do
  n=$(printf '%07d' "$i")
  "$RSPCTL" profiles generate --iccid "899900000000$n" --imsi "00101000$n" -o "$tmp/bm/p$i.der" || fail=1
done
check 2 "batch sign without packages" "$RSPCTL" manifest sign --batch --key "$tmp/op.key" --operator op1 -o "$tmp/x.bm"
check 2 "batch sign with --package" "$RSPCTL" manifest sign --batch --key "$tmp/op.key" --operator op1 --package "$tmp/bm/p200.der" -o "$tmp/x.bm"
check 2 "batch sign naming one package twice" "$RSPCTL" manifest sign --batch --key "$tmp/op.key" --operator op1 -o "$tmp/x.bm" "$tmp/bm/p200.der" "$tmp/bm/p200.der"
check 0 "batch sign" "$RSPCTL" manifest sign --batch --key "$tmp/op.key" --operator op1 --owner 00101 --class test -o "$tmp/b.bm" --dir "$tmp/bm"
grep -q '"entries":20' "$tmp/out" || { echo "FAIL: batch sign prints its entries"; fail=1; }
check 0 "batch verify with packages" "$RSPCTL" manifest verify --batch --pubkey "$tmp/op.pub" --operator op1 "$tmp/b.bm" "$tmp/bm/p200.der" "$tmp/bm/p219.der"
check 1 "batch verify with another key" "$RSPCTL" manifest verify --batch --pubkey <(openssl ec -in "$tmp/evil.key" -pubout 2>/dev/null) "$tmp/b.bm"
grep -q "signature" "$tmp/err" || { echo "FAIL: batch wrong key refusal names the signature"; fail=1; }
check 1 "batch verify: a package it does not name" "$RSPCTL" manifest verify --batch --pubkey "$tmp/op.pub" "$tmp/b.bm" "$tmp/batch/p101.der"
grep -q "iccid" "$tmp/err" || { echo "FAIL: stray package refusal names the iccid"; fail=1; }
head -c 100 "$tmp/b.bm" > "$tmp/cut.bm"
check 1 "batch verify a truncated batch" "$RSPCTL" manifest verify --batch --pubkey "$tmp/op.pub" "$tmp/cut.bm"
cp "$tmp"/bm/*.der "$tmp/bmi/"
printf '\x01' | dd of="$tmp/bmi/p205.der" bs=1 seek=100 conv=notrunc 2>/dev/null
cp "$tmp/batch/p101.der" "$tmp/bmi/p101.der"
"$RSPCTL" manifest sign --batch --key "$tmp/evil.key" --operator op1 -o "$tmp/evil.bm" --dir "$tmp/bm" >/dev/null || fail=1
check 1 "import with a batch signed by another key" "$RSPCTL" profiles import --db "$db" --operator-cert "$tmp/op.pub" --batch-manifest "$tmp/evil.bm" --dir "$tmp/bmi"
grep -q "nothing imported" "$tmp/err" || { echo "FAIL: bad batch signature imports nothing"; fail=1; }
check 2 "import with a batch and a CSV" "$RSPCTL" profiles import --db "$db" --operator-cert "$tmp/op.pub" --batch-manifest "$tmp/b.bm" --csv "$tmp/list.csv"
check 1 "import with a batch manifest" "$RSPCTL" profiles import --db "$db" --operator-cert "$tmp/op.pub" --operator op1 --batch-manifest "$tmp/b.bm" --dir "$tmp/bmi"
grep -q "19 imported, 0 already present, 2 refused" "$tmp/out" || { echo "FAIL: batch import counts"; cat "$tmp/out" "$tmp/err"; fail=1; }
grep -q "REFUSED p205.der: digest" "$tmp/err" || { echo "FAIL: tampered package in a batch"; cat "$tmp/err"; fail=1; }
grep -q "REFUSED p101.der: iccid" "$tmp/err" || { echo "FAIL: package outside the batch"; cat "$tmp/err"; fail=1; }
check 1 "re-import with the batch manifest" "$RSPCTL" profiles import --db "$db" --operator-cert "$tmp/op.pub" --batch-manifest "$tmp/b.bm" --dir "$tmp/bmi"
grep -q "0 imported, 19 already present, 2 refused" "$tmp/out" || { echo "FAIL: batch re-import"; cat "$tmp/out"; fail=1; }
"$RSPCTL" manifest sign --batch --key "$tmp/op.key" --operator op1 --name renamed -o "$tmp/b2.bm" --dir "$tmp/bm" >/dev/null || fail=1
check 1 "import with another batch for the same ICCIDs" "$RSPCTL" profiles import --db "$db" --operator-cert "$tmp/op.pub" --batch-manifest "$tmp/b2.bm" --dir "$tmp/bm"
# p205 was refused above (its copy was tampered with): this intact one enters with the new batch
grep -q "1 imported, 0 already present, 19 refused" "$tmp/out" || { echo "FAIL: another batch refused"; cat "$tmp/out"; fail=1; }
if command -v sqlite3 >/dev/null; then
  [ "$(sqlite3 "$db" "SELECT count(*) FROM manifest_batches")" -eq 2 ] || { echo "FAIL: two batches stored"; fail=1; }
  [ "$(sqlite3 "$db" "SELECT count(*) FROM audit WHERE to_state='Available' AND key LIKE '89990000000000002%'")" -eq 20 ] || { echo "FAIL: audit rows of the batch"; fail=1; }
fi
check 0 "audit chain after the batch imports" "$RSPCTL" audit verify --db "$db" --chain-only

exit $fail
