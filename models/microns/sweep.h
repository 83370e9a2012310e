// The MICrONS sweep's bookkeeping: which runs there are (task x simulation x variant, in the
// original's training order), which of them a shard K/N owns, which are already done (one
// result file per run, written atomically, so a killed sweep resumes where it stopped), and
// the summary files in the original notebook's layout:
//
//   OUT/config.txt                       the settings, one "name = value" per line
//   OUT/metrics.csv, OUT/metrics_SD.csv  Task,Metric,<variant keys>: mean / SD over simulations
//   OUT/summary_ci.csv                   task,metric,variant,n_total,n,mean,sd,sem,t975,ci_low,ci_high
//   OUT/Task<t>/<Metric>_raw.csv         simulation,<variant keys>: one row per simulation
//   OUT/runs/Task<t>/sim<SSS>_v<II>_<variant>.json   one finished run each (this file's format)
//
// Variant keys in file names spell '*' as "s" and '!' as "p" ("W*D*C" -> "WsDsC").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace rsnn::microns {

// The eight per-run values the original saves, in its order.
const std::vector<std::string>& sweep_metric_names();

struct RunSpec {
  int task = 1;             // 1 maze, 2 go/no-go, 3 perceptual decision making
  int variant_index = 0;    // position in the canonical 11-variant order
  std::string variant;      // key, e.g. "W*D*C"
  int sim = 0;              // simulation index (selects the bio matrix)
};

struct SweepPlan {
  std::vector<int> tasks;             // ascending, each 1..3
  std::vector<std::string> variants;  // canonical order
  int sims = 20;
};

// "all" or a comma list of 1|2|3|maze|go_nogo|pdm; ascending, duplicates are an error.
std::vector<int> parse_task_list(const std::string& s);
// "all" or a comma list of variant keys; returned in canonical order; unknown or repeated
// keys are an error naming the valid keys.
std::vector<std::string> parse_variant_list(const std::string& s);

struct Shard {
  int k = 0, n = 1;
};
// "K/N" with 0 <= K < N; anything else throws naming --shard.
Shard parse_shard(const std::string& s);

// Every run of the plan: task-major, then simulation, then variant (the original's order).
std::vector<RunSpec> run_list(const SweepPlan& plan);
// Runs at positions K, K+N, K+2N, ... of `runs`.
std::vector<RunSpec> shard_runs(const std::vector<RunSpec>& runs, Shard shard);

// A file-name-safe spelling of a variant key ('*' -> 's', '!' -> 'p').
std::string variant_file_token(const std::string& key);

struct EpochRow {
  int epoch = 0;
  double loss = 0, accuracy = 0, val_loss = 0, val_accuracy = 0;
};

// One finished run: the eight saved values plus the other graph quantities and timings.
struct RunRecord {
  RunSpec spec;
  std::string settings;  // settings fingerprint (see SweepSettings::fingerprint)
  bool finite = true;
  double accuracy = 0, loss = 0, val_accuracy = 0, val_loss = 0;
  double modularity = 0, smallworld = 0, assortativity = 0, entropy = 0;
  double threshold_q90 = 0, clustering_mean = 0, global_efficiency = 0;
  int64_t n_directed_above = 0, n_undirected_edges = 0, n_communities = 0;
  double train_seconds = 0, metrics_seconds = 0;
  std::vector<EpochRow> epochs;

  // The value of one of sweep_metric_names().
  double metric(const std::string& name) const;
};

// JSON text of a record (non-finite numbers as null) and its inverse. parse throws
// rsnn::Error naming `where` when a field is missing or malformed.
std::string run_record_json(const RunRecord& r);
RunRecord parse_run_record(const std::string& text, const std::string& where);

// OUT/runs/Task<t>/sim<SSS>_v<II>_<token>.json
std::string run_file_path(const std::string& out, const RunSpec& spec);
// Writes the record atomically (creating the folders).
void write_run_record(const std::string& out, const RunRecord& r);
// The record of `spec` if its file exists; throws when it exists but is unreadable or was
// made with other settings (a different fingerprint) than `settings`.
bool load_run_record(const std::string& out, const RunSpec& spec, const std::string& settings,
                     RunRecord* r);

// Every record present under OUT/runs for the runs of `plan` (missing runs are skipped).
std::vector<RunRecord> collect_records(const std::string& out, const SweepPlan& plan,
                                       const std::string& settings);

// The summary files listed at the top, from whatever records exist. `config_lines` are
// written to config.txt as given. Cells of missing or diverged runs are empty in the raw
// CSVs; metrics.csv follows the original (mean over all runs present, NaN if one is NaN).
void write_summaries(const std::string& out, const SweepPlan& plan,
                     const std::vector<RunRecord>& records,
                     const std::vector<std::string>& config_lines);

// Shortest text that reads back to the same double ("nan"/"inf" for those).
std::string format_double(double x);

}  // namespace rsnn::microns
