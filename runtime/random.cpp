#include "runtime/random.h"

#include "runtime/random_fill.h"

namespace rsnn {

namespace {
template <class T>
void fill_cpu(T* p, int64_t n, int kind, uint64_t seed, uint64_t stream, double a, double b) {
#pragma omp parallel for schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i)
    p[i] = detail::random_element<T>(kind, seed, stream, static_cast<uint64_t>(i), a, b);
}

void fill_random(Tensor& t, int kind, uint64_t seed, uint64_t stream, double a, double b,
                 const char* what) {
  RSNN_CHECK(t.defined(), what, ": undefined tensor");
  RSNN_CHECK(is_floating(t.dtype()) || (kind == 2 && t.dtype() == DType::u8), what,
             ": unsupported dtype ", dtype_name(t.dtype()));
  if (t.device().is_cuda()) {
    detail::fill_random_cuda(t, kind, seed, stream, a, b);
    return;
  }
  switch (t.dtype()) {
    case DType::f32: fill_cpu(t.data<float>(), t.numel(), kind, seed, stream, a, b); break;
    case DType::f64: fill_cpu(t.data<double>(), t.numel(), kind, seed, stream, a, b); break;
    case DType::u8: fill_cpu(t.data<uint8_t>(), t.numel(), kind, seed, stream, a, b); break;
    default: break;
  }
}
}  // namespace

void fill_uniform(Tensor& t, uint64_t seed, uint64_t stream, double lo, double hi) {
  RSNN_CHECK(lo <= hi, "fill_uniform: lo ", lo, " > hi ", hi);
  fill_random(t, 0, seed, stream, lo, hi, "fill_uniform");
}
void fill_normal(Tensor& t, uint64_t seed, uint64_t stream, double mean, double stddev) {
  RSNN_CHECK(stddev >= 0, "fill_normal: negative standard deviation ", stddev);
  fill_random(t, 1, seed, stream, mean, stddev, "fill_normal");
}
void fill_bernoulli(Tensor& t, uint64_t seed, uint64_t stream, double p) {
  RSNN_CHECK(p >= 0 && p <= 1, "fill_bernoulli: probability ", p, " outside [0, 1]");
  fill_random(t, 2, seed, stream, p, 0, "fill_bernoulli");
}

}  // namespace rsnn
