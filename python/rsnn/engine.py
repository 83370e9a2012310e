"""Pure-Python helpers over the engine: projections from population tables and scipy.sparse
matrices, and an Adam optimizer over NumPy arrays (its update runs in C++, in place)."""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from . import _core

__all__ = ["layout_of", "projection_from_table", "projection_from_scipy", "Adam"]


def layout_of(table: Any) -> tuple[list[str], list[int], list[int]]:
    """(names, sizes, signs) of a population table.

    The table is a list of rows ({"name", "size", "sign"} mappings), a mapping of columns
    ({"name": [...], "size": [...], "sign": [...]}), or a pandas DataFrame with those columns.
    sign is +1 (excitatory) or -1 (inhibitory); it signs every synapse the group sends."""
    if hasattr(table, "to_dict") and hasattr(table, "columns"):  # a DataFrame
        table = table.to_dict("list")
    if isinstance(table, Mapping):
        missing = [k for k in ("name", "size", "sign") if k not in table]
        if missing:
            raise ValueError(f"population table: missing column(s) {', '.join(missing)}")
        names, sizes, signs = list(table["name"]), list(table["size"]), list(table["sign"])
        if not len(names) == len(sizes) == len(signs):
            raise ValueError("population table: columns name, size, sign differ in length")
    else:
        rows = list(table)
        for i, r in enumerate(rows):
            for k in ("name", "size", "sign"):
                if k not in r:
                    raise ValueError(f"population table: row {i} has no '{k}'")
        names = [r["name"] for r in rows]
        sizes = [r["size"] for r in rows]
        signs = [r["sign"] for r in rows]
    return [str(n) for n in names], [int(s) for s in sizes], [int(s) for s in signs]


def projection_from_table(pre: Any, prob: Any, *, post: Any = None, seed: int,
                          stream: int = 0, allow_autapses: bool = True) -> _core.Projection:
    """Random projection between population tables: synapse (j -> i) with probability
    prob[group(j), group(i)] (rows = presynaptic groups). post=None connects `pre` to itself
    (a recurrent network; allow_autapses=False drops i -> i)."""
    same = post is None
    pn, ps, pg = layout_of(pre)
    qn, qs, qg = (pn, ps, pg) if same else layout_of(post)
    prob = np.ascontiguousarray(prob, dtype=np.float64)
    return _core.build_projection(pn, ps, pg, qn, qs, qg, prob, seed, stream,
                                  same_network=same, allow_autapses=allow_autapses)


def projection_from_scipy(matrix: Any, source_sign: Any) -> tuple[_core.Projection, np.ndarray]:
    """Projection and weights from a scipy.sparse [n_post, n_pre] matrix of synaptic values.

    Every stored non-zero is a synapse. Returns (projection, w) with w the magnitudes in the
    projection's post-major order. A value whose sign contradicts its source's sign (Dale's
    principle) raises rsnn.Error; zeros stored explicitly are dropped."""
    import scipy.sparse as sp

    if not sp.issparse(matrix):
        raise TypeError(f"projection_from_scipy: expected a scipy.sparse matrix, got {type(matrix).__name__}")
    csr = sp.csr_matrix(matrix, copy=True)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    csr.sort_indices()
    n_post, n_pre = csr.shape
    sign = np.ascontiguousarray(source_sign, dtype=np.float32)
    coo = csr.tocoo()
    bad = np.nonzero(np.sign(coo.data) != sign[coo.col])[0] if sign.shape == (n_pre,) else []
    if len(bad):
        k = int(bad[0])
        raise _core.Error(f"projection_from_scipy: synapse {coo.col[k]} -> {coo.row[k]} has value "
                          f"{coo.data[k]:g} against its source's sign {sign[coo.col[k]]:+g}")
    proj = _core.projection_from_pairs(n_pre, n_post, coo.row.astype(np.int32),
                                       coo.col.astype(np.int32), sign)
    # CSR with sorted indices is already post-major with ascending sources per row.
    return proj, np.abs(csr.data)


class Adam:
    """Adam/AdamW (torch.optim.Adam semantics) over NumPy arrays, updated in place in C++.

    opt = Adam([w, w_ro], lr=1e-3); each step: opt.step([dw, dw_ro])."""

    def __init__(self, params: Sequence[np.ndarray], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled: bool = False, amsgrad: bool = False):
        self.params = list(params)
        for i, p in enumerate(self.params):
            if not isinstance(p, np.ndarray) or not p.flags.c_contiguous or not p.flags.writeable:
                raise ValueError(f"Adam: parameter {i} must be a writeable C-contiguous NumPy array")
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.decoupled, self.amsgrad = weight_decay, decoupled, amsgrad
        self.state = [None] * len(self.params)

    def step(self, grads: Iterable[Any]) -> None:
        """One update; a None gradient skips its parameter (as PyTorch's grad None)."""
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"Adam.step: {len(grads)} gradients for {len(self.params)} parameters")
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if g is None:
                continue
            if self.state[i] is None:
                vmax = np.zeros_like(p) if self.amsgrad else None
                self.state[i] = [0, np.zeros_like(p), np.zeros_like(p), vmax]
            st = self.state[i]
            st[0] += 1
            _core.adam_step(p, np.ascontiguousarray(g, dtype=p.dtype), st[1], st[2], st[3], st[0],
                            lr=self.lr, beta1=self.betas[0], beta2=self.betas[1], eps=self.eps,
                            weight_decay=self.weight_decay, decoupled=self.decoupled,
                            amsgrad=self.amsgrad)
