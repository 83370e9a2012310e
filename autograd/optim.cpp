#include "autograd/optim.h"

#include <cmath>
#include <unordered_set>

#include "kernels/adam.h"
#include "kernels/clamp.h"
#include "kernels/sgd.h"

namespace rsnn::ag {

std::function<void(Var&)> clamp_hook(double lo, double hi) {
  RSNN_CHECK(!std::isnan(lo) && !std::isnan(hi) && lo <= hi,
             "clamp_hook: bounds must satisfy lo <= hi, got [", lo, ", ", hi, "]");
  return [lo, hi](Var& p) { kernels::clamp_(p.value(), lo, hi); };
}

// ---- Optimizer --------------------------------------------------------------------

Optimizer::Optimizer(std::vector<ParamGroup> groups, std::string kind)
    : groups_(std::move(groups)), kind_(std::move(kind)) {
  RSNN_CHECK(!groups_.empty(), kind_, ": no parameter groups given");
  check_groups();
}

void Optimizer::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params) p.zero_grad();
}

std::string Optimizer::param_label(size_t group, size_t index) const {
  const ParamGroup& g = groups_[group];
  const Var& p = g.params[index];
  std::string label = "parameter ";
  label += p.defined() && !p.name().empty() ? "'" + p.name() + "'" : "#" + std::to_string(index);
  label += " (group ";
  label += g.name.empty() ? std::to_string(group) : "'" + g.name + "'";
  return label + ")";
}

void Optimizer::check_groups() const {
  std::unordered_set<const VarImpl*> seen;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParamGroup& g = groups_[gi];
    const std::string gname = g.name.empty() ? std::to_string(gi) : "'" + g.name + "'";
    RSNN_CHECK(std::isfinite(g.lr) && g.lr > 0, kind_, ": group ", gname,
               ": learning rate must be > 0, got ", g.lr);
    if (g.weight_decay)
      RSNN_CHECK(std::isfinite(*g.weight_decay) && *g.weight_decay >= 0, kind_, ": group ",
                 gname, ": weight_decay must be >= 0, got ", *g.weight_decay);
    for (size_t pi = 0; pi < g.params.size(); ++pi) {
      const Var& p = g.params[pi];
      RSNN_CHECK(p.defined() && p.value().defined(), kind_, ": ", param_label(gi, pi),
                 " is undefined");
      RSNN_CHECK(is_floating(p.dtype()), kind_, ": ", param_label(gi, pi),
                 " must be float32 or float64, got ", p.value().describe());
      RSNN_CHECK(seen.insert(p.impl().get()).second, kind_, ": ", param_label(gi, pi),
                 " appears more than once in the parameter groups");
      const Tensor& grad = p.grad();
      if (!grad.defined()) continue;
      RSNN_CHECK(grad.shape() == p.shape(), kind_, ": gradient of ", param_label(gi, pi),
                 " has shape ", grad.shape_str(), ", expected ", p.value().shape_str());
      RSNN_CHECK(grad.dtype() == p.dtype(), kind_, ": gradient of ", param_label(gi, pi), " is ",
                 dtype_name(grad.dtype()), ", parameter is ", dtype_name(p.dtype()));
      RSNN_CHECK(grad.device() == p.device(), kind_, ": gradient of ", param_label(gi, pi),
                 " is on ", grad.device().str(), ", parameter is on ", p.device().str());
    }
  }
}

void Optimizer::for_each_update(const std::function<void(size_t, size_t)>& update) {
  check_groups();  // everything is checked before anything is changed
  NoGradGuard no_grad;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    ParamGroup& g = groups_[gi];
    std::vector<size_t> updated;
    for (size_t pi = 0; pi < g.params.size(); ++pi) {
      if (!g.params[pi].grad().defined()) continue;
      update(gi, pi);
      updated.push_back(pi);
    }
    if (g.post_step)
      for (size_t pi : updated) g.post_step(g.params[pi]);
  }
  ++steps_;
}

namespace {
// True when `t` is a usable state buffer for `param` (same shape, dtype, device).
bool matches(const Tensor& t, const Var& param) {
  return t.defined() && t.shape() == param.shape() && t.dtype() == param.dtype() &&
         t.device() == param.device();
}

Tensor zeros_like(const Var& p) { return Tensor::zeros(p.shape(), p.dtype(), p.device()); }

// State buffers are (re)created while a parameter has no update yet; after that they must
// keep matching it.
void ensure_buffer(Tensor& buf, const Var& p, int64_t step, const std::string& kind,
                   const std::string& label, const char* what) {
  if (matches(buf, p)) return;
  RSNN_CHECK(step == 0 || !buf.defined(), kind, ": ", label, " is now ", p.value().describe(),
             " but its ", what, " is ", buf.describe(),
             " (create the optimizer after moving or resizing parameters)");
  buf = zeros_like(p);
}

// Copies a loaded buffer into a fresh tensor on the parameter's device.
Tensor load_buffer(const Tensor& src, const Var& p, const std::string& kind,
                   const std::string& label, const char* what) {
  RSNN_CHECK(src.defined(), kind, " load_state: ", what, " of ", label, " is missing");
  RSNN_CHECK(src.shape() == p.shape(), kind, " load_state: ", what, " of ", label, " has shape ",
             src.shape_str(), ", parameter has shape ", p.value().shape_str());
  RSNN_CHECK(src.dtype() == p.dtype(), kind, " load_state: ", what, " of ", label, " is ",
             dtype_name(src.dtype()), ", parameter is ", dtype_name(p.dtype()));
  Tensor dst = Tensor::empty(p.shape(), p.dtype(), p.device());
  dst.copy_from(src);
  return dst;
}

size_t count_params(const std::vector<ParamGroup>& groups) {
  size_t n = 0;
  for (const auto& g : groups) n += g.params.size();
  return n;
}

template <class S>
S& state_slot(std::vector<std::vector<S>>& state, const std::vector<ParamGroup>& groups,
              size_t group, size_t index) {
  if (state.size() < groups.size()) state.resize(groups.size());
  if (state[group].size() < groups[group].params.size())
    state[group].resize(groups[group].params.size());
  return state[group][index];
}
}  // namespace

// ---- Adam -------------------------------------------------------------------------

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options)
    : Optimizer(std::move(groups), options.decoupled ? "AdamW" : "Adam"), options_(options) {
  for (const auto& g : groups_) {
    kernels::AdamConfig cfg{g.lr, options_.beta1, options_.beta2, options_.eps,
                            g.weight_decay.value_or(options_.weight_decay), options_.decoupled,
                            options_.amsgrad};
    kernels::check_adam_config(cfg, 1, kind_.c_str());
  }
}

AdamParamState& Adam::state_of(size_t group, size_t index) {
  return state_slot(state_, groups_, group, index);
}

void Adam::step() {
  for_each_update([&](size_t gi, size_t pi) {
    const ParamGroup& g = groups_[gi];
    Var& p = groups_[gi].params[pi];
    AdamParamState& st = state_of(gi, pi);
    const std::string label = param_label(gi, pi);
    ensure_buffer(st.m, p, st.step, kind_, label, "first moment");
    ensure_buffer(st.v, p, st.step, kind_, label, "second moment");
    if (options_.amsgrad) ensure_buffer(st.vmax, p, st.step, kind_, label, "amsgrad maximum");
    kernels::AdamConfig cfg{g.lr, options_.beta1, options_.beta2, options_.eps,
                            g.weight_decay.value_or(options_.weight_decay), options_.decoupled,
                            options_.amsgrad};
    kernels::adam_step_(p.value(), p.grad(), st.m, st.v, st.vmax, st.step + 1, cfg);
    ++st.step;
  });
}

AdamState Adam::state() const {
  AdamState out;
  out.steps = steps_;
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      const Var& p = groups_[gi].params[pi];
      const AdamParamState* st = gi < state_.size() && pi < state_[gi].size() ? &state_[gi][pi]
                                                                              : nullptr;
      AdamParamState s;
      s.step = st ? st->step : 0;
      auto copy = [&](const Tensor& t) { return t.defined() ? t.clone() : zeros_like(p); };
      s.m = copy(st ? st->m : Tensor());
      s.v = copy(st ? st->v : Tensor());
      if (options_.amsgrad) s.vmax = copy(st ? st->vmax : Tensor());
      out.params.push_back(std::move(s));
    }
  return out;
}

void Adam::load_state(const AdamState& in) {
  RSNN_CHECK(in.params.size() == count_params(groups_), kind_, " load_state: state holds ",
             in.params.size(), " parameters, the optimizer has ", count_params(groups_));
  RSNN_CHECK(in.steps >= 0, kind_, " load_state: negative step count ", in.steps);
  std::vector<std::vector<AdamParamState>> fresh(groups_.size());
  size_t k = 0;
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi, ++k) {
      const Var& p = groups_[gi].params[pi];
      const AdamParamState& s = in.params[k];
      const std::string label = param_label(gi, pi);
      RSNN_CHECK(s.step >= 0, kind_, " load_state: negative step count for ", label);
      AdamParamState d;
      d.step = s.step;
      d.m = load_buffer(s.m, p, kind_, label, "first moment");
      d.v = load_buffer(s.v, p, kind_, label, "second moment");
      if (options_.amsgrad) d.vmax = load_buffer(s.vmax, p, kind_, label, "amsgrad maximum");
      fresh[gi].push_back(std::move(d));
    }
  state_ = std::move(fresh);
  steps_ = in.steps;
}

// ---- SGD --------------------------------------------------------------------------

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options)
    : Optimizer(std::move(groups), "SGD"), options_(options) {
  for (const auto& g : groups_) {
    kernels::SgdConfig cfg{g.lr, options_.momentum, options_.dampening,
                           g.weight_decay.value_or(options_.weight_decay), options_.nesterov};
    kernels::check_sgd_config(cfg, kind_.c_str());
  }
}

SGDParamState& SGD::state_of(size_t group, size_t index) {
  return state_slot(state_, groups_, group, index);
}

void SGD::step() {
  const bool use_momentum = options_.momentum != 0;
  for_each_update([&](size_t gi, size_t pi) {
    const ParamGroup& g = groups_[gi];
    Var& p = groups_[gi].params[pi];
    SGDParamState& st = state_of(gi, pi);
    if (use_momentum)
      ensure_buffer(st.momentum_buffer, p, st.step, kind_, param_label(gi, pi), "momentum buffer");
    kernels::SgdConfig cfg{g.lr, options_.momentum, options_.dampening,
                           g.weight_decay.value_or(options_.weight_decay), options_.nesterov};
    kernels::sgd_step_(p.value(), p.grad(), st.momentum_buffer, st.step == 0, cfg);
    ++st.step;
  });
}

SGDState SGD::state() const {
  SGDState out;
  out.steps = steps_;
  const bool use_momentum = options_.momentum != 0;
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
      const Var& p = groups_[gi].params[pi];
      const SGDParamState* st = gi < state_.size() && pi < state_[gi].size() ? &state_[gi][pi]
                                                                             : nullptr;
      SGDParamState s;
      s.step = st ? st->step : 0;
      if (use_momentum)
        s.momentum_buffer = st && st->momentum_buffer.defined() ? st->momentum_buffer.clone()
                                                                : zeros_like(p);
      out.params.push_back(std::move(s));
    }
  return out;
}

void SGD::load_state(const SGDState& in) {
  RSNN_CHECK(in.params.size() == count_params(groups_), kind_, " load_state: state holds ",
             in.params.size(), " parameters, the optimizer has ", count_params(groups_));
  RSNN_CHECK(in.steps >= 0, kind_, " load_state: negative step count ", in.steps);
  const bool use_momentum = options_.momentum != 0;
  std::vector<std::vector<SGDParamState>> fresh(groups_.size());
  size_t k = 0;
  for (size_t gi = 0; gi < groups_.size(); ++gi)
    for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi, ++k) {
      const SGDParamState& s = in.params[k];
      RSNN_CHECK(s.step >= 0, kind_, " load_state: negative step count for ",
                 param_label(gi, pi));
      SGDParamState d;
      d.step = s.step;
      if (use_momentum)
        d.momentum_buffer = load_buffer(s.momentum_buffer, groups_[gi].params[pi], kind_,
                                        param_label(gi, pi), "momentum buffer");
      fresh[gi].push_back(std::move(d));
    }
  state_ = std::move(fresh);
  steps_ = in.steps;
}

// ---- StepLR -----------------------------------------------------------------------

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : optimizer_(optimizer), step_size_(step_size), gamma_(gamma) {
  RSNN_CHECK(step_size > 0, "StepLR: step_size must be > 0, got ", step_size);
  RSNN_CHECK(std::isfinite(gamma) && gamma > 0, "StepLR: gamma must be > 0, got ", gamma);
  for (const auto& g : optimizer_.groups()) base_lrs_.push_back(g.lr);
}

double StepLR::factor() const {
  return std::pow(gamma_, static_cast<double>(last_epoch_ / step_size_));
}

void StepLR::apply() {
  auto& groups = optimizer_.groups();
  RSNN_CHECK(groups.size() == base_lrs_.size(), "StepLR: the optimizer has ", groups.size(),
             " parameter groups, the scheduler was made for ", base_lrs_.size());
  const double f = factor();
  for (size_t i = 0; i < groups.size(); ++i) groups[i].lr = base_lrs_[i] * f;
}

void StepLR::step() {
  ++last_epoch_;
  apply();
}

void StepLR::set_last_epoch(int64_t epoch) {
  RSNN_CHECK(epoch >= 0, "StepLR: epoch must be >= 0, got ", epoch);
  last_epoch_ = epoch;
  apply();
}

}  // namespace rsnn::ag
