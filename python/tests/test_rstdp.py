"""The R-STDP bindings on a tiny synthetic data set: coding, STDP bounds, determinism, the
whole schedule through its checkpoint, and C++ errors arriving as rsnn.Error."""
import os
import subprocess

import numpy as np
import pytest

import rsnn
import rsnn.rstdp as rs
from conftest import RSNN_EXE


def synthetic(n, seed):
    """28x28 images of 10 classes: a bright bar whose row (classes 0-4) or column (5-9) names
    the class, on faint noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = rng.integers(0, 30, size=(n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        p = 4 + 4 * (k % 5)
        if k < 5:
            images[i, p:p + 3, 3:25] = 255
        else:
            images[i, 3:25, p:p + 3] = 255
    return images, labels.astype(np.int32)


def test_encoding_of_known_images():
    blank = rs.encode_image(np.zeros((28, 28), np.uint8))
    assert blank.shape == (6, 32, 32) and blank.dtype == np.uint8
    assert np.all(blank == rs.STEPS)  # no contrast: no DoG response, no spike
    img = np.zeros((28, 28), np.uint8)
    img[10:18, 10:18] = 255
    w = rs.encode_image(img)
    assert np.all(w[:, :2, :] == rs.STEPS) and np.all(w[:, :, -2:] == rs.STEPS)  # padding
    assert w.min() == 0 and np.count_nonzero(w < rs.STEPS) > 0
    # Far from the square (beyond the 13x13 DoG kernels) nothing spikes; at its edges, some do.
    assert np.all(w[:, 2 + 1, 2 + 1] == rs.STEPS)
    assert np.any(w[:, 2 + 10, 2 + 14] < rs.STEPS)
    images, _ = synthetic(3, 1)
    batch = rs.encode_images(images)
    for i in range(3):
        np.testing.assert_array_equal(batch[i], rs.encode_image(images[i]))
    with pytest.raises(rsnn.Error, match="image: expected 2 dimensions"):
        rs.encode_image(np.zeros((1, 28, 28), np.uint8))


def test_stdp_keeps_weights_in_bounds_and_is_deterministic():
    images, _ = synthetic(8, 2)
    waves = rs.encode_images(images)

    def run(seed):
        L = rs.make_layers12(seed)
        w0 = L.w1.copy()
        for w in waves:
            rs.stdp_step_layer1(L, w)
        for w in waves:
            winners = rs.stdp_step_layer2(L, w)
        return L, w0, winners

    L, w0, winners = run(5)
    assert L.w1.shape == (30, 6, 5, 5) and not L.w1.flags.owndata
    assert not np.array_equal(L.w1, w0)  # learning happened
    for w in (L.w1, L.w2):
        assert w.min() >= 0.0 and w.max() <= 1.0  # the stabilizer's bounds
    assert L.rates[0][2] == 8 and L.rates[1][2] == 8  # one schedule count per sample
    table = rs.winners_table(winners)
    assert len({len(c) for c in table.values()}) == 1
    assert np.all((table["feature"] >= 0) & (table["feature"] < 250))
    L2, _, _ = run(5)
    np.testing.assert_array_equal(L.w2, L2.w2)
    L3, _, _ = run(6)
    assert not np.array_equal(L.w1, L3.w1)
    c2 = rs.c2_output(L, waves[0])
    assert c2.shape == (250, 8, 8)
    with pytest.raises(rsnn.Error, match="first-spike time 16"):
        rs.stdp_step_layer1(L, np.full((6, 32, 32), 16, np.uint8))


def test_layer3_rstdp_bounds_and_test_pass():
    images, labels = synthetic(40, 3)
    L = rs.make_layers12(1)
    bits = rs.c2_bits(L, images)
    assert bits.shape == (40, 63) and bits.dtype == np.uint64
    w0 = rs.make_layer3(2).w.copy()
    trainer = rs.Layer3Trainer(rs.make_layer3(2), batch=8)
    acc, rates = trainer.epoch(bits, labels, rs.RStdpRates(), adapt_every=20)
    assert 0.0 <= acc <= 1.0
    # Rates after the last batch follow its outcome (reward scaled by the wrong fraction).
    assert rates.reward[0] <= np.float32(0.004) and rates.punish[1] <= np.float32(0.0005)
    # Every kernel R-STDP touched is clamped to [0.2, 0.8] (the others keep N(0.8, 0.05)).
    w = trainer.layer.w
    touched = np.any(w != w0, axis=(1, 2, 3))
    assert touched.any()
    assert w[touched].min() >= np.float32(0.2) and w[touched].max() <= np.float32(0.8)
    assert w0[touched].max() > 0.8  # so the bound did act
    t = trainer.test(bits, labels)
    assert t["n"] == 40 and t["correct"] + t["wrong"] + t["silence"] == pytest.approx(1.0)
    assert t["confusion"].sum() == 40
    decided = trainer.infer(bits)
    assert np.mean(decided == labels) == pytest.approx(t["correct"])
    with pytest.raises(rsnn.Error, match="3 labels"):
        trainer.test(bits[:2], labels[:3])
    with pytest.raises(rsnn.Error, match="the network needs 28x28 images"):
        rs.c2_bits(L, np.zeros((2, 20, 20), np.uint8))


def test_whole_schedule_checkpoint_and_evaluation(tmp_path):
    tr_images, tr_labels = synthetic(30, 4)
    te_images, te_labels = synthetic(20, 5)
    data = str(tmp_path / "data")
    rs.save_idx_folder(data, tr_images, tr_labels, te_images, te_labels)
    loaded = rs.load_split(data, "t10k")
    np.testing.assert_array_equal(loaded["images"], te_images)
    out = str(tmp_path / "run")
    s = rs.train(data, out, epochs1=1, epochs2=1, epochs3=2, seed=3, adapt_every=10, threads=1)
    h = s.history
    assert list(h["layer"]) == [1, 2, 3, 3] and s.done3 == 2
    assert s.best_test == max(h["test_acc"])
    again = rs.load_checkpoint(os.path.join(out, "checkpoint.h5"))
    np.testing.assert_array_equal(again.best_layer3.w, s.best_layer3.w)
    r = rs.evaluate(again, te_images, te_labels)
    assert r["correct"] == pytest.approx(s.best_test)


def test_missing_data_error_is_the_clis():
    missing = "/nonexistent/rstdp-data"
    with pytest.raises(rsnn.Error) as e:
        rs.load_split(missing, "train")
    assert missing in str(e.value)
    if RSNN_EXE and os.path.exists(RSNN_EXE):
        cli = subprocess.run([RSNN_EXE, "rstdp", "train", "--data", missing, "--out", "/tmp/unused",
                              "--no-progress", "--no-plots"], capture_output=True, text=True)
        assert cli.returncode != 0 and str(e.value) in cli.stderr
