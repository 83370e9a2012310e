#include <cmath>

#include "kernels/dense_cuda.cuh"
#include "kernels/softmax.h"

namespace rsnn::kernels::cuda {

namespace {
using detail::kRowThreads;
using detail::raw;

// One block per row: block-wide max, then block-wide sum of exp(x - max).
template <class T, bool LOG>
__global__ void softmax_forward_kernel(T* out, const T* x, int64_t C) {
  const T* row = x + blockIdx.x * C;
  T* o = out + blockIdx.x * C;
  T mx = T(-INFINITY);
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) mx = math::max_(mx, row[c]);
  mx = detail::block_allreduce<kRowThreads>(mx, detail::MaxOp{});
  T s = T(0);
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += math::exp_(row[c] - mx);
  s = detail::block_allreduce<kRowThreads>(s, detail::SumOp{});
  if (LOG) {
    const T log_s = math::log_(s);
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
      o[c] = log_softmax_value(row[c], mx, log_s);
  } else {
    const T inv = T(1) / s;
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) o[c] = softmax_value(row[c], mx, inv);
  }
}

template <class T, bool LOG>
__global__ void softmax_backward_kernel(T* dx, const T* dy, const T* y, int64_t C) {
  const int64_t base = blockIdx.x * C;
  T r = T(0);  // softmax: sum(dy * y); log-softmax: sum(dy)
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x)
    r += LOG ? dy[base + c] : dy[base + c] * y[base + c];
  r = detail::block_allreduce<kRowThreads>(r, detail::SumOp{});
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
    const int64_t i = base + c;
    dx[i] += LOG ? log_softmax_grad(y[i], dy[i], r) : softmax_grad(y[i], dy[i], r);
  }
}

template <class T, bool LOG>
void launch_forward(T* out, const T* x, int64_t M, int64_t C, Stream stream) {
  if (M == 0) return;
  detail::use_device(stream);
  softmax_forward_kernel<T, LOG>
      <<<static_cast<unsigned>(M), kRowThreads, 0, raw(stream)>>>(out, x, C);
  RSNN_CUDA_CHECK_LAUNCH();
}

template <class T, bool LOG>
void launch_backward(T* dx, const T* dy, const T* y, int64_t M, int64_t C, Stream stream) {
  if (M == 0) return;
  detail::use_device(stream);
  softmax_backward_kernel<T, LOG>
      <<<static_cast<unsigned>(M), kRowThreads, 0, raw(stream)>>>(dx, dy, y, C);
  RSNN_CUDA_CHECK_LAUNCH();
}
}  // namespace

template <class T>
void softmax_forward(T* out, const T* x, int64_t M, int64_t C, Stream stream) {
  launch_forward<T, false>(out, x, M, C, stream);
}
template <class T>
void log_softmax_forward(T* out, const T* x, int64_t M, int64_t C, Stream stream) {
  launch_forward<T, true>(out, x, M, C, stream);
}
template <class T>
void softmax_backward(T* dx, const T* dy, const T* y, int64_t M, int64_t C, Stream stream) {
  launch_backward<T, false>(dx, dy, y, M, C, stream);
}
template <class T>
void log_softmax_backward(T* dx, const T* dy, const T* y, int64_t M, int64_t C, Stream stream) {
  launch_backward<T, true>(dx, dy, y, M, C, stream);
}

#define RSNN_INSTANTIATE(T)                                                            \
  template void softmax_forward<T>(T*, const T*, int64_t, int64_t, Stream);            \
  template void log_softmax_forward<T>(T*, const T*, int64_t, int64_t, Stream);        \
  template void softmax_backward<T>(T*, const T*, const T*, int64_t, int64_t, Stream); \
  template void log_softmax_backward<T>(T*, const T*, const T*, int64_t, int64_t, Stream);
RSNN_INSTANTIATE(float)
RSNN_INSTANTIATE(double)
#undef RSNN_INSTANTIATE

}  // namespace rsnn::kernels::cuda
