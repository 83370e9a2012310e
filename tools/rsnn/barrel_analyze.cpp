// `rsnn barrel analyze`: the analyses of spec barrel-cortex-rsnn.md §4 on a trained
// checkpoint (raster and population rates, neuron dynamics, weighted degrees, CV over an
// init grid, ANOVA selectivity). Numbers go to HDF5 + CSV in --out; PNGs are drawn by
// tools/plot_barrel.py when python3 with matplotlib and h5py is available.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "models/barrel/analysis.h"
#include "models/barrel/anatomy.h"
#include "models/barrel/train.h"
#include "models/barrel/whisker_data.h"
#include "models/barrel/whisker_synth.h"
#include "runtime/atomic_file.h"
#include "runtime/device.h"
#include "runtime/process.h"
#include "runtime/output_check.h"
#include "runtime/progress.h"
#include "tools/rsnn/barrel_command.h"
#include "tools/rsnn/command.h"

namespace rsnn::cli {
namespace {

using namespace rsnn::barrel;

const std::vector<std::string> kAnalyses = {"raster", "dynamics", "degrees", "cv", "anova"};

struct AnalyzeArgs {
  std::string checkpoint, fresh_checkpoint, out = "runs/barrel/analysis";
  std::string tables;  // connection tables of the fresh comparison model (default: built-in)
  std::vector<std::string> what = kAnalyses;
  // data
  std::string data, train_file, test_file;
  int64_t synth_train = 218, synth_test = 55;
  uint64_t synth_seed = 515;
  // runs
  int64_t steps = 0, batch = 0;
  // raster
  int raster_class = 0;
  int64_t raster_sample = 15, bin = 10;
  // dynamics
  DynamicsOptions dyn;
  // degrees
  int64_t bins = 1000;
  double fresh_init_b = -1, fresh_init_w = -1;
  // cv
  CvGridOptions cv;
  bool cv_full = false;
  // anova
  SelectivityOptions anova;
  bool anova_fresh = false;
  bool anova_all_samples = false;
  std::string plot = "auto";
  RunOptions run;
};

// ---- plots: tools/plot_barrel.py, run to completion ----

class Plotter {
 public:
  explicit Plotter(const std::string& mode) {
    if (mode == "off") {
      why_not_ = "plots disabled (--plot off)";
      return;
    }
    const PythonScript ps =
        find_python_script("plot_barrel.py", "RSNN_BARREL_PLOT_SCRIPT", "matplotlib, h5py, numpy");
    script_ = ps.script;
    python_ = ps.python;
    why_not_ = ps.why_not;
    RSNN_CHECK(mode != "on" || why_not_.empty(), "--plot on: ", why_not_);
  }
  bool enabled() const { return why_not_.empty(); }
  const std::string& why_not() const { return why_not_; }
  // Draws `kind` from `input` into `png`; a failure is reported, never fatal.
  void draw(const std::string& kind, const std::string& input, const std::string& png) const {
    if (!enabled()) return;
    if (run_process({python_, script_, kind, input, png}, false) == 0)
      std::cout << "wrote " << png << "\n";
    else
      std::cout << "note: plotting " << png << " failed (see the messages above)\n";
  }

 private:
  std::string script_, python_, why_not_;
};

// ---- data ----

WhiskerData load_split(const AnalyzeArgs& a, bool train) {
  std::string file = train ? a.train_file : a.test_file;
  if (file.empty() && !a.data.empty()) file = a.data + (train ? "/whisker_train.h5" : "/whisker_test.h5");
  if (!file.empty()) {
    WhiskerData d = read_whisker_h5(file);
    std::cerr << "rsnn: " << (train ? "train" : "test") << " data " << file << ": " << d.size() << " samples\n";
    return d;
  }
  const int64_t n = train ? a.synth_train : a.synth_test;
  std::cerr << "rsnn: generating " << n << " synthetic " << (train ? "training" : "test")
            << " samples (a stand-in for the original recordings)\n";
  return synthesize_whisker_data(n, a.synth_seed, train ? kTrainStream : kTestStream);
}

// Train + test, encoded as training encoded them (train: seed, test: seed + 1).
EncodedSet load_all(const AnalyzeArgs& a, const BarrelConfig& cfg) {
  const EncodedSet tr = encode_for(cfg, load_split(a, true), cfg.seed);
  const EncodedSet te = encode_for(cfg, load_split(a, false), cfg.seed + 1);
  return concat_sets(tr, te);
}

std::unique_ptr<BarrelModel> with_steps(std::unique_ptr<BarrelModel> m, int64_t T) {
  if (T <= 0 || T == m->config().T) return m;
  return copy_with_steps(*m, T);
}

// A progress bar over `total` units for one stage.
AnalysisProgress bar_for(std::shared_ptr<ProgressBar>& bar, const std::string& label, int64_t total,
                         const std::string& unit) {
  bar = std::make_shared<ProgressBar>(label, total, unit);
  ProgressBar* b = bar.get();
  return [b](int64_t done) { b->update(done); };
}

// ---- the analyses ----

std::string fixed(double v, int digits) {
  std::ostringstream os;
  os << std::fixed << std::setprecision(digits) << v;
  return os.str();
}

struct Context {
  const AnalyzeArgs& a;
  BarrelModel& trained;
  const Plotter& plots;
  std::vector<std::pair<std::string, std::string>>& summary;
  std::string path(const std::string& name) const { return a.out + "/" + name; }
  void note(const std::string& key, double v) {
    std::ostringstream os;
    os << std::setprecision(10) << v;
    summary.push_back({key, os.str()});
  }
};

// The first `limit` (0: all) samples of class `label`.
Activity run_class(BarrelModel& m, const EncodedSet& all, int label, int64_t batch, int64_t raster_pos,
                   const std::string& what, int64_t limit = 0) {
  std::vector<int64_t> idx = samples_of_class(all, label);
  RSNN_CHECK(!idx.empty(), "the data have no sample of class ", label, " (", class_name(label), ")");
  if (limit > 0 && int64_t(idx.size()) > limit) idx.resize(size_t(limit));
  std::shared_ptr<ProgressBar> bar;
  Activity a = record_activity(m, all, idx, batch, raster_pos,
                               bar_for(bar, what + " " + class_name(label), int64_t(idx.size()), "sample"));
  bar->finish({{"spikes/neuron-step", double(a.spikes) / (double(a.samples) * double(a.counts.numel()))}});
  return a;
}

void do_raster(Context& c, const Activity& act) {
  const RasterResult r = raster_analysis(act, c.a.raster_class, c.a.raster_sample, c.a.bin);
  write_raster(c.path("raster.h5"), c.path("raster_rates.csv"), r);
  std::cout << "raster: class " << class_name(r.label) << ", sample " << r.sample << " of " << r.samples
            << "; wrote " << c.path("raster.h5") << " and " << c.path("raster_rates.csv") << "\n";
  const int64_t bins = r.rates.size(1);
  const double* m = r.mean_rates.data<double>();
  for (size_t g = 0; g < r.groups.size(); ++g) {
    double s = 0;
    for (int64_t k = 0; k < bins; ++k) s += m[int64_t(g) * bins + k];
    std::cout << "  mean rate " << std::left << std::setw(7) << r.groups[g].name << std::right << " "
              << fixed(s / double(bins), 3) << " Hz (1 ms steps)\n";
    c.note("raster mean rate " + r.groups[g].name, s / double(bins));
  }
  c.plots.draw("raster", c.path("raster.h5"), c.path("raster.png"));
}

void do_dynamics(Context& c) {
  const DynamicsResult r = neuron_dynamics(c.trained, c.a.dyn);
  write_dynamics(c.path("dynamics.h5"), c.path("dynamics.csv"), r);
  std::cout << "dynamics: isolated populations, constant input " << r.options.current << ", T = " << r.options.T
            << "; wrote " << c.path("dynamics.h5") << " and " << c.path("dynamics.csv") << "\n";
  if (std::isnan(r.correlation.r))
    std::cout << "  Pearson r with the Izhikevich rates is undefined: every population fires at the same "
                 "rate (untrained time constants?)\n";
  else
    std::cout << "  Pearson r with the Izhikevich rates " << r.correlation.r << " (p = " << r.correlation.p
              << "); control (flat + N(0, " << r.options.control_sd << ")): mean r " << r.control_r
              << ", mean p " << r.control_p << "\n";
  c.note("dynamics r", r.correlation.r);
  c.note("dynamics p", r.correlation.p);
  c.note("dynamics control r", r.control_r);
  c.note("dynamics control p", r.control_p);
  c.plots.draw("dynamics", c.path("dynamics.h5"), c.path("dynamics.png"));
}

std::unique_ptr<BarrelModel> fresh_model(const AnalyzeArgs& a, const BarrelModel& trained) {
  if (!a.fresh_checkpoint.empty()) return with_steps(load_checkpoint(a.fresh_checkpoint), trained.config().T);
  BarrelConfig cfg = trained.config();
  if (a.fresh_init_b >= 0) cfg.init_b = a.fresh_init_b;
  RSNN_CHECK(a.fresh_init_w <= 1, "--fresh-init-w must be in (0, 1], got ", a.fresh_init_w);
  if (a.fresh_init_w >= 0) cfg.init_w = a.fresh_init_w;
  cfg.tables_dir = a.tables;
  return std::make_unique<BarrelModel>(cfg);
}

void do_degrees(Context& c, const BarrelModel& fresh) {
  const DegreeResult r = degree_analysis(fresh, c.trained, c.a.bins);
  write_degrees(c.path("degrees.h5"), c.path("degrees.csv"), r);
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / double(v.size());
  };
  std::cout << "degrees: mean weighted in-degree fresh " << mean(r.fresh.in) << ", trained "
            << mean(r.trained.in) << "; wrote " << c.path("degrees.h5") << " and " << c.path("degrees.csv") << "\n";
  c.note("degrees mean in fresh", mean(r.fresh.in));
  c.note("degrees mean in trained", mean(r.trained.in));
  c.plots.draw("degrees", c.path("degrees.h5"), c.path("degrees.png"));
}

void do_cv(Context& c, const EncodedSet& all) {
  CvGridOptions o = c.a.cv_full ? cv_full_grid() : c.a.cv;
  o.classes = c.a.cv.classes;
  o.per_class = c.a.cv.per_class;
  o.batch = c.a.batch;
  std::shared_ptr<ProgressBar> bar;
  const CvGridResult r = cv_grid(c.trained.config(), all, o,
                                 bar_for(bar, "cv grid", int64_t(o.w.size() * o.b.size()), "model"));
  bar->finish();
  write_cv_grid(c.path("cv.h5"), c.path("cv.csv"), r);
  size_t best = 0;
  for (size_t k = 1; k < r.cv.size(); ++k)
    if (r.cv[k] > r.cv[best]) best = k;
  std::cout << "cv: " << r.w.size() << " x " << r.b.size() << " untrained models on " << r.samples
            << " samples; largest mean CV " << r.cv[best] << " at init_w " << r.w[best / r.b.size()] << ", init_b "
            << r.b[best % r.b.size()] << "; wrote " << c.path("cv.h5") << " and " << c.path("cv.csv") << "\n";
  c.note("cv max", r.cv[best]);
  c.plots.draw("cv", c.path("cv.h5"), c.path("cv.png"));
}

void do_anova(Context& c, const EncodedSet& all, Activity* class0, BarrelModel* fresh) {
  // Equal sample counts per class (the original has 91 each): the summed counts then compare
  // like with like, and every class's batches have the same sizes, hence the same initial
  // states (the initial state of a sample depends on its batch's size).
  int64_t n = 0;
  for (int k = 0; k < kClasses; ++k) {
    const int64_t nk = int64_t(samples_of_class(all, k).size());
    RSNN_CHECK(nk > 0, "anova: the data have no sample of class ", k, " (", class_name(k), ")");
    n = k == 0 ? nk : std::min(n, nk);
  }
  if (c.a.anova_all_samples) n = 0;
  std::vector<Activity> acts;
  for (int k = 0; k < kClasses; ++k)
    acts.push_back(class0 && k == c.a.raster_class && (n == 0 || class0->samples == n)
                       ? *class0
                       : run_class(c.trained, all, k, c.a.batch, -1, "anova", n));
  const SelectivityResult trained = selectivity(acts, c.a.anova);
  std::vector<std::pair<std::string, const SelectivityResult*>> results = {{"trained", &trained}};
  SelectivityResult fr;
  if (fresh) {
    std::vector<Activity> facts;
    for (int k = 0; k < kClasses; ++k) facts.push_back(run_class(*fresh, all, k, c.a.batch, -1, "anova fresh", n));
    fr = selectivity(facts, c.a.anova);
    results.push_back({"fresh", &fr});
  }
  write_selectivity(c.path("anova.h5"), c.path("anova.csv"), results);
  for (const auto& [name, r] : results) {
    std::cout << "anova (" << name << "): " << r->n_selective << " of " << r->F.size() << " neurons selective (p < "
              << r->options.alpha << "): " << fixed(100.0 * r->fraction, 1) << " %; " << r->n_tested
              << " tested\n";
    c.note("anova fraction selective " + name, r->fraction);
  }
  std::cout << "wrote " << c.path("anova.h5") << " and " << c.path("anova.csv") << "\n";
  c.plots.draw("anova", c.path("anova.h5"), c.path("anova.png"));
}

void analyze(const AnalyzeArgs& a) {
  apply_threads(a.run);
  const Device d = select_device(a.run.device, &std::cerr);
  if (d.is_cuda())
    std::cerr << "rsnn: the barrel analyses run on the CPU (train, eval and deprive use the GPU)\n";
  std::set<std::string> what;
  for (const auto& w : a.what) {
    RSNN_CHECK(std::find(kAnalyses.begin(), kAnalyses.end(), w) != kAnalyses.end(), "--what: unknown analysis '",
               w, "' (choose from raster, dynamics, degrees, cv, anova)");
    what.insert(w);
  }
  RSNN_CHECK(a.raster_class >= 0 && a.raster_class < kClasses, "--raster-class must be 0, 1 or 2, got ",
             a.raster_class);
  prepare_output_dir(a.out, "--out");
  std::unique_ptr<BarrelModel> trained = with_steps(load_checkpoint(a.checkpoint), a.steps);
  std::cerr << "rsnn: checkpoint " << a.checkpoint << ": " << form_name(trained->config().form) << " model, "
            << trained->neurons() << " neurons, " << trained->projection().nnz() << " synapses, T = "
            << trained->config().T << "\n";
  const Plotter plots(a.plot);
  if (!plots.enabled()) std::cout << "note: " << plots.why_not() << "\n";
  std::vector<std::pair<std::string, std::string>> summary;
  Context c{a, *trained, plots, summary};

  EncodedSet all;
  if (what.count("raster") || what.count("cv") || what.count("anova")) all = load_all(a, trained->config());
  std::unique_ptr<BarrelModel> fresh;
  if (what.count("degrees") || (what.count("anova") && a.anova_fresh)) fresh = fresh_model(a, *trained);

  Activity class0;
  bool have_class0 = false;
  if (what.count("raster")) {
    const int64_t n = int64_t(samples_of_class(all, a.raster_class).size());
    RSNN_CHECK(a.raster_sample >= 0 && a.raster_sample < n, "--raster-sample ", a.raster_sample,
               " out of range: the data have ", n, " samples of class ", class_name(a.raster_class));
    class0 = run_class(*trained, all, a.raster_class, a.batch, a.raster_sample, "raster");
    have_class0 = true;
    do_raster(c, class0);
  }
  if (what.count("dynamics")) do_dynamics(c);
  if (what.count("degrees")) do_degrees(c, *fresh);
  if (what.count("cv")) do_cv(c, all);
  if (what.count("anova")) do_anova(c, all, have_class0 ? &class0 : nullptr, a.anova_fresh ? fresh.get() : nullptr);

  std::ostringstream s;
  s << "quantity,value\n";
  for (const auto& [k, v] : summary) s << k << ',' << v << "\n";
  write_text_atomic(c.path("summary.csv"), s.str());
  std::cout << "wrote " << c.path("summary.csv") << "\n";
}

void add_analyze(CLI::App& barrel) {
  auto* cmd = barrel.add_subcommand("analyze", "Raster, dynamics, degree, CV and selectivity analyses (spec §4)");
  auto a = std::make_shared<AnalyzeArgs>();
  cmd->add_option("--checkpoint", a->checkpoint, "checkpoint.h5 of the trained model")->required();
  cmd->add_option("--out", a->out, "folder for the results (HDF5, CSV, PNG)")->capture_default_str();
  cmd->add_option("--what", a->what, "analyses, comma separated: raster,dynamics,degrees,cv,anova")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--data", a->data,
                  "folder with whisker_train.h5 and whisker_test.h5 (default: synthetic data made in memory)");
  cmd->add_option("--train-file", a->train_file, "training file (overrides --data)");
  cmd->add_option("--test-file", a->test_file, "test file (overrides --data)");
  cmd->add_option("--synth-train", a->synth_train, "synthetic training samples when no data is given")
      ->check(positive_number())->capture_default_str();
  cmd->add_option("--synth-test", a->synth_test, "synthetic test samples when no data is given")
      ->check(positive_number())->capture_default_str();
  cmd->add_option("--synth-seed", a->synth_seed, "seed of the synthetic data")->capture_default_str();
  cmd->add_option("--steps", a->steps, "run the model for this many steps (default: the checkpoint's T)")
      ->check(CLI::Range(int64_t(2), int64_t(100000)));
  cmd->add_option("--batch", a->batch, "samples per forward (0: each class in one batch, as the original)")
      ->check(non_negative_number())->capture_default_str();
  cmd->add_option("--fresh-checkpoint", a->fresh_checkpoint,
                  "untrained comparison model (default: a new model from the checkpoint's configuration and seed)");
  cmd->add_option("--fresh-init-b", a->fresh_init_b, "init_b of the new comparison model (default: the checkpoint's)")
      ->check(non_negative_number());
  cmd->add_option("--fresh-init-w", a->fresh_init_w, "init_w of the new comparison model, in (0, 1] (default: the checkpoint's)")
      ->check(positive_number());
  cmd->add_option("--tables", a->tables,
                  "folder with connection tables for the fresh comparison model (CSV or .npy; default: built-in)");
  // raster
  cmd->add_option("--raster-class", a->raster_class, "class of the raster samples (0 helmet, 1 box, 2 plane)")
      ->capture_default_str();
  cmd->add_option("--raster-sample", a->raster_sample, "which of the class's samples to raster")
      ->capture_default_str();
  cmd->add_option("--bin", a->bin, "population-rate bin in steps")->check(positive_number())->capture_default_str();
  // dynamics
  cmd->add_option("--dyn-steps", a->dyn.T, "steps of the isolated-population runs")
      ->check(positive_number())->capture_default_str();
  cmd->add_option("--dyn-current", a->dyn.current, "constant input current of the isolated runs")
      ->capture_default_str();
  cmd->add_option("--dyn-a0", a->dyn.a0, "initial adaptation of the isolated runs (default: the model's init_b)");
  cmd->add_option("--control-draws", a->dyn.control_draws, "noise draws of the correlation control")
      ->check(positive_number())->capture_default_str();
  // degrees
  cmd->add_option("--bins", a->bins, "histogram bins of the degree distributions")
      ->check(positive_number())->capture_default_str();
  // cv
  cmd->add_option("--cv-w", a->cv.w, "init_w values of the CV grid, comma separated")->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--cv-b", a->cv.b, "init_b values of the CV grid, comma separated")->delimiter(',')
      ->capture_default_str();
  cmd->add_flag("--cv-full", a->cv_full, "the spec's full grid: init_w 0.01..0.04 x init_b 0.01..0.60 (4 x 60)");
  cmd->add_option("--cv-classes", a->cv.classes, "classes whose samples make the CV batch (the original: 0,1,1)")
      ->delimiter(',')->capture_default_str();
  a->cv.per_class = 10;
  cmd->add_option("--cv-per-class", a->cv.per_class, "samples taken from each listed class (0: all)")
      ->check(non_negative_number())->capture_default_str();
  // anova
  cmd->add_option("--alpha", a->anova.alpha, "significance level of the ANOVA")->capture_default_str();
  cmd->add_option("--prior", a->anova.prior, "class-proportion smoothing: (count + prior) / (total + 3 prior)")
      ->capture_default_str();
  cmd->add_flag("--anova-fresh", a->anova_fresh, "also test the untrained comparison model");
  cmd->add_flag("--anova-all-samples", a->anova_all_samples,
                "use every sample of each class (default: as many from each class as the smallest class has)");
  cmd->add_option("--plot", a->plot, "PNG plots: auto | on | off")
      ->check(CLI::IsMember({"auto", "on", "off"}))->capture_default_str();
  add_run_options(cmd, a->run);
  cmd->callback([a] { analyze(*a); });
}

Register reg([](CLI::App& app) { add_analyze(*barrel_command(app)); });

}  // namespace
}  // namespace rsnn::cli
