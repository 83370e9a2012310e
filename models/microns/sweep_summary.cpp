// The sweep's summary files in the original notebook's layout (see sweep.h), recomputed from
// the per-run records each time, so partial sweeps and shards summarize what exists.
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "models/microns/stats.h"
#include "models/microns/sweep.h"
#include "runtime/atomic_file.h"
#include "runtime/error.h"

namespace fs = std::filesystem;

namespace rsnn::microns {
namespace {

// Raw CSV cells: pandas writes NaN as an empty cell, which is also what a missing run gets.
std::string cell(double x) { return std::isfinite(x) ? format_double(x) : ""; }

// Values of one (task, metric, variant) over the simulations that have a record.
using Column = std::map<int, double>;  // sim -> value

struct Table {
  // task -> variant -> metric -> sim -> value
  std::map<int, std::map<std::string, std::map<std::string, Column>>> v;
};

std::vector<double> values_of(const Column& c) {
  std::vector<double> out;
  for (const auto& [sim, x] : c) out.push_back(x);
  return out;
}

void make_dir(const std::string& d) {
  std::error_code ec;
  fs::create_directories(d, ec);
  RSNN_CHECK(!ec, d, ": cannot create: ", ec.message());
}

void write_raw_csvs(const std::string& out, const SweepPlan& plan, const Table& tab) {
  for (int t : plan.tasks) {
    const std::string dir = out + "/Task" + std::to_string(t);
    make_dir(dir);
    for (const std::string& m : sweep_metric_names()) {
      std::ostringstream os;
      os << "simulation";
      for (const auto& key : plan.variants) os << "," << key;
      os << "\n";
      for (int s = 0; s < plan.sims; ++s) {
        os << s;
        for (const auto& key : plan.variants) {
          os << ",";
          auto it_t = tab.v.find(t);
          if (it_t == tab.v.end()) continue;
          auto it_v = it_t->second.find(key);
          if (it_v == it_t->second.end()) continue;
          auto it_m = it_v->second.find(m);
          if (it_m == it_v->second.end()) continue;
          auto it_s = it_m->second.find(s);
          if (it_s != it_m->second.end()) os << cell(it_s->second);
        }
        os << "\n";
      }
      write_text_atomic(dir + "/" + m + "_raw.csv", os.str());
    }
  }
}

const Column& column(const Table& tab, int t, const std::string& key, const std::string& m) {
  static const Column empty;
  auto it_t = tab.v.find(t);
  if (it_t == tab.v.end()) return empty;
  auto it_v = it_t->second.find(key);
  if (it_v == it_t->second.end()) return empty;
  auto it_m = it_v->second.find(m);
  return it_m == it_v->second.end() ? empty : it_m->second;
}

void write_aggregates(const std::string& out, const SweepPlan& plan, const Table& tab) {
  std::ostringstream mean_os, sd_os, ci_os;
  mean_os << "Task,Metric";
  sd_os << "Task,Metric";
  for (const auto& key : plan.variants) {
    mean_os << "," << key;
    sd_os << "," << key;
  }
  mean_os << "\n";
  sd_os << "\n";
  ci_os << "task,metric,variant,n_total,n,mean,sd,sem,t975,ci_low,ci_high\n";
  for (int t : plan.tasks)
    for (const std::string& m : sweep_metric_names()) {
      mean_os << "Task" << t << "," << m;
      sd_os << "Task" << t << "," << m << "_SD";
      for (const auto& key : plan.variants) {
        const std::vector<double> v = values_of(column(tab, t, key, m));
        mean_os << "," << (v.empty() ? "" : format_double(mean_all(v)));
        sd_os << "," << (v.empty() ? "" : format_double(sd_notebook(v)));
        const Summary s = summarize(v);
        ci_os << "Task" << t << "," << m << "," << key << "," << s.n_total << "," << s.n << ","
              << cell(s.mean) << "," << cell(s.sd) << "," << cell(s.sem) << "," << cell(s.t975)
              << "," << cell(s.ci_low) << "," << cell(s.ci_high) << "\n";
      }
      mean_os << "\n";
      sd_os << "\n";
    }
  write_text_atomic(out + "/metrics.csv", mean_os.str());
  write_text_atomic(out + "/metrics_SD.csv", sd_os.str());
  write_text_atomic(out + "/summary_ci.csv", ci_os.str());
}

}  // namespace

void write_summaries(const std::string& out, const SweepPlan& plan,
                     const std::vector<RunRecord>& records,
                     const std::vector<std::string>& config_lines) {
  make_dir(out);
  Table tab;
  for (const RunRecord& r : records) {
    RSNN_CHECK(r.spec.sim >= 0 && r.spec.sim < plan.sims, "sweep: record of sim ", r.spec.sim,
               " is outside --sims ", plan.sims);
    for (const std::string& m : sweep_metric_names())
      tab.v[r.spec.task][r.spec.variant][m][r.spec.sim] = r.metric(m);
  }
  std::ostringstream cfg;
  for (const auto& line : config_lines) cfg << line << "\n";
  write_text_atomic(out + "/config.txt", cfg.str());
  write_raw_csvs(out, plan, tab);
  write_aggregates(out, plan, tab);
}

}  // namespace rsnn::microns
