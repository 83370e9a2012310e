#include <cmath>

#include "kernels/dense_cuda.cuh"
#include "kernels/reduce.h"

namespace rsnn::kernels::cuda {

namespace {
using detail::grid_for;
using detail::kRowThreads;
using detail::kThreads;
using detail::raw;

template <class T>
struct Elements {  // f(i) = x[i]
  const T* x;
  __device__ T operator()(int64_t i) const { return x[i]; }
};
template <class T>
struct Rows {  // f(o, j) = x[o, j] of an (outer, inner) matrix
  const T* x;
  int64_t inner;
  __device__ T operator()(int64_t o, int64_t j) const { return x[o * inner + j]; }
};

// One block per row.
template <class T>
__global__ void sum_last_kernel(T* out, const T* in, int64_t inner) {
  const T* row = in + blockIdx.x * inner;
  T s = T(0);
  for (int64_t j = threadIdx.x; j < inner; j += blockDim.x) s += row[j];
  s = detail::block_allreduce<kRowThreads>(s, detail::SumOp{});
  if (threadIdx.x == 0) out[blockIdx.x] = s;
}

// (value, index) with the reference's rule: NaN first, then larger, then smaller index.
template <class T>
struct Best {
  T v;
  int64_t i;
};
struct BestOp {
  template <class T>
  __device__ Best<T> operator()(const Best<T>& a, const Best<T>& b) const {
    const bool an = a.v != a.v, bn = b.v != b.v;
    if (an != bn) return an ? a : b;
    if (!an && a.v != b.v) return a.v > b.v ? a : b;
    return a.i <= b.i ? a : b;
  }
};

template <class T>
__global__ void max_last_kernel(T* out, int64_t* argmax, const T* in, int64_t inner) {
  const T* row = in + blockIdx.x * inner;
  Best<T> best{T(-INFINITY), INT64_MAX};
  for (int64_t j = threadIdx.x; j < inner; j += blockDim.x)
    best = BestOp{}(best, Best<T>{row[j], j});
  best = detail::block_allreduce<kRowThreads>(best, BestOp{});
  if (threadIdx.x == 0) {
    out[blockIdx.x] = best.v;
    if (argmax) argmax[blockIdx.x] = best.i;
  }
}

template <class T>
__global__ void sum_all_backward_kernel(T* din, const T* dout, int64_t n, T scale) {
  const T g = scale * dout[0];
  RSNN_GRID_STRIDE(i, n) din[i] += g;
}
template <class T>
__global__ void sum_leading_backward_kernel(T* din, const T* dout, int64_t outer, int64_t inner) {
  RSNN_GRID_STRIDE(i, outer * inner) din[i] += dout[i % inner];
}
template <class T>
__global__ void sum_last_backward_kernel(T* din, const T* dout, int64_t outer, int64_t inner) {
  RSNN_GRID_STRIDE(i, outer * inner) din[i] += dout[i / inner];
}
}  // namespace

template <class T>
void sum_all(T* out, const T* in, int64_t n, Stream stream) {
  detail::use_device(stream);
  detail::sum_into(out, n, Elements<T>{in}, T(1), false, stream);
}

template <class T>
void mean_all(T* out, const T* in, int64_t n, Stream stream) {
  detail::use_device(stream);
  detail::sum_into(out, n, Elements<T>{in}, T(1) / T(n), false, stream);
}

template <class T>
void sum_leading(T* out, const T* in, int64_t outer, int64_t inner, Stream stream) {
  detail::use_device(stream);
  detail::colsum_into(out, outer, inner, false, Rows<T>{in, inner}, stream);
}

template <class T>
void sum_last(T* out, const T* in, int64_t outer, int64_t inner, Stream stream) {
  if (outer == 0) return;
  detail::use_device(stream);
  sum_last_kernel<<<static_cast<unsigned>(outer), kRowThreads, 0, raw(stream)>>>(out, in, inner);
  RSNN_CUDA_CHECK_LAUNCH();
}

template <class T>
void max_last(T* out, int64_t* argmax, const T* in, int64_t outer, int64_t inner, Stream stream) {
  if (outer == 0) return;
  detail::use_device(stream);
  max_last_kernel<<<static_cast<unsigned>(outer), kRowThreads, 0, raw(stream)>>>(out, argmax, in,
                                                                                 inner);
  RSNN_CUDA_CHECK_LAUNCH();
}

template <class T>
void sum_all_backward(T* din, const T* dout, int64_t n, T scale, Stream stream) {
  if (n == 0) return;
  detail::use_device(stream);
  sum_all_backward_kernel<<<grid_for(n), kThreads, 0, raw(stream)>>>(din, dout, n, scale);
  RSNN_CUDA_CHECK_LAUNCH();
}

template <class T>
void sum_leading_backward(T* din, const T* dout, int64_t outer, int64_t inner, Stream stream) {
  if (outer * inner == 0) return;
  detail::use_device(stream);
  sum_leading_backward_kernel<<<grid_for(outer * inner), kThreads, 0, raw(stream)>>>(din, dout,
                                                                                     outer, inner);
  RSNN_CUDA_CHECK_LAUNCH();
}

template <class T>
void sum_last_backward(T* din, const T* dout, int64_t outer, int64_t inner, Stream stream) {
  if (outer * inner == 0) return;
  detail::use_device(stream);
  sum_last_backward_kernel<<<grid_for(outer * inner), kThreads, 0, raw(stream)>>>(din, dout, outer,
                                                                                  inner);
  RSNN_CUDA_CHECK_LAUNCH();
}

#define RSNN_INSTANTIATE(T)                                                      \
  template void sum_all<T>(T*, const T*, int64_t, Stream);                       \
  template void mean_all<T>(T*, const T*, int64_t, Stream);                      \
  template void sum_leading<T>(T*, const T*, int64_t, int64_t, Stream);          \
  template void sum_last<T>(T*, const T*, int64_t, int64_t, Stream);             \
  template void max_last<T>(T*, int64_t*, const T*, int64_t, int64_t, Stream);   \
  template void sum_all_backward<T>(T*, const T*, int64_t, T, Stream);           \
  template void sum_leading_backward<T>(T*, const T*, int64_t, int64_t, Stream); \
  template void sum_last_backward<T>(T*, const T*, int64_t, int64_t, Stream);
RSNN_INSTANTIATE(float)
RSNN_INSTANTIATE(double)
#undef RSNN_INSTANTIATE

}  // namespace rsnn::kernels::cuda
