// `rsnn micron`: the MICrONS-constrained RNNs (spec neuro-constrained-rnn.md).
//   train    one run (field, variant, task, simulation): W_rec as NPY, per-epoch CSV, JSON
//   metrics  every regularizer value and graph metric of a weight matrix, as JSON on stdout
//   sweep    many runs in parallel, resumable, with summaries and plots (micron_sweep.cpp)
#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>

#include "models/microns/distances.h"
#include "models/microns/regularizers.h"
#include "models/microns/tasks.h"
#include "models/microns/variants.h"
#include "runtime/atomic_file.h"
#include "runtime/dist.h"
#include "runtime/error.h"
#include "runtime/output_check.h"
#include "runtime/npy.h"
#include "runtime/threads.h"
#include "tools/rsnn/command.h"
#include "tools/rsnn/micron_common.h"

namespace rsnn::cli::micron {
namespace {

using namespace rsnn::microns;

struct TrainCmd : RunOptions {
  std::string variant = "W*D*C", task = "1", out = ".", name, device = "cpu";
  int sim = 0, threads = 1, shards = 0;
  bool no_metrics = false;
};

std::string json_num(double x) { return std::isfinite(x) ? format_double(x) : "null"; }

void run_train(const TrainCmd& c) {
  RSNN_CHECK(c.threads >= 0, "--threads must be >= 0 (got ", c.threads, ")");
  set_num_threads(c.threads);
  const int task = static_cast<int>(parse_task(c.task));
  TrainConfig cfg = make_config(c.train, task, c.variant, c.sim);
  // Under mpirun every rank trains its shards of each batch; only rank 0 speaks and writes.
  dist::check_shards(cfg.batch, c.shards, dist::size(), "--shards");
  cfg.shards = c.shards == 0 ? dist::size() : c.shards;
  const bool root = dist::is_root();
  const Device dev = select_device(c.device, root ? &std::cerr : nullptr);
  const Field f = load_field_checked(c.field);
  if (root) prepare_output_dir(c.out, "--out");  // before the training: a read-only folder fails now
  graph::SmallWorldNull null;
  if (root && !c.no_metrics) {
    NullOptions n = c.null;
    if (n.cache.empty()) n.cache = c.out + "/cache";
    null = resolve_null(f.N, n);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const TrainResult res = train_run(f, cfg, dev);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!root) return;

  RunSpec spec;
  spec.task = task;
  spec.variant = cfg.variant;
  spec.sim = c.sim;
  const auto& all = variants();
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].key == cfg.variant) spec.variant_index = static_cast<int>(i);
  const std::string settings = settings_fingerprint(f.name, c.train, null);
  const RunRecord rec = c.no_metrics ? record_without_metrics(spec, settings, res, secs)
                                     : make_record(spec, settings, res, null, secs);

  const std::string base =
      c.out + "/" + (c.name.empty() ? "task" + std::to_string(task) + "_" +
                                          variant_file_token(cfg.variant) + "_sim" +
                                          std::to_string(c.sim)
                                    : c.name);
  npy_save(base + "_W.npy", Tensor::from_vector(res.W_rec, {res.N, res.N}));
  std::ostringstream csv;
  csv << "epoch,loss,accuracy,val_loss,val_accuracy\n";
  for (const EpochRow& e : rec.epochs)
    csv << e.epoch << "," << format_double(e.loss) << "," << format_double(e.accuracy) << ","
        << format_double(e.val_loss) << "," << format_double(e.val_accuracy) << "\n";
  write_text_atomic(base + "_epochs.csv", csv.str());
  write_text_atomic(base + ".json", run_record_json(rec));
  std::cout << "task " << task << " " << cfg.variant << " sim " << c.sim << ": accuracy "
            << rec.accuracy << ", loss " << rec.loss << ", val_accuracy " << rec.val_accuracy
            << (rec.finite ? "" : " (diverged)") << ", " << secs << " s -> " << base
            << ".json\n";
}

struct MetricsCmd {
  FieldOptions field;
  NullOptions null;
  std::string weights;
  double lambda = 0.3, emd_lambda = 0.1;
  bool l1_lambda = false;
  std::string expm = "float32";
};

void run_metrics(const MetricsCmd& c) {
  RSNN_CHECK(std::isfinite(c.lambda) && std::isfinite(c.emd_lambda),
             "--lambda and --emd-lambda must be finite");
  const ExpmPrecision precision = parse_expm_precision(c.expm, "--expm");
  const Field f = load_field_checked(c.field);
  const int N = f.N;
  const Tensor w = npy_load_as(c.weights, DType::f32);
  RSNN_CHECK(w.ndim() == 2 && w.size(0) == N && w.size(1) == N, "--weights ", c.weights,
             ": expected shape [", N, ", ", N, "] for field ", f.name, ", got ", w.shape_str());
  const std::vector<float> W = w.to_vector<float>();

  const std::vector<float> Dg = distance_grid(f.grid.nx, f.grid.ny, f.grid.nz);
  const std::vector<float> Dc = distance_star(f.positions, N, StarCoords::coded);
  const std::vector<float> Di = distance_star(f.positions, N, StarCoords::intended);
  const std::vector<float> emp = empirical_comms_sorted(f.connectome, N);
  auto reg = [&](RegKind kind, const std::vector<float>* D, double lam, double emd_lam) {
    RegSpec s;
    s.kind = kind;
    s.N = N;
    s.lambda = lam;
    s.emd_lambda = emd_lam;
    s.l1_apply_lambda = c.l1_lambda;
    s.expm = precision;
    if (D) s.D = *D;
    if (kind == RegKind::wdc_emd) s.emp_sorted = emp;
    validate(s);
    return regularizer_value(s, W.data(), nullptr);
  };
  std::ostringstream o;
  o << "{\n  \"weights\": \"" << c.weights << "\",\n  \"field\": \"" << f.name
    << "\",\n  \"N\": " << N << ",\n  \"expm\": \"" << c.expm << "\",\n  \"regularizers\": {";
  const std::pair<const char*, double> regs[] = {
      {"W_L1_sum", reg(RegKind::l1, nullptr, c.lambda, c.emd_lambda)},
      {"WD_grid", reg(RegKind::wd, &Dg, c.lambda, c.emd_lambda)},
      {"WD_star_coded", reg(RegKind::wd, &Dc, c.lambda, c.emd_lambda)},
      {"WD_star_intended", reg(RegKind::wd, &Di, c.lambda, c.emd_lambda)},
      {"WDC_grid", reg(RegKind::wdc, &Dg, c.lambda, c.emd_lambda)},
      {"WDC_star_coded", reg(RegKind::wdc, &Dc, c.lambda, c.emd_lambda)},
      {"WDC_star_intended", reg(RegKind::wdc, &Di, c.lambda, c.emd_lambda)},
      {"EMD_raw", reg(RegKind::wdc_emd, &Dg, 0.0, 1.0)},
      {"WDC_EMD_grid", reg(RegKind::wdc_emd, &Dg, c.lambda, c.emd_lambda)},
      {"WDC_EMD_star_coded", reg(RegKind::wdc_emd, &Dc, c.lambda, c.emd_lambda)},
      {"WDC_EMD_star_intended", reg(RegKind::wdc_emd, &Di, c.lambda, c.emd_lambda)}};
  for (size_t i = 0; i < std::size(regs); ++i)
    o << (i ? ",\n" : "\n") << "    \"" << regs[i].first << "\": " << json_num(regs[i].second);
  const graph::SmallWorldNull null = resolve_null(N, c.null);
  const graph::GraphMetrics g = graph::graph_metrics(W.data(), N, null);
  o << "\n  },\n  \"metrics\": {\n    \"entropy_bits\": " << json_num(g.entropy_bits)
    << ",\n    \"threshold_q90\": " << json_num(g.threshold_q90)
    << ",\n    \"n_directed_above\": " << g.n_directed_above
    << ",\n    \"n_undirected_edges\": " << g.n_undirected_edges
    << ",\n    \"modularity\": " << json_num(g.modularity)
    << ",\n    \"n_communities\": " << g.n_communities
    << ",\n    \"assortativity\": " << json_num(g.assortativity)
    << ",\n    \"clustering_mean\": " << json_num(g.clustering_mean)
    << ",\n    \"global_efficiency\": " << json_num(g.global_efficiency)
    << ",\n    \"smallworld\": " << json_num(g.smallworld) << "\n  },\n  \"null\": {\"n\": "
    << null.n_nulls << ", \"seed\": " << null.seed
    << ", \"clustering\": " << json_num(null.clustering)
    << ", \"efficiency\": " << json_num(null.efficiency) << "}\n}\n";
  std::cout << o.str();
}

void add_train(CLI::App* micron) {
  static TrainCmd c;
  auto* t = micron->add_subcommand("train", "One training run: W_rec (NPY), per-epoch CSV and a JSON record");
  add_run_options(t, c);
  t->add_option("--variant", c.variant, "variant key, e.g. W*D*C, WD, W!D*C*")->capture_default_str();
  t->add_option("--task", c.task, "1|maze, 2|go_nogo, 3|pdm")->capture_default_str();
  t->add_option("--sim", c.sim, "simulation index (selects the bio matrix)")->capture_default_str();
  t->add_option("--out", c.out, "output folder (null constants cached in OUT/cache)")->capture_default_str();
  t->add_option("--name", c.name, "file name stem (default task<T>_<variant>_sim<S>)");
  t->add_flag("--no-metrics", c.no_metrics, "skip the graph metrics (NaN in the JSON)");
  t->add_option("--device", c.device, "cpu | cuda | cuda:N | auto")->capture_default_str();
  t->add_option("--threads", c.threads, "CPU threads (0 = all cores)")->capture_default_str();
  t->add_option("--shards", c.shards, "under mpirun: shards of every batch, a multiple of the rank count (0 = one per rank); any rank count gives the same weights for the same shards")
      ->capture_default_str();
  t->callback([] { run_train(c); });
}

void add_metrics(CLI::App* micron) {
  static MetricsCmd c;
  auto* m = micron->add_subcommand("metrics", "Every regularizer value and graph metric of W, as JSON");
  add_field_options(m, c.field);
  m->add_option("--weights", c.weights, "N x N recurrent matrix (NPY, W[i,j] = i -> j)")->required();
  m->add_option("--lambda", c.lambda, "regu_strength")->capture_default_str();
  m->add_option("--emd-lambda", c.emd_lambda, "emd_strength")->capture_default_str();
  m->add_flag("--l1-lambda", c.l1_lambda, "multiply sum|W| by lambda (the original does not)");
  m->add_option("--expm", c.expm, "communicability expm precision: float32 (the original's) | float64")
      ->capture_default_str();
  add_null_options(m, c.null, true);
  m->callback([] { run_metrics(c); });
}

Register reg([](CLI::App& app) {
  auto* micron = app.add_subcommand("micron", "MICrONS-constrained RNNs (Shakiba et al.)");
  micron->require_subcommand(1);
  add_train(micron);
  add_metrics(micron);
  add_sweep_command(micron);
});

}  // namespace
}  // namespace rsnn::cli::micron
