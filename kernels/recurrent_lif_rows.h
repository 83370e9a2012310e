// Internal to the optimized CPU recurrent LIF layer (recurrent_lif_cpu.h): its per-row and
// per-phase loops besides the gathers (recurrent_lif_gather.h). Each is compiled twice
// (baseline x86-64 and x86-64-v3 = AVX2 + FMA) and the variant is picked at load time;
// thread-count and strategy invariance hold on one machine.
// "B" below is the row length of the slice being processed (the slice's own sample count).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/lif_math.h"
#include "kernels/recurrent_lif_gather.h"
#include "runtime/multiversion.h"

namespace rsnn::kernels::lif_rows {

// ---- the readout error: dL/ds of the readout neurons from dL/dy -----------------------------
// out[(s * S + c) * Bs + b] = sum_r w[r * C + c] * dy[s * D + b * R + r] for the columns
// c in [c0, c1), the steps s < ns and the samples b < Bs (w: W_ro [R, C], a row's C weights
// contiguous; dy: a step's [Bs, R] gradients at stride D; S: the columns per step of out).
// Register tiles of CV vectors of columns x P (step, sample) pairs share their loads; every
// output sums its R terms in order, r = 0, 1, ..., one multiply-add at a time, in its own
// vector lane, so it gets the same bits in any tile, at any vector width (the AVX-512 and
// AVX2 + FMA versions agree exactly; the baseline build, without FMA, rounds each product).
// The tiles replaced a dot-product form along r that was slower (docs/perf-log.md).
template <class T, class VT, int CV, int P, bool Full>
RSNN_ALWAYS_INLINE void readout_tile(int64_t R, int64_t C, int64_t c, int nc, const T* w, const T* const* x,
                                     VT* acc) {
  constexpr int L = sizeof(VT) / sizeof(T);
  for (int i = 0; i < CV * P; ++i) acc[i] = VT{};
  for (int64_t r = 0; r < R; ++r) {
    VT wv[CV];
    for (int v = 0; v < CV; ++v) {
      if (Full) {
        std::memcpy(&wv[v], w + r * C + c + v * L, sizeof(VT));
      } else {
        wv[v] = VT{};
        for (int l = 0; l < L; ++l)
          if (v * L + l < nc) wv[v][l] = w[r * C + c + v * L + l];
      }
    }
    for (int i = 0; i < P; ++i) {
      const T xv = x[i][r];
      for (int v = 0; v < CV; ++v) acc[v * P + i] += wv[v] * xv;
    }
  }
}

template <class T, class VT, int CV, int P>
RSNN_ALWAYS_INLINE void readout_error_tiles(int64_t R, int64_t C, int64_t c0, int64_t c1, const T* w, int64_t ns,
                                            const T* dy, int64_t D, int64_t Bs, int64_t S, T* out) {
  constexpr int L = sizeof(VT) / sizeof(T), W = CV * L;
  const int64_t pairs = ns * Bs;
  for (int64_t c = c0; c < c1; c += W) {
    const int nc = static_cast<int>(std::min<int64_t>(W, c1 - c));
    for (int64_t p0 = 0; p0 < pairs; p0 += P) {
      const int np = static_cast<int>(std::min<int64_t>(P, pairs - p0));
      const T* x[P];
      for (int i = 0; i < P; ++i) {
        const int64_t p = p0 + std::min(i, np - 1);  // a short tile repeats its last pair
        x[i] = dy + (p / Bs) * D + (p % Bs) * R;
      }
      VT acc[CV * P];
      if (nc == W)
        readout_tile<T, VT, CV, P, true>(R, C, c, nc, w, x, acc);
      else
        readout_tile<T, VT, CV, P, false>(R, C, c, nc, w, x, acc);
      for (int i = 0; i < np; ++i) {
        const int64_t p = p0 + i, s = p / Bs, b = p % Bs;
        for (int v = 0; v < CV; ++v) {
          T lanes[L];
          std::memcpy(lanes, &acc[v * P + i], sizeof(VT));
          for (int l = 0; l < L && v * L + l < nc; ++l) out[(s * S + c + v * L + l) * Bs + b] = lanes[l];
        }
      }
    }
  }
}

template <class T>
RSNN_MULTIVERSION void readout_error_avx2(int64_t R, int64_t C, int64_t c0, int64_t c1, const T* w, int64_t ns,
                                          const T* dy, int64_t D, int64_t Bs, int64_t S, T* out) {
  readout_error_tiles<T, typename Vec<T>::type, 2, 6>(R, C, c0, c1, w, ns, dy, D, Bs, S, out);
}

#if RSNN_MULTIVERSION_X86
template <class T>
__attribute__((target("arch=x86-64-v4"), noinline)) void readout_error_avx512(int64_t R, int64_t C, int64_t c0,
                                                                              int64_t c1, const T* w, int64_t ns,
                                                                              const T* dy, int64_t D, int64_t Bs,
                                                                              int64_t S, T* out) {
  typedef T V64 __attribute__((vector_size(64)));
  readout_error_tiles<T, V64, 2, 8>(R, C, c0, c1, w, ns, dy, D, Bs, S, out);
}
#endif

template <class T>
void readout_error(int64_t R, int64_t C, int64_t c0, int64_t c1, const T* w, int64_t ns, const T* dy, int64_t D,
                   int64_t Bs, int64_t S, T* out) {
#if RSNN_MULTIVERSION_X86
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx512) return readout_error_avx512<T>(R, C, c0, c1, w, ns, dy, D, Bs, S, out);
#endif
  readout_error_avx2<T>(R, C, c0, c1, w, ns, dy, D, Bs, S, out);
}

// Weight-gradient sums of one source row: for every sample b in list (ascending) where the
// source's spike value sval[b] is non-zero, and every entry k in [k0, k1):
//   q[(b / block) * q_stride + k] += sval[b] * dvt[b * N + post[k]]
// dvt is the targets' dL/dv sample-major [B, N] (N: its row stride), so a sample's row stays in
// cache while the entries stream by (the same access pattern as the forward push).
template <class T>
RSNN_ALWAYS_INLINE void q_row(int64_t n, T sv, const int32_t* __restrict post, const T* __restrict d,
                           T* __restrict qc) {
  for (int64_t k = 0; k < n; ++k) qc[k] += sv * d[post[k]];
}

template <class T>
RSNN_MULTIVERSION void q_push(int64_t k0, int64_t k1, const int32_t* post, const T* dvt, int64_t N,
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
// pre-major entries [first[j], last[j]) with targets in [i0, i1) into acc[b * As + target],
// adding w_t[k] * s[j * B + b]. Sources ascending, so each target sums in source order.
template <class T>
RSNN_MULTIVERSION void push_phase(const Part& part, int64_t N, int64_t As, int64_t B, int64_t W, int64_t j0, int64_t j1,
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
        T* ab = acc + b * As;
        for (int64_t k = k0; k < k1; ++k) ab[post[k]] += w_t[k] * sv;
      }
    }
  }
}

// ---- push accumulators -> neuron rows --------------------------------------------------------
// The accumulators are sample-major (acc[b * As + i]) so that a spike's scatter stays within
// one sample's row; the neuron update wants neuron-major B-vectors. take_acc_tile moves a tile
// of n <= kAccTile neurons [i, i + n) of all B samples into tile[r * B + b] = P[b * As + r]
// (+ C[b * As + r] when C is not null: the same P + C the update would form) and zeroes the
// accumulators read. Full float tiles go through 8 x 8 register transposes: 1/8 of the loads and
// stores of reading a column element by element.
constexpr int64_t kAccTile = 8;

RSNN_ALWAYS_INLINE void transpose8(float (&r)[8][8], float* out, int64_t B) {
  typedef float V __attribute__((vector_size(32)));
  typedef int I __attribute__((vector_size(32)));
  V x[8], t[8], u[8];
  for (int k = 0; k < 8; ++k) std::memcpy(&x[k], r[k], sizeof(V));
  const I lo = {0, 8, 1, 9, 4, 12, 5, 13}, hi = {2, 10, 3, 11, 6, 14, 7, 15};
  for (int k = 0; k < 8; k += 2) {
    t[k] = __builtin_shuffle(x[k], x[k + 1], lo);
    t[k + 1] = __builtin_shuffle(x[k], x[k + 1], hi);
  }
  const I plo = {0, 1, 8, 9, 4, 5, 12, 13}, phi = {2, 3, 10, 11, 6, 7, 14, 15};
  for (int k = 0; k < 8; k += 4) {
    u[k] = __builtin_shuffle(t[k], t[k + 2], plo);
    u[k + 1] = __builtin_shuffle(t[k], t[k + 2], phi);
    u[k + 2] = __builtin_shuffle(t[k + 1], t[k + 3], plo);
    u[k + 3] = __builtin_shuffle(t[k + 1], t[k + 3], phi);
  }
  const I qlo = {0, 1, 2, 3, 8, 9, 10, 11}, qhi = {4, 5, 6, 7, 12, 13, 14, 15};
  for (int k = 0; k < 4; ++k) {
    const V a = __builtin_shuffle(u[k], u[k + 4], qlo), b = __builtin_shuffle(u[k], u[k + 4], qhi);
    std::memcpy(out + k * B, &a, sizeof(V));        // neuron k
    std::memcpy(out + (k + 4) * B, &b, sizeof(V));  // neuron k + 4
  }
}

template <class T>
RSNN_MULTIVERSION void take_acc_tile(int64_t B, int64_t As, int64_t n, T* P, T* C, T* tile) {
  int64_t b0 = 0;
  if constexpr (sizeof(T) == 4) {
    if (n == 8) {
      float r[8][8];
      for (; b0 + 8 <= B; b0 += 8) {
        for (int k = 0; k < 8; ++k) {
          T* p = P + (b0 + k) * As;
          // the next line of the row (read two tiles on): a column walk is not prefetched
          __builtin_prefetch(p + 16, 1);
          if (C) __builtin_prefetch(C + (b0 + k) * As + 16, 1);
          if (C) {
            T* c = C + (b0 + k) * As;
            for (int m = 0; m < 8; ++m) r[k][m] = p[m] + c[m];
            std::memset(c, 0, 8 * sizeof(T));
          } else {
            for (int m = 0; m < 8; ++m) r[k][m] = p[m];
          }
          std::memset(p, 0, 8 * sizeof(T));
        }
        transpose8(r, tile + b0, B);
      }
    }
  }
  for (; b0 < B; ++b0) {
    T* p = P + b0 * As;
    T* c = C ? C + b0 * As : nullptr;
    for (int64_t m = 0; m < n; ++m) {
      tile[m * B + b0] = c ? p[m] + c[m] : p[m];
      p[m] = T(0);
      if (c) c[m] = T(0);
    }
  }
}

// ---- neuron rows ---------------------------------------------------------------------------
template <NeuronModel M, class T>
RSNN_ALWAYS_INLINE void update_core(const lif::ModelParams<T> m, const lif::NeuronConst<T> c, int64_t B,
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
// a gathered B-vector, the row stride of the per-sample accumulators, which are then zeroed; C may be
// null). e: external current of the row (stride e_stride) or null. cur: [B] scratch. Writes
// v, a, s_cur, the mask words and the saved u, a (when non-null). Returns how many fired.
template <class T>
RSNN_MULTIVERSION int32_t update_row(const lif::ModelParams<T>& m, const lif::NeuronConst<T>& c, int64_t B,
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
RSNN_ALWAYS_INLINE void backward_core(const lif::ModelParams<T> m, const lif::NeuronConst<T> c,
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
RSNN_ALWAYS_INLINE void backward_core_t(bool first, const lif::ModelParams<T>& m, const lif::NeuronConst<T>& c,
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
RSNN_ALWAYS_INLINE void backward_core_m(bool first, const lif::ModelParams<T>& m, const lif::NeuronConst<T>& c,
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

// backward_row<T, 0>: any B and block; backward_row<T, 8>: B = block = 8, compiled for it:
// the same operations in the same order in about half the time. the CPU backward runs every
// whole 8-sample block through <T, 8> and only the batch's last B mod 8 samples through
// <T, 0>, so that no sample's bits depend on which of the two compilations ran it.
template <class T, int FB>
RSNN_MULTIVERSION void backward_row(const lif::ModelParams<T>& m, const lif::NeuronConst<T>& c,
                           const lif::SurrogateParams<T>& sg, int64_t B_, int64_t block_, const T* ds,
                           const T* dv_next, const T* da_next, const T* u_t, const T* a_t,
                           const T* u_p, const T* a_p, const T* s0, const T* a0, const T* v0,
                           const T* e, int64_t e_stride, T* ev_, double* terms_, T* dv_out, T* dvt,
                           int64_t dvt_stride, T* da_out, T* ds_prev, T* di, int64_t di_stride,
                           double* sums) {
  // FB > 0: B = block = FB known at compile time, the scratch in registers
  const int64_t B = FB > 0 ? FB : B_, block = FB > 0 ? FB : block_;
  T ev_fixed[FB > 0 ? FB : 1];
  double terms_fixed[FB > 0 ? 3 * FB : 1];
  T* ev = FB > 0 ? ev_fixed : ev_;
  double* terms = FB > 0 ? terms_fixed : terms_;
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
