#!/usr/bin/env bash
# `make check`: every test of the project, from a clean clone.
#   1. clang-format check
#   2. build + unit tests (normal build), with a private PostgreSQL server (scripts/pg.sh)
#   3. build + unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (same server)
#   4. libFuzzer smoke run of every fuzz target (FUZZ_SMOKE_RUNS executions each)
# Ends with one line "N passed, N failed, N skipped" counting individual test cases.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SMOKE_RUNS=${FUZZ_SMOKE_RUNS:-20000}
JOBS=${JOBS:-$(nproc)}

status=0
step() { printf '\n=== %s ===\n' "$*"; }
fail() { echo "check: FAILED: $*"; status=1; }

step "format"
scripts/format.sh check || fail "clang-format (run 'make format')"

run_suite() { # build-dir [meson setup args...]
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >/dev/null || { fail "meson setup $dir"; return 1; }
  fi
  ninja -C "$dir" -j "$JOBS" || { fail "build $dir"; return 1; }
  meson test -C "$dir" --print-errorlogs --num-processes "$JOBS" || fail "tests in $dir"
}

# One private PostgreSQL server (scripts/pg.sh: initdb in a temporary directory, 127.0.0.1 on a
# free port) for the PostgreSQL tests of both builds; stopped and removed when this script ends.
step "PostgreSQL for the tests (scripts/pg.sh)"
if pg_dir=$(scripts/pg.sh start); then
  eval "$(scripts/pg.sh env "$pg_dir")"
  trap 'scripts/pg.sh stop "$pg_dir"' EXIT
else
  fail "cannot start PostgreSQL (scripts/pg.sh start): its tests will be skipped"
fi

step "unit tests (normal build: $BUILD)"
run_suite "$BUILD"

step "unit tests (ASan+UBSan build: $ASAN_BUILD)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
run_suite "$ASAN_BUILD" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

step "fuzz smoke ($FUZZ_SMOKE_RUNS runs per target)"
FUZZ_BUILD=$FUZZ_BUILD FUZZ_RUNS=$FUZZ_SMOKE_RUNS FUZZ_QUIET=1 scripts/fuzz.sh || fail "fuzz smoke"
fuzz_pass=0 fuzz_fail=0
if [ -f "$FUZZ_BUILD/fuzz-summary.txt" ]; then
  read -r fuzz_pass fuzz_fail < "$FUZZ_BUILD/fuzz-summary.txt"
fi

# Count test cases from the TAP output that meson logged for both builds.
count() { grep -hE "$1" "$BUILD/meson-logs/testlog.txt" "$ASAN_BUILD/meson-logs/testlog.txt" 2>/dev/null | wc -l; }
skipped=$(count '^ok [0-9]+ .*# (SKIP|skip)')
passed=$(( $(count '^ok [0-9]+') - skipped + fuzz_pass ))
failed=$(( $(count '^not ok [0-9]+') + fuzz_fail ))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo
echo "check: $passed passed, $failed failed, $skipped skipped"
exit $status
