#include "kernels/adam.h"
#include "runtime/cuda_check.h"

namespace rsnn::kernels::cuda {

namespace {
template <class T, bool kDecoupled, bool kAmsgrad>
__global__ void adam_kernel(T* __restrict__ param, const T* __restrict__ grad, T* __restrict__ m,
                            T* __restrict__ v, T* __restrict__ vmax, int64_t n,
                            const AdamCoeffs<T> c) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    T p = param[i], mi = m[i], vi = v[i];
    T vmaxi = kAmsgrad ? vmax[i] : T(0);
    adam_element(p, grad[i], mi, vi, vmaxi, c, kDecoupled, kAmsgrad);
    param[i] = p;
    m[i] = mi;
    v[i] = vi;
    if (kAmsgrad) vmax[i] = vmaxi;
  }
}

template <class T>
void launch(T* param, const T* grad, T* m, T* v, T* vmax, int64_t n, const AdamCoeffs<T>& c,
            bool decoupled, bool amsgrad, cudaStream_t s) {
  const int threads = 256;
  const unsigned blocks =
      static_cast<unsigned>(std::min<int64_t>((n + threads - 1) / threads, 65535));
  if (decoupled) {
    if (amsgrad) adam_kernel<T, true, true><<<blocks, threads, 0, s>>>(param, grad, m, v, vmax, n, c);
    else adam_kernel<T, true, false><<<blocks, threads, 0, s>>>(param, grad, m, v, vmax, n, c);
  } else {
    if (amsgrad) adam_kernel<T, false, true><<<blocks, threads, 0, s>>>(param, grad, m, v, vmax, n, c);
    else adam_kernel<T, false, false><<<blocks, threads, 0, s>>>(param, grad, m, v, vmax, n, c);
  }
  RSNN_CUDA_CHECK_LAUNCH();
}
}  // namespace

void adam(void* param, const void* grad, void* m, void* v, void* vmax, int64_t n, DType t,
          int64_t step, const AdamConfig& cfg, Stream stream) {
  if (n == 0) return;
  if (stream.device.is_cuda()) RSNN_CUDA_CHECK(cudaSetDevice(stream.device.index));
  auto s = static_cast<cudaStream_t>(stream.handle);
  if (t == DType::f32)
    launch(static_cast<float*>(param), static_cast<const float*>(grad), static_cast<float*>(m),
           static_cast<float*>(v), static_cast<float*>(vmax), n, adam_coeffs<float>(cfg, step),
           cfg.decoupled, cfg.amsgrad, s);
  else if (t == DType::f64)
    launch(static_cast<double*>(param), static_cast<const double*>(grad), static_cast<double*>(m),
           static_cast<double*>(v), static_cast<double*>(vmax), n, adam_coeffs<double>(cfg, step),
           cfg.decoupled, cfg.amsgrad, s);
  else
    RSNN_FAIL("adam on CUDA: unsupported dtype ", dtype_name(t));
}

}  // namespace rsnn::kernels::cuda
