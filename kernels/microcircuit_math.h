// Per-element math of the simulation-only microcircuit op (kernels/microcircuit.h): one step of
// a current-based leaky integrate-and-fire neuron with an exponential synaptic current, and the
// Poisson background count. The reference, the optimized CPU loop and the CUDA kernels all call
// these bodies.
//
// Model (as NEST's iaf_psc_exp, exact integration on a grid of step h):
//   tau_m dV/dt = -(V - E_L) + R (I_syn + I_dc),  R = tau_m / C_m
//   tau_syn dI_syn/dt = -I_syn,  a spike of weight w arriving at step t adds w to I_syn at t
//   V >= V_th: spike, V = V_reset, V clamped for ref_steps steps
// Units: ms, mV, pA, pF. V is held relative to E_L.
#pragma once
#include <math.h>
#include <stdint.h>

#include "runtime/hd.h"
#include "runtime/philox.h"

namespace rsnn::mc {

// Propagators of one step, computed once (double precision) by make_propagators.
struct LifPropagators {
  float p22 = 0;      // exp(-h / tau_m): membrane decay
  float p11 = 0;      // exp(-h / tau_syn): synaptic current decay
  float p21 = 0;      // mV per pA of I_syn at the start of the step
  float p20 = 0;      // mV per pA of constant current over the step
  float v_th = 0;     // threshold - E_L (mV)
  float v_reset = 0;  // reset - E_L (mV)
  int32_t ref_steps = 0;
};

// One step of neuron n, in NEST's order: integrate V with the current of the previous step
// (unless refractory), then decay I_syn and add this step's input, then test the threshold.
// Returns whether the neuron spikes in this step. Branch-free so a loop over neurons
// vectorizes (a select of V itself would make GCC compute the integration in a branch): a
// refractory neuron integrates with factors 1, 0, 0, which keeps V's value.
RSNN_HD bool lif_step(const LifPropagators& p, float& v, float& i_syn, int32_t& ref, float i_dc,
                      float input) {
  const bool free = ref == 0;
  const float a22 = free ? p.p22 : 1.f, a21 = free ? p.p21 : 0.f, a20 = free ? p.p20 : 0.f;
  const float v_new = a22 * v + a21 * i_syn + a20 * i_dc;
  const int32_t ref_new = ref - (ref != 0 ? 1 : 0);
  i_syn = p.p11 * i_syn + input;
  const bool spike = v_new >= p.v_th;
  v = spike ? p.v_reset : v_new;
  ref = spike ? p.ref_steps : ref_new;
  return spike;
}

// This step's synaptic input: the ring entry plus `count` background events of weight w_bg.
RSNN_HD float step_input(float ring_value, float w_bg, int count) {
  return ring_value + w_bg * static_cast<float>(count);
}

// A synapse's delay and target in one word: delay << 24 | target (targets < 2^24, delays
// 1..255 steps). Ordering the words orders by (delay, target): each row is one group of
// synapses per delay, which the CPU op delivers into a single step's input (cache-resident).
RSNN_HD uint32_t pack_synapse(int32_t target, int delay) {
  return (static_cast<uint32_t>(delay) << 24) | static_cast<uint32_t>(target);
}
RSNN_HD int32_t synapse_target(uint32_t word) { return static_cast<int32_t>(word & 0xFFFFFFu); }
RSNN_HD int synapse_delay(uint32_t word) { return static_cast<int>(word >> 24); }

// Poisson(lam) count by inversion of its distribution function at u in (0, 1);
// exp_neg_lam = exp(-lam), computed once per neuron. Stops when the next term underflows.
RSNN_HD int poisson_count(double u, double lam, double exp_neg_lam) {
  int k = 0;
  double pk = exp_neg_lam, cdf = pk;
  while (u > cdf && pk > 0) {
    ++k;
    pk *= lam / k;
    cdf += pk;
  }
  return k;
}

// Poisson counts by table: poisson_thresholds(lam) lists th[0] <= th[1] <= ... such that
// poisson_count at the uniform of 32-bit word w (background_uniform) equals the number of
// entries <= w, bit for bit (the CDF comparisons are exact in double). lut[b] counts the
// entries <= b << 24, so a draw costs one byte load and, for the few of the 256 buckets that
// hold a threshold, a comparison or two: no division, no loop over the CDF.
RSNN_HD int poisson_count_lut(uint32_t w, const uint8_t* lut, const uint32_t* th, int len) {
  int k = lut[w >> 24];
  while (k < len && w >= th[k]) ++k;
  return k;
}

// The Philox stream of neuron n's background.
RSNN_HD uint64_t poisson_stream(int64_t n) {
  return (uint64_t(0x6D63) << 48) | static_cast<uint64_t>(n);  // 0x6D63 = "mc"
}
// Neuron n's background uniform in global step t is 32-bit word t % 4 of Philox block t / 4
// of its stream, so one block serves four steps (the optimized CPU loop keeps it).
RSNN_HD philox::Words background_block(uint64_t seed, int64_t n, int64_t t) {
  return philox::block(seed, poisson_stream(n), static_cast<uint64_t>(t) >> 2);
}
RSNN_HD double background_uniform(const philox::Words& w, int64_t t) {
  return (static_cast<double>(w.v[t & 3]) + 0.5) * (1.0 / 4294967296.0);  // in (0, 1)
}

}  // namespace rsnn::mc
