#include "models/barrel/analysis_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/error.h"

namespace rsnn::barrel {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

Correlation pearson(const std::vector<double>& x, const std::vector<double>& y) {
  RSNN_CHECK(x.size() == y.size(), "pearson: inputs differ in length (", x.size(), " vs ", y.size(), ")");
  RSNN_CHECK(x.size() >= 3, "pearson: need at least 3 pairs, got ", x.size());
  Correlation c;
  c.n = static_cast<int64_t>(x.size());
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= double(c.n);
  my /= double(c.n);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (!(sxx > 0) || !(syy > 0)) {  // a constant input (or NaN): r is undefined
    c.r = c.p = kNaN;
    return c;
  }
  c.r = std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
  const double df = double(c.n - 2);
  if (std::fabs(c.r) == 1.0) {
    c.p = 0;
  } else {
    c.p = student_t_two_sided_p(c.r * std::sqrt(df / (1.0 - c.r * c.r)), df);
  }
  return c;
}

std::vector<double> minmax_normalize(const std::vector<double>& x, double lo, double hi) {
  RSNN_CHECK(!x.empty(), "minmax_normalize: empty input");
  const auto [mn, mx] = std::minmax_element(x.begin(), x.end());
  const double range = *mx - *mn;
  std::vector<double> out(x.size(), kNaN);
  if (!(range > 0)) return out;
  for (size_t i = 0; i < x.size(); ++i) out[i] = lo + (hi - lo) * (x[i] - *mn) / range;
  return out;
}

AnovaResult one_way_anova(const std::vector<std::vector<double>>& groups) {
  const int64_t k = static_cast<int64_t>(groups.size());
  RSNN_CHECK(k >= 2, "one_way_anova: need at least 2 groups, got ", k);
  int64_t n = 0;
  double total = 0;
  for (const auto& g : groups) {
    RSNN_CHECK(!g.empty(), "one_way_anova: empty group");
    n += static_cast<int64_t>(g.size());
    for (double v : g) total += v;
  }
  RSNN_CHECK(n > k, "one_way_anova: need more observations (", n, ") than groups (", k, ")");
  const double grand = total / double(n);
  double ssb = 0, ssw = 0;
  for (const auto& g : groups) {
    double s = 0;
    for (double v : g) s += v;
    const double m = s / double(g.size());
    ssb += double(g.size()) * (m - grand) * (m - grand);
    for (double v : g) ssw += (v - m) * (v - m);
  }
  AnovaResult r;
  r.df_between = k - 1;
  r.df_within = n - k;
  if (ssw == 0) {
    r.F = ssb > 0 ? kInf : kNaN;
    r.p = ssb > 0 ? 0.0 : kNaN;
    return r;
  }
  r.F = (ssb / double(r.df_between)) / (ssw / double(r.df_within));
  r.p = f_survival(r.F, double(r.df_between), double(r.df_within));
  return r;
}

double spike_train_cv(const uint8_t* x, int64_t T, int64_t stride) {
  RSNN_CHECK(T > 0, "spike_train_cv: empty spike train");
  double sum = 0, sum_sq = 0;
  for (int64_t t = 0; t < T; ++t) {
    const double v = x[t * stride];
    sum += v;
    sum_sq += v * v;
  }
  return cv_from_sums(sum, sum_sq, T);
}

double cv_from_sums(double sum, double sum_sq, int64_t T) {
  RSNN_CHECK(T > 0, "cv_from_sums: T must be > 0");
  double mean = sum / double(T);
  const double var = std::max(0.0, sum_sq / double(T) - mean * mean);
  if (mean == 0) mean = 1e-20;
  return std::sqrt(var) / mean;
}

Histogram histogram(const std::vector<double>& x, int64_t bins) {
  RSNN_CHECK(!x.empty(), "histogram: no values");
  RSNN_CHECK(bins >= 1, "histogram: bins must be >= 1, got ", bins);
  double lo = x[0], hi = x[0];
  for (double v : x) {
    RSNN_CHECK(std::isfinite(v), "histogram: non-finite value ", v);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (lo == hi) lo -= 0.5, hi += 0.5;
  Histogram h;
  h.edges.resize(size_t(bins) + 1);
  for (int64_t i = 0; i <= bins; ++i) h.edges[size_t(i)] = lo + (hi - lo) * double(i) / double(bins);
  h.counts.assign(size_t(bins), 0);
  for (double v : x) {
    int64_t i = static_cast<int64_t>((v - lo) / (hi - lo) * double(bins));
    i = std::clamp<int64_t>(i, 0, bins - 1);
    // Rounding can put a value one bin off near an edge; the edges decide.
    if (i > 0 && v < h.edges[size_t(i)]) --i;
    if (i < bins - 1 && v >= h.edges[size_t(i) + 1]) ++i;
    h.counts[size_t(i)]++;
  }
  return h;
}

Kde gaussian_kde(const std::vector<double>& x, int64_t points) {
  RSNN_CHECK(!x.empty(), "gaussian_kde: no values");
  RSNN_CHECK(points >= 2, "gaussian_kde: need at least 2 points, got ", points);
  const double n = double(x.size());
  double mean = 0;
  for (double v : x) {
    RSNN_CHECK(std::isfinite(v), "gaussian_kde: non-finite value ", v);
    mean += v;
  }
  mean /= n;
  double ss = 0;
  for (double v : x) ss += (v - mean) * (v - mean);
  const double sd = x.size() > 1 ? std::sqrt(ss / (n - 1.0)) : 0.0;
  Kde k;
  k.bandwidth = sd * std::pow(n, -0.2);
  if (!(k.bandwidth > 1e-12 * std::max(std::fabs(mean), 1.0)))
    k.bandwidth = 1e-3 * std::max(std::fabs(mean), 1.0);
  const auto [mn, mx] = std::minmax_element(x.begin(), x.end());
  const double lo = *mn - 3 * k.bandwidth, hi = *mx + 3 * k.bandwidth;
  k.grid.resize(size_t(points));
  k.density.assign(size_t(points), 0.0);
  const double norm = 1.0 / (n * k.bandwidth * std::sqrt(2.0 * M_PI));
  const double inv2h2 = 1.0 / (2.0 * k.bandwidth * k.bandwidth);
  for (int64_t i = 0; i < points; ++i) {
    const double g = lo + (hi - lo) * double(i) / double(points - 1);
    double s = 0;
    for (double v : x) s += std::exp(-(g - v) * (g - v) * inv2h2);
    k.grid[size_t(i)] = g;
    k.density[size_t(i)] = s * norm;
  }
  return k;
}

}  // namespace rsnn::barrel
