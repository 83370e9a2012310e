#include "models/barrel/model.h"

#include <cmath>

#include "autograd/ops.h"
#include "autograd/recurrent_lif.h"
#include "kernels/clamp.h"
#include "models/barrel/anatomy.h"
#include "runtime/random.h"

namespace rsnn::barrel {

namespace {

// Philox streams of the model's random draws (the seed is the run's seed).
enum Stream : uint64_t {
  kStreamProjection = 100,
  kStreamInitState = 1,
  kStreamWeights = 101,
  kStreamDense = 200,  // + layer index
};

ag::Var uniform_param(const Shape& shape, double lo, double hi, uint64_t seed, uint64_t stream,
                      const std::string& name) {
  Tensor t = Tensor::empty(shape, DType::f32);
  fill_uniform(t, seed, stream, lo, hi);
  return ag::Var(t, true, name);
}

// PyTorch's xavier_uniform_ bound for a [out, in] weight, and the default bias bound.
double xavier_bound(int64_t out, int64_t in) { return std::sqrt(6.0 / double(in + out)); }
double bias_bound(int64_t in) { return 1.0 / std::sqrt(double(in)); }

}  // namespace

BarrelConfig BarrelConfig::spiking_default() { return BarrelConfig{}; }

BarrelConfig BarrelConfig::real_default() {
  BarrelConfig c;
  c.form = InputForm::real;
  c.T = 110;
  c.init_b = 0.03;
  c.init_w = 0.05;
  return c;
}

void BarrelConfig::validate() const {
  RSNN_CHECK(T >= 2, "barrel config: T must be at least 2, got ", T);
  RSNN_CHECK(init_b >= 0 && std::isfinite(init_b), "barrel config: init_b must be >= 0, got ", init_b);
  RSNN_CHECK(init_w > 0 && init_w <= 1, "barrel config: init_w must be in (0, 1], got ", init_w);
  RSNN_CHECK(tau_m_init > 0 && tau_adp_init > 0, "barrel config: time constants must be > 0");
}

BarrelModel::BarrelModel(const BarrelConfig& cfg) : cfg_(cfg) {
  cfg_.validate();
  const ConnectionTables tables = cfg_.tables_dir.empty() ? default_tables() : load_tables(cfg_.tables_dir);
  init(build_projection(network_projection_spec(tables, cfg_.seed, kStreamProjection)));
}

BarrelModel::BarrelModel(const BarrelConfig& cfg, Projection projection) : cfg_(cfg) {
  cfg_.validate();
  projection.validate("barrel model projection");
  RSNN_CHECK(projection.n_pre == kNetworkNeurons && projection.n_post == kNetworkNeurons,
             "barrel model: projection is ", projection.n_post, "x", projection.n_pre, ", expected ",
             kNetworkNeurons, "x", kNetworkNeurons);
  init(projection.device().is_cpu() ? std::move(projection) : projection.to(Device::cpu()));
}

void BarrelModel::init(Projection projection) {
  proj_ = std::move(projection);
  const int64_t N = proj_.n_post;
  build_lif_config();

  b_base_ = Tensor::full({N}, cfg_.init_b, DType::f32);
  tau_m_ = ag::Var(Tensor::full({N}, cfg_.tau_m_init, DType::f32), true, "tau_m");
  tau_adp_ = ag::Var(Tensor::full({N}, cfg_.tau_adp_init, DType::f32), true, "tau_adp");
  w_ = uniform_param({proj_.nnz()}, 0.0, cfg_.init_w, cfg_.seed, kStreamWeights, "w");

  const uint64_t s = cfg_.seed;
  uint64_t k = kStreamDense;
  auto dense = [&](int64_t out, int64_t in, bool xavier, const std::string& name, ag::Var& w,
                   ag::Var& b) {
    const double wb = xavier ? xavier_bound(out, in) : bias_bound(in);
    w = uniform_param({out, in}, -wb, wb, s, k++, name + ".weight");
    b = uniform_param({out}, -bias_bound(in), bias_bound(in), s, k++, name + ".bias");
  };
  if (cfg_.form == InputForm::spiking) {
    dense(100, 93, true, "fc_f", fc_f_w_, fc_f_b_);
    dense(100, 93, true, "fc_t", fc_t_w_, fc_t_b_);
  } else {
    dense(200, 558, true, "fc", fc_w_, fc_b_);
  }
  dense(kThalamic, 200, false, "barrelloid", th_w_, th_b_);
  dense(kHidden, kReadoutNeurons, true, "fc2_1", ro1_w_, ro1_b_);
  dense(kClasses, kHidden, true, "fc2_2", ro2_w_, ro2_b_);
}

void BarrelModel::build_lif_config() {
  const PopulationLayout layout = network_layout();
  lif_ = LifConfig{};
  lif_.model = NeuronModel::alif;
  lif_.beta = cfg_.beta;
  lif_.order = cfg_.order;
  lif_.propagation = cfg_.propagation;
  lif_.group_offsets = layout.offsets();
  lif_.input_offset = 0;  // the thalamus is group 0
  // Readout from Pyr_SP, Pyr_SS (L4) and Pyr (L2/3): network groups 1, 2 and 5.
  const std::vector<int64_t> off = lif_.group_offsets;
  lif_.readout = {{off[1], off[3] - off[1]}, {off[5], off[6] - off[5]}};
  int64_t n_ro = 0;
  for (const NeuronRange& r : lif_.readout) n_ro += r.length;
  RSNN_CHECK(n_ro == kReadoutNeurons, "barrel model: readout spans ", n_ro, " neurons, expected ",
             kReadoutNeurons);
}

void BarrelModel::set_projection(const Projection& p, const Tensor& weights) {
  p.validate("barrel model projection");
  RSNN_CHECK(p.n_pre == proj_.n_pre && p.n_post == proj_.n_post, "barrel model: projection is ",
             p.n_post, "x", p.n_pre, ", expected ", proj_.n_post, "x", proj_.n_pre);
  check_shape(weights, {p.nnz()}, "barrel model weights");
  const Device d = device();
  proj_ = p.device() == d ? p : p.to(d);
  w_ = ag::Var(weights.to_dtype(DType::f32).to(d).clone(), true, "w");
}

void BarrelModel::to(Device d) {
  if (d == device()) return;
  proj_ = proj_.to(d);
  b_base_ = b_base_.to(d);
  for (ag::Var* v : {&fc_f_w_, &fc_f_b_, &fc_t_w_, &fc_t_b_, &fc_w_, &fc_b_, &th_w_, &th_b_, &w_,
                     &tau_m_, &tau_adp_, &ro1_w_, &ro1_b_, &ro2_w_, &ro2_b_})
    if (v->defined()) *v = ag::Var(v->value().to(d), true, v->name());
}

void BarrelModel::set_stored_initial_state(const Tensor& v0, const Tensor& s0) {
  const int64_t N = neurons();
  RSNN_CHECK(v0.ndim() == 2 && v0.size(0) > 0 && v0.size(1) == N, "barrel model: stored initial v0 is ",
             v0.shape_str(), ", expected [B, ", N, "]");
  check_shape(s0, v0.shape(), "barrel model stored initial s0");
  Tensor v = v0.to(Device::cpu()).to_dtype(DType::f32).clone();
  Tensor s = s0.to(Device::cpu()).to_dtype(DType::f32).clone();
  check_finite(v, "barrel model stored initial v0");
  check_finite(s, "barrel model stored initial s0");
  stored_init_[v0.size(0)] = {v, s};
}

void BarrelModel::check_batch_size(int64_t B) const {
  if (stored_init_.empty() || stored_init_.count(B)) return;
  std::string have;
  for (const auto& kv : stored_init_) have += (have.empty() ? "" : ", ") + std::to_string(kv.first);
  RSNN_FAIL("barrel model: the checkpoint holds the seed's initial state for batch size(s) ", have,
            " only, this forward has B = ", B,
            " (the seed's draws depend on B): convert the model again with --init-batch including ", B,
            ", or pick a batch size so that every batch has a stored one");
}

void BarrelModel::initial_state(int64_t B, Tensor& v0, Tensor& a0, Tensor& s0, BatchRows rows) const {
  const int64_t N = neurons();
  const int64_t total = rows.batch == 0 ? B : rows.batch;
  RSNN_CHECK(B > 0 && rows.first >= 0 && rows.first + B <= total, "barrel model: rows [", rows.first,
             ", ", rows.first + B, ") do not lie in a batch of ", total);
  check_batch_size(total);
  const auto stored = stored_init_.find(total);
  if (stored != stored_init_.end()) {
    v0 = stored->second.first.narrow0(rows.first, B).clone();
    s0 = stored->second.second.narrow0(rows.first, B).clone();
  } else {
    // The whole batch's draws, then this part's rows: the draws are numbered across the batch.
    draw_initial_state(total, v0, s0);
    if (total != B) {
      v0 = v0.narrow0(rows.first, B).clone();
      s0 = s0.narrow0(rows.first, B).clone();
    }
  }
  a0 = Tensor::full({B, N}, cfg_.init_b, DType::f32);
  const Device d = device();
  if (d.is_cuda()) {
    v0 = v0.to(d);
    s0 = s0.to(d);
    a0 = a0.to(d);
  }
}

void BarrelModel::draw_initial_state(int64_t B, Tensor& v0, Tensor& s0) const {
  const int64_t N = neurons();
  v0 = Tensor::empty({B, N}, DType::f32);
  s0 = Tensor::empty({B, N}, DType::f32);
  // One stream, two halves: v first, then the initial "spikes", as the original draws them.
  Tensor both = Tensor::empty({2, B, N}, DType::f32);
  fill_uniform(both, cfg_.seed, kStreamInitState, 0.0, 1.0);
  v0.copy_from(both.narrow0(0, 1).reshape({B, N}));
  s0.copy_from(both.narrow0(1, 1).reshape({B, N}));
}

ForwardResult BarrelModel::forward(const Tensor& input, const Tensor& labels, bool record_spikes,
                                   BatchRows rows) {
  const int64_t T = cfg_.T, F = cfg_.form == InputForm::spiking ? 186 : 558;
  RSNN_CHECK(input.ndim() == 3 && input.size(0) == T && input.size(2) == F,
             "barrel model input: expected [T=", T, ", B, ", F, "], got ", input.shape_str());
  const int64_t B = input.size(1);
  RSNN_CHECK(B > 0, "barrel model input: empty batch");
  Tensor x = input.to(Device::cpu()).to_dtype(DType::f32).reshape({T * B, F});
  check_finite(x, "barrel model input");
  x = x.to(device());

  // The original clamps the sparse weights to [0, 1] in place before every forward.
  kernels::clamp_(w_.value(), 0.0, 1.0);

  ag::Var xv(x);
  ag::Var sweep;
  if (cfg_.form == InputForm::spiking) {
    sweep = ag::concat_last({ag::linear(ag::slice_last(xv, 0, 93), fc_f_w_, fc_f_b_),
                             ag::linear(ag::slice_last(xv, 93, 93), fc_t_w_, fc_t_b_)});
  } else {
    sweep = ag::linear(xv, fc_w_, fc_b_);
  }
  ag::Var i_thal = ag::reshape(ag::linear(sweep, th_w_, th_b_), {T, B, kThalamic});

  Tensor v0, a0, s0;
  initial_state(B, v0, a0, s0, rows);
  ag::RecurrentLifInputs in;
  in.w = w_;
  in.tau_m = tau_m_;
  in.tau_adp = tau_adp_;
  in.i_ext = i_thal;
  in.v0 = ag::Var(v0);
  in.a0 = ag::Var(a0);
  in.s0 = ag::Var(s0);
  in.w_ro = ro1_w_;
  in.b_base = b_base_;
  LifConfig lif = lif_;
  lif.record_spikes = record_spikes;
  ag::RecurrentLifOutputs out = ag::recurrent_lif(proj_, lif, in);

  // fc2_1's bias, then fc2_2 on every step.
  ag::Var hidden = ag::add(ag::reshape(out.readout, {T * B, kHidden}), ro1_b_);
  ag::Var logits = ag::reshape(ag::linear(hidden, ro2_w_, ro2_b_), {T, B, kClasses});
  ag::Var later = ag::narrow0(logits, 1, T - 1);  // the original skips t = 0

  ForwardResult r;
  r.outputs = ag::scale(ag::sum_leading(ag::reshape(ag::softmax(ag::reshape(later, {(T - 1) * B, kClasses})),
                                                    {T - 1, B, kClasses}),
                                        2),
                        1.0 / double(T));
  if (labels.defined()) {
    check_shape(labels, {B}, "barrel model labels");
    if (cfg_.loss == LossKind::seed) {
      r.loss = ag::cross_entropy(r.outputs, labels);
    } else {
      r.loss = ag::cross_entropy(ag::scale(ag::sum_leading(later, 2), 1.0 / double(T - 1)), labels);
    }
  }
  r.spike_record = out.spike_record;
  r.stats = out.stats;
  r.saved_bytes_per_neuron_step = out.saved_bytes_per_neuron_step;
  return r;
}

std::vector<std::pair<std::string, ag::Var>> BarrelModel::named_parameters() const {
  std::vector<std::pair<std::string, ag::Var>> p;
  if (cfg_.form == InputForm::spiking) {
    p = {{"fc_f.weight", fc_f_w_}, {"fc_f.bias", fc_f_b_}, {"fc_t.weight", fc_t_w_}, {"fc_t.bias", fc_t_b_}};
  } else {
    p = {{"fc.weight", fc_w_}, {"fc.bias", fc_b_}};
  }
  p.insert(p.end(), {{"barrelloid.weight", th_w_}, {"barrelloid.bias", th_b_}, {"w", w_},
                     {"tau_m", tau_m_}, {"tau_adp", tau_adp_}, {"fc2_1.weight", ro1_w_},
                     {"fc2_1.bias", ro1_b_}, {"fc2_2.weight", ro2_w_}, {"fc2_2.bias", ro2_b_}});
  return p;
}

ag::Var BarrelModel::parameter(const std::string& name) const {
  for (const auto& [n, v] : named_parameters())
    if (n == name) return v;
  RSNN_FAIL("barrel model: no parameter named '", name, "'");
}

std::vector<ag::ParamGroup> BarrelModel::param_groups(double lr) const {
  std::vector<ag::Var> base;
  for (const auto& [n, v] : named_parameters())
    if (n != "tau_m" && n != "tau_adp" && n != "w") base.push_back(v);
  // The sparse magnitudes are clamped to [0, 1] after every update (and before every
  // forward, for models loaded from elsewhere), so Dale's signs hold at all times.
  return {ag::ParamGroup({w_}, lr, std::nullopt, "sparse", ag::clamp_hook(0.0, 1.0)),
          ag::ParamGroup(base, lr, std::nullopt, "base"),
          ag::ParamGroup({tau_adp_}, 5 * lr, std::nullopt, "tau_adp"),
          ag::ParamGroup({tau_m_}, 2 * lr, std::nullopt, "tau_m")};
}

std::vector<int64_t> predictions(const Tensor& outputs) {
  RSNN_CHECK(outputs.ndim() == 2, "predictions: expected [B, C], got ", outputs.shape_str());
  const std::vector<float> v = outputs.to_vector<float>();
  const int64_t B = outputs.size(0), C = outputs.size(1);
  std::vector<int64_t> p(B);
  for (int64_t b = 0; b < B; ++b) {
    int64_t best = 0;
    for (int64_t c = 1; c < C; ++c)
      if (v[b * C + c] > v[b * C + best]) best = c;
    p[b] = best;
  }
  return p;
}

}  // namespace rsnn::barrel
