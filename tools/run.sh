#!/usr/bin/env bash
# The main job: install what is missing, build, and run the end-to-end demo on the engine.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
build=${RSNN_BUILD_DIR:-build}
"$build/tools/rsnn" info
"$build/tools/rsnn" demo "$@"
