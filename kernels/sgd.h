// Stochastic gradient descent with momentum, element-wise, as torch.optim.SGD defines it.
// For one parameter tensor, every element does:
//
//   g += wd * p
//   with momentum mu > 0:  buf = first ? g : mu*buf + (1-dampening)*g
//                          g   = nesterov ? g + mu*buf : buf
//   p -= lr * g
//
// `first` is true on the parameter's first update (its momentum buffer does not exist yet
// in PyTorch's terms; here the buffer is overwritten with g).
// param, grad, buf: n values each, one dtype (float32 or float64), one device. buf is used
// (and must be defined) only with momentum > 0.
#pragma once
#include <cstdint>

#include "runtime/cuda_entry.h"
#include "runtime/hd.h"
#include "runtime/tensor.h"

namespace rsnn::kernels {

struct SgdConfig {
  double lr = 1e-2;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
};

// Throws when a hyper-parameter is out of range (lr <= 0, momentum < 0, nesterov without
// momentum or with dampening, ...).
void check_sgd_config(const SgdConfig& cfg, const char* where);

template <class T>
struct SgdCoeffs {
  T lr, momentum, one_minus_dampening, weight_decay;
};

template <class T>
SgdCoeffs<T> sgd_coeffs(const SgdConfig& cfg) {
  return SgdCoeffs<T>{T(cfg.lr), T(cfg.momentum), T(1.0 - cfg.dampening), T(cfg.weight_decay)};
}

// The per-element body both backends run; the flags are uniform over a launch.
template <class T>
RSNN_HD void sgd_element(T& p, T g, T& buf, const SgdCoeffs<T>& c, bool use_momentum,
                         bool nesterov, bool first) {
  g = g + c.weight_decay * p;
  if (use_momentum) {
    buf = first ? g : c.momentum * buf + c.one_minus_dampening * g;
    g = nesterov ? g + c.momentum * buf : buf;
  }
  p = p - c.lr * g;
}

// CPU reference: one plain loop (the specification). buf may be null without momentum.
template <class T>
void sgd_ref(T* param, const T* grad, T* buf, int64_t n, const SgdCoeffs<T>& c,
             bool use_momentum, bool nesterov, bool first) {
  for (int64_t i = 0; i < n; ++i) {
    T unused = 0;
    sgd_element(param[i], grad[i], use_momentum ? buf[i] : unused, c, use_momentum, nesterov,
                first);
  }
}

// Optimized CPU (OpenMP threads + SIMD); same arguments as sgd_ref.
void sgd_cpu(float* param, const float* grad, float* buf, int64_t n, const SgdCoeffs<float>& c,
             bool use_momentum, bool nesterov, bool first);
void sgd_cpu(double* param, const double* grad, double* buf, int64_t n,
             const SgdCoeffs<double>& c, bool use_momentum, bool nesterov, bool first);

// One SGD step on a parameter tensor, in place on param (and buf with momentum > 0).
// Checks shapes, dtypes and devices; dispatches on device and dtype.
void sgd_step_(Tensor& param, const Tensor& grad, Tensor& buf, bool first, const SgdConfig& cfg,
               Stream stream = Stream{});

namespace cuda {
// CUDA launcher: same argument order as sgd_cpu; the pointers live on stream.device.
RSNN_CUDA_ENTRY("sgd", void sgd(void* param, const void* grad, void* buf, int64_t n, DType t,
                                const SgdConfig& cfg, bool first, Stream stream));
}  // namespace cuda

}  // namespace rsnn::kernels
