#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "runtime/philox.h"
#include "runtime/random.h"
#include "test_util.h"

using namespace rsnn;

// Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
TEST(Philox, KnownAnswers) {
  philox::Words z{{0, 0, 0, 0}};
  philox::Words r = philox::philox4x32_10(z, 0, 0);
  EXPECT_EQ(r.v[0], 0x6627e8d5u);
  EXPECT_EQ(r.v[1], 0xe169c58du);
  EXPECT_EQ(r.v[2], 0xbc57ac4cu);
  EXPECT_EQ(r.v[3], 0x9b00dbd8u);
  philox::Words f{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}};
  r = philox::philox4x32_10(f, 0xffffffffu, 0xffffffffu);
  EXPECT_EQ(r.v[0], 0x408f276du);
  EXPECT_EQ(r.v[1], 0x41c83b0eu);
  EXPECT_EQ(r.v[2], 0xa20bc7c6u);
  EXPECT_EQ(r.v[3], 0x6d5451fdu);
  philox::Words p{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
  r = philox::philox4x32_10(p, 0xa4093822u, 0x299f31d0u);
  EXPECT_EQ(r.v[0], 0xd16cfe09u);
  EXPECT_EQ(r.v[1], 0x94fdccebu);
  EXPECT_EQ(r.v[2], 0x5001e420u);
  EXPECT_EQ(r.v[3], 0x24126ea1u);
}

TEST(Philox, UniformIsOpenUnitIntervalWithRightMoments) {
  const int n = 200000;
  double s = 0, s2 = 0;
  for (int i = 0; i < n; ++i) {
    const float u = philox::uniform(7, 3, i);
    ASSERT_GT(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    s += u;
    s2 += double(u) * u;
  }
  const double mean = s / n, var = s2 / n - mean * mean;
  EXPECT_NEAR(mean, 0.5, 4 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(var, 1.0 / 12, 0.002);
  EXPECT_NE(philox::u32(7, 3, 0), philox::u32(7, 4, 0));  // streams differ
  EXPECT_NE(philox::u32(7, 3, 0), philox::u32(8, 3, 0));  // seeds differ
}

TEST(Philox, NormalMoments) {
  Tensor t = Tensor::empty({100000}, DType::f64);
  fill_normal(t, 11, 0, 2.0, 3.0);
  double s = 0, s2 = 0;
  for (double x : t.to_vector<double>()) {
    s += x;
    s2 += x * x;
  }
  const double mean = s / t.numel(), var = s2 / t.numel() - mean * mean;
  EXPECT_NEAR(mean, 2.0, 4 * 3.0 / std::sqrt(100000.0));
  EXPECT_NEAR(std::sqrt(var), 3.0, 0.05);
}

TEST(Philox, FillsAreIdenticalAcrossThreadCounts) {
  const int saved = omp_get_max_threads();
  std::vector<float> ref;
  for (int threads : {1, 2, 3, 8}) {
    omp_set_num_threads(threads);
    Tensor t = Tensor::empty({12345}, DType::f32);
    fill_uniform(t, 515, 9, -1.0, 1.0);
    Tensor b = Tensor::empty({12345}, DType::u8);
    fill_bernoulli(b, 515, 9, 0.3);
    std::vector<float> v = t.to_vector<float>();
    for (float x : b.to_vector<float>()) v.push_back(x);
    if (ref.empty()) ref = v;
    EXPECT_EQ(v, ref) << "threads=" << threads;
  }
  omp_set_num_threads(saved);
}

TEST(Philox, BernoulliRate) {
  Tensor b = Tensor::empty({100000}, DType::u8);
  fill_bernoulli(b, 1, 2, 0.1);
  double k = 0;
  for (uint8_t x : b.to_vector<uint8_t>()) k += x;
  EXPECT_NEAR(k / 100000, 0.1, 4 * std::sqrt(0.1 * 0.9 / 100000));
  EXPECT_THROW(fill_bernoulli(b, 1, 2, 1.5), Error);
}

TEST(CudaPhilox, SameNumbersAsCpu) {
  RSNN_SKIP_WITHOUT_CUDA();
  for (DType t : {DType::f32, DType::f64}) {
    Tensor c = Tensor::empty({4097}, t);
    Tensor g = Tensor::empty({4097}, t, Device::cuda());
    fill_normal(c, 3, 4, 0, 1);
    fill_normal(g, 3, 4, 0, 1);
    std::vector<double> a = c.to_vector<double>(), b = g.to_vector<double>();
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-6 * (1 + std::fabs(a[i])));
    fill_uniform(c, 3, 4, 0, 1);
    fill_uniform(g, 3, 4, 0, 1);
    EXPECT_EQ(c.to_vector<double>(), g.to_vector<double>());
  }
}
