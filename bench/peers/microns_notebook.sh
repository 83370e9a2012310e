#!/usr/bin/env bash
# The original MICrONS notebook timed on this CPU beside rsnn (spec performance.md, W6).
#   bench/peers/microns_notebook.sh NOTEBOOK.ipynb [DATA_DIR [--variants K,.. --sims S ...]]
# NOTEBOOK: moneuron/neuro-constrained-RNN neuro-constrained-RNN.ipynb (public; not committed
# here). DATA_DIR: the folder holding 6_6_2/ (default: $RSNN_SHARED_DATA_DIR/microns, else
# ../shared/data/microns beside the checkout). TensorFlow lives in a virtual environment OUTSIDE
# the repository: $RSNN_PEERS_DIR (default ~/.cache/rsnn-peers/tf), created on first use.
# Then runs rsnn's own benchmark of the same trainings when RSNN_BENCH names rsnn_bench.
set -euo pipefail
nb=${1:?usage: microns_notebook.sh NOTEBOOK.ipynb [DATA_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
data=${2:-${RSNN_SHARED_DATA_DIR:-$here/../../../shared/data}/microns}
venv=${RSNN_PEERS_DIR:-$HOME/.cache/rsnn-peers/tf}
[ -f "$nb" ] || { echo "microns_notebook.sh: $nb: no such notebook" >&2; exit 1; }
[ -d "$data/6_6_2" ] || { echo "microns_notebook.sh: $data/6_6_2: missing field folder" >&2; exit 1; }
if [ ! -x "$venv/bin/python" ]; then
  "${RSNN_PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install --quiet tensorflow-cpu numpy scipy networkx bctpy pandas tqdm
fi
# One intra-op and one inter-op thread: the per-run CPU time the sweep pays per core.
export TF_NUM_INTRAOP_THREADS=${TF_NUM_INTRAOP_THREADS:-1}
export TF_NUM_INTEROP_THREADS=${TF_NUM_INTEROP_THREADS:-1}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 TF_CPP_MIN_LOG_LEVEL=2
"$venv/bin/python" "$here/microns_notebook.py" --notebook "$nb" --data "$data" "${@:3}"
if [ -n "${RSNN_BENCH:-}" ]; then
  RSNN_SHARED_DATA=$(dirname "$data") "$RSNN_BENCH" --benchmark_filter='MicronsRun|ReluRnnStep'
fi
