#include "models/barrel/baseline.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

namespace rsnn::barrel {

Tensor baseline_features(const WhiskerData& d, const BaselineOptions& opt) {
  RSNN_CHECK(opt.time_bins >= 1 && opt.time_bins <= kFrames, "baseline: time_bins ",
             opt.time_bins, " is outside 1..", kFrames);
  const Tensor x = encode_real(d);
  const int64_t N = d.size(), F = kRealFeatures, B = opt.time_bins;
  const int64_t per_bin = opt.abs_features ? 2 * F : F;
  Tensor out = Tensor::zeros({N, B * per_bin}, DType::f64);
  const float* px = x.data<float>();
  double* po = out.data<double>();
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t b = 0; b < B; ++b) {
      const int64_t f0 = b * kFrames / B, f1 = (b + 1) * kFrames / B;
      double* row = po + n * B * per_bin + b * per_bin;
      for (int64_t f = f0; f < f1; ++f) {
        const float* v = px + (n * kFrames + f) * F;
        for (int64_t i = 0; i < F; ++i) {
          row[i] += v[i];
          if (opt.abs_features) row[F + i] += std::fabs(v[i]);
        }
      }
      const double inv = 1.0 / static_cast<double>(f1 - f0);
      for (int64_t i = 0; i < per_bin; ++i) row[i] *= inv;
    }
  }
  return out;
}

namespace {

// Standardised copy of X with the given statistics.
Tensor standardise(const Tensor& X, const std::vector<double>& mean, const std::vector<double>& inv_std) {
  const int64_t N = X.size(0), D = X.size(1);
  Tensor out = Tensor::empty({N, D}, DType::f64);
  const double* x = X.data<double>();
  double* o = out.data<double>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < D; ++j) o[n * D + j] = (x[n * D + j] - mean[j]) * inv_std[j];
  return out;
}

void check_features(const Tensor& X, int64_t D, const char* what) {
  RSNN_CHECK(X.ndim() == 2, what, ": features must be [N, D], got ", X.shape_str());
  check_dtype(X, DType::f64, what);
  RSNN_CHECK(D < 0 || X.size(1) == D, what, ": expected ", D, " features, got ", X.size(1));
}

}  // namespace

double softmax_objective(const std::vector<double>& params, const Tensor& X,
                         const std::vector<int32_t>& y, int64_t K, double l2,
                         std::vector<double>* grad) {
  check_features(X, -1, "softmax_objective");
  const int64_t N = X.size(0), D = X.size(1);
  RSNN_CHECK(static_cast<int64_t>(y.size()) == N, "softmax_objective: ", y.size(), " labels for ",
             N, " samples");
  RSNN_CHECK(static_cast<int64_t>(params.size()) == K * D + K, "softmax_objective: expected ",
             K * D + K, " parameters, got ", params.size());
  const double* x = X.data<double>();
  const double* W = params.data();
  const double* b = params.data() + K * D;
  if (grad) grad->assign(params.size(), 0.0);
  double loss = 0;
  std::vector<double> z(K);
  for (int64_t n = 0; n < N; ++n) {
    RSNN_CHECK(y[n] >= 0 && y[n] < K, "softmax_objective: label ", y[n], " outside 0..", K - 1);
    const double* xn = x + n * D;
    double zmax = -std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < K; ++k) {
      double s = b[k];
      const double* wk = W + k * D;
      for (int64_t j = 0; j < D; ++j) s += wk[j] * xn[j];
      z[k] = s;
      zmax = std::max(zmax, s);
    }
    double sum = 0;
    for (int64_t k = 0; k < K; ++k) sum += std::exp(z[k] - zmax);
    const double lse = zmax + std::log(sum);
    loss += lse - z[y[n]];
    if (grad) {
      for (int64_t k = 0; k < K; ++k) {
        const double r = (std::exp(z[k] - lse) - (k == y[n] ? 1.0 : 0.0)) / N;
        double* gk = grad->data() + k * D;
        for (int64_t j = 0; j < D; ++j) gk[j] += r * xn[j];
        (*grad)[K * D + k] += r;
      }
    }
  }
  loss /= N;
  double reg = 0;
  for (int64_t i = 0; i < K * D; ++i) {
    reg += W[i] * W[i];
    if (grad) (*grad)[i] += l2 * W[i];
  }
  return loss + 0.5 * l2 * reg;
}

SoftmaxModel fit_softmax(const Tensor& X, const std::vector<int32_t>& y, int64_t K,
                         const BaselineOptions& opt, FitReport* report) {
  check_features(X, -1, "fit_softmax");
  check_finite(X, "fit_softmax: features");
  const int64_t N = X.size(0), D = X.size(1);
  RSNN_CHECK(N > 0, "fit_softmax: no samples");
  SoftmaxModel m;
  m.features = D;
  m.classes = K;
  m.mean.assign(D, 0.0);
  m.inv_std.assign(D, 1.0);
  const double* x = X.data<double>();
  for (int64_t j = 0; j < D; ++j) {
    double s = 0, s2 = 0;
    for (int64_t n = 0; n < N; ++n) s += x[n * D + j];
    const double mu = s / N;
    for (int64_t n = 0; n < N; ++n) s2 += (x[n * D + j] - mu) * (x[n * D + j] - mu);
    const double sd = std::sqrt(s2 / N);
    m.mean[j] = mu;
    m.inv_std[j] = sd > 1e-12 ? 1.0 / sd : 0.0;  // constant features carry nothing
  }
  const Tensor Z = standardise(X, m.mean, m.inv_std);

  // L-BFGS with memory 10 and Armijo backtracking.
  const size_t P = static_cast<size_t>(K * D + K);
  std::vector<double> w(P, 0.0), g, g_new, w_new, dir(P);
  double f = softmax_objective(w, Z, y, K, opt.l2, &g);
  std::deque<std::vector<double>> S, Y;
  std::deque<double> rho;
  FitReport rep;
  auto inf_norm = [](const std::vector<double>& v) {
    double m = 0;
    for (double e : v) m = std::max(m, std::fabs(e));
    return m;
  };
  for (int it = 0; it < opt.max_iter; ++it) {
    if (inf_norm(g) < opt.tol) {
      rep.converged = true;
      break;
    }
    // Two-loop recursion: dir = -H g.
    std::vector<double> q = g;
    std::vector<double> alpha(S.size());
    for (int i = static_cast<int>(S.size()) - 1; i >= 0; --i) {
      double a = 0;
      for (size_t p = 0; p < P; ++p) a += S[i][p] * q[p];
      alpha[i] = rho[i] * a;
      for (size_t p = 0; p < P; ++p) q[p] -= alpha[i] * Y[i][p];
    }
    double gamma = 1.0;
    if (!S.empty()) {
      double sy = 0, yy = 0;
      for (size_t p = 0; p < P; ++p) {
        sy += S.back()[p] * Y.back()[p];
        yy += Y.back()[p] * Y.back()[p];
      }
      gamma = sy / yy;
    }
    for (size_t p = 0; p < P; ++p) q[p] *= gamma;
    for (size_t i = 0; i < S.size(); ++i) {
      double bta = 0;
      for (size_t p = 0; p < P; ++p) bta += Y[i][p] * q[p];
      bta *= rho[i];
      for (size_t p = 0; p < P; ++p) q[p] += S[i][p] * (alpha[i] - bta);
    }
    double gd = 0;
    for (size_t p = 0; p < P; ++p) {
      dir[p] = -q[p];
      gd += dir[p] * g[p];
    }
    if (gd >= 0) {  // not a descent direction: restart from steepest descent
      S.clear();
      Y.clear();
      rho.clear();
      gd = 0;
      for (size_t p = 0; p < P; ++p) {
        dir[p] = -g[p];
        gd -= g[p] * g[p];
      }
    }
    double step = S.empty() ? 1.0 / std::max(1.0, inf_norm(g)) : 1.0;
    double f_new = f;
    bool accepted = false;
    for (int ls = 0; ls < 40; ++ls) {
      w_new = w;
      for (size_t p = 0; p < P; ++p) w_new[p] += step * dir[p];
      f_new = softmax_objective(w_new, Z, y, K, opt.l2, &g_new);
      if (f_new <= f + 1e-4 * step * gd) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    rep.iterations = it + 1;
    if (!accepted) break;  // no decrease possible at double precision
    std::vector<double> s(P), yv(P);
    double sy = 0;
    for (size_t p = 0; p < P; ++p) {
      s[p] = w_new[p] - w[p];
      yv[p] = g_new[p] - g[p];
      sy += s[p] * yv[p];
    }
    if (sy > 1e-12) {
      S.push_back(std::move(s));
      Y.push_back(std::move(yv));
      rho.push_back(1.0 / sy);
      if (S.size() > 10) {
        S.pop_front();
        Y.pop_front();
        rho.pop_front();
      }
    }
    const double f_old = f;
    w.swap(w_new);
    g.swap(g_new);
    f = f_new;
    if (std::fabs(f_old - f) <= 1e-12 * std::max(1.0, std::fabs(f))) {
      rep.converged = true;
      break;
    }
  }
  if (inf_norm(g) < opt.tol) rep.converged = true;
  rep.loss = f;
  m.weight.assign(w.begin(), w.begin() + K * D);
  m.bias.assign(w.begin() + K * D, w.end());
  if (report) *report = rep;
  return m;
}

Tensor SoftmaxModel::predict_proba(const Tensor& X) const {
  check_features(X, features, "SoftmaxModel::predict_proba");
  const int64_t N = X.size(0), D = features, K = classes;
  const Tensor Z = standardise(X, mean, inv_std);
  const double* z = Z.data<double>();
  Tensor out = Tensor::empty({N, K}, DType::f64);
  double* o = out.data<double>();
  for (int64_t n = 0; n < N; ++n) {
    double zmax = -std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < K; ++k) {
      double s = bias[k];
      for (int64_t j = 0; j < D; ++j) s += weight[k * D + j] * z[n * D + j];
      o[n * K + k] = s;
      zmax = std::max(zmax, s);
    }
    double sum = 0;
    for (int64_t k = 0; k < K; ++k) sum += (o[n * K + k] = std::exp(o[n * K + k] - zmax));
    for (int64_t k = 0; k < K; ++k) o[n * K + k] /= sum;
  }
  return out;
}

std::vector<int32_t> SoftmaxModel::predict(const Tensor& X) const {
  const Tensor p = predict_proba(X);
  const int64_t N = p.size(0), K = classes;
  const double* pp = p.data<double>();
  std::vector<int32_t> out(N);
  for (int64_t n = 0; n < N; ++n)
    out[n] = static_cast<int32_t>(std::max_element(pp + n * K, pp + (n + 1) * K) - (pp + n * K));
  return out;
}

double accuracy(const std::vector<int32_t>& predicted, const std::vector<int32_t>& truth) {
  RSNN_CHECK(predicted.size() == truth.size(), "accuracy: ", predicted.size(), " predictions for ",
             truth.size(), " labels");
  if (truth.empty()) return 0.0;
  int64_t ok = 0;
  for (size_t i = 0; i < truth.size(); ++i) ok += predicted[i] == truth[i];
  return static_cast<double>(ok) / static_cast<double>(truth.size());
}

BaselineResult run_baseline(const WhiskerData& train, const WhiskerData& test,
                            const BaselineOptions& opt) {
  validate(train, "baseline training set");
  validate(test, "baseline test set");
  const Tensor Xtr = baseline_features(train, opt);
  const Tensor Xte = baseline_features(test, opt);
  const std::vector<int32_t> ytr = train.label.to_vector<int32_t>();
  const std::vector<int32_t> yte = test.label.to_vector<int32_t>();
  BaselineResult r;
  const SoftmaxModel m = fit_softmax(Xtr, ytr, kClasses, opt, &r.fit);
  r.features = m.features;
  r.train_accuracy = accuracy(m.predict(Xtr), ytr);
  const std::vector<int32_t> pred = m.predict(Xte);
  r.test_accuracy = accuracy(pred, yte);
  r.confusion.assign(kClasses, std::vector<int64_t>(kClasses, 0));
  for (size_t i = 0; i < yte.size(); ++i) ++r.confusion[yte[i]][pred[i]];
  return r;
}

}  // namespace rsnn::barrel
