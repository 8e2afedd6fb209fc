#!/usr/bin/env bash
# `make bench`: runs the benchmarks and rewrites BENCHMARKS.md with the machine, the commands and
# the numbers. Timings are CPU time of the benchmark process (clock_gettime PROCESS_CPUTIME_ID).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ITERS=${BENCH_ITERS:-2000}
AUDIT_RECORDS=${BENCH_AUDIT_RECORDS:-20000}
ninja -C "$BUILD" bench/bench_crypto bench/bench_audit >/dev/null
crypto=$("$BUILD/bench/bench_crypto" "$ITERS")
audit=$("$BUILD/bench/bench_audit" "$AUDIT_RECORDS")
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
{
  echo "# Benchmarks"
  echo
  echo "Regenerate with \`make bench\` (\`scripts/bench.sh\`). Last run: $(date -u +%Y-%m-%d) on"
  echo "$cpu, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(openssl version)."
  echo
  echo "## Crypto floor"
  echo
  echo "Command: \`$BUILD/bench/bench_crypto $ITERS\` ($ITERS operations each, CPU time per operation)."
  echo "The floor of one download at the SM-DP+ is 3 ECDSA signs + 5 ECDSA verifies + 1 key"
  echo "generation + 1 ECDH on the curve of the session; the server's CPU time per download is"
  echo "compared against it once the SM-DP+ load generator exists."
  echo
  echo "$crypto"
  echo
  echo "## Audit trail"
  echo
  echo "Command: \`$BUILD/bench/bench_audit $AUDIT_RECORDS\` (docs/AUDIT.md). Sealing is CPU time; the"
  echo "store, verification and archive rows are wall time on a SQLite file in /tmp (WAL,"
  echo "synchronous=NORMAL), so they depend on the disk and on other load."
  echo
  echo "$audit"
} > BENCHMARKS.md
cat BENCHMARKS.md
