// Saved rate models (spec rate-to-spiking.md §5): every field of the original .mat, in
//  * a native HDF5 file (row-major, shapes as in the spec, readable from h5py), plus what
//    rebuilds the run (task timing, loss, seed, ...), and
//  * a MAT-file (libmatio, mat_file.cpp) with the original's fields, shapes and types, which
//    scipy.io.loadmat and MATLAB read (v5 by default, as scipy.io.savemat writes; or v7.3).
// Both are written atomically (a temporary file in the same folder, then rename). Models are
// read from either: an original rkim35/spikeRNN .mat (v5 or v7.3) loads as it is.
#pragma once
#include <cstdint>
#include <ctime>
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
// An rsnn .h5 model or an original MAT-file (detected by content). Throws rsnn::Error naming
// the file and the missing/ill-shaped/non-finite dataset or field.
RateModel load_rate_model(const std::string& path);

// ---- MAT-files (mat_file.cpp, libmatio) ----
enum class MatVersion { v5, v73 };
// True when the file starts with a MAT-file header of version 5 or 7.3.
bool is_mat_file(const std::string& path);
// An original model: required N, w, m, som_m, w_in, w_out, b_out, taus, taus_gaus, exc, inh,
// som_N, activation; optional w0, taus_gaus0, w_in0, the traces and records, the grid search.
// The task comes from w_in's columns (1 go-nogo, 4 mante, 2 xor; 2 with a 200- or 410-column
// u: the dms / dms-wm timings); the loss is l2 (the original's default; not in its file).
RateModel load_mat_model(const std::string& path);
// The original's fields with its shapes and types (rate/main.py's savemat): float32 weights,
// taus_gaus and traces (x0, r0, x, r: T x N x 1; o: (T-1) x 1), float64 u, target, losses (1 x n),
// taus, eval records; int64 N, som_N, tr; logical exc, inh; char activation and, for the
// two-input tasks, eval_labels 'same' / 'diff'; after a grid search scaling_factors (1 x K),
// all_perfs (K x 1), opt_scaling_factor.
void export_matlab(const std::string& path, const RateModel& m, MatVersion version = MatVersion::v5);
// Rewrites the MAT-file `path` (atomically, same version) with m's scaling_factors, all_perfs
// and opt_scaling_factor; every other variable is kept as it was (lambda_grid_search.m's
// `save -append`).
void mat_store_grid_result(const std::string& path, const RateModel& m);

// A LIF simulation record (HDF5): per trial u, label, out, fr, spike events (0-based step,
// unit) and, when recorded, v, rs and ipsc (synaptic currents) every `stride` steps; the
// network's inh, td, td0, scaled W (N x N, row = postsynaptic), tr (0 = single exponential),
// tref and the stimulation when there is one. Written atomically.
void save_lif_recording(const std::string& path, const LifNetwork& net, const TaskSpec& task,
                        const std::vector<Trial>& trials, const std::vector<LifTrialResult>& res,
                        int stride, double perf);

// Python's str() of a float, as the original's names print numbers: 4.0, 20.0, 0.2, 1e-05.
std::string py_float(double v);
// rate/main.py's folder: <out>/models/<task>/[NoDale/]P_rec_<P_rec>_Taus_<min>_<max>, or
// .../P_rec_<P_rec>_Tau_<tau> with one (fixed) tau.
std::string original_model_dir(const std::string& out, const RateModel& m);
// rate/main.py's name at local time `when`:
// Task_<task>_N_<N>_Taus_<min>_<max>_Act_<act>_<YYYY_MM_DD_HHMMSS> (Tau_<tau> with one tau;
// several areas add _Areas_<k> after N).
std::string original_model_name(const RateModel& m, std::time_t when);
// The original name with the seed and a random suffix, for when the original name is taken
// (parallel runs started in the same second):
// Task_<task>_N_<N>_Taus_<min>_<max>_Act_<act>_<YYYY_MM_DD_HHMMSS>_seed<seed>_<8 hex digits>.
std::string default_model_name(const RateModel& m);

}  // namespace rsnn::rate
