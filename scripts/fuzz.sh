#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for FUZZ_RUNS executions over its seed
# corpus (fuzz/corpus/<name>, read-only) plus a working corpus in the build directory.
# `make fuzz` (1M runs per target) writes fuzz/RESULTS.md; `make check` runs a short smoke.
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_RUNS=${FUZZ_RUNS:-1000000}
QUIET=${FUZZ_QUIET:-0}
# Smoke runs (make check) also stop after FUZZ_SMOKE_SECONDS per target: a slow target (the
# whole eUICC per input) must not dominate the check; campaigns (make fuzz) run to FUZZ_RUNS.
time_limit=()
[ "$QUIET" = 1 ] && time_limit=(-max_total_time="${FUZZ_SMOKE_SECONDS:-15}")

if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
  CC=clang meson setup "$FUZZ_BUILD" -Dfuzz=true -Dtests=false -Dbuildtype=debugoptimized \
    -Db_lundef=false >/dev/null || exit 1
fi
ninja -C "$FUZZ_BUILD" || exit 1

pass=0 fail=0
results=()
for bin in "$FUZZ_BUILD"/fuzz/fuzz_*; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  name=${bin##*/fuzz_}
  work="$FUZZ_BUILD/corpus/$name"
  mkdir -p "$work"
  seeds=()
  [ -d "fuzz/corpus/$name" ] && seeds=("fuzz/corpus/$name")
  log="$FUZZ_BUILD/fuzz-$name.log"
  start=$(date +%s)
  if "$bin" -runs="$FUZZ_RUNS" "${time_limit[@]}" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$FUZZ_BUILD/" -print_final_stats=1 "$work" "${seeds[@]}" >"$log" 2>&1; then
    pass=$((pass + 1)); verdict=clean
  else
    fail=$((fail + 1)); verdict=FAILED
    tail -n 40 "$log"
  fi
  secs=$(( $(date +%s) - start ))
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | grep -oE '[0-9]+')
  echo "fuzz_$name: $verdict, ${execs:-?} executions in ${secs}s, coverage ${cov:-?} edges"
  results+=("| fuzz_$name | $verdict | ${execs:-?} | ${secs} | ${cov:-?} |")
done
echo "$pass $fail" > "$FUZZ_BUILD/fuzz-summary.txt"

if [ "$QUIET" != 1 ]; then
  {
    echo "# Fuzzing results"
    echo
    echo "Produced by \`make fuzz\` (\`FUZZ_RUNS=$FUZZ_RUNS scripts/fuzz.sh\`) on $(date -u +%Y-%m-%d),"
    echo "$(nproc) cores, $(clang --version | head -n1)."
    echo
    echo "| target | result | executions | seconds | edges covered |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${results[@]}"
  } > fuzz/RESULTS.md
  echo "wrote fuzz/RESULTS.md"
fi
[ "$fail" -eq 0 ]
