// Primitive tape ops of spiking networks, used to assemble the unfused (step by step)
// reference of the fused recurrent layer, and usable on their own.
#pragma once
#include "autograd/var.h"
#include "kernels/lif_math.h"
#include "kernels/projection.h"

namespace rsnn::ag {

// Heaviside spike s = 1 where u > 0 else 0 (any shape, float32/float64). Backward: the
// surrogate derivative, du = ds * surrogate(u) (kernels/lif_math.h), not the Dirac delta.
Var spike(const Var& u, Surrogate kind = Surrogate::gaussian, double width = 0.5,
          double scale = 0.5);

// Sparse propagation through a projection (kernels/spmm.h):
//   out[b, i] = sum over synapses j -> i of sign_j * w_ji * x[b, j]
// w [nnz] (post-major magnitudes), x [B, n_pre] -> out [B, n_post]. Differentiable in w and x.
Var csr_propagate(const Projection& p, const Var& w, const Var& x);

}  // namespace rsnn::ag
