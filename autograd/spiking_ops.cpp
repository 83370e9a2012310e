#include "autograd/spiking_ops.h"

#include "kernels/spmm.h"

namespace rsnn::ag {

Var spike(const Var& u, Surrogate kind, double width, double scale) {
  RSNN_CHECK(u.defined(), "spike: undefined input");
  RSNN_CHECK(u.device().is_cpu(), "spike: the CPU op needs a CPU tensor, got ", u.value().describe());
  RSNN_CHECK(width > 0, "spike: surrogate width ", width, " must be > 0");
  const Tensor uv = u.value();
  Tensor s = Tensor::empty(uv.shape(), uv.dtype());
  dispatch_float(uv.dtype(), "spike", [&](auto tag) {
    using T = decltype(tag);
    const T* in = uv.data<T>();
    T* o = s.data<T>();
    for (int64_t k = 0; k < uv.numel(); ++k) o[k] = kernels::lif::spike_of(in[k]);
  });
  return record1("spike", {u}, s, [uv, kind, width, scale](const std::vector<Tensor>& g) {
    Tensor du = Tensor::empty(uv.shape(), uv.dtype());
    dispatch_float(uv.dtype(), "spike backward", [&](auto tag) {
      using T = decltype(tag);
      const auto sg = kernels::lif::make_surrogate<T>(kind, width, scale);
      const T* in = uv.data<T>();
      const T* go = g[0].data<T>();
      T* o = du.data<T>();
      for (int64_t k = 0; k < uv.numel(); ++k) o[k] = go[k] * kernels::lif::surrogate_grad(sg, in[k]);
    });
    return std::vector<Tensor>{du};
  });
}

Var csr_propagate(const Projection& p, const Var& w, const Var& x) {
  RSNN_CHECK(w.defined() && x.defined(), "csr_propagate: undefined input");
  const Tensor wv = w.value(), xv = x.value();
  const bool vec = xv.ndim() == 1;
  const Tensor x2 = vec ? xv.reshape({1, xv.numel()}) : xv;
  Tensor out = kernels::csr_propagate_forward(p, wv, x2);
  if (vec) out = out.reshape({p.n_post});
  const bool need_w = w.requires_grad(), need_x = x.requires_grad();
  return record1("csr_propagate", {w, x}, out,
                 [p, wv, x2, vec, need_w, need_x](const std::vector<Tensor>& g) {
                   const Tensor g2 = vec ? g[0].reshape({1, g[0].numel()}) : g[0];
                   Tensor dx, dw;
                   kernels::csr_propagate_backward(p, wv, x2, g2, need_x ? &dx : nullptr,
                                                   need_w ? &dw : nullptr);
                   if (vec && dx.defined()) dx = dx.reshape({p.n_pre});
                   return std::vector<Tensor>{dw, dx};
                 });
}

}  // namespace rsnn::ag
