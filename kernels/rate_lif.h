// The simulation of a LIF network converted from a rate RNN (spec rate-to-spiking.md §3, the
// original `LIF_network_fnc.m`), one trial at a time: per step, the membrane update with
// voltage noise, the optional stimulation, the spikes, the synaptic filters (single or double
// exponential) and the readout w_out . r. The network arrives as plain arrays (models/rate
// builds them from a trained rate RNN: models/rate/lif_convert.h).
//
// Three versions sharing the element math of kernels/rate_lif_math.h and the noise of
// kernels/rate_lif_noise.h: simulate_ref (plain loops, the specification), simulate_cpu
// (branch-free loops over neurons, vectorized, noise drawn 16 steps at a time) and
// simulate_cuda (one trial per block, outputs only). ref and cpu give the same spikes; their
// outputs may differ in the last bits (FMA contraction in the AVX2 clone). CUDA differs in
// the last bits too (FMA, the readout's reduction order).
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/rate_lif_math.h"
#include "runtime/cuda_entry.h"

namespace rsnn::kernels::rate_lif {

// The network as the kernels read it: host arrays owned by the caller.
struct NetView {
  int N = 0, C = 0;
  LifConsts c{};
  const double* WT = nullptr;      // (N, N): WT[k N + i] = weight from unit k onto unit i
  const double* w_in = nullptr;    // (N, C)
  const double* w_out = nullptr;   // (N) readout
  const double* exp_td = nullptr;  // (N) exp(-dt / td)
  const double* jump = nullptr;    // (N) lif_filter_jump(c, td)
  double v_init_lo = -65, v_init_hi = 30;  // initial v ~ U(lo, hi)
  // Stimulation (the original's `stims`): at every step s (1-based) with stim_on <= s <
  // stim_off, with probability 1/2 (one coin per step) the membrane of every listed unit
  // moves by stim_sign x stim_amp mV after the voltage update, before the spikes are found.
  int stim_sign = 0;               // +1, -1, or 0: none
  int64_t stim_on = 0, stim_off = 0;
  double stim_amp = 0;
  const int* stim_units = nullptr; // distinct, in [0, N)
  int n_stim_units = 0;
  bool stimulated() const { return stim_sign != 0 && n_stim_units > 0 && stim_off > stim_on; }
};

// Philox keys of one trial: the seed and the streams of its initial potentials (element i:
// unit i), voltage noise (element s 4 ceil(N/4) + i: unit i at step s) and stimulation coins
// (element s).
struct TrialKeys {
  uint64_t seed = 0, init = 0, noise = 0, stim = 0;
};

struct Record {
  bool spikes = false;   // spike events (step, unit)
  bool voltage = false;  // v (the peak drawn at spike_peak mV), every `stride` steps
  bool rates = false;    // filtered rates r (Hz), every `stride` steps
  bool ipsc = false;     // synaptic currents, every `stride` steps
  int stride = 1;
};

struct Result {
  int64_t nt = 0;
  std::vector<float> out;  // (nt) readout w_out . r
  std::vector<double> fr;  // (N) Hz: spikes from step 10 on / (nt dt) (MATLAB all_fr)
  std::vector<int32_t> spike_step, spike_unit;  // events; step 0-based
  std::vector<float> v, rs, ipsc;  // (N, ceil(nt / stride)) when recorded
  int64_t n_spikes = 0;
};

// u: (C, Tcs) input columns (already subsampled); step s (1-based) reads column
// lif_input_column(s), so nt may be at most 100 (Tcs - 1) + 49. Throws on inconsistent input.
Result simulate_ref(const NetView& net, const float* u, int Tcs, int64_t nt, const TrialKeys& keys,
                    const Record& rec = {});
Result simulate_cpu(const NetView& net, const float* u, int Tcs, int64_t nt, const TrialKeys& keys,
                    const Record& rec = {});
// B trials at once, one per block: u (B, C, Tcs) host array, keys[B]; out (B, nt) and
// n_spikes (B) host arrays. No stimulation, no recording. Throws when the build has no CUDA
// backend or no device is usable.
RSNN_CUDA_ENTRY("rate LIF simulation",
                void simulate_cuda(const NetView& net, const float* u, int B, int Tcs, int64_t nt,
                                   const TrialKeys* keys, float* out, int64_t* n_spikes));

// The checks every version runs (shapes, pointers, stimulation units, record stride).
void check_inputs(const NetView& net, const float* u, int Tcs, int64_t nt, const Record& rec,
                  const char* what);

}  // namespace rsnn::kernels::rate_lif
