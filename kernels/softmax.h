// Softmax and log-softmax over the last dim, numerically stable (the row max is subtracted
// before exp). The element math is in dense_math.h. Backward kernels accumulate (+=).
#pragma once
#include <cstdint>

#include "kernels/dense_math.h"
#include "runtime/cuda_entry.h"
#include "runtime/tensor.h"

namespace rsnn::kernels {

// ---- CPU reference (the specification) ------------------------------------------------

// x, out (M, C), C >= 1: out[m, c] = exp(x[m, c]) / sum_c' exp(x[m, c'])
template <class T>
void softmax_forward_ref(T* out, const T* x, int64_t M, int64_t C) {
  for (int64_t m = 0; m < M; ++m) {
    const T* row = x + m * C;
    T mx = row[0];
    for (int64_t c = 1; c < C; ++c) mx = math::max_(mx, row[c]);
    T s = 0;
    for (int64_t c = 0; c < C; ++c) s += math::exp_(row[c] - mx);
    for (int64_t c = 0; c < C; ++c) out[m * C + c] = softmax_value(row[c], mx, T(1) / s);
  }
}
// x, out (M, C), C >= 1: out[m, c] = x[m, c] - log(sum_c' exp(x[m, c']))
template <class T>
void log_softmax_forward_ref(T* out, const T* x, int64_t M, int64_t C) {
  for (int64_t m = 0; m < M; ++m) {
    const T* row = x + m * C;
    T mx = row[0];
    for (int64_t c = 1; c < C; ++c) mx = math::max_(mx, row[c]);
    T s = 0;
    for (int64_t c = 0; c < C; ++c) s += math::exp_(row[c] - mx);
    for (int64_t c = 0; c < C; ++c) out[m * C + c] = log_softmax_value(row[c], mx, math::log_(s));
  }
}
// dx, dy, y (M, C) with y = softmax(x): dx += y * (dy - sum_c dy * y)
template <class T>
void softmax_backward_ref(T* dx, const T* dy, const T* y, int64_t M, int64_t C) {
  for (int64_t m = 0; m < M; ++m) {
    T dot = 0;
    for (int64_t c = 0; c < C; ++c) dot += dy[m * C + c] * y[m * C + c];
    for (int64_t c = 0; c < C; ++c) dx[m * C + c] += softmax_grad(y[m * C + c], dy[m * C + c], dot);
  }
}
// dx, dy, y (M, C) with y = log_softmax(x): dx += dy - exp(y) * sum_c dy
template <class T>
void log_softmax_backward_ref(T* dx, const T* dy, const T* y, int64_t M, int64_t C) {
  for (int64_t m = 0; m < M; ++m) {
    T s = 0;
    for (int64_t c = 0; c < C; ++c) s += dy[m * C + c];
    for (int64_t c = 0; c < C; ++c)
      dx[m * C + c] += log_softmax_grad(y[m * C + c], dy[m * C + c], s);
  }
}

// ---- optimized CPU (OpenMP over rows, simd within), same arguments ---------------------
template <class T>
void softmax_forward_cpu(T* out, const T* x, int64_t M, int64_t C);
template <class T>
void log_softmax_forward_cpu(T* out, const T* x, int64_t M, int64_t C);
template <class T>
void softmax_backward_cpu(T* dx, const T* dy, const T* y, int64_t M, int64_t C);
template <class T>
void log_softmax_backward_cpu(T* dx, const T* dy, const T* y, int64_t M, int64_t C);

// ---- CUDA (one block per row), same arguments plus the stream -------------------------
namespace cuda {
template <class T>
RSNN_CUDA_ENTRY("softmax_forward",
                void softmax_forward(T* out, const T* x, int64_t M, int64_t C, Stream stream));
template <class T>
RSNN_CUDA_ENTRY("log_softmax_forward",
                void log_softmax_forward(T* out, const T* x, int64_t M, int64_t C, Stream stream));
template <class T>
RSNN_CUDA_ENTRY("softmax_backward",
                void softmax_backward(T* dx, const T* dy, const T* y, int64_t M, int64_t C,
                                      Stream stream));
template <class T>
RSNN_CUDA_ENTRY("log_softmax_backward",
                void log_softmax_backward(T* dx, const T* dy, const T* y, int64_t M, int64_t C,
                                          Stream stream));
}  // namespace cuda

// ---- Tensor level: x (..., C), rows = leading dims flattened ---------------------------
void softmax_forward(Tensor& out, const Tensor& x, Stream stream = Stream{});
void log_softmax_forward(Tensor& out, const Tensor& x, Stream stream = Stream{});
// dx accumulates (zero-filled first when undefined); y is the forward output.
void softmax_backward(Tensor& dx, const Tensor& dy, const Tensor& y, Stream stream = Stream{});
void log_softmax_backward(Tensor& dx, const Tensor& dy, const Tensor& y, Stream stream = Stream{});

}  // namespace rsnn::kernels
