// Internal to kernels/recurrent_lif*.cu: validation, per-call device tables, launch geometry
// and library handles of the CUDA recurrent LIF layer. Include from .cu files only.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusparse.h>

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

}  // namespace rsnn::kernels::cuda_lif
