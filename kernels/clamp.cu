#include "kernels/clamp.h"
#include "runtime/cuda_check.h"

namespace rsnn::kernels::cuda {

namespace {
template <class T>
__global__ void clamp_kernel(T* x, int64_t n, T lo, T hi) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    x[i] = clamp_element(x[i], lo, hi);
}
}  // namespace

void clamp(void* x, int64_t n, DType t, double lo, double hi, Stream stream) {
  if (n == 0) return;
  if (stream.device.is_cuda()) RSNN_CUDA_CHECK(cudaSetDevice(stream.device.index));
  const int threads = 256;
  const unsigned blocks =
      static_cast<unsigned>(std::min<int64_t>((n + threads - 1) / threads, 65535));
  auto s = static_cast<cudaStream_t>(stream.handle);
  if (t == DType::f32)
    clamp_kernel<<<blocks, threads, 0, s>>>(static_cast<float*>(x), n, float(lo), float(hi));
  else if (t == DType::f64)
    clamp_kernel<<<blocks, threads, 0, s>>>(static_cast<double*>(x), n, lo, hi);
  else
    RSNN_FAIL("clamp on CUDA: unsupported dtype ", dtype_name(t));
  RSNN_CUDA_CHECK_LAUNCH();
}

}  // namespace rsnn::kernels::cuda
