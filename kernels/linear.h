// Dense layers and matrix products: out = inp W^T + bias (PyTorch weight layout) and
// C = op(A) op(B). Row-major. The optimized CPU path calls OpenBLAS, the CUDA path cuBLAS
// (exact float32/float64 GEMM; TF32 is not enabled). Backward kernels accumulate (+=) into
// their gradient outputs; a null gradient pointer is skipped.
#pragma once
#include <cstdint>

#include "runtime/cuda_entry.h"
#include "runtime/tensor.h"

namespace rsnn::kernels {

// ---- CPU reference (the specification) ------------------------------------------------

// inp (M,K), weight (N,K), bias (N) or null, out (M,N):
// out[m,n] = bias[n] + sum_k inp[m,k] * weight[n,k]
template <class T>
void linear_forward_ref(T* out, const T* inp, const T* weight, const T* bias, int64_t M, int64_t K,
                        int64_t N) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      T acc = bias ? bias[n] : T(0);
      for (int64_t k = 0; k < K; ++k) acc += inp[m * K + k] * weight[n * K + k];
      out[m * N + n] = acc;
    }
}

// dout (M,N); dinp (M,K) += dout W; dweight (N,K) += dout^T inp; dbias (N) += colsum(dout).
template <class T>
void linear_backward_ref(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                         const T* weight, int64_t M, int64_t K, int64_t N) {
  if (dinp)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t k = 0; k < K; ++k) {
        T acc = 0;
        for (int64_t n = 0; n < N; ++n) acc += dout[m * N + n] * weight[n * K + k];
        dinp[m * K + k] += acc;
      }
  if (dweight)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k) {
        T acc = 0;
        for (int64_t m = 0; m < M; ++m) acc += dout[m * N + n] * inp[m * K + k];
        dweight[n * K + k] += acc;
      }
  if (dbias)
    for (int64_t n = 0; n < N; ++n) {
      T acc = 0;
      for (int64_t m = 0; m < M; ++m) acc += dout[m * N + n];
      dbias[n] += acc;
    }
}

// c (M,N) = op(a) op(b), or += when accumulate. op(a) is (M,K): a is stored (M,K), or (K,M)
// when trans_a; op(b) is (K,N): b is stored (K,N), or (N,K) when trans_b.
template <class T>
void matmul_ref(T* c, const T* a, const T* b, int64_t M, int64_t K, int64_t N, bool trans_a,
                bool trans_b, bool accumulate) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      T acc = 0;
      for (int64_t k = 0; k < K; ++k)
        acc += (trans_a ? a[k * M + m] : a[m * K + k]) * (trans_b ? b[n * K + k] : b[k * N + n]);
      c[m * N + n] = accumulate ? c[m * N + n] + acc : acc;
    }
}

// y (M) = op(a) x (+= when accumulate). op(a) is (M,K): a is stored (M,K), or (K,M) when trans_a.
template <class T>
void matvec_ref(T* y, const T* a, const T* x, int64_t M, int64_t K, bool trans_a, bool accumulate) {
  for (int64_t m = 0; m < M; ++m) {
    T acc = 0;
    for (int64_t k = 0; k < K; ++k) acc += (trans_a ? a[k * M + m] : a[m * K + k]) * x[k];
    y[m] = accumulate ? y[m] + acc : acc;
  }
}

// ---- optimized CPU (OpenBLAS; OpenMP for the bias), same arguments ---------------------
template <class T>
void linear_forward_cpu(T* out, const T* inp, const T* weight, const T* bias, int64_t M, int64_t K,
                        int64_t N);
template <class T>
void linear_backward_cpu(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                         const T* weight, int64_t M, int64_t K, int64_t N);
template <class T>
void matmul_cpu(T* c, const T* a, const T* b, int64_t M, int64_t K, int64_t N, bool trans_a,
                bool trans_b, bool accumulate);
template <class T>
void matvec_cpu(T* y, const T* a, const T* x, int64_t M, int64_t K, bool trans_a, bool accumulate);

// ---- CUDA (cuBLAS), same arguments plus the stream; device pointers --------------------
namespace cuda {
template <class T>
RSNN_CUDA_ENTRY("linear_forward",
                void linear_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t M,
                                    int64_t K, int64_t N, Stream stream));
template <class T>
RSNN_CUDA_ENTRY("linear_backward",
                void linear_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp,
                                     const T* weight, int64_t M, int64_t K, int64_t N,
                                     Stream stream));
template <class T>
RSNN_CUDA_ENTRY("matmul", void matmul(T* c, const T* a, const T* b, int64_t M, int64_t K, int64_t N,
                                      bool trans_a, bool trans_b, bool accumulate, Stream stream));
template <class T>
RSNN_CUDA_ENTRY("matvec",
                void matvec(T* y, const T* a, const T* x, int64_t M, int64_t K, bool trans_a,
                            bool accumulate, Stream stream));
}  // namespace cuda

// ---- Tensor level: check shapes, dtypes, devices; dispatch CPU or CUDA -----------------
// inp (..., K) (leading dims flattened into M), weight (N,K), bias (N) or null;
// out (..., N) is allocated when undefined.
void linear_forward(Tensor& out, const Tensor& inp, const Tensor& weight, const Tensor* bias,
                    Stream stream = Stream{});
// dout (..., N). Accumulates into *dinp (..., K), *dweight (N,K), *dbias (N); each may be
// null (skipped) or undefined (allocated as zeros first). inp may be undefined when dweight
// is null, weight when dinp is null (so a caller keeps only what it needs).
void linear_backward(Tensor* dinp, Tensor* dweight, Tensor* dbias, const Tensor& dout,
                     const Tensor& inp, const Tensor& weight, Stream stream = Stream{});
// c (M,N) = op(a) op(b) (+= when accumulate; c is allocated when undefined and not
// accumulating, zero-filled when undefined and accumulating).
void matmul(Tensor& c, const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false,
            bool accumulate = false, Stream stream = Stream{});
// y (M) = op(a) x with a a matrix and x (K) (+= when accumulate; y allocated or zero-filled
// when undefined, as matmul's c). Matrix-vector products run BLAS's gemv, not a 1-row GEMM.
void matvec(Tensor& y, const Tensor& a, const Tensor& x, bool trans_a = false,
            bool accumulate = false, Stream stream = Stream{});

}  // namespace rsnn::kernels
