// Optimized CPU recurrent LIF layer (contract in recurrent_lif.h).
//
// Layout: per-step state x[n * B + b] (neuron-major, batch innermost); saved u, a [T, N, B];
// spikes also as bit masks, W = ceil(B / 64) words per neuron. One OpenMP parallel region
// spans the time loop; phases are `omp for` loops over neuron rows or explicit per-thread
// partitions separated by barriers. Every output element is written by one thread and summed
// in a fixed order (below), so results do not depend on the thread count.
//
// Input current of neuron i at step t: I = I_ext + (P + C), with
//   P = sum over the synapses carrying the previous step's spikes (sources in group(i) or
//       later, or all sources with previous_step), in ascending source order;
//   C = sum over the synapses carrying this step's spikes (sources in earlier groups,
//       gauss_seidel only), in ascending source order.
// pull: per target row, P and C are gathered as B-vectors from the firing sources' spike
//       vectors (cost ~ nnz * B, vectorized; wins when many samples fire).
// push: per sample, every spike (j, b) scatters its pre-major row into a per-sample
//       accumulator acc[b * N + i] (cost ~ spikes * out-degree; the accumulator of a sample
//       stays in cache). Threads own samples (and target ranges when B < threads).
// Both add the same non-zero terms in the same order, so they give the same values and are
// mixed step by step (Propagation::automatic, decided from the previous step's firing).
//
// Backward, per step in reverse, groups in reverse: dL/ds of a neuron = what later steps and
// later groups sent it + the readout and spike-output gradients; the neuron's reverse step
// gives dL/dv; the error reaches the sources as a B-vector gather over the pre-major rows
// (wg = sign * w * dv/dI of the target), and the weight gradient sums dv_i over the samples
// where the source fired (q).
#include "kernels/recurrent_lif.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/recurrent_lif_detail.h"

// Hot loops are compiled twice (baseline x86-64 and x86-64-v3 = AVX2 + FMA) and picked at load
// time. Thread-count and strategy invariance hold within one machine.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define RSNN_HOT __attribute__((target_clones("default", "arch=x86-64-v3"), noinline))
#else
#define RSNN_HOT
#endif

namespace rsnn::kernels {
namespace {

using namespace lif_detail;

template <class T>
struct Vec {
  typedef T type __attribute__((vector_size(32)));
  static constexpr int lanes = 32 / sizeof(T);
};

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// Threads for the time loop: one when a step is too small to pay for its barriers.
int loop_threads(const Dims& d) {
  const int64_t work_per_step = (d.nnz + 4 * d.N) * d.B;
  return work_per_step < (1 << 18) ? 1 : omp_get_max_threads();
}

// ---- the B-vector gather: acc[0:B] += sum_k w[k] * rows[idx[k]][0:B] ------------------------
// Entries whose source is silent (active != null and active[idx] == 0) are skipped. Chunks of
// up to 8 vectors of acc stay in registers while the entries stream by; each element sums in
// ascending k.
template <class T, int CH>
inline int64_t gather_chunk(int64_t B, int64_t b0, int64_t k0, int64_t k1, const int32_t* idx,
                            const T* w, const T* rows, const int32_t* active, T* acc) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::lanes;
  for (; b0 + CH * L <= B; b0 += CH * L) {
    V a[CH];
    for (int c = 0; c < CH; ++c) std::memcpy(&a[c], acc + b0 + c * L, sizeof(V));
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t j = idx[k];
      if (active && active[j] == 0) continue;
      const T* r = rows + j * B + b0;
      const T wk = w[k];
      for (int c = 0; c < CH; ++c) {
        V x;
        std::memcpy(&x, r + c * L, sizeof(V));
        a[c] += wk * x;
      }
    }
    for (int c = 0; c < CH; ++c) std::memcpy(acc + b0 + c * L, &a[c], sizeof(V));
  }
  return b0;
}

template <class T>
RSNN_HOT void gather_rows(int64_t B, int64_t k0, int64_t k1, const int32_t* idx, const T* w,
                          const T* rows, const int32_t* active, T* acc) {
  int64_t b0 = gather_chunk<T, 8>(B, 0, k0, k1, idx, w, rows, active, acc);
  b0 = gather_chunk<T, 4>(B, b0, k0, k1, idx, w, rows, active, acc);
  b0 = gather_chunk<T, 2>(B, b0, k0, k1, idx, w, rows, active, acc);
  b0 = gather_chunk<T, 1>(B, b0, k0, k1, idx, w, rows, active, acc);
  for (; b0 < B; ++b0) {
    T s = acc[b0];
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t j = idx[k];
      if (active && active[j] == 0) continue;
      s += w[k] * rows[j * B + b0];
    }
    acc[b0] = s;
  }
}

// Backward form: the gather above (no skipping) and, where the source fired in `cnt` samples
// (list, values sval), q[k] += sum over those samples of sval[b] * rows[idx[k]][b].
template <class T>
RSNN_HOT void gather_rows_q(int64_t B, int64_t k0, int64_t k1, const int32_t* idx, const T* w,
                            const T* rows, T* acc, T* q, const T* sval, const int32_t* list,
                            int32_t cnt) {
  gather_rows<T>(B, k0, k1, idx, w, rows, nullptr, acc);
  if (!q || cnt == 0) return;
  for (int64_t k = k0; k < k1; ++k) {
    const T* r = rows + static_cast<int64_t>(idx[k]) * B;
    T s = T(0);
    for (int32_t c = 0; c < cnt; ++c) s += sval[list[c]] * r[list[c]];
    q[k] += s;
  }
}

// ---- per-sample push ---------------------------------------------------------------------
// A thread's share of a push phase: samples [b0, b1), targets [i0, i1).
struct Part {
  int64_t b0 = 0, b1 = 0, i0 = 0, i1 = 0;
  bool idle = true;
};

Part part_of(int tid, int nth, int64_t B, int64_t N) {
  Part p;
  const int64_t nb = std::min<int64_t>(B, nth), ni = nth / nb;
  if (tid >= nb * ni) return p;
  const int64_t bp = tid % nb, ip = tid / nb;
  p.b0 = B * bp / nb;
  p.b1 = B * (bp + 1) / nb;
  p.i0 = N * ip / ni;
  p.i1 = N * (ip + 1) / ni;
  p.idle = p.b0 >= p.b1 || p.i0 >= p.i1;
  return p;
}

inline uint64_t word_mask(int64_t w, int64_t b0, int64_t b1) {
  const int64_t lo = std::max<int64_t>(b0, w * 64) - w * 64, hi = std::min<int64_t>(b1, w * 64 + 64) - w * 64;
  const uint64_t upto = hi >= 64 ? ~uint64_t(0) : ((uint64_t(1) << hi) - 1);
  return upto & ~((uint64_t(1) << lo) - 1);
}

// For every source j in [j0, j1) and every sample b of the part where j fired: scatter the
// pre-major entries [first[j], last[j]) with targets in [i0, i1) into acc[b * N + target],
// adding w_t[k] * s[j * B + b]. Sources ascending, so each target sums in source order.
template <class T>
RSNN_HOT void push_phase(const Part& part, int64_t N, int64_t B, int64_t W, int64_t j0, int64_t j1,
                         const int64_t* first, const int64_t* last, const int32_t* post,
                         const T* w_t, const uint64_t* mask, const int32_t* cnt, const T* s, T* acc) {
  if (part.idle) return;
  const bool all_targets = part.i0 == 0 && part.i1 == N;
  const int64_t w0 = part.b0 / 64, w1 = (part.b1 - 1) / 64;
  for (int64_t j = j0; j < j1; ++j) {
    if (cnt[j] == 0) continue;
    int64_t k0 = first[j], k1 = last[j];
    if (k0 == k1) continue;
    if (!all_targets) {
      k0 = std::lower_bound(post + k0, post + k1, static_cast<int32_t>(part.i0)) - post;
      k1 = std::lower_bound(post + k0, post + k1, static_cast<int32_t>(part.i1)) - post;
    }
    for (int64_t w = w0; w <= w1; ++w) {
      uint64_t m = mask[j * W + w] & word_mask(w, part.b0, part.b1);
      while (m) {
        const int64_t b = w * 64 + __builtin_ctzll(m);
        m &= m - 1;
        const T sv = s[j * B + b];
        T* ab = acc + b * N;
        for (int64_t k = k0; k < k1; ++k) ab[post[k]] += w_t[k] * sv;
      }
    }
  }
}

// ---- neuron rows ---------------------------------------------------------------------------
// Forward update of row i for all samples. P, C: the two current parts (stride ps, cs: 1 for
// a gathered B-vector, N for the per-sample accumulators, which are then zeroed; C may be
// null). e: external current of the row (stride e_stride) or null. Writes v, a, s_cur, the
// mask words and the saved u, a (when non-null). Returns the number of samples that fired.
template <class T>
RSNN_HOT int32_t update_row(const lif::ModelParams<T>& m, const lif::NeuronConst<T>& c, int64_t B,
                            T* P, int64_t ps, T* C, int64_t cs, bool zero_parts, const T* e,
                            int64_t e_stride, T* v, T* a, const T* s_prev, T* s_cur, uint64_t* mask,
                            T* u_out, T* a_out) {
  for (int64_t b = 0; b < B; ++b) {
    const T rec = C ? P[b * ps] + C[b * cs] : P[b * ps];
    const T cur = (e ? e[b * e_stride] : T(0)) + rec;
    const T u = lif::neuron_step(m, c, cur, s_prev[b], v[b], a[b]);
    if (u_out) u_out[b] = u;
    s_cur[b] = lif::spike_of(u);
  }
  if (zero_parts) {
    for (int64_t b = 0; b < B; ++b) P[b * ps] = T(0);
    if (C)
      for (int64_t b = 0; b < B; ++b) C[b * cs] = T(0);
  }
  if (a_out) std::memcpy(a_out, a, sizeof(T) * B);
  const int64_t W = (B + 63) / 64;
  int32_t cnt = 0;
  for (int64_t w = 0; w < W; ++w) {
    uint64_t bits = 0;
    const int64_t n = std::min<int64_t>(64, B - w * 64);
    for (int64_t k = 0; k < n; ++k) bits |= static_cast<uint64_t>(s_cur[w * 64 + k] != T(0)) << k;
    mask[w] = bits;
    cnt += __builtin_popcountll(bits);
  }
  return cnt;
}

// Reverse step of row j for all samples; see lif::neuron_step_backward. u_p, a_p: the row at
// step t-1 (null at t = 0: then s_prev = s0, a_prev = a0, v_prev = v0, all [B]). Accumulates
// sum_b dv * v_prev, dv * I_ext and drho in double.
template <class T>
struct RowGradSums {
  double dv_v = 0, dv_e = 0, drho = 0;
};

template <class T>
RSNN_HOT RowGradSums<T> backward_row(const lif::ModelParams<T>& m, const lif::NeuronConst<T>& c,
                                     const lif::SurrogateParams<T>& sg, int64_t B, const T* ds,
                                     const T* dv_next, const T* da_next, const T* u_t, const T* a_t,
                                     const T* u_p, const T* a_p, const T* s0, const T* a0, const T* v0,
                                     const T* e, int64_t e_stride, T* dv_out, T* da_out, T* ds_prev,
                                     T* di, int64_t di_stride) {
  double dv_v = 0, dv_e = 0, drho = 0;
  const bool alif = m.adaptive();
#pragma omp simd reduction(+ : dv_v, dv_e, drho)
  for (int64_t b = 0; b < B; ++b) {
    T s_prev, a_prev, v_prev;
    if (u_p) {
      s_prev = lif::spike_of(u_p[b]);
      a_prev = alif ? a_p[b] : T(0);
      v_prev = u_p[b] + lif::threshold(m, c, a_prev);
    } else {
      s_prev = s0[b];
      a_prev = a0[b];
      v_prev = v0[b];
    }
    const lif::StepGrad<T> g = lif::neuron_step_backward(
        m, c, sg, ds[b], c.decay * dv_next[b], alif ? c.rho * da_next[b] : T(0), u_t[b],
        alif ? a_t[b] : T(0), s_prev, a_prev);
    dv_out[b] = g.dv;
    if (alif) da_out[b] = g.da;
    ds_prev[b] = g.ds_prev;
    dv_v += static_cast<double>(g.dv) * static_cast<double>(v_prev);
    drho += static_cast<double>(g.drho);
    if (e) {
      dv_e += static_cast<double>(g.dv) * static_cast<double>(e[b * e_stride]);
      if (di) di[b * di_stride] = c.in_gain * g.dv;
    }
  }
  RowGradSums<T> r;
  r.dv_v = dv_v;
  r.dv_e = dv_e;
  r.drho = drho;
  return r;
}

// ---- per-call tables -----------------------------------------------------------------------
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
  std::vector<T> ws;               // [nnz] sign * w, post-major
  std::vector<int64_t> ro_neuron;  // [N_ro] neuron of each readout column
  std::vector<T> wro_t;            // [N_ro, R] W_ro transposed

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

  // Pre-major values: f(k, sign * w) for each pre-major entry k.
  template <class F>
  std::vector<T> pre_major(F f) const {
    std::vector<T> out(static_cast<size_t>(d.nnz));
    for (int64_t k = 0; k < d.nnz; ++k) out[k] = f(k, ws[syn_of_pre[k]]);
    return out;
  }
};

// [N, B] (row n, sample b) -> one step of a [T, B, N] tensor: dst[b * N + n].
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

// [B, N] -> [N, B] (zeros when src is null).
template <class T>
std::vector<T> to_neuron_major(const T* src, int64_t B, int64_t N) {
  std::vector<T> out(static_cast<size_t>(B * N), T(0));
  if (src)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t n = 0; n < N; ++n) out[n * B + b] = src[b * N + n];
  return out;
}

template <class T>
LifForward forward_impl(const Projection& p, const LifConfig& cfg, const LifInputs& x, bool keep) {
  const Net<T> net(p, cfg, x);
  const Dims& d = net.d;
  const int64_t T_ = d.T, B = d.B, N = d.N, BN = d.B * d.N, W = (d.B + 63) / 64;
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
  std::vector<int64_t> pre_end(N);  // pre_ptr[j + 1], as a "last" array for push_phase
  for (int64_t j = 0; j < N; ++j) pre_end[j] = net.pre_ptr[j + 1];

  // state, neuron-major [N, B]; spikes of the previous and current step as values and masks
  std::vector<T> v = to_neuron_major(ptr_or_null<T>(x.v0), B, N);
  std::vector<T> a = to_neuron_major(ptr_or_null<T>(x.a0), B, N);
  std::vector<T> s_a = to_neuron_major(ptr_or_null<T>(x.s0), B, N), s_b(BN, T(0));
  std::vector<uint64_t> mask_a(N * W, 0), mask_b(N * W, 0);
  std::vector<int32_t> cnt_a(N, 0), cnt_b(N, 0);
  int64_t spikes0 = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t b = 0; b < B; ++b)
      if (s_a[n * B + b] != T(0)) {
        mask_a[n * W + b / 64] |= uint64_t(1) << (b % 64);
        ++cnt_a[n];
        ++spikes0;
      }
  // per-sample accumulators [B, N] of the two current parts (push), kept zero between uses
  std::vector<T> acc_prev(may_push ? BN : 0, T(0)), acc_cur(may_push && gs ? BN : 0, T(0));

  const int nth_max = omp_get_max_threads();
  std::vector<int64_t> spikes_part(2 * static_cast<size_t>(nth_max), 0);
  std::vector<int64_t> events_part(nth_max, 0), total_part(nth_max, 0);
  int64_t push_steps = 0;
  const T* ext = x.i_ext.data<T>();

#pragma omp parallel num_threads(loop_threads(d))
  {
    const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
    const Part part = part_of(tid, nth, B, N);
    std::vector<T> pbuf(B), cbuf(B);
    T *s_prev = s_a.data(), *s_cur = s_b.data();
    uint64_t *mask_prev = mask_a.data(), *mask_cur = mask_b.data();
    int32_t *cnt_prev = cnt_a.data(), *cnt_cur = cnt_b.data();
    int64_t spikes_prev = spikes0;
    if (tid == 0) out.stats.threads = nth;

    for (int64_t t = 0; t < T_; ++t) {
      const bool push = cfg.propagation == Propagation::push ||
                        (cfg.propagation == Propagation::automatic &&
                         static_cast<double>(spikes_prev) < cfg.push_below * static_cast<double>(BN));
      if (push) {
        if (tid == 0) ++push_steps;
        push_phase<T>(part, N, B, W, 0, N, net.pre_ptr, net.pre_split.data(), net.post_idx, ws_t.data(),
                      mask_prev, cnt_prev, s_prev, acc_prev.data());
#pragma omp barrier
      }
      const T* ext_t = ext + t * B * d.N_in;
      int64_t& spikes_now = spikes_part[(t & 1) * nth_max + tid];
      spikes_now = 0;
      for (int64_t g = 0; g < d.G; ++g) {
#pragma omp for schedule(dynamic, 8)
        for (int64_t i = d.offsets[g]; i < d.offsets[g + 1]; ++i) {
          T *P, *C = nullptr;
          int64_t ps = 1, cs = 1;
          if (push) {
            P = acc_prev.data() + i;
            ps = N;
            if (gs) {
              C = acc_cur.data() + i;
              cs = N;
            }
          } else {
            P = pbuf.data();
            std::fill(P, P + B, T(0));
            gather_rows<T>(B, net.post_split[i], net.post_ptr[i + 1], net.pre_idx, net.ws.data(), s_prev,
                           cnt_prev, P);
            if (gs) {
              C = cbuf.data();
              std::fill(C, C + B, T(0));
              gather_rows<T>(B, net.post_ptr[i], net.post_split[i], net.pre_idx, net.ws.data(), s_cur,
                             cnt_cur, C);
            }
          }
          const bool driven = i >= d.in_off && i < d.in_off + d.N_in;
          const int32_t cnt = update_row<T>(
              net.m, net.nc[i], B, P, ps, C, cs, push, driven ? ext_t + (i - d.in_off) : nullptr, d.N_in,
              v.data() + i * B, a.data() + i * B, s_prev + i * B, s_cur + i * B, mask_cur + i * W,
              su ? su + (t * N + i) * B : nullptr, sa ? sa + (t * N + i) * B : nullptr);
          cnt_cur[i] = cnt;
          spikes_now += cnt;
          total_part[tid] += cnt;
          events_part[tid] += cnt * (net.pre_ptr[i + 1] - net.pre_ptr[i]);
        }
        // implicit barrier: group g is complete
        if (gs && push && g + 1 < d.G) {
          push_phase<T>(part, N, B, W, d.offsets[g], d.offsets[g + 1], net.pre_split.data(), pre_end.data(),
                        net.post_idx, ws_t.data(), mask_cur, cnt_cur, s_cur, acc_cur.data());
#pragma omp barrier
        }
      }
      // readout: y[t, b, :] += W_ro[:, col] for every spike of a readout neuron, in column order
      if (y && !part.idle && part.i0 == 0) {
        const int64_t R = d.R;
        T* yt = y + t * B * R;
        const int64_t w0 = part.b0 / 64, w1 = (part.b1 - 1) / 64;
        for (int64_t col = 0; col < d.N_ro; ++col) {
          const int64_t n = net.ro_neuron[col];
          if (cnt_cur[n] == 0) continue;
          const T* wc = net.wro_t.data() + col * R;
          for (int64_t w = w0; w <= w1; ++w) {
            uint64_t mm = mask_cur[n * W + w] & word_mask(w, part.b0, part.b1);
            while (mm) {
              T* yb = yt + (w * 64 + __builtin_ctzll(mm)) * R;
              mm &= mm - 1;
              for (int64_t r = 0; r < R; ++r) yb[r] += wc[r];
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
      spikes_prev = 0;
      for (int k = 0; k < nth; ++k) spikes_prev += spikes_part[(t & 1) * nth_max + k];
      std::swap(s_prev, s_cur);
      std::swap(mask_prev, mask_cur);
      std::swap(cnt_prev, cnt_cur);
    }
  }
  for (int k = 0; k < nth_max; ++k) {
    out.stats.spikes += total_part[k];
    out.stats.synaptic_events += events_part[k];
  }
  out.stats.push_steps = push_steps;
  out.stats.pull_steps = T_ - push_steps;
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
    check_dtype(saved.a, dt, "recurrent_lif_backward: saved a");
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
  const bool want_tau_m = needs.tau_m && cfg.model != NeuronModel::if_;
  const bool want_q = needs.w || want_tau_m;

  // pre-major sign * w * dv/dI of the target: carries dL/dv of the target back to the source
  const std::vector<T> wg_t = net.pre_major([&](int64_t k, T v) { return v * net.nc[net.post_idx[k]].in_gain; });
  std::vector<T> q_t(want_q ? d.nnz : 0, T(0));  // pre-major sum over t, b of dv_i[t] * s_j[t']
  std::vector<T> dv_a(BN, T(0)), dv_b(BN, T(0)), da_a(alif ? BN : 0, T(0)), da_b(alif ? BN : 0, T(0));
  std::vector<T> ds_c(BN, T(0));  // dL/ds of the step being processed, minus its same-step part
  std::vector<double> dalpha_v(N, 0.0), dalpha_e(N, 0.0), drho(N, 0.0);
  std::vector<T> dwro_t(d.has_readout && needs.w_ro ? d.N_ro * R : 0, T(0));
  std::vector<T> dy_t(dy ? R * B : 0);
  std::vector<int32_t> ident(static_cast<size_t>(R));
  for (int64_t r = 0; r < R; ++r) ident[r] = static_cast<int32_t>(r);
  // initial state, neuron-major, and the non-zero lists of s0
  const std::vector<T> s0_t = to_neuron_major(ptr_or_null<T>(x.s0), B, N);
  const std::vector<T> a0_t = to_neuron_major(ptr_or_null<T>(x.a0), B, N);
  const std::vector<T> v0_t = to_neuron_major(ptr_or_null<T>(x.v0), B, N);
  std::vector<int32_t> s0_list(BN), s0_cnt(N, 0);
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
          if (dy && col >= 0) gather_rows<T>(B, 0, R, ident.data(), net.wro_t.data() + col * R, dy_t.data(), nullptr, dsj);
          // this step's spikes of j
          const T* uj = u_t + j * B;
          int32_t cnt = 0;
          for (int64_t b = 0; b < B; ++b)
            if (uj[b] > T(0)) list[cnt++] = static_cast<int32_t>(b);
          // same-step targets (later groups, already done this step)
          gather_rows_q<T>(B, net.pre_split[j], net.pre_ptr[j + 1], net.post_idx, wg_t.data(), dv_cur, dsj,
                           want_q ? q_t.data() : nullptr, ones.data(), list.data(), cnt);
          const bool driven = j >= d.in_off && j < d.in_off + d.N_in;
          const int64_t e_off = t * B * d.N_in + (j - d.in_off);
          const RowGradSums<T> sums = backward_row<T>(
              net.m, net.nc[j], net.sg, B, dsj, dv_next + j * B, alif ? da_next + j * B : nullptr, uj,
              a_t ? a_t + j * B : nullptr, u_p ? u_p + j * B : nullptr, a_p ? a_p + j * B : nullptr,
              s0_t.data() + j * B, a0_t.data() + j * B, v0_t.data() + j * B, driven ? ext + e_off : nullptr,
              d.N_in, dv_cur + j * B, alif ? da_cur + j * B : nullptr, ds_c.data() + j * B,
              driven && di ? di + e_off : nullptr, d.N_in);
          dalpha_v[j] += sums.dv_v;
          dalpha_e[j] += sums.dv_e;
          drho[j] += sums.drho;
          if (!dwro_t.empty() && dy && col >= 0) {
            T* dwc = dwro_t.data() + col * R;
            for (int32_t c = 0; c < cnt; ++c) {
              const T* g = dy + (t * B + list[c]) * R;
              for (int64_t r = 0; r < R; ++r) dwc[r] += g[r];
            }
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
        gather_rows_q<T>(B, net.pre_ptr[j], net.pre_split[j], net.post_idx, wg_t.data(), dv_cur,
                         ds_c.data() + j * B, want_q ? q_t.data() : nullptr, svals, lst, cnt);
      }
      std::swap(dv_cur, dv_next);
      std::swap(da_cur, da_next);
    }
  }
  // After the loop the "next" buffers hold dL/dv[0], dL/da[0].
  const T* dv0n = (T_ % 2 == 1) ? dv_a.data() : dv_b.data();
  const T* da0n = alif ? ((T_ % 2 == 1) ? da_a.data() : da_b.data()) : nullptr;
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
      const double r_m = static_cast<double>(net.m.r_m);
      for (int64_t i = 0; i < N; ++i) {
        double rec = 0.0;  // sum_t,b dv_i * (recurrent current)_i = sum_k sign*w * q
        for (int64_t k = net.post_ptr[i]; k < net.post_ptr[i + 1]; ++k)
          rec += static_cast<double>(net.ws[k]) * static_cast<double>(q[k]);
        // v[t] = decay*v[t-1] + (1-decay)*r_m*I - ...: dL/ddecay = sum dv * (v[t-1] - r_m*I)
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
  RSNN_CHECK(x.w.defined(), "recurrent_lif_forward: the synaptic weights w are required");
  return dispatch_float(x.w.dtype(), "recurrent_lif_forward", [&](auto tag) {
    return forward_impl<decltype(tag)>(p, cfg, x, keep_for_backward);
  });
}

LifGrads recurrent_lif_backward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                const LifSaved& saved, const Tensor& dspikes,
                                const Tensor& dreadout, const LifNeeds& needs) {
  RSNN_CHECK(x.w.defined(), "recurrent_lif_backward: the synaptic weights w are required");
  return dispatch_float(x.w.dtype(), "recurrent_lif_backward", [&](auto tag) {
    return backward_impl<decltype(tag)>(p, cfg, x, saved, dspikes, dreadout, needs);
  });
}

}  // namespace rsnn::kernels
