// `rsnn microcircuit`: builds the Potjans & Diesmann cortical microcircuit at a scale factor,
// simulates it (presimulation discarded), and writes per-population rates, CV of ISI and
// synchrony (rates.csv) with the run's configuration and sizes (summary.json), and the
// recorded spikes (spikes.h5); with python3, matplotlib and h5py, a raster (raster.png) and
// a rate bar chart (rates.png) through tools/plot_microcircuit.py.
// Under `mpirun -np N` (N > 1) the neurons are partitioned across the ranks (--partition) and
// spikes are exchanged every minimum delay (kernels/microcircuit_dist.h); rank 0 writes the
// same files as a one-rank run, with the same spikes, and is the only one to print.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "kernels/microcircuit.h"
#include "models/microcircuit/analysis.h"
#include "models/microcircuit/potjans.h"
#include "models/scale/study.h"
#include "runtime/atomic_file.h"
#include "runtime/device.h"
#include "runtime/dist.h"
#include "runtime/error.h"
#include "runtime/process.h"
#include "runtime/threads.h"
#include "tools/rsnn/command.h"

namespace rsnn::cli {
namespace {

struct McArgs {
  mc::PotjansConfig cfg;
  double k_scale = -1;  // set only by --k-scale; otherwise --scale
  double time_ms = 1000, presim_ms = 500;
  std::string background = "poisson", v0 = "optimized", out;
  double record_fraction = 1.0;  // of each population's neurons into spikes.h5; 0: no file
  std::string plot = "auto";     // auto | on | off
  double raster_ms = 200;        // time window of raster.png
  std::string partition = "round-robin";  // with several ranks: round-robin | population
};

// One rank's sizes and exchange counters (summary.json "rank_stats").
struct RankRow {
  int64_t neurons = 0, synapses = 0, network_bytes = 0, peak_rss_bytes = 0;
  int64_t intervals = 0, spikes_sent = 0, bytes_sent = 0, bytes_received = 0;
  double exchange_s = 0, simulate_s = 0;
};

// What a run produced: the global spike record (rank 0) and the network's totals.
struct RunResult {
  mc::SpikeRecord spikes;
  std::vector<int64_t> offsets;
  int64_t synapses = 0;
  int min_delay = 1, max_delay = 1, interval = 0;  // interval: steps between exchanges (0: none)
  double build_s = 0, sim_s = 0;
  std::vector<RankRow> ranks;  // every rank's row (rank 0 only)
};

// Runs tools/plot_microcircuit.py `kind` on `input` into `png`; a failed plot is reported,
// never fatal (the numbers are already written).
void draw(const PythonScript& ps, const std::string& kind, const std::string& input, const std::string& png,
          const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {ps.python, ps.script, kind, input, png};
  argv.insert(argv.end(), extra.begin(), extra.end());
  if (run_process(argv, false) == 0)
    std::cout << "wrote " << png << "\n";
  else
    std::cout << "note: plotting " << png << " failed (see the messages above)\n";
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int64_t steps_of(double ms, double dt, const char* flag) {
  const double s = ms / dt, r = std::round(s);
  RSNN_CHECK(std::fabs(s - r) <= 1e-9 * std::max(1.0, s), flag, ": ", ms, " ms is not a whole number of ", dt,
             " ms steps");
  return static_cast<int64_t>(r);
}

std::string json_number(double x) {
  if (!std::isfinite(x)) return "null";
  std::ostringstream os;
  os.precision(8);
  os << x;
  return os.str();
}

void rank_stats_json(std::ostringstream& os, const std::vector<RankRow>& rows) {
  os << ",\n  \"rank_stats\": [\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    const RankRow& w = rows[r];
    os << "    {\"rank\": " << r << ", \"neurons\": " << w.neurons << ", \"synapses\": " << w.synapses
       << ", \"network_bytes\": " << w.network_bytes << ", \"peak_rss_bytes\": " << w.peak_rss_bytes
       << ", \"exchanges\": " << w.intervals << ", \"spikes_sent\": " << w.spikes_sent
       << ", \"exchange_bytes_sent\": " << w.bytes_sent << ", \"exchange_bytes_received\": " << w.bytes_received
       << ", \"exchange_s\": " << json_number(w.exchange_s) << ", \"simulate_s\": " << json_number(w.simulate_s)
       << "}" << (r + 1 < rows.size() ? ",\n" : "\n");
  }
  os << "  ]";
}

std::string summary_json(const McArgs& a, const RunResult& m, const std::vector<mc::PopulationStats>& st,
                         const std::string& device) {
  std::ostringstream os;
  const mc::PotjansConfig& c = a.cfg;
  os << "{\n  \"model\": \"potjans_diesmann_2014\",\n  \"scale\": " << json_number(c.scale)
     << ",\n  \"k_scale\": " << json_number(c.k_scale) << ",\n  \"seed\": " << c.seed
     << ",\n  \"dt_ms\": " << json_number(c.dt) << ",\n  \"v0\": \"" << a.v0 << "\",\n  \"background\": \"" << a.background
     << "\",\n  \"presim_ms\": " << json_number(a.presim_ms) << ",\n  \"time_ms\": " << json_number(a.time_ms)
     << ",\n  \"device\": \"" << device << "\",\n  \"threads\": " << num_threads()
     << ",\n  \"ranks\": " << m.ranks.size() << ",\n  \"partition\": \"" << (m.ranks.size() > 1 ? a.partition : "none")
     << "\",\n  \"exchange_interval_steps\": " << m.interval
     << ",\n  \"neurons\": " << m.offsets.back() << ",\n  \"synapses\": " << m.synapses
     << ",\n  \"bytes_per_synapse\": " << mc::DelayCsr::kBytesPerSynapse
     << ",\n  \"min_delay_steps\": " << m.min_delay << ",\n  \"max_delay_steps\": " << m.max_delay
     << ",\n  \"build_s\": " << json_number(m.build_s) << ",\n  \"simulate_s\": " << json_number(m.sim_s);
  rank_stats_json(os, m.ranks);
  os << ",\n  \"populations\": [\n";
  for (size_t p = 0; p < st.size(); ++p)
    os << "    {\"name\": \"" << st[p].name << "\", \"neurons\": " << st[p].neurons << ", \"spikes\": " << st[p].spikes
       << ", \"rate_hz\": " << json_number(st[p].rate_hz) << ", \"cv_isi\": " << json_number(st[p].cv_isi)
       << ", \"synchrony\": " << json_number(st[p].synchrony) << "}" << (p + 1 < st.size() ? ",\n" : "\n");
  os << "  ]\n}\n";
  return os.str();
}

void log_network(int64_t n, int64_t nnz, int dmin, int dmax, double build_s) {
  std::cerr << "microcircuit: " << n << " neurons, " << nnz << " synapses (" << mc::DelayCsr::kBytesPerSynapse
            << " bytes each), delays " << dmin << ".." << dmax << " steps, built in " << std::fixed
            << std::setprecision(2) << build_s << " s" << std::defaultfloat << "\n";
}

// The whole network on this process (no MPI, or one rank), on the CPU or the GPU.
RunResult run_single(const McArgs& a, const Device& dev, int64_t presim, int64_t steps) {
  RunResult out;
  auto t0 = std::chrono::steady_clock::now();
  const mc::Microcircuit m = mc::build_potjans(a.cfg);
  out.build_s = seconds_since(t0);
  out.offsets = m.offsets;
  out.synapses = m.graph.nnz();
  out.min_delay = m.graph.min_delay();
  out.max_delay = m.graph.max_delay();
  log_network(m.neurons(), out.synapses, out.min_delay, out.max_delay, out.build_s);
  mc::State s = mc::make_state(m.graph, m.v0);
  auto sim = [&](int64_t T) {
    return dev.is_cuda() ? mc::simulate_cuda(m.graph, m.prop, m.drive, s, T)
                         : mc::simulate_cpu(m.graph, m.prop, m.drive, s, T);
  };
  t0 = std::chrono::steady_clock::now();
  if (presim > 0) sim(presim);
  out.spikes = sim(steps).spikes;
  out.sim_s = seconds_since(t0);
  RankRow row;
  row.neurons = m.neurons();
  row.synapses = out.synapses;
  row.network_bytes = static_cast<int64_t>(m.graph.ptr.size() * 8) + out.synapses * mc::DelayCsr::kBytesPerSynapse;
  row.peak_rss_bytes = scale::peak_rss_bytes();
  row.simulate_s = out.sim_s;
  out.ranks = {row};
  return out;
}

// This rank's neurons (--partition); every rank takes part, rank 0 gets the spikes and rows.
RunResult run_distributed(const McArgs& a, int64_t presim, int64_t steps) {
  RunResult out;
  auto t0 = std::chrono::steady_clock::now();
  const mc::Partition part = mc::potjans_partition(a.cfg, a.partition, dist::size(), dist::rank());
  const mc::LocalMicrocircuit m = mc::build_potjans_local(a.cfg, part);
  out.offsets = m.offsets;
  out.synapses = dist::sum_int(m.graph.nnz());
  // Global delay range: the largest negated minimum and the largest maximum over the ranks.
  const int64_t neg_min = -int64_t(m.graph.nnz() ? m.graph.min_delay() : 255), dmax = m.graph.max_delay();
  int64_t mm[2] = {neg_min, dmax};
  std::vector<size_t> off;
  const std::vector<uint8_t> all = dist::allgather_bytes(mm, sizeof(mm), &off);
  for (size_t r = 0; r + 1 < off.size(); ++r) {
    int64_t x[2];
    std::memcpy(x, &all[off[r]], sizeof(x));
    mm[0] = std::max(mm[0], x[0]);
    mm[1] = std::max(mm[1], x[1]);
  }
  out.min_delay = static_cast<int>(-mm[0]);
  out.max_delay = static_cast<int>(mm[1]);
  out.interval = out.synapses > 0 ? out.min_delay : 1;
  out.build_s = seconds_since(t0);
  if (dist::is_root()) log_network(m.neurons(), out.synapses, out.min_delay, out.max_delay, out.build_s);
  mc::State s = mc::make_local_state(m.graph, m.v0);
  mc::ExchangeStats xs;
  dist::barrier();  // time the simulation alone, from a common start
  t0 = std::chrono::steady_clock::now();
  if (presim > 0) mc::simulate_dist(m.graph, part, m.prop, m.drive, s, presim, out.interval, false, &xs);
  out.spikes = mc::simulate_dist(m.graph, part, m.prop, m.drive, s, steps, out.interval, dist::is_root(), &xs).spikes;
  out.sim_s = seconds_since(t0);
  RankRow row;
  row.neurons = part.local_count();
  row.synapses = m.graph.nnz();
  row.network_bytes = m.graph.bytes();
  row.peak_rss_bytes = scale::peak_rss_bytes();
  row.intervals = xs.intervals;
  row.spikes_sent = xs.spikes_sent;
  row.bytes_sent = xs.bytes_sent;
  row.bytes_received = xs.bytes_received;
  row.exchange_s = xs.seconds;
  row.simulate_s = out.sim_s;
  const std::vector<uint8_t> rows = dist::allgather_bytes(&row, sizeof(row), &off);
  out.ranks.resize(off.size() - 1);
  for (size_t r = 0; r < out.ranks.size(); ++r) std::memcpy(&out.ranks[r], &rows[off[r]], sizeof(RankRow));
  return out;
}

void run(McArgs& a, const RunOptions& ro) {
  apply_threads(ro);
  RSNN_CHECK(a.background == "poisson" || a.background == "dc", "--background: expected poisson or dc, got '",
             a.background, "'");
  a.cfg.k_scale = a.k_scale > 0 ? a.k_scale : a.cfg.scale;
  a.cfg.poisson = a.background == "poisson";
  RSNN_CHECK(a.v0 == "optimized" || a.v0 == "original", "--v0: expected optimized or original, got '", a.v0, "'");
  a.cfg.v0_optimized = a.v0 == "optimized";
  const int64_t presim = steps_of(a.presim_ms, a.cfg.dt, "--presim"), steps = steps_of(a.time_ms, a.cfg.dt, "--time");
  RSNN_CHECK(steps > 0, "--time: must be at least one step");
  RSNN_CHECK(a.plot == "auto" || a.plot == "on" || a.plot == "off", "--plot: expected auto, on or off, got '", a.plot,
             "'");
  PythonScript ps;
  if (a.plot == "off") ps.why_not = "plots disabled (--plot off)";
  else ps = find_python_script("plot_microcircuit.py", "RSNN_MC_PLOT_SCRIPT", "matplotlib, h5py, numpy");
  RSNN_CHECK(a.plot != "on" || ps.found(), "--plot on: ", ps.why_not);
  mc::potjans_partition(a.cfg, a.partition, dist::size(), dist::rank());  // checks --partition on any rank count
  const bool distributed = dist::size() > 1;
  RSNN_CHECK(!distributed || ro.device == "auto" || ro.device == "cpu",
             "--device: the distributed simulation (mpirun with several ranks) runs on CPUs, got '", ro.device, "'");
  const Device dev = select_device(distributed ? "cpu" : ro.device, dist::is_root() ? &std::cerr : nullptr);
  if (dist::is_root()) std::filesystem::create_directories(a.out);
  const RunResult m = distributed ? run_distributed(a, presim, steps) : run_single(a, dev, presim, steps);
  if (!dist::is_root()) return;  // rank 0 writes and prints
  std::vector<std::string> names(mc::kPopNames.begin(), mc::kPopNames.end());
  const auto st = mc::population_stats(m.spikes, m.offsets, names, a.cfg.dt);
  write_text_atomic(a.out + "/rates.csv", mc::stats_csv(st));
  if (a.record_fraction > 0)
    mc::write_spikes_h5(a.out + "/spikes.h5", m.spikes, m.offsets, names, a.cfg.dt, a.record_fraction);
  write_text_atomic(a.out + "/summary.json", summary_json(a, m, st, dev.is_cuda() ? "cuda" : "cpu"));
  std::cout << "population  rate_hz  cv_isi  synchrony\n";
  for (const auto& p : st)
    std::cout << std::left << std::setw(10) << p.name << std::right << std::setw(9) << std::setprecision(3)
              << p.rate_hz << std::setw(8) << p.cv_isi << std::setw(11) << p.synchrony << "\n";
  if (!ps.found()) {
    std::cout << "note: " << ps.why_not << "\n";
  } else {
    if (a.record_fraction > 0)
      draw(ps, "raster", a.out + "/spikes.h5", a.out + "/raster.png", {json_number(std::min(a.raster_ms, a.time_ms))});
    else
      std::cout << "note: no raster.png with --record-fraction 0\n";
    draw(ps, "rates", a.out + "/rates.csv", a.out + "/rates.png");
  }
  if (distributed) {
    double xs_max = 0;
    int64_t sent = 0, received = 0;
    for (const RankRow& w : m.ranks) {
      xs_max = std::max(xs_max, w.exchange_s);
      sent += w.bytes_sent;
      received += w.bytes_received;
    }
    std::cout << m.ranks.size() << " ranks (" << a.partition << "), spikes exchanged every " << m.interval
              << " steps: " << m.ranks[0].intervals << " exchanges, " << sent << " bytes sent and " << received
              << " received in all, up to " << std::setprecision(3) << xs_max << " s in the exchange per rank\n";
  }
  std::cout << "simulated " << a.presim_ms + a.time_ms << " ms in " << std::setprecision(2) << m.sim_s
            << " s (wall); results in " << a.out << "\n";
}

Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("microcircuit",
                                 "Simulate the Potjans & Diesmann (2014) cortical microcircuit at a scale factor");
  auto a = std::make_shared<McArgs>();
  auto ro = std::make_shared<RunOptions>();
  cmd->add_option("--scale", a->cfg.scale, "fraction of the neurons, (0, 1]")->check(positive_number())->capture_default_str();
  cmd->add_option("--k-scale", a->k_scale, "fraction of the in-degrees, (0, 1] (default: --scale)")->check(positive_number());
  cmd->add_option("--time", a->time_ms, "recorded biological time (ms)")->check(positive_number())->capture_default_str();
  cmd->add_option("--presim", a->presim_ms, "discarded time before recording (ms)")->check(non_negative_number())->capture_default_str();
  cmd->add_option("--seed", a->cfg.seed, "seed of the network and the background")->capture_default_str();
  cmd->add_option("--background", a->background, "poisson or dc")->capture_default_str();
  cmd->add_option("--v0", a->v0, "initial membrane: optimized (NEST's, per population) or original (-58 +- 10 mV)")
      ->capture_default_str();
  cmd->add_option("--record-fraction", a->record_fraction,
                  "fraction of each population whose spikes go to spikes.h5 (0: none)")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--plot", a->plot, "raster.png and rates.png: auto | on | off")->capture_default_str();
  cmd->add_option("--raster-ms", a->raster_ms, "time window of raster.png (ms)")->check(positive_number())->capture_default_str();
  cmd->add_option("--out", a->out, "output folder (rates.csv, summary.json, spikes.h5, PNGs)")->required();
  cmd->add_option("--partition", a->partition,
                  "with mpirun -np N > 1: round-robin (neuron i on rank i % N) or population (contiguous ranges)")
      ->capture_default_str();
  add_run_options(cmd, *ro);
  cmd->callback([a, ro] { run(*a, *ro); });
});

}  // namespace
}  // namespace rsnn::cli
