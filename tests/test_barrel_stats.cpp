// The statistics of the barrel-cortex analyses (models/barrel/analysis_stats.h, spec §4):
// incomplete beta, Student and Fisher p-values against closed forms and numeric
// integration; Pearson, min-max, one-way ANOVA, CV, histograms and the KDE on hand-made
// cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "models/barrel/analysis_stats.h"
#include "runtime/error.h"

using namespace rsnn;
using namespace rsnn::barrel;

namespace {

// Simpson's rule over [lo, hi] with n (even) intervals.
template <class F>
double simpson(F f, double lo, double hi, int n) {
  const double h = (hi - lo) / n;
  double s = f(lo) + f(hi);
  for (int i = 1; i < n; ++i) s += f(lo + i * h) * (i % 2 ? 4.0 : 2.0);
  return s * h / 3.0;
}

// I_x(a, b) by direct numeric integration of the beta density (a, b > 1: smooth integrand).
double beta_by_integration(double a, double b, double x) {
  const double log_beta = std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b);
  auto dens = [&](double t) {
    if (t <= 0 || t >= 1) return 0.0;
    return std::exp((a - 1) * std::log(t) + (b - 1) * std::log1p(-t) - log_beta);
  };
  return simpson(dens, 0.0, x, 200000);
}

}  // namespace

// ---- distributions ----

TEST(BarrelStats, IncompleteBetaClosedForms) {
  for (double x : {0.0, 0.01, 0.3, 0.5, 0.77, 0.999, 1.0}) {
    EXPECT_NEAR(incomplete_beta(1, 1, x), x, 1e-14);
    EXPECT_NEAR(incomplete_beta(3.5, 1, x), std::pow(x, 3.5), 1e-13);
    EXPECT_NEAR(incomplete_beta(1, 4.25, x), 1 - std::pow(1 - x, 4.25), 1e-13);
  }
  EXPECT_NEAR(incomplete_beta(7.3, 7.3, 0.5), 0.5, 1e-13);  // symmetry
  // I_x(a, b) + I_{1-x}(b, a) = 1 on both sides of the switch point.
  EXPECT_NEAR(incomplete_beta(2.5, 40, 0.02) + incomplete_beta(40, 2.5, 0.98), 1.0, 1e-13);
  EXPECT_THROW(incomplete_beta(0, 1, 0.5), Error);
  EXPECT_THROW(incomplete_beta(1, 1, 1.5), Error);
}

TEST(BarrelStats, IncompleteBetaMatchesNumericIntegration) {
  // Both branches: x below (a + 1) / (a + b + 2) (direct) and above it (reflected).
  const double cases[][3] = {{2.5, 3.5, 0.3}, {2.5, 3.5, 0.9}, {1.5, 12.0, 0.05}, {30.0, 4.0, 0.85},
                             {6.0, 6.0, 0.62}};
  for (const auto& c : cases) {
    const double ref = beta_by_integration(c[0], c[1], c[2]);
    EXPECT_NEAR(incomplete_beta(c[0], c[1], c[2]), ref, 1e-8 * std::max(ref, 1e-3))
        << "a " << c[0] << " b " << c[1] << " x " << c[2];
  }
}

TEST(BarrelStats, StudentAndFisherPValuesMatchClosedForms) {
  for (double t : {0.0, 0.3, 1.0, 2.7, 12.0, -4.0}) {
    // df = 1 (Cauchy): p = 1 - (2/pi) atan|t|; df = 2: p = 1 - |t| / sqrt(2 + t^2).
    EXPECT_NEAR(student_t_two_sided_p(t, 1), 1 - 2 / M_PI * std::atan(std::fabs(t)), 1e-13) << t;
    EXPECT_NEAR(student_t_two_sided_p(t, 2), 1 - std::fabs(t) / std::sqrt(2 + t * t), 1e-13) << t;
  }
  for (double f : {0.01, 0.5, 1.0, 3.0, 12.0, 80.0}) {
    // d1 = 2: P(F > f) = (d2 / (d2 + 2 f))^(d2 / 2).
    for (double d2 : {2.0, 6.0, 57.0, 1647.0})
      EXPECT_NEAR(f_survival(f, 2, d2), std::pow(d2 / (d2 + 2 * f), d2 / 2), 1e-12 * std::max(1.0, 1 / f))
          << "f " << f << " d2 " << d2;
  }
  EXPECT_EQ(f_survival(0, 2, 5), 1.0);
  EXPECT_EQ(f_survival(INFINITY, 2, 5), 0.0);
  EXPECT_TRUE(std::isnan(f_survival(NAN, 2, 5)));
}

// ---- correlation ----

TEST(BarrelStats, PearsonOnAKnownCase) {
  // x = 1..5, y = 2 4 5 4 5: Sxy = 6, Sxx = 10, Syy = 6, r = 6 / sqrt(60) = sqrt(0.6).
  const Correlation c = pearson({1, 2, 3, 4, 5}, {2, 4, 5, 4, 5});
  EXPECT_EQ(c.n, 5);
  EXPECT_NEAR(c.r, std::sqrt(0.6), 1e-14);
  // t = r sqrt(3 / (1 - r^2)) with 3 df; the t(3) CDF has the closed form
  // 1/2 + (1/pi) (u / (1 + u^2) + atan u), u = t / sqrt(3).
  const double t = c.r * std::sqrt(3 / (1 - c.r * c.r)), u = t / std::sqrt(3.0);
  const double p_ref = 1 - 2 / M_PI * (u / (1 + u * u) + std::atan(u));
  EXPECT_NEAR(c.p, p_ref, 1e-12);
  EXPECT_NEAR(c.p, 0.12402706265755462, 1e-12);  // scipy.stats.pearsonr (scipy 1.10.1)
  // Invariant to affine scaling, sign follows the slope, perfect lines give p = 0.
  const Correlation s = pearson({10, 20, 30, 40, 50}, {-2, -4, -5, -4, -5});
  EXPECT_NEAR(s.r, -std::sqrt(0.6), 1e-14);
  EXPECT_NEAR(s.p, c.p, 1e-12);
  const Correlation line = pearson({1, 2, 3}, {3, 5, 7});
  EXPECT_NEAR(line.r, 1.0, 1e-15);
  EXPECT_EQ(line.p, 0.0);
  const Correlation flat = pearson({1, 2, 3}, {4, 4, 4});
  EXPECT_TRUE(std::isnan(flat.r));
  EXPECT_THROW(pearson({1, 2}, {1, 2}), Error);
  EXPECT_THROW(pearson({1, 2, 3}, {1, 2}), Error);
}

TEST(BarrelStats, MinMaxNormalize) {
  const std::vector<double> n = minmax_normalize({2, 4, 3, 6});
  ASSERT_EQ(n.size(), 4u);
  EXPECT_DOUBLE_EQ(n[0], 0.1);
  EXPECT_DOUBLE_EQ(n[1], 0.1 + 0.9 * 0.5);
  EXPECT_DOUBLE_EQ(n[2], 0.1 + 0.9 * 0.25);
  EXPECT_DOUBLE_EQ(n[3], 1.0);
  for (double v : minmax_normalize({3, 3, 3})) EXPECT_TRUE(std::isnan(v));
}

// ---- ANOVA ----

TEST(BarrelStats, OneWayAnovaOnHandComputedExamples) {
  // Means 2, 5, 8 around 5, 3 values each: SSB = 3 (9 + 0 + 9) = 54, SSW = 3 * 2 = 6;
  // F = (54 / 2) / (6 / 6) = 27; with d1 = 2, p = (6 / (6 + 2 * 27))^3 = 0.1^3.
  const AnovaResult a = one_way_anova({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}});
  EXPECT_EQ(a.df_between, 2);
  EXPECT_EQ(a.df_within, 6);
  EXPECT_NEAR(a.F, 27.0, 1e-12);
  EXPECT_NEAR(a.p, 1e-3, 1e-15);
  // Unequal sizes: means 4, 7.5, 1.5, grand mean 5; SSB = 3 + 25 + 24.5 = 52.5, SSW = 2 + 5 + 0.5
  // = 7.5; F = 26.25 / 1.25 = 21; p = (6 / (6 + 42))^3 = 0.125^3.
  const AnovaResult b = one_way_anova({{3, 5, 4}, {8, 6, 7, 9}, {1, 2}});
  EXPECT_NEAR(b.F, 21.0, 1e-12);
  EXPECT_NEAR(b.p, 0.001953125, 1e-15);
  // No variation within groups: F infinite (p 0) when the means differ, undefined otherwise.
  const AnovaResult c = one_way_anova({{1, 1}, {2, 2}, {3, 3}});
  EXPECT_TRUE(std::isinf(c.F));
  EXPECT_EQ(c.p, 0.0);
  const AnovaResult d = one_way_anova({{2, 2}, {2, 2}});
  EXPECT_TRUE(std::isnan(d.F));
  EXPECT_THROW(one_way_anova({{1, 2}}), Error);
  EXPECT_THROW(one_way_anova({{1}, {2}}), Error);
}

// ---- spike trains, histograms, KDE ----

TEST(BarrelStats, CvOfBinarySpikeTrains) {
  // r = k / T: CV = sqrt((1 - r) / r), whatever the spike positions.
  const int64_t T = 40;
  for (int k : {1, 3, 10, 20, 39}) {
    std::vector<uint8_t> x(T * 3, 7);  // stride 3; the other entries must be ignored
    for (int64_t t = 0; t < T; ++t) x[size_t(t * 3)] = (t * 7) % T < k;
    const double r = double(k) / T;
    EXPECT_NEAR(spike_train_cv(x.data(), T, 3), std::sqrt((1 - r) / r), 1e-12) << k;
  }
  std::vector<uint8_t> silent(T, 0), full(T, 1);
  EXPECT_EQ(spike_train_cv(silent.data(), T, 1), 0.0);
  EXPECT_EQ(spike_train_cv(full.data(), T, 1), 0.0);
}

TEST(BarrelStats, HistogramFollowsNumpy) {
  const Histogram h = histogram({0, 1, 2, 3, 4, 0.5, 3.999}, 4);
  ASSERT_EQ(h.edges.size(), 5u);
  for (int i = 0; i <= 4; ++i) EXPECT_DOUBLE_EQ(h.edges[size_t(i)], i);
  // [0,1): 0, 0.5; [1,2): 1; [2,3): 2; [3,4]: 3, 4, 3.999 (the last bin is closed)
  EXPECT_EQ(h.counts, (std::vector<int64_t>{2, 1, 1, 3}));
  const Histogram c = histogram({5, 5, 5}, 2);
  EXPECT_DOUBLE_EQ(c.edges.front(), 4.5);
  EXPECT_DOUBLE_EQ(c.edges.back(), 5.5);
  EXPECT_EQ(c.counts, (std::vector<int64_t>{0, 3}));
  EXPECT_THROW(histogram({}, 3), Error);
}

TEST(BarrelStats, KdeUsesScottsBandwidthAndIntegratesToOne) {
  std::vector<double> x;
  for (int i = 0; i < 50; ++i) x.push_back(10 + 0.1 * std::sin(i * 1.7));
  double m = 0, ss = 0;
  for (double v : x) m += v;
  m /= 50;
  for (double v : x) ss += (v - m) * (v - m);
  const Kde k = gaussian_kde(x, 400);
  EXPECT_NEAR(k.bandwidth, std::sqrt(ss / 49) * std::pow(50.0, -0.2), 1e-12);
  ASSERT_EQ(k.grid.size(), 400u);
  const double lo = *std::min_element(x.begin(), x.end()) - 3 * k.bandwidth;
  EXPECT_NEAR(k.grid.front(), lo, 1e-12);
  double area = 0;
  for (size_t i = 1; i < k.grid.size(); ++i)
    area += 0.5 * (k.density[i] + k.density[i - 1]) * (k.grid[i] - k.grid[i - 1]);
  EXPECT_NEAR(area, 1.0, 0.01);  // the tails beyond 3 h hold about 0.3 %
  // Constant values (untrained taus) still give a finite narrow peak.
  const Kde c = gaussian_kde({10, 10, 10}, 50);
  EXPECT_NEAR(c.bandwidth, 0.01, 1e-15);
  for (double d : c.density) EXPECT_TRUE(std::isfinite(d));
}
