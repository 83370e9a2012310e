// Optimizers (Adam/AdamW, SGD with momentum) over groups of parameters, and the StepLR
// learning-rate schedule, with the semantics of torch.optim.
//
// Usage:
//   ag::AdamOptions o;  o.decoupled = true;  // AdamW
//   ag::Adam opt({{{w_rec}, 1e-3, {}, "rec", ag::clamp_hook(0, 1)},
//                 {{w_out}, 5e-3, 1e-4, "out"}}, o);
//   ag::StepLR sched(opt, /*step_size=*/30, /*gamma=*/0.5);
//   each epoch: each batch: opt.zero_grad(); loss = ...; ag::backward(loss); opt.step();
//               then sched.step();
//
// A parameter whose gradient is undefined at step() (backward did not reach it) is skipped:
// its value, moments and step count stay as they are (PyTorch: grad is None). Each
// parameter keeps its own step count, so its bias correction counts only its own updates.
// Optimizer state is created on a parameter's first update, on the parameter's device,
// with its dtype and shape. Updates run without recording on the tape.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "autograd/var.h"
#include "runtime/tensor.h"

namespace rsnn::ag {

struct ParamGroup {
  ParamGroup() = default;
  // Brace-initialisable in order: {{w}, 1e-3}, {{w}, 1e-3, 1e-4, "rec", clamp_hook(0, 1)}.
  ParamGroup(std::vector<Var> params_, double lr_,
             std::optional<double> weight_decay_ = std::nullopt, std::string name_ = "",
             std::function<void(Var&)> post_step_ = nullptr)
      : params(std::move(params_)),
        lr(lr_),
        weight_decay(weight_decay_),
        name(std::move(name_)),
        post_step(std::move(post_step_)) {}

  std::vector<Var> params;
  double lr = 0;  // must be set (> 0)
  // L2 (Adam, SGD) or decoupled (AdamW) weight decay of this group; unset = the
  // optimizer's default (AdamOptions/SGDOptions::weight_decay).
  std::optional<double> weight_decay;
  std::string name;
  // Runs after the group's update on each of its parameters that this step updated
  // (e.g. clamp_hook). Runs in no-grad mode.
  std::function<void(Var&)> post_step;
};

// A post_step hook clamping a parameter's value in place to [lo, hi].
std::function<void(Var&)> clamp_hook(double lo, double hi);

// What every optimizer shares: parameter groups, zero_grad, a step counter.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Not copyable: a copy would share (alias) the state tensors.
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  Optimizer(Optimizer&&) = default;
  Optimizer& operator=(Optimizer&&) = default;
  virtual void step() = 0;
  // Forget every parameter's gradient (it becomes undefined, as PyTorch's set_to_none).
  void zero_grad();
  // Number of step() calls so far (restored by load_state).
  int64_t steps() const { return steps_; }
  // Groups may be edited between steps (learning rates, hooks); adding parameters to a
  // group is allowed, reordering or removing them is not (state is kept by position).
  std::vector<ParamGroup>& groups() { return groups_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  const std::string& kind() const { return kind_; }

 protected:
  Optimizer(std::vector<ParamGroup> groups, std::string kind);
  // Throws when a group has lr <= 0 or negative weight decay, or a parameter is undefined,
  // not floating point, listed twice, or has a gradient of the wrong shape/dtype/device.
  void check_groups() const;
  // "parameter 'w' (group 'rec')" for messages.
  std::string param_label(size_t group, size_t index) const;
  // Runs `update(group, index)` for every parameter with a gradient, then each group's
  // post_step on the parameters it updated; in no-grad mode; counts the step.
  void for_each_update(const std::function<void(size_t, size_t)>& update);

  std::vector<ParamGroup> groups_;
  int64_t steps_ = 0;
  std::string kind_;
};

// ---- Adam / AdamW -----------------------------------------------------------------
struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;  // default for groups that do not set their own
  bool decoupled = false;   // true: AdamW (p *= 1 - lr*wd before the Adam step)
  bool amsgrad = false;     // keep the running maximum of v and use it in the denominator
};

// One parameter's state: its update count and moments (vmax only with amsgrad).
struct AdamParamState {
  int64_t step = 0;
  Tensor m, v, vmax;
};
// The whole optimizer's state, parameters in group order (group 0's params, then group 1's).
struct AdamState {
  int64_t steps = 0;
  std::vector<AdamParamState> params;
};

class Adam : public Optimizer {
 public:
  explicit Adam(std::vector<ParamGroup> groups, AdamOptions options = {});
  void step() override;
  const AdamOptions& options() const { return options_; }
  // A deep copy of the state (on the parameters' devices; zeros for parameters not updated
  // yet), for checkpoints. load_state copies it back; continuing from a loaded state is
  // bit-identical to never having stopped.
  AdamState state() const;
  void load_state(const AdamState& state);

 private:
  AdamParamState& state_of(size_t group, size_t index);
  AdamOptions options_;
  std::vector<std::vector<AdamParamState>> state_;  // [group][param]
};

// ---- SGD --------------------------------------------------------------------------
struct SGDOptions {
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;  // default for groups that do not set their own
  bool nesterov = false;
};

struct SGDParamState {
  int64_t step = 0;        // updates so far; the momentum buffer starts as the gradient
  Tensor momentum_buffer;  // defined only with momentum > 0
};
struct SGDState {
  int64_t steps = 0;
  std::vector<SGDParamState> params;  // group order, as AdamState
};

class SGD : public Optimizer {
 public:
  explicit SGD(std::vector<ParamGroup> groups, SGDOptions options = {});
  void step() override;
  const SGDOptions& options() const { return options_; }
  SGDState state() const;
  void load_state(const SGDState& state);

 private:
  SGDParamState& state_of(size_t group, size_t index);
  SGDOptions options_;
  std::vector<std::vector<SGDParamState>> state_;
};

// ---- learning-rate schedule -----------------------------------------------------------
// torch.optim.lr_scheduler.StepLR: at epoch e every group's lr is
// base_lr * gamma^floor(e / step_size), base_lr being the group's lr when the scheduler was
// made. Epochs count from 0 at construction; call step() once at the end of each epoch.
class StepLR {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
  void step();
  double factor() const;  // gamma^floor(last_epoch / step_size)
  int64_t last_epoch() const { return last_epoch_; }
  // Resume: jump to an epoch and set the learning rates for it.
  void set_last_epoch(int64_t epoch);
  const std::vector<double>& base_lrs() const { return base_lrs_; }

 private:
  void apply();
  Optimizer& optimizer_;
  int64_t step_size_;
  double gamma_;
  int64_t last_epoch_ = 0;
  std::vector<double> base_lrs_;
};

}  // namespace rsnn::ag
