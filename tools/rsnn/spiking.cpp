// `rsnn spiking grid-search` and `rsnn spiking eval`: rate RNNs converted to LIF networks
// (spec rate-to-spiking.md §3-4).
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "models/rate/grid_search.h"
#include "models/rate/model_file.h"
#include "models/rate/plot_launcher.h"
#include "models/rate/rng.h"
#include "runtime/atomic_file.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/output_check.h"
#include "runtime/progress.h"
#include "tools/rsnn/command.h"

namespace rsnn::cli {
namespace {

using namespace rsnn::rate;

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string stem(const std::string& path) {
  const auto dot = path.find_last_of('.');
  return dot == std::string::npos ? path : path.substr(0, dot);
}

bool has_suffix(const std::string& n, const std::string& s) {
  return n.size() > s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0;
}

// A file, or every model of a directory: rsnn's .h5 models and the original's .mat models
// (a .mat beside an .h5 of the same name is that model's export: skipped).
std::vector<std::string> model_files(const std::string& path) {
  if (!is_dir(path)) return {path};
  std::vector<std::string> h5, mat;
  DIR* d = ::opendir(path.c_str());
  RSNN_CHECK(d, "cannot read directory ", path);
  while (dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n.find("_progress") != std::string::npos) continue;
    if (has_suffix(n, ".h5")) h5.push_back(path + "/" + n);
    if (has_suffix(n, ".mat")) mat.push_back(path + "/" + n);
  }
  ::closedir(d);
  std::vector<std::string> out = h5;
  for (const std::string& m : mat)
    if (std::find(h5.begin(), h5.end(), stem(m) + ".h5") == h5.end()) out.push_back(m);
  std::sort(out.begin(), out.end());
  RSNN_CHECK(!out.empty(), "no model files (.h5 or .mat) in ", path);
  return out;
}

bool use_cuda_for(const RunOptions& run) {
  const Device d = select_device(run.device, &std::cerr);
  return d.is_cuda();
}

std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// "a,b,c" of finite numbers >= 0 (flag names the option in the error).
std::vector<double> parse_list(const std::string& text, const char* flag) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    size_t pos = 0;
    double v = NAN;
    try {
      v = std::stod(part, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    RSNN_CHECK(pos == part.size() && pos > 0 && std::isfinite(v) && v >= 0, flag, ": '", part,
               "' is not a number >= 0 (expected a comma-separated list)");
    out.push_back(v);
  }
  RSNN_CHECK(!out.empty(), flag, ": no values");
  return out;
}

struct GridArgs {
  std::string model, factors = "20:5:75", synapse = "double", tref = "2";
  int trials = 100, downsample = 1;
  uint64_t seed = 1;
  bool force = false, mat = false;
  RunOptions run;
};

void run_grid(const GridArgs& a) {
  apply_threads(a.run);
  RSNN_CHECK(a.trials >= 1, "--trials must be >= 1, got ", a.trials);
  RSNN_CHECK(a.downsample >= 1 && 100 % a.downsample == 0, "--downsample must divide 100, got ",
             a.downsample);
  GridSearchConfig cfg;
  cfg.scaling_factors = parse_scaling_factors(a.factors);
  cfg.n_trials = a.trials;
  cfg.seed = a.seed;
  cfg.lif.downsample = a.downsample;
  RSNN_CHECK(a.synapse == "double" || a.synapse == "single", "--synapse must be double or single, got '",
             a.synapse, "'");
  if (a.synapse == "single") cfg.lif.tr = 0;  // the original's tr = 0: single exponential
  const std::vector<double> tref = parse_list(a.tref, "--tref");
  RSNN_CHECK(tref.size() == 1, "--tref: the grid search takes one value (ms), got ", tref.size());
  cfg.lif.tref = tref[0] / 1000;
  cfg.use_cuda = use_cuda_for(a.run);
  const std::vector<std::string> models = model_files(a.model);
  for (const std::string& path : models) {  // every result goes beside its model
    check_output_file(path, "--model");
    check_output_file(stem(path) + "_grid.csv", "--model");
  }
  for (const std::string& path : models) {
    RateModel m = load_rate_model(path);
    if (!std::isnan(m.opt_scaling_factor) && !a.force) {
      std::cout << path << ": already has opt_scaling_factor " << m.opt_scaling_factor
                << " (use --force to redo)\n";
      continue;
    }
    std::cout << path << ": " << cfg.scaling_factors.size() << " scaling factors x " << a.trials
              << " " << m.task.name() << " trials on " << (cfg.use_cuda ? "cuda" : "cpu")
              << (a.synapse == "single" ? ", single-exponential synapse" : "")
              << (a.tref != "2" ? ", tref " + num(tref[0]) + " ms" : "") << std::endl;
    ProgressBar bar("grid search", int64_t(cfg.scaling_factors.size()) * a.trials, "trial");
    GridSearchResult r = grid_search(m.net, m.task, cfg, [&](int64_t done, int64_t) { bar.update(done); });
    bar.finish();
    std::ostringstream csv;
    csv << "scaling_factor,performance\n";
    for (size_t k = 0; k < r.scaling_factors.size(); ++k) {
      std::cout << "  1/lambda " << std::setw(6) << r.scaling_factors[k] << "  performance "
                << std::fixed << std::setprecision(2) << r.all_perfs[k] << std::defaultfloat
                << (int(k) == r.opt_index ? "  <- chosen" : "") << "\n";
      csv << r.scaling_factors[k] << "," << r.all_perfs[k] << "\n";
    }
    m.scaling_factors = r.scaling_factors;
    m.all_perfs = r.all_perfs;
    m.opt_scaling_factor = r.opt_scaling_factor;
    if (is_mat_file(path)) {
      mat_store_grid_result(path, m);  // the original appends its results to the .mat
    } else {
      save_rate_model(path, m);
      if (a.mat) export_matlab(stem(path) + ".mat", m);
    }
    write_text_atomic(stem(path) + "_grid.csv", csv.str());
    std::cout << "best scaling factor " << r.opt_scaling_factor << " (performance "
              << r.all_perfs[r.opt_index] << ") in " << format_duration(r.seconds) << "; saved to "
              << path << " and " << stem(path) << "_grid.csv" << std::endl;
  }
}

struct EvalArgs {
  std::string model, record, plot = "auto", synapse = "double", tref = "2", stims = "none", stim_steps,
      stim_units = "inh";
  double scaling_factor = 0;
  int trials = 100, stride = 10, n_record = 2, downsample = 1;
  uint64_t seed = 7;
  RunOptions run;
};

// The LIF options of the original's LIF_network_fnc.m: synapse shape (tr = 0: single
// exponential), refractory period, optogenetic-style stimulation.
LifParams lif_params(const EvalArgs& a, const RateNet& net, double tref_ms) {
  LifParams p;
  p.downsample = a.downsample;
  RSNN_CHECK(a.synapse == "double" || a.synapse == "single", "--synapse must be double or single, got '",
             a.synapse, "'");
  if (a.synapse == "single") p.tr = 0;
  p.tref = tref_ms / 1000;
  RSNN_CHECK(a.stims == "none" || a.stims == "exc" || a.stims == "inh", "--stims must be none, exc or inh, got '",
             a.stims, "'");
  if (a.stims == "none") return p;
  p.stims.sign = a.stims == "exc" ? 1 : -1;
  const auto dur = parse_list(a.stim_steps, "--stim-steps");
  RSNN_CHECK(dur.size() == 2 && dur[0] >= 1 && dur[1] > dur[0] && dur[0] == std::floor(dur[0]) &&
                 dur[1] == std::floor(dur[1]),
             "--stim-steps must be ON,OFF: LIF steps (1-based) with 1 <= ON < OFF");
  p.stims.on = int64_t(dur[0]);
  p.stims.off = int64_t(dur[1]);
  if (a.stim_units == "exc" || a.stim_units == "inh" || a.stim_units == "all") {
    for (int i = 0; i < net.N(); ++i)
      if (a.stim_units == "all" || bool(net.inh[i]) == (a.stim_units == "inh")) p.stims.units.push_back(i);
  } else {
    for (double u : parse_list(a.stim_units, "--stim-units")) {
      RSNN_CHECK(u == std::floor(u) && u < net.N(), "--stim-units: ", u, " is not a unit index in [0, ",
                 net.N(), ")");
      p.stims.units.push_back(int(u));
    }
  }
  RSNN_CHECK(!p.stims.units.empty(), "--stim-units ", a.stim_units, ": the network has no such units");
  return p;
}

double eval_performance(const LifNetwork& lif, const TaskSpec& task, const EvalArgs& a,
                        const std::vector<uint64_t>& ids, bool cuda) {
  // In chunks, for a progress bar: each trial depends only on its id, and the performance is
  // the fraction of correct trials, so the chunks' counts add up to the same number.
  ProgressBar bar("eval", a.trials, "trial");
  const size_t chunk = size_t(std::max(64, a.trials / 20));
  int64_t correct = 0;
  for (size_t k0 = 0; k0 < ids.size(); k0 += chunk) {
    const std::vector<uint64_t> part(ids.begin() + k0, ids.begin() + std::min(ids.size(), k0 + chunk));
    correct += std::llround(lif_performance(lif, task, a.seed, part, cuda) * double(part.size()));
    bar.update(int64_t(k0 + part.size()));
  }
  bar.finish();
  return double(correct) / double(a.trials);
}

void run_eval(const EvalArgs& a) {
  apply_threads(a.run);
  RSNN_CHECK(a.trials >= 1, "--trials must be >= 1, got ", a.trials);
  RSNN_CHECK(a.stride >= 1, "--stride must be >= 1, got ", a.stride);
  RSNN_CHECK(a.downsample >= 1 && 100 % a.downsample == 0, "--downsample must divide 100");
  const std::vector<double> trefs = parse_list(a.tref, "--tref");
  if (!a.record.empty()) check_output_file(a.record, "--record");
  RateModel m = load_rate_model(a.model);
  double s = a.scaling_factor;
  if (s <= 0) {
    RSNN_CHECK(!std::isnan(m.opt_scaling_factor), a.model,
               ": no opt_scaling_factor yet: run `rsnn spiking grid-search` or pass --scaling-factor");
    s = m.opt_scaling_factor;
  }
  const bool cuda = use_cuda_for(a.run);
  if (cuda && a.stims != "none") std::cout << "note: the stimulation runs on the CPU\n";
  std::vector<uint64_t> ids(a.trials);
  RSNN_CHECK(uint64_t(a.trials) + 1000 < kTrialSetSpan, "--trials ", a.trials, " is too large");
  const uint64_t base = trial_id(TrialSet::lif_eval, 0);  // never a training or grid trial
  for (int k = 0; k < a.trials; ++k) ids[k] = base + uint64_t(k);
  // Several --tref values: the refractory-period sweep (paper Fig. 6), same trials for each.
  LifNetwork lif;
  double perf = 0;
  for (size_t k = 0; k < trefs.size(); ++k) {
    const LifNetwork net_k = convert_to_lif(m.net, s, lif_params(a, m.net, trefs[k]));
    const double pk = eval_performance(net_k, m.task, a, ids, cuda);
    std::cout << m.task.name() << " LIF network (N " << net_k.N << ", 1/lambda " << s << "): performance "
              << pk << " over " << a.trials << " trials" << (cuda && a.stims == "none" ? " (cuda)" : "")
              << (trefs.size() > 1 || trefs[0] != 2 ? ", tref " + num(trefs[k]) + " ms" : "")
              << (a.synapse == "single" ? ", single-exponential synapse" : "")
              << (a.stims != "none" ? ", " + a.stims + " stimulation of " + std::to_string(net_k.p.stims.units.size()) + " units" : "")
              << "\n";
    if (k == 0) lif = net_k, perf = pk;  // the first setting is recorded
  }
  if (a.record.empty()) return;
  // Record a few trials in full: one per label where possible (e.g. a NoGo and a Go trial).
  std::vector<Trial> rec_trials;
  std::vector<uint64_t> rec_ids;
  std::vector<int> seen;
  for (uint64_t k = 0; k < 1000 && int(rec_trials.size()) < a.n_record; ++k) {
    Trial t = make_trial(m.task, a.seed, base + k, 1);
    const bool new_label = std::find(seen.begin(), seen.end(), t.label) == seen.end();
    if (new_label || k >= 50) {
      seen.push_back(t.label);
      rec_trials.push_back(t);
      rec_ids.push_back(base + k);
    }
  }
  LifRecord rec;
  rec.spikes = rec.voltage = rec.rates = rec.ipsc = true;
  rec.stride = a.stride;
  auto res = simulate_lif_batch(lif, rec_trials, a.seed, rec_ids, rec);
  double fr_e = 0, fr_i = 0;
  int ne = 0, ni = 0;
  for (const auto& r : res)
    for (int i = 0; i < lif.N; ++i) (lif.inh[i] ? (fr_i += r.fr[i], ++ni) : (fr_e += r.fr[i], ++ne));
  save_lif_recording(a.record, lif, m.task, rec_trials, res, a.stride, perf);
  std::cout << "recorded " << res.size() << " trials to " << a.record << " (mean rate: exc "
            << (ne ? fr_e / ne : 0) << " Hz, inh " << (ni ? fr_i / ni : 0) << " Hz)\n";
  PlotLauncher plots(a.plot != "off");
  if (!plots.enabled()) {
    std::cout << "note: " << plots.why_not() << "\n";
    return;
  }
  const std::string png = stem(a.record) + ".png";
  plots.plot({"spiking", a.record, png}, true);
  std::cout << "plot: " << png << "\n";
}

Register reg([](CLI::App& app) {
  auto* sp = app.add_subcommand("spiking", "LIF networks converted from trained rate RNNs");
  sp->require_subcommand(1);

  static GridArgs g;
  auto* gs = sp->add_subcommand("grid-search", "Find the scaling factor (1/lambda) of the LIF conversion");
  gs->add_option("--model", g.model, "model (rsnn .h5 or the original's .mat, v5 or v7.3), or a directory of them")->required();
  gs->add_option("--scaling-factors", g.factors, "start:step:stop (inclusive) or a,b,c")->capture_default_str();
  gs->add_option("--trials", g.trials, "trials per scaling factor")->capture_default_str();
  gs->add_option("--seed", g.seed, "seed of the trials and the LIF noise")->capture_default_str();
  gs->add_option("--downsample", g.downsample, "LIF time-step multiplier (1 = 0.05 ms)")->capture_default_str();
  gs->add_option("--synapse", g.synapse, "synaptic filter: double (rise 2 ms) or single (exponential decay only)")->capture_default_str();
  gs->add_option("--tref", g.tref, "refractory period in ms")->capture_default_str();
  gs->add_flag("--force", g.force, "redo models that already have opt_scaling_factor");
  gs->add_flag("--mat", g.mat, "with an .h5 model: also write the updated MAT-file (v5) export (a .mat model is always updated in place)");
  add_run_options(gs, g.run);
  gs->callback([] { run_grid(g); });

  static EvalArgs e;
  auto* ev = sp->add_subcommand("eval", "Performance of the LIF network; rasters and output traces");
  ev->add_option("--model", e.model, "model: rsnn .h5 or the original's .mat (v5 or v7.3)")->required();
  ev->add_option("--scaling-factor", e.scaling_factor, "1/lambda (default: the model's opt_scaling_factor)")
      ->check(positive_number());
  ev->add_option("--trials", e.trials, "trials for the performance")->capture_default_str();
  ev->add_option("--seed", e.seed, "seed of the trials and the LIF noise")->capture_default_str();
  ev->add_option("--record", e.record, "HDF5 file for spikes, membrane and output traces of a few trials");
  ev->add_option("--n-record", e.n_record, "trials to record")->capture_default_str();
  ev->add_option("--stride", e.stride, "record v and r every this many steps")->capture_default_str();
  ev->add_option("--downsample", e.downsample, "LIF time-step multiplier (1 = 0.05 ms)")->capture_default_str();
  ev->add_option("--synapse", e.synapse, "synaptic filter: double (rise 2 ms) or single (exponential decay only)")->capture_default_str();
  ev->add_option("--tref", e.tref, "refractory period in ms; a list (0,2,5,10) sweeps it over the same trials")->capture_default_str();
  ev->add_option("--stims", e.stims, "optogenetic-style stimulation: none | exc (+0.5 mV) | inh (-0.5 mV), with p 1/2 per step")->capture_default_str();
  ev->add_option("--stim-steps", e.stim_steps, "ON,OFF: stimulated LIF steps, 1-based, [ON, OFF) (the original's stims.dur)");
  ev->add_option("--stim-units", e.stim_units, "stimulated units: exc | inh | all | 0-based indices i,j,...")->capture_default_str();
  ev->add_option("--plot", e.plot, "PNG raster/output plot of the recording: auto | off")->capture_default_str();
  add_run_options(ev, e.run);
  ev->callback([] { run_eval(e); });
});

}  // namespace
}  // namespace rsnn::cli
