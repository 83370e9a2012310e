// Optimizer updates over the barrel network's parameter count (about 1.27M float32 values).
// An Adam step reads p, g, m, v and writes p, m, v: 28 bytes per float32 element, so it is
// bandwidth-bound. Adam/stream_floor moves the same bytes with trivial arithmetic (the
// floor for this machine, measured in the same run); bytes_per_second reads as bandwidth.
//   Adam/ref   plain single-threaded loop over the shared element body (the spec)
//   Adam/cpu   OpenMP + SIMD loop over the same body (what training runs)
//   Adam/cuda  grid-stride kernel; skipped without a usable device
#include <benchmark/benchmark.h>

#include "kernels/adam.h"
#include "kernels/sgd.h"
#include "runtime/random.h"

using namespace rsnn;

namespace {

constexpr double kAdamBytesPerElement = 7 * sizeof(float);  // read p g m v, write p m v

struct AdamBuffers {
  Tensor p, g, m, v;
  explicit AdamBuffers(int64_t n, Device d = Device::cpu()) {
    p = Tensor::empty({n});
    g = Tensor::empty({n});
    fill_uniform(p, 1, 0, -1, 1);
    fill_uniform(g, 1, 1, -1e-2, 1e-2);
    p = p.to(d);
    g = g.to(d);
    m = Tensor::zeros({n}, DType::f32, d);
    v = Tensor::zeros({n}, DType::f32, d);
  }
};

const kernels::AdamConfig kCfg{1e-3, 0.9, 0.999, 1e-8, 0, false, false};

void set_bytes(benchmark::State& state, int64_t n, double bytes_per_element, int64_t per_iter = 1) {
  state.counters["bytes_per_second"] = benchmark::Counter(
      double(state.iterations()) * per_iter * n * bytes_per_element,
      benchmark::Counter::kIsRate, benchmark::Counter::kIs1024);
}

void BM_AdamRef(benchmark::State& state) {
  const int64_t n = state.range(0);
  AdamBuffers b(n);
  const auto c = kernels::adam_coeffs<float>(kCfg, 10);
  for (auto _ : state) {
    kernels::adam_ref(b.p.data<float>(), b.g.data<float>(), b.m.data<float>(), b.v.data<float>(),
                      static_cast<float*>(nullptr), n, c, false, false);
    benchmark::DoNotOptimize(b.p.data<float>());
    benchmark::ClobberMemory();
  }
  set_bytes(state, n, kAdamBytesPerElement);
}

void BM_AdamCpu(benchmark::State& state) {
  const int64_t n = state.range(0);
  AdamBuffers b(n);
  const auto c = kernels::adam_coeffs<float>(kCfg, 10);
  for (auto _ : state) {
    kernels::adam_cpu(b.p.data<float>(), b.g.data<float>(), b.m.data<float>(), b.v.data<float>(),
                      nullptr, n, c, false, false);
    benchmark::DoNotOptimize(b.p.data<float>());
    benchmark::ClobberMemory();
  }
  set_bytes(state, n, kAdamBytesPerElement);
}

// Same traffic as an Adam step (4 reads, 3 writes per element), one add each.
void BM_AdamStreamFloor(benchmark::State& state) {
  const int64_t n = state.range(0);
  AdamBuffers b(n);
  float* __restrict p = b.p.data<float>();
  float* __restrict m = b.m.data<float>();
  float* __restrict v = b.v.data<float>();
  const float* __restrict g = b.g.data<float>();
  for (auto _ : state) {
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const float gi = g[i];
      p[i] += gi;
      m[i] += gi;
      v[i] += gi;
    }
    benchmark::DoNotOptimize(p);
    benchmark::ClobberMemory();
  }
  set_bytes(state, n, kAdamBytesPerElement);
}

// Launches are asynchronous: time a batch of steps per iteration, then synchronize.
void BM_AdamCuda(benchmark::State& state) {
  if (!cuda_usable()) {
    state.SkipWithError(("no usable CUDA device: " + cuda_status()).c_str());
    return;
  }
  const int64_t n = state.range(0);
  constexpr int kBatch = 20;
  AdamBuffers b(n, Device::cuda());
  Tensor none;
  int64_t step = 0;
  for (auto _ : state) {
    for (int k = 0; k < kBatch; ++k)
      kernels::adam_step_(b.p, b.g, b.m, b.v, none, ++step, kCfg);
    synchronize(Device::cuda());
  }
  set_bytes(state, n, kAdamBytesPerElement, kBatch);
}

// SGD with momentum: read p g buf, write p buf (20 bytes per float32 element).
void BM_SgdMomentumCpu(benchmark::State& state) {
  const int64_t n = state.range(0);
  AdamBuffers b(n);
  const auto c = kernels::sgd_coeffs<float>(kernels::SgdConfig{1e-2, 0.9, 0, 0, false});
  for (auto _ : state) {
    kernels::sgd_cpu(b.p.data<float>(), b.g.data<float>(), b.m.data<float>(), n, c, true, false,
                     false);
    benchmark::DoNotOptimize(b.p.data<float>());
    benchmark::ClobberMemory();
  }
  set_bytes(state, n, 5 * sizeof(float));
}

constexpr int64_t kBarrelParams = 1270000;

}  // namespace

#define RSNN_OPTIM_BENCH(fn, name) \
  BENCHMARK(fn)->Name(name)->ArgName("N")->Arg(kBarrelParams)->UseRealTime()

RSNN_OPTIM_BENCH(BM_AdamRef, "Adam/ref");
RSNN_OPTIM_BENCH(BM_AdamCpu, "Adam/cpu");
RSNN_OPTIM_BENCH(BM_AdamStreamFloor, "Adam/stream_floor");
RSNN_OPTIM_BENCH(BM_AdamCuda, "Adam/cuda");
RSNN_OPTIM_BENCH(BM_SgdMomentumCpu, "SGD/cpu");
