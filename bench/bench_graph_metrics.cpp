// Graph metrics of one 312 x 312 recurrent matrix (the MICrONS test vectors: /0 W_bio,
// /1 W_orth), for the report's "one matrix" cost against the original notebook's ~69 s
// (scipy KDE + networkx CNM + bctpy + 1000 fresh nulls per matrix), and its parts:
//   GraphMetrics/one_matrix   graph_metrics with the null constants given (the sweep's case);
//                             speedup_vs_notebook = 69 s / wall time (printed with a "/s")
//   GraphMetrics/entropy      the KDE entropy alone (97,344 samples x 100 grid points)
//   GraphMetrics/cnm          the CNM greedy modularity communities alone
//   SmallWorldNull/312        n nulls of N = 312, computed once per N and then cached
// Skips with a message when the shared data is absent.
#include <benchmark/benchmark.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "kernels/graph_metrics.h"
#include "runtime/npy.h"
#include "runtime/tensor.h"
#include "tests/shared_data.h"

using namespace rsnn;
using namespace rsnn::graph;

namespace {

std::string w_path(int which) {
  return test::shared_data_dir() + "/microns/testvectors/" +
         (which == 0 ? "W_bio_seed0.npy" : "W_orth_seed0.npy");
}

// Loads each test vector once; empty when the file is absent.
const std::vector<float>& w_test(int which) {
  static const std::vector<float> w[2] = {[] {
    const std::string p = w_path(0);
    return std::filesystem::exists(p) ? npy_load(p).to_vector<float>() : std::vector<float>{};
  }(), [] {
    const std::string p = w_path(1);
    return std::filesystem::exists(p) ? npy_load(p).to_vector<float>() : std::vector<float>{};
  }()};
  return w[which];
}

SmallWorldNull spec_null() {
  SmallWorldNull n;
  n.N = 312;
  n.n_nulls = 1000;
  n.clustering = 0.194422;
  n.efficiency = 0.590016;
  return n;
}

void BM_GraphMetricsOneMatrix(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0));
  const std::vector<float>& w = w_test(which);
  if (w.empty()) return state.SkipWithError(("no test vector at " + w_path(which)).c_str());
  const SmallWorldNull null = spec_null();
  for (auto _ : state) benchmark::DoNotOptimize(graph_metrics(w.data(), 312, null));
  state.counters["notebook_s"] = 69.0;
  state.counters["speedup_vs_notebook"] = benchmark::Counter(
      69.0 * state.iterations(), benchmark::Counter::kIsRate);
}

void BM_GraphMetricsEntropy(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0));
  const std::vector<float>& w = w_test(which);
  if (w.empty()) return state.SkipWithError(("no test vector at " + w_path(which)).c_str());
  for (auto _ : state) benchmark::DoNotOptimize(kde_entropy_bits(w.data(), w.size()));
}

void BM_GraphMetricsCnm(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0));
  const std::vector<float>& w = w_test(which);
  if (w.empty()) return state.SkipWithError(("no test vector at " + w_path(which)).c_str());
  std::vector<float> a(w);
  for (float& v : a) v = std::fabs(v);
  const double t = quantile_linear(a.data(), a.size(), 0.9);
  const std::vector<uint8_t> adj = threshold_graph(w.data(), 312, t, nullptr);
  for (auto _ : state) benchmark::DoNotOptimize(greedy_modularity_communities(adj, 312));
}

void BM_SmallWorldNull(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(smallworld_null(312, n, 0));
  state.counters["nulls_per_second"] =
      benchmark::Counter(double(n) * state.iterations(), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_GraphMetricsOneMatrix)->Name("GraphMetrics/one_matrix")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GraphMetricsEntropy)->Name("GraphMetrics/entropy")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GraphMetricsCnm)->Name("GraphMetrics/cnm")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SmallWorldNull)->Name("SmallWorldNull/312")->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
