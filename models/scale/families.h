// Network families of the scaling study (`rsnn scale`, docs/scale.md), all built into the
// simulation-only delayed LIF op of kernels/microcircuit.h (current-based LIF, exponential
// synapses, integer delays, Poisson background; dt 0.1 ms, NEST's iaf_psc_exp defaults):
//
//   microcircuit   Potjans & Diesmann at a scale factor S (neurons and in-degrees both x S),
//                  models/microcircuit/potjans.h unchanged.
//   barrel-tiled   C copies of the barrel column's cortical connectivity (4,218 neurons, 13
//                  populations, models/barrel/anatomy.h tables), each column sampled with its
//                  own stream, on a ring: every excitatory population also projects to the
//                  neighbouring columns (c - 1 and c + 1, one neighbour when C = 2, none when
//                  C = 1) with probability kInterFraction x its within-column probability.
//                  The barrel model's adaptive LIF and trained weights are NOT simulated: the
//                  op's LIF neuron with fixed weights (below) runs on the barrel connectivity.
//   random-ei      Brunel-style: N neurons, 80 % excitatory, fixed in-degree K (0.8 K from
//                  the excitatory and 0.2 K from the inhibitory neurons, sources uniform,
//                  multapses and autapses allowed), one delay, Poisson background.
//
// Every random draw is keyed by (seed, purpose, index) through Philox, so a network does not
// depend on the thread count.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/microcircuit.h"

namespace rsnn::scale {

enum class Family { microcircuit, barrel_tiled, random_ei };
Family parse_family(const std::string& name);  // throws naming the valid families
std::string family_name(Family f);

// Parameters of the two families defined here (the microcircuit's are potjans.h's).
// Weights are PSC amplitudes (pA); j_exc = 87.81 pA gives a PSP peak of 0.15 mV.
struct RandomEiParams {
  int64_t max_indegree = 1000;   // K = min(max_indegree, round(0.1 N))
  double exc_fraction = 0.8;
  double j_exc = 87.81, g = 5.0;  // inhibitory weight = -g j_exc
  double delay_ms = 1.5;
  // Poisson events per neuron, weight j_exc: alone they would hold the mean membrane at
  // 14 mV above rest (rate x j_exc x tau_syn x tau_m / C_m), just under the 15 mV threshold.
  double bg_rate_hz = 8000.0;
};
struct BarrelTiledParams {
  double j_exc = 87.81, g = 5.0;
  double delay_exc_ms = 1.5, delay_inh_ms = 0.8, delay_inter_ms = 2.0;
  double bg_rate_hz = 8000.0;     // Poisson events per neuron, weight j_exc
};
inline constexpr double kInterFraction = 0.1;  // inter-column / within-column probability

// A network ready for mc::simulate_cpu / simulate_cuda.
struct ScaleNet {
  mc::DelayCsr graph;
  mc::Drive drive;
  mc::LifPropagators prop;
  std::vector<float> v0;         // [n] mV relative to E_L
  int64_t inter_synapses = 0;    // barrel-tiled: synapses between columns
  double dt = 0.1;               // ms
  int64_t neurons() const { return graph.n; }
  // Bytes of the network and its state: synapses (8 each), row pointers, drive, V/I/ref and
  // the ring buffer (D = max delay + 1 floats per neuron).
  int64_t bytes() const;
};

// Fixed in-degree of a random-ei network of n neurons.
int64_t random_ei_indegree(int64_t n, const RandomEiParams& p);
// n >= 10 neurons, at most DelayCsr::kMaxNeurons.
ScaleNet build_random_ei(int64_t n, const RandomEiParams& p, uint64_t seed);
// columns >= 1; tables: the barrel model's default ones (barrel::default_tables()).
ScaleNet build_barrel_tiled(int64_t columns, const BarrelTiledParams& p, uint64_t seed);
// Potjans & Diesmann with scale = k_scale = `scale`, Poisson background.
ScaleNet build_microcircuit(double scale, uint64_t seed);

// Neighbouring columns of each column on the ring: min(C - 1, 2).
int barrel_neighbours(int64_t columns);
// Expected synapses between columns: C x neighbours x kInterFraction x (expected synapses from
// the excitatory populations within one column).
double barrel_expected_inter_synapses(int64_t columns);

// Peak bytes of building and simulating a size (network, build scratch, state), for the check
// before building; `size` is the scale factor, column count or neuron count.
double estimated_bytes(Family f, double size, const RandomEiParams& rp);
// Throws a one-line error when `size` is not valid for the family (a scale factor in (0, 1],
// a whole number of columns >= 1, a whole number of neurons in [10, 2^24]).
void check_size(Family f, double size);

}  // namespace rsnn::scale
