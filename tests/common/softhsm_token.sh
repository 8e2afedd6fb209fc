#!/usr/bin/env bash
# Test fixture: a SoftHSM2 token under DIR holding the given EC private keys (PKCS#8 PEM), each
# imported as a key pair (private + public object) with a label and a CKA_ID.
#
#   softhsm_token.sh DIR TOKEN_LABEL PIN KEY.pem=LABEL=HEXID [...]
#
# Writes DIR/softhsm2.conf (export SOFTHSM2_CONF=DIR/softhsm2.conf before using the token) and
# DIR/pin (the PIN, mode 0600, for pin-source=file:DIR/pin). Prints the module path. Exit 77 when
# SoftHSM2 is not installed (tests skip).
set -euo pipefail
dir=$1 token=$2 pin=$3
shift 3
module=/usr/lib/softhsm/libsofthsm2.so
if ! command -v softhsm2-util >/dev/null || [ ! -f "$module" ]; then
  echo "softhsm2 is not installed" >&2
  exit 77
fi
mkdir -p "$dir/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$dir" >"$dir/softhsm2.conf"
export SOFTHSM2_CONF=$dir/softhsm2.conf
(umask 077 && printf '%s\n' "$pin" >"$dir/pin")
softhsm2-util --init-token --free --label "$token" --pin "$pin" --so-pin "so-$pin" >/dev/null
for spec in "$@"; do
  IFS='=' read -r key label id <<<"$spec"
  softhsm2-util --import "$key" --token "$token" --label "$label" --id "$id" --pin "$pin" >/dev/null
done
echo "$module"
