"""The deep convolutional STDP / R-STDP network (Mozafari et al. 2019; models/rstdp):
input coding, layers 1-2 by STDP, layer 3 by R-STDP with adaptive rates, the test pass,
and the whole schedule of `rsnn rstdp train`.

    wave = rsnn.rstdp.encode_image(img)                  # [6, 32, 32] first-spike times
    L = rsnn.rstdp.make_layers12(seed=1); rsnn.rstdp.stdp_step_layer1(L, wave)
    bits = rsnn.rstdp.c2_bits(L, images)                 # layer 3's input, uint64 [n, 63]
    l3 = rsnn.rstdp.Layer3Trainer(rsnn.rstdp.make_layer3(1))
    acc, rates = l3.epoch(bits, labels, rsnn.rstdp.RStdpRates())
    l3.test(bits_test, labels_test)                       # {'correct', 'wrong', 'silence', ...}

Spike waves are uint8 first-spike times (STEPS = 15 means never); weights are views.
"""
from __future__ import annotations

import os
import struct
import tempfile
from typing import Any

import numpy as np

from ._core import rstdp as _r

STEPS = _r.STEPS
Layers12 = _r.Layers12
Layer3 = _r.Layer3
Layer3Trainer = _r.Layer3Trainer
RStdpRates = _r.RStdpRates
Winner = _r.Winner
TrainState = _r.TrainState
encode_image = _r.encode_image
encode_images = _r.encode_images
dog_normalized = _r.dog_normalized
load_split = _r.load_split
make_layers12 = _r.make_layers12
stdp_step_layer1 = _r.stdp_step_layer1
stdp_step_layer2 = _r.stdp_step_layer2
winners_table = _r.winners_table
c2_output = _r.c2_output
c2_bits = _r.c2_bits
reconstruct_layer1 = _r.reconstruct_layer1
make_layer3 = _r.make_layer3
adapt_rates = _r.adapt_rates
train = _r.train
load_checkpoint = _r.load_checkpoint


def evaluate(state: TrainState, images: Any, labels: Any, which: str = "best",
             threads: int = 1) -> dict:
    """Test a trained state on images [n, 28, 28] uint8 (as `rsnn rstdp eval` on the CPU):
    {'correct', 'wrong', 'silence', 'n', 'confusion' [label, silence + class 0..9]}."""
    if which not in ("best", "last"):
        raise ValueError(f"evaluate: which must be 'best' or 'last', got {which!r}")
    l3 = state.best_layer3 if which == "best" else state.layer3
    bits = c2_bits(state.layers12, images)
    return Layer3Trainer(l3).test(bits, labels, threads)


def _write_idx(path: str, array: np.ndarray) -> None:
    # IDX: two zero bytes, type 0x08 (ubyte), the rank, big-endian sizes, then the data.
    a = np.ascontiguousarray(array, dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-idx-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(bytes([0, 0, 8, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape))
            f.write(a.tobytes())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_idx_folder(folder: str, train_images: Any, train_labels: Any, test_images: Any,
                    test_labels: Any) -> None:
    """Write arrays as an MNIST-format folder (plain IDX files) that `train` and
    `load_split` read: images [n, rows, cols] uint8, labels [n] in 0..9."""
    os.makedirs(folder, exist_ok=True)
    for split, im, lb in (("train", train_images, train_labels), ("t10k", test_images, test_labels)):
        im, lb = np.asarray(im), np.asarray(lb)
        if im.ndim != 3 or lb.ndim != 1 or len(im) != len(lb):
            raise ValueError(f"save_idx_folder: {split}: images [n, rows, cols] and labels [n] "
                             f"expected, got {im.shape} and {lb.shape}")
        _write_idx(os.path.join(folder, f"{split}-images-idx3-ubyte"), im)
        _write_idx(os.path.join(folder, f"{split}-labels-idx1-ubyte"), lb)


__all__ = ["STEPS", "Layers12", "Layer3", "Layer3Trainer", "RStdpRates", "Winner", "TrainState",
           "encode_image", "encode_images", "dog_normalized", "load_split", "make_layers12",
           "stdp_step_layer1", "stdp_step_layer2", "winners_table", "c2_output", "c2_bits",
           "reconstruct_layer1", "make_layer3", "adapt_rates", "train", "load_checkpoint",
           "evaluate", "save_idx_folder"]
