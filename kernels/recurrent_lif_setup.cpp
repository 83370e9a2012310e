// Validation and per-call tables of the recurrent LIF layer (shared by all its versions: the
// CUDA half adds its device checks on top of check_dims).
#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/recurrent_lif_detail.h"

namespace rsnn::kernels {

int64_t LifSaved::bytes() const {
  int64_t n = 0;
  if (u.defined()) n += static_cast<int64_t>(u.nbytes());
  if (a.defined()) n += static_cast<int64_t>(a.nbytes());
  return n;
}

double LifSaved::bytes_per_neuron_step() const {
  if (!u.defined() || u.numel() == 0) return 0.0;
  return static_cast<double>(bytes()) / static_cast<double>(u.numel());
}

void validate_lif(const Projection& p, const LifConfig& cfg, const LifInputs& x) {
  (void)lif_detail::check_dims(p, cfg, x);
  auto host = [](const Tensor& t) { return t.defined() ? t.to(Device::cpu()) : Tensor(); };
  lif_detail::check_time_constants(cfg, host(x.tau_m), host(x.tau_adp));
}

namespace lif_detail {
namespace {

// Every tensor on the projection's device (the one the op runs on).
void check_device(const Tensor& t, Device dev, const std::string& what) {
  RSNN_CHECK(t.device() == dev, "recurrent_lif: ", what, " is on ", t.device().str(),
             " but the projection is on ", dev.str(), " (all tensors must be on one device)");
}

void check_vec(const Tensor& t, int64_t n, DType dt, Device dev, const char* what) {
  RSNN_CHECK(t.defined(), "recurrent_lif: ", what, " is required");
  check_device(t, dev, what);
  check_dtype(t, dt, std::string("recurrent_lif: ") + what);
  check_shape(t, {n}, std::string("recurrent_lif: ") + what);
}

void check_state(const Tensor& t, int64_t B, int64_t N, DType dt, Device dev, const char* what) {
  if (!t.defined()) return;
  check_device(t, dev, what);
  check_dtype(t, dt, std::string("recurrent_lif: ") + what);
  check_shape(t, {B, N}, std::string("recurrent_lif: ") + what + " (batch, neurons)");
}

template <class T>
void check_positive(const Tensor& host, const char* what) {
  const T* p = host.data<T>();
  for (int64_t i = 0; i < host.numel(); ++i)
    RSNN_CHECK(p[i] > T(0) && std::isfinite(static_cast<double>(p[i])), "recurrent_lif: ", what,
               "[", i, "] = ", p[i], " must be positive and finite");
}

// The projection's arrays: present, on one device, of the dtypes kernels/projection.h makes,
// and consistent in size.
void check_projection(const Projection& p, Dims& d) {
  RSNN_CHECK(p.post_ptr.defined() && p.pre_ptr.defined() && p.source_sign.defined() && p.pre_idx.defined() &&
                 p.post_idx.defined() && p.syn_of_pre.defined(),
             "recurrent_lif: the projection is empty (build it with build_projection)");
  for (const Tensor* t : {&p.pre_idx, &p.pre_ptr, &p.post_idx, &p.syn_of_pre, &p.source_sign})
    check_device(*t, p.device(), "a projection array");
  RSNN_CHECK(p.post_ptr.dtype() == DType::i64 && p.pre_ptr.dtype() == DType::i64 &&
                 p.syn_of_pre.dtype() == DType::i64 && p.pre_idx.dtype() == DType::i32 &&
                 p.post_idx.dtype() == DType::i32 && p.source_sign.dtype() == DType::f32,
             "recurrent_lif: projection arrays have unexpected dtypes (see kernels/projection.h)");
  RSNN_CHECK(p.n_pre == p.n_post, "recurrent_lif: the projection must be recurrent (n_pre = n_post), got ",
             p.n_pre, " -> ", p.n_post);
  d.N = p.n_post;
  d.nnz = p.nnz();
  RSNN_CHECK(p.post_ptr.numel() == d.N + 1 && p.pre_ptr.numel() == d.N + 1 && p.post_idx.numel() == d.nnz &&
                 p.syn_of_pre.numel() == d.nnz && p.source_sign.numel() == d.N,
             "recurrent_lif: inconsistent projection arrays (n = ", d.N, ", nnz = ", d.nnz, ")");
}

// The inputs' shapes, dtypes and devices; sets T, B, N_in and the input range.
void check_inputs(const LifConfig& cfg, const LifInputs& x, DType dt, Device dev, Dims& d) {
  check_vec(x.w, d.nnz, dt, dev, "w (one value per synapse)");
  check_vec(x.tau_m, d.N, dt, dev, "tau_m");
  check_vec(x.b_base, d.N, dt, dev, "b_base");
  if (cfg.model == NeuronModel::alif) check_vec(x.tau_adp, d.N, dt, dev, "tau_adp");
  RSNN_CHECK(x.i_ext.defined(), "recurrent_lif: i_ext [T, B, N_in] is required (it sets T and B)");
  RSNN_CHECK(x.i_ext.ndim() == 3, "recurrent_lif: i_ext must be [T, B, N_in], got ", x.i_ext.shape_str());
  check_device(x.i_ext, dev, "i_ext");
  check_dtype(x.i_ext, dt, "recurrent_lif: i_ext");
  d.T = x.i_ext.size(0);
  d.B = x.i_ext.size(1);
  d.N_in = x.i_ext.size(2);
  RSNN_CHECK(d.T >= 1 && d.B >= 1, "recurrent_lif: i_ext ", x.i_ext.shape_str(), " needs T >= 1 and B >= 1");
  d.in_off = cfg.input_offset;
  RSNN_CHECK(d.in_off >= 0 && d.in_off + d.N_in <= d.N, "recurrent_lif: input range [", d.in_off, ", ",
             d.in_off + d.N_in, ") exceeds the ", d.N, " neurons");
  check_state(x.v0, d.B, d.N, dt, dev, "v0");
  check_state(x.a0, d.B, d.N, dt, dev, "a0");
  check_state(x.s0, d.B, d.N, dt, dev, "s0");
}

void check_config(const LifConfig& cfg) {
  RSNN_CHECK(cfg.dt > 0 && std::isfinite(cfg.dt), "recurrent_lif: dt = ", cfg.dt, " must be > 0");
  RSNN_CHECK(std::isfinite(cfg.r_m) && std::isfinite(cfg.beta), "recurrent_lif: r_m and beta must be finite");
  RSNN_CHECK(cfg.sg_width > 0 && std::isfinite(cfg.sg_scale), "recurrent_lif: surrogate width ", cfg.sg_width,
             " must be > 0 and the scale finite");
  const int prop = static_cast<int>(cfg.propagation);
  RSNN_CHECK(prop >= 0 && prop <= static_cast<int>(Propagation::cusparse),
             "recurrent_lif: unknown propagation value ", prop);
}

void make_groups(const LifConfig& cfg, Dims& d) {
  d.offsets = cfg.group_offsets;
  if (d.offsets.empty()) d.offsets = {0, d.N};
  RSNN_CHECK(d.offsets.size() >= 2 && d.offsets.front() == 0 && d.offsets.back() == d.N,
             "recurrent_lif: group_offsets must run from 0 to N = ", d.N, " (", d.offsets.size(),
             " entries given)");
  for (size_t g = 1; g < d.offsets.size(); ++g)
    RSNN_CHECK(d.offsets[g] >= d.offsets[g - 1], "recurrent_lif: group_offsets decrease at entry ", g);
  d.G = static_cast<int64_t>(d.offsets.size()) - 1;
  d.group_of.assign(static_cast<size_t>(d.N), 0);
  for (int64_t g = 0; g < d.G; ++g)
    for (int64_t i = d.offsets[g]; i < d.offsets[g + 1]; ++i) d.group_of[i] = static_cast<int32_t>(g);
  d.gauss_seidel = cfg.order == UpdateOrder::gauss_seidel;
}

void make_readout(const LifConfig& cfg, const Tensor& w_ro, DType dt, Device dev, Dims& d) {
  d.ro_col.assign(static_cast<size_t>(d.N), -1);
  if (!w_ro.defined()) return;
  RSNN_CHECK(!cfg.readout.empty(), "recurrent_lif: w_ro is given but cfg.readout names no neurons");
  check_device(w_ro, dev, "w_ro");
  check_dtype(w_ro, dt, "recurrent_lif: w_ro");
  for (const NeuronRange& r : cfg.readout) {
    RSNN_CHECK(r.start >= 0 && r.length > 0 && r.start + r.length <= d.N, "recurrent_lif: readout range [",
               r.start, ", ", r.start + r.length, ") is empty or outside the ", d.N, " neurons");
    for (int64_t i = r.start; i < r.start + r.length; ++i) {
      RSNN_CHECK(d.ro_col[i] < 0, "recurrent_lif: neuron ", i, " appears twice in the readout ranges");
      d.ro_col[i] = d.N_ro++;
    }
  }
  RSNN_CHECK(w_ro.ndim() == 2 && w_ro.size(1) == d.N_ro && w_ro.size(0) >= 1, "recurrent_lif: w_ro must be [R, ",
             d.N_ro, "] (readout neurons), got ", w_ro.shape_str());
  d.R = w_ro.size(0);
  d.has_readout = true;
}

}  // namespace

Dims check_dims(const Projection& p, const LifConfig& cfg, const LifInputs& x) {
  Dims d;
  RSNN_CHECK(x.w.defined(), "recurrent_lif: the synaptic weights w are required");
  const DType dt = x.w.dtype();
  RSNN_CHECK(is_floating(dt), "recurrent_lif: w must be float32 or float64, got ", dtype_name(dt));
  check_projection(p, d);
  check_inputs(cfg, x, dt, p.device(), d);
  check_config(cfg);
  make_groups(cfg, d);
  make_readout(cfg, x.w_ro, dt, p.device(), d);
  return d;
}

void check_time_constants(const LifConfig& cfg, const Tensor& tau_m, const Tensor& tau_adp) {
  dispatch_float(tau_m.dtype(), "recurrent_lif", [&](auto tag) {
    using T = decltype(tag);
    if (cfg.model != NeuronModel::if_) check_positive<T>(tau_m, "tau_m");
    if (cfg.model == NeuronModel::alif) check_positive<T>(tau_adp, "tau_adp");
  });
}

Dims make_dims(const Projection& p, const LifConfig& cfg, const LifInputs& x) {
  Dims d = check_dims(p, cfg, x);
  RSNN_CHECK(p.device().is_cpu(), "recurrent_lif: the projection is on ", p.device().str(),
             "; the CPU kernel needs a CPU projection");
  check_time_constants(cfg, x.tau_m, x.tau_adp);
  return d;
}

void check_backward_inputs(const Dims& d, const LifConfig& cfg, DType dt, Device dev, const LifSaved& saved,
                           const Tensor& dspikes, const Tensor& dreadout) {
  auto on = [dev](const Tensor& t, const char* what) {
    RSNN_CHECK(t.device() == dev, "recurrent_lif_backward: ", what, " is on ", t.device().str(),
               " but the projection is on ", dev.str());
  };
  const int64_t T_ = d.T, B = d.B, N = d.N;
  RSNN_CHECK(saved.u.defined(), "recurrent_lif_backward: nothing was saved (run the forward with keep_for_backward)");
  on(saved.u, "saved u");
  check_shape(saved.u, {T_, N, B}, "recurrent_lif_backward: saved u");
  check_dtype(saved.u, dt, "recurrent_lif_backward: saved u");
  if (cfg.model == NeuronModel::alif) {
    RSNN_CHECK(saved.a.defined(), "recurrent_lif_backward: the adaptation trace was not saved");
    on(saved.a, "saved a");
    check_shape(saved.a, {T_, N, B}, "recurrent_lif_backward: saved a");
    check_dtype(saved.a, dt, "recurrent_lif_backward: saved a");
  }
  if (dspikes.defined()) {
    on(dspikes, "dspikes");
    check_shape(dspikes, {T_, B, N}, "recurrent_lif_backward: dspikes");
    check_dtype(dspikes, dt, "recurrent_lif_backward: dspikes");
  }
  if (dreadout.defined()) {
    RSNN_CHECK(d.has_readout, "recurrent_lif_backward: a readout gradient was given but there is no readout");
    on(dreadout, "dreadout");
    check_shape(dreadout, {T_, B, d.R}, "recurrent_lif_backward: dreadout");
    check_dtype(dreadout, dt, "recurrent_lif_backward: dreadout");
  }
}

void row_splits(const Projection& p, const Dims& d, std::vector<int64_t>& post_split,
                std::vector<int64_t>& pre_split) {
  const int64_t* post_ptr = p.post_ptr.data<int64_t>();
  const int32_t* pre_idx = p.pre_idx.data<int32_t>();
  const int64_t* pre_ptr = p.pre_ptr.data<int64_t>();
  const int32_t* post_idx = p.post_idx.data<int32_t>();
  post_split.resize(static_cast<size_t>(d.N));
  pre_split.resize(static_cast<size_t>(d.N));
  for (int64_t i = 0; i < d.N; ++i) {
    if (!d.gauss_seidel) {
      post_split[i] = post_ptr[i];
      pre_split[i] = pre_ptr[i + 1];
      continue;
    }
    const int64_t g = d.group_of[i];
    // sources are ascending within a post-major row, targets within a pre-major row
    const int32_t first_same = static_cast<int32_t>(d.offsets[g]);
    post_split[i] = std::lower_bound(pre_idx + post_ptr[i], pre_idx + post_ptr[i + 1], first_same) - pre_idx;
    const int32_t first_later = static_cast<int32_t>(d.offsets[g + 1]);
    pre_split[i] = std::lower_bound(post_idx + pre_ptr[i], post_idx + pre_ptr[i + 1], first_later) - post_idx;
  }
}

template <class T>
std::vector<lif::NeuronConst<T>> neuron_consts(const lif::ModelParams<T>& m, const LifInputs& x,
                                               int64_t N) {
  std::vector<lif::NeuronConst<T>> c(static_cast<size_t>(N));
  const T* tau_m = x.tau_m.data<T>();
  const T* tau_adp = m.adaptive() ? x.tau_adp.data<T>() : nullptr;
  const T* b = x.b_base.data<T>();
  for (int64_t i = 0; i < N; ++i)
    c[i] = lif::neuron_const(m, tau_m[i], tau_adp ? tau_adp[i] : T(1), b[i]);
  return c;
}

#define RSNN_LIF_NEURON_CONSTS(T) \
  template std::vector<lif::NeuronConst<T>> neuron_consts(const lif::ModelParams<T>&, const LifInputs&, int64_t);
RSNN_LIF_FOR_EACH_FLOAT(RSNN_LIF_NEURON_CONSTS)
#undef RSNN_LIF_NEURON_CONSTS

}  // namespace lif_detail
}  // namespace rsnn::kernels
