// Internal building blocks of the dense CUDA kernels: launch sizes, block-wide
// reductions (CUB), deterministic column sums and full sums. Include from .cu files only.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cub/block/block_reduce.cuh>

#include "runtime/cuda_check.h"
#include "runtime/tensor.h"

namespace rsnn::kernels::cuda::detail {

constexpr int kThreads = 256;     // threads per block of the element-wise kernels
constexpr int kRowThreads = 256;  // threads per block of the row-wise (one block per row) kernels

inline cudaStream_t raw(Stream s) { return static_cast<cudaStream_t>(s.handle); }

// Select the stream's device (kernels and cuBLAS calls go to the current device).
inline void use_device(Stream s) { RSNN_CUDA_CHECK(cudaSetDevice(s.device.index)); }

// Blocks for a grid-stride loop over n elements.
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(blocks, 8192)));
}

#define RSNN_GRID_STRIDE(i, n)                                              \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); \
       i += int64_t(gridDim.x) * blockDim.x)

struct MaxOp {
  template <class T>
  __device__ __forceinline__ T operator()(const T& a, const T& b) const {
    return a > b ? a : b;
  }
};
struct SumOp {
  template <class T>
  __device__ __forceinline__ T operator()(const T& a, const T& b) const {
    return a + b;
  }
};

// Reduce v over the block and return the result to every thread. Call from all threads of
// a block of BLOCK threads; safe to call repeatedly in one kernel.
template <int BLOCK, class T, class Op>
__device__ T block_allreduce(T v, Op op) {
  using Reduce = cub::BlockReduce<T, BLOCK>;
  __shared__ typename Reduce::TempStorage tmp;
  __shared__ T result;
  const T r = Reduce(tmp).Reduce(v, op);
  if (threadIdx.x == 0) result = r;
  __syncthreads();
  const T out = result;
  __syncthreads();
  return out;
}

// ---- column sums: dst[j] (+)= sum over o of f(o, j) --------------------------------------
// Pass 1: block (32, 8) sums a 32-column tile over one chunk of rows into partial[chunk, j].
// Pass 2: adds the chunks in order. Deterministic (no atomics).
template <class T, class F>
__global__ void colsum_partial_kernel(T* partial, int64_t outer, int64_t inner,
                                      int64_t rows_per_chunk, F f) {
  __shared__ T tile[8][33];
  const int64_t j = blockIdx.x * 32 + threadIdx.x;
  const int64_t o0 = blockIdx.y * rows_per_chunk;
  const int64_t o1 = o0 + rows_per_chunk < outer ? o0 + rows_per_chunk : outer;
  T acc = T(0);
  if (j < inner)
    for (int64_t o = o0 + threadIdx.y; o < o1; o += 8) acc += f(o, j);
  tile[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && j < inner) {
    T s = T(0);
    for (int r = 0; r < 8; ++r) s += tile[r][threadIdx.x];
    partial[blockIdx.y * inner + j] = s;
  }
}

template <class T>
__global__ void colsum_finish_kernel(T* dst, const T* partial, int64_t chunks, int64_t inner,
                                     bool accumulate) {
  RSNN_GRID_STRIDE(j, inner) {
    T s = T(0);
    for (int64_t c = 0; c < chunks; ++c) s += partial[c * inner + j];
    dst[j] = accumulate ? dst[j] + s : s;
  }
}

// The scratch buffer comes from the device pool; its reuse is ordered with later work on
// the same stream.
template <class T, class F>
void colsum_into(T* dst, int64_t outer, int64_t inner, bool accumulate, F f, Stream s) {
  if (inner == 0) return;
  const int64_t tiles = (inner + 31) / 32;
  const int64_t max_chunks = std::max<int64_t>(1, 2048 / tiles);
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>((outer + 63) / 64, max_chunks));
  const int64_t rows_per_chunk = std::max<int64_t>(1, (outer + chunks - 1) / chunks);
  Tensor partial = Tensor::empty({chunks, inner}, dtype_of<T>(), s.device);
  colsum_partial_kernel<<<dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(chunks)),
                          dim3(32, 8), 0, raw(s)>>>(partial.data<T>(), outer, inner, rows_per_chunk,
                                                    f);
  RSNN_CUDA_CHECK_LAUNCH();
  colsum_finish_kernel<<<grid_for(inner), kThreads, 0, raw(s)>>>(dst, partial.data<T>(), chunks,
                                                                 inner, accumulate);
  RSNN_CUDA_CHECK_LAUNCH();
}

// ---- full sums: out[0] = (accumulate ? out[0] : 0) + scale * sum_i f(i) -----------------
template <class T, class F>
__global__ void sum_partial_kernel(T* partial, int64_t n, F f) {
  T acc = T(0);
  RSNN_GRID_STRIDE(i, n) acc += f(i);
  const T s = block_allreduce<kThreads>(acc, SumOp{});
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

template <class T>
__global__ void sum_finish_kernel(T* out, const T* partial, int64_t blocks, T scale,
                                  bool accumulate) {
  T acc = T(0);
  for (int64_t b = threadIdx.x; b < blocks; b += blockDim.x) acc += partial[b];
  const T s = block_allreduce<kThreads>(acc, SumOp{});
  if (threadIdx.x == 0) out[0] = (accumulate ? out[0] : T(0)) + scale * s;
}

template <class T, class F>
void sum_into(T* out, int64_t n, F f, T scale, bool accumulate, Stream s) {
  const unsigned blocks = std::min<unsigned>(grid_for(n), 1024);
  Tensor partial = Tensor::empty({int64_t(blocks)}, dtype_of<T>(), s.device);
  sum_partial_kernel<<<blocks, kThreads, 0, raw(s)>>>(partial.data<T>(), n, f);
  RSNN_CUDA_CHECK_LAUNCH();
  sum_finish_kernel<<<1, kThreads, 0, raw(s)>>>(out, partial.data<T>(), int64_t(blocks), scale,
                                                accumulate);
  RSNN_CUDA_CHECK_LAUNCH();
}

}  // namespace rsnn::kernels::cuda::detail
