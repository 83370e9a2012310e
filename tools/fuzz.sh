#!/usr/bin/env bash
# Fuzzes every file loader with libFuzzer: builds tests/fuzz/fuzz_<loader>.cpp with clang
# under ASan + UBSan (CPU only) in build-fuzz, runs each target for a budget from its seed
# corpus (tests/fuzz/corpus/<loader>/) and prints executions, exec/s and coverage.
# Usage: tools/fuzz.sh [SECONDS [LOADER...]]    e.g. tools/fuzz.sh 300 npy idx
#   RSNN_FUZZ_DIR   build folder (default build-fuzz); RSNN_BUILD_JOBS  parallel compiles
#   RSNN_FUZZ_SEED  libFuzzer's -seed (default 0: a new random seed each run). tools/test.sh
#                   fixes it so that CI explores the same inputs on every run.
# Inputs that grow coverage go to <build>/fuzz-corpus/<loader>/ (the committed seeds stay as
# they are); a crash, timeout or out-of-memory input goes to <build>/fuzz-crashes/<loader>/
# and makes the script exit 1. Save such an input under tests/fuzz/regressions/<loader>/ so
# that ctest replays it (fuzz_replay.<loader>).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-${RSNN_FUZZ_SECONDS:-60}}
shift || true
build=${RSNN_FUZZ_DIR:-build-fuzz}

command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (tools/setup.sh installs it)" >&2; exit 1; }
loaders=("$@")
if ((${#loaders[@]} == 0)); then
  for f in tests/fuzz/fuzz_*.cpp; do n=$(basename "$f" .cpp); loaders+=("${n#fuzz_}"); done
fi
targets=()
for l in "${loaders[@]}"; do
  [ -f "tests/fuzz/fuzz_$l.cpp" ] || { echo "fuzz: no target tests/fuzz/fuzz_$l.cpp" >&2; exit 1; }
  targets+=(--target "fuzz_$l")
done

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRSNN_FUZZ=ON -DRSNN_CUDA=OFF -DRSNN_BUILD_TESTS=OFF -DRSNN_BUILD_BENCH=OFF >/dev/null
# ccache: see tools/test.sh (a fresh clone reuses an earlier clone's objects).
CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true cmake --build "$build" -j "${RSNN_BUILD_JOBS:-$(nproc)}" "${targets[@]}"

# Any sanitizer report is a crash. The suppressions (tests/fuzz/lsan.supp) name
# reports from inside libraries that are not ours; see the comments there. Full stacks on
# malloc so that the leak suppressions can match a library frame.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1:fast_unwind_on_malloc=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=passive

failed=0
summary=()
for l in "${loaders[@]}"; do
  work="$build/fuzz-corpus/$l" crashes="$build/fuzz-crashes/$l" log="$build/fuzz-$l.log"
  mkdir -p "$work" "$crashes"
  stamp="$build/fuzz-$l.start" && touch "$stamp"  # crashes of this run only are counted
  echo "fuzz: $l for ${budget} s (log $log)"
  rc=0
  "$build/tests/fuzz/fuzz_$l" -seed="${RSNN_FUZZ_SEED:-0}" -max_total_time="$budget" -timeout=60 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "$work" "tests/fuzz/corpus/$l" \
    >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2)
  found=$(find "$crashes" -type f -newer "$stamp" | wc -l)
  status=ok
  if ((rc != 0)); then
    status="FAILED (exit $rc; inputs in $crashes)"
    failed=1
    grep -m3 -E 'ERROR: |runtime error|fuzz property failed|SUMMARY' "$log" | sed 's/^/  /' || true
  fi
  summary+=("$(printf '%-18s %6s s %10s runs %8s exec/s  cov %6s  ft %6s  corpus %-10s crashes %s  %s' \
    "$l" "$budget" "${runs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$found" "$status")")
done
echo "fuzz summary (libFuzzer cov = instrumented edges reached, ft = features):"
printf '  %s\n' "${summary[@]}"
exit $failed
