#!/usr/bin/env python3
"""Times the original MICrONS notebook (moneuron/neuro-constrained-RNN,
neuro-constrained-RNN.ipynb) on this CPU, for bench/peers/microns_notebook.sh.

The notebook's code cells run unchanged except: the pip/curl/unzip and Colab-download cells are
skipped, the data folder 'info/<field>/' (or 'DATA/info/<field>/') points at --data, the task
flags select one task (--task, default 1) and simulations = --sims (default 1). After the cells
that build that task's models, the timed part fits the chosen variants of every simulation
exactly as the notebook's training cell does (compile with Adam / categorical cross-entropy, fit
10 epochs with its callback) and then calls its model_metrics() on the first simulation's
history of --metrics-of (every simulation's with --metrics-each): the graph metrics of a
trained matrix. Prints one JSON object: CPU and wall seconds per fit (with its per-epoch loss
and accuracy, to compare training curves with rsnn's) and for the metrics. With --save-weights
it also writes each run's recurrent matrix before and after training as NPY, so rsnn's metrics
(`rsnn micron metrics --weights`) can be checked on the notebook's own matrices.
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


def adapt(src, data_dir, sims, task):
    if re.search(r"^\s*!", src, re.M) or "google.colab" in src:
        return None  # shell (pip, curl, unzip) and Colab-only cells
    src = re.sub(r"f'(?:DATA/)?info/", "f'" + data_dir.rstrip("/") + "/", src)
    src = re.sub(r"^simulations\s*=.*$", "simulations = %d" % sims, src, flags=re.M)
    flags = ", ".join("True" if t == task else "False" for t in (1, 2, 3))
    src = re.sub(r"^TASK1, TASK2, TASK3\s*=.*$", "TASK1, TASK2, TASK3 = " + flags, src, flags=re.M)
    return src


def save_weights(folder, run, matrices):
    import numpy as np
    # '*' is legal in file names but awkward in shells; 's' keeps W*D*C* distinct from WDC.
    stem = os.path.join(folder, run.replace("*", "s").replace("!", "p"))
    for tag, w in (("init", matrices[0]), ("final", matrices[-1])):
        tmp = "%s_%s.tmp-%d.npy" % (stem, tag, os.getpid())
        np.save(tmp, np.asarray(w, dtype=np.float32))
        os.replace(tmp, "%s_%s.npy" % (stem, tag))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--notebook", required=True)
    ap.add_argument("--data", required=True, help="folder holding <sess>_<scan>_<field>/")
    ap.add_argument("--variants", default="WD,WDC,W*D*C*")
    ap.add_argument("--metrics-of", default="WD", help="variant whose trained matrix gets model_metrics")
    ap.add_argument("--task", type=int, default=1, choices=(1, 2, 3))
    ap.add_argument("--metrics-each", action="store_true",
                    help="model_metrics of --metrics-of for every simulation, not only the first")
    ap.add_argument("--sims", type=int, default=1,
                    help="simulations (bio matrices) to train each variant on; runs are KEY or KEY@simI")
    ap.add_argument("--save-weights", metavar="DIR",
                    help="write each run's recurrent matrix before and after training to "
                         "DIR/<run>_init.npy and DIR/<run>_final.npy (run: KEY or KEY@simI, "
                         "'*' written 's' and '!' written 'p'), to inspect with "
                         "`rsnn micron metrics --weights`")
    args = ap.parse_args()
    if args.sims < 1:
        sys.exit("microns_notebook.py: --sims must be at least 1, got %d" % args.sims)
    if args.save_weights:
        os.makedirs(args.save_weights, exist_ok=True)
    cells = code_cells(args.notebook)
    ns = {"__name__": "__notebook__"}
    train_cell = None
    t0 = time.time()
    for src in cells:
        s = adapt(src, args.data, args.sims, args.task)
        if s is None:
            continue
        if "for model in tqdm(MODELS%d)" % args.task in s:
            train_cell = s  # the timed loop below runs its statements per variant
            break
        exec(compile(s, "<notebook>", "exec"), ns)
    if train_cell is None:
        sys.exit("microns_notebook.py: the notebook's task-%d training cell was not found" % args.task)
    setup_s = time.time() - t0
    tf = ns["tf"]
    out = {"setup_wall_s": setup_s, "runs": {}}
    hist = {}
    for sim in range(args.sims):  # the notebook's order: simulation, then variant
        for key in args.variants.split(","):
            m = ns["MODELS%d" % args.task][sim][key]
            c0, w0 = time.process_time(), time.time()
            m.compile(optimizer=tf.keras.optimizers.Adam(), loss="categorical_crossentropy",
                      metrics=["accuracy"])
            h = m.fit(ns["tfdf%d" % args.task], epochs=10, validation_data=ns["tfdf_test%d" % args.task],
                      callbacks=ns["RNNWeightMatrixHistoryI"](RNN_layer_number=1), verbose=0)
            name = key if sim == 0 else "%s@sim%d" % (key, sim)
            out["runs"][name] = {
                "cpu_s": time.process_time() - c0, "wall_s": time.time() - w0,
                "accuracy": float(h.history["accuracy"][-1]),
                "loss_curve": [float(x) for x in h.history["loss"]],
                "accuracy_curve": [float(x) for x in h.history["accuracy"]]}
            if args.save_weights:
                save_weights(args.save_weights, name, h.history["RNN_Weight_Matrix"])
            if sim == 0 or (args.metrics_each and key == args.metrics_of):
                hist[name] = h
    key = args.metrics_of
    if key not in hist:
        sys.exit("microns_notebook.py: --metrics-of %s was not trained" % key)
    for name in [n for n in hist if n == key or n.startswith(key + "@")]:
        c0, w0 = time.process_time(), time.time()
        vals = ns["model_metrics"](hist[name])
        out["metrics" if name == key else "metrics@" + name.split("@")[1]] = {
            "variant": key, "cpu_s": time.process_time() - c0, "wall_s": time.time() - w0,
            "values": [float(v) for v in vals]}
    out["tensorflow"] = tf.__version__
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
