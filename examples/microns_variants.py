"""Train MICrONS-constrained RNN variants on one field, compare their accuracy and the graph
metrics of their trained weights, and plot loss curves and metrics (a notebook as a script;
docs/python.md, docs/microns.md).

    python examples/microns_variants.py --out runs/microns            # 11 variants, full schedule
    python examples/microns_variants.py --tiny --out /tmp/microns     # seconds, for the tests
"""
import argparse
import os

import numpy as np

import rsnn.microns as mi

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.environ.get("RSNN_SHARED_DATA_DIR", os.path.join(HERE, "..", "..", "shared", "data"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for the figure and the table")
    ap.add_argument("--field", default=os.path.join(DATA, "microns", "6_6_2"))
    ap.add_argument("--positions", default=os.path.join(DATA, "microns", "6_6_2_derived",
                                                        "positions_plain_int64_Nx3.npy"))
    ap.add_argument("--task", default="maze", help="maze, go_nogo or pdm")
    ap.add_argument("--tiny", action="store_true", help="two variants, a short schedule")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)

    # %% The field: connectome, functional matrices and soma positions (views, no copy).
    field = mi.load_field(a.field, positions=a.positions)
    print(f"field {field.name}: N = {field.N}, grid {field.grid}, "
          f"{int(np.count_nonzero(field.connectome))} connected pairs")

    # %% Train each variant (the original's schedule, or a short one with --tiny).
    keys = ["W*D*C", "WD"] if a.tiny else mi.variants()["key"]
    schedule = dict(epochs=2, batches=5, batch=32, n_test=64) if a.tiny else {}
    runs = {}
    for key in keys:
        runs[key] = mi.train(field, mi.config(variant=key, task=a.task, seed=a.seed, **schedule))
        print(f"{key:8s} accuracy {runs[key]['accuracy']:.3f}  val {runs[key]['val_accuracy']:.3f}")

    # %% Graph metrics of the trained recurrent kernels (the spec's null constants with
    # --tiny, 1000 random nulls otherwise).
    null = dict(null_clustering=0.194422, null_efficiency=0.590016) if a.tiny else {}
    table = {"variant": list(keys)}
    for key in keys:
        g = mi.graph_metrics(runs[key]["W_rec"], **null)
        for col in ("accuracy", "val_accuracy"):
            table.setdefault(col, []).append(runs[key][col])
        for col in ("modularity", "smallworld", "assortativity", "entropy_bits"):
            table.setdefault(col, []).append(g[col])
    try:
        import pandas as pd
        print(pd.DataFrame(table).to_string(index=False))
    except ImportError:
        print(table)

    # %% Loss curves and metrics.
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for key in keys:
        ep = runs[key]["epochs"]
        axes[0].plot(ep["epoch"], ep["loss"], marker="o", label=key)
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("loss (CE + regularizer)")
    axes[0].legend(fontsize=7)
    x = np.arange(len(keys))
    axes[1].bar(x - 0.2, table["modularity"], 0.4, label="modularity")
    axes[1].bar(x + 0.2, table["val_accuracy"], 0.4, label="val accuracy")
    axes[1].set_xticks(x, keys, rotation=45, fontsize=7)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    path = os.path.join(a.out, "microns_variants.png")
    fig.savefig(path, dpi=80)
    print(f"figure: {path}")
    return table, runs


if __name__ == "__main__":
    main()
