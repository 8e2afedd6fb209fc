#!/usr/bin/env bash
# A long libFuzzer campaign, one target at a time (`make soak SOAK_FUZZ=1`, or by hand):
#   scripts/fuzz-campaign.sh [TARGET...]      default: every fuzz_* in FUZZ_BUILD
# Each target runs FUZZ_RUNS executions (default 10M) under `nice -n 10` with the flags of
# scripts/fuzz.sh, over its committed corpus (fuzz/corpus/<name>) plus a working corpus; then the
# inputs of the working corpus that reach new coverage are added to fuzz/corpus/<name> with
# -merge=1 (FUZZ_MERGE=0 keeps the committed corpus as it is). One line per target is appended to FUZZ_CAMPAIGN_OUT (default
# FUZZ_BUILD/campaign.md): command, result, executions, seconds, edges, corpus size.
# FUZZ_DEADLINE (a date(1) time, e.g. 07:40 UTC): no target runs past it (-max_total_time); a target
# cut short says so in the result column ("clean, stopped at the deadline") and its executions
# are those it reached.
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_RUNS=${FUZZ_RUNS:-10000000}
FUZZ_MERGE=${FUZZ_MERGE:-1}
OUT=${FUZZ_CAMPAIGN_OUT:-$FUZZ_BUILD/campaign.md}

if [ ! -f "$FUZZ_BUILD/build.ninja" ]; then
  CC=clang meson setup "$FUZZ_BUILD" -Dfuzz=true -Dtests=false -Dbuildtype=debugoptimized \
    -Db_lundef=false >/dev/null || exit 1
fi
nice -n 10 ninja -C "$FUZZ_BUILD" >/dev/null || exit 1

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for bin in "$FUZZ_BUILD"/fuzz/fuzz_*; do
    [ -f "$bin" ] && [ -x "$bin" ] && targets+=("${bin##*/fuzz_}")
  done
fi
[ -s "$OUT" ] || {
  echo "| target | result | executions | seconds | exec/s | edges | corpus files | command |"
  echo "|---|---|---|---|---|---|---|---|"
} >"$OUT"

deadline=
if [ -n "${FUZZ_DEADLINE:-}" ]; then
  deadline=$(date -d "$FUZZ_DEADLINE" +%s) || exit 1
fi

status=0
for name in "${targets[@]}"; do
  name=${name#fuzz_}
  bin="$FUZZ_BUILD/fuzz/fuzz_$name"
  [ -x "$bin" ] || { echo "fuzz-campaign: no $bin"; status=1; continue; }
  work="$FUZZ_BUILD/campaign/$name"
  mkdir -p "$work" "fuzz/corpus/$name"
  log="$FUZZ_BUILD/campaign-$name.log"
  limit=()
  if [ -n "$deadline" ]; then
    left=$((deadline - $(date +%s)))
    if [ "$left" -le 0 ]; then
      echo "fuzz-campaign: deadline passed, fuzz_$name not run"
      continue
    fi
    limit=(-max_total_time="$left")
  fi
  cmd=(nice -n 10 "$bin" -runs="$FUZZ_RUNS" "${limit[@]}" -max_len=8192 -timeout=10
    -rss_limit_mb=2048 -artifact_prefix="$FUZZ_BUILD/" -print_final_stats=1 "$work"
    "fuzz/corpus/$name")
  start=$(date +%s)
  if ASAN_OPTIONS=malloc_context_size=0 "${cmd[@]}" >"$log" 2>&1; then verdict=clean; else
    verdict=FAILED
    status=1
    tail -n 40 "$log"
  fi
  secs=$(($(date +%s) - start))
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n1 | grep -oE '[0-9]+')
  if [ "$verdict" = clean ] && [ "${execs:-0}" -lt "$FUZZ_RUNS" ]; then
    verdict="clean, stopped at the deadline"
  fi
  if [ "$FUZZ_MERGE" = 1 ] && [ "$verdict" != FAILED ]; then
    # adds to the committed corpus only the inputs of the working corpus that reach new coverage
    nice -n 10 "$bin" -merge=1 -max_len=8192 -timeout=10 -rss_limit_mb=2048 "fuzz/corpus/$name" \
      "$work" >"$log.merge" 2>&1 || echo "fuzz-campaign: merge of fuzz_$name failed (see $log.merge)"
  fi
  files=$(find "fuzz/corpus/$name" -type f | wc -l)
  rate=$(( ${execs:-0} / (secs > 0 ? secs : 1) ))
  line="| fuzz_$name | $verdict | ${execs:-?} | $secs | $rate | ${cov:-?} | $files | \`${cmd[*]}\` |"
  echo "$line" >>"$OUT"
  echo "fuzz-campaign: fuzz_$name: $verdict, ${execs:-?} executions in ${secs}s, ${cov:-?} edges"
done
echo "fuzz-campaign: results in $OUT"
exit $status
