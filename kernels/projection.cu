// CUDA half of the per-synapse value ops in projection.h (the structure is built on the CPU).
#include "kernels/projection.h"
#include "runtime/cuda_check.h"

namespace rsnn::detail {

namespace {
// values: n elements; clamped in place by clamp_value, the body the CPU loop runs.
template <class T>
__global__ void clamp_kernel(T* values, int64_t n, T lo, T hi) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    values[i] = clamp_value(values[i], lo, hi);
}
}  // namespace

void clamp_cuda(void* values, int64_t n, DType t, double lo, double hi, Stream stream) {
  if (n == 0) return;
  const int threads = 256;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((n + threads - 1) / threads, 65535));
  auto s = static_cast<cudaStream_t>(stream.handle);
  if (t == DType::f32)
    clamp_kernel<<<blocks, threads, 0, s>>>(static_cast<float*>(values), n, static_cast<float>(lo),
                                            static_cast<float>(hi));
  else if (t == DType::f64)
    clamp_kernel<<<blocks, threads, 0, s>>>(static_cast<double*>(values), n, lo, hi);
  else
    RSNN_FAIL("clamp_ on CUDA: unsupported dtype ", dtype_name(t));
  RSNN_CUDA_CHECK_LAUNCH();
}

}  // namespace rsnn::detail
