// Building sparse projections from connection probabilities (kernels/projection.h).
// Counters: synapses/s; structure bytes and bytes per synapse (both CSR orders, syn_of_pre,
// signs); peak_bytes = high-water mark of pooled CPU memory during the build (the structure
// plus the sampling and transpose scratch). Times are wall-clock (the builds use OpenMP).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/projection.h"
#include "runtime/device.h"
#include "runtime/threads.h"

namespace {

using rsnn::DType;
using rsnn::Tensor;

// The barrel network of shared/spec/barrel-cortex-rsnn.md §1.1-1.2: [thalamus (200), the 13
// populations], with the tables' values rounded as the spec prints them (timing only; the
// tests use the exact .npy tables).
rsnn::ProjectionSpec barrel_spec() {
  const std::vector<int64_t> size = {440, 934, 94, 93, 2232, 106, 4, 55, 64, 64, 34, 60, 38};
  const std::vector<int> sign = {1, 1, -1, -1, 1, -1, -1, -1, -1, -1, -1, -1, -1};
  const double thal[13] = {0.079436983, 0.084066576, 0.099371373, 0.089002933, 0.00074332,
                           0.000814751, 0.0, 0.002024793, 0.0, 0.000994318, 0.000467914,
                           0.000151515, 0.000478469};
  // Exc + Inh, rows = presynaptic population.
  const double rec[13][13] = {
      {0.05419, 0.03873, 0.06654, 0.06053, 0.13816, 0.23838, 0.25739, 0.20446, 0, 0.19858, 0.21517, 0.22489, 0.09408},
      {0.08064, 0.03791, 0.10978, 0.34261, 0.11641, 0.16802, 0.18175, 0.13475, 0, 0.13795, 0.13601, 0.13389, 0.09309},
      {0.38286, 0.02857, 0.33884, 0.13532, 0.01205, 0.00743, 0.00266, 0, 0, 0.00598, 0.00688, 0.00266, 0.00560},
      {0.35968, 0.01862, 0.15569, 0.26512, 0, 0, 0, 0, 0, 0, 0, 0, 0},
      {0, 0, 0, 0, 0.06103, 0.21160, 0.20284, 0.06780, 0.19411, 0.06286, 0.05778, 0.05859, 0.17803},
      {0, 0, 0, 0, 0.29675, 0.26424, 0.24292, 0, 0, 0.11645, 0.11681, 0.08711, 0.17751},
      {0, 0, 0, 0, 0.25773, 0.18632, 0.25000, 0, 0, 0.13281, 0.10294, 0.04583, 0.11842},
      {0, 0, 0, 0, 0.10632, 0.07221, 0.06818, 0.10380, 0.10511, 0.11023, 0, 0.08424, 0.07321},
      {0, 0, 0, 0, 0.20618, 0.23143, 0.16797, 0.22756, 0, 0.20801, 0.21921, 0.23568, 0.15872},
      {0, 0, 0, 0, 0.13961, 0.13517, 0.14062, 0.08608, 0.23486, 0.11719, 0.12224, 0.13125, 0.12253},
      {0, 0, 0, 0, 0.03800, 0.09878, 0.06618, 0, 0.23483, 0.11535, 0.11419, 0.13333, 0.11842},
      {0, 0, 0, 0, 0.04574, 0.06714, 0.03333, 0.15394, 0.15651, 0.15833, 0.15539, 0.06000, 0.16096},
      {0, 0, 0, 0, 0.08369, 0.09508, 0.07237, 0.07177, 0.08470, 0.09416, 0.17028, 0.11447, 0.15928}};
  rsnn::PopulationLayout L{{"thalamus"}, {200}, {1}};
  for (int k = 0; k < 13; ++k) {
    L.names.push_back("pop" + std::to_string(k));
    L.sizes.push_back(size[k]);
    L.signs.push_back(sign[k]);
  }
  std::vector<double> prob(14 * 14, 0.0);
  for (int h = 0; h < 13; ++h) prob[h + 1] = thal[h];
  for (int g = 0; g < 13; ++g)
    for (int h = 0; h < 13; ++h) prob[(g + 1) * 14 + h + 1] = rec[g][h];
  rsnn::ProjectionSpec s;
  s.pre = s.post = L;
  s.prob = Tensor::from_vector(prob, {14, 14});
  s.same_network = true;
  s.seed = 515;
  return s;
}

rsnn::ProjectionSpec uniform_spec(int64_t n, double p) {
  rsnn::ProjectionSpec s;
  s.pre = s.post = {{"all"}, {n}, {1}};
  s.prob = Tensor::from_vector(std::vector<double>{p}, {1, 1});
  s.same_network = true;
  s.seed = 1;
  return s;
}

size_t structure_bytes(const rsnn::Projection& p) {
  return p.post_ptr.nbytes() + p.pre_idx.nbytes() + p.pre_ptr.nbytes() + p.post_idx.nbytes() +
         p.syn_of_pre.nbytes() + p.source_sign.nbytes();
}

void run_build(benchmark::State& state, const rsnn::ProjectionSpec& spec) {
  const rsnn::Device cpu = rsnn::Device::cpu();
  const size_t base = rsnn::pool_stats(cpu).bytes_in_use;
  rsnn::pool_reset_peak(cpu);
  int64_t nnz = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    rsnn::Projection p = rsnn::build_projection(spec);
    nnz = p.nnz();
    bytes = structure_bytes(p);
    benchmark::DoNotOptimize(p.pre_idx.raw());
  }
  const double peak = static_cast<double>(rsnn::pool_stats(cpu).peak_bytes_in_use - base);
  state.counters["synapses"] = static_cast<double>(nnz);
  state.counters["synapses/s"] = benchmark::Counter(static_cast<double>(nnz) * state.iterations(),
                                                    benchmark::Counter::kIsRate);
  state.counters["structure_bytes"] = static_cast<double>(bytes);
  state.counters["bytes/synapse"] = nnz ? static_cast<double>(bytes) / nnz : 0.0;
  state.counters["peak_bytes"] = peak;
  state.counters["peak_bytes/synapse"] = nnz ? peak / nnz : 0.0;
  state.counters["threads"] = rsnn::num_threads();
  rsnn::pool_empty_cache(cpu);
}

void BM_BuildBarrel(benchmark::State& state) { run_build(state, barrel_spec()); }
BENCHMARK(BM_BuildBarrel)->Name("ProjectionBuild/barrel")->Unit(benchmark::kMillisecond)->UseRealTime();

// One group of N neurons with p = nnz / N^2.
void BM_BuildUniform(benchmark::State& state, int64_t n, int64_t nnz) {
  run_build(state, uniform_spec(n, static_cast<double>(nnz) / (static_cast<double>(n) * n)));
}
BENCHMARK_CAPTURE(BM_BuildUniform, 100k_10M, 100000, 10000000)
    ->Name("ProjectionBuild/N:100000/nnz:10M")
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_BuildUniform, 1M_10M, 1000000, 10000000)
    ->Name("ProjectionBuild/N:1000000/nnz:10M")
    ->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_BuildUniform, 1M_100M, 1000000, 100000000)
    ->Name("ProjectionBuild/N:1000000/nnz:100M")
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- transpose variants (the post-major -> pre-major step of every build) ----------------

// Variant 1: one-pass counting sort (per-thread cursors per source neuron, then a scatter of
// every synapse to its source row): simple, but each write lands in a random one of n_pre
// rows. Variant 2 (the library's, detail::build_pre_major): bucket pass + in-cache sort.
void transpose_one_pass(rsnn::Projection& p) {
  const int64_t n_pre = p.n_pre, n_post = p.n_post, nnz = p.nnz();
  const int64_t* post_ptr = p.post_ptr.data<int64_t>();
  const int32_t* pre_idx = p.pre_idx.data<int32_t>();
  p.pre_ptr = Tensor::empty({n_pre + 1}, DType::i64);
  p.post_idx = Tensor::empty({nnz}, DType::i32);
  p.syn_of_pre = Tensor::empty({nnz}, DType::i64);
  int64_t* pre_ptr = p.pre_ptr.data<int64_t>();
  int32_t* post_idx = p.post_idx.data<int32_t>();
  int64_t* syn_of_pre = p.syn_of_pre.data<int64_t>();
  const int parts = rsnn::num_threads();
  std::vector<int64_t> bounds(parts + 1, n_post);
  for (int k = 0; k < parts; ++k)
    bounds[k] = std::lower_bound(post_ptr, post_ptr + n_post + 1, nnz / parts * k) - post_ptr;
  std::vector<int32_t> cursor(static_cast<size_t>(parts) * n_pre, 0);
#pragma omp parallel for schedule(static, 1)
  for (int k = 0; k < parts; ++k)
    for (int64_t s = post_ptr[bounds[k]]; s < post_ptr[bounds[k + 1]]; ++s) ++cursor[k * n_pre + pre_idx[s]];
  pre_ptr[0] = 0;
  for (int64_t i = 0; i < n_pre; ++i) {
    int32_t sum = 0;
    for (int k = 0; k < parts; ++k) {
      const int32_t c = cursor[k * n_pre + i];
      cursor[k * n_pre + i] = sum;
      sum += c;
    }
    pre_ptr[i + 1] = pre_ptr[i] + sum;
  }
#pragma omp parallel for schedule(static, 1)
  for (int k = 0; k < parts; ++k)
    for (int64_t j = bounds[k]; j < bounds[k + 1]; ++j)
      for (int64_t s = post_ptr[j]; s < post_ptr[j + 1]; ++s) {
        const int32_t i = pre_idx[s];
        const int64_t e = pre_ptr[i] + cursor[k * n_pre + i]++;
        post_idx[e] = static_cast<int32_t>(j);
        syn_of_pre[e] = s;
      }
}

template <class T>
bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.numel() == b.numel() &&
         std::memcmp(a.data<T>(), b.data<T>(), static_cast<size_t>(a.numel()) * sizeof(T)) == 0;
}

void BM_Transpose(benchmark::State& state, int variant, int64_t n, int64_t nnz) {
  rsnn::Projection p = rsnn::build_projection(uniform_spec(n, double(nnz) / (double(n) * n)));
  const rsnn::Projection expected = p;  // built by the library's transpose
  rsnn::Projection work = p;
  if (variant == 1) transpose_one_pass(work); else rsnn::detail::build_pre_major(work);
  if (!same_bytes<int64_t>(work.pre_ptr, expected.pre_ptr) ||
      !same_bytes<int32_t>(work.post_idx, expected.post_idx) ||
      !same_bytes<int64_t>(work.syn_of_pre, expected.syn_of_pre)) {
    state.SkipWithError("transpose variant disagrees with the library");
    return;
  }
  for (auto _ : state) {
    if (variant == 1) transpose_one_pass(work); else rsnn::detail::build_pre_major(work);
    benchmark::DoNotOptimize(work.post_idx.raw());
  }
  // Reads pre_idx + post_ptr, writes post_idx + syn_of_pre + pre_ptr (at least once each).
  const double bytes = 16.0 * p.nnz() + 16.0 * (n + 1);
  state.counters["synapses/s"] = benchmark::Counter(double(p.nnz()) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["bytes/s"] = benchmark::Counter(bytes * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_Transpose, 1, 1, 1000000, 100000000)
    ->Name("ProjectionTranspose/one_pass/N:1000000/nnz:100M")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Transpose, 2, 2, 1000000, 100000000)
    ->Name("ProjectionTranspose/bucketed/N:1000000/nnz:100M")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Transpose, 1, 1, 100000, 10000000)
    ->Name("ProjectionTranspose/one_pass/N:100000/nnz:10M")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_Transpose, 2, 2, 100000, 10000000)
    ->Name("ProjectionTranspose/bucketed/N:100000/nnz:10M")->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
