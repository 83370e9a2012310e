"""rsnn's fused sparse recurrent LIF layer for PyTorch.

RecurrentLIFFunction is a torch.autograd.Function over rsnn.lif_forward / lif_backward: the
forward runs all T steps in C++ (or CUDA) and keeps only u = v - Th and a per neuron-step;
the backward is the engine's exact BPTT with a surrogate spike derivative. Tensors cross by
DLPack without copies. RecurrentLIF is an nn.Module holding the trainable parameters, a drop-in
for a dense masked recurrent layer."""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from . import _core

__all__ = ["RecurrentLIFFunction", "RecurrentLIF"]

_NAMES = ("w", "tau_m", "tau_adp", "i_ext", "w_ro", "v0", "a0", "s0")


def _arg(t: Optional[torch.Tensor]):
    """A tensor as the engine borrows it (no copy when already contiguous); None stays None."""
    return None if t is None else t.detach().contiguous()


def _tensor(x) -> Optional[torch.Tensor]:
    """An engine output as a torch tensor over the same memory."""
    if x is None:
        return None
    if isinstance(x, np.ndarray):
        return torch.from_numpy(x)
    return torch.utils.dlpack.from_dlpack(x)


class RecurrentLIFFunction(torch.autograd.Function):
    """(spikes [T, B, N], readout [T, B, R]) = apply(projection, config, w, tau_m, tau_adp,
    b_base, i_ext, w_ro, v0, a0, s0).

    Without config.output_spikes the spikes are an empty tensor, without w_ro the readout
    (at least one of them must be asked for). tau_adp, v0, a0, s0 may be None (alif needs
    tau_adp). Gradients flow to every tensor argument but b_base."""

    @staticmethod
    def forward(ctx, projection, config, w, tau_m, tau_adp, b_base, i_ext, w_ro=None, v0=None,
                a0=None, s0=None):
        if not config.output_spikes and w_ro is None:
            raise _core.Error("RecurrentLIFFunction: no output (set config.output_spikes or give w_ro)")
        args = dict(w=_arg(w), tau_m=_arg(tau_m), b_base=_arg(b_base), i_ext=_arg(i_ext),
                    tau_adp=_arg(tau_adp), v0=_arg(v0), a0=_arg(a0), s0=_arg(s0), w_ro=_arg(w_ro))
        res = _core.lif_forward(projection, config, keep_for_backward=True, **args)
        spikes, readout = _tensor(res.spikes), _tensor(res.readout)
        empty = [t for t in (spikes, readout) if t is None]
        spikes = w.new_zeros((0,)) if spikes is None else spikes
        readout = w.new_zeros((0,)) if readout is None else readout
        if empty:
            ctx.mark_non_differentiable(*[t for t in (spikes, readout) if t.numel() == 0])
        ctx.projection, ctx.config, ctx.saved, ctx.has_readout = projection, config, res.saved, w_ro is not None
        ctx.stats = res.stats
        # The inputs as the engine saw them (the backward must get the same values).
        ctx.args = args
        return spikes, readout

    @staticmethod
    def backward(ctx, dspikes, dreadout):
        # needs_input_grad follows forward's argument order after (projection, config).
        flags = dict(zip(("w", "tau_m", "tau_adp", "b_base", "i_ext", "w_ro", "v0", "a0", "s0"),
                         ctx.needs_input_grad[2:]))
        needs = [n for n in _NAMES if flags.get(n) and ctx.args[n] is not None]
        grads = {}
        if needs:
            grads = _core.lif_backward(ctx.projection, ctx.config, saved=ctx.saved,
                                       dspikes=_arg(dspikes) if ctx.config.output_spikes else None,
                                       dreadout=_arg(dreadout) if ctx.has_readout else None,
                                       needs=needs, **ctx.args)
        g = {n: _tensor(grads[n]) if n in grads else None for n in _NAMES}
        return (None, None, g["w"], g["tau_m"], g["tau_adp"], None, g["i_ext"], g["w_ro"],
                g["v0"], g["a0"], g["s0"])


class RecurrentLIF(torch.nn.Module):
    """A recurrent (adaptive) LIF network on a sparse rsnn.Projection.

    Parameters: w [nnz] (synaptic magnitudes, post-major; clamp them to >= 0 after each step
    for Dale's principle), tau_m, tau_adp [N] and, with n_out > 0, w_ro [n_out, N_ro].
    forward(i_ext [T, B, N_in]) -> (spikes [T, B, N], readout [T, B, n_out] or None)."""

    def __init__(self, projection: _core.Projection, config: _core.LifConfig, w: torch.Tensor,
                 tau_m: torch.Tensor, b_base: torch.Tensor, tau_adp: Optional[torch.Tensor] = None,
                 w_ro: Optional[torch.Tensor] = None):
        super().__init__()
        if not config.output_spikes:
            raise _core.Error("RecurrentLIF: config.output_spikes must be True")
        self.projection, self.config = projection, config
        self.w = torch.nn.Parameter(w)
        self.tau_m = torch.nn.Parameter(tau_m)
        self.tau_adp = None if tau_adp is None else torch.nn.Parameter(tau_adp)
        self.w_ro = None if w_ro is None else torch.nn.Parameter(w_ro)
        self.register_buffer("b_base", b_base)

    def forward(self, i_ext: torch.Tensor, v0=None, a0=None, s0=None):
        spikes, readout = RecurrentLIFFunction.apply(self.projection, self.config, self.w,
                                                     self.tau_m, self.tau_adp, self.b_base, i_ext,
                                                     self.w_ro, v0, a0, s0)
        return spikes, (readout if self.w_ro is not None else None)
