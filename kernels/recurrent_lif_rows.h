// Internal to kernels/recurrent_lif.cpp: the per-row and per-phase loops of the optimized CPU
// recurrent LIF layer. Each is compiled twice (baseline x86-64 and x86-64-v3 = AVX2 + FMA) and
// the variant is picked at load time; thread-count and strategy invariance hold on one machine.
// "B" below is the row length of the slice being processed (the slice's own sample count).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/lif_math.h"

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define RSNN_HOT __attribute__((target_clones("default", "arch=x86-64-v3"), noinline))
#else
#define RSNN_HOT
#endif

// Helpers of the hot loops: always inlined, so they are compiled with their caller's target.
#define RSNN_HOT_INLINE inline __attribute__((always_inline))

namespace rsnn::kernels::lif_rows {

template <class T>
struct Vec {
  typedef T type __attribute__((vector_size(32)));
  static constexpr int lanes = 32 / sizeof(T);
};

// ---- the B-vector gather: acc[0:B] += sum_k w[k] * rows[idx[k]][0:B] ------------------------
// Entries whose source is silent (active != null and active[idx] == 0) are skipped. Chunks of
// up to 8 vectors of acc stay in registers while the entries stream by; each element sums in
// ascending k.
template <class T, int CH>
RSNN_HOT_INLINE int64_t gather_chunk(int64_t B, int64_t b0, int64_t k0, int64_t k1, const int32_t* idx,
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

// Weight-gradient sums of one source row: for every sample b in list (ascending) where the
// source's spike value sval[b] is non-zero, and every entry k in [k0, k1):
//   q[(b / block) * q_stride + k] += sval[b] * dvt[b * N + post[k]]
// dvt is the targets' dL/dv sample-major [B, N], so a sample's row stays in cache while the
// entries stream by (the same access pattern as the forward push).
template <class T>
RSNN_HOT_INLINE void q_row(int64_t n, T sv, const int32_t* __restrict post, const T* __restrict d,
                           T* __restrict qc) {
  for (int64_t k = 0; k < n; ++k) qc[k] += sv * d[post[k]];
}

template <class T>
RSNN_HOT void q_push(int64_t k0, int64_t k1, const int32_t* post, const T* dvt, int64_t N,
                     const int32_t* list, int32_t cnt, const T* sval, int64_t block, T* q,
                     int64_t q_stride) {
  if (k0 == k1) return;
  for (int32_t l = 0; l < cnt; ++l) {
    const int64_t b = list[l];
    q_row(k1 - k0, sval[b], post + k0, dvt + b * N, q + (b / block) * q_stride + k0);
  }
}

// ---- per-sample push ---------------------------------------------------------------------
// A thread's share of a push phase: samples [b0, b1), targets [i0, i1).
struct Part {
  int64_t b0 = 0, b1 = 0, i0 = 0, i1 = 0;
  bool idle = true;
};

inline Part part_of(int tid, int nth, int64_t B, int64_t N) {
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
template <NeuronModel M, class T>
RSNN_HOT_INLINE void update_core(const lif::ModelParams<T> m, const lif::NeuronConst<T> c, int64_t B,
                        const T* __restrict cur, T* __restrict v, T* __restrict a,
                        const T* __restrict s_prev, T* __restrict s_cur, T* __restrict u_out) {
  for (int64_t b = 0; b < B; ++b) {
    T vb = v[b], ab = a[b];
    const T u = lif::neuron_step_m<M>(m, c, cur[b], s_prev[b], vb, ab);
    v[b] = vb;
    if (M == NeuronModel::alif) a[b] = ab;
    if (u_out) u_out[b] = u;
    s_cur[b] = lif::spike_of(u);
  }
}

// Forward update of row i for all samples. P, C: the two current parts (stride ps, cs: 1 for
// a gathered B-vector, N for the per-sample accumulators, which are then zeroed; C may be
// null). e: external current of the row (stride e_stride) or null. cur: [B] scratch. Writes
// v, a, s_cur, the mask words and the saved u, a (when non-null). Returns how many fired.
template <class T>
RSNN_HOT int32_t update_row(const lif::ModelParams<T>& m, const lif::NeuronConst<T>& c, int64_t B,
                            T* P, int64_t ps, T* C, int64_t cs, bool zero_parts, const T* e,
                            int64_t e_stride, T* cur, T* v, T* a, const T* s_prev, T* s_cur,
                            uint64_t* mask, T* u_out, T* a_out) {
  // I = I_ext + (P + C), gathered into a contiguous vector
  if (C) {
    for (int64_t b = 0; b < B; ++b) cur[b] = P[b * ps] + C[b * cs];
  } else {
    for (int64_t b = 0; b < B; ++b) cur[b] = P[b * ps];
  }
  if (e) {
    for (int64_t b = 0; b < B; ++b) cur[b] = e[b * e_stride] + cur[b];
  } else {
    for (int64_t b = 0; b < B; ++b) cur[b] = T(0) + cur[b];
  }
  if (zero_parts) {
    for (int64_t b = 0; b < B; ++b) P[b * ps] = T(0);
    if (C)
      for (int64_t b = 0; b < B; ++b) C[b * cs] = T(0);
  }
  if (m.model == NeuronModel::alif) {
    update_core<NeuronModel::alif>(m, c, B, cur, v, a, s_prev, s_cur, u_out);
  } else {
    update_core<NeuronModel::lif>(m, c, B, cur, v, a, s_prev, s_cur, u_out);
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
// step t-1 (null at t = 0: then s_prev = s0, a_prev = a0, v_prev = v0, all [B]). Writes dL/dv
// also sample-major (dvt[b * dvt_stride]). Adds, per block of `block` samples c, the sums
// over the block (in sample order, in double) of dv * v_prev, dv * I_ext and drho to
// sums[3 * c + 0..2]. ev: [B] scratch; terms: [3 B] double scratch.
template <NeuronModel M, Surrogate K, bool First, class T>
RSNN_HOT_INLINE void backward_core(const lif::ModelParams<T> m, const lif::NeuronConst<T> c,
                                   const lif::SurrogateParams<T> sg, int64_t B, const T* __restrict ds,
                                   const T* __restrict dv_next, const T* __restrict da_next,
                                   const T* __restrict u_t, const T* __restrict a_t,
                                   const T* __restrict u_p, const T* __restrict a_p,
                                   const T* __restrict s0, const T* __restrict a0,
                                   const T* __restrict v0, const T* __restrict ev,
                                   T* __restrict dv_out, T* __restrict da_out, T* __restrict ds_prev,
                                   double* __restrict t_v, double* __restrict t_e,
                                   double* __restrict t_r) {
  constexpr bool alif = M == NeuronModel::alif;
  for (int64_t b = 0; b < B; ++b) {
    T s_prev, a_prev, v_prev;
    if (First) {
      s_prev = s0[b];
      a_prev = a0[b];
      v_prev = v0[b];
    } else {
      s_prev = lif::spike_of(u_p[b]);
      a_prev = alif ? a_p[b] : T(0);
      v_prev = u_p[b] + (alif ? c.b_base + m.beta * a_prev : c.b_base);
    }
    const lif::StepGrad<T> g = lif::neuron_step_backward_m<M, K>(
        m, c, sg, ds[b], c.decay * dv_next[b], alif ? c.rho * da_next[b] : T(0), u_t[b],
        alif ? a_t[b] : T(0), s_prev, a_prev);
    dv_out[b] = g.dv;
    if (alif) da_out[b] = g.da;
    ds_prev[b] = g.ds_prev;
    t_v[b] = static_cast<double>(g.dv) * static_cast<double>(v_prev);
    t_e[b] = static_cast<double>(g.dv) * static_cast<double>(ev[b]);
    t_r[b] = static_cast<double>(g.drho);
  }
}

template <NeuronModel M, Surrogate K, class T>
RSNN_HOT_INLINE void backward_core_t(bool first, const lif::ModelParams<T>& m, const lif::NeuronConst<T>& c,
                                     const lif::SurrogateParams<T>& sg, int64_t B, const T* ds,
                                     const T* dv_next, const T* da_next, const T* u_t, const T* a_t,
                                     const T* u_p, const T* a_p, const T* s0, const T* a0, const T* v0,
                                     const T* ev, T* dv_out, T* da_out, T* ds_prev, double* terms) {
  if (first)
    backward_core<M, K, true>(m, c, sg, B, ds, dv_next, da_next, u_t, a_t, u_p, a_p, s0, a0, v0, ev, dv_out,
                              da_out, ds_prev, terms, terms + B, terms + 2 * B);
  else
    backward_core<M, K, false>(m, c, sg, B, ds, dv_next, da_next, u_t, a_t, u_p, a_p, s0, a0, v0, ev, dv_out,
                               da_out, ds_prev, terms, terms + B, terms + 2 * B);
}

template <NeuronModel M, class T>
RSNN_HOT_INLINE void backward_core_m(bool first, const lif::ModelParams<T>& m, const lif::NeuronConst<T>& c,
                                     const lif::SurrogateParams<T>& sg, int64_t B, const T* ds,
                                     const T* dv_next, const T* da_next, const T* u_t, const T* a_t,
                                     const T* u_p, const T* a_p, const T* s0, const T* a0, const T* v0,
                                     const T* ev, T* dv_out, T* da_out, T* ds_prev, double* terms) {
  switch (sg.kind) {
    case Surrogate::gaussian:
      backward_core_t<M, Surrogate::gaussian>(first, m, c, sg, B, ds, dv_next, da_next, u_t, a_t, u_p, a_p, s0,
                                              a0, v0, ev, dv_out, da_out, ds_prev, terms);
      break;
    case Surrogate::fast_sigmoid:
      backward_core_t<M, Surrogate::fast_sigmoid>(first, m, c, sg, B, ds, dv_next, da_next, u_t, a_t, u_p, a_p,
                                                  s0, a0, v0, ev, dv_out, da_out, ds_prev, terms);
      break;
    default:
      backward_core_t<M, Surrogate::triangle>(first, m, c, sg, B, ds, dv_next, da_next, u_t, a_t, u_p, a_p, s0,
                                              a0, v0, ev, dv_out, da_out, ds_prev, terms);
  }
}

template <class T>
RSNN_HOT void backward_row(const lif::ModelParams<T>& m, const lif::NeuronConst<T>& c,
                           const lif::SurrogateParams<T>& sg, int64_t B, int64_t block, const T* ds,
                           const T* dv_next, const T* da_next, const T* u_t, const T* a_t,
                           const T* u_p, const T* a_p, const T* s0, const T* a0, const T* v0,
                           const T* e, int64_t e_stride, T* ev, double* terms, T* dv_out, T* dvt,
                           int64_t dvt_stride, T* da_out, T* ds_prev, T* di, int64_t di_stride,
                           double* sums) {
  const bool first = u_p == nullptr;
  if (e) {
    for (int64_t b = 0; b < B; ++b) ev[b] = e[b * e_stride];
  } else {
    for (int64_t b = 0; b < B; ++b) ev[b] = T(0);
  }
  if (m.model == NeuronModel::alif)
    backward_core_m<NeuronModel::alif>(first, m, c, sg, B, ds, dv_next, da_next, u_t, a_t, u_p, a_p, s0, a0, v0,
                                       ev, dv_out, da_out, ds_prev, terms);
  else
    backward_core_m<NeuronModel::lif>(first, m, c, sg, B, ds, dv_next, da_next, u_t, a_t, u_p, a_p, s0, a0, v0,
                                      ev, dv_out, da_out, ds_prev, terms);
  for (int64_t b0 = 0, blk = 0; b0 < B; b0 += block, ++blk) {
    const int64_t b1 = std::min(B, b0 + block);
    for (int k = 0; k < 3; ++k) {
      double acc = 0;
      for (int64_t b = b0; b < b1; ++b) acc += terms[k * B + b];
      sums[3 * blk + k] += acc;
    }
  }
  for (int64_t b = 0; b < B; ++b) dvt[b * dvt_stride] = dv_out[b];
  if (di)
    for (int64_t b = 0; b < B; ++b) di[b * di_stride] = c.in_gain * dv_out[b];
}

}  // namespace rsnn::kernels::lif_rows
