#include "kernels/sgd.h"
#include "runtime/cuda_check.h"

namespace rsnn::kernels::cuda {

namespace {
template <class T, bool kMomentum, bool kNesterov>
__global__ void sgd_kernel(T* __restrict__ param, const T* __restrict__ grad, T* __restrict__ buf,
                           int64_t n, const SgdCoeffs<T> c, bool first) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    T p = param[i];
    T b = kMomentum ? buf[i] : T(0);
    sgd_element(p, grad[i], b, c, kMomentum, kNesterov, first);
    param[i] = p;
    if (kMomentum) buf[i] = b;
  }
}

template <class T>
void launch(T* param, const T* grad, T* buf, int64_t n, const SgdCoeffs<T>& c, bool use_momentum,
            bool nesterov, bool first, cudaStream_t s) {
  const int threads = 256;
  const unsigned blocks =
      static_cast<unsigned>(std::min<int64_t>((n + threads - 1) / threads, 65535));
  if (!use_momentum)
    sgd_kernel<T, false, false><<<blocks, threads, 0, s>>>(param, grad, buf, n, c, first);
  else if (nesterov)
    sgd_kernel<T, true, true><<<blocks, threads, 0, s>>>(param, grad, buf, n, c, first);
  else
    sgd_kernel<T, true, false><<<blocks, threads, 0, s>>>(param, grad, buf, n, c, first);
  RSNN_CUDA_CHECK_LAUNCH();
}
}  // namespace

void sgd(void* param, const void* grad, void* buf, int64_t n, DType t, const SgdConfig& cfg,
         bool first, Stream stream) {
  if (n == 0) return;
  if (stream.device.is_cuda()) RSNN_CUDA_CHECK(cudaSetDevice(stream.device.index));
  auto s = static_cast<cudaStream_t>(stream.handle);
  const bool use_momentum = cfg.momentum != 0;
  if (t == DType::f32)
    launch(static_cast<float*>(param), static_cast<const float*>(grad), static_cast<float*>(buf),
           n, sgd_coeffs<float>(cfg), use_momentum, cfg.nesterov, first, s);
  else if (t == DType::f64)
    launch(static_cast<double*>(param), static_cast<const double*>(grad),
           static_cast<double*>(buf), n, sgd_coeffs<double>(cfg), use_momentum, cfg.nesterov,
           first, s);
  else
    RSNN_FAIL("sgd on CUDA: unsupported dtype ", dtype_name(t));
}

}  // namespace rsnn::kernels::cuda
