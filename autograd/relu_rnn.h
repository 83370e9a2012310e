// The fused ReLU SimpleRNN (kernels/relu_rnn.h) as ONE op on the tape.
//
//   ag::Var h_T = ag::relu_rnn(x, W_in, W_rec, b);            // [B, N]: the last step only
//   ag::Var H   = ag::relu_rnn(x, W_in, W_rec, b, true);      // [T, B, N]: every step
//
// x [T, B, n_in] (time-major), W_in [n_in, N], W_rec [N, N], b [N], float32, one device.
// Any input may require a gradient. The op keeps H (the [T, B, N] activations) plus x when
// W_in needs a gradient and W_in when x does.
#pragma once
#include "autograd/var.h"

namespace rsnn::ag {

Var relu_rnn(const Var& x, const Var& W_in, const Var& W_rec, const Var& b,
             bool return_sequences = false);

}  // namespace rsnn::ag
