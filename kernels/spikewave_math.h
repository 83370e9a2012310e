// Per-element math of the spike-wave ops (kernels/spikewave.h), shared by the CPU paths
// (fast and reference) and the CUDA twin, so CPU tests cover what the GPU runs.
//
// Spike waves are stored as first-spike times: t in [0, T) or T = never. The cumulative
// wave of SpykeTorch is spiked(s) <=> t <= s.
#pragma once
#include <cmath>
#include <cstdint>

#include "runtime/hd.h"

namespace rsnn::sw {

// One step of a non-leaky IF neuron without reset on a monotone potential: add this step's
// input, and record the first step whose potential exceeds theta (strictly, as
// SpykeTorch's threshold_(pot, theta, 0) keeps only values > theta).
RSNN_HD void if_step(float& pot, float add, int t, float theta, uint8_t& t_first,
                     float& pot_first, uint8_t never) {
  pot += add;
  const bool fire = (t_first == never) && (pot > theta);
  t_first = fire ? static_cast<uint8_t>(t) : t_first;
  pot_first = fire ? pot : pot_first;
}

// Winner order of k-WTA and of pointwise inhibition: earlier first spike wins, then the
// larger potential at the first spike. (SpykeTorch encodes this order as one float,
// n_spiked_steps * (value + max_value * T); this is the same order without its rounding;
// wta_key below is SpykeTorch's float.)
RSNN_HD bool beats(uint8_t t_a, float pot_a, uint8_t t_b, float pot_b) {
  return t_a < t_b || (t_a == t_b && pot_a > pot_b);
}

// SpykeTorch's k-WTA ranking key (functional.get_k_winners), the alternative to beats() for
// layers 1-2. offset = fl32(max pot_first over the layer's spiking neurons * T); at each step
// from the neuron's first spike on the term fl32(pot_first + offset), 0 before; the key is the
// float32 sum of the T terms in torch's CPU order (torch 1.13, AVX2; checked bit for bit on
// both layers' shapes): steps in sequence from 0 for the flat indices in full blocks of 32 (four
// 8-float vectors), and for the rest (interleaved) four partial sums of steps k, k+4, k+8,
// ..., the steps past the last multiple of 4 into the first, then the partials in order.
// Valid for T < 16 (more rows add a cascade level). Near-equal potentials of one spike time
// share a key (the lower index wins the tie).
RSNN_HD float wta_key_offset(float max_pot, int T) { return max_pot * static_cast<float>(T); }
RSNN_HD bool wta_key_interleaved(long i, long N) { return i >= N / 32 * 32; }
RSNN_HD float wta_key(float pot_first, int t_first, int T, float offset, bool interleaved) {
  const float term = pot_first + offset;
  float p[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  const int n4 = interleaved ? T / 4 * 4 : 0;
  for (int st = 0; st < n4; ++st) p[st % 4] += st >= t_first ? term : 0.0f;
  for (int st = n4; st < T; ++st) p[0] += st >= t_first ? term : 0.0f;
  return ((p[0] + p[1]) + p[2]) + p[3];
}

// STDP pairing: potentiation when the presynaptic input fired at or before the
// postsynaptic spike (SpykeTorch: in_latency >= out_latency in spiked-step counts); an input
// that never fired has t_in = T > t_out and is depressed.
RSNN_HD bool stdp_ltp(uint8_t t_in, uint8_t t_out) { return t_in <= t_out; }

// w <- clamp(w + a * (w - lo) * (hi - w), lo, hi) with the stabilizer, else w + a. The
// multiply-add is one fmaf so the CPU and the GPU round it the same way.
RSNN_HD float stdp_weight(float w, bool ltp, float a_plus, float a_minus, float lo, float hi,
                          bool stabilize) {
  const float a = ltp ? a_plus : a_minus;
  const float f = stabilize ? (w - lo) * (hi - w) : 1.0f;
  const float v = fmaf(a, f, w);
  return v < lo ? lo : (v > hi ? hi : v);
}

// Clamp without the update (SpykeTorch clamps the whole weight tensor after every STDP call).
RSNN_HD float clamp_weight(float w, float lo, float hi) {
  return w < lo ? lo : (w > hi ? hi : w);
}

}  // namespace rsnn::sw
