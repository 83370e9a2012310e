// The dense kernels' argument checks, edge cases (ties, NaN, overflow) and thread behaviour:
// sums bit-identical for any thread count, the BLAS thread guard, row claims, FP modes.
// Numerical parity of every kernel against the reference is in test_dense_kernels.cpp.
#include <cblas.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "kernels/copy_columns.h"
#include "kernels/elementwise.h"
#include "kernels/linear.h"
#include "kernels/loss.h"
#include "kernels/reduce.h"
#include "kernels/softmax.h"
#include "runtime/fp_mode.h"
#include "runtime/random.h"
#include "runtime/threads.h"
#include "test_util.h"

using namespace rsnn;
namespace k = rsnn::kernels;

using rsnn::test::expect_error;

// ---- argument checks -------------------------------------------------------------------

namespace {
Tensor f32(const Shape& s) { return Tensor::zeros(s, DType::f32); }
Tensor f64(const Shape& s) { return Tensor::zeros(s, DType::f64); }
}  // namespace

TEST(DenseKernelErrors, ShapesDtypesAndLabels) {
  Tensor out;
  expect_error([&] { k::linear_forward(out, f32({4, 3}), f32({2, 5}), nullptr); }, "expects K = 5");
  expect_error([&] { k::linear_forward(out, f32({4, 3}), f64({2, 3}), nullptr); }, "dtypes differ");
  Tensor bias = f32({3});
  expect_error([&] { k::linear_forward(out, f32({4, 3}), f32({2, 3}), &bias); }, "bias");
  Tensor wrong = f32({4, 7});
  expect_error(
      [&] {
        k::linear_forward(wrong, f32({4, 3}), f32({2, 3}), nullptr);
      },
      "out has shape [4, 7], expected [4, 2]");
  Tensor ints = Tensor::zeros({4, 3}, DType::i32);
  expect_error([&] { k::linear_forward(out, ints, f32({2, 3}), nullptr); }, "float32 or float64");
  Tensor dx;
  expect_error(
      [&] {
        k::linear_backward(&dx, nullptr, nullptr, f32({4, 2}), f32({4, 3}), f32({5, 3}));
      },
      "weight");

  Tensor c;
  expect_error([&] { k::matmul(c, f32({4, 3}), f32({4, 3})); }, "inner dimensions differ");
  Tensor y;
  expect_error([&] { k::matvec(y, f32({4, 3}), f32({4})); }, "x has 4 elements");
  expect_error([&] { k::matvec(y, f32({4, 3}), f32({3, 1})); }, "x a vector");
  expect_error(
      [&] {
        k::binary_forward(k::BinaryOp::add, out, f32({2, 3}), f32({2}));
      },
      "do not broadcast");
  expect_error(
      [&] {
        k::binary_forward(k::BinaryOp::mul, out, f32({3}), f32({2, 4}));
      },
      "do not broadcast");
  Tensor o2;
  EXPECT_NO_THROW(k::binary_forward(k::BinaryOp::add, o2, f32({3}), f32({2, 1, 3})));
  EXPECT_EQ(o2.shape(), (Shape{2, 1, 3}));
  expect_error([&] { k::unary_backward(k::UnaryOp::log, dx, f32({3}), f32({4}), Tensor()); }, "x");
  expect_error([&] { k::mean_all(out, f32({0})); }, "empty");
  expect_error([&] { k::sum_leading(out, f32({2, 3}), 3); }, "keep_dims 3 out of range");
  expect_error([&] { k::softmax_backward(dx, f32({2, 3}), f32({2, 4})); }, "y");
  expect_error([&] { k::mse_forward(out, f32({2, 3}), f32({3, 2})); }, "b");

  Tensor loss, lse;
  const Tensor logits = f32({2, 3});
  expect_error(
      [&] {
        k::cross_entropy_forward(loss, &lse, logits, Tensor::from_vector<int64_t>({0, 5}));
      },
      "label 5 of row 1 is outside [0, 3)");
  expect_error(
      [&] {
        k::cross_entropy_forward(loss, &lse, logits, Tensor::from_vector<int64_t>({-1, 0}));
      },
      "label -1 of row 0");
  expect_error(
      [&] {
        k::cross_entropy_forward(loss, &lse, logits, Tensor::from_vector<int32_t>({0, 1}));
      },
      "expected int64");
  expect_error(
      [&] { k::cross_entropy_forward(loss, &lse, logits, Tensor::from_vector<int64_t>({0})); },
      "labels");
  const int64_t bad[] = {0, 3};
  float l1[1], lse1[2];
  float lg[6] = {};
  expect_error([&] { k::cross_entropy_forward_cpu(l1, lse1, lg, bad, 2, 3); }, "label 3 of row 1");
  expect_error([&] { k::copy_columns(out = f32({2, 3}), 1, f32({2, 3}), 0, 3); }, "out of range");
}

TEST(DenseKernelErrors, CudaEntryPointsWithoutBackend) {
  if (cuda_compiled()) GTEST_SKIP() << "built with the CUDA backend";
  expect_error(
      [] { k::cuda::linear_forward<float>(nullptr, nullptr, nullptr, nullptr, 1, 1, 1, Stream{}); },
      "built without the CUDA backend");
  expect_error([] { k::cuda::softmax_forward<double>(nullptr, nullptr, 1, 1, Stream{}); },
               "built without the CUDA backend");
  expect_error([] { k::cuda::sum_all<float>(nullptr, nullptr, 1, Stream{}); },
               "built without the CUDA backend");
}

// The row max wins over NaN handling and -inf; argmax is the first maximum.
TEST(DenseKernelEdges, MaxLastTiesAndNaN) {
  const Tensor in = Tensor::from_vector<float>({1, 3, 3, -INFINITY, NAN, 2, NAN, 5, 0}, {3, 3});
  Tensor out, am;
  k::max_last(out, &am, in);
  const std::vector<float> v = out.to_vector<float>();
  EXPECT_EQ(v[0], 3.0f);
  EXPECT_TRUE(std::isnan(v[1]));
  EXPECT_TRUE(std::isnan(v[2]));
  EXPECT_EQ(am.to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0}));
}

// Large logits do not overflow: softmax and cross-entropy subtract the row max.
TEST(DenseKernelEdges, SoftmaxAndCrossEntropyAreStable) {
  const Tensor x = Tensor::from_vector<float>({1000, 1000, 999, -1000}, {1, 4});
  Tensor y, ly, loss, lse;
  k::softmax_forward(y, x);
  k::log_softmax_forward(ly, x);
  k::cross_entropy_forward(loss, &lse, x, Tensor::from_vector<int64_t>({2}));
  check_finite(y, "softmax");
  check_finite(ly, "log_softmax");
  const double e = std::exp(-1.0), z = 2 + e;
  EXPECT_NEAR(y.to_vector<float>()[0], 1 / z, 1e-6);
  EXPECT_NEAR(ly.to_vector<float>()[2], -1 - std::log(z), 1e-4);
  EXPECT_NEAR(loss.item<float>(), 1 + std::log(z), 1e-4);
  EXPECT_NEAR(lse.item<float>(), 1000 + std::log(z), 1e-3);
}

// Small products run on one OpenBLAS thread inside the guard; the count comes back after it,
// and the guard leaves it alone when not asked or inside an OpenMP parallel region.
// The CPU sums over many terms (all elements, leading dims: a bias gradient, the cross-entropy
// and MSE losses) split their terms into fixed chunks, not per thread, so they give the same
// bits on any thread count: sizes that take each path of cpu_detail::colsum_into (rows of
// 200 and 600 columns) and cpu_detail::chunked_sum.
TEST(DenseKernelThreads, SumsAreBitIdenticalForAnyThreadCount) {
  const int before = num_threads();
  const int64_t M = 6000;
  Tensor x = Tensor::empty({M, 600}, DType::f32), narrow = Tensor::empty({M, 200}, DType::f32);
  Tensor logits = Tensor::empty({M, 3}, DType::f32), labels = Tensor::empty({M}, DType::i64);
  fill_uniform(x, 7, 1, -1.0, 1.0);
  fill_uniform(narrow, 7, 3, -1.0, 1.0);
  fill_uniform(logits, 7, 2, -3.0, 3.0);
  for (int64_t m = 0; m < M; ++m) labels.data<int64_t>()[m] = m % 3;
  std::vector<std::vector<float>> runs;
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    Tensor all, lead_narrow, lead_wide, ce, mse;
    kernels::sum_all(all, x);
    kernels::sum_leading(lead_narrow, narrow, 1);
    kernels::sum_leading(lead_wide, x, 1);
    kernels::cross_entropy_forward(ce, nullptr, logits, labels);
    kernels::mse_forward(mse, x, Tensor::zeros({M, 600}, DType::f32));
    std::vector<float> r;
    for (const Tensor* t : {&all, &lead_narrow, &lead_wide, &ce, &mse})
      for (float v : t->to_vector<float>()) r.push_back(v);
    runs.push_back(r);
  }
  set_num_threads(before);
  for (size_t k = 1; k < runs.size(); ++k) {
    ASSERT_EQ(runs[k].size(), runs[0].size());
    for (size_t i = 0; i < runs[0].size(); ++i)
      ASSERT_EQ(runs[k][i], runs[0][i]) << "threads " << k + 1 << " vs 1, value " << i;
  }
  // and the values are the sums (against double)
  double total = 0;
  for (float v : x.to_vector<float>()) total += v;
  EXPECT_NEAR(runs[0][0], total, 1e-2);
}

TEST(BlasThreads, GuardRunsOneThreadAndRestores) {
  const int before = num_threads();
  set_num_threads(2);
  ASSERT_EQ(openblas_get_num_threads(), 2);
  {
    BlasThreadsGuard single(true);
    EXPECT_EQ(openblas_get_num_threads(), 1);
  }
  EXPECT_EQ(openblas_get_num_threads(), 2);
  {
    BlasThreadsGuard keep(false);
    EXPECT_EQ(openblas_get_num_threads(), 2);
  }
  int inside = 0;
#pragma omp parallel num_threads(2)
  {
#pragma omp single
    {
      BlasThreadsGuard in_team(true);
      inside = openblas_get_num_threads();
    }
  }
  EXPECT_EQ(inside, 2);
  set_num_threads(before);
}

// RowClaims: every row of a phase runs exactly once; a thread done with its share takes the
// end of a slow thread's share (thread 1 stalls 100 ms on its first row, so thread 0 runs the
// rest of thread 1's share from the back); shares are reset phase after phase.
TEST(RowClaims, EveryRowOnceAndIdleThreadsTakeOver) {
  constexpr int64_t i0 = 3, i1 = 203, mid = 99;  // shares [3, 99) and [99, 203), tiles of 8 from 3
  RowClaims claims(2);
  std::vector<std::atomic<int>> runs(i1);
  std::vector<std::atomic<int>> by(i1);
  bool team_of_two = false;
  std::atomic<bool> started{false};
  for (auto& r : runs) r = 0;
#pragma omp parallel num_threads(2)
  {
    const int tid = omp_get_thread_num(), nth = omp_get_num_threads();
#pragma omp single
    team_of_two = nth == 2;
    for (int phase = 0; phase < 20; ++phase) {
      const int64_t a = tid == 0 ? i0 : mid, b = tid == 0 ? mid : i1;
      claims.run(tid, nth, i0, nth == 2 ? a : i0, nth == 2 ? b : i1, 8, [&](int64_t i) {
        if (phase == 0 && i == mid) {
          started = true;  // thread 1 has published its share
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (phase == 0 && i == mid - 1 && nth == 2)  // thread 0's last own row
          while (!started) std::this_thread::yield();
        runs[i] += 1;
        if (phase == 0) by[i] = tid;
      });
#pragma omp barrier
    }
  }
  for (int64_t i = 0; i < i1; ++i) EXPECT_EQ(runs[i].load(), i < i0 ? 0 : 20) << "row " << i;
  if (!team_of_two) GTEST_SKIP() << "OpenMP gave fewer than two threads";
  // thread 1 stalled inside its first tile [99, 107): thread 0 took the rest of its share
  for (int64_t i = mid; i < 107; ++i) EXPECT_EQ(by[i].load(), 1) << "row " << i;
  for (int64_t i = 107; i < i1; ++i) EXPECT_EQ(by[i].load(), 0) << "row " << i;
}

// The OpenBLAS kernel report: a core name; a coretype hint only when OpenBLAS fell back to
// its generic kernels, and then one that OpenBLAS knows.
TEST(BlasThreads, CoreNameAndCoretypeHint) {
  const std::string core = blas_core(), hint = blas_coretype_hint();
  EXPECT_FALSE(core.empty());
  if (core != "Prescott") {
    EXPECT_EQ(hint, "");
  }
  EXPECT_TRUE(hint.empty() || hint == "Cooperlake" || hint == "SkylakeX" || hint == "Haswell") << hint;
}

// FlushDenormals sets flush-to-zero for its scope and gives the thread its mode back.
TEST(FlushDenormals, SetsAndRestoresTheThreadsMode) {
  const bool before = FlushDenormals::active();
  volatile float tiny = 1e-30f;
  {
    const FlushDenormals ftz;
    if (!FlushDenormals::active()) GTEST_SKIP() << "no flush-to-zero mode on this CPU";
    EXPECT_EQ(tiny * 1e-10f, 0.0f);  // 1e-40 is denormal in float32: flushed
  }
  EXPECT_EQ(FlushDenormals::active(), before);
  if (!before) {
    EXPECT_GT(tiny * 1e-10f, 0.0f);
  }
}
