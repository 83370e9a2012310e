#!/usr/bin/env bash
# On a machine with a GPU: build with the CUDA backend, run every test (the CUDA cases run
# instead of skipping) and every benchmark, in one go. Results go to $OUT (or ./gpu-check).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-check}
mkdir -p "$out"
RSNN_CUDA=ON RSNN_BUILD_DIR=${RSNN_BUILD_DIR:-build-gpu} tools/setup.sh
build=${RSNN_BUILD_DIR:-build-gpu}
"$build/tools/rsnn" info | tee "$out/info.txt"
set +e
ctest --test-dir "$build" --output-on-failure -j 4 2>&1 | tee "$out/ctest.log"
tests_rc=${PIPESTATUS[0]}
# Which CUDA cases ran (not skipped):
grep -hE "^\[ +(OK|FAILED|SKIPPED) +\] [A-Za-z0-9_/.]*Cuda" "$build"/Testing/Temporary/LastTest.log > "$out/cuda_cases.txt" 2>/dev/null
if [ -x "$build/bench/rsnn_bench" ]; then
  "$build/bench/rsnn_bench" --benchmark_out="$out/bench.json" --benchmark_out_format=json \
    ${RSNN_BENCH_FILTER:+--benchmark_filter="$RSNN_BENCH_FILTER"} 2>&1 | tee "$out/bench.txt"
fi
echo "gpu-check: tests exit code $tests_rc; results in $out/"
exit "$tests_rc"
