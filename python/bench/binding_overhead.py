#!/usr/bin/env python3
"""Binding overhead per call for a small network: the fused LIF forward called from Python
(NumPy arrays in, arrays out) against the same call timed inside C++, plus the floor of a
call with no array and of a call with one array, and the PyTorch Function's forward +
backward. Prints one JSON line (microseconds per call).

  PYTHONPATH=<build>/python /usr/bin/python3 python/bench/binding_overhead.py
"""
import argparse
import json
import time

import numpy as np

import rsnn


def per_call(fn, reps):
    fn()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, default=20)
    ap.add_argument("--T", type=int, default=10)
    ap.add_argument("--B", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5000)
    a = ap.parse_args()
    ne = a.N * 4 // 5
    table = [{"name": "E", "size": ne, "sign": 1}, {"name": "I", "size": a.N - ne, "sign": -1}]
    proj = rsnn.projection_from_table(table, [[0.2, 0.2], [0.2, 0.2]], seed=1)
    cfg = rsnn.LifConfig()
    cfg.model = rsnn.NeuronModel.alif
    cfg.group_offsets = [0, ne, a.N]
    cfg.readout = [(0, ne)]
    f = np.float32
    args = dict(w=np.full(proj.nnz, 0.1, f), tau_m=np.full(a.N, 20, f), b_base=np.full(a.N, 0.5, f),
                i_ext=np.random.default_rng(0).random((a.T, a.B, a.N)).astype(f),
                tau_adp=np.full(a.N, 200, f), w_ro=np.ones((2, ne), f))
    one = np.zeros(1, f)
    out = {"N": a.N, "T": a.T, "B": a.B, "nnz": proj.nnz}
    out["us_no_array_call"] = per_call(rsnn.cuda_compiled, a.reps)
    out["us_one_array_call"] = per_call(lambda: rsnn.init_uniform(one, 0, 1, seed=1), a.reps)
    out["us_lif_forward_python"] = per_call(lambda: rsnn.lif_forward(proj, cfg, **args), a.reps)
    out["us_lif_forward_cpp"] = rsnn.lif_forward_seconds(proj, cfg, reps=a.reps, **args) * 1e6
    out["us_overhead_per_call"] = out["us_lif_forward_python"] - out["us_lif_forward_cpp"]
    try:
        import torch
        from rsnn.nn import RecurrentLIFFunction
        t = {k: torch.from_numpy(v) for k, v in args.items()}
        w = t["w"].clone().requires_grad_()

        def step():
            _, y = RecurrentLIFFunction.apply(proj, cfg, w, t["tau_m"], t["tau_adp"], t["b_base"],
                                              t["i_ext"], t["w_ro"])
            y.sum().backward()

        out["us_torch_function_fwd_bwd"] = per_call(step, max(a.reps // 5, 1))
    except ImportError:
        pass
    print(json.dumps({k: (round(v, 2) if isinstance(v, float) else v) for k, v in out.items()}))


if __name__ == "__main__":
    main()
