#!/usr/bin/env bash
# Installs what rsnn needs to build and test on a Debian machine (idempotent), then
# configures and builds it in ./build (or $RSNN_BUILD_DIR).
# Usage: tools/setup.sh            install missing packages, configure, build everything
#        RSNN_TARGETS=rsnn_cli tools/setup.sh   build only the rsnn program
#        RSNN_CUDA=OFF tools/setup.sh   build without the CUDA backend
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build ccache pkg-config
  libopenblas-dev liblapacke-dev libhdf5-dev zlib1g-dev libmatio-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev
  clang libclang-rt-dev libomp-dev  # libFuzzer (clang_rt.fuzzer), clang's OpenMP: tools/fuzz.sh
  libopenmpi-dev openmpi-bin  # runtime/dist.h: `mpirun -np N rsnn ...`
  libigraph-dev libarpack2-dev libglpk-dev libgmp-dev libxml2-dev libplfit-dev
  dataset-fashion-mnist python3 python3-numpy python3-h5py python3-matplotlib python3-torch
  python3-scipy python3-networkx
  python3-dev python3-pip python3-pytest)  # the Python package (python/) and its tests

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "rsnn setup: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "rsnn setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# nanobind (the Python bindings, python/) is not in Debian: from PyPI into Debian's python,
# which is externally managed; skipped when present.
/usr/bin/python3 -c "import nanobind" 2>/dev/null ||
  /usr/bin/python3 -m pip install -q --break-system-packages "nanobind>=2.0" ||
  echo "rsnn setup: nanobind could not be installed; the Python package is not built" >&2

# nvcc is often installed outside PATH.
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi

build=${RSNN_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRSNN_CUDA="${RSNN_CUDA:-AUTO}" >/dev/null
jobs=${RSNN_BUILD_JOBS:-$(nproc)}
# RSNN_TARGETS limits the build (e.g. "rsnn_cli" for the command-line program only).
targets=()
for t in ${RSNN_TARGETS:-}; do targets+=(--target "$t"); done
# Paths relative to the checkout in ccache's hash, so a fresh clone in another folder (CI)
# reuses the objects of an earlier build.
CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true cmake --build "$build" -j "$jobs" "${targets[@]}"
