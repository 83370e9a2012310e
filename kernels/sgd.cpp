#include "kernels/sgd.h"

#include <cmath>

#include "kernels/optim_checks.h"

namespace rsnn::kernels {

namespace {
constexpr int64_t kParallelMin = 32768;

template <class T, bool kMomentum, bool kNesterov>
void sgd_loop(T* param_, const T* grad_, T* buf_, int64_t n, const SgdCoeffs<T>& c_,
              bool first) {
#pragma omp parallel if (n > kParallelMin)
  {
    // Thread-private restrict pointers and coefficients stay in registers (see adam.cpp).
    T* __restrict param = param_;
    const T* __restrict grad = grad_;
    T* __restrict buf = buf_;
    const SgdCoeffs<T> c = c_;
#pragma omp for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      T unused = 0;
      sgd_element(param[i], grad[i], kMomentum ? buf[i] : unused, c, kMomentum, kNesterov,
                  first);
    }
  }
}

template <class T>
void sgd_cpu_t(T* param, const T* grad, T* buf, int64_t n, const SgdCoeffs<T>& c,
               bool use_momentum, bool nesterov, bool first) {
  if (!use_momentum) sgd_loop<T, false, false>(param, grad, buf, n, c, first);
  else if (nesterov) sgd_loop<T, true, true>(param, grad, buf, n, c, first);
  else sgd_loop<T, true, false>(param, grad, buf, n, c, first);
}
}  // namespace

void sgd_cpu(float* param, const float* grad, float* buf, int64_t n, const SgdCoeffs<float>& c,
             bool use_momentum, bool nesterov, bool first) {
  sgd_cpu_t(param, grad, buf, n, c, use_momentum, nesterov, first);
}
void sgd_cpu(double* param, const double* grad, double* buf, int64_t n,
             const SgdCoeffs<double>& c, bool use_momentum, bool nesterov, bool first) {
  sgd_cpu_t(param, grad, buf, n, c, use_momentum, nesterov, first);
}

void check_sgd_config(const SgdConfig& cfg, const char* where) {
  RSNN_CHECK(std::isfinite(cfg.lr) && cfg.lr > 0, where, ": learning rate must be > 0, got ",
             cfg.lr);
  RSNN_CHECK(std::isfinite(cfg.momentum) && cfg.momentum >= 0, where,
             ": momentum must be >= 0, got ", cfg.momentum);
  RSNN_CHECK(std::isfinite(cfg.dampening) && cfg.dampening >= 0 && cfg.dampening <= 1, where,
             ": dampening must be in [0, 1], got ", cfg.dampening);
  RSNN_CHECK(std::isfinite(cfg.weight_decay) && cfg.weight_decay >= 0, where,
             ": weight_decay must be >= 0, got ", cfg.weight_decay);
  RSNN_CHECK(!cfg.nesterov || (cfg.momentum > 0 && cfg.dampening == 0), where,
             ": nesterov momentum needs momentum > 0 and dampening 0 (got momentum ",
             cfg.momentum, ", dampening ", cfg.dampening, ")");
}

void sgd_step_(Tensor& param, const Tensor& grad, Tensor& buf, bool first, const SgdConfig& cfg,
               Stream stream) {
  check_sgd_config(cfg, "sgd");
  detail::check_update_operand(param, grad, "sgd", "gradient");
  const bool use_momentum = cfg.momentum != 0;
  if (use_momentum) detail::check_update_operand(param, buf, "sgd", "momentum buffer");
  const int64_t n = param.numel();
  void* buf_ptr = use_momentum ? buf.raw() : nullptr;
  if (param.device().is_cuda()) {
    cuda::sgd(param.raw(), grad.raw(), buf_ptr, n, param.dtype(), cfg, first,
              Stream{param.device(), stream.handle});
    return;
  }
  dispatch_float(param.dtype(), "sgd", [&](auto tag) {
    using T = decltype(tag);
    sgd_cpu(param.data<T>(), grad.data<T>(), static_cast<T*>(buf_ptr), n, sgd_coeffs<T>(cfg),
            use_momentum, cfg.nesterov, first);
    return 0;
  });
}

}  // namespace rsnn::kernels
