// Training cost of a tiled barrel network (`rsnn scale --train`, docs/scale.md). The barrel
// model's training path (models/barrel/train.h) is built for one 4,418-neuron column (its
// thalamus, input layers and readout sizes are fixed), and the delayed LIF op has no backward,
// so neither trains a tiled network. What is timed instead is the part of a barrel training step
// that grows with the network: one forward and one backward (BPTT) of the fused recurrent
// adaptive LIF op (kernels/recurrent_lif.h, the op the barrel model trains) on the tiled
// connectivity, without delays, with the barrel model's neuron settings, initial parameters
// and initial state, every neuron driven by a random current, and a 3-unit readout from each column's
// Pyr_SP, Pyr_SS and L2/3 Pyr neurons. No input layers, no optimizer step.
#pragma once
#include <cstdint>

#include "models/scale/families.h"

namespace rsnn::scale {

struct TrainTiming {
  int64_t B = 0, T = 0;           // batch, steps
  double forward_s = 0, backward_s = 0;
  int64_t spikes = 0, events = 0; // forward: spikes over all steps and samples, synapse events
  int64_t saved_bytes = 0;        // state kept for the backward
  int64_t synapses = 0;           // of the op's projection (= the network's)
  double dw_abs_sum = 0;          // sum of |dL/dw| (nonzero when the error reached the weights)
  double step_s() const { return forward_s + backward_s; }
};

// net: a build_barrel_tiled network (its synapses, without delays, become the op's projection;
// the source signs are the barrel populations'). B >= 1, T >= 1 steps of the op (1 ms each in
// the barrel model). Draws keyed by seed.
TrainTiming time_barrel_bptt_step(const ScaleNet& net, int64_t B, int64_t T, uint64_t seed);

}  // namespace rsnn::scale
