#include "kernels/adam.h"

#include "kernels/optim_checks.h"

namespace rsnn::kernels {

namespace {
// Rows of work below this size are not worth waking the thread team for.
constexpr int64_t kParallelMin = 32768;

template <class T, bool kDecoupled, bool kAmsgrad>
void adam_loop(T* param_, const T* grad_, T* m_, T* v_, T* vmax_, int64_t n,
               const AdamCoeffs<T>& c_) {
#pragma omp parallel if (n > kParallelMin)
  {
    // Thread-private copies: restrict-qualified pointers and coefficients the compiler
    // keeps in registers (shared ones are reloaded and re-broadcast every iteration).
    T* __restrict param = param_;
    const T* __restrict grad = grad_;
    T* __restrict m = m_;
    T* __restrict v = v_;
    T* __restrict vmax = vmax_;
    const AdamCoeffs<T> c = c_;
#pragma omp for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      T unused = 0;
      adam_element(param[i], grad[i], m[i], v[i], kAmsgrad ? vmax[i] : unused, c, kDecoupled,
                   kAmsgrad);
    }
  }
}

template <class T>
void adam_cpu_t(T* param, const T* grad, T* m, T* v, T* vmax, int64_t n, const AdamCoeffs<T>& c,
                bool decoupled, bool amsgrad) {
  if (decoupled) {
    if (amsgrad) adam_loop<T, true, true>(param, grad, m, v, vmax, n, c);
    else adam_loop<T, true, false>(param, grad, m, v, vmax, n, c);
  } else {
    if (amsgrad) adam_loop<T, false, true>(param, grad, m, v, vmax, n, c);
    else adam_loop<T, false, false>(param, grad, m, v, vmax, n, c);
  }
}
}  // namespace

void adam_cpu(float* param, const float* grad, float* m, float* v, float* vmax, int64_t n,
              const AdamCoeffs<float>& c, bool decoupled, bool amsgrad) {
  adam_cpu_t(param, grad, m, v, vmax, n, c, decoupled, amsgrad);
}
void adam_cpu(double* param, const double* grad, double* m, double* v, double* vmax, int64_t n,
              const AdamCoeffs<double>& c, bool decoupled, bool amsgrad) {
  adam_cpu_t(param, grad, m, v, vmax, n, c, decoupled, amsgrad);
}

void check_adam_config(const AdamConfig& cfg, int64_t step, const char* where) {
  RSNN_CHECK(std::isfinite(cfg.lr) && cfg.lr > 0, where, ": learning rate must be > 0, got ",
             cfg.lr);
  RSNN_CHECK(cfg.beta1 >= 0 && cfg.beta1 < 1, where, ": beta1 must be in [0, 1), got ",
             cfg.beta1);
  RSNN_CHECK(cfg.beta2 >= 0 && cfg.beta2 < 1, where, ": beta2 must be in [0, 1), got ",
             cfg.beta2);
  RSNN_CHECK(std::isfinite(cfg.eps) && cfg.eps >= 0, where, ": eps must be >= 0, got ", cfg.eps);
  RSNN_CHECK(std::isfinite(cfg.weight_decay) && cfg.weight_decay >= 0, where,
             ": weight_decay must be >= 0, got ", cfg.weight_decay);
  RSNN_CHECK(step >= 1, where, ": step count must be >= 1, got ", step);
}

void adam_step_(Tensor& param, const Tensor& grad, Tensor& m, Tensor& v, Tensor& vmax,
                int64_t step, const AdamConfig& cfg, Stream stream) {
  check_adam_config(cfg, step, "adam");
  detail::check_update_operand(param, grad, "adam", "gradient");
  detail::check_update_operand(param, m, "adam", "first moment m");
  detail::check_update_operand(param, v, "adam", "second moment v");
  if (cfg.amsgrad) detail::check_update_operand(param, vmax, "adam", "amsgrad max of v");
  const int64_t n = param.numel();
  void* vmax_ptr = cfg.amsgrad ? vmax.raw() : nullptr;
  if (param.device().is_cuda()) {
    cuda::adam(param.raw(), grad.raw(), m.raw(), v.raw(), vmax_ptr, n, param.dtype(), step, cfg,
               Stream{param.device(), stream.handle});
    return;
  }
  dispatch_float(param.dtype(), "adam", [&](auto tag) {
    using T = decltype(tag);
    adam_cpu(param.data<T>(), grad.data<T>(), m.data<T>(), v.data<T>(), static_cast<T*>(vmax_ptr),
             n, adam_coeffs<T>(cfg, step), cfg.decoupled, cfg.amsgrad);
    return 0;
  });
}

}  // namespace rsnn::kernels
