// Per-element math of the rate model, shared by the CPU loops and any CUDA kernel.
#pragma once
#include <cmath>

#include "runtime/hd.h"

namespace rsnn::rate {

// 0 sigmoid, 1 clipped ReLU clip(relu(x), 0, 20), 2 clipped softplus clip(softplus(x), 0, 20).
template <class R>
RSNN_HD R rate_act(int kind, R x) {
  if (kind == 0) return R(1) / (R(1) + exp(-x));
  if (kind == 1) return x <= R(0) ? R(0) : (x >= R(20) ? R(20) : x);
  const R sp = x > R(30) ? x : log1p(exp(x));
  return sp >= R(20) ? R(20) : sp;
}

// d act / dx given x and r = act(x). Where a clip is active the gradient is 0; ReLU's
// gradient at exactly 0 is 0 (as TF's ReluGrad).
template <class R>
RSNN_HD R rate_act_grad(int kind, R x, R r) {
  if (kind == 0) return r * (R(1) - r);
  if (kind == 1) return (x > R(0) && x < R(20)) ? R(1) : R(0);
  return r >= R(20) ? R(0) : R(1) / (R(1) + exp(-x));
}

}  // namespace rsnn::rate
