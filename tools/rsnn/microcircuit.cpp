// `rsnn microcircuit`: builds the Potjans & Diesmann cortical microcircuit at a scale factor,
// simulates it (presimulation discarded), and writes per-population rates, CV of ISI and
// synchrony (rates.csv) with the run's configuration and sizes (summary.json), and the
// recorded spikes (spikes.h5); with python3, matplotlib and h5py, a raster (raster.png) and
// a rate bar chart (rates.png) through tools/plot_microcircuit.py.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "kernels/microcircuit.h"
#include "models/microcircuit/analysis.h"
#include "models/microcircuit/potjans.h"
#include "runtime/atomic_file.h"
#include "runtime/device.h"
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

std::string summary_json(const McArgs& a, const mc::Microcircuit& m, const std::vector<mc::PopulationStats>& st,
                         double build_s, double sim_s, const std::string& device) {
  std::ostringstream os;
  const mc::PotjansConfig& c = a.cfg;
  os << "{\n  \"model\": \"potjans_diesmann_2014\",\n  \"scale\": " << json_number(c.scale)
     << ",\n  \"k_scale\": " << json_number(c.k_scale) << ",\n  \"seed\": " << c.seed
     << ",\n  \"dt_ms\": " << json_number(c.dt) << ",\n  \"v0\": \"" << a.v0 << "\",\n  \"background\": \"" << a.background
     << "\",\n  \"presim_ms\": " << json_number(a.presim_ms) << ",\n  \"time_ms\": " << json_number(a.time_ms)
     << ",\n  \"device\": \"" << device << "\",\n  \"threads\": " << num_threads()
     << ",\n  \"neurons\": " << m.neurons() << ",\n  \"synapses\": " << m.graph.nnz()
     << ",\n  \"bytes_per_synapse\": " << mc::DelayCsr::kBytesPerSynapse
     << ",\n  \"min_delay_steps\": " << m.graph.min_delay() << ",\n  \"max_delay_steps\": " << m.graph.max_delay()
     << ",\n  \"build_s\": " << json_number(build_s) << ",\n  \"simulate_s\": " << json_number(sim_s)
     << ",\n  \"populations\": [\n";
  for (size_t p = 0; p < st.size(); ++p)
    os << "    {\"name\": \"" << st[p].name << "\", \"neurons\": " << st[p].neurons << ", \"spikes\": " << st[p].spikes
       << ", \"rate_hz\": " << json_number(st[p].rate_hz) << ", \"cv_isi\": " << json_number(st[p].cv_isi)
       << ", \"synchrony\": " << json_number(st[p].synchrony) << "}" << (p + 1 < st.size() ? ",\n" : "\n");
  os << "  ]\n}\n";
  return os.str();
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
  const Device dev = select_device(ro.device, &std::cerr);
  std::filesystem::create_directories(a.out);

  auto t0 = std::chrono::steady_clock::now();
  const mc::Microcircuit m = mc::build_potjans(a.cfg);
  const double build_s = seconds_since(t0);
  std::cerr << "microcircuit: " << m.neurons() << " neurons, " << m.graph.nnz() << " synapses ("
            << mc::DelayCsr::kBytesPerSynapse << " bytes each), delays " << m.graph.min_delay() << ".."
            << m.graph.max_delay() << " steps, built in " << std::fixed << std::setprecision(2) << build_s << " s\n";
  mc::State s = mc::make_state(m.graph, m.v0);
  const bool cuda = dev.is_cuda();
  auto sim = [&](int64_t T) {
    return cuda ? mc::simulate_cuda(m.graph, m.prop, m.drive, s, T) : mc::simulate_cpu(m.graph, m.prop, m.drive, s, T);
  };
  t0 = std::chrono::steady_clock::now();
  if (presim > 0) sim(presim);
  const mc::SimResult r = sim(steps);
  const double sim_s = seconds_since(t0);

  std::vector<std::string> names(mc::kPopNames.begin(), mc::kPopNames.end());
  const auto st = mc::population_stats(r.spikes, m.offsets, names, a.cfg.dt);
  write_text_atomic(a.out + "/rates.csv", mc::stats_csv(st));
  if (a.record_fraction > 0)
    mc::write_spikes_h5(a.out + "/spikes.h5", r.spikes, m.offsets, names, a.cfg.dt, a.record_fraction);
  write_text_atomic(a.out + "/summary.json", summary_json(a, m, st, build_s, sim_s, dev.is_cuda() ? "cuda" : "cpu"));
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
  std::cout << "simulated " << a.presim_ms + a.time_ms << " ms in " << std::setprecision(2) << sim_s
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
  add_run_options(cmd, *ro);
  cmd->callback([a, ro] { run(*a, *ro); });
});

}  // namespace
}  // namespace rsnn::cli
