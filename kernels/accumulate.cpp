#include "kernels/accumulate.h"

namespace rsnn::kernels {

namespace {
template <class T>
void accumulate_cpu(T* dst, const T* src, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}
}  // namespace

void accumulate_(Tensor& dst, const Tensor& src, Stream stream) {
  RSNN_CHECK(dst.shape() == src.shape(), "accumulate: shapes differ (", dst.shape_str(), " += ",
             src.shape_str(), ")");
  RSNN_CHECK(dst.dtype() == src.dtype(), "accumulate: dtypes differ (", dtype_name(dst.dtype()),
             " += ", dtype_name(src.dtype()), ")");
  check_same_device(dst, src, "accumulate");
  if (dst.device().is_cuda()) {
    cuda::accumulate(dst.raw(), src.raw(), dst.numel(), dst.dtype(), stream);
    return;
  }
  dispatch_float(dst.dtype(), "accumulate", [&](auto tag) {
    using T = decltype(tag);
    accumulate_cpu(dst.data<T>(), src.data<T>(), dst.numel());
    return 0;
  });
}

}  // namespace rsnn::kernels
