// `rsnn rate train` and `rsnn rate eval`: Dale's-principle rate RNNs (spec rate-to-spiking.md).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "models/rate/model_file.h"
#include "models/rate/plot_launcher.h"
#include "models/rate/rate_train.h"
#include "models/rate/rng.h"
#include "runtime/atomic_file.h"
#include "runtime/dist.h"
#include "runtime/error.h"
#include "runtime/output_check.h"
#include "runtime/progress.h"
#include "runtime/resources.h"
#include "tools/rsnn/command.h"

namespace rsnn::cli {
namespace {

using namespace rsnn::rate;

// A training step keeps state, rate and their differences for every (step, trial, unit),
// the backward one more such array and the traces two (float32); an evaluation runs
// eval_trials trials at once. Refused before it starts when that cannot fit.
void check_rate_memory(const TrainConfig& cfg) {
  int64_t T = 0;
  for (const TaskSpec& t : cfg.stages) T = std::max<int64_t>(T, t.T);
  const double trials = double(std::max(cfg.batch, cfg.eval_trials));
  const double bytes = trials * double(T) * (7.0 * cfg.net.N + cfg.net.n_in + 2) * sizeof(float);
  std::ostringstream what;
  what << "rate training (" << T << " steps per trial, " << cfg.net.N << " units, "
       << int64_t(trials) << " trials at once)";
  check_memory_fits(bytes, what.str());
}

// Training stops at the first evaluation that meets the task's criteria, at the latest after
// max_trials: the time left at the current pace is an upper bound.
std::string eta_text(const EvalRecord& e, const TrainConfig& cfg) {
  if (e.tr <= 0 || e.tr >= cfg.max_trials || e.seconds <= 0) return "";
  const double left = e.seconds / double(e.tr) * double(cfg.max_trials - e.tr);
  return " | at most " + format_duration(left) + " left";
}

// The original's file name, or, when a model of that name exists or another run holds it
// (runs started in the same second), the name with the seed and a random suffix: parallel
// runs into one folder never collide. The hold is a `<name>.reserved` file, removed at the end.
class ModelName {
 public:
  ModelName(const std::string& dir, const RateModel& probe) {
    const std::string base = dir + "/" + original_model_name(probe, std::time(nullptr));
    struct stat st;
    if (::stat((base + ".h5").c_str(), &st) != 0 && ::stat((base + ".mat").c_str(), &st) != 0) {
      const int fd = ::open((base + ".reserved").c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
      if (fd >= 0) {
        ::close(fd);
        hold_ = base + ".reserved";
        base_ = base;
        return;
      }
    }
    base_ = dir + "/" + default_model_name(probe);
  }
  ~ModelName() {
    if (!hold_.empty()) ::unlink(hold_.c_str());
  }
  ModelName(const ModelName&) = delete;
  ModelName& operator=(const ModelName&) = delete;
  const std::string& base() const { return base_; }

 private:
  std::string base_, hold_;
};

struct TrainArgs {
  std::string task = "go-nogo", act = "sigmoid", loss = "l2", out = "out", name, plot = "auto";
  int N = 200, som_N = 0, batch = 1, eval_freq = 100, eval_trials = 100, delay = -1, areas = 1;
  double P_inh = 0.2, P_rec = 0.2, gain = 1.5, lr = 0.01, P_inter = 0.2;
  std::vector<double> taus = {4, 10};
  int64_t max_trials = 6000;
  uint64_t seed = 1;
  int shards = 0;
  bool no_dale = false, curriculum = false, mat = false;
  RunOptions run;
};

TrainConfig train_config(const TrainArgs& a) {
  TrainConfig cfg;
  TaskSpec task = task_defaults(parse_task(a.task));
  if (a.delay >= 0) {
    RSNN_CHECK(task.kind != TaskKind::go_nogo && task.kind != TaskKind::mante,
               "--delay applies to xor, dms and dms-wm only");
    const int post = task.T - task.task_end();
    task.delay = a.delay;
    task.T = task.task_end() + post;
  }
  cfg.stages = {task};
  if (a.curriculum) {
    RSNN_CHECK(task.kind == TaskKind::dms_wm, "--curriculum applies to dms-wm only");
    cfg.stages = {dms_wm_short(), task};
  }
  cfg.net.N = a.N * a.areas;  // --N units in each area
  cfg.net.n_areas = a.areas;
  cfg.net.P_inter = a.P_inter;
  cfg.net.P_inh = a.P_inh;
  cfg.net.P_rec = a.P_rec;
  cfg.net.gain = a.gain;
  cfg.net.som_N = a.som_N;
  cfg.net.apply_dale = !a.no_dale;
  cfg.net.taus = a.taus;
  cfg.net.act = parse_activation(a.act);
  cfg.net.n_in = task.n_inputs();
  cfg.net.validate();
  cfg.loss = parse_loss(a.loss);
  cfg.lr = a.lr;
  cfg.max_trials = a.max_trials;
  cfg.batch = a.batch;
  cfg.eval_freq = a.eval_freq;
  cfg.eval_trials = a.eval_trials;
  cfg.seed = a.seed;
  RSNN_CHECK(a.lr > 0, "--lr must be > 0, got ", a.lr);
  // Under mpirun every rank trains its shards of each batch; checked before any work.
  dist::check_shards(cfg.batch, a.shards, dist::size(), "--shards");
  cfg.shards = a.shards == 0 ? dist::size() : a.shards;
  check_rate_memory(cfg);
  return cfg;
}

void run_train(const TrainArgs& a) {
  // The rate model trains on the CPU (batch 1 is latency-bound); only rank 0 speaks.
  apply_threads(a.run);
  select_device(a.run.device, dist::is_root() ? &std::cerr : nullptr);
  const TrainConfig cfg = train_config(a);
  if (!dist::is_root()) {  // the other ranks compute their shards and write nothing
    train_rate(cfg);
    return;
  }
  const TaskSpec& task = cfg.stages.back();

  RateModel probe;
  probe.net.cfg = cfg.net;
  probe.task = task;
  probe.seed = cfg.seed;
  const std::string dir = original_model_dir(a.out, probe);  // P_rec_0.2_Taus_4.0_10.0, as the original
  prepare_output_dir(dir, "--out");  // created and writable before the training
  std::unique_ptr<ModelName> name;
  if (a.name.empty()) name = std::make_unique<ModelName>(dir, probe);
  const std::string base = name ? name->base() : dir + "/" + a.name;
  const std::string h5 = base + ".h5";

  PlotLauncher plots(a.plot != "off");
  if (!plots.enabled()) std::cout << "note: " << plots.why_not() << "\n";
  RSNN_CHECK(a.plot == "auto" || a.plot == "on" || a.plot == "off", "--plot must be auto, on or off");
  RSNN_CHECK(a.plot != "on" || plots.enabled(), "--plot on: ", plots.why_not());

  std::cout << "training a " << cfg.net.N << "-unit "
            << (a.areas > 1 ? std::to_string(a.areas) + "-area " : std::string())
            << activation_name(cfg.net.act) << " rate RNN on "
            << task.name() << (a.curriculum ? " (short-delay curriculum first)" : "") << ", seed "
            << a.seed << " -> " << h5 << std::endl;
  std::ostringstream csv;
  csv << "tr,stage,perf,loss,seconds\n";
  auto on_eval = [&](const EvalRecord& e, const EvalResult& ev, const RateNet&,
                     const TrainResult& so_far) {
    csv << e.tr << "," << e.stage << "," << e.perf << "," << e.loss << "," << e.seconds << "\n";
    std::cout << "tr " << std::setw(5) << e.tr << " | perf " << std::fixed << std::setprecision(2)
              << e.perf << " | loss " << std::setprecision(3) << e.loss << " | "
              << format_duration(e.seconds) << eta_text(e, cfg) << (cfg.stages.size() > 1 ? " | stage " : "")
              << (cfg.stages.size() > 1 ? std::to_string(e.stage + 1) : "") << std::defaultfloat
              << std::endl;
    write_text_atomic(base + "_log.csv", csv.str());
    // Checkpoint + PNG of the progress so far; skipped while the previous PNG is still being
    // drawn (it reads the snapshot), so plotting never stalls training.
    if (plots.enabled() && !plots.busy()) {
      // The snapshot holds what the final model does (losses so far, the last trial's
      // traces, target and output), so the PNG has all four panels mid-run.
      RateModel m = model_from_training(so_far, cfg);
      m.task = cfg.stages[e.stage];
      const std::string snap = base + "_progress.h5";
      save_rate_model(snap, m);
      plots.plot({"train", snap, base + "_progress.png"});
    }
  };
  TrainResult r = train_rate(cfg, on_eval);
  RateModel m = model_from_training(r, cfg);
  save_rate_model(h5, m);
  if (a.mat) export_matlab(base + ".mat", m);
  plots.wait_all();
  if (plots.enabled()) plots.plot({"train", h5, base + "_progress.png"}, true);
  std::cout << (r.converged ? "converged" : "did NOT converge") << " after " << r.tr
            << " trials in " << format_duration(r.seconds) << " (perf " << r.last_eval.perf
            << ", loss " << r.last_eval.loss << "); saved " << h5
            << (a.mat ? " and " + base + ".mat" : std::string()) << std::endl;
}

// evaluate_rate over `n` trials in chunks, for a progress bar. Every trial depends only on its
// id, so outputs, labels and the count of correct trials are those of one call; the mean loss
// is summed per chunk (equal up to rounding).
EvalResult evaluate_in_chunks(const RateModel& m, uint64_t seed, int n) {
  RSNN_CHECK(uint64_t(n) < kTrialSetSpan, "--trials ", n, " is too large");
  const uint64_t first = trial_id(TrialSet::rate_eval, 0);  // never a training trial
  const int chunk = std::max(64, n / 20);
  ProgressBar bar("eval", n, "trial");
  EvalResult all;
  std::vector<float> o;
  int64_t K = 0, correct = 0;
  double loss_sum = 0;
  for (int k0 = 0; k0 < n; k0 += chunk) {
    const int len = std::min(chunk, n - k0);
    const EvalResult r = evaluate_rate(m.net, m.task, m.loss, seed, first + uint64_t(k0), len);
    K = r.o.size(1);
    const float* po = r.o.data<float>();
    o.insert(o.end(), po, po + int64_t(len) * K);
    all.labels.insert(all.labels.end(), r.labels.begin(), r.labels.end());
    correct += std::llround(r.perf * len);
    loss_sum += r.loss * len;
    bar.update(k0 + len);
  }
  bar.finish();
  all.o = Tensor::from_vector(o, {int64_t(n), K});
  all.perf = double(correct) / n;
  all.loss = loss_sum / n;
  return all;
}

struct EvalArgs {
  std::string model, csv;
  int trials = 100;
  uint64_t seed = 12345;
  RunOptions run;
};

void run_eval(const EvalArgs& a) {
  apply_threads(a.run);
  RSNN_CHECK(a.trials >= 1, "--trials must be >= 1, got ", a.trials);
  if (!a.csv.empty()) check_output_file(a.csv, "--csv");
  RateModel m = load_rate_model(a.model);
  // All trials run at once: state, rate and output of every (trial, step, unit).
  check_memory_fits(double(a.trials) * m.task.T * (5.0 * m.net.N() + m.task.n_inputs() + 2) * sizeof(float),
                    "rate eval (" + std::to_string(a.trials) + " trials of " + std::to_string(m.task.T) + " steps)");
  const EvalResult ev = evaluate_in_chunks(m, a.seed, a.trials);
  std::cout << m.task.name() << ": performance " << ev.perf << " over " << a.trials
            << " trials, mean loss " << ev.loss << "\n";
  if (!a.csv.empty()) {
    std::ostringstream os;
    const int64_t K = ev.o.size(1);
    os << "trial,label";
    for (int64_t k = 0; k < K; ++k) os << ",o" << k + 1;
    os << "\n";
    const float* po = ev.o.data<float>();
    for (int t = 0; t < a.trials; ++t) {
      os << t << "," << ev.labels[t];
      for (int64_t k = 0; k < K; ++k) os << "," << po[t * K + k];
      os << "\n";
    }
    write_text_atomic(a.csv, os.str());
    std::cout << "outputs written to " << a.csv << "\n";
  }
}

Register reg([](CLI::App& app) {
  auto* rate = app.add_subcommand("rate", "Dale's-principle rate RNNs (Kim, Li & Sejnowski 2019)");
  rate->require_subcommand(1);

  static TrainArgs t;
  auto* tr = rate->add_subcommand("train", "Train a rate RNN on a task until the original criteria");
  tr->add_option("--task", t.task, "go-nogo | xor | mante | dms | dms-wm")->capture_default_str();
  tr->add_option("--N", t.N, "number of units")->check(positive_number())->capture_default_str();
  tr->add_option("--p-inh", t.P_inh, "probability of an inhibitory unit")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  tr->add_option("--p-rec", t.P_rec, "recurrent connection probability")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  tr->add_option("--som-n", t.som_N, "number of SOM units (inhibitory units without inhibitory input)")->check(non_negative_number())->capture_default_str();
  tr->add_option("--areas", t.areas, "stacked Dale areas (N units each): area k projects to k+1 from its excitatory units; input to area 0, readout from the last")->check(positive_number())->capture_default_str();
  tr->add_option("--p-inter", t.P_inter, "probability of a projection from an excitatory unit of area k to a unit of area k+1")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  tr->add_option("--gain", t.gain, "initial weight gain")->check(positive_number())->capture_default_str();
  tr->add_option("--taus", t.taus, "synaptic decay in 5-ms steps: MIN MAX (trained) or one value (fixed)")->expected(1, 2)->capture_default_str();
  tr->add_option("--act", t.act, "sigmoid | clipped_relu | softplus")->capture_default_str();
  tr->add_option("--loss", t.loss, "l2 | l1")->capture_default_str();
  tr->add_option("--lr", t.lr, "Adam learning rate")->check(positive_number())->capture_default_str();
  tr->add_option("--max-trials", t.max_trials, "maximum training trials")->check(positive_number())->capture_default_str();
  tr->add_option("--batch", t.batch, "trials per Adam step (1 = the original)")->check(positive_number())->capture_default_str();
  tr->add_option("--shards", t.shards, "under mpirun: shards of every batch, a multiple of the rank count (0 = one per rank); any rank count gives the same model for the same shards")
      ->capture_default_str();
  tr->add_option("--eval-freq", t.eval_freq, "trials between evaluations")->check(positive_number())->capture_default_str();
  tr->add_option("--eval-trials", t.eval_trials, "trials per evaluation")->check(positive_number())->capture_default_str();
  tr->add_option("--delay", t.delay, "delay between stimuli in steps (xor, dms, dms-wm)")
      ->check(non_negative_number());
  tr->add_flag("--curriculum", t.curriculum, "dms-wm: train the 50-ms delay first, then the 750-ms one");
  tr->add_flag("--no-dale", t.no_dale, "no inhibitory units, unconstrained signs");
  tr->add_option("--seed", t.seed, "seed of every random draw")->capture_default_str();
  tr->add_option("--out", t.out, "output directory")->capture_default_str();
  tr->add_option("--name", t.name, "model file name without extension (default: the original's Task_..._<date>; with the seed and a random suffix when taken)");
  tr->add_flag("--mat", t.mat, "also write the original's MAT-file (v5: scipy.io.loadmat and MATLAB read it)");
  tr->add_option("--plot", t.plot, "PNG of the progress at every evaluation: auto | on | off")->capture_default_str();
  add_run_options(tr, t.run);
  tr->callback([] { run_train(t); });

  static EvalArgs e;
  auto* ev = rate->add_subcommand("eval", "Evaluate a trained rate model on fresh trials");
  ev->add_option("--model", e.model, "model: rsnn .h5 or the original's .mat (v5 or v7.3)")->required();
  ev->add_option("--trials", e.trials, "number of trials")->check(positive_number())->capture_default_str();
  ev->add_option("--seed", e.seed, "seed of the trials and noise")->capture_default_str();
  ev->add_option("--csv", e.csv, "write every trial's output to this CSV");
  add_run_options(ev, e.run);
  ev->callback([] { run_eval(e); });
});

}  // namespace
}  // namespace rsnn::cli
