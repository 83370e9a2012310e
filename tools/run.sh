#!/usr/bin/env bash
# The main job, end to end on a fresh machine: install what is missing, build the rsnn
# program, generate the synthetic whisker-sweep data, train the barrel-cortex RSNN briefly,
# run the whisker-deprivation test, plot, and print the test accuracy beside a non-spiking
# baseline. Everything goes to $RSNN_RUN_DIR (default runs/main).
#   RSNN_EPOCHS (default 10), RSNN_FORM (real | spiking; default real: T = 110, five times
#   cheaper per step than the spiking form's T = 550), RSNN_DEPRIVE_TRIALS (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
RSNN_TARGETS=rsnn_cli tools/setup.sh
build=${RSNN_BUILD_DIR:-build}
rsnn="$build/tools/rsnn"
out=${RSNN_RUN_DIR:-runs/main}
form=${RSNN_FORM:-real}
mkdir -p "$out"
start=$(date +%s)
# OpenBLAS falls back to its generic SSE3 kernels on CPUs it does not know (rsnn info says so)
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  coretype=$("$rsnn" info --blas-coretype)
  [ -n "$coretype" ] && export OPENBLAS_CORETYPE=$coretype
fi

"$rsnn" info
echo "== synthetic whisker data -> $out/data"
"$rsnn" whisker synth --out "$out/data"
echo "== baseline: softmax regression on time-averaged features"
"$rsnn" whisker baseline --data "$out/data" | tee "$out/baseline.txt"
echo "== barrel-cortex RSNN ($form form), ${RSNN_EPOCHS:-10} epochs -> $out/barrel"
"$rsnn" barrel train --data "$out/data" --form "$form" --epochs "${RSNN_EPOCHS:-10}" --batch 32 \
  --out "$out/barrel" | tee "$out/train.txt"
echo "== whisker deprivation -> $out/deprivation.csv"
"$rsnn" barrel deprive --checkpoint "$out/barrel/checkpoint.h5" --data "$out/data" \
  --trials "${RSNN_DEPRIVE_TRIALS:-5}" --out "$out/deprivation.csv"
plotter=""
for py in python3 /usr/bin/python3; do
  if "$py" -c "import matplotlib, numpy" 2>/dev/null; then plotter=$py; break; fi
done
if [ -n "$plotter" ] && [ -f tools/plot_barrel.py ]; then
  "$plotter" tools/plot_barrel.py deprivation "$out/deprivation.csv" "$out/deprivation.png" \
    && echo "plot: $out/deprivation.png"
  "$plotter" tools/plot_barrel.py training "$out/barrel/log.csv" "$out/training.png" \
    && echo "plot: $out/training.png"
else
  echo "(no matplotlib: plots skipped)"
fi
echo "== summary ($(( $(date +%s) - start )) s)"
grep -h "accuracy" "$out/baseline.txt" | tail -1 | sed 's/^/baseline: /'
tail -1 "$out/train.txt" | sed 's/^/barrel RSNN: /'
