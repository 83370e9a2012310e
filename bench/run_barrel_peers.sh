#!/usr/bin/env bash
# W1 (shared/spec/performance.md) side by side: the original PyTorch barrel-cortex model
# (bench/peers/barrel_torch.py) and rsnn (bench/bench_barrel.cpp) on the same workloads, the
# same whisker sweeps and the same machine, in one run; prints a table of times, ratios
# (torch / rsnn) and peak memory. Takes a few minutes (the torch forward at B=128, T=550 alone
# takes about half a minute on a 2-core machine).
#
#   bench/run_barrel_peers.sh ORIG_DIR [OUT_DIR]
#
# ORIG_DIR: a copy of github.com/fun0515/Barrel-Cortex-RSNN outside this repository (or set
# BARREL_ORIG), e.g. git clone https://github.com/fun0515/Barrel-Cortex-RSNN /tmp/barrel_orig
# OUT_DIR: results (default /tmp/rsnn_barrel_peers): one JSON per run, table.md.
# Environment: BUILD (build folder, default build-nocuda, configured CPU-only if absent),
#   PYTHON (a python3 with torch, numpy, h5py; default /usr/bin/python3), TORCH_REPS
#   (repetitions of each torch training step, default 2; the forward runs once), QUICK=1
#   (T = 20 everywhere, torch only: a smoke run of the script itself).
# Threads: each side runs in its best configuration on this machine as it is now (2 cores,
#   often shared): OpenBLAS 1 thread on both sides; torch with TORCH_THREADS (default: 1 or 2,
#   whichever runs a short forward probe faster right now; on an idle machine 2 wins, on a
#   loaded one each of torch's thousands of small parallel ops per step waits for a second
#   thread to be scheduled and 1 wins); rsnn with each of RSNN_THREADS (default "1 2"), before
#   and after torch, the fastest reported.
set -euo pipefail
cd "$(dirname "$0")/.."

orig=${1:-${BARREL_ORIG:-}}
out=${2:-/tmp/rsnn_barrel_peers}
build=${BUILD:-build-nocuda}
py=${PYTHON:-/usr/bin/python3}
torch_reps=${TORCH_REPS:-2}
rsnn_threads=${RSNN_THREADS:-1 2}
if [ -z "$orig" ] || [ ! -f "$orig/RSNN_bfd_SpikingBased.py" ]; then
  echo "usage: $0 ORIG_DIR [OUT_DIR]   (ORIG_DIR: a copy of Barrel-Cortex-RSNN; got '$orig')" >&2
  exit 2
fi
"$py" -c 'import torch, numpy, h5py' 2>/dev/null ||
  { echo "$0: $py cannot import torch, numpy and h5py (Debian: apt-get install python3-torch python3-h5py)" >&2; exit 2; }
mkdir -p "$out"

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRSNN_CUDA=OFF >/dev/null
fi
cmake --build "$build" -j2 --target rsnn_bench rsnn_cli >/dev/null
bench="$build/bench/rsnn_bench"
rsnn="$build/tools/rsnn"

# The same whisker sweeps for both sides (the project's synthetic stand-in for the recordings).
data="$out/data/whisker_train.h5"
if [ ! -f "$data" ]; then
  "$rsnn" whisker synth --out "$out/data" --train 128 --test 3 --seed 515 >/dev/null
fi

export OPENBLAS_NUM_THREADS=1
# Both sides run on the same OpenBLAS (Debian's torch links it). On a CPU it does not
# recognize, OpenBLAS runs its generic SSE3 kernels; both sides then get the kernels for this
# CPU (their best configuration: sgemm 5-6x faster, torch's steps 1.2-3.4x faster).
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  coretype=$("$rsnn" info --blas-coretype)
  [ -n "$coretype" ] && export OPENBLAS_CORETYPE=$coretype
fi
echo "OpenBLAS kernels: ${OPENBLAS_CORETYPE:-as detected ($("$rsnn" info | sed -n 's/^OpenBLAS kernels: //p'))}" >&2
rm -f "$out"/torch_*.json "$out"/rsnn_*.json "$out"/load_*.txt
# rsnn runs every workload with each of $rsnn_threads, once before and once after torch's run
# of it; the fastest of these is reported. (After torch's multi-GB runs the machine measured
# slower for a while: rsnn B=8 T=100 on two threads 0.40 and 0.31 s right after torch, 0.24-0.26 s
# alone minutes later.)
run_rsnn() {  # $1: before | after
  for th in $rsnn_threads; do
    RSNN_BARREL_BENCH_DATA="$data" OMP_NUM_THREADS="$th" "$bench" \
      --benchmark_filter="^Barrel/rsnn/$kind/B:$B/T:$T/" --benchmark_format=json \
      --benchmark_out="$out/rsnn_${tag}_t${th}_$1.json" --benchmark_out_format=json >/dev/null
  done
}
# torch's thread count: TORCH_THREADS, else whichever of 1 and 2 runs a short forward (B=8,
# T=20) faster, probed again before every workload since the load of a shared machine changes.
pick_torch_threads() {
  if [ -n "${TORCH_THREADS:-}" ]; then torch_threads=$TORCH_THREADS; return; fi
  local best="" th s
  for th in 1 2; do
    s=$("$py" bench/peers/barrel_torch.py --orig "$orig" --workload fwd --B 8 --T 20 --torch-threads "$th" \
        --data "$data" | "$py" -c 'import json, sys; print(min(json.load(sys.stdin)["seconds"]))')
    if [ -z "$best" ] || "$py" -c "import sys; sys.exit(0 if $s < $best else 1)"; then best=$s; torch_threads=$th; fi
  done
  echo "torch probe (fwd B=8 T=20): best with $torch_threads thread(s), $best s" >&2
}
workloads=("fwd 128 550" "train_step 1 100" "train_step 1 200" "train_step 8 100" "train_step 8 200"
           "train_step 128 550")
for w in "${workloads[@]}"; do
  read -r kind B T <<<"$w"
  [ "${QUICK:-0}" = 1 ] && T=20
  tag="${kind}_B${B}_T${T}"
  pick_torch_threads
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "== $kind B=$B T=$T (load average $load)" >&2
  echo "$load" >"$out/load_$tag.txt"
  reps=1
  [ "$kind" = train_step ] && reps=$torch_reps
  [ "${QUICK:-0}" = 1 ] || run_rsnn before
  "$py" bench/peers/barrel_torch.py --orig "$orig" --workload "$kind" --B "$B" --T "$T" --reps "$reps" \
    --data "$data" --torch-threads "$torch_threads" >"$out/torch_$tag.json"
  # (the registered rsnn cases have fixed T: no rsnn in a smoke run)
  [ "${QUICK:-0}" = 1 ] || run_rsnn after
done

"$py" - "$out" <<'EOF'
import glob, json, os, sys
out = sys.argv[1]
rows = []
for path in sorted(glob.glob(os.path.join(out, "torch_*.json"))):
    tag = os.path.basename(path)[len("torch_"):-len(".json")]
    t = json.load(open(path))
    r = None
    for rp in sorted(glob.glob(os.path.join(out, f"rsnn_{tag}_t*.json"))):
        bm = [b for b in json.load(open(rp))["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
        if bm and (r is None or bm[0]["real_time"] < r["real_time"]):
            r = bm[0]
            r["threads"] = rp[rp.rindex("_t") + 2:-len(".json")].split("_")[0]
    load = open(os.path.join(out, f"load_{tag}.txt")).read().strip() if os.path.exists(os.path.join(out, f"load_{tag}.txt")) else "?"
    rows.append((t, r, load))
order = {"fwd": 0, "train_step": 1}
rows.sort(key=lambda x: (order[x[0]["workload"]], x[0]["B"], x[0]["T"]))
f = lambda v, d=2: "n/a" if v is None else f"{v:.{d}f}"
lines = ["| workload | torch wall s | rsnn wall s | wall ratio | torch CPU s | rsnn CPU s | CPU ratio | torch maxrss MB | rsnn maxrss MB | rsnn pool peak MB | rsnn spikes/neuron-step | rsnn time / floor | threads torch/rsnn | load avg |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
for t, r, load in rows:
    name = f"{t['workload']} B={t['B']} T={t['T']}"
    tw = min(t["seconds"]) if "seconds" in t else None
    tc = min(t["cpu_seconds"]) if "cpu_seconds" in t else None
    rw = r["real_time"] / 1e3 if r else None   # ms -> s
    rc = r["cpu_time"] / 1e3 if r else None
    ratio = lambda a, b: f"{a / b:.1f}x" if a is not None and b else "n/a"
    tm = f(t.get("maxrss_mb"), 0) if "maxrss_mb" in t else ("not run: " + t["skipped"] if "skipped" in t else "n/a")
    lines.append(f"| {name} | {f(tw)} | {f(rw, 3)} | {ratio(tw, rw)} | {f(tc)} | {f(rc, 3)} | {ratio(tc, rc)} | {tm} | "
                 f"{f(r.get('maxrss_MB') if r else None, 0)} | {f(r.get('peak_pool_MB') if r else None, 0)} | "
                 f"{f(r.get('spikes/neuron-step') if r else None, 4)} | {f(r.get('floor_ratio') if r else None, 1)} | {t.get('torch_threads', '-')}/{r['threads'] if r else '-'} | {load} |")
text = "\n".join(lines)
first = next((t for t, _, _ in rows if "torch" in t), {})
text += (f"\n\ntorch {first.get('torch', '?')} (OpenBLAS {first.get('blas_threads', '?')} thread; "
         f"OpenBLAS kernels on both sides: {os.environ.get('OPENBLAS_CORETYPE') or 'as detected'}); "
         "torch: best of its repetitions, rsnn: mean over Google Benchmark's iterations (min time 2 s; "
         "B <= 8 after 6 untimed warm-up steps, bench/bench_barrel.cpp), "
         "the fastest of its thread counts, run before and after torch; CPU = process CPU time of all threads; load avg = "
         "/proc/loadavg when the pair started (2 cores).")
open(os.path.join(out, "table.md"), "w").write(text + "\n")
print(text)
EOF
