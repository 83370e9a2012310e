// A non-spiking reference classifier for the whisker data: multinomial logistic (softmax)
// regression with an L2 penalty, fitted by L-BFGS on summary features of the real-valued
// input (§2.3, sweep 0). It says how hard a data set is before any network is trained.
//
// Features per sample, from x = encode_real(d) (float32 [N, 110, 558]):
//   for each of `time_bins` equal bins of frames: the mean of x over the bin (558 values)
//   and, when abs_features is set, the mean of |x| over the bin (558 more);
// then standardised with the training set's mean and standard deviation.
#pragma once
#include <cstdint>
#include <vector>

#include "models/barrel/whisker_data.h"
#include "runtime/tensor.h"

namespace rsnn::barrel {

struct BaselineOptions {
  int time_bins = 1;         // 1 = time-averaged features
  bool abs_features = true;  // add the mean absolute value per bin
  double l2 = 1e-2;          // penalty (l2 / 2) * |W|^2 on the weights (not the biases)
  int max_iter = 500;
  double tol = 1e-6;         // stop when |gradient|_inf < tol
};

// float64 [N, D], D = time_bins * 558 * (abs_features ? 2 : 1), not standardised.
Tensor baseline_features(const WhiskerData& d, const BaselineOptions& opt);

struct SoftmaxModel {
  int64_t features = 0, classes = 0;
  std::vector<double> weight;  // [classes, features]
  std::vector<double> bias;    // [classes]
  std::vector<double> mean, inv_std;  // standardisation, [features]

  // Class probabilities of raw (unstandardised) features X: float64 [N, classes].
  Tensor predict_proba(const Tensor& X) const;
  std::vector<int32_t> predict(const Tensor& X) const;
};

struct FitReport {
  int iterations = 0;
  double loss = 0;  // final penalised mean cross-entropy
  bool converged = false;
};

// Mean cross-entropy of softmax(X W^T + b) plus (l2/2)|W|^2, X already standardised
// (float64 [N, D]); params = [W (K*D, row-major), b (K)]. Fills grad (same layout) when given.
double softmax_objective(const std::vector<double>& params, const Tensor& X,
                         const std::vector<int32_t>& y, int64_t classes, double l2,
                         std::vector<double>* grad);

// Fits on raw features (standardised inside) by L-BFGS (memory 10, Armijo backtracking).
SoftmaxModel fit_softmax(const Tensor& X, const std::vector<int32_t>& y, int64_t classes,
                         const BaselineOptions& opt, FitReport* report = nullptr);

double accuracy(const std::vector<int32_t>& predicted, const std::vector<int32_t>& truth);

struct BaselineResult {
  double train_accuracy = 0;
  double test_accuracy = 0;
  FitReport fit;
  int64_t features = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class], test set
};
BaselineResult run_baseline(const WhiskerData& train, const WhiskerData& test,
                            const BaselineOptions& opt = {});

}  // namespace rsnn::barrel
