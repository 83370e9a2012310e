// Element math of the ReLU RNN shared by the CPU paths and the CUDA kernels.
#pragma once
#include "runtime/hd.h"

namespace rsnn::kernels {

// h = relu(pre); NaN passes through (so a diverged run shows as NaN, as in Keras).
template <class T>
RSNN_HD T relu_rnn_act(T pre) { return pre > T(0) || pre != pre ? pre : T(0); }

// d(pre) from the gradient on h and the saved h: relu'(pre) = 1[pre > 0] = 1[h > 0].
template <class T>
RSNN_HD T relu_rnn_dpre(T g, T h) { return h > T(0) ? g : T(0); }

}  // namespace rsnn::kernels
