#include "models/microns/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/error.h"

namespace rsnn::microns {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Continued fraction of I_x(a, b) (modified Lentz); converges fast for x < (a+1)/(a+b+2).
double beta_fraction(double a, double b, double x) {
  const double tiny = 1e-300;
  double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    // even step
    double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    h *= d * c;
    // odd step
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 + aa * d;
    if (std::fabs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < 1e-16) return h;
  }
  RSNN_CHECK(false, "incomplete_beta: continued fraction did not converge (a=", a, ", b=", b,
             ", x=", x, ")");
  return kNaN;
}

// Upper tail P(T > t) for t >= 0, computed without cancellation.
double t_upper_tail(double t, double df) {
  const double x = df / (df + t * t);
  return 0.5 * incomplete_beta(0.5 * df, 0.5, x);
}

}  // namespace

double incomplete_beta(double a, double b, double x) {
  RSNN_CHECK(a > 0 && b > 0, "incomplete_beta: a and b must be > 0 (got a=", a, ", b=", b, ")");
  RSNN_CHECK(x >= 0 && x <= 1, "incomplete_beta: x must be in [0, 1] (got ", x, ")");
  if (x == 0 || x == 1) return x;
  const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                           a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_fraction(a, b, x) / a;
  return 1.0 - front * beta_fraction(b, a, 1.0 - x) / b;
}

double student_t_cdf(double t, double df) {
  RSNN_CHECK(df > 0, "student_t_cdf: df must be > 0 (got ", df, ")");
  RSNN_CHECK(!std::isnan(t), "student_t_cdf: t is NaN");
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  const double tail = t_upper_tail(std::fabs(t), df);
  return t >= 0 ? 1.0 - tail : tail;
}

double student_t_quantile(double p, double df) {
  RSNN_CHECK(df > 0, "student_t_quantile: df must be > 0 (got ", df, ")");
  RSNN_CHECK(p > 0 && p < 1, "student_t_quantile: p must be in (0, 1) (got ", p, ")");
  if (p == 0.5) return 0.0;
  if (p < 0.5) return -student_t_quantile(1.0 - p, df);
  const double q = 1.0 - p;  // target upper tail, decreasing in t
  double lo = 0.0, hi = 1.0;
  while (t_upper_tail(hi, df) > q) {
    lo = hi;
    hi *= 2.0;
    RSNN_CHECK(hi < 1e300, "student_t_quantile: no bracket for p=", p, ", df=", df);
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

Summary summarize(const std::vector<double>& v) {
  Summary s;
  s.n_total = static_cast<int>(v.size());
  double sum = 0;
  for (double x : v)
    if (std::isfinite(x)) {
      sum += x;
      ++s.n;
    }
  s.mean = s.n > 0 ? sum / s.n : kNaN;
  if (s.n < 2) {
    s.sd = s.sem = s.t975 = s.ci_low = s.ci_high = kNaN;
    return s;
  }
  double ss = 0;
  for (double x : v)
    if (std::isfinite(x)) ss += (x - s.mean) * (x - s.mean);
  s.sd = std::sqrt(ss / (s.n - 1));
  s.sem = s.sd / std::sqrt(static_cast<double>(s.n));
  s.t975 = student_t_quantile(0.975, s.n - 1);
  s.ci_low = s.mean - s.t975 * s.sem;
  s.ci_high = s.mean + s.t975 * s.sem;
  return s;
}

double mean_all(const std::vector<double>& v) {
  if (v.empty()) return kNaN;
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

double sd_notebook(const std::vector<double>& v) {
  std::vector<double> kept;
  for (double x : v)
    if (!std::isnan(x)) kept.push_back(x);
  if (kept.size() < 2) return 0.0;
  double m = 0;
  for (double x : kept) m += x;
  m /= static_cast<double>(kept.size());
  double ss = 0;
  for (double x : kept) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(kept.size() - 1));
}

}  // namespace rsnn::microns
