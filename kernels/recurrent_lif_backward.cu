// CUDA recurrent LIF layer, backward (contract in recurrent_lif.h; the CPU twin is
// recurrent_lif_cpu_backward.cpp; the per-element math is lif_math.h; the forward and the
// layout are described in recurrent_lif.cu).
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
#include <vector>

#include "kernels/recurrent_lif_cuda.h"
#include "kernels/recurrent_lif_cuda_detail.cuh"

namespace rsnn::kernels::cuda {
namespace {

using namespace cuda_lif;
using lif_detail::Dims;

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

// One backward call, in named phases: the scratch and the kernels' arguments, the reverse
// time loop (per step the readout error, the groups' reverse steps in reverse order and the
// readout weight gradient), then the initial-state, weight and time-constant gradients.
template <class T>
class CudaBackward {
 public:
  CudaBackward(const Projection& p, const LifConfig& cfg, const LifInputs& x, const LifSaved& saved,
               const Tensor& dspikes, const Tensor& dreadout, const LifNeeds& needs, Stream stream)
      : x_(x), saved_(saved), needs_(needs), stream_(stream), net_(p, cfg, x, stream), d_(net_.d),
        dev_(net_.dev), cs_(net_.cs), alif_(cfg.model == NeuronModel::alif),
        want_tau_m_(needs.tau_m && cfg.model != NeuronModel::if_), want_q_(needs.w || want_tau_m_),
        want_dwro_(needs.w_ro && net_.d.has_readout), ll_(lane_layout(net_.d.B)), ranges_(readout_ranges(cfg)) {
    lif_detail::check_backward_inputs(d_, cfg, dtype_of<T>(), dev_, saved, dspikes, dreadout);
    dy_ = ptr_or_null<T>(dreadout);
    dsp_ = ptr_or_null<T>(dspikes);
  }

  LifGrads run() {
    allocate();
    set_args();
    T *dv_cur = dv_a_.data<T>(), *dv_next = dv_b_.data<T>();
    T *da_cur = alif_ ? da_a_.data<T>() : nullptr, *da_next = alif_ ? da_b_.data<T>() : nullptr;
    for (int64_t t = d_.T - 1; t >= 0; --t) {
      step(t, dv_cur, dv_next, da_cur, da_next);
      std::swap(dv_cur, dv_next);
      std::swap(da_cur, da_next);
    }
    // now dv_next = dL/dv[0], da_next = dL/da[0], ds_c = own part of dL/ds0
    initial_state_grads(dv_next, da_next);
    if (want_q_) weight_grads();
    time_constant_grads();
    // The scratch returns to the pool when this object goes. On the legacy default stream every
    // later use is ordered after these kernels; on another stream, wait first.
    if (stream_.handle) RSNN_CUDA_CHECK(cudaStreamSynchronize(cs_));
    return std::move(gr_);
  }

 private:
  void allocate() {
    const int64_t B = d_.B, N = d_.N;
    const DType dt = dtype_of<T>();
    wg_ = net_.pre_major(true);
    if (want_q_) q_t_ = device_zeros({d_.nnz}, dt, dev_, stream_);
    dv_a_ = device_zeros({N, B}, dt, dev_, stream_), dv_b_ = device_zeros({N, B}, dt, dev_, stream_);
    if (alif_) {
      da_a_ = device_zeros({N, B}, dt, dev_, stream_);
      da_b_ = device_zeros({N, B}, dt, dev_, stream_);
    }
    ds_c_ = device_zeros({N, B}, dt, dev_, stream_);
    sums_ = device_zeros({4, N}, DType::f64, dev_, stream_);  // dalpha_v, dalpha_e, drho, rec
    if (dy_) ds_ro_ = device_zeros({N, B}, dt, dev_, stream_);
    if (dy_ && want_dwro_) s_f_ = Tensor::empty({N, B}, dt, dev_);
    if (needs_.i_ext) gr_.di_ext = device_zeros(x_.i_ext.shape(), dt, dev_, stream_);
    if (want_dwro_) gr_.dw_ro = device_zeros({d_.R, d_.N_ro}, dt, dev_, stream_);
  }

  void set_args() {
    ba_.B = d_.B;
    ba_.N = d_.N;
    ba_.N_in = d_.N_in;
    ba_.in_off = d_.in_off;
    ba_.m = net_.m;
    ba_.sg = net_.sg;
    ba_.nc = net_.nc;
    ba_.pre_ptr = net_.pre_ptr;
    ba_.pre_split = net_.pre_split_p;
    ba_.post_idx = net_.post_idx;
    ba_.wg = wg_.data<T>();
    ba_.q = want_q_ ? q_t_.data<T>() : nullptr;
    ba_.v0 = ptr_or_null<T>(x_.v0);
    ba_.a0 = ptr_or_null<T>(x_.a0);
    ba_.s0 = ptr_or_null<T>(x_.s0);
    ba_.ds_c = ds_c_.data<T>();
    ba_.ds_ro = dy_ ? ds_ro_.data<T>() : nullptr;
    ba_.s_f = s_f_.defined() ? s_f_.data<T>() : nullptr;
    double* sums_p = sums_.data<double>();
    ba_.dalpha_v = sums_p;
    ba_.dalpha_e = sums_p + d_.N;
    ba_.drho = sums_p + 2 * d_.N;
    ba_.alif = alif_;
  }

  void step(int64_t t, T* dv_cur, T* dv_next, T* da_cur, T* da_next) {
    const int64_t B = d_.B, R = d_.R, BN = d_.B * d_.N;
    const T* wro = d_.has_readout ? x_.w_ro.data<T>() : nullptr;
    const T* su = saved_.u.data<T>();
    const T* sa = alif_ ? saved_.a.data<T>() : nullptr;
    const T* dy_t = dy_ ? dy_ + t * B * R : nullptr;
    if (dy_t) {
      // ds_ro[rows] [len, B] = W_ro[:, cols]^T dy[t]^T; column-major: [B, len] = dy_t W_ro[:, cols]
      for (const RoRange& r : ranges_)
        gemm<T>(CUBLAS_OP_T, CUBLAS_OP_T, B, r.len, R, T(1), dy_t, R, wro + r.col, d_.N_ro, T(0),
                ds_ro_.data<T>() + r.start * B, B, cs_);
    }
    ba_.u_t = su + t * BN;
    ba_.a_t = sa ? sa + t * BN : nullptr;
    ba_.u_p = t > 0 ? su + (t - 1) * BN : nullptr;
    ba_.a_p = sa && t > 0 ? sa + (t - 1) * BN : nullptr;
    ba_.dv_next = dv_next;
    ba_.da_next = da_next;
    ba_.dv_cur = dv_cur;
    ba_.da_cur = da_cur;
    ba_.dsp_t = dsp_ ? dsp_ + t * BN : nullptr;
    ba_.ext_t = x_.i_ext.data<T>() + t * B * d_.N_in;
    ba_.di_t = needs_.i_ext ? gr_.di_ext.data<T>() + t * B * d_.N_in : nullptr;
    ba_.has_next = t + 1 < d_.T;
    for (auto it = net_.launch_groups.rbegin(); it != net_.launch_groups.rend(); ++it) {
      const int64_t lo = it->first, hi = it->second;
      with_nacc(ll_.nacc, [&](auto nacc) {
        bwd_step_kernel<T, decltype(nacc)::value><<<row_blocks(hi - lo), kThreads, 0, cs_>>>(ba_, lo, hi - lo,
                                                                                            ll_.bs_log2);
        RSNN_CUDA_CHECK_LAUNCH();
      });
    }
    if (dy_t && s_f_.defined()) {
      // dW_ro[:, cols] += dy[t]^T s[t][rows]^T; column-major: [len, R] += S[rows] dy_t
      for (const RoRange& r : ranges_)
        gemm<T>(CUBLAS_OP_T, CUBLAS_OP_T, r.len, R, B, T(1), s_f_.data<T>() + r.start * B, B, dy_t, R, T(1),
                gr_.dw_ro.data<T>() + r.col, d_.N_ro, cs_);
    }
  }

  void initial_state_grads(T* dv0, T* da0) {
    const int64_t B = d_.B, N = d_.N;
    const DType dt = dtype_of<T>();
    if (needs_.s0 || (want_q_ && x_.s0.defined())) {
      if (needs_.s0) gr_.ds0 = Tensor::empty({B, N}, dt, dev_);
      with_nacc(ll_.nacc, [&](auto nacc) {
        bwd_initial_kernel<T, decltype(nacc)::value><<<row_blocks(N), kThreads, 0, cs_>>>(
            ba_, dv0, needs_.s0 ? gr_.ds0.data<T>() : nullptr, ll_.bs_log2);
        RSNN_CUDA_CHECK_LAUNCH();
      });
    }
    if (needs_.v0) gr_.dv0 = batch_major<T>(dv0, net_.nc, Factor::decay, B, N, dev_, cs_);
    if (needs_.a0)
      gr_.da0 = alif_ ? batch_major<T>(da0, net_.nc, Factor::rho, B, N, dev_, cs_)
                      : device_zeros({B, N}, dt, dev_, stream_);
  }

  void weight_grads() {
    const DType dt = dtype_of<T>();
    Tensor q = Tensor::empty({d_.nnz}, dt, dev_);
    if (d_.nnz > 0) {
      scatter_q_kernel<T><<<elementwise_blocks(d_.nnz), kThreads, 0, cs_>>>(d_.nnz, net_.syn_of_pre,
                                                                            q_t_.data<T>(), q.data<T>());
      RSNN_CUDA_CHECK_LAUNCH();
    }
    if (needs_.w) gr_.dw = Tensor::empty({d_.nnz}, dt, dev_);
    weight_grad_kernel<T><<<row_blocks(d_.N), kThreads, 0, cs_>>>(
        d_.N, net_.post_ptr, net_.pre_idx, net_.sign, net_.ws.template data<T>(), q.data<T>(), net_.nc,
        needs_.w ? gr_.dw.data<T>() : nullptr, want_tau_m_ ? sums_.data<double>() + 3 * d_.N : nullptr);
    RSNN_CUDA_CHECK_LAUNCH();
  }

  void time_constant_grads() {
    const int64_t N = d_.N;
    const DType dt = dtype_of<T>();
    double* sums_p = sums_.data<double>();
    if (needs_.tau_m) gr_.dtau_m = Tensor::empty({N}, dt, dev_);
    if (needs_.tau_adp) gr_.dtau_adp = Tensor::empty({N}, dt, dev_);
    if (!needs_.tau_m && !needs_.tau_adp) return;
    tau_grad_kernel<T><<<elementwise_blocks(N), kThreads, 0, cs_>>>(
        N, net_.m, net_.nc, x_.tau_m.data<T>(), alif_ ? x_.tau_adp.data<T>() : nullptr, sums_p, sums_p + N,
        want_tau_m_ ? sums_p + 3 * N : nullptr, sums_p + 2 * N, needs_.tau_m ? gr_.dtau_m.data<T>() : nullptr,
        needs_.tau_adp ? gr_.dtau_adp.data<T>() : nullptr);
    RSNN_CUDA_CHECK_LAUNCH();
  }

  const LifInputs& x_;
  const LifSaved& saved_;
  const LifNeeds& needs_;
  const Stream stream_;
  const Net<T> net_;
  const Dims& d_;
  const Device dev_;
  const cudaStream_t cs_;
  const bool alif_, want_tau_m_, want_q_, want_dwro_;
  const LaneLayout ll_;
  const std::vector<RoRange> ranges_;
  const T *dy_ = nullptr, *dsp_ = nullptr;
  Tensor wg_, q_t_, dv_a_, dv_b_, da_a_, da_b_, ds_c_, sums_, ds_ro_, s_f_;
  LifGrads gr_;
  BwdArgs<T> ba_;
};

template <class T>
LifGrads backward_impl(const Projection& p, const LifConfig& cfg, const LifInputs& x, const LifSaved& saved,
                       const Tensor& dspikes, const Tensor& dreadout, const LifNeeds& needs, Stream stream) {
  return CudaBackward<T>(p, cfg, x, saved, dspikes, dreadout, needs, stream).run();
}

}  // namespace

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
