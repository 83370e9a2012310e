// W5 (shared/spec/performance.md): layer 3 of the R-STDP network (kernels/rstdp_layer3.h).
//  * L3TrainFast/B/threads: sequential R-STDP, the batched exact path (B samples per dense
//    product; the products split over the threads, the walk sequential);
//  * L3TrainRef: the plain per-sample reference (same decisions and weights);
//  * L3TestFast/threads, L3TestRef: the test pass (frozen weights).
// Inputs: the C2 maps of a run's c2_cache.h5 when RSNN_RSTDP_C2 names one (dataset
// "train"), else random maps with 10 % of the inputs spiked. samples/s = items_per_second.
// FLOPs of a sample as dense products over the real (unpadded) inputs: 2 * 200 * 250 *
// 14 * 14 = 19.6 MFLOP (kL3FlopsPerSample); the floor is that over the measured sgemm rate.
// A sparse (event-driven) form needs 200 adds per (spiked input, output in its window):
// 200 * 12.25 * spiked inputs on average, reported as the counter sparse_adds.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>

#include "bench/floor.h"
#include "kernels/rstdp_layer3.h"
#include "runtime/hdf5_io.h"
#include "runtime/random.h"

using namespace rsnn;
using namespace rsnn::rstdp;

namespace {

struct Maps {
  int64_t n = 0;
  std::vector<uint64_t> bits;
  std::vector<int> labels;
  double spiked = 0;  // mean spiked inputs per sample
};

const Maps& maps() {
  static Maps m = [] {
    Maps m;
    if (const char* p = std::getenv("RSNN_RSTDP_C2")) {
      const Tensor t = H5File::open_read(p).read("train");
      m.n = t.size(0);
      m.bits.resize(size_t(t.numel()));
      std::memcpy(m.bits.data(), t.data<int64_t>(), m.bits.size() * 8);
    } else {
      m.n = 2048;
      Tensor t = Tensor::empty({m.n, kL3Bits}, DType::u8);
      fill_bernoulli(t, 1, 2, 0.10);
      m.bits.resize(size_t(m.n) * kL3Words);
      for (int64_t i = 0; i < m.n; ++i) l3_pack(t.data<uint8_t>() + i * kL3Bits, &m.bits[i * kL3Words]);
    }
    m.labels.resize(size_t(m.n));
    for (int64_t i = 0; i < m.n; ++i) m.labels[i] = int((i * 7) % 10), m.spiked += l3_count(&m.bits[i * kL3Words]);
    m.spiked /= double(m.n);
    return m;
  }();
  return m;
}

void counters(benchmark::State& state, int64_t samples) {
  state.SetItemsProcessed(state.iterations() * samples);
  set_floor_counters(state, 0, kL3FlopsPerSample * double(samples));
  state.counters["spiked_inputs"] = maps().spiked;
  state.counters["sparse_adds"] = 200 * 12.25 * maps().spiked;
}

}  // namespace

static void L3TrainFast(benchmark::State& state) {
  const Maps& m = maps();
  const int64_t n = std::min<int64_t>(m.n, 1024);
  Layer3Fast fast(make_layer3(1), int(state.range(0)));
  fast.set_threads(int(state.range(1)));
  const RStdpRates rates = adapt_rates(0.5, 0.4);
  fast.train(m.bits.data(), m.labels.data(), n, rates);  // past the start, when weights are alike
  for (auto _ : state) benchmark::DoNotOptimize(fast.train(m.bits.data(), m.labels.data(), n, rates));
  counters(state, n);
}
BENCHMARK(L3TrainFast)->Args({16, 1})->Args({32, 1})->Args({64, 1})->Args({32, 2})->Args({64, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

static void L3TrainRef(benchmark::State& state) {
  const Maps& m = maps();
  const int64_t n = 32;
  Layer3 l3 = make_layer3(1);
  const RStdpRates rates = adapt_rates(0.5, 0.4);
  for (auto _ : state) benchmark::DoNotOptimize(l3_train_ref(l3, m.bits.data(), m.labels.data(), n, rates));
  counters(state, n);
}
BENCHMARK(L3TrainRef)->Unit(benchmark::kMillisecond)->UseRealTime();

static void L3TestFast(benchmark::State& state) {
  const Maps& m = maps();
  const int64_t n = std::min<int64_t>(m.n, 2048);
  const Layer3Fast fast(make_layer3(1), 64);
  for (auto _ : state) benchmark::DoNotOptimize(fast.infer(m.bits.data(), n, int(state.range(0))));
  counters(state, n);
}
BENCHMARK(L3TestFast)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

static void L3TestRef(benchmark::State& state) {
  const Maps& m = maps();
  const int64_t n = 32;
  const Layer3 l3 = make_layer3(1);
  for (auto _ : state) benchmark::DoNotOptimize(l3_infer_ref(l3, m.bits.data(), n));
  counters(state, n);
}
BENCHMARK(L3TestRef)->Unit(benchmark::kMillisecond)->UseRealTime();
