#include "kernels/clamp.h"

#include <cmath>

namespace rsnn::kernels {

namespace {
constexpr int64_t kParallelMin = 65536;

template <class T>
void clamp_loop(T* x_, int64_t n, T lo_, T hi_) {
#pragma omp parallel if (n > kParallelMin)
  {
    // Thread-private copies stay in registers (see adam.cpp).
    T* __restrict x = x_;
    const T lo = lo_, hi = hi_;
#pragma omp for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) x[i] = clamp_element(x[i], lo, hi);
  }
}
}  // namespace

void clamp_cpu(float* x, int64_t n, float lo, float hi) { clamp_loop(x, n, lo, hi); }
void clamp_cpu(double* x, int64_t n, double lo, double hi) { clamp_loop(x, n, lo, hi); }

void clamp_(Tensor& t, double lo, double hi, Stream stream) {
  RSNN_CHECK(t.defined(), "clamp: tensor is undefined");
  RSNN_CHECK(!std::isnan(lo) && !std::isnan(hi) && lo <= hi, "clamp: bounds must satisfy lo <= hi, got [",
             lo, ", ", hi, "]");
  if (t.device().is_cuda()) {
    cuda::clamp(t.raw(), t.numel(), t.dtype(), lo, hi, Stream{t.device(), stream.handle});
    return;
  }
  dispatch_float(t.dtype(), "clamp", [&](auto tag) {
    using T = decltype(tag);
    clamp_cpu(t.data<T>(), t.numel(), T(lo), T(hi));
    return 0;
  });
}

}  // namespace rsnn::kernels
