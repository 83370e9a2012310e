// The scaling study (models/scale, `rsnn scale`): network families' sizes and synapse counts,
// the measurements' CSV, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "models/barrel/anatomy.h"
#include "models/microcircuit/potjans.h"
#include "models/scale/study.h"
#include "models/scale/train_step.h"
#include "runtime/threads.h"
#include "tests/test_util.h"

using namespace rsnn;
using namespace rsnn::scale;

namespace {

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(f, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, ',')) cells.push_back(c);
    if (!line.empty() && line.back() == ',') cells.push_back("");  // getline drops a last empty cell
    rows.push_back(cells);
  }
  return rows;
}

// Every row of every source sorted, targets in range, the row lengths add up.
void expect_valid(const ScaleNet& net) {
  EXPECT_NO_THROW(net.graph.validate("scale net"));
  EXPECT_EQ(net.graph.ptr.back(), net.graph.nnz());
  EXPECT_EQ(static_cast<int64_t>(net.v0.size()), net.neurons());
}

}  // namespace

TEST(ScaleRandomEi, SynapsesAreNTimesKWithEightyPercentExcitatory) {
  RandomEiParams p;
  const int64_t n = 2000, K = random_ei_indegree(n, p);
  ASSERT_EQ(K, 200);  // 10 % of N below 10^4
  const ScaleNet net = build_random_ei(n, p, 7);
  expect_valid(net);
  EXPECT_EQ(net.graph.nnz(), n * K);
  // In-degree of every target exactly K: 160 excitatory and 40 inhibitory sources.
  std::vector<int64_t> in_e(n, 0), in_i(n, 0);
  const int64_t NE = 1600;
  for (int64_t s = 0; s < n; ++s)
    for (int64_t k = net.graph.ptr[s]; k < net.graph.ptr[s + 1]; ++k) {
      (s < NE ? in_e : in_i)[net.graph.target(k)]++;
      EXPECT_EQ(net.graph.weight[k], s < NE ? float(p.j_exc) : float(-p.g * p.j_exc));
      EXPECT_EQ(net.graph.delay(k), 15);
    }
  for (int64_t t = 0; t < n; ++t) {
    ASSERT_EQ(in_e[t], 160) << t;
    ASSERT_EQ(in_i[t], 40) << t;
  }
  EXPECT_EQ(random_ei_indegree(1000000, p), 1000);
}

TEST(ScaleRandomEi, SameNetworkOnAnyThreadCountAndSeedMatters) {
  RandomEiParams p;
  const int prev = num_threads();
  set_num_threads(1);
  const ScaleNet a = build_random_ei(3000, p, 5);
  set_num_threads(3);
  const ScaleNet b = build_random_ei(3000, p, 5);
  set_num_threads(prev);
  EXPECT_EQ(a.graph.ptr, b.graph.ptr);
  EXPECT_EQ(a.graph.syn, b.graph.syn);
  EXPECT_EQ(a.graph.weight, b.graph.weight);
  const ScaleNet c = build_random_ei(3000, p, 6);
  EXPECT_NE(a.graph.syn, c.graph.syn);
}

TEST(ScaleBarrel, TiledColumnsHaveTheDocumentedNeuronsAndInterColumnSynapses) {
  BarrelTiledParams p;
  const barrel::ExpectedCounts e = barrel::expected_counts(barrel::default_tables());
  for (int64_t C : {1, 2, 3}) {
    const ScaleNet net = build_barrel_tiled(C, p, 11);
    expect_valid(net);
    EXPECT_EQ(net.neurons(), C * 4218);
    const double want = barrel_expected_inter_synapses(C);
    EXPECT_DOUBLE_EQ(want, C * std::min<int64_t>(C - 1, 2) * kInterFraction * e.recurrent_exc);
    // A sum of Bernoulli draws: variance below its mean; 6 sd bounds.
    EXPECT_NEAR(double(net.inter_synapses), want, 6 * std::sqrt(want) + 1e-9) << C;
    const double total = C * e.recurrent_total + want;
    EXPECT_NEAR(double(net.graph.nnz()), total, 6 * std::sqrt(total)) << C;
    // Synapses between columns: only from excitatory sources, 2 ms; within: 1.5 / 0.8 ms.
    int64_t between = 0;
    for (int64_t s = 0; s < net.neurons(); ++s)
      for (int64_t k = net.graph.ptr[s]; k < net.graph.ptr[s + 1]; ++k) {
        const bool exc = net.graph.weight[k] > 0;
        if (net.graph.target(k) / 4218 != s / 4218) {
          ++between;
          ASSERT_TRUE(exc);
          ASSERT_EQ(net.graph.delay(k), 20);
        } else {
          ASSERT_EQ(net.graph.delay(k), exc ? 15 : 8);
        }
      }
    EXPECT_EQ(between, net.inter_synapses);
  }
}

TEST(ScaleBarrel, BpttStepRunsOnTheTiledConnectivity) {
  const ScaleNet net = build_barrel_tiled(2, BarrelTiledParams{}, 4);
  const TrainTiming t = time_barrel_bptt_step(net, 2, 6, 4);
  EXPECT_EQ(t.synapses, net.graph.nnz());
  EXPECT_EQ(t.B, 2);
  EXPECT_EQ(t.T, 6);
  EXPECT_GT(t.spikes, 0);
  EXPECT_GT(t.events, 0);
  EXPECT_EQ(t.saved_bytes, 8 * 6 * 2 * net.neurons());  // u and a, float32, per neuron-step-sample
  EXPECT_GT(t.dw_abs_sum, 0);
  EXPECT_TRUE(std::isfinite(t.dw_abs_sum));
  EXPECT_GT(t.step_s(), 0);
  test::expect_error([&] { time_barrel_bptt_step(build_random_ei(1000, RandomEiParams{}, 1), 1, 1, 1); },
                     "not a tiled barrel network");
}

TEST(ScaleMicrocircuit, MatchesThePotjansBuilder) {
  const ScaleNet net = build_microcircuit(0.02, 3);
  int64_t want = 0;
  for (int64_t c : mc::synapse_counts(0.02, 0.02)) want += c;
  EXPECT_EQ(net.graph.nnz(), want);
  EXPECT_GT(net.neurons(), 1500);
  EXPECT_GT(estimated_bytes(Family::microcircuit, 0.02, RandomEiParams{}), double(net.graph.nnz()) * 8);
}

TEST(ScaleStudy, RowsArePositiveAndFiniteAndEventsAddUp) {
  StudyOptions o;
  o.family = Family::random_ei;
  o.time_ms = 20;
  o.presim_ms = 10;
  const ScaleRow r = run_size(o, 1000, nullptr);
  EXPECT_EQ(r.neurons, 1000);
  EXPECT_EQ(r.synapses, 100000);
  EXPECT_EQ(r.steps, 200);
  EXPECT_GT(r.spikes, 0);
  // The same run by hand: the same spikes (the op is deterministic) and events.
  const ScaleNet net = build_random_ei(1000, o.random_ei, o.seed);
  mc::State st = mc::make_state(net.graph, net.v0);
  mc::simulate_cpu(net.graph, net.prop, net.drive, st, 100);
  const mc::SimResult sim = mc::simulate_cpu(net.graph, net.prop, net.drive, st, 200);
  EXPECT_EQ(r.spikes, static_cast<int64_t>(sim.spikes.neuron.size()));  // deterministic
  EXPECT_EQ(r.events, delivered_events(net.graph, sim.spikes));
  EXPECT_NEAR(double(r.events) / double(r.spikes), 100.0, 30.0);  // mean out-degree = K
  for (double x : {r.build_s, r.sim_s, r.wall_per_bio_s, r.events_per_s, r.updates_per_s, r.rate_hz,
                   r.bytes_per_synapse, double(r.network_bytes), double(r.peak_rss_bytes)}) {
    EXPECT_TRUE(std::isfinite(x));
    EXPECT_GT(x, 0);
  }
  EXPECT_DOUBLE_EQ(r.bio_s, 0.02);
  EXPECT_GE(r.bytes_per_synapse, 8.0);
}

TEST(ScaleStudy, ParsesSizesAndRejectsBadOnes) {
  EXPECT_EQ(parse_sizes("1e4, 100000", Family::random_ei), (std::vector<double>{1e4, 1e5}));
  EXPECT_EQ(parse_sizes("0.02,0.1", Family::microcircuit), (std::vector<double>{0.02, 0.1}));
  test::expect_error([] { parse_sizes("", Family::random_ei); }, "empty");
  test::expect_error([] { parse_sizes(" , ", Family::barrel_tiled); }, "empty");
  test::expect_error([] { parse_sizes("10000,abc", Family::random_ei); }, "'abc' is not a number");
  test::expect_error([] { parse_sizes("1.5", Family::barrel_tiled); }, "not a whole number");
  test::expect_error([] { parse_sizes("0", Family::barrel_tiled); }, "positive");
  test::expect_error([] { parse_sizes("2", Family::microcircuit); }, "(0, 1]");
  test::expect_error([] { parse_sizes("5", Family::random_ei); }, "[10,");
  test::expect_error([] { parse_sizes("1e9", Family::random_ei); }, "[10,");
  test::expect_error([] { parse_family("brunel"); }, "unknown family 'brunel'");
}

TEST(ScaleStudy, RefusesASizeThatCannotFit) {
  ::setenv("RSNN_MEMORY_LIMIT", "100M", 1);
  StudyOptions o;
  o.family = Family::random_ei;
  test::expect_error([&] { check_fits(o, 1e6); }, "needs about");
  EXPECT_NO_THROW(check_fits(o, 1000));
  ::unsetenv("RSNN_MEMORY_LIMIT");
}

TEST(ScaleCli, WritesOneRowPerSizeAndRejectsBadFlags) {
  test::TempDir dir("rsnn_scale");
  const std::string out = dir.path("out");
  test::CmdResult r =
      test::run_rsnn("scale --family barrel-tiled --sizes 1,2 --time 10 --plot off --out " + out);
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto rows = read_csv(out + "/scale.csv");
  ASSERT_EQ(rows.size(), 3u);
  ASSERT_EQ(rows[0][0], "family");
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), rows[0].size());
    EXPECT_EQ(rows[i][0], "barrel-tiled");
    EXPECT_EQ(std::stoll(rows[i][2]), int64_t(i) * 4218);
    for (size_t c = 1; c < rows[i].size(); ++c) {
      if (rows[0][c] == "inter_synapses" && i == 1) continue;  // one column: none
      if (rows[0][c].rfind("train_", 0) == 0) {  // no --train: empty
        EXPECT_EQ(rows[i][c], "");
        continue;
      }
      const double v = std::stod(rows[i][c]);
      EXPECT_TRUE(std::isfinite(v) && v > 0) << rows[0][c] << " = " << rows[i][c];
    }
  }
  r = test::run_rsnn("scale --family barrel-tiled --sizes 2 --time 5 --train --batch 1 --train-steps 4 --plot off --out " +
                     out);
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto trained = read_csv(out + "/scale.csv");
  ASSERT_EQ(trained.size(), 2u);
  ASSERT_EQ(trained[1].size(), trained[0].size());
  for (size_t c = 0; c < trained[0].size(); ++c)
    if (trained[0][c] == "train_batch") {
      EXPECT_EQ(trained[1][c], "1");
    } else if (trained[0][c] == "train_steps") {
      EXPECT_EQ(trained[1][c], "4");
    } else if (trained[0][c].rfind("train_", 0) == 0) {
      EXPECT_GT(std::stod(trained[1][c]), 0) << trained[0][c];
    }
  for (const char* bad : {"--family brunel --sizes 1000", "--family random-ei --sizes ''",
                          "--family random-ei --sizes 1000,x", "--family microcircuit --sizes 1.5",
                          "--family random-ei --sizes 1000 --train", "--family barrel-tiled --sizes 1 --train --batch 0", "--family microcircuit --sizes 0.02 --bg-rate 5",
                          "--family random-ei --sizes 1000 --time 0.05", "--family barrel-tiled --sizes 1 --indegree 10",
                          "--family barrel-tiled --sizes 1 --batch 4"}) {
    r = test::run_rsnn(std::string("scale ") + bad + " --plot off --out " + out);
    EXPECT_NE(r.rc, 0) << bad;
    EXPECT_NE(r.out.find("rror"), std::string::npos) << bad << ": " << r.out;
  }
  r = test::run_command("RSNN_MEMORY_LIMIT=50M " + test::rsnn_exe() +
                        " scale --family random-ei --sizes 1000,1000000 --time 1 --plot off --out " + out);
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.out.find("needs about"), std::string::npos) << r.out;
}
