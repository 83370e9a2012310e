#include "kernels/linear.h"

#include <cblas.h>

#include <algorithm>
#include <climits>

#include "kernels/dense_check.h"
#include "kernels/dense_cpu.h"
#include "runtime/threads.h"

namespace rsnn::kernels {

namespace {
using cpu_detail::kParallelMin;

// Products of fewer multiply-adds run on one BLAS thread (BlasThreadsGuard): between the fused
// LIF op's OpenMP loops, OpenBLAS's spinning workers cost more than they gain on small
// products, while large ones (B = 128, T = 550) still gain from two (docs/perf-log.md).
constexpr double kBlasThreadsMin = double(int64_t(1) << 26);
bool small_product(int64_t M, int64_t N, int64_t K) {
  return double(M) * double(N) * double(K) < kBlasThreadsMin;
}

// Row-major GEMM: c (M,N) = alpha op(a) op(b) + beta c, with leading dimensions lda, ldb, ldc.
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  BlasThreadsGuard single(small_product(M, N, K));
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(M), static_cast<blasint>(N), static_cast<blasint>(K), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
              static_cast<blasint>(ldc));
}
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* a,
          int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  BlasThreadsGuard single(small_product(M, N, K));
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(M), static_cast<blasint>(N), static_cast<blasint>(K), alpha, a,
              static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
              static_cast<blasint>(ldc));
}

// Row-major y (M) = alpha op(a) x + beta y; op(a) (M,K) from a stored (M,K) or (K,M) when ta.
void gemv(bool ta, int64_t M, int64_t K, float alpha, const float* a, float* y, const float* x, float beta) {
  BlasThreadsGuard single(small_product(M, K, 1));
  cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, static_cast<blasint>(ta ? K : M),
              static_cast<blasint>(ta ? M : K), alpha, a, static_cast<blasint>(std::max<int64_t>(1, ta ? M : K)),
              x, 1, beta, y, 1);
}
void gemv(bool ta, int64_t M, int64_t K, double alpha, const double* a, double* y, const double* x, double beta) {
  BlasThreadsGuard single(small_product(M, K, 1));
  cblas_dgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, static_cast<blasint>(ta ? K : M),
              static_cast<blasint>(ta ? M : K), alpha, a, static_cast<blasint>(std::max<int64_t>(1, ta ? M : K)),
              x, 1, beta, y, 1);
}

void check_blas_dims(int64_t M, int64_t K, int64_t N, const char* what) {
  RSNN_CHECK(M <= INT_MAX && K <= INT_MAX && N <= INT_MAX, what, ": dimensions (", M, ", ", K, ", ",
             N, ") exceed the BLAS integer range");
}
int64_t ld(int64_t n) { return std::max<int64_t>(1, n); }
}  // namespace

template <class T>
void linear_forward_cpu(T* out, const T* inp, const T* weight, const T* bias, int64_t M, int64_t K,
                        int64_t N) {
  if (M == 0 || N == 0) return;
  check_blas_dims(M, K, N, "linear_forward");
  // With a bias: start from the bias rows and let GEMM add inp W^T on top (beta = 1).
  const bool fill = bias || K == 0;
  if (fill) {
#pragma omp parallel for schedule(static) if (M * N > kParallelMin)
    for (int64_t m = 0; m < M; ++m) {
      T* row = out + m * N;
      if (bias)
        std::copy(bias, bias + N, row);
      else
        std::fill(row, row + N, T(0));
    }
  }
  if (K == 0) return;
  gemm(false, true, M, N, K, T(1), inp, ld(K), weight, ld(K), fill ? T(1) : T(0), out, ld(N));
}

template <class T>
void linear_backward_cpu(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                         const T* weight, int64_t M, int64_t K, int64_t N) {
  check_blas_dims(M, K, N, "linear_backward");
  if (M > 0 && K > 0 && N > 0) {
    if (dinp) gemm(false, false, M, K, N, T(1), dout, ld(N), weight, ld(K), T(1), dinp, ld(K));
    if (dweight) gemm(true, false, N, K, M, T(1), dout, ld(N), inp, ld(K), T(1), dweight, ld(K));
  }
  if (dbias)
    cpu_detail::colsum_into(dbias, M, N, true,
                            [dout, N](int64_t m, int64_t n) { return dout[m * N + n]; });
}

template <class T>
void matmul_cpu(T* c, const T* a, const T* b, int64_t M, int64_t K, int64_t N, bool trans_a,
                bool trans_b, bool accumulate) {
  if (M == 0 || N == 0) return;
  check_blas_dims(M, K, N, "matmul");
  if (K == 0) {
    if (!accumulate) std::fill(c, c + M * N, T(0));
    return;
  }
  gemm(trans_a, trans_b, M, N, K, T(1), a, ld(trans_a ? M : K), b, ld(trans_b ? K : N),
       accumulate ? T(1) : T(0), c, ld(N));
}

template <class T>
void matvec_cpu(T* y, const T* a, const T* x, int64_t M, int64_t K, bool trans_a, bool accumulate) {
  if (M == 0) return;
  check_blas_dims(M, K, 1, "matvec");
  if (K == 0) {
    if (!accumulate) std::fill(y, y + M, T(0));
    return;
  }
  gemv(trans_a, M, K, T(1), a, y, x, accumulate ? T(1) : T(0));
}

#define RSNN_INSTANTIATE(T)                                                                        \
  template void matvec_cpu<T>(T*, const T*, const T*, int64_t, int64_t, bool, bool);               \
  template void linear_forward_cpu<T>(T*, const T*, const T*, const T*, int64_t, int64_t,          \
                                      int64_t);                                                    \
  template void linear_backward_cpu<T>(T*, T*, T*, const T*, const T*, const T*, int64_t, int64_t, \
                                       int64_t);                                                   \
  template void matmul_cpu<T>(T*, const T*, const T*, int64_t, int64_t, int64_t, bool, bool, bool);
RSNN_INSTANTIATE(float)
RSNN_INSTANTIATE(double)
#undef RSNN_INSTANTIATE

// ---- Tensor level ----------------------------------------------------------------------

void linear_forward(Tensor& out, const Tensor& inp, const Tensor& weight, const Tensor* bias,
                    Stream stream) {
  const std::string what = "linear_forward";
  detail::check_float(inp, what, "inp");
  detail::check_like(weight, inp, what, "weight", "inp");
  RSNN_CHECK(weight.ndim() == 2, what, ": weight must be (N, K), got ", weight.shape_str());
  RSNN_CHECK(inp.ndim() >= 1, what, ": inp must be (..., K), got a scalar");
  const int64_t N = weight.size(0), K = weight.size(1);
  RSNN_CHECK(inp.size(-1) == K, what, ": inp ", inp.shape_str(), " has last dim ", inp.size(-1),
             " but weight ", weight.shape_str(), " expects K = ", K);
  const int64_t M = detail::leading_numel(inp.shape(), inp.ndim() - 1);
  if (bias) {
    detail::check_like(*bias, inp, what, "bias", "inp");
    check_shape(*bias, {N}, what + " bias");
  }
  Shape out_shape = inp.shape();
  out_shape.back() = N;
  detail::prepare_out(out, out_shape, inp.dtype(), inp.device(), what, "out");
  const Stream s = detail::stream_on(inp.device(), stream, what);
  dispatch_float(inp.dtype(), what.c_str(), [&](auto tag) {
    using T = decltype(tag);
    const T* b = bias ? bias->data<T>() : nullptr;
    if (inp.device().is_cuda())
      cuda::linear_forward<T>(out.data<T>(), inp.data<T>(), weight.data<T>(), b, M, K, N, s);
    else
      linear_forward_cpu<T>(out.data<T>(), inp.data<T>(), weight.data<T>(), b, M, K, N);
    return 0;
  });
}

void linear_backward(Tensor* dinp, Tensor* dweight, Tensor* dbias, const Tensor& dout,
                     const Tensor& inp, const Tensor& weight, Stream stream) {
  const std::string what = "linear_backward";
  detail::check_float(dout, what, "dout");
  RSNN_CHECK(dout.ndim() >= 1, what, ": dout must be (..., N), got a scalar");
  RSNN_CHECK(!dinp || weight.defined(), what, ": dinp needs the weight");
  RSNN_CHECK(!dweight || inp.defined(), what, ": dweight needs inp");
  RSNN_CHECK(weight.defined() || inp.defined(), what, ": needs inp or weight for K");
  const int64_t N = dout.size(-1), M = detail::leading_numel(dout.shape(), dout.ndim() - 1);
  RSNN_CHECK(!weight.defined() || weight.ndim() == 2, what, ": weight must be (N, K), got ",
             weight.shape_str());
  RSNN_CHECK(!inp.defined() || inp.ndim() >= 1, what, ": inp must be (..., K), got a scalar");
  const int64_t K = weight.defined() ? weight.size(1) : inp.size(-1);
  if (weight.defined()) {
    detail::check_like(weight, dout, what, "weight", "dout");
    check_shape(weight, {N, K}, what + " weight (N, K) for dout " + dout.shape_str());
  }
  Shape inp_shape = dout.shape();
  inp_shape.back() = K;
  if (inp.defined()) {
    detail::check_like(inp, dout, what, "inp", "dout");
    check_shape(inp, inp_shape, what + " inp (..., K) for dout " + dout.shape_str());
  }
  if (dinp) detail::prepare_accum(*dinp, inp_shape, dout.dtype(), dout.device(), what, "dinp");
  if (dweight)
    detail::prepare_accum(*dweight, {N, K}, dout.dtype(), dout.device(), what, "dweight");
  if (dbias) detail::prepare_accum(*dbias, {N}, dout.dtype(), dout.device(), what, "dbias");
  const Stream s = detail::stream_on(dout.device(), stream, what);
  dispatch_float(dout.dtype(), what.c_str(), [&](auto tag) {
    using T = decltype(tag);
    T* gi = dinp ? dinp->data<T>() : nullptr;
    T* gw = dweight ? dweight->data<T>() : nullptr;
    T* gb = dbias ? dbias->data<T>() : nullptr;
    const T* x = inp.defined() ? inp.data<T>() : nullptr;
    const T* w = weight.defined() ? weight.data<T>() : nullptr;
    if (dout.device().is_cuda())
      cuda::linear_backward<T>(gi, gw, gb, dout.data<T>(), x, w, M, K, N, s);
    else
      linear_backward_cpu<T>(gi, gw, gb, dout.data<T>(), x, w, M, K, N);
    return 0;
  });
}

void matmul(Tensor& c, const Tensor& a, const Tensor& b, bool trans_a, bool trans_b,
            bool accumulate, Stream stream) {
  const std::string what = "matmul";
  detail::check_float(a, what, "a");
  detail::check_like(b, a, what, "b", "a");
  RSNN_CHECK(a.ndim() == 2 && b.ndim() == 2, what, ": a and b must be matrices, got ",
             a.shape_str(), " and ", b.shape_str());
  const int64_t M = trans_a ? a.size(1) : a.size(0), K = trans_a ? a.size(0) : a.size(1);
  const int64_t Kb = trans_b ? b.size(1) : b.size(0), N = trans_b ? b.size(0) : b.size(1);
  RSNN_CHECK(K == Kb, what, ": inner dimensions differ: op(a) is (", M, ", ", K, ") from a ",
             a.shape_str(), trans_a ? " transposed" : "", ", op(b) is (", Kb, ", ", N, ") from b ",
             b.shape_str(), trans_b ? " transposed" : "");
  if (accumulate)
    detail::prepare_accum(c, {M, N}, a.dtype(), a.device(), what, "c");
  else
    detail::prepare_out(c, {M, N}, a.dtype(), a.device(), what, "c");
  const Stream s = detail::stream_on(a.device(), stream, what);
  dispatch_float(a.dtype(), what.c_str(), [&](auto tag) {
    using T = decltype(tag);
    if (a.device().is_cuda())
      cuda::matmul<T>(c.data<T>(), a.data<T>(), b.data<T>(), M, K, N, trans_a, trans_b, accumulate,
                      s);
    else
      matmul_cpu<T>(c.data<T>(), a.data<T>(), b.data<T>(), M, K, N, trans_a, trans_b, accumulate);
    return 0;
  });
}

void matvec(Tensor& y, const Tensor& a, const Tensor& x, bool trans_a, bool accumulate, Stream stream) {
  const std::string what = "matvec";
  detail::check_float(a, what, "a");
  detail::check_like(x, a, what, "x", "a");
  RSNN_CHECK(a.ndim() == 2 && x.ndim() == 1, what, ": a must be a matrix and x a vector, got ", a.shape_str(),
             " and ", x.shape_str());
  const int64_t M = trans_a ? a.size(1) : a.size(0), K = trans_a ? a.size(0) : a.size(1);
  RSNN_CHECK(x.size(0) == K, what, ": op(a) is (", M, ", ", K, ") from a ", a.shape_str(),
             trans_a ? " transposed" : "", " but x has ", x.size(0), " elements");
  if (accumulate)
    detail::prepare_accum(y, {M}, a.dtype(), a.device(), what, "y");
  else
    detail::prepare_out(y, {M}, a.dtype(), a.device(), what, "y");
  const Stream s = detail::stream_on(a.device(), stream, what);
  dispatch_float(a.dtype(), what.c_str(), [&](auto tag) {
    using T = decltype(tag);
    if (a.device().is_cuda())
      cuda::matvec<T>(y.data<T>(), a.data<T>(), x.data<T>(), M, K, trans_a, accumulate, s);
    else
      matvec_cpu<T>(y.data<T>(), a.data<T>(), x.data<T>(), M, K, trans_a, accumulate);
    return 0;
  });
}

}  // namespace rsnn::kernels
