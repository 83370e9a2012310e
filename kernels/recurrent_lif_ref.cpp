// Plain reference of the recurrent LIF layer: the specification in scalar loops, [T, B, N]
// layout, every state and current kept. Slow and obvious on purpose; the optimized path
// (recurrent_lif_cpu*.cpp) is tested against it.
#include <vector>

#include "kernels/recurrent_lif_detail.h"

namespace rsnn::kernels {
namespace {

using namespace lif_detail;

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// Everything the forward computes, kept: index [t][b][n]; "prev" arrays have T+1 slots with
// slot 0 holding the initial state (slot t+1 = after step t).
template <class T>
struct RefTrace {
  std::vector<T> v, a, s;  // [(T+1) * B * N]
  std::vector<T> cur;      // input current I [T * B * N]
  std::vector<T> u;        // [T * B * N]
  std::vector<T> y;        // readout [T * B * R]
};

template <class T>
RefTrace<T> ref_run(const Projection& p, const LifConfig& cfg, const LifInputs& x, const Dims& d) {
  const int64_t T_ = d.T, B = d.B, N = d.N;
  const auto m = lif::make_model<T>(cfg.model, cfg.dt, cfg.r_m, cfg.beta);
  const auto nc = neuron_consts<T>(m, x, N);
  const int64_t* post_ptr = p.post_ptr.data<int64_t>();
  const int32_t* pre_idx = p.pre_idx.data<int32_t>();
  const float* sign = p.source_sign.data<float>();
  const T* w = x.w.data<T>();
  const T* ext = x.i_ext.data<T>();
  const T *v0 = ptr_or_null<T>(x.v0), *a0 = ptr_or_null<T>(x.a0), *s0 = ptr_or_null<T>(x.s0);

  RefTrace<T> tr;
  const size_t state = static_cast<size_t>((T_ + 1) * B * N);
  tr.v.assign(state, T(0));
  tr.a.assign(state, T(0));
  tr.s.assign(state, T(0));
  tr.cur.assign(static_cast<size_t>(T_ * B * N), T(0));
  tr.u.assign(static_cast<size_t>(T_ * B * N), T(0));
  for (int64_t k = 0; k < B * N; ++k) {
    tr.v[k] = v0 ? v0[k] : T(0);
    tr.a[k] = a0 ? a0[k] : T(0);
    tr.s[k] = s0 ? s0[k] : T(0);
  }
  for (int64_t t = 0; t < T_; ++t) {
    const T* s_prev = &tr.s[t * B * N];
    T* s_now = &tr.s[(t + 1) * B * N];
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t i = 0; i < N; ++i) {  // neurons in index order = groups in order
        T rec = T(0);
        for (int64_t k = post_ptr[i]; k < post_ptr[i + 1]; ++k) {
          const int64_t j = pre_idx[k];
          const bool this_step = d.gauss_seidel && d.group_of[j] < d.group_of[i];
          const T sj = this_step ? s_now[b * N + j] : s_prev[b * N + j];
          rec += static_cast<T>(sign[j]) * w[k] * sj;
        }
        T e = T(0);
        if (i >= d.in_off && i < d.in_off + d.N_in) e = ext[(t * B + b) * d.N_in + (i - d.in_off)];
        const T I = e + rec;
        const int64_t at = (t * B + b) * N + i;
        T v = tr.v[t * B * N + b * N + i];
        T a = tr.a[t * B * N + b * N + i];
        const T u = lif::neuron_step(m, nc[i], I, s_prev[b * N + i], v, a);
        tr.cur[at] = I;
        tr.u[at] = u;
        tr.v[(t + 1) * B * N + b * N + i] = v;
        tr.a[(t + 1) * B * N + b * N + i] = a;
        s_now[b * N + i] = lif::spike_of(u);
      }
    }
  }
  if (d.has_readout) {
    const T* wro = x.w_ro.data<T>();  // [R, N_ro]
    tr.y.assign(static_cast<size_t>(T_ * B * d.R), T(0));
    for (int64_t t = 0; t < T_; ++t)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t r = 0; r < d.R; ++r) {
          T acc = T(0);
          for (int64_t n = 0; n < N; ++n)
            if (d.ro_col[n] >= 0) acc += tr.s[(t + 1) * B * N + b * N + n] * wro[r * d.N_ro + d.ro_col[n]];
          tr.y[(t * B + b) * d.R + r] = acc;
        }
  }
  return tr;
}

template <class T>
LifForward ref_forward(const Projection& p, const LifConfig& cfg, const LifInputs& x) {
  const Dims d = make_dims(p, cfg, x);
  const RefTrace<T> tr = ref_run<T>(p, cfg, x, d);
  const int64_t T_ = d.T, B = d.B, N = d.N, BN = d.B * d.N;
  const DType dt = x.w.dtype();
  LifForward out;
  auto slice_copy = [&](const std::vector<T>& src, int64_t first) {
    Tensor o = Tensor::empty({T_, B, N}, dt);
    std::copy(src.begin() + first, src.begin() + first + T_ * BN, o.data<T>());
    return o;
  };
  if (cfg.output_spikes) out.spikes = slice_copy(tr.s, BN);
  if (cfg.record_spikes) {
    out.spike_record = Tensor::empty({T_, B, N}, DType::u8);
    uint8_t* r = out.spike_record.data<uint8_t>();
    for (int64_t k = 0; k < T_ * BN; ++k) r[k] = tr.s[BN + k] != T(0) ? 1 : 0;
  }
  if (cfg.record_state) {
    out.v_record = slice_copy(tr.v, BN);
    out.a_record = slice_copy(tr.a, BN);
  }
  if (d.has_readout) {
    out.readout = Tensor::empty({T_, B, d.R}, dt);
    std::copy(tr.y.begin(), tr.y.end(), out.readout.data<T>());
  }
  // the optimized path's saved layout [T, N, B]
  out.saved.u = Tensor::empty({T_, N, B}, dt);
  if (cfg.model == NeuronModel::alif) out.saved.a = Tensor::empty({T_, N, B}, dt);
  for (int64_t t = 0; t < T_; ++t)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t n = 0; n < N; ++n) {
        out.saved.u.data<T>()[(t * N + n) * B + b] = tr.u[(t * B + b) * N + n];
        if (out.saved.a.defined())
          out.saved.a.data<T>()[(t * N + n) * B + b] = tr.a[(t + 1) * BN + b * N + n];
      }
  for (int64_t k = 0; k < T_ * BN; ++k) out.stats.spikes += tr.s[BN + k] != T(0) ? 1 : 0;
  return out;
}

// dL/dW_ro, and the readout's part of dL/ds added to ds_acc (slot t + 1 holds dL/ds[t]).
template <class T>
void ref_readout_backward(const Dims& d, const RefTrace<T>& tr, const LifInputs& x, const Tensor& dreadout,
                          std::vector<T>& ds_acc, LifGrads& gr) {
  const int64_t T_ = d.T, B = d.B, N = d.N, BN = d.B * d.N;
  const T* wro = x.w_ro.data<T>();
  gr.dw_ro = Tensor::zeros({d.R, d.N_ro}, x.w.dtype());
  T* dwro = gr.dw_ro.data<T>();
  if (!dreadout.defined()) return;
  const T* gy = dreadout.data<T>();
  for (int64_t t = 0; t < T_; ++t)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t n = 0; n < N; ++n) {
        const int64_t c = d.ro_col[n];
        if (c < 0) continue;
        T acc = T(0);
        for (int64_t r = 0; r < d.R; ++r) {
          const T g = gy[(t * B + b) * d.R + r];
          acc += g * wro[r * d.N_ro + c];
          dwro[r * d.N_ro + c] += g * tr.s[(t + 1) * BN + b * N + n];
        }
        ds_acc[(t + 1) * BN + b * N + n] += acc;
      }
}

template <class T>
LifGrads ref_backward(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                      const Tensor& dspikes, const Tensor& dreadout) {
  const Dims d = make_dims(p, cfg, x);
  const RefTrace<T> tr = ref_run<T>(p, cfg, x, d);
  const int64_t T_ = d.T, B = d.B, N = d.N, BN = d.B * d.N;
  const DType dt = x.w.dtype();
  if (dspikes.defined()) check_shape(dspikes, {T_, B, N}, "recurrent_lif_backward_ref: dspikes");
  if (dreadout.defined()) check_shape(dreadout, {T_, B, d.R}, "recurrent_lif_backward_ref: dreadout");
  const auto m = lif::make_model<T>(cfg.model, cfg.dt, cfg.r_m, cfg.beta);
  const auto sg = lif::make_surrogate<T>(cfg.surrogate, cfg.sg_width, cfg.sg_scale);
  const auto nc = neuron_consts<T>(m, x, N);
  const int64_t* post_ptr = p.post_ptr.data<int64_t>();
  const int32_t* pre_idx = p.pre_idx.data<int32_t>();
  const float* sign = p.source_sign.data<float>();
  const T* w = x.w.data<T>();

  // ds_acc[t+1] accumulates dL/ds[t]; slot 0 is dL/ds0.
  std::vector<T> ds_acc(static_cast<size_t>((T_ + 1) * BN), T(0));
  if (dspikes.defined()) {
    const T* g = dspikes.data<T>();
    for (int64_t k = 0; k < T_ * BN; ++k) ds_acc[BN + k] += g[k];
  }
  LifGrads gr;
  if (d.has_readout) ref_readout_backward<T>(d, tr, x, dreadout, ds_acc, gr);
  std::vector<T> dw(static_cast<size_t>(d.nnz), T(0)), dalpha(N, T(0)), drho(N, T(0));
  std::vector<T> dv_next(BN, T(0)), da_next(BN, T(0));
  gr.di_ext = Tensor::zeros({T_, B, d.N_in}, dt);
  T* di = gr.di_ext.data<T>();
  for (int64_t t = T_ - 1; t >= 0; --t) {
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t i = N - 1; i >= 0; --i) {  // reverse group order
        const int64_t at = b * N + i;
        const lif::NeuronConst<T>& c = nc[i];
        const T s_prev = tr.s[t * BN + at];
        const lif::StepGrad<T> g = lif::neuron_step_backward(
            m, c, sg, ds_acc[(t + 1) * BN + at], c.decay * dv_next[at], c.rho * da_next[at],
            tr.u[t * BN + at], tr.a[(t + 1) * BN + at], s_prev, tr.a[t * BN + at]);
        dv_next[at] = g.dv;
        da_next[at] = g.da;
        ds_acc[t * BN + at] += g.ds_prev;
        drho[i] += g.drho;
        // v[t] = decay*v[t-1] + (1-decay)*r_m*I - ...: d v[t] / d decay = v[t-1] - r_m*I
        dalpha[i] += g.dv * (tr.v[t * BN + at] - m.r_m * tr.cur[t * BN + at]);
        const T dI = c.in_gain * g.dv;
        if (i >= d.in_off && i < d.in_off + d.N_in) di[(t * B + b) * d.N_in + (i - d.in_off)] = dI;
        for (int64_t k = post_ptr[i]; k < post_ptr[i + 1]; ++k) {
          const int64_t j = pre_idx[k];
          const bool this_step = d.gauss_seidel && d.group_of[j] < d.group_of[i];
          const int64_t slot = this_step ? t + 1 : t;  // s_j[t] or s_j[t-1]
          ds_acc[slot * BN + b * N + j] += static_cast<T>(sign[j]) * w[k] * dI;
          dw[k] += static_cast<T>(sign[j]) * tr.s[slot * BN + b * N + j] * dI;
        }
      }
    }
  }
  gr.dw = Tensor::from_vector(dw);
  gr.dtau_m = Tensor::zeros({N}, dt);
  gr.dtau_adp = Tensor::zeros({N}, dt);
  const T* tau_m = x.tau_m.data<T>();
  for (int64_t i = 0; i < N; ++i) {
    if (cfg.model != NeuronModel::if_)
      gr.dtau_m.data<T>()[i] = lif::dtau_from_dfactor(dalpha[i], nc[i].decay, tau_m[i], m.dt);
    if (cfg.model == NeuronModel::alif)
      gr.dtau_adp.data<T>()[i] =
          lif::dtau_from_dfactor(drho[i], nc[i].rho, x.tau_adp.data<T>()[i], m.dt);
  }
  gr.dv0 = Tensor::empty({B, N}, dt);
  gr.da0 = Tensor::empty({B, N}, dt);
  gr.ds0 = Tensor::empty({B, N}, dt);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < N; ++i) {
      const int64_t at = b * N + i;
      gr.dv0.data<T>()[at] = nc[i].decay * dv_next[at];
      gr.da0.data<T>()[at] = cfg.model == NeuronModel::alif ? nc[i].rho * da_next[at] : T(0);
      gr.ds0.data<T>()[at] = ds_acc[at];
    }
  return gr;
}

}  // namespace

LifForward recurrent_lif_forward_ref(const Projection& p, const LifConfig& cfg, const LifInputs& x) {
  return dispatch_float(x.w.defined() ? x.w.dtype() : DType::f32, "recurrent_lif_forward_ref",
                        [&](auto tag) { return ref_forward<decltype(tag)>(p, cfg, x); });
}

LifGrads recurrent_lif_backward_ref(const Projection& p, const LifConfig& cfg, const LifInputs& x,
                                    const Tensor& dspikes, const Tensor& dreadout) {
  return dispatch_float(x.w.defined() ? x.w.dtype() : DType::f32, "recurrent_lif_backward_ref",
                        [&](auto tag) {
                          return ref_backward<decltype(tag)>(p, cfg, x, dspikes, dreadout);
                        });
}

}  // namespace rsnn::kernels
