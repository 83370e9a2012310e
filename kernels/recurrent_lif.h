// Fused recurrent (adaptive) LIF layer: all T steps of a network of N neurons coupled by one
// sparse Projection, forward and exact backward (BPTT through the reset and the adaptation,
// with a surrogate spike derivative), without the tape. autograd/recurrent_lif.h puts it on
// the tape as one op.
//
// Model (spec barrel-cortex-rsnn.md §1.3-1.6). N neurons in G contiguous groups, updated in
// group order within a step. For step t = 0..T-1, sample b, neuron i:
//   I[t,i] = I_ext[t, i - input_offset] (0 outside [input_offset, input_offset + N_in))
//          + sum over synapses j->i of sign_j * w_ji * s_j[t'],
//   t' = t   when group(j) < group(i) and order = gauss_seidel (earlier groups already ran),
//   t' = t-1 otherwise (always with order = previous_step); s[-1] = s0 (real values allowed).
// Then the neuron step of kernels/lif_math.h. Fused readout: y[t] = s[t][ro] W_ro^T, where ro
// concatenates the neuron ranges cfg.readout in order (W_ro column k = k-th readout neuron).
//
// Shapes (T steps, B batch, N neurons, N_in driven neurons, R readout units, N_ro = sum of
// readout range lengths, nnz synapses; float32 or float64, all the same dtype, all on the
// projection's device: CPU, or CUDA via kernels/recurrent_lif.cu):
//   w [nnz] (magnitudes, post-major order of the Projection; the sign is the source's)
//   tau_m, tau_adp, b_base [N];  i_ext [T, B, N_in];  v0, a0, s0 [B, N] (undefined = zeros)
//   w_ro [R, N_ro] (undefined = no readout)
//   outputs: spikes [T, B, N] (float, cfg.output_spikes), readout [T, B, R],
//            spike_record uint8 [T, B, N] (cfg.record_spikes), v_record, a_record [T, B, N]
//            (cfg.record_state; the state after each step's update).
//
// Layout contract (CPU and CUDA, kernels/recurrent_lif.cu). Per-step state is neuron-major
// with the batch innermost, x[n * B + b], so that every synapse works on a contiguous B-vector
// (v, a, s, dL/dv, dL/da, dL/ds). The saved tensors are [T, N, B]. Inputs and outputs keep
// the user's [T, B, *] layout and are converted inside the step loop. Event-driven (push)
// accumulators are sample-major, acc[b * As + i], so that a spike's pre-major row scatters into
// one sample's N-vector; the backward keeps a sample-major copy of dL/dv for the same reason
// (the weight-gradient sums). On the CPU the row stride As is N rounded up to an odd number of
// cache lines and the accumulators are read in 8 x 8 transposed tiles (CPU-internal; the CUDA
// kernels keep their own). Spikes are also kept as bit masks, ceil(B / 64) words per neuron.
// Per-call tables: sign * w in post-major order (pull) and pre-major order (push), and
// sign * w * dv/dI of the target in pre-major order (the backward's error gather; on the CPU
// with 16-bit target indices when N <= 65536, built by the forward on a thread its one-thread
// time loop leaves free, LifSaved::tables, else by the backward).
//
// Kept for backward (LifSaved): u[t] = v[t] - Th[t] for every neuron-step (the spikes are
// recomputed as u > 0, bit-exactly), and the adaptation a[t] for alif. That is 8 bytes per
// neuron-step in float32 (4 for lif/if), 16 (8) in float64. v[t] is recomputed as
// u[t] + Th[t]; the input current is never stored (see recurrent_lif_backward).
//
// Threads (OpenMP): the batch is cut into blocks of 8 samples; slices of whole blocks (at most
// 64 samples) run the time loop independently, and the parameter gradients are summed per
// block and reduced in block order, so every result is bit-identical for any thread count.
// A batch of one block runs on one thread or on all threads split over neuron rows with a
// barrier between phases (each row owned by one thread, fixed summation order), whichever
// measures faster (LifConfig::row_team). Pull and push add the same non-zero terms in the same
// order, so they give identical values too. The hot loops are compiled for baseline x86-64
// and for x86-64-v3 (AVX2, FMA), picked at load time; results can differ between the two
// (FMA contraction), never between runs on one machine. The CPU time loops flush denormals to
// zero (runtime/fp_mode.h; the reasons in recurrent_lif_cpu.h); the reference does not.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/lif_math.h"
#include "kernels/projection.h"
#include "runtime/tensor.h"

namespace rsnn {

enum class UpdateOrder : int {
  gauss_seidel = 0,   // groups in order; a source in an earlier group contributes this step's spike
  previous_step = 1,  // every synapse carries the previous step's spike
};

// Whether a batch of one 8-sample block runs its time loop on a team of threads split over
// neuron rows or on one thread (see LifConfig::row_team); the results are identical.
enum class RowTeam : int {
  measured = 0,  // time both on the first calls of a workload, then run the faster
  always = 1,    // the team (when the phases reach row_parallel_min_work)
  never = 2,     // one thread
};

// How spikes reach their targets in the forward pass (identical results on the CPU; on CUDA,
// push and cusparse sum in another order than pull, so the last bits may differ).
enum class Propagation : int {
  automatic = 0,  // per step and slice: push when the previous step's firing r (spikes per
                  // neuron-sample) is below push_below * sqrt(64 / slice width), or the slice has
                  // fewer than 8 samples; else pull (measured crossover, docs/perf-log.md).
                  // CUDA: always pull
  pull = 1,       // per target, gather B-vectors over its post-major row, skipping sources silent
                  // in every sample (cost ~ nnz * B per step, vectorized)
  push = 2,       // per spike (j, b), scatter j's pre-major row into sample b's accumulator
                  // (cost ~ spikes * out-degree = r * B * nnz per step, scalar)
  cusparse = 3,   // CUDA only, the baseline: cusparseSpMM of the signed CSR matrix with the dense
                  // spikes, per group (kernels/recurrent_lif.cu); the CPU op rejects it
};

struct NeuronRange {
  int64_t start = 0;
  int64_t length = 0;
};

struct LifConfig {
  NeuronModel model = NeuronModel::alif;
  double dt = 1.0;
  double r_m = 1.0;
  double beta = 1.8;  // alif only
  Surrogate surrogate = Surrogate::gaussian;
  double sg_width = 0.5;
  double sg_scale = 0.5;
  UpdateOrder order = UpdateOrder::gauss_seidel;
  Propagation propagation = Propagation::automatic;
  double push_below = 0.06;            // automatic: see Propagation (docs/perf-log.md, "pull vs push")
  // Threads: the batch is split into slices of whole 8-sample blocks that run independently;
  // a batch of one block (B <= 8) may be split over neuron rows instead (a barrier after every
  // phase: about G + 2 per step) when the work of a phase, about (4 N + nnz) * B / (G + 2)
  // operations, reaches row_parallel_min_work. row_team says whether it is: measured (the
  // default) times the team and one thread twice each on the first calls of each workload and
  // runs the faster, re-timing the other now and then (every 16th to 128th call, the further
  // apart the two, the rarer: TeamChooser in recurrent_lif_cpu.h). A barrier waits for the
  // slowest thread, so on a machine busy with other work a descheduled thread stalls every phase
  // (a team can be much slower than one thread under load and faster on an idle machine).
  RowTeam row_team = RowTeam::measured;
  int64_t row_parallel_min_work = int64_t(1) << 14;
  std::vector<int64_t> group_offsets;  // G+1 non-decreasing entries from 0 to N; empty = {0, N}
  int64_t input_offset = 0;            // I_ext drives neurons [input_offset, input_offset + N_in)
  std::vector<NeuronRange> readout;    // neurons read by W_ro, in column order
  bool output_spikes = false;          // differentiable float spikes [T, B, N]
  bool record_spikes = false;          // uint8 spike record [T, B, N]
  bool record_state = false;           // v and a after each step [T, B, N]
};

namespace kernels {

struct LifInputs {
  Tensor w;        // [nnz]
  Tensor tau_m;    // [N]
  Tensor tau_adp;  // [N] (read for alif only; may be undefined otherwise)
  Tensor b_base;   // [N]
  Tensor i_ext;    // [T, B, N_in]
  Tensor v0;       // [B, N] or undefined (zeros)
  Tensor a0;       // [B, N] or undefined (zeros)
  Tensor s0;       // [B, N] or undefined (zeros)
  Tensor w_ro;     // [R, N_ro] or undefined
};

// Tables the CPU backward derives from the weights and the projection alone (its error
// gather's weights and targets in backward order, the per-call neuron constants). Internal to
// kernels/recurrent_lif_cpu_tables.h, which defines the one implementation.
struct LifBackwardTables {
  virtual ~LifBackwardTables() = default;
  virtual int64_t bytes() const = 0;
};

// What backward needs besides the inputs. u, a: [T, N, B] (a only for alif). tables: when the
// CPU forward runs its time loop on one thread while another is free (a batch of one 8-sample
// block that measured faster on one thread), the free thread builds the backward's tables
// meanwhile and keeps them here; the backward uses them when it is given the same projection,
// config and input tensors (the same storage) as the forward, and builds its own otherwise. As
// for u and a, the inputs must not be changed in place between the forward and the backward.
struct LifSaved {
  Tensor u;
  Tensor a;
  std::shared_ptr<const LifBackwardTables> tables;
  int64_t bytes() const;                  // bytes of u and a (the state kept per neuron-step)
  double bytes_per_neuron_step() const;   // bytes() / (T * B * N)
  int64_t table_bytes() const { return tables ? tables->bytes() : 0; }  // ~14 B per synapse (float32)
};

struct LifStats {
  int64_t spikes = 0;      // spikes emitted over all steps and samples
  int64_t push_steps = 0;  // slice-steps whose currents were assembled by push (summed over slices)
  int64_t pull_steps = 0;  // slice-steps assembled by pull; push + pull = T * slices
  int64_t slices = 1;      // independent batch slices the call ran (see Threads above)
  int64_t synaptic_events = 0;  // sum over spikes of the out-degree (work of event-driven propagation)
  int threads = 1;              // OpenMP threads of the time loop (1 when a step is too small)
};

struct LifForward {
  Tensor spikes;        // [T, B, N] (cfg.output_spikes)
  Tensor readout;       // [T, B, R] (w_ro defined)
  Tensor spike_record;  // uint8 [T, B, N] (cfg.record_spikes)
  Tensor v_record;      // [T, B, N] (cfg.record_state)
  Tensor a_record;      // [T, B, N] (cfg.record_state)
  LifSaved saved;       // defined when keep_for_backward
  LifStats stats;
};

// Which gradients to compute.
struct LifNeeds {
  bool w = false, tau_m = false, tau_adp = false, i_ext = false;
  bool v0 = false, a0 = false, s0 = false, w_ro = false;
};

// Gradients (undefined where not needed). dtau_adp and da0 are zeros for lif/if, dtau_m zeros for if.
struct LifGrads {
  Tensor dw, dtau_m, dtau_adp, di_ext, dv0, da0, ds0, dw_ro;
};

// Throws a one-line rsnn::Error for any inconsistent shape, dtype, device or config.
void validate_lif(const Projection& p, const LifConfig& cfg, const LifInputs& x);

// Optimized CPU forward: OpenMP over neuron rows, results independent of the thread count
// and of the propagation strategy (bit-identical).
LifForward recurrent_lif_forward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                 bool keep_for_backward);

// Optimized CPU backward. dspikes [T, B, N] and dreadout [T, B, R] are the output gradients
// (undefined = zero). The reverse time loop recomputes spikes, thresholds and v from `saved`.
// The error reaches the sources through the pre-major transpose (a gather, no atomics); the
// weight gradient is accumulated only where the presynaptic spike is non-zero. dL/dalpha needs
// sum_t dv[t]*I[t]; its recurrent part is recovered as r_m * sum_j sign_j w_ji q_ji from the
// per-synapse sums q_ji = sum_t,b dv_i[t] s_j[t'] that the weight gradient accumulates anyway,
// so the input current is never stored or recomputed.
LifGrads recurrent_lif_backward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                const LifSaved& saved, const Tensor& dspikes,
                                const Tensor& dreadout, const LifNeeds& needs);

// The same two calls ordered on an explicit stream, so a caller can run two networks at once
// on two streams of one device. `stream` must belong to the projection's device (on the CPU
// any CPU stream: the CPU op is synchronous). The CUDA forward returns once its counts are
// read back; the CUDA backward, on a stream other than the legacy default, returns once its
// scratch is free for any other stream. Every tensor it returns is ready on `stream`.
LifForward recurrent_lif_forward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                 bool keep_for_backward, Stream stream);
LifGrads recurrent_lif_backward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                const LifSaved& saved, const Tensor& dspikes,
                                const Tensor& dreadout, const LifNeeds& needs, Stream stream);

// Plain reference (the specification): scalar loops in [T, B, N] layout that keep every
// state and current. The reference forward also fills `saved` (converted) when asked.
LifForward recurrent_lif_forward_ref(const Projection& p, const LifConfig& cfg,
                                     const LifInputs& x);
// Reference backward: reruns the reference forward keeping everything, then the plain
// reverse loop (dL/dalpha from the stored currents). Computes every gradient.
LifGrads recurrent_lif_backward_ref(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                    const Tensor& dspikes, const Tensor& dreadout);

}  // namespace kernels
}  // namespace rsnn
