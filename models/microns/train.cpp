// One MICrONS training run (spec §2); see train.h.
#include "models/microns/train.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "autograd/data_parallel.h"
#include "autograd/ops.h"
#include "autograd/relu_rnn.h"
#include "kernels/adam.h"
#include "kernels/clamp.h"
#include "runtime/dist.h"
#include "runtime/error.h"
#include "runtime/random.h"

namespace rsnn::microns {

// ---- per-field cache ---------------------------------------------------------------------

namespace {
template <class F>
const std::vector<float>& cached(std::mutex& mu,
                                 std::map<std::string, std::shared_ptr<std::vector<float>>>& c,
                                 const std::string& key, F make) {
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = c.find(key);
    if (it != c.end()) return *it->second;
  }
  auto v = std::make_shared<std::vector<float>>(make());  // computed outside the lock
  std::lock_guard<std::mutex> lock(mu);
  auto it = c.emplace(key, v).first;  // a racing thread's copy wins: same values
  return *it->second;
}
}  // namespace

const std::vector<float>& FieldCache::grid_distances() {
  return cached(mu_, cache_, "grid", [&] {
    return distance_grid(field_.grid.nx, field_.grid.ny, field_.grid.nz);
  });
}
const std::vector<float>& FieldCache::star_distances(StarCoords c) {
  return cached(mu_, cache_, c == StarCoords::coded ? "star_coded" : "star_intended",
                [&] { return distance_star(field_.positions, field_.N, c); });
}
const std::vector<float>& FieldCache::empirical_sorted() {
  return cached(mu_, cache_, "emp",
                [&] { return empirical_comms_sorted(field_.connectome, field_.N); });
}
const std::vector<float>& FieldCache::bio(BioSource src, uint64_t seed, int sim) {
  const std::string key = "bio/" + std::to_string(int(src)) + "/" + std::to_string(seed) + "/" +
                          std::to_string(sim);
  return cached(mu_, cache_, key, [&] { return bio_weights(field_, src, seed, sim); });
}

// ---- the run -----------------------------------------------------------------------------

CeForm parse_ce_form(const std::string& s, const char* what) {
  if (s == "logits") return CeForm::logits;
  if (s == "clipped") return CeForm::clipped;
  RSNN_FAIL(what, ": expected logits or clipped, got '", s, "'");
}

const char* ce_form_name(CeForm f) { return f == CeForm::logits ? "logits" : "clipped"; }

double categorical_ce(const float* z, int64_t C, int label, CeForm form, double* dz) {
  double mx = z[0];
  for (int64_t c = 1; c < C; ++c) mx = std::max(mx, double(z[c]));
  double sum = 0;
  for (int64_t c = 0; c < C; ++c) sum += std::exp(double(z[c]) - mx);
  for (int64_t c = 0; c < C; ++c) dz[c] = std::exp(double(z[c]) - mx) / sum;
  const double pl = dz[label], lo = 1e-7, hi = 1 - 1e-7;
  dz[label] -= 1;
  if (form == CeForm::logits) return std::log(sum) + mx - double(z[label]);
  if (!(pl > lo && pl < hi))  // clipped (or NaN): no gradient
    for (int64_t c = 0; c < C; ++c) dz[c] = 0;
  return -std::log(std::min(hi, std::max(lo, pl)));
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
enum Purpose : uint64_t {
  P_TRAIN_DATA = 11, P_TEST_DATA, P_ORTH, P_PERM, P_W_IN, P_W_OUT, P_NOISE
};

struct Model {
  ag::Var W_in, W_rec, b, W_out, b_out;  // W_out is [n_out, N] (Keras kernel transposed)
  std::vector<ag::Var> params() const { return {W_in, W_rec, b, W_out, b_out}; }
};

// Keras Adam: w -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps). kernels::adam_step_ has the
// torch form (eps outside the bias correction); the two agree with eps_t = eps/sqrt(1-b2^t).
struct KerasAdam {
  double lr = 1e-3, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  int64_t t = 0;
  std::vector<Tensor> m, v;
  void step(const std::vector<ag::Var>& ps) {
    ++t;
    kernels::AdamConfig c;
    c.lr = lr, c.beta1 = b1, c.beta2 = b2;
    c.eps = eps / std::sqrt(1.0 - std::pow(b2, double(t)));
    if (m.empty())
      for (const ag::Var& p : ps) {
        m.push_back(Tensor::zeros(p.shape(), DType::f32, p.device()));
        v.push_back(Tensor::zeros(p.shape(), DType::f32, p.device()));
      }
    Tensor none;
    for (size_t i = 0; i < ps.size(); ++i)
      kernels::adam_step_(ps[i].value(), ps[i].grad(), m[i], v[i], none, t, c);
  }
};

// Mean categorical cross-entropy of softmax(logits) in the given form, computed on the host
// (B x n_out is tiny). Counts argmax hits into *correct (argmax of an all-NaN row is 0, as
// tf.argmax). `batch` > 0 divides by that many trials instead of B (a shard's share of its
// batch's mean); *sum gets the unscaled sum of the trials' losses.
ag::Var keras_ce(const ag::Var& logits, const int* labels, CeForm form, int* correct,
                 int64_t batch = 0, double* sum = nullptr) {
  const int64_t C = logits.shape()[1], B = batch > 0 ? batch : logits.shape()[0];
  const int64_t rows = logits.shape()[0];
  const std::vector<float> z = logits.value().to_vector<float>();
  std::vector<float> dz(z.size());
  std::vector<double> g(C);
  double loss = 0;
  int hits = 0;
  for (int64_t s = 0; s < rows; ++s) {
    const float* zs = &z[s * C];
    int am = 0;
    for (int64_t c = 1; c < C; ++c)
      if (zs[c] > zs[am]) am = int(c);
    hits += am == labels[s];
    loss += categorical_ce(zs, C, labels[s], form, g.data());
    for (int64_t c = 0; c < C; ++c) dz[s * C + c] = float(g[c] / double(B));
  }
  *correct = hits;
  if (sum) *sum = loss;
  const Tensor val = Tensor::full({1}, loss / double(B), DType::f32, logits.device());
  if (!ag::will_record({logits})) return ag::Var(val);
  const Tensor dzt = Tensor::from_vector(dz, logits.shape()).to(logits.device());
  return ag::record1("keras_ce", {logits}, val, [dzt](const std::vector<Tensor>& g) {
    const float s = g[0].to_vector<float>()[0];
    Tensor d = dzt.clone();
    if (s != 1.f) {
      std::vector<float> h = d.to_vector<float>();
      for (float& e : h) e *= s;
      d = Tensor::from_vector(h, dzt.shape()).to(dzt.device());
    }
    return std::vector<Tensor>{d};
  });
}

// Trials [start, start + n) of `d` as a time-major [T, n, n_in] tensor on `dev`.
Tensor time_major(const TaskData& d, int start, int n, Device dev) {
  std::vector<float> x(size_t(d.T) * n * d.n_in);
  for (int s = 0; s < n; ++s)
    for (int t = 0; t < d.T; ++t)
      for (int k = 0; k < d.n_in; ++k)
        x[(size_t(t) * n + s) * d.n_in + k] = d.x[(size_t(start + s) * d.T + t) * d.n_in + k];
  return Tensor::from_vector(x, {d.T, n, d.n_in}).to(dev);
}

bool all_finite(const Tensor& t) {
  for (float v : t.to_vector<float>())
    if (!std::isfinite(v)) return false;
  return true;
}

// Regularizer value at W_rec; adds its gradient into W_rec's gradient when `grad`. Returns
// NaN when the regularizer is undefined there (WDC on an all-zero row), as Keras would.
double add_regularizer(const RegSpec& spec, const ag::Var& W_rec, bool grad) {
  if (spec.kind == RegKind::none) return 0.0;
  const Tensor& w = W_rec.value();
  const bool cpu = w.device().is_cpu();
  const std::vector<float> wh = cpu ? std::vector<float>() : w.to_vector<float>();
  const float* W = cpu ? w.data<float>() : wh.data();
  try {
    if (!grad) return regularizer_value(spec, W, nullptr);
    if (cpu) return regularizer_value(spec, W, W_rec.grad().data<float>());
    std::vector<float> dW = W_rec.grad().to_vector<float>();
    const double r = regularizer_value(spec, W, dW.data());
    W_rec.grad().copy_from(Tensor::from_vector(dW, w.shape()));
    return r;
  } catch (const Error&) {
    return kNaN;
  }
}

}  // namespace

namespace {

struct RunKeys {
  uint64_t seed;
  int sim, vi, ti;
  // Stream for (purpose, sim, variant, task); `extra` separates per-step draws.
  uint64_t stream(uint64_t purpose, uint64_t extra = 0) const {
    return stream_key(purpose, uint64_t(sim), uint64_t(vi) * 16 + uint64_t(ti), extra);
  }
};

ag::Var param(const std::vector<float>& v, Shape s, Device dev, const char* name) {
  return ag::Var(Tensor::from_vector(v, std::move(s)).to(dev), true, name);
}

RunKeys run_keys(const TrainConfig& cfg, const Variant& var) {
  return RunKeys{cfg.seed, cfg.sim, int(&var - variants().data()), int(cfg.task)};
}

std::vector<float> init_recurrent(FieldCache& cache, const TrainConfig& cfg, const Variant& var,
                                  const RunKeys& k) {
  const int N = cache.field().N;
  switch (var.init) {
    case InitKind::bio: return cache.bio(cfg.bio, cfg.seed, cfg.sim);
    case InitKind::permuted_bio:
      return permute_nodes(cache.bio(cfg.bio, cfg.seed, cfg.sim), N,
                           random_permutation(N, cfg.seed, k.stream(P_PERM)));
    case InitKind::orthogonal: return orthogonal_weights(N, cfg.seed, k.stream(P_ORTH));
  }
  RSNN_FAIL("init_recurrent: unknown init kind of variant ", var.key);
}

Model build_model(FieldCache& cache, const TrainConfig& cfg, const Variant& var,
                  const RunKeys& k, const TaskShape& ts, Device dev) {
  const int N = cache.field().N;
  const std::vector<float> W = init_recurrent(cache, cfg, var, k);
  Model m;
  m.W_in = param(glorot_uniform(ts.n_in, N, cfg.seed, k.stream(P_W_IN)), {ts.n_in, N}, dev,
                 "W_in");
  m.W_rec = param(W, {N, N}, dev, "W_rec");
  m.b = ag::Var(Tensor::zeros({N}, DType::f32, dev), true, "b");
  // Keras's kernel is [N, n_out]; linear() wants it transposed. Glorot is symmetric in the fans.
  const std::vector<float> wo = glorot_uniform(N, ts.n_out, cfg.seed, k.stream(P_W_OUT));
  std::vector<float> woT(wo.size());
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < ts.n_out; ++j) woT[size_t(j) * N + i] = wo[size_t(i) * ts.n_out + j];
  m.W_out = param(woT, {ts.n_out, N}, dev, "W_out");
  m.b_out = ag::Var(Tensor::zeros({ts.n_out}, DType::f32, dev), true, "b_out");
  return m;
}

RegSpec build_reg(FieldCache& cache, const TrainConfig& cfg, const Variant& var) {
  RegSpec s;
  s.kind = var.reg;
  s.N = cache.field().N;
  s.lambda = cfg.lambda;
  s.emd_lambda = cfg.emd_lambda;
  s.l1_apply_lambda = cfg.l1_apply_lambda;
  s.expm = cfg.expm;
  if (var.dist == DistKind::grid) s.D = cache.grid_distances();
  if (var.dist == DistKind::star) s.D = cache.star_distances(cfg.star);
  if (var.reg == RegKind::wdc_emd) s.emp_sorted = cache.empirical_sorted();
  validate(s);
  return s;
}

struct Batches {
  std::vector<Tensor> x;     // time-major [T, n, n_in] each
  std::vector<int> labels;   // all trials
  std::vector<int> start;    // first trial of each batch
};

Batches make_batches(const TaskData& d, int size, Device dev) {
  Batches b;
  b.labels = d.label;
  for (int s = 0; s < d.n; s += size) {
    b.start.push_back(s);
    b.x.push_back(time_major(d, s, std::min(size, d.n - s), dev));
  }
  return b;
}

// Every rank's values, concatenated in rank order.
std::vector<double> gather_all(const std::vector<double>& local) {
  const std::vector<uint8_t> b =
      dist::allgather_bytes(local.data(), local.size() * sizeof(double), nullptr);
  std::vector<double> out(b.size() / sizeof(double));
  if (!b.empty()) std::memcpy(out.data(), b.data(), b.size());
  return out;
}

// Keras's evaluate on the test set: mean CE + the regularizer (model.losses), accuracy.
// `spread`: the test batches dealt to the MPI ranks; their terms are added in batch order
// either way, so the numbers do not depend on the rank count.
std::pair<double, double> evaluate(const Model& m, const Batches& test, const RegSpec& reg,
                                   CeForm ce_form, bool spread) {
  ag::NoGradGuard ng;
  const int64_t nb = int64_t(test.x.size());
  const dist::Range mine = spread ? dist::block(nb, dist::size(), dist::rank()) : dist::Range{0, nb};
  std::vector<double> terms;  // per batch: mean CE (as Keras's float) times B, hits, B
  for (int64_t i = mine.begin; i < mine.end; ++i) {
    const int B = int(test.x[i].shape()[1]);
    const ag::Var h = ag::relu_rnn(ag::Var(test.x[i]), m.W_in, m.W_rec, m.b);
    const ag::Var logits = ag::linear(h, m.W_out, m.b_out);
    int c = 0;
    const float ce = keras_ce(logits, &test.labels[test.start[i]], ce_form, &c).value().to_vector<float>()[0];
    terms.insert(terms.end(), {double(ce) * B, double(c), double(B)});
  }
  if (spread) terms = gather_all(terms);
  double ce = 0;
  int hits = 0, n = 0;
  for (size_t k = 0; k < terms.size(); k += 3) {
    ce += terms[k];
    hits += int(terms[k + 1]);
    n += int(terms[k + 2]);
  }
  return {ce / n + add_regularizer(reg, m.W_rec, false), double(hits) / n};
}

double class0_fraction(const int* labels, int n) {
  int z = 0;
  for (int i = 0; i < n; ++i) z += labels[i] == 0;
  return double(z) / n;
}

void check_config(const TrainConfig& c, const Field& f) {
  RSNN_CHECK(f.N > 0, "train_run: field is not loaded");
  RSNN_CHECK(c.epochs > 0 && c.batches > 0 && c.batch > 0 && c.n_test > 0,
             "train_run: epochs, batches, batch and n_test must be positive");
  RSNN_CHECK(c.sim >= 0, "train_run: sim must be >= 0, got ", c.sim);
  RSNN_CHECK(std::isfinite(c.noise) && c.noise >= 0, "train_run: noise must be >= 0");
  RSNN_CHECK(std::isfinite(c.lr) && c.lr > 0, "train_run: lr must be > 0");
}

}  // namespace

std::vector<float> initial_w_rec(FieldCache& cache, const TrainConfig& cfg) {
  RSNN_CHECK(cache.field().N > 0, "initial_w_rec: field is not loaded");
  const Variant& var = variant(cfg.variant);
  return init_recurrent(cache, cfg, var, run_keys(cfg, var));
}

RegSpec regularizer_spec(FieldCache& cache, const TrainConfig& cfg) {
  RSNN_CHECK(cache.field().N > 0, "regularizer_spec: field is not loaded");
  return build_reg(cache, cfg, variant(cfg.variant));
}

namespace {

// Trials [s.begin, s.end) of a time-major batch [T, B, n_in], on its device.
Tensor trial_slice(const Tensor& x, dist::Range s) {
  const int64_t T = x.shape()[0], B = x.shape()[1], n_in = x.shape()[2];
  if (s.begin == 0 && s.size() == B) return x;
  const std::vector<float> h = x.to_vector<float>();
  std::vector<float> out(size_t(T * s.size() * n_in));
  for (int64_t t = 0; t < T; ++t)
    std::copy_n(&h[size_t((t * B + s.begin) * n_in)], size_t(s.size() * n_in),
                &out[size_t(t * s.size() * n_in)]);
  return Tensor::from_vector(out, {T, s.size(), n_in}).to(x.device());
}

// One run's state: the model, its optimizer and data, and how each batch is sharded.
struct Run {
  const TrainConfig& cfg;
  Device dev;
  RunKeys k;
  dist::ShardPlan plan;
  KerasAdam opt;
  Batches train, test;
  RegSpec reg;
  Model m;
  std::vector<ag::Var> ps;

  Run(const TrainConfig& c, Device d, const RunKeys& keys, const dist::ShardPlan& p)
      : cfg(c), dev(d), k(keys), plan(p) {
    opt.lr = c.lr;
  }

  // Forward and backward of trials `s` of a batch (inputs xn, noise added), the CE divided
  // by the whole batch; stats[0..1] = the trials' CE sum and hits.
  void shard_backward(const Tensor& xn, const int* labels, dist::Range s, double* stats) const {
    const ag::Var h = ag::relu_rnn(ag::Var(trial_slice(xn, s)), m.W_in, m.W_rec, m.b);
    int hits = 0;
    const ag::Var ce =
        keras_ce(ag::linear(h, m.W_out, m.b_out), labels + s.begin, cfg.ce, &hits, cfg.batch, &stats[0]);
    ag::backward(ce);
    stats[1] = hits;
  }

  // The gradient of batch `i` (step `step`) summed over its shards, plus the regularizer's
  // gradient added once after the sum; returns {loss, hits} of the whole batch.
  std::pair<double, int> gradient(int i, int64_t step) {
    const int* labels = &train.labels[train.start[i]];
    Tensor xn = train.x[i];
    if (cfg.noise > 0) {  // the whole batch's noise on every rank: one stream, drawn in order
      Tensor noise = Tensor::empty(xn.shape(), DType::f32, dev);
      fill_normal(noise, cfg.seed, k.stream(P_NOISE, uint64_t(step)), 0.0, cfg.noise);
      xn = ag::add(ag::Var(xn), ag::Var(noise)).value();
    }
    std::vector<double> stats(size_t(2 * plan.local_shards));
    if (plan.shards == 1) {
      for (const ag::Var& p : ps) p.zero_grad();
      shard_backward(xn, labels, {0, cfg.batch}, stats.data());
    } else {
      ag::shard_gradients(plan, ps, [&](int shard, dist::Range s) {
        shard_backward(xn, labels, s, &stats[size_t(2 * (shard - plan.first_shard))]);
      });
      stats = ag::sum_shard_stats(stats, plan.local_shards, 2);
    }
    // The batch's mean CE as keras_ce's float value holds it, then the regularizer.
    const float ce = float(stats[0] / double(cfg.batch));
    return {double(ce) + add_regularizer(reg, m.W_rec, true), int(stats[1])};
  }

  // One epoch of Adam steps; `diverged` carries over between epochs.
  EpochLog epoch(int e, int64_t& step, bool& diverged) {
    double loss_sum = 0, acc_sum = 0;
    for (int i = 0; i < cfg.batches; ++i, ++step) {
      if (diverged) {  // NaN weights stay NaN: Keras's argmax then says class 0
        acc_sum += class0_fraction(&train.labels[train.start[i]], cfg.batch);
        loss_sum = kNaN;
        continue;
      }
      const auto [loss, hits] = gradient(i, step);
      acc_sum += double(hits) / cfg.batch;
      loss_sum += loss;
      if (!std::isfinite(loss)) {
        diverged = true;
        continue;
      }
      opt.step(ps);
      if (cfg.sign_constraint) kernels::clamp_(m.W_rec.value(), 0.0, HUGE_VAL);
      if (!all_finite(m.W_rec.value())) diverged = true;
    }
    EpochLog log{e + 1, loss_sum / cfg.batches, acc_sum / cfg.batches, kNaN, kNaN};
    if (!cfg.eval_each_epoch && e + 1 < cfg.epochs) {
      // not evaluated: val_* stay NaN
    } else if (diverged) {
      log.val_accuracy = class0_fraction(test.labels.data(), int(test.labels.size()));
    } else {
      const auto [vl, va] = evaluate(m, test, reg, cfg.ce, plan.shards > 1);
      log.val_loss = vl;
      log.val_accuracy = va;
    }
    return log;
  }
};

dist::ShardPlan shard_plan(const TrainConfig& cfg) {
  RSNN_CHECK(cfg.shards >= 1, "train_run: shards must be >= 1, got ", cfg.shards);
  if (cfg.shards > 1) return dist::plan_shards(cfg.batch, cfg.shards);
  dist::ShardPlan p;  // the whole batch here, no MPI collective (sweeps deal whole runs)
  p.batch = cfg.batch;
  p.shards = p.local_shards = 1;
  return p;
}

}  // namespace

TrainResult train_run(FieldCache& cache, const TrainConfig& cfg, Device device) {
  const Field& f = cache.field();
  check_config(cfg, f);
  const Variant& var = variant(cfg.variant);
  const RunKeys k = run_keys(cfg, var);
  const TaskShape ts = task_shape(cfg.task);
  const dist::ShardPlan plan = shard_plan(cfg);
  // The data are shared by every simulation and variant of a task, as in the original
  // (one data set per task); train and test use different streams.
  Run run{cfg, device, k, plan};
  run.train = make_batches(
      make_task(cfg.task, cfg.batches * cfg.batch, cfg.seed, stream_key(P_TRAIN_DATA, 0, k.ti)),
      cfg.batch, device);
  run.test = make_batches(
      make_task(cfg.task, cfg.n_test, cfg.seed, stream_key(P_TEST_DATA, 0, k.ti)), 512, device);
  run.reg = build_reg(cache, cfg, var);
  run.m = build_model(cache, cfg, var, k, ts, device);
  run.ps = run.m.params();

  TrainResult r;
  r.N = f.N;
  bool diverged = false;
  int64_t step = 0;
  for (int e = 0; e < cfg.epochs; ++e) r.epochs.push_back(run.epoch(e, step, diverged));
  const EpochLog& last = r.epochs.back();
  r.accuracy = last.accuracy, r.loss = last.loss;
  r.val_accuracy = last.val_accuracy, r.val_loss = last.val_loss;
  r.finite = !diverged && std::isfinite(r.loss) && std::isfinite(r.val_loss);
  r.W_rec = run.m.W_rec.value().to_vector<float>();
  return r;
}

TrainResult train_run(const Field& field, const TrainConfig& cfg, Device device) {
  FieldCache cache(field);
  return train_run(cache, cfg, device);
}

}  // namespace rsnn::microns
