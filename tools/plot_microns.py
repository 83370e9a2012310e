#!/usr/bin/env python3
"""Plots of a MICrONS sweep folder written by `rsnn micron sweep`.

Reads OUT/summary_ci.csv and OUT/Task<t>/<Metric>_raw.csv and writes into OUT/plots/:
  accuracy.png           mean accuracy per variant and task with the t 95 % interval
  <metric>_dist.png      per-run values (dots) and their distribution (box) per variant,
                         one panel per task, for Modularity, SmallWorldness, Assortativity,
                         Entropy, Validation_Accuracy and Loss
Usage: plot_microns.py OUT
"""
import csv
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DIST_METRICS = ["Modularity", "SmallWorldness", "Assortativity", "Entropy",
                "Validation_Accuracy", "Loss"]


def read_ci(path):
    rows = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows[(r["task"], r["metric"], r["variant"])] = r
    return rows


def read_raw(path):
    """{variant: [finite values]} and the variant order of the file."""
    with open(path, newline="") as f:
        rd = csv.reader(f)
        header = next(rd)
        keys = header[1:]
        vals = {k: [] for k in keys}
        for row in rd:
            for k, cell in zip(keys, row[1:]):
                if cell == "":
                    continue
                x = float(cell)
                if math.isfinite(x):
                    vals[k].append(x)
    return keys, vals


def num(s):
    try:
        x = float(s)
    except ValueError:
        return float("nan")
    return x


def tasks_in(out):
    return sorted(d for d in os.listdir(out)
                  if d.startswith("Task") and os.path.isdir(os.path.join(out, d)))


def plot_accuracy(out, ci, tasks, dest):
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.8), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        keys, _ = read_raw(os.path.join(out, task, "Accuracy_raw.csv"))
        means, lo, hi = [], [], []
        for k in keys:
            r = ci.get((task, "Accuracy", k), {})
            m = num(r.get("mean", ""))
            means.append(m)
            l, h = num(r.get("ci_low", "")), num(r.get("ci_high", ""))
            lo.append(m - l if math.isfinite(l) else 0.0)
            hi.append(h - m if math.isfinite(h) else 0.0)
        xs = range(len(keys))
        ax.bar(xs, means, color="#7fa7d9", edgecolor="#2c5d99")
        ax.errorbar(xs, means, yerr=[lo, hi], fmt="none", ecolor="k", capsize=3, lw=1)
        ax.set_xticks(list(xs))
        ax.set_xticklabels(keys, rotation=60, ha="right", fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_title(task)
        ax.set_ylabel("last-epoch training accuracy")
    fig.suptitle("Accuracy per variant (mean, t 95 % CI)")
    fig.tight_layout()
    fig.savefig(dest, dpi=120)
    plt.close(fig)


def plot_distribution(out, metric, tasks, dest):
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3.8), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        path = os.path.join(out, task, metric + "_raw.csv")
        if not os.path.exists(path):
            ax.set_visible(False)
            continue
        keys, vals = read_raw(path)
        data = [vals[k] if vals[k] else [float("nan")] for k in keys]
        ax.boxplot(data, showfliers=False)
        for i, v in enumerate(data, start=1):
            ax.plot([i] * len(v), v, ".", color="#c0392b", alpha=0.6, ms=4)
        ax.set_xticks(range(1, len(keys) + 1))
        ax.set_xticklabels(keys, rotation=60, ha="right", fontsize=8)
        ax.set_title(task)
        ax.set_ylabel(metric)
    fig.suptitle(metric + " per run")
    fig.tight_layout()
    fig.savefig(dest, dpi=120)
    plt.close(fig)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: plot_microns.py SWEEP_FOLDER\n")
        return 2
    out = argv[1]
    ci_path = os.path.join(out, "summary_ci.csv")
    if not os.path.exists(ci_path):
        sys.stderr.write("plot_microns.py: %s: missing (run rsnn micron sweep first)\n" % ci_path)
        return 1
    ci = read_ci(ci_path)
    tasks = tasks_in(out)
    if not tasks:
        sys.stderr.write("plot_microns.py: %s: no Task folders\n" % out)
        return 1
    dest = os.path.join(out, "plots")
    os.makedirs(dest, exist_ok=True)
    plot_accuracy(out, ci, tasks, os.path.join(dest, "accuracy.png"))
    for m in DIST_METRICS:
        plot_distribution(out, m, tasks, os.path.join(dest, m.lower() + "_dist.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
