#include "kernels/softmax.h"

#include "kernels/dense_check.h"
#include "kernels/dense_cpu.h"

namespace rsnn::kernels {

using cpu_detail::kParallelMin;

namespace {
// Row max and sum of exp(x - max), the two reductions of a stable softmax.
template <class T>
void row_max_sumexp(const T* row, int64_t C, T& mx, T& s) {
  T m = row[0];
#pragma omp simd reduction(max : m)
  for (int64_t c = 0; c < C; ++c) m = row[c] > m ? row[c] : m;
  T acc = 0;
#pragma omp simd reduction(+ : acc)
  for (int64_t c = 0; c < C; ++c) acc += math::exp_(row[c] - m);
  mx = m;
  s = acc;
}
}  // namespace

template <class T>
void softmax_forward_cpu(T* out, const T* x, int64_t M, int64_t C) {
#pragma omp parallel for schedule(static) if (M * C > kParallelMin)
  for (int64_t m = 0; m < M; ++m) {
    const T* row = x + m * C;
    T* o = out + m * C;
    T mx, s;
    row_max_sumexp(row, C, mx, s);
    const T inv = T(1) / s;
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) o[c] = softmax_value(row[c], mx, inv);
  }
}

template <class T>
void log_softmax_forward_cpu(T* out, const T* x, int64_t M, int64_t C) {
#pragma omp parallel for schedule(static) if (M * C > kParallelMin)
  for (int64_t m = 0; m < M; ++m) {
    const T* row = x + m * C;
    T* o = out + m * C;
    T mx, s;
    row_max_sumexp(row, C, mx, s);
    const T log_s = math::log_(s);
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) o[c] = log_softmax_value(row[c], mx, log_s);
  }
}

template <class T>
void softmax_backward_cpu(T* dx, const T* dy, const T* y, int64_t M, int64_t C) {
#pragma omp parallel for schedule(static) if (M * C > kParallelMin)
  for (int64_t m = 0; m < M; ++m) {
    const T *g = dy + m * C, *yr = y + m * C;
    T* d = dx + m * C;
    T dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t c = 0; c < C; ++c) dot += g[c] * yr[c];
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) d[c] += softmax_grad(yr[c], g[c], dot);
  }
}

template <class T>
void log_softmax_backward_cpu(T* dx, const T* dy, const T* y, int64_t M, int64_t C) {
#pragma omp parallel for schedule(static) if (M * C > kParallelMin)
  for (int64_t m = 0; m < M; ++m) {
    const T *g = dy + m * C, *yr = y + m * C;
    T* d = dx + m * C;
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t c = 0; c < C; ++c) s += g[c];
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) d[c] += log_softmax_grad(yr[c], g[c], s);
  }
}

#define RSNN_INSTANTIATE(T)                                                        \
  template void softmax_forward_cpu<T>(T*, const T*, int64_t, int64_t);            \
  template void log_softmax_forward_cpu<T>(T*, const T*, int64_t, int64_t);        \
  template void softmax_backward_cpu<T>(T*, const T*, const T*, int64_t, int64_t); \
  template void log_softmax_backward_cpu<T>(T*, const T*, const T*, int64_t, int64_t);
RSNN_INSTANTIATE(float)
RSNN_INSTANTIATE(double)
#undef RSNN_INSTANTIATE

// ---- Tensor level ----------------------------------------------------------------------

namespace {
// Rows and row length of x (..., C); C must be positive unless there are no rows.
void rows_of(const Tensor& x, const std::string& what, int64_t& M, int64_t& C) {
  RSNN_CHECK(x.ndim() >= 1, what, ": input is a scalar ", x.describe());
  C = x.size(-1);
  M = x.numel() / (C ? C : 1);
  if (C == 0) M = 0;
  RSNN_CHECK(C > 0 || x.numel() == 0, what, ": empty last dim in ", x.describe());
}

void forward(bool log, Tensor& out, const Tensor& x, Stream stream) {
  const std::string what = log ? "log_softmax_forward" : "softmax_forward";
  detail::check_float(x, what, "x");
  int64_t M, C;
  rows_of(x, what, M, C);
  detail::prepare_out(out, x.shape(), x.dtype(), x.device(), what, "out");
  const Stream s = detail::stream_on(x.device(), stream, what);
  dispatch_float(x.dtype(), what.c_str(), [&](auto tag) {
    using T = decltype(tag);
    T* o = out.data<T>();
    const T* xp = x.data<T>();
    if (x.device().is_cuda()) {
      if (log)
        cuda::log_softmax_forward<T>(o, xp, M, C, s);
      else
        cuda::softmax_forward<T>(o, xp, M, C, s);
    } else {
      if (log)
        log_softmax_forward_cpu<T>(o, xp, M, C);
      else
        softmax_forward_cpu<T>(o, xp, M, C);
    }
    return 0;
  });
}

void backward(bool log, Tensor& dx, const Tensor& dy, const Tensor& y, Stream stream) {
  const std::string what = log ? "log_softmax_backward" : "softmax_backward";
  detail::check_float(dy, what, "dy");
  detail::check_like(y, dy, what, "y", "dy");
  check_shape(y, dy.shape(), what + " y");
  int64_t M, C;
  rows_of(dy, what, M, C);
  detail::prepare_accum(dx, dy.shape(), dy.dtype(), dy.device(), what, "dx");
  const Stream s = detail::stream_on(dy.device(), stream, what);
  dispatch_float(dy.dtype(), what.c_str(), [&](auto tag) {
    using T = decltype(tag);
    T* d = dx.data<T>();
    const T *g = dy.data<T>(), *yp = y.data<T>();
    if (dy.device().is_cuda()) {
      if (log)
        cuda::log_softmax_backward<T>(d, g, yp, M, C, s);
      else
        cuda::softmax_backward<T>(d, g, yp, M, C, s);
    } else {
      if (log)
        log_softmax_backward_cpu<T>(d, g, yp, M, C);
      else
        softmax_backward_cpu<T>(d, g, yp, M, C);
    }
    return 0;
  });
}
}  // namespace

void softmax_forward(Tensor& out, const Tensor& x, Stream stream) {
  forward(false, out, x, stream);
}
void log_softmax_forward(Tensor& out, const Tensor& x, Stream stream) {
  forward(true, out, x, stream);
}
void softmax_backward(Tensor& dx, const Tensor& dy, const Tensor& y, Stream stream) {
  backward(false, dx, dy, y, stream);
}
void log_softmax_backward(Tensor& dx, const Tensor& dy, const Tensor& y, Stream stream) {
  backward(true, dx, dy, y, stream);
}

}  // namespace rsnn::kernels
