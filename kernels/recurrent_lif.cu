// CUDA recurrent LIF layer, forward and backward (contract in recurrent_lif.h; the CPU twin,
// whose structure this follows, is recurrent_lif.cpp; the per-element math is lif_math.h).
//
// Layout as on the CPU: per-step state [N, B] (neuron-major, batch innermost), saved u and a
// [T, N, B]; the [T, B, *] inputs and outputs are read and written in place (strided).
//
// Forward, per step. Nothing in the time loop waits for the device; one synchronisation at the
// end reads the spike counts back for LifStats.
//   pull (also what Propagation::automatic means here): one fused kernel per launch group: the
//     non-empty groups in order for gauss_seidel (G launches per step), one launch for
//     previous_step. One warp per target row; its lanes split over (synapses x batch), so a warp
//     reads coalesced B-vectors of the sources' spikes. P (previous-step sources) and C
//     (this-step sources in earlier groups) are summed separately, as on the CPU, reduced by
//     warp shuffles in a fixed order; then the lanes owning (row, b) run lif::neuron_step.
//     Bitwise reproducible run to run. (automatic does not switch to push per step: that would
//     need the firing count on the host every step.)
//   push: clear the accumulators, scatter the firing sources' pre-major rows (previous-step
//     entries, one launch), then per group the update kernel and, for gauss_seidel, a scatter of
//     that group's new spikes into the later groups: at most 2G + 1 launches per step. Uses
//     float atomics, so the last bits of the currents may vary from run to run.
//   cusparse (baseline): per launch group one cusparseSpMM of the group's rows of the signed CSR
//     matrix with the dense [N, B] spikes, then the update kernel: 2G launches per step. The
//     spike buffer is updated in place, so when group g's product runs, the rows of earlier
//     groups already hold this step's spikes and the others the previous step's: exactly the
//     Gauss-Seidel order (for previous_step the single product runs before any update).
//   readout: one cuBLAS GEMM per readout range per step, y[t] (+)= s[t][range] W_ro[:, range]^T.
//
// Backward, reverse time loop; per step the readout error ds_ro = dy[t] W_ro (one GEMM per
// range), one kernel per launch group in reverse group order, and dW_ro += dy[t]^T s[t] (one
// GEMM per range). The group kernel runs one warp per source j. Through j's pre-major row it
// gathers the error of its targets, no atomics: previous-step entries from dL/dv[t+1], same-step
// entries (targets in later groups, already done this step) from dL/dv[t]; the same loop adds the
// per-synapse sums q_k += sum_b dv_i[b] s_j[b] when j fired in some sample (a shuffle reduction
// over the batch lanes). Then lif::neuron_step_backward. After the loop, one launch adds the s0
// terms (ds0 and q); dw, dtau_m (dL/dalpha via the per-synapse q, as on the CPU: the input
// current is never stored) and dtau_adp come from per-row kernels. Every gradient element has a
// single writer and a fixed summation order, so the backward is bitwise reproducible; it differs
// from the CPU only by summation order.
#include <algorithm>
#include <memory>
#include <type_traits>
#include <vector>

#include "kernels/recurrent_lif_cuda.h"
#include "kernels/recurrent_lif_cuda_detail.cuh"

namespace rsnn::kernels::cuda {
namespace {

using namespace cuda_lif;
using lif_detail::Dims;

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

std::vector<RoRange> readout_ranges(const LifConfig& cfg) {
  std::vector<RoRange> r;
  int64_t col = 0;
  for (const NeuronRange& n : cfg.readout) {
    r.push_back({n.start, n.length, col});
    col += n.length;
  }
  return r;
}

// ============================== forward ==============================================

template <class T>
struct FwdArgs {
  int64_t B = 0, N = 0, N_in = 0, in_off = 0;
  lif::ModelParams<T> m;
  const lif::NeuronConst<T>* nc = nullptr;
  const T* ext_t = nullptr;  // i_ext[t] [B, N_in]
  T* v = nullptr;            // [N, B] state, updated in place
  T* a = nullptr;            // [N, B] (written for alif only)
  const T* s_prev = nullptr; // [N, B] s[t-1]
  T* s_out = nullptr;        // [N, B] s[t] (== s_prev on the in-place cuSPARSE path)
  T* su = nullptr;           // saved u[t] [N, B] or null
  T* sa = nullptr;           // saved a[t] [N, B] or null
  T* out_spikes = nullptr;   // [B, N] slices of the [T, B, N] outputs at t, or null
  uint8_t* out_record = nullptr;
  T* out_v = nullptr;
  T* out_a = nullptr;
  unsigned long long* row_spikes = nullptr;  // [N] spikes per neuron over steps and samples
  bool alif = false;
};

// One neuron-step (row i, sample b) given its recurrent current; returns whether it spiked.
// The same operations, in the same order, as the CPU loop body.
template <class T>
__device__ __forceinline__ bool update_element(const FwdArgs<T>& a, int64_t i, int64_t b, T rec) {
  const int64_t at = i * a.B + b;
  const lif::NeuronConst<T> c = a.nc[i];
  T e = T(0);
  if (i >= a.in_off && i < a.in_off + a.N_in) e = a.ext_t[b * a.N_in + (i - a.in_off)];
  const T cur = e + rec;
  T v = a.v[at];
  T ad = a.a[at];
  const T u = lif::neuron_step(a.m, c, cur, a.s_prev[at], v, ad);
  const T s = lif::spike_of(u);
  a.v[at] = v;
  if (a.alif) a.a[at] = ad;
  a.s_out[at] = s;  // after the read of s_prev[at]: the buffers may be the same
  if (a.su) a.su[at] = u;
  if (a.sa) a.sa[at] = ad;
  const int64_t o = b * a.N + i;
  if (a.out_spikes) a.out_spikes[o] = s;
  if (a.out_record) a.out_record[o] = s != T(0) ? 1 : 0;
  if (a.out_v) a.out_v[o] = v;
  if (a.out_a) a.out_a[o] = ad;
  return s != T(0);
}

// acc[q] += sum over synapses [k0, k1) (this lane's share) of ws[k] * s[source, b_first + q*bs]
template <class T, int NACC>
__device__ __forceinline__ void gather_row(const int32_t* pre_idx, const T* ws, const T* s,
                                           int64_t k0, int64_t k1, const Lanes& L, int64_t b_first,
                                           int64_t B, T (&acc)[NACC]) {
  for (int64_t k = k0 + L.lk; k < k1; k += L.ks) {
    const T w = ws[k];
    const T* sj = s + static_cast<int64_t>(pre_idx[k]) * B;
#pragma unroll
    for (int q = 0; q < NACC; ++q) {
      const int64_t b = b_first + q * L.bs;
      if (b < B) acc[q] += w * sj[b];
    }
  }
}

// Pull: gather and update rows [row0, row0 + rows), one warp per row.
template <class T, int NACC>
__global__ void __launch_bounds__(kThreads)
    pull_step_kernel(const FwdArgs<T> a, const int64_t* post_ptr, const int64_t* post_split,
                     const int32_t* pre_idx, const T* ws, int64_t row0, int64_t rows, int bs_log2) {
  const int64_t w = warp_row();
  if (w >= rows) return;
  const Lanes L(bs_log2);
  const int64_t i = row0 + w, B = a.B;
  const int64_t kc0 = post_ptr[i], split = post_split[i], kp1 = post_ptr[i + 1];
  int spikes = 0;
  for (int64_t b0 = 0; b0 < B; b0 += int64_t(L.bs) * NACC) {
    T P[NACC], C[NACC];
#pragma unroll
    for (int q = 0; q < NACC; ++q) P[q] = C[q] = T(0);
    gather_row<T, NACC>(pre_idx, ws, a.s_prev, split, kp1, L, b0 + L.lb, B, P);  // previous step
    gather_row<T, NACC>(pre_idx, ws, a.s_out, kc0, split, L, b0 + L.lb, B, C);   // this step
    sum_synapse_lanes<T, NACC>(P, L.bs);
    sum_synapse_lanes<T, NACC>(C, L.bs);
    if (L.lk == 0) {
#pragma unroll
      for (int q = 0; q < NACC; ++q) {
        const int64_t b = b0 + L.lb + q * L.bs;
        if (b < B) spikes += update_element(a, i, b, P[q] + C[q]);
      }
    }
  }
  spikes = warp_sum(spikes);
  if (L.lane == 0 && spikes > 0) a.row_spikes[i] += static_cast<unsigned long long>(spikes);
}

// Push: scatter the entries [kb[j], ke[j]) of sources j in [row0, row0 + rows) that fired in
// some sample into acc [N, B]. One warp per source.
template <class T, int NACC>
__global__ void __launch_bounds__(kThreads)
    push_kernel(const T* s, int64_t B, const int64_t* kb, const int64_t* ke,
                const int32_t* post_idx, const T* ws_t, T* acc, int64_t row0, int64_t rows,
                int bs_log2) {
  const int64_t w = warp_row();
  if (w >= rows) return;
  const Lanes L(bs_log2);
  const int64_t j = row0 + w;
  const int64_t k0 = kb[j], k1 = ke[j];
  if (k0 >= k1) return;
  for (int64_t b0 = 0; b0 < B; b0 += int64_t(L.bs) * NACC) {
    T sv[NACC];
    bool any = false;
#pragma unroll
    for (int q = 0; q < NACC; ++q) {
      const int64_t b = b0 + L.lb + q * L.bs;
      sv[q] = b < B ? s[j * B + b] : T(0);
      any = any || sv[q] != T(0);
    }
    if (!__any_sync(kFullMask, any)) continue;
    for (int64_t k = k0 + L.lk; k < k1; k += L.ks) {
      const T wk = ws_t[k];
      T* acc_i = acc + static_cast<int64_t>(post_idx[k]) * B + b0 + L.lb;
#pragma unroll
      for (int q = 0; q < NACC; ++q)
        if (sv[q] != T(0)) atomicAdd(acc_i + q * L.bs, wk * sv[q]);
    }
  }
}

// Update rows [row0, row0 + rows) from assembled currents: one thread per (row, sample).
template <class T>
__global__ void acc_step_kernel(const FwdArgs<T> a, const T* accP, const T* accC, int64_t row0,
                                int64_t rows) {
  const int64_t n = rows * a.B;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < n;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = idx / a.B, b = idx - r * a.B, i = row0 + r, at = i * a.B + b;
    const T rec = accC ? accP[at] + accC[at] : accP[at];
    if (update_element(a, i, b, rec)) atomicAdd(a.row_spikes + i, 1ull);
  }
}

// out[0] = spikes, out[1] = sum_i spikes_i * out-degree_i. One block.
__global__ void spike_stats_kernel(const unsigned long long* row_spikes, const int64_t* pre_ptr,
                                   int64_t N, unsigned long long* out) {
  __shared__ unsigned long long sh_s[kThreads], sh_e[kThreads];
  unsigned long long s = 0, e = 0;
  for (int64_t i = threadIdx.x; i < N; i += blockDim.x) {
    const unsigned long long c = row_spikes[i];
    s += c;
    e += c * static_cast<unsigned long long>(pre_ptr[i + 1] - pre_ptr[i]);
  }
  sh_s[threadIdx.x] = s;
  sh_e[threadIdx.x] = e;
  __syncthreads();
  for (unsigned stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) {
      sh_s[threadIdx.x] += sh_s[threadIdx.x + stride];
      sh_e[threadIdx.x] += sh_e[threadIdx.x + stride];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    out[0] = sh_s[0];
    out[1] = sh_e[0];
  }
}

// cusparseSpMM of each launch group's rows of the signed post-major CSR matrix with the
// dense spikes [N, B] (row-major), into the same rows of acc [N, B]. The descriptors refer to
// the projection's column indices and the call's signed weights; the row offsets are rebased
// per group to int32 (cuSPARSE CSR wants matching index types).
template <class T>
class SpmmPlan {
 public:
  SpmmPlan(const Net<T>& net, const Projection& p, T* spikes, T* acc) : cs_(net.cs), B_(net.d.B), acc_(acc) {
    const Dims& d = net.d;
    const Tensor pp = to_host(p.post_ptr, net.stream);
    const int64_t* ptr = pp.data<int64_t>();
    std::vector<int32_t> rowptr;
    std::vector<size_t> base;
    for (const auto& [lo, hi] : net.launch_groups) {
      const int64_t nnz_g = ptr[hi] - ptr[lo];
      RSNN_CHECK(nnz_g <= 2147483647, "recurrent_lif (cusparse): rows [", lo, ", ", hi, ") hold ",
                 nnz_g, " synapses; the 32-bit CSR offsets allow 2^31 - 1");
      base.push_back(rowptr.size());
      for (int64_t r = lo; r <= hi; ++r) rowptr.push_back(static_cast<int32_t>(ptr[r] - ptr[lo]));
    }
    rowptr_ = upload_bytes(rowptr.data(), rowptr.size() * sizeof(int32_t), net.dev, net.stream);
    const int32_t* rp = static_cast<const int32_t*>(rowptr_.raw());
    const cudaDataType ty = cuda_type<T>();
    cusparseHandle_t h = sparse_handle(cs_);
    RSNN_CUSPARSE_CHECK(cusparseCreateDnMat(&d_.in, d.N, d.B, d.B, spikes, ty, CUSPARSE_ORDER_ROW));
    size_t buffer = 1;
    const T one = T(1), zero = T(0);
    for (size_t g = 0; g < net.launch_groups.size(); ++g) {
      const auto [lo, hi] = net.launch_groups[g];
      rows_.emplace_back(lo, hi);
      d_.mats.push_back(nullptr);
      d_.outs.push_back(nullptr);
      const int64_t nnz_g = ptr[hi] - ptr[lo];
      if (nnz_g == 0) continue;  // no input: run() clears the rows
      RSNN_CUSPARSE_CHECK(cusparseCreateCsr(
          &d_.mats.back(), hi - lo, d.N, nnz_g, const_cast<int32_t*>(rp + base[g]),
          const_cast<int32_t*>(net.pre_idx + ptr[lo]), net.ws.template data<T>() + ptr[lo],
          CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, ty));
      RSNN_CUSPARSE_CHECK(cusparseCreateDnMat(&d_.outs.back(), hi - lo, d.B, d.B, acc + lo * d.B, ty,
                                              CUSPARSE_ORDER_ROW));
      size_t size = 0;
      RSNN_CUSPARSE_CHECK(cusparseSpMM_bufferSize(h, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                                  CUSPARSE_OPERATION_NON_TRANSPOSE, &one, d_.mats.back(),
                                                  d_.in, &zero, d_.outs.back(), ty,
                                                  CUSPARSE_SPMM_ALG_DEFAULT, &size));
      buffer = std::max(buffer, size);
    }
    buffer_ = Tensor::empty({static_cast<int64_t>(buffer)}, DType::u8, net.dev);
  }

  void run(size_t g) {
    const auto [lo, hi] = rows_[g];
    if (!d_.mats[g]) {
      RSNN_CUDA_CHECK(cudaMemsetAsync(acc_ + lo * B_, 0, sizeof(T) * (hi - lo) * B_, cs_));
      return;
    }
    const T one = T(1), zero = T(0);
    RSNN_CUSPARSE_CHECK(cusparseSpMM(sparse_handle(cs_), CUSPARSE_OPERATION_NON_TRANSPOSE,
                                     CUSPARSE_OPERATION_NON_TRANSPOSE, &one, d_.mats[g], d_.in, &zero,
                                     d_.outs[g], cuda_type<T>(), CUSPARSE_SPMM_ALG_DEFAULT,
                                     buffer_.raw()));
  }

 private:
  struct Descriptors {  // destroyed even when the constructor throws half-way
    cusparseDnMatDescr_t in = nullptr;
    std::vector<cusparseSpMatDescr_t> mats;
    std::vector<cusparseDnMatDescr_t> outs;
    Descriptors() = default;
    Descriptors(const Descriptors&) = delete;
    Descriptors& operator=(const Descriptors&) = delete;
    ~Descriptors() {
      for (auto m : mats)
        if (m) cusparseDestroySpMat(m);
      for (auto o : outs)
        if (o) cusparseDestroyDnMat(o);
      if (in) cusparseDestroyDnMat(in);
    }
  };
  cudaStream_t cs_;
  int64_t B_;
  T* acc_;
  Tensor rowptr_, buffer_;
  std::vector<std::pair<int64_t, int64_t>> rows_;
  Descriptors d_;
};

template <class T>
LifForward forward_impl(const Projection& p, const LifConfig& cfg, const LifInputs& x, bool keep,
                        Stream stream) {
  const Net<T> net(p, cfg, x, stream);
  const Dims& d = net.d;
  const int64_t T_ = d.T, B = d.B, N = d.N, BN = d.B * d.N, R = d.R;
  const DType dt = dtype_of<T>();
  const Device dev = net.dev;
  const cudaStream_t cs = net.cs;
  const bool alif = cfg.model == NeuronModel::alif;
  const bool gs = d.gauss_seidel && d.G > 1;
  const Propagation prop =
      cfg.propagation == Propagation::automatic ? Propagation::pull : cfg.propagation;

  LifForward out;
  if (cfg.output_spikes) out.spikes = Tensor::empty({T_, B, N}, dt, dev);
  if (cfg.record_spikes) out.spike_record = Tensor::empty({T_, B, N}, DType::u8, dev);
  if (cfg.record_state) {
    out.v_record = Tensor::empty({T_, B, N}, dt, dev);
    out.a_record = Tensor::empty({T_, B, N}, dt, dev);
  }
  if (d.has_readout) out.readout = Tensor::empty({T_, B, R}, dt, dev);
  if (keep) {
    out.saved.u = Tensor::empty({T_, N, B}, dt, dev);
    if (alif) out.saved.a = Tensor::empty({T_, N, B}, dt, dev);
  }

  // state, neuron-major [N, B]; the cuSPARSE path keeps one spike buffer (updated in place)
  Tensor v = Tensor::empty({N, B}, dt, dev), a = Tensor::empty({N, B}, dt, dev);
  Tensor s_a = Tensor::empty({N, B}, dt, dev);
  Tensor s_b = prop == Propagation::cusparse ? s_a : Tensor::empty({N, B}, dt, dev);
  launch_to_neuron_major<T>(x.v0, v.data<T>(), B, N, cs);
  launch_to_neuron_major<T>(x.a0, a.data<T>(), B, N, cs);
  launch_to_neuron_major<T>(x.s0, s_a.data<T>(), B, N, cs);
  Tensor row_spikes = device_zeros({N}, DType::i64, dev, stream);
  Tensor accP, accC;
  if (prop != Propagation::pull) accP = Tensor::empty({N, B}, dt, dev);
  if (prop == Propagation::push && gs) accC = Tensor::empty({N, B}, dt, dev);
  const Tensor ws_t = prop == Propagation::push ? net.pre_major(false) : Tensor();
  std::unique_ptr<SpmmPlan<T>> plan;
  if (prop == Propagation::cusparse) plan = std::make_unique<SpmmPlan<T>>(net, p, s_a.data<T>(), accP.data<T>());

  FwdArgs<T> fa;
  fa.B = B;
  fa.N = N;
  fa.N_in = d.N_in;
  fa.in_off = d.in_off;
  fa.m = net.m;
  fa.nc = net.nc;
  fa.v = v.data<T>();
  fa.a = a.data<T>();
  fa.row_spikes = reinterpret_cast<unsigned long long*>(row_spikes.data<int64_t>());
  fa.alif = alif;

  const LaneLayout ll = lane_layout(B);
  const std::vector<RoRange> ranges = readout_ranges(cfg);
  const T* ext = x.i_ext.data<T>();
  const T* wro = d.has_readout ? x.w_ro.data<T>() : nullptr;
  T* s_prev = s_a.data<T>();
  T* s_cur = s_b.data<T>();
  const size_t n_lg = net.launch_groups.size();

  for (int64_t t = 0; t < T_; ++t) {
    fa.ext_t = ext + t * B * d.N_in;
    fa.s_prev = s_prev;
    fa.s_out = s_cur;
    fa.su = keep ? out.saved.u.data<T>() + t * BN : nullptr;
    fa.sa = keep && alif ? out.saved.a.data<T>() + t * BN : nullptr;
    fa.out_spikes = cfg.output_spikes ? out.spikes.data<T>() + t * BN : nullptr;
    fa.out_record = cfg.record_spikes ? out.spike_record.data<uint8_t>() + t * BN : nullptr;
    fa.out_v = cfg.record_state ? out.v_record.data<T>() + t * BN : nullptr;
    fa.out_a = cfg.record_state ? out.a_record.data<T>() + t * BN : nullptr;

    if (prop == Propagation::pull) {
      for (const auto& group : net.launch_groups)
        with_nacc(ll.nacc, [&](auto nacc) {
          const int64_t lo = group.first, hi = group.second;
          pull_step_kernel<T, decltype(nacc)::value><<<row_blocks(hi - lo), kThreads, 0, cs>>>(
              fa, net.post_ptr, net.post_split_p, net.pre_idx, net.ws.template data<T>(), lo, hi - lo, ll.bs_log2);
          RSNN_CUDA_CHECK_LAUNCH();
        });
    } else if (prop == Propagation::push) {
      RSNN_CUDA_CHECK(cudaMemsetAsync(accP.raw(), 0, accP.nbytes(), cs));
      if (gs) RSNN_CUDA_CHECK(cudaMemsetAsync(accC.raw(), 0, accC.nbytes(), cs));
      auto push = [&](const T* s, const int64_t* kb, const int64_t* ke, T* acc, int64_t lo, int64_t hi) {
        with_nacc(ll.nacc, [&](auto nacc) {
          push_kernel<T, decltype(nacc)::value><<<row_blocks(hi - lo), kThreads, 0, cs>>>(
              s, B, kb, ke, net.post_idx, ws_t.data<T>(), acc, lo, hi - lo, ll.bs_log2);
          RSNN_CUDA_CHECK_LAUNCH();
        });
      };
      if (N > 0) push(s_prev, net.pre_ptr, net.pre_split_p, accP.data<T>(), 0, N);  // previous-step entries
      for (size_t g = 0; g < n_lg; ++g) {
        const auto [lo, hi] = net.launch_groups[g];
        acc_step_kernel<T><<<elementwise_blocks((hi - lo) * B), kThreads, 0, cs>>>(
            fa, accP.data<T>(), gs ? accC.data<T>() : nullptr, lo, hi - lo);
        RSNN_CUDA_CHECK_LAUNCH();
        if (gs && g + 1 < n_lg)  // this step's spikes of group g reach the later groups
          push(s_cur, net.pre_split_p, net.pre_ptr + 1, accC.data<T>(), lo, hi);
      }
    } else {  // cusparse
      for (size_t g = 0; g < n_lg; ++g) {
        const auto [lo, hi] = net.launch_groups[g];
        plan->run(g);
        acc_step_kernel<T><<<elementwise_blocks((hi - lo) * B), kThreads, 0, cs>>>(
            fa, accP.data<T>(), nullptr, lo, hi - lo);
        RSNN_CUDA_CHECK_LAUNCH();
      }
    }
    if (wro) {
      // y[t] [B, R] = s[t][ro] W_ro^T; column-major: Y^T [R, B] = W_ro[:, cols] S[rows]
      for (size_t r = 0; r < ranges.size(); ++r)
        gemm<T>(CUBLAS_OP_T, CUBLAS_OP_T, R, B, ranges[r].len, T(1), wro + ranges[r].col, d.N_ro,
                s_cur + ranges[r].start * B, B, r == 0 ? T(0) : T(1), out.readout.data<T>() + t * B * R,
                R, cs);
    }
    if (prop != Propagation::cusparse) std::swap(s_prev, s_cur);
  }

  Tensor counts = Tensor::empty({2}, DType::i64, dev);
  spike_stats_kernel<<<1, kThreads, 0, cs>>>(reinterpret_cast<const unsigned long long*>(row_spikes.data<int64_t>()),
                                             net.pre_ptr, N,
                                             reinterpret_cast<unsigned long long*>(counts.data<int64_t>()));
  RSNN_CUDA_CHECK_LAUNCH();
  const Tensor host_counts = to_host(counts, stream);  // the one wait of the forward
  out.stats.spikes = host_counts.data<int64_t>()[0];
  out.stats.synaptic_events = host_counts.data<int64_t>()[1];
  out.stats.push_steps = prop == Propagation::push ? T_ : 0;
  out.stats.pull_steps = T_ - out.stats.push_steps;
  out.stats.threads = 1;
  return out;
}

// ============================== backward =============================================

template <class T>
struct BwdArgs {
  int64_t B = 0, N = 0, N_in = 0, in_off = 0;
  lif::ModelParams<T> m;
  lif::SurrogateParams<T> sg;
  const lif::NeuronConst<T>* nc = nullptr;
  const int64_t* pre_ptr = nullptr;    // pre-major rows
  const int64_t* pre_split = nullptr;  // [pre_ptr, split): previous-step entries; [split, end): same-step
  const int32_t* post_idx = nullptr;
  const T* wg = nullptr;               // [nnz] pre-major sign * w * in_gain(target)
  T* q = nullptr;                      // [nnz] pre-major per-synapse sums, or null
  const T* u_t = nullptr;              // saved u[t] [N, B]
  const T* a_t = nullptr;              // saved a[t] (alif) or null
  const T* u_p = nullptr;              // saved u[t-1], null at t = 0
  const T* a_p = nullptr;              // saved a[t-1] (alif, t > 0) or null
  const T* v0 = nullptr;               // [B, N] initial state, or null (zeros)
  const T* a0 = nullptr;
  const T* s0 = nullptr;
  const T* dv_next = nullptr;          // dL/dv[t+1] [N, B] (zeros at the last step)
  const T* da_next = nullptr;          // dL/da[t+1] (alif)
  T* dv_cur = nullptr;                 // dL/dv[t], written
  T* da_cur = nullptr;                 // dL/da[t] (alif), written
  T* ds_c = nullptr;                   // [N, B] in: own part of dL/ds[t]; out: own part of dL/ds[t-1]
  const T* dsp_t = nullptr;            // dspikes[t] [B, N] or null
  const T* ds_ro = nullptr;            // [N, B] readout error at t, or null
  const T* ext_t = nullptr;            // i_ext[t] [B, N_in]
  T* di_t = nullptr;                   // di_ext[t] [B, N_in] or null
  T* s_f = nullptr;                    // [N, B] spikes at t (for dW_ro), or null
  double* dalpha_v = nullptr;          // [N] sum dv * v[t-1]
  double* dalpha_e = nullptr;          // [N] sum dv * I_ext
  double* drho = nullptr;              // [N]
  bool has_next = false;               // t + 1 < T
  bool alif = false;
};

// Over the pre-major entries [k0, k1) of a source (this lane's share):
//   ds[q] += wg[k] * dv[target, b];   q_k += sum_b dv[target, b] * sj[b]  (when want_q)
// want_q must be warp-uniform: the per-entry sum over the batch lanes is a shuffle, so the
// loop then runs the same number of times in every lane.
template <class T, int NACC>
__device__ __forceinline__ void contract_row(const int32_t* post_idx, const T* wg, T* qsum,
                                             int64_t k0, int64_t k1, const T* dv, int64_t B,
                                             const T (&sj)[NACC], bool want_q, const Lanes& L,
                                             int64_t b_first, T (&ds)[NACC]) {
  if (!want_q) {
    for (int64_t k = k0 + L.lk; k < k1; k += L.ks) {
      const T w = wg[k];
      const T* dvi = dv + static_cast<int64_t>(post_idx[k]) * B;
#pragma unroll
      for (int q = 0; q < NACC; ++q) {
        const int64_t b = b_first + q * L.bs;
        if (b < B) ds[q] += w * dvi[b];
      }
    }
    return;
  }
  for (int64_t kk = k0; kk < k1; kk += L.ks) {
    const int64_t k = kk + L.lk;
    const bool valid = k < k1;
    T part = T(0);
    if (valid) {
      const T w = wg[k];
      const T* dvi = dv + static_cast<int64_t>(post_idx[k]) * B;
#pragma unroll
      for (int q = 0; q < NACC; ++q) {
        const int64_t b = b_first + q * L.bs;
        if (b < B) {
          const T g = dvi[b];
          ds[q] += w * g;
          part += g * sj[q];
        }
      }
    }
    for (int off = 1; off < L.bs; off <<= 1) part += __shfl_xor_sync(kFullMask, part, off);
    if (valid && L.lb == 0) qsum[k] += part;
  }
}

// Reverse step t for sources [row0, row0 + rows) (one launch group), one warp per source.
template <class T, int NACC>
__global__ void __launch_bounds__(kThreads)
    bwd_step_kernel(const BwdArgs<T> a, int64_t row0, int64_t rows, int bs_log2) {
  const int64_t w = warp_row();
  if (w >= rows) return;
  const Lanes L(bs_log2);
  const int64_t j = row0 + w, B = a.B, N = a.N;
  const int64_t kA0 = a.pre_ptr[j], split = a.pre_split[j], kB1 = a.pre_ptr[j + 1];
  const lif::NeuronConst<T> c = a.nc[j];
  const bool driven = j >= a.in_off && j < a.in_off + a.N_in;
  double dal_v = 0.0, dal_e = 0.0, drh = 0.0;
  for (int64_t b0 = 0; b0 < B; b0 += int64_t(L.bs) * NACC) {
    T sj[NACC], ds[NACC];
    bool any = false;
#pragma unroll
    for (int q = 0; q < NACC; ++q) {
      const int64_t b = b0 + L.lb + q * L.bs;
      sj[q] = b < B ? lif::spike_of(a.u_t[j * B + b]) : T(0);
      any = any || sj[q] != T(0);
      ds[q] = T(0);
    }
    const bool want_q = a.q != nullptr && __any_sync(kFullMask, any);
    if (a.has_next)  // targets that see s_j[t] at step t + 1
      contract_row<T, NACC>(a.post_idx, a.wg, a.q, kA0, split, a.dv_next, B, sj, want_q, L, b0 + L.lb, ds);
    // targets in later groups that saw s_j[t] at step t (already reversed this step)
    contract_row<T, NACC>(a.post_idx, a.wg, a.q, split, kB1, a.dv_cur, B, sj, want_q, L, b0 + L.lb, ds);
    sum_synapse_lanes<T, NACC>(ds, L.bs);
    if (L.lk == 0) {
#pragma unroll
      for (int q = 0; q < NACC; ++q) {
        const int64_t b = b0 + L.lb + q * L.bs;
        if (b >= B) continue;
        const int64_t at = j * B + b;
        T dsj = ds[q] + a.ds_c[at];
        if (a.dsp_t) dsj += a.dsp_t[b * N + j];
        if (a.ds_ro) dsj += a.ds_ro[at];
        T s_prev, a_prev, v_prev;
        if (a.u_p) {
          s_prev = lif::spike_of(a.u_p[at]);
          a_prev = a.a_p ? a.a_p[at] : T(0);
          v_prev = a.u_p[at] + lif::threshold(a.m, c, a_prev);
        } else {
          s_prev = a.s0 ? a.s0[b * N + j] : T(0);
          a_prev = a.a0 ? a.a0[b * N + j] : T(0);
          v_prev = a.v0 ? a.v0[b * N + j] : T(0);
        }
        const lif::StepGrad<T> g = lif::neuron_step_backward(
            a.m, c, a.sg, dsj, c.decay * a.dv_next[at], a.alif ? c.rho * a.da_next[at] : T(0),
            a.u_t[at], a.a_t ? a.a_t[at] : T(0), s_prev, a_prev);
        a.dv_cur[at] = g.dv;
        if (a.alif) a.da_cur[at] = g.da;
        a.ds_c[at] = g.ds_prev;
        dal_v += static_cast<double>(g.dv) * static_cast<double>(v_prev);
        drh += static_cast<double>(g.drho);
        if (driven) {
          const int64_t e_at = b * a.N_in + (j - a.in_off);
          dal_e += static_cast<double>(g.dv) * static_cast<double>(a.ext_t[e_at]);
          if (a.di_t) a.di_t[e_at] = c.in_gain * g.dv;
        }
        if (a.s_f) a.s_f[at] = sj[q];
      }
    }
  }
  dal_v = warp_sum(dal_v);
  dal_e = warp_sum(dal_e);
  drh = warp_sum(drh);
  if (L.lane == 0) {
    a.dalpha_v[j] += dal_v;
    a.dalpha_e[j] += dal_e;
    a.drho[j] += drh;
  }
}

// After the loop: the initial spikes s0 feed I[0] through the previous-step entries.
// ds0 [B, N] (or null) = own part (ds_c) + sum wg * dv[0];  q_k += sum_b dv[0][i, b] s0[j, b].
template <class T, int NACC>
__global__ void __launch_bounds__(kThreads)
    bwd_initial_kernel(const BwdArgs<T> a, const T* dv0, T* ds0, int bs_log2) {
  const int64_t j = warp_row();
  if (j >= a.N) return;
  const Lanes L(bs_log2);
  const int64_t B = a.B, N = a.N;
  for (int64_t b0 = 0; b0 < B; b0 += int64_t(L.bs) * NACC) {
    T sj[NACC], ds[NACC];
    bool any = false;
#pragma unroll
    for (int q = 0; q < NACC; ++q) {
      const int64_t b = b0 + L.lb + q * L.bs;
      sj[q] = b < B && a.s0 ? a.s0[b * N + j] : T(0);
      any = any || sj[q] != T(0);
      ds[q] = T(0);
    }
    const bool want_q = a.q != nullptr && __any_sync(kFullMask, any);
    contract_row<T, NACC>(a.post_idx, a.wg, a.q, a.pre_ptr[j], a.pre_split[j], dv0, B, sj, want_q, L,
                          b0 + L.lb, ds);
    sum_synapse_lanes<T, NACC>(ds, L.bs);
    if (L.lk == 0 && ds0) {
#pragma unroll
      for (int q = 0; q < NACC; ++q) {
        const int64_t b = b0 + L.lb + q * L.bs;
        if (b < B) ds0[b * N + j] = ds[q] + a.ds_c[j * B + b];
      }
    }
  }
}

// q pre-major -> post-major (a permutation)
template <class T>
__global__ void scatter_q_kernel(int64_t nnz, const int64_t* syn_of_pre, const T* q_t, T* q) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < nnz;
       k += int64_t(gridDim.x) * blockDim.x)
    q[syn_of_pre[k]] = q_t[k];
}

// Per target row i (one warp): dw[k] = sign * in_gain_i * q[k]; rec[i] = sum_k ws[k] q[k]
// (dL/dalpha's recurrent part without the current).
template <class T>
__global__ void __launch_bounds__(kThreads)
    weight_grad_kernel(int64_t N, const int64_t* post_ptr, const int32_t* pre_idx, const float* sign,
                       const T* ws, const T* q, const lif::NeuronConst<T>* nc, T* dw, double* rec) {
  const int64_t i = warp_row();
  if (i >= N) return;
  const int lane = static_cast<int>(threadIdx.x) & (kWarp - 1);
  const T gain = nc[i].in_gain;
  double r = 0.0;
  for (int64_t k = post_ptr[i] + lane; k < post_ptr[i + 1]; k += kWarp) {
    const T qk = q[k];
    if (dw) dw[k] = static_cast<T>(sign[pre_idx[k]]) * gain * qk;
    r += static_cast<double>(ws[k]) * static_cast<double>(qk);
  }
  r = warp_sum(r);
  if (lane == 0 && rec) rec[i] = r;
}

template <class T>
__global__ void tau_grad_kernel(int64_t N, lif::ModelParams<T> m, const lif::NeuronConst<T>* nc,
                                const T* tau_m, const T* tau_adp, const double* dalpha_v,
                                const double* dalpha_e, const double* rec, const double* drho,
                                T* dtau_m, T* dtau_adp) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < N;
       i += int64_t(gridDim.x) * blockDim.x) {
    if (dtau_m) {
      if (rec) {  // lif, alif
        const double r_m = static_cast<double>(m.r_m);
        const T dalpha = static_cast<T>(dalpha_v[i] - r_m * dalpha_e[i] - r_m * rec[i]);
        dtau_m[i] = lif::dtau_from_dfactor(dalpha, nc[i].decay, tau_m[i], m.dt);
      } else {
        dtau_m[i] = T(0);
      }
    }
    if (dtau_adp)
      dtau_adp[i] = tau_adp ? lif::dtau_from_dfactor(static_cast<T>(drho[i]), nc[i].rho, tau_adp[i], m.dt)
                            : T(0);
  }
}

void check_on(const Tensor& t, Device dev, const char* what) {
  RSNN_CHECK(t.device() == dev, "recurrent_lif_backward: ", what, " is on ", t.device().str(),
             " but the projection is on ", dev.str());
}

template <class T>
LifGrads backward_impl(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                       const LifSaved& saved, const Tensor& dspikes, const Tensor& dreadout,
                       const LifNeeds& needs, Stream stream) {
  const Net<T> net(p, cfg, x, stream);
  const Dims& d = net.d;
  const int64_t T_ = d.T, B = d.B, N = d.N, BN = d.B * d.N, R = d.R;
  const DType dt = dtype_of<T>();
  const Device dev = net.dev;
  const cudaStream_t cs = net.cs;
  const bool alif = cfg.model == NeuronModel::alif;
  RSNN_CHECK(saved.u.defined(), "recurrent_lif_backward: nothing was saved (run the forward with keep_for_backward)");
  check_on(saved.u, dev, "saved u");
  check_shape(saved.u, {T_, N, B}, "recurrent_lif_backward: saved u");
  check_dtype(saved.u, dt, "recurrent_lif_backward: saved u");
  if (alif) {
    RSNN_CHECK(saved.a.defined(), "recurrent_lif_backward: the adaptation trace was not saved");
    check_on(saved.a, dev, "saved a");
    check_shape(saved.a, {T_, N, B}, "recurrent_lif_backward: saved a");
    check_dtype(saved.a, dt, "recurrent_lif_backward: saved a");
  }
  if (dspikes.defined()) {
    check_on(dspikes, dev, "dspikes");
    check_shape(dspikes, {T_, B, N}, "recurrent_lif_backward: dspikes");
    check_dtype(dspikes, dt, "recurrent_lif_backward: dspikes");
  }
  if (dreadout.defined()) {
    RSNN_CHECK(d.has_readout, "recurrent_lif_backward: a readout gradient was given but there is no readout");
    check_on(dreadout, dev, "dreadout");
    check_shape(dreadout, {T_, B, R}, "recurrent_lif_backward: dreadout");
    check_dtype(dreadout, dt, "recurrent_lif_backward: dreadout");
  }
  const bool want_tau_m = needs.tau_m && cfg.model != NeuronModel::if_;
  const bool want_q = needs.w || want_tau_m;
  const bool want_dwro = needs.w_ro && d.has_readout;
  const T* dy = ptr_or_null<T>(dreadout);

  const Tensor wg = net.pre_major(true);
  Tensor q_t = want_q ? device_zeros({d.nnz}, dt, dev, stream) : Tensor();
  Tensor dv_a = device_zeros({N, B}, dt, dev, stream), dv_b = device_zeros({N, B}, dt, dev, stream);
  Tensor da_a, da_b;
  if (alif) {
    da_a = device_zeros({N, B}, dt, dev, stream);
    da_b = device_zeros({N, B}, dt, dev, stream);
  }
  Tensor ds_c = device_zeros({N, B}, dt, dev, stream);
  Tensor sums = device_zeros({4, N}, DType::f64, dev, stream);  // dalpha_v, dalpha_e, drho, rec
  Tensor ds_ro = dy ? device_zeros({N, B}, dt, dev, stream) : Tensor();
  Tensor s_f = dy && want_dwro ? Tensor::empty({N, B}, dt, dev) : Tensor();

  LifGrads gr;
  if (needs.i_ext) gr.di_ext = device_zeros(x.i_ext.shape(), dt, dev, stream);
  if (want_dwro) gr.dw_ro = device_zeros({R, d.N_ro}, dt, dev, stream);

  BwdArgs<T> ba;
  ba.B = B;
  ba.N = N;
  ba.N_in = d.N_in;
  ba.in_off = d.in_off;
  ba.m = net.m;
  ba.sg = net.sg;
  ba.nc = net.nc;
  ba.pre_ptr = net.pre_ptr;
  ba.pre_split = net.pre_split_p;
  ba.post_idx = net.post_idx;
  ba.wg = wg.data<T>();
  ba.q = want_q ? q_t.data<T>() : nullptr;
  ba.v0 = ptr_or_null<T>(x.v0);
  ba.a0 = ptr_or_null<T>(x.a0);
  ba.s0 = ptr_or_null<T>(x.s0);
  ba.ds_c = ds_c.data<T>();
  ba.ds_ro = dy ? ds_ro.data<T>() : nullptr;
  ba.s_f = s_f.defined() ? s_f.data<T>() : nullptr;
  double* sums_p = sums.data<double>();
  ba.dalpha_v = sums_p;
  ba.dalpha_e = sums_p + N;
  ba.drho = sums_p + 2 * N;
  ba.alif = alif;

  const LaneLayout ll = lane_layout(B);
  const std::vector<RoRange> ranges = readout_ranges(cfg);
  const T* wro = d.has_readout ? x.w_ro.data<T>() : nullptr;
  const T* su = saved.u.data<T>();
  const T* sa = alif ? saved.a.data<T>() : nullptr;
  const T* dsp = ptr_or_null<T>(dspikes);
  const T* ext = x.i_ext.data<T>();
  T *dv_cur = dv_a.data<T>(), *dv_next = dv_b.data<T>();
  T *da_cur = alif ? da_a.data<T>() : nullptr, *da_next = alif ? da_b.data<T>() : nullptr;

  for (int64_t t = T_ - 1; t >= 0; --t) {
    const T* dy_t = dy ? dy + t * B * R : nullptr;
    if (dy_t) {
      // ds_ro[rows] [len, B] = W_ro[:, cols]^T dy[t]^T; column-major: [B, len] = dy_t W_ro[:, cols]
      for (const RoRange& r : ranges)
        gemm<T>(CUBLAS_OP_T, CUBLAS_OP_T, B, r.len, R, T(1), dy_t, R, wro + r.col, d.N_ro, T(0),
                ds_ro.data<T>() + r.start * B, B, cs);
    }
    ba.u_t = su + t * BN;
    ba.a_t = sa ? sa + t * BN : nullptr;
    ba.u_p = t > 0 ? su + (t - 1) * BN : nullptr;
    ba.a_p = sa && t > 0 ? sa + (t - 1) * BN : nullptr;
    ba.dv_next = dv_next;
    ba.da_next = da_next;
    ba.dv_cur = dv_cur;
    ba.da_cur = da_cur;
    ba.dsp_t = dsp ? dsp + t * BN : nullptr;
    ba.ext_t = ext + t * B * d.N_in;
    ba.di_t = needs.i_ext ? gr.di_ext.data<T>() + t * B * d.N_in : nullptr;
    ba.has_next = t + 1 < T_;
    for (auto it = net.launch_groups.rbegin(); it != net.launch_groups.rend(); ++it) {
      const int64_t lo = it->first, hi = it->second;
      with_nacc(ll.nacc, [&](auto nacc) {
        bwd_step_kernel<T, decltype(nacc)::value><<<row_blocks(hi - lo), kThreads, 0, cs>>>(ba, lo, hi - lo, ll.bs_log2);
        RSNN_CUDA_CHECK_LAUNCH();
      });
    }
    if (dy_t && s_f.defined()) {
      // dW_ro[:, cols] += dy[t]^T s[t][rows]^T; column-major: [len, R] += S[rows] dy_t
      for (const RoRange& r : ranges)
        gemm<T>(CUBLAS_OP_T, CUBLAS_OP_T, r.len, R, B, T(1), s_f.data<T>() + r.start * B, B, dy_t, R,
                T(1), gr.dw_ro.data<T>() + r.col, d.N_ro, cs);
    }
    std::swap(dv_cur, dv_next);
    std::swap(da_cur, da_next);
  }
  // now dv_next = dL/dv[0], da_next = dL/da[0], ds_c = own part of dL/ds0
  if (needs.s0 || (want_q && x.s0.defined())) {
    if (needs.s0) gr.ds0 = Tensor::empty({B, N}, dt, dev);
    with_nacc(ll.nacc, [&](auto nacc) {
      bwd_initial_kernel<T, decltype(nacc)::value><<<row_blocks(N), kThreads, 0, cs>>>(
          ba, dv_next, needs.s0 ? gr.ds0.data<T>() : nullptr, ll.bs_log2);
      RSNN_CUDA_CHECK_LAUNCH();
    });
  }
  if (needs.v0) gr.dv0 = batch_major<T>(dv_next, net.nc, Factor::decay, B, N, dev, cs);
  if (needs.a0)
    gr.da0 = alif ? batch_major<T>(da_next, net.nc, Factor::rho, B, N, dev, cs)
                  : device_zeros({B, N}, dt, dev, stream);

  if (want_q) {
    Tensor q = Tensor::empty({d.nnz}, dt, dev);
    if (d.nnz > 0) {
      scatter_q_kernel<T><<<elementwise_blocks(d.nnz), kThreads, 0, cs>>>(d.nnz, net.syn_of_pre,
                                                                          q_t.data<T>(), q.data<T>());
      RSNN_CUDA_CHECK_LAUNCH();
    }
    if (needs.w) gr.dw = Tensor::empty({d.nnz}, dt, dev);
    weight_grad_kernel<T><<<row_blocks(N), kThreads, 0, cs>>>(
        N, net.post_ptr, net.pre_idx, net.sign, net.ws.template data<T>(), q.data<T>(), net.nc,
        needs.w ? gr.dw.data<T>() : nullptr, want_tau_m ? sums_p + 3 * N : nullptr);
    RSNN_CUDA_CHECK_LAUNCH();
  }
  if (needs.tau_m) gr.dtau_m = Tensor::empty({N}, dt, dev);
  if (needs.tau_adp) gr.dtau_adp = Tensor::empty({N}, dt, dev);
  if (needs.tau_m || needs.tau_adp) {
    tau_grad_kernel<T><<<elementwise_blocks(N), kThreads, 0, cs>>>(
        N, net.m, net.nc, x.tau_m.data<T>(), alif ? x.tau_adp.data<T>() : nullptr, sums_p, sums_p + N,
        want_tau_m ? sums_p + 3 * N : nullptr, sums_p + 2 * N,
        needs.tau_m ? gr.dtau_m.data<T>() : nullptr, needs.tau_adp ? gr.dtau_adp.data<T>() : nullptr);
    RSNN_CUDA_CHECK_LAUNCH();
  }
  // The scratch above returns to the pool when this function returns. On the legacy default
  // stream every later use is ordered after these kernels; on another stream, wait first.
  if (stream.handle) RSNN_CUDA_CHECK(cudaStreamSynchronize(cs));
  return gr;
}

void check_cuda_projection(const Projection& p, const char* what) {
  RSNN_CHECK(p.post_ptr.defined() && p.device().is_cuda(), what,
             " (CUDA): the projection must be on a CUDA device, it is on ", p.device().str());
}

}  // namespace

LifForward recurrent_lif_forward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                 bool keep_for_backward, Stream stream) {
  check_cuda_projection(p, "recurrent_lif_forward");
  RSNN_CHECK(x.w.defined(), "recurrent_lif_forward: the synaptic weights w are required");
  const DeviceGuard guard(p.device().index);
  return dispatch_float(x.w.dtype(), "recurrent_lif_forward", [&](auto tag) {
    return forward_impl<decltype(tag)>(p, cfg, x, keep_for_backward, stream);
  });
}

LifGrads recurrent_lif_backward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                const LifSaved& saved, const Tensor& dspikes,
                                const Tensor& dreadout, const LifNeeds& needs, Stream stream) {
  check_cuda_projection(p, "recurrent_lif_backward");
  RSNN_CHECK(x.w.defined(), "recurrent_lif_backward: the synaptic weights w are required");
  const DeviceGuard guard(p.device().index);
  return dispatch_float(x.w.dtype(), "recurrent_lif_backward", [&](auto tag) {
    return backward_impl<decltype(tag)>(p, cfg, x, saved, dspikes, dreadout, needs, stream);
  });
}

}  // namespace rsnn::kernels::cuda
