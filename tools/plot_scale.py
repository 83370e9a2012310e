#!/usr/bin/env python3
"""Plots of `rsnn scale`: cost against network size, log-log (matplotlib).

  plot_scale.py SCALE.csv OUT.png   three panels against neurons: wall seconds per biological
                                    second, memory (network bytes and peak RSS), synaptic
                                    events per wall second; one line per family in the file

The PNG is written to a temporary file and renamed, so a reader never sees half a file.
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(path, out):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"plot_scale.py: {path} has no rows")
    families = sorted({r["family"] for r in rows})
    fig, ax = plt.subplots(1, 3, figsize=(14, 4.2))
    for fam in families:
        rs = sorted((r for r in rows if r["family"] == fam), key=lambda r: int(r["neurons"]))
        n = [int(r["neurons"]) for r in rs]
        ax[0].plot(n, [float(r["wall_per_bio_s"]) for r in rs], "o-", label=fam)
        (line,) = ax[1].plot(n, [float(r["network_bytes"]) / 2**20 for r in rs], "o-", label=f"{fam}: network")
        ax[1].plot(n, [float(r["peak_rss_bytes"]) / 2**20 for r in rs], "s--", color=line.get_color(),
                   label=f"{fam}: peak RSS")
        ax[2].plot(n, [float(r["events_per_s"]) for r in rs], "o-", label=fam)
    titles = ["wall s per biological s", "memory (MiB)", "synaptic events per wall s"]
    for a, t in zip(ax, titles):
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("neurons")
        a.set_title(t)
        a.grid(True, which="both", alpha=0.3)
        a.legend(fontsize=8)
    fig.tight_layout()
    tmp = out + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
