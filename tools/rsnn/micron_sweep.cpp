// `rsnn micron sweep`: independent trainings in parallel worker threads (one BLAS/OpenMP
// thread each), every finished run written atomically as its own record, so a killed sweep
// resumes by skipping the runs already on disk; summaries and plots are recomputed at the end.
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <mutex>
#include <thread>

#include "models/microns/sweep.h"
#include "models/microns/variants.h"
#include "runtime/error.h"
#include "runtime/process.h"
#include "runtime/progress.h"
#include "runtime/threads.h"
#include "tools/rsnn/micron_common.h"

namespace rsnn::cli::micron {
namespace {

using namespace rsnn::microns;

struct SweepCmd : RunOptions {
  std::string variants = "all", tasks = "all", shard = "0/1", out, plot = "auto";
  int sims = 20, threads = 2;
  bool summary_only = false;
};

// The original's folder name: <field>_sttc[-corr|-precision][_sign+].
std::string default_out(const std::string& field_name, const TrainOptions& o) {
  std::string base = field_name + "_sttc";
  if (o.bio == "corr-sttc") base += "-corr";
  if (o.bio == "precision-sttc") base += "-precision";
  if (o.sign_constraint) base += "_sign+";
  return base;
}

void draw_plots(const std::string& out, const std::string& mode) {
  RSNN_CHECK(mode == "auto" || mode == "on" || mode == "off",
             "--plot: expected auto, on or off, got '", mode, "'");
  if (mode == "off") return;
  const PythonScript ps = find_python_script("plot_microns.py", "RSNN_MICRONS_PLOT_SCRIPT", "matplotlib");
  if (!ps.found()) {
    RSNN_CHECK(mode != "on", "--plot on: ", ps.why_not);
    std::cerr << "micron sweep: no plots (" << ps.why_not << ")\n";
    return;
  }
  const int rc = run_process({ps.python, ps.script, out}, false);
  RSNN_CHECK(mode != "on" || rc == 0, "--plot on: ", ps.script, " exited with status ", rc);
  if (rc != 0) std::cerr << "micron sweep: plot script exited with status " << rc << "\n";
}

// Trains `todo` on `workers` threads; each finished run is written before the next starts.
void run_pending(const std::vector<RunSpec>& todo, int workers, FieldCache& cache,
                 const SweepCmd& c, const std::string& out, const std::string& settings,
                 const graph::SmallWorldNull& null) {
  ProgressBar bar("micron sweep", static_cast<int64_t>(todo.size()), "run", &std::cerr, 5.0);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::string error;
  int64_t done = 0;
  double acc_sum = 0;
  auto work = [&] {
    set_num_threads(1);  // OpenMP settings are per thread: each worker sets its own
    for (size_t i; !failed && (i = next++) < todo.size();) {
      try {
        const RunSpec& spec = todo[i];
        const TrainConfig cfg = make_config(c.train, spec.task, spec.variant, spec.sim);
        const auto t0 = std::chrono::steady_clock::now();
        const TrainResult res = train_run(cache, cfg, Device::cpu());
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const RunRecord rec = make_record(spec, settings, res, null, secs);
        write_run_record(out, rec);
        std::lock_guard<std::mutex> lock(mu);
        ++done;
        if (std::isfinite(rec.accuracy)) acc_sum += rec.accuracy;
        bar.update(done, {{"last acc", rec.accuracy}, {"mean acc", acc_sum / done}});
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mu);
        if (!failed) error = e.what();
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  RSNN_CHECK(!failed, error);
  bar.finish();
}

void run_sweep(const SweepCmd& c) {
  RSNN_CHECK(c.sims >= 1, "--sims must be >= 1 (got ", c.sims, ")");
  RSNN_CHECK(c.threads >= 1, "--threads must be >= 1 (got ", c.threads, ")");
  SweepPlan plan;
  plan.tasks = parse_task_list(c.tasks);
  plan.variants = parse_variant_list(c.variants);
  plan.sims = c.sims;
  const Shard shard = parse_shard(c.shard);
  make_config(c.train, plan.tasks[0], plan.variants[0], 0);  // validates the schedule flags
  RSNN_CHECK(c.plot == "auto" || c.plot == "on" || c.plot == "off",
             "--plot: expected auto, on or off, got '", c.plot, "'");
  const Field field = load_field_checked(c.field);
  const std::string out = c.out.empty() ? default_out(field.name, c.train) : c.out;
  NullOptions nopt = c.null;
  if (nopt.cache.empty()) nopt.cache = out + "/cache";
  const graph::SmallWorldNull null = resolve_null(field.N, nopt);
  const std::string settings = settings_fingerprint(field.name, c.train, null);

  const std::vector<RunSpec> mine = shard_runs(run_list(plan), shard);
  std::vector<RunSpec> todo;
  for (const RunSpec& s : mine)
    if (!load_run_record(out, s, settings, nullptr)) todo.push_back(s);
  std::cerr << "micron sweep: " << field.name << ", " << plan.tasks.size() << " task(s) x "
            << plan.sims << " sim(s) x " << plan.variants.size() << " variant(s); shard "
            << shard.k << "/" << shard.n << " owns " << mine.size() << " run(s), "
            << mine.size() - todo.size() << " already done, " << todo.size()
            << " to train on " << c.threads << " thread(s) -> " << out << "\n";
  if (c.summary_only) {
    todo.clear();
    std::cerr << "micron sweep: --summary-only: no training\n";
  }
  FieldCache cache(field);
  const int workers = std::max(1, std::min<int>(c.threads, static_cast<int>(todo.size())));
  if (!todo.empty()) run_pending(todo, workers, cache, c, out, settings, null);

  const std::vector<RunRecord> recs = collect_records(out, plan, settings);
  write_summaries(out, plan, recs, config_lines(field, c.train, null, plan.sims));
  std::cerr << "micron sweep: " << recs.size() << " of " << run_list(plan).size()
            << " run(s) summarized in " << out << "\n";
  draw_plots(out, c.plot);
}

}  // namespace

void add_sweep_command(CLI::App* micron) {
  static SweepCmd c;
  auto* s = micron->add_subcommand(
      "sweep", "Variants x tasks x simulations in parallel; resumable; summaries and plots");
  add_run_options(s, c);
  s->add_option("--variants", c.variants, "all, or a comma list of keys (W*D*C,WD*C,WDC,...)")
      ->capture_default_str();
  s->add_option("--tasks", c.tasks, "all, or a comma list of 1|maze,2|go_nogo,3|pdm")
      ->capture_default_str();
  s->add_option("--sims", c.sims, "simulations per (variant, task) (paper: 20)")->capture_default_str();
  s->add_option("--threads", c.threads, "runs trained in parallel (one BLAS thread each)")
      ->capture_default_str();
  s->add_option("--shard", c.shard, "K/N: train only runs K, K+N, K+2N, ... of the list")
      ->capture_default_str();
  s->add_option("--out", c.out, "output folder (default: the original's <field>_sttc-corr[_sign+])");
  s->add_flag("--summary-only", c.summary_only,
              "train nothing: summarize the runs already in --out (e.g. after stopping a sweep)");
  s->add_option("--plot", c.plot, "PNG plots at the end: auto | on | off")->capture_default_str();
  s->callback([] { run_sweep(c); });
}

}  // namespace rsnn::cli::micron
