// Convolutional STDP network, layers 1-2 (models/rstdp/layers12.h): samples per second of
//  * RstdpEncode: DoG + normalization + latency coding of one 28 x 28 image;
//  * RstdpStdpLayer1 / RstdpStdpLayer2: one sequential STDP step (forward, inhibition,
//    k-WTA, update) on one encoded sample, OpenMP inside the sample over output positions;
//  * RstdpC2: frozen layers 1-2 to the C2 map, samples in parallel (OpenMP over samples).
// Arg 0 = fast path, 1 = the per-step reference (same results, slow). Second arg: threads.
// Five repetitions each; the "_min" rows (fastest repetition) are the ones to compare on a
// shared machine, and fast vs reference only as a ratio within one run.
// Inputs: the first 512 Fashion-MNIST training images when installed, else synthetic ones.
// Peers on this machine kind (spec issue 20, samples/s): SpykeTorch 1 thread / Spyker 2
// threads: layer-1 STDP 297 / 404, layer-2 STDP 90 / 136, inference 60 / 92.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <filesystem>

#include "models/rstdp/layers12.h"
#include "runtime/idx.h"
#include "runtime/philox.h"

using namespace rsnn;
using namespace rsnn::rstdp;

namespace {

constexpr int kImages = 512;

const std::vector<uint8_t>& images() {
  static const std::vector<uint8_t> imgs = [] {
    const char* path = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
    std::vector<uint8_t> v(size_t(kImages) * 784);
    if (std::filesystem::exists(path)) {
      const Tensor t = idx_load(path);
      std::copy(t.data<uint8_t>(), t.data<uint8_t>() + v.size(), v.begin());
    } else {
      // Synthetic stand-ins: bright random rectangles.
      for (int i = 0; i < kImages; ++i)
        for (int r = 0; r < 4; ++r) {
          const int y0 = int(philox::u32(i, 1, 4 * r) % 20), x0 = int(philox::u32(i, 1, 4 * r + 1) % 20);
          for (int y = y0; y < y0 + 6; ++y)
            for (int x = x0; x < x0 + 6; ++x) v[size_t(i) * 784 + y * 28 + x] = 200;
        }
    }
    return v;
  }();
  return imgs;
}

const std::vector<Wave>& waves() {
  static const std::vector<Wave> w = encode_images(images().data(), kImages, 28, 28);
  return w;
}

// Layers whose layer 1 had 1000 STDP steps (so layer 2 sees learned, sparser C1 maps).
const Layers12& trained_l1() {
  static const Layers12 L = [] {
    Layers12 l = make_layers12(1);
    for (int i = 0; i < 1000; ++i) stdp_step_layer1(l, waves()[size_t(i % kImages)]);
    return l;
  }();
  return L;
}

Path path_of(const benchmark::State& s) { return s.range(0) ? Path::reference : Path::fast; }

// On a shared machine the fastest of several repetitions is the figure closest to what the
// code costs; the mean and median are printed too.
double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

}  // namespace

static void RstdpEncode(benchmark::State& state) {
  const auto& imgs = images();
  int64_t i = 0;
  for (auto _ : state) {
    Wave w = encode_image(imgs.data() + size_t(i % kImages) * 784, 28, 28);
    benchmark::DoNotOptimize(w.t.data());
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(RstdpEncode)->Unit(benchmark::kMicrosecond)->UseRealTime()->Repetitions(5)
    ->ComputeStatistics("min", min_of);

static void RstdpStdpLayer1(benchmark::State& state) {
  omp_set_num_threads(int(state.range(1)));
  Layers12 L = make_layers12(1);
  const auto& w = waves();
  int64_t i = 0;
  for (auto _ : state) stdp_step_layer1(L, w[size_t(i++ % kImages)], path_of(state));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(RstdpStdpLayer1)->Args({0, 1})->Args({0, 2})->Args({1, 1})
    ->Unit(benchmark::kMicrosecond)->UseRealTime()->Repetitions(5)->ComputeStatistics("min", min_of);

static void RstdpStdpLayer2(benchmark::State& state) {
  omp_set_num_threads(int(state.range(1)));
  Layers12 L = trained_l1();
  const auto& w = waves();
  int64_t i = 0;
  for (auto _ : state) stdp_step_layer2(L, w[size_t(i++ % kImages)], path_of(state));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(RstdpStdpLayer2)->Args({0, 1})->Args({0, 2})->Args({1, 1})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(5)->ComputeStatistics("min", min_of);

// A batch of samples per iteration, in parallel over samples.
static void RstdpC2(benchmark::State& state) {
  const int threads = int(state.range(1));
  const Layers12& L = trained_l1();
  const auto& w = waves();
  const Path path = path_of(state);
  const int batch = path == Path::fast ? kImages : 2;
  std::vector<Wave> out(static_cast<size_t>(batch));
  for (auto _ : state) {
#pragma omp parallel for schedule(dynamic, 4) num_threads(threads)
    for (int i = 0; i < batch; ++i) out[size_t(i)] = c2_output(L, w[size_t(i)], path);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(RstdpC2)->Args({0, 1})->Args({0, 2})->Args({1, 1})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Repetitions(5)->ComputeStatistics("min", min_of);
