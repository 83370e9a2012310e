#include "kernels/loss.h"

#include <vector>

#include "kernels/dense_check.h"
#include "kernels/dense_cpu.h"

namespace rsnn::kernels {

using cpu_detail::kParallelMin;

void check_labels_ref(const int64_t* labels, int64_t M, int64_t C, const char* what) {
  for (int64_t m = 0; m < M; ++m)
    RSNN_CHECK(labels[m] >= 0 && labels[m] < C, what, ": label ", labels[m], " of row ", m,
               " is outside [0, ", C, ") (", C, " classes)");
}

template <class T>
void cross_entropy_forward_cpu(T* loss, T* lse, const T* logits, const int64_t* labels, int64_t M,
                               int64_t C) {
  check_labels_ref(labels, M, C, "cross_entropy_forward");  // before the threads: no throw inside
  // per-row terms first (in parallel), then their sum in fixed chunks (cpu_detail::chunked_sum):
  // the same loss for any thread count
  std::vector<T> terms(static_cast<size_t>(M));
#pragma omp parallel for schedule(static) if (M * C > kParallelMin)
  for (int64_t m = 0; m < M; ++m) {
    const T* row = logits + m * C;
    T mx = row[0];
#pragma omp simd reduction(max : mx)
    for (int64_t c = 0; c < C; ++c) mx = row[c] > mx ? row[c] : mx;
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t c = 0; c < C; ++c) s += math::exp_(row[c] - mx);
    const T l = mx + math::log_(s);
    if (lse) lse[m] = l;
    terms[m] = l - row[labels[m]];
  }
  loss[0] = cpu_detail::chunked_sum<T>(M, [&](int64_t m) { return terms[m]; }) / T(M);
}

template <class T>
void cross_entropy_backward_cpu(T* dlogits, const T* dloss, const T* logits, const T* lse,
                                const int64_t* labels, int64_t M, int64_t C) {
  check_labels_ref(labels, M, C, "cross_entropy_backward");
  const T scale = dloss[0] / T(M);
#pragma omp parallel for schedule(static) if (M * C > kParallelMin)
  for (int64_t m = 0; m < M; ++m) {
    const T* row = logits + m * C;
    T* d = dlogits + m * C;
    const T l = lse[m];
    const int64_t label = labels[m];
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) d[c] += cross_entropy_grad(row[c], l, c == label, scale);
  }
}

template <class T>
void mse_forward_cpu(T* loss, const T* a, const T* b, int64_t n) {
  loss[0] = cpu_detail::chunked_sum<T>(n, [a, b](int64_t i) { return squared_error(a[i], b[i]); }) / T(n);
}

template <class T>
void mse_backward_cpu(T* da, T* db, const T* dloss, const T* a, const T* b, int64_t n) {
  const T scale = dloss[0] / T(n);
  if (da) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) da[i] += squared_error_grad(a[i], b[i], scale);
  }
  if (db) {
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
    for (int64_t i = 0; i < n; ++i) db[i] -= squared_error_grad(a[i], b[i], scale);
  }
}

#define RSNN_INSTANTIATE(T)                                                                       \
  template void cross_entropy_forward_cpu<T>(T*, T*, const T*, const int64_t*, int64_t, int64_t); \
  template void cross_entropy_backward_cpu<T>(T*, const T*, const T*, const T*, const int64_t*,   \
                                              int64_t, int64_t);                                  \
  template void mse_forward_cpu<T>(T*, const T*, const T*, int64_t);                              \
  template void mse_backward_cpu<T>(T*, T*, const T*, const T*, const T*, int64_t);
RSNN_INSTANTIATE(float)
RSNN_INSTANTIATE(double)
#undef RSNN_INSTANTIATE

// ---- Tensor level ----------------------------------------------------------------------

namespace {
// Checks logits (M, C) and labels (M); returns M and C. Labels are validated on the host.
void check_ce_args(const Tensor& logits, const Tensor& labels, const std::string& what, int64_t& M,
                   int64_t& C) {
  detail::check_float(logits, what, "logits");
  RSNN_CHECK(logits.ndim() == 2, what, ": logits must be (M, C), got ", logits.shape_str());
  M = logits.size(0);
  C = logits.size(1);
  RSNN_CHECK(M > 0 && C > 0, what, ": logits ", logits.shape_str(), " are empty");
  RSNN_CHECK(labels.defined(), what, ": labels are undefined");
  check_dtype(labels, DType::i64, what + " labels");
  check_shape(labels, {M}, what + " labels");
  check_same_device(labels, logits, what + " (labels and logits)");
  const Tensor host = labels.to(Device::cpu());
  check_labels_ref(host.data<int64_t>(), M, C, what.c_str());
}
}  // namespace

void cross_entropy_forward(Tensor& loss, Tensor* lse, const Tensor& logits, const Tensor& labels,
                           Stream stream) {
  const std::string what = "cross_entropy_forward";
  int64_t M, C;
  check_ce_args(logits, labels, what, M, C);
  detail::prepare_out(loss, {1}, logits.dtype(), logits.device(), what, "loss");
  if (lse) detail::prepare_out(*lse, {M}, logits.dtype(), logits.device(), what, "lse");
  const Stream s = detail::stream_on(logits.device(), stream, what);
  dispatch_float(logits.dtype(), what.c_str(), [&](auto tag) {
    using T = decltype(tag);
    T* l = lse ? lse->data<T>() : nullptr;
    if (logits.device().is_cuda())
      cuda::cross_entropy_forward<T>(loss.data<T>(), l, logits.data<T>(), labels.data<int64_t>(), M,
                                     C, s);
    else
      cross_entropy_forward_cpu<T>(loss.data<T>(), l, logits.data<T>(), labels.data<int64_t>(), M,
                                   C);
    return 0;
  });
}

void cross_entropy_backward(Tensor& dlogits, const Tensor& dloss, const Tensor& logits,
                            const Tensor& lse, const Tensor& labels, Stream stream) {
  const std::string what = "cross_entropy_backward";
  int64_t M, C;
  check_ce_args(logits, labels, what, M, C);
  detail::check_like(dloss, logits, what, "dloss", "logits");
  RSNN_CHECK(dloss.numel() == 1, what, ": dloss must hold one value, got ", dloss.describe());
  detail::check_like(lse, logits, what, "lse", "logits");
  check_shape(lse, {M}, what + " lse");
  detail::prepare_accum(dlogits, logits.shape(), logits.dtype(), logits.device(), what, "dlogits");
  const Stream s = detail::stream_on(logits.device(), stream, what);
  dispatch_float(logits.dtype(), what.c_str(), [&](auto tag) {
    using T = decltype(tag);
    if (logits.device().is_cuda())
      cuda::cross_entropy_backward<T>(dlogits.data<T>(), dloss.data<T>(), logits.data<T>(),
                                      lse.data<T>(), labels.data<int64_t>(), M, C, s);
    else
      cross_entropy_backward_cpu<T>(dlogits.data<T>(), dloss.data<T>(), logits.data<T>(),
                                    lse.data<T>(), labels.data<int64_t>(), M, C);
    return 0;
  });
}

void mse_forward(Tensor& loss, const Tensor& a, const Tensor& b, Stream stream) {
  const std::string what = "mse_forward";
  detail::check_float(a, what, "a");
  detail::check_like(b, a, what, "b", "a");
  check_shape(b, a.shape(), what + " b");
  RSNN_CHECK(a.numel() > 0, what, ": empty inputs ", a.describe());
  detail::prepare_out(loss, {1}, a.dtype(), a.device(), what, "loss");
  const Stream s = detail::stream_on(a.device(), stream, what);
  dispatch_float(a.dtype(), what.c_str(), [&](auto tag) {
    using T = decltype(tag);
    if (a.device().is_cuda())
      cuda::mse_forward<T>(loss.data<T>(), a.data<T>(), b.data<T>(), a.numel(), s);
    else
      mse_forward_cpu<T>(loss.data<T>(), a.data<T>(), b.data<T>(), a.numel());
    return 0;
  });
}

void mse_backward(Tensor* da, Tensor* db, const Tensor& dloss, const Tensor& a, const Tensor& b,
                  Stream stream) {
  const std::string what = "mse_backward";
  detail::check_float(a, what, "a");
  detail::check_like(b, a, what, "b", "a");
  check_shape(b, a.shape(), what + " b");
  detail::check_like(dloss, a, what, "dloss", "a");
  RSNN_CHECK(dloss.numel() == 1, what, ": dloss must hold one value, got ", dloss.describe());
  RSNN_CHECK(a.numel() > 0, what, ": empty inputs ", a.describe());
  if (da) detail::prepare_accum(*da, a.shape(), a.dtype(), a.device(), what, "da");
  if (db) detail::prepare_accum(*db, a.shape(), a.dtype(), a.device(), what, "db");
  const Stream s = detail::stream_on(a.device(), stream, what);
  dispatch_float(a.dtype(), what.c_str(), [&](auto tag) {
    using T = decltype(tag);
    T* ga = da ? da->data<T>() : nullptr;
    T* gb = db ? db->data<T>() : nullptr;
    if (a.device().is_cuda())
      cuda::mse_backward<T>(ga, gb, dloss.data<T>(), a.data<T>(), b.data<T>(), a.numel(), s);
    else
      mse_backward_cpu<T>(ga, gb, dloss.data<T>(), a.data<T>(), b.data<T>(), a.numel());
    return 0;
  });
}

}  // namespace rsnn::kernels
