// Pieces of the optimized CPU microcircuit op (kernels/microcircuit.h) shared by
// simulate_cpu (threads over one network) and simulate_dist (MPI ranks, kernels/
// microcircuit_dist.h): the per-row run boundaries of each delay group, the delivery of a
// step's arriving synapses into its input, and the vectorized neuron step.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/microcircuit.h"

namespace rsnn::mc::detail {

// A CSR of delayed synapses: rows over sources, words pack_synapse(target, delay), each row
// ordered by (delay, target). DelayCsr and LocalCsr both give one.
struct CsrView {
  const int64_t* ptr;
  const uint32_t* syn;
  const float* weight;
};

// Run boundaries of every row by delay, found once per call. With C = P columns per delay,
// thread j's synapses of delay d in row s (targets in [lo[j], lo[j+1])) are row[c[d C + j] ..
// c[d C + j + 1]) with c = cut + s (D C + 1), and c[D C] is the row's length: delivery does
// no search. With C = 1 (when that table would rival the synapses in size) only the delay
// groups are kept and each thread finds its part by binary search.
struct Cuts {
  std::vector<uint32_t> c;
  int64_t stride = 0;  // D * C + 1
  int C = 1;
};
// Row s's cuts into c (stride entries); false when the row is not ordered by delay.
bool row_cuts(const CsrView& g, int64_t D, const std::vector<int64_t>& lo, int C, int64_t s, uint32_t* c);
// Adds to `slot` (indexed by target), for every spike in `spikes` (ascending sources), its
// synapses of delay d onto thread j's targets [lo[j], lo[j+1]).
void deliver_group(const CsrView& g, const Cuts& cuts, const std::vector<int64_t>& lo,
                   const std::vector<int32_t>& spikes, int d, int j, float* slot);

// The neurons [a, b) of `state` (indices into drive and state) in one step: Poisson counts,
// the update, the spikes. Neuron i's background stream is poisson_stream(gid0 + i * gstep)
// (its global id: gid0 = 0, gstep = 1 in one process; a rank's affine map under MPI).
class NeuronStepper {
 public:
  NeuronStepper(const LifPropagators& p, const PoissonTables& pt, const Drive& drive, State& state, int64_t a,
                int64_t b, int64_t gid0, int64_t gstep);
  // One step at global step `now`, with this step's input `slot` (indexed like the state;
  // read and zeroed); `fresh`: the first step of a call (the Philox words are made anew).
  // Appends the spiking neurons, ascending, to `fired`.
  void step(int64_t now, bool fresh, float* slot, std::vector<int32_t>& fired);

  struct Segment {
    int64_t c0 = 0, len = 0;
    bool uniform = false;  // every neuron has table q, bg weight w and DC idc
    int32_t q = -1;
    float w = 0, idc = 0;
  };

 private:
  const LifPropagators* p_;
  const PoissonTables* pt_;
  const Drive* drive_;
  State* state_;
  int64_t a_, b_, gid0_, gstep_;
  std::vector<uint32_t> words_;  // [4][b - a]: Philox words of the current group of 4 steps
  std::vector<Segment> segs_;
};

}  // namespace rsnn::mc::detail
