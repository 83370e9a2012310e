// Statistics behind the barrel-cortex analyses (spec barrel-cortex-rsnn.md §4): the
// distributions for p-values, Pearson correlation, one-way ANOVA, the coefficient of
// variation of spike trains, histograms and Gaussian kernel density estimates. Plain double
// precision, no model knowledge: models/barrel/analysis.h applies them to the network.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/stats.h"

namespace rsnn::barrel {

// ---- distributions (runtime/stats.h, shared with the MICrONS summaries) ----

using rsnn::f_survival;
using rsnn::incomplete_beta;
using rsnn::student_t_two_sided_p;

// ---- correlation ----

struct Correlation {
  double r = 0;   // Pearson r (NaN when either input is constant)
  double p = 0;   // two-sided p of H0: r = 0 (t = r sqrt((n-2)/(1-r^2)), n-2 df), as scipy.stats.pearsonr
  int64_t n = 0;
};
// x and y of the same length n >= 3 (throws otherwise).
Correlation pearson(const std::vector<double>& x, const std::vector<double>& y);

// lo + (hi - lo) (x - min) / (max - min) for every value; all NaN when max == min (the
// scaling is undefined then, and pearson() reports NaN).
std::vector<double> minmax_normalize(const std::vector<double>& x, double lo = 0.1, double hi = 1.0);

// ---- one-way ANOVA ----

struct AnovaResult {
  double F = 0;  // (SSB / (k - 1)) / (SSW / (n - k))
  double p = 0;  // f_survival(F, k - 1, n - k)
  int64_t df_between = 0, df_within = 0;
};
// k >= 2 groups with n > k observations in all, each group non-empty (throws otherwise), as
// scipy.stats.f_oneway. SSW = 0: F = inf and p = 0 when SSB > 0; F = p = NaN when SSB = 0.
AnovaResult one_way_anova(const std::vector<std::vector<double>>& groups);

// ---- spike trains ----

// Coefficient of variation of one binary spike train x[0], x[stride], ... (T values):
// std (ddof 0) / mean, with the mean set to 1e-20 when it is 0 (so a silent train gives 0,
// as the original's calculate_cv). For a train firing in a fraction r of the steps this is
// sqrt((1 - r) / r).
double spike_train_cv(const uint8_t* x, int64_t T, int64_t stride);
// The same from the sum and the sum of squares of the T values.
double cv_from_sums(double sum, double sum_sq, int64_t T);

// ---- distributions of values ----

struct Histogram {
  std::vector<double> edges;    // bins + 1, equally spaced from min to max
  std::vector<int64_t> counts;  // bins
};
// numpy.histogram(x, bins) semantics: bins equal bins over [min(x), max(x)] (over
// [v - 0.5, v + 0.5] when every value is v), the last bin closed. x must be non-empty and
// finite, bins >= 1.
Histogram histogram(const std::vector<double>& x, int64_t bins);

struct Kde {
  std::vector<double> grid;     // evaluation points
  std::vector<double> density;  // estimated density at each point (integrates to about 1)
  double bandwidth = 0;         // kernel standard deviation
};
// Gaussian kernel density estimate with Scott's rule, h = std(x, ddof 1) * n^(-1/5) (what
// scipy.stats.gaussian_kde and seaborn's kdeplot use), on `points` equally spaced points
// from min - 3h to max + 3h (seaborn's cut = 3). When the values do not vary (an untrained
// model: every tau equal), h falls back to 1e-3 * max(|mean|, 1), drawing a narrow peak.
Kde gaussian_kde(const std::vector<double>& x, int64_t points = 200);

}  // namespace rsnn::barrel
