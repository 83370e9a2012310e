// Training, evaluation and checkpoints of the barrel model (spec §1.7).
//
// Checkpoint layout (HDF5, written atomically; readable from h5py):
//   /                  attributes: format = "rsnn-barrel", version = 1, form ("spiking"|"real"),
//                      T, init_b, init_w, tau_m_init, tau_adp_init, beta, order, loss, seed,
//                      epoch (completed epochs), test_accuracy (last evaluation)
//   /params/<name>     every trainable tensor, float32 (names: BarrelModel::named_parameters)
//   /b_base            float32 [4418] baseline thresholds
//   /projection/       post_ptr int64 [4419], pre_idx int32 [nnz], source_sign float32 [4418]
//   /optimizer/        attribute steps; /optimizer/<k>/{m, v} and attribute step per parameter
//                      (parameters in param_groups order) -- absent in converted models
//   /scheduler         attribute last_epoch
//   /init_state/<B>/   optional (converted models: tools/convert_torch_barrel.py --init-batch):
//                      v0, s0 float32 [B, 4418], the seed's initial membrane state and real-valued
//                      initial spikes for batch size B, as its forward draws them:
//                      torch.manual_seed(515), then torch.rand [B, 200] for the thalamus' v, its
//                      s, [B, n] for each population's v, then each population's s (columns in
//                      network order). The converter notes source and generator as attributes
//                      of /init_state. When present, every forward starts from them and a batch
//                      size without one is an error; save_checkpoint writes them back.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/optim.h"
#include "models/barrel/model.h"
#include "models/barrel/whisker_data.h"

namespace rsnn::barrel {

// A data set encoded once for a model form: spiking uint8 [N, 2, 550, 93] (force, torque),
// real float32 [N, 110, 558]; labels int64 [N].
struct EncodedSet {
  Tensor x;
  Tensor labels;
  int64_t size() const { return labels.defined() ? labels.numel() : 0; }
};
EncodedSet encode_for(const BarrelConfig& cfg, const WhiskerData& d, uint64_t seed);

// Model input [T, B, F] for the samples `index` (the first cfg.T steps).
Tensor make_batch(const BarrelConfig& cfg, const EncodedSet& set, const std::vector<int64_t>& index);
Tensor batch_labels(const EncodedSet& set, const std::vector<int64_t>& index);

// Rough peak memory (bytes) of a forward of `batch` samples (with its backward when
// `training`): per sample and step ~8 B per neuron for the saved state and about as much
// again for the input layers, readout and gradients (measured: spiking form 29 kB per
// sample-step, real form ~45 kB), plus the projection tables and a fixed base.
double forward_bytes_estimate(const BarrelConfig& cfg, int64_t batch, bool training);

struct EvalResult {
  double loss = 0;
  double accuracy = 0;
  int64_t samples = 0;
  std::vector<int64_t> predictions;
};
// Throws (BarrelModel::check_batch_size) when the batches of n samples in `batch`s (the last
// one smaller) include a size the model's stored seed initial state lacks.
void check_batch_sizes(const BarrelModel& model, int64_t n, int64_t batch);
// Throws a one-line error naming --shards when a batch of the n samples in `batch`s (the last
// one smaller included) cannot be cut into `shards` data-parallel shards on this run's ranks
// (runtime/dist.h: a multiple of the rank count, at most the batch; 0: one per rank).
// `what` names the data set in the message; `ranks` 0: this run's MPI ranks.
void check_batch_shards(int64_t n, int64_t batch, int shards, const std::string& what, int ranks = 0);

// progress(done, total) after every batch, when given (samples evaluated so far).
// Data-parallel: every batch is cut into `shards` shards (0: one per MPI rank), each rank
// evaluates its shards and the statistics are added in shard order, so every rank returns
// the same result, whatever the rank count, for the same `shards`. With across_ranks false
// (a command that runs on one rank while the others wait) this rank evaluates every shard
// itself, 0 meaning one shard, and makes no MPI call; the sums are the same.
EvalResult evaluate(BarrelModel& model, const EncodedSet& set, int64_t batch,
                    const std::function<void(int64_t, int64_t)>& progress = {}, int shards = 0,
                    bool across_ranks = true);

struct TrainOptions {
  int64_t epochs = 100;
  int64_t batch = 128;
  double lr = 0.008;
  int64_t step_size = 20;   // StepLR
  double gamma = 0.8;
  std::string run_dir;      // checkpoint.h5 and log.csv go here; empty: nothing written
  bool resume = false;      // continue from run_dir/checkpoint.h5
  bool progress = true;     // a progress line on stderr
  int64_t checkpoint_every = 1;  // epochs between checkpoints (the last epoch always gets one)
  // Data-parallel shards per batch (runtime/dist.h; 0: one per MPI rank). The same value gives
  // the same parameters on any rank count that divides it; 1 is the plain whole-batch step.
  int shards = 0;
};

struct TrainSummary {
  int64_t epochs_run = 0;
  double first_loss = 0, last_loss = 0;
  double last_train_accuracy = 0, last_test_accuracy = 0;
  double seconds = 0;
};

// The original's schedule: Adam (lr, tau_adp 5 lr, tau_m 2 lr), StepLR per epoch, a
// shuffled pass over the training set per epoch (Philox permutation keyed by the epoch),
// an evaluation on the test set after every epoch and a checkpoint every checkpoint_every
// epochs. The checkpoint is written before log.csv; on resume the log keeps the rows up to
// the checkpoint's epoch. Stale temporary files of killed runs are removed at the start.
// Under MPI every batch is cut into opt.shards shards (ag::shard_gradients): each rank runs
// its shards, every rank gets the shard-ordered gradient sum and takes the same Adam step;
// only rank 0 writes the checkpoint and log.
TrainSummary train(BarrelModel& model, const EncodedSet& train_set, const EncodedSet& test_set,
                   const TrainOptions& opt);

void save_checkpoint(const std::string& path, const BarrelModel& model, const ag::Adam* adam,
                     int64_t epoch, int64_t scheduler_epoch, double test_accuracy);
// Rebuilds the model from the checkpoint's configuration, projection and parameters.
std::unique_ptr<BarrelModel> load_checkpoint(const std::string& path);
// Restores optimizer and scheduler state; returns the completed epochs.
int64_t load_training_state(const std::string& path, ag::Adam& adam, ag::StepLR& sched);

std::string form_name(InputForm f);
InputForm parse_form(const std::string& s);

}  // namespace rsnn::barrel
