"""Train the barrel-cortex model on synthetic whisker data and plot its raster (a notebook as
a script; docs/python.md).

    python examples/barrel_raster.py --out runs/barrel                  # hours on a CPU
    python examples/barrel_raster.py --tiny --out /tmp/barrel           # seconds, for the tests
"""
import argparse
import os

import numpy as np

import rsnn.barrel as barrel


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for the figure and the run")
    ap.add_argument("--tiny", action="store_true", help="few samples, steps and epochs")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)

    # %% Synthetic whisker sweeps (helmet, box, plane), split into train and test sets.
    n = 6 if a.tiny else 300
    data = barrel.synthesize(n, seed=a.seed)
    train_data, test_data = barrel.split(data, 1 / 3, seed=a.seed)
    print("samples per class:", barrel.class_counts(data))

    # %% The model (spiking input form); --tiny runs 30 of the 550 steps.
    cfg = barrel.BarrelConfig.spiking_default()
    if a.tiny:
        cfg.T = 30
    model = barrel.BarrelModel(cfg)
    train_set = barrel.encode(cfg, train_data, seed=a.seed)
    test_set = barrel.encode(cfg, test_data, seed=a.seed + 1)

    # %% Train (Adam + StepLR as the original) and evaluate.
    summary = barrel.train(model, train_set, test_set, epochs=1 if a.tiny else 100,
                           batch=4 if a.tiny else 128, run_dir=os.path.join(a.out, "run"))
    print(f"loss {summary['first_loss']:.3f} -> {summary['last_loss']:.3f}, "
          f"test accuracy {summary['last_test_accuracy']:.2f}")

    # %% Raster of one test sample of class 0 (helmet) and the population rates.
    label = int(test_set.labels[0])
    r = barrel.raster(model, test_set, label=label, sample=0, bin=10 if not a.tiny else 5)
    steps, neurons = np.nonzero(r["raster"])

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    ax0.plot(steps, neurons, ".", ms=1)
    ax0.set_ylabel("cortical neuron")
    ax0.set_title(f"{barrel.CLASSES[label]}: {len(steps)} spikes")
    t_bins = (np.arange(r["rates"].shape[1]) + 0.5) * r["bin"]
    for name, row in zip(r["groups"], r["rates"]):
        ax1.plot(t_bins, row, label=name)
    ax1.set_xlabel("step")
    ax1.set_ylabel("rate")
    ax1.legend(fontsize=7)
    fig.tight_layout()
    path = os.path.join(a.out, "barrel_raster.png")
    fig.savefig(path, dpi=80)
    print(f"figure: {path}")
    return summary, r


if __name__ == "__main__":
    main()
