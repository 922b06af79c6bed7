#!/usr/bin/env bash
# Builds the libFuzzer targets (tools/fuzz) with AddressSanitizer and runs each for a
# bounded time, starting from the seed corpus in tools/fuzz/corpus.
#
#   scripts/fuzz.sh                      every target, 60 s each
#   scripts/fuzz.sh -t 300 store         one target, 5 minutes
#   FUZZ_SECONDS=120 scripts/fuzz.sh     the same as -t 120
#   scripts/fuzz.sh --replay store FILE  run one input once (a crash prints its stack)
#
# Targets: documents (loaders, parsers, splitters), store (opening damaged stores).
# Inputs a run finds go to .build-fuzz/corpus/TARGET (kept between runs, not committed).
# A crash, a hang or an out-of-memory leaves its input in .build-fuzz/crashes/TARGET and
# the run exits 1. liblmdb asserts or faults on some damaged pages, which Quiver cannot
# prevent in-process: a store crash whose innermost frame of our code is in liblmdb is
# reported as LMDB's and kept in .build-fuzz/crashes/store-lmdb, without failing the run.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
replay=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    -t) seconds="$2"; shift 2 ;;
    --replay) replay=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done

scripts/setup.sh --model-optional
scratch=.build-fuzz
# Swift's own crash reporter would run inside the sanitizer's and garble its report.
export SWIFT_BACKTRACE=enable=no
# The same dictionary orders in every process, so that a replayed input runs the same way.
export SWIFT_DETERMINISTIC_HASHING=1
build() {
  # -use-ld=lld: gold fails on the instrumented objects ("internal error in format_file_lineno").
  swift build -c debug --scratch-path "$scratch" --product "quiver-fuzz-$1" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DQUIVER_LIBFUZZER -Xswiftc -use-ld=lld 2>&1 |
    grep -v "Cannot export local symbol\|warning: result of call to 'wait(until:)'\|#no-usage\]" >&2 || true
  [ -x "$scratch/debug/quiver-fuzz-$1" ]
}

# Which code a crash report blames: "lmdb" when the innermost frame outside the
# sanitizer, libFuzzer and libc runtime is in liblmdb (or an mdb.c assertion), else "quiver".
blame() {
  if grep -q "mdb\.c:[0-9]*: .*Assertion" "$1"; then echo lmdb; return; fi
  local frame
  frame=$(grep -E '^ +#[0-9]+ 0x' "$1" | grep -v -E 'libclang_rt|compiler-rt|sanitizer_common|libc\.so|nptl/|sysdeps/|stdlib/|assert/|__sanitizer|__asan|fuzzer::|quiver-fuzz-[a-z]+\+0x' | head -1)
  case "$frame" in
    *liblmdb*|*mdb_*) echo lmdb ;;
    *) echo quiver ;;
  esac
}

if [ "$replay" = 1 ]; then
  [ ${#targets[@]} -ge 2 ] || { echo "usage: scripts/fuzz.sh --replay TARGET FILE…" >&2; exit 2; }
  build "${targets[0]}"
  exec "$scratch/debug/quiver-fuzz-${targets[0]}" "${targets[@]:1}"
fi
[ ${#targets[@]} -gt 0 ] || targets=(documents store)

failed=0
for t in "${targets[@]}"; do
  [ -d "tools/fuzz/corpus/$t" ] || { echo "fuzz: no target $t (documents, store)" >&2; exit 2; }
  build "$t"
  corpus="$scratch/corpus/$t"
  crashes="$scratch/crashes/$t"
  mkdir -p "$corpus" "$crashes" "$scratch/crashes/$t-lmdb" "$scratch/logs"
  log="$scratch/logs/$t.log"
  echo "fuzz: $t for ${seconds}s (log: $log)" >&2
  # -fork keeps going after a crash (LMDB's are expected on damaged stores); every crash
  # input is written to $crashes and triaged below.
  set +e
  "$scratch/debug/quiver-fuzz-$t" "$corpus" "tools/fuzz/corpus/$t" \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -max_total_time="$seconds" \
    -timeout=20 -rss_limit_mb=4096 -max_len=4096 -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1
  set -e
  grep -E '^#[0-9]+' "$log" | tail -1 | sed "s/^/fuzz: $t: /" >&2 || true
  for input in "$crashes"/*; do
    case "$input" in *.txt) continue ;; esac
    [ -f "$input" ] || continue
    report="$input.txt"
    [ -f "$report" ] && continue  # triaged by an earlier run
    "$scratch/debug/quiver-fuzz-$t" -timeout=20 -rss_limit_mb=4096 "$input" >"$report" 2>&1 || true
    if [ "$t" = store ] && [ "$(blame "$report")" = lmdb ]; then
      mv "$input" "$report" "$scratch/crashes/$t-lmdb/"
      echo "fuzz: $t: a crash inside liblmdb (kept in $scratch/crashes/$t-lmdb/$(basename "$input"))" >&2
    else
      echo "fuzz: $t: CRASH in Quiver: $input (report: $report)" >&2
      grep -m1 -E 'ERROR: |Fatal error|ALARM|out-of-memory' "$report" | sed 's/^/fuzz:   /' >&2 || true
      failed=1
    fi
  done
done
exit "$failed"
