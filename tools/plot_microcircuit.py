#!/usr/bin/env python3
"""Plots of `rsnn microcircuit` (matplotlib; reads the files of its output folder).

  plot_microcircuit.py raster SPIKES.h5 OUT.png [WINDOW_MS]
      spikes of the recorded neurons in the first WINDOW_MS (default 200) ms of the record,
      populations stacked top to bottom from L2/3 to L6 (excitatory red, inhibitory blue)
  plot_microcircuit.py rates  RATES.csv OUT.png
      firing rate per population as horizontal bars (excitatory red, inhibitory blue)

The PNG is written to a temporary file and renamed, so a reader never sees half a file.
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

RED, BLUE = "#c0392b", "#2c5fa8"


def save(fig, out):
    tmp = out + ".tmp.png"
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
    os.replace(tmp, out)


def colour(name):
    return RED if name.endswith("E") else BLUE


def label(name):
    return name.replace("L23", "L2/3")


def plot_raster(path, out, window_ms=200.0):
    import h5py  # only the raster needs it

    with h5py.File(path, "r") as f:
        names = list(f["spikes"].keys())
        order = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
        names = [n for n in order if n in names] + [n for n in names if n not in order]
        groups = [(n, f["spikes"][n]) for n in names]
        fig, ax = plt.subplots(figsize=(8, 6))
        top, ticks = 0, []
        for name, g in groups:
            recorded = int(g.attrs["recorded"])
            t = g["time_ms"][()]
            i = g["neuron"][()]
            keep = t <= window_ms
            # Top to bottom: the first population gets the largest row numbers.
            ax.plot(t[keep], -(top + i[keep]), ".", ms=1.0, color=colour(name), rasterized=True)
            ticks.append((-(top + recorded / 2.0), label(name)))
            top += recorded
    ax.set_yticks([y for y, _ in ticks])
    ax.set_yticklabels([n for _, n in ticks])
    ax.set_xlim(0, window_ms)
    ax.set_ylim(-top - 1, 1)
    ax.set_xlabel("time (ms) after the presimulation")
    ax.set_title("cortical microcircuit: recorded spikes")
    save(fig, out)


def plot_rates(path, out):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        raise SystemExit(f"plot_microcircuit.py: {path}: no populations")
    names = [r["population"] for r in rows]
    rates = np.array([float(r["rate_hz"]) for r in rows])
    fig, ax = plt.subplots(figsize=(6, 4))
    y = np.arange(len(names))[::-1]
    ax.barh(y, rates, color=[colour(n) for n in names])
    for yy, r in zip(y, rates):
        ax.text(r, yy, f" {r:.2f}", va="center", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels([label(n) for n in names])
    ax.set_xlabel("firing rate (Hz)")
    ax.set_xlim(0, max(1.0, rates.max() * 1.15))
    ax.set_title("cortical microcircuit: rate per population")
    save(fig, out)


def main(argv):
    if len(argv) < 4 or argv[1] not in ("raster", "rates") or (argv[1] == "rates" and len(argv) != 4) or len(argv) > 5:
        sys.stderr.write(__doc__)
        return 2
    src, out = argv[2], argv[3]
    if not os.path.exists(src):
        sys.stderr.write(f"plot_microcircuit.py: {src}: no such file\n")
        return 1
    if argv[1] == "raster":
        window = float(argv[4]) if len(argv) == 5 else 200.0
        if not window > 0:
            sys.stderr.write(f"plot_microcircuit.py: WINDOW_MS must be positive, got {argv[4]}\n")
            return 2
        plot_raster(src, out, window)
    else:
        plot_rates(src, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
