// Layer 3 of the R-STDP network: the shared helpers and the plain per-sample reference
// (see rstdp_layer3.h for the exact semantics both paths follow).
#include <algorithm>
#include <cstring>

#include "kernels/rstdp_layer3.h"
#include "runtime/error.h"
#include "runtime/random.h"
#include "runtime/tensor.h"

namespace rsnn::rstdp {

namespace {
constexpr uint64_t kLayer3Stream = 0x4c4159455233ull;  // "LAYER3"
}

RStdpRates adapt_rates(double correct_frac, double wrong_frac) {
  RSNN_CHECK(correct_frac >= 0 && correct_frac <= 1 && wrong_frac >= 0 && wrong_frac <= 1 &&
                 correct_frac + wrong_frac <= 1 + 1e-12,
             "adapt_rates: fractions out of range (correct ", correct_frac, ", wrong ", wrong_frac, ")");
  const RStdpRates base;
  RStdpRates r;
  r.reward.ltp = static_cast<float>(double(base.reward.ltp) * wrong_frac);
  r.reward.ltd = static_cast<float>(double(base.reward.ltd) * wrong_frac);
  r.punish.ltp = static_cast<float>(double(base.punish.ltp) * correct_frac);
  r.punish.ltd = static_cast<float>(double(base.punish.ltd) * correct_frac);
  return r;
}

Layer3 make_layer3(uint64_t seed) {
  Tensor t = Tensor::empty({kL3Features, kL3In, kL3K, kL3K}, DType::f32);
  fill_normal(t, seed, kLayer3Stream, 0.8, 0.05);
  Layer3 l3;
  std::memcpy(l3.w.data(), t.data<float>(), sizeof(float) * kL3Weights);
  // The exactness of the double sums needs every weight >= 0.125 (13.5 sigma below the mean).
  for (float w : l3.w) RSNN_CHECK(w >= 0.125f, "make_layer3: weight ", w, " below 0.125");
  return l3;
}

void l3_pack(const uint8_t* spiked, uint64_t* bits) {
  std::fill(bits, bits + kL3Words, uint64_t(0));
  for (int c = 0; c < kL3In; ++c)
    for (int q = 0; q < kL3Pos; ++q)
      if (spiked[c * kL3Pos + q]) {
        const int i = q * kL3In + c;
        bits[i >> 6] |= uint64_t(1) << (i & 63);
      }
}

int l3_count(const uint64_t* bits) {
  int n = 0;
  for (int i = 0; i < kL3Words; ++i) n += __builtin_popcountll(bits[i]);
  return n;
}

double l3_potential_at(const float* wf, const uint64_t* bits, int p) {
  const int y = p / kL3Side, x = p % kL3Side;
  double s = 0;
  for (int iy = std::max(0, y - kL3Pad); iy <= std::min(kL3Side - 1, y + kL3Pad); ++iy)
    for (int ix = std::max(0, x - kL3Pad); ix <= std::min(kL3Side - 1, x + kL3Pad); ++ix) {
      int ky, kx;
      l3_tap(y, x, iy, ix, ky, kx);
      const int q = iy * kL3Side + ix;
      const float* w = wf + ky * kL3K + kx;
      for (int c = 0; c < kL3In; ++c)
        if (l3_bit(bits, q * kL3In + c)) s += double(w[c * kL3K * kL3K]);
    }
  return s;
}

void l3_potentials_ref(const Layer3& l3, const uint64_t* bits, double* pot) {
  for (int f = 0; f < kL3Features; ++f)
    for (int p = 0; p < kL3Pos; ++p)
      pot[f * kL3Pos + p] = l3_potential_at(l3.w.data() + size_t(f) * kL3KernelSize, bits, p);
}

L3Decision l3_decide(const double* pot) {
  float mx = 0;
  for (int i = 0; i < kL3Features * kL3Pos; ++i) mx = std::max(mx, static_cast<float>(pot[i]));
  L3Decision d;
  if (!(mx > 0)) return d;
  const float v = mx * 15.0f;  // SpykeTorch: the largest potential times T
  float best = 0;
  for (int i = 0; i < kL3Features * kL3Pos; ++i) {
    const float p = static_cast<float>(pot[i]);
    if (!(p > 0)) continue;
    const float k = l3_key(p, v);
    if (k > best) best = k, d.winner = i;
  }
  return d;
}

void l3_update_winner(Layer3& l3, const uint64_t* bits, const L3Decision& d, const L3Rates& r) {
  if (d.winner < 0) return;
  const int f = d.feature(), y = d.position() / kL3Side, x = d.position() % kL3Side;
  float* wf = l3.w.data() + size_t(f) * kL3KernelSize;
  for (int c = 0; c < kL3In; ++c)
    for (int ky = 0; ky < kL3K; ++ky)
      for (int kx = 0; kx < kL3K; ++kx) {
        const int iy = y + ky - kL3Pad, ix = x + kx - kL3Pad;
        const bool in = iy >= 0 && iy < kL3Side && ix >= 0 && ix < kL3Side;
        const bool spiked = in && l3_bit(bits, (iy * kL3Side + ix) * kL3In + c);
        float& w = wf[(c * kL3K + ky) * kL3K + kx];
        w = l3_update_weight(w, spiked, r.ltp, r.ltd);
      }
}

void l3_update_ref(Layer3& l3, const uint64_t* bits, const L3Decision& d, const L3Rates& r) {
  if (d.winner < 0) return;
  l3_update_winner(l3, bits, d, r);
  // SpykeTorch clamps the whole weight tensor after every STDP call, so the first update
  // also clamps the initial weights of the other kernels (about half of N(0.8, 0.05) lies
  // above 0.8); later calls find nothing to clamp.
  l3_clamp_all(l3);
}

bool l3_clamp_all(Layer3& l3) {
  bool changed = false;
  for (float& w : l3.w) {
    const float v = w < kL3Lo ? kL3Lo : (w > kL3Hi ? kL3Hi : w);
    changed |= v != w;
    w = v;
  }
  return changed;
}

std::vector<L3Outcome> l3_train_ref(Layer3& l3, const uint64_t* bits, const int* labels, int64_t n,
                                    const RStdpRates& rates) {
  std::vector<L3Outcome> out(static_cast<size_t>(n));
  std::vector<double> pot(kL3Features * kL3Pos);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t* b = bits + i * kL3Words;
    l3_potentials_ref(l3, b, pot.data());
    const L3Decision d = l3_decide(pot.data());
    if (d.winner < 0) {
      out[i] = L3Outcome::silence;
    } else if (d.cls() == labels[i]) {
      out[i] = L3Outcome::correct;
      l3_update_ref(l3, b, d, rates.reward);
    } else {
      out[i] = L3Outcome::wrong;
      l3_update_ref(l3, b, d, rates.punish);
    }
  }
  return out;
}

std::vector<L3Decision> l3_infer_ref(const Layer3& l3, const uint64_t* bits, int64_t n) {
  std::vector<L3Decision> out(static_cast<size_t>(n));
  std::vector<double> pot(kL3Features * kL3Pos);
  for (int64_t i = 0; i < n; ++i) {
    l3_potentials_ref(l3, bits + i * kL3Words, pot.data());
    out[i] = l3_decide(pot.data());
  }
  return out;
}

}  // namespace rsnn::rstdp
