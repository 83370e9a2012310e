// The scaling-factor (1/lambda) grid search of the original lambda_grid_search.m (spec
// rate-to-spiking.md §4): for every factor, n_trials fresh random trials of the task run on
// the converted LIF network (noise on); performance = fraction correct under the task's
// LIF rule; the chosen factor is the FIRST (smallest) one attaining the maximum.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/rate/lif_convert.h"
#include "models/rate/rate_rnn.h"
#include "models/rate/tasks.h"

namespace rsnn::rate {

// "20:5:75" (MATLAB start:step:stop, stop inclusive), "25" or "20,30,45"; at most
// kMaxScalingFactors values (a typo in the step must not start millions of simulations).
inline constexpr int64_t kMaxScalingFactors = 10000;
std::vector<double> parse_scaling_factors(const std::string& spec);

struct GridSearchConfig {
  std::vector<double> scaling_factors = parse_scaling_factors("20:5:75");
  int n_trials = 100;
  uint64_t seed = 1;
  LifParams lif;
  bool use_cuda = false;  // simulate on the GPU (one trial per block)
};

struct GridSearchResult {
  std::vector<double> scaling_factors, all_perfs;
  double opt_scaling_factor = 0;
  int opt_index = 0;
  double seconds = 0;
  int64_t trials_run = 0;
};

// Trial j of factor k has id grid_trial_id(k * n_trials + j): fresh trials for every factor,
// none of them a training or evaluation trial (rng.h TrialSet). progress(done, total) is called from one
// thread as trials finish.
GridSearchResult grid_search(const RateNet& net, const TaskSpec& task, const GridSearchConfig& cfg,
                             const std::function<void(int64_t, int64_t)>& progress = nullptr);

uint64_t grid_trial_id(int64_t q);

// Performance of one factor on trials ids (fraction correct).
double lif_performance(const LifNetwork& lif, const TaskSpec& task, uint64_t seed,
                       const std::vector<uint64_t>& ids, bool use_cuda = false);

}  // namespace rsnn::rate
