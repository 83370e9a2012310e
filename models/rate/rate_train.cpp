#include "models/rate/rate_train.h"

#include <chrono>
#include <cmath>

#include "models/rate/rng.h"

namespace rsnn::rate {

// ---------------------------------------------------------------- TF1 Adam
TfAdam::TfAdam(std::vector<ag::Var> params, double lr, double beta1, double beta2, double eps)
    : params_(std::move(params)), lr_(lr), b1_(beta1), b2_(beta2), eps_(eps) {
  for (const auto& p : params_) {
    m_.push_back(Tensor::zeros(p.shape(), p.dtype()));
    v_.push_back(Tensor::zeros(p.shape(), p.dtype()));
  }
}

void TfAdam::zero_grad() {
  for (auto& p : params_) p.zero_grad();
}

void TfAdam::step() {
  ++t_;
  const double lr_t = lr_ * std::sqrt(1 - std::pow(b2_, double(t_))) / (1 - std::pow(b1_, double(t_)));
  for (size_t k = 0; k < params_.size(); ++k) {
    const ag::Var& p = params_[k];
    if (!p.grad().defined()) continue;
    dispatch_float(p.dtype(), "TfAdam", [&](auto tag) {
      using R = decltype(tag);
      R* th = p.value().template data<R>();
      const R* g = p.grad().template data<R>();
      R *m = m_[k].template data<R>(), *v = v_[k].template data<R>();
      const R b1 = R(b1_), b2 = R(b2_), lt = R(lr_t), e = R(eps_);
      for (int64_t i = 0; i < p.value().numel(); ++i) {
        m[i] = b1 * m[i] + (R(1) - b1) * g[i];
        v[i] = b2 * v[i] + (R(1) - b2) * g[i] * g[i];
        th[i] -= lt * m[i] / (std::sqrt(v[i]) + e);
      }
    });
  }
}

// ---------------------------------------------------------------- batches and evaluation
void make_batch(const TaskSpec& task, uint64_t seed, const std::vector<uint64_t>& ids, Tensor& u,
                Tensor& z, std::vector<int>& labels) {
  const int B = int(ids.size()), C = task.n_inputs(), T = task.T;
  u = Tensor::empty({B, C, T});
  z = Tensor::empty({B, T});
  labels.resize(B);
  for (int b = 0; b < B; ++b) {
    Trial tr = make_trial(task, seed, ids[b]);
    std::copy(tr.u.begin(), tr.u.end(), u.data<float>() + size_t(b) * C * T);
    std::copy(tr.z.begin(), tr.z.end(), z.data<float>() + size_t(b) * T);
    labels[b] = tr.label;
  }
}

namespace {
struct Params {
  ag::Var w, w_out, b_out, taus_gaus;
  std::vector<ag::Var> list() const {
    std::vector<ag::Var> l = {w, w_out, b_out};
    if (taus_gaus.requires_grad()) l.push_back(taus_gaus);
    return l;
  }
};
Params wrap(RateNet& net, bool grad) {
  Params p;
  p.w = ag::Var(net.w, grad, "w");
  p.w_out = ag::Var(net.w_out, grad, "w_out");
  p.b_out = ag::Var(net.b_out, grad, "b_out");
  p.taus_gaus = ag::Var(net.taus_gaus, grad && net.cfg.taus_trainable(), "taus_gaus");
  return p;
}

// Multi-area: the readout reads the last area only; the other entries of w_out stay 0
// (a zero gradient leaves TF1 Adam's moments, and so the weight, untouched).
void mask_readout_grad(const ag::Var& w_out, const Tensor& mask) {
  if (!w_out.grad().defined()) return;
  dispatch_float(w_out.dtype(), "mask_readout_grad", [&](auto tag) {
    using R = decltype(tag);
    R* g = w_out.grad().template data<R>();
    const R* m = mask.template data<R>();
    for (int64_t i = 0; i < w_out.value().numel(); ++i) g[i] *= m[i];
  });
}
}  // namespace

EvalResult evaluate_rate(const RateNet& net_in, const TaskSpec& task, LossKind loss, uint64_t seed,
                         uint64_t first_trial, int n) {
  RSNN_CHECK(n >= 1, "evaluate_rate: need at least one trial, got ", n);
  RSNN_CHECK(int(net_in.w_in.size(1)) == task.n_inputs(), "evaluate_rate: the network has ",
             net_in.w_in.size(1), " inputs, task ", task.name(), " has ", task.n_inputs());
  ag::NoGradGuard ng;
  RateNet net = net_in;
  Params p = wrap(net, false);
  std::vector<uint64_t> ids(n);
  for (int k = 0; k < n; ++k) ids[k] = first_trial + uint64_t(k);
  Tensor u, z;
  EvalResult r;
  make_batch(task, seed, ids, u, z, r.labels);
  const auto opt = RateRunOptions::from(net.cfg, seed, ids);
  r.o = rate_rnn(p.w, p.w_out, p.b_out, p.taus_gaus, net.sign, net.som_m, net.w_in, u, opt).value();
  const auto losses = rate_loss_per_trial(r.o, z, loss);
  const int64_t K = r.o.size(1);
  const float* po = r.o.data<float>();
  int correct = 0;
  double lsum = 0;
  for (int k = 0; k < n; ++k) {
    correct += rate_correct(task, r.labels[k], po + k * K, K);
    lsum += losses[k];
  }
  r.perf = double(correct) / n;
  r.loss = lsum / n;
  return r;
}

// ---------------------------------------------------------------- training
TrainResult train_rate(const TrainConfig& cfg_in, const EvalCallback& on_eval) {
  RSNN_CHECK(!cfg_in.stages.empty(), "train_rate: no task given");
  RSNN_CHECK(cfg_in.batch >= 1 && cfg_in.max_trials >= 1 && cfg_in.eval_freq >= 1 &&
                 cfg_in.eval_trials >= 1,
             "train_rate: batch, max_trials, eval_freq and eval_trials must be >= 1");
  const int C = cfg_in.stages.back().n_inputs();
  for (const auto& s : cfg_in.stages)
    RSNN_CHECK(s.n_inputs() == C, "train_rate: curriculum stages differ in input channels");
  // Trial ids of one purpose stay inside their set (rng.h), apart from the evaluations'.
  RSNN_CHECK(uint64_t(cfg_in.max_trials) + uint64_t(cfg_in.batch) < kTrialSetSpan &&
                 double(cfg_in.max_trials) / cfg_in.eval_freq * cfg_in.eval_trials < double(kTrialSetSpan),
             "train_rate: max_trials ", cfg_in.max_trials, " (or the evaluations) exceed the 2^40 trial ids");
  TrainConfig cfg = cfg_in;
  cfg.net.n_in = C;
  TrainResult res;
  res.net = init_rate_net(cfg.net, cfg.seed);
  RateNet& net = res.net;
  Params p = wrap(net, true);
  TfAdam adam(p.list(), cfg.lr);
  const Tensor readout_mask = net.readout_mask();
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const int B = cfg.batch;
  const int64_t max_steps = (cfg.max_trials + B - 1) / B;
  const int64_t eval_every = std::max<int64_t>(1, cfg.eval_freq / B);
  size_t stage = 0;
  int64_t eval_round = 0;
  for (int64_t step = 0; step < max_steps; ++step) {
    const TaskSpec& task = cfg.stages[stage];
    std::vector<uint64_t> ids(B);
    for (int b = 0; b < B; ++b) ids[b] = trial_id(TrialSet::train, uint64_t(step) * B + b);
    Tensor u, z;
    std::vector<int> labels;
    make_batch(task, cfg.seed, ids, u, z, labels);
    RateTrace trace;
    adam.zero_grad();
    ag::Var o = rate_rnn(p.w, p.w_out, p.b_out, p.taus_gaus, net.sign, net.som_m, net.w_in, u,
                         RateRunOptions::from(net.cfg, cfg.seed, ids), &trace);
    ag::Var loss = rate_loss(o, z, cfg.loss);
    res.losses.push_back(loss.value().item<double>());
    if (step == 0) res.trace0 = trace;
    ag::backward(loss);
    if (net.cfg.n_areas > 1) mask_readout_grad(p.w_out, readout_mask);
    adam.step();
    res.trace_last = trace;
    res.u_last = u.narrow0(0, 1).reshape({u.size(1), u.size(2)});
    res.z_last = z.narrow0(0, 1).reshape({z.size(1)});
    res.o_last = o.value().narrow0(0, 1).reshape({o.value().size(1)});
    const int64_t tr = step * B + (B - 1);
    res.tr = tr;
    if (((step - 1) % eval_every + eval_every) % eval_every != 0) continue;
    EvalResult ev = evaluate_rate(net, task, cfg.loss, cfg.seed,
                                  trial_id(TrialSet::train_eval, uint64_t(eval_round) * cfg.eval_trials),
                                  cfg.eval_trials);
    ++eval_round;
    EvalRecord rec{tr, int(stage), ev.perf, ev.loss, elapsed()};
    res.evals.push_back(rec);
    res.last_eval = ev;
    res.seconds = rec.seconds;
    if (on_eval) on_eval(rec, ev, net, res);
    const bool last_stage = stage + 1 == cfg.stages.size();
    bool done = ev.loss < cfg.loss_threshold && ev.perf > cfg.perf_threshold;
    if (last_stage && task.kind == TaskKind::go_nogo) done = done && tr > cfg.go_nogo_min_trials;
    if (!done) continue;
    if (last_stage) {
      res.converged = true;
      break;
    }
    ++stage;
  }
  res.seconds = elapsed();
  return res;
}

}  // namespace rsnn::rate
