#!/usr/bin/env python3
"""Convert a PyTorch barrel-cortex model (SRNN_bfd of github.com/fun0515/Barrel-Cortex-RSNN,
saved whole with torch.save(model)) into an rsnn checkpoint (models/barrel/train.h layout),
so that `rsnn barrel eval|deprive --checkpoint OUT.h5` run it.

  /usr/bin/python3 tools/convert_torch_barrel.py MODEL.pth OUT.h5 [--form spiking|real]
      [--init-b B] [--steps T] [--init-batch B[,B...]] [--init-generator auto|torch|numpy]
  /usr/bin/python3 tools/convert_torch_barrel.py CHECKPOINT.h5 OUT.h5 --init-batch B[,B...]

The seed's forward re-seeds torch (515) and draws its initial membrane state and real-valued
initial spikes with torch.rand on every call, in shapes that depend on the batch size B.
--init-batch stores those draws for each listed B in OUT.h5 (/init_state/<B>/v0, s0: see
models/barrel/train.h); rsnn then starts every forward from them, so the converted model gives
the seed's outputs, and refuses a batch size without stored draws. They are computed with
torch when it is importable (as the seed does), else with numpy's MT19937 seeded as
torch.manual_seed seeds its CPU generator (--init-generator picks one): torch's float uniform
is the low 24 bits of each 32-bit output times 2^-24, drawn serially, which the two share bit
for bit (checked against torch 1.13 by tests/test_torch_convert.cpp). Given an rsnn barrel
checkpoint instead of MODEL.pth, OUT.h5 is that checkpoint with the draws added (replacing any
it held).

Needs only numpy and h5py, not torch (Debian: /usr/bin/python3 with python3-numpy and
python3-h5py; a pyenv `python3` on PATH usually lacks them). Reads torch.save files of
torch >= 1.6 (the zip format; the original used torch 2.1.1).

The original source need not be importable, and no code from the file runs: the archive is
read by a restricted unpickler that turns tensors into numpy arrays and the pickle's classes
(__main__.SRNN_bfd, SparseLinear.SparseLinear2, torch's Linear and ModuleList) into stand-ins
that only hold their saved state. What is read (spec barrel-cortex-rsnn.md §1.3-1.6):
  ThtoPops[k]     SparseLinear2 [pop size, 200] for the k-th population with thalamic input
  toPops[i][k]    SparseLinear2 [size i, size j] for the k-th source j (ascending) of target i
  tau_m, tau_adp  13 per-population vectors; barrelloid_tau_m, barrelloid_tau_adp [200]
  fc_f, fc_t      Linear(93, 100) (spiking form) or fc Linear(558, 200) (real form)
  barrelloid      Linear(200, 200); fc2_1 Linear(3606, 128); fc2_2 Linear(128, 3)
  init_b, init_w  the baseline threshold b_j0 (= initial adaptation) and the weight-init bound
A synapse exists where a block's mask is non-zero; its value is the block's weight clamped to
[0, 1], as the original clamps before every forward. Network order: the 200 thalamic neurons,
then the 13 populations; the sign of a synapse is its source population's.

Anything unexpected (missing block or attribute, wrong shape, NaN, a mask that is not 0/1, a
table sign that contradicts the population type) stops the conversion with one line on
stderr and exit status 1. OUT.h5 is written to a temporary file and renamed into place.
"""
import argparse
import math
import os
import sys

from torch_pickle import ConvertError, load_torch_pickle  # beside this file

# The rsnn network (models/barrel/anatomy.h): populations in model order.
POP_NAMES = ["Pyr_SP", "Pyr_SS", "Inh_FS", "Inh_RSNP", "Pyr", "Inh_FSBS", "Inh_FSCH",
             "Inh_BSPV", "Inh_Mar", "Inh_DBC", "Inh_Bip", "Inh_SBC", "Inh_NG"]
POP_SIZES = [440, 934, 94, 93, 2232, 106, 4, 55, 64, 64, 34, 60, 38]
POP_TYPES = ["E", "E", "I", "I", "E", "I", "I", "I", "I", "I", "I", "I", "I"]
N_THAL = 200
N_POP = len(POP_SIZES)
N_NET = N_THAL + sum(POP_SIZES)  # 4418
READOUT_POPS = (0, 1, 4)         # fc2_1 reads Pyr_SP, Pyr_SS, L2/3 Pyr
N_HIDDEN, N_CLASSES = 128, 3


def load_model(path):
    obj = load_torch_pickle(path)
    if isinstance(obj, dict):
        raise ConvertError(f"{path}: holds a dict (a state_dict?), not a whole SRNN_bfd model; the masks "
                           "of SparseLinear2 are plain attributes, absent from a state_dict, so save the "
                           "whole model with torch.save(model)")
    origin = getattr(type(obj), "_rsnn_origin", type(obj).__name__)
    if type(obj).__name__ != "SRNN_bfd":
        raise ConvertError(f"{path}: holds a {origin}, expected an SRNN_bfd model")
    return obj


# ---- reading the model ------------------------------------------------------------------

def attr(obj, name, where):
    try:
        return getattr(obj, name)
    except AttributeError:
        raise ConvertError(f"{where}: missing attribute '{name}'") from None


def array(x, where, shape=None):
    """A float tensor (loaded as a numpy array) as float32, shape- and NaN-checked."""
    import numpy as np
    if not isinstance(x, np.ndarray):
        raise ConvertError(f"{where}: expected a tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise ConvertError(f"{where}: expected a float tensor, got {x.dtype}")
    a = x.astype(np.float32)
    if shape is not None and tuple(a.shape) != tuple(shape):
        raise ConvertError(f"{where}: shape {tuple(a.shape)}, expected {tuple(shape)}")
    if not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ConvertError(f"{where}: {bad} non-finite value(s) (NaN or inf)")
    return a


def module_list(obj, name, where, length):
    ml = attr(obj, name, where)
    try:
        items = list(ml)
    except TypeError:
        raise ConvertError(f"{where}.{name}: expected a ModuleList, got {type(ml).__name__}") from None
    if len(items) != length:
        raise ConvertError(f"{where}.{name}: {len(items)} entries, expected {length}")
    return items


def linear(obj, name, out_f, in_f):
    lin = attr(obj, name, "SRNN_bfd")
    w = array(attr(lin, "weight", name), name + ".weight", (out_f, in_f))
    b = attr(lin, "bias", name)
    if b is None:
        raise ConvertError(f"{name}: has no bias; the model expects Linear(..., bias=True)")
    return w, array(b, name + ".bias", (out_f,))


def sparse_block(block, where, n_post, n_pre):
    """(post, pre, value) of the synapses of one SparseLinear2: mask != 0, value clamp(w, 0, 1)."""
    import numpy as np
    w = array(attr(block, "weight", where), where + ".weight", (n_post, n_pre))
    mask = array(attr(block, "mask", where), where + ".mask", (n_post, n_pre))
    if not np.all((mask == 0) | (mask == 1)):
        raise ConvertError(f"{where}.mask: values other than 0 and 1")
    if getattr(block, "bias", None) is not None:
        raise ConvertError(f"{where}: has a bias; the model's sparse blocks have none")
    if getattr(block, "ifPositive", True) is not True:
        raise ConvertError(f"{where}: ifPositive is not True; rsnn keeps every weight in [0, 1]")
    post, pre = np.nonzero(mask)
    raw = w[post, pre]
    return post, pre, np.clip(raw, 0.0, 1.0), int(np.count_nonzero((raw < 0) | (raw > 1)))


def tables(model):
    """Prob_ThtoAll [13] and Type_AlltoAll [13, 13] (rows pre, cols post) from the model."""
    import numpy as np
    p_th = np.asarray(attr(model, "Prob_ThtoAll", "SRNN_bfd"), dtype=np.float64).reshape(-1)
    typ = np.asarray(attr(model, "Type_AlltoAll", "SRNN_bfd"), dtype=np.float64)
    if p_th.shape != (N_POP,) or typ.shape != (N_POP, N_POP):
        raise ConvertError(f"SRNN_bfd: Prob_ThtoAll {p_th.shape} / Type_AlltoAll {typ.shape}, expected "
                           f"({N_POP},) / ({N_POP}, {N_POP})")
    for j in range(N_POP):
        want = 1.0 if POP_TYPES[j] == "E" else -1.0
        for i in range(N_POP):
            if typ[j, i] not in (0.0, want):
                raise ConvertError(f"SRNN_bfd.Type_AlltoAll[{j}, {i}] = {typ[j, i]}: source {POP_NAMES[j]} is "
                                   f"{POP_TYPES[j]}, so the sign must be {want:+.0f} (or 0)")
    return p_th, typ


def convert(model, form=None, init_b=None, steps=None):
    """Everything the checkpoint holds, as a dict of numpy arrays and attributes."""
    import numpy as np
    sizes = [int(s) for s in attr(model, "popSize", "SRNN_bfd")]
    if sizes != POP_SIZES:
        raise ConvertError(f"SRNN_bfd.popSize = {sizes}, expected {POP_SIZES}")
    ptypes = list(getattr(model, "popType", POP_TYPES))
    if ptypes != POP_TYPES:
        raise ConvertError(f"SRNN_bfd.popType = {ptypes}, expected {POP_TYPES}")
    has_ff = hasattr(model, "fc_f") and hasattr(model, "fc_t")
    has_fc = hasattr(model, "fc")
    if has_ff == has_fc:
        raise ConvertError("SRNN_bfd: expected either fc_f and fc_t (spiking form) or fc (real form)")
    found = "spiking" if has_ff else "real"
    if form is not None and form != found:
        raise ConvertError(f"--form {form}, but the model is the {found} form "
                           f"({'fc_f/fc_t' if has_ff else 'fc'} present)")
    form = found

    p_th, typ = tables(model)
    offsets = [N_THAL]
    for s in POP_SIZES:
        offsets.append(offsets[-1] + s)

    params, posts, pres, vals = {}, [], [], []
    clamped = 0
    thal_targets = [i for i in range(N_POP) if p_th[i] != 0]
    th_blocks = module_list(model, "ThtoPops", "SRNN_bfd", len(thal_targets))
    for k, i in enumerate(thal_targets):
        post, pre, v, c = sparse_block(th_blocks[k], f"ThtoPops[{k}] (VPM -> {POP_NAMES[i]})",
                                       POP_SIZES[i], N_THAL)
        posts.append(post + offsets[i]), pres.append(pre), vals.append(v)
        clamped += c
    to_pops = module_list(model, "toPops", "SRNN_bfd", N_POP)
    for i in range(N_POP):
        sources = [j for j in range(N_POP) if typ[j, i] != 0]
        where = f"toPops[{i}] ({POP_NAMES[i]})"
        try:
            blocks = list(to_pops[i])
        except TypeError:
            raise ConvertError(f"{where}: expected a ModuleList, got {type(to_pops[i]).__name__}") from None
        if len(blocks) != len(sources):
            raise ConvertError(f"{where}: {len(blocks)} source blocks, expected {len(sources)} "
                               f"({', '.join(POP_NAMES[j] for j in sources)})")
        for k, j in enumerate(sources):
            post, pre, v, c = sparse_block(blocks[k], f"toPops[{i}][{k}] ({POP_NAMES[j]} -> {POP_NAMES[i]})",
                                           POP_SIZES[i], POP_SIZES[j])
            posts.append(post + offsets[i]), pres.append(pre + offsets[j]), vals.append(v)
            clamped += c

    post = np.concatenate(posts).astype(np.int64)
    pre = np.concatenate(pres).astype(np.int64)
    w = np.concatenate(vals).astype(np.float32)
    order = np.lexsort((pre, post))  # post-major, pre ascending within a row
    post, pre, w = post[order], pre[order], w[order]
    post_ptr = np.zeros(N_NET + 1, dtype=np.int64)
    post_ptr[1:] = np.cumsum(np.bincount(post, minlength=N_NET))
    sign = np.ones(N_NET, dtype=np.float32)
    for j in range(N_POP):
        if POP_TYPES[j] == "I":
            sign[offsets[j]:offsets[j + 1]] = -1.0

    def taus(name, bname):
        lst = attr(model, name, "SRNN_bfd")
        if len(lst) != N_POP:
            raise ConvertError(f"SRNN_bfd.{name}: {len(lst)} entries, expected {N_POP}")
        parts = [array(attr(model, bname, "SRNN_bfd"), bname, (N_THAL,))]
        parts += [array(lst[i], f"{name}[{i}] ({POP_NAMES[i]})", (POP_SIZES[i],)) for i in range(N_POP)]
        t = np.concatenate(parts)
        if np.any(t <= 0):
            raise ConvertError(f"SRNN_bfd.{name}: {int(np.count_nonzero(t <= 0))} time constant(s) <= 0")
        return t

    if form == "spiking":
        params["fc_f.weight"], params["fc_f.bias"] = linear(model, "fc_f", 100, 93)
        params["fc_t.weight"], params["fc_t.bias"] = linear(model, "fc_t", 100, 93)
    else:
        params["fc.weight"], params["fc.bias"] = linear(model, "fc", 200, 558)
    params["barrelloid.weight"], params["barrelloid.bias"] = linear(model, "barrelloid", N_THAL, 200)
    params["w"] = w
    params["tau_m"] = taus("tau_m", "barrelloid_tau_m")
    params["tau_adp"] = taus("tau_adp", "barrelloid_tau_adp")
    n_ro = sum(POP_SIZES[i] for i in READOUT_POPS)
    params["fc2_1.weight"], params["fc2_1.bias"] = linear(model, "fc2_1", N_HIDDEN, n_ro)
    params["fc2_2.weight"], params["fc2_2.bias"] = linear(model, "fc2_2", N_CLASSES, N_HIDDEN)

    b0 = float(attr(model, "init_b", "SRNN_bfd")) if init_b is None else float(init_b)
    w0 = float(getattr(model, "init_w", 0.06 if form == "spiking" else 0.05))
    if not (math.isfinite(b0) and b0 >= 0):
        raise ConvertError(f"init_b = {b0}: must be finite and >= 0")
    if not (0 < w0 <= 1):
        raise ConvertError(f"SRNN_bfd.init_w = {w0}: must be in (0, 1]")
    T = steps if steps is not None else (550 if form == "spiking" else 110)
    if T < 2:
        raise ConvertError(f"--steps {T}: must be at least 2")
    return {
        "params": params, "b_base": np.full(N_NET, b0, dtype=np.float32),
        "post_ptr": post_ptr, "pre_idx": pre.astype(np.int32), "source_sign": sign,
        "attrs": {"form": form, "T": int(T), "init_b": b0, "init_w": w0},
        "counts": {"thalamic": int(sum(len(v) for v in vals[:len(thal_targets)])),
                   "recurrent": int(sum(len(v) for v in vals[len(thal_targets):])), "clamped": clamped},
    }


# ---- the seed's initial state -------------------------------------------------------------
#
# SRNN_bfd.forward: torch.manual_seed(515); then torch.rand(B, 200) for the thalamic membrane,
# torch.rand(B, 200) for its initial spikes, torch.rand(B, n_i) for each population's membrane,
# then for each population's spikes (and an unused [B, 3]): one serial stream of draws.

SEED_INIT = 515


def torch_rand_numpy(seed, n):
    """The first n values of torch.manual_seed(seed); torch.rand(...) (float32, CPU), without
    torch: mt19937 seeded by init_genrand(seed) (numpy's legacy seeding), 24 low bits * 2^-24."""
    import numpy as np
    legacy = np.random.RandomState(seed)  # init_genrand(seed), as torch's CPU generator
    bg = np.random.MT19937()
    bg.state = legacy.get_state(legacy=False)
    raw = bg.random_raw(n)
    return ((raw & 0xFFFFFF).astype(np.float64) * 2.0 ** -24).astype(np.float32)


def torch_rand_torch(seed, n):
    import torch
    torch.manual_seed(seed)
    return torch.rand(n).numpy()


def pick_generator(name):
    """(function, description) for --init-generator auto|torch|numpy."""
    import numpy as np
    have_torch, why = True, ""
    try:
        import torch
    except Exception as e:  # absent, or a broken install: auto falls back to numpy
        have_torch, why = False, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    if name == "torch" and not have_torch:
        raise ConvertError(f"--init-generator torch: torch is not importable ({why}); use numpy or auto")
    if name == "torch" or (name == "auto" and have_torch):
        return torch_rand_torch, f"torch {torch.__version__} CPU generator"
    return torch_rand_numpy, f"numpy {np.__version__} MT19937 (torch's CPU generator re-implemented)"


def seed_initial_state(B, rand=torch_rand_numpy):
    """v0, s0 float32 [B, 4418] in network order, as the seed's forward draws them for batch B."""
    import numpy as np
    u = rand(SEED_INIT, 2 * B * N_NET)
    parts, at = [], 0
    for n in [N_THAL, N_THAL] + POP_SIZES + POP_SIZES:  # thalamus v, s; populations' v; their s
        parts.append(u[at:at + B * n].reshape(B, n))
        at += B * n
    v = [parts[0]] + parts[2:2 + N_POP]
    s = [parts[1]] + parts[2 + N_POP:]
    return np.concatenate(v, axis=1), np.concatenate(s, axis=1)


def parse_batches(text):
    try:
        bs = [int(v) for v in text.split(",")]
    except ValueError:
        raise ConvertError(f"--init-batch {text}: expected positive integers separated by commas") from None
    if not bs or any(b < 1 for b in bs):
        raise ConvertError(f"--init-batch {text}: batch sizes must be >= 1")
    if any(b > 4096 for b in bs):
        raise ConvertError(f"--init-batch {text}: batch sizes above 4096 are not supported "
                           "(the draws take 35 kB per sample)")
    return sorted(set(bs))


def write_initial_states(f, batches, rand, generator):
    import numpy as np
    g = f.create_group("init_state")
    g.attrs["source"] = "SRNN_bfd.forward: torch.manual_seed(515); torch.rand per group, v then s"
    g.attrs["generator"] = generator
    for B in batches:
        v0, s0 = seed_initial_state(B, rand)
        g.create_dataset(f"{B}/v0", data=np.ascontiguousarray(v0, dtype=np.float32))
        g.create_dataset(f"{B}/s0", data=np.ascontiguousarray(s0, dtype=np.float32))


def is_rsnn_checkpoint(path):
    import h5py
    try:
        if not h5py.is_hdf5(path):
            return False
        with h5py.File(path, "r") as f:
            fmt = f.attrs.get("format")
    except OSError:
        return False
    return (fmt.decode() if isinstance(fmt, bytes) else fmt) == "rsnn-barrel"


# ---- writing the checkpoint -------------------------------------------------------------


def _atomic_h5(path, fill):
    """Runs fill(h5py.File) on a temporary file, then renames it onto path."""
    import h5py
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise ConvertError(f"{path}: folder {d} does not exist")
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with h5py.File(tmp, "w") as f:
            fill(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def add_initial_states(src, out, batches, rand, generator):
    """OUT = the rsnn checkpoint SRC with /init_state replaced by the seed's draws."""
    import h5py

    def fill(f):
        with h5py.File(src, "r") as s:
            for k, v in s.attrs.items():
                f.attrs[k] = v
            for name in s:
                if name != "init_state":
                    s.copy(s[name], f, name=name)
        write_initial_states(f, batches, rand, generator)

    _atomic_h5(out, fill)

def write_checkpoint(path, c, source, init=None):
    """init: (batches, rand, generator) of the seed's initial states to store, or None."""
    import numpy as np

    def fill(f):
        a = c["attrs"]
        f.attrs["format"] = "rsnn-barrel"
        f.attrs["version"] = np.int64(1)
        f.attrs["form"] = a["form"]
        f.attrs["T"] = np.int64(a["T"])
        f.attrs["init_b"] = np.float64(a["init_b"])
        f.attrs["init_w"] = np.float64(a["init_w"])
        f.attrs["tau_m_init"] = np.float64(10.0)
        f.attrs["tau_adp_init"] = np.float64(5.0)
        f.attrs["beta"] = np.float64(1.8)
        f.attrs["order"] = "gauss_seidel"
        f.attrs["loss"] = "seed"
        f.attrs["seed"] = np.int64(515)
        f.attrs["epoch"] = np.int64(0)
        f.attrs["test_accuracy"] = np.float64("nan")  # not evaluated by rsnn yet
        f.attrs["converted_from"] = os.path.basename(source)
        f.attrs["converter"] = "tools/convert_torch_barrel.py (PyTorch SRNN_bfd)"
        for name, v in c["params"].items():
            f.create_dataset("params/" + name, data=np.ascontiguousarray(v, dtype=np.float32))
        f.create_dataset("b_base", data=c["b_base"])
        f.create_dataset("projection/post_ptr", data=c["post_ptr"])
        f.create_dataset("projection/pre_idx", data=c["pre_idx"])
        f.create_dataset("projection/source_sign", data=c["source_sign"])
        f.create_group("scheduler").attrs["last_epoch"] = np.int64(0)
        if init is not None:
            write_initial_states(f, *init)

    _atomic_h5(path, fill)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="convert_torch_barrel.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="MODEL.pth: torch.save(model) of an SRNN_bfd")
    ap.add_argument("out", help="OUT.h5: the rsnn checkpoint to write")
    ap.add_argument("--form", choices=["spiking", "real"],
                    help="expected model form (default: detected from fc_f/fc_t or fc)")
    ap.add_argument("--init-b", type=float, default=None,
                    help="baseline threshold b_j0 and initial adaptation (default: the model's init_b; "
                         "the original scripts set their global b_j0 from it)")
    ap.add_argument("--steps", type=int, default=None,
                    help="time steps T of the checkpoint (default 550 spiking, 110 real)")
    ap.add_argument("--init-batch", default=None, metavar="B[,B...]",
                    help="store the seed's initial state draws for these batch sizes (rsnn then "
                         "uses them and refuses other batch sizes); default: none, rsnn draws its own")
    ap.add_argument("--init-generator", choices=["auto", "torch", "numpy"], default="auto",
                    help="how to compute the draws: torch, numpy's MT19937, or torch when importable")
    a = ap.parse_args(argv)
    try:
        try:
            import h5py  # noqa: F401
            import numpy  # noqa: F401
        except ImportError as e:
            raise ConvertError(f"{e}; run with a python3 that has numpy and h5py "
                               "(Debian: /usr/bin/python3 with python3-numpy and python3-h5py)")
        init = None
        if a.init_batch is not None:
            batches = parse_batches(a.init_batch)
            init = (batches, *pick_generator(a.init_generator))
        if os.path.isfile(a.model) and is_rsnn_checkpoint(a.model):
            if init is None:
                raise ConvertError(f"{a.model}: already an rsnn checkpoint; give --init-batch to add the "
                                   "seed's initial state to it")
            for flag, v in (("--form", a.form), ("--init-b", a.init_b), ("--steps", a.steps)):
                if v is not None:
                    raise ConvertError(f"{flag}: only for a MODEL.pth, not for an rsnn checkpoint")
            add_initial_states(a.model, a.out, *init)
            print(f"wrote {a.out}: {a.model} with the seed's initial state for B = "
                  f"{', '.join(map(str, init[0]))} ({init[2]})")
            return 0
        model = load_model(a.model)
        c = convert(model, a.form, a.init_b, a.steps)
        write_checkpoint(a.out, c, a.model, init)
    except ConvertError as e:
        print(f"convert_torch_barrel: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # writing OUT.h5 (disk full, permissions)
        print(f"convert_torch_barrel: error: {a.out}: {e}", file=sys.stderr)
        return 1
    n = c["counts"]
    init_note = "" if init is None else (f"; the seed's initial state for B = {', '.join(map(str, init[0]))} "
                                         f"({init[2]})")
    print(f"wrote {a.out}: {c['attrs']['form']} model, {N_NET} neurons, {n['thalamic'] + n['recurrent']} "
          f"synapses ({n['thalamic']} thalamic, {n['recurrent']} recurrent), T = {c['attrs']['T']}, "
          f"init_b = {c['attrs']['init_b']:g}; {n['clamped']} weight(s) clamped to [0, 1]{init_note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
