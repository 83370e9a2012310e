#!/usr/bin/env python3
"""W1 peer: the original PyTorch barrel-cortex model (SRNN_bfd of
github.com/fun0515/Barrel-Cortex-RSNN, RSNN_bfd_SpikingBased.py) timed on the CPU, one
workload per process so that its peak memory is its own. bench/run_barrel_peers.sh runs it
beside bench/bench_barrel.cpp (rsnn) and prints the table.

The original code is NOT part of rsnn: put a copy outside this repository, e.g.
  git clone https://github.com/fun0515/Barrel-Cortex-RSNN /tmp/barrel_orig
and pass --orig (or set BARREL_ORIG). Needs torch, numpy and h5py: Debian's /usr/bin/python3
with python3-torch and python3-h5py (a pyenv python3 on PATH usually lacks them).

  /usr/bin/python3 bench/peers/barrel_torch.py --orig /tmp/barrel_orig --workload fwd --B 128 --T 550
  /usr/bin/python3 bench/peers/barrel_torch.py --orig /tmp/barrel_orig --workload train_step --B 8 --T 200

Best configuration on this machine kind (shared/spec/performance.md): OpenBLAS with one thread
(OPENBLAS_NUM_THREADS=1, set here before torch loads), torch with two threads, and OpenBLAS's
kernels for the CPU: where OpenBLAS does not recognize it and falls back to its generic SSE3
kernels, OPENBLAS_CORETYPE from `rsnn info --blas-coretype` (run_barrel_peers.sh sets it). The original
runs unchanged except that `.cuda()` is a no-op (CPU run), and optional imports it does not
need for the model (seaborn, tqdm, spikingjelly, gif) are stubbed when absent; it chdirs into
--orig so that its ./data/*.npy load. Model: SRNN_bfd(93, 3, init_b=0.04, init_w=0.06) as in
its train(). Input: spikes of shape (B, 2, 1, T, 93) (only sweep 0 is read by the model, so
the 11 unused sweeps are left out, as rsnn's input leaves them out), encoded as the original
(p = m / (m + e^c), c = 2 force, 4 torque, each frame repeated 5 times, Bernoulli) from the
whisker sweeps of --data (HDF5 in the original layout, e.g. `rsnn whisker synth`), or i.i.d.
Bernoulli(--rate) without --data. The dense PyTorch arithmetic does not depend on the input
values. Train step: zero_grad, forward, CrossEntropyLoss(outputs / T), backward, Adam step with
the original's three parameter groups (lr 0.008, tau_adp x5, tau_m x2).

Prints one JSON line: workload, B, T, seconds (wall, each repetition), cpu_seconds (process CPU
time, all threads), maxrss_mb before and after the workload, torch version, threads. A workload
whose estimated memory exceeds the available memory is skipped (JSON with "skipped").
"""
import argparse
import importlib.util
import json
import math
import os
import resource
import sys
import time
import types


def maxrss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def mem_available_mb():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("inf")


def stub_missing(names):
    """Empty stand-ins for optional imports the model does not use."""
    class Anything:
        def __init__(self, *a, **k):
            pass

        def __call__(self, *a, **k):
            return a[0] if a else Anything()

        def __getattr__(self, name):
            return Anything()

    for name in names:
        if importlib.util.find_spec(name.split(".")[0]) is None:
            mod = types.ModuleType(name)
            mod.__getattr__ = lambda attr: Anything()
            if name == "tqdm":
                mod.tqdm = lambda it=None, *a, **k: it
            sys.modules[name] = mod


def encoded_input(args, np):
    """Spikes (B, 2, 1, T, 93) float32 and labels (B,) int64."""
    rng = np.random.default_rng(515)
    B, T = args.B, args.T
    if not args.data:
        x = (rng.random((B, 2, 1, T, 93)) < args.rate).astype(np.float32)
        return x, np.arange(B) % 3
    import h5py
    with h5py.File(args.data, "r") as f:
        n = f["force"].shape[0]
        idx = [b % n for b in range(B)]
        rows = sorted(set(idx))
        force = f["force"][rows, 0]    # (n, 110, 31, 3, 3): sweep 0 only
        torque = f["torque"][rows, 0]
        label = f["label"][rows]
    pos = {r: k for k, r in enumerate(rows)}
    sel = [pos[i] for i in idx]
    x = np.zeros((B, 2, 1, T, 93), dtype=np.float32)
    for ch, (data, c) in enumerate(((force, 2.0), (torque, 4.0))):
        m = np.linalg.norm(data, axis=-1).reshape(len(rows), 110, 93)
        m[m == 0] = 1e-5
        p = m / (m + math.exp(c))
        p = np.repeat(p, 5, axis=1)[:, :T]             # (n, T, 93)
        x[:, ch, 0] = (rng.random((B, T, 93)) < p[sel]).astype(np.float32)
    lab = label.astype(np.int64)
    if set(np.unique(lab)) - {0, 1, 2}:               # original labels 53, 55, 113
        lab = np.searchsorted(np.array([53, 55, 113]), lab)
    return x, lab[sel]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orig", default=os.environ.get("BARREL_ORIG", ""),
                    help="copy of Barrel-Cortex-RSNN (outside rsnn); default $BARREL_ORIG")
    ap.add_argument("--workload", choices=["fwd", "train_step"], required=True)
    ap.add_argument("--B", type=int, required=True)
    ap.add_argument("--T", type=int, required=True)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--data", default="", help="whisker HDF5 (original layout) to encode the input from")
    ap.add_argument("--rate", type=float, default=0.05, help="input spike probability without --data")
    ap.add_argument("--torch-threads", type=int, default=2)
    ap.add_argument("--blas-threads", default="1")
    args = ap.parse_args()

    os.environ["OPENBLAS_NUM_THREADS"] = args.blas_threads  # before numpy/torch load OpenBLAS
    os.environ.setdefault("MPLBACKEND", "Agg")
    orig = os.path.abspath(args.orig) if args.orig else ""
    if not orig or not os.path.isfile(os.path.join(orig, "RSNN_bfd_SpikingBased.py")):
        sys.exit(f"barrel_torch: --orig must point at a copy of Barrel-Cortex-RSNN (got '{args.orig}')")
    if args.data:
        args.data = os.path.abspath(args.data)

    est_mb = 500 + (args.T * (56 + 0.35 * args.B) if args.workload == "train_step" else 0)
    out = {"impl": "torch", "workload": args.workload, "B": args.B, "T": args.T}
    if est_mb > 0.9 * mem_available_mb():
        out["skipped"] = f"needs about {est_mb / 1024:.1f} GB, {mem_available_mb() / 1024:.1f} GB available"
        print(json.dumps(out))
        return

    import numpy as np
    import torch
    torch.set_num_threads(args.torch_threads)
    torch.Tensor.cuda = lambda self, *a, **k: self       # CPU run of the original code
    torch.nn.Module.cuda = lambda self, *a, **k: self
    stub_missing(["seaborn", "tqdm", "spikingjelly", "gif", "brainpy"])
    sys.path.insert(0, orig)
    os.chdir(orig)
    import RSNN_bfd_SpikingBased as original  # noqa: E402  (the original module, unchanged)

    x_np, labels_np = encoded_input(args, np)
    x = torch.from_numpy(x_np)
    labels = torch.from_numpy(np.asarray(labels_np, dtype=np.int64))
    model = original.SRNN_bfd(93, 3, init_b=0.04, init_w=0.06)
    before = maxrss_mb()
    wall, cpu = [], []
    if args.workload == "fwd":
        model.eval()
        for _ in range(args.reps):
            t0, c0 = time.perf_counter(), time.process_time()
            with torch.no_grad():
                outputs, h, _, _ = model(x)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            del h
    else:
        model.train()
        base, tau_adp, tau_m = model.get_all_params()
        lr = 0.008
        opt = torch.optim.Adam([{"params": base, "lr": lr}, {"params": tau_adp, "lr": lr * 5},
                                {"params": tau_m, "lr": lr * 2}])
        criterion = torch.nn.CrossEntropyLoss()
        for _ in range(args.reps):
            t0, c0 = time.perf_counter(), time.process_time()
            opt.zero_grad()
            outputs, h, _, _ = model(x)
            loss = criterion(outputs / args.T, labels)
            loss.backward()
            opt.step()
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            del h, loss, outputs
    out.update({"seconds": wall, "cpu_seconds": cpu, "maxrss_mb_before": before, "maxrss_mb": maxrss_mb(),
                "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                "blas_threads": args.blas_threads, "input": args.data or f"bernoulli({args.rate})"})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
