#!/usr/bin/env bash
# Proves the README's promise on a machine that has nothing the project did not install itself:
# debootstraps a minimal Debian 12 (bookworm) into a directory, clones this repository into it
# (with ../shared beside it when present), and runs `make check` (or the target given) inside a
# chroot. Needs root and access to a Debian mirror. Usage:
#   sudo scripts/fresh-machine-check.sh [TARGET] [ROOTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:-check}
ROOT=${2:-/var/tmp/rspkit-fresh}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine-check: needs root (debootstrap, chroot)" >&2; exit 2; }
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap

if [ ! -x "$ROOT/usr/bin/git" ]; then
  debootstrap --variant=minbase --include=git,make,ca-certificates bookworm "$ROOT" "$MIRROR"
fi
cleanup() { umount -R "$ROOT/dev" "$ROOT/sys" "$ROOT/proc" 2>/dev/null || true; }
trap cleanup EXIT
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
mountpoint -q "$ROOT/sys" || mount --rbind /sys "$ROOT/sys"
mountpoint -q "$ROOT/dev" || mount --rbind /dev "$ROOT/dev"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"

rm -rf "$ROOT/work/rspkit" "$ROOT/work/shared"
mkdir -p "$ROOT/work"
git clone -q "$PWD" "$ROOT/work/rspkit"
[ -d ../shared ] && cp -r ../shared "$ROOT/work/shared"
chroot "$ROOT" bash -c "cd /work/rspkit && CI=true make $TARGET"
