#include "kernels/spmm.h"

#include <vector>

namespace rsnn::kernels {
namespace {

// Parallel only when a call has enough work to pay for the threads.
bool worth_threads(int64_t nnz, int64_t B) { return nnz * B > (1 << 16); }

void check_args(const Projection& p, const Tensor& w, const Tensor& x, const char* what) {
  RSNN_CHECK(p.post_ptr.defined(), what, ": empty projection");
  RSNN_CHECK(p.device().is_cpu() && w.device().is_cpu() && x.device().is_cpu(), what,
             ": CPU tensors expected");
  RSNN_CHECK(is_floating(w.dtype()), what, ": w must be float32 or float64, got ", dtype_name(w.dtype()));
  check_shape(w, {p.nnz()}, std::string(what) + ": w (one value per synapse)");
  check_dtype(x, w.dtype(), std::string(what) + ": x");
  RSNN_CHECK(x.ndim() == 2 && x.size(1) == p.n_pre, what, ": x must be [B, ", p.n_pre, "], got ",
             x.shape_str());
}

template <class T>
void forward_t(const Projection& p, const T* w, const T* x, T* out, int64_t B) {
  const int64_t* ptr = p.post_ptr.data<int64_t>();
  const int32_t* pre = p.pre_idx.data<int32_t>();
  const float* sign = p.source_sign.data<float>();
  const int64_t Np = p.n_pre, No = p.n_post;
#pragma omp parallel for collapse(2) schedule(static) if (worth_threads(p.nnz(), B))
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < No; ++i) {
      const T* xb = x + b * Np;
      T acc = T(0);
      for (int64_t k = ptr[i]; k < ptr[i + 1]; ++k) acc += static_cast<T>(sign[pre[k]]) * w[k] * xb[pre[k]];
      out[b * No + i] = acc;
    }
}

template <class T>
void backward_t(const Projection& p, const T* w, const T* x, const T* dout, T* dx, T* dw, int64_t B) {
  const int64_t* pre_ptr = p.pre_ptr.data<int64_t>();
  const int32_t* post = p.post_idx.data<int32_t>();
  const int64_t* syn = p.syn_of_pre.data<int64_t>();
  const float* sign = p.source_sign.data<float>();
  const int64_t Np = p.n_pre, No = p.n_post;
  if (dx) {
#pragma omp parallel for collapse(2) schedule(static) if (worth_threads(p.nnz(), B))
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < Np; ++j) {
        const T* gb = dout + b * No;
        T acc = T(0);
        for (int64_t k = pre_ptr[j]; k < pre_ptr[j + 1]; ++k) acc += w[syn[k]] * gb[post[k]];
        dx[b * Np + j] = static_cast<T>(sign[j]) * acc;
      }
  }
  if (dw) {
#pragma omp parallel if (worth_threads(p.nnz(), B))
    {
      std::vector<int64_t> firing;
      firing.reserve(static_cast<size_t>(B));
#pragma omp for schedule(dynamic, 16)
      for (int64_t j = 0; j < Np; ++j) {
        firing.clear();
        for (int64_t b = 0; b < B; ++b)
          if (x[b * Np + j] != T(0)) firing.push_back(b);
        const T sj = static_cast<T>(sign[j]);
        for (int64_t k = pre_ptr[j]; k < pre_ptr[j + 1]; ++k) {
          T acc = T(0);
          for (int64_t b : firing) acc += x[b * Np + j] * dout[b * No + post[k]];
          dw[syn[k]] = sj * acc;
        }
      }
    }
  }
}

}  // namespace

Tensor csr_propagate_forward(const Projection& p, const Tensor& w, const Tensor& x) {
  check_args(p, w, x, "csr_propagate_forward");
  const int64_t B = x.size(0);
  Tensor out = Tensor::empty({B, p.n_post}, x.dtype());
  dispatch_float(x.dtype(), "csr_propagate_forward", [&](auto tag) {
    using T = decltype(tag);
    forward_t<T>(p, w.data<T>(), x.data<T>(), out.data<T>(), B);
  });
  return out;
}

void csr_propagate_backward(const Projection& p, const Tensor& w, const Tensor& x,
                            const Tensor& dout, Tensor* dx, Tensor* dw) {
  check_args(p, w, x, "csr_propagate_backward");
  const int64_t B = x.size(0);
  check_shape(dout, {B, p.n_post}, "csr_propagate_backward: dout");
  check_dtype(dout, x.dtype(), "csr_propagate_backward: dout");
  if (dx) *dx = Tensor::empty({B, p.n_pre}, x.dtype());
  if (dw) *dw = Tensor::empty({p.nnz()}, x.dtype());
  dispatch_float(x.dtype(), "csr_propagate_backward", [&](auto tag) {
    using T = decltype(tag);
    backward_t<T>(p, w.data<T>(), x.data<T>(), dout.data<T>(), dx ? dx->data<T>() : nullptr,
                  dw ? dw->data<T>() : nullptr, B);
  });
}

Tensor csr_propagate_forward_ref(const Projection& p, const Tensor& w, const Tensor& x) {
  check_args(p, w, x, "csr_propagate_forward_ref");
  const int64_t B = x.size(0);
  Tensor out = Tensor::zeros({B, p.n_post}, x.dtype());
  dispatch_float(x.dtype(), "csr_propagate_forward_ref", [&](auto tag) {
    using T = decltype(tag);
    const int64_t* ptr = p.post_ptr.data<int64_t>();
    const int32_t* pre = p.pre_idx.data<int32_t>();
    const float* sign = p.source_sign.data<float>();
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = 0; i < p.n_post; ++i)
        for (int64_t k = ptr[i]; k < ptr[i + 1]; ++k)
          out.data<T>()[b * p.n_post + i] +=
              static_cast<T>(sign[pre[k]]) * w.data<T>()[k] * x.data<T>()[b * p.n_pre + pre[k]];
  });
  return out;
}

}  // namespace rsnn::kernels
