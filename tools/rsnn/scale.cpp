// `rsnn scale`: the scaling-study driver (models/scale/study.h, docs/scale.md). For each size
// of a network family: build, simulate, measure; scale.csv after every size (so a killed
// study keeps what it measured) and scale.png (tools/plot_scale.py) at the end.
#include <filesystem>
#include <iostream>

#include "models/scale/study.h"
#include "runtime/atomic_file.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/process.h"
#include "tools/rsnn/command.h"

namespace rsnn::cli {
namespace {

struct ScaleArgs {
  std::string family, sizes, out, plot = "auto";
  scale::StudyOptions opt;
  bool train = false;
  double bg_rate = -1;  // set only by --bg-rate
  bool indegree_given = false, train_shape_given = false;
};

void plot(const std::string& mode, const std::string& csv, const std::string& png) {
  if (mode == "off") return;
  const PythonScript ps = find_python_script("plot_scale.py", "RSNN_PLOT_SCALE_SCRIPT", "matplotlib");
  RSNN_CHECK(mode != "on" || ps.found(), "--plot on: ", ps.why_not);
  if (!ps.found()) {
    std::cout << "note: no plot: " << ps.why_not << "\n";
    return;
  }
  const int rc = run_process({ps.python, ps.script, csv, png}, false);
  RSNN_CHECK(rc == 0 || mode != "on", "--plot on: ", ps.script, " failed (exit ", rc, ")");
  if (rc == 0) std::cout << "plot: " << png << "\n";
}

void run(ScaleArgs& a, const RunOptions& ro) {
  apply_threads(ro);
  a.opt.family = scale::parse_family(a.family);
  const std::vector<double> sizes = scale::parse_sizes(a.sizes, a.opt.family);
  RSNN_CHECK(a.plot == "auto" || a.plot == "on" || a.plot == "off", "--plot: expected auto, on or off, got '",
             a.plot, "'");
  a.opt.train = a.train;
  RSNN_CHECK(!a.indegree_given || a.opt.family == scale::Family::random_ei, "--indegree: only for random-ei");
  RSNN_CHECK(!a.train_shape_given || a.train, "--batch and --train-steps: only with --train");
  if (a.bg_rate >= 0) {
    RSNN_CHECK(a.opt.family != scale::Family::microcircuit,
               "--bg-rate: the microcircuit's background is the model's (8 Hz per external input)");
    a.opt.random_ei.bg_rate_hz = a.opt.barrel.bg_rate_hz = a.bg_rate;
  }
  for (double s : sizes) scale::check_fits(a.opt, s);  // refuse before spending time on smaller sizes
  a.opt.cuda = select_device(ro.device, &std::cerr).is_cuda();
  std::filesystem::create_directories(a.out);
  const std::string csv = a.out + "/scale.csv";
  std::vector<scale::ScaleRow> rows;
  for (double s : sizes) {
    rows.push_back(scale::run_size(a.opt, s, &std::cerr));
    write_text_atomic(csv, scale::rows_csv(rows));
  }
  std::cout << scale::rows_csv(rows);
  plot(a.plot, csv, a.out + "/scale.png");
  std::cout << "results in " << csv << "\n";
}

Register reg([](CLI::App& app) {
  auto* cmd = app.add_subcommand("scale", "Scaling study: build and simulate a network family at several sizes");
  auto a = std::make_shared<ScaleArgs>();
  auto ro = std::make_shared<RunOptions>();
  cmd->add_option("--family", a->family, "microcircuit | barrel-tiled | random-ei")->required();
  cmd->add_option("--sizes", a->sizes,
                  "comma-separated sizes: scale factors (microcircuit), columns (barrel-tiled), neurons (random-ei)")
      ->required();
  cmd->add_option("--time", a->opt.time_ms, "simulated and timed biological time (ms)")
      ->check(positive_number())->capture_default_str();
  cmd->add_option("--presim", a->opt.presim_ms, "biological time simulated before timing (ms)")
      ->check(non_negative_number())->capture_default_str();
  cmd->add_option("--seed", a->opt.seed, "seed of every network and background")->capture_default_str();
  cmd->add_option("--indegree", a->opt.random_ei.max_indegree, "random-ei: largest in-degree K (K = min(this, N/10))")
      ->check(CLI::Range(int64_t(1), int64_t(100000)))->capture_default_str();
  cmd->add_option("--bg-rate", a->bg_rate,
                  "random-ei, barrel-tiled: Poisson background events per neuron per second (default: the family's)")
      ->check(non_negative_number());
  cmd->add_flag("--train", a->train,
                "barrel-tiled: also time one BPTT step of the recurrent aLIF op on the tiled network (docs/scale.md)");
  cmd->add_option("--batch", a->opt.train_batch, "--train: batch size B")
      ->check(CLI::Range(int64_t(1), int64_t(4096)))->capture_default_str();
  cmd->add_option("--train-steps", a->opt.train_steps, "--train: time steps T of the op (1 ms each)")
      ->check(CLI::Range(int64_t(1), int64_t(100000)))->capture_default_str();
  cmd->add_option("--plot", a->plot, "scale.png: auto | on | off")->capture_default_str();
  cmd->add_option("--out", a->out, "output folder (scale.csv, scale.png)")->required();
  add_run_options(cmd, *ro);
  cmd->callback([a, ro, cmd] {
    a->indegree_given = cmd->count("--indegree") > 0;
    a->train_shape_given = cmd->count("--batch") + cmd->count("--train-steps") > 0;
    run(*a, *ro);
  });
});

}  // namespace
}  // namespace rsnn::cli
