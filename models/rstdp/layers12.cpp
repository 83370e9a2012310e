// Layers 1 and 2 of the convolutional STDP network (models/rstdp/layers12.h).
#include "models/rstdp/layers12.h"

#include <algorithm>
#include <cmath>

#include "kernels/spikewave.h"
#include "runtime/error.h"
#include "runtime/hdf5_io.h"
#include "runtime/philox.h"

namespace rsnn::rstdp {

namespace {

// Philox streams of the initial weights (one per layer).
constexpr uint64_t kStreamW1 = 0x52535444501ull, kStreamW2 = 0x52535444502ull;
constexpr int kC1Pad = 1, kC2Pad = 2, kPool1 = 2, kPool2 = 3;
constexpr int kRateCounterMax = 500;
constexpr float kMaxAPlus = 0.15f;

int ckk(const LayerShape& s) { return s.Cin * s.K * s.K; }

void check_input(const Wave& in, int C, const char* what) {
  RSNN_CHECK(in.C == C && in.H > 0 && in.W > 0 && in.t.size() == size_t(in.size()), what,
             ": input wave has shape ", in.C, " x ", in.H, " x ", in.W, " (", in.t.size(),
             " values), expected ", C, " channels");
}

LayerOutput conv_layer(const std::vector<float>& w, const std::vector<float>& w_t,
                       const LayerShape& s, const Wave& in, Path path, const char* what) {
  check_input(in, s.Cin, what);
  RSNN_CHECK(in.H >= s.K && in.W >= s.K, what, ": input ", in.H, " x ", in.W,
             " is smaller than the ", s.K, " x ", s.K, " kernel");
  RSNN_CHECK(w.size() == size_t(s.Cout) * ckk(s) &&
                 w_t.size() == size_t(sw::padded_features(s.Cout)) * ckk(s),
             what, ": weights have ", w.size(), " / ", w_t.size(), " values, expected ",
             size_t(s.Cout) * ckk(s), " (call refresh_transposed after editing weights)");
  LayerOutput out;
  out.spikes.C = s.Cout;
  out.spikes.H = in.H - s.K + 1;
  out.spikes.W = in.W - s.K + 1;
  out.spikes.t.resize(size_t(out.spikes.size()));
  out.pot_first.resize(out.spikes.t.size());
  if (path == Path::fast)
    sw::if_conv_fire(in.t.data(), s.Cin, in.H, in.W, w_t.data(), s.Cout, s.K, kSteps, s.theta,
                     out.spikes.t.data(), out.pot_first.data(), nullptr);
  else
    sw::if_conv_fire_ref(in.t.data(), s.Cin, in.H, in.W, w.data(), s.Cout, s.K, kSteps,
                         s.theta, out.spikes.t.data(), out.pot_first.data(), nullptr);
  return out;
}

// Spike max-pooling (kernel = stride = k), then padding with `never`.
Wave pool_pad(const Wave& in, int k, int pad, Path path) {
  RSNN_CHECK(in.H >= k && in.W >= k, "pooling: map ", in.H, " x ", in.W,
             " is smaller than the window ", k);
  const int Ho = (in.H - k) / k + 1, Wo = (in.W - k) / k + 1;
  std::vector<uint8_t> pooled(size_t(in.C) * Ho * Wo);
  if (path == Path::fast)
    sw::pool_wave(in.t.data(), in.C, in.H, in.W, k, k, pooled.data());
  else
    sw::pool_wave_ref(in.t.data(), in.C, in.H, in.W, k, k, kSteps, pooled.data());
  Wave out;
  out.C = in.C;
  out.H = Ho + 2 * pad;
  out.W = Wo + 2 * pad;
  out.t.resize(size_t(out.size()));
  sw::pad_wave(pooled.data(), in.C, Ho, Wo, pad, kNever, out.t.data());
  return out;
}

// The top-left h x w corner of every channel.
Wave crop(const Wave& in, int h, int w) {
  Wave out;
  out.C = in.C;
  out.H = h;
  out.W = w;
  out.t.resize(size_t(out.size()));
  for (int c = 0; c < in.C; ++c)
    for (int y = 0; y < h; ++y)
      std::copy_n(in.t.begin() + (size_t(c) * in.H + y) * in.W, w,
                  out.t.begin() + (size_t(c) * h + y) * w);
  return out;
}

// The learning-rate schedule of section 3a, in float32 as SpykeTorch computes it.
void advance_rates(StdpRates& r) {
  if (++r.counter < kRateCounterMax) return;
  r.counter = 0;
  const float ap = std::min(float(r.a_plus) * 2.0f, kMaxAPlus);
  r.a_plus = ap;
  r.a_minus = ap * -0.75f;
}

// Pointwise inhibition, k-WTA and STDP on a trained layer's output.
std::vector<sw::Winner> learn(std::vector<float>& w, std::vector<float>& w_t,
                              const LayerShape& s, const Wave& in, LayerOutput& out, int k,
                              int r, sw::WtaKey key, const StdpRates& rates, Path path) {
  Wave& o = out.spikes;
  sw::StdpParams p;
  p.a_plus = float(rates.a_plus);
  p.a_minus = float(rates.a_minus);
  if (path == Path::fast) {
    sw::pointwise_inhibition(o.t.data(), out.pot_first.data(), nullptr, o.C, o.H, o.W, kSteps);
    out.winners =
        sw::k_winners(o.t.data(), out.pot_first.data(), o.C, o.H, o.W, kSteps, k, r, key);
    sw::stdp_update(w.data(), w_t.data(), s.Cout, s.Cin, s.K, in.t.data(), in.H, in.W,
                    out.winners, p);
  } else {
    sw::pointwise_inhibition_ref(o.t.data(), out.pot_first.data(), nullptr, o.C, o.H, o.W,
                                 kSteps);
    out.winners =
        sw::k_winners_ref(o.t.data(), out.pot_first.data(), o.C, o.H, o.W, kSteps, k, r, key);
    sw::stdp_update_ref(w.data(), s.Cout, s.Cin, s.K, in.t.data(), in.H, in.W, kSteps,
                        out.winners, p);
    sw::transpose_weights(w.data(), s.Cout, ckk(s), w_t.data());
  }
  return out.winners;
}

void check_kr(int k, int r, const char* layer) {
  RSNN_CHECK(k >= 0 && r >= 0, "layers12: ", layer, " k and r must be >= 0, got k ", k,
             " r ", r);
}

}  // namespace

void Layers12::refresh_transposed() {
  RSNN_CHECK(w1.size() == size_t(kLayer1.Cout) * ckk(kLayer1) &&
                 w2.size() == size_t(kLayer2.Cout) * ckk(kLayer2),
             "layers12: weights have ", w1.size(), " and ", w2.size(), " values, expected ",
             kLayer1.Cout * ckk(kLayer1), " and ", kLayer2.Cout * ckk(kLayer2));
  w1t.resize(size_t(sw::padded_features(kLayer1.Cout)) * ckk(kLayer1));
  w2t.resize(size_t(sw::padded_features(kLayer2.Cout)) * ckk(kLayer2));
  sw::transpose_weights(w1.data(), kLayer1.Cout, ckk(kLayer1), w1t.data());
  sw::transpose_weights(w2.data(), kLayer2.Cout, ckk(kLayer2), w2t.data());
}

Layers12 make_layers12(uint64_t seed) {
  Layers12 L;
  L.w1.resize(size_t(kLayer1.Cout) * ckk(kLayer1));
  L.w2.resize(size_t(kLayer2.Cout) * ckk(kLayer2));
  for (size_t i = 0; i < L.w1.size(); ++i)
    L.w1[i] = float(0.8 + 0.05 * philox::normal(seed, kStreamW1, i));
  for (size_t i = 0; i < L.w2.size(); ++i)
    L.w2[i] = float(0.8 + 0.05 * philox::normal(seed, kStreamW2, i));
  L.refresh_transposed();
  return L;
}

LayerOutput layer1_forward(const Layers12& L, const Wave& input, Path path) {
  return conv_layer(L.w1, L.w1t, kLayer1, input, path, "layer 1");
}

LayerOutput layer2_forward(const Layers12& L, const Wave& c1, Path path) {
  return conv_layer(L.w2, L.w2t, kLayer2, c1, path, "layer 2");
}

Wave c1_output(const Layers12& L, const Wave& input, Path path) {
  return pool_pad(layer1_forward(L, input, path).spikes, kPool1, kC1Pad, path);
}

Wave c2_output(const Layers12& L, const Wave& input, Path path) {
  Wave c1 = c1_output(L, input, path);
  if (path == Path::fast) {
    // Floor-mode pooling reads only the first 3 * floor(Ho / 3) rows and columns of S2:
    // compute only those (from the C1 rows and columns they need).
    const int ho = (c1.H - kLayer2.K + 1) / kPool2 * kPool2 + kLayer2.K - 1;
    const int wo = (c1.W - kLayer2.K + 1) / kPool2 * kPool2 + kLayer2.K - 1;
    if (ho < c1.H || wo < c1.W) c1 = crop(c1, ho, wo);
  }
  return pool_pad(layer2_forward(L, c1, path).spikes, kPool2, kC2Pad, path);
}

std::vector<sw::Winner> stdp_step_layer1(Layers12& L, const Wave& input, Path path) {
  check_kr(L.k1, L.r1, "layer 1");
  advance_rates(L.rates1);
  LayerOutput out = layer1_forward(L, input, path);
  return learn(L.w1, L.w1t, kLayer1, input, out, L.k1, L.r1, L.wta_key, L.rates1, path);
}

std::vector<sw::Winner> stdp_step_layer2(Layers12& L, const Wave& input, Path path) {
  check_kr(L.k2, L.r2, "layer 2");
  const Wave c1 = c1_output(L, input, path);
  advance_rates(L.rates2);
  LayerOutput out = layer2_forward(L, c1, path);
  return learn(L.w2, L.w2t, kLayer2, c1, out, L.k2, L.r2, L.wta_key, L.rates2, path);
}

}  // namespace rsnn::rstdp
