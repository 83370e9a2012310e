#!/usr/bin/env python3
"""The Potjans & Diesmann (2014) microcircuit in Brian2's C++ standalone mode (rsnn's own
version, for the side-by-side benchmark of bench/microcircuit_bench.sh).

The model follows models/microcircuit/potjans.h and NEST's example: iaf_psc_exp neurons,
fixed total number of synapses per population pair (uniform sources and targets, multapses
allowed), normal weights (0.15 mV PSP, g = -4, L4E -> L2/3E doubled, sd 10 %, redrawn on a
sign change) and delays (1.5 / 0.75 ms, sd 50 %, redrawn below dt, rounded to steps), Poisson
background of K_ext inputs at 8 Hz (PoissonInput), in-degrees scaled with DC compensation.

  microcircuit_brian2.py --scale S --time MS --presim MS --threads N --seed N --workdir DIR

prints one JSON line: neurons, synapses, seconds for building the arrays in Python, compiling,
and running the binary (construction and simulation), the simulation alone, the binary's peak
RSS (MB) and CPU seconds (user + system, from /usr/bin/time), and the rate of every
population over the recorded time.
"""
import argparse
import json
import math
import os
import re
import time

import numpy as np

POPS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
FULL_N = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
CONN = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443]])
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
FULL_RATES = np.array([0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829])  # Hz, for the DC
V0_MEAN = np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43])
V0_SD = np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48])
TAU_M, TAU_S, C_M, T_REF, E_L, V_TH, V_RESET = 10.0, 0.5, 250.0, 2.0, -65.0, -50.0, -65.0
DT, BG_RATE, PSP, G = 0.1, 8.0, 0.15, -4.0


def psc_per_psp():
    """PSC (pA) of an exponential current whose PSP peaks at 1 mV."""
    t = math.log(TAU_M / TAU_S) * TAU_M * TAU_S / (TAU_M - TAU_S)
    peak = TAU_M * TAU_S / (C_M * (TAU_S - TAU_M)) * (math.exp(-t / TAU_S) - math.exp(-t / TAU_M))
    return 1.0 / peak


def redrawn_normal(rng, mean, sd, n, ok):
    x = rng.normal(mean, sd, n)
    bad = ~ok(x)
    while bad.any():
        x[bad] = rng.normal(mean, sd, bad.sum())
        bad = ~ok(x)
    return x


def model_arrays(scale, seed):
    """Sizes, synapse lists per pair, DC currents and background of the scaled model."""
    rng = np.random.default_rng(seed)
    n = np.round(FULL_N * scale).astype(int)
    prod = np.outer(FULL_N, FULL_N).astype(float)
    full_k = np.log(1.0 - CONN) / np.log((prod - 1.0) / prod)  # [target, source]
    counts = np.round(full_k * scale * scale).astype(int)
    w = PSP * psc_per_psp()
    mean_w = np.where(np.arange(8)[None, :] % 2 == 0, w, G * w) * np.ones((8, 8))
    mean_w[0, 2] *= 2
    indeg = full_k / FULL_N[:, None]
    sk = math.sqrt(scale)
    dc = 1e-3 * TAU_S * (1 - sk) * ((mean_w * indeg * FULL_RATES).sum(axis=1) + w * K_EXT * BG_RATE)
    pairs = []
    for a in range(8):
        for b in range(8):
            c = counts[a, b]
            if c == 0:
                continue
            exc = b % 2 == 0
            wm = mean_w[a, b] / sk
            ww = redrawn_normal(rng, wm, abs(wm) * 0.1, c, (lambda x: x >= 0) if exc else (lambda x: x <= 0))
            dm = 1.5 if exc else 0.75
            dd = redrawn_normal(rng, dm, dm * 0.5, c, lambda x: x >= DT)
            pairs.append((a, b, rng.integers(0, n[b], c), rng.integers(0, n[a], c), ww, np.round(dd / DT) * DT))
    ext = np.round(K_EXT * scale).astype(int)
    v0 = [rng.normal(V0_MEAN[p], V0_SD[p], n[p]) for p in range(8)]
    return n, pairs, dc, ext, w / sk, v0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--time", type=float, default=1000.0)
    ap.add_argument("--presim", type=float, default=500.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=55)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    if not 0 < a.scale <= 1 or a.time <= 0 or a.presim < 0 or a.threads < 1:
        ap.error("need 0 < scale <= 1, time > 0, presim >= 0, threads >= 1")

    import brian2 as b2
    from brian2 import ms, mV, pA, pF, Hz

    os.makedirs(a.workdir, exist_ok=True)
    timing_file = os.path.join(os.path.abspath(a.workdir), "main_time.txt")
    b2.set_device("cpp_standalone", directory=os.path.join(a.workdir, "project"), build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = a.threads
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{a.threads}"]  # Brian's default -j is unbounded
    b2.prefs.devices.cpp_standalone.run_cmd_unix = ["/usr/bin/time", "-v", "-o", timing_file, "./main"]
    b2.defaultclock.dt = DT * ms
    b2.seed(a.seed)

    t0 = time.time()
    n, pairs, dc, ext, w_ext, v0 = model_arrays(a.scale, a.seed)
    offsets = np.concatenate([[0], np.cumsum(n)])
    eqs = """
    dv/dt = (E_L - v) / tau_m + (I + I_dc) / C_m : volt (unless refractory)
    dI/dt = -I / tau_s : amp
    I_dc : amp
    """
    ns = {"E_L": E_L * mV, "tau_m": TAU_M * ms, "C_m": C_M * pF, "tau_s": TAU_S * ms}
    net = b2.NeuronGroup(int(offsets[-1]), eqs, threshold="v >= V_th", reset="v = V_reset", refractory=T_REF * ms,
                         method="exact", namespace=dict(ns, V_th=V_TH * mV, V_reset=V_RESET * mV))
    net.v = np.concatenate(v0) * mV
    net.I_dc = np.repeat(dc, n) * pA
    groups = [net[int(offsets[p]):int(offsets[p + 1])] for p in range(8)]
    objs = [net]
    for p in range(8):
        objs.append(b2.PoissonInput(groups[p], "I", N=int(ext[p]), rate=BG_RATE * Hz, weight=w_ext * pA))
    # One Synapses object for all pairs (global indices): a handful of code objects to compile.
    src = np.concatenate([offsets[b_pop] + p_src for _, b_pop, p_src, _, _, _ in pairs])
    tgt = np.concatenate([offsets[a_pop] + p_tgt for a_pop, _, _, p_tgt, _, _ in pairs])
    syn = b2.Synapses(net, net, "w : amp", on_pre="I_post += w", namespace={})
    syn.connect(i=src, j=tgt)
    syn.w = np.concatenate([p[4] for p in pairs]) * pA
    syn.delay = np.concatenate([p[5] for p in pairs]) * ms
    objs.append(syn)
    mon = b2.SpikeMonitor(net)
    objs.append(mon)
    network = b2.Network(*objs)
    network.run((a.presim + a.time) * ms)
    arrays_s = time.time() - t0
    t0 = time.time()
    b2.device.build(directory=os.path.join(a.workdir, "project"), compile=True, run=False)
    compile_s = time.time() - t0
    t0 = time.time()
    b2.device.run(directory=os.path.join(a.workdir, "project"))
    binary_s = time.time() - t0
    sim_s = float(b2.device._last_run_time)
    with open(timing_file) as f:
        timing = f.read()
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing).group(1))
    cpu_s = sum(float(re.search(rf"{k} time \(seconds\): ([0-9.]+)", timing).group(1)) for k in ("User", "System"))
    t = np.asarray(mon.t / ms)
    i = np.asarray(mon.i)
    keep = t >= a.presim
    counts = np.bincount(np.searchsorted(offsets, i[keep], side="right") - 1, minlength=8)
    rates = counts / (n * a.time * 1e-3)
    print(json.dumps({
        "peer": "brian2", "scale": a.scale, "neurons": int(offsets[-1]),
        "synapses": int(sum(len(p[2]) for p in pairs)), "arrays_s": round(arrays_s, 2),
        "compile_s": round(compile_s, 2), "binary_s": round(binary_s, 2), "simulate_s": round(sim_s, 2),
        "s_per_bio_s": round(sim_s / ((a.presim + a.time) * 1e-3), 3), "peak_rss_mb": round(rss_kb / 1024, 1),
        "binary_cpu_s": round(cpu_s, 2),
        "rates": {POPS[p]: round(float(rates[p]), 3) for p in range(8)}}))


if __name__ == "__main__":
    main()
