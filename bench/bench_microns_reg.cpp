// MICrONS WDC regularizer cost at N = 312 (one call per training step): expm alone, expm
// with one Fréchet derivative (Al-Mohy & Higham), the 2N block method, the whole WDC value
// and gradient, and one dgemm of the same size (the floor). Counters: FLOP/s of the
// matrix products each method performs (2N^3 per product; the LU and its solves counted as
// 2/3 N^3 and 2N^3 flops), and gemm_equiv = time / the time of one dgemm of size N timed
// right after each iteration.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <time.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "kernels/expm.h"
#include "models/microns/distances.h"
#include "models/microns/regularizers.h"

namespace {

constexpr int kN = 312;

// M = S |W| S as WDC builds it, from a W drawn like Keras's orthogonal init (entries ~ 1/sqrt(N)).
std::vector<float> bench_weights() {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> g(0.0, 1.0 / std::sqrt(double(kN)));
  std::vector<float> W(size_t(kN) * kN);
  for (float& w : W) w = float(g(rng));
  return W;
}

std::vector<double> bench_M() {
  const std::vector<float> W = bench_weights();
  std::vector<double> s(kN, 0.0), M(W.size());
  for (int i = 0; i < kN; ++i)
    for (int j = 0; j < kN; ++j) s[i] += std::fabs(W[i * kN + j]);
  for (int i = 0; i < kN; ++i)
    for (int j = 0; j < kN; ++j) M[i * kN + j] = std::fabs(W[i * kN + j]) / std::sqrt(s[i] * s[j]);
  return M;
}

// Process CPU time in seconds: on a shared, oversubscribed machine wall time mostly
// measures the other tenants (wall was 3x CPU here), CPU time does not. Run with
// OPENBLAS_NUM_THREADS=1, or idle BLAS threads' spinning is counted too.
double cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// Runs `work` per iteration and one dgemm of size N right after it, timing both by hand in
// CPU time, so the ratio gemm_equiv = time(work) / time(dgemm) is taken over the same time
// window rather than against a dgemm measured earlier.
template <class F>
void run_against_dgemm(benchmark::State& state, F&& work) {
  std::vector<double> A(size_t(kN) * kN, 0.5), B(A), C(A.size());
  double work_s = 0.0, gemm_s = 0.0;
  for (auto _ : state) {
    const double t0 = cpu_seconds();
    work();
    const double t1 = cpu_seconds();
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kN, kN, kN, 1.0, A.data(), kN,
                B.data(), kN, 0.0, C.data(), kN);
    benchmark::DoNotOptimize(C.data());
    const double t2 = cpu_seconds();
    const double w = t1 - t0;
    work_s += w;
    gemm_s += t2 - t1;
    state.SetIterationTime(w);
  }
  state.counters["gemm_equiv"] = work_s / gemm_s;
  state.counters["dgemm_GFLOP/s"] =
      2.0 * kN * double(kN) * kN * double(state.iterations()) / gemm_s / 1e9;
}

// products counted as in expm.cpp: even powers, the degree-13 combinations, U, the LU and
// solve, the squarings; the derivative adds its M_2k, six combinations, Lu, (Lu-Lv)R, a
// solve and two products per squaring.
template <class T>
double expm_flops(const rsnn::ExpmFrechetT<T>& e, bool with_derivative) {
  const double p = 2.0 * kN * double(kN) * kN;
  const int m = e.degree(), s = e.squarings();
  const int K = m == 13 ? 3 : (m - 1) / 2;
  double products = K + (m == 13 ? 2 : 0) + 1 + s + 1.0 / 3 + 1;
  if (with_derivative) products += 2 * K + (m == 13 ? 4 : 0) + 2 + 1 + 1 + 2 * s;
  return products * p;
}

void set_flops(benchmark::State& state, double flops) {
  state.counters["FLOP/s"] = benchmark::Counter(flops * double(state.iterations()),
                                                benchmark::Counter::kIsRate);
}

void BM_MicronsDgemm(benchmark::State& state) {
  const std::vector<double> A = bench_M(), B = A;
  std::vector<double> C(A.size());
  run_against_dgemm(state, [&] {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kN, kN, kN, 1.0, A.data(), kN,
                B.data(), kN, 0.0, C.data(), kN);
    benchmark::DoNotOptimize(C.data());
  });
  set_flops(state, 2.0 * kN * double(kN) * kN);
}

void BM_MicronsExpm(benchmark::State& state) {
  const std::vector<double> M = bench_M();
  rsnn::ExpmFrechet reused;
  run_against_dgemm(state, [&] {
    reused.compute(M.data(), kN, rsnn::PadeRule::expm);
    benchmark::DoNotOptimize(reused.value().data());
  });
  const rsnn::ExpmFrechet e(M.data(), kN, rsnn::PadeRule::expm);
  set_flops(state, expm_flops(e, false));
  state.counters["degree"] = e.degree();
  state.counters["squarings"] = e.squarings();
}

void BM_MicronsExpmFrechet(benchmark::State& state) {
  const std::vector<double> M = bench_M();
  std::vector<double> G(M.size(), 1e-3), L(M.size());
  rsnn::ExpmFrechet reused;  // as the regularizer keeps one per thread
  run_against_dgemm(state, [&] {
    reused.compute(M.data(), kN);
    reused.frechet(G.data(), L.data());
    benchmark::DoNotOptimize(L.data());
  });
  const rsnn::ExpmFrechet e(M.data(), kN);
  set_flops(state, expm_flops(e, true));
  state.counters["degree"] = e.degree();
  state.counters["squarings"] = e.squarings();
}

// The original's computation: float32 with tf.linalg.expm's degree rule (Padé 5 at this
// matrix's norm), one derivative.
void BM_MicronsExpmFrechetF32(benchmark::State& state) {
  const std::vector<double> Md = bench_M();
  const std::vector<float> M(Md.begin(), Md.end());
  std::vector<float> G(M.size(), 1e-3f), L(M.size());
  rsnn::ExpmFrechetF reused;
  run_against_dgemm(state, [&] {
    reused.compute(M.data(), kN, rsnn::PadeRule::tensorflow_float32);
    reused.frechet(G.data(), L.data());
    benchmark::DoNotOptimize(L.data());
  });
  const rsnn::ExpmFrechetF e(M.data(), kN, rsnn::PadeRule::tensorflow_float32);
  set_flops(state, expm_flops(e, true));
  state.counters["degree"] = e.degree();
  state.counters["squarings"] = e.squarings();
}

void BM_MicronsExpmFrechetBlock(benchmark::State& state) {
  const std::vector<double> M = bench_M();
  std::vector<double> G(M.size(), 1e-3), F(M.size()), L(M.size());
  run_against_dgemm(state, [&] {
    rsnn::expm_frechet_block(M.data(), G.data(), kN, F.data(), L.data());
    benchmark::DoNotOptimize(L.data());
  });
}

void BM_MicronsWdcValueAndGradient(benchmark::State& state) {
  rsnn::microns::RegSpec spec;
  spec.kind = rsnn::microns::RegKind::wdc;
  spec.N = kN;
  spec.D = rsnn::microns::distance_grid(12, 13, 2);
  const std::vector<float> W = bench_weights();
  std::vector<float> dW(W.size());
  run_against_dgemm(state, [&] {
    benchmark::DoNotOptimize(rsnn::microns::regularizer_value(spec, W.data(), dW.data()));
  });
}

}  // namespace

BENCHMARK(BM_MicronsDgemm)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MicronsExpm)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MicronsExpmFrechet)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MicronsExpmFrechetF32)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MicronsExpmFrechetBlock)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MicronsWdcValueAndGradient)->UseManualTime()->Unit(benchmark::kMillisecond);
