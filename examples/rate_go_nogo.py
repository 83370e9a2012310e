"""Train a Go-NoGo rate network, convert it to spiking LIF neurons, grid-search the scaling
factor and plot the spiking network's output (a notebook as a script; docs/python.md).

    python examples/rate_go_nogo.py --out runs/go_nogo           # the paper's settings
    python examples/rate_go_nogo.py --tiny --out /tmp/go_nogo    # seconds, for the tests
"""
import argparse
import os

import numpy as np

import rsnn.rate as rate


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for the figure and the model")
    ap.add_argument("--tiny", action="store_true", help="a small network and few trials")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)

    # %% The task and the network (N units, 20 % inhibitory, Dale's principle).
    task = rate.task("go-nogo")
    cfg = rate.RateConfig()
    cfg.N = 20 if a.tiny else 200
    max_trials = 40 if a.tiny else 6000

    # %% Train: TF1 Adam, one trial per step, until the original stopping rule holds.
    net, record = rate.train(task, cfg, max_trials=max_trials, eval_freq=20 if a.tiny else 100,
                             eval_trials=10 if a.tiny else 100, seed=a.seed)
    print(f"trained {record['trials']} trials, converged={record['converged']}, "
          f"last eval perf {record['last_perf']:.2f}")
    rate.save_model(os.path.join(a.out, "go_nogo.h5"), net, task, seed=a.seed)

    # %% Grid search over the scaling factor (1/lambda) of the LIF conversion.
    params = rate.LifParams()
    if a.tiny:
        params.downsample = 10  # coarser LIF steps: fast, less faithful
    factors = "30:20:50" if a.tiny else "20:5:75"
    grid = rate.grid_search(net, task, factors, n_trials=4 if a.tiny else 100, seed=a.seed,
                            params=params)
    for f, p in zip(grid["scaling_factor"], grid["perf"]):
        print(f"scaling factor {f:g}: LIF performance {p:.2f}")
    best = grid["opt_scaling_factor"]

    # %% One Go and one NoGo trial through the spiking network at the chosen factor.
    lif = rate.convert(net, best, params)
    fig_rows = []
    for trial in range(4):
        tr = rate.make_trial(task, a.seed, 10_000 + trial, extra_cols=1)
        res = rate.simulate(lif, tr["u"], seed=a.seed, trial=trial)
        fig_rows.append((tr["label"], res))
        if {r[0] for r in fig_rows} == {0, 1}:
            break

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(fig_rows), figsize=(4 * len(fig_rows), 5), squeeze=False)
    for k, (label, res) in enumerate(fig_rows):
        t_ms = np.arange(res["nt"]) * params.dt * params.downsample * 1e3
        axes[0, k].plot(res["spike_step"] * params.dt * params.downsample * 1e3,
                        res["spike_unit"], ".", ms=1)
        axes[0, k].set_title(("Go" if label == 1 else "NoGo") + " trial: spikes")
        axes[1, k].plot(t_ms, res["out"])
        axes[1, k].set_xlabel("time (ms)")
        axes[1, k].set_ylabel("LIF output")
    fig.tight_layout()
    path = os.path.join(a.out, "go_nogo_lif.png")
    fig.savefig(path, dpi=80)
    print(f"figure: {path} (scaling factor {best:g})")
    return grid, record


if __name__ == "__main__":
    main()
