// Summary statistics of a sweep's per-simulation values: mean, sample standard deviation
// (ddof = 1) and the Student-t 95 % interval mean +- t_{0.975, n-1} * sd / sqrt(n), which is
// what the original's confidence-interval notebook prints (scipy stats.t.interval with the SEM).
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/stats.h"

namespace rsnn::microns {

// The distribution functions live in runtime/stats.h (shared with the barrel analyses).
using rsnn::incomplete_beta;
using rsnn::student_t_cdf;
using rsnn::student_t_quantile;

struct Summary {
  int n_total = 0;   // values given
  int n = 0;         // finite values used (NaN/inf are left out, as the original's SD does)
  double mean = 0;   // NaN when n == 0
  double sd = 0;     // ddof = 1; NaN when n < 2
  double sem = 0;    // sd / sqrt(n)
  double t975 = 0;   // t_{0.975, n-1}; NaN when n < 2
  double ci_low = 0, ci_high = 0;  // mean -+ t975 * sem; NaN when n < 2
};

// Statistics over the finite entries of `v`.
Summary summarize(const std::vector<double>& v);

// The original notebook's metrics.csv cell: statistics.mean over ALL values (a NaN run makes
// the mean NaN); NaN for an empty list.
double mean_all(const std::vector<double>& v);
// The original's metrics_SD.csv cell: stdev (ddof = 1) of the non-NaN values, 0.0 when fewer
// than two remain.
double sd_notebook(const std::vector<double>& v);

}  // namespace rsnn::microns
