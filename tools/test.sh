#!/usr/bin/env bash
# The whole test suite: installs missing packages, builds (CUDA backend included where nvcc
# exists), runs every test with ctest. CUDA tests skip with a message when no GPU is usable.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
build=${RSNN_BUILD_DIR:-build}
ctest --test-dir "$build" --output-on-failure -j "${RSNN_TEST_JOBS:-2}" --timeout 900
