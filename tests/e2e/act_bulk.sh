#!/usr/bin/env bash
# Bulk activation (bench-style, correctness asserted, timings printed as TAP comments only):
# 10,000 orders from one CSV; a bad line in a 10,001-line file imports nothing and is reported
# with its line number; the campaign bulk-released through the ES2+ logic; 10,000 tokens with
# QR codes (PNG + SVG) written; a sample of QR codes decoded (zbarimg) back to the token's LPA:
# URI; 7,500 pushes recorded; the funnel adds up exactly.
#
# The inventory (10,000 Available profiles) is written straight into the store's profiles table:
# signing 10,000 manifests is not what this test is about (tests/e2e/act_integrity.sh and the
# inventory tests cover the import path).
#
#   act_bulk.sh RSPCTL [N]
set -euo pipefail

RSPCTL=$(readlink -f "$1")
N=${2:-10000}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rsp-bulk.XXXXXX")
DB="$DIR/smdp.db"
HOST=smdp.example.com
n=0
ok() {
  n=$((n + 1))
  echo "ok $n - $*"
}
die() {
  echo "not ok - $*"
  exit 1
}
trap 'rm -rf "$DIR"' EXIT
t0=$(date +%s.%N)
lap() { # LABEL
  local t
  t=$(date +%s.%N)
  printf '# %s: %s s\n' "$1" "$(awk -v a="$t0" -v b="$t" 'BEGIN { printf "%.1f", b - a }')"
  t0=$t
}

"$RSPCTL" order list --db "$DB" >/dev/null # creates the schema
sqlite3 "$DB" "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $N)
  INSERT INTO profiles (iccid, imsi, profile_type, spn, name, class, owner, operator, package,
    state, state_since, created_at)
  SELECT printf('8949000001%09d', x), printf('00101%010d', x), 'bulk', 'bulk', 'bulk', 2,
    'bulk-op', 'bulk-op', X'00', 'Available', 0, 0 FROM c;"
lap "inventory ($N profiles)"

{
  echo "order_id,customer_ref,tariff_plan,campaign,country,profile_type,tac,device_model"
  for i in $(seq "$N"); do
    printf 'ORD-%06d,cust-%06d,plan-%d,bulk,DE,bulk,35%06d,"Model %d, rev B"\n' \
      "$i" "$i" $((i % 3)) $((i % 50)) $((i % 7))
  done
} >"$DIR/orders.csv"
cp "$DIR/orders.csv" "$DIR/bad.csv"
echo 'ORD-BAD,cust-x,plan,bulk,DE,bulk,123,"Model"' >>"$DIR/bad.csv" # TAC not 8 digits
if "$RSPCTL" order create --db "$DB" --csv "$DIR/bad.csv" 2>"$DIR/err"; then
  die "a file with a bad line was imported"
fi
grep -q "bad.csv:$((N + 2)): tac: 8 digits" "$DIR/err" || die "error report: $(cat "$DIR/err")"
[ "$("$RSPCTL" report funnel --db "$DB" --json | jq .total)" = 0 ] || die "bad file imported"
ok "a bad line (line $((N + 2))) is reported and nothing is imported"

"$RSPCTL" order create --db "$DB" --csv "$DIR/orders.csv" >"$DIR/out" || die "import"
grep -q "imported $N order(s)" "$DIR/out" || die "import: $(cat "$DIR/out")"
lap "import of $N CSV lines (one transaction)"
[ "$("$RSPCTL" report funnel --db "$DB" --json | jq '.current["pre-provisioned"]')" = "$N" ] ||
  die "not all pre-provisioned"
ok "$N orders imported in one transaction"

"$RSPCTL" campaign create bulk --db "$DB" --description "bulk test" >/dev/null
"$RSPCTL" campaign release bulk --db "$DB" --operator bulk-op >"$DIR/out" ||
  die "campaign release: $(cat "$DIR/out")"
grep -q "$N released, 0 refused" "$DIR/out" || die "release: $(cat "$DIR/out")"
lap "bulk release of $N orders (ES2+ DownloadOrder + ConfirmOrder each)"
ok "campaign released: $N profiles Released through ES2+"

"$RSPCTL" token issue --campaign bulk --db "$DB" --smdp-address "$HOST" --qr-dir "$DIR/qr" \
  >"$DIR/out" || die "token issue: $(cat "$DIR/out")"
lap "$N tokens with PNG and SVG QR codes"
[ "$(find "$DIR/qr" -name '*.png' | wc -l)" = "$N" ] || die "PNG count"
[ "$(find "$DIR/qr" -name '*.svg' | wc -l)" = "$N" ] || die "SVG count"
ok "$N tokens, $N PNG and $N SVG QR files"
for i in 1 $((N / 2)) "$N"; do
  id=$(printf 'ORD-%06d' "$i")
  mid=$("$RSPCTL" order show "$id" --db "$DB" --json | jq -r .matching_id)
  want=$("$RSPCTL" token show "$mid" --db "$DB" --json | jq -r .lpa_uri)
  got=$(zbarimg -q --raw "$DIR/qr/$id.png" 2>/dev/null)
  [ "$got" = "$want" ] || die "QR of $id decodes to '$got', token is '$want'"
  [[ "$want" == "LPA:1\$$HOST\$$mid" ]] || die "activation code $want"
done
ok "sample QR codes decode to the tokens' LPA: URIs"

pushes=$((N * 3 / 4))
{
  echo "order_id,channel,ref"
  for i in $(seq "$pushes"); do printf 'ORD-%06d,sms,msg-%d\n' "$i" "$i"; done
} >"$DIR/pushes.csv"
"$RSPCTL" push record --csv "$DIR/pushes.csv" --db "$DB" >"$DIR/out" ||
  die "push record: $(cat "$DIR/out")"
grep -q "^$pushes push(es) recorded, 0 refused" "$DIR/out" || die "pushes: $(cat "$DIR/out")"
lap "$pushes pushes (one transaction each)"
ok "$pushes pushes recorded"

f=$("$RSPCTL" report funnel --db "$DB" --campaign bulk --json)
echo "$f" | jq -e --argjson n "$N" --argjson p "$pushes" '
  .total == $n and ([.current[]] | add) == $n and .current.pushed == $p
  and .current["token-issued"] == ($n - $p) and .reached.released == $n
  and .reached["token-issued"] == $n and .reached.pushed == $p
  and .reached["pre-provisioned"] == $n' >/dev/null || die "funnel: $f"
csv_total=$("$RSPCTL" report funnel --db "$DB" --campaign bulk --csv |
  awk -F, '$1 != "stage" && $1 != "total" {s += $2} END {print s}')
[ "$csv_total" = "$N" ] || die "CSV funnel sums to $csv_total"
ok "funnel adds up: $N orders, $pushes pushed, $((N - pushes)) token-issued (JSON and CSV)"
echo "1..$n"
