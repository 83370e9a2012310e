// Fast CPU path of the spike-wave layer ops (kernels/spikewave.h): everything works on
// first-spike times; the IF convolution adds each spiking input's weights for all output
// features at once into the bucket of its spike step.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/spikewave.h"
#include "kernels/spikewave_math.h"
#include "runtime/error.h"
#include "runtime/multiversion.h"

namespace rsnn::sw {

namespace {

void check_conv(int Cin, int H, int W, int Cout, int K, int T, float theta) {
  RSNN_CHECK(Cin > 0 && Cout > 0 && K > 0 && H >= K && W >= K,
             "if_conv_fire: bad sizes Cin ", Cin, " H ", H, " W ", W, " Cout ", Cout, " K ", K);
  RSNN_CHECK(T > 0 && T <= 254, "if_conv_fire: T must be in [1, 254], got ", T);
  RSNN_CHECK(theta >= 0.0f, "if_conv_fire: threshold must be >= 0, got ", theta);
}

struct ConvArgs {
  const uint8_t* t_in;
  int Cin, H, W;
  const float* w_t;
  int Cout, K, T;
  float theta;
  uint8_t* t_out;
  float* pot_first;
  float* pot_last;
};

// Output positions [p0, p1) (flat y * Wo + x). `psum` holds T buckets of Cout floats, all
// zero on entry and exit; pot, tf, pf are Cout scratch each.
RSNN_MULTIVERSION void conv_positions(const ConvArgs& a, int p0, int p1, float* psum,
                                      float* pot, int* tf, float* pf) {
  const int Ho = a.H - a.K + 1, Wo = a.W - a.K + 1, HWo = Ho * Wo;
  const int Cout = a.Cout, T = a.T, K = a.K;
  const float theta = a.theta;
  for (int p = p0; p < p1; ++p) {
    const int y = p / Wo, x = p % Wo;
    uint32_t used = 0;  // bit t: bucket t got at least one input
    // Inputs in (c, ky, kx) order, so each bucket sums its terms in that order (the
    // reference's order).
    for (int c = 0; c < a.Cin; ++c)
      for (int ky = 0; ky < K; ++ky) {
        const uint8_t* row = a.t_in + (size_t(c) * a.H + y + ky) * a.W + x;
        const float* wrow = a.w_t + size_t((c * K + ky) * K) * Cout;
        for (int kx = 0; kx < K; ++kx) {
          const int t = row[kx];
          if (t >= T) continue;
          used |= 1u << t;
          float* __restrict b = psum + size_t(t) * Cout;
          const float* __restrict wv = wrow + size_t(kx) * Cout;
          for (int f = 0; f < Cout; ++f) b[f] += wv[f];
        }
      }
    for (int f = 0; f < Cout; ++f) {
      pot[f] = 0.0f;
      tf[f] = T;
      pf[f] = 0.0f;
    }
    for (int t = 0; t < T; ++t) {
      if (!(used >> t & 1u)) continue;  // pot + 0 = pot; it cannot newly cross
      float* __restrict b = psum + size_t(t) * Cout;
      for (int f = 0; f < Cout; ++f) {
        const float v = pot[f] + b[f];
        pot[f] = v;
        const bool fire = tf[f] == T && v > theta;
        tf[f] = fire ? t : tf[f];
        pf[f] = fire ? v : pf[f];
        b[f] = 0.0f;
      }
    }
    for (int f = 0; f < Cout; ++f) {
      const size_t o = size_t(f) * HWo + p;
      a.t_out[o] = static_cast<uint8_t>(tf[f]);
      a.pot_first[o] = pf[f];
      if (a.pot_last) a.pot_last[o] = pot[f];
    }
  }
}

}  // namespace

void transpose_weights(const float* w, int Cout, int CKK, float* w_t) {
  for (int f = 0; f < Cout; ++f)
    for (int i = 0; i < CKK; ++i) w_t[size_t(i) * Cout + f] = w[size_t(f) * CKK + i];
}

void if_conv_fire(const uint8_t* t_in, int Cin, int H, int W, const float* w_t, int Cout,
                  int K, int T, float theta, uint8_t* t_out, float* pot_first,
                  float* pot_last) {
  check_conv(Cin, H, W, Cout, K, T, theta);
  const ConvArgs a{t_in, Cin, H, W, w_t, Cout, K, T, theta, t_out, pot_first, pot_last};
  const int P = (H - K + 1) * (W - K + 1);
  // Threads pay off only for a whole layer (about 10^5 feature-input pairs or more) and not
  // when the caller already runs samples in parallel.
  const bool par = !omp_in_parallel() && omp_get_max_threads() > 1 &&
                   double(P) * Cin * K * K * Cout > 2e5;
  auto run = [&](int p0, int p1) {
    std::vector<float> psum(size_t(T) * Cout, 0.0f), pot(Cout), pf(Cout);
    std::vector<int> tf(Cout);
    conv_positions(a, p0, p1, psum.data(), pot.data(), tf.data(), pf.data());
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

void pool_wave(const uint8_t* t_in, int C, int H, int W, int k, int s, uint8_t* t_out) {
  RSNN_CHECK(k > 0 && s > 0 && H >= k && W >= k, "pool_wave: bad kernel ", k, " stride ", s,
             " for ", H, " x ", W);
  const int Ho = (H - k) / s + 1, Wo = (W - k) / s + 1;
  for (int c = 0; c < C; ++c)
    for (int y = 0; y < Ho; ++y)
      for (int x = 0; x < Wo; ++x) {
        uint8_t m = 255;
        for (int dy = 0; dy < k; ++dy) {
          const uint8_t* row = t_in + (size_t(c) * H + y * s + dy) * W + x * s;
          for (int dx = 0; dx < k; ++dx) m = std::min(m, row[dx]);
        }
        t_out[(size_t(c) * Ho + y) * Wo + x] = m;
      }
}

void pointwise_inhibition(uint8_t* t, float* pot_first, float* pot_last, int C, int H, int W,
                          int T) {
  const size_t HW = size_t(H) * W;
  std::vector<uint8_t> bt(HW, uint8_t(T));
  std::vector<float> bp(HW, 0.0f);
  std::vector<int> bf(HW, -1);
  // Features in increasing order with a strict comparison: a full tie keeps the lower index.
  for (int c = 0; c < C; ++c)
    for (size_t p = 0; p < HW; ++p) {
      const size_t i = c * HW + p;
      if (t[i] < T && beats(t[i], pot_first[i], bt[p], bp[p])) {
        bt[p] = t[i];
        bp[p] = pot_first[i];
        bf[p] = c;
      }
    }
  for (int c = 0; c < C; ++c)
    for (size_t p = 0; p < HW; ++p) {
      if (bf[p] == c) continue;
      const size_t i = c * HW + p;
      t[i] = uint8_t(T);
      pot_first[i] = 0.0f;
      if (pot_last) pot_last[i] = 0.0f;
    }
}

std::vector<Winner> k_winners(const uint8_t* t, const float* pot_first, int C, int H, int W,
                              int T, int k, int r) {
  RSNN_CHECK(k >= 0 && r >= 0, "k_winners: k and r must be >= 0, got ", k, ", ", r);
  const size_t HW = size_t(H) * W, N = C * HW;
  // Only neurons that fired compete (after pointwise inhibition at most H * W of them):
  // sort those once in winner order and take them greedily, which is the same as k
  // rounds of argmax over what is not yet excluded.
  std::vector<uint32_t> cand;
  for (size_t i = 0; i < N; ++i)
    if (t[i] < T) cand.push_back(uint32_t(i));
  std::sort(cand.begin(), cand.end(), [&](uint32_t a, uint32_t b) {
    if (beats(t[a], pot_first[a], t[b], pot_first[b])) return true;
    if (beats(t[b], pot_first[b], t[a], pot_first[a])) return false;
    return a < b;
  });
  std::vector<Winner> win;
  std::vector<char> used(C, 0);
  for (uint32_t i : cand) {
    if (int(win.size()) >= k) break;
    const int f = int(i / HW), y = int(i % HW) / W, x = int(i % HW) % W;
    if (used[f]) continue;
    bool blocked = false;
    if (r > 0)  // SpykeTorch skips the spatial exclusion entirely when r == 0
      for (const Winner& w : win)
        if (std::abs(w.y - y) <= r && std::abs(w.x - x) <= r) blocked = true;
    if (blocked) continue;
    used[f] = 1;
    win.push_back(Winner{f, y, x, t[i], pot_first[i]});
  }
  return win;
}

void stdp_update(float* w, float* w_t, int Cout, int Cin, int K, const uint8_t* t_in, int H,
                 int W, const std::vector<Winner>& winners, const StdpParams& p) {
  const int CKK = Cin * K * K;
  const size_t n = size_t(Cout) * CKK;
  for (const Winner& wn : winners)
    RSNN_CHECK(wn.f >= 0 && wn.f < Cout && wn.y >= 0 && wn.x >= 0 && wn.y + K <= H &&
                   wn.x + K <= W,
               "stdp_update: winner (", wn.f, ", ", wn.y, ", ", wn.x, ") out of range");
  for (const Winner& wn : winners) {
    float* wf = w + size_t(wn.f) * CKK;
    for (int c = 0; c < Cin; ++c)
      for (int ky = 0; ky < K; ++ky)
        for (int kx = 0; kx < K; ++kx) {
          const int i = (c * K + ky) * K + kx;
          const bool ltp = stdp_ltp(t_in[(size_t(c) * H + wn.y + ky) * W + wn.x + kx], wn.t);
          wf[i] = stdp_weight(wf[i], ltp, p.a_plus, p.a_minus, p.lo, p.hi, p.stabilize);
          if (w_t) w_t[size_t(i) * Cout + wn.f] = wf[i];
        }
  }
  // Then the whole-tensor clamp, as SpykeTorch. It changes something only while initial
  // weights lie outside the bounds; once none does, the pass is a read.
  bool clamped = false;
  for (size_t i = 0; i < n; ++i) {
    const float v = clamp_weight(w[i], p.lo, p.hi);
    clamped |= v != w[i];
    w[i] = v;
  }
  if (clamped && w_t) transpose_weights(w, Cout, CKK, w_t);
}

}  // namespace rsnn::sw
