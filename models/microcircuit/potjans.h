// The Potjans & Diesmann (2014) cortical microcircuit: 8 populations (L2/3, L4, L5, L6, each
// excitatory and inhibitory) of current-based LIF neurons with exponential synapses, built
// into the simulation-only op of kernels/microcircuit.h at any scale factor.
//
// Numbers from the paper and the model's published parameter tables (neuron counts,
// connection probabilities, external in-degrees, full-scale rates for the DC compensation).
// Connectivity is the model's fixed total number of synapses per population pair (sources and
// targets drawn uniformly, multapses and autapses allowed), K = log(1 - p) / log(1 - 1/(N_pre
// N_post)); weights normal (mean from a 0.15 mV PSP, 87.81 pA; inhibitory g = -4; L4e -> L2/3e
// doubled; sd 10 %, redrawn on a sign change); delays normal (1.5 ms excitatory, 0.75 ms
// inhibitory, sd 50 %, redrawn below dt) rounded to steps. Down-scaled in-degrees (k_scale < 1)
// get weights / sqrt(k_scale) and a DC current that restores the full-scale mean input.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/microcircuit.h"
#include "kernels/microcircuit_dist.h"

namespace rsnn::mc {

constexpr int kPops = 8;
extern const std::array<const char*, kPops> kPopNames;        // L23E L23I L4E L4I L5E L5I L6E L6I
extern const std::array<int64_t, kPops> kFullNeurons;         // 77,169 in all
extern const double kConnProb[kPops][kPops];                  // [target][source]
extern const std::array<double, kPops> kExternalIndegree;     // K_ext at full scale
extern const std::array<double, kPops> kFullScaleRates;       // Hz, for the DC compensation
// NEST's "optimized" initial membrane per population (mean and sd, mV): close to the
// stationary state, so the start transient is short.
extern const std::array<double, kPops> kV0OptimizedMean, kV0OptimizedSd;

struct PotjansConfig {
  double scale = 0.1;     // fraction of the neurons, (0, 1]
  double k_scale = 0.1;   // fraction of the in-degrees, (0, 1]
  double dt = 0.1;        // ms
  bool poisson = true;    // Poisson background; false: a DC current of the full-scale mean
  double bg_rate = 8.0;   // Hz per external input
  double psp_mean = 0.15; // mV: PSP peak of the mean excitatory weight
  double g = -4.0;        // inhibitory / excitatory weight
  double weight_rel_sd = 0.1, delay_rel_sd = 0.5;
  double delay_exc = 1.5, delay_inh = 0.75;  // ms
  bool v0_optimized = true;                  // initial V from kV0Optimized*; false: v0_mean, v0_sd
  double v0_mean = -58.0, v0_sd = 10.0;      // mV: initial membrane, normal (the paper's)
  uint64_t seed = 55;
  NeuronParams neuron;
  void validate() const;
};

struct Microcircuit {
  std::vector<int64_t> offsets;  // [kPops + 1]: population p is neurons offsets[p] .. offsets[p+1]
  std::vector<int64_t> synapses; // [kPops * kPops]: synapse count [target][source]
  DelayCsr graph;
  Drive drive;
  LifPropagators prop;
  std::vector<float> v0;         // mV relative to E_L
  int64_t neurons() const { return offsets.back(); }
};

// PSC amplitude (pA) whose exponential current gives a PSP peak of psp_mv.
double psc_from_psp(double psp_mv, const NeuronParams& p);
// Neurons of population p at `scale`: round(full size * scale), halves to even (as numpy).
int64_t population_size(int p, double scale);
// Synapse count per [target][source] pair: round(full-scale count * scale * k_scale), halves
// to even (NEST's example does the same).
std::vector<int64_t> synapse_counts(double scale, double k_scale);
// Builds the network (in parallel; the result depends only on the config, not the threads).
Microcircuit build_potjans(const PotjansConfig& cfg);

// One rank's part of the same network (issue 19): its neurons' drive and v0 and the synapses
// onto them, exactly those of build_potjans restricted to `part` (every draw is keyed by what
// it is, not by who draws it). Each rank draws every synapse's target (one Philox block each,
// the out-degrees being drawn per source) but keeps only its own.
struct LocalMicrocircuit {
  Partition part;
  std::vector<int64_t> offsets;   // global, as Microcircuit
  std::vector<int64_t> synapses;  // global counts [target][source]
  LocalCsr graph;
  Drive drive;                    // local neurons, in local order
  LifPropagators prop;
  std::vector<float> v0;          // local neurons
  int64_t neurons() const { return offsets.back(); }
};
LocalMicrocircuit build_potjans_local(const PotjansConfig& cfg, const Partition& part);
// The model's neurons over `ranks` ranks: "round-robin" (neuron i on rank i % ranks) or
// "population" (contiguous ranges, so a rank holds whole populations or consecutive parts of
// one, cut at equal load, a neuron weighing 1 + its population's mean in-degree). Another
// name is a one-line error naming --partition.
Partition potjans_partition(const PotjansConfig& cfg, const std::string& mode, int ranks, int rank);

}  // namespace rsnn::mc
