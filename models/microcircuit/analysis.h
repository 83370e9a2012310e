// Per-population statistics of a spike record: firing rate, CV of inter-spike intervals and
// a synchrony index, as reported for the cortical microcircuit.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/microcircuit.h"

namespace rsnn::mc {

struct PopulationStats {
  std::string name;
  int64_t neurons = 0, spikes = 0;
  double rate_hz = 0;    // spikes / (neurons * recorded time)
  double cv_isi = 0;     // mean over neurons with >= 2 intervals of sd/mean (ddof 0); NaN if none
  int64_t cv_neurons = 0;
  double synchrony = 0;  // variance / mean of the population spike count in bins; NaN if no spike
};

// rec covers steps of dt_ms; population p is neurons offsets[p] .. offsets[p+1].
std::vector<PopulationStats> population_stats(const SpikeRecord& rec, const std::vector<int64_t>& offsets,
                                              const std::vector<std::string>& names, double dt_ms,
                                              double bin_ms = 3.0);
// Spikes into an HDF5 file (written atomically): for population p (recording its first
// ceil(fraction * size) neurons, fraction in (0, 1]) the datasets /spikes/<name>/neuron
// (int32, index within the population) and /spikes/<name>/time_ms (float64, (step + 1) * dt
// from the start of the record: a spike is stamped at the end of its step, as NEST does),
// in time order, with attributes size and recorded; the root has dt_ms and steps.
void write_spikes_h5(const std::string& path, const SpikeRecord& rec, const std::vector<int64_t>& offsets,
                     const std::vector<std::string>& names, double dt_ms, double fraction);

// CSV with a header line: population,neurons,spikes,rate_hz,cv_isi,cv_neurons,synchrony.
std::string stats_csv(const std::vector<PopulationStats>& stats);

}  // namespace rsnn::mc
