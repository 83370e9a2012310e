#include "autograd/recurrent_lif_unfused.h"

#include "autograd/ops.h"
#include "autograd/spiking_ops.h"

namespace rsnn::ag {
namespace {

Var constant(const Tensor& t) { return Var(t, false); }

// The rows of group [o0, o1) as their own projection onto every source (n_post = o1 - o0,
// n_pre = N), synapses in the same order as the full post-major CSR.
Projection rows_of(const Projection& p, int64_t o0, int64_t o1) {
  const int64_t* ptr = p.post_ptr.data<int64_t>();
  const int32_t* pre = p.pre_idx.data<int32_t>();
  std::vector<int32_t> post, src;
  for (int64_t i = o0; i < o1; ++i)
    for (int64_t k = ptr[i]; k < ptr[i + 1]; ++k) {
      post.push_back(static_cast<int32_t>(i - o0));
      src.push_back(pre[k]);
    }
  return projection_from_pairs(p.n_pre, o1 - o0, post, src, p.source_sign);
}

// [B, n] pieces side by side, skipping empty ones.
Var join(const std::vector<Var>& parts) {
  std::vector<Var> v;
  for (const Var& x : parts)
    if (x.defined() && x.shape().back() > 0) v.push_back(x);
  return v.size() == 1 ? v[0] : concat_last(v);
}

}  // namespace

RecurrentLifOutputs recurrent_lif_unfused(const Projection& p, const LifConfig& cfg,
                                          const RecurrentLifInputs& in) {
  kernels::LifInputs x;  // for validation and the sizes only
  x.w = in.w.value();
  x.tau_m = in.tau_m.value();
  if (in.tau_adp.defined()) x.tau_adp = in.tau_adp.value();
  x.b_base = in.b_base;
  x.i_ext = in.i_ext.value();
  if (in.v0.defined()) x.v0 = in.v0.value();
  if (in.a0.defined()) x.a0 = in.a0.value();
  if (in.s0.defined()) x.s0 = in.s0.value();
  if (in.w_ro.defined()) x.w_ro = in.w_ro.value();
  kernels::validate_lif(p, cfg, x);
  const int64_t T = x.i_ext.size(0), B = x.i_ext.size(1), N_in = x.i_ext.size(2), N = p.n_post;
  const int64_t in_off = cfg.input_offset, R = x.w_ro.defined() ? x.w_ro.size(0) : 0;
  const DType dt = x.w.dtype();
  const bool alif = cfg.model == NeuronModel::alif, if_ = cfg.model == NeuronModel::if_;
  std::vector<int64_t> off = cfg.group_offsets;
  if (off.empty() || cfg.order == UpdateOrder::previous_step) off = {0, N};
  const int64_t G = static_cast<int64_t>(off.size()) - 1;

  // per-neuron factors [N]
  const Var minus_dt = constant(Tensor::full({N}, -cfg.dt, dt));
  Var decay, in_gain, rho, one_m_rho;
  if (!if_) {
    decay = exp(div(minus_dt, in.tau_m));
    in_gain = scale(add_scalar(neg(decay), 1.0), cfg.r_m);
  }
  if (alif) {
    rho = exp(div(minus_dt, in.tau_adp));
    one_m_rho = add_scalar(neg(rho), 1.0);
  }
  const Var b_base = constant(in.b_base);
  const double reset_gain = if_ ? 1.0 : cfg.dt;

  std::vector<Projection> rows(G);
  std::vector<Var> w_rows(G);
  const int64_t* ptr = p.post_ptr.data<int64_t>();
  for (int64_t g = 0; g < G; ++g) {
    rows[g] = rows_of(p, off[g], off[g + 1]);
    w_rows[g] = narrow0(in.w, ptr[off[g]], ptr[off[g + 1]] - ptr[off[g]]);
  }
  auto zeros = [&](int64_t n) { return constant(Tensor::zeros({B, n}, dt)); };
  Var v = in.v0.defined() ? in.v0 : zeros(N);
  Var a = in.a0.defined() ? in.a0 : zeros(N);
  Var s = in.s0.defined() ? in.s0 : zeros(N);

  std::vector<Var> spikes_t, readout_t;
  for (int64_t t = 0; t < T; ++t) {
    const Var ext_t = reshape(narrow0(in.i_ext, t, 1), {B, N_in});
    const Var cur_ext = join({zeros(in_off), ext_t, zeros(N - in_off - N_in)});
    std::vector<Var> v_g, a_g, s_g;
    for (int64_t g = 0; g < G; ++g) {
      const int64_t o = off[g], n = off[g + 1] - off[g];
      if (n == 0) continue;
      // sources before group g carry this step's spikes (gauss_seidel), the rest the last step's
      std::vector<Var> src = s_g;
      src.push_back(slice_last(s, o, N - o));
      const Var rec = csr_propagate(rows[g], w_rows[g], join(src));
      const Var cur = add(slice_last(cur_ext, o, n), rec);
      const Var sp = slice_last(s, o, n), vp = slice_last(v, o, n), ap = slice_last(a, o, n);
      const Var bb = slice_last(b_base, o, n);
      Var an = ap, th;
      if (alif) {
        an = add(mul(ap, slice_last(rho, o, n)), mul(sp, slice_last(one_m_rho, o, n)));
        th = add(scale(an, cfg.beta), bb);
      }
      const Var reset = alif ? mul(th, sp) : mul(sp, bb);
      Var vn;
      if (if_) {
        vn = sub(add(vp, scale(cur, cfg.r_m * cfg.dt)), scale(reset, reset_gain));
      } else {
        vn = sub(add(mul(vp, slice_last(decay, o, n)), mul(cur, slice_last(in_gain, o, n))),
                 scale(reset, reset_gain));
      }
      const Var u = alif ? sub(vn, th) : sub(vn, bb);
      v_g.push_back(vn);
      a_g.push_back(an);
      s_g.push_back(spike(u, cfg.surrogate, cfg.sg_width, cfg.sg_scale));
    }
    v = join(v_g);
    a = join(a_g);
    s = join(s_g);
    if (cfg.output_spikes) spikes_t.push_back(reshape(s, {1, B, N}));
    if (in.w_ro.defined()) {
      std::vector<Var> ro;
      for (const NeuronRange& r : cfg.readout) ro.push_back(slice_last(s, r.start, r.length));
      readout_t.push_back(reshape(linear(join(ro), in.w_ro), {1, B, R}));
    }
  }
  RecurrentLifOutputs out;
  if (cfg.output_spikes) out.spikes = spikes_t.size() == 1 ? spikes_t[0] : concat0(spikes_t);
  if (in.w_ro.defined()) out.readout = readout_t.size() == 1 ? readout_t[0] : concat0(readout_t);
  return out;
}

}  // namespace rsnn::ag
