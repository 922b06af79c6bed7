#!/usr/bin/env bash
# Runs the whole test suite under ThreadSanitizer and under AddressSanitizer, each in its
# own scratch folder (.build-tsan, .build-asan), and prints how long each took. Like
# scripts/test.sh, the isolated tests (scripts/isolated-tests) run after the rest, one at
# a time.
#
#   scripts/sanitize.sh              both
#   scripts/sanitize.sh thread       ThreadSanitizer only (CI runs it over some suites: test.sh)
#   scripts/sanitize.sh address      AddressSanitizer (and LeakSanitizer) only
#
# Findings in dependencies or the toolchain are suppressed narrowly, with the reason, in
# tools/sanitizers/*.supp; anything else fails the run. Extra arguments after `--` go to
# `swift test` (e.g. `-- --filter ConcurrencyTests`).
set -euo pipefail
cd "$(dirname "$0")/.."

kinds=()
test_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    thread|address) kinds+=("$1"); shift ;;
    --) shift; test_args=("$@"); break ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "sanitize: unknown argument $1 (thread, address, -- TEST ARGS)" >&2; exit 2 ;;
  esac
done
[ ${#kinds[@]} -gt 0 ] || kinds=(thread address)

scripts/setup.sh
supp="$PWD/tools/sanitizers"
# Swift's own crash reporter would run inside the sanitizer's report and garble it.
export SWIFT_BACKTRACE=enable=no
# Subprocesses (the built `quiver` that CommandLineTests run) inherit these options.
export TSAN_OPTIONS="suppressions=$supp/tsan.supp halt_on_error=0 second_deadlock_stack=1 history_size=4"
export ASAN_OPTIONS="detect_leaks=1 check_initialization_order=1 strict_init_order=1 detect_stack_use_after_return=0"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp print_suppressions=0"
# Deadlock guards in the tests wait this many times longer (everything runs 5-15x slower).
export QUIVER_TEST_TIME_SCALE="${QUIVER_TEST_TIME_SCALE:-10}"

summary=()
for kind in "${kinds[@]}"; do
  scratch=.build-asan
  [ "$kind" = thread ] && scratch=.build-tsan
  export QUIVER_SANITIZER="$kind"  # tests that cannot run under a sanitizer skip themselves
  # Every process's reports go to files (report.PID): a child's (the `quiver` that the
  # CommandLineTests run) would otherwise land in the stderr the test captured, unseen.
  reports="$PWD/$scratch/sanitizer-reports"
  rm -rf "$reports" && mkdir -p "$reports"
  export TSAN_OPTIONS="${TSAN_OPTIONS%% log_path=*} log_path=$reports/report"
  export ASAN_OPTIONS="${ASAN_OPTIONS%% log_path=*} log_path=$reports/report"
  start=$(date +%s)
  echo "sanitize: building with --sanitize=$kind in $scratch" >&2
  swift build --build-tests --sanitize="$kind" --scratch-path "$scratch"
  built=$(date +%s)
  echo "sanitize: testing with --sanitize=$kind" >&2
  status=0
  if [ ${#test_args[@]} -gt 0 ]; then
    swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" "${test_args[@]}" || status=$?
  else
    # The whole suite as scripts/test.sh runs it: in one process without the isolated
    # tests, then those one at a time (beside the rest they starve for threads, the more
    # so under a sanitizer).
    QUIVER_ISOLATED_TESTS=skip swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" || status=$?
    swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" --no-parallel --filter "$(scripts/isolated-tests.sh)" \
      || status=$?
  fi
  done_at=$(date +%s)
  found=$(find "$reports" -type f -size +0 | sort)
  if [ -n "$found" ]; then
    for f in $found; do echo "sanitize: $f" >&2; cat "$f" >&2; done
    [ "$status" -ne 0 ] || status=1
  fi
  summary+=("$kind: build $((built - start)) s, tests $((done_at - built)) s, exit $status, $(echo "$found" | grep -c . || true) report files")
  if [ "$status" -ne 0 ]; then
    printf 'sanitize: %s\n' "${summary[@]}" >&2
    exit "$status"
  fi
done
printf 'sanitize: %s\n' "${summary[@]}" >&2
