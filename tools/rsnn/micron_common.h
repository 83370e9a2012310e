// Shared pieces of the `rsnn micron` commands: the options every command takes (field,
// schedule, faithful-to-code switches, small-world null), their validation, and the
// conversion of a training result plus graph metrics into a sweep record.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "kernels/graph_metrics.h"
#include "models/microns/field.h"
#include "models/microns/sweep.h"
#include "models/microns/train.h"

namespace rsnn::cli::micron {

struct FieldOptions {
  std::string field;      // folder <sess>_<scan>_<field>
  std::string positions;  // plain (N,3) integer NPY; empty = looked up beside the field
  std::string grid;       // "nx,ny,nz"; empty = from INF.md
};

struct TrainOptions {
  uint64_t seed = 1;
  int epochs = 10, batches = 40, batch = 128, n_test = 2560;
  double noise = 0.05, lr = 1e-3, lambda = 0.3, emd_lambda = 0.1;
  std::string star = "coded";      // coded | intended
  std::string bio = "corr-sttc";   // corr-sttc | precision-sttc | sttc-only
  bool l1_lambda = false;
  std::string expm = "float32";    // float32 (the original's tf.linalg.expm) | float64
  std::string ce = "logits";       // logits (what Keras computes) | clipped
  bool sign_constraint = false;
};

struct NullOptions {
  int nulls = 1000;
  uint64_t null_seed = 0;
  double clustering = std::numeric_limits<double>::quiet_NaN();  // both given = constants
  double efficiency = std::numeric_limits<double>::quiet_NaN();
  std::string cache;  // folder of cached null constants; empty = none
};

// What every training command takes: the field, the schedule and the small-world null.
struct RunOptions {
  FieldOptions field;
  TrainOptions train;
  NullOptions null;
};

void add_field_options(CLI::App* c, FieldOptions& o);
void add_train_options(CLI::App* c, TrainOptions& o);
void add_null_options(CLI::App* c, NullOptions& o, bool with_cache);
// The three above (the null with its cache folder), for `micron train` and `micron sweep`.
void add_run_options(CLI::App* c, RunOptions& o);

microns::Field load_field_checked(const FieldOptions& o);
// A TrainConfig from the options (validated: positive sizes, finite rates).
microns::TrainConfig make_config(const TrainOptions& o, int task, const std::string& key,
                                 int sim);
// One line naming every setting that changes a run's result (stored in each run record).
std::string settings_fingerprint(const std::string& field_name, const TrainOptions& o,
                                 const graph::SmallWorldNull& null);
// "name = value" lines for config.txt (the original's names where it has them).
std::vector<std::string> config_lines(const microns::Field& f, const TrainOptions& o,
                                      const graph::SmallWorldNull& null, int sims);

// The null constants: given (--null-clustering and --null-efficiency), or computed (cached
// in o.cache when set).
graph::SmallWorldNull resolve_null(int N, const NullOptions& o);

// The sweep record of one finished training without its graph metrics (NaN, counts -1).
microns::RunRecord record_without_metrics(const microns::RunSpec& spec, const std::string& settings,
                                          const microns::TrainResult& res, double train_seconds);
// The sweep record of one finished training (graph metrics computed here).
microns::RunRecord make_record(const microns::RunSpec& spec, const std::string& settings,
                               const microns::TrainResult& res,
                               const graph::SmallWorldNull& null, double train_seconds);

// `rsnn micron sweep` (micron_sweep.cpp), added under the `micron` command.
void add_sweep_command(CLI::App* micron);

}  // namespace rsnn::cli::micron
