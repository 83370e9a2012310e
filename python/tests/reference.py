"""A plain PyTorch implementation of the recurrent (adaptive) LIF layer (the equations of
kernels/lif_math.h, dense masked weights, Gauss-Seidel group order), the ground truth the
tests compare rsnn's fused op against."""
import math

import torch


class GaussSpike(torch.autograd.Function):
    """H(u) forward; scale * exp(-u^2 / (2 width^2)) / (sqrt(2 pi) width) backward."""

    @staticmethod
    def forward(ctx, u, width, scale):
        ctx.save_for_backward(u)
        ctx.width, ctx.scale = width, scale
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, g):
        (u,) = ctx.saved_tensors
        w = ctx.width
        return g * ctx.scale * torch.exp(-u * u / (2 * w * w)) / (math.sqrt(2 * math.pi) * w), None, None


def dense_weights(proj, w):
    """Signed dense [N, N] matrix with gradients flowing to w (post-major values)."""
    n_post = proj.n_post
    post_ptr = torch.from_numpy(proj.post_ptr.copy())
    rows = torch.repeat_interleave(torch.arange(n_post), post_ptr[1:] - post_ptr[:-1])
    cols = torch.from_numpy(proj.pre_idx.astype("int64"))
    sign = torch.from_numpy(proj.source_sign.copy()).to(w.dtype)
    W = torch.zeros(n_post, proj.n_pre, dtype=w.dtype)
    return W.index_put((rows, cols), w * sign[cols])


def recurrent_alif(proj, groups, w, tau_m, tau_adp, b_base, i_ext, w_ro, readout_neurons,
                   dt=1.0, r_m=1.0, beta=1.8, width=0.5, scale=0.5):
    """spikes [T, B, N], readout [T, B, R]; groups = offsets (G + 1 entries), input at 0."""
    T, B, n_in = i_ext.shape
    N = proj.n_post
    W = dense_weights(proj, w)
    alpha, rho = torch.exp(-dt / tau_m), torch.exp(-dt / tau_adp)
    v = torch.zeros(B, N, dtype=w.dtype)
    a = torch.zeros(B, N, dtype=w.dtype)
    s_prev = torch.zeros(B, N, dtype=w.dtype)
    spikes, readout = [], []
    for t in range(T):
        ext = torch.nn.functional.pad(i_ext[t], (0, N - n_in))
        parts = []
        for g in range(len(groups) - 1):
            lo, hi = groups[g], groups[g + 1]
            # Earlier groups contribute this step's spikes, the rest the previous step's.
            src = torch.cat(parts + [s_prev[:, lo:]], dim=1)
            cur = ext[:, lo:hi] + src @ W[lo:hi].T
            a_g = rho[lo:hi] * a[:, lo:hi] + (1 - rho[lo:hi]) * s_prev[:, lo:hi]
            th = b_base[lo:hi] + beta * a_g
            v_g = (alpha[lo:hi] * v[:, lo:hi] + (1 - alpha[lo:hi]) * r_m * cur
                   - th * s_prev[:, lo:hi] * dt)
            parts.append(GaussSpike.apply(v_g - th, width, scale))
            v = torch.cat([v[:, :lo], v_g, v[:, hi:]], dim=1)
            a = torch.cat([a[:, :lo], a_g, a[:, hi:]], dim=1)
        s_prev = torch.cat(parts, dim=1)
        spikes.append(s_prev)
        readout.append(s_prev[:, readout_neurons] @ w_ro.T)
    return torch.stack(spikes), torch.stack(readout)
