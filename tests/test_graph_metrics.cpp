// Graph metrics: hand-computed answers on small graphs, networkx/scipy/numpy outputs recorded
// by tests/fixtures/make_graph_fixture.py, the MICrONS test vectors (expected.json), and the
// small-world null against the spec's constants for N = 312.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "graph_fixture_json.h"
#include "kernels/graph_metrics.h"
#include "kernels/igraph_wrap.h"
#include "runtime/error.h"
#include "runtime/npy.h"
#include "runtime/tensor.h"
#include "test_util.h"

using namespace rsnn;
using namespace rsnn::graph;

namespace {

std::vector<uint8_t> from_edges(int N, const std::vector<std::pair<int, int>>& edges) {
  std::vector<uint8_t> adj(static_cast<size_t>(N) * N, 0);
  for (auto [u, v] : edges) adj[u * N + v] = adj[v * N + u] = 1;
  return adj;
}

// 0-1-2-3
std::vector<uint8_t> path4() { return from_edges(4, {{0, 1}, {1, 2}, {2, 3}}); }
// centre 0, leaves 1..4
std::vector<uint8_t> star5() { return from_edges(5, {{0, 1}, {0, 2}, {0, 3}, {0, 4}}); }
// K4 on 0..3 and K4 on 4..7 joined by the edge 3-4
std::vector<uint8_t> two_cliques() {
  std::vector<std::pair<int, int>> e{{3, 4}};
  for (int base : {0, 4})
    for (int i = 0; i < 4; ++i)
      for (int j = i + 1; j < 4; ++j) e.push_back({base + i, base + j});
  return from_edges(8, e);
}
std::vector<uint8_t> ring(int N) {
  std::vector<std::pair<int, int>> e;
  for (int i = 0; i < N; ++i) e.push_back({i, (i + 1) % N});
  return from_edges(N, e);
}

const std::string kFixture = std::string(RSNN_SOURCE_DIR) + "/tests/fixtures/graph_metrics_fixture.json";

}  // namespace

TEST(GraphMetricsKnown, PathOfFour) {
  const auto adj = path4();
  // dq(0,1) = dq(2,3) = 2/9 tie: (0,1) goes first; then (2,3); then dq = -1/6 stops.
  const Communities c = greedy_modularity_communities(adj, 4);
  EXPECT_EQ(c, (Communities{{0, 1}, {2, 3}}));
  EXPECT_NEAR(modularity(adj, 4, c), 1.0 / 6, 1e-14);
  EXPECT_NEAR(degree_assortativity(adj, 4), -0.5, 1e-12);
  for (double x : clustering_coef_bu(adj, 4)) EXPECT_EQ(x, 0.0);
  EXPECT_NEAR(efficiency_bin(adj, 4), 13.0 / 18, 1e-14);
}

TEST(GraphMetricsKnown, Star) {
  const auto adj = star5();
  // Every merge has dq >= 0 (1/8, 3/32, 1/16, 1/32): all five end in one community, Q = 0.
  const Communities c = greedy_modularity_communities(adj, 5);
  EXPECT_EQ(c, (Communities{{0, 1, 2, 3, 4}}));
  EXPECT_NEAR(modularity(adj, 5, c), 0.0, 1e-14);
  EXPECT_NEAR(degree_assortativity(adj, 5), -1.0, 1e-12);
  for (double x : clustering_coef_bu(adj, 5)) EXPECT_EQ(x, 0.0);
  EXPECT_NEAR(efficiency_bin(adj, 5), 0.7, 1e-14);
}

TEST(GraphMetricsKnown, TwoCliquesJoinedByAnEdge) {
  const auto adj = two_cliques();
  const Communities c = greedy_modularity_communities(adj, 8);
  EXPECT_EQ(c, (Communities{{0, 1, 2, 3}, {4, 5, 6, 7}}));
  EXPECT_NEAR(modularity(adj, 8, c), 11.0 / 26, 1e-14);  // 2 (6/13 - (13/26)^2)
  EXPECT_NEAR(degree_assortativity(adj, 8), -1.0 / 12, 1e-12);
  const std::vector<double> C = clustering_coef_bu(adj, 8);
  EXPECT_EQ(C, (std::vector<double>{1, 1, 1, 0.5, 0.5, 1, 1, 1}));
  EXPECT_NEAR(efficiency_bin(adj, 8), 19.0 / 28, 1e-14);
  // A partition given by hand: everything in one community has Q = 0.
  EXPECT_NEAR(modularity(adj, 8, Communities{{0, 1, 2, 3, 4, 5, 6, 7}}), 0.0, 1e-14);
}

TEST(GraphMetricsKnown, Ring) {
  const auto adj = ring(6);
  EXPECT_TRUE(std::isnan(degree_assortativity(adj, 6)));  // every degree is 2: 0/0
  for (double x : clustering_coef_bu(adj, 6)) EXPECT_EQ(x, 0.0);
  EXPECT_NEAR(efficiency_bin(adj, 6), 2.0 / 3, 1e-14);  // (1+1+1/2+1/2+1/3)/5
  // Ring of 12: three arcs of four, Q = 3 (3/12 - (8/24)^2) = 5/12.
  const auto adj12 = ring(12);
  const Communities c = greedy_modularity_communities(adj12, 12);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_NEAR(modularity(adj12, 12, c), 5.0 / 12, 1e-14);
}

TEST(GraphMetricsKnown, SelfLoopsCountInBctClustering) {
  // Triangle 0-1-2 with a loop at 0. bct: node 0 has V = {0,1,2}, sum(G[V,V]) = 6 + 1 -> 7/6;
  // node 1 has V = {0,2}, G[V,V] = [[1,1],[1,0]] -> 3/2. Efficiency ignores the loop.
  auto adj = from_edges(3, {{0, 1}, {1, 2}, {0, 2}});
  adj[0] = 1;
  const std::vector<double> C = clustering_coef_bu(adj, 3);
  EXPECT_NEAR(C[0], 7.0 / 6, 1e-15);
  EXPECT_NEAR(C[1], 1.5, 1e-15);
  EXPECT_NEAR(C[2], 1.5, 1e-15);
  EXPECT_NEAR(efficiency_bin(adj, 3), 1.0, 1e-15);
  // A disconnected pair counts 0: two isolated edges among 4 nodes -> 4 / 12.
  const auto pairs = from_edges(4, {{0, 1}, {2, 3}});
  EXPECT_NEAR(efficiency_bin(pairs, 4), 1.0 / 3, 1e-15);
}

TEST(GraphMetricsKnown, EdgeCasesAndErrors) {
  // No edges: networkx returns singletons.
  const std::vector<uint8_t> empty(16, 0);
  EXPECT_EQ(greedy_modularity_communities(empty, 4), (Communities{{0}, {1}, {2}, {3}}));
  EXPECT_THROW(modularity(empty, 4, Communities{{0}, {1}, {2}, {3}}), Error);
  EXPECT_THROW(degree_assortativity(empty, 4), Error);
  auto loop = path4();
  loop[0] = 1;
  EXPECT_THROW(greedy_modularity_communities(loop, 4), Error);
  auto asym = path4();
  asym[1] = 0;
  EXPECT_THROW(greedy_modularity_communities(asym, 4), Error);
  EXPECT_THROW(modularity(path4(), 4, Communities{{0, 1}, {1, 2, 3}}), Error);  // 1 twice
  EXPECT_THROW(modularity(path4(), 4, Communities{{0, 1}, {2}}), Error);        // 3 missing
}

TEST(GraphMetricsKnown, QuantileAndThreshold) {
  const std::vector<float> x{3, 1, 4, 1, 5, 9, 2, 6};  // sorted 1 1 2 3 4 5 6 9
  EXPECT_DOUBLE_EQ(quantile_linear(x.data(), 8, 0.5), 3.5);
  EXPECT_DOUBLE_EQ(quantile_linear(x.data(), 8, 0.9), 6 + 0.3 * 3);  // index 6.3
  EXPECT_DOUBLE_EQ(quantile_linear(x.data(), 8, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile_linear(x.data(), 8, 1.0), 9.0);
  EXPECT_THROW(quantile_linear(x.data(), 8, 1.5), Error);
  // |W| > t strict, OR-symmetrized, diagonal counted but dropped.
  const std::vector<float> W{0.9f, -0.5f, 0.0f, 0.1f, 0.2f, 0.6f, 0.0f, 0.3f, -0.05f};
  int64_t above = 0;
  const auto adj = threshold_graph(W.data(), 3, 0.3, &above);
  EXPECT_EQ(above, 3);  // 0.9 (diagonal), -0.5, 0.6
  EXPECT_EQ(adj, (std::vector<uint8_t>{0, 1, 0, 1, 0, 1, 0, 1, 0}));
}

// The full sum over every sample (no window), as scipy evaluates it.
static double kde_entropy_reference(const std::vector<float>& w, int n_points) {
  const double n = static_cast<double>(w.size());
  double mean = 0, ss = 0, lo = w[0], hi = w[0];
  for (float v : w) mean += v, lo = std::min<double>(lo, v), hi = std::max<double>(hi, v);
  mean /= n;
  for (float v : w) ss += (v - mean) * (v - mean);
  const double h = std::sqrt(ss / (n - 1)) * std::pow(n, -0.2);
  std::vector<double> p(n_points);
  double total = 0;
  for (int j = 0; j < n_points; ++j) {
    const double g = lo + (hi - lo) * j / (n_points - 1);
    for (float v : w) p[j] += std::exp(-(g - v) * (g - v) / (2 * h * h));
    total += p[j];
  }
  double H = 0;
  for (double x : p)
    if (x > 0) H -= x / total * std::log2(x / total);
  return H;
}

TEST(GraphMetricsKnown, KdeEntropyMatchesTheFullSum) {
  // Heavy tails and a far outlier make the 12-bandwidth window drop terms; the result must
  // not move. Also a shifted, scaled copy: the grid spans min..max, so H is invariant.
  std::vector<float> w;
  for (int i = 0; i < 3000; ++i) w.push_back(std::exp(3.0f * std::sin(0.37f * i) * std::cos(1.3f * i)));
  w.push_back(500.0f);
  const double ref = kde_entropy_reference(w, 100);
  EXPECT_NEAR(kde_entropy_bits(w.data(), w.size()), ref, 1e-12);
  std::vector<float> moved(w);
  for (float& v : moved) v = 4.0f * v - 3.0f;
  EXPECT_NEAR(kde_entropy_bits(moved.data(), moved.size()), ref, 1e-5);
  // Two samples {0, 1}: p_j ~ exp(-x^2/2h^2) + exp(-(1-x)^2/2h^2) on 7 points.
  const std::vector<float> two{0.0f, 1.0f};
  EXPECT_NEAR(kde_entropy_bits(two.data(), 2, 7), kde_entropy_reference(two, 7), 1e-14);
  EXPECT_LT(kde_entropy_bits(two.data(), 2, 7), std::log2(7.0));
  const std::vector<float> same(10, 2.0f);
  EXPECT_THROW(kde_entropy_bits(same.data(), same.size()), Error);
  std::vector<float> bad{1, 2, std::numeric_limits<float>::infinity()};
  EXPECT_THROW(kde_entropy_bits(bad.data(), bad.size()), Error);
}

TEST(GraphMetricsFixture, GraphsMatchNetworkx) {
  const test::Json fx = test::load_json(kFixture);
  ASSERT_GE(fx["graphs"].size(), 5u);
  for (const test::Json& g : fx["graphs"].items) {
    SCOPED_TRACE(g["name"].text);
    const int N = static_cast<int>(g["N"].i64());
    std::vector<std::pair<int, int>> edges;
    for (const test::Json& e : g["edges"].items)
      edges.push_back({static_cast<int>(e[0].i64()), static_cast<int>(e[1].i64())});
    const auto adj = from_edges(N, edges);
    Communities want;
    for (const test::Json& c : g["communities"].items) {
      want.emplace_back();
      for (const test::Json& n : c.items) want.back().push_back(static_cast<int>(n.i64()));
    }
    const Communities got = greedy_modularity_communities(adj, N);
    EXPECT_EQ(got, want);
    EXPECT_NEAR(modularity(adj, N, got), g["modularity"].num(), 1e-12);
    if (g["assortativity"].is_null())
      EXPECT_TRUE(std::isnan(degree_assortativity(adj, N)));
    else
      EXPECT_NEAR(degree_assortativity(adj, N), g["assortativity"].num(), 1e-12);
    const std::vector<double> C = clustering_coef_bu(adj, N);
    ASSERT_EQ(C.size(), g["clustering"].size());
    for (int i = 0; i < N; ++i) EXPECT_NEAR(C[i], g["clustering"][i].num(), 1e-14);
    EXPECT_NEAR(efficiency_bin(adj, N), g["efficiency"].num(), 1e-13);
    // igraph's own definitions agree where they have no self-loops to disagree about.
    const IGraph ig = IGraph::from_adjacency(adj, N);
    EXPECT_NEAR(ig.global_efficiency(), g["efficiency"].num(), 1e-13);
    const std::vector<double> T = ig.local_transitivity();
    for (int i = 0; i < N; ++i) EXPECT_NEAR(T[i], C[i], 1e-14);
  }
}

TEST(GraphMetricsFixture, WeightMatricesMatchScipyAndNetworkx) {
  const test::Json fx = test::load_json(kFixture);
  ASSERT_GE(fx["weights"].size(), 2u);
  for (const test::Json& c : fx["weights"].items) {
    SCOPED_TRACE(c["name"].text);
    const int N = static_cast<int>(c["N"].i64());
    std::vector<float> W;
    for (const test::Json& x : c["W"].items) W.push_back(x.f32());
    ASSERT_EQ(W.size(), static_cast<size_t>(N) * N);
    SmallWorldNull null;
    null.N = N;
    null.clustering = 0.25;
    null.efficiency = 0.5;
    const GraphMetrics m = graph_metrics(W.data(), N, null);
    EXPECT_NEAR(m.entropy_bits, c["entropy_bits"].num(), 1e-10);
    EXPECT_DOUBLE_EQ(m.threshold_q90, c["threshold_q90"].num());
    EXPECT_EQ(m.n_directed_above, c["n_directed_above"].i64());
    EXPECT_EQ(m.n_undirected_edges, c["n_undirected_edges"].i64());
    EXPECT_EQ(m.n_communities, static_cast<int>(c["communities"].size()));
    EXPECT_NEAR(m.modularity, c["modularity"].num(), 1e-12);
    EXPECT_NEAR(m.assortativity, c["assortativity"].num(), 1e-12);
    EXPECT_NEAR(m.clustering_mean, c["clustering_mean"].num(), 1e-14);
    EXPECT_NEAR(m.global_efficiency, c["efficiency"].num(), 1e-13);
    EXPECT_NEAR(m.smallworld, (m.clustering_mean / 0.25) / (0.5 / m.global_efficiency), 1e-15);
  }
}

TEST(GraphMetricsFixture, ConcurrentCallsGiveTheSerialResults) {
  // igraph as packaged is not thread-safe; the wrapper serializes it. A sweep may call
  // graph_metrics from many threads at once.
  const test::Json fx = test::load_json(kFixture);
  const test::Json& c = fx["weights"][0];
  const int N = static_cast<int>(c["N"].i64());
  std::vector<float> W;
  for (const test::Json& x : c["W"].items) W.push_back(x.f32());
  SmallWorldNull null;
  null.N = N;
  null.clustering = 0.25;
  null.efficiency = 0.5;
  const GraphMetrics serial = graph_metrics(W.data(), N, null);
  const int n = 16;
  std::vector<GraphMetrics> par(n);
  std::vector<int> failed(n, 0);
#pragma omp parallel for num_threads(4) schedule(dynamic)
  for (int k = 0; k < n; ++k) {
    try {
      par[k] = graph_metrics(W.data(), N, null);
    } catch (...) {
      failed[k] = 1;
    }
  }
  for (int k = 0; k < n; ++k) {
    EXPECT_EQ(failed[k], 0);
    EXPECT_EQ(par[k].modularity, serial.modularity);
    EXPECT_EQ(par[k].assortativity, serial.assortativity);
    EXPECT_EQ(par[k].entropy_bits, serial.entropy_bits);
    EXPECT_EQ(par[k].n_communities, serial.n_communities);
  }
}

TEST(GraphMetricsFixture, EntropyAndQuantilesMatchScipyAndNumpy) {
  const test::Json fx = test::load_json(kFixture);
  std::vector<float> s;
  for (const test::Json& x : fx["entropy"]["samples"].items) s.push_back(x.f32());
  EXPECT_NEAR(kde_entropy_bits(s.data(), s.size()), fx["entropy"]["entropy_bits"].num(), 1e-10);
  ASSERT_GE(fx["quantiles"].size(), 10u);
  for (const test::Json& q : fx["quantiles"].items) {
    std::vector<float> x;
    for (const test::Json& v : q["x"].items) x.push_back(v.f32());
    EXPECT_DOUBLE_EQ(quantile_linear(x.data(), x.size(), q["q"].num()), q["value"].num())
        << "n=" << x.size() << " q=" << q["q"].num();
  }
}

namespace {

// The spec's null constants for N = 312 (1000 numpy nulls): mean and per-graph sd.
constexpr double kCluNull = 0.194422, kCluNullSd = 0.0023;
constexpr double kPthNull = 0.590016, kPthNullSd = 0.0009;

}  // namespace

TEST(GraphMetricsMicrons, ExpectedJsonMetrics) {
  const std::string dir = test::shared_data_dir() + "/microns/testvectors";
  if (!std::filesystem::exists(dir + "/expected.json"))
    GTEST_SKIP() << "MICrONS test vectors not found in " << dir;
  const test::Json expected = test::load_json(dir + "/expected.json");
  SmallWorldNull null;
  null.N = 312;
  null.clustering = kCluNull;
  null.efficiency = kPthNull;
  for (const char* name : {"W_bio_seed0", "W_orth_seed0"}) {
    SCOPED_TRACE(name);
    const Tensor W = npy_load(dir + "/" + name + ".npy");
    ASSERT_EQ(W.shape(), (Shape{312, 312}));
    const std::vector<float> w = W.to_vector<float>();
    const GraphMetrics m = graph_metrics(w.data(), 312, null);
    const test::Json& e = expected[name]["metrics"];
    EXPECT_NEAR(m.entropy_bits, e["entropy_bits"].num(), 1e-9);
    EXPECT_DOUBLE_EQ(m.threshold_q90, e["threshold_q90"].num());
    EXPECT_EQ(m.n_directed_above, e["n_directed_above"].i64());
    EXPECT_EQ(m.n_undirected_edges, e["n_undirected_edges"].i64());
    EXPECT_NEAR(m.modularity, e["modularity_CNM"].num(), 1e-12);
    EXPECT_EQ(m.n_communities, e["n_communities"].i64());
    EXPECT_NEAR(m.assortativity, e["assortativity"].num(), 1e-12);
    EXPECT_NEAR(m.clustering_mean, e["clustering_mean"].num(), 1e-13);
    EXPECT_NEAR(m.global_efficiency, e["global_efficiency"].num(), 1e-13);
    EXPECT_NEAR(m.smallworld, e["smallworld_using_null(0.194422,0.590016)"].num(), 1e-10);
  }
}

TEST(GraphMetricsMicrons, NonFiniteWeightsGiveNaN) {
  std::vector<float> W(16, 0.5f);
  W[5] = std::numeric_limits<float>::quiet_NaN();
  SmallWorldNull null;
  null.N = 4;
  null.clustering = 0.2;
  null.efficiency = 0.5;
  const GraphMetrics m = graph_metrics(W.data(), 4, null);
  for (double v : {m.entropy_bits, m.threshold_q90, m.modularity, m.assortativity,
                   m.clustering_mean, m.global_efficiency, m.smallworld})
    EXPECT_TRUE(std::isnan(v));
  EXPECT_EQ(m.n_communities, -1);
  W[5] = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(std::isnan(graph_metrics(W.data(), 4, null).modularity));
  W[5] = 0.5f;  // now constant: the entropy is undefined, which is an error
  EXPECT_THROW(graph_metrics(W.data(), 4, null), Error);
  null.N = 5;
  EXPECT_THROW(graph_metrics(W.data(), 4, null), Error);
}

TEST(SmallWorldNull, MatchesTheSpecConstantsForN312) {
  const int n = 200;
  const SmallWorldNull s = smallworld_null(312, n, 7);
  EXPECT_EQ(s.N, 312);
  EXPECT_EQ(s.n_nulls, n);
  // Means within 5 standard errors of the 1000-null constants.
  EXPECT_NEAR(s.clustering, kCluNull, 5 * kCluNullSd / std::sqrt(n));
  EXPECT_NEAR(s.efficiency, kPthNull, 5 * kPthNullSd / std::sqrt(n));
  // Per-graph spread like numpy's nulls (a 200-null numpy run gave sds 0.00214 and 0.00084).
  EXPECT_NEAR(s.clustering_sd, kCluNullSd, 0.3 * kCluNullSd);
  EXPECT_NEAR(s.efficiency_sd, kPthNullSd, 0.3 * kPthNullSd);
}

TEST(SmallWorldNull, SameOnAnyThreadCountAndSeedMatters) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const SmallWorldNull a = smallworld_null(50, 12, 3);
  omp_set_num_threads(3);
  const SmallWorldNull b = smallworld_null(50, 12, 3);
  omp_set_num_threads(saved);
  EXPECT_EQ(a.clustering, b.clustering);
  EXPECT_EQ(a.efficiency, b.efficiency);
  const SmallWorldNull c = smallworld_null(50, 12, 4);
  EXPECT_NE(a.clustering, c.clustering);
  EXPECT_THROW(smallworld_null(1, 10, 0), Error);
  EXPECT_THROW(smallworld_null(50, 0, 0), Error);
}

TEST(SmallWorldNull, CacheRoundTripAndCorruptFile) {
  test::TempDir tmp("rsnn_swnull");
  const std::string dir = tmp.dir() + "/nested/cache";
  const SmallWorldNull fresh = smallworld_null(40, 6, 11);
  const SmallWorldNull first = smallworld_null_cached(40, 6, 11, dir);  // computes, writes
  EXPECT_EQ(first.clustering, fresh.clustering);
  const std::string file = dir + "/smallworld_null_N40_n6_seed11.json";
  ASSERT_TRUE(std::filesystem::exists(file));
  const SmallWorldNull again = smallworld_null_cached(40, 6, 11, dir);  // reads
  EXPECT_EQ(again.clustering, fresh.clustering);
  EXPECT_EQ(again.efficiency, fresh.efficiency);
  EXPECT_EQ(again.clustering_sd, fresh.clustering_sd);
  EXPECT_EQ(again.efficiency_sd, fresh.efficiency_sd);
  // A file with a broken number or another N is an error, not a silent recompute.
  std::string text;
  {
    std::ifstream in(file);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const size_t at = text.find("\"efficiency\": ");
  ASSERT_NE(at, std::string::npos);
  std::ofstream(file) << text.substr(0, at) + "\"efficiency\": 0.5x" + text.substr(text.find(',', at));
  EXPECT_THROW(smallworld_null_cached(40, 6, 11, dir), Error);
  std::string other = text;
  other.replace(other.find("\"N\": 40"), 7, "\"N\": 41");
  std::ofstream(file) << other;
  EXPECT_THROW(smallworld_null_cached(40, 6, 11, dir), Error);
  std::ofstream(file) << "{";
  EXPECT_THROW(smallworld_null_cached(40, 6, 11, dir), Error);
}
