"""The MICrONS bindings: a field as views, the variants, a short training run, regularizers
equal to the CLI's, graph metrics against networkx and the reference values."""
import json
import os
import subprocess

import numpy as np
import pytest

import rsnn
import rsnn.microns as mi
from conftest import RSNN_EXE, SHARED_DATA

MICRONS = os.path.join(SHARED_DATA, "microns")
FIELD = os.path.join(MICRONS, "6_6_2")
POSITIONS = os.path.join(MICRONS, "6_6_2_derived", "positions_plain_int64_Nx3.npy")
VECTORS = os.path.join(MICRONS, "testvectors")


@pytest.fixture(scope="module")
def field():
    if not os.path.exists(os.path.join(FIELD, "sttc_matrix.npy")):
        pytest.skip(f"MICrONS field 6_6_2 not found under {FIELD}")
    return mi.load_field(FIELD, positions=POSITIONS)


def test_field_arrays_are_views_of_the_loaded_files(field):
    assert field.name == "6_6_2" and field.N == 312 and field.grid == (12, 13, 2)
    c = field.connectome
    assert c.shape == (312, 312) and not c.flags.owndata
    derived = os.path.join(MICRONS, "6_6_2_derived")
    np.testing.assert_array_equal(c, np.load(os.path.join(derived, "connectome_int64_NxN.npy")))
    np.testing.assert_array_equal(field.corr, np.load(os.path.join(FIELD, "corr_matrix.npy")))
    np.testing.assert_array_equal(field.positions, np.load(POSITIONS))
    np.testing.assert_array_equal(field.sttc, field.sttc.T)  # symmetrized on load
    assert len(field.ids["root_id"]) == 312
    with pytest.raises(rsnn.Error, match="no_such_field"):
        mi.load_field(os.path.join(MICRONS, "no_such_field"))


def test_variants_build_as_the_trainer_builds_them(field):
    v = mi.variants()
    assert len(v["key"]) == 11 and len({len(c) for c in v.values()}) == 1  # DataFrame-ready
    bio = mi.initial_weights(field, mi.config(variant="W*D*C", seed=3, sim=2))
    np.testing.assert_array_equal(bio, mi.bio_weights(field, seed=3, sim=2))
    orth = mi.initial_weights(field, mi.config(variant="WD"))
    np.testing.assert_allclose(orth @ orth.T, np.eye(312), atol=1e-4)  # Keras Orthogonal
    perm = mi.initial_weights(field, mi.config(variant="W!D*C", seed=3, sim=2))
    assert not np.array_equal(perm, bio)
    np.testing.assert_array_equal(np.sort(perm, axis=None), np.sort(bio, axis=None))
    # WD: lambda * sum |W| * D_grid, and its exact gradient lambda * sign(W) * D.
    reg = mi.regularizer(field, mi.config(variant="WD", lambda_=0.25))
    assert reg.kind == "WD" and reg.N == 312
    D = mi.distance_grid(*field.grid).astype(np.float64)
    value, grad = reg.value_and_grad(orth)
    assert value == pytest.approx(0.25 * np.sum(np.abs(orth) * D), rel=1e-6)
    np.testing.assert_allclose(grad, 0.25 * np.sign(orth) * D, rtol=1e-6, atol=1e-7)
    with pytest.raises(rsnn.Error, match="W\\*Q"):
        mi.config(variant="W*Q")
    with pytest.raises(rsnn.Error, match="expected a square matrix of side 312"):
        reg.value(np.zeros((3, 4), np.float32))


def test_tasks_are_keyed_by_seed_and_stream():
    a, b = mi.make_task("maze", 16, seed=4, stream=1), mi.make_task("1", 16, seed=4, stream=1)
    c = mi.make_task("maze", 16, seed=4, stream=2)
    assert a["x"].ndim == 3 and a["x"].shape[0] == 16
    np.testing.assert_array_equal(a["x"], b["x"])
    assert not np.array_equal(a["x"], c["x"])
    np.testing.assert_array_equal(np.argmax(a["onehot"], axis=1), a["label"])
    with pytest.raises(rsnn.Error, match="bogus"):
        mi.make_task("bogus", 4)


def test_short_training_loss_decreases(field):
    cfg = mi.config(variant="W*D*C", task="maze", epochs=3, batches=6, batch=32, n_test=64)
    run = mi.train(field, cfg)
    loss = run["epochs"]["loss"]
    assert run["finite"] and len(loss) == 3 and loss[-1] < loss[0]
    assert run["W_rec"].shape == (312, 312) and run["loss"] == loss[-1]
    with pytest.raises(rsnn.Error, match="positive"):
        mi.train(field, mi.config(epochs=0))
    # The cross-entropy form: Keras's (from the logits) by default, the clipped one on request.
    assert cfg.ce == "logits" and mi.config(ce="clipped").ce == "clipped"
    with pytest.raises(rsnn.Error, match="expected logits or clipped"):
        mi.config(ce="clip")


def _cli_metrics(weights):
    if not RSNN_EXE or not os.path.exists(RSNN_EXE):
        pytest.skip("the rsnn executable is not known (RSNN_RSNN_EXE)")
    out = subprocess.run([RSNN_EXE, "micron", "metrics", "--field", FIELD, "--positions", POSITIONS,
                          "--weights", weights, "--null-clustering", "0.194422",
                          "--null-efficiency", "0.590016"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def test_regularizers_and_metrics_equal_the_cli(field):
    weights = os.path.join(VECTORS, "W_bio_seed0.npy")
    cli = _cli_metrics(weights)
    W = np.load(weights)
    N = field.N
    Dg, Dc = mi.distance_grid(*field.grid), mi.distance_star(field, "coded")
    emp = mi.empirical_comms_sorted(field)
    ours = {
        "W_L1_sum": mi.make_regularizer("W", N).value(W),
        "WD_grid": mi.make_regularizer("WD", N, D=Dg).value(W),
        "WDC_star_coded": mi.make_regularizer("WDC", N, D=Dc).value(W),
        "WDC_EMD_grid": mi.make_regularizer("WDC_EMD", N, D=Dg, emp_sorted=emp).value(W),
    }
    for k, v in ours.items():
        assert v == pytest.approx(cli["regularizers"][k], rel=1e-12), k
    g = mi.graph_metrics(W, null_clustering=0.194422, null_efficiency=0.590016)
    for k in ("modularity", "assortativity", "entropy_bits", "smallworld", "n_communities"):
        assert g[k] == pytest.approx(cli["metrics"][k], rel=1e-12), k
    # and the NumPy/networkx/bctpy reference values
    ref = json.load(open(os.path.join(VECTORS, "expected.json")))["W_bio_seed0"]
    assert ours["WD_grid"] == pytest.approx(ref["regularizers"]["WD_grid"], rel=1e-6)
    assert g["modularity"] == pytest.approx(ref["metrics"]["modularity_CNM"], rel=1e-6)


def _random_graph(n, p, seed):
    rng = np.random.default_rng(seed)
    a = np.triu(rng.random((n, n)) < p, 1)
    return (a | a.T).astype(np.uint8)


def test_graph_metrics_match_networkx():
    nx = pytest.importorskip("networkx")
    adj = _random_graph(40, 0.15, 7)
    G = nx.from_numpy_array(adj)
    comms = mi.greedy_modularity_communities(adj)
    theirs = [sorted(c) for c in nx.community.greedy_modularity_communities(G)]
    assert sorted(map(sorted, comms)) == sorted(theirs)
    assert mi.modularity(adj, comms) == pytest.approx(nx.community.modularity(G, theirs), abs=1e-12)
    assert mi.degree_assortativity(adj) == pytest.approx(nx.degree_assortativity_coefficient(G),
                                                         abs=1e-12)
    clus = nx.clustering(G)
    np.testing.assert_allclose(mi.clustering(adj), [clus[i] for i in range(40)], atol=1e-12)
    assert mi.global_efficiency(adj) == pytest.approx(nx.global_efficiency(G), abs=1e-12)
    # The threshold graph of a weight matrix is the original's (|W| > t, OR-symmetrized).
    W = np.random.default_rng(1).normal(size=(30, 30)).astype(np.float32)
    B = mi.threshold_graph(W, 1.0)
    expect = (np.abs(W) > 1.0) | (np.abs(W) > 1.0).T
    np.fill_diagonal(expect, False)
    np.testing.assert_array_equal(B, expect)
    with pytest.raises(rsnn.Error, match="not symmetric"):
        mi.degree_assortativity(np.triu(np.ones((4, 4), np.uint8), 1))
