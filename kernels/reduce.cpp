#include "kernels/reduce.h"

#include "kernels/dense_check.h"
#include "kernels/dense_cpu.h"

namespace rsnn::kernels {

using cpu_detail::kParallelMin;

template <class T>
void sum_all_cpu(T* out, const T* in, int64_t n) {
  out[0] = cpu_detail::chunked_sum<T>(n, [in](int64_t i) { return in[i]; });
}

template <class T>
void mean_all_cpu(T* out, const T* in, int64_t n) {
  sum_all_cpu(out, in, n);
  out[0] /= T(n);
}

template <class T>
void sum_leading_cpu(T* out, const T* in, int64_t outer, int64_t inner) {
  cpu_detail::colsum_into(out, outer, inner, false,
                          [in, inner](int64_t o, int64_t j) { return in[o * inner + j]; });
}

template <class T>
void sum_last_cpu(T* out, const T* in, int64_t outer, int64_t inner) {
#pragma omp parallel for schedule(static) if (outer * inner > kParallelMin)
  for (int64_t o = 0; o < outer; ++o) {
    const T* row = in + o * inner;
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < inner; ++j) s += row[j];
    out[o] = s;
  }
}

template <class T>
void max_last_cpu(T* out, int64_t* argmax, const T* in, int64_t outer, int64_t inner) {
#pragma omp parallel for schedule(static) if (outer * inner > kParallelMin)
  for (int64_t o = 0; o < outer; ++o) {
    const T* row = in + o * inner;
    T m = row[0];
    bool nan = false;
#pragma omp simd reduction(max : m) reduction(|| : nan)
    for (int64_t j = 0; j < inner; ++j) {
      m = row[j] > m ? row[j] : m;
      nan = nan || row[j] != row[j];
    }
    if (nan) {  // rare: the reference rule (first NaN wins)
      max_last_ref(out + o, argmax ? argmax + o : nullptr, row, 1, inner);
      continue;
    }
    out[o] = m;
    if (argmax) {
      int64_t j = 0;
      while (row[j] != m) ++j;
      argmax[o] = j;
    }
  }
}

template <class T>
void sum_all_backward_cpu(T* din, const T* dout, int64_t n, T scale) {
  const T g = scale * dout[0];
#pragma omp parallel for simd schedule(static) if (n > kParallelMin)
  for (int64_t i = 0; i < n; ++i) din[i] += g;
}

template <class T>
void sum_leading_backward_cpu(T* din, const T* dout, int64_t outer, int64_t inner) {
#pragma omp parallel for schedule(static) if (outer * inner > kParallelMin)
  for (int64_t o = 0; o < outer; ++o) {
    T* row = din + o * inner;
#pragma omp simd
    for (int64_t j = 0; j < inner; ++j) row[j] += dout[j];
  }
}

template <class T>
void sum_last_backward_cpu(T* din, const T* dout, int64_t outer, int64_t inner) {
#pragma omp parallel for schedule(static) if (outer * inner > kParallelMin)
  for (int64_t o = 0; o < outer; ++o) {
    T* row = din + o * inner;
    const T g = dout[o];
#pragma omp simd
    for (int64_t j = 0; j < inner; ++j) row[j] += g;
  }
}

#define RSNN_INSTANTIATE(T)                                                  \
  template void sum_all_cpu<T>(T*, const T*, int64_t);                       \
  template void mean_all_cpu<T>(T*, const T*, int64_t);                      \
  template void sum_leading_cpu<T>(T*, const T*, int64_t, int64_t);          \
  template void sum_last_cpu<T>(T*, const T*, int64_t, int64_t);             \
  template void max_last_cpu<T>(T*, int64_t*, const T*, int64_t, int64_t);   \
  template void sum_all_backward_cpu<T>(T*, const T*, int64_t, T);           \
  template void sum_leading_backward_cpu<T>(T*, const T*, int64_t, int64_t); \
  template void sum_last_backward_cpu<T>(T*, const T*, int64_t, int64_t);
RSNN_INSTANTIATE(float)
RSNN_INSTANTIATE(double)
#undef RSNN_INSTANTIATE

// ---- Tensor level ----------------------------------------------------------------------

namespace {
// Shape without its last dim; [1] for a 1-D shape.
Shape drop_last(const Shape& s) {
  Shape r(s.begin(), s.end() - 1);
  if (r.empty()) r = {1};
  return r;
}
// Run f(T{}, stream) on the tensor's float type.
template <class F>
void run(const Tensor& t, const std::string& what, Stream stream, F&& f) {
  const Stream s = detail::stream_on(t.device(), stream, what);
  dispatch_float(t.dtype(), what.c_str(), [&](auto tag) {
    f(tag, s);
    return 0;
  });
}
}  // namespace

void sum_all(Tensor& out, const Tensor& in, Stream stream) {
  const std::string what = "sum_all";
  detail::check_float(in, what, "in");
  detail::prepare_out(out, {1}, in.dtype(), in.device(), what, "out");
  run(in, what, stream, [&](auto tag, Stream s) {
    using T = decltype(tag);
    if (in.device().is_cuda())
      cuda::sum_all<T>(out.data<T>(), in.data<T>(), in.numel(), s);
    else
      sum_all_cpu<T>(out.data<T>(), in.data<T>(), in.numel());
  });
}

void mean_all(Tensor& out, const Tensor& in, Stream stream) {
  const std::string what = "mean_all";
  detail::check_float(in, what, "in");
  RSNN_CHECK(in.numel() > 0, what, ": the mean of an empty tensor ", in.describe());
  detail::prepare_out(out, {1}, in.dtype(), in.device(), what, "out");
  run(in, what, stream, [&](auto tag, Stream s) {
    using T = decltype(tag);
    if (in.device().is_cuda())
      cuda::mean_all<T>(out.data<T>(), in.data<T>(), in.numel(), s);
    else
      mean_all_cpu<T>(out.data<T>(), in.data<T>(), in.numel());
  });
}

void sum_leading(Tensor& out, const Tensor& in, int keep_dims, Stream stream) {
  const std::string what = "sum_leading";
  detail::check_float(in, what, "in");
  RSNN_CHECK(keep_dims >= 1 && keep_dims <= in.ndim(), what, ": keep_dims ", keep_dims,
             " out of range [1, ", in.ndim(), "] for ", in.describe());
  const int lead = in.ndim() - keep_dims;
  const Shape out_shape(in.shape().begin() + lead, in.shape().end());
  const int64_t outer = detail::leading_numel(in.shape(), lead), inner = shape_numel(out_shape);
  detail::prepare_out(out, out_shape, in.dtype(), in.device(), what, "out");
  run(in, what, stream, [&](auto tag, Stream s) {
    using T = decltype(tag);
    if (in.device().is_cuda())
      cuda::sum_leading<T>(out.data<T>(), in.data<T>(), outer, inner, s);
    else
      sum_leading_cpu<T>(out.data<T>(), in.data<T>(), outer, inner);
  });
}

void sum_last(Tensor& out, const Tensor& in, Stream stream) {
  const std::string what = "sum_last";
  detail::check_float(in, what, "in");
  RSNN_CHECK(in.ndim() >= 1, what, ": input is a scalar ", in.describe());
  const int64_t inner = in.size(-1), outer = detail::leading_numel(in.shape(), in.ndim() - 1);
  detail::prepare_out(out, drop_last(in.shape()), in.dtype(), in.device(), what, "out");
  run(in, what, stream, [&](auto tag, Stream s) {
    using T = decltype(tag);
    if (in.device().is_cuda())
      cuda::sum_last<T>(out.data<T>(), in.data<T>(), outer, inner, s);
    else
      sum_last_cpu<T>(out.data<T>(), in.data<T>(), outer, inner);
  });
}

void max_last(Tensor& out, Tensor* argmax, const Tensor& in, Stream stream) {
  const std::string what = "max_last";
  detail::check_float(in, what, "in");
  RSNN_CHECK(in.ndim() >= 1 && in.size(-1) > 0, what, ": needs a non-empty last dim, got ",
             in.describe());
  const int64_t inner = in.size(-1), outer = detail::leading_numel(in.shape(), in.ndim() - 1);
  const Shape out_shape = drop_last(in.shape());
  detail::prepare_out(out, out_shape, in.dtype(), in.device(), what, "out");
  if (argmax) detail::prepare_out(*argmax, out_shape, DType::i64, in.device(), what, "argmax");
  run(in, what, stream, [&](auto tag, Stream s) {
    using T = decltype(tag);
    int64_t* am = argmax ? argmax->data<int64_t>() : nullptr;
    if (in.device().is_cuda())
      cuda::max_last<T>(out.data<T>(), am, in.data<T>(), outer, inner, s);
    else
      max_last_cpu<T>(out.data<T>(), am, in.data<T>(), outer, inner);
  });
}

void sum_all_backward(Tensor& din, const Shape& in_shape, const Tensor& dout, double scale,
                      Stream stream) {
  const std::string what = "sum_all_backward";
  detail::check_float(dout, what, "dout");
  RSNN_CHECK(dout.numel() == 1, what, ": dout must hold one value, got ", dout.describe());
  detail::prepare_accum(din, in_shape, dout.dtype(), dout.device(), what, "din");
  run(dout, what, stream, [&](auto tag, Stream s) {
    using T = decltype(tag);
    if (dout.device().is_cuda())
      cuda::sum_all_backward<T>(din.data<T>(), dout.data<T>(), din.numel(), T(scale), s);
    else
      sum_all_backward_cpu<T>(din.data<T>(), dout.data<T>(), din.numel(), T(scale));
  });
}

void sum_leading_backward(Tensor& din, const Shape& in_shape, const Tensor& dout, Stream stream) {
  const std::string what = "sum_leading_backward";
  detail::check_float(dout, what, "dout");
  const int keep = dout.ndim();
  RSNN_CHECK(keep >= 1 && keep <= static_cast<int>(in_shape.size()) &&
                 Shape(in_shape.end() - keep, in_shape.end()) == dout.shape(),
             what, ": dout ", dout.shape_str(), " is not a suffix of the input shape ",
             shape_str(in_shape));
  const int64_t inner = dout.numel();
  const int64_t outer = inner ? shape_numel(in_shape) / inner : 0;
  detail::prepare_accum(din, in_shape, dout.dtype(), dout.device(), what, "din");
  run(dout, what, stream, [&](auto tag, Stream s) {
    using T = decltype(tag);
    if (dout.device().is_cuda())
      cuda::sum_leading_backward<T>(din.data<T>(), dout.data<T>(), outer, inner, s);
    else
      sum_leading_backward_cpu<T>(din.data<T>(), dout.data<T>(), outer, inner);
  });
}

void sum_last_backward(Tensor& din, const Shape& in_shape, const Tensor& dout, Stream stream) {
  const std::string what = "sum_last_backward";
  detail::check_float(dout, what, "dout");
  RSNN_CHECK(!in_shape.empty(), what, ": input shape is a scalar");
  check_shape(dout, drop_last(in_shape), what + " dout");
  const int64_t inner = in_shape.back();
  const int64_t outer = detail::leading_numel(in_shape, static_cast<int>(in_shape.size()) - 1);
  detail::prepare_accum(din, in_shape, dout.dtype(), dout.device(), what, "din");
  run(dout, what, stream, [&](auto tag, Stream s) {
    using T = decltype(tag);
    if (dout.device().is_cuda())
      cuda::sum_last_backward<T>(din.data<T>(), dout.data<T>(), outer, inner, s);
    else
      sum_last_backward_cpu<T>(din.data<T>(), dout.data<T>(), outer, inner);
  });
}

}  // namespace rsnn::kernels
