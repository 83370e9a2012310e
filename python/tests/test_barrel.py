"""The barrel system's bindings on tiny settings (few samples, 20 of the 550 steps)."""
import numpy as np
import pytest

import rsnn
import rsnn.barrel as barrel


@pytest.fixture(scope="module")
def data():
    return barrel.synthesize(3, seed=2)


def test_synthetic_data_and_deprivation(data):
    assert data.force.shape == (3, 12, 110, 31, 3, 3) and data.label.dtype == np.int32
    assert sorted(data.label.tolist()) == [0, 1, 2]
    d = barrel.deprive(data, [0, 5])
    assert not d.force[:, :, :, [0, 5]].any() and not d.torque[:, :, :, [0, 5]].any()
    assert np.array_equal(d.force[:, :, :, 1], data.force[:, :, :, 1])
    sets = barrel.deprivation_sets(2, 4, seed=1)
    assert len(sets) == 4 and all(len(set(s)) == 2 for s in sets)
    with pytest.raises(rsnn.Error):
        barrel.WhiskerData(data.force, data.torque, np.array([0, 1, 7], np.int32))


def test_model_forward_train_evaluate_raster(data, tmp_path):
    cfg = barrel.BarrelConfig.spiking_default()
    cfg.T = 20
    model = barrel.BarrelModel(cfg)
    enc = barrel.encode(cfg, data, seed=1)
    assert enc.x.shape == (3, 2, 550, 93) and enc.x.dtype == np.uint8
    x = barrel.make_batch(cfg, enc, [0, 1])
    out = model.forward(x, enc.labels[:2].copy(), record_spikes=True)
    assert out["outputs"].shape == (2, 3) and np.isfinite(out["loss"])
    assert out["spike_record"].shape == (20, 2, model.neurons)
    w_before = model.parameters()["w"].copy()
    s = barrel.train(model, enc, enc, epochs=1, batch=3, run_dir=str(tmp_path))
    assert s["epochs_run"] == 1 and np.isfinite(s["last_loss"])
    assert not np.array_equal(model.parameters()["w"], w_before)
    assert (tmp_path / "checkpoint.h5").exists()
    ev = barrel.evaluate(model, enc, batch=3)
    assert ev["samples"] == 3 and len(ev["predictions"]) == 3
    loaded = barrel.load_checkpoint(str(tmp_path / "checkpoint.h5"))
    np.testing.assert_array_equal(loaded.parameters()["w"], model.parameters()["w"])
    r = barrel.raster(model, enc, label=int(enc.labels[0]), bin=5)
    assert r["raster"].shape == (20, 4218) and r["rates"].shape == (4, 4)
    deg = barrel.recurrent_degrees(model)
    assert deg["in"].shape == (4218,) and deg["in"].sum() > 0
