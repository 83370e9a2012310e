#include "runtime/cuda_check.h"
#include "runtime/random.h"
#include "runtime/random_fill.h"

namespace rsnn::detail {

namespace {
template <class T>
__global__ void fill_kernel(T* p, int64_t n, int kind, uint64_t seed, uint64_t stream, double a,
                            double b) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    p[i] = random_element<T>(kind, seed, stream, static_cast<uint64_t>(i), a, b);
}

template <class T>
void launch(T* p, int64_t n, int kind, uint64_t seed, uint64_t stream, double a, double b) {
  if (n == 0) return;
  const int threads = 256;
  const int64_t blocks = std::min<int64_t>((n + threads - 1) / threads, 65535);
  fill_kernel<T><<<static_cast<unsigned>(blocks), threads>>>(p, n, kind, seed, stream, a, b);
  RSNN_CUDA_CHECK_LAUNCH();
}
}  // namespace

void fill_random_cuda(Tensor& t, int kind, uint64_t seed, uint64_t stream, double a, double b) {
  RSNN_CUDA_CHECK(cudaSetDevice(t.device().index));
  switch (t.dtype()) {
    case DType::f32: launch(t.data<float>(), t.numel(), kind, seed, stream, a, b); break;
    case DType::f64: launch(t.data<double>(), t.numel(), kind, seed, stream, a, b); break;
    case DType::u8: launch(t.data<uint8_t>(), t.numel(), kind, seed, stream, a, b); break;
    default: RSNN_FAIL("random fill on CUDA: unsupported dtype ", dtype_name(t.dtype()));
  }
}

}  // namespace rsnn::detail
