#!/usr/bin/env bash
# Installs the Debian packages rspkit needs, only when some are missing (idempotent).
# Runs apt-get as root, or through sudo. Set RSP_NO_INSTALL=1 to only report what is missing.
set -euo pipefail

PKGS=(
  build-essential meson ninja-build pkg-config clang clang-format libclang-rt-14-dev
  libssl-dev openssl libcmocka-dev libjansson-dev sqlite3 jq
  pcscd libpcsclite-dev vsmartcard-vpcd
  libsqlite3-dev libmicrohttpd-dev libcurl4-openssl-dev curl
  libqrencode-dev libpng-dev zbar-tools
  libpq-dev postgresql
  libxml2-utils
  softhsm2 libp11-kit-dev
  chromium
  python3
  linux-perf
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: missing Debian packages: ${missing[*]}"
if [ "${RSP_NO_INSTALL:-0}" = 1 ]; then
  echo "deps: RSP_NO_INSTALL=1, not installing" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null; then
  SUDO=(sudo)
else
  echo "deps: not root and no sudo: install them by hand: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
