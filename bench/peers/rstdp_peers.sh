#!/usr/bin/env bash
# W5 side by side: rsnn, SpykeTorch and Spyker on the reduced schedule of the R-STDP network
# (the first 6,000 Fashion-MNIST training images, one epoch per layer, all 10,000 test images).
#
#   bench/peers/rstdp_peers.sh SPYKETORCH_CHECKOUT [RSNN_EXE]
#
# SpykeTorch is not on PyPI: pass a checkout of github.com/miladmozafari/SpykeTorch (it runs
# on Debian's python3-torch). Spyker is installed with pip into a venv outside the repository
# ($RSNN_PEERS_VENV, default ~/.cache/rsnn-peers/venv, with the system site packages for
# torch and numpy). Peers at their best thread counts here: SpykeTorch 1, Spyker 2; rsnn 2.
# Prints each tool's samples/s per stage and accuracy, then the rsnn/peer ratios.
set -euo pipefail
ST=${1:?usage: rstdp_peers.sh SPYKETORCH_CHECKOUT [RSNN_EXE]}
HERE=$(cd "$(dirname "$0")" && pwd)
RSNN=${2:-$HERE/../../build/tools/rsnn}
DATA=${RSNN_DATA:-/usr/share/datasets/fashion-mnist}
VENV=${RSNN_PEERS_VENV:-$HOME/.cache/rsnn-peers/venv}
OUT=$(mktemp -d /tmp/rstdp_peers.XXXXXX)
[ -d "$ST/SpykeTorch" ] || { echo "rstdp_peers.sh: $ST has no SpykeTorch/ folder" >&2; exit 2; }
[ -x "$RSNN" ] || { echo "rstdp_peers.sh: no rsnn executable at $RSNN" >&2; exit 2; }
if [ ! -x "$VENV/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$VENV"  # Debian torch and numpy
  "$VENV/bin/pip" install -q spyker
fi
CORE=$("$RSNN" info --blas-coretype 2>/dev/null || true)
[ -n "$CORE" ] && export OPENBLAS_CORETYPE=$CORE
export OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=passive

echo "== rsnn (2 threads)"
"$RSNN" rstdp train --data "$DATA" --out "$OUT/rsnn" --train-subset 6000 --epochs-l1 1 \
  --epochs-l2 1 --epochs-l3 1 --threads 2 --no-progress --no-plots 2>&1 | tee "$OUT/rsnn.log"
echo "== SpykeTorch (1 thread)"
OMP_NUM_THREADS=1 /usr/bin/python3 "$HERE/rstdp_peers.py" --peer spyketorch --spyketorch "$ST" \
  --data "$DATA" --threads 1 | tee "$OUT/spyketorch.log"
echo "== Spyker (2 threads)"
OMP_NUM_THREADS=2 "$VENV/bin/python" "$HERE/rstdp_peers.py" --peer spyker --data "$DATA" \
  --threads 2 | tee "$OUT/spyker.log"

# rsnn's stage rates from its log and history.csv, then the ratios.
/usr/bin/python3 - "$OUT" <<'PY'
import csv, re, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/rsnn/history.csv")))
log = open(f"{out}/rsnn.log").read()
r = {"layer1": 6000 / float(rows[0]["seconds"]), "layer2": 6000 / float(rows[1]["seconds"])}
m = re.search(r"layer 3 epoch 1/1: .*\(train ([0-9.]+) s, test ([0-9.]+) s\)", log)
c2 = re.search(r"C2 maps of (\d+) images in ([0-9.]+)s", log)
r["layer3"] = 6000 / float(m.group(1)) if m else float("nan")
r["inference"] = 10000 / float(m.group(2)) if m else float("nan")
acc = float(rows[2]["test_acc"])
print(f"rsnn accuracy {acc:.4f}; C2 maps {c2.group(0) if c2 else '?'} (once, after layer 2)")
for peer in ("spyketorch", "spyker"):
    p = {}
    for line in open(f"{out}/{peer}.log"):
        f = line.split()
        if len(f) == 8 and f[1] != "encode":
            p[f[1]] = float(f[7])
        if len(f) == 3 and f[1] == "accuracy":
            p["acc"] = float(f[2])
    for s in ("layer1", "layer2", "layer3", "inference"):
        if s in p:
            print(f"{s:10s} rsnn {r[s]:9.1f}/s  {peer} {p[s]:8.1f}/s  ratio {r[s] / p[s]:6.1f}x")
    print(f"accuracy   rsnn {acc:.4f}  {peer} {p.get('acc', float('nan')):.4f}")
PY
echo "logs in $OUT"
