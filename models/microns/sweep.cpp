#include "models/microns/sweep.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "models/microns/tasks.h"
#include "models/microns/variants.h"
#include "runtime/atomic_file.h"
#include "runtime/error.h"

namespace fs = std::filesystem;

namespace rsnn::microns {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {  // "a,,b" and "a," keep their empty entries so that they can be refused
    const size_t comma = s.find(',', start);
    const std::string cur = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto b = cur.find_first_not_of(" \t");
    const auto e = cur.find_last_not_of(" \t");
    out.push_back(b == std::string::npos ? "" : cur.substr(b, e - b + 1));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

int variant_position(const std::string& key) {
  const auto& all = variants();
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i].key == key) return static_cast<int>(i);
  variant(key);  // throws the one-line error listing the valid keys
  return -1;
}

std::string read_file(const std::string& path) {
  std::ifstream is(path, std::ios::binary);
  RSNN_CHECK(is.good(), path, ": cannot open");
  std::ostringstream ss;
  ss << is.rdbuf();
  return ss.str();
}

}  // namespace

const std::vector<std::string>& sweep_metric_names() {
  static const std::vector<std::string> names = {
      "Accuracy", "Loss", "Validation_Accuracy", "Validation_Loss",
      "Modularity", "SmallWorldness", "Assortativity", "Entropy"};
  return names;
}

std::vector<int> parse_task_list(const std::string& s) {
  if (s == "all") return {1, 2, 3};
  std::vector<int> tasks;
  for (const std::string& item : split_commas(s)) {
    RSNN_CHECK(!item.empty(), "--tasks: empty entry in '", s, "'");
    const int t = static_cast<int>(parse_task(item));
    RSNN_CHECK(std::find(tasks.begin(), tasks.end(), t) == tasks.end(), "--tasks: task ", t,
               " given twice in '", s, "'");
    tasks.push_back(t);
  }
  RSNN_CHECK(!tasks.empty(), "--tasks: no task given");
  std::sort(tasks.begin(), tasks.end());
  return tasks;
}

std::vector<std::string> parse_variant_list(const std::string& s) {
  const auto& all = variants();
  if (s == "all") {
    std::vector<std::string> keys;
    for (const auto& v : all) keys.push_back(v.key);
    return keys;
  }
  std::vector<int> pos;
  for (const std::string& item : split_commas(s)) {
    RSNN_CHECK(!item.empty(), "--variants: empty entry in '", s, "'");
    const int p = variant_position(item);
    RSNN_CHECK(std::find(pos.begin(), pos.end(), p) == pos.end(), "--variants: '", item,
               "' given twice");
    pos.push_back(p);
  }
  RSNN_CHECK(!pos.empty(), "--variants: no variant given");
  std::sort(pos.begin(), pos.end());
  std::vector<std::string> keys;
  for (int p : pos) keys.push_back(all[p].key);
  return keys;
}

Shard parse_shard(const std::string& s) {
  const auto slash = s.find('/');
  RSNN_CHECK(slash != std::string::npos, "--shard: expected K/N (e.g. 0/4), got '", s, "'");
  Shard sh;
  const std::string a = s.substr(0, slash), b = s.substr(slash + 1);
  auto parse_int = [&](const std::string& t, int* v) {
    const auto r = std::from_chars(t.data(), t.data() + t.size(), *v);
    RSNN_CHECK(!t.empty() && r.ec == std::errc() && r.ptr == t.data() + t.size(),
               "--shard: expected K/N with integers, got '", s, "'");
  };
  parse_int(a, &sh.k);
  parse_int(b, &sh.n);
  RSNN_CHECK(sh.n >= 1, "--shard: N must be >= 1, got '", s, "'");
  RSNN_CHECK(sh.k >= 0 && sh.k < sh.n, "--shard: K must be in [0, N), got '", s, "'");
  return sh;
}

std::vector<RunSpec> run_list(const SweepPlan& plan) {
  RSNN_CHECK(plan.sims >= 1, "--sims must be >= 1 (got ", plan.sims, ")");
  RSNN_CHECK(!plan.tasks.empty() && !plan.variants.empty(), "sweep: no tasks or no variants");
  std::vector<RunSpec> runs;
  for (int t : plan.tasks)
    for (int s = 0; s < plan.sims; ++s)
      for (const auto& key : plan.variants) {
        RunSpec r;
        r.task = t;
        r.variant = key;
        r.variant_index = variant_position(key);
        r.sim = s;
        runs.push_back(r);
      }
  return runs;
}

std::vector<RunSpec> shard_runs(const std::vector<RunSpec>& runs, Shard shard) {
  RSNN_CHECK(shard.n >= 1 && shard.k >= 0 && shard.k < shard.n, "shard ", shard.k, "/", shard.n,
             " is invalid");
  std::vector<RunSpec> out;
  for (size_t i = shard.k; i < runs.size(); i += shard.n) out.push_back(runs[i]);
  return out;
}

std::string variant_file_token(const std::string& key) {
  std::string t = key;
  for (char& c : t) {
    if (c == '*') c = 's';
    else if (c == '!') c = 'p';
  }
  return t;
}

double RunRecord::metric(const std::string& name) const {
  if (name == "Accuracy") return accuracy;
  if (name == "Loss") return loss;
  if (name == "Validation_Accuracy") return val_accuracy;
  if (name == "Validation_Loss") return val_loss;
  if (name == "Modularity") return modularity;
  if (name == "SmallWorldness") return smallworld;
  if (name == "Assortativity") return assortativity;
  if (name == "Entropy") return entropy;
  RSNN_FAIL("unknown sweep metric '", name, "'");
}

std::string format_double(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

std::string run_file_path(const std::string& out, const RunSpec& spec) {
  char name[64];
  std::snprintf(name, sizeof name, "sim%03d_v%02d_", spec.sim, spec.variant_index);
  return out + "/runs/Task" + std::to_string(spec.task) + "/" + name +
         variant_file_token(spec.variant) + ".json";
}

void write_run_record(const std::string& out, const RunRecord& r) {
  const std::string path = run_file_path(out, r.spec);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  RSNN_CHECK(!ec, fs::path(path).parent_path().string(), ": cannot create: ", ec.message());
  write_text_atomic(path, run_record_json(r));
}

bool load_run_record(const std::string& out, const RunSpec& spec, const std::string& settings,
                     RunRecord* r) {
  const std::string path = run_file_path(out, spec);
  if (!fs::exists(path)) return false;
  RunRecord rec = parse_run_record(read_file(path), path);
  RSNN_CHECK(rec.spec.task == spec.task && rec.spec.variant == spec.variant &&
                 rec.spec.sim == spec.sim,
             path, ": holds task ", rec.spec.task, " variant ", rec.spec.variant, " sim ",
             rec.spec.sim, ", not the run its name says");
  RSNN_CHECK(rec.settings == settings, path,
             ": was made with other settings (", rec.settings, ") than this sweep (", settings,
             "); use another --out or the same settings");
  if (r) *r = std::move(rec);
  return true;
}

std::vector<RunRecord> collect_records(const std::string& out, const SweepPlan& plan,
                                       const std::string& settings) {
  std::vector<RunRecord> recs;
  for (const RunSpec& spec : run_list(plan)) {
    RunRecord r;
    if (load_run_record(out, spec, settings, &r)) recs.push_back(std::move(r));
  }
  return recs;
}

}  // namespace rsnn::microns
