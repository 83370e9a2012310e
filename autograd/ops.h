// Differentiable dense ops on Vars. Each runs the kernels/ dispatchers (CPU or CUDA, float32
// or float64, whichever its inputs are), records itself on the tape only when some input
// requires a gradient (ag::will_record), and keeps only what its backward needs.
//
// Broadcasting (add, sub, mul, div): after dropping leading 1s, one operand's shape must be a
// suffix of the other's (a bias-like operand, or a one-element tensor); the result has the
// larger shape, and the broadcast operand's gradient is summed over the broadcast dims.
// Scalar results (sum, mean, cross_entropy, mse) have shape [1].
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/var.h"

namespace rsnn::ag {

// ---- element-wise ----------------------------------------------------------------------
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var scale(const Var& a, double s);       // a * s
Var add_scalar(const Var& a, double s);  // a + s
Var neg(const Var& a);
Var exp(const Var& a);
Var log(const Var& a);
Var sigmoid(const Var& a);
Var tanh(const Var& a);
Var relu(const Var& a);                      // derivative 0 at 0
Var clipped_relu(const Var& a, double cap);  // min(max(a, 0), cap)
Var softplus(const Var& a);                  // log(1 + exp(a)), stable
Var square(const Var& a);
Var sqrt(const Var& a);
Var abs(const Var& a);                   // derivative 0 at 0
Var pow_scalar(const Var& a, double p);  // a^p

// ---- reductions ------------------------------------------------------------------------
Var sum(const Var& a);                         // [1]
Var mean(const Var& a);                        // [1]
Var sum_leading(const Var& a, int keep_dims);  // sum over all but the last keep_dims dims
Var sum_last(const Var& a);                    // sum over the last dim ([1] for 1-D)

// ---- products --------------------------------------------------------------------------
// x (M,K) or (..., K); weight (N,K); bias (N) optional -> (..., N)
Var linear(const Var& x, const Var& weight, const Var& bias = Var());
Var matmul(const Var& a, const Var& b);  // (M,K) x (K,N) -> (M,N)

// ---- softmax and losses (last dim = classes) -------------------------------------------
Var softmax(const Var& x);
Var log_softmax(const Var& x);
// logits (M,C), labels int64 (M) in [0, C) (moved to the logits' device) -> mean loss [1]
Var cross_entropy(const Var& logits, const Tensor& labels);
Var mse(const Var& a, const Var& b);  // mean of (a - b)^2 over all elements, same shapes

// ---- shapes ----------------------------------------------------------------------------
Var reshape(const Var& a, const Shape& s);                 // a view; one dim may be -1
Var concat_last(const std::vector<Var>& xs);               // along the last dim
Var slice_last(const Var& a, int64_t start, int64_t len);  // [..., start : start + len]
Var concat0(const std::vector<Var>& xs);                   // along dim 0
Var narrow0(const Var& a, int64_t start, int64_t len);     // rows [start, start + len)

}  // namespace rsnn::ag
