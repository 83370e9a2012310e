// runtime/stats.h: the incomplete beta function and the Student-t and F distributions that the
// barrel analyses (p-values) and the MICrONS summaries (t intervals) share. Reference values
// from mpmath at 30 digits (betainc, and the t quantile by root finding on its cdf).
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/error.h"
#include "runtime/stats.h"

using namespace rsnn;

TEST(Stats, StudentTQuantilesMatchTables) {
  EXPECT_NEAR(student_t_quantile(0.975, 10), 2.228138852, 1e-9);
  EXPECT_NEAR(student_t_quantile(0.975, 30), 2.042272456, 1e-9);
  EXPECT_NEAR(student_t_quantile(0.995, 5), 4.032142984, 1e-9);
  EXPECT_NEAR(student_t_quantile(0.9, 3), 1.637744354, 1e-9);
  EXPECT_NEAR(student_t_quantile(0.999, 100), 3.173739494, 1e-9);
  EXPECT_NEAR(student_t_quantile(0.025, 10), -2.228138852, 1e-9);  // symmetric
  EXPECT_DOUBLE_EQ(student_t_quantile(0.5, 3), 0.0);
}

TEST(Stats, StudentTClosedForms) {
  // df = 1 is the Cauchy distribution, df = 2 has t = (2p - 1) / sqrt(2 p (1 - p)).
  for (double p : {0.55, 0.8, 0.975, 0.999}) {
    EXPECT_NEAR(student_t_quantile(p, 1), std::tan(M_PI * (p - 0.5)), 1e-9 * std::tan(M_PI * (p - 0.5)))
        << p;
    EXPECT_NEAR(student_t_quantile(p, 2), (2 * p - 1) / std::sqrt(2 * p * (1 - p)), 1e-11) << p;
  }
  for (double t : {-3.0, -0.4, 0.0, 1.7, 25.0}) {
    EXPECT_NEAR(student_t_cdf(t, 1), 0.5 + std::atan(t) / M_PI, 1e-13) << t;
    EXPECT_NEAR(student_t_cdf(t, 2), 0.5 + t / (2 * std::sqrt(2 + t * t)), 1e-13) << t;
  }
  EXPECT_EQ(student_t_cdf(INFINITY, 4), 1.0);
  EXPECT_EQ(student_t_cdf(-INFINITY, 4), 0.0);
}

TEST(Stats, TwoSidedPAndFSurvivalAgree) {
  EXPECT_NEAR(student_t_two_sided_p(2.0, 7), 0.0856193285629761, 1e-12);
  EXPECT_NEAR(f_survival(3.5, 3, 12), 0.0496405379798868, 1e-12);
  // The 97.5 % quantile leaves 5 % in both tails; F(1, df) is the square of t(df).
  for (double df : {3.0, 10.0, 57.5}) {
    const double t = student_t_quantile(0.975, df);
    EXPECT_NEAR(student_t_two_sided_p(t, df), 0.05, 1e-11) << df;
    EXPECT_NEAR(f_survival(t * t, 1, df), 0.05, 1e-11) << df;
  }
  EXPECT_TRUE(std::isnan(student_t_two_sided_p(NAN, 3)));
  EXPECT_EQ(student_t_two_sided_p(INFINITY, 3), 0.0);
  EXPECT_EQ(f_survival(-1, 2, 5), 1.0);
}

TEST(Stats, IncompleteBetaValuesAndErrors) {
  EXPECT_NEAR(incomplete_beta(2.5, 40, 0.02), 0.104399790615385, 1e-12);
  EXPECT_NEAR(incomplete_beta(0.5, 0.5, 0.3), 2 / M_PI * std::asin(std::sqrt(0.3)), 1e-13);
  EXPECT_EQ(incomplete_beta(3, 4, 0), 0.0);
  EXPECT_EQ(incomplete_beta(3, 4, 1), 1.0);
  EXPECT_THROW(incomplete_beta(0, 1, 0.5), Error);
  EXPECT_THROW(incomplete_beta(1, INFINITY, 0.5), Error);
  EXPECT_THROW(incomplete_beta(1, 1, -0.1), Error);
  EXPECT_THROW(student_t_quantile(0.0, 3), Error);
  EXPECT_THROW(student_t_quantile(0.5, -1), Error);
  EXPECT_THROW(student_t_cdf(NAN, 3), Error);
  EXPECT_THROW(f_survival(1, 0, 3), Error);
}
