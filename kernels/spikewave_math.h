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
// n_spiked_steps * (value + max_value * T); this is the same order without its rounding.)
RSNN_HD bool beats(uint8_t t_a, float pot_a, uint8_t t_b, float pot_b) {
  return t_a < t_b || (t_a == t_b && pot_a > pot_b);
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
