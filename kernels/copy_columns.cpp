#include "kernels/copy_columns.h"

#include <cstring>

#include "kernels/dense_check.h"
#include "kernels/dense_cpu.h"

namespace rsnn::kernels {

void copy_columns_cpu(void* dst, int64_t dst_ld, const void* src, int64_t src_ld, int64_t rows,
                      int64_t width, size_t elem) {
  const size_t row_bytes = static_cast<size_t>(width) * elem;
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
#pragma omp parallel for schedule(static) if (rows * width > cpu_detail::kParallelMin)
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(d + static_cast<size_t>(r * dst_ld) * elem,
                s + static_cast<size_t>(r * src_ld) * elem, row_bytes);
}

void copy_columns(Tensor& dst, int64_t dst_col, const Tensor& src, int64_t src_col, int64_t width,
                  Stream stream) {
  const std::string what = "copy_columns";
  RSNN_CHECK(dst.defined() && src.defined(), what, ": undefined tensor");
  RSNN_CHECK(dst.ndim() >= 1 && src.ndim() >= 1, what, ": scalar tensors have no columns");
  RSNN_CHECK(dst.dtype() == src.dtype(), what, ": dtypes differ (", dst.describe(), " and ",
             src.describe(), ")");
  check_same_device(dst, src, what);
  const int64_t rows = detail::leading_numel(dst.shape(), dst.ndim() - 1);
  RSNN_CHECK(rows == detail::leading_numel(src.shape(), src.ndim() - 1), what, ": ", dst.describe(),
             " and ", src.describe(), " have different leading dims");
  const int64_t dst_ld = dst.size(-1), src_ld = src.size(-1);
  RSNN_CHECK(width >= 0 && dst_col >= 0 && src_col >= 0 && dst_col + width <= dst_ld &&
                 src_col + width <= src_ld,
             what, ": columns [", src_col, ", ", src_col + width, ") of ", src.describe(),
             " into [", dst_col, ", ", dst_col + width, ") of ", dst.describe(), " out of range");
  if (rows == 0 || width == 0) return;
  const size_t elem = dtype_size(dst.dtype());
  void* d = static_cast<unsigned char*>(dst.raw()) + static_cast<size_t>(dst_col) * elem;
  const void* s =
      static_cast<const unsigned char*>(src.raw()) + static_cast<size_t>(src_col) * elem;
  if (dst.device().is_cuda())
    cuda::copy_columns(d, dst_ld, s, src_ld, rows, width, elem,
                       detail::stream_on(dst.device(), stream, what));
  else
    copy_columns_cpu(d, dst_ld, s, src_ld, rows, width, elem);
}

}  // namespace rsnn::kernels
