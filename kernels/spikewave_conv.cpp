// Fast CPU IF convolution on first-spike times (kernels/spikewave.h: if_conv_fire).
//
// Per output position, only the receptive field's spiking inputs are visited, in (c, ky, kx)
// order (a next-spiking-column table hops over the others). Each step's weight sum starts
// from zero and adds its inputs in that order, then joins the potential, exactly as the
// per-step reference sums, so both give the same bits. Two ways to form the step sums:
//   - buckets (at most 64 features): each input's weight row is added into the bucket of
//     its step (T x features floats in L1), then the buckets are scanned in step order;
//   - sorted (wider layers): the inputs are counting-sorted by step once per position, then
//     each block of 64 features sums every step's rows in registers; the sort is shared by
//     all blocks, and there are no bucket stores.
#include <omp.h>

#include <vector>

#include "kernels/spikewave.h"
#include "runtime/error.h"
#include "runtime/multiversion.h"

namespace rsnn::sw {

namespace {

struct ConvArgs {
  const uint8_t* t_in;
  int Cin, H, W;
  const uint16_t* next;  // [Cin][H][W+1]: first spiking column >= x in the row, or W
  const float* w_t;
  int ld;  // row stride of w_t: padded_features(Cout)
  int Cout, K, T;
  float theta;
  uint8_t* t_out;
  float* pot_first;
  float* pot_last;
};

// Eight floats, loadable from any 4-byte-aligned address (GCC vector extension: one AVX
// register in the x86-64-v3 clone, two SSE registers in the baseline one). GCC's vector
// types alias their element type, so float data may be read through v8 (and stores to v8
// do not force reloads of int fields, which may_alias would).
typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef int v8i __attribute__((vector_size(32), aligned(4)));

// The state of 8 NV features of one position while the steps advance.
template <int NV>
struct Block {
  v8 pot[NV], pf[NV];
  v8i tf[NV];

// GCC 12 reports the 256-bit lanes split in the baseline (SSE) clone as possibly
// uninitialized here, though every lane is set.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
  RSNN_ALWAYS_INLINE explicit Block(int T) {
    for (int j = 0; j < NV; ++j) {
      pot[j] = v8{};
      pf[j] = v8{};
      tf[j] = v8i{T, T, T, T, T, T, T, T};
    }
  }
#pragma GCC diagnostic pop
  // Join step t's sums; true when every feature of the block has fired.
  RSNN_ALWAYS_INLINE bool step(const v8* acc, int t, int T, float theta) {
    const v8i tv = v8i{} + t, never = v8i{} + T;
    const v8 th = v8{} + theta;
    v8i waiting = v8i{};
    for (int j = 0; j < NV; ++j) {
      pot[j] += acc[j];
      const v8i fire = (tf[j] == never) & (pot[j] > th);
      tf[j] = fire ? tv : tf[j];
      pf[j] = fire ? pot[j] : pf[j];
      waiting |= tf[j] == never;
    }
    long long q[4];
    __builtin_memcpy(q, &waiting, sizeof(q));
    return (q[0] | q[1] | q[2] | q[3]) == 0;
  }
  // Join step t's sum into group j alone; true when all 8 of its features have fired.
  RSNN_ALWAYS_INLINE bool join(int j, v8 acc, int t, int T, float theta) {
    const v8i never = v8i{} + T;
    pot[j] += acc;
    const v8i fire = (tf[j] == never) & (pot[j] > (v8{} + theta));
    tf[j] = fire ? v8i{} + t : tf[j];
    pf[j] = fire ? pot[j] : pf[j];
    const v8i waiting = tf[j] == never;
    long long q[4];
    __builtin_memcpy(q, &waiting, sizeof(q));
    return (q[0] | q[1] | q[2] | q[3]) == 0;
  }
  RSNN_ALWAYS_INLINE void store(const ConvArgs& a, int p, int f0) const {
    const int HWo = (a.H - a.K + 1) * (a.W - a.K + 1);
    for (int j = 0; j < NV; ++j)
      for (int l = 0; l < 8; ++l) {
        const int f = f0 + 8 * j + l;
        if (f >= a.Cout) return;
        const size_t o = size_t(f) * HWo + p;
        a.t_out[o] = static_cast<uint8_t>(tf[j][l]);
        a.pot_first[o] = pf[j][l];
        if (a.pot_last) a.pot_last[o] = pot[j][l];
      }
  }
};

// Calls f(i, t) for the receptive field's spiking inputs at position (y, x) in (c, ky, kx)
// order, i = (c * K + ky) * K + kx.
template <class F>
RSNN_ALWAYS_INLINE void for_spiking_inputs(const ConvArgs& a, int y, int x, F&& f) {
  const int K = a.K;
  for (int c = 0; c < a.Cin; ++c)
    for (int ky = 0; ky < K; ++ky) {
      const size_t r0 = size_t(c) * a.H + y + ky;
      const uint8_t* row = a.t_in + r0 * a.W;
      const uint16_t* nx = a.next + r0 * (a.W + 1);
      const int i0 = (c * K + ky) * K - x;
      for (int xx = nx[x]; xx < x + K; xx = nx[xx + 1]) f(i0 + xx, int(row[xx]));
    }
}

// Bucket path, all ld = 8 NV features in one block. `bucket` holds T * ld zeros on entry
// and on exit.
template <int NV>
RSNN_ALWAYS_INLINE void position_buckets(const ConvArgs& a, int p, float* bucket) {
  const int Wo = a.W - a.K + 1, T = a.T;
  const size_t ld = size_t(a.ld);
  const float* w_t = a.w_t;
  uint32_t used[8] = {0};  // bit t: step t has inputs (T <= 254)
  for_spiking_inputs(a, p / Wo, p % Wo, [&](int i, int t) {
    used[t >> 5] |= 1u << (t & 31);
    v8* b = reinterpret_cast<v8*>(bucket + size_t(t) * ld);
    const v8* w = reinterpret_cast<const v8*>(w_t + size_t(i) * ld);
    for (int j = 0; j < NV; ++j) b[j] += w[j];
  });
  Block<NV> blk(T);
  bool done = false;
  for (int t = 0; t < T; ++t) {
    if (!(used[t >> 5] >> (t & 31) & 1u)) continue;  // pot + 0 = pot: no new crossing
    v8* b = reinterpret_cast<v8*>(bucket + size_t(t) * a.ld);
    if (!done) done = blk.step(b, t, T, a.theta) && !a.pot_last;
    for (int j = 0; j < NV; ++j) b[j] = v8{};
  }
  blk.store(a, p, 0);
}

// Step sums of M groups of 8 features (group offsets g[], in floats) over the rows
// [r0, r1), M independent chains; each lane adds its rows in list order.
template <int M>
RSNN_ALWAYS_INLINE void sum_groups(const float* w, const int* rows, int r0, int r1,
                                   const int* g, v8* out) {
  v8 s[M];
  for (int q = 0; q < M; ++q) s[q] = v8{};
  for (int r = r0; r < r1; ++r) {
    const float* wr = w + rows[r];
    for (int q = 0; q < M; ++q) s[q] += *reinterpret_cast<const v8*>(wr + g[q]);
  }
  for (int q = 0; q < M; ++q) out[q] = s[q];
}

// Sorted path: features [f0, f0 + 8 NV); rows[start[t] .. start[t+1]) are the weight-row
// offsets of step t's inputs in (c, ky, kx) order. When only first spikes are wanted
// (no pot_last), a group of 8 features drops out once all of them fired, so late steps
// cost only what still waits; the groups left are summed four at a time.
template <int NV>
RSNN_ALWAYS_INLINE void block_sorted(const ConvArgs& a, int p, int f0, const int* rows,
                                     const int* start) {
  const float* w = a.w_t + f0;
  Block<NV> blk(a.T);
  int live[NV], goff[NV], n = NV;  // groups still integrating, and their float offsets
  for (int j = 0; j < NV; ++j) live[j] = j;
  for (int t = 0; t < a.T && n > 0; ++t) {
    if (start[t] == start[t + 1]) continue;
    for (int q = 0; q < n; ++q) goff[q] = 8 * live[q];
    v8 acc[NV];
    int q0 = 0;
    for (; q0 + 4 <= n; q0 += 4) sum_groups<4>(w, rows, start[t], start[t + 1], goff + q0, acc + q0);
    switch (n - q0) {
      case 3: sum_groups<3>(w, rows, start[t], start[t + 1], goff + q0, acc + q0); break;
      case 2: sum_groups<2>(w, rows, start[t], start[t + 1], goff + q0, acc + q0); break;
      case 1: sum_groups<1>(w, rows, start[t], start[t + 1], goff + q0, acc + q0); break;
      default: break;
    }
    int keep = 0;
    for (int q = 0; q < n; ++q) {
      const bool done = blk.join(live[q], acc[q], t, a.T, a.theta);
      if (!done || a.pot_last) live[keep++] = live[q];
    }
    n = keep;
  }
  blk.store(a, p, f0);
}

// Output positions [p0, p1) (flat y * Wo + x). scratch: 3 * Cin*K*K ints and T * ld floats.
RSNN_MULTIVERSION void conv_positions(const ConvArgs& a, int p0, int p1, int* iscratch,
                                      float* bucket) {
  const int Wo = a.W - a.K + 1, T = a.T, CKK = a.Cin * a.K * a.K;
  if (a.ld <= 64) {
    for (int p = p0; p < p1; ++p) switch (a.ld / 8) {
        case 1: position_buckets<1>(a, p, bucket); break;
        case 2: position_buckets<2>(a, p, bucket); break;
        case 3: position_buckets<3>(a, p, bucket); break;
        case 4: position_buckets<4>(a, p, bucket); break;
        case 5: position_buckets<5>(a, p, bucket); break;
        case 6: position_buckets<6>(a, p, bucket); break;
        case 7: position_buckets<7>(a, p, bucket); break;
        default: position_buckets<8>(a, p, bucket); break;
      }
    return;
  }
  int* rows = iscratch;             // weight-row offsets grouped by step
  int* sp_i = iscratch + CKK;       // spiking inputs in (c, ky, kx) order ...
  int* sp_t = iscratch + 2 * CKK;   // ... and their steps
  int start[256], count[256];
  for (int p = p0; p < p1; ++p) {
    int n = 0;
    for_spiking_inputs(a, p / Wo, p % Wo, [&](int i, int t) {
      sp_i[n] = i;
      sp_t[n++] = t;
    });
    for (int t = 0; t < T; ++t) count[t] = 0;
    for (int j = 0; j < n; ++j) count[sp_t[j]]++;
    start[0] = 0;
    for (int t = 0; t < T; ++t) {
      start[t + 1] = start[t] + count[t];
      count[t] = start[t];  // now the fill position of step t
    }
    for (int j = 0; j < n; ++j) rows[count[sp_t[j]]++] = sp_i[j] * a.ld;
    int f0 = 0;
    for (; f0 + 64 <= a.ld; f0 += 64) block_sorted<8>(a, p, f0, rows, start);
    if (f0 + 32 <= a.ld) block_sorted<4>(a, p, f0, rows, start), f0 += 32;
    if (f0 + 16 <= a.ld) block_sorted<2>(a, p, f0, rows, start), f0 += 16;
    if (f0 + 8 <= a.ld) block_sorted<1>(a, p, f0, rows, start);
  }
}

}  // namespace

void transpose_weights(const float* w, int Cout, int CKK, float* w_t) {
  const int ld = padded_features(Cout);
  for (int i = 0; i < CKK; ++i) {
    for (int f = 0; f < Cout; ++f) w_t[size_t(i) * ld + f] = w[size_t(f) * CKK + i];
    for (int f = Cout; f < ld; ++f) w_t[size_t(i) * ld + f] = 0.0f;
  }
}

void if_conv_fire(const uint8_t* t_in, int Cin, int H, int W, const float* w_t, int Cout,
                  int K, int T, float theta, uint8_t* t_out, float* pot_first,
                  float* pot_last) {
  RSNN_CHECK(Cin > 0 && Cout > 0 && K > 0 && H >= K && W >= K && W < 65535,
             "if_conv_fire: bad sizes Cin ", Cin, " H ", H, " W ", W, " Cout ", Cout, " K ", K);
  RSNN_CHECK(T > 0 && T <= 254, "if_conv_fire: T must be in [1, 254], got ", T);
  RSNN_CHECK(theta >= 0.0f, "if_conv_fire: threshold must be >= 0, got ", theta);
  // Per row, the first spiking column at or after each x (W: none).
  std::vector<uint16_t> next(size_t(Cin) * H * (W + 1));
  for (size_t r = 0; r < size_t(Cin) * H; ++r) {
    uint16_t* nx = next.data() + r * (W + 1);
    nx[W] = uint16_t(W);
    for (int x = W - 1; x >= 0; --x) nx[x] = t_in[r * W + x] < T ? uint16_t(x) : nx[x + 1];
  }
  const int ld = padded_features(Cout);
  const ConvArgs a{t_in, Cin, H, W, next.data(), w_t, ld, Cout, K, T,
                   theta, t_out, pot_first, pot_last};
  const int P = (H - K + 1) * (W - K + 1);
  // Threads pay off only for a whole layer (about 10^5 feature-input pairs or more) and not
  // when the caller already runs samples in parallel.
  const bool par = !omp_in_parallel() && omp_get_max_threads() > 1 &&
                   double(P) * Cin * K * K * Cout > 2e5;
  auto run = [&](int p0, int p1) {
    std::vector<int> iscratch(size_t(3) * Cin * K * K);
    std::vector<float> bucket(ld <= 64 ? size_t(T) * ld : 0, 0.0f);
    conv_positions(a, p0, p1, iscratch.data(), bucket.data());
  };
  if (!par) {
    run(0, P);
    return;
  }
#pragma omp parallel
  {
    const int nth = omp_get_num_threads(), tid = omp_get_thread_num();
    run(int(int64_t(P) * tid / nth), int(int64_t(P) * (tid + 1) / nth));
  }
}

}  // namespace rsnn::sw
