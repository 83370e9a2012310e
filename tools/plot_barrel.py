#!/usr/bin/env python3
"""Plots of the barrel-cortex RSNN analyses (matplotlib; reads the files of
`rsnn barrel analyze` and `rsnn barrel deprive`; layouts in docs/barrel.md).

  plot_barrel.py raster      raster.h5    OUT.png  raster of one sample (E red, I blue, a line at the
                                                   L4 / L2/3 boundary) and the four population rates
  plot_barrel.py dynamics    dynamics.h5  OUT.png  tau_m and tau_adp densities per population (mean and
                                                   init marked), isolated-population rates vs Izhikevich
  plot_barrel.py degrees     degrees.h5   OUT.png  weighted in/out-degree histograms, fresh vs trained
  plot_barrel.py cv          cv.h5        OUT.png  mean CV over the (init_w, init_b) grid
  plot_barrel.py anova       anova.h5     OUT.png  class preference of the neurons (selective ones coloured)
  plot_barrel.py deprivation DEPRIVE.csv  OUT.png  test accuracy vs removed whiskers (trials and mean)
  plot_barrel.py training    log.csv      OUT.png  loss and accuracy per epoch of `rsnn barrel train`

OUT.png may be omitted: the PNG then goes beside the input with the same stem.
The PNG is written to a temporary file and renamed, so a reader never sees half a file.
"""
import csv
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def attr(f, name, default=None):
    if name not in f.attrs:
        return default
    v = f.attrs[name]
    return v.decode() if isinstance(v, bytes) else v


def names(f, key):
    return str(attr(f, key, "")).split(",")


def save(fig, out):
    tmp = out + ".tmp.png"
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, out)


def plot_raster(path, out):
    with h5py.File(path, "r") as f:
        raster = f["raster"][()]  # [T, N]
        rates = f["rates"][()]
        mean_rates = f["mean_rates"][()]
        bin_end = f["bin_end"][()]
        sign = f["neuron_sign"][()]
        bounds = f["group_bounds"][()]
        groups = names(f, "group_names")
        sample, label = attr(f, "sample", 0), attr(f, "class_name", "")
        samples = attr(f, "samples", 1)
    T, N = raster.shape
    t, n = np.nonzero(raster)
    exc = sign[n] > 0
    fig, ax = plt.subplots(2, 1, figsize=(11, 9), gridspec_kw={"height_ratios": [3, 1.3], "hspace": 0.25})
    ax[0].scatter(t[exc], n[exc], s=0.6, c="tab:red", marker="|", linewidths=0.4, label="excitatory")
    ax[0].scatter(t[~exc], n[~exc], s=0.6, c="tab:blue", marker="|", linewidths=0.4, label="inhibitory")
    l4_end = bounds[1][1]  # end of L4 I: the L4 / L2/3 boundary
    ax[0].axhline(l4_end - 0.5, color="k", lw=0.8)
    ax[0].text(T * 1.005, l4_end / 2, "L4", va="center")
    ax[0].text(T * 1.005, (l4_end + N) / 2, "L2/3", va="center")
    ax[0].set_xlim(0, T)
    ax[0].set_ylim(N, 0)
    ax[0].set_ylabel("cortical neuron")
    ax[0].set_title(f"class {label}, sample {sample}: {len(t)} spikes")
    colors = ["tab:red", "tab:blue", "darkred", "navy"]
    for g, name in enumerate(groups):
        ax[1].plot(bin_end, rates[g], color=colors[g % 4], lw=1.2, label=name)
        ax[1].plot(bin_end, mean_rates[g], color=colors[g % 4], lw=0.8, ls="--")
    ax[1].set_xlim(0, T)
    ax[1].set_xlabel("time step")
    ax[1].set_ylabel("rate (Hz at 1 ms per step)")
    ax[1].set_title(f"population rates (solid: this sample; dashed: mean of {samples})", fontsize=9)
    ax[1].legend(fontsize=8, ncol=4)
    save(fig, out)


def plot_dynamics(path, out):
    with h5py.File(path, "r") as f:
        pops = names(f, "population_names")
        kde = {k: (f[k + "_kde/grid"][()], f[k + "_kde/density"][()]) for k in ("tau_m", "tau_adp")}
        means = {k: f[k + "_mean"][()] for k in ("tau_m", "tau_adp")}
        init = {"tau_m": attr(f, "tau_m_init", 10.0), "tau_adp": attr(f, "tau_adp_init", 5.0)}
        rates_norm, izh_norm = f["rates_norm"][()], f["izhikevich_norm"][()]
        r, p = attr(f, "r"), attr(f, "p")
        cr, cp = attr(f, "control_r"), attr(f, "control_p")
    fig, ax = plt.subplots(1, 3, figsize=(17, 4.6), gridspec_kw={"wspace": 0.3})
    cmap = plt.get_cmap("tab20")
    for i, (key, label) in enumerate((("tau_m", "tau_m (steps)"), ("tau_adp", "tau_adp (steps)"))):
        grid, dens = kde[key]
        for k in range(len(pops)):
            ax[i].plot(grid[k], dens[k], color=cmap(k), lw=1.0, label=pops[k])
        ax[i].axvline(np.mean(means[key]), color="k", lw=0.8, label="mean of means")
        ax[i].axvline(init[key], color="gray", ls="--", lw=0.8, label="init")
        ax[i].set_xlabel(label)
        ax[i].set_ylabel("density")
    ax[0].legend(fontsize=6, ncol=2)
    x = np.arange(len(pops))
    ax[2].bar(x - 0.2, rates_norm, 0.4, color="tab:green", label="model (isolated)")
    ax[2].bar(x + 0.2, izh_norm, 0.4, color="tab:gray", label="Izhikevich")
    ax[2].set_xticks(x)
    ax[2].set_xticklabels(pops, rotation=70, fontsize=7)
    ax[2].set_ylabel("normalised rate")
    ax[2].set_title(f"r = {r:.3f} (p = {p:.3g}); control r = {cr:.3f} (p = {cp:.3g})", fontsize=9)
    ax[2].legend(fontsize=8)
    save(fig, out)


def plot_degrees(path, out):
    with h5py.File(path, "r") as f:
        h = {(m, d): (f[f"{m}/{d}_hist/edges"][()], f[f"{m}/{d}_hist/counts"][()])
             for m in ("fresh", "trained") for d in ("in", "out")}
    fig, ax = plt.subplots(1, 2, figsize=(12, 4))
    for i, d in enumerate(("in", "out")):
        for m, c in (("fresh", "tab:gray"), ("trained", "tab:purple")):
            edges, counts = h[(m, d)]
            ax[i].stairs(counts, edges, color=c, label=m, fill=False)
        ax[i].set_xlabel(f"weighted {d}-degree")
        ax[i].set_ylabel("neurons")
        ax[i].legend()
    save(fig, out)


def plot_cv(path, out):
    with h5py.File(path, "r") as f:
        w, b, cv = f["w"][()], f["b"][()], f["cv"][()]
        samples = attr(f, "samples", 0)
    fig, ax = plt.subplots(figsize=(max(5, 0.6 * len(b) + 2), max(3, 0.6 * len(w) + 1.5)))
    im = ax.imshow(cv, aspect="auto", origin="lower", cmap="viridis")
    ax.set_xticks(np.arange(len(b)))
    ax.set_xticklabels([f"{v:g}" for v in b], rotation=60 if len(b) > 12 else 0, fontsize=7)
    ax.set_yticks(np.arange(len(w)))
    ax.set_yticklabels([f"{v:g}" for v in w])
    ax.set_xlabel("init_b")
    ax.set_ylabel("init_w")
    ax.set_title(f"mean CV of untrained models ({samples} samples)")
    if cv.size <= 120:
        for i in range(cv.shape[0]):
            for j in range(cv.shape[1]):
                ax.text(j, i, f"{cv[i, j]:.2f}", ha="center", va="center", fontsize=6, color="w")
    fig.colorbar(im, ax=ax, label="CV")
    save(fig, out)


def plot_anova(path, out):
    with h5py.File(path, "r") as f:
        models = names(f, "models")
        data = {m: (f[m + "/xy"][()], f[m + "/selective"][()].astype(bool), f[m + "/proportions"][()],
                    float(f[m].attrs["fraction"])) for m in models}
    fig, axes = plt.subplots(1, len(models), figsize=(5.5 * len(models), 5), squeeze=False)
    corners = np.array([[-np.sqrt(3) / 2, -0.5], [0, 1], [np.sqrt(3) / 2, -0.5], [-np.sqrt(3) / 2, -0.5]])
    colors = np.array([[0.85, 0.2, 0.2], [0.2, 0.7, 0.2], [0.2, 0.3, 0.85]])
    for ax, m in zip(axes[0], models):
        xy, sel, prop, frac = data[m]
        ax.plot(corners[:, 0], corners[:, 1], color="k", lw=0.6)
        ax.scatter(xy[~sel, 0], xy[~sel, 1], s=2, color="lightgray", label="not selective")
        ax.scatter(xy[sel, 0], xy[sel, 1], s=3, c=np.clip(prop[sel] @ colors, 0, 1), label="selective")
        for (x, y), name in zip(corners[:3], ("helmet", "box", "plane")):
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(0, 6 if y > 0 else -12), ha="center")
        ax.set_aspect("equal")
        ax.set_xlim(-1, 1)
        ax.set_ylim(-0.75, 1.15)
        ax.axis("off")
        ax.set_title(f"{m}: {100 * frac:.1f} % selective (p < 0.001)")
    save(fig, out)


def plot_deprivation(path, out):
    ks, accs = [], []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            ks.append(int(row["k"]))
            accs.append(float(row["accuracy"]))
    ks, accs = np.array(ks), np.array(accs)
    if len(ks) == 0:
        raise SystemExit(f"{path}: no trials")
    levels = np.unique(ks)
    means = np.array([accs[ks == k].mean() for k in levels])
    jitter = (np.random.default_rng(0).random(len(ks)) - 0.5) * 0.25
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(ks + jitter, accs, s=8, color="tab:blue", alpha=0.4, label="trials")
    ax.plot(levels, means, "o-", color="k", label="mean")
    ax.set_xticks(levels)
    ax.set_xlabel("removed whiskers k")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.legend()
    save(fig, out)


def plot_training(path, out):
    rows = []
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise SystemExit(f"{path}: no epochs")
    ep = np.array([int(r["epoch"]) for r in rows])
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(ep, [float(r["train_loss"]) for r in rows], "o-", label="train")
    a1.plot(ep, [float(r["test_loss"]) for r in rows], "o-", label="test")
    a1.set_xlabel("epoch")
    a1.set_ylabel("loss")
    a1.legend()
    a2.plot(ep, [float(r["train_accuracy"]) for r in rows], "o-", label="train")
    a2.plot(ep, [float(r["test_accuracy"]) for r in rows], "o-", label="test")
    a2.axhline(1 / 3, color="gray", ls=":", label="chance")
    a2.set_xlabel("epoch")
    a2.set_ylabel("accuracy")
    a2.set_ylim(0, 1)
    a2.legend()
    save(fig, out)


KINDS = {"training": plot_training, "raster": plot_raster, "dynamics": plot_dynamics, "degrees": plot_degrees, "cv": plot_cv,
         "anova": plot_anova, "deprivation": plot_deprivation}


def main(argv):
    if len(argv) not in (3, 4) or argv[1] not in KINDS:
        sys.stderr.write(__doc__)
        return 2
    src = argv[2]
    out = argv[3] if len(argv) == 4 else os.path.splitext(src)[0] + ".png"
    if not os.path.exists(src):
        sys.stderr.write(f"plot_barrel.py: {src}: no such file\n")
        return 1
    KINDS[argv[1]](src, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
