// Losses, each reduced to a mean: softmax cross-entropy over class logits with int64 labels
// (fused: the backward is softmax - onehot, recomputed from the logits and the saved
// per-row log-sum-exp), and mean-squared error. Backward kernels accumulate (+=); dloss is a
// one-element array on the same device (the gradient of the objective w.r.t. the loss).
#pragma once
#include <cstdint>

#include "kernels/dense_math.h"
#include "runtime/cuda_entry.h"
#include "runtime/tensor.h"

namespace rsnn::kernels {

// Throws naming `what`, the row and the value when a label is outside [0, C).
void check_labels_ref(const int64_t* labels, int64_t M, int64_t C, const char* what);

// ---- CPU reference (the specification) ------------------------------------------------

// logits (M, C), labels (M) in [0, C), M >= 1. lse (M) or null: log(sum_c exp(logits[m, c])).
// loss[0] = mean over m of lse[m] - logits[m, labels[m]].
template <class T>
void cross_entropy_forward_ref(T* loss, T* lse, const T* logits, const int64_t* labels, int64_t M,
                               int64_t C) {
  check_labels_ref(labels, M, C, "cross_entropy_forward_ref");
  T total = 0;
  for (int64_t m = 0; m < M; ++m) {
    const T* row = logits + m * C;
    T mx = row[0];
    for (int64_t c = 1; c < C; ++c) mx = math::max_(mx, row[c]);
    T s = 0;
    for (int64_t c = 0; c < C; ++c) s += math::exp_(row[c] - mx);
    const T l = mx + math::log_(s);
    if (lse) lse[m] = l;
    total += l - row[labels[m]];
  }
  loss[0] = total / T(M);
}

// dlogits (M, C) += dloss[0] / M * (softmax(logits) - onehot(labels)); lse from the forward.
template <class T>
void cross_entropy_backward_ref(T* dlogits, const T* dloss, const T* logits, const T* lse,
                                const int64_t* labels, int64_t M, int64_t C) {
  check_labels_ref(labels, M, C, "cross_entropy_backward_ref");
  const T scale = dloss[0] / T(M);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t c = 0; c < C; ++c)
      dlogits[m * C + c] += cross_entropy_grad(logits[m * C + c], lse[m], c == labels[m], scale);
}

// a, b (n), n >= 1: loss[0] = mean of (a - b)^2
template <class T>
void mse_forward_ref(T* loss, const T* a, const T* b, int64_t n) {
  T s = 0;
  for (int64_t i = 0; i < n; ++i) s += squared_error(a[i], b[i]);
  loss[0] = s / T(n);
}

// da += 2 dloss[0] / n * (a - b); db -= the same. Either gradient may be null.
template <class T>
void mse_backward_ref(T* da, T* db, const T* dloss, const T* a, const T* b, int64_t n) {
  const T scale = dloss[0] / T(n);
  for (int64_t i = 0; i < n; ++i) {
    const T g = squared_error_grad(a[i], b[i], scale);
    if (da) da[i] += g;
    if (db) db[i] -= g;
  }
}

// ---- optimized CPU (OpenMP + simd), same arguments -------------------------------------
template <class T>
void cross_entropy_forward_cpu(T* loss, T* lse, const T* logits, const int64_t* labels, int64_t M,
                               int64_t C);
template <class T>
void cross_entropy_backward_cpu(T* dlogits, const T* dloss, const T* logits, const T* lse,
                                const int64_t* labels, int64_t M, int64_t C);
template <class T>
void mse_forward_cpu(T* loss, const T* a, const T* b, int64_t n);
template <class T>
void mse_backward_cpu(T* da, T* db, const T* dloss, const T* a, const T* b, int64_t n);

// ---- CUDA, same arguments plus the stream; labels are not checked here (the Tensor-level
// function checks them on the host); a bad label gives a NaN loss ------------------------
namespace cuda {
template <class T>
RSNN_CUDA_ENTRY("cross_entropy_forward",
                void cross_entropy_forward(T* loss, T* lse, const T* logits, const int64_t* labels,
                                           int64_t M, int64_t C, Stream stream));
template <class T>
RSNN_CUDA_ENTRY("cross_entropy_backward",
                void cross_entropy_backward(T* dlogits, const T* dloss, const T* logits,
                                            const T* lse, const int64_t* labels, int64_t M,
                                            int64_t C, Stream stream));
template <class T>
RSNN_CUDA_ENTRY("mse_forward",
                void mse_forward(T* loss, const T* a, const T* b, int64_t n, Stream stream));
template <class T>
RSNN_CUDA_ENTRY("mse_backward",
                void mse_backward(T* da, T* db, const T* dloss, const T* a, const T* b, int64_t n,
                                  Stream stream));
}  // namespace cuda

// ---- Tensor level ----------------------------------------------------------------------
// logits (M, C) float, labels int64 (M) on the same device (checked to lie in [0, C); on
// CUDA that costs one copy of the labels to the host). loss [1]; *lse (M) or null.
void cross_entropy_forward(Tensor& loss, Tensor* lse, const Tensor& logits, const Tensor& labels,
                           Stream stream = Stream{});
// dlogits (M, C) accumulates (zero-filled first when undefined); dloss [1].
void cross_entropy_backward(Tensor& dlogits, const Tensor& dloss, const Tensor& logits,
                            const Tensor& lse, const Tensor& labels, Stream stream = Stream{});
// a, b of one shape (non-empty); loss [1].
void mse_forward(Tensor& loss, const Tensor& a, const Tensor& b, Stream stream = Stream{});
// *da, *db accumulate; null = skipped, undefined = zeros first.
void mse_backward(Tensor* da, Tensor* db, const Tensor& dloss, const Tensor& a, const Tensor& b,
                  Stream stream = Stream{});

}  // namespace rsnn::kernels
