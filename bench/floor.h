// Floors for the benchmarks, measured in the same process (never taken from another day):
// the machine's copy bandwidth and its sgemm rate. A kernel's floor is the larger of
// bytes / bandwidth and flops / gemm rate; `floor_ratio` = measured time / floor (1 is
// perfect, 2 means twice as slow as the floor allows).
//
// Usage in a benchmark:
//   for (auto _ : state) { ... }
//   rsnn::bench::set_floor_counters(state, bytes_per_iteration, flops_per_iteration);
// and register it with ->UseRealTime() (rates are per wall-clock second, so multi-threaded
// kernels are not credited with every thread's CPU time).
#pragma once
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>

namespace rsnn::bench {

namespace floor_detail {
template <class F>
double best_seconds(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  return best;
}
}  // namespace floor_detail

// Copy bandwidth in GB/s (1e9 bytes/s), counting bytes read plus bytes written (the STREAM
// "copy" convention): the best of 5 copies of a 256 MB buffer, split over the OpenMP
// threads. Measured once per process.
inline double measured_copy_bandwidth_gbs() {
  static const double gbs = [] {
    const size_t bytes = size_t(256) << 20;
    std::unique_ptr<char[]> src(new char[bytes]), dst(new char[bytes]);
    const int64_t chunks = 256;
    const size_t chunk = bytes / chunks;
    auto copy = [&](char value, bool init) {
#pragma omp parallel for schedule(static)
      for (int64_t c = 0; c < chunks; ++c) {
        if (init) {  // first touch by the thread that copies it later
          std::memset(src.get() + c * chunk, value, chunk);
          std::memset(dst.get() + c * chunk, 0, chunk);
        } else {
          std::memcpy(dst.get() + c * chunk, src.get() + c * chunk, chunk);
        }
      }
    };
    copy(1, true);
    const double s = floor_detail::best_seconds(5, [&] { copy(0, false); });
    benchmark::DoNotOptimize(dst.get());
    return 2.0 * static_cast<double>(bytes) / s / 1e9;
  }();
  return gbs;
}

// sgemm rate in GFLOP/s (2 n^3 flops per n x n product): the best of 3 OpenBLAS sgemm calls
// with n = 2048, after one warm-up call. Measured once per process.
inline double measured_sgemm_gflops() {
  static const double gflops = [] {
    const int n = 2048;
    const size_t nn = size_t(n) * n;
    std::unique_ptr<float[]> a(new float[nn]), b(new float[nn]), c(new float[nn]);
    for (size_t i = 0; i < nn; ++i) {
      a[i] = static_cast<float>(i % 7) * 0.1f;
      b[i] = static_cast<float>(i % 5) * 0.2f;
    }
    auto gemm = [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.get(), n, b.get(), n,
                  0.0f, c.get(), n);
    };
    gemm();
    const double s = floor_detail::best_seconds(3, gemm);
    benchmark::DoNotOptimize(c.get());
    return 2.0 * n * double(n) * n / s / 1e9;
  }();
  return gflops;
}

// The floor time of one iteration that moves `bytes` and performs `flops`, in seconds.
inline double floor_seconds(double bytes, double flops) {
  return std::max(bytes / (measured_copy_bandwidth_gbs() * 1e9),
                  flops / (measured_sgemm_gflops() * 1e9));
}

// Counters per iteration: bytes/s, FLOP/s (when flops > 0), and floor_ratio = measured time
// per iteration / floor_seconds(bytes, flops). Call after the timing loop. (floor_ratio is
// derived from an inverted rate, so Google Benchmark prints it with an "s" suffix; it is a
// plain ratio.)
inline void set_floor_counters(benchmark::State& state, double bytes, double flops) {
  using benchmark::Counter;
  state.counters["bytes/s"] = Counter(bytes, Counter::kIsIterationInvariantRate, Counter::kIs1000);
  if (flops > 0)
    state.counters["FLOP/s"] = Counter(flops, Counter::kIsIterationInvariantRate, Counter::kIs1000);
  // value * iterations / seconds, inverted: seconds per iteration / floor.
  state.counters["floor_ratio"] =
      Counter(floor_seconds(bytes, flops),
              static_cast<Counter::Flags>(Counter::kIsIterationInvariantRate | Counter::kInvert));
}

}  // namespace rsnn::bench

// The names are also visible unqualified (and as rsnn::...): benchmark files are small
// programs, and suites written against the bare names compile as they are.
namespace rsnn {
using bench::floor_seconds;
using bench::measured_copy_bandwidth_gbs;
using bench::measured_sgemm_gflops;
using bench::set_floor_counters;
}  // namespace rsnn
using rsnn::bench::floor_seconds;
using rsnn::bench::measured_copy_bandwidth_gbs;
using rsnn::bench::measured_sgemm_gflops;
using rsnn::bench::set_floor_counters;
