#!/usr/bin/env python3
"""Times the original MICrONS notebook (moneuron/neuro-constrained-RNN,
neuro-constrained-RNN.ipynb) on this CPU, for bench/peers/microns_notebook.sh.

The notebook's code cells run unchanged except: the pip/curl/unzip and Colab-download cells are
skipped, the data folder 'info/<field>/' (or 'DATA/info/<field>/') points at --data, the task
flags select task 1 only and simulations = --sims (default 1). After the cells that build the
task-1 models, the timed part fits the chosen variants of every simulation exactly as the
notebook's training cell does (compile with Adam / categorical cross-entropy, fit 10 epochs with
its callback) and then calls its model_metrics() on one history: the graph metrics of one
trained matrix. Prints one JSON object: CPU and wall seconds per fit (with its per-epoch loss
and accuracy, to compare training curves with rsnn's) and for the metrics.
"""
import argparse
import json
import os
import re
import sys
import time


def code_cells(path):
    nb = json.load(open(path))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def adapt(src, data_dir, sims):
    if re.search(r"^\s*!", src, re.M) or "google.colab" in src:
        return None  # shell (pip, curl, unzip) and Colab-only cells
    src = re.sub(r"f'(?:DATA/)?info/", "f'" + data_dir.rstrip("/") + "/", src)
    src = re.sub(r"^simulations\s*=.*$", "simulations = %d" % sims, src, flags=re.M)
    src = re.sub(r"^TASK1, TASK2, TASK3\s*=.*$", "TASK1, TASK2, TASK3 = True, False, False",
                 src, flags=re.M)
    return src


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--notebook", required=True)
    ap.add_argument("--data", required=True, help="folder holding <sess>_<scan>_<field>/")
    ap.add_argument("--variants", default="WD,WDC,W*D*C*")
    ap.add_argument("--metrics-of", default="WD", help="variant whose trained matrix gets model_metrics")
    ap.add_argument("--sims", type=int, default=1,
                    help="simulations (bio matrices) to train each variant on; runs are KEY or KEY@simI")
    args = ap.parse_args()
    if args.sims < 1:
        sys.exit("microns_notebook.py: --sims must be at least 1, got %d" % args.sims)
    cells = code_cells(args.notebook)
    ns = {"__name__": "__notebook__"}
    train_cell = None
    t0 = time.time()
    for src in cells:
        s = adapt(src, args.data, args.sims)
        if s is None:
            continue
        if "for model in tqdm(MODELS1)" in s:
            train_cell = s  # the timed loop below runs its statements per variant
            break
        exec(compile(s, "<notebook>", "exec"), ns)
    if train_cell is None:
        sys.exit("microns_notebook.py: the notebook's task-1 training cell was not found")
    setup_s = time.time() - t0
    tf = ns["tf"]
    out = {"setup_wall_s": setup_s, "runs": {}}
    hist = {}
    for sim in range(args.sims):  # the notebook's order: simulation, then variant
        for key in args.variants.split(","):
            m = ns["MODELS1"][sim][key]
            c0, w0 = time.process_time(), time.time()
            m.compile(optimizer=tf.keras.optimizers.Adam(), loss="categorical_crossentropy",
                      metrics=["accuracy"])
            h = m.fit(ns["tfdf1"], epochs=10, validation_data=ns["tfdf_test1"],
                      callbacks=ns["RNNWeightMatrixHistoryI"](RNN_layer_number=1), verbose=0)
            name = key if sim == 0 else "%s@sim%d" % (key, sim)
            out["runs"][name] = {
                "cpu_s": time.process_time() - c0, "wall_s": time.time() - w0,
                "accuracy": float(h.history["accuracy"][-1]),
                "loss_curve": [float(x) for x in h.history["loss"]],
                "accuracy_curve": [float(x) for x in h.history["accuracy"]]}
            if sim == 0:
                hist[key] = h
    key = args.metrics_of
    if key not in hist:
        sys.exit("microns_notebook.py: --metrics-of %s was not trained" % key)
    c0, w0 = time.process_time(), time.time()
    vals = ns["model_metrics"](hist[key])
    out["metrics"] = {"variant": key, "cpu_s": time.process_time() - c0,
                      "wall_s": time.time() - w0,
                      "values": [float(v) for v in vals]}
    out["tensorflow"] = tf.__version__
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
