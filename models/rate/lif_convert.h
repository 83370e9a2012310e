// A trained rate RNN converted to a network of leaky integrate-and-fire neurons and its
// simulation (spec rate-to-spiking.md §3, the original `LIF_network_fnc.m`):
//   W = (relu(w) diag(sign)) .* som_m / s,  readout w_out / s (no b_out),  input w_in u
//   (unscaled), per-unit synaptic decay td from the trained taus (x 5 ms), dt = 0.05 ms,
//   100 LIF steps per rate step, 2-ms refractory period, BIAS = vpeak, voltage noise.
// s is the "scaling factor" (1/lambda in the paper).
//
// Many trials run at once: trials in parallel over OpenMP threads, each trial sequential.
// Every random draw of trial k comes from Philox keyed by (seed, k, step), so a batch gives
// bit-for-bit the results of simulating its trials one at a time.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/rate_lif.h"
#include "models/rate/rate_rnn.h"
#include "models/rate/tasks.h"

namespace rsnn::rate {

// The simulation itself is kernels/rate_lif.h; these are its types.
using kernels::rate_lif::LifConsts;
using LifRecord = kernels::rate_lif::Record;
using LifTrialResult = kernels::rate_lif::Result;

// Optogenetic-style stimulation (LIF_network_fnc.m's `stims`): at every step i (1-based, as
// the original's loop) with on <= i < off, one draw per step: with probability 1/2 the
// membrane of every unit in `units` (0-based) moves by +amp mV ("exc", depolarizing) or -amp
// ("inh"), after the voltage update and before the spikes are found. sign 0: none.
struct LifStims {
  int sign = 0;               // +1 exc, -1 inh, 0 none
  int64_t on = 0, off = 0;    // steps [on, off), 1-based
  std::vector<int> units;     // distinct, 0-based
  double amp = 0.5;           // mV
  bool active() const { return sign != 0 && !units.empty() && off > on; }
};

struct LifParams {
  double dt = 0.00005;    // s per step at downsample 1
  int downsample = 1;     // >1: dt x downsample (faster, less faithful)
  double tref = 0.002;    // s
  double tm = 0.010;      // s
  double vreset = -65;    // mV
  double vpeak = -40;     // mV
  double bias = -40;      // mV (= vpeak)
  double tr = 0.002;      // s; 0 = single-exponential synapse
  double noise_std = 0.1; // mV per step
  double v_init_lo = -65, v_init_hi = 30;  // initial v ~ U(lo, hi)
  double rate_step_s = 0.005;  // one rate step (5 ms): td = tau_steps x rate_step_s
  bool use_initial_weights = false;  // w0 instead of w
  LifStims stims;         // CPU simulation only (lif_performance falls back to it)
  LifConsts consts() const;
};

struct LifNetwork {
  int N = 0, C = 0;
  double scaling_factor = 1;
  LifParams p;
  std::vector<double> WT;      // (N, N): WT[k * N + i] = W[i, k], presynaptic k (scaled)
  std::vector<double> w_in;    // (N, C)
  std::vector<double> w_out;   // (N) scaled readout
  std::vector<double> td, td0; // (N) s: trained / initial synaptic decay
  std::vector<double> exp_td;  // (N) exp(-dt / td)
  std::vector<double> jump;    // (N) lif_filter_jump: 1 / (tr td)
  std::vector<uint8_t> inh;    // (N)
  // Input columns after subsampling by downsample d: ceil(Tc / d).
  int columns_for(int Tc) const;
  // Number of LIF steps for an input of Tc columns: (columns_for(Tc) - 1) x 100.
  int64_t steps_for(int Tc) const;
  // The arrays as the kernels read them (pointers into this network).
  kernels::rate_lif::NetView view() const;
};

LifNetwork convert_to_lif(const RateNet& net, double scaling_factor, const LifParams& p = {});
// Rebuild for another scaling factor without touching the rest.
void set_scaling_factor(LifNetwork& lif, const RateNet& net, double scaling_factor);

// One trial: u (C, Tc) row-major inputs; draws keyed by (seed, trial).
LifTrialResult simulate_lif(const LifNetwork& net, const float* u, int Tc, uint64_t seed,
                            uint64_t trial, const LifRecord& rec = {});
// Many trials (inputs from `trials`, ids `ids`) in parallel over CPU threads.
std::vector<LifTrialResult> simulate_lif_batch(const LifNetwork& net,
                                               const std::vector<Trial>& trials, uint64_t seed,
                                               const std::vector<uint64_t>& ids,
                                               const LifRecord& rec = {});

// CUDA: one trial per block, outputs only (no stims) (out (B, nt) and spike counts). Throws when the
// build has no CUDA backend or no device is usable.
void simulate_lif_cuda(const LifNetwork& net, const std::vector<Trial>& trials, uint64_t seed,
                       const std::vector<uint64_t>& ids, std::vector<std::vector<float>>& out,
                       std::vector<int64_t>& n_spikes);

}  // namespace rsnn::rate
