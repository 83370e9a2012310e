// ReLU RNN: CPU reference, optimized CPU (OpenBLAS) and the Tensor-level dispatch.
#include "kernels/relu_rnn.h"

#include <cblas.h>

#include <vector>

#include "kernels/relu_rnn_math.h"
#include "runtime/error.h"

namespace rsnn::kernels {

// ---- optimized CPU -----------------------------------------------------------------------
namespace {
void sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              int(M), int(N), int(K), 1.f, a, int(lda), b, int(ldb), beta, c, int(ldc));
}
}  // namespace

void relu_rnn_forward_cpu(float* H, const float* x, const float* W_in, const float* W_rec,
                          const float* b, const ReluRnnDims& d) {
  const int64_t T = d.T, B = d.B, N = d.N, I = d.n_in, BN = B * N;
  // All input projections at once (K = n_in is small), bias folded in.
  for (int64_t r = 0; r < T * B; ++r)
    for (int64_t j = 0; j < N; ++j) H[r * N + j] = b[j];
  sgemm(false, false, T * B, N, I, x, I, W_in, N, 1.f, H, N);
  for (int64_t k = 0; k < BN; ++k) H[k] = relu_rnn_act(H[k]);
  for (int64_t t = 1; t < T; ++t) {
    float* h = H + t * BN;
    sgemm(false, false, B, N, N, h - BN, N, W_rec, N, 1.f, h, N);
    for (int64_t k = 0; k < BN; ++k) h[k] = relu_rnn_act(h[k]);
  }
}

void relu_rnn_backward_cpu(float* dx, float* dW_in, float* dW_rec, float* db, const float* dH,
                           const float* dh_last, const float* x, const float* W_in,
                           const float* W_rec, const float* H, float* work,
                           const ReluRnnDims& d) {
  const int64_t T = d.T, B = d.B, N = d.N, I = d.n_in, BN = B * N;
  float* G = work;  // d(pre) for every step
  {
    float* g = G + (T - 1) * BN;
    const float* h = H + (T - 1) * BN;
    const float* e = dH ? dH + (T - 1) * BN : nullptr;
    for (int64_t k = 0; k < BN; ++k)
      g[k] = relu_rnn_dpre((dh_last ? dh_last[k] : 0.f) + (e ? e[k] : 0.f), h[k]);
  }
  for (int64_t t = T - 1; t > 0; --t) {
    float* g = G + (t - 1) * BN;
    const float* h = H + (t - 1) * BN;
    sgemm(false, true, B, N, N, G + t * BN, N, W_rec, N, 0.f, g, N);
    if (dH) {
      const float* e = dH + (t - 1) * BN;
      for (int64_t k = 0; k < BN; ++k) g[k] = relu_rnn_dpre(g[k] + e[k], h[k]);
    } else {
      for (int64_t k = 0; k < BN; ++k) g[k] = relu_rnn_dpre(g[k], h[k]);
    }
  }
  // Weight gradients: one GEMM each over all (T-1)*B or T*B rows.
  if (dW_rec && T > 1) sgemm(true, false, N, N, (T - 1) * B, H, N, G + BN, N, 1.f, dW_rec, N);
  if (dW_in) sgemm(true, false, I, N, T * B, x, I, G, N, 1.f, dW_in, N);
  if (dx) sgemm(false, true, T * B, I, N, G, N, W_in, N, 1.f, dx, I);
  if (db)
    for (int64_t r = 0; r < T * B; ++r)
      for (int64_t j = 0; j < N; ++j) db[j] += G[r * N + j];
}

// ---- Tensor level ------------------------------------------------------------------------
namespace {
ReluRnnDims dims_of(const Tensor& x, const Tensor& W_in, const Tensor& W_rec) {
  RSNN_CHECK(x.ndim() == 3, "relu_rnn: x must be [T, B, n_in], got ", x.shape_str());
  RSNN_CHECK(W_rec.ndim() == 2, "relu_rnn: W_rec must be [N, N], got ", W_rec.shape_str());
  ReluRnnDims d{x.shape()[0], x.shape()[1], x.shape()[2], W_rec.shape()[0]};
  RSNN_CHECK(d.T > 0 && d.B > 0 && d.n_in > 0 && d.N > 0, "relu_rnn: empty dimension in x ",
             x.shape_str(), " or W_rec ", W_rec.shape_str());
  check_shape(W_rec, {d.N, d.N}, "relu_rnn W_rec");
  check_shape(W_in, {d.n_in, d.N}, "relu_rnn W_in");
  for (const Tensor* t : {&x, &W_in, &W_rec}) {
    check_dtype(*t, DType::f32, "relu_rnn");
    check_same_device(*t, x, "relu_rnn");
  }
  return d;
}

// An optional gradient output: null = skipped; undefined = allocated as zeros.
float* grad_out(Tensor* g, const Shape& shape, Device dev, const char* what) {
  if (!g) return nullptr;
  if (!g->defined()) *g = Tensor::zeros(shape, DType::f32, dev);
  check_shape(*g, shape, what);
  check_dtype(*g, DType::f32, what);
  RSNN_CHECK(g->device() == dev, what, ": on ", g->device().str(), ", expected ", dev.str());
  return g->data<float>();
}

const float* grad_in(const Tensor& g, const Shape& shape, Device dev, const char* what) {
  if (!g.defined()) return nullptr;
  check_shape(g, shape, what);
  check_dtype(g, DType::f32, what);
  RSNN_CHECK(g.device() == dev, what, ": on ", g.device().str(), ", expected ", dev.str());
  return g.data<float>();
}
}  // namespace

Tensor relu_rnn_forward(const Tensor& x, const Tensor& W_in, const Tensor& W_rec,
                        const Tensor& b, Stream stream) {
  const ReluRnnDims d = dims_of(x, W_in, W_rec);
  check_shape(b, {d.N}, "relu_rnn b");
  check_dtype(b, DType::f32, "relu_rnn b");
  check_same_device(b, x, "relu_rnn b");
  Tensor H = Tensor::empty({d.T, d.B, d.N}, DType::f32, x.device());
  if (x.device().is_cuda())
    cuda::relu_rnn_forward(H.data<float>(), x.data<float>(), W_in.data<float>(),
                           W_rec.data<float>(), b.data<float>(), d,
                           Stream{x.device(), stream.handle});
  else
    relu_rnn_forward_cpu(H.data<float>(), x.data<float>(), W_in.data<float>(),
                         W_rec.data<float>(), b.data<float>(), d);
  return H;
}

void relu_rnn_backward(Tensor* dx, Tensor* dW_in, Tensor* dW_rec, Tensor* db, const Tensor& dH,
                       const Tensor& dh_last, const Tensor& x, const Tensor& W_in,
                       const Tensor& W_rec, const Tensor& H, Stream stream) {
  const ReluRnnDims d = dims_of(x, W_in, W_rec);
  const Device dev = x.device();
  check_shape(H, {d.T, d.B, d.N}, "relu_rnn H");
  check_same_device(H, x, "relu_rnn H");
  const float* pdH = grad_in(dH, {d.T, d.B, d.N}, dev, "relu_rnn dH");
  const float* pdl = grad_in(dh_last, {d.B, d.N}, dev, "relu_rnn dh_last");
  float* pdx = grad_out(dx, x.shape(), dev, "relu_rnn dx");
  float* pdWi = grad_out(dW_in, W_in.shape(), dev, "relu_rnn dW_in");
  float* pdWr = grad_out(dW_rec, W_rec.shape(), dev, "relu_rnn dW_rec");
  float* pdb = grad_out(db, {d.N}, dev, "relu_rnn db");
  Tensor work = Tensor::empty({d.T, d.B, d.N}, DType::f32, dev);
  if (dev.is_cuda())
    cuda::relu_rnn_backward(pdx, pdWi, pdWr, pdb, pdH, pdl, x.data<float>(), W_in.data<float>(),
                            W_rec.data<float>(), H.data<float>(), work.data<float>(), d,
                            Stream{dev, stream.handle});
  else
    relu_rnn_backward_cpu(pdx, pdWi, pdWr, pdb, pdH, pdl, x.data<float>(), W_in.data<float>(),
                          W_rec.data<float>(), H.data<float>(), work.data<float>(), d);
}

}  // namespace rsnn::kernels
