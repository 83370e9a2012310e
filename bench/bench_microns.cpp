// MICrONS training speed against its GEMM floor (1 thread: the sweep runs one run per core).
//
//   ReluRnnStep: one forward + BPTT backward of the fused ReLU RNN at the task-1 shape
//     (T 50, B 128, n_in 8, N 312), vs the same sgemm calls alone (`gemm_floor_ratio`).
//   MicronsRun/<variant>: one whole train_run on field 6_6_2 (10 epochs x 40 batches of 128 +
//     test evaluation), vs the sgemm calls of its RNN work alone; `reg_cpu_s` is the CPU time the
//     regularizer (value + gradient) takes for the 400 steps, measured separately.
// Reads ../shared/data/microns/6_6_2 (RSNN_SHARED_DATA overrides the folder); skipped without it.
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <omp.h>

#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "kernels/relu_rnn.h"
#include "models/microns/train.h"
#include "runtime/random.h"
#include "tests/shared_data.h"

using namespace rsnn;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

void one_thread() {
  omp_set_num_threads(1);
  openblas_set_num_threads(1);
}

// The sgemm calls of one training step (forward + backward) at batch B, or of a forward only.
struct GemmShapes {
  int T, B, I, N;
  double flops(bool backward) const {
    const double rec = 2.0 * B * N * double(N) * (T - 1), in = 2.0 * T * B * double(I) * N;
    return backward ? 3 * rec + 2 * in : rec + in;
  }
};

// Best wall and CPU seconds of the GEMM sequence over `reps` repetitions (the machine may be
// shared: CPU time is the floor's fair measure then).
struct Secs {
  double wall, cpu;
};
Secs time_gemms(const GemmShapes& s, bool backward, int reps) {
  const int64_t TB = int64_t(s.T) * s.B;
  std::vector<float> H(TB * s.N, 0.01f), G(TB * s.N, 0.01f), W(size_t(s.N) * s.N, 0.001f),
      Wi(size_t(s.I) * s.N, 0.1f), x(TB * s.I, 1.f), dW(W.size()), dWi(Wi.size());
  Secs best{1e30, 1e30};
  for (int r = 0; r < reps; ++r) {
    const double t0 = now_s(), c0 = cpu_s();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, TB, s.N, s.I, 1, x.data(), s.I,
                Wi.data(), s.N, 1, H.data(), s.N);
    for (int t = 1; t < s.T; ++t)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.B, s.N, s.N, 1,
                  H.data() + (t - 1) * s.B * s.N, s.N, W.data(), s.N, 1,
                  H.data() + t * s.B * s.N, s.N);
    if (backward) {
      for (int t = s.T - 1; t > 0; --t)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s.B, s.N, s.N, 1,
                    G.data() + t * s.B * s.N, s.N, W.data(), s.N, 0,
                    G.data() + (t - 1) * s.B * s.N, s.N);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s.N, s.N, TB - s.B, 1, H.data(), s.N,
                  G.data() + s.B * s.N, s.N, 1, dW.data(), s.N);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s.I, s.N, TB, 1, x.data(), s.I,
                  G.data(), s.N, 1, dWi.data(), s.N);
    }
    best.wall = std::min(best.wall, now_s() - t0);
    best.cpu = std::min(best.cpu, cpu_s() - c0);
  }
  benchmark::DoNotOptimize(dW.data());
  return best;
}

void BM_ReluRnnStep(benchmark::State& state) {
  one_thread();
  const kernels::ReluRnnDims d{50, 128, 8, 312};
  Tensor x = Tensor::empty({d.T, d.B, d.n_in}), Wi = Tensor::empty({d.n_in, d.N}),
         Wr = Tensor::empty({d.N, d.N}), b = Tensor::zeros({d.N}), dl = Tensor::empty({d.B, d.N});
  fill_uniform(x, 1, 1, 0, 1);
  fill_uniform(Wi, 1, 2, -0.3, 0.3);
  fill_normal(Wr, 1, 3, 0, 1.0 / std::sqrt(312.0));
  fill_normal(dl, 1, 4, 0, 1);
  for (auto _ : state) {
    const Tensor H = kernels::relu_rnn_forward(x, Wi, Wr, b);
    Tensor dWi, dWr, db;
    kernels::relu_rnn_backward(nullptr, &dWi, &dWr, &db, Tensor(), dl, x, Wi, Wr, H);
    benchmark::DoNotOptimize(dWr.raw());
  }
  const GemmShapes s{int(d.T), int(d.B), int(d.n_in), int(d.N)};
  state.counters["GFLOP"] = s.flops(true) / 1e9;
  const Secs f = time_gemms(s, true, 5);
  state.counters["gemm_floor_ms"] = f.wall * 1e3;
  state.counters["gemm_floor_cpu_ms"] = f.cpu * 1e3;
}
BENCHMARK(BM_ReluRnnStep)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

void BM_MicronsRun(benchmark::State& state, const char* variant) {
  one_thread();
  const std::string root = test::shared_data_dir() + "/microns";
  if (!std::filesystem::is_directory(root + "/6_6_2"))
    return state.SkipWithError((root + "/6_6_2 is absent: set RSNN_SHARED_DATA").c_str());
  microns::LoadOptions o;
  o.positions_path = root + "/6_6_2_derived/positions_plain_int64_Nx3.npy";
  static const microns::Field f = microns::load_field(root + "/6_6_2", o);
  microns::FieldCache cache(f);
  microns::TrainConfig c;
  c.variant = variant;
  cache.bio(c.bio, c.seed, c.sim);  // per-field precomputation, shared by a sweep's runs
  microns::TrainResult r;
  double run_cpu = 0;
  for (auto _ : state) {
    const double c0 = cpu_s();
    r = microns::train_run(cache, c, Device::cpu());
    run_cpu = cpu_s() - c0;
  }
  const GemmShapes tr{50, 128, 8, 312}, ev{50, 512, 8, 312};
  const Secs ft = time_gemms(tr, true, 3), fe = time_gemms(ev, false, 2);
  state.counters["GFLOP"] = (400 * tr.flops(true) + 50 * ev.flops(false)) / 1e9;
  state.counters["gemm_floor_s"] = 400 * ft.wall + 50 * fe.wall;
  state.counters["gemm_floor_cpu_s"] = 400 * ft.cpu + 50 * fe.cpu;
  state.counters["run_cpu_s"] = run_cpu;
  // The regularizer's own cost: value + gradient at the final W, 20 calls scaled to 400.
  microns::RegSpec spec;
  spec.kind = microns::variant(variant).reg;
  spec.N = f.N;
  if (microns::variant(variant).dist == microns::DistKind::grid) spec.D = cache.grid_distances();
  if (microns::variant(variant).dist == microns::DistKind::star)
    spec.D = cache.star_distances(microns::StarCoords::coded);
  if (spec.kind == microns::RegKind::wdc_emd) spec.emp_sorted = cache.empirical_sorted();
  std::vector<float> dW(r.W_rec.size());
  const double t0 = cpu_s();
  for (int i = 0; i < 20; ++i) microns::regularizer_value(spec, r.W_rec.data(), dW.data());
  state.counters["reg_cpu_s"] = (cpu_s() - t0) * 20;
  state.counters["accuracy"] = r.accuracy;
  state.counters["val_accuracy"] = r.val_accuracy;
}
BENCHMARK_CAPTURE(BM_MicronsRun, WD, "WD")->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
BENCHMARK_CAPTURE(BM_MicronsRun, WDC, "WDC")->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);
BENCHMARK_CAPTURE(BM_MicronsRun, WsDsC, "W*D*C")->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

}  // namespace
