#!/usr/bin/env python3
"""Plots for rsnn's rate-to-spiking models (matplotlib; reads rsnn's HDF5 files).

  plot_rate.py train   MODEL.h5      OUT.png   training progress, four panels (from a mid-run
                                               snapshot or a final model): eval performance; the
                                               loss of every training trial and evaluation; x of
                                               10 units in the last training trial; its target
                                               and output
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


def read_opt(f, key):
    return f[key][()] if key in f else None


def panel_performance(ax, hist, task, n, tr):
    if len(hist):
        ax.plot(hist[:, 0], hist[:, 1], "o-", color="k", ms=3)
    ax.axhline(0.95, color="gray", ls="--", lw=0.8)  # the termination threshold
    ax.set_xlabel("trial")
    ax.set_ylabel("eval performance")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(f"{task}, N = {n}, trial {tr}")


def panel_loss(ax, losses, hist, tr):
    if losses is not None and len(losses):
        # One loss per Adam step of B trials; the file's tr is the last trial of the last step.
        b = (tr + 1) / len(losses)
        ax.plot((np.arange(len(losses)) + 1) * b - 1, losses, lw=0.5, color="gray", label="training trial")
    if len(hist):
        ax.plot(hist[:, 0], hist[:, 2], "s-", color="tab:orange", ms=3, label="evaluation")
    ax.axhline(7, color="tab:orange", ls=":", lw=0.8)  # the termination threshold (L2)
    ax.set_xlabel("trial")
    ax.set_ylabel("loss")
    ax.set_title("loss")
    ax.legend(fontsize=8)


def panel_activity(ax, x, inh, dt_ms):
    if x is None:
        ax.text(0.5, 0.5, "no trace in this file", ha="center", va="center", transform=ax.transAxes)
        return
    T, N = x.shape
    # A fixed, evenly spaced sample so successive PNGs show the same units.
    units = np.unique(np.linspace(0, N - 1, min(10, N)).astype(int))
    t = np.arange(T) * dt_ms
    for i in units:
        col = "tab:blue" if inh is not None and inh[i] else "tab:red"
        ax.plot(t, x[:, i], lw=0.7, color=col, alpha=0.8)
    ax.plot([], [], color="tab:red", label="excitatory")
    ax.plot([], [], color="tab:blue", label="inhibitory")
    ax.legend(fontsize=8)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("x (synaptic current)")
    ax.set_title(f"last training trial: {len(units)} of {N} units")


def panel_output(ax, target, o, dt_ms):
    if target is None or o is None:
        ax.text(0.5, 0.5, "no output in this file", ha="center", va="center", transform=ax.transAxes)
        return
    ax.plot(np.arange(len(target)) * dt_ms, target, color="k", lw=1.2, label="target z")
    ax.plot((np.arange(len(o)) + 1) * dt_ms, o, color="tab:green", lw=1.0, label="output o")
    ax.legend(fontsize=8)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("o, z")
    ax.set_title("last training trial: target and output")


def plot_train(path, out):
    """The four panels of the DMS fork's progress report, from a mid-run snapshot or a model."""
    with h5py.File(path, "r") as f:
        task = text(f["task"])
        hist = f["eval_history"][()] if "eval_history" in f else np.zeros((0, 4))
        losses = read_opt(f, "losses")
        x = read_opt(f, "x")
        inh = read_opt(f, "inh")
        target = read_opt(f, "target")
        o = read_opt(f, "o")
        n = int(f["N"][()])
        tr = int(f["tr"][()]) if "tr" in f else 0
    dt_ms = 5.0  # the rate model's step (spec: deltaT = 5 ms)
    fig, ax = plt.subplots(2, 2, figsize=(12, 7.5), gridspec_kw={"wspace": 0.3, "hspace": 0.45})
    panel_performance(ax[0, 0], hist, task, n, tr)
    panel_loss(ax[0, 1], None if losses is None else losses.ravel(), hist, tr)
    panel_activity(ax[1, 0], x, None if inh is None else inh.ravel().astype(bool), dt_ms)
    panel_output(ax[1, 1], None if target is None else target.ravel(), None if o is None else o.ravel(), dt_ms)
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
