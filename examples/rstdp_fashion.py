"""Train the convolutional STDP / R-STDP network (Mozafari et al. 2019) on Fashion-MNIST,
test it and plot its layer-1 features and the test confusion matrix (a notebook as a script;
docs/python.md, docs/rstdp.md).

    python examples/rstdp_fashion.py --out runs/rstdp6k                # 6,000 images, 1/1/1 epochs
    python examples/rstdp_fashion.py --tiny --out /tmp/rstdp           # seconds, for the tests
"""
import argparse
import os

import numpy as np

import rsnn.rstdp as rs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="run folder (checkpoint, history, figure)")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist",
                    help="MNIST-format folder (Debian's dataset-fashion-mnist)")
    ap.add_argument("--tiny", action="store_true", help="60 training and 30 test images")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)

    # %% How an image becomes spikes: DoG filters, then one first-spike time per unit.
    test = rs.load_split(a.data, "t10k", 0, 30 if a.tiny else 2000)
    wave = rs.encode_image(test["images"][0])
    print(f"image 0 (label {test['labels'][0]}): {np.count_nonzero(wave < rs.STEPS)} of "
          f"{wave.size} input units spike")

    # %% The schedule: layer 1 and 2 by STDP, then layer 3 by R-STDP, a test per epoch.
    state = rs.train(a.data, os.path.join(a.out, "run"), train_subset=60 if a.tiny else 6000,
                     test_subset=len(test["labels"]), epochs1=1, epochs2=1, epochs3=1,
                     seed=a.seed, adapt_every=30 if a.tiny else 1000)
    h = state.history
    print(f"layer-3 epochs: train accuracy {h['train_acc'][h['layer'] == 3]}, "
          f"best test {state.best_test:.3f}")
    result = rs.evaluate(state, test["images"], test["labels"])

    # %% Layer-1 features in the image plane and the confusion matrix.
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    feats = rs.reconstruct_layer1(state.layers12)
    fig = plt.figure(figsize=(11, 4))
    for k in range(30):
        ax = fig.add_subplot(3, 16, 1 + k + (k // 10) * 6)
        ax.imshow(feats[k], cmap="gray")
        ax.axis("off")
    ax = fig.add_subplot(1, 3, 3)
    ax.imshow(result["confusion"], cmap="viridis")
    ax.set_xlabel("decision (0 = silence, then class 0..9)")
    ax.set_ylabel("label")
    ax.set_title(f"test accuracy {result['correct']:.2f}")
    path = os.path.join(a.out, "rstdp_fashion.png")
    fig.savefig(path, dpi=80)
    print(f"figure: {path}")
    return result, state


if __name__ == "__main__":
    main()
