#include <climits>

#include "kernels/cublas_handle.h"
#include "kernels/dense_cuda.cuh"
#include "kernels/linear.h"

namespace rsnn::kernels::cuda {

namespace {
using detail::grid_for;
using detail::kThreads;
using detail::raw;

// Row-major c (M,N) = alpha op(a) op(b) + beta c. cuBLAS is column-major, and a row-major
// matrix read column-major is its transpose, so compute c^T = op(b)^T op(a)^T instead.
void gemm(cublasHandle_t h, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc) {
  RSNN_CUBLAS_CHECK(cublasSgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                int(N), int(M), int(K), &alpha, b, int(ldb), a, int(lda), &beta, c,
                                int(ldc)));
}
void gemm(cublasHandle_t h, bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha,
          const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c,
          int64_t ldc) {
  RSNN_CUBLAS_CHECK(cublasDgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                int(N), int(M), int(K), &alpha, b, int(ldb), a, int(lda), &beta, c,
                                int(ldc)));
}

// Row-major y (M) = alpha op(a) x + beta y: a row-major (R,C) matrix is a column-major (C,R)
// one, so op flips.
void gemv(cublasHandle_t h, bool ta, int64_t M, int64_t K, float alpha, const float* a, const float* x,
          float beta, float* y) {
  const int rows = int(ta ? K : M), cols = int(ta ? M : K);
  RSNN_CUBLAS_CHECK(cublasSgemv(h, ta ? CUBLAS_OP_N : CUBLAS_OP_T, cols, rows, &alpha, a, cols > 1 ? cols : 1, x,
                                1, &beta, y, 1));
}
void gemv(cublasHandle_t h, bool ta, int64_t M, int64_t K, double alpha, const double* a, const double* x,
          double beta, double* y) {
  const int rows = int(ta ? K : M), cols = int(ta ? M : K);
  RSNN_CUBLAS_CHECK(cublasDgemv(h, ta ? CUBLAS_OP_N : CUBLAS_OP_T, cols, rows, &alpha, a, cols > 1 ? cols : 1, x,
                                1, &beta, y, 1));
}

void check_dims(int64_t M, int64_t K, int64_t N, const char* what) {
  RSNN_CHECK(M <= INT_MAX && K <= INT_MAX && N <= INT_MAX, what, ": dimensions (", M, ", ", K, ", ",
             N, ") exceed the cuBLAS integer range");
}
int64_t ld(int64_t n) { return n > 1 ? n : 1; }

// out (M,N) = bias broadcast over rows, or zeros.
template <class T>
__global__ void fill_rows_kernel(T* out, const T* bias, int64_t M, int64_t N) {
  RSNN_GRID_STRIDE(i, M * N) out[i] = bias ? bias[i % N] : T(0);
}

template <class T>
struct RowsOf {  // f(m, n) = x[m, n] of an (M, N) matrix
  const T* x;
  int64_t N;
  __device__ T operator()(int64_t m, int64_t n) const { return x[m * N + n]; }
};
}  // namespace

template <class T>
void linear_forward(T* out, const T* inp, const T* weight, const T* bias, int64_t M, int64_t K,
                    int64_t N, Stream stream) {
  if (M == 0 || N == 0) return;
  check_dims(M, K, N, "linear_forward (CUDA)");
  detail::use_device(stream);
  // With a bias: start from the bias rows and let GEMM add inp W^T on top (beta = 1).
  const bool fill = bias || K == 0;
  if (fill) {
    fill_rows_kernel<<<grid_for(M * N), kThreads, 0, raw(stream)>>>(out, bias, M, N);
    RSNN_CUDA_CHECK_LAUNCH();
  }
  if (K == 0) return;
  gemm(cublas_handle(stream), false, true, M, N, K, T(1), inp, ld(K), weight, ld(K),
       fill ? T(1) : T(0), out, ld(N));
}

template <class T>
void linear_backward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight,
                     int64_t M, int64_t K, int64_t N, Stream stream) {
  check_dims(M, K, N, "linear_backward (CUDA)");
  detail::use_device(stream);
  if (M > 0 && K > 0 && N > 0) {
    if (dinp)
      gemm(cublas_handle(stream), false, false, M, K, N, T(1), dout, ld(N), weight, ld(K), T(1),
           dinp, ld(K));
    if (dweight)
      gemm(cublas_handle(stream), true, false, N, K, M, T(1), dout, ld(N), inp, ld(K), T(1),
           dweight, ld(K));
  }
  if (dbias && M > 0) detail::colsum_into(dbias, M, N, true, RowsOf<T>{dout, N}, stream);
}

template <class T>
void matmul(T* c, const T* a, const T* b, int64_t M, int64_t K, int64_t N, bool trans_a,
            bool trans_b, bool accumulate, Stream stream) {
  if (M == 0 || N == 0) return;
  check_dims(M, K, N, "matmul (CUDA)");
  detail::use_device(stream);
  if (K == 0) {
    if (!accumulate) RSNN_CUDA_CHECK(cudaMemsetAsync(c, 0, sizeof(T) * M * N, raw(stream)));
    return;
  }
  gemm(cublas_handle(stream), trans_a, trans_b, M, N, K, T(1), a, ld(trans_a ? M : K), b,
       ld(trans_b ? K : N), accumulate ? T(1) : T(0), c, ld(N));
}

template <class T>
void matvec(T* y, const T* a, const T* x, int64_t M, int64_t K, bool trans_a, bool accumulate,
            Stream stream) {
  if (M == 0) return;
  check_dims(M, K, 1, "matvec (CUDA)");
  detail::use_device(stream);
  if (K == 0) {
    if (!accumulate) RSNN_CUDA_CHECK(cudaMemsetAsync(y, 0, sizeof(T) * M, raw(stream)));
    return;
  }
  gemv(cublas_handle(stream), trans_a, M, K, T(1), a, x, accumulate ? T(1) : T(0), y);
}

#define RSNN_INSTANTIATE(T)                                                                    \
  template void matvec<T>(T*, const T*, const T*, int64_t, int64_t, bool, bool, Stream);       \
  template void linear_forward<T>(T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, \
                                  Stream);                                                     \
  template void linear_backward<T>(T*, T*, T*, const T*, const T*, const T*, int64_t, int64_t, \
                                   int64_t, Stream);                                           \
  template void matmul<T>(T*, const T*, const T*, int64_t, int64_t, int64_t, bool, bool, bool, \
                          Stream);
RSNN_INSTANTIATE(float)
RSNN_INSTANTIATE(double)
#undef RSNN_INSTANTIATE

}  // namespace rsnn::kernels::cuda
