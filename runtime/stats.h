// Distribution functions shared by the analyses (barrel p-values, MICrONS confidence
// intervals): the regularized incomplete beta function and what Student's t and Fisher's F
// need from it. Plain double precision; every bad argument throws rsnn::Error.
#pragma once

namespace rsnn {

// Regularized incomplete beta function I_x(a, b) = B(x; a, b) / B(a, b) for finite a, b > 0
// and x in [0, 1], by its continued fraction (modified Lentz method) on the side where it
// converges fast (x < (a + 1) / (a + b + 2), else through I_x(a, b) = 1 - I_{1-x}(b, a)).
// Relative error below 1e-10 against scipy.special.betainc for a, b in [0.1, 3000] (the
// lgamma differences limit it for large a, b).
double incomplete_beta(double a, double b, double x);

// Student-t cumulative distribution P(T <= t) with df > 0 degrees of freedom; t = +-inf
// gives 1 or 0, NaN t throws.
double student_t_cdf(double t, double df);

// Inverse of student_t_cdf: the p-quantile (0 < p < 1, df > 0), to ~1e-12 absolute.
double student_t_quantile(double p, double df);

// Two-sided p-value of Student's t: P(|T| >= |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2).
// NaN for NaN t, 0 for infinite t.
double student_t_two_sided_p(double t, double df);

// Survival function of Fisher's F(d1, d2): P(X > f) = I_{d2 / (d2 + d1 f)}(d2 / 2, d1 / 2);
// 1 for f <= 0, 0 for f = inf, NaN for NaN f.
double f_survival(double f, double d1, double d2);

}  // namespace rsnn
