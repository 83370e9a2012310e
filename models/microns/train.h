// One MICrONS training run (spec §2): GaussianNoise -> ReLU SimpleRNN -> Dense softmax on
// h_T, mean categorical cross-entropy (from the logits, as Keras computes it for a softmax
// layer) + the variant's regularizer on W_rec,
// Keras Adam, optional NonNeg on W_rec after every step; epochs x batches unshuffled batches.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "models/microns/field.h"
#include "models/microns/tasks.h"
#include "models/microns/variants.h"
#include "runtime/device.h"

namespace rsnn::microns {

// How the cross-entropy is computed. Keras (2 and 3) takes the logits cached on a softmax
// layer's output, so the original's loss is unclipped log-softmax with gradient p - onehot:
// a confidently wrong trial keeps its gradient. `clipped` is the textbook formula Keras
// falls back to for a non-softmax output: p clipped to [1e-7, 1 - 1e-7], a clipped
// probability passes no gradient (spec section 2 describes this one).
enum class CeForm { logits, clipped };
CeForm parse_ce_form(const std::string& s, const char* what);  // bad -> Error
const char* ce_form_name(CeForm f);

// One trial's cross-entropy of softmax(z[0..C)) for class `label`; d loss / d z into dz.
double categorical_ce(const float* z, int64_t C, int label, CeForm form, double* dz);

struct TrainConfig {
  Task task = Task::maze;
  std::string variant = "W*D*C";
  int sim = 0;
  uint64_t seed = 1;
  int epochs = 10, batches = 40, batch = 128, n_test = 2560;
  double noise = 0.05, lr = 1e-3;
  bool sign_constraint = false;
  BioSource bio = BioSource::corr_sttc;
  StarCoords star = StarCoords::coded;
  bool l1_apply_lambda = false;
  ExpmPrecision expm = ExpmPrecision::float32;  // communicability expm (WDC, WDC_EMD)
  CeForm ce = CeForm::logits;
  double lambda = 0.3, emd_lambda = 0.1;
  // Keras evaluates the test set after every epoch (~12% of a run's FLOPs); false = only
  // after the last one (earlier epochs' val_* are NaN), when only final metrics are kept.
  bool eval_each_epoch = true;
  // Data parallel under MPI: every batch cut into this many shards dealt to the ranks (a
  // multiple of their count), gradients summed in shard order, the test batches dealt too:
  // any rank count gives the same bits. 1: the whole run on this process, no MPI call.
  int shards = 1;
};

struct EpochLog {
  int epoch;
  double loss, accuracy, val_loss, val_accuracy;
};

struct TrainResult {
  double accuracy = 0, loss = 0, val_accuracy = 0, val_loss = 0;  // NaN when diverged
  bool finite = true;
  std::vector<EpochLog> epochs;
  int N = 0;
  std::vector<float> W_rec;  // N*N, after the last epoch
};

// Per-field precomputation shared by runs (thread-safe lazy cache): distance matrices,
// empirical communicability and the bio weights per (source, seed, sim).
class FieldCache {
 public:
  explicit FieldCache(const Field& f) : field_(f) {}
  const Field& field() const { return field_; }
  const std::vector<float>& grid_distances();
  const std::vector<float>& star_distances(StarCoords c);
  const std::vector<float>& empirical_sorted();
  const std::vector<float>& bio(BioSource src, uint64_t seed, int sim);

 private:
  const Field& field_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<std::vector<float>>> cache_;
};

// The initial recurrent kernel (N*N) and the regularizer of run `cfg`, exactly as train_run
// builds them (the same Philox streams), for inspecting a variant without training it.
std::vector<float> initial_w_rec(FieldCache& cache, const TrainConfig& cfg);
RegSpec regularizer_spec(FieldCache& cache, const TrainConfig& cfg);

// Runs one training; a diverged run (NaN/inf) finishes with finite = false and NaN metrics.
TrainResult train_run(const Field& field, const TrainConfig& cfg, Device device);
TrainResult train_run(FieldCache& cache, const TrainConfig& cfg, Device device);

}  // namespace rsnn::microns
