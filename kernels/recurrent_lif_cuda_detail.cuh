// Internal to kernels/recurrent_lif*.cu: validation, per-call device tables, launch geometry,
// library handles, and the warp, layout and GEMM helpers shared by the forward
// (recurrent_lif.cu) and the backward (recurrent_lif_backward.cu). Include from .cu files only.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusparse.h>

#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/recurrent_lif_detail.h"
#include "runtime/cuda_check.h"

namespace rsnn::kernels::cuda_lif {

constexpr int kWarp = 32;
constexpr int kThreads = 256;  // 8 warps per block
constexpr int kRowsPerBlock = kThreads / kWarp;
constexpr unsigned kFullMask = 0xffffffffu;

// Makes `device` current for the scope, then restores the previous one.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int prev_ = 0, cur_ = 0;
};

// The calling thread's handle for the current device, bound to `s`. Created on first use and
// kept for the life of the process (one per thread and device: handles are not thread-safe).
cublasHandle_t blas_handle(cudaStream_t s);
cusparseHandle_t sparse_handle(cudaStream_t s);

// Grid of kThreads-blocks for a grid-stride loop over n elements (at least one block).
unsigned elementwise_blocks(int64_t n);
// Grid for one warp per row (at least one block; the kernels bound-check).
unsigned row_blocks(int64_t rows);

// Lane layout of the warp-per-row kernels: bs = 2^bs_log2 lanes run over the batch (B
// contiguous values of a neuron row, so a warp's loads are coalesced B-vectors), the other
// 32 / bs lanes over the synapses of the row; each lane holds nacc (1, 2 or 4) batch values
// per pass, a pass covering bs * nacc samples.
struct LaneLayout {
  int bs_log2 = 0;
  int nacc = 1;
};
LaneLayout lane_layout(int64_t B);

// Pooled device tensors; `zeros` clears on `s` (the legacy default stream would not be
// ordered with a non-blocking stream).
Tensor device_zeros(const Shape& shape, DType dt, Device dev, Stream s);
// Host copy of a device tensor, ordered on `s` (waits for it).
Tensor to_host(const Tensor& t, Stream s);
// Device copy of host values, ordered on `s` (waits for the copy: the source is pageable).
Tensor upload_bytes(const void* src, size_t bytes, Device dev, Stream s);

template <class T>
cudaDataType cuda_type();

// All shape/dtype/device/config checks of make_dims, for tensors on the projection's CUDA
// device; the time constants are read back (once) to check that they are positive.
// Returns the sizes and the host copies of tau_m, tau_adp (alif) and b_base.
lif_detail::Dims cuda_dims(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                           Stream s, LifInputs* host_params);

// Per-call device tables shared by forward and backward.
template <class T>
struct Net {
  lif_detail::Dims d;
  Device dev;
  Stream stream;
  cudaStream_t cs = nullptr;
  lif::ModelParams<T> m;
  lif::SurrogateParams<T> sg;
  std::vector<lif::NeuronConst<T>> nc_host;  // [N], computed on the host like the CPU op
  Tensor nc_buf;                              // the same on the device (bytes)
  Tensor tables_buf;                          // int64 [offsets (G+1) | group_of (N)]
  Tensor post_split, pre_split;               // int64 [N] (lif_detail::row_splits)
  Tensor ws;                                  // [nnz] sign * w, post-major
  const lif::NeuronConst<T>* nc = nullptr;
  const int64_t *post_ptr = nullptr, *pre_ptr = nullptr, *syn_of_pre = nullptr;
  const int64_t *post_split_p = nullptr, *pre_split_p = nullptr;
  const int32_t *pre_idx = nullptr, *post_idx = nullptr;
  const float* sign = nullptr;
  // Row ranges updated one after the other within a step: the non-empty groups in order
  // (gauss_seidel), or all neurons at once (previous_step, or a single group).
  std::vector<std::pair<int64_t, int64_t>> launch_groups;

  Net(const Projection& p, const LifConfig& cfg, const LifInputs& x, Stream s);
  // [nnz] pre-major sign * w of each entry, times the target's in_gain when asked.
  Tensor pre_major(bool times_in_gain) const;
};

// ---- shared by the forward (recurrent_lif.cu) and the backward (recurrent_lif_backward.cu) ----

inline void check_cuda_projection(const Projection& p, const char* what) {
  RSNN_CHECK(p.post_ptr.defined() && p.device().is_cuda(), what,
             " (CUDA): the projection must be on a CUDA device, it is on ", p.device().str());
}

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

template <class F>
void with_nacc(int nacc, F&& f) {
  if (nacc == 1) f(std::integral_constant<int, 1>{});
  else if (nacc == 2) f(std::integral_constant<int, 2>{});
  else f(std::integral_constant<int, 4>{});
}

// ---- warp helpers ----------------------------------------------------------------------------

// Lane coordinates of the warp-per-row kernels (cuda_lif::LaneLayout): lb indexes the batch
// lanes (bs of them), lk the synapse lanes (ks = 32 / bs).
struct Lanes {
  int lane, bs, ks, lb, lk;
  __device__ explicit Lanes(int bs_log2) {
    lane = static_cast<int>(threadIdx.x) & (kWarp - 1);
    bs = 1 << bs_log2;
    ks = kWarp >> bs_log2;
    lb = lane & (bs - 1);
    lk = lane >> bs_log2;
  }
};

// The row of this warp (blockDim.x is a multiple of 32, so it is warp-uniform).
__device__ __forceinline__ int64_t warp_row() {
  return (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
}

// Sum over the synapse lanes (same lb): xor offsets bs .. 16. Every lane ends with the same
// bits, since each butterfly level adds the same two numbers on both sides.
template <class T, int NACC>
__device__ __forceinline__ void sum_synapse_lanes(T (&v)[NACC], int bs) {
  for (int off = bs; off < kWarp; off <<= 1)
#pragma unroll
    for (int q = 0; q < NACC; ++q) v[q] += __shfl_xor_sync(kFullMask, v[q], off);
}

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int off = kWarp / 2; off > 0; off >>= 1) v += __shfl_xor_sync(kFullMask, v, off);
  return v;
}

// ---- layout kernels ----------------------------------------------------------------------------

// src [B, N] (null = zeros) -> dst [N, B]
template <class T>
__global__ void to_neuron_major_kernel(const T* src, T* dst, int64_t B, int64_t N) {
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < N * B;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t n = idx / B, b = idx - n * B;
    dst[idx] = src ? src[b * N + n] : T(0);
  }
}

enum class Factor : int { none = 0, decay = 1, rho = 2 };

// src [N, B] -> dst [B, N], times a per-neuron factor
template <class T>
__global__ void to_batch_major_kernel(const T* src, const lif::NeuronConst<T>* nc, Factor factor,
                                      T* dst, int64_t B, int64_t N) {
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < N * B;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = idx / N, n = idx - b * N;
    const T v = src[n * B + b];
    if (factor == Factor::decay) dst[idx] = nc[n].decay * v;
    else if (factor == Factor::rho) dst[idx] = nc[n].rho * v;
    else dst[idx] = v;
  }
}

template <class T>
void launch_to_neuron_major(const Tensor& src, T* dst, int64_t B, int64_t N, cudaStream_t cs) {
  to_neuron_major_kernel<T><<<elementwise_blocks(N * B), kThreads, 0, cs>>>(ptr_or_null<T>(src), dst, B, N);
  RSNN_CUDA_CHECK_LAUNCH();
}

template <class T>
Tensor batch_major(const T* src, const lif::NeuronConst<T>* nc, Factor f, int64_t B, int64_t N,
                   Device dev, cudaStream_t cs) {
  Tensor out = Tensor::empty({B, N}, dtype_of<T>(), dev);
  to_batch_major_kernel<T><<<elementwise_blocks(N * B), kThreads, 0, cs>>>(src, nc, f, out.data<T>(), B, N);
  RSNN_CUDA_CHECK_LAUNCH();
  return out;
}

// ---- cuBLAS ------------------------------------------------------------------------------------

// Column-major C = alpha op(A) op(B) + beta C (cuBLAS conventions).
template <class T>
void gemm(cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n, int64_t k, T alpha,
          const T* A, int64_t lda, const T* Bm, int64_t ldb, T beta, T* C, int64_t ldc,
          cudaStream_t cs) {
  cublasHandle_t h = blas_handle(cs);
  const int im = static_cast<int>(m), in = static_cast<int>(n), ik = static_cast<int>(k);
  if constexpr (std::is_same_v<T, float>)
    RSNN_CUBLAS_CHECK(cublasSgemm(h, ta, tb, im, in, ik, &alpha, A, static_cast<int>(lda), Bm,
                                  static_cast<int>(ldb), &beta, C, static_cast<int>(ldc)));
  else
    RSNN_CUBLAS_CHECK(cublasDgemm(h, ta, tb, im, in, ik, &alpha, A, static_cast<int>(lda), Bm,
                                  static_cast<int>(ldb), &beta, C, static_cast<int>(ldc)));
}

// A readout range: neurons [start, start + len) read by W_ro columns [col, col + len).
struct RoRange {
  int64_t start, len, col;
};

inline std::vector<RoRange> readout_ranges(const LifConfig& cfg) {
  std::vector<RoRange> r;
  int64_t col = 0;
  for (const NeuronRange& n : cfg.readout) {
    r.push_back({n.start, n.length, col});
    col += n.length;
  }
  return r;
}

}  // namespace rsnn::kernels::cuda_lif
