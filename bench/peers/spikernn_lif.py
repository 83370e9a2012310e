#!/usr/bin/env python3
"""W4 peer comparison: one LIF Go-NoGo trial (N = 200, 20,000 steps) in the NuttidaLab
PyTorch port of spikeRNN vs rsnn, same model, same machine, one run.

The port's code is NOT part of rsnn: fetch it yourself somewhere outside this repository
(e.g. git clone of github.com/NuttidaLab/spikeRNN into /tmp/spikeRNN) and pass --port.
Needs python3 with torch, numpy, scipy, h5py.

  python3 bench/peers/spikernn_lif.py --port /tmp/spikeRNN --model MODEL.h5 \
      --rsnn build/tools/rsnn --scaling-factor 25 --trials 3

MODEL.h5 is an rsnn rate model (rsnn rate train); its fields have the shapes scipy's
loadmat gives for the original .mat, so the port reads them as a dict. The port runs with
its best configuration here: float64 torch on the CPU, torch threads = 2, OpenBLAS 1
thread (shared/spec/performance.md). rsnn runs one thread per trial (--threads 1).
"""
import argparse
import os
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", required=True, help="checkout of NuttidaLab/spikeRNN (outside rsnn)")
    ap.add_argument("--model", required=True, help="rsnn rate model .h5")
    ap.add_argument("--rsnn", default="build/tools/rsnn", help="the rsnn executable")
    ap.add_argument("--scaling-factor", type=float, default=25.0)
    ap.add_argument("--trials", type=int, default=3, help="port trials (min of them is reported)")
    ap.add_argument("--rsnn-trials", type=int, default=200,
                    help="rsnn trials in one process (a trial takes milliseconds: enough of them "
                         "that process start and model loading do not count)")
    a = ap.parse_args()

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import h5py
    import numpy as np
    import torch

    torch.set_num_threads(2)
    sys.path.insert(0, os.path.join(a.port, "spiking"))
    sys.path.insert(0, a.port)
    from LIF_network_fnc import LIF_network_fnc  # noqa: E402  (the port's function)

    with h5py.File(a.model, "r") as f:
        model = {k: np.array(f[k][()]) for k in f.keys() if not isinstance(f[k], h5py.Group)}
    for k in ("N", "som_N", "b_out"):
        model[k] = np.array([[float(model[k])]])
    model["inh"] = model["inh"].astype(bool)
    model["exc"] = model["exc"].astype(bool)

    times = []
    for k in range(a.trials):
        u = np.zeros((1, 201))
        if k % 2 == 1:
            u[0, 50:75] = 1.0  # Go
        t0 = time.perf_counter()
        LIF_network_fnc(dict(model), a.scaling_factor, u, {"mode": "none"}, 1, False)
        times.append(time.perf_counter() - t0)
    port = min(times)
    print(f"port (PyTorch, {torch.__version__}): {port:.3f} s per LIF trial (min of {a.trials})")

    # rsnn: spiking eval runs --trials trials; time a run of n trials on one thread
    n = a.rsnn_trials
    cmd = [a.rsnn, "spiking", "eval", "--model", a.model, "--scaling-factor", str(a.scaling_factor),
           "--trials", str(n), "--threads", "1", "--device", "cpu"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    ours = (time.perf_counter() - t0) / n
    print(f"rsnn (1 thread): {ours:.4f} s per LIF trial ({n} trials, process start included)")
    print(f"speed-up: {port / ours:.1f}x")


if __name__ == "__main__":
    main()
