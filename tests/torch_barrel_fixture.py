#!/usr/bin/env python3
"""Test fixture of tests/test_torch_convert.cpp: a PyTorch model with the structure of the
original SRNN_bfd (github.com/fun0515/Barrel-Cortex-RSNN) and an independent reference of its
forward pass. Written for rsnn; none of the original code is used.

  make --dir D [--forms spiking real] [--seed S] [--tables DIR] [--defects]
      Builds a spiking-form and/or a real-form model (masks sampled from the barrel tables, random
      weights with a few outside [0, 1] and a few exactly 0, random per-neuron time
      constants), saves each with torch.save(model) as the original scripts do (classes
      recorded as __main__.SRNN_bfd and SparseLinear.SparseLinear2) to D/spiking.pth and
      D/real.pth, and writes what a correct conversion must contain to D/truth_<form>.h5, built
      by placing every block into a dense 4418 x 4418 matrix. --defects also saves broken
      variants of the last one: D/nan.pth, D/missing_block.pth, D/state_dict.pth. Each form
      has its own seed (S, S + 1), so a model does not depend on which others are made.
  reference MODEL IO OUT [MODEL IO OUT ...]
      Loads MODEL with torch.load (this file defines the classes) and runs the original
      forward in float64 from the initial state in IO (v0, s0 [B, 4418], network order) on
      x [T, B, F] (rsnn layout: spiking F = 186 = force then torque, real F = 558). Writes to
      OUT: summed [B, 3] (softmax summed over t = 1..T-1), margin (the smallest
      |v - threshold| over all neuron-steps) and spikes (the total count, thalamus included);
      per step: per_step (spikes) [T], near (the smallest |v - threshold|) [T] and cum [T, B, 3]
      (the softmax summed over 1..t).
  gradients MODEL IO OUT [MODEL IO OUT ...]
      The same forward, differentiable (torch autograd, float64, full BPTT: nothing detached),
      with the original's spike function (Heaviside(u > 0) forward, Gaussian surrogate
      0.39894 exp(-2 u^2) backward) and the seed loss on IO's labels (int64 [B]):
      CrossEntropy(summed / T, labels). Each sparse block's weight is clamped to [0, 1] before
      the forward as the original does in place, so its gradient is dL/d(effective) * mask.
      Writes to OUT: loss, margin, spikes, the gradient of every dense layer
      (d<name>.weight, d<name>.bias), dtau_m and dtau_adp [4418] (network order: thalamus, then
      populations 0..12), and dw [nnz] with post, pre [nnz]: one value per synapse (mask == 1)
      in network coordinates, post-major with pre ascending (the converter's CSR order).

Needs torch, numpy and h5py (Debian /usr/bin/python3 with python3-torch, python3-h5py).
"""
import argparse
import csv
import os
import sys
import types

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

POP_SIZES = [440, 934, 94, 93, 2232, 106, 4, 55, 64, 64, 34, 60, 38]
POP_TYPES = ["E", "E", "I", "I", "E", "I", "I", "I", "I", "I", "I", "I", "I"]
N_THAL = 200
N_NET = N_THAL + sum(POP_SIZES)


def read_csv_table(path):
    rows = [r for r in csv.reader(open(path)) if r and not r[0].startswith("#")]
    return np.array([[float(v) for v in r[1:]] for r in rows[1:]], dtype=np.float64)


# ---- the classes, recorded in the pickle under the original's names ----------------------

SparseLinear = types.ModuleType("SparseLinear")
sys.modules["SparseLinear"] = SparseLinear


class SparseLinear2(nn.Module):
    """A masked dense block: synapses where mask == 1, weights kept in [0, 1]."""

    def __init__(self, in_features, out_features, bias=True, connect_prob=None, ifPositive=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.connection_probability = connect_prob
        self.ifPositive = ifPositive
        self.weight = nn.Parameter(torch.zeros(out_features, in_features))
        self.register_parameter("bias", None)
        self.mask = torch.bernoulli(torch.full((out_features, in_features), float(connect_prob)))

    def effective(self):
        return self.weight.detach().clamp(0, 1) * self.mask


SparseLinear2.__module__ = "SparseLinear"
SparseLinear.SparseLinear2 = SparseLinear2


class SRNN_bfd(nn.Module):
    def __init__(self, tables, form="spiking", init_b=0.04, init_w=0.06):
        super().__init__()
        self.init_b, self.init_w = init_b, init_w
        self.output_dim = 3
        self.popSize, self.popType = list(POP_SIZES), list(POP_TYPES)
        th = read_csv_table(os.path.join(tables, "Exc_ThtoAll_prob.csv"))[0]
        exc = read_csv_table(os.path.join(tables, "Exc_AlltoAll_prob.csv"))
        inh = read_csv_table(os.path.join(tables, "Inh_AlltoAll_prob.csv"))
        self.Prob_ThtoAll = th
        self.Prob_AlltoAll = exc + inh
        self.Type_AlltoAll = np.where(inh > 0, -1.0, np.where(exc > 0, 1.0, 0.0))
        if form == "spiking":
            self.fc_f = nn.Linear(93, 100)
            self.fc_t = nn.Linear(93, 100)
        else:
            self.fc = nn.Linear(558, 200)
        self.barrelloid = nn.Linear(200, 200)
        self.barrelloid_tau_adp = nn.Parameter(torch.empty(200).uniform_(4, 6))
        self.barrelloid_tau_m = nn.Parameter(torch.empty(200).uniform_(8, 12))
        self.ThtoPops = nn.ModuleList(
            SparseLinear2(200, POP_SIZES[i], False, p, True) for i, p in enumerate(th) if p != 0)
        self.toPops = nn.ModuleList()
        for i, size in enumerate(POP_SIZES):
            self.toPops.append(nn.ModuleList(
                SparseLinear2(POP_SIZES[j], size, False, self.Prob_AlltoAll[j, i], True)
                for j in range(13) if self.Prob_AlltoAll[j, i] != 0))
        # plain lists, not registered, as in the original
        self.tau_adp = [nn.Parameter(torch.empty(s).uniform_(4, 6)) for s in POP_SIZES]
        self.tau_m = [nn.Parameter(torch.empty(s).uniform_(8, 12)) for s in POP_SIZES]
        self.fc2_1 = nn.Linear(440 + 934 + 2232, 128)
        self.fc2_2 = nn.Linear(128, 3)
        for blk in list(self.ThtoPops) + [b for ml in self.toPops for b in ml]:
            w = torch.empty_like(blk.weight).uniform_(0, init_w)
            u = torch.rand_like(w)  # a few trained-looking values: outside [0, 1], exactly 0
            w = torch.where(u < 0.01, torch.empty_like(w).uniform_(1.0, 1.5), w)
            w = torch.where((u >= 0.01) & (u < 0.02), torch.empty_like(w).uniform_(-0.5, 0.0), w)
            w = torch.where((u >= 0.02) & (u < 0.03), torch.zeros_like(w), w)
            off_mask = (blk.mask == 0) & (u > 0.999)  # stray values off the mask: not synapses
            blk.weight.data = torch.where((blk.mask != 0) | off_mask, w, torch.zeros_like(w))
        self.b_barrelloid = init_b
        self.b = [init_b] * 13


def blocks(model):
    """(post offset, pre offset, block) of every sparse block, in network coordinates."""
    off = np.cumsum([N_THAL] + POP_SIZES)  # off[i] = first neuron of population i
    th_targets = [i for i in range(13) if model.Prob_ThtoAll[i] != 0]
    out = [(off[i], 0, model.ThtoPops[k]) for k, i in enumerate(th_targets)]
    for i in range(13):
        sources = [j for j in range(13) if model.Type_AlltoAll[j, i] != 0]
        for k, j in enumerate(sources):
            out.append((off[i], off[j], model.toPops[i][k]))
    return out


def write_truth(model, path, form):
    W = np.zeros((N_NET, N_NET), dtype=np.float32)
    M = np.zeros((N_NET, N_NET), dtype=bool)
    for po, pr, blk in blocks(model):
        n_post, n_pre = blk.weight.shape
        W[po:po + n_post, pr:pr + n_pre] = blk.weight.detach().clamp(0, 1).numpy()
        M[po:po + n_post, pr:pr + n_pre] = blk.mask.numpy() != 0
    post, pre = np.nonzero(M)  # row-major: post-major, pre ascending
    with h5py.File(path, "w") as f:
        f["post"] = post.astype(np.int32)
        f["pre"] = pre.astype(np.int32)
        f["w"] = W[post, pre]
        f["tau_m"] = torch.cat([model.barrelloid_tau_m.detach()] + [t.detach() for t in model.tau_m]).numpy()
        f["tau_adp"] = torch.cat([model.barrelloid_tau_adp.detach()] + [t.detach() for t in model.tau_adp]).numpy()
        names = ["fc_f", "fc_t"] if form == "spiking" else ["fc"]
        for n in names + ["barrelloid", "fc2_1", "fc2_2"]:
            lin = getattr(model, n)
            f[n + ".weight"] = lin.weight.detach().numpy()
            f[n + ".bias"] = lin.bias.detach().numpy()
        f.attrs["init_b"] = model.init_b
        f.attrs["clamped"] = int(sum(int((((b.weight < 0) | (b.weight > 1)) & (b.mask != 0)).sum())
                                     for _, _, b in blocks(model)))


def make(a):
    for k, (form, init_b, init_w) in enumerate((("spiking", 0.04, 0.06), ("real", 0.03, 0.05))):
        if form not in a.forms:
            continue
        torch.manual_seed(a.seed + k)
        model = SRNN_bfd(a.tables, form, init_b, init_w)
        torch.save(model, os.path.join(a.dir, form + ".pth"))
        write_truth(model, os.path.join(a.dir, f"truth_{form}.h5"), form)
    if a.defects:  # variants of the last model made
        w = model.toPops[4][2].weight
        keep = w.data[0, 0].item()
        w.data[0, 0] = float("nan")
        torch.save(model, os.path.join(a.dir, "nan.pth"))
        w.data[0, 0] = keep
        del model.toPops[7][0]
        torch.save(model, os.path.join(a.dir, "missing_block.pth"))
        torch.save({"fc2_2.weight": model.fc2_2.weight}, os.path.join(a.dir, "state_dict.pth"))


# ---- the original forward (spec §1.4-1.6) in float64, and its autograd gradients ---------

class SpikeGaussian(torch.autograd.Function):
    """ActFun_adp of the original: Heaviside(u > 0); backward a Gaussian of width 0.5 scaled
    by 0.5: 0.5 exp(-u^2 / (2 * 0.5^2)) / (sqrt(2 pi) 0.5) = exp(-2 u^2) / sqrt(2 pi)."""

    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad):
        (u,) = ctx.saved_tensors
        return grad * torch.exp(-2.0 * u * u) / np.sqrt(2.0 * np.pi)


def original_forward(model_path, io_path):
    """Runs MODEL on IO's x from IO's v0, s0 with full BPTT recorded (nothing detached).
    Returns a namespace with summed [B, 3], margin, spikes, labels (when IO has them), T and
    the float64 leaves: taus_m, taus_a (per group), dense {name: (weight, bias)}, blks."""
    model = torch.load(model_path)
    with h5py.File(io_path, "r") as f:
        x = torch.from_numpy(f["x"][()]).double()
        v0 = torch.from_numpy(f["v0"][()]).double()
        s0 = torch.from_numpy(f["s0"][()]).double()
        labels = torch.from_numpy(f["labels"][()]).long() if "labels" in f else None
    T, B, _ = x.shape
    leaf = lambda t: t.detach().double().clone().requires_grad_(True)
    b_j0, beta = float(model.init_b), 1.8
    off = np.cumsum([N_THAL] + POP_SIZES)
    bounds = [(0, N_THAL)] + [(off[i], off[i + 1]) for i in range(13)]
    taus_m = [leaf(model.barrelloid_tau_m)] + [leaf(t) for t in model.tau_m]
    taus_a = [leaf(model.barrelloid_tau_adp)] + [leaf(t) for t in model.tau_adp]
    names = (["fc_f", "fc_t"] if hasattr(model, "fc_f") else ["fc"]) + ["barrelloid", "fc2_1", "fc2_2"]
    dense = {n: (leaf(getattr(model, n).weight), leaf(getattr(model, n).bias)) for n in names}
    lin = lambda name, z: F.linear(z, *dense[name])
    # (post offset, pre offset, clamped weight leaf, mask) per block: the original clamps
    # weight.data in place, then multiplies by the mask, so d weight = d effective * mask.
    blks = [(po, pr, leaf(blk.weight.detach().clamp(0, 1)), blk.mask.double()) for po, pr, blk in blocks(model)]
    by_block = {id(blk): k for k, (_, _, blk) in enumerate(blocks(model))}
    eff = lambda blk: blks[by_block[id(blk)]][2] * blks[by_block[id(blk)]][3]
    th_targets = [i for i in range(13) if model.Prob_ThtoAll[i] != 0]
    w_th = {i: eff(model.ThtoPops[k]) for k, i in enumerate(th_targets)}
    w_rec = {}
    for i in range(13):
        sources = [j for j in range(13) if model.Type_AlltoAll[j, i] != 0]
        w_rec[i] = [(j, float(model.Type_AlltoAll[j, i]), eff(model.toPops[i][k])) for k, j in enumerate(sources)]
    v = [v0[:, lo:hi].clone() for lo, hi in bounds]  # group 0 = thalamus
    s = [s0[:, lo:hi].clone() for lo, hi in bounds]
    adp = [torch.full_like(v[g], b_j0) for g in range(14)]
    margin, spikes = float("inf"), 0
    summed = torch.zeros(B, 3, dtype=torch.float64)
    per_step, near, cum = np.zeros(T, dtype=np.int64), np.full(T, np.inf), np.zeros((T, B, 3))

    def step(g, current):
        nonlocal margin, spikes
        alpha, ro = torch.exp(-1.0 / taus_m[g]), torch.exp(-1.0 / taus_a[g])
        adp[g] = ro * adp[g] + (1 - ro) * s[g]
        th = b_j0 + beta * adp[g]
        v[g] = v[g] * alpha + (1 - alpha) * current - th * s[g]
        u = v[g] - th
        margin = min(margin, float(u.detach().abs().min()))
        near[t] = min(near[t], float(u.detach().abs().min()))
        s[g] = SpikeGaussian.apply(u)
        spikes += int(s[g].detach().sum())
        per_step[t] += int(s[g].detach().sum())

    t = 0
    for t in range(T):
        if "fc_f" in dense:
            sweep = torch.cat([lin("fc_f", x[t, :, :93]), lin("fc_t", x[t, :, 93:])], dim=1)
        else:
            sweep = lin("fc", x[t])
        step(0, lin("barrelloid", sweep))
        for i in range(13):
            current = F.linear(s[0], w_th[i]) if i in w_th else torch.zeros_like(v[i + 1])
            for j, sign, w in w_rec[i]:  # j < i: this step's spikes (already updated)
                current = current + sign * F.linear(s[j + 1], w)
            step(i + 1, current)
        if t > 0:
            summed = summed + F.softmax(lin("fc2_2", lin("fc2_1", torch.cat([s[1], s[2], s[5]], dim=1))), dim=1)
        cum[t] = summed.detach().numpy()
    return types.SimpleNamespace(summed=summed, margin=margin, spikes=spikes, labels=labels, T=T,
                                 per_step=per_step, near=near, cum=cum,
                                 taus_m=taus_m, taus_a=taus_a, dense=dense, blks=blks)


def reference(model_path, io_path, out_path):
    r = original_forward(model_path, io_path)
    with h5py.File(out_path, "w") as f:
        f["summed"] = r.summed.detach().numpy()
        f["margin"] = r.margin
        f["spikes"] = r.spikes
        f["per_step"] = r.per_step
        f["near"] = r.near
        f["cum"] = r.cum


def gradients(model_path, io_path, out_path):
    r = original_forward(model_path, io_path)
    if r.labels is None:
        sys.exit(f"gradients: {io_path} has no 'labels'")
    loss = F.cross_entropy(r.summed / r.T, r.labels)
    loss.backward()
    posts, pres, dws = [], [], []
    for po, pr, wc, mask in r.blks:
        rows, cols = np.nonzero(mask.numpy())
        posts.append(rows + po)
        pres.append(cols + pr)
        dws.append((wc.grad * mask).numpy()[rows, cols])
    post, pre, dw = np.concatenate(posts), np.concatenate(pres), np.concatenate(dws)
    order = np.lexsort((pre, post))  # post-major, pre ascending
    with h5py.File(out_path, "w") as f:
        f["loss"] = float(loss)
        f["margin"] = r.margin
        f["spikes"] = r.spikes
        f["summed"] = r.summed.detach().numpy()
        for n, (w, b) in r.dense.items():
            f["d" + n + ".weight"] = w.grad.numpy()
            f["d" + n + ".bias"] = b.grad.numpy()
        f["dtau_m"] = torch.cat([t.grad for t in r.taus_m]).numpy()
        f["dtau_adp"] = torch.cat([t.grad for t in r.taus_a]).numpy()
        f["post"] = post[order].astype(np.int32)
        f["pre"] = pre[order].astype(np.int32)
        f["dw"] = dw[order]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--dir", required=True)
    m.add_argument("--forms", nargs="+", choices=["spiking", "real"], default=["spiking", "real"])
    m.add_argument("--seed", type=int, default=515)
    m.add_argument("--tables", default=os.path.join(os.path.dirname(__file__), "..", "data", "barrel"))
    m.add_argument("--defects", action="store_true")
    for name in ("reference", "gradients"):
        sub.add_parser(name).add_argument("files", nargs="+", help="MODEL IO OUT triples")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.cmd == "make":
        make(a)
    else:
        if len(a.files) % 3:
            ap.error(a.cmd + ": expected MODEL IO OUT triples")
        for k in range(0, len(a.files), 3):
            (reference if a.cmd == "reference" else gradients)(*a.files[k:k + 3])


if __name__ == "__main__":
    main()
