// Reductions: sum / mean of everything, sum over leading dims (column sums, e.g. a bias
// gradient), sum and max over the last dim (row-wise); and the backward of the sums, which
// broadcast a gradient back (accumulating, +=). Sums accumulate in the element type.
#pragma once
#include <cstdint>

#include "runtime/cuda_entry.h"
#include "runtime/tensor.h"

namespace rsnn::kernels {

// ---- CPU reference (the specification) ------------------------------------------------

// in (n) -> out[0] = sum_i in[i]
template <class T>
void sum_all_ref(T* out, const T* in, int64_t n) {
  T s = 0;
  for (int64_t i = 0; i < n; ++i) s += in[i];
  out[0] = s;
}
// in (n) -> out[0] = sum_i in[i] / n
template <class T>
void mean_all_ref(T* out, const T* in, int64_t n) {
  sum_all_ref(out, in, n);
  out[0] /= T(n);
}
// in (outer, inner) -> out (inner) = sum over rows
template <class T>
void sum_leading_ref(T* out, const T* in, int64_t outer, int64_t inner) {
  for (int64_t j = 0; j < inner; ++j) out[j] = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) out[j] += in[o * inner + j];
}
// in (outer, inner) -> out (outer) = sum over the last dim
template <class T>
void sum_last_ref(T* out, const T* in, int64_t outer, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    T s = 0;
    for (int64_t j = 0; j < inner; ++j) s += in[o * inner + j];
    out[o] = s;
  }
}
// in (outer, inner), inner >= 1 -> out (outer) = row max; argmax (outer) = the first index of
// it, or null. A NaN in a row wins (the row's max is NaN, argmax its first NaN).
template <class T>
void max_last_ref(T* out, int64_t* argmax, const T* in, int64_t outer, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    const T* row = in + o * inner;
    int64_t best = 0;
    for (int64_t j = 1; j < inner; ++j)
      if (row[best] == row[best] && (row[j] > row[best] || row[j] != row[j])) best = j;
    out[o] = row[best];
    if (argmax) argmax[o] = best;
  }
}

// din (n) += scale * dout[0]   (sum: scale 1; mean: scale 1/n)
template <class T>
void sum_all_backward_ref(T* din, const T* dout, int64_t n, T scale) {
  for (int64_t i = 0; i < n; ++i) din[i] += scale * dout[0];
}
// dout (inner) -> din (outer, inner) += dout[j]
template <class T>
void sum_leading_backward_ref(T* din, const T* dout, int64_t outer, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) din[o * inner + j] += dout[j];
}
// dout (outer) -> din (outer, inner) += dout[o]
template <class T>
void sum_last_backward_ref(T* din, const T* dout, int64_t outer, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) din[o * inner + j] += dout[o];
}

// ---- optimized CPU (OpenMP + simd), same arguments -------------------------------------
template <class T>
void sum_all_cpu(T* out, const T* in, int64_t n);
template <class T>
void mean_all_cpu(T* out, const T* in, int64_t n);
template <class T>
void sum_leading_cpu(T* out, const T* in, int64_t outer, int64_t inner);
template <class T>
void sum_last_cpu(T* out, const T* in, int64_t outer, int64_t inner);
template <class T>
void max_last_cpu(T* out, int64_t* argmax, const T* in, int64_t outer, int64_t inner);
template <class T>
void sum_all_backward_cpu(T* din, const T* dout, int64_t n, T scale);
template <class T>
void sum_leading_backward_cpu(T* din, const T* dout, int64_t outer, int64_t inner);
template <class T>
void sum_last_backward_cpu(T* din, const T* dout, int64_t outer, int64_t inner);

// ---- CUDA, same arguments plus the stream ---------------------------------------------
namespace cuda {
template <class T>
RSNN_CUDA_ENTRY("sum_all", void sum_all(T* out, const T* in, int64_t n, Stream stream));
template <class T>
RSNN_CUDA_ENTRY("mean_all", void mean_all(T* out, const T* in, int64_t n, Stream stream));
template <class T>
RSNN_CUDA_ENTRY("sum_leading",
                void sum_leading(T* out, const T* in, int64_t outer, int64_t inner, Stream stream));
template <class T>
RSNN_CUDA_ENTRY("sum_last",
                void sum_last(T* out, const T* in, int64_t outer, int64_t inner, Stream stream));
template <class T>
RSNN_CUDA_ENTRY("max_last",
                void max_last(T* out, int64_t* argmax, const T* in, int64_t outer, int64_t inner,
                              Stream stream));
template <class T>
RSNN_CUDA_ENTRY("sum_all_backward",
                void sum_all_backward(T* din, const T* dout, int64_t n, T scale, Stream stream));
template <class T>
RSNN_CUDA_ENTRY("sum_leading_backward",
                void sum_leading_backward(T* din, const T* dout, int64_t outer, int64_t inner,
                                          Stream stream));
template <class T>
RSNN_CUDA_ENTRY("sum_last_backward",
                void sum_last_backward(T* din, const T* dout, int64_t outer, int64_t inner,
                                       Stream stream));
}  // namespace cuda

// ---- Tensor level (outputs allocated when undefined) -----------------------------------
void sum_all(Tensor& out, const Tensor& in, Stream stream = Stream{});   // out [1]
void mean_all(Tensor& out, const Tensor& in, Stream stream = Stream{});  // out [1]; in non-empty
// Sum over all but the last keep_dims dims (1 <= keep_dims <= ndim): out = in.shape[-keep_dims:]
void sum_leading(Tensor& out, const Tensor& in, int keep_dims, Stream stream = Stream{});
// Sum over the last dim: out = in.shape[:-1] ([1] for a 1-D input).
void sum_last(Tensor& out, const Tensor& in, Stream stream = Stream{});
// Max over the last dim (non-empty): out = in.shape[:-1] ([1] for 1-D); *argmax int64, same shape.
void max_last(Tensor& out, Tensor* argmax, const Tensor& in, Stream stream = Stream{});

// Backward of the sums. din (in_shape) accumulates; zero-filled first when undefined.
void sum_all_backward(Tensor& din, const Shape& in_shape, const Tensor& dout, double scale,
                      Stream stream = Stream{});
void sum_leading_backward(Tensor& din, const Shape& in_shape, const Tensor& dout,
                          Stream stream = Stream{});
void sum_last_backward(Tensor& din, const Shape& in_shape, const Tensor& dout,
                       Stream stream = Stream{});

}  // namespace rsnn::kernels
