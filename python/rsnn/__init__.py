"""rsnn: biologically constrained recurrent spiking networks on a C++ engine.

Arrays cross without copies: NumPy arrays and DLPack tensors (PyTorch) go in, NumPy arrays
(CPU) come out sharing the engine's memory. Errors from C++ raise rsnn.Error with the
engine's one-line message.

- engine: Projection, build_projection / projection_from_table / projection_from_scipy,
  LifConfig, lif_forward / lif_backward (the fused recurrent LIF op), adam_step / Adam;
- rsnn.nn: the PyTorch autograd Function and module over the fused op (imports torch);
- the systems, each a submodule (import it by name): rsnn.barrel (barrel cortex),
  rsnn.rate (rate-to-spiking), rsnn.microns (MICrONS-constrained RNNs), rsnn.rstdp
  (convolutional STDP / R-STDP).
"""
from ._core import (  # noqa: F401
    Error,
    LifConfig,
    LifForward,
    LifSaved,
    NeuronModel,
    Projection,
    Propagation,
    Surrogate,
    UpdateOrder,
    adam_step,
    build_projection,
    cuda_compiled,
    cuda_usable,
    init_normal,
    init_uniform,
    lif_backward,
    lif_forward,
    lif_forward_seconds,
    projection_from_dense_mask,
    projection_from_pairs,
)
from .engine import Adam, layout_of, projection_from_scipy, projection_from_table  # noqa: F401

__version__ = "0.1.0"

SYSTEMS = ("barrel", "rate", "microns", "rstdp")

__all__ = ["Error", "LifConfig", "LifForward", "LifSaved", "NeuronModel", "Projection",
           "Propagation", "Surrogate", "UpdateOrder", "adam_step", "build_projection",
           "cuda_compiled", "cuda_usable", "init_normal", "init_uniform", "lif_backward",
           "lif_forward", "lif_forward_seconds", "projection_from_dense_mask",
           "projection_from_pairs", "Adam", "layout_of", "projection_from_scipy",
           "projection_from_table", "SYSTEMS"]
