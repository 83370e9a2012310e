// Adam and AdamW parameter updates, element-wise, as torch.optim.Adam / torch.optim.AdamW
// define them. For one parameter tensor at (1-based) step t, every element does:
//
//   AdamW (decoupled):  p *= 1 - lr*wd                  Adam (L2):  g += wd * p
//   m = beta1*m + (1-beta1)*g
//   v = beta2*v + (1-beta2)*g*g
//   amsgrad: vmax = max(vmax, v), and vmax replaces v below
//   p -= (lr / (1-beta1^t)) * m / (sqrt(v) / sqrt(1-beta2^t) + eps)
//
// param, grad, m, v, vmax: n values each, one dtype (float32 or float64), one device.
// vmax is used (and must be defined) only with amsgrad.
#pragma once
#include <cmath>
#include <cstdint>

#include "runtime/cuda_entry.h"
#include "runtime/hd.h"
#include "runtime/tensor.h"

namespace rsnn::kernels {

// Hyper-parameters of one update (host side, double precision).
struct AdamConfig {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool decoupled = false;  // true: AdamW
  bool amsgrad = false;
};

// Per-step scalars in the element type, computed once per tensor and step on the host.
template <class T>
struct AdamCoeffs {
  T beta1, one_minus_beta1;
  T beta2, one_minus_beta2;
  T eps;
  T weight_decay;  // L2 coefficient added to the gradient (Adam); 0 for AdamW
  T decay;         // factor applied to p before the step (AdamW: 1 - lr*wd; Adam: 1)
  T step_size;     // lr / (1 - beta1^t)
  T bias_correction2_sqrt;  // sqrt(1 - beta2^t)
};

// Throws when a hyper-parameter is out of range or step < 1.
void check_adam_config(const AdamConfig& cfg, int64_t step, const char* where);

template <class T>
AdamCoeffs<T> adam_coeffs(const AdamConfig& cfg, int64_t step) {
  const double bc1 = 1.0 - std::pow(cfg.beta1, static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(cfg.beta2, static_cast<double>(step));
  AdamCoeffs<T> c;
  c.beta1 = T(cfg.beta1);
  c.one_minus_beta1 = T(1.0 - cfg.beta1);
  c.beta2 = T(cfg.beta2);
  c.one_minus_beta2 = T(1.0 - cfg.beta2);
  c.eps = T(cfg.eps);
  c.weight_decay = cfg.decoupled ? T(0) : T(cfg.weight_decay);
  c.decay = cfg.decoupled ? T(1.0 - cfg.lr * cfg.weight_decay) : T(1);
  c.step_size = T(cfg.lr / bc1);
  c.bias_correction2_sqrt = T(std::sqrt(bc2));
  return c;
}

RSNN_HD float optim_sqrt(float x) { return sqrtf(x); }
RSNN_HD double optim_sqrt(double x) { return sqrt(x); }

// The per-element body both backends run. `decoupled` and `amsgrad` are uniform over a
// launch; the optimized loops pass them as compile-time constants. vmax is read and
// written only with amsgrad.
template <class T>
RSNN_HD void adam_element(T& p, T g, T& m, T& v, T& vmax, const AdamCoeffs<T>& c,
                          bool decoupled, bool amsgrad) {
  if (decoupled)
    p = p * c.decay;
  else
    g = g + c.weight_decay * p;
  m = c.beta1 * m + c.one_minus_beta1 * g;
  v = c.beta2 * v + c.one_minus_beta2 * g * g;
  T v_used = v;
  if (amsgrad) {
    vmax = vmax > v ? vmax : v;
    v_used = vmax;
  }
  const T denom = optim_sqrt(v_used) / c.bias_correction2_sqrt + c.eps;
  p = p - c.step_size * m / denom;
}

// CPU reference: one plain loop (the specification). vmax may be null without amsgrad.
template <class T>
void adam_ref(T* param, const T* grad, T* m, T* v, T* vmax, int64_t n, const AdamCoeffs<T>& c,
              bool decoupled, bool amsgrad) {
  for (int64_t i = 0; i < n; ++i) {
    T unused = 0;
    adam_element(param[i], grad[i], m[i], v[i], amsgrad ? vmax[i] : unused, c, decoupled,
                 amsgrad);
  }
}

// Optimized CPU (OpenMP threads + SIMD); same arguments as adam_ref.
void adam_cpu(float* param, const float* grad, float* m, float* v, float* vmax, int64_t n,
              const AdamCoeffs<float>& c, bool decoupled, bool amsgrad);
void adam_cpu(double* param, const double* grad, double* m, double* v, double* vmax, int64_t n,
              const AdamCoeffs<double>& c, bool decoupled, bool amsgrad);

// One Adam/AdamW step on a parameter tensor, in place on param, m, v (and vmax with
// amsgrad). `step` is the parameter's step count including this one (1 on the first
// update). Checks shapes, dtypes and devices; dispatches on device and dtype.
void adam_step_(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor& vmax,
                int64_t step, const AdamConfig& cfg, Stream stream = Stream{});

namespace cuda {
// CUDA launcher: same argument order as adam_cpu; the pointers live on stream.device.
RSNN_CUDA_ENTRY("adam",
                void adam(void* param, const void* grad, void* m, void* v, void* vmax, int64_t n,
                          DType t, int64_t step, const AdamConfig& cfg, Stream stream));
}  // namespace cuda

}  // namespace rsnn::kernels
