#include "models/microns/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/error.h"

namespace rsnn::microns {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

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
