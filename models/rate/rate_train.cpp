#include "models/rate/rate_train.h"

#include <chrono>
#include <cmath>
#include <cstring>

#include "autograd/data_parallel.h"
#include "models/rate/rng.h"
#include "runtime/dist.h"

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

namespace {
// Outputs, labels and losses of trials first_trial .. first_trial + n - 1, one row each.
struct EvalRows {
  std::vector<float> o;  // (n, K)
  std::vector<int> labels;
  std::vector<double> loss;
};

void eval_rows(const RateNet& net_in, const TaskSpec& task, LossKind loss, uint64_t seed,
               uint64_t first_trial, int n, EvalRows& rows) {
  ag::NoGradGuard ng;
  RateNet net = net_in;
  Params p = wrap(net, false);
  std::vector<uint64_t> ids(n);
  for (int k = 0; k < n; ++k) ids[k] = first_trial + uint64_t(k);
  Tensor u, z;
  std::vector<int> labels;
  make_batch(task, seed, ids, u, z, labels);
  const auto opt = RateRunOptions::from(net.cfg, seed, ids);
  const Tensor o =
      rate_rnn(p.w, p.w_out, p.b_out, p.taus_gaus, net.sign, net.som_m, net.w_in, u, opt).value();
  const std::vector<double> losses = rate_loss_per_trial(o, z, loss);
  const std::vector<float> ov = o.to_vector<float>();
  rows.o.insert(rows.o.end(), ov.begin(), ov.end());
  rows.labels.insert(rows.labels.end(), labels.begin(), labels.end());
  rows.loss.insert(rows.loss.end(), losses.begin(), losses.end());
}

// Performance and mean loss in trial order, so any split of the trials gives the same sums.
EvalResult summarize(const TaskSpec& task, const EvalRows& rows) {
  const int n = int(rows.labels.size());
  const int64_t K = int64_t(rows.o.size()) / n;
  EvalResult r;
  r.o = Tensor::from_vector(rows.o, {int64_t(n), K});
  r.labels = rows.labels;
  int correct = 0;
  double lsum = 0;
  for (int k = 0; k < n; ++k) {
    correct += rate_correct(task, r.labels[k], rows.o.data() + k * K, K);
    lsum += rows.loss[k];
  }
  r.perf = double(correct) / n;
  r.loss = lsum / n;
  return r;
}

// Every rank's `local` values, concatenated in rank order (ranks hold contiguous blocks of
// shards, so this is shard order and trial order).
template <class T>
std::vector<T> gather_all(const std::vector<T>& local) {
  const std::vector<uint8_t> b = dist::allgather_bytes(local.data(), local.size() * sizeof(T), nullptr);
  std::vector<T> out(b.size() / sizeof(T));
  if (!b.empty()) std::memcpy(out.data(), b.data(), b.size());
  return out;
}

void check_eval(const RateNet& net, const TaskSpec& task, int n) {
  RSNN_CHECK(n >= 1, "evaluate_rate: need at least one trial, got ", n);
  RSNN_CHECK(int(net.w_in.size(1)) == task.n_inputs(), "evaluate_rate: the network has ",
             net.w_in.size(1), " inputs, task ", task.name(), " has ", task.n_inputs());
}
}  // namespace

EvalResult evaluate_rate(const RateNet& net, const TaskSpec& task, LossKind loss, uint64_t seed,
                         uint64_t first_trial, int n) {
  check_eval(net, task, n);
  EvalRows rows;
  eval_rows(net, task, loss, seed, first_trial, n, rows);
  return summarize(task, rows);
}

EvalResult evaluate_rate_sharded(const RateNet& net, const TaskSpec& task, LossKind loss,
                                 uint64_t seed, uint64_t first_trial, int n, int shards) {
  check_eval(net, task, n);
  RSNN_CHECK(shards >= 1 && shards % dist::size() == 0, "evaluate_rate_sharded: ", shards,
             " shards is not a positive multiple of the ", dist::size(), " ranks");
  const dist::Range mine = dist::block(shards, dist::size(), dist::rank());
  EvalRows rows;
  for (int64_t k = mine.begin; k < mine.end; ++k) {
    const dist::Range c = dist::block(n, shards, int(k));  // empty when n < shards
    if (c.size() > 0)
      eval_rows(net, task, loss, seed, first_trial + uint64_t(c.begin), int(c.size()), rows);
  }
  EvalRows all;
  all.o = gather_all(rows.o);
  all.labels = gather_all(rows.labels);
  all.loss = gather_all(rows.loss);
  return summarize(task, all);
}

// ---------------------------------------------------------------- training
namespace {
struct Trainer {
  const TrainConfig& cfg;
  TrainResult& res;
  Params p;
  TfAdam adam;
  Tensor readout_mask;
  dist::ShardPlan plan;
  std::vector<double> pending;  // this rank's per-trial losses of steps not yet flushed
  int64_t pending_steps = 0;

  Trainer(const TrainConfig& c, TrainResult& r)
      : cfg(c), res(r), p(wrap(r.net, true)), adam(p.list(), c.lr), readout_mask(r.net.readout_mask()) {
    if (c.shards > 1) {
      plan = dist::plan_shards(c.batch, c.shards);
    } else {  // the whole batch here, no MPI collective
      plan.batch = c.batch;
      plan.shards = plan.local_shards = 1;
    }
  }

  // Forward and backward of samples `s` of step `step`'s batch, the loss weighted as their
  // share of the batch mean; per-trial losses appended to `losses`. The shard holding the
  // batch's first trial keeps its traces (the model file stores that trial's).
  void shard_step(const TaskSpec& task, int64_t step, dist::Range s, std::vector<double>& losses) {
    RateNet& net = res.net;
    std::vector<uint64_t> ids(size_t(s.size()));
    for (int64_t b = 0; b < s.size(); ++b)
      ids[b] = trial_id(TrialSet::train, uint64_t(step) * cfg.batch + uint64_t(s.begin + b));
    Tensor u, z;
    std::vector<int> labels;
    make_batch(task, cfg.seed, ids, u, z, labels);
    const bool first = s.begin == 0;
    RateTrace trace;
    ag::Var o = rate_rnn(p.w, p.w_out, p.b_out, p.taus_gaus, net.sign, net.som_m, net.w_in, u,
                         RateRunOptions::from(net.cfg, cfg.seed, ids), first ? &trace : nullptr);
    ag::Var loss = rate_loss(o, z, cfg.loss, cfg.batch);
    const std::vector<double> per = rate_loss_per_trial(o.value(), z, cfg.loss);
    losses.insert(losses.end(), per.begin(), per.end());
    ag::backward(loss);
    if (!first) return;
    if (step == 0) res.trace0 = trace;
    res.trace_last = trace;
    res.u_last = u.narrow0(0, 1).reshape({u.size(1), u.size(2)});
    res.z_last = z.narrow0(0, 1).reshape({z.size(1)});
    res.o_last = o.value().narrow0(0, 1).reshape({o.value().size(1)});
  }

  // One Adam step on the global batch of step `step`. Its mean loss goes to res.losses at
  // once on one process, at the next flush_losses() with shards (one gather per evaluation,
  // not per step).
  void step(const TaskSpec& task, int64_t step) {
    std::vector<double> mine;
    if (plan.shards == 1) {
      adam.zero_grad();
      shard_step(task, step, {0, cfg.batch}, mine);
    } else {
      ag::shard_gradients(plan, p.list(), [&](int, dist::Range s) { shard_step(task, step, s, mine); });
    }
    if (res.net.cfg.n_areas > 1) mask_readout_grad(p.w_out, readout_mask);
    adam.step();
    if (plan.shards == 1) {
      double mean = 0;
      for (double v : mine) mean += v / double(cfg.batch);
      res.losses.push_back(rounded(mean));
    } else {
      pending.insert(pending.end(), mine.begin(), mine.end());
      ++pending_steps;
    }
  }

  // A batch's mean loss (summed in trial order) rounded to the parameters' dtype as
  // rate_loss's value is: the same number whatever the shards.
  double rounded(double mean) const { return Tensor::full({1}, mean, res.net.w.dtype()).item<double>(); }

  // Gathers the per-trial losses of the steps since the last flush from every rank (rank r's
  // block holds its trials of each step in turn) and appends the steps' means to res.losses.
  void flush_losses() {
    if (plan.shards == 1 || pending_steps == 0) return;
    std::vector<size_t> offsets;
    const std::vector<uint8_t> bytes =
        dist::allgather_bytes(pending.data(), pending.size() * sizeof(double), &offsets);
    std::vector<double> all(bytes.size() / sizeof(double));
    std::memcpy(all.data(), bytes.data(), bytes.size());
    const size_t ranks = offsets.size() - 1, steps = size_t(pending_steps);
    std::vector<size_t> per_step(ranks);  // each rank's trials of one step
    for (size_t r = 0; r < ranks; ++r)
      per_step[r] = (offsets[r + 1] - offsets[r]) / sizeof(double) / steps;
    for (size_t j = 0; j < steps; ++j) {
      double mean = 0;
      for (size_t r = 0; r < ranks; ++r) {
        const double* v = all.data() + offsets[r] / sizeof(double) + j * per_step[r];
        for (size_t k = 0; k < per_step[r]; ++k) mean += v[k] / double(cfg.batch);
      }
      res.losses.push_back(rounded(mean));
    }
    pending.clear();
    pending_steps = 0;
  }

  EvalResult evaluate(const TaskSpec& task, int64_t round) const {
    const uint64_t first = trial_id(TrialSet::train_eval, uint64_t(round) * cfg.eval_trials);
    const int n = cfg.eval_trials;
    if (plan.shards == 1) return evaluate_rate(res.net, task, cfg.loss, cfg.seed, first, n);
    return evaluate_rate_sharded(res.net, task, cfg.loss, cfg.seed, first, n, plan.shards);
  }
};

void check_train_config(const TrainConfig& cfg) {
  RSNN_CHECK(!cfg.stages.empty(), "train_rate: no task given");
  RSNN_CHECK(cfg.batch >= 1 && cfg.max_trials >= 1 && cfg.eval_freq >= 1 && cfg.eval_trials >= 1,
             "train_rate: batch, max_trials, eval_freq and eval_trials must be >= 1");
  RSNN_CHECK(cfg.shards >= 1, "train_rate: shards must be >= 1, got ", cfg.shards);
  if (cfg.shards > 1) dist::check_shards(cfg.batch, cfg.shards, dist::size(), "train_rate: shards");
  const int C = cfg.stages.back().n_inputs();
  for (const auto& s : cfg.stages)
    RSNN_CHECK(s.n_inputs() == C, "train_rate: curriculum stages differ in input channels");
  // Trial ids of one purpose stay inside their set (rng.h), apart from the evaluations'.
  RSNN_CHECK(uint64_t(cfg.max_trials) + uint64_t(cfg.batch) < kTrialSetSpan &&
                 double(cfg.max_trials) / cfg.eval_freq * cfg.eval_trials < double(kTrialSetSpan),
             "train_rate: max_trials ", cfg.max_trials,
             " (or the evaluations) exceed the 2^40 trial ids");
}
}  // namespace

TrainResult train_rate(const TrainConfig& cfg_in, const EvalCallback& on_eval) {
  check_train_config(cfg_in);
  TrainConfig cfg = cfg_in;
  cfg.net.n_in = cfg_in.stages.back().n_inputs();
  TrainResult res;
  res.net = init_rate_net(cfg.net, cfg.seed);
  Trainer trainer(cfg, res);
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
    trainer.step(task, step);
    const int64_t tr = step * B + (B - 1);
    res.tr = tr;
    if (((step - 1) % eval_every + eval_every) % eval_every != 0) continue;
    trainer.flush_losses();  // the callback sees every loss so far
    EvalResult ev = trainer.evaluate(task, eval_round++);
    EvalRecord rec{tr, int(stage), ev.perf, ev.loss, elapsed()};
    res.evals.push_back(rec);
    res.last_eval = ev;
    res.seconds = rec.seconds;
    if (on_eval) on_eval(rec, ev, res.net, res);
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
  trainer.flush_losses();
  res.seconds = elapsed();
  return res;
}

}  // namespace rsnn::rate
