// The LIF voltage noise (kernels/rate_lif_noise.h): our float log and sin/cos against
// double-precision libm over their whole input ranges, the vectorized run against the
// scalar per-block function (the one the CUDA kernel calls) bit for bit, and the normals'
// distribution (moments, Kolmogorov-Smirnov distance to the standard normal CDF).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/rate_lif_noise.h"
#include "models/rate/rng.h"
#include "runtime/philox.h"

using namespace rsnn;
using namespace rsnn::rate;
using namespace rsnn::kernels::rate_lif;

namespace {
// Exact comparison unless this test file itself was compiled with FMA contraction possible
// (-march=native): then the scalar reference may round differently in the last bit.
#ifdef __FMA__
constexpr float kScalarTol = 1e-6f;
#else
constexpr float kScalarTol = 0.0f;
#endif
}  // namespace

TEST(RateLifNoise, LogMatchesLibmOverTheUnitInterval) {
  // every binade of (0, 1] that 24-bit uniforms reach, densely, plus the uniforms' own grid ends
  double max_rel = 0;
  for (int e = -26; e <= 0; ++e)
    for (int k = 0; k < 20000; ++k) {
      const float x = std::ldexp(1.0f + float(k) / 20000.0f, e - 1);
      if (x > 1.0f) continue;
      const double ref = std::log(double(x));
      const double got = noise::log_pos(x);
      ASSERT_TRUE(std::isfinite(got)) << x;
      if (ref != 0) max_rel = std::max(max_rel, std::fabs(got - ref) / std::fabs(ref));
    }
  for (uint32_t w : {0u, 0xffu, 0x100u, 0x7fffff00u, 0xffffff00u, 0xfffffeffu}) {
    const float x = noise::unit_float(w);
    EXPECT_EQ(x, philox::to_unit_float(w));
    ASSERT_GT(x, 0.0f);
    ASSERT_LE(x, 1.0f);
    const double ref = std::log(double(x));
    EXPECT_NEAR(noise::log_pos(x), ref, 2.5e-7 * std::fabs(ref) + 1e-12) << x;
  }
  EXPECT_EQ(noise::log_pos(1.0f), 0.0f);
  std::cout << "max relative error of log: " << max_rel << "\n";
  EXPECT_LT(max_rel, 2.5e-7);
}

TEST(RateLifNoise, SinCosMatchLibmOverATurn) {
  double max_err = 0;
  const int n = 1 << 20;
  for (int k = 0; k <= n; ++k) {
    const float u = float(k) / float(n);
    float s, c;
    noise::sincos_2pi(u, s, c);
    const double a = 2 * M_PI * double(u);
    max_err = std::max({max_err, std::fabs(s - std::sin(a)), std::fabs(c - std::cos(a))});
    ASSERT_LE(std::fabs(s), 1.0f) << u;
    ASSERT_LE(std::fabs(c), 1.0f) << u;
  }
  std::cout << "max absolute error of sin/cos(2 pi u): " << max_err << "\n";
  // 2 pi u itself is rounded to float (half an ulp of pi/4 is 3e-8) before the series
  EXPECT_LT(max_err, 2e-7);
}

TEST(RateLifNoise, RunIsTheScalarFunctionBitForBit) {
  for (int64_t nblk : {1, 15, 16, 17, 50, 800}) {
    const uint64_t seed = 0x1234'5678'9abcULL, stream = stream_id(Draw::lif_noise, 7), first = 99991;
    std::vector<float> run(size_t(4 * nblk)), portable(size_t(4 * nblk));
    noise::normal4_run(seed, stream, first, nblk, run.data());
    noise::normal4_run_portable(seed, stream, first, nblk, portable.data());
    ASSERT_EQ(run, portable) << nblk;  // the AVX2 Philox path = philox::block
    for (int64_t j = 0; j < nblk; ++j) {
      float ref[4];
      noise::normal4(seed, stream, first + uint64_t(j), ref);
      for (int k = 0; k < 4; ++k) {
        ASSERT_NEAR(run[size_t(4 * j + k)], ref[k], kScalarTol) << nblk << " " << j << " " << k;
        ASSERT_EQ(noise::normal_at(seed, stream, 4 * (first + uint64_t(j)) + uint64_t(k)), ref[k]);
      }
    }
  }
  // A step's noise depends only on (seed, trial, step): drawing 16 steps at once or one at a
  // time gives the same numbers, and another trial or seed other numbers.
  const int64_t nb = 50;
  std::vector<float> many(16 * nb * 4), one(nb * 4), other(nb * 4);
  noise::normal4_run(3, stream_id(Draw::lif_noise, 5), 17 * nb, 16 * nb, many.data());
  noise::normal4_run(3, stream_id(Draw::lif_noise, 5), 20 * nb, nb, one.data());
  EXPECT_TRUE(std::equal(one.begin(), one.end(), many.begin() + 3 * nb * 4));
  noise::normal4_run(3, stream_id(Draw::lif_noise, 6), 20 * nb, nb, other.data());
  EXPECT_NE(one, other);
  noise::normal4_run(4, stream_id(Draw::lif_noise, 5), 20 * nb, nb, other.data());
  EXPECT_NE(one, other);
}

TEST(RateLifNoise, SameUniformsAsTheLibmBoxMuller) {
  // rng.h's normal4 transforms the same Philox words with libm: the values agree to float
  // rounding (the largest |z| is 5.9, so a few 1e-7 relative)
  double max_diff = 0;
  for (uint64_t blk = 0; blk < 200000; ++blk) {
    float a[4], b[4];
    noise::normal4(11, 22, blk, a);
    normal4(11, 22, blk, b);
    for (int k = 0; k < 4; ++k) max_diff = std::max(max_diff, double(std::fabs(a[k] - b[k])));
  }
  EXPECT_LT(max_diff, 5e-6);
}

TEST(RateLifNoise, NormalsHaveStandardMomentsAndSmallKsDistance) {
  const int64_t nblk = 1 << 18;  // 1 M normals
  std::vector<float> z(size_t(4 * nblk));
  noise::normal4_run(2024, stream_id(Draw::lif_noise, 1), 0, nblk, z.data());
  double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
  for (float x : z) {
    ASSERT_TRUE(std::isfinite(x));
    const double d = x;
    m1 += d;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  const double n = double(z.size());
  m1 /= n, m2 /= n, m3 /= n, m4 /= n;
  // standard errors at n = 2^20: mean 0.001, var 0.0014, skew 0.0024, kurtosis 0.0048
  EXPECT_NEAR(m1, 0.0, 0.005);
  EXPECT_NEAR(m2, 1.0, 0.007);
  EXPECT_NEAR(m3, 0.0, 0.012);
  EXPECT_NEAR(m4, 3.0, 0.025);
  std::sort(z.begin(), z.end());
  double ks = 0;
  for (size_t i = 0; i < z.size(); ++i) {
    const double F = 0.5 * std::erfc(-double(z[i]) / std::sqrt(2.0));
    ks = std::max({ks, std::fabs(F - double(i) / n), std::fabs(double(i + 1) / n - F)});
  }
  std::cout << "KS distance " << ks << " (1% critical value " << 1.63 / std::sqrt(n) << ")\n";
  EXPECT_LT(ks, 1.63 / std::sqrt(n));
  // the tails: P(|z| > 3) = 0.0027, P(|z| > 4) = 6.3e-5
  const auto above = [&](double t) {
    return double(z.end() - std::upper_bound(z.begin(), z.end(), float(t)) +
                  (std::lower_bound(z.begin(), z.end(), float(-t)) - z.begin())) / n;
  };
  EXPECT_NEAR(above(3.0), 0.0027, 0.0003);
  EXPECT_NEAR(above(4.0), 6.33e-5, 3e-5);
}
