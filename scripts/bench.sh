#!/usr/bin/env bash
# `make bench`: runs the benchmarks and rewrites BENCHMARKS.md with the machine, the commands and
# the numbers. Timings are CPU time of the benchmark process (clock_gettime PROCESS_CPUTIME_ID).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ITERS=${BENCH_ITERS:-2000}
AUDIT_RECORDS=${BENCH_AUDIT_RECORDS:-20000}
RECON_PROFILES=${BENCH_RECON_PROFILES:-50000}
ninja -C "$BUILD" bench/bench_crypto bench/bench_audit >/dev/null
ninja -C "$BUILD" bench/bench_recon >/dev/null
crypto=$("$BUILD/bench/bench_crypto" "$ITERS")
audit=$("$BUILD/bench/bench_audit" "$AUDIT_RECORDS")
recon=$("$BUILD/bench/bench_recon" "$RECON_PROFILES")
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
  echo
  echo "## Reconciliation"
  echo
  echo "Command: \`$BUILD/bench/bench_recon $RECON_PROFILES\` (bench/recon_gen.c: discrepancies of every"
  echo "kind planted; the run fails unless the findings equal the planted count). Wall time. The"
  echo "store rows use a SQLite file in /tmp; the profiles are written straight into the table"
  echo "(setup), the events through rsp_store_recon_import; the store path has no order tariffs,"
  echo "so tariff mismatches are not counted there."
  echo
  echo "$recon"
} > BENCHMARKS.md
cat BENCHMARKS.md
