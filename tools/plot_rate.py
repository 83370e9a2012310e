#!/usr/bin/env python3
"""Plots for rsnn's rate-to-spiking models (matplotlib; reads rsnn's HDF5 files).

  plot_rate.py train   MODEL.h5      OUT.png   training progress: performance and loss at every
                                               evaluation, the last evaluation's outputs by label
  plot_rate.py spiking RECORDING.h5  OUT.png   LIF simulation: raster (excitatory red, inhibitory
                                               blue), readout outputs, a few membrane traces
  plot_rate.py grid    MODEL.h5      OUT.png   grid search: performance per scaling factor

The PNG is written to a temporary file and renamed, so a reader never sees half a file.
"""
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def text(ds):
    v = ds[()]
    return v.decode() if isinstance(v, bytes) else str(v)


def save(fig, out):
    tmp = out + ".tmp.png"
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, out)


def plot_train(path, out):
    with h5py.File(path, "r") as f:
        task = text(f["task"])
        hist = f["eval_history"][()] if "eval_history" in f else np.zeros((0, 4))
        os_ = f["eval_os"][()] if "eval_os" in f else None
        labels = f["eval_labels"][()].ravel() if "eval_labels" in f else None
        losses = f["losses"][()].ravel() if "losses" in f else None
        n = int(f["N"][()])
    fig, ax = plt.subplots(1, 3, figsize=(15, 3.6), gridspec_kw={"wspace": 0.45})
    if len(hist):
        ax[0].plot(hist[:, 0], hist[:, 1], "o-", color="k")
        ax[0].axhline(0.95, color="gray", ls="--", lw=0.8)
        ax2 = ax[0].twinx()
        ax2.plot(hist[:, 0], hist[:, 2], "s-", color="tab:orange")
        ax2.axhline(7, color="tab:orange", ls=":", lw=0.8)
        ax2.set_ylabel("eval loss", color="tab:orange")
    ax[0].set_xlabel("trial")
    ax[0].set_ylabel("eval performance")
    ax[0].set_ylim(-0.05, 1.05)
    ax[0].set_title(f"{task}, N = {n}")
    if losses is not None and len(losses):
        ax[1].plot(np.arange(len(losses)), losses, lw=0.5, color="gray")
        ax[1].set_xlabel("training step")
        ax[1].set_ylabel("trial loss")
    if os_ is not None and labels is not None:
        t = (np.arange(os_.shape[1]) + 1) * 5.0  # o[k] is the output at step k+1 (5 ms)
        colors = {1: "tab:green", 0: "tab:red", -1: "tab:red"}
        for lab in sorted(set(labels.astype(int).tolist())):
            rows = os_[labels.astype(int) == lab]
            for r in rows[:10]:
                ax[2].plot(t, r, color=colors.get(lab, "k"), lw=0.6, alpha=0.6)
            ax[2].plot([], [], color=colors.get(lab, "k"), label=f"label {lab}")
        ax[2].legend(fontsize=8)
        ax[2].set_xlabel("time (ms)")
        ax[2].set_ylabel("output o")
    save(fig, out)


def plot_spiking(path, out):
    with h5py.File(path, "r") as f:
        ntr = int(f["n_trials"][()])
        dt = float(f["dt"][()])
        stride = int(f["stride"][()])
        inh = f["inh"][()].ravel().astype(bool)
        sf = float(f["scaling_factor"][()])
        task = text(f["task"])
        perf = float(f["performance"][()])
        trials = []
        for k in range(ntr):
            g = f[f"trial_{k}"]
            trials.append({key: g[key][()] for key in g.keys()})
    fig, ax = plt.subplots(3, ntr, figsize=(6 * ntr, 8), squeeze=False, sharex="col",
                           gridspec_kw={"height_ratios": [3, 1.2, 1.2]})
    for k, tr in enumerate(trials):
        steps = tr["spike_step"].ravel()
        units = tr["spike_unit"].ravel().astype(int)
        t = (steps + 1) * dt
        col = np.where(inh[units], "tab:blue", "tab:red")
        ax[0, k].scatter(t, units, s=1.0, c=col, marker="|")
        ax[0, k].set_ylabel("neuron")
        ax[0, k].set_title(f"{task} trial {k}, label {int(tr['label'])} (1/lambda {sf:g}, perf {perf:.2f})")
        outv = tr["out"].ravel()
        ax[1, k].plot((np.arange(len(outv)) + 1) * dt, outv, color="k", lw=0.8)
        ax[1, k].axhline(0.7, color="gray", ls="--", lw=0.6)
        ax[1, k].set_ylabel("output")
        if "v" in tr:
            v = tr["v"]
            tv = (np.arange(v.shape[1]) * stride + 1) * dt
            for i in range(min(3, v.shape[0])):
                ax[2, k].plot(tv, v[i], lw=0.5)
            ax[2, k].set_ylabel("v (mV)")
        ax[2, k].set_xlabel("time (s)")
    save(fig, out)


def plot_grid(path, out):
    with h5py.File(path, "r") as f:
        sf = f["scaling_factors"][()].ravel()
        perfs = f["all_perfs"][()].ravel()
        opt = float(f["opt_scaling_factor"][()])
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(sf, perfs, "o-", color="k")
    ax.axvline(opt, color="tab:green", ls="--", label=f"chosen 1/lambda = {opt:g}")
    ax.set_xlabel("scaling factor 1/lambda")
    ax.set_ylabel("LIF performance")
    ax.set_ylim(-0.05, 1.05)
    ax.legend()
    save(fig, out)


def main(argv):
    if len(argv) != 4 or argv[1] not in ("train", "spiking", "grid"):
        sys.stderr.write(__doc__)
        return 2
    try:
        {"train": plot_train, "spiking": plot_spiking, "grid": plot_grid}[argv[1]](argv[2], argv[3])
    except (OSError, KeyError) as e:
        sys.stderr.write(f"plot_rate.py: {argv[2]}: {e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
