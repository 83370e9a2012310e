// Fast CPU path of the spike-wave layer ops other than the convolution (that is in
// spikewave_conv.cpp): pooling, pointwise inhibition, k-WTA and STDP on first-spike times.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "kernels/spikewave.h"
#include "kernels/spikewave_math.h"
#include "runtime/error.h"
#include "runtime/multiversion.h"

namespace rsnn::sw {

void pool_wave(const uint8_t* t_in, int C, int H, int W, int k, int s, uint8_t* t_out) {
  RSNN_CHECK(k > 0 && s > 0 && H >= k && W >= k, "pool_wave: bad kernel ", k, " stride ", s,
             " for ", H, " x ", W);
  const int Ho = (H - k) / s + 1, Wo = (W - k) / s + 1;
  std::vector<uint8_t> col(static_cast<size_t>(W));
  for (int c = 0; c < C; ++c)
    for (int y = 0; y < Ho; ++y) {
      // Minimum over the window's rows first (contiguous, vectorizes), then over columns.
      const uint8_t* r0 = t_in + (size_t(c) * H + y * s) * W;
      std::copy(r0, r0 + W, col.begin());
      for (int dy = 1; dy < k; ++dy)
        for (int x = 0; x < W; ++x) col[x] = std::min(col[x], r0[size_t(dy) * W + x]);
      uint8_t* out = t_out + (size_t(c) * Ho + y) * Wo;
      for (int x = 0; x < Wo; ++x) {
        uint8_t m = col[size_t(x) * s];
        for (int dx = 1; dx < k; ++dx) m = std::min(m, col[size_t(x) * s + dx]);
        out[x] = m;
      }
    }
}

namespace {
// Branch-free passes over whole channels, so they vectorize.
RSNN_MULTIVERSION void inhibition_passes(uint8_t* t, float* pot_first, float* pot_last, int C,
                                         size_t HW, int T, int* bt, float* bp, int* bf) {
  // Features in increasing order with a strict comparison: a full tie keeps the lower index.
  for (int c = 0; c < C; ++c) {
    const uint8_t* tc = t + c * HW;
    const float* pc = pot_first + c * HW;
    for (size_t p = 0; p < HW; ++p) {
      const int tt = tc[p];
      const bool b = tt < T && (tt < bt[p] || (tt == bt[p] && pc[p] > bp[p]));
      bt[p] = b ? tt : bt[p];
      bp[p] = b ? pc[p] : bp[p];
      bf[p] = b ? c : bf[p];
    }
  }
  for (int c = 0; c < C; ++c) {
    uint8_t* tc = t + c * HW;
    float* pc = pot_first + c * HW;
    for (size_t p = 0; p < HW; ++p) {
      const bool keep = bf[p] == c;
      tc[p] = keep ? tc[p] : uint8_t(T);
      pc[p] = keep ? pc[p] : 0.0f;
    }
    if (pot_last)
      for (size_t p = 0; p < HW; ++p) pot_last[c * HW + p] = bf[p] == c ? pot_last[c * HW + p] : 0.0f;
  }
}
}  // namespace

void pointwise_inhibition(uint8_t* t, float* pot_first, float* pot_last, int C, int H, int W,
                          int T) {
  const size_t HW = size_t(H) * W;
  std::vector<int> bt(HW, T), bf(HW, -1);
  std::vector<float> bp(HW, 0.0f);
  inhibition_passes(t, pot_first, pot_last, C, HW, T, bt.data(), bp.data(), bf.data());
}

const char* wta_key_name(WtaKey key) { return key == WtaKey::exact ? "exact" : "spyketorch"; }

WtaKey parse_wta_key(const std::string& s, const std::string& what) {
  if (s == "exact") return WtaKey::exact;
  if (s == "spyketorch") return WtaKey::spyketorch;
  throw Error(what + ": unknown k-WTA key '" + s + "' (expected exact or spyketorch)");
}

std::vector<Winner> k_winners(const uint8_t* t, const float* pot_first, int C, int H, int W,
                              int T, int k, int r, WtaKey key) {
  RSNN_CHECK(k >= 0 && r >= 0, "k_winners: k and r must be >= 0, got ", k, ", ", r);
  const size_t HW = size_t(H) * W, N = C * HW;
  // Only neurons that fired compete (after pointwise inhibition at most H * W of them);
  // k rounds of argmax over the candidates still allowed, as the reference does over all.
  std::vector<uint32_t> cand;
  float max_pot = 0.0f;
  for (size_t i = 0; i < N; ++i)
    if (t[i] < T) cand.push_back(uint32_t(i)), max_pot = std::max(max_pot, pot_first[i]);
  const bool exact = key == WtaKey::exact;
  std::vector<float> kv;  // SpykeTorch's key per candidate, compacted along with cand
  if (!exact) {
    RSNN_CHECK(T < 16, "k_winners: the spyketorch key follows torch's sum for T < 16 steps, got ", T);
    const float offset = wta_key_offset(max_pot, T);
    kv.resize(cand.size());
    for (size_t j = 0; j < cand.size(); ++j)
      kv[j] = wta_key(pot_first[cand[j]], t[cand[j]], T, offset,
                      wta_key_interleaved(long(cand[j]), long(N)));
  }
  std::vector<Winner> win;
  std::vector<char> used(C, 0);
  while (int(win.size()) < k) {
    long best = -1;
    float best_key = 0.0f;
    size_t keep = 0;
    for (size_t j = 0; j < cand.size(); ++j) {
      const uint32_t i = cand[j];
      const int f = int(i / HW), y = int(i % HW) / W, x = int(i % HW) % W;
      bool blocked = used[f];
      if (r > 0)  // SpykeTorch skips the spatial exclusion entirely when r == 0
        for (const Winner& w : win)
          blocked |= std::abs(w.y - y) <= r && std::abs(w.x - x) <= r;
      if (blocked) continue;
      if (!exact) kv[keep] = kv[j];
      cand[keep++] = i;  // drop excluded candidates for the next rounds; order is kept
      // Strict comparisons over increasing flat indices: a tie keeps the lower index.
      const bool better = best < 0 || (exact ? beats(t[i], pot_first[i], t[best], pot_first[best])
                                             : kv[keep - 1] > best_key);
      if (better) best = long(i), best_key = exact ? 0.0f : kv[keep - 1];
    }
    cand.resize(keep);
    if (best < 0) break;
    const int f = int(best / HW);
    used[f] = 1;
    win.push_back(Winner{f, int(best % HW) / W, int(best % HW) % W, t[best], pot_first[best]});
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
          if (w_t) w_t[size_t(i) * padded_features(Cout) + wn.f] = wf[i];
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
