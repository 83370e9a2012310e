// Simulation-only spiking op for large networks with synaptic delays (issue 21): current-based
// LIF neurons with exponential synapses (kernels/microcircuit_math.h), per-synapse integer
// delays through a ring buffer of input currents, refractoriness, and a Poisson or DC
// background. Forward only: there is no backward pass and no tape op (BPTT does not support
// delays); training uses kernels/recurrent_lif.h.
//
// One step t, for every neuron: lif_step with input = ring[t % D][n] + w_bg * Poisson count,
// then every spike of step t from source s adds weight[k] to ring[(t + delay[k]) % D][target[k]]
// for each outgoing synapse k of s, so it reaches the target's I_syn at step t + delay[k].
// D = max delay + 1. Delays are >= 1 step, so the spikes of one step affect no neuron before
// the next step: min_delay() steps can be simulated between spike exchanges.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/microcircuit_math.h"
#include "runtime/cuda_entry.h"

namespace rsnn::mc {

// Neuron parameters (ms, pF, mV); defaults are those of the Potjans & Diesmann model.
struct NeuronParams {
  double tau_m = 10.0, tau_syn = 0.5, c_m = 250.0, t_ref = 2.0;
  double e_l = -65.0, v_th = -50.0, v_reset = -65.0;
  void validate(const std::string& what) const;
};
// Exact-integration propagators for step dt (ms); throws on invalid parameters or when
// t_ref is not a whole number of steps (within 1e-9).
LifPropagators make_propagators(const NeuronParams& p, double dt);

// Outgoing synapses as CSR over sources (for event-driven delivery), each row ordered by
// (delay, target).
// Memory: 8 bytes per synapse (an 8-bit delay and a 24-bit target in one uint32, a float32
// weight) plus 8 per neuron; at most 2^24 neurons.
struct DelayCsr {
  static constexpr int kBytesPerSynapse = 8;
  static constexpr int64_t kMaxNeurons = int64_t(1) << 24;
  int64_t n = 0;                // neurons (sources and targets are the same population)
  std::vector<int64_t> ptr;     // [n + 1]: synapses of source s are ptr[s] .. ptr[s + 1]
  std::vector<uint32_t> syn;    // [nnz]: pack_synapse(target, delay), ascending within each row
                                // (delay first)
  std::vector<float> weight;    // [nnz]: pA (sign included)

  int64_t nnz() const { return static_cast<int64_t>(syn.size()); }
  int32_t target(int64_t k) const { return synapse_target(syn[k]); }
  int delay(int64_t k) const { return synapse_delay(syn[k]); }  // steps, 1 .. 255
  int min_delay() const;  // smallest delay (steps); 1 for a network without synapses
  int max_delay() const;  // largest delay (steps); 1 for a network without synapses
  void validate(const std::string& what) const;  // shapes, ranges, sorted rows; throws
};
// From synapse lists in any order (src, tgt in [0, n), delay in steps 1..255); rows are
// sorted by (delay, target, weight), so equal lists in any order give the same CSR.
DelayCsr delay_csr_from_lists(int64_t n, const std::vector<int32_t>& src,
                              const std::vector<int32_t>& tgt, const std::vector<float>& weight,
                              const std::vector<int>& delay);

// Background drive of every neuron: a constant current and Poisson events.
struct Drive {
  std::vector<float> i_dc;       // [n] pA
  std::vector<double> bg_lambda; // [n] expected Poisson events per step (rate * dt); 0 = none
  std::vector<float> bg_weight;  // [n] pA per event
  uint64_t seed = 0;             // keys the Poisson draws: (seed, neuron, global step / 4)
  void validate(int64_t n, const std::string& what) const;
};

// Dynamic state; `step` is the global step count (the Poisson counter and the ring slot), so
// a run split into several calls gives the same result as one call.
struct State {
  std::vector<float> v;        // [n] mV relative to E_L
  std::vector<float> i_syn;    // [n] pA
  std::vector<int32_t> ref;    // [n] refractory steps left
  std::vector<float> ring;     // [D * n]: input arriving at step t is ring[(t % D) * n + i]
  int64_t step = 0;
};
// Rest state (V = v0 relative to E_L, no current) sized for `g`.
State make_state(const DelayCsr& g, const std::vector<float>& v0);
// The same for n neurons whose longest delay is max_delay steps (a rank's local part).
State make_state(int64_t n, int64_t max_delay, const std::vector<float>& v0);

struct SpikeRecord {
  std::vector<int64_t> step_ptr{0};  // [steps + 1]: spikes of step t are neuron[ptr[t] .. ptr[t+1])
  std::vector<int32_t> neuron;       // ascending within each step
  int64_t steps() const { return static_cast<int64_t>(step_ptr.size()) - 1; }
};
struct SimResult {
  SpikeRecord spikes;
  std::vector<float> v_trace;  // [steps, record_v.size()]: V after each step (relative to E_L)
};

// poisson_count_lut's thresholds for lam in [0, 100] (see kernels/microcircuit_math.h).
std::vector<uint32_t> poisson_thresholds(double lam);

// Runs `steps` steps from `state` (updated in place).
// The plain specification: one thread, neurons and spikes in ascending order.
SimResult simulate_reference(const DelayCsr& g, const LifPropagators& p, const Drive& drive,
                             State& state, int64_t steps, const std::vector<int32_t>& record_v = {});
// The optimized CPU version: the neurons are split into one contiguous range per thread, and
// each thread delivers spikes into its own range only. A spike's synapses of delay d are added
// in the step they arrive, into that step's input (a cache-resident slice instead of scattered
// ring rows); the rest are written to the ring when the call returns. Every ring entry
// receives its additions in the reference's order (emission step, source, row), so the
// result is the reference's bit for bit, on any thread count. One barrier per step. Uses up
// to num_threads() threads, one per kNeuronsPerThread neurons.
constexpr int64_t kNeuronsPerThread = 2048;
SimResult simulate_cpu(const DelayCsr& g, const LifPropagators& p, const Drive& drive, State& state,
                       int64_t steps, const std::vector<int32_t>& record_v = {});
// CUDA twin: the same step on the GPU (one thread per neuron, one warp per spike, additions
// by atomics, so float sums may differ from the CPU in the last bits). Spikes are logged on
// the device; more than `log_capacity` spikes in the call (0: steps * n / 50) is an error.
// Throws when rsnn was built without CUDA or no device is usable.
RSNN_CUDA_ENTRY("microcircuit simulation",
                SimResult simulate_cuda(const DelayCsr& g, const LifPropagators& p,
                                        const Drive& drive, State& state, int64_t steps,
                                        const std::vector<int32_t>& record_v = {},
                                        int64_t log_capacity = 0));

namespace detail {
// How simulate_cpu finds each thread's part of a spike's delay group: from a table per
// (neuron, delay, thread), built per call (4 (D P + 1) bytes per neuron), or by binary
// search in the group (4 (D + 1) bytes per neuron). automatic: the table unless it would
// exceed both 64 MiB and a quarter of the synapses' bytes.
enum class CutMode { automatic, per_thread, groups };
// simulate_cpu on exactly `threads` threads (tests: the result must not depend on it).
SimResult simulate_cpu_threads(const DelayCsr& g, const LifPropagators& p, const Drive& drive, State& state,
                               int64_t steps, const std::vector<int32_t>& record_v, int threads,
                               CutMode mode = CutMode::automatic);
// Poisson tables (poisson_thresholds and the 256-byte lut of poisson_count_lut) of every
// distinct bg_lambda, and each neuron's table.
struct PoissonTables {
  std::vector<uint32_t> th;      // all thresholds, table after table
  std::vector<uint8_t> lut;      // [tables * 256]
  std::vector<int64_t> start;    // [tables]: table q's thresholds begin at th[start[q]]
  std::vector<int32_t> len;      // [tables]: and number len[q] (at most 255)
  std::vector<int32_t> table;    // [n]: neuron i's table; -1 for no Poisson background
  // Neuron i's count at 32-bit word w (i must have a table).
  int count(int64_t i, uint32_t w) const {
    const int32_t q = table[i];
    return poisson_count_lut(w, &lut[static_cast<size_t>(q) * 256], &th[start[q]], len[q]);
  }
};
PoissonTables poisson_tables(const std::vector<double>& bg_lambda);
// Shared argument checks of the three versions.
void check_sim_args(const DelayCsr& g, const Drive& drive, const State& state, int64_t steps,
                    const std::vector<int32_t>& record_v, const char* who);
}  // namespace detail

}  // namespace rsnn::mc
