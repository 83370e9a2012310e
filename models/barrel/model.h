// The barrel-cortex recurrent spiking network (spec barrel-cortex-rsnn.md §1.3-1.7):
// 200 thalamic (VPM) + 4,218 cortical adaptive-LIF neurons in 13 cell types, one sparse
// projection sampled from the anatomical tables, whisker input through dense layers into the
// thalamus, and a linear readout from the excitatory populations.
//
//   spiking form:  x_f, x_t [T=550, B, 93] -> fc_f, fc_t (93->100 each) -> concat (200)
//   real form:     x [T=110, B, 558] -> fc (558->200)
//   then           thalamic current = th (200->200, bias) -> the fused recurrent aLIF op over all
//                  4,418 neurons (groups in update order: thalamus, then populations 0..12),
//                  fused readout fc2_1 (3606->128) over Pyr_SP, Pyr_SS and L2/3 Pyr, + bias,
//                  fc2_2 (128->3), softmax per step summed over t = 1..T-1, divided by T.
//   loss:          seed: cross-entropy of that average (a softmax applied twice, as the
//                  original does); plain: cross-entropy of the time-averaged fc2_2 logits.
//
// Weights of the sparse projection are magnitudes clamped to [0, 1] before every forward
// (Dale's sign comes from the source population). Every forward starts from the same
// initial state: v and "spikes" uniform on (0, 1) from Philox (seed, stream 1), adaptation
// = init_b, as the original re-seeds before each forward. A model converted from the seed
// may instead hold the seed's own draws (torch.manual_seed(515); torch.rand, which depend on
// the batch size B) for some B: then every forward uses them, and a B without one is an error.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "autograd/optim.h"
#include "autograd/var.h"
#include "kernels/projection.h"
#include "kernels/recurrent_lif.h"
#include "models/barrel/whisker_data.h"

namespace rsnn::barrel {

enum class InputForm { spiking, real };
enum class LossKind { seed, plain };

struct BarrelConfig {
  InputForm form = InputForm::spiking;
  int64_t T = 550;              // steps; 550 for the spiking form, 110 for the real one
  double init_b = 0.04;         // baseline threshold b_j0 and initial adaptation
  double init_w = 0.06;         // upper bound of the uniform weight init
  double tau_m_init = 10.0;     // steps
  double tau_adp_init = 5.0;    // steps
  double beta = 1.8;
  UpdateOrder order = UpdateOrder::gauss_seidel;
  Propagation propagation = Propagation::automatic;
  LossKind loss = LossKind::seed;
  uint64_t seed = 515;
  std::string tables_dir;       // empty: the tables shipped in data/barrel

  int64_t input_features() const { return form == InputForm::spiking ? 93 : 558; }
  static BarrelConfig spiking_default();
  static BarrelConfig real_default();
  void validate() const;
};

// Readout: neurons of Pyr_SP, Pyr_SS and L2/3 Pyr, hidden units of fc2_1; thalamic neurons.
inline constexpr int64_t kReadoutNeurons = 3606;
inline constexpr int64_t kHidden = 128;
inline constexpr int64_t kThalamic = 200;

// The samples a forward holds within its batch: rows [first, first + B) of a batch of `batch`
// (a data-parallel shard, runtime/dist.h). The initial state is a function of the sample's
// place in the whole batch, so a shard starts from the rows the whole batch would.
struct BatchRows {
  int64_t first = 0;
  int64_t batch = 0;  // 0: the forward's own B (the whole batch)
};

struct ForwardResult {
  ag::Var outputs;       // [B, 3]: summed per-step softmax / T (what the prediction uses)
  ag::Var loss;          // [1] (when labels were given)
  Tensor spike_record;   // uint8 [T, B, 4418] when asked
  kernels::LifStats stats;
  double saved_bytes_per_neuron_step = 0;
};

class BarrelModel {
 public:
  // Samples the projection from the connection tables (cfg.tables_dir, else the built-in ones).
  explicit BarrelModel(const BarrelConfig& cfg);
  // With a given projection (a checkpoint's, a copy's): no tables are read. The parameters
  // are initialized as above (w with the projection's nnz); callers overwrite them.
  BarrelModel(const BarrelConfig& cfg, Projection projection);

  const BarrelConfig& config() const { return cfg_; }
  // Where the model's tensors live and its forward and backward run (CPU after construction).
  Device device() const { return proj_.device(); }
  // Moves every parameter, the projection and b_base to `d`. The parameters become new
  // Vars: call it before param_groups() (i.e. before making the optimizer).
  void to(Device d);
  const Projection& projection() const { return proj_; }
  const LifConfig& lif_config() const { return lif_; }
  int64_t neurons() const { return proj_.n_post; }

  // input: spiking form uint8/float [T, B, 2*93] (force features then torque);
  //        real form float [T, B, 558]. labels: int64 [B] (undefined: no loss). Both may be
  //        on any device; they are checked on the CPU and moved to device().
  //        `rows`: where these samples sit in their batch (default: they are the batch).
  ForwardResult forward(const Tensor& input, const Tensor& labels, bool record_spikes = false,
                        BatchRows rows = {});

  // Adam parameter groups of the original: everything at lr, tau_adp at 5 lr, tau_m at 2 lr
  // (the sparse weights in a group of their own that clamps them to [0, 1] after each step).
  std::vector<ag::ParamGroup> param_groups(double lr) const;

  // Every trainable tensor by a stable name (checkpoints, converters, analyses).
  std::vector<std::pair<std::string, ag::Var>> named_parameters() const;
  ag::Var parameter(const std::string& name) const;
  Tensor b_base() const { return b_base_; }
  // Replace the sampled projection (e.g. from a checkpoint or a converted model); the
  // weight tensor must match its nnz.
  void set_projection(const Projection& p, const Tensor& weights);

  // The initial state used by every forward for batch size B: v0, s0 uniform (0,1), a0 =
  // init_b, on device() (drawn on the CPU, so both backends start from the same state).
  // With stored states (see below), v0 and s0 are the stored ones for B. With `rows`: the
  // rows [rows.first, rows.first + B) of the state of a batch of rows.batch.
  void initial_state(int64_t B, Tensor& v0, Tensor& a0, Tensor& s0, BatchRows rows = {}) const;

  // The seed's initial state for batch size B = v0.size(0): v0, s0 float32 [B, N] in network
  // order (a converted model; models/barrel/train.h /init_state). Replaces one for the same B.
  void set_stored_initial_state(const Tensor& v0, const Tensor& s0);
  // B -> (v0, s0), CPU tensors; empty for rsnn's own (Philox) initial state.
  const std::map<int64_t, std::pair<Tensor, Tensor>>& stored_initial_states() const { return stored_init_; }
  // Throws when stored states exist but none for B (the seed's draws depend on B).
  void check_batch_size(int64_t B) const;

 private:
  void init(Projection projection);  // everything but the projection's sampling
  void build_lif_config();
  void draw_initial_state(int64_t B, Tensor& v0, Tensor& s0) const;  // rsnn's own (Philox)

  BarrelConfig cfg_;
  Projection proj_;
  LifConfig lif_;
  Tensor b_base_;
  std::map<int64_t, std::pair<Tensor, Tensor>> stored_init_;
  // dense layers (PyTorch layout: weight [out, in])
  ag::Var fc_f_w_, fc_f_b_, fc_t_w_, fc_t_b_;  // spiking form
  ag::Var fc_w_, fc_b_;                        // real form
  ag::Var th_w_, th_b_;                        // barrelloid 200 -> 200
  ag::Var w_;                                  // [nnz] sparse magnitudes
  ag::Var tau_m_, tau_adp_;                    // [4418]
  ag::Var ro1_w_, ro1_b_, ro2_w_, ro2_b_;      // 3606 -> 128 -> 3
};

// Class predictions (argmax over the last dim) of [B, 3] outputs.
std::vector<int64_t> predictions(const Tensor& outputs);

}  // namespace rsnn::barrel
