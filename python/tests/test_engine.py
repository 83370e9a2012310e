"""The engine bindings: projections, the fused op in NumPy, Adam, errors, zero-copy."""
import numpy as np
import pytest

import rsnn

TABLE = [{"name": "E", "size": 30, "sign": 1}, {"name": "I", "size": 10, "sign": -1}]
PROB = [[0.2, 0.5], [0.4, 0.3]]


def test_projection_from_table_is_deterministic_and_signed():
    p = rsnn.projection_from_table(TABLE, PROB, seed=5)
    q = rsnn.projection_from_table({"name": ["E", "I"], "size": [30, 10], "sign": [1, -1]},
                                   PROB, seed=5)
    r = rsnn.projection_from_table(TABLE, PROB, seed=6)
    assert (p.n_pre, p.n_post) == (40, 40)
    assert 0 < p.nnz < 40 * 40
    assert np.array_equal(p.pre_idx, q.pre_idx) and np.array_equal(p.post_ptr, q.post_ptr)
    assert not (p.nnz == r.nnz and np.array_equal(p.pre_idx, r.pre_idx))
    assert np.array_equal(p.source_sign, np.r_[np.ones(30), -np.ones(10)].astype(np.float32))
    assert p.post_ptr[-1] == p.nnz and len(p.post_ptr) == 41


def test_projection_from_scipy_round_trips():
    sp = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(0)
    sign = np.where(np.arange(15) < 10, 1.0, -1.0)
    dense = rng.random((12, 15)) * (rng.random((12, 15)) < 0.3) * sign[None, :]
    proj, w = rsnn.projection_from_scipy(sp.csc_matrix(dense), sign)
    assert proj.nnz == np.count_nonzero(dense) and np.all(w > 0)
    np.testing.assert_allclose(proj.to_dense(w), dense)
    # The same network through (post, pre) pairs and through a dense mask.
    rows, cols = np.nonzero(dense)
    q = rsnn.projection_from_pairs(15, 12, rows[::-1].copy(), cols[::-1].copy(), sign)
    m = rsnn.projection_from_dense_mask((dense != 0).astype(np.float32), sign.astype(np.float32))
    assert np.array_equal(q.pre_idx, proj.pre_idx) and np.array_equal(m.pre_idx, proj.pre_idx)


def test_projection_from_scipy_rejects_a_dale_violation():
    sp = pytest.importorskip("scipy.sparse")
    m = sp.csr_matrix(np.array([[0.0, -0.5], [0.3, 0.0]]))
    with pytest.raises(rsnn.Error, match="against its source's sign"):
        rsnn.projection_from_scipy(m, [1.0, 1.0])


def test_cpp_errors_arrive_with_their_one_line_message():
    with pytest.raises(rsnn.Error) as e:
        rsnn.projection_from_pairs(3, 3, np.array([0, 0]), np.array([1, 1]), np.ones(3))
    assert "duplicate" in str(e.value) and "\n" not in str(e.value)
    assert isinstance(e.value, RuntimeError)
    with pytest.raises(rsnn.Error, match="prob"):
        rsnn.projection_from_table(TABLE, [[0.2, 1.5], [0.1, 0.1]], seed=1)
    with pytest.raises(ValueError, match="sign"):
        rsnn.projection_from_table([{"name": "E", "size": 3}], [[0.1]], seed=1)


def test_in_place_fill_shares_memory_with_numpy():
    w = np.zeros(1000, dtype=np.float32)
    rsnn.init_uniform(w, 0.25, 0.5, seed=9)
    assert w.min() >= 0.25 and w.max() <= 0.5 and len(np.unique(w)) > 900
    v = np.zeros(1000, dtype=np.float32)
    rsnn.init_uniform(v, 0.25, 0.5, seed=9)
    assert np.array_equal(v, w)  # counter-based: the same numbers for the same seed


def test_outputs_are_numpy_views_of_engine_memory():
    proj, cfg, args = small_network(np.float32)
    out = rsnn.lif_forward(proj, cfg, **args)
    s = out.spike_record
    assert s.dtype == np.uint8 and s.shape == (20, 4, 40)
    assert not s.flags.owndata  # a view of the engine's tensor, no copy
    assert out.stats["spikes"] == int(s.sum())


def small_network(dtype, T=20, B=4):
    proj = rsnn.projection_from_table(TABLE, PROB, seed=5, allow_autapses=False)
    cfg = rsnn.LifConfig()
    cfg.model = rsnn.NeuronModel.lif
    cfg.group_offsets = [0, 30, 40]
    cfg.record_spikes = True
    cfg.record_state = True
    cfg.output_spikes = True
    rng = np.random.default_rng(1)
    args = dict(w=(0.4 * rng.random(proj.nnz)).astype(dtype),
                tau_m=np.full(40, 15.0, dtype), b_base=np.full(40, 0.5, dtype),
                i_ext=(1.5 * rng.random((T, B, 8))).astype(dtype))
    return proj, cfg, args


def test_lif_forward_matches_numpy_lif():
    proj, cfg, args = small_network(np.float64)
    cfg.order = rsnn.UpdateOrder.previous_step
    out = rsnn.lif_forward(proj, cfg, **args)
    W = proj.to_dense(args["w"])
    alpha = np.exp(-1.0 / args["tau_m"])
    T, B, _ = args["i_ext"].shape
    v = np.zeros((B, 40))
    s = np.zeros((B, 40))
    for t in range(T):
        cur = s @ W.T
        cur[:, :8] += args["i_ext"][t]
        v = alpha * v + (1 - alpha) * cur - args["b_base"] * s
        s = (v - args["b_base"] > 0).astype(np.float64)
        np.testing.assert_array_equal(out.spike_record[t], s)
        np.testing.assert_allclose(out.v_record[t], v, rtol=1e-12, atol=1e-12)
    assert out.spike_record.sum() > 10


def test_lif_backward_matches_finite_differences_of_a_smooth_loss():
    proj, cfg, args = small_network(np.float64, T=8, B=2)
    cfg.model = rsnn.NeuronModel.alif
    cfg.output_spikes = False
    cfg.readout = [(30, 10)]
    rng = np.random.default_rng(4)
    args.update(tau_adp=np.full(40, 200.0), w_ro=rng.standard_normal((3, 10)))
    fw = rsnn.lif_forward(proj, cfg, keep_for_backward=True, **args)
    dr = rng.standard_normal(fw.readout.shape)
    g = rsnn.lif_backward(proj, cfg, saved=fw.saved, dreadout=dr, needs=["w_ro"], **args)
    assert set(g) == {"w_ro"}
    # The readout is linear in w_ro, so its gradient is exact: sum_t,b dr^T s_ro.
    s_ro = fw.spike_record[:, :, 30:40].astype(np.float64)
    np.testing.assert_allclose(g["w_ro"], np.einsum("tbr,tbn->rn", dr, s_ro), rtol=1e-12)
    with pytest.raises(rsnn.Error, match="unknown gradient 'bias'"):
        rsnn.lif_backward(proj, cfg, saved=fw.saved, dreadout=dr, needs=["bias"], **args)


def test_adam_matches_the_torch_update():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    p = rng.standard_normal(50)
    pt = torch.tensor(p.copy(), requires_grad=True)
    opt = rsnn.Adam([p], lr=0.01, weight_decay=0.1)
    topt = torch.optim.Adam([pt], lr=0.01, weight_decay=0.1)
    for k in range(5):
        g = rng.standard_normal(50)
        opt.step([g])
        pt.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(p, pt.detach().numpy(), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="gradients for"):
        opt.step([])


def test_lif_forward_seconds_times_the_op_inside_cpp():
    proj, cfg, args = small_network(np.float32, T=5, B=1)
    s = rsnn.lif_forward_seconds(proj, cfg, reps=3, **args)
    assert 0 < s < 10
    with pytest.raises(rsnn.Error, match="reps must be >= 1"):
        rsnn.lif_forward_seconds(proj, cfg, reps=0, **args)


def test_projection_to_names_the_bad_device():
    p = rsnn.projection_from_table(TABLE, PROB, seed=5)
    q = p.to("cpu")
    assert q.device == "cpu" and np.array_equal(q.pre_idx, p.pre_idx)
    with pytest.raises(rsnn.Error, match="device 'gpu7'"):
        p.to("gpu7")
