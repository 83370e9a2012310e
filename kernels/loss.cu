#include <cmath>

#include "kernels/dense_cuda.cuh"
#include "kernels/loss.h"

namespace rsnn::kernels::cuda {

namespace {
using detail::grid_for;
using detail::kRowThreads;
using detail::kThreads;
using detail::raw;

// One block per row: lse[m] and the row's loss lse[m] - logits[m, label].
template <class T>
__global__ void cross_entropy_rows_kernel(T* row_loss, T* lse, const T* logits,
                                          const int64_t* labels, int64_t C) {
  const int64_t m = blockIdx.x;
  const T* row = logits + m * C;
  T mx = T(-INFINITY);
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) mx = math::max_(mx, row[c]);
  mx = detail::block_allreduce<kRowThreads>(mx, detail::MaxOp{});
  T s = T(0);
  for (int64_t c = threadIdx.x; c < C; c += blockDim.x) s += math::exp_(row[c] - mx);
  s = detail::block_allreduce<kRowThreads>(s, detail::SumOp{});
  if (threadIdx.x == 0) {
    const T l = mx + math::log_(s);
    const int64_t label = labels[m];
    lse[m] = l;
    row_loss[m] = (label >= 0 && label < C) ? l - row[label] : T(NAN);
  }
}

template <class T>
__global__ void cross_entropy_backward_kernel(T* dlogits, const T* dloss, const T* logits,
                                              const T* lse, const int64_t* labels, int64_t M,
                                              int64_t C) {
  const T scale = dloss[0] / T(M);
  RSNN_GRID_STRIDE(i, M * C) {
    const int64_t m = i / C, c = i % C;
    dlogits[i] += cross_entropy_grad(logits[i], lse[m], c == labels[m], scale);
  }
}

template <class T>
struct Elements {
  const T* x;
  __device__ T operator()(int64_t i) const { return x[i]; }
};
template <class T>
struct SquaredErrors {
  const T *a, *b;
  __device__ T operator()(int64_t i) const { return squared_error(a[i], b[i]); }
};

template <class T>
__global__ void mse_backward_kernel(T* da, T* db, const T* dloss, const T* a, const T* b,
                                    int64_t n) {
  const T scale = dloss[0] / T(n);
  RSNN_GRID_STRIDE(i, n) {
    const T g = squared_error_grad(a[i], b[i], scale);
    if (da) da[i] += g;
    if (db) db[i] -= g;
  }
}
}  // namespace

template <class T>
void cross_entropy_forward(T* loss, T* lse, const T* logits, const int64_t* labels, int64_t M,
                           int64_t C, Stream stream) {
  detail::use_device(stream);
  Tensor row_loss = Tensor::empty({M}, dtype_of<T>(), stream.device);
  Tensor lse_tmp;
  if (!lse) {
    lse_tmp = Tensor::empty({M}, dtype_of<T>(), stream.device);
    lse = lse_tmp.data<T>();
  }
  if (M > 0) {
    cross_entropy_rows_kernel<<<static_cast<unsigned>(M), kRowThreads, 0, raw(stream)>>>(
        row_loss.data<T>(), lse, logits, labels, C);
    RSNN_CUDA_CHECK_LAUNCH();
  }
  detail::sum_into(loss, M, Elements<T>{row_loss.data<T>()}, T(1) / T(M), false, stream);
}

template <class T>
void cross_entropy_backward(T* dlogits, const T* dloss, const T* logits, const T* lse,
                            const int64_t* labels, int64_t M, int64_t C, Stream stream) {
  if (M * C == 0) return;
  detail::use_device(stream);
  cross_entropy_backward_kernel<<<grid_for(M * C), kThreads, 0, raw(stream)>>>(
      dlogits, dloss, logits, lse, labels, M, C);
  RSNN_CUDA_CHECK_LAUNCH();
}

template <class T>
void mse_forward(T* loss, const T* a, const T* b, int64_t n, Stream stream) {
  detail::use_device(stream);
  detail::sum_into(loss, n, SquaredErrors<T>{a, b}, T(1) / T(n), false, stream);
}

template <class T>
void mse_backward(T* da, T* db, const T* dloss, const T* a, const T* b, int64_t n, Stream stream) {
  if (n == 0 || (!da && !db)) return;
  detail::use_device(stream);
  mse_backward_kernel<<<grid_for(n), kThreads, 0, raw(stream)>>>(da, db, dloss, a, b, n);
  RSNN_CUDA_CHECK_LAUNCH();
}

#define RSNN_INSTANTIATE(T)                                                                  \
  template void cross_entropy_forward<T>(T*, T*, const T*, const int64_t*, int64_t, int64_t, \
                                         Stream);                                            \
  template void cross_entropy_backward<T>(T*, const T*, const T*, const T*, const int64_t*,  \
                                          int64_t, int64_t, Stream);                         \
  template void mse_forward<T>(T*, const T*, const T*, int64_t, Stream);                     \
  template void mse_backward<T>(T*, T*, const T*, const T*, const T*, int64_t, Stream);
RSNN_INSTANTIATE(float)
RSNN_INSTANTIATE(double)
#undef RSNN_INSTANTIATE

}  // namespace rsnn::kernels::cuda
