// Saved rate models (spec rate-to-spiking.md §5): every field of the original .mat, in
//  * a native HDF5 file (row-major, shapes as in the spec, readable from h5py), and
//  * a MATLAB v7.3 export (HDF5 with the 512-byte MAT header, MATLAB_class attributes and
//    MATLAB's column-major convention) that the original LIF_network_fnc.m /
//    lambda_grid_search.m can `load`.
// Both are written atomically (a temporary file in the same folder, then rename).
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "models/rate/lif_convert.h"
#include "models/rate/rate_rnn.h"
#include "models/rate/rate_train.h"
#include "models/rate/tasks.h"

namespace rsnn::rate {

struct RateModel {
  RateNet net;   // w is saved relu'd, as the original
  TaskSpec task;
  LossKind loss = LossKind::l2;
  uint64_t seed = 0;
  // training record (optional: empty tensors / vectors are not written)
  int64_t tr = 0;
  bool converged = false;
  double seconds = 0;
  std::vector<double> losses;
  std::vector<EvalRecord> evals;
  double eval_perf_mean = std::numeric_limits<double>::quiet_NaN();
  double eval_loss_mean = std::numeric_limits<double>::quiet_NaN();
  Tensor eval_os;                 // (n, T-1)
  std::vector<int> eval_labels;
  Tensor x0, r0;                  // (T, N) initial run
  Tensor u, target, o, x, r;      // last training trial: (C, T), (T), (T-1), (T, N), (T, N)
  // grid search (optional)
  std::vector<double> scaling_factors, all_perfs;
  double opt_scaling_factor = std::numeric_limits<double>::quiet_NaN();
};

// Everything a training run produced, ready to save.
RateModel model_from_training(const TrainResult& r, const TrainConfig& cfg);

void save_rate_model(const std::string& path, const RateModel& m);
// Throws rsnn::Error naming the file and the missing/ill-shaped dataset.
RateModel load_rate_model(const std::string& path);
// MATLAB v7.3 .mat with the original field names.
void export_matlab(const std::string& path, const RateModel& m);

// A LIF simulation record (HDF5): per trial u, label, out, fr, spike events (0-based step,
// unit) and, when recorded, v and rs every `stride` steps. Written atomically.
void save_lif_recording(const std::string& path, const LifNetwork& net, const TaskSpec& task,
                        const std::vector<Trial>& trials, const std::vector<LifTrialResult>& res,
                        int stride, double perf);

// The original file name with a seed and a random suffix, so that parallel runs never collide:
// Task_<task>_N_<N>_Taus_<min>_<max>_Act_<act>_<YYYY_MM_DD_HHMMSS>_seed<seed>_<8 hex digits>.
std::string default_model_name(const RateModel& m);

}  // namespace rsnn::rate
