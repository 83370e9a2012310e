// Optimized CPU recurrent LIF layer (contract in recurrent_lif.h).
//
// Layout: per-step state x[n * B + b] (neuron-major, batch innermost); saved u, a [T, N, B].
// One OpenMP parallel region spans the whole time loop; every phase is an `omp for` over
// neuron rows (the implicit barrier orders the phases). Each output element is written by
// the one thread that owns its row and is summed in a fixed order (below), so results do
// not depend on the thread count or the schedule.
//
// Input current of neuron i at step t: I = I_ext + (P + C), with
//   P = sum over the synapses carrying the previous step's spikes (sources in group(i) or
//       later, or all sources with previous_step), in ascending source order;
//   C = sum over the synapses carrying this step's spikes (sources in earlier groups,
//       gauss_seidel only), in ascending source order.
// Pull gathers P and C over the post-major row (skipping silent sources); push scatters each
// firing source's pre-major row into per-target accumulators (each thread owns a target
// range, so no atomics). Both add the same non-zero terms in the same order, so they give the
// same values and may be mixed step by step (Propagation::automatic).
#include "kernels/recurrent_lif.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/recurrent_lif_cuda.h"
#include "kernels/recurrent_lif_detail.h"

namespace rsnn::kernels {
namespace {

using namespace lif_detail;

template <class T>
inline void axpy(int64_t n, T alpha, const T* __restrict x, T* __restrict y) {
  for (int64_t k = 0; k < n; ++k) y[k] += alpha * x[k];
}

// Adds alpha * x into y for a source vector x with `cnt` non-zero entries listed in `list`:
// sparse when few fire, dense otherwise (adding alpha * 0 leaves a value unchanged, so both
// forms give the same values).
template <class T>
inline void add_source(int64_t B, T alpha, const T* __restrict x, const int32_t* list, int32_t cnt,
                       T* __restrict y) {
  if (static_cast<int64_t>(cnt) * 4 < B) {
    for (int32_t q = 0; q < cnt; ++q) {
      const int32_t b = list[q];
      y[b] += alpha * x[b];
    }
  } else {
    axpy(B, alpha, x, y);
  }
}

// Sum of x[list[q]] * s[list[q]] (the weight-gradient contraction over firing samples).
template <class T>
inline T listed_dot(const T* __restrict x, const T* __restrict s, const int32_t* list, int32_t cnt) {
  T acc = T(0);
  for (int32_t q = 0; q < cnt; ++q) acc += x[list[q]] * s[list[q]];
  return acc;
}

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// Threads for the time loop: one when a step is too small to pay for the barriers (a few
// per step), all otherwise. The results do not depend on it.
int loop_threads(const Dims& d) {
  const int64_t work_per_step = (d.nnz + 4 * d.N) * d.B;
  return work_per_step < (1 << 18) ? 1 : omp_get_max_threads();
}

// Per-call tables shared by forward and backward.
template <class T>
struct Net {
  Dims d;
  lif::ModelParams<T> m;
  lif::SurrogateParams<T> sg;
  std::vector<lif::NeuronConst<T>> nc;
  std::vector<int64_t> post_split, pre_split;
  const int64_t *post_ptr = nullptr, *pre_ptr = nullptr, *syn_of_pre = nullptr;
  const int32_t *pre_idx = nullptr, *post_idx = nullptr;
  const float* sign = nullptr;
  std::vector<T> ws;                // [nnz] sign * w, post-major
  std::vector<int64_t> ro_neuron;   // [N_ro] neuron of each readout column
  std::vector<T> wro_t;             // [N_ro, R] W_ro transposed

  Net(const Projection& p, const LifConfig& cfg, const LifInputs& x) : d(make_dims(p, cfg, x)) {
    m = lif::make_model<T>(cfg.model, cfg.dt, cfg.r_m, cfg.beta);
    sg = lif::make_surrogate<T>(cfg.surrogate, cfg.sg_width, cfg.sg_scale);
    nc = neuron_consts<T>(m, x, d.N);
    row_splits(p, d, post_split, pre_split);
    post_ptr = p.post_ptr.data<int64_t>();
    pre_ptr = p.pre_ptr.data<int64_t>();
    syn_of_pre = p.syn_of_pre.data<int64_t>();
    pre_idx = p.pre_idx.data<int32_t>();
    post_idx = p.post_idx.data<int32_t>();
    sign = p.source_sign.data<float>();
    const T* w = x.w.data<T>();
    ws.resize(static_cast<size_t>(d.nnz));
    for (int64_t k = 0; k < d.nnz; ++k) ws[k] = static_cast<T>(sign[pre_idx[k]]) * w[k];
    if (d.has_readout) {
      ro_neuron.resize(static_cast<size_t>(d.N_ro));
      for (int64_t n = 0; n < d.N; ++n)
        if (d.ro_col[n] >= 0) ro_neuron[d.ro_col[n]] = n;
      const T* wro = x.w_ro.data<T>();
      wro_t.resize(static_cast<size_t>(d.N_ro * d.R));
      for (int64_t r = 0; r < d.R; ++r)
        for (int64_t c = 0; c < d.N_ro; ++c) wro_t[c * d.R + r] = wro[r * d.N_ro + c];
    }
  }

  // Pre-major values: f(sign*w) for each pre-major entry k.
  template <class F>
  std::vector<T> pre_major(F f) const {
    std::vector<T> out(static_cast<size_t>(d.nnz));
    for (int64_t k = 0; k < d.nnz; ++k) out[k] = f(k, ws[syn_of_pre[k]]);
    return out;
  }
};

// [N, B] (row n, sample b) -> row `t` of a [T, B, N] tensor: dst[(t*B + b)*N + n].
template <class S, class D, class F>
void transpose_out(const S* src, D* dst, int64_t B, int64_t N, F conv) {
  constexpr int64_t tile = 32;
#pragma omp for schedule(static)
  for (int64_t n0 = 0; n0 < N; n0 += tile) {
    const int64_t n1 = std::min(N, n0 + tile);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t n = n0; n < n1; ++n) dst[b * N + n] = conv(src[n * B + b]);
  }
}

template <class T>
LifForward forward_impl(const Projection& p, const LifConfig& cfg, const LifInputs& x, bool keep) {
  const Net<T> net(p, cfg, x);
  const Dims& d = net.d;
  const int64_t T_ = d.T, B = d.B, N = d.N, BN = d.B * d.N;
  const DType dt = x.w.dtype();
  const bool gs = d.gauss_seidel && d.G > 1;
  const bool alif = cfg.model == NeuronModel::alif;

  LifForward out;
  if (cfg.output_spikes) out.spikes = Tensor::empty({T_, B, N}, dt);
  if (cfg.record_spikes) out.spike_record = Tensor::empty({T_, B, N}, DType::u8);
  if (cfg.record_state) {
    out.v_record = Tensor::empty({T_, B, N}, dt);
    out.a_record = Tensor::empty({T_, B, N}, dt);
  }
  if (d.has_readout) out.readout = Tensor::zeros({T_, B, d.R}, dt);
  if (keep) {
    out.saved.u = Tensor::empty({T_, N, B}, dt);
    if (alif) out.saved.a = Tensor::empty({T_, N, B}, dt);
  }
  T* su = keep ? out.saved.u.data<T>() : nullptr;
  T* sa = keep && alif ? out.saved.a.data<T>() : nullptr;
  T* y = d.has_readout ? out.readout.data<T>() : nullptr;

  const bool may_push = cfg.propagation != Propagation::pull;
  const std::vector<T> ws_t = may_push ? net.pre_major([](int64_t, T v) { return v; }) : std::vector<T>();

  // state, neuron-major [N, B]
  std::vector<T> v(BN, T(0)), a(BN, T(0)), s_a(BN, T(0)), s_b(BN, T(0));
  std::vector<T> acc_prev(may_push ? BN : 0), acc_cur(may_push && gs ? BN : 0);
  std::vector<int32_t> list_a(BN), list_b(BN), cnt_a(N, 0), cnt_b(N, 0);
  {
    const T *v0 = ptr_or_null<T>(x.v0), *a0 = ptr_or_null<T>(x.a0), *s0 = ptr_or_null<T>(x.s0);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t n = 0; n < N; ++n) {
        if (v0) v[n * B + b] = v0[b * N + n];
        if (a0) a[n * B + b] = a0[b * N + n];
        if (s0) s_a[n * B + b] = s0[b * N + n];
      }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t b = 0; b < B; ++b)
        if (s_a[n * B + b] != T(0)) list_a[n * B + cnt_a[n]++] = static_cast<int32_t>(b);
  }
  int64_t active0 = 0;
  for (int64_t n = 0; n < N; ++n) active0 += cnt_a[n] > 0;

  const int nth_max = omp_get_max_threads();
  std::vector<int64_t> active_part(2 * static_cast<size_t>(nth_max), 0);
  std::vector<int64_t> spikes_part(nth_max, 0), events_part(nth_max, 0), push_part(nth_max, 0);
  const T* ext = x.i_ext.data<T>();

#pragma omp parallel num_threads(loop_threads(d))
  {
    const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
    const int64_t lo = N * tid / nth, hi = N * (tid + 1) / nth;  // push: targets owned
    std::vector<T> pbuf(B), cbuf(B);
    T *s_prev = s_a.data(), *s_cur = s_b.data();
    int32_t *list_prev = list_a.data(), *list_cur = list_b.data();
    int32_t *cnt_prev = cnt_a.data(), *cnt_cur = cnt_b.data();
    int64_t active = active0;
    if (tid == 0) out.stats.threads = nth;

    // scatter the pre-major entries [k0, k1) of source j (restricted to targets [lo, hi))
    auto push_row = [&](int64_t j, int64_t k0, int64_t k1, const T* sv, const int32_t* lst,
                        int32_t cnt, T* acc) {
      const int32_t* first = std::lower_bound(net.post_idx + k0, net.post_idx + k1, static_cast<int32_t>(lo));
      for (int64_t k = first - net.post_idx; k < k1; ++k) {
        const int64_t i = net.post_idx[k];
        if (i >= hi) break;
        add_source(B, ws_t[k], sv + j * B, lst + j * B, cnt, acc + i * B);
      }
    };
    // gather the post-major synapses [k0, k1) of a row from the sources' vectors
    auto pull_row = [&](int64_t k0, int64_t k1, const T* sv, const int32_t* lst, const int32_t* cnt,
                        T* acc) {
      std::fill(acc, acc + B, T(0));
      for (int64_t k = k0; k < k1; ++k) {
        const int64_t j = net.pre_idx[k];
        if (cnt[j] == 0) continue;
        add_source(B, net.ws[k], sv + j * B, lst + j * B, cnt[j], acc);
      }
    };

    for (int64_t t = 0; t < T_; ++t) {
      const bool push = cfg.propagation == Propagation::push ||
                        (cfg.propagation == Propagation::automatic &&
                         static_cast<double>(active) < cfg.push_below * static_cast<double>(N));
      if (push) {
        if (tid == 0) ++push_part[0];
        std::fill(acc_prev.begin() + lo * B, acc_prev.begin() + hi * B, T(0));
        if (gs) std::fill(acc_cur.begin() + lo * B, acc_cur.begin() + hi * B, T(0));
        for (int64_t j = 0; j < N; ++j)
          if (cnt_prev[j] > 0)
            push_row(j, net.pre_ptr[j], net.pre_split[j], s_prev, list_prev, cnt_prev[j], acc_prev.data());
#pragma omp barrier
      }
      const T* ext_t = ext + t * B * d.N_in;
      int64_t& act_now = active_part[(t & 1) * nth_max + tid];
      act_now = 0;
      for (int64_t g = 0; g < d.G; ++g) {
#pragma omp for schedule(dynamic, 4)
        for (int64_t i = d.offsets[g]; i < d.offsets[g + 1]; ++i) {
          const T* P;
          if (push) {
            P = acc_prev.data() + i * B;
          } else {
            pull_row(net.post_split[i], net.post_ptr[i + 1], s_prev, list_prev, cnt_prev, pbuf.data());
            P = pbuf.data();
          }
          const T* C = nullptr;
          if (gs) {
            if (push) {
              C = acc_cur.data() + i * B;
            } else {
              pull_row(net.post_ptr[i], net.post_split[i], s_cur, list_cur, cnt_cur, cbuf.data());
              C = cbuf.data();
            }
          }
          const lif::NeuronConst<T> c = net.nc[i];
          const bool driven = i >= d.in_off && i < d.in_off + d.N_in;
          const T* e = driven ? ext_t + (i - d.in_off) : nullptr;
          T* vi = v.data() + i * B;
          T* ai = a.data() + i * B;
          const T* spi = s_prev + i * B;
          T* sci = s_cur + i * B;
          T* ui = su ? su + (t * N + i) * B : nullptr;
          for (int64_t b = 0; b < B; ++b) {
            const T rec = C ? P[b] + C[b] : P[b];
            const T cur = (e ? e[b * d.N_in] : T(0)) + rec;
            const T u = lif::neuron_step(net.m, c, cur, spi[b], vi[b], ai[b]);
            if (ui) ui[b] = u;
            sci[b] = lif::spike_of(u);
          }
          if (sa) std::memcpy(sa + (t * N + i) * B, ai, sizeof(T) * B);
          int32_t cnt = 0;
          int32_t* li = list_cur + i * B;
          for (int64_t b = 0; b < B; ++b)
            if (sci[b] != T(0)) li[cnt++] = static_cast<int32_t>(b);
          cnt_cur[i] = cnt;
          if (cnt > 0) {
            ++act_now;
            spikes_part[tid] += cnt;
            events_part[tid] += cnt * (net.pre_ptr[i + 1] - net.pre_ptr[i]);
          }
        }
        // implicit barrier: group g is complete
        if (gs && push && g + 1 < d.G) {
          for (int64_t j = d.offsets[g]; j < d.offsets[g + 1]; ++j)
            if (cnt_cur[j] > 0)
              push_row(j, net.pre_split[j], net.pre_ptr[j + 1], s_cur, list_cur, cnt_cur[j], acc_cur.data());
#pragma omp barrier
        }
      }
      // readout: y[t, b, :] += W_ro[:, col] for every spike of a readout neuron, in column order
      if (y) {
        const int64_t R = d.R;
        const int64_t rblk = std::max<int64_t>(16, (R + nth - 1) / nth);
        T* yt = y + t * B * R;
#pragma omp for schedule(static)
        for (int64_t r0 = 0; r0 < R; r0 += rblk) {
          const int64_t r1 = std::min(R, r0 + rblk);
          for (int64_t col = 0; col < d.N_ro; ++col) {
            const int64_t n = net.ro_neuron[col];
            const T* wc = net.wro_t.data() + col * R;
            for (int32_t q = 0; q < cnt_cur[n]; ++q) {
              T* yb = yt + list_cur[n * B + q] * R;
              for (int64_t r = r0; r < r1; ++r) yb[r] += wc[r];
            }
          }
        }
      }
      if (cfg.output_spikes)
        transpose_out(s_cur, out.spikes.data<T>() + t * BN, B, N, [](T s) { return s; });
      if (cfg.record_spikes)
        transpose_out(s_cur, out.spike_record.data<uint8_t>() + t * BN, B, N,
                      [](T s) { return static_cast<uint8_t>(s != T(0)); });
      if (cfg.record_state) {
        transpose_out(v.data(), out.v_record.data<T>() + t * BN, B, N, [](T s) { return s; });
        transpose_out(a.data(), out.a_record.data<T>() + t * BN, B, N, [](T s) { return s; });
      }
#pragma omp barrier
      active = 0;
      for (int k = 0; k < nth; ++k) active += active_part[(t & 1) * nth_max + k];
      std::swap(s_prev, s_cur);
      std::swap(list_prev, list_cur);
      std::swap(cnt_prev, cnt_cur);
    }
  }
  for (int k = 0; k < nth_max; ++k) {
    out.stats.spikes += spikes_part[k];
    out.stats.synaptic_events += events_part[k];
  }
  out.stats.push_steps = push_part[0];
  out.stats.pull_steps = T_ - push_part[0];
  return out;
}

template <class T>
LifGrads backward_impl(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                       const LifSaved& saved, const Tensor& dspikes, const Tensor& dreadout,
                       const LifNeeds& needs) {
  const Net<T> net(p, cfg, x);
  const Dims& d = net.d;
  const int64_t T_ = d.T, B = d.B, N = d.N, BN = d.B * d.N, R = d.R;
  const DType dt = x.w.dtype();
  const bool alif = cfg.model == NeuronModel::alif;
  RSNN_CHECK(saved.u.defined(), "recurrent_lif_backward: nothing was saved (run the forward with keep_for_backward)");
  check_shape(saved.u, {T_, N, B}, "recurrent_lif_backward: saved u");
  check_dtype(saved.u, dt, "recurrent_lif_backward: saved u");
  if (alif) {
    RSNN_CHECK(saved.a.defined(), "recurrent_lif_backward: the adaptation trace was not saved");
    check_shape(saved.a, {T_, N, B}, "recurrent_lif_backward: saved a");
  }
  if (dspikes.defined()) {
    check_shape(dspikes, {T_, B, N}, "recurrent_lif_backward: dspikes");
    check_dtype(dspikes, dt, "recurrent_lif_backward: dspikes");
  }
  if (dreadout.defined()) {
    RSNN_CHECK(d.has_readout, "recurrent_lif_backward: a readout gradient was given but there is no readout");
    check_shape(dreadout, {T_, B, R}, "recurrent_lif_backward: dreadout");
    check_dtype(dreadout, dt, "recurrent_lif_backward: dreadout");
  }
  const T* su = saved.u.data<T>();
  const T* sa = alif ? saved.a.data<T>() : nullptr;
  const T* dsp = ptr_or_null<T>(dspikes);
  const T* dy = ptr_or_null<T>(dreadout);
  const T* ext = x.i_ext.data<T>();
  const T *v0 = ptr_or_null<T>(x.v0), *a0 = ptr_or_null<T>(x.a0), *s0 = ptr_or_null<T>(x.s0);
  const bool want_tau_m = needs.tau_m && cfg.model != NeuronModel::if_;
  const bool want_q = needs.w || want_tau_m;

  // pre-major sign * w * in_gain(target): carries dL/dv of the target back to the source
  const std::vector<T> wg_t = net.pre_major([&](int64_t k, T v) { return v * net.nc[net.post_idx[k]].in_gain; });
  std::vector<T> q_t(want_q ? d.nnz : 0, T(0));  // pre-major sum over t, b of dv_i * s_j[t']
  std::vector<T> dv_a(BN, T(0)), dv_b(BN, T(0)), da_a(alif ? BN : 0, T(0)), da_b(alif ? BN : 0, T(0));
  std::vector<T> ds_c(BN, T(0));  // dL/ds of the step being processed, minus its same-step part
  std::vector<double> dalpha_v(N, 0.0), dalpha_e(N, 0.0), drho(N, 0.0);
  std::vector<T> dwro_t(d.has_readout && needs.w_ro ? d.N_ro * R : 0, T(0));
  std::vector<T> dy_t(dy ? R * B : 0);
  std::vector<T> s0_t(BN, T(0));  // s0 neuron-major, and its non-zero lists
  std::vector<int32_t> s0_list(BN), s0_cnt(N, 0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t n = 0; n < N; ++n)
      if (s0) s0_t[n * B + b] = s0[b * N + n];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t b = 0; b < B; ++b)
      if (s0_t[n * B + b] != T(0)) s0_list[n * B + s0_cnt[n]++] = static_cast<int32_t>(b);
  const std::vector<T> ones(B, T(1));

  LifGrads gr;
  if (needs.i_ext) gr.di_ext = Tensor::zeros(x.i_ext.shape(), dt);
  T* di = needs.i_ext ? gr.di_ext.data<T>() : nullptr;

#pragma omp parallel num_threads(loop_threads(d))
  {
    std::vector<T> ds(B);
    std::vector<int32_t> list(B);
    T *dv_cur = dv_a.data(), *dv_next = dv_b.data();
    T *da_cur = alif ? da_a.data() : nullptr, *da_next = alif ? da_b.data() : nullptr;
    for (int64_t t = T_ - 1; t >= 0; --t) {
      const T* u_t = su + t * BN;
      const T* u_p = t > 0 ? su + (t - 1) * BN : nullptr;
      const T* a_t = sa ? sa + t * BN : nullptr;
      const T* a_p = sa && t > 0 ? sa + (t - 1) * BN : nullptr;
      if (dy) {
#pragma omp for schedule(static)
        for (int64_t r = 0; r < R; ++r)
          for (int64_t b = 0; b < B; ++b) dy_t[r * B + b] = dy[(t * B + b) * R + r];
      }
      for (int64_t g = d.G - 1; g >= 0; --g) {
#pragma omp for schedule(dynamic, 4)
        for (int64_t j = d.offsets[g]; j < d.offsets[g + 1]; ++j) {
          T* dsj = ds.data();
          std::copy(ds_c.begin() + j * B, ds_c.begin() + (j + 1) * B, dsj);
          if (dsp)
            for (int64_t b = 0; b < B; ++b) dsj[b] += dsp[(t * B + b) * N + j];
          const int64_t col = d.ro_col[j];
          if (dy && col >= 0) {
            const T* wc = net.wro_t.data() + col * R;
            for (int64_t r = 0; r < R; ++r) axpy(B, wc[r], dy_t.data() + r * B, dsj);
          }
          // this step's spikes of j
          const T* uj = u_t + j * B;
          int32_t cnt = 0;
          for (int64_t b = 0; b < B; ++b)
            if (uj[b] > T(0)) list[cnt++] = static_cast<int32_t>(b);
          // same-step targets (later groups, already done this step)
          for (int64_t k = net.pre_split[j]; k < net.pre_ptr[j + 1]; ++k) {
            const T* dvi = dv_cur + static_cast<int64_t>(net.post_idx[k]) * B;
            axpy(B, wg_t[k], dvi, dsj);
            if (want_q && cnt > 0) q_t[k] += listed_dot(dvi, ones.data(), list.data(), cnt);
          }
          // the neuron's own reverse step
          const lif::NeuronConst<T> c = net.nc[j];
          const bool driven = j >= d.in_off && j < d.in_off + d.N_in;
          double dal_v = 0.0, dal_e = 0.0, drh = 0.0;
          for (int64_t b = 0; b < B; ++b) {
            const int64_t at = j * B + b;
            T s_prev, a_prev, v_prev;
            if (t > 0) {
              s_prev = lif::spike_of(u_p[at]);
              a_prev = a_p ? a_p[at] : T(0);
              v_prev = u_p[at] + lif::threshold(net.m, c, a_prev);
            } else {
              s_prev = s0_t[at];
              a_prev = a0 ? a0[b * N + j] : T(0);
              v_prev = v0 ? v0[b * N + j] : T(0);
            }
            const lif::StepGrad<T> gs = lif::neuron_step_backward(
                net.m, c, net.sg, dsj[b], c.decay * dv_next[at], alif ? c.rho * da_next[at] : T(0),
                uj[b], a_t ? a_t[at] : T(0), s_prev, a_prev);
            dv_cur[at] = gs.dv;
            if (alif) da_cur[at] = gs.da;
            ds_c[at] = gs.ds_prev;
            dal_v += static_cast<double>(gs.dv) * static_cast<double>(v_prev);
            drh += static_cast<double>(gs.drho);
            if (driven) {
              const int64_t e_at = (t * B + b) * d.N_in + (j - d.in_off);
              dal_e += static_cast<double>(gs.dv) * static_cast<double>(ext[e_at]);
              if (di) di[e_at] = c.in_gain * gs.dv;
            }
          }
          dalpha_v[j] += dal_v;
          dalpha_e[j] += dal_e;
          drho[j] += drh;
          if (!dwro_t.empty() && dy && col >= 0) {
            T* dwc = dwro_t.data() + col * R;
            for (int32_t q = 0; q < cnt; ++q) axpy(R, T(1), dy + (t * B + list[q]) * R, dwc);
          }
        }
      }
      // previous-step targets: complete dL/ds[t-1] (ds_c holds the own part) and q
#pragma omp for schedule(dynamic, 8)
      for (int64_t j = 0; j < N; ++j) {
        const T* svals;
        const int32_t* lst;
        int32_t cnt = 0;
        if (t > 0) {
          const T* uj = u_p + j * B;
          for (int64_t b = 0; b < B; ++b)
            if (uj[b] > T(0)) list[cnt++] = static_cast<int32_t>(b);
          svals = ones.data();
          lst = list.data();
        } else {
          cnt = s0_cnt[j];
          svals = s0_t.data() + j * B;
          lst = s0_list.data() + j * B;
        }
        T* dsj = ds_c.data() + j * B;
        for (int64_t k = net.pre_ptr[j]; k < net.pre_split[j]; ++k) {
          const T* dvi = dv_cur + static_cast<int64_t>(net.post_idx[k]) * B;
          axpy(B, wg_t[k], dvi, dsj);
          if (want_q && cnt > 0) q_t[k] += listed_dot(dvi, svals, lst, cnt);
        }
      }
      std::swap(dv_cur, dv_next);
      std::swap(da_cur, da_next);
    }
  }
  // After the loop the "next" buffers hold dL/dv[0], dL/da[0].
  const T* dv0n = (T_ % 2 == 1) ? dv_a.data() : dv_b.data();
  const T* da0n = alif ? ((T_ % 2 == 1) ? da_a.data() : da_b.data()) : nullptr;
  if (needs.v0 || needs.a0 || needs.s0) {
    if (needs.v0) gr.dv0 = Tensor::empty({B, N}, dt);
    if (needs.a0) gr.da0 = Tensor::zeros({B, N}, dt);
    if (needs.s0) gr.ds0 = Tensor::empty({B, N}, dt);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t n = 0; n < N; ++n) {
        const int64_t at = n * B + b;
        if (needs.v0) gr.dv0.data<T>()[b * N + n] = net.nc[n].decay * dv0n[at];
        if (needs.a0 && da0n) gr.da0.data<T>()[b * N + n] = net.nc[n].rho * da0n[at];
        if (needs.s0) gr.ds0.data<T>()[b * N + n] = ds_c[at];
      }
  }
  std::vector<T> q(want_q ? d.nnz : 0);
  for (int64_t k = 0; k < static_cast<int64_t>(q.size()); ++k) q[net.syn_of_pre[k]] = q_t[k];
  if (needs.w) {
    gr.dw = Tensor::empty({d.nnz}, dt);
    T* dw = gr.dw.data<T>();
    for (int64_t i = 0; i < N; ++i)
      for (int64_t k = net.post_ptr[i]; k < net.post_ptr[i + 1]; ++k)
        dw[k] = static_cast<T>(net.sign[net.pre_idx[k]]) * net.nc[i].in_gain * q[k];
  }
  if (needs.tau_m) {
    gr.dtau_m = Tensor::zeros({N}, dt);
    if (want_tau_m) {
      const T* tau = x.tau_m.data<T>();
      for (int64_t i = 0; i < N; ++i) {
        double rec = 0.0;  // sum_t,b dv_i * (recurrent current)_i
        for (int64_t k = net.post_ptr[i]; k < net.post_ptr[i + 1]; ++k)
          rec += static_cast<double>(net.ws[k]) * static_cast<double>(q[k]);
        const double r_m = static_cast<double>(net.m.r_m);
        const T dalpha = static_cast<T>(dalpha_v[i] - r_m * dalpha_e[i] - r_m * rec);
        gr.dtau_m.data<T>()[i] = lif::dtau_from_dfactor(dalpha, net.nc[i].decay, tau[i], net.m.dt);
      }
    }
  }
  if (needs.tau_adp) {
    gr.dtau_adp = Tensor::zeros({N}, dt);
    if (alif)
      for (int64_t i = 0; i < N; ++i)
        gr.dtau_adp.data<T>()[i] = lif::dtau_from_dfactor(static_cast<T>(drho[i]), net.nc[i].rho,
                                                          x.tau_adp.data<T>()[i], net.m.dt);
  }
  if (!dwro_t.empty()) {
    gr.dw_ro = Tensor::empty({R, d.N_ro}, dt);
    for (int64_t r = 0; r < R; ++r)
      for (int64_t c = 0; c < d.N_ro; ++c) gr.dw_ro.data<T>()[r * d.N_ro + c] = dwro_t[c * R + r];
  } else if (needs.w_ro && d.has_readout) {
    gr.dw_ro = Tensor::zeros({R, d.N_ro}, dt);
  }
  return gr;
}

}  // namespace

LifForward recurrent_lif_forward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                 bool keep_for_backward) {
  if (p.device().is_cuda())
    return cuda::recurrent_lif_forward(p, cfg, x, keep_for_backward, default_stream(p.device()));
  RSNN_CHECK(cfg.propagation != Propagation::cusparse,
             "recurrent_lif_forward: Propagation::cusparse needs the projection on a CUDA device "
             "(on the CPU use pull, push or automatic)");
  RSNN_CHECK(x.w.defined(), "recurrent_lif_forward: the synaptic weights w are required");
  return dispatch_float(x.w.dtype(), "recurrent_lif_forward", [&](auto tag) {
    return forward_impl<decltype(tag)>(p, cfg, x, keep_for_backward);
  });
}

LifGrads recurrent_lif_backward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                const LifSaved& saved, const Tensor& dspikes,
                                const Tensor& dreadout, const LifNeeds& needs) {
  if (p.device().is_cuda())
    return cuda::recurrent_lif_backward(p, cfg, x, saved, dspikes, dreadout, needs,
                                        default_stream(p.device()));
  RSNN_CHECK(x.w.defined(), "recurrent_lif_backward: the synaptic weights w are required");
  return dispatch_float(x.w.dtype(), "recurrent_lif_backward", [&](auto tag) {
    return backward_impl<decltype(tag)>(p, cfg, x, saved, dspikes, dreadout, needs);
  });
}

}  // namespace rsnn::kernels
