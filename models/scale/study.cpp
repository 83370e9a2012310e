// The scaling study's measurements (contract in models/scale/study.h).
#include "models/scale/study.h"

#include "models/scale/train_step.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "models/barrel/anatomy.h"
#include "runtime/error.h"
#include "runtime/resources.h"

namespace rsnn::scale {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int64_t steps_of(double ms, double dt, const char* flag) {
  const double s = ms / dt, r = std::round(s);
  RSNN_CHECK(std::isfinite(ms) && ms >= 0 && std::fabs(s - r) <= 1e-9 * std::max(1.0, s), flag, ": ", ms,
             " ms is not a whole number of ", dt, " ms steps");
  return static_cast<int64_t>(r);
}

ScaleNet build(const StudyOptions& o, double size) {
  switch (o.family) {
    case Family::microcircuit: return build_microcircuit(size, o.seed);
    case Family::barrel_tiled: return build_barrel_tiled(static_cast<int64_t>(size), o.barrel, o.seed);
    case Family::random_ei: return build_random_ei(static_cast<int64_t>(size), o.random_ei, o.seed);
  }
  throw Error("scale: unknown family");
}

}  // namespace

std::vector<double> parse_sizes(const std::string& list, Family f) {
  std::string s = list;
  for (char& c : s)
    if (c == ',') c = ' ';
  std::istringstream in(s);
  std::vector<double> sizes;
  std::string tok;
  while (in >> tok) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(tok, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    RSNN_CHECK(used == tok.size() && used > 0, "--sizes: '", tok, "' is not a number");
    check_size(f, v);
    sizes.push_back(v);
  }
  RSNN_CHECK(!sizes.empty(), "--sizes: empty list (expected e.g. 0.02,0.05 or 10000,100000)");
  return sizes;
}

void check_fits(const StudyOptions& o, double size) {
  RSNN_CHECK(!o.train || o.family == Family::barrel_tiled,
             "--train: only the barrel-tiled family has a training step to time");
  RSNN_CHECK(!o.train || (o.train_batch >= 1 && o.train_steps >= 1), "--batch and --train-steps must be >= 1");
  double need = estimated_bytes(o.family, size, o.random_ei);
  if (o.train) {
    // The op's projection (16 B per synapse), its per-call tables (~14 B) and the pair lists
    // (8 B); per neuron-step-sample the input (4 B), saved state (8 B) and backward scratch.
    const double n = size * double(barrel::kCorticalNeurons), syn = size * 1.25e6 * (1 + 2 * kInterFraction);
    need += syn * (16 + 14 + 8) + n * double(o.train_batch) * double(o.train_steps) * 16;
  }
  std::ostringstream what;
  what << "--sizes: " << family_name(o.family) << " size " << size;
  check_memory_fits(need, what.str());
}

int64_t delivered_events(const mc::DelayCsr& g, const mc::SpikeRecord& r) {
  int64_t e = 0;
  for (int32_t s : r.neuron) e += g.ptr[s + 1] - g.ptr[s];
  return e;
}

int64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<int64_t>(u.ru_maxrss) * 1024;  // KiB on Linux
}

ScaleRow run_size(const StudyOptions& o, double size, std::ostream* log) {
  check_fits(o, size);
  ScaleRow row;
  row.family = family_name(o.family);
  row.size = size;
  auto t0 = std::chrono::steady_clock::now();
  const ScaleNet net = build(o, size);
  row.build_s = seconds_since(t0);
  std::ostringstream name;  // "random-ei 100000", "microcircuit 0.1"
  name << "scale: " << row.family << " " << std::setprecision(10) << size << ": ";
  row.neurons = net.neurons();
  row.synapses = net.graph.nnz();
  row.inter_synapses = net.inter_synapses;
  row.network_bytes = net.bytes();
  row.bytes_per_synapse = row.synapses > 0 ? double(row.network_bytes) / double(row.synapses) : 0;
  if (log)
    *log << name.str() << row.neurons << " neurons, " << row.synapses
         << " synapses, built in " << std::fixed << std::setprecision(2) << row.build_s << " s" << std::endl;

  const int64_t presim = steps_of(o.presim_ms, net.dt, "--presim");
  row.steps = steps_of(o.time_ms, net.dt, "--time");
  RSNN_CHECK(row.steps > 0, "--time: must be at least one step");
  mc::State st = mc::make_state(net.graph, net.v0);
  auto sim = [&](int64_t T) {
    return o.cuda ? mc::simulate_cuda(net.graph, net.prop, net.drive, st, T)
                  : mc::simulate_cpu(net.graph, net.prop, net.drive, st, T);
  };
  if (presim > 0) sim(presim);
  t0 = std::chrono::steady_clock::now();
  const mc::SimResult r = sim(row.steps);
  row.sim_s = seconds_since(t0);
  row.bio_s = double(row.steps) * net.dt * 1e-3;
  row.spikes = static_cast<int64_t>(r.spikes.neuron.size());
  row.events = delivered_events(net.graph, r.spikes);
  row.rate_hz = double(row.spikes) / (double(row.neurons) * row.bio_s);
  // A run too short for the clock's resolution would give infinite throughputs.
  const double sim_s = std::max(row.sim_s, 1e-9);
  row.wall_per_bio_s = sim_s / row.bio_s;
  row.events_per_s = double(row.events) / sim_s;
  row.updates_per_s = double(row.neurons) * double(row.steps) / sim_s;
  if (o.train) {
    const TrainTiming t = time_barrel_bptt_step(net, o.train_batch, o.train_steps, o.seed);
    row.trained = true;
    row.train_batch = t.B;
    row.train_steps = t.T;
    row.train_spikes = t.spikes;
    row.train_saved_bytes = t.saved_bytes;
    row.train_forward_s = t.forward_s;
    row.train_backward_s = t.backward_s;
    if (log)
      *log << name.str() << "BPTT step B " << t.B << " T " << t.T << ": forward "
           << t.forward_s << " s, backward " << t.backward_s << " s" << std::endl;
  }
  row.peak_rss_bytes = peak_rss_bytes();
  if (log)
    *log << name.str() << o.time_ms << " ms in " << row.sim_s << " s, rate "
         << row.rate_hz << " Hz, " << std::scientific << std::setprecision(3) << row.events_per_s
         << " events/s, peak RSS " << format_bytes(double(row.peak_rss_bytes)) << std::defaultfloat << std::endl;
  return row;
}

std::string rows_csv(const std::vector<ScaleRow>& rows) {
  std::ostringstream os;
  os << "family,size,neurons,synapses,inter_synapses,network_bytes,bytes_per_synapse,peak_rss_bytes,build_s,"
        "bio_s,steps,sim_s,wall_per_bio_s,spikes,rate_hz,events,events_per_s,updates_per_s,train_batch,train_steps,"
        "train_forward_s,train_backward_s,train_step_s,train_spikes,train_saved_bytes\n";
  os << std::setprecision(9);
  for (const ScaleRow& r : rows) {
    os << r.family << "," << r.size << "," << r.neurons << "," << r.synapses << "," << r.inter_synapses << ","
       << r.network_bytes << "," << r.bytes_per_synapse << "," << r.peak_rss_bytes << "," << r.build_s << ","
       << r.bio_s << "," << r.steps << "," << r.sim_s << "," << r.wall_per_bio_s << "," << r.spikes << ","
       << r.rate_hz << "," << r.events << "," << r.events_per_s << "," << r.updates_per_s;
    if (r.trained)
      os << "," << r.train_batch << "," << r.train_steps << "," << r.train_forward_s << "," << r.train_backward_s
         << "," << r.train_forward_s + r.train_backward_s << "," << r.train_spikes << "," << r.train_saved_bytes << "\n";
    else
      os << ",,,,,,,\n";
  }
  return os.str();
}

}  // namespace rsnn::scale
