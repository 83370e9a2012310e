#!/usr/bin/env python3
"""A 6_6_2 sweep of `rsnn micron sweep` beside the published results (spec section 7).

Reads OUT/summary_ci.csv (field 6_6_2, corr x STTC, no sign constraint, the published setting)
and prints Markdown tables, ours beside theirs, with a verdict per cell:
  "inside CI"     our mean lies in the published t 95 % interval
  "within 0.03"   (accuracy) |ours - theirs| <= 0.03, the target where spec section 7 prints
                  the mean without its interval
  "CIs overlap"   (graph metrics) our t 95 % interval and the published one overlap
  "off (+d)"      none of these; d = ours - theirs
A cell passes when it is inside CI, or within 0.03 where the spec prints no CI, or (graph
metrics) its interval overlaps the published one. Python standard library only.
Usage: microns_compare.py OUT
"""
import csv
import math
import sys

VARIANTS = ["W*D*C", "WD*C", "WDC", "WD*", "WD", "W", "W*D*C*", "WD*C*", "W*DC*",
            "W!D*C", "W!D*C*"]

# Published mean (t 95 % CI) per variant and task, as the original's stats notebook printed
# them (neurovium/CorticalBlueprintRNN, StatisticalAnalysis/6_6_2_confidence_intervals.ipynb,
# the 6_6_2_sttc-corr cell: 20 simulations, 3 decimals).
PUBLISHED = {
    "Accuracy": {
        "W*D*C": [(0.917, 0.853, 0.981), (0.948, 0.878, 1.018), (0.865, 0.824, 0.906)],
        "WD*C": [(0.628, 0.626, 0.631), (0.939, 0.869, 1.009), (0.812, 0.747, 0.876)],
        "WDC": [(0.624, 0.622, 0.626), (0.511, 0.510, 0.511), (0.500, 0.500, 0.501)],
        "WD*": [(0.787, 0.700, 0.874), (0.512, 0.511, 0.512), (0.500, 0.499, 0.501)],
        "WD": [(0.628, 0.625, 0.630), (0.511, 0.510, 0.512), (0.499, 0.498, 0.500)],
        "W": [(0.625, 0.623, 0.627), (0.511, 0.511, 0.512), (0.500, 0.499, 0.502)],
        "W*D*C*": [(0.985, 0.954, 1.016), (0.951, 0.881, 1.022), (0.880, 0.879, 0.882)],
        "WD*C*": [(0.758, 0.672, 0.843), (0.511, 0.511, 0.511), (0.499, 0.498, 0.500)],
        "W*DC*": [(0.963, 0.917, 1.009), (0.927, 0.843, 1.010), (0.862, 0.822, 0.901)],
        "W!D*C": [(0.950, 0.894, 1.006), (0.951, 0.880, 1.021), (0.866, 0.826, 0.906)],
        "W!D*C*": [(0.963, 0.910, 1.016), (0.951, 0.881, 1.022), (0.847, 0.798, 0.897)],
    },
    "Modularity": {
        "W*D*C": [(0.466, 0.439, 0.493), (0.407, 0.356, 0.459), (0.449, 0.419, 0.478)],
        "WD*C": [(0.494, 0.481, 0.506), (0.493, 0.469, 0.518), (0.513, 0.506, 0.520)],
        "WDC": [(0.132, 0.125, 0.139), (0.092, 0.090, 0.093), (0.146, 0.139, 0.154)],
        "WD*": [(0.111, 0.100, 0.121), (0.090, 0.089, 0.091), (0.089, 0.087, 0.090)],
        "WD": [(0.089, 0.088, 0.090), (0.089, 0.088, 0.090), (0.089, 0.088, 0.091)],
        "W": [(0.088, 0.087, 0.089), (0.089, 0.088, 0.090), (0.088, 0.087, 0.089)],
        "W*D*C*": [(0.096, 0.084, 0.108), (0.090, 0.089, 0.091), (0.090, 0.089, 0.092)],
        "WD*C*": [(0.115, 0.108, 0.122), (0.089, 0.088, 0.090), (0.089, 0.088, 0.090)],
        "W*DC*": [(0.091, 0.089, 0.092), (0.099, 0.095, 0.102), (0.098, 0.094, 0.102)],
        "W!D*C": [(0.483, 0.456, 0.509), (0.434, 0.385, 0.484), (0.448, 0.428, 0.468)],
        "W!D*C*": [(0.095, 0.088, 0.103), (0.091, 0.089, 0.092), (0.091, 0.089, 0.092)],
    },
    "SmallWorldness": {
        "W*D*C": [(2.114, 1.962, 2.266), (2.505, 2.165, 2.846), (2.432, 2.061, 2.803)],
        "WD*C": [(1.899, 1.868, 1.930), (2.010, 1.897, 2.123), (1.726, 1.627, 1.826)],
        "WDC": [(2.445, 2.132, 2.758), (1.005, 1.001, 1.009), (1.393, 1.375, 1.410)],
        "WD*": [(1.011, 0.992, 1.031), (0.955, 0.953, 0.957), (0.956, 0.954, 0.958)],
        "WD": [(0.961, 0.958, 0.964), (0.952, 0.950, 0.954), (0.957, 0.954, 0.960)],
        "W": [(0.998, 0.995, 1.000), (0.986, 0.984, 0.988), (0.987, 0.985, 0.989)],
        "W*D*C*": [(1.035, 1.007, 1.063), (1.007, 1.000, 1.015), (1.003, 0.996, 1.009)],
        "WD*C*": [(1.004, 0.995, 1.014), (0.957, 0.954, 0.959), (0.956, 0.954, 0.958)],
        "W*DC*": [(1.025, 1.021, 1.028), (1.016, 1.006, 1.026), (1.007, 0.995, 1.019)],
        "W!D*C": [(2.114, 1.904, 2.324), (2.470, 2.128, 2.813), (2.171, 1.808, 2.534)],
        "W!D*C*": [(1.031, 1.008, 1.054), (1.009, 1.001, 1.017), (1.004, 0.999, 1.009)],
    },
    "Entropy": {
        "W*D*C": [(1.354, 1.062, 1.646), (0.793, 0.508, 1.078), (0.781, 0.514, 1.047)],
        "WD*C": [(3.935, 3.833, 4.036), (4.330, 4.206, 4.454), (3.233, 3.115, 3.350)],
        "WDC": [(0.599, 0.210, 0.987), (0.219, 0.068, 0.370), (0.392, 0.188, 0.595)],
        "WD*": [(0.903, 0.241, 1.565), (1.047, 0.285, 1.809), (0.880, 0.198, 1.562)],
        "WD": [(0.627, 0.073, 1.181), (0.890, 0.132, 1.649), (1.420, 0.541, 2.299)],
        "W": [(5.619, 5.608, 5.630), (5.719, 5.716, 5.721), (5.717, 5.715, 5.719)],
        "W*D*C*": [(0.449, 0.208, 0.691), (0.068, 0.035, 0.101), (0.360, 0.157, 0.562)],
        "WD*C*": [(0.917, 0.120, 1.714), (0.786, 0.038, 1.534), (0.354, 0.068, 0.640)],
        "W*DC*": [(0.028, 0.026, 0.030), (0.027, 0.026, 0.028), (0.030, 0.028, 0.033)],
        "W!D*C": [(1.258, 1.007, 1.509), (0.883, 0.638, 1.129), (0.753, 0.517, 0.989)],
        "W!D*C*": [(0.288, 0.092, 0.484), (0.117, 0.021, 0.213), (0.285, 0.073, 0.498)],
    },
    "Assortativity": {
        "W*D*C": [(-0.041, -0.084, 0.002), (-0.108, -0.170, -0.046), (-0.160, -0.218, -0.102)],
        "WD*C": [(0.425, 0.384, 0.465), (0.522, 0.441, 0.604), (0.405, 0.335, 0.476)],
        "WDC": [(-0.243, -0.301, -0.186), (0.048, 0.038, 0.059), (0.295, 0.285, 0.305)],
        "WD*": [(0.024, -0.006, 0.053), (-0.009, -0.014, -0.005), (-0.010, -0.015, -0.006)],
        "WD": [(-0.015, -0.020, -0.010), (-0.007, -0.012, -0.002), (-0.005, -0.010, 0.000)],
        "W": [(-0.023, -0.027, -0.019), (-0.005, -0.009, -0.002), (-0.004, -0.009, 0.001)],
        "W*D*C*": [(-0.051, -0.081, -0.021), (-0.073, -0.083, -0.063), (-0.076, -0.088, -0.063)],
        "WD*C*": [(0.045, 0.015, 0.074), (-0.013, -0.018, -0.009), (-0.013, -0.019, -0.008)],
        "W*DC*": [(-0.072, -0.082, -0.063), (-0.046, -0.053, -0.038), (-0.041, -0.047, -0.035)],
        "W!D*C": [(-0.040, -0.085, 0.005), (-0.099, -0.145, -0.052), (-0.139, -0.190, -0.088)],
        "W!D*C*": [(-0.057, -0.078, -0.035), (-0.074, -0.089, -0.059), (-0.063, -0.074, -0.051)],
    },
}

# The accuracy cells spec section 7 prints with a CI; the others it prints as a mean only,
# and the target for those is |ours - theirs| <= 0.03.
SPEC_CI = {("W*D*C", 1), ("W*D*C", 2), ("W*D*C", 3), ("WD*C", 2), ("WD*C", 3), ("WD*", 1),
           ("W*D*C*", 1), ("W*D*C*", 3), ("WD*C*", 1)}


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


def verdict(ours, pub, metric, spec_ci):
    """(verdict text, passes) of one cell."""
    _, mean, _, lo, hi = ours
    pm, plo, phi = pub
    if math.isnan(mean):
        return "no runs", False
    if plo <= mean <= phi:
        return "inside CI", True
    if metric == "Accuracy" and not spec_ci and abs(mean - pm) <= 0.03:
        return "within 0.03", True
    if metric != "Accuracy" and not math.isnan(lo) and lo <= phi and plo <= hi:
        return "CIs overlap", True
    return f"off ({mean - pm:+.3f})", False


def table(rows, metric, tally):
    print(f"\n| {metric} | task | n | rsnn: mean (t 95 % CI), sd | published (t 95 % CI) | verdict |")
    print("|---|---|---|---|---|---|")
    for v in VARIANTS:
        for t in range(3):
            key = (f"Task{t + 1}", metric, v)
            if key not in rows:
                continue
            n, mean, sd, lo, hi = rows[key]
            pm, plo, phi = PUBLISHED[metric][v][t]
            text, ok = verdict(rows[key], PUBLISHED[metric][v][t], metric, (v, t + 1) in SPEC_CI)
            for k in (metric, (metric, t + 1)):
                passed, total = tally.get(k, (0, 0))
                tally[k] = (passed + ok, total + 1)
            print(f"| {v} | {t + 1} | {n} | {fmt(mean)} ({fmt(lo)}, {fmt(hi)}), {fmt(sd)} | "
                  f"{pm:.3f} ({plo:.3f}, {phi:.3f}) | {text} |")


def main():
    if len(sys.argv) != 2:
        fail("usage: microns_compare.py OUT (a folder written by `rsnn micron sweep`)")
    rows = read_summary(sys.argv[1] + "/summary_ci.csv")
    tally = {}
    for metric in PUBLISHED:
        table(rows, metric, tally)
    print()
    for metric in PUBLISHED:
        if metric not in tally:
            continue
        passed, total = tally[metric]
        per_task = ", ".join(f"task {t}: {tally[(metric, t)][0]} of {tally[(metric, t)][1]}"
                             for t in (1, 2, 3) if (metric, t) in tally)
        print(f"{metric}: {passed} of {total} cells pass ({per_task})")


if __name__ == "__main__":
    main()
