#!/usr/bin/env bash
# rspctl qr: the PNG decodes (zbarimg, an independent decoder) to exactly the activation code,
# the SVG is a well-formed document of the same symbol, bad codes and usage errors are refused.
set -u
RSPCTL=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }

ac='LPA:1$smdp.example.test:8443$8BX6V-12QS8-9Q2XG-ZCK7P$$1'
out=$("$RSPCTL" qr --png "$tmp/a.png" --svg "$tmp/a.svg" "$ac") && ok "qr runs" || bad "qr runs"
lines=$(printf '%s\n' "$out" | wc -l)
[ "$lines" -ge 15 ] && ok "terminal rendering ($lines lines)" || bad "terminal rendering"
if command -v zbarimg >/dev/null; then
  got=$(zbarimg -q --raw "$tmp/a.png" 2>/dev/null)
  [ "$got" = "$ac" ] && ok "PNG decodes to the activation code" || bad "PNG decodes to '$got'"
else
  bad "zbarimg missing (scripts/deps.sh installs zbar-tools)"
fi
head -c 5 "$tmp/a.png" | od -An -tx1 | grep -q '89 50 4e 47 0d' && ok "PNG signature" || bad "PNG signature"
grep -q '^<svg ' "$tmp/a.svg" && grep -q '</svg>' "$tmp/a.svg" && ok "SVG document" || bad "SVG document"
# without the LPA: prefix the canonical form is encoded
"$RSPCTL" qr --no-terminal --png "$tmp/b.png" '1$smdp.example.test$ABC' >/dev/null &&
  [ "$(zbarimg -q --raw "$tmp/b.png" 2>/dev/null)" = 'LPA:1$smdp.example.test$ABC' ] &&
  ok "prefix added" || bad "prefix added"
"$RSPCTL" qr 'LPA:2$x$y' >/dev/null 2>&1; [ $? -eq 1 ] && ok "bad code refused (1)" || bad "bad code"
"$RSPCTL" qr >/dev/null 2>&1; [ $? -eq 2 ] && ok "usage error (2)" || bad "usage error"
"$RSPCTL" qr --module-px 0 "$ac" >/dev/null 2>&1; [ $? -eq 2 ] && ok "bad module size (2)" || bad "module size"
[ ! -e "$tmp/c.png" ] && ok "nothing written on error" || bad "file written on error"
echo "1..$n"
exit $fail
