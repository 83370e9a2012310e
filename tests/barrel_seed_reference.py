#!/usr/bin/env python3
"""Test fixture of tests/test_torch_convert.cpp that needs only numpy and h5py (no torch):
an independent float64 re-implementation (numpy; scipy.sparse when there, for speed) of the seed's forward (SRNN_bfd.forward of
github.com/fun0515/Barrel-Cortex-RSNN, spec barrel-cortex-rsnn.md §1.4-1.6) that reads an rsnn
barrel checkpoint, and the seed's initial state. Written for rsnn; no original code is used.

  forward CKPT IO OUT
      Runs the checkpoint's model on IO's x [T, B, F] (rsnn layout: spiking F = 186 = force then
      torque, real F = 558) from CKPT's /init_state/<B>/{v0, s0} (the seed's draws), adaptation
      init = b_base. Writes to OUT: summed [B, 3] (softmax summed over t = 1..T-1), margin (the
      smallest |v - threshold| over all neuron-steps), spikes (the total count), per_step
      int64 [T] (spikes per step), near [T] (the smallest |v - threshold| of each step) and
      cum [T, B, 3] (the softmax summed over 1..t, zero at t = 0).
  torch-rand SEED N OUT
      The first N values of torch.manual_seed(SEED); torch.rand(N) computed by
      tools/convert_torch_barrel.py's numpy generator, to OUT (dataset u, float32).
"""
import os
import sys

import h5py
import numpy as np


def load(ckpt, B):
    with h5py.File(ckpt, "r") as f:
        p = {k: f["params/" + k][()].astype(np.float64) for k in f["params"]}
        m = {"form": f.attrs["form"], "beta": float(f.attrs["beta"]), "b_base": f["b_base"][()].astype(np.float64),
             "ptr": f["projection/post_ptr"][()], "pre": f["projection/pre_idx"][()].astype(np.int64),
             "sign": f["projection/source_sign"][()].astype(np.float64)}
        g = f"init_state/{B}"
        if g not in f:
            sys.exit(f"forward: {ckpt} has no {g}")
        m["v0"], m["s0"] = f[g + "/v0"][()].astype(np.float64), f[g + "/s0"][()].astype(np.float64)
    m["form"] = m["form"].decode() if isinstance(m["form"], bytes) else m["form"]
    return p, m


N_NET = 4418


def group_offsets():
    sizes = [200, 440, 934, 94, 93, 2232, 106, 4, 55, 64, 64, 34, 60, 38]
    return np.concatenate([[0], np.cumsum(sizes)])


def block(rows, cols, w, n):
    """The group's synapses as a scipy CSR matrix [n, N] when scipy is there (faster), else None."""
    try:
        import scipy.sparse
    except ImportError:
        return None
    return scipy.sparse.csr_matrix((w, (rows, cols)), shape=(n, N_NET))


def forward(ckpt, io, out):
    with h5py.File(io, "r") as f:
        x = f["x"][()].astype(np.float64)
    T, B, _ = x.shape
    p, m = load(ckpt, B)
    lin = lambda name, z: z @ p[name + ".weight"].T + p[name + ".bias"]
    if m["form"] == "spiking":
        sweep = np.concatenate([lin("fc_f", x[..., :93]), lin("fc_t", x[..., 93:])], axis=-1)
    else:
        sweep = lin("fc", x)
    i_thal = lin("barrelloid", sweep)  # [T, B, 200]
    ptr, pre = m["ptr"], m["pre"]
    w = np.clip(p["w"], 0.0, 1.0) * m["sign"][pre]  # the seed clamps, then Dale's sign of the source
    off = group_offsets()
    alpha, ro = np.exp(-1.0 / p["tau_m"]), np.exp(-1.0 / p["tau_adp"])
    b0, beta = m["b_base"], m["beta"]
    v, s = m["v0"].copy(), m["s0"].copy()
    a = np.broadcast_to(b0, v.shape).copy()
    summed, spikes = np.zeros((B, 3)), 0
    per_step, near, cum = np.zeros(T, dtype=np.int64), np.full(T, np.inf), np.zeros((T, B, 3))
    # Per group: its synapses (post row within the group, pre, signed weight); the seed updates
    # groups in order, each from the spikes as they stand (this step's for earlier groups).
    groups = []
    for g in range(len(off) - 1):
        lo, hi = ptr[off[g]], ptr[off[g + 1]]
        rows = np.repeat(np.arange(off[g + 1] - off[g]), np.diff(ptr[off[g]:off[g + 1] + 1]))
        cols, wg = pre[lo:hi], w[lo:hi]
        groups.append((off[g], off[g + 1], rows, cols, wg, block(rows, cols, wg, off[g + 1] - off[g])))
    for t in range(T):
        for g0, g1, rows, cols, wg, blk in groups:
            n = g1 - g0
            if blk is not None:
                cur = (blk @ s.T).T
            else:
                cur = np.stack([np.bincount(rows, weights=wg * s[b, cols], minlength=n) for b in range(B)])
            if g0 == 0:
                cur = cur + i_thal[t]
            sl = slice(g0, g1)
            a[:, sl] = ro[sl] * a[:, sl] + (1 - ro[sl]) * s[:, sl]
            th = b0[sl] + beta * a[:, sl]
            v[:, sl] = v[:, sl] * alpha[sl] + (1 - alpha[sl]) * cur - th * s[:, sl]
            u = v[:, sl] - th
            near[t] = min(near[t], float(np.abs(u).min()))
            s[:, sl] = (u > 0).astype(np.float64)
        n_t = int(s.sum())
        per_step[t], spikes = n_t, spikes + n_t
        if t > 0:
            ro_in = np.concatenate([s[:, off[1]:off[3]], s[:, off[5]:off[6]]], axis=1)
            logits = lin("fc2_2", lin("fc2_1", ro_in))
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            summed += e / e.sum(axis=1, keepdims=True)
        cum[t] = summed
    with h5py.File(out, "w") as f:
        f["summed"] = summed
        f["margin"] = float(near.min())
        f["spikes"] = spikes
        f["per_step"] = per_step
        f["near"] = near
        f["cum"] = cum


def torch_rand(seed, n, out):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
    import convert_torch_barrel
    with h5py.File(out, "w") as f:
        f["u"] = convert_torch_barrel.torch_rand_numpy(int(seed), int(n))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "forward":
        forward(*sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "torch-rand":
        torch_rand(*sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
