// `rsnn micron sweep`: independent trainings in parallel worker threads (one BLAS/OpenMP
// thread each), every finished run written atomically as its own record, so a killed sweep
// resumes by skipping the runs already on disk; summaries and plots are recomputed at the end.
// Under mpirun the runs are dealt to the ranks and rank 0 writes every record and summary.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <mutex>
#include <thread>

#include "models/microns/sweep.h"
#include "models/microns/variants.h"
#include "runtime/dist.h"
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
  bool eval_each_epoch = false;
};

// A run's config. The sweep tests only after the last epoch unless asked: the saved results
// (the last epoch's values) are the same bits, and the nine skipped test passes are ~12 %
// of a run's FLOPs. Only the run records' per-epoch val_* differ (null).
TrainConfig sweep_config(const SweepCmd& c, const RunSpec& spec) {
  TrainConfig cfg = make_config(c.train, spec.task, spec.variant, spec.sim);
  cfg.eval_each_epoch = c.eval_each_epoch;
  return cfg;
}

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
        const TrainConfig cfg = sweep_config(c, spec);
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

// Under mpirun: the runs dealt round-robin to the ranks, each training its share on `workers`
// threads a round at a time; after every round the finished records are gathered to rank 0,
// which alone writes them (so a killed sweep keeps every round gathered so far).
void run_pending_ranks(const std::vector<RunSpec>& todo, int workers, FieldCache& cache,
                       const SweepCmd& c, const std::string& out, const std::string& settings,
                       const graph::SmallWorldNull& null) {
  const int ranks = dist::size(), rank = dist::rank();
  std::vector<RunSpec> mine;
  for (size_t i = size_t(rank); i < todo.size(); i += size_t(ranks)) mine.push_back(todo[i]);
  const size_t most = (todo.size() + size_t(ranks) - 1) / size_t(ranks);  // rank 0's share
  const size_t rounds = (most + size_t(workers) - 1) / size_t(workers);
  ProgressBar bar("micron sweep", static_cast<int64_t>(todo.size()), "run", &std::cerr, 5.0);
  int64_t done = 0;
  double acc_sum = 0;
  for (size_t r = 0; r < rounds; ++r) {
    const size_t lo = std::min(mine.size(), r * size_t(workers));
    const size_t hi = std::min(mine.size(), lo + size_t(workers));
    std::vector<RunRecord> recs(hi - lo);
    std::vector<std::string> errors(hi - lo);
    auto work = [&](size_t i) {
      set_num_threads(1);  // OpenMP settings are per thread: each worker sets its own
      try {
        const RunSpec& spec = mine[lo + i];
        const TrainConfig cfg = sweep_config(c, spec);
        const auto t0 = std::chrono::steady_clock::now();
        const TrainResult res = train_run(cache, cfg, Device::cpu());
        const double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        recs[i] = make_record(spec, settings, res, null, secs);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    };
    std::vector<std::thread> pool;
    for (size_t i = 1; i < recs.size(); ++i) pool.emplace_back(work, i);
    if (!recs.empty()) work(0);
    for (auto& t : pool) t.join();
    for (const std::string& e : errors) RSNN_CHECK(e.empty(), e);
    // This round's records as JSON texts, each ended by a NUL, gathered in rank order.
    std::string text;
    for (const RunRecord& rec : recs) text += run_record_json(rec) + '\0';
    const std::vector<uint8_t> all = dist::allgather_bytes(text.data(), text.size(), nullptr);
    for (size_t a = 0, b; a < all.size(); a = b + 1) {
      b = size_t(std::find(all.begin() + a, all.end(), uint8_t(0)) - all.begin());
      const RunRecord rec =
          parse_run_record(std::string(all.begin() + a, all.begin() + b), "a gathered run record");
      if (dist::is_root()) write_run_record(out, rec);
      ++done;
      if (std::isfinite(rec.accuracy)) acc_sum += rec.accuracy;
    }
    bar.update(done, {{"mean acc", done > 0 ? acc_sum / done : 0.0}});
  }
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
  // Under mpirun rank 0 resolves the null constants (it alone writes their cache) for all.
  const bool root = dist::is_root();
  graph::SmallWorldNull null;
  if (root) null = resolve_null(field.N, nopt);
  dist::broadcast(&null, sizeof null);
  const std::string settings = settings_fingerprint(field.name, c.train, null);

  const std::vector<RunSpec> mine = shard_runs(run_list(plan), shard);
  // Rank 0's view of the runs already on disk decides for every rank.
  std::vector<uint8_t> pending(mine.size(), 0);
  if (root)
    for (size_t i = 0; i < mine.size(); ++i)
      pending[i] = !load_run_record(out, mine[i], settings, nullptr);
  dist::broadcast(pending.data(), pending.size());
  std::vector<RunSpec> todo;
  for (size_t i = 0; i < mine.size(); ++i)
    if (pending[i]) todo.push_back(mine[i]);
  if (root)
    std::cerr << "micron sweep: " << field.name << ", " << plan.tasks.size() << " task(s) x "
              << plan.sims << " sim(s) x " << plan.variants.size() << " variant(s); shard "
              << shard.k << "/" << shard.n << " owns " << mine.size() << " run(s), "
              << mine.size() - todo.size() << " already done, " << todo.size() << " to train on "
              << (dist::size() > 1 ? std::to_string(dist::size()) + " ranks x " : std::string())
              << c.threads << " thread(s) -> " << out << "\n";
  if (c.summary_only) {
    todo.clear();
    if (root) std::cerr << "micron sweep: --summary-only: no training\n";
  }
  FieldCache cache(field);
  const int workers = std::max(1, std::min<int>(c.threads, static_cast<int>(todo.size())));
  if (!todo.empty() && dist::size() > 1)
    run_pending_ranks(todo, workers, cache, c, out, settings, null);
  else if (!todo.empty())
    run_pending(todo, workers, cache, c, out, settings, null);
  if (!root) return;  // rank 0 summarizes what it wrote

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
  s->add_flag("--eval-each-epoch", c.eval_each_epoch,
              "test after every epoch as Keras does (default: after the last only; the saved "
              "results are the same, the run records' earlier val_* are null)");
  s->add_flag("--summary-only", c.summary_only,
              "train nothing: summarize the runs already in --out (e.g. after stopping a sweep)");
  s->add_option("--plot", c.plot, "PNG plots at the end: auto | on | off")->capture_default_str();
  s->callback([] { run_sweep(c); });
}

}  // namespace rsnn::cli::micron
