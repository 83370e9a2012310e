#!/usr/bin/env python3
"""The seed barrel model (SRNN_bfd of the original PyTorch code) with its recurrent part
replaced by rsnn's fused sparse LIF layer (rsnn.nn.RecurrentLIFFunction), against the
unmodified model: time per training step and peak memory, one implementation per process
(so that the peak memory is its own). The original code is not part of rsnn: pass a copy
with --orig, as for bench/peers/barrel_torch.py, whose input encoding and stubs this reuses.

  PYTHONPATH=<build>/python /usr/bin/python3 python/bench/barrel_seed_rsnn.py \
      --orig /tmp/barrel_orig --B 8 --T 200            # both, side by side (two processes)
  ... --check --T 30                                   # outputs of the two models compared
  ... --seed-forward DIR --form spiking|real --B 4 --T 550
      The seed's own SRNN_bfd (built and run by its code) saved with torch.save to
      DIR/seed_<form>.pth, and DIR/seed_<form>_io.h5: x [T, B, F] in rsnn's layout, the seed's
      forward output summed [B, 3] and its cortical spikes per step per_step [T]. For checking
      a converted model against the seed (tests/test_torch_convert.cpp, TorchConvert.SeedOwnCode,
      with RSNN_BARREL_ORIG set to the copy).

What the replacement keeps: the input layers (fc_f, fc_t, barrelloid) run over all T steps
at once; the thalamic neurons and the 13 populations become one projection of 4,418 aLIF
neurons (groups in the original's update order: thalamus, then populations 0..12, so the
Gauss-Seidel order is the original's), whose weights are the masked SparseLinear2 weights;
fc2_1 is the fused readout over Pyr_SP, Pyr_SS and L2/3 Pyr. The initial state is drawn from
torch.rand in the original's order after torch.manual_seed(515), as its forward does.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.join(HERE, "..", "..", "bench", "peers", "barrel_torch.py")


def load_peer():
    spec = importlib.util.spec_from_file_location("barrel_torch_peer", PEER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def rsnn_model(original, model):
    """An nn.Module computing SRNN_bfd's forward with rsnn's fused layer."""
    import numpy as np
    import torch
    import rsnn
    from rsnn.nn import RecurrentLIFFunction

    sizes = [200] + list(model.popSize)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    N = int(offsets[-1])
    sign = np.ones(N, np.float32)
    for i, t in enumerate(model.popType):
        sign[offsets[i + 1]:offsets[i + 2]] = 1.0 if t == "E" else -1.0
    posts, pres, ws = [], [], []

    def add(layer, post0, pre0):
        r, c = np.nonzero(layer.mask.cpu().numpy())
        posts.append(r + post0)
        pres.append(c + pre0)
        ws.append(layer.weight.detach().cpu().numpy()[r, c])

    th_targets = np.where(model.Prob_ThtoAll != 0.0)[0]
    for k, i in enumerate(th_targets):
        add(model.ThtoPops[k], offsets[i + 1], 0)
    for i in range(len(model.popSize)):
        src = np.where(model.Type_AlltoAll[:, i] != 0.0)[0]
        for j, s in enumerate(src):
            if model.Type_AlltoAll[s, i] != sign[offsets[s + 1]]:
                raise SystemExit(f"population {s} sends synapses of both signs: not one projection")
            add(model.toPops[i][j], offsets[i + 1], offsets[s + 1])
    post, pre, w = (np.concatenate(a) for a in (posts, pres, ws))
    proj = rsnn.projection_from_pairs(N, N, post.astype(np.int32), pre.astype(np.int32), sign)
    order = np.lexsort((pre, post))  # the projection's post-major order

    cfg = rsnn.LifConfig()
    cfg.model = rsnn.NeuronModel.alif
    cfg.beta = 1.8
    cfg.sg_width, cfg.sg_scale = original.lens, original.gamma
    cfg.group_offsets = [int(o) for o in offsets]
    ro = [(int(offsets[1]), 440 + 934), (int(offsets[5]), 2232)]
    cfg.readout = ro
    cfg.output_spikes = False

    class Seed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc_f, self.fc_t, self.barrelloid = model.fc_f, model.fc_t, model.barrelloid
            self.fc2_1, self.fc2_2 = model.fc2_1, model.fc2_2
            self.w = torch.nn.Parameter(torch.from_numpy(np.ascontiguousarray(w[order])))
            self.tau_m = torch.nn.Parameter(torch.cat([model.barrelloid_tau_m.detach()] +
                                                      [t.detach() for t in model.tau_m]))
            self.tau_adp = torch.nn.Parameter(torch.cat([model.barrelloid_tau_adp.detach()] +
                                                        [t.detach() for t in model.tau_adp]))
            self.register_buffer("b_base", torch.full((N,), model.init_b))

        def param_groups(self):
            base = [p for m in (self.fc_f, self.fc_t, self.barrelloid, self.fc2_1, self.fc2_2)
                    for p in m.parameters()] + [self.w]
            return base, [self.tau_adp], [self.tau_m]

        def forward(self, x):
            B, T = x.shape[0], x.shape[3]
            sweep = torch.cat((self.fc_f(x[:, 0, 0]), self.fc_t(x[:, 1, 0])), dim=-1)  # [B, T, 200]
            i_ext = self.barrelloid(sweep).transpose(0, 1).contiguous()              # [T, B, 200]
            torch.manual_seed(515)  # the original's initial state, in its draw order
            mem_th, spk_th = torch.rand(B, 200), torch.rand(B, 200)
            mem = [torch.rand(B, s) for s in model.popSize]
            spk = [torch.rand(B, s) for s in model.popSize]
            v0 = torch.cat([mem_th] + mem, dim=1)
            s0 = torch.cat([spk_th] + spk, dim=1)
            a0 = torch.full((B, N), model.init_b)
            with torch.no_grad():
                self.w.clamp_(0, 1)
            _, y = RecurrentLIFFunction.apply(proj, cfg, self.w, self.tau_m, self.tau_adp,
                                              self.b_base, i_ext, self.fc2_1.weight, v0, a0, s0)
            p = torch.softmax(self.fc2_2(y[1:] + self.fc2_1.bias), dim=-1)  # steps 1..T-1
            return p.sum(0)

    return Seed(), proj


def seed_forward(args, original, np, torch):
    """--seed-forward: the seed's model, input and forward output for a converter check."""
    import h5py
    B, T, spiking = args.B, args.T, args.form == "spiking"
    if spiking:
        model = original.SRNN_bfd(93, 3, init_b=0.04, init_w=0.06)
    else:
        model = original.SRNN_bfd(558, 3, init_b=0.03, init_w=0.05)
    rng = np.random.default_rng(516)
    if spiking:
        x = (rng.random((B, 2, 1, T, 93)) < 0.3).astype(np.float32)
        x_rsnn = np.concatenate([x[:, 0, 0], x[:, 1, 0]], axis=-1).transpose(1, 0, 2)
    else:
        x = rng.uniform(-1, 1, (B, 1, 1, T, 558)).astype(np.float32)
        x_rsnn = x[:, 0, 0].transpose(1, 0, 2)
    with torch.no_grad():
        out, h_state, _, _ = model(torch.from_numpy(x))
    os.makedirs(args.seed_forward, exist_ok=True)
    torch.save(model, os.path.join(args.seed_forward, f"seed_{args.form}.pth"))
    with h5py.File(os.path.join(args.seed_forward, f"seed_{args.form}_io.h5"), "w") as f:
        f["x"] = np.ascontiguousarray(x_rsnn, dtype=np.float32)
        f["summed"] = out.numpy().astype(np.float64)
        f["per_step"] = np.array([int(h.sum()) for h in h_state], dtype=np.int64)
        f.attrs["torch"] = str(torch.__version__)
    print(json.dumps({"seed_forward": args.form, "B": B, "T": T, "dir": args.seed_forward,
                      "cortical_spikes": int(sum(int(h.sum()) for h in h_state))}))


def run_one(args):
    peer = load_peer()
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    torch.Tensor.cuda = lambda self, *a, **k: self
    torch.nn.Module.cuda = lambda self, *a, **k: self
    peer.stub_missing(["seaborn", "tqdm", "spikingjelly", "gif", "brainpy"])
    orig = os.path.abspath(args.orig)
    sys.path.insert(0, orig)
    os.chdir(orig)
    if args.seed_forward and args.form == "real":
        import RSNN_bfd_RealValued as original
    else:
        import RSNN_bfd_SpikingBased as original
    if args.seed_forward:
        return seed_forward(args, original, np, torch)

    args.data, args.rate = "", 0.05
    x_np, y_np = peer.encoded_input(args, np)
    x, labels = torch.from_numpy(x_np), torch.from_numpy(np.asarray(y_np, np.int64))
    model = original.SRNN_bfd(93, 3, init_b=0.04, init_w=0.06)
    if args.check:
        seed_model, _ = rsnn_model(original, model)
        with torch.no_grad():
            a = model(x)[0]
            b = seed_model(x)
        print(json.dumps({"check": True, "T": args.T, "B": args.B,
                          "max_abs_diff": float((a - b).abs().max()),
                          "max_abs_output": float(a.abs().max())}))
        return
    if args.impl == "rsnn":
        net, proj = rsnn_model(original, model)
        groups = net.param_groups()
        forward = net
    else:
        groups = model.get_all_params()
        forward = lambda inp: model(inp)[0]  # noqa: E731
    lr = 0.008
    opt = torch.optim.Adam([{"params": groups[0], "lr": lr}, {"params": groups[1], "lr": 5 * lr},
                            {"params": groups[2], "lr": 2 * lr}])
    crit = torch.nn.CrossEntropyLoss()
    before = peer.maxrss_mb()
    wall, cpu = [], []  # CPU time too: on a shared machine it is the fairer measure
    for _ in range(args.reps):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad()
        loss = crit(forward(x) / args.T, labels)
        loss.backward()
        opt.step()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(json.dumps({"impl": args.impl, "B": args.B, "T": args.T, "seconds": wall, "cpu_seconds": cpu,
                      "maxrss_mb_before": before, "maxrss_mb": peer.maxrss_mb(),
                      "loss": float(loss), "torch_threads": torch.get_num_threads()}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orig", default=os.environ.get("BARREL_ORIG", ""), required=False)
    ap.add_argument("--impl", choices=["torch", "rsnn", "both"], default="both")
    ap.add_argument("--B", type=int, default=8)
    ap.add_argument("--T", type=int, default=200)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--check", action="store_true", help="compare the two models' outputs")
    ap.add_argument("--seed-forward", default="", metavar="DIR",
                    help="save the seed's model, an input and its forward output to DIR (see above)")
    ap.add_argument("--form", choices=["spiking", "real"], default="spiking", help="with --seed-forward")
    args = ap.parse_args()
    if not args.orig or not os.path.isfile(os.path.join(args.orig, "RSNN_bfd_SpikingBased.py")):
        sys.exit(f"barrel_seed_rsnn: --orig must point at a copy of Barrel-Cortex-RSNN (got '{args.orig}')")
    if args.check or args.seed_forward or args.impl != "both":
        return run_one(args)
    # One process each (their own peak memory); rsnn first, so that its numbers stand even
    # when the unmodified model runs out of memory or time. A failed run is reported, not fatal.
    failed = False
    for impl in ("rsnn", "torch"):
        cmd = [sys.executable, os.path.abspath(__file__), "--orig", args.orig, "--impl", impl,
               "--B", str(args.B), "--T", str(args.T), "--reps", str(args.reps),
               "--threads", str(args.threads)]
        t0 = time.perf_counter()
        rc = subprocess.run(cmd).returncode
        if rc != 0:
            failed = True
            print(json.dumps({"impl": impl, "B": args.B, "T": args.T, "failed": True,
                              "returncode": rc, "seconds_until_failure": time.perf_counter() - t0}),
                  flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
