// The optimized CPU recurrent LIF layer's per-call tables (recurrent_lif_cpu_tables.h).
#include "kernels/recurrent_lif_cpu_tables.h"

#include <utility>

namespace rsnn::kernels::lif_cpu {
namespace {

// Every tensor a Net and the backward tables are derived from, and their storage.
std::vector<Tensor> tensors_of(const Projection& p, const LifInputs& x) {
  return {p.post_ptr, p.pre_ptr, p.pre_idx, p.post_idx, p.syn_of_pre, p.source_sign,
          x.w,        x.tau_m,   x.tau_adp, x.b_base,   x.w_ro};
}
std::vector<const void*> storage_of(const Projection& p, const LifInputs& x) {
  std::vector<const void*> at;
  for (const Tensor& t : tensors_of(p, x)) at.push_back(t.defined() ? t.raw() : nullptr);
  return at;
}

// Whether two configs give the same Net (the fields make_dims, the model and the surrogate read).
bool same_net_config(const LifConfig& a, const LifConfig& b) {
  auto ranges = [](const LifConfig& c) {
    std::vector<int64_t> r;
    for (const NeuronRange& n : c.readout) r.insert(r.end(), {n.start, n.length});
    return r;
  };
  return a.model == b.model && a.dt == b.dt && a.r_m == b.r_m && a.beta == b.beta && a.surrogate == b.surrogate &&
         a.sg_width == b.sg_width && a.sg_scale == b.sg_scale && a.order == b.order &&
         a.group_offsets == b.group_offsets && a.input_offset == b.input_offset && ranges(a) == ranges(b);
}

// Where each row's two parts go in backward order (BwdTables), and the rows' work prefix sums.
template <class T>
void layout_rows(const Net<T>& net, BwdTables<T>& t) {
  const Dims& d = net.d;
  const int64_t N = d.N;
  t.same_step_at.resize(static_cast<size_t>(N));
  t.prev_step_at.resize(static_cast<size_t>(N));
  int64_t at = 0;
  for (int64_t g = d.G - 1; g >= 0; --g)
    for (int64_t j = d.offsets[g]; j < d.offsets[g + 1]; ++j) {
      t.same_step_at[j] = at;
      at += net.pre_end[j] - net.pre_split[j];
    }
  for (int64_t j = 0; j < N; ++j) {
    t.prev_step_at[j] = at;
    at += net.pre_split[j] - net.pre_ptr[j];
  }
  t.work_same_step.assign(static_cast<size_t>(N + 1), 0);
  t.work_prev_step.assign(static_cast<size_t>(N + 1), 0);
  for (int64_t j = 0; j < N; ++j) {
    // measured per row (B = 8): the reverse step ~ 128 gather entries, q_prev ~ 32
    t.work_same_step[j + 1] = t.work_same_step[j] + (net.pre_end[j] - net.pre_split[j]) + 128;
    t.work_prev_step[j + 1] = t.work_prev_step[j] + (net.pre_split[j] - net.pre_ptr[j]) + 32;
  }
}

}  // namespace

template <class T>
Net<T>::Net(const Projection& p, const LifConfig& cfg, const LifInputs& x) : d(make_dims(p, cfg, x)) {
  m = lif::make_model<T>(cfg.model, cfg.dt, cfg.r_m, cfg.beta);
  sg = lif::make_surrogate<T>(cfg.surrogate, cfg.sg_width, cfg.sg_scale);
  nc = neuron_consts<T>(m, x, d.N);
  row_splits(p, d, post_split, pre_split);
  post_ptr = p.post_ptr.data<int64_t>();
  pre_ptr = p.pre_ptr.data<int64_t>();
  syn_of_pre = p.syn_of_pre.data<int64_t>();
  pre_idx = p.pre_idx.data<int32_t>();
  post_idx = p.post_idx.data<int32_t>();
  sign = p.source_sign.data<float>();
  pre_end.assign(pre_ptr + 1, pre_ptr + d.N + 1);
  const T* w = x.w.data<T>();
  w_signed.resize(static_cast<size_t>(d.nnz));
  par_for(d.nnz, [&](int64_t k) { w_signed[k] = static_cast<T>(sign[pre_idx[k]]) * w[k]; });
  if (d.has_readout) {
    ro_neuron.resize(static_cast<size_t>(d.N_ro));
    for (int64_t n = 0; n < d.N; ++n)
      if (d.ro_col[n] >= 0) ro_neuron[d.ro_col[n]] = n;
    w_ro = x.w_ro.data<T>();
    w_ro_t.resize(static_cast<size_t>(d.N_ro * d.R));
    par_for(d.N_ro, [&](int64_t c) {
      for (int64_t r = 0; r < d.R; ++r) w_ro_t[c * d.R + r] = w_ro[r * d.N_ro + c];
    }, d.N_ro * d.R);
  }
}

template <class T>
RawVec<T> Net<T>::w_signed_pre_major(bool parallel) const {
  RawVec<T> out(static_cast<size_t>(d.nnz));
  par_for_if(parallel, d.nnz, [&](int64_t k) { out[k] = w_signed[syn_of_pre[k]]; });
  return out;
}

template <class T>
int64_t BwdTables<T>::bytes() const {
  const Net<T>& n = *net;
  auto b = [](const auto& v) { return static_cast<int64_t>(v.size() * sizeof(v[0])); };
  return b(gather_w) + b(same_step_at) + b(prev_step_at) + b(work_same_step) + b(work_prev_step) + b(post16) +
         b(post32) + b(pre_of_syn32) + b(pre_of_syn64) + b(n.nc) + b(n.post_split) + b(n.pre_split) +
         b(n.pre_end) + b(n.w_signed) + b(n.ro_neuron) + b(n.w_ro_t);
}

template <class T>
std::shared_ptr<BwdTables<T>> make_bwd_tables(std::shared_ptr<const Net<T>> netp, const Projection& p,
                                              const LifConfig& cfg, const LifInputs& x, bool parallel) {
  auto tb = std::make_shared<BwdTables<T>>();
  const Net<T>& net = *netp;
  const int64_t N = net.d.N, nnz = net.d.nnz;
  tb->net = std::move(netp);
  tb->held = tensors_of(p, x);
  tb->from = storage_of(p, x);
  tb->cfg = cfg;
  BwdTables<T>& t = *tb;
  layout_rows(net, t);
  t.gather_w.resize(static_cast<size_t>(nnz));
  const bool narrow = N <= 65536;
  (narrow ? t.post16.resize(static_cast<size_t>(nnz)) : t.post32.resize(static_cast<size_t>(nnz)));
  par_for_if(parallel, N, [&](int64_t j) {
    for (int64_t k = net.pre_ptr[j]; k < net.pre_end[j]; ++k) {
      const int64_t at = k < net.pre_split[j] ? t.prev_step_at[j] + (k - net.pre_ptr[j])
                                              : t.same_step_at[j] + (k - net.pre_split[j]);
      const int32_t i = net.post_idx[k];
      t.gather_w[at] = net.w_signed[net.syn_of_pre[k]] * net.nc[i].in_gain;
      if (narrow)
        t.post16[at] = static_cast<uint16_t>(i);
      else
        t.post32[at] = i;
    }
  }, nnz);
  if (nnz <= int64_t(UINT32_MAX)) {
    t.pre_of_syn32.resize(static_cast<size_t>(nnz));
    par_for_if(parallel, nnz, [&](int64_t k) { t.pre_of_syn32[net.syn_of_pre[k]] = static_cast<uint32_t>(k); });
  } else {
    t.pre_of_syn64.resize(static_cast<size_t>(nnz));
    par_for_if(parallel, nnz, [&](int64_t k) { t.pre_of_syn64[net.syn_of_pre[k]] = k; });
  }
  return tb;
}

template <class T>
std::shared_ptr<const BwdTables<T>> saved_tables(const LifSaved& saved, const Projection& p, const LifConfig& cfg,
                                                 const LifInputs& x, const Dims& d) {
  auto tb = std::dynamic_pointer_cast<const BwdTables<T>>(saved.tables);
  if (!tb || tb->from != storage_of(p, x) || !same_net_config(tb->cfg, cfg)) return nullptr;
  const Dims& e = tb->net->d;
  if (e.T != d.T || e.B != d.B || e.N != d.N || e.nnz != d.nnz || e.N_in != d.N_in || e.R != d.R) return nullptr;
  return tb;
}

#define RSNN_LIF_CPU_TABLES(T)                                                                                  \
  template struct Net<T>;                                                                                     \
  template struct BwdTables<T>;                                                                               \
  template std::shared_ptr<BwdTables<T>> make_bwd_tables(std::shared_ptr<const Net<T>>, const Projection&,     \
                                                         const LifConfig&, const LifInputs&, bool);            \
  template std::shared_ptr<const BwdTables<T>> saved_tables(const LifSaved&, const Projection&, const LifConfig&, \
                                                            const LifInputs&, const Dims&);
RSNN_LIF_FOR_EACH_FLOAT(RSNN_LIF_CPU_TABLES)
#undef RSNN_LIF_CPU_TABLES

}  // namespace rsnn::kernels::lif_cpu
