// Per-population spike statistics (contract in models/microcircuit/analysis.h).
#include "models/microcircuit/analysis.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "runtime/error.h"
#include "runtime/hdf5_io.h"

namespace rsnn::mc {

std::vector<PopulationStats> population_stats(const SpikeRecord& rec, const std::vector<int64_t>& offsets,
                                              const std::vector<std::string>& names, double dt_ms,
                                              double bin_ms) {
  RSNN_CHECK(offsets.size() == names.size() + 1 && !names.empty(), "population_stats: ", names.size(),
             " names for ", offsets.size(), " offsets");
  RSNN_CHECK(dt_ms > 0 && bin_ms >= dt_ms, "population_stats: need dt > 0 and bin >= dt");
  const int64_t n = offsets.back(), T = rec.steps(), P = static_cast<int64_t>(names.size());
  const int64_t bin = std::max<int64_t>(1, std::llround(bin_ms / dt_ms)), bins = T / bin;
  std::vector<int64_t> last(n, -1), isi_n(n, 0), pop_of(n, 0);
  std::vector<double> isi_sum(n, 0), isi_sum2(n, 0);
  std::vector<int64_t> hist(static_cast<size_t>(P * std::max<int64_t>(bins, 1)), 0);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t i = offsets[p]; i < offsets[p + 1]; ++i) pop_of[i] = p;
  std::vector<PopulationStats> out(P);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = rec.step_ptr[t]; k < rec.step_ptr[t + 1]; ++k) {
      const int32_t i = rec.neuron[k];
      RSNN_CHECK(i >= 0 && i < n, "population_stats: spike of neuron ", i, " outside [0, ", n, ")");
      ++out[pop_of[i]].spikes;
      if (t / bin < bins) ++hist[pop_of[i] * bins + t / bin];
      if (last[i] >= 0) {
        const double d = double(t - last[i]);
        ++isi_n[i];
        isi_sum[i] += d;
        isi_sum2[i] += d * d;
      }
      last[i] = t;
    }
  const double seconds = double(T) * dt_ms * 1e-3;
  for (int64_t p = 0; p < P; ++p) {
    PopulationStats& s = out[p];
    s.name = names[p];
    s.neurons = offsets[p + 1] - offsets[p];
    s.rate_hz = seconds > 0 && s.neurons > 0 ? double(s.spikes) / (double(s.neurons) * seconds) : NAN;
    double cv = 0;
    for (int64_t i = offsets[p]; i < offsets[p + 1]; ++i) {
      if (isi_n[i] < 2) continue;
      const double mean = isi_sum[i] / isi_n[i], var = std::max(0.0, isi_sum2[i] / isi_n[i] - mean * mean);
      cv += std::sqrt(var) / mean;
      ++s.cv_neurons;
    }
    s.cv_isi = s.cv_neurons ? cv / double(s.cv_neurons) : NAN;
    double m = 0, m2 = 0;
    for (int64_t b = 0; b < bins; ++b) {
      const double c = double(hist[p * bins + b]);
      m += c;
      m2 += c * c;
    }
    if (bins > 0) m /= double(bins), m2 /= double(bins);
    s.synchrony = m > 0 ? (m2 - m * m) / m : NAN;
  }
  return out;
}

void write_spikes_h5(const std::string& path, const SpikeRecord& rec, const std::vector<int64_t>& offsets,
                     const std::vector<std::string>& names, double dt_ms, double fraction) {
  RSNN_CHECK(offsets.size() == names.size() + 1, "write_spikes_h5: ", names.size(), " names for ",
             offsets.size(), " offsets");
  RSNN_CHECK(fraction > 0 && fraction <= 1, "write_spikes_h5: fraction must be in (0, 1], got ", fraction);
  const size_t P = names.size();
  std::vector<int64_t> last(P);  // recorded neurons of p: offsets[p] .. last[p]
  for (size_t p = 0; p < P; ++p)
    last[p] = offsets[p] + static_cast<int64_t>(std::ceil(fraction * double(offsets[p + 1] - offsets[p])));
  std::vector<std::vector<int32_t>> neuron(P);
  std::vector<std::vector<double>> time(P);
  for (int64_t t = 0; t < rec.steps(); ++t)
    for (int64_t k = rec.step_ptr[t]; k < rec.step_ptr[t + 1]; ++k) {
      const int32_t i = rec.neuron[k];
      const size_t p = static_cast<size_t>(std::upper_bound(offsets.begin(), offsets.end(), i) - offsets.begin()) - 1;
      RSNN_CHECK(i >= 0 && p < P, "write_spikes_h5: spike of neuron ", i, " outside the populations");
      if (i >= last[p]) continue;
      neuron[p].push_back(static_cast<int32_t>(i - offsets[p]));
      time[p].push_back(double(t + 1) * dt_ms);
    }
  H5File f = H5File::create(path);
  f.set_attr("/", "dt_ms", dt_ms);
  f.set_attr("/", "steps", rec.steps());
  for (size_t p = 0; p < P; ++p) {
    const std::string g = "/spikes/" + names[p];
    const int64_t m = static_cast<int64_t>(neuron[p].size());
    f.write(g + "/neuron", Tensor::from_vector(neuron[p], {m}));
    f.write(g + "/time_ms", Tensor::from_vector(time[p], {m}));
    f.set_attr(g, "size", offsets[p + 1] - offsets[p]);
    f.set_attr(g, "recorded", last[p] - offsets[p]);
  }
  f.close();
}

std::string stats_csv(const std::vector<PopulationStats>& stats) {
  std::ostringstream os;
  os.precision(6);
  os << "population,neurons,spikes,rate_hz,cv_isi,cv_neurons,synchrony\n";
  for (const PopulationStats& s : stats)
    os << s.name << ',' << s.neurons << ',' << s.spikes << ',' << s.rate_hz << ',' << s.cv_isi << ','
       << s.cv_neurons << ',' << s.synchrony << '\n';
  return os.str();
}

}  // namespace rsnn::mc
