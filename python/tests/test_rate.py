"""The rate system's bindings: tasks, training, conversion, simulation, grid search."""
import numpy as np
import pytest

import rsnn
import rsnn.rate as rate


def test_trials_are_keyed_by_seed_and_index():
    task = rate.task("go-nogo")
    a, b = rate.make_trial(task, 3, 7), rate.make_trial(task, 3, 7)
    assert a["u"].shape == (task.n_inputs, task.T) and a["z"].shape == (task.T,)
    assert np.array_equal(a["u"], b["u"]) and a["label"] in (0, 1)
    with pytest.raises(rsnn.Error, match="go-nogo"):
        rate.task("go-no-go-typo")


def test_train_convert_simulate_and_grid_search():
    task = rate.task("go-nogo")
    cfg = rate.RateConfig()
    cfg.N = 20
    net, rec = rate.train(task, cfg, max_trials=30, eval_freq=10, eval_trials=5, seed=2)
    assert rec["trials"] <= 30 and len(rec["losses"]) > 0
    ev = rec["evals"]
    assert len({len(v) for v in ev.values()}) == 1 and len(ev["perf"]) >= 1  # DataFrame-ready
    w_eff = net.w_eff
    assert w_eff.shape == (20, 20)
    inh = net.sign < 0
    assert np.all(w_eff[:, inh] <= 0) and np.all(w_eff[:, ~inh] >= 0)  # Dale's principle

    p = rate.LifParams()
    p.downsample = 10
    lif = rate.convert(net, 40.0, p)
    tr = rate.make_trial(task, 1, 0, extra_cols=1)
    r1 = rate.simulate(lif, tr["u"], seed=5, trial=0)
    r2 = rate.simulate(lif, tr["u"], seed=5, trial=0)
    assert r1["nt"] == lif.steps_for(tr["u"].shape[1]) and len(r1["out"]) == r1["nt"]
    assert np.array_equal(r1["out"], r2["out"]) and r1["n_spikes"] == len(r1["spike_step"])
    assert np.all((r1["spike_unit"] >= 0) & (r1["spike_unit"] < 20))

    g = rate.grid_search(net, task, "30,50", n_trials=3, seed=1, params=p)
    assert list(g["scaling_factor"]) == [30.0, 50.0] and g["trials_run"] == 6
    assert np.all((g["perf"] >= 0) & (g["perf"] <= 1))
    assert g["opt_scaling_factor"] == g["scaling_factor"][int(np.argmax(g["perf"]))]
    with pytest.raises(rsnn.Error):
        rate.grid_search(net, task, "30:0:50", n_trials=3)


def test_saved_model_loads_back(tmp_path):
    task = rate.task("go-nogo")
    cfg = rate.RateConfig()
    cfg.N = 10
    net = rate.init_net(cfg, 4)
    path = str(tmp_path / "m.h5")
    rate.save_model(path, net, task, seed=4)
    net2, task2 = rate.load_model(path)
    np.testing.assert_array_equal(net2.w_eff, net.w_eff)
    assert task2.name == task.name
    with pytest.raises(rsnn.Error, match="missing.h5"):
        rate.load_model(str(tmp_path / "missing.h5"))
