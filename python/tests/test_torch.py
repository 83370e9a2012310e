"""rsnn.nn.RecurrentLIFFunction against a plain PyTorch implementation of the same layer."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import rsnn  # noqa: E402
from rsnn.nn import RecurrentLIF, RecurrentLIFFunction  # noqa: E402
from reference import recurrent_alif  # noqa: E402

GROUPS = [0, 12, 20]  # 12 excitatory, 8 inhibitory neurons: two groups, Gauss-Seidel order
T, B, N_IN, R = 25, 3, 6, 2
READOUT = list(range(0, 12))


def network(dtype):
    table = [{"name": "E", "size": 12, "sign": 1}, {"name": "I", "size": 8, "sign": -1}]
    proj = rsnn.projection_from_table(table, [[0.3, 0.4], [0.5, 0.3]], seed=7, allow_autapses=False)
    cfg = rsnn.LifConfig()
    cfg.model = rsnn.NeuronModel.alif
    cfg.group_offsets = GROUPS
    cfg.readout = [(0, 12)]
    cfg.output_spikes = True
    g = torch.Generator().manual_seed(3)
    w = torch.rand(proj.nnz, generator=g, dtype=dtype) * 0.6
    tau_m = 10 + 10 * torch.rand(20, generator=g, dtype=dtype)
    tau_adp = 100 + 100 * torch.rand(20, generator=g, dtype=dtype)
    b_base = torch.full((20,), 0.4, dtype=dtype)
    i_ext = 2.0 * torch.rand(T, B, N_IN, generator=g, dtype=dtype)
    w_ro = torch.randn(R, 12, generator=g, dtype=dtype)
    return proj, cfg, w, tau_m, tau_adp, b_base, i_ext, w_ro


def test_gradients_match_plain_pytorch():
    proj, cfg, w, tau_m, tau_adp, b_base, i_ext, w_ro = network(torch.float64)
    g = torch.Generator().manual_seed(11)
    c_s = torch.randn(T, B, 20, generator=g, dtype=torch.float64)
    c_r = torch.randn(T, B, R, generator=g, dtype=torch.float64)

    def grads(fn):
        leaves = [x.clone().requires_grad_() for x in (w, tau_m, tau_adp, i_ext, w_ro)]
        spikes, readout = fn(*leaves)
        loss = (spikes * c_s).sum() + (readout * c_r).sum()
        loss.backward()
        return spikes.detach(), readout.detach(), [x.grad for x in leaves]

    s1, r1, g1 = grads(lambda w_, tm, ta, x, wr: RecurrentLIFFunction.apply(
        proj, cfg, w_, tm, ta, b_base, x, wr))
    s2, r2, g2 = grads(lambda w_, tm, ta, x, wr: recurrent_alif(
        proj, GROUPS, w_, tm, ta, b_base, x, wr, READOUT))
    assert s1.sum() > 20, "the network should spike"
    assert torch.equal(s1, s2)
    torch.testing.assert_close(r1, r2, rtol=1e-10, atol=1e-10)
    for name, a, b in zip(("w", "tau_m", "tau_adp", "i_ext", "w_ro"), g1, g2):
        assert a is not None and a.abs().sum() > 0, name
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10, msg=f"gradient of {name}")


def test_module_trains_end_to_end_in_float32():
    proj, cfg, w, tau_m, tau_adp, b_base, i_ext, w_ro = network(torch.float32)
    layer = RecurrentLIF(proj, cfg, w, tau_m, b_base, tau_adp=tau_adp, w_ro=w_ro)
    target = torch.zeros(T, B, R)
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        _, readout = layer(i_ext)
        loss = ((readout - target) ** 2).mean()
        loss.backward()
        opt.step()
        with torch.no_grad():
            layer.w.clamp_(min=0)
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_only_needed_gradients_are_computed():
    proj, cfg, w, tau_m, tau_adp, b_base, i_ext, w_ro = network(torch.float32)
    x = i_ext.clone().requires_grad_()
    spikes, readout = RecurrentLIFFunction.apply(proj, cfg, w, tau_m, tau_adp, b_base, x, w_ro)
    readout.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape and x.grad.abs().sum() > 0


def test_engine_error_reaches_python_as_rsnn_error():
    proj, cfg, w, tau_m, tau_adp, b_base, i_ext, w_ro = network(torch.float32)
    with pytest.raises(rsnn.Error) as e:
        RecurrentLIFFunction.apply(proj, cfg, w[:-1], tau_m, tau_adp, b_base, i_ext, w_ro)
    msg = str(e.value)
    assert "\n" not in msg and "w" in msg and str(proj.nnz) in msg


def test_torch_tensors_cross_by_dlpack_without_copies():
    t = torch.zeros(500, dtype=torch.float64)
    rsnn.init_uniform(t, 1.0, 2.0, seed=3)  # written in place through the borrowed memory
    assert t.min() >= 1.0 and t.max() <= 2.0
    a = np.zeros(500)
    rsnn.init_uniform(a, 1.0, 2.0, seed=3)
    assert np.array_equal(t.numpy(), a)
    proj, cfg, w, tau_m, tau_adp, b_base, i_ext, w_ro = network(torch.float32)
    spikes, _ = RecurrentLIFFunction.apply(proj, cfg, w, tau_m, tau_adp, b_base, i_ext, w_ro)
    assert spikes.dtype == torch.float32 and spikes.shape == (T, B, 20)
