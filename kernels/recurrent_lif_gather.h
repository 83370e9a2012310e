// Internal to the optimized CPU recurrent LIF layer: the B-vector gathers of its forward
// (pull) and backward (the error sent to the sources). Each is compiled twice (baseline x86-64
// and x86-64-v3 = AVX2 + FMA) and the variant is picked at load time (runtime/multiversion.h).
// "B" below is the row length of the slice being processed (the slice's own sample count).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "runtime/multiversion.h"

namespace rsnn::kernels::lif_rows {

template <class T>
struct Vec {
  typedef T type __attribute__((vector_size(32)));
  static constexpr int lanes = 32 / sizeof(T);
};

// ---- the B-vector gather: acc[0:B] += sum_k w[k] * rows[idx[k]][0:B] ------------------------
// Dense = false: entries whose source is silent (active != null and active[idx] == 0) are
// skipped, with a branch (cheap while most sources are silent and it predicts well). Dense =
// true: every entry is added; a silent source's row is zeros, so for finite weights the sums
// are the same bits (acc + w * 0 == acc: acc starts at +0 and never becomes -0), with no branch
// to mispredict (the branch is what made dense first steps slow: docs/perf-log.md). Chunks
// of up to 8 vectors of acc stay in registers while the entries stream by; each element sums
// in ascending k.
template <class T, int CH, bool Dense>
RSNN_ALWAYS_INLINE int64_t gather_chunk(int64_t B, int64_t b0, int64_t k0, int64_t k1, const int32_t* idx,
                            const T* w, const T* rows, const int32_t* active, T* acc) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::lanes;
  for (; b0 + CH * L <= B; b0 += CH * L) {
    V a[CH];
    for (int c = 0; c < CH; ++c) std::memcpy(&a[c], acc + b0 + c * L, sizeof(V));
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t j = idx[k];
      if (!Dense && active && active[j] == 0) continue;
      const T wk = w[k];
      const T* r = rows + j * B + b0;
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

template <class T, bool Dense>
RSNN_ALWAYS_INLINE void gather_rows_t(int64_t B, int64_t k0, int64_t k1, const int32_t* idx, const T* w,
                                      const T* rows, const int32_t* active, T* acc) {
  int64_t b0 = gather_chunk<T, 8, Dense>(B, 0, k0, k1, idx, w, rows, active, acc);
  b0 = gather_chunk<T, 4, Dense>(B, b0, k0, k1, idx, w, rows, active, acc);
  b0 = gather_chunk<T, 2, Dense>(B, b0, k0, k1, idx, w, rows, active, acc);
  b0 = gather_chunk<T, 1, Dense>(B, b0, k0, k1, idx, w, rows, active, acc);
  for (; b0 < B; ++b0) {
    T s = acc[b0];
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t j = idx[k];
      if (!Dense && active && active[j] == 0) continue;
      s += w[k] * rows[j * B + b0];
    }
    acc[b0] = s;
  }
}

template <class T>
RSNN_MULTIVERSION void gather_rows(int64_t B, int64_t k0, int64_t k1, const int32_t* idx, const T* w,
                          const T* rows, const int32_t* active, T* acc, bool dense = false) {
  if (dense)
    gather_rows_t<T, true>(B, k0, k1, idx, w, rows, active, acc);
  else
    gather_rows_t<T, false>(B, k0, k1, idx, w, rows, active, acc);
}

// Four rows' dense gathers at once when B is one vector (B = L): acc[r][0:L] += sum_k w[k] *
// rows[idx[k]][0:L] over row r's own entries [k0[r], k1[r]), every entry added (gather_rows,
// Dense), each row's terms in ascending k: the same bits as four gather_rows calls, with four
// chains of multiply-adds in flight instead of one.
template <class T>
RSNN_MULTIVERSION void gather_rows_x4(const int64_t* k0, const int64_t* k1, const int32_t* idx, const T* w,
                                      const T* rows, T* const* acc) {
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::lanes;
  V a[4];
  int64_t m = k1[0] - k0[0];
  for (int r = 0; r < 4; ++r) {
    std::memcpy(&a[r], acc[r], sizeof(V));
    m = std::min(m, k1[r] - k0[r]);
  }
  auto add = [&](int r, int64_t k) {
    V x;
    std::memcpy(&x, rows + static_cast<int64_t>(idx[k]) * L, sizeof(V));
    a[r] += w[k] * x;
  };
  for (int64_t i = 0; i < m; ++i)
    for (int r = 0; r < 4; ++r) add(r, k0[r] + i);
  for (int r = 0; r < 4; ++r) {
    for (int64_t k = k0[r] + m; k < k1[r]; ++k) add(r, k);
    std::memcpy(acc[r], &a[r], sizeof(V));
  }
}

// The backward's form (no skipping). Every element sums its entries in four interleaved
// chains, entry k0 + 4m + u into chain u (chain 0 starts from acc), then (c0 + c1) + (c2 + c3),
// so that a narrow slice (one 8-wide vector: a batch of 8) is bound neither by the latency of
// a chain of multiply-adds nor by loading every 16-bit target alone: four targets come in one
// 64-bit load. Chunks of at most 2 vectors keep all chains of a chunk in registers (8 of the
// 16 AVX2 registers). The samples left over after the vectors (the batch's last B mod 8
// samples, or all of them when B < 8) sum in the same four chains, one sample at a time. A
// sample's chains do not depend on the chunk it falls in, and which samples are left over
// does not depend on how the batch is sliced, so no element's summation order depends on the
// slicing. (Faster per entry than two chains with one load per target; L2-sized target
// tiles gave nothing: docs/perf-log.md.)

// Four targets of entries [k, k + 4) (one 64-bit load for 16-bit targets).
template <class Ix>
RSNN_ALWAYS_INLINE void targets4(Ix idx, int64_t k, int64_t* i) {
  if constexpr (std::is_same_v<Ix, const uint16_t*>) {
    uint64_t q;
    std::memcpy(&q, idx + k, sizeof(q));
    for (int u = 0; u < 4; ++u) i[u] = static_cast<int64_t>((q >> (16 * u)) & 0xffff);
  } else {
    for (int u = 0; u < 4; ++u) i[u] = static_cast<int64_t>(idx[k + u]);
  }
}

// gather4_chunk: rows of acc from b0 on, CH vectors at a time, entries [k0, k1). FixedB: B
// known at compile time (the row address a shift, not a multiply: the multiplies took port 1
// from the multiply-adds).
template <class T, int CH, class Ix, int64_t FixedB = 0>
RSNN_ALWAYS_INLINE int64_t gather4_chunk(int64_t B_, int64_t b0, int64_t k0, int64_t k1, Ix idx,
                                      const T* w, const T* rows, T* acc) {
  const int64_t B = FixedB ? FixedB : B_;
  using V = typename Vec<T>::type;
  constexpr int L = Vec<T>::lanes;
  for (; b0 + CH * L <= B; b0 += CH * L) {
    V c0[CH], c1[CH], c2[CH], c3[CH];
    for (int c = 0; c < CH; ++c) {
      std::memcpy(&c0[c], acc + b0 + c * L, sizeof(V));
      c1[c] = c2[c] = c3[c] = V{};
    }
    const T* base = rows + b0;
    auto add = [&](V* s, int64_t i, T wk) {
      const T* r = base + i * B;
      for (int c = 0; c < CH; ++c) {
        V x;
        std::memcpy(&x, r + c * L, sizeof(V));
        s[c] += wk * x;
      }
    };
    int64_t k = k0;
    for (; k + 4 <= k1; k += 4) {
      int64_t i[4];
      targets4(idx, k, i);
      add(c0, i[0], w[k]);
      add(c1, i[1], w[k + 1]);
      add(c2, i[2], w[k + 2]);
      add(c3, i[3], w[k + 3]);
    }
    if (k < k1) add(c0, idx[k], w[k]);
    if (k + 1 < k1) add(c1, idx[k + 1], w[k + 1]);
    if (k + 2 < k1) add(c2, idx[k + 2], w[k + 2]);
    for (int c = 0; c < CH; ++c) {
      const V sum = (c0[c] + c1[c]) + (c2[c] + c3[c]);
      std::memcpy(acc + b0 + c * L, &sum, sizeof(V));
    }
  }
  return b0;
}

template <class T, class Ix>
RSNN_ALWAYS_INLINE int64_t gather_bwd_vec(int64_t B, int64_t k0, int64_t k1, Ix idx, const T* w,
                                       const T* rows, T* acc) {
  const int64_t b0 = gather4_chunk<T, 2, Ix>(B, 0, k0, k1, idx, w, rows, acc);
  return gather4_chunk<T, 1, Ix>(B, b0, k0, k1, idx, w, rows, acc);
}

template <class T, class Ix>
RSNN_ALWAYS_INLINE void gather_bwd_tail(int64_t B, int64_t b0, int64_t k0, int64_t k1, Ix idx,
                                     const T* w, const T* rows, T* acc) {
  for (; b0 < B; ++b0) {
    T p[4] = {acc[b0], T(0), T(0), T(0)};
    int64_t k = k0;
    for (; k + 4 <= k1; k += 4)
      for (int u = 0; u < 4; ++u) p[u] += w[k + u] * rows[static_cast<int64_t>(idx[k + u]) * B + b0];
    for (int u = 0; k < k1; ++k, ++u) p[u] += w[k] * rows[static_cast<int64_t>(idx[k]) * B + b0];
    acc[b0] = (p[0] + p[1]) + (p[2] + p[3]);
  }
}

// acc[0:B] += sum over entries k in [k0, k1) of w[k] * rows[idx[k]][0:B], in the order above.
// Ix: a pointer to int32_t targets, or to uint16_t when the rows number at most 65,536 (a
// quarter less to stream per entry: index and weight tables are read whole every step and do
// not stay in cache).
template <class T, class Ix>
RSNN_MULTIVERSION void gather_rows_bwd(int64_t B, int64_t k0, int64_t k1, Ix idx, const T* w,
                              const T* rows, T* acc) {
  if (B == Vec<T>::lanes) {  // one vector: the B = 8 float training step
    gather4_chunk<T, 1, Ix, Vec<T>::lanes>(B, 0, k0, k1, idx, w, rows, acc);
    return;
  }
  const int64_t b0 = gather_bwd_vec<T, Ix>(B, k0, k1, idx, w, rows, acc);
  gather_bwd_tail(B, b0, k0, k1, idx, w, rows, acc);
}

}  // namespace rsnn::kernels::lif_rows
