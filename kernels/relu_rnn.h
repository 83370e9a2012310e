// A fused ReLU SimpleRNN (Keras SimpleRNN, activation 'relu') over all T steps, and its
// BPTT backward. Row-major, time-major, float32:
//
//   x [T, B, n_in], W_in [n_in, N], W_rec [N, N] (W_rec[i, j] = unit i -> unit j), b [N]
//   h_{-1} = 0;  h_t = relu(x_t W_in + h_{t-1} W_rec + b);   H [T, B, N] holds every h_t
//
// Backward gets dH [T, B, N] (gradient on every step; may be null) and/or dh_last [B, N]
// (gradient on h_{T-1}; may be null) and ACCUMULATES (+=) into dx [T, B, n_in], dW_in,
// dW_rec, db (each may be null = skipped). It needs only x, W_in (for dx), W_rec and H: the
// ReLU derivative 1[pre > 0] equals 1[h > 0]. It uses a [T, B, N] workspace for the
// pre-activation gradients so that the weight gradients are ONE GEMM each over all T*B rows.
//
// Three implementations with the same arguments: a plain-loop reference (the
// specification), the optimized CPU path (an sgemm per step through OpenBLAS), and the CUDA
// twin (cuBLAS + element-wise kernels on relu_rnn_math.h's functions).
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/relu_rnn_math.h"

#include "runtime/cuda_entry.h"
#include "runtime/device.h"
#include "runtime/tensor.h"

namespace rsnn::kernels {

struct ReluRnnDims {
  int64_t T = 0, B = 0, n_in = 0, N = 0;
};

// ---- CPU reference (plain loops, the specification; any float type) ---------------------

template <class T>
void relu_rnn_forward_ref(T* H, const T* x, const T* W_in, const T* W_rec,
                          const T* b, const ReluRnnDims& d) {
  const int64_t B = d.B, N = d.N, I = d.n_in;
  for (int64_t t = 0; t < d.T; ++t)
    for (int64_t s = 0; s < B; ++s)
      for (int64_t j = 0; j < N; ++j) {
        T acc = b[j];
        const T* xt = x + (t * B + s) * I;
        for (int64_t k = 0; k < I; ++k) acc += xt[k] * W_in[k * N + j];
        if (t > 0) {
          const T* hp = H + ((t - 1) * B + s) * N;
          for (int64_t i = 0; i < N; ++i) acc += hp[i] * W_rec[i * N + j];
        }
        H[(t * B + s) * N + j] = relu_rnn_act(acc);
      }
}

template <class T>
void relu_rnn_backward_ref(T* dx, T* dW_in, T* dW_rec, T* db, const T* dH,
                           const T* dh_last, const T* x, const T* W_in,
                           const T* W_rec, const T* H, const ReluRnnDims& d) {
  const int64_t Tn = d.T, B = d.B, N = d.N, I = d.n_in;
  std::vector<T> g(B * N, T(0)), dpre(B * N), gnext(B * N);
  if (dh_last) g.assign(dh_last, dh_last + B * N);
  for (int64_t t = Tn - 1; t >= 0; --t) {
    for (int64_t k = 0; k < B * N; ++k) {
      const T gt = g[k] + (dH ? dH[t * B * N + k] : T(0));
      dpre[k] = relu_rnn_dpre(gt, H[t * B * N + k]);
    }
    for (int64_t s = 0; s < B; ++s)
      for (int64_t j = 0; j < N; ++j) {
        const T dp = dpre[s * N + j];
        if (db) db[j] += dp;
        for (int64_t k = 0; k < I; ++k) {
          if (dW_in) dW_in[k * N + j] += x[(t * B + s) * I + k] * dp;
        }
        if (t > 0 && dW_rec)
          for (int64_t i = 0; i < N; ++i) dW_rec[i * N + j] += H[((t - 1) * B + s) * N + i] * dp;
      }
    if (dx)
      for (int64_t s = 0; s < B; ++s)
        for (int64_t k = 0; k < I; ++k) {
          T acc = 0;
          for (int64_t j = 0; j < N; ++j) acc += dpre[s * N + j] * W_in[k * N + j];
          dx[(t * B + s) * I + k] += acc;
        }
    for (int64_t s = 0; s < B; ++s)
      for (int64_t i = 0; i < N; ++i) {
        T acc = 0;
        for (int64_t j = 0; j < N; ++j) acc += dpre[s * N + j] * W_rec[i * N + j];
        gnext[s * N + i] = acc;
      }
    g.swap(gnext);
  }
}

// ---- optimized CPU (OpenBLAS; `work` holds T*B*N floats) --------------------------------
void relu_rnn_forward_cpu(float* H, const float* x, const float* W_in, const float* W_rec,
                          const float* b, const ReluRnnDims& d);
void relu_rnn_backward_cpu(float* dx, float* dW_in, float* dW_rec, float* db, const float* dH,
                           const float* dh_last, const float* x, const float* W_in,
                           const float* W_rec, const float* H, float* work,
                           const ReluRnnDims& d);

// ---- CUDA (device pointers, ordered on `stream`) ----------------------------------------
namespace cuda {
RSNN_CUDA_ENTRY("relu_rnn_forward",
                void relu_rnn_forward(float* H, const float* x, const float* W_in,
                                      const float* W_rec, const float* b, const ReluRnnDims& d,
                                      Stream stream));
RSNN_CUDA_ENTRY("relu_rnn_backward",
                void relu_rnn_backward(float* dx, float* dW_in, float* dW_rec, float* db,
                                       const float* dH, const float* dh_last, const float* x,
                                       const float* W_in, const float* W_rec, const float* H,
                                       float* work, const ReluRnnDims& d, Stream stream));
}  // namespace cuda

// ---- Tensor level: checks shapes/dtypes/devices, dispatches CPU or CUDA ------------------
// Returns H [T, B, N] on x's device.
Tensor relu_rnn_forward(const Tensor& x, const Tensor& W_in, const Tensor& W_rec,
                        const Tensor& b, Stream stream = Stream{});
// dH and dh_last may be undefined (no gradient there). Accumulates into the defined ones of
// *dx, *dW_in, *dW_rec, *db (undefined ones are allocated as zeros first; null = skipped).
void relu_rnn_backward(Tensor* dx, Tensor* dW_in, Tensor* dW_rec, Tensor* db, const Tensor& dH,
                       const Tensor& dh_last, const Tensor& x, const Tensor& W_in,
                       const Tensor& W_rec, const Tensor& H, Stream stream = Stream{});

}  // namespace rsnn::kernels
