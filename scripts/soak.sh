#!/usr/bin/env bash
# `make soak`: the long versions of the fault suites, with their figures in one report.
#   1. crash consistency (tests/e2e/crash.sh) on SQLite and on PostgreSQL (two processes):
#      SOAK_KILLS SIGKILLs each (default 1000) over a pool of SOAK_PROFILES orders (1500);
#   2. bad network (tests/e2e/badnet.sh): SOAK_DOWNLOADS downloads (default 400), 16 at a time,
#      800 ms each way, 30% of the connections dropped; >= 99% must complete;
#   3. hostile-input catalogue (tests/e2e/hostile.sh), SOAK_HOSTILE_ROUNDS times (default 5);
#   4. with SOAK_FUZZ=1, a libFuzzer campaign (scripts/fuzz-campaign.sh, FUZZ_RUNS per target,
#      default 10M; hours on two cores).
# The report (SOAK_REPORT, default soak-report.md) gets the machine, the commit, each suite's
# figures and its verdict; its path is printed at the end. Exit status 0 when every suite passed.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
REPORT=$(readlink -f "${SOAK_REPORT:-soak-report.md}")
KILLS=${SOAK_KILLS:-1000}
PROFILES=${SOAK_PROFILES:-1500}
DOWNLOADS=${SOAK_DOWNLOADS:-400}
ROUNDS=${SOAK_HOSTILE_ROUNDS:-5}
B=$(readlink -f "$BUILD")
RSPCTL=$B/src/bin/rspctl SMDP=$B/src/smdp/rsp-smdp LPA=$B/src/lpa/rsp-lpa IMPAIR=$B/src/ops/rsp-impair
for p in "$RSPCTL" "$SMDP" "$LPA" "$IMPAIR"; do
  [ -x "$p" ] || { echo "soak: $p missing (make build first)"; exit 1; }
done
status=0
{
  echo "# Soak report"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'),"
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))."
  echo "Command: \`make soak\` (scripts/soak.sh) with SOAK_KILLS=$KILLS SOAK_PROFILES=$PROFILES"
  echo "SOAK_DOWNLOADS=$DOWNLOADS SOAK_HOSTILE_ROUNDS=$ROUNDS SOAK_FUZZ=${SOAK_FUZZ:-0}."
  echo
} >"$REPORT"
verdict() { # name status seconds
  echo "**$1: $([ "$2" = 0 ] && echo PASS || echo "FAIL (exit $2)")** in $3 s." >>"$REPORT"
  echo >>"$REPORT"
  [ "$2" = 0 ] || status=1
  echo "soak: $1: $([ "$2" = 0 ] && echo PASS || echo FAIL) ($3 s)"
}
run() { # name command...: runs it with its output in a log next to the report
  local name=$1 t0 st=0
  shift
  t0=$(date +%s)
  "$@" >"$REPORT.$name.log" 2>&1 || st=$?
  verdict "$name" "$st" $(($(date +%s) - t0))
}

pg_dir=
if pg_dir=$(scripts/pg.sh start); then
  eval "$(scripts/pg.sh env "$pg_dir")"
  trap 'scripts/pg.sh stop "$pg_dir"' EXIT
else
  echo "soak: no PostgreSQL (scripts/pg.sh): the PostgreSQL crash run is skipped"
fi

echo "## Crash consistency" >>"$REPORT"
echo >>"$REPORT"
for backend in sqlite pg; do
  CRASH_KILLS=$KILLS CRASH_PROFILES=$PROFILES CRASH_REPORT=$REPORT \
    run "crash-$backend" tests/e2e/crash.sh "$RSPCTL" "$SMDP" "$LPA" "$backend"
done
echo "## Bad network" >>"$REPORT"
echo >>"$REPORT"
BADNET_DOWNLOADS=$DOWNLOADS BADNET_PARALLEL=16 BADNET_REPORT=$REPORT \
  run badnet tests/e2e/badnet.sh "$RSPCTL" "$SMDP" "$LPA" "$IMPAIR"
echo "## Hostile input" >>"$REPORT"
echo >>"$REPORT"
hostile_rounds() {
  local r
  for r in $(seq "$ROUNDS"); do
    echo "# round $r"
    tests/e2e/hostile.sh "$RSPCTL" "$SMDP" "$LPA" || return 1
  done
}
run hostile hostile_rounds
{
  echo "$ROUNDS rounds of $(grep -c '^ok ' "$REPORT.hostile.log") passed cases in all," \
    "$(grep -c '^not ok ' "$REPORT.hostile.log") failed (docs/HOSTILE.md lists the cases)."
  grep '^not ok ' "$REPORT.hostile.log" | sed 's/^/    /'
  echo
} >>"$REPORT"
if [ "${SOAK_FUZZ:-0}" = 1 ]; then
  echo "## Fuzzing" >>"$REPORT"
  echo >>"$REPORT"
  FUZZ_CAMPAIGN_OUT=$REPORT.fuzz.md run fuzz scripts/fuzz-campaign.sh
  cat "$REPORT.fuzz.md" >>"$REPORT"
  echo >>"$REPORT"
fi
echo "soak: report in $REPORT (logs: $REPORT.*.log)"
exit $status
