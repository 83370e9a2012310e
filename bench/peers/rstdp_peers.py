#!/usr/bin/env python3
"""W5 peers: the Mozafari et al. (2019) network in SpykeTorch or Spyker on the reduced
schedule (the first N training images, one epoch per layer, the test set), timing each stage.

  rstdp_peers.py --peer spyketorch --spyketorch CHECKOUT [--data DIR] [--train 6000] [--test 10000]
  rstdp_peers.py --peer spyker [...] [--seeds 1,2,3]

For each seed of --seeds (initial weights; the encodings are computed once), prints
"peer seed S", one line per stage: "peer stage samples N seconds S samples_per_s R" and
finally the test accuracy. Encodings are cached in RAM, as both peers' own examples do; the
encoding time is printed separately. Run by rstdp_peers.sh.
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch


def idx(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        raw = f.read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * nd).reshape(dims)


def load(data, split, n):
    def f(stem):
        p = os.path.join(data, stem)
        return p + ".gz" if os.path.exists(p + ".gz") else p
    x = idx(f(f"{split}-images-idx3-ubyte"))[:n]
    y = idx(f(f"{split}-labels-idx1-ubyte"))[:n]
    return x, y.astype(np.int64)


def report(peer, stage, n, sec):
    print(f"{peer} {stage} samples {n} seconds {sec:.3f} samples_per_s {n / sec:.2f}", flush=True)


# ---- SpykeTorch (the network of spec section 2, written against SpykeTorch's API) ----
def run_spyketorch(a, xtr, ytr, xte, yte):
    sys.path.insert(0, a.spyketorch)
    try:
        import torchvision  # noqa: F401
    except ImportError:
        # SpykeTorch.utils imports torchvision for its dataset helpers only, which this
        # script does not use; empty modules let it load without python3-torchvision.
        import types
        tv = types.ModuleType("torchvision")
        tv.transforms, tv.datasets = types.ModuleType("transforms"), types.ModuleType("datasets")
        sys.modules.update({"torchvision": tv, "torchvision.transforms": tv.transforms,
                            "torchvision.datasets": tv.datasets})
    from SpykeTorch import functional as sf
    from SpykeTorch import snn, utils

    dogs = [utils.DoGKernel(w, s1 / 9, s2 / 9) for w, s1, s2 in
            [(3, 3, 6), (3, 6, 3), (7, 7, 14), (7, 14, 7), (13, 13, 26), (13, 26, 13)]]
    filt = utils.Filter(dogs, padding=6, thresholds=50)
    lat = utils.Intensity2Latency(15)

    def encode(img):
        t = torch.from_numpy(img.astype(np.float32)).view(1, 1, 28, 28)
        t = sf.local_normalization(filt(t), 8)
        return lat(t).sign().byte()

    t0 = time.time()
    etr = [encode(i) for i in xtr]
    ete = [encode(i) for i in xte]
    report("spyketorch", "encode", len(etr) + len(ete), time.time() - t0)

    for seed in a.seeds:
        torch.manual_seed(seed)  # snn.Convolution draws its weights from torch's generator
        print(f"spyketorch seed {seed}", flush=True)
        spyketorch_seed(sf, snn, etr, ytr, ete, yte, a.last_step)


def spyketorch_seed(sf, snn, etr, ytr, ete, yte, last_step):
    c1, c2, c3 = snn.Convolution(6, 30, 5, 0.8, 0.05), snn.Convolution(30, 250, 3, 0.8, 0.05), \
        snn.Convolution(250, 200, 5, 0.8, 0.05)
    st1, st2 = snn.STDP(c1, (0.004, -0.003)), snn.STDP(c2, (0.004, -0.003))
    rew = snn.STDP(c3, (0.004, -0.003), False, 0.2, 0.8)
    pun = snn.STDP(c3, (-0.004, 0.0005), False, 0.2, 0.8)

    def s1(x):
        return sf.fire(c1(sf.pad(x.float(), (2, 2, 2, 2), 0)), 15, True)

    def s2(spk):
        return sf.fire(c2(sf.pad(sf.pooling(spk, 2, 2), (1, 1, 1, 1))), 10, True)

    def s3_in(spk):
        return sf.pad(sf.pooling(spk, 3, 3), (2, 2, 2, 2))

    def stdp_layer(layer, data):
        stdp, counter = (st1, 0) if layer == 1 else (st2, 0)
        for x in data:
            counter += 1
            if counter >= 500:
                counter = 0
                ap = min(stdp.learning_rate[0][0].item() * 2, 0.15)
                stdp.update_all_learning_rate(ap, -0.75 * ap)
            spk, pot = s1(x)
            inp = sf.pad(x.float(), (2, 2, 2, 2), 0)
            if layer == 2:
                inp = sf.pad(sf.pooling(spk, 2, 2), (1, 1, 1, 1))
                spk, pot = s2(spk)
            pot = sf.pointwise_inhibition(pot)
            spk = pot.sign()
            win = sf.get_k_winners(pot, 5 if layer == 1 else 8, 3 if layer == 1 else 1, spk)
            stdp(inp, pot, spk, win)

    def decide(x):
        steps = x.size(0)
        if last_step:  # the final cumulative wave: which inputs ever spiked
            x = x[-1:]
        spk, _ = s1(x)
        spk, _ = s2(spk)
        inp = s3_in(spk)
        pot = c3(inp)
        if last_step:  # S3 fires at the last step only; T steps keep get_k_winners' key
            inp, pot = inp.expand(steps, -1, -1, -1), pot.expand(steps, -1, -1, -1).contiguous()
        out = sf.fire(pot)
        win = sf.get_k_winners(pot, 1, 0, out)
        return (win[0][0] // 20 if win else -1), inp, pot, out, win

    with torch.no_grad():
        for layer in (1, 2):
            t0 = time.time()
            stdp_layer(layer, etr)
            report("spyketorch", f"layer{layer}", len(etr), time.time() - t0)
        t0 = time.time()
        for b in range(0, len(etr), 1000):
            hit = miss = 0
            for x, y in zip(etr[b:b + 1000], ytr[b:b + 1000]):
                d, inp, pot, out, win = decide(x)
                if d == -1:
                    continue
                if d == y:
                    hit += 1
                    rew(inp, pot, out, win)
                else:
                    miss += 1
                    pun(inp, pot, out, win)
            m = len(etr[b:b + 1000])
            rew.update_all_learning_rate(0.004 * miss / m, -0.003 * miss / m)
            pun.update_all_learning_rate(-0.004 * hit / m, 0.0005 * hit / m)
        report("spyketorch", "layer3", len(etr), time.time() - t0)
        t0 = time.time()
        correct = sum(int(decide(x)[0] == y) for x, y in zip(ete, yte))
        report("spyketorch", "inference", len(ete), time.time() - t0)
    print(f"spyketorch accuracy {correct / len(ete):.4f}", flush=True)


# ---- Spyker (its C++ core through its Python API) ----
def run_spyker(a, xtr, ytr, xte, yte):
    import spyker
    dev = spyker.device("cpu")
    F = spyker.DoGFilter
    dog = spyker.DoG(3, [F(3 / 9, 6 / 9), F(6 / 9, 3 / 9), F(7 / 9, 14 / 9), F(14 / 9, 7 / 9),
                         F(13 / 9, 26 / 9), F(26 / 9, 13 / 9)], pad=3, device=dev)
    B = a.batch

    def batches(x, y):
        for b in range(0, len(x), B):
            xb = torch.from_numpy(x[b:b + B].astype(np.float32) / 255).unsqueeze(1)
            yield spyker.code(spyker.threshold(dog(xb), 0.02), 15), torch.from_numpy(y[b:b + B])

    t0 = time.time()
    etr, ete = list(batches(xtr, ytr)), list(batches(xte, yte))
    report("spyker", "encode", len(xtr) + len(xte), time.time() - t0)
    for seed in a.seeds:
        spyker.random_seed(seed)  # spyker.Conv draws its weights from this generator
        print(f"spyker seed {seed}", flush=True)
        spyker_seed(spyker, dev, xtr, etr, ete, a.last_step)


def spyker_seed(spyker, dev, xtr, etr, ete, last_step):
    conv1 = spyker.Conv(6, 30, 5, pad=2, mean=0.8, std=0.05, device=dev)
    conv2 = spyker.Conv(30, 250, 3, pad=1, mean=0.8, std=0.05, device=dev)
    conv3 = spyker.Conv(250, 200, 5, pad=2, mean=0.8, std=0.05, device=dev)
    conv1.stdpconfig = [spyker.STDPConfig(0.004, -0.003)]
    conv2.stdpconfig = [spyker.STDPConfig(0.004, -0.003)]
    base = [(0.004, -0.003), (-0.004, 0.0005)]
    conv3.stdpconfig = [spyker.STDPConfig(p, n, False, 0.2, 0.8) for p, n in base]

    def grow(cfg):
        r = cfg.negative / cfg.positive
        cfg.positive = min(cfg.positive * 2, 0.15)
        cfg.negative = cfg.positive * r

    def c2(x):
        x = spyker.pool(spyker.fire(conv1(x), 15), 2)
        return spyker.pool(spyker.fire(conv2(x), 5), 3)

    for layer in (1, 2):
        t0, count = time.time(), 0
        for x, _ in etr:
            if layer == 1:
                out = spyker.inhibit(spyker.threshold(conv1(x), 15))
                conv1.stdp(x, spyker.convwta(out, 3, 5), spyker.fire(out))
            else:
                x = spyker.pool(spyker.fire(conv1(x), 15), 2)
                out = spyker.inhibit(spyker.threshold(conv2(x), 5))
                conv2.stdp(x, spyker.convwta(out, 1, 8), spyker.fire(out))
            count += x.size(0)
            if count > 500:
                count -= 500
                grow((conv1 if layer == 1 else conv2).stdpconfig[0])
        report("spyker", f"layer{layer}", len(xtr), time.time() - t0)

    t0, seen, hit, miss = time.time(), 0, 0, 0
    for x, y in etr:
        x = c2(x[:, -1:].contiguous() if last_step else x)
        out = spyker.infinite(conv3(x))
        win = spyker.convwta(out, 0, 1)
        for i in range(len(win)):
            if len(win[i]) == 1:
                lab = win[i][0].z // (out.size(2) // 10)
                hit, miss = hit + int(lab == y[i]), miss + int(lab != y[i])
                win[i][0].c = int(lab != y[i])
        conv3.stdp(x, win, spyker.fire(out))
        seen += x.size(0)
        if seen % 1024 == 0:
            for k, (p, n) in enumerate(base):
                f = (miss if k == 0 else hit) / 1024
                conv3.stdpconfig[k].positive, conv3.stdpconfig[k].negative = p * f, n * f
            hit = miss = 0
    report("spyker", "layer3", len(xtr), time.time() - t0)
    t0, correct = time.time(), 0
    for x, y in ete:
        out = spyker.infinite(conv3(c2(x[:, -1:].contiguous() if last_step else x)))
        win = spyker.convwta(out, 0, 1)
        for i in range(len(win)):
            if len(win[i]) == 1:
                correct += int(win[i][0].z // (out.size(2) // 10) == y[i])
    report("spyker", "inference", len(xte), time.time() - t0)
    print(f"spyker accuracy {correct / len(xte):.4f}", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", choices=["spyketorch", "spyker"], required=True)
    ap.add_argument("--spyketorch", help="SpykeTorch checkout (folder holding SpykeTorch/)")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--train", type=int, default=6000)
    ap.add_argument("--test", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64, help="Spyker's batch")
    ap.add_argument("--last-step", action="store_true",
                    help="layer-3 training and test on the last time step only: the "
                         "same decisions (layer 3 fires at the last step, so it sees only which "
                         "inputs ever spiked, and with weights >= 0 a neuron has spiked by the "
                         "last step iff its last-step potential crosses), about 10x faster; for "
                         "accuracy over many seeds, not for timing")
    ap.add_argument("--seeds", default="1",
                    help="comma-separated seeds of the initial weights; one training run each, "
                         "the encodings computed once")
    a = ap.parse_args()
    try:
        a.seeds = [int(v) for v in a.seeds.split(",")]
    except ValueError:
        sys.exit(f"--seeds {a.seeds!r}: expected comma-separated integers")
    if a.train < 1 or a.test < 1 or a.threads < 1 or a.batch < 1:
        sys.exit("--train, --test, --threads and --batch must be >= 1")
    if a.peer == "spyketorch" and not (a.spyketorch and os.path.isdir(os.path.join(a.spyketorch, "SpykeTorch"))):
        sys.exit("--spyketorch: give a checkout of github.com/miladmozafari/SpykeTorch")
    torch.set_num_threads(a.threads)
    xtr, ytr = load(a.data, "train", a.train)
    xte, yte = load(a.data, "t10k", a.test)
    (run_spyketorch if a.peer == "spyketorch" else run_spyker)(a, xtr, ytr, xte, yte)
