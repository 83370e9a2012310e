// The scaling study (`rsnn scale`, docs/scale.md): for each size of a network family, build
// the network, simulate a biological time with the delayed LIF op, and measure build time,
// memory, wall time per simulated second, synaptic events per second and neuron updates
// per second. One ScaleRow per size, written as scale.csv.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "models/scale/families.h"

namespace rsnn::scale {

struct StudyOptions {
  Family family = Family::random_ei;
  double time_ms = 100;   // simulated and timed (whole 0.1 ms steps)
  double presim_ms = 0;   // simulated first, not timed nor counted
  uint64_t seed = 1;
  bool cuda = false;      // simulate_cuda instead of simulate_cpu
  bool train = false;     // barrel-tiled: also time a BPTT step (models/scale/train_step.h)
  int64_t train_batch = 8, train_steps = 100;
  RandomEiParams random_ei;
  BarrelTiledParams barrel;
};

struct ScaleRow {
  std::string family;
  double size = 0;              // scale factor, columns or neurons
  int64_t neurons = 0, synapses = 0, inter_synapses = 0;
  int64_t network_bytes = 0;    // ScaleNet::bytes()
  double bytes_per_synapse = 0; // network_bytes / synapses (neurons' share included)
  int64_t peak_rss_bytes = 0;   // getrusage after this size (the process's peak so far)
  double build_s = 0, sim_s = 0, bio_s = 0;
  int64_t steps = 0, spikes = 0, events = 0;  // events: delivered synapse events (sum of out-degrees)
  double rate_hz = 0;           // spikes / (neurons x bio_s)
  double wall_per_bio_s = 0;    // sim_s / bio_s
  double events_per_s = 0;      // events / sim_s
  double updates_per_s = 0;     // neurons x steps / sim_s
  bool trained = false;         // the train_* fields hold a measurement
  int64_t train_batch = 0, train_steps = 0, train_spikes = 0, train_saved_bytes = 0;
  double train_forward_s = 0, train_backward_s = 0;
};

// "0.02,0.05 0.1" (commas and/or spaces; 1e4 notation allowed) -> sizes, each checked for the
// family; throws on an empty list, a token that is not a number, or an invalid size.
std::vector<double> parse_sizes(const std::string& list, Family f);

// Bytes this process may use (runtime/resources.h) against estimated_bytes: throws naming the
// size, the estimate and what is available when it cannot fit.
void check_fits(const StudyOptions& o, double size);

// Builds, simulates and measures one size; progress lines go to `log` when given.
ScaleRow run_size(const StudyOptions& o, double size, std::ostream* log);

// Delivered synapse events of a spike record: the sum of the out-degrees of its spikes.
int64_t delivered_events(const mc::DelayCsr& g, const mc::SpikeRecord& r);

int64_t peak_rss_bytes();  // getrusage(RUSAGE_SELF).ru_maxrss in bytes

// scale.csv: a header and one line per row; the train_* cells are empty where no training step
// was timed.
std::string rows_csv(const std::vector<ScaleRow>& rows);

}  // namespace rsnn::scale
