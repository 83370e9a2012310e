// Training of the rate RNN (spec rate-to-spiking.md §2.4): one trial per Adam step
// (faithful) or B trials per step, TF1's Adam, an evaluation on fresh trials every
// eval_freq trials, and the original termination rule.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "autograd/var.h"
#include "models/rate/rate_rnn.h"
#include "models/rate/tasks.h"

namespace rsnn::rate {

// TensorFlow 1's AdamOptimizer, exactly: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),
// m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, theta -= lr_t m / (sqrt(v) + eps).
// (Epsilon is added to sqrt(v) of the uncorrected moment, unlike PyTorch's Adam.)
class TfAdam {
 public:
  explicit TfAdam(std::vector<ag::Var> params, double lr = 0.01, double beta1 = 0.9,
                  double beta2 = 0.999, double eps = 1e-8);
  void step();       // parameters without a gradient are left alone
  void zero_grad();
  int64_t steps() const { return t_; }

 private:
  std::vector<ag::Var> params_;
  std::vector<Tensor> m_, v_;
  double lr_, b1_, b2_, eps_;
  int64_t t_ = 0;
};

struct TrainConfig {
  std::vector<TaskSpec> stages = {task_defaults(TaskKind::go_nogo)};  // curriculum; last = task
  RateConfig net;                // n_in is set from the task
  LossKind loss = LossKind::l2;
  double lr = 0.01;
  int64_t max_trials = 6000;     // trials in all (Adam steps x batch)
  int batch = 1;                 // trials per Adam step
  int eval_freq = 100;
  int eval_trials = 100;
  double loss_threshold = 7.0;
  double perf_threshold = 0.95;
  int64_t go_nogo_min_trials = 1500;  // Go-NoGo also needs tr > 1500
  uint64_t seed = 1;
  // Data parallel under MPI: every batch (and evaluation) cut into this many shards, dealt
  // to the ranks (a multiple of their count); the gradient is the shard-ordered sum, so any
  // rank count gives the same bits. 1: the whole batch on this process, no MPI call.
  int shards = 1;
};

struct EvalResult {
  double perf = 0, loss = 0;
  Tensor o;                 // (n, T-1)
  std::vector<int> labels;  // (n)
};

struct EvalRecord {
  int64_t tr = 0;  // trial index at the evaluation
  int stage = 0;
  double perf = 0, loss = 0;
  double seconds = 0;  // since training started
};

struct TrainResult {
  RateNet net;            // trained (w raw: apply relu for the saved w)
  bool converged = false;
  int64_t tr = 0;         // trial index at stop
  std::vector<double> losses;  // per training step
  std::vector<EvalRecord> evals;
  EvalResult last_eval;
  // Traces (B = 1 rows) of the first (untrained) and last training trial.
  RateTrace trace0, trace_last;
  Tensor u_last, z_last, o_last;  // (C, T), (T), (T-1)
  double seconds = 0;
};

// Called after every evaluation. `so_far` is the run up to this trial (losses, evaluations,
// the last training trial's traces, target and output; its net is `net`), so a caller can save
// a mid-run snapshot that holds everything the final model does.
using EvalCallback = std::function<void(const EvalRecord&, const EvalResult&, const RateNet&,
                                        const TrainResult& so_far)>;

// Run `n` fresh trials (ids first_trial ..) with noise on, no tape.
EvalResult evaluate_rate(const RateNet& net, const TaskSpec& task, LossKind loss, uint64_t seed,
                         uint64_t first_trial, int n);
// The same with the trials cut into `shards` contiguous chunks dealt to the MPI ranks (every
// rank calls it and gets the whole result); equal on any rank count that divides `shards`.
EvalResult evaluate_rate_sharded(const RateNet& net, const TaskSpec& task, LossKind loss,
                                 uint64_t seed, uint64_t first_trial, int n, int shards);
// Inputs (B, C, T) and targets (B, T) of trials `ids`, dtype f32.
void make_batch(const TaskSpec& task, uint64_t seed, const std::vector<uint64_t>& ids, Tensor& u,
                Tensor& z, std::vector<int>& labels);

TrainResult train_rate(const TrainConfig& cfg, const EvalCallback& on_eval = nullptr);

}  // namespace rsnn::rate
