#!/usr/bin/env python3
"""Plots of an `rsnn rstdp train` run folder (matplotlib, numpy).

  plot_rstdp.py RUN    writes RUN/accuracy.png (train and test accuracy per layer-3 epoch,
                       the best test marked) from RUN/history.csv, and RUN/layer1_features.png
                       (the 30 layer-1 features reconstructed through the DoG kernels) from
                       RUN/layer1_features.npy.

Each PNG is written to a temporary file and renamed, so a reader never sees half a file.
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save(fig, out):
    tmp = out + ".tmp.png"
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, out)


def accuracy(run):
    path = os.path.join(run, "history.csv")
    if not os.path.exists(path):
        return
    ep, tr, te = [], [], []
    with open(path) as f:
        for row in csv.DictReader(f):
            if row["layer"] == "3":
                ep.append(int(row["epoch"]) + 1)
                tr.append(float(row["train_acc"]))
                te.append(float(row["test_acc"]))
    if not ep:
        return
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(ep, tr, label="train", marker="." if len(ep) < 50 else None)
    ax.plot(ep, te, label="test", marker="." if len(ep) < 50 else None)
    b = int(np.argmax(te))
    ax.scatter([ep[b]], [te[b]], color="k", zorder=3, label=f"best test {te[b]:.4f} (epoch {ep[b]})")
    ax.set_xlabel("layer-3 epoch")
    ax.set_ylabel("accuracy")
    ax.grid(alpha=0.3)
    ax.legend()
    save(fig, os.path.join(run, "accuracy.png"))


def features(run):
    path = os.path.join(run, "layer1_features.npy")
    if not os.path.exists(path):
        return
    f = np.load(path)
    rows, cols = 5, (len(f) + 4) // 5
    fig, axs = plt.subplots(rows, cols, figsize=(cols * 1.2, rows * 1.2))
    for i, ax in enumerate(axs.flat):
        ax.axis("off")
        if i < len(f):
            ax.imshow(f[i], cmap="gray")
            ax.set_title(str(i), fontsize=7)
    fig.suptitle("layer-1 features (reconstructed)", fontsize=9)
    save(fig, os.path.join(run, "layer1_features.png"))


if __name__ == "__main__":
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: plot_rstdp.py RUN_FOLDER")
    accuracy(sys.argv[1])
    features(sys.argv[1])
