// `rsnn whisker ...`: the whisker-sweep data of the barrel-cortex model.
//   synth     generate the synthetic stand-in data set (two HDF5 files)
//   baseline  softmax-regression reference accuracy on a train/test pair
//   summary   statistics of whisker HDF5 files (any file in the original layout)
#include <cerrno>
#include <chrono>
#include <memory>
#include <cstdio>
#include <iostream>
#include <string>
#include <sys/stat.h>

#include "models/barrel/baseline.h"
#include "models/barrel/whisker_data.h"
#include "models/barrel/whisker_synth.h"
#include "runtime/output_check.h"
#include "runtime/progress.h"
#include "tools/rsnn/command.h"

namespace rsnn::cli {
namespace {

// The whisker commands compute on the CPU only; they take --threads.
void add_threads(CLI::App* cmd, RunOptions& run) {
  cmd->add_option("--threads", run.threads, "CPU threads (0 = all cores)")
      ->check(non_negative_number())
      ->capture_default_str();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void print_summary(const std::string& title, const barrel::WhiskerSummary& s) {
  std::printf("%s: %lld samples\n", title.c_str(), static_cast<long long>(s.samples));
  std::printf("  %-7s %7s %12s %13s %15s %17s\n", "class", "samples", "mean |F|", "mean |tau|",
              "frames touched", "whisker-frames");
  for (int c = 0; c < barrel::kClasses; ++c)
    std::printf("  %-7s %7lld %12.3f %13.3f %14.1f%% %16.2f%%\n", barrel::class_name(c),
                static_cast<long long>(s.count[c]), s.mean_force[c], s.mean_torque[c],
                100.0 * s.contact_frames[c], 100.0 * s.contact_whiskers[c]);
  std::printf("  all     %7lld %12s %13s %14.1f%% %16.2f%%\n", static_cast<long long>(s.samples),
              "", "", 100.0 * s.contact_frames_all, 100.0 * s.contact_whiskers_all);
}

struct SynthArgs {
  std::string out = "runs/whisker";
  uint64_t seed = 515;
  int64_t train = 218;
  int64_t test = 55;
  RunOptions run;
};

void run_synth(const SynthArgs& a) {
  apply_threads(a.run);
  prepare_output_dir(a.out, "--out");  // before the samples are drawn
  const auto t0 = std::chrono::steady_clock::now();
  struct Part {
    const char* name;
    int64_t n;
    uint64_t stream;
  };
  const Part parts[2] = {{"train", a.train, barrel::kTrainStream},
                         {"test", a.test, barrel::kTestStream}};
  for (const Part& p : parts) {
    ProgressBar bar(std::string("whisker synth (") + p.name + ")", p.n, "sample");
    const barrel::WhiskerData d =
        barrel::synthesize_whisker_data(p.n, a.seed, p.stream, [&](int64_t done) {
          if (done < p.n) bar.update(done);  // finish() prints the last line
        });
    bar.finish();
    const std::string path = a.out + "/whisker_" + p.name + ".h5";
    barrel::write_whisker_h5(path, d,
                             {{"generator", "rsnn whisker synth (synthetic stand-in, see docs/whisker.md)"},
                              {"seed", std::to_string(a.seed)},
                              {"stream", std::to_string(p.stream)}});
    print_summary(path, barrel::summarize(d));
  }
  std::printf("generated %lld + %lld samples in %.1f s (seed %llu)\n", static_cast<long long>(a.train),
              static_cast<long long>(a.test), seconds_since(t0), static_cast<unsigned long long>(a.seed));
}

struct BaselineArgs {
  std::string data;
  std::string train, test;
  barrel::BaselineOptions opt;
  bool no_abs = false;
  RunOptions run;
};

void run_baseline_cmd(BaselineArgs a) {
  apply_threads(a.run);
  if (a.train.empty()) a.train = a.data + "/whisker_train.h5";
  if (a.test.empty()) a.test = a.data + "/whisker_test.h5";
  a.opt.abs_features = !a.no_abs;
  const auto t0 = std::chrono::steady_clock::now();
  const barrel::WhiskerData train = barrel::read_whisker_h5(a.train);
  const barrel::WhiskerData test = barrel::read_whisker_h5(a.test);
  const barrel::BaselineResult r = barrel::run_baseline(train, test, a.opt);
  std::printf("softmax regression on %s features (%lld per sample, %d time bin%s, l2 %g)\n",
              a.opt.abs_features ? "mean and mean-|x|" : "mean", static_cast<long long>(r.features),
              a.opt.time_bins, a.opt.time_bins == 1 ? "" : "s", a.opt.l2);
  std::printf("  L-BFGS: %d iterations, loss %.4f, %s\n", r.fit.iterations, r.fit.loss,
              r.fit.converged ? "converged" : "stopped at --max-iter");
  std::printf("  train accuracy %.1f%% (%lld samples)\n", 100.0 * r.train_accuracy,
              static_cast<long long>(train.size()));
  std::printf("  test accuracy %.1f%% (%lld samples; chance 33.3%%)\n", 100.0 * r.test_accuracy,
              static_cast<long long>(test.size()));
  std::printf("  confusion (rows true, columns predicted: helmet box plane):\n");
  for (int c = 0; c < barrel::kClasses; ++c)
    std::printf("    %-7s %4lld %4lld %4lld\n", barrel::class_name(c),
                static_cast<long long>(r.confusion[c][0]), static_cast<long long>(r.confusion[c][1]),
                static_cast<long long>(r.confusion[c][2]));
  std::printf("  %.1f s\n", seconds_since(t0));
}

Register reg([](CLI::App& app) {
  auto* whisker = app.add_subcommand("whisker", "Whisker-sweep data of the barrel-cortex model");
  whisker->require_subcommand(1);

  auto synth_args = std::make_shared<SynthArgs>();
  auto* synth = whisker->add_subcommand(
      "synth", "Generate the synthetic whisker-sweep data set (OUT/whisker_train.h5, OUT/whisker_test.h5)");
  synth->add_option("--out", synth_args->out, "output folder")->capture_default_str();
  synth->add_option("--seed", synth_args->seed, "random seed")->capture_default_str();
  synth->add_option("--train", synth_args->train, "training samples")
      ->check(non_negative_number())
      ->capture_default_str();
  synth->add_option("--test", synth_args->test, "test samples")
      ->check(non_negative_number())
      ->capture_default_str();
  add_threads(synth, synth_args->run);
  synth->callback([synth_args] { run_synth(*synth_args); });

  auto base_args = std::make_shared<BaselineArgs>();
  auto* base = whisker->add_subcommand(
      "baseline", "Softmax-regression reference accuracy (time-averaged real-valued features)");
  base->add_option("--data", base_args->data, "folder with whisker_train.h5 and whisker_test.h5");
  base->add_option("--train-file", base_args->train, "training file (overrides --data)");
  base->add_option("--test-file", base_args->test, "test file (overrides --data)");
  base->add_option("--bins", base_args->opt.time_bins, "time bins of the features (1 = time average)")
      ->check(CLI::Range(1, 110))
      ->capture_default_str();
  base->add_option("--l2", base_args->opt.l2, "L2 penalty on the weights")
      ->check(non_negative_number())
      ->capture_default_str();
  base->add_option("--max-iter", base_args->opt.max_iter, "L-BFGS iterations")
      ->check(positive_number())
      ->capture_default_str();
  base->add_flag("--no-abs", base_args->no_abs, "use only the mean, not the mean absolute value");
  add_threads(base, base_args->run);
  base->callback([base_args] {
    RSNN_CHECK(!base_args->data.empty() || (!base_args->train.empty() && !base_args->test.empty()),
               "whisker baseline: give --data DIR (or both --train-file and --test-file)");
    run_baseline_cmd(*base_args);
  });

  auto files = std::make_shared<std::vector<std::string>>();
  auto* summary = whisker->add_subcommand("summary", "Validate whisker HDF5 files and print statistics");
  summary->add_option("files", *files, "HDF5 files in the original layout")->required();
  summary->callback([files] {
    for (const auto& f : *files) print_summary(f, barrel::summarize(barrel::read_whisker_h5(f)));
  });
});

}  // namespace
}  // namespace rsnn::cli
