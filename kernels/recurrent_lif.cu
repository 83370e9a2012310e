// CUDA recurrent LIF layer, forward (contract in recurrent_lif.h; the CPU twin, whose
// structure this follows, is recurrent_lif_cpu_forward.cpp; the per-element math is lif_math.h; the
// backward is recurrent_lif_backward.cu).
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
#include <algorithm>
#include <memory>
#include <vector>

#include "kernels/recurrent_lif_cuda.h"
#include "kernels/recurrent_lif_cuda_detail.cuh"

namespace rsnn::kernels::cuda {
namespace {

using namespace cuda_lif;
using lif_detail::Dims;

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

// One forward call, in named phases: the outputs and the state allocated, then per step the
// propagation (pull, push or cuSPARSE) with the neuron updates and the readout, then the counts.
template <class T>
class CudaForward {
 public:
  CudaForward(const Projection& p, const LifConfig& cfg, const LifInputs& x, bool keep, Stream stream)
      : p_(p), cfg_(cfg), x_(x), keep_(keep), stream_(stream), net_(p, cfg, x, stream), d_(net_.d),
        cs_(net_.cs), gs_(d_.gauss_seidel && d_.G > 1),
        prop_(cfg.propagation == Propagation::automatic ? Propagation::pull : cfg.propagation),
        ll_(lane_layout(d_.B)), ranges_(readout_ranges(cfg)) {}

  LifForward run() {
    allocate_outputs();
    init_state();
    for (int64_t t = 0; t < d_.T; ++t) {
      set_step(t);
      if (prop_ == Propagation::pull)
        pull_step();
      else if (prop_ == Propagation::push)
        push_step();
      else
        cusparse_step();
      if (d_.has_readout) readout_step(t);
      if (prop_ != Propagation::cusparse) std::swap(s_prev_, s_cur_);
    }
    count_spikes();
    return std::move(out_);
  }

 private:
  void allocate_outputs() {
    const int64_t T_ = d_.T, B = d_.B, N = d_.N;
    const DType dt = dtype_of<T>();
    const Device dev = net_.dev;
    if (cfg_.output_spikes) out_.spikes = Tensor::empty({T_, B, N}, dt, dev);
    if (cfg_.record_spikes) out_.spike_record = Tensor::empty({T_, B, N}, DType::u8, dev);
    if (cfg_.record_state) {
      out_.v_record = Tensor::empty({T_, B, N}, dt, dev);
      out_.a_record = Tensor::empty({T_, B, N}, dt, dev);
    }
    if (d_.has_readout) out_.readout = Tensor::empty({T_, B, d_.R}, dt, dev);
    if (keep_) {
      out_.saved.u = Tensor::empty({T_, N, B}, dt, dev);
      if (cfg_.model == NeuronModel::alif) out_.saved.a = Tensor::empty({T_, N, B}, dt, dev);
    }
  }

  // State, neuron-major [N, B]; the cuSPARSE path keeps one spike buffer (updated in place).
  void init_state() {
    const int64_t B = d_.B, N = d_.N;
    const DType dt = dtype_of<T>();
    const Device dev = net_.dev;
    v_ = Tensor::empty({N, B}, dt, dev), a_ = Tensor::empty({N, B}, dt, dev);
    s_a_ = Tensor::empty({N, B}, dt, dev);
    s_b_ = prop_ == Propagation::cusparse ? s_a_ : Tensor::empty({N, B}, dt, dev);
    launch_to_neuron_major<T>(x_.v0, v_.data<T>(), B, N, cs_);
    launch_to_neuron_major<T>(x_.a0, a_.data<T>(), B, N, cs_);
    launch_to_neuron_major<T>(x_.s0, s_a_.data<T>(), B, N, cs_);
    row_spikes_ = device_zeros({N}, DType::i64, dev, stream_);
    if (prop_ != Propagation::pull) accP_ = Tensor::empty({N, B}, dt, dev);
    if (prop_ == Propagation::push && gs_) accC_ = Tensor::empty({N, B}, dt, dev);
    if (prop_ == Propagation::push) ws_t_ = net_.pre_major(false);
    if (prop_ == Propagation::cusparse) plan_ = std::make_unique<SpmmPlan<T>>(net_, p_, s_a_.data<T>(), accP_.data<T>());
    fa_.B = B;
    fa_.N = N;
    fa_.N_in = d_.N_in;
    fa_.in_off = d_.in_off;
    fa_.m = net_.m;
    fa_.nc = net_.nc;
    fa_.v = v_.data<T>();
    fa_.a = a_.data<T>();
    fa_.row_spikes = reinterpret_cast<unsigned long long*>(row_spikes_.data<int64_t>());
    fa_.alif = cfg_.model == NeuronModel::alif;
    s_prev_ = s_a_.data<T>();
    s_cur_ = s_b_.data<T>();
  }

  // The kernels' arguments of step t: the step's slices of the inputs, state and outputs.
  void set_step(int64_t t) {
    const int64_t BN = d_.B * d_.N;
    fa_.ext_t = x_.i_ext.data<T>() + t * d_.B * d_.N_in;
    fa_.s_prev = s_prev_;
    fa_.s_out = s_cur_;
    fa_.su = keep_ ? out_.saved.u.data<T>() + t * BN : nullptr;
    fa_.sa = keep_ && fa_.alif ? out_.saved.a.data<T>() + t * BN : nullptr;
    fa_.out_spikes = cfg_.output_spikes ? out_.spikes.data<T>() + t * BN : nullptr;
    fa_.out_record = cfg_.record_spikes ? out_.spike_record.data<uint8_t>() + t * BN : nullptr;
    fa_.out_v = cfg_.record_state ? out_.v_record.data<T>() + t * BN : nullptr;
    fa_.out_a = cfg_.record_state ? out_.a_record.data<T>() + t * BN : nullptr;
  }

  void pull_step() {
    for (const auto& group : net_.launch_groups)
      with_nacc(ll_.nacc, [&](auto nacc) {
        const int64_t lo = group.first, hi = group.second;
        pull_step_kernel<T, decltype(nacc)::value><<<row_blocks(hi - lo), kThreads, 0, cs_>>>(
            fa_, net_.post_ptr, net_.post_split_p, net_.pre_idx, net_.ws.template data<T>(), lo, hi - lo,
            ll_.bs_log2);
        RSNN_CUDA_CHECK_LAUNCH();
      });
  }

  // Entries [kb[j], ke[j]) of the pre-major rows j in [lo, hi) that fired in s, into acc.
  void push(const T* s, const int64_t* kb, const int64_t* ke, T* acc, int64_t lo, int64_t hi) {
    with_nacc(ll_.nacc, [&](auto nacc) {
      push_kernel<T, decltype(nacc)::value><<<row_blocks(hi - lo), kThreads, 0, cs_>>>(
          s, d_.B, kb, ke, net_.post_idx, ws_t_.data<T>(), acc, lo, hi - lo, ll_.bs_log2);
      RSNN_CUDA_CHECK_LAUNCH();
    });
  }

  void push_step() {
    const size_t n_lg = net_.launch_groups.size();
    RSNN_CUDA_CHECK(cudaMemsetAsync(accP_.raw(), 0, accP_.nbytes(), cs_));
    if (gs_) RSNN_CUDA_CHECK(cudaMemsetAsync(accC_.raw(), 0, accC_.nbytes(), cs_));
    if (d_.N > 0) push(s_prev_, net_.pre_ptr, net_.pre_split_p, accP_.data<T>(), 0, d_.N);  // previous-step entries
    for (size_t g = 0; g < n_lg; ++g) {
      const auto [lo, hi] = net_.launch_groups[g];
      acc_step_kernel<T><<<elementwise_blocks((hi - lo) * d_.B), kThreads, 0, cs_>>>(
          fa_, accP_.data<T>(), gs_ ? accC_.data<T>() : nullptr, lo, hi - lo);
      RSNN_CUDA_CHECK_LAUNCH();
      if (gs_ && g + 1 < n_lg)  // this step's spikes of group g reach the later groups
        push(s_cur_, net_.pre_split_p, net_.pre_ptr + 1, accC_.data<T>(), lo, hi);
    }
  }

  void cusparse_step() {
    for (size_t g = 0; g < net_.launch_groups.size(); ++g) {
      const auto [lo, hi] = net_.launch_groups[g];
      plan_->run(g);
      acc_step_kernel<T><<<elementwise_blocks((hi - lo) * d_.B), kThreads, 0, cs_>>>(fa_, accP_.data<T>(), nullptr,
                                                                                    lo, hi - lo);
      RSNN_CUDA_CHECK_LAUNCH();
    }
  }

  // y[t] [B, R] = s[t][ro] W_ro^T; column-major: Y^T [R, B] = W_ro[:, cols] S[rows].
  void readout_step(int64_t t) {
    const int64_t B = d_.B, R = d_.R;
    const T* wro = x_.w_ro.data<T>();
    for (size_t r = 0; r < ranges_.size(); ++r)
      gemm<T>(CUBLAS_OP_T, CUBLAS_OP_T, R, B, ranges_[r].len, T(1), wro + ranges_[r].col, d_.N_ro,
              s_cur_ + ranges_[r].start * B, B, r == 0 ? T(0) : T(1), out_.readout.data<T>() + t * B * R, R, cs_);
  }

  void count_spikes() {
    Tensor counts = Tensor::empty({2}, DType::i64, net_.dev);
    spike_stats_kernel<<<1, kThreads, 0, cs_>>>(
        reinterpret_cast<const unsigned long long*>(row_spikes_.data<int64_t>()), net_.pre_ptr, d_.N,
        reinterpret_cast<unsigned long long*>(counts.data<int64_t>()));
    RSNN_CUDA_CHECK_LAUNCH();
    const Tensor host_counts = to_host(counts, stream_);  // the one wait of the forward
    out_.stats.spikes = host_counts.data<int64_t>()[0];
    out_.stats.synaptic_events = host_counts.data<int64_t>()[1];
    out_.stats.push_steps = prop_ == Propagation::push ? d_.T : 0;
    out_.stats.pull_steps = d_.T - out_.stats.push_steps;
    out_.stats.threads = 1;
  }

  const Projection& p_;
  const LifConfig& cfg_;
  const LifInputs& x_;
  const bool keep_;
  const Stream stream_;
  const Net<T> net_;
  const Dims& d_;
  const cudaStream_t cs_;
  const bool gs_;
  const Propagation prop_;
  const LaneLayout ll_;
  const std::vector<RoRange> ranges_;
  LifForward out_;
  Tensor v_, a_, s_a_, s_b_, row_spikes_, accP_, accC_, ws_t_;
  std::unique_ptr<SpmmPlan<T>> plan_;
  FwdArgs<T> fa_;
  T *s_prev_ = nullptr, *s_cur_ = nullptr;
};

template <class T>
LifForward forward_impl(const Projection& p, const LifConfig& cfg, const LifInputs& x, bool keep, Stream stream) {
  return CudaForward<T>(p, cfg, x, keep, stream).run();
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

}  // namespace rsnn::kernels::cuda
