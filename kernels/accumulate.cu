#include "kernels/accumulate.h"
#include "runtime/cuda_check.h"

namespace rsnn::kernels::cuda {

namespace {
template <class T>
__global__ void accumulate_kernel(T* dst, const T* src, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    dst[i] += src[i];
}
}  // namespace

void accumulate(void* dst, const void* src, int64_t n, DType t, Stream stream) {
  if (n == 0) return;
  const int threads = 256;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((n + threads - 1) / threads, 65535));
  auto s = static_cast<cudaStream_t>(stream.handle);
  if (t == DType::f32)
    accumulate_kernel<<<blocks, threads, 0, s>>>(static_cast<float*>(dst), static_cast<const float*>(src), n);
  else if (t == DType::f64)
    accumulate_kernel<<<blocks, threads, 0, s>>>(static_cast<double*>(dst), static_cast<const double*>(src), n);
  else
    RSNN_FAIL("accumulate on CUDA: unsupported dtype ", dtype_name(t));
  RSNN_CUDA_CHECK_LAUNCH();
}

}  // namespace rsnn::kernels::cuda
