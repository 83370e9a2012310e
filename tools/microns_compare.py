#!/usr/bin/env python3
"""A 6_6_2 sweep of `rsnn micron sweep` beside the published results (spec section 7).

Reads OUT/summary_ci.csv (field 6_6_2, corr x STTC, no sign constraint, the published setting)
and prints Markdown tables, ours beside theirs, with a verdict per cell:
  accuracy   "inside CI" when our mean lies in the published t 95 % interval; where the
             publication prints a mean only, "within 0.03" when |ours - theirs| <= 0.03
  metrics    "inside our CI" when the published mean lies in our t 95 % interval, else
             "within 1 sd" when it lies within one of our standard deviations; a published
             range ("random level") is met when our mean lies in it
Any other verdict is "off" and the difference is printed. Python standard library only.
Usage: microns_compare.py OUT
"""
import csv
import math
import sys

VARIANTS = ["W*D*C", "WD*C", "WDC", "WD*", "WD", "W", "W*D*C*", "WD*C*", "W*DC*",
            "W!D*C", "W!D*C*"]
BIO = {"W*D*C", "W*D*C*", "W*DC*", "W!D*C", "W!D*C*"}

# Published accuracy per variant: (mean, ci_low, ci_high) per task; None where only a mean is
# printed (spec section 7, from the original's 6_6_2_confidence_intervals notebook).
ACCURACY = {
    "W*D*C": [(0.917, 0.853, 0.981), (0.948, 0.878, 1.018), (0.865, 0.824, 0.906)],
    "WD*C": [(0.628, None, None), (0.939, 0.869, 1.009), (0.812, 0.747, 0.876)],
    "WDC": [(0.624, None, None), (0.511, None, None), (0.500, None, None)],
    "WD*": [(0.787, 0.700, 0.874), (0.512, None, None), (0.500, None, None)],
    "WD": [(0.628, None, None), (0.511, None, None), (0.499, None, None)],
    "W": [(0.625, None, None), (0.511, None, None), (0.500, None, None)],
    "W*D*C*": [(0.985, 0.954, 1.016), (0.951, None, None), (0.880, 0.879, 0.882)],
    "WD*C*": [(0.758, 0.672, 0.843), (0.511, None, None), (0.499, None, None)],
    "W*DC*": [(0.963, None, None), (0.927, None, None), (0.862, None, None)],
    "W!D*C": [(0.950, None, None), (0.951, None, None), (0.866, None, None)],
    "W!D*C*": [(0.963, None, None), (0.951, None, None), (0.847, None, None)],
}


def _per_task(values):
    return {v: [(x, None, None) for x in xs] for v, xs in values.items()}


def _range_for(variants, lo, hi):
    return {v: [(None, lo, hi)] * 3 for v in variants}


# Published graph-metric means per task: (mean, lo, hi); a range has mean None.
EMD_OR_NON_C = [v for v in VARIANTS if v.endswith("C*") or "C" not in v]
METRICS = {
    "Modularity": {**_range_for(EMD_OR_NON_C, 0.089, 0.115),
                   **_per_task({"W*D*C": [0.466, 0.407, 0.449], "W!D*C": [0.483, 0.434, 0.448],
                                "WD*C": [0.494, 0.493, 0.513]})},
    "SmallWorldness": {**_range_for([v for v in VARIANTS if v not in ("W*D*C", "WD*C", "WDC")],
                                    0.95, 1.04),
                       **_per_task({"W*D*C": [2.11, 2.51, 2.43], "WD*C": [1.90, 2.01, 1.73],
                                    "WDC": [2.45, 1.01, 1.39]})},
    "Entropy": _per_task({"W": [5.62, 5.72, 5.72], "WD*C": [3.9, 4.3, 3.2],
                          "W*D*C": [1.35, 0.79, 0.78], "W*DC*": [0.03, 0.03, 0.03]}),
    "Assortativity": {**_range_for(sorted(BIO), -0.16, -0.04),
                      **_per_task({"WD*C": [0.42, 0.52, 0.41]})},
}


def fail(msg):
    sys.stderr.write("microns_compare: " + msg + "\n")
    sys.exit(2)


def read_summary(path):
    """{(task, metric, variant): (n, mean, sd, ci_low, ci_high)} from summary_ci.csv."""
    need = ["task", "metric", "variant", "n", "mean", "sd", "ci_low", "ci_high"]
    try:
        f = open(path, newline="")
    except OSError as e:
        fail(f"{path}: cannot open ({e.strerror})")
    rows = {}
    with f:
        rd = csv.DictReader(f)
        missing = [c for c in need if c not in (rd.fieldnames or [])]
        if missing:
            fail(f"{path}: missing column(s) {', '.join(missing)}")
        for line, r in enumerate(rd, start=2):
            try:  # an empty cell is NaN (one run has no sd or interval)
                vals = (int(r["n"]),) + tuple(float(r[c]) if r[c] != "" else math.nan
                                              for c in ("mean", "sd", "ci_low", "ci_high"))
            except (TypeError, ValueError):
                fail(f"{path}:{line}: not a number in n/mean/sd/ci_low/ci_high")
            rows[(r["task"], r["metric"], r["variant"])] = vals
    return rows


def fmt(x, digits=3):
    return "n/a" if x is None or math.isnan(x) else f"{x:.{digits}f}"


def accuracy_verdict(mean, pub):
    pm, lo, hi = pub
    if math.isnan(mean):
        return "no runs"
    if lo is not None:
        return "inside CI" if lo <= mean <= hi else f"off ({mean - pm:+.3f})"
    return "within 0.03" if abs(mean - pm) <= 0.03 else f"off ({mean - pm:+.3f})"


def metric_verdict(ours, pub):
    n, mean, sd, lo, hi = ours
    pm, plo, phi = pub
    if math.isnan(mean):
        return "no runs"
    if pm is None:
        if plo <= mean <= phi:
            return "in range"
        return f"off ({mean - (plo if mean < plo else phi):+.3g} outside)"
    if not math.isnan(lo) and lo <= pm <= hi:
        return "inside our CI"
    if not math.isnan(sd) and abs(mean - pm) <= sd:
        return "within 1 sd"
    return f"off ({mean - pm:+.3g})"


def pub_text(pub, digits=3):
    pm, lo, hi = pub
    if pm is None:
        return f"{fmt(lo, digits)} to {fmt(hi, digits)}"
    return fmt(pm, digits) if lo is None else f"{fmt(pm, digits)} ({fmt(lo, digits)}, {fmt(hi, digits)})"


def accuracy_table(rows, counts):
    print("| variant | task | n | rsnn: mean (t 95 % CI) | published | verdict |")
    print("|---|---|---|---|---|---|")
    for v in VARIANTS:
        for t in range(3):
            key = (f"Task{t + 1}", "Accuracy", v)
            if key not in rows:
                continue
            n, mean, sd, lo, hi = rows[key]
            verdict = accuracy_verdict(mean, ACCURACY[v][t])
            counts[verdict.split(" (")[0]] = counts.get(verdict.split(" (")[0], 0) + 1
            print(f"| {v} | {t + 1} | {n} | {fmt(mean)} ({fmt(lo)}, {fmt(hi)}) | "
                  f"{pub_text(ACCURACY[v][t])} | {verdict} |")


def metric_table(rows, metric, counts):
    print(f"\n| {metric} | task | n | rsnn: mean (t 95 % CI), sd | published | verdict |")
    print("|---|---|---|---|---|---|")
    for v in VARIANTS:
        if v not in METRICS[metric]:
            continue
        for t in range(3):
            key = (f"Task{t + 1}", metric, v)
            if key not in rows:
                continue
            n, mean, sd, lo, hi = rows[key]
            verdict = metric_verdict(rows[key], METRICS[metric][v][t])
            counts[verdict.split(" (")[0]] = counts.get(verdict.split(" (")[0], 0) + 1
            print(f"| {v} | {t + 1} | {n} | {fmt(mean)} ({fmt(lo)}, {fmt(hi)}), {fmt(sd)} | "
                  f"{pub_text(METRICS[metric][v][t])} | {verdict} |")


def main():
    if len(sys.argv) != 2:
        fail("usage: microns_compare.py OUT (a folder written by `rsnn micron sweep`)")
    rows = read_summary(sys.argv[1] + "/summary_ci.csv")
    acc_counts = {}
    accuracy_table(rows, acc_counts)
    metric_counts = {}
    for metric in METRICS:
        metric_table(rows, metric, metric_counts)
    for name, c in (("accuracy", acc_counts), ("metrics", metric_counts)):
        print(f"\n{name}: " + ", ".join(f"{k} {c[k]}" for k in sorted(c)))


if __name__ == "__main__":
    main()
