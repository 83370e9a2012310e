#include "tools/rsnn/micron_common.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include "runtime/error.h"

namespace rsnn::cli::micron {

using namespace rsnn::microns;

void add_field_options(CLI::App* c, FieldOptions& o) {
  c->add_option("--field", o.field, "MICrONS field folder <sess>_<scan>_<field> (e.g. data/microns/6_6_2)")
      ->required();
  c->add_option("--positions", o.positions,
                "plain (N,3) integer NPY of soma positions (default: looked up beside the field)");
  c->add_option("--grid", o.grid, "grid nx,ny,nz for the grid distances (default: from ../INF.md)");
}

void add_train_options(CLI::App* c, TrainOptions& o) {
  c->add_option("--seed", o.seed, "seed of every random draw (bio matrices, inits, tasks, noise)")
      ->capture_default_str();
  c->add_option("--epochs", o.epochs, "epochs (original: 10)")->capture_default_str();
  c->add_option("--batches", o.batches, "batches per epoch (original: 40 = 5120 trials)")
      ->capture_default_str();
  c->add_option("--batch", o.batch, "trials per batch (original: 128)")->capture_default_str();
  c->add_option("--n-test", o.n_test, "test trials for val_accuracy/val_loss (original: 2560)")
      ->capture_default_str();
  c->add_option("--noise", o.noise, "GaussianNoise stddev on the inputs while training")
      ->capture_default_str();
  c->add_option("--lr", o.lr, "Adam learning rate (Keras default)")->capture_default_str();
  c->add_option("--lambda", o.lambda, "regu_strength of WD/WDC/WDC_EMD")->capture_default_str();
  c->add_option("--emd-lambda", o.emd_lambda, "emd_strength of WDC_EMD")->capture_default_str();
  c->add_option("--star", o.star,
                "D* coordinates: coded (the original's reshape(3,-1)) | intended (transpose)")
      ->capture_default_str();
  c->add_option("--bio", o.bio, "bio weight source: corr-sttc | precision-sttc | sttc-only")
      ->capture_default_str();
  c->add_flag("--l1-lambda", o.l1_lambda,
              "multiply the W variant's sum|W| by lambda (the original does not: effective 1.0)");
  c->add_option("--expm", o.expm,
                "communicability expm precision: float32 (the original's tf.linalg.expm, "
                "Padé 3/5/7) | float64 (Padé to double precision, slower)")
      ->capture_default_str();
  c->add_option("--ce", o.ce,
                "cross-entropy: logits (what Keras computes for a softmax layer: unclipped, "
                "full gradient) | clipped (p clipped to [1e-7, 1-1e-7], no gradient there)")
      ->capture_default_str();
  c->add_flag("--sign-constraint", o.sign_constraint,
              "NonNeg on the recurrent weights after every step (the original's sign_constraint)");
}

void add_null_options(CLI::App* c, NullOptions& o, bool with_cache) {
  c->add_option("--nulls", o.nulls, "random null graphs for small-worldness (original: 1000)")
      ->capture_default_str();
  c->add_option("--null-seed", o.null_seed, "seed of the null graphs")->capture_default_str();
  c->add_option("--null-clustering", o.clustering,
                "use this null mean clustering instead of computing the nulls (with --null-efficiency)");
  c->add_option("--null-efficiency", o.efficiency,
                "use this null mean global efficiency (with --null-clustering)");
  if (with_cache)
    c->add_option("--null-cache", o.cache, "folder caching the computed null constants");
}

void add_run_options(CLI::App* c, RunOptions& o) {
  add_field_options(c, o.field);
  add_train_options(c, o.train);
  add_null_options(c, o.null, true);
}

Field load_field_checked(const FieldOptions& o) {
  LoadOptions lo;
  lo.positions_path = o.positions;
  if (!o.grid.empty()) {
    char c1 = 0, c2 = 0;
    std::istringstream is(o.grid);
    std::string rest;
    is >> lo.grid.nx >> c1 >> lo.grid.ny >> c2 >> lo.grid.nz;
    RSNN_CHECK(is && c1 == ',' && c2 == ',' && !(is >> rest) && lo.grid.nx > 0 &&
                   lo.grid.ny > 0 && lo.grid.nz > 0,
               "--grid: expected three positive integers nx,ny,nz, got '", o.grid, "'");
  }
  return load_field(o.field, lo);
}

TrainConfig make_config(const TrainOptions& o, int task, const std::string& key, int sim) {
  RSNN_CHECK(o.epochs >= 1, "--epochs must be >= 1 (got ", o.epochs, ")");
  RSNN_CHECK(o.batches >= 1, "--batches must be >= 1 (got ", o.batches, ")");
  RSNN_CHECK(o.batch >= 1, "--batch must be >= 1 (got ", o.batch, ")");
  RSNN_CHECK(o.n_test >= 1, "--n-test must be >= 1 (got ", o.n_test, ")");
  RSNN_CHECK(std::isfinite(o.noise) && o.noise >= 0, "--noise must be finite and >= 0 (got ",
             o.noise, ")");
  RSNN_CHECK(std::isfinite(o.lr) && o.lr > 0, "--lr must be finite and > 0 (got ", o.lr, ")");
  RSNN_CHECK(std::isfinite(o.lambda) && o.lambda >= 0, "--lambda must be finite and >= 0 (got ",
             o.lambda, ")");
  RSNN_CHECK(std::isfinite(o.emd_lambda) && o.emd_lambda >= 0,
             "--emd-lambda must be finite and >= 0 (got ", o.emd_lambda, ")");
  RSNN_CHECK(sim >= 0, "--sim must be >= 0 (got ", sim, ")");
  TrainConfig c;
  c.task = static_cast<Task>(task);
  c.variant = microns::variant(key).key;  // validates the key
  c.sim = sim;
  c.seed = o.seed;
  c.epochs = o.epochs;
  c.batches = o.batches;
  c.batch = o.batch;
  c.n_test = o.n_test;
  c.noise = o.noise;
  c.lr = o.lr;
  c.sign_constraint = o.sign_constraint;
  c.bio = parse_bio_source(o.bio, "--bio");
  c.star = parse_star_coords(o.star, "--star");
  c.l1_apply_lambda = o.l1_lambda;
  c.expm = parse_expm_precision(o.expm, "--expm");
  c.ce = parse_ce_form(o.ce, "--ce");
  c.lambda = o.lambda;
  c.emd_lambda = o.emd_lambda;
  return c;
}

std::string settings_fingerprint(const std::string& field_name, const TrainOptions& o,
                                 const graph::SmallWorldNull& null) {
  std::ostringstream s;
  s << "field=" << field_name << ";seed=" << o.seed << ";epochs=" << o.epochs
    << ";batches=" << o.batches << ";batch=" << o.batch << ";n_test=" << o.n_test
    << ";noise=" << format_double(o.noise) << ";lr=" << format_double(o.lr)
    << ";lambda=" << format_double(o.lambda) << ";emd_lambda=" << format_double(o.emd_lambda)
    << ";star=" << o.star << ";bio=" << o.bio << ";l1_lambda=" << o.l1_lambda << ";expm=" << o.expm
    << ";ce=" << o.ce << ";sign=" << o.sign_constraint
    << ";null_clustering=" << format_double(null.clustering)
    << ";null_efficiency=" << format_double(null.efficiency);
  return s.str();
}

std::vector<std::string> config_lines(const Field& f, const TrainOptions& o,
                                      const graph::SmallWorldNull& null, int sims) {
  auto b = [](bool x) { return std::string(x ? "True" : "False"); };
  return {"session_scan_field = " + f.name,
          "simulations = " + std::to_string(sims),
          "number_of_nodes = " + std::to_string(f.N),
          "network_grid = (" + std::to_string(f.grid.nx) + ", " + std::to_string(f.grid.ny) +
              ", " + std::to_string(f.grid.nz) + ")",
          "sign_constraint = " + b(o.sign_constraint),
          "use_only_sttc = " + b(o.bio == "sttc-only"),
          "use_precison_matrix = " + b(o.bio == "precision-sttc"),
          "noise_level = " + format_double(o.noise),
          "regu_strength = " + format_double(o.lambda),
          "emd_strength = " + format_double(o.emd_lambda),
          "activation_function = relu",
          "random_network_initialization = Orthogonal",
          "star_coordinates = " + o.star,
          "l1_apply_lambda = " + b(o.l1_lambda),
          "expm_precision = " + o.expm,
          "cross_entropy = " + o.ce,
          "seed = " + std::to_string(o.seed),
          "epochs = " + std::to_string(o.epochs),
          "batches = " + std::to_string(o.batches),
          "batch = " + std::to_string(o.batch),
          "n_test = " + std::to_string(o.n_test),
          "learning_rate = " + format_double(o.lr),
          "smallworld_null = n " + std::to_string(null.n_nulls) + " seed " +
              std::to_string(null.seed) + " clustering " + format_double(null.clustering) +
              " efficiency " + format_double(null.efficiency)};
}

graph::SmallWorldNull resolve_null(int N, const NullOptions& o) {
  const bool c = !std::isnan(o.clustering), e = !std::isnan(o.efficiency);
  RSNN_CHECK(c == e, "--null-clustering and --null-efficiency go together (one is missing)");
  if (c) {
    RSNN_CHECK(std::isfinite(o.clustering) && o.clustering > 0 && std::isfinite(o.efficiency) &&
                   o.efficiency > 0,
               "--null-clustering and --null-efficiency must be finite and > 0");
    graph::SmallWorldNull n;
    n.N = N;
    n.clustering = o.clustering;
    n.efficiency = o.efficiency;
    return n;
  }
  RSNN_CHECK(o.nulls >= 1, "--nulls must be >= 1 (got ", o.nulls, ")");
  if (o.cache.empty()) return graph::smallworld_null(N, o.nulls, o.null_seed);
  return graph::smallworld_null_cached(N, o.nulls, o.null_seed, o.cache);
}

RunRecord record_without_metrics(const RunSpec& spec, const std::string& settings,
                                 const TrainResult& res, double train_seconds) {
  RunRecord r;
  r.spec = spec;
  r.settings = settings;
  r.finite = res.finite;
  r.accuracy = res.accuracy;
  r.loss = res.loss;
  r.val_accuracy = res.val_accuracy;
  r.val_loss = res.val_loss;
  r.train_seconds = train_seconds;
  const double nan = std::nan("");
  r.modularity = r.smallworld = r.assortativity = r.entropy = nan;
  r.threshold_q90 = r.clustering_mean = r.global_efficiency = nan;
  r.n_directed_above = r.n_undirected_edges = r.n_communities = -1;
  for (const EpochLog& e : res.epochs)
    r.epochs.push_back({e.epoch, e.loss, e.accuracy, e.val_loss, e.val_accuracy});
  return r;
}

RunRecord make_record(const RunSpec& spec, const std::string& settings, const TrainResult& res,
                      const graph::SmallWorldNull& null, double train_seconds) {
  RunRecord r = record_without_metrics(spec, settings, res, train_seconds);
  const auto t0 = std::chrono::steady_clock::now();
  const graph::GraphMetrics g = graph::graph_metrics(res.W_rec.data(), res.N, null);
  r.metrics_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.modularity = g.modularity;
  r.smallworld = g.smallworld;
  r.assortativity = g.assortativity;
  r.entropy = g.entropy_bits;
  r.threshold_q90 = g.threshold_q90;
  r.clustering_mean = g.clustering_mean;
  r.global_efficiency = g.global_efficiency;
  r.n_directed_above = g.n_directed_above;
  r.n_undirected_edges = g.n_undirected_edges;
  r.n_communities = g.n_communities;
  return r;
}

}  // namespace rsnn::cli::micron
