#include "runtime/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/error.h"

namespace rsnn {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The continued fraction of I_x(a, b) / (x^a (1-x)^b / (a B(a, b))):
//   1 / (1 + d1 / (1 + d2 / (1 + ...))),
//   d(2m+1) = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)),  d(2m) = m(b-m) x / ((a+2m-1)(a+2m)),
// evaluated front to back with the modified Lentz method (tiny guards against 0 divisors).
double beta_continued_fraction(double a, double b, double x) {
  constexpr double tiny = 1e-300, eps = 1e-15;
  constexpr int max_terms = 100000;
  auto guard = [](double v) { return std::fabs(v) < tiny ? tiny : v; };
  double c = 1.0;
  double d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0));
  double f = d;
  for (int m = 1; m <= max_terms; ++m) {
    const double two_m = 2.0 * m;
    const double even = m * (b - m) * x / ((a + two_m - 1.0) * (a + two_m));
    d = 1.0 / guard(1.0 + even * d);
    c = guard(1.0 + even / c);
    f *= d * c;
    const double odd = -(a + m) * (a + b + m) * x / ((a + two_m) * (a + two_m + 1.0));
    d = 1.0 / guard(1.0 + odd * d);
    c = guard(1.0 + odd / c);
    const double step = d * c;
    f *= step;
    if (std::fabs(step - 1.0) < eps) return f;
  }
  RSNN_FAIL("incomplete_beta: continued fraction did not converge for a = ", a, ", b = ", b,
            ", x = ", x);
}

// Upper tail P(T > t) for t >= 0, from the beta function directly (no 1 - cdf cancellation).
double t_upper_tail(double t, double df) {
  return 0.5 * incomplete_beta(0.5 * df, 0.5, df / (df + t * t));
}

}  // namespace

double incomplete_beta(double a, double b, double x) {
  RSNN_CHECK(a > 0 && b > 0 && std::isfinite(a) && std::isfinite(b),
             "incomplete_beta: a and b must be finite and > 0, got a = ", a, ", b = ", b);
  RSNN_CHECK(x >= 0 && x <= 1, "incomplete_beta: x must be in [0, 1], got ", x);
  if (x == 0) return 0;
  if (x == 1) return 1;
  // log of x^a (1-x)^b / B(a, b)
  const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) +
                           b * std::log1p(-x);
  if (x < (a + 1.0) / (a + b + 2.0)) return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
  return 1.0 - std::exp(log_front) * beta_continued_fraction(b, a, 1.0 - x) / b;
}

double student_t_cdf(double t, double df) {
  RSNN_CHECK(df > 0, "student_t_cdf: df must be > 0, got ", df);
  RSNN_CHECK(!std::isnan(t), "student_t_cdf: t is NaN");
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  const double tail = t_upper_tail(std::fabs(t), df);
  return t >= 0 ? 1.0 - tail : tail;
}

double student_t_quantile(double p, double df) {
  RSNN_CHECK(df > 0, "student_t_quantile: df must be > 0, got ", df);
  RSNN_CHECK(p > 0 && p < 1, "student_t_quantile: p must be in (0, 1), got ", p);
  if (p == 0.5) return 0.0;
  if (p < 0.5) return -student_t_quantile(1.0 - p, df);
  const double q = 1.0 - p;  // target upper tail, decreasing in t
  double lo = 0.0, hi = 1.0;
  while (t_upper_tail(hi, df) > q) {
    lo = hi;
    hi *= 2.0;
    RSNN_CHECK(hi < 1e300, "student_t_quantile: no bracket for p = ", p, ", df = ", df);
  }
  // Bisection to the last representable bits: the tail is monotone and cheap enough.
  for (int it = 0; it < 200 && hi - lo > 1e-15 * std::max(1.0, hi); ++it) {
    const double mid = 0.5 * (lo + hi);
    if (t_upper_tail(mid, df) > q)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

double student_t_two_sided_p(double t, double df) {
  RSNN_CHECK(df > 0, "student_t_two_sided_p: df must be > 0, got ", df);
  if (std::isnan(t)) return kNaN;
  if (std::isinf(t)) return 0;
  return incomplete_beta(0.5 * df, 0.5, df / (df + t * t));
}

double f_survival(double f, double d1, double d2) {
  RSNN_CHECK(d1 > 0 && d2 > 0, "f_survival: degrees of freedom must be > 0, got ", d1, ", ", d2);
  if (std::isnan(f)) return kNaN;
  if (f <= 0) return 1;
  if (std::isinf(f)) return 0;
  return incomplete_beta(0.5 * d2, 0.5 * d1, d2 / (d2 + d1 * f));
}

}  // namespace rsnn
