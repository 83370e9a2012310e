// `rsnn barrel ...`: train, evaluate and deprive the barrel-cortex RSNN.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "models/barrel/train.h"
#include "models/barrel/whisker_data.h"
#include "models/barrel/whisker_synth.h"
#include "runtime/atomic_file.h"
#include "runtime/device.h"
#include "runtime/dist.h"
#include "runtime/output_check.h"
#include "runtime/progress.h"
#include "runtime/resources.h"
#include "tools/rsnn/barrel_command.h"
#include "tools/rsnn/command.h"

namespace rsnn::cli {
namespace {

using namespace rsnn::barrel;

struct DataArgs {
  std::string data;        // folder with whisker_train.h5 / whisker_test.h5
  std::string train_file, test_file;
  int64_t synth_train = 218, synth_test = 55;
  uint64_t synth_seed = 515;
};

void add_data_options(CLI::App* cmd, DataArgs& a, bool need_train) {
  cmd->add_option("--data", a.data,
                  "folder with whisker_train.h5 and whisker_test.h5 (default: synthetic data made in memory)");
  if (need_train) cmd->add_option("--train-file", a.train_file, "training file (overrides --data)");
  cmd->add_option("--test-file", a.test_file, "test file (overrides --data)");
  cmd->add_option("--synth-train", a.synth_train, "synthetic training samples when no data is given")
      ->check(positive_number())->capture_default_str();
  cmd->add_option("--synth-test", a.synth_test, "synthetic test samples when no data is given")
      ->check(positive_number())->capture_default_str();
  cmd->add_option("--synth-seed", a.synth_seed, "seed of the synthetic data")->capture_default_str();
}

WhiskerData load_split(const DataArgs& a, bool train) {
  std::string file = train ? a.train_file : a.test_file;
  if (file.empty() && !a.data.empty()) file = a.data + (train ? "/whisker_train.h5" : "/whisker_test.h5");
  if (!file.empty()) {
    WhiskerData d = read_whisker_h5(file);
    if (dist::is_root())
      std::cerr << "rsnn: " << (train ? "train" : "test") << " data " << file << ": " << d.size()
              << " samples\n";
    return d;
  }
  const int64_t n = train ? a.synth_train : a.synth_test;
  if (dist::is_root())
    std::cerr << "rsnn: generating " << n << " synthetic " << (train ? "training" : "test")
            << " samples (a stand-in for the original recordings)\n";
  return synthesize_whisker_data(n, a.synth_seed, train ? kTrainStream : kTestStream);
}

struct ModelArgs {
  std::string form = "spiking";
  int64_t T = 0;
  double init_b = -1, init_w = -1;
  std::string order = "gauss_seidel", loss = "seed", propagation = "automatic";
  uint64_t seed = 515;
  std::string tables;
};

// The model flags that --resume takes from the checkpoint: each one given must agree with it.
void check_resume_flags(const CLI::App* cmd, const ModelArgs& m, const BarrelConfig& ckpt,
                        const std::string& path) {
  auto same = [&](const char* flag, bool equal, const std::string& given, const std::string& stored) {
    RSNN_CHECK(cmd->count(flag) == 0 || equal, flag, " ", given, " differs from the checkpoint's ",
               stored, " (", path, "); --resume continues the stored model: drop ", flag,
               " or start a new run");
  };
  same("--form", parse_form(m.form) == ckpt.form, m.form, form_name(ckpt.form));
  same("--steps", m.T == ckpt.T, std::to_string(m.T), std::to_string(ckpt.T));
  same("--seed", m.seed == ckpt.seed, std::to_string(m.seed), std::to_string(ckpt.seed));
  same("--init-b", m.init_b == ckpt.init_b, std::to_string(m.init_b), std::to_string(ckpt.init_b));
  same("--init-w", m.init_w == ckpt.init_w, std::to_string(m.init_w), std::to_string(ckpt.init_w));
  const bool gs = ckpt.order == UpdateOrder::gauss_seidel;
  same("--order", (m.order == "gauss_seidel") == gs, m.order, gs ? "gauss_seidel" : "previous_step");
  const bool seed_loss = ckpt.loss == LossKind::seed;
  same("--loss", (m.loss == "seed") == seed_loss, m.loss, seed_loss ? "seed" : "plain");
  RSNN_CHECK(cmd->count("--propagation") == 0, "--propagation cannot be combined with --resume ",
             "(the resumed model uses the automatic choice)");
  RSNN_CHECK(cmd->count("--tables") == 0, "--tables cannot be combined with --resume: the checkpoint ",
             path, " holds its whole projection");
}

BarrelConfig make_config(const ModelArgs& m) {
  RSNN_CHECK(m.init_w < 0 || m.init_w <= 1, "--init-w must be in (0, 1], got ", m.init_w);
  BarrelConfig c = parse_form(m.form) == InputForm::spiking ? BarrelConfig::spiking_default()
                                                             : BarrelConfig::real_default();
  if (m.T > 0) c.T = m.T;
  if (m.init_b >= 0) c.init_b = m.init_b;
  if (m.init_w >= 0) c.init_w = m.init_w;
  c.order = m.order == "previous_step" ? UpdateOrder::previous_step : UpdateOrder::gauss_seidel;
  c.loss = m.loss == "plain" ? LossKind::plain : LossKind::seed;
  c.propagation = m.propagation == "pull"   ? Propagation::pull
                  : m.propagation == "push" ? Propagation::push
                                            : Propagation::automatic;
  c.seed = m.seed;
  c.tables_dir = m.tables;
  return c;
}

// Threads, and the device the model runs on (--device; auto = CUDA when one is usable).
Device run_device(const RunOptions& run) {
  apply_threads(run);
  return select_device(run.device, dist::is_root() ? &std::cerr : nullptr);
}

// Checks that one forward fits in memory: a batch's largest shard, since a rank runs its
// shards one after another and frees each one's graph before the next.
void check_forward_fits(const BarrelConfig& cfg, int64_t batch, int shards, bool training,
                        const std::string& what, const std::string& extra, int ranks) {
  const int64_t s = shards == 0 ? ranks : shards;
  const int64_t per_forward = (batch + s - 1) / s;
  check_memory_fits(forward_bytes_estimate(cfg, per_forward, training),
                    what + " (batch " + std::to_string(batch) +
                        (s > 1 ? ", shards of up to " + std::to_string(per_forward) + " samples" : "") +
                        extra + "; lower --batch" + (s > 1 ? " or raise --shards)" : ")"));
}

// --shards: data-parallel shards per batch under `mpirun -np N rsnn barrel ...`.
void add_shards_option(CLI::App* cmd, int& shards) {
  cmd->add_option("--shards", shards,
                  "data-parallel shards per batch (0: one per MPI rank; a multiple of the rank count; "
                  "the same value gives the same results on any such rank count)")
      ->check(non_negative_number())->capture_default_str();
}

void add_train(CLI::App& barrel) {
  auto* cmd = barrel.add_subcommand("train", "Train the barrel-cortex RSNN on whisker sweeps");
  auto data = std::make_shared<DataArgs>();
  auto model = std::make_shared<ModelArgs>();
  auto opt = std::make_shared<TrainOptions>();
  auto run = std::make_shared<RunOptions>();
  auto out = std::make_shared<std::string>("runs/barrel");
  add_data_options(cmd, *data, true);
  cmd->add_option("--form", model->form, "spiking (T=550) or real (T=110)")
      ->check(CLI::IsMember({"spiking", "real"}))->capture_default_str();
  cmd->add_option("--steps", model->T, "time steps (default: 550 spiking, 110 real)")->check(CLI::Range(2, 100000));
  cmd->add_option("--init-b", model->init_b, "baseline threshold and initial adaptation (default 0.04 spiking, 0.03 real)")
      ->check(non_negative_number());
  cmd->add_option("--init-w", model->init_w, "upper bound of the uniform weight init, in (0, 1] (default 0.06 spiking, 0.05 real)")
      ->check(positive_number());
  cmd->add_option("--order", model->order, "population update order")
      ->check(CLI::IsMember({"gauss_seidel", "previous_step"}))->capture_default_str();
  cmd->add_option("--loss", model->loss, "seed: the original's summed-softmax loss; plain: cross-entropy")
      ->check(CLI::IsMember({"seed", "plain"}))->capture_default_str();
  cmd->add_option("--propagation", model->propagation, "spike propagation strategy")
      ->check(CLI::IsMember({"automatic", "pull", "push"}))->capture_default_str();
  cmd->add_option("--seed", model->seed, "seed of the network and every random draw")->capture_default_str();
  cmd->add_option("--tables", model->tables, "folder with connection tables (CSV or the original .npy)");
  cmd->add_option("--epochs", opt->epochs, "epochs")->check(non_negative_number())->capture_default_str();
  cmd->add_option("--batch", opt->batch, "batch size")->check(positive_number())->capture_default_str();
  cmd->add_option("--lr", opt->lr, "base learning rate (tau_adp 5x, tau_m 2x)")->check(positive_number())->capture_default_str();
  cmd->add_option("--step-size", opt->step_size, "StepLR period in epochs (default 20 spiking, 10 real)")
      ->check(positive_number());
  cmd->add_option("--gamma", opt->gamma, "StepLR factor (default 0.8 spiking, 0.5 real)")
      ->check(positive_number());
  cmd->add_option("--out", *out, "run directory (checkpoint.h5, log.csv)")->capture_default_str();
  cmd->add_flag("--resume", opt->resume, "continue from OUT/checkpoint.h5");
  cmd->add_option("--checkpoint-every", opt->checkpoint_every,
                  "epochs between checkpoints (the last epoch always gets one)")
      ->check(positive_number())->capture_default_str();
  add_shards_option(cmd, opt->shards);
  add_run_options(cmd, *run);
  cmd->callback([=] {
    const Device dev = run_device(*run);
    BarrelConfig cfg = make_config(*model);
    TrainOptions o = *opt;
    if (cfg.form == InputForm::real && cmd->count("--step-size") == 0) o.step_size = 10;
    if (cfg.form == InputForm::real && cmd->count("--gamma") == 0) o.gamma = 0.5;
    o.run_dir = *out;
    prepare_output_dir(*out, "--out");  // before any work: a read-only folder fails now
    const WhiskerData train_d = load_split(*data, true);
    const WhiskerData test_d = load_split(*data, false);
    // Before the model is built: a batch too small for --shards fails at once.
    check_batch_shards(train_d.size(), o.batch, o.shards, "the training set");
    if (test_d.size() > 0) check_batch_shards(test_d.size(), o.batch, o.shards, "the test set");
    std::unique_ptr<BarrelModel> m;
    const std::string ckpt = *out + "/checkpoint.h5";
    if (o.resume) {
      RSNN_CHECK(std::filesystem::exists(ckpt), "--resume: no checkpoint at ", ckpt);
      m = load_checkpoint(ckpt);
      check_resume_flags(cmd, *model, m->config(), ckpt);
      cfg = m->config();
      if (dist::is_root()) std::cerr << "rsnn: resuming from " << ckpt << "\n";
    } else {
      m = std::make_unique<BarrelModel>(cfg);
    }
    m->to(dev);
    const EncodedSet train_set = encode_for(cfg, train_d, cfg.seed);
    const EncodedSet test_set = encode_for(cfg, test_d, cfg.seed + 1);
    check_forward_fits(cfg, std::min(o.batch, train_set.size()), o.shards, true, "barrel train",
                       ", T = " + std::to_string(cfg.T), dist::size());
    if (dist::is_root())
      std::cerr << "rsnn: barrel " << form_name(cfg.form) << " model on " << dev.str() << ", " << m->neurons()
                << " neurons, " << m->projection().nnz() << " synapses, T = " << cfg.T << ", " << o.epochs
                << " epochs of " << train_set.size() << " samples (batch " << o.batch << ")"
                << (dist::size() > 1 ? ", " + std::to_string(dist::size()) + " MPI ranks" : "") << "\n";
    const TrainSummary s = train(*m, train_set, test_set, o);
    if (!dist::is_root()) return;
    std::cout << std::fixed << std::setprecision(4) << "epochs " << s.epochs_run << "  first loss "
              << s.first_loss << "  last loss " << s.last_loss << "  train accuracy "
              << s.last_train_accuracy << "  test accuracy " << s.last_test_accuracy << "  ("
              << std::setprecision(1) << s.seconds << " s)\n";
  });
}

void add_eval(CLI::App& barrel) {
  auto* cmd = barrel.add_subcommand("eval", "Evaluate a checkpoint on the test set");
  auto data = std::make_shared<DataArgs>();
  auto run = std::make_shared<RunOptions>();
  auto ckpt = std::make_shared<std::string>();
  auto batch = std::make_shared<int64_t>(128);
  auto shards = std::make_shared<int>(0);
  cmd->add_option("--checkpoint", *ckpt, "checkpoint.h5 written by train")->required();
  add_data_options(cmd, *data, false);
  cmd->add_option("--batch", *batch, "batch size")->check(positive_number())->capture_default_str();
  add_shards_option(cmd, *shards);
  add_run_options(cmd, *run);
  cmd->callback([=] {
    const Device dev = run_device(*run);
    std::unique_ptr<BarrelModel> m = load_checkpoint(*ckpt);
    m->to(dev);
    const EncodedSet test = encode_for(m->config(), load_split(*data, false), m->config().seed + 1);
    const int64_t B = std::min(*batch, test.size());
    // Under mpirun main() runs an undistributed command on rank 0 alone: then no collectives.
    const bool spread = is_distributed("barrel eval");
    check_forward_fits(m->config(), B, *shards, false, "barrel eval", "", spread ? dist::size() : 1);
    ProgressBar bar("eval", test.size(), "sample");
    const EvalResult r = evaluate(*m, test, *batch, [&](int64_t done, int64_t) { bar.update(done); }, *shards, spread);
    bar.finish();
    if (!dist::is_root()) return;
    std::cout << std::fixed << std::setprecision(4) << "test samples " << r.samples << "  loss " << r.loss
              << "  accuracy " << r.accuracy << "\n";
  });
}

void add_deprive(CLI::App& barrel) {
  auto* cmd = barrel.add_subcommand(
      "deprive", "Whisker deprivation: test accuracy with k = 1..K whiskers removed (spec §3)");
  auto data = std::make_shared<DataArgs>();
  auto run = std::make_shared<RunOptions>();
  auto ckpt = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>("deprivation.csv");
  auto max_k = std::make_shared<int>(8);
  auto trials = std::make_shared<int>(50);
  auto batch = std::make_shared<int64_t>(128);
  auto seed = std::make_shared<uint64_t>(515);
  auto shards = std::make_shared<int>(0);
  cmd->add_option("--checkpoint", *ckpt, "checkpoint.h5 written by train")->required();
  add_data_options(cmd, *data, false);
  cmd->add_option("--max-k", *max_k, "largest number of removed whiskers")->check(CLI::Range(1, 30))->capture_default_str();
  cmd->add_option("--trials", *trials, "random whisker sets per k >= 2 (k = 1 removes each of the 31 whiskers once)")
      ->check(positive_number())->capture_default_str();
  cmd->add_option("--seed", *seed, "seed of the whisker sets and the re-encoding")->capture_default_str();
  cmd->add_option("--batch", *batch, "batch size")->check(positive_number())->capture_default_str();
  cmd->add_option("--out", *out, "CSV of per-trial accuracy (a *_mean.csv with the means per k is written beside it)")
      ->capture_default_str();
  add_shards_option(cmd, *shards);
  add_run_options(cmd, *run);
  cmd->callback([=] {
    std::string mean_path = *out;
    const auto dot = mean_path.rfind(".csv");
    mean_path = (dot == std::string::npos ? mean_path : mean_path.substr(0, dot)) + "_mean.csv";
    check_output_file(*out, "--out");  // before the trials, not after them
    check_output_file(mean_path, "--out");
    const Device dev = run_device(*run);
    std::unique_ptr<BarrelModel> m = load_checkpoint(*ckpt);
    m->to(dev);
    const WhiskerData test = load_split(*data, false);
    std::vector<std::vector<std::vector<int>>> sets;
    int64_t total = 0;
    for (int k = 1; k <= *max_k; ++k) {
      sets.push_back(deprivation_sets(k, k == 1 ? 31 : *trials, *seed + static_cast<uint64_t>(k)));
      total += static_cast<int64_t>(sets.back().size());
    }
    const int64_t B = std::min<int64_t>(*batch, test.size());
    const bool spread = is_distributed("barrel deprive");  // as for barrel eval
    check_forward_fits(m->config(), B, *shards, false, "barrel deprive", "", spread ? dist::size() : 1);
    std::ostringstream csv, mean_csv;
    csv << "k,trial,whiskers,accuracy\n";
    mean_csv << "k,trials,mean_accuracy\n";
    ProgressBar bar("deprive", total, "trial");
    int64_t done = 0, trial_id = 0;
    for (int k = 1; k <= *max_k; ++k) {
      double acc_sum = 0;
      for (size_t i = 0; i < sets[k - 1].size(); ++i) {
        const std::vector<int>& w = sets[k - 1][i];
        // Every trial re-encodes the deprived test set with new Bernoulli draws.
        const EncodedSet enc = encode_for(m->config(), deprive(test, w), *seed + 1000 + trial_id++);
        const double acc = evaluate(*m, enc, *batch, {}, *shards, spread).accuracy;
        acc_sum += acc;
        std::string ws;
        for (size_t j = 0; j < w.size(); ++j) ws += (j ? " " : "") + std::to_string(w[j]);
        csv << k << ',' << i << ',' << ws << ',' << acc << '\n';
        bar.update(++done, {{"k", double(k)}, {"acc", acc}});
      }
      const double mean = acc_sum / double(sets[k - 1].size());
      mean_csv << k << ',' << sets[k - 1].size() << ',' << mean << '\n';
      if (dist::is_root())
        std::cout << "k = " << k << ": mean test accuracy " << std::fixed << std::setprecision(4)
                  << mean << " over " << sets[k - 1].size() << " trials\n";
    }
    bar.finish();
    if (!dist::is_root()) return;  // every rank holds the same results; one writes them
    write_text_atomic(*out, csv.str());
    write_text_atomic(mean_path, mean_csv.str());
    std::cout << "wrote " << *out << " and " << mean_path << "\n";
  });
}

Register reg([](CLI::App& app) {
  auto* barrel = barrel_command(app);
  add_train(*barrel);
  add_eval(*barrel);
  add_deprive(*barrel);
});

}  // namespace

CLI::App* barrel_command(CLI::App& app) {
  try {
    return app.get_subcommand("barrel");
  } catch (const CLI::OptionNotFound&) {
  }
  auto* barrel = app.add_subcommand("barrel", "The barrel-cortex recurrent spiking network");
  barrel->require_subcommand(1);
  return barrel;
}

}  // namespace rsnn::cli
