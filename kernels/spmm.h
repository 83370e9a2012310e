// Sparse propagation through a Projection with per-synapse magnitudes and per-source signs
// (Dale), batch-major like the tape's dense ops. The primitive of the unfused recurrent
// reference (autograd/spiking_ops.h); the fused layer (recurrent_lif.h) does not use it.
//
//   out[b, i] = sum over synapses k of post-major row i: sign[pre_k] * w[k] * x[b, pre_k]
//   x [B, n_pre], w [nnz], out [B, n_post]; float32 or float64, CPU.
// Backward (dout [B, n_post]):
//   dx[b, j] = sum over pre-major entries (j -> i, synapse k) of sign[j] * w[k] * dout[b, i]
//   dw[k]    = sign[pre_k] * sum_b x[b, pre_k] * dout[b, i]   (only samples where x != 0)
// Every output element is summed by one thread in ascending index order (deterministic).
#pragma once
#include "kernels/projection.h"
#include "runtime/tensor.h"

namespace rsnn::kernels {

// Returns out [B, n_post].
Tensor csr_propagate_forward(const Projection& p, const Tensor& w, const Tensor& x);

// Fills *dx ([B, n_pre]) and/or *dw ([nnz]) when the pointers are non-null.
void csr_propagate_backward(const Projection& p, const Tensor& w, const Tensor& x,
                            const Tensor& dout, Tensor* dx, Tensor* dw);

// Plain single-thread reference of the forward (the specification).
Tensor csr_propagate_forward_ref(const Projection& p, const Tensor& w, const Tensor& x);

}  // namespace rsnn::kernels
