// Plain per-step reference of the spike-wave layer ops (kernels/spikewave.h). Waves are
// expanded into T cumulative binary float maps and every op is computed step by step as
// SpykeTorch's tensor code does (conv per step, threshold, sign, sums over time, argmax).
// Slow on purpose; the fast path must give the same bits.
#include <algorithm>
#include <cmath>

#include "kernels/spikewave.h"
#include "kernels/spikewave_math.h"
#include "runtime/error.h"

namespace rsnn::sw {

namespace {

// [T][n] cumulative binary wave: 1 from the first-spike step on.
std::vector<float> expand(const uint8_t* t, size_t n, int T) {
  std::vector<float> s(size_t(T) * n, 0.0f);
  for (int k = 0; k < T; ++k)
    for (size_t i = 0; i < n; ++i) s[k * n + i] = t[i] <= k ? 1.0f : 0.0f;
  return s;
}

// First-spike time from a cumulative binary wave: T minus the number of spiking steps.
std::vector<uint8_t> collapse(const std::vector<float>& s, size_t n, int T) {
  std::vector<uint8_t> t(n);
  for (size_t i = 0; i < n; ++i) {
    int cnt = 0;
    for (int k = 0; k < T; ++k) cnt += s[k * n + i] != 0.0f;
    t[i] = uint8_t(T - cnt);
  }
  return t;
}

}  // namespace

void if_conv_fire_ref(const uint8_t* t_in, int Cin, int H, int W, const float* w, int Cout,
                      int K, int T, float theta, uint8_t* t_out, float* pot_first,
                      float* pot_last) {
  RSNN_CHECK(Cin > 0 && Cout > 0 && K > 0 && H >= K && W >= K && T > 0 && T <= 254 &&
                 theta >= 0.0f,
             "if_conv_fire_ref: bad arguments");
  const int Ho = H - K + 1, Wo = W - K + 1;
  const size_t nin = size_t(Cin) * H * W, nout = size_t(Cout) * Ho * Wo;
  const std::vector<float> in = expand(t_in, nin, T);
  // pot[k] = pot[k-1] + conv(W, in[k] - in[k-1]): the potential of a non-leaky IF neuron
  // driven by the new spikes of each step.
  std::vector<float> pot(size_t(T) * nout, 0.0f);
  for (int k = 0; k < T; ++k)
    for (int f = 0; f < Cout; ++f)
      for (int y = 0; y < Ho; ++y)
        for (int x = 0; x < Wo; ++x) {
          float s = 0.0f;
          for (int c = 0; c < Cin; ++c)
            for (int ky = 0; ky < K; ++ky)
              for (int kx = 0; kx < K; ++kx) {
                const size_t i = (size_t(c) * H + y + ky) * W + x + kx;
                const float d = in[k * nin + i] - (k > 0 ? in[(k - 1) * nin + i] : 0.0f);
                if (d != 0.0f) s += w[((size_t(f) * Cin + c) * K + ky) * K + kx] * d;
              }
          const size_t o = (size_t(f) * Ho + y) * Wo + x;
          pot[k * nout + o] = (k > 0 ? pot[(k - 1) * nout + o] : 0.0f) + s;
        }
  // sf.fire(pot, theta, True): thresholded = pot where pot > theta else 0; spikes = sign.
  std::vector<float> thr(pot.size()), spk(pot.size());
  for (size_t i = 0; i < pot.size(); ++i) {
    thr[i] = pot[i] > theta ? pot[i] : 0.0f;
    spk[i] = thr[i] > 0.0f ? 1.0f : (thr[i] < 0.0f ? -1.0f : 0.0f);
  }
  const std::vector<uint8_t> tf = collapse(spk, nout, T);
  for (size_t o = 0; o < nout; ++o) {
    t_out[o] = tf[o];
    pot_first[o] = tf[o] < T ? thr[tf[o] * nout + o] : 0.0f;
    if (pot_last) pot_last[o] = pot[(T - 1) * nout + o];
  }
}

void pool_wave_ref(const uint8_t* t_in, int C, int H, int W, int k, int s, int T,
                   uint8_t* t_out) {
  RSNN_CHECK(k > 0 && s > 0 && H >= k && W >= k, "pool_wave_ref: bad kernel ", k);
  const int Ho = (H - k) / s + 1, Wo = (W - k) / s + 1;
  const size_t nin = size_t(C) * H * W, nout = size_t(C) * Ho * Wo;
  const std::vector<float> in = expand(t_in, nin, T);
  std::vector<float> out(size_t(T) * nout, 0.0f);
  for (int st = 0; st < T; ++st)  // max_pool2d on each step's binary map
    for (int c = 0; c < C; ++c)
      for (int y = 0; y < Ho; ++y)
        for (int x = 0; x < Wo; ++x) {
          float m = 0.0f;
          for (int dy = 0; dy < k; ++dy)
            for (int dx = 0; dx < k; ++dx)
              m = std::max(m, in[st * nin + (size_t(c) * H + y * s + dy) * W + x * s + dx]);
          out[st * nout + (size_t(c) * Ho + y) * Wo + x] = m;
        }
  const std::vector<uint8_t> t = collapse(out, nout, T);
  std::copy(t.begin(), t.end(), t_out);
}

void pointwise_inhibition_ref(uint8_t* t, float* pot_first, float* pot_last, int C, int H,
                              int W, int T) {
  const size_t HW = size_t(H) * W;
  for (size_t p = 0; p < HW; ++p) {
    // Per step: the maximum thresholded potential over features and its first index. Only
    // the step of the earliest spike is read, where a feature's thresholded potential is
    // its potential at its first spike (0 for features that have not fired).
    std::vector<float> mx(T, 0.0f);
    std::vector<int> arg(T, 0);
    for (int st = 0; st < T; ++st)
      for (int c = 0; c < C; ++c) {
        const size_t i = c * HW + p;
        const float v = t[i] <= st ? pot_first[i] : 0.0f;
        if (c == 0 || v > mx[st]) {
          mx[st] = v;
          arg[st] = c;
        }
      }
    int spiking_steps = 0;
    for (int st = 0; st < T; ++st) spiking_steps += mx[st] > 0.0f;
    const int te = std::min(std::max(T - spiking_steps, 0), T - 1);
    const int keep = arg[te];
    const bool any = mx[T - 1] > 0.0f;  // coefficient sign(max at the last step)
    for (int c = 0; c < C; ++c) {
      if (any && c == keep) continue;
      const size_t i = c * HW + p;
      t[i] = uint8_t(T);
      pot_first[i] = 0.0f;
      if (pot_last) pot_last[i] = 0.0f;
    }
  }
}

namespace {

// SpykeTorch's get_k_winners total, tensor by tensor: truncated = spikes * value at the first
// spike; v = max(truncated) * T; truncated += spikes * v; total = the sum over the steps,
// in torch's CPU order (wta_key in spikewave_math.h): rows in sequence for the columns in
// full blocks of 32, four interleaved partial sums for the rest.
std::vector<float> spyketorch_totals(const uint8_t* t, const float* pot_first, size_t N, int T) {
  RSNN_CHECK(T < 16, "k_winners_ref: the spyketorch key follows torch's sum for T < 16 steps, got ", T);
  const std::vector<float> spk = expand(t, N, T);
  std::vector<float> trunc(size_t(T) * N);
  float mx = 0.0f;
  for (size_t i = 0; i < trunc.size(); ++i) {
    trunc[i] = spk[i] * pot_first[i % N];
    mx = std::max(mx, trunc[i]);
  }
  const float v = mx * float(T);
  for (size_t i = 0; i < trunc.size(); ++i) trunc[i] += spk[i] * v;
  std::vector<float> total(N, 0.0f);
  const size_t blocks = N / 32 * 32;
  for (int st = 0; st < T; ++st)
    for (size_t i = 0; i < blocks; ++i) total[i] += trunc[st * N + i];
  const int rows4 = T / 4 * 4;
  for (size_t i = blocks; i < N; ++i) {
    float part[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int st = 0; st < rows4; ++st) part[st % 4] += trunc[st * N + i];
    for (int st = rows4; st < T; ++st) part[0] += trunc[st * N + i];
    total[i] = part[0];
    for (int k = 1; k < 4; ++k) total[i] += part[k];
  }
  return total;
}

}  // namespace

std::vector<Winner> k_winners_ref(const uint8_t* t, const float* pot_first, int C, int H,
                                  int W, int T, int k, int r, WtaKey key) {
  const size_t HW = size_t(H) * W, N = C * HW;
  // Each neuron's (spiked steps, value at first spike); "total != 0" = spiked at all.
  std::vector<int> nspk(N);
  std::vector<float> val(N);
  for (size_t i = 0; i < N; ++i) {
    nspk[i] = t[i] < T ? T - t[i] : 0;
    val[i] = pot_first[i];
  }
  const bool exact = key == WtaKey::exact;
  const std::vector<float> total =
      exact ? std::vector<float>() : spyketorch_totals(t, pot_first, N, T);
  std::vector<Winner> win;
  for (int round = 0; round < k; ++round) {
    // Argmax over the flat (f, y, x) order, the first maximum winning.
    long best = -1;
    for (size_t i = 0; i < N; ++i) {
      if (nspk[i] == 0) continue;
      const bool better =
          best < 0 || (exact ? nspk[i] > nspk[best] || (nspk[i] == nspk[best] && val[i] > val[best])
                             : total[i] > total[best]);
      if (better) best = long(i);
    }
    if (best < 0) break;
    const int f = int(best / HW), y = int(best % HW) / W, x = int(best % HW) % W;
    win.push_back(Winner{f, y, x, t[best], pot_first[best]});
    for (size_t p = 0; p < HW; ++p) nspk[f * HW + p] = 0;
    if (r != 0)
      for (int c = 0; c < C; ++c)
        for (int yy = std::max(0, y - r); yy < std::min(H, y + r + 1); ++yy)
          for (int xx = std::max(0, x - r); xx < std::min(W, x + r + 1); ++xx)
            nspk[c * HW + size_t(yy) * W + xx] = 0;
  }
  return win;
}

void stdp_update_ref(float* w, int Cout, int Cin, int K, const uint8_t* t_in, int H, int W,
                     int T, const std::vector<Winner>& winners, const StdpParams& p) {
  const size_t nin = size_t(Cin) * H * W;
  const std::vector<float> in = expand(t_in, nin, T);
  std::vector<int> in_lat(nin, 0);  // number of spiking steps (larger = earlier)
  for (int st = 0; st < T; ++st)
    for (size_t i = 0; i < nin; ++i) in_lat[i] += in[st * nin + i] != 0.0f;
  const int CKK = Cin * K * K;
  for (const Winner& wn : winners) {
    RSNN_CHECK(wn.f >= 0 && wn.f < Cout && wn.y + K <= H && wn.x + K <= W,
               "stdp_update_ref: winner out of range");
    const int out_lat = T - wn.t;
    for (int c = 0; c < Cin; ++c)
      for (int ky = 0; ky < K; ++ky)
        for (int kx = 0; kx < K; ++kx) {
          const bool ltp = in_lat[(size_t(c) * H + wn.y + ky) * W + wn.x + kx] >= out_lat;
          float& wi = w[size_t(wn.f) * CKK + (c * K + ky) * K + kx];
          const float a = ltp ? p.a_plus : p.a_minus;
          const float f = p.stabilize ? (wi - p.lo) * (p.hi - wi) : 1.0f;
          wi = std::fma(a, f, wi);
        }
  }
  for (size_t i = 0; i < size_t(Cout) * CKK; ++i) w[i] = std::min(std::max(w[i], p.lo), p.hi);
}

}  // namespace rsnn::sw
