// Sparse projections, continued from test_projection.cpp: initial values and clamping, the
// errors of bad specs and masks, and the CUDA copies.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernels/projection.h"
#include "projection_testing.h"
#include "runtime/random.h"
#include "test_util.h"

using namespace rsnn;
using namespace rsnn::test::projection;
using rsnn::test::expect_error;

// ---- values -----------------------------------------------------------------------------

TEST(ProjectionValues, InitUniformRangeMeanAndDeterminism) {
  ThreadGuard guard;
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor v = Tensor::empty({200001}, dt);
    set_num_threads(1);
    init_uniform(v, -0.5, 1.5, 17, 3);
    const auto a = v.to_vector<double>();
    set_num_threads(3);
    init_uniform(v, -0.5, 1.5, 17, 3);
    EXPECT_EQ(v.to_vector<double>(), a);
    double sum = 0;
    for (double x : a) {
      ASSERT_GE(x, -0.5);
      ASSERT_LE(x, 1.5);
      sum += x;
    }
    EXPECT_NEAR(sum / a.size(), 0.5, 4 * 2.0 / std::sqrt(12.0 * a.size()));
    init_uniform(v, -0.5, 1.5, 18, 3);
    EXPECT_NE(v.to_vector<double>(), a);
  }
  Tensor n = Tensor::empty({100000}, DType::f64);
  init_normal(n, 1.0, 0.25, 4, 0);
  double s = 0, s2 = 0;
  for (double x : n.to_vector<double>()) {
    s += x;
    s2 += x * x;
  }
  const double mean = s / n.numel(), sd = std::sqrt(s2 / n.numel() - mean * mean);
  EXPECT_NEAR(mean, 1.0, 4 * 0.25 / std::sqrt(1e5));
  EXPECT_NEAR(sd, 0.25, 0.005);
  Tensor bad = Tensor::empty({4}, DType::i32);
  expect_error([&] { init_uniform(bad, 0, 1, 0, 0); }, "float32 or float64");
  Tensor v = Tensor::empty({4}, DType::f32);
  expect_error([&] { init_uniform(v, 1, 0, 0, 0); }, "bad range");
  expect_error([&] { init_normal(v, 0, -1, 0, 0); }, "standard deviation");
  Tensor m2 = Tensor::empty({2, 2}, DType::f32);
  expect_error([&] { init_uniform(m2, 0, 1, 0, 0); }, "1-d");
}

TEST(ProjectionValues, ClampInPlace) {
  Tensor v = Tensor::from_vector(std::vector<float>{-2.0f, 0.25f, 0.0f, 1.0f, 3.5f, NAN});
  clamp_(v, 0.0, 1.0);
  const auto r = v.to_vector<float>();
  EXPECT_EQ(r[0], 0.0f);
  EXPECT_EQ(r[1], 0.25f);
  EXPECT_EQ(r[2], 0.0f);
  EXPECT_EQ(r[3], 1.0f);
  EXPECT_EQ(r[4], 1.0f);
  EXPECT_TRUE(std::isnan(r[5]));  // never hide a NaN
  Tensor big = Tensor::empty({300000}, DType::f64);
  init_normal(big, 0.0, 1.0, 1, 1);
  const auto before = big.to_vector<double>();
  clamp_(big, -0.5, 0.5);
  const auto after = big.to_vector<double>();
  for (size_t i = 0; i < before.size(); ++i)
    ASSERT_EQ(after[i], std::min(0.5, std::max(-0.5, before[i])));
  expect_error([&] { clamp_(v, 1.0, 0.0); }, "bad range");
}

// ---- errors -----------------------------------------------------------------------------

TEST(ProjectionErrors, SpecValidation) {
  auto with = [](auto change) {
    ProjectionSpec s = small_spec(true, true);
    change(s);
    return s;
  };
  expect_error([&] { build_projection(with([](ProjectionSpec& s) { s.prob = Tensor(); })); },
               "prob is undefined");
  expect_error([&] {
    build_projection(with([](ProjectionSpec& s) { s.prob = Tensor::zeros({4, 3}, DType::f64); }));
  }, "expected shape [4, 4], got [4, 3]");
  expect_error([&] {
    build_projection(with([](ProjectionSpec& s) { s.prob.data<double>()[6] = 1.5; }));
  }, "prob[1, 2] (b -> empty) = 1.5");
  expect_error([&] {
    build_projection(with([](ProjectionSpec& s) { s.prob.data<double>()[0] = -0.1; }));
  }, "not a probability");
  expect_error([&] {
    build_projection(with([](ProjectionSpec& s) { s.prob.data<double>()[5] = NAN; }));
  }, "= nan is not a probability");
  expect_error([&] {
    build_projection(with([](ProjectionSpec& s) { s.prob = Tensor::zeros({4, 4}, DType::i32); }));
  }, "must be float64");
  expect_error([&] { build_projection(with([](ProjectionSpec& s) { s.pre.signs[1] = 0; })); },
               "pre layout: group 1 (b) has sign 0");
  expect_error([&] { build_projection(with([](ProjectionSpec& s) { s.post.sizes[0] = -3; })); },
               "post layout: group 0 (a) has negative size -3");
  expect_error([&] { build_projection(with([](ProjectionSpec& s) { s.pre.names.pop_back(); })); },
               "3 names, 4 sizes and 4 signs");
  expect_error([&] { build_projection(with([](ProjectionSpec& s) { s.post.sizes[0] += 1; })); },
               "same_network needs the same group sizes");
  expect_error([&] {
    build_projection(with([](ProjectionSpec& s) { s.pre = PopulationLayout{}; }));
  }, "no groups");
  // Different pre and post layouts are fine when they are different networks.
  ProjectionSpec ok = with([](ProjectionSpec& s) {
    s.same_network = false;
    s.post.sizes = {5, 6, 7, 8};
  });
  build_projection(ok).validate("pre != post");
  EXPECT_EQ(small_spec(true, true).pre.total(), 212);
  EXPECT_EQ(small_spec(true, true).pre.offsets(), (std::vector<int64_t>{0, 37, 157, 157, 212}));
}

TEST(ProjectionErrors, ToDenseAndMaskChecks) {
  const Projection p = build_projection(small_spec(false, true));
  expect_error([&] { to_dense(p, Tensor::zeros({p.nnz() + 1}, DType::f32)); }, "to_dense: values");
  expect_error([&] { to_dense(p, Tensor::zeros({p.nnz()}, DType::i64)); }, "float32 or float64");
  expect_error([&] { projection_from_dense_mask(Tensor::zeros({3}), Tensor::full({3}, 1.0)); },
               "2-d [n_post, n_pre]");
  expect_error([&] { projection_from_dense_mask(Tensor::zeros({3, 4}), Tensor::full({3}, 1.0)); },
               "source_sign: expected shape [4]");
}

// ---- CUDA ---------------------------------------------------------------------------------

TEST(ProjectionCuda, BuiltWithoutCudaSaysSo) {
  if (cuda_compiled()) GTEST_SKIP() << "CUDA backend compiled";
  float x = 0;
  expect_error([&] { detail::clamp_cuda(&x, 1, DType::f32, 0, 1, Stream{}); },
               "built without the CUDA backend");
}

TEST(ProjectionCuda, CopyToDeviceAndValueOps) {
  RSNN_SKIP_WITHOUT_CUDA();
  const Projection p = build_projection(small_spec(true, false));
  const Projection d = p.to(Device::cuda());
  EXPECT_TRUE(d.device().is_cuda());
  EXPECT_TRUE(d.pre_idx.device().is_cuda() && d.syn_of_pre.device().is_cuda() &&
              d.source_sign.device().is_cuda());
  d.validate("on cuda");
  expect_identical(d.to(Device::cpu()), p);
  // Values made on the device equal the CPU ones; clamp agrees with the CPU.
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor vc = Tensor::empty({p.nnz()}, dt), vd = Tensor::empty({p.nnz()}, dt, Device::cuda());
    init_normal(vc, 0.0, 1.0, 3, 2);
    init_normal(vd, 0.0, 1.0, 3, 2);
    const auto a = vc.to_vector<double>(), b = vd.to_vector<double>();
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], dt == DType::f32 ? 1e-6 : 1e-12);
    vd.copy_from(vc);
    clamp_(vc, -0.3, 0.4);
    clamp_(vd, -0.3, 0.4);
    EXPECT_EQ(vc.to_vector<double>(), vd.to_vector<double>());
    const Tensor dense = to_dense(d, vd);
    EXPECT_TRUE(dense.device().is_cuda());
    EXPECT_EQ(dense.to_vector<double>(), to_dense(p, vc).to_vector<double>());
  }
}
