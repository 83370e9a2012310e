// The MICrONS sweep: t quantiles and intervals, the run list and its shards, run records,
// resume, the original's summary layout, and the `rsnn micron` commands end to end.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "models/microns/stats.h"
#include "models/microns/sweep.h"
#include "runtime/error.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::microns;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream is(path);
  std::ostringstream ss;
  ss << is.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream is(s);
  for (std::string l; std::getline(is, l);) out.push_back(l);
  return out;
}

RunRecord fake_record(const RunSpec& spec, const std::string& settings, double acc) {
  RunRecord r;
  r.spec = spec;
  r.settings = settings;
  r.accuracy = acc;
  r.loss = 1 - acc;
  r.val_accuracy = acc - 0.01;
  r.val_loss = 2 - acc;
  r.modularity = 0.1 * spec.sim;
  r.smallworld = 1.0 + spec.task;
  r.assortativity = -0.05;
  r.entropy = 5.5;
  r.epochs = {{1, 1.5, 0.4, 1.4, 0.45}, {2, 0.9, 0.7, 1.0, 0.69}};
  return r;
}

}  // namespace

TEST(MicronsStats, StudentTQuantileMatchesKnownValues) {
  EXPECT_NEAR(student_t_quantile(0.975, 19), 2.093024054, 1e-8);
  EXPECT_NEAR(student_t_quantile(0.975, 4), 2.776445105, 1e-8);
  EXPECT_NEAR(student_t_quantile(0.975, 1), 12.70620474, 1e-7);  // Cauchy: tan(0.475 pi)
  EXPECT_NEAR(student_t_quantile(0.95, 10), 1.812461123, 1e-8);
  EXPECT_NEAR(student_t_quantile(0.025, 19), -2.093024054, 1e-8);
  EXPECT_NEAR(student_t_quantile(0.975, 1e6), 1.959966, 1e-5);  // tends to the normal
  EXPECT_DOUBLE_EQ(student_t_quantile(0.5, 7), 0.0);
  for (double df : {1.0, 2.5, 19.0, 100.0})
    for (double p : {0.6, 0.9, 0.975, 0.999})
      EXPECT_NEAR(student_t_cdf(student_t_quantile(p, df), df), p, 1e-12) << df << " " << p;
  EXPECT_THROW(student_t_quantile(1.0, 3), Error);
  EXPECT_THROW(student_t_quantile(0.5, 0), Error);
  EXPECT_NEAR(incomplete_beta(2, 3, 0.4), 0.5248, 1e-12);  // 1 - (1-x)^3 (1+3x) at 0.4
}

TEST(MicronsStats, SummaryIsTheTIntervalOverFiniteValues) {
  // The original's W*D*C task-1 accuracies (spec §7): mean 0.917 (0.853, 0.981).
  const std::vector<double> acc = {1, 1, .6945, .7625, 1, 1, 1, 1, .7303, .6320,
                                   .6434, 1, 1, 1, 1, .9344, 1, 1, .9385, 1};
  const Summary s = summarize(acc);
  EXPECT_EQ(s.n, 20);
  EXPECT_NEAR(s.mean, 0.917, 5e-4);
  EXPECT_NEAR(s.ci_low, 0.853, 5e-4);
  EXPECT_NEAR(s.ci_high, 0.981, 5e-4);
  EXPECT_NEAR(s.t975, 2.093024054, 1e-8);
  const Summary h = summarize({1.0, NAN, 3.0});
  EXPECT_EQ(h.n_total, 3);
  EXPECT_EQ(h.n, 2);
  EXPECT_DOUBLE_EQ(h.mean, 2.0);
  EXPECT_DOUBLE_EQ(h.sd, std::sqrt(2.0));
  EXPECT_NEAR(h.ci_high - h.mean, 12.70620474 * 1.0, 1e-7);
  EXPECT_TRUE(std::isnan(summarize({4.0}).ci_low));
  EXPECT_TRUE(std::isnan(mean_all({1.0, NAN})));   // statistics.mean propagates NaN
  EXPECT_DOUBLE_EQ(sd_notebook({1.0, NAN, 3.0}), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(sd_notebook({1.0, NAN}), 0.0);  // fewer than two: 0.0 as the notebook
}

TEST(MicronsSweep, ParsesListsAndShards) {
  EXPECT_EQ(parse_task_list("all"), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(parse_task_list("pdm,1"), (std::vector<int>{1, 3}));
  EXPECT_THROW(parse_task_list("1,1"), Error);
  EXPECT_THROW(parse_task_list("4"), Error);
  EXPECT_THROW(parse_task_list("1,"), Error);
  const auto v = parse_variant_list("WD,W*D*C");
  EXPECT_EQ(v, (std::vector<std::string>{"W*D*C", "WD"}));  // canonical order
  EXPECT_EQ(parse_variant_list("all").size(), 11u);
  EXPECT_THROW(parse_variant_list("WX"), Error);
  EXPECT_THROW(parse_variant_list("WD,WD"), Error);
  EXPECT_EQ(parse_shard("2/5").k, 2);
  EXPECT_EQ(parse_shard("2/5").n, 5);
  for (const char* bad : {"5/5", "-1/3", "1/0", "x/2", "1", "1/2/3", "1/"})
    EXPECT_THROW(parse_shard(bad), Error) << bad;
  EXPECT_EQ(variant_file_token("W!D*C*"), "WpDsCs");
}

TEST(MicronsSweep, ShardsCoverEveryRunExactlyOnce) {
  SweepPlan plan{{1, 2, 3}, parse_variant_list("all"), 4};
  const auto runs = run_list(plan);
  ASSERT_EQ(runs.size(), 3u * 4u * 11u);
  // The original's order: task, then simulation, then variant.
  EXPECT_EQ(runs[0].variant, "W*D*C");
  EXPECT_EQ(runs[1].variant, "WD*C");
  EXPECT_EQ(runs[11].sim, 1);
  EXPECT_EQ(runs[44].task, 2);
  for (int n : {1, 2, 3, 7, 200}) {
    std::multiset<std::string> seen;
    for (int k = 0; k < n; ++k)
      for (const RunSpec& r : shard_runs(runs, {k, n}))
        seen.insert(std::to_string(r.task) + "/" + std::to_string(r.sim) + "/" + r.variant);
    EXPECT_EQ(seen.size(), runs.size()) << n;
    for (const RunSpec& r : runs)
      EXPECT_EQ(seen.count(std::to_string(r.task) + "/" + std::to_string(r.sim) + "/" + r.variant), 1u);
  }
  EXPECT_THROW(run_list({{1}, {"WD"}, 0}), Error);
}

TEST(MicronsSweep, RecordsRoundTripAndResume) {
  const test::TempDir tmp("rsnn_msweep_records");
  const std::string& out = tmp.dir();
  SweepPlan plan{{1}, {"W*D*C", "WD"}, 3};
  const auto runs = run_list(plan);
  RunRecord r = fake_record(runs[1], "cfg-A", 0.625);
  r.modularity = NAN;  // non-finite values travel as null
  r.n_communities = 4;
  write_run_record(out, r);
  EXPECT_TRUE(fs::exists(out + "/runs/Task1/sim000_v04_WD.json"));
  RunRecord back;
  ASSERT_TRUE(load_run_record(out, runs[1], "cfg-A", &back));
  EXPECT_EQ(back.spec.variant, "WD");
  EXPECT_DOUBLE_EQ(back.accuracy, 0.625);
  EXPECT_TRUE(std::isnan(back.modularity));
  EXPECT_EQ(back.n_communities, 4);
  ASSERT_EQ(back.epochs.size(), 2u);
  EXPECT_DOUBLE_EQ(back.epochs[1].val_accuracy, 0.69);
  EXPECT_FALSE(load_run_record(out, runs[0], "cfg-A", nullptr));    // not done: trained again
  EXPECT_THROW(load_run_record(out, runs[1], "cfg-B", nullptr), Error);  // other settings
  std::ofstream(run_file_path(out, runs[2])) << "{\"task\": 1, ";      // truncated by hand
  EXPECT_THROW(load_run_record(out, runs[2], "cfg-A", nullptr), Error);
  EXPECT_THROW(parse_run_record("{\"task\": 1}", "x.json"), Error);
}

TEST(MicronsSweep, SummariesFollowTheOriginalLayout) {
  const test::TempDir tmp("rsnn_msweep_summary");
  const std::string& out = tmp.dir();
  SweepPlan plan{{1, 2}, {"W*D*C", "WD"}, 3};
  std::vector<RunRecord> recs;
  for (const RunSpec& s : run_list(plan)) {
    if (s.task == 2 && s.sim == 2 && s.variant == "WD") continue;  // a missing run
    recs.push_back(fake_record(s, "cfg", s.variant == "WD" ? 0.5 + 0.125 * s.sim : 0.9));
  }
  write_summaries(out, plan, recs, {"session_scan_field = 6_6_2", "simulations = 3"});
  const auto acc = lines_of(slurp(out + "/Task1/Accuracy_raw.csv"));
  ASSERT_EQ(acc.size(), 4u);
  EXPECT_EQ(acc[0], "simulation,W*D*C,WD");
  EXPECT_EQ(acc[1], "0,0.9,0.5");
  EXPECT_EQ(acc[3], "2,0.9,0.75");
  const auto acc2 = lines_of(slurp(out + "/Task2/Accuracy_raw.csv"));
  EXPECT_EQ(acc2[3], "2,0.9,");  // the missing run is an empty cell
  for (const auto& m : sweep_metric_names()) EXPECT_TRUE(fs::exists(out + "/Task2/" + m + "_raw.csv")) << m;
  const auto means = lines_of(slurp(out + "/metrics.csv"));
  EXPECT_EQ(means[0], "Task,Metric,W*D*C,WD");
  EXPECT_EQ(means[1], "Task1,Accuracy,0.9,0.625");
  EXPECT_EQ(means.size(), 1u + 2u * 8u);
  const auto sds = lines_of(slurp(out + "/metrics_SD.csv"));
  EXPECT_EQ(sds[1].rfind("Task1,Accuracy_SD,0,0.125", 0), 0u) << sds[1];
  const auto ci = lines_of(slurp(out + "/summary_ci.csv"));
  EXPECT_EQ(ci[0], "task,metric,variant,n_total,n,mean,sd,sem,t975,ci_low,ci_high");
  // WD task 1: 0.5, 0.625, 0.75 -> sd 0.125, t_{0.975,2} = 4.302652730
  std::istringstream row(ci[2]);
  std::vector<std::string> f;
  for (std::string x; std::getline(row, x, ',');) f.push_back(x);
  ASSERT_EQ(f.size(), 11u);
  EXPECT_EQ(f[2], "WD");
  EXPECT_NEAR(std::stod(f[9]), 0.625 - 4.302652730 * 0.125 / std::sqrt(3.0), 1e-8);
  EXPECT_NE(slurp(out + "/config.txt").find("simulations = 3"), std::string::npos);
}

TEST(MicronsSweep, CompareScriptJudgesEachCellAgainstThePublishedTable) {
  const test::TempDir tmp("rsnn_msweep_compare");
  const std::string& out = tmp.dir();
  const std::string script = std::string(RSNN_SOURCE_DIR) + "/tools/microns_compare.py";
  if (std::system("/usr/bin/python3 -c 'import csv' 2>/dev/null") != 0)
    GTEST_SKIP() << "no /usr/bin/python3";
  const std::string missing = "/usr/bin/python3 " + script + " " + out + " > " + out + "/err.txt 2>&1";
  EXPECT_NE(std::system(missing.c_str()), 0);
  EXPECT_NE(slurp(out + "/err.txt").find("summary_ci.csv: cannot open"), std::string::npos);
  SweepPlan plan{{1, 2}, {"W*D*C", "WD"}, 3};
  std::vector<RunRecord> recs;
  for (const RunSpec& s : run_list(plan)) {
    if (s.task == 2 && s.sim == 2 && s.variant == "WD") continue;
    recs.push_back(fake_record(s, "cfg", s.variant == "WD" ? 0.5 + 0.125 * s.sim : 0.9));
  }
  write_summaries(out, plan, recs, {"simulations = 3"});
  const std::string cmd = "/usr/bin/python3 " + script + " " + out + " > " + out + "/cmp.md 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << slurp(out + "/cmp.md");
  const std::string md = slurp(out + "/cmp.md");
  // 0.9 lies in the published CI of W*D*C task 1 (0.853, 0.981); WD's 0.625 at the lower end of
  // its (0.625, 0.630); WD task 2 (0.5, 0.625) averages 0.5625, 0.0515 above 0.511.
  EXPECT_NE(md.find("| W*D*C | 1 | 3 | 0.900 (0.900, 0.900), 0.000 | 0.917 (0.853, 0.981) | inside CI |"),
            std::string::npos) << md;
  EXPECT_NE(md.find("| WD | 1 | 3 | 0.625 (0.314, 0.936), 0.125 | 0.628 (0.625, 0.630) | inside CI |"),
            std::string::npos) << md;
  EXPECT_NE(md.find("| WD | 2 | 2 | 0.562 ("), std::string::npos) << md;
  EXPECT_NE(md.find("| 0.511 (0.510, 0.512) | off (+0.051) |"), std::string::npos) << md;
  // Modularity 0, 0.1, 0.2: WD's interval (-0.148, 0.348) overlaps the published one; W*D*C's
  // does not reach 0.439. Small-worldness 2 is 1.039 above WD's 0.961.
  EXPECT_NE(md.find("| 0.089 (0.088, 0.090) | CIs overlap |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 0.466 (0.439, 0.493) | off (-0.366) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| 0.961 (0.958, 0.964) | off (+1.039) |"), std::string::npos) << md;
  EXPECT_NE(md.find("Accuracy: 3 of 4 cells pass (task 1: 2 of 2, task 2: 1 of 2)"),
            std::string::npos) << md;
}

// ---- the `rsnn micron` commands end to end ----
namespace {

using test::CmdResult;
using test::run_rsnn;

std::string field_dir() { return std::string(RSNN_SHARED_DATA_DIR) + "/microns/6_6_2"; }
std::string field_args() {
  const std::string d = std::string(RSNN_SHARED_DATA_DIR) + "/microns";
  return "--field " + d + "/6_6_2 --positions " + d + "/6_6_2_derived/positions_plain_int64_Nx3.npy";
}
// The spec's null constants for N = 312, as expected.json used them.
const char* kNull = " --null-clustering 0.194422 --null-efficiency 0.590016";

// The number after "key": in a JSON text (first occurrence after `from`).
double json_value(const std::string& text, const std::string& key, size_t from = 0) {
  const size_t k = text.find("\"" + key + "\"", from);
  if (k == std::string::npos) return NAN;
  return std::stod(text.substr(text.find(':', k) + 1));
}

TEST(MicronsCli, SweepTestsAfterTheLastEpochUnlessAsked) {
  if (!fs::exists(field_dir())) GTEST_SKIP() << "MICrONS shared data absent";
  const test::TempDir tmp("rsnn_msweep_cli_eval");
  const std::string& out = tmp.dir();
  const std::string args = "micron sweep " + field_args() + kNull +
                           " --variants WDC --tasks 2 --sims 1 --epochs 2 --batches 1"
                           " --batch 8 --n-test 16 --threads 1 --plot off --out ";
  const CmdResult a = run_rsnn(args + out + "/last");
  ASSERT_EQ(a.rc, 0) << a.out;
  const CmdResult b = run_rsnn(args + out + "/each --eval-each-epoch");
  ASSERT_EQ(b.rc, 0) << b.out;
  const std::string name = "/runs/Task2/sim000_v02_WDC.json";
  const RunRecord last = parse_run_record(slurp(out + "/last" + name), "last");
  const RunRecord each = parse_run_record(slurp(out + "/each" + name), "each");
  ASSERT_EQ(last.epochs.size(), 2u);
  ASSERT_EQ(each.epochs.size(), 2u);
  EXPECT_TRUE(std::isnan(last.epochs[0].val_loss));
  EXPECT_FALSE(std::isnan(each.epochs[0].val_loss));
  for (const auto& m : sweep_metric_names())  // the saved results: the same bits
    EXPECT_EQ(last.metric(m), each.metric(m)) << m;
}

}  // namespace

TEST(MicronsCli, MetricsPrintTheExpectedValues) {
  const std::string tv = std::string(RSNN_SHARED_DATA_DIR) + "/microns/testvectors";
  if (!fs::exists(field_dir()) || !fs::exists(tv + "/expected.json"))
    GTEST_SKIP() << "MICrONS shared data absent under " << RSNN_SHARED_DATA_DIR;
  const std::string expected = slurp(tv + "/expected.json");
  // our key -> expected.json key
  const std::vector<std::pair<std::string, std::string>> keys = {
      {"W_L1_sum", "W_L1_sum(no lambda)"}, {"WD_grid", "WD_grid"},
      {"WD_star_coded", "WD_starcoded"}, {"WDC_grid", "WDC_grid"},
      {"WDC_star_coded", "WDC_starcoded"}, {"EMD_raw", "EMD_raw"},
      {"WDC_EMD_grid", "WDC_EMD_grid"}, {"WDC_EMD_star_coded", "WDC_EMD_starcoded"},
      {"entropy_bits", "entropy_bits"}, {"threshold_q90", "threshold_q90"},
      {"n_directed_above", "n_directed_above"}, {"n_undirected_edges", "n_undirected_edges"},
      {"modularity", "modularity_CNM"}, {"n_communities", "n_communities"},
      {"assortativity", "assortativity"}, {"clustering_mean", "clustering_mean"},
      {"global_efficiency", "global_efficiency"},
      {"smallworld", "smallworld_using_null(0.194422,0.590016)"}};
  for (const std::string m : {"W_bio_seed0", "W_orth_seed0"}) {
    const CmdResult r = run_rsnn("micron metrics " + field_args() + " --weights " + tv + "/" + m +
                                 ".npy" + kNull);
    ASSERT_EQ(r.rc, 0) << r.out;
    const size_t at = expected.find("\"" + m + "\"");
    for (const auto& [ours, theirs] : keys) {
      const double want = json_value(expected, theirs, at);
      const double got = json_value(r.out, ours);
      ASSERT_FALSE(std::isnan(want)) << theirs;
      EXPECT_NEAR(got, want, 1e-6 * std::max(1.0, std::fabs(want))) << m << " " << ours;
    }
  }
}

TEST(MicronsCli, BadFlagsGetOneLineErrors) {
  if (!fs::exists(field_dir())) GTEST_SKIP() << "MICrONS shared data absent";
  const test::TempDir tmp("rsnn_msweep_cli_errors");
  const std::string& out = tmp.dir();
  const std::string base = "micron sweep " + field_args() + kNull + " --out " + out + " --plot off";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {" --variants WX", "WX"}, {" --tasks 4", "4"}, {" --shard 3/3", "--shard"},
      {" --shard a/b", "--shard"}, {" --sims 0", "--sims"}, {" --epochs 0", "--epochs"},
      {" --star sideways", "--star"}, {" --bio corr", "--bio"}, {" --plot maybe", "--plot"},
      {" --expm double", "--expm"}};
  for (const auto& [flag, word] : cases) {
    const CmdResult r = run_rsnn(base + flag);
    EXPECT_NE(r.rc, 0) << flag;
    EXPECT_NE(r.out.find("error"), std::string::npos) << flag << ": " << r.out;
    EXPECT_NE(r.out.find(word), std::string::npos) << flag << ": " << r.out;
    EXPECT_LE(std::count(r.out.begin(), r.out.end(), '\n'), 2) << flag << ": " << r.out;
  }
  EXPECT_FALSE(fs::exists(out + "/runs")) << "nothing is trained on bad flags";
  const CmdResult w = run_rsnn("micron metrics " + field_args() + " --weights " + out + "/none.npy" + kNull);
  EXPECT_NE(w.rc, 0);
  EXPECT_NE(w.out.find("none.npy"), std::string::npos) << w.out;
}

TEST(MicronsCli, TinySweepWritesTheLayoutAndResumes) {
  if (!fs::exists(field_dir())) GTEST_SKIP() << "MICrONS shared data absent";
  const test::TempDir tmp("rsnn_msweep_cli_sweep");
  const std::string& out = tmp.dir();
  const std::string args = "micron sweep " + field_args() + kNull +
                           " --variants 'WD,W*D*C' --tasks 2 --sims 2 --epochs 1 --batches 2"
                           " --batch 16 --n-test 32 --threads 2 --plot off --out " + out;
  // Shard 1/2 first: it trains runs 1 and 3 of the four (task 2: sim 0 WD, sim 1 WD).
  const CmdResult a = run_rsnn(args + " --shard 1/2");
  ASSERT_EQ(a.rc, 0) << a.out;
  EXPECT_NE(a.out.find("owns 2 run(s), 0 already done"), std::string::npos) << a.out;
  EXPECT_TRUE(fs::exists(out + "/runs/Task2/sim000_v04_WD.json"));
  EXPECT_FALSE(fs::exists(out + "/runs/Task2/sim000_v00_WsDsC.json"));
  // The whole list: the two done runs are skipped, the other two trained.
  const CmdResult b = run_rsnn(args);
  ASSERT_EQ(b.rc, 0) << b.out;
  EXPECT_NE(b.out.find("owns 4 run(s), 2 already done, 2 to train"), std::string::npos) << b.out;
  const auto acc = lines_of(slurp(out + "/Task2/Accuracy_raw.csv"));
  ASSERT_EQ(acc.size(), 3u);
  EXPECT_EQ(acc[0], "simulation,W*D*C,WD");
  for (int s = 1; s <= 2; ++s) {
    std::istringstream row(acc[s]);
    std::vector<std::string> f;
    for (std::string x; std::getline(row, x, ',');) f.push_back(x);
    ASSERT_EQ(f.size(), 3u) << acc[s];
    for (int c = 1; c <= 2; ++c) {
      const double v = std::stod(f[c]);
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
    }
  }
  for (const auto& m : sweep_metric_names()) EXPECT_TRUE(fs::exists(out + "/Task2/" + m + "_raw.csv")) << m;
  EXPECT_TRUE(fs::exists(out + "/metrics.csv"));
  EXPECT_TRUE(fs::exists(out + "/metrics_SD.csv"));
  EXPECT_TRUE(fs::exists(out + "/summary_ci.csv"));
  EXPECT_NE(slurp(out + "/config.txt").find("simulations = 2"), std::string::npos);
  // A third invocation trains nothing; other settings in the same folder are refused.
  const CmdResult c = run_rsnn(args);
  ASSERT_EQ(c.rc, 0) << c.out;
  EXPECT_NE(c.out.find("4 already done, 0 to train"), std::string::npos) << c.out;
  const CmdResult d = run_rsnn(args + " --lr 0.01");
  EXPECT_NE(d.rc, 0);
  EXPECT_NE(d.out.find("other settings"), std::string::npos) << d.out;
  // One run alone: W_rec NPY, per-epoch CSV and JSON record.
  const CmdResult t = run_rsnn("micron train " + field_args() + kNull +
                               " --variant 'W!D*C' --task 3 --epochs 2 --batches 1 --batch 8"
                               " --n-test 16 --threads 1 --out " + out + "/one");
  ASSERT_EQ(t.rc, 0) << t.out;
  EXPECT_TRUE(fs::exists(out + "/one/task3_WpDsC_sim0_W.npy"));
  EXPECT_EQ(lines_of(slurp(out + "/one/task3_WpDsC_sim0_epochs.csv")).size(), 3u);
  const RunRecord rec = parse_run_record(slurp(out + "/one/task3_WpDsC_sim0.json"), "one");
  EXPECT_EQ(rec.spec.variant, "W!D*C");
  EXPECT_EQ(rec.epochs.size(), 2u);
  EXPECT_GT(rec.n_undirected_edges, 0);
}
