#include "kernels/copy_columns.h"
#include "kernels/dense_cuda.cuh"

namespace rsnn::kernels::cuda {

void copy_columns(void* dst, int64_t dst_ld, const void* src, int64_t src_ld, int64_t rows,
                  int64_t width, size_t elem, Stream stream) {
  if (rows == 0 || width == 0) return;
  detail::use_device(stream);
  RSNN_CUDA_CHECK(cudaMemcpy2DAsync(dst, static_cast<size_t>(dst_ld) * elem, src,
                                    static_cast<size_t>(src_ld) * elem,
                                    static_cast<size_t>(width) * elem, static_cast<size_t>(rows),
                                    cudaMemcpyDeviceToDevice, detail::raw(stream)));
}

}  // namespace rsnn::kernels::cuda
