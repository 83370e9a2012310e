#include <unordered_map>

#include "kernels/cublas_handle.h"
#include "runtime/cuda_check.h"

namespace rsnn::kernels::cuda {

cublasHandle_t cublas_handle(Stream stream) {
  RSNN_CHECK(stream.device.is_cuda(), "cublas_handle: stream is on ", stream.device.str());
  const int dev = stream.device.index;
  RSNN_CUDA_CHECK(cudaSetDevice(dev));
  thread_local std::unordered_map<int, cublasHandle_t> handles;
  auto it = handles.find(dev);
  if (it == handles.end()) {
    cublasHandle_t h = nullptr;
    RSNN_CUBLAS_CHECK(cublasCreate(&h));
    it = handles.emplace(dev, h).first;
  }
  RSNN_CUBLAS_CHECK(cublasSetStream(it->second, static_cast<cudaStream_t>(stream.handle)));
  return it->second;
}

}  // namespace rsnn::kernels::cuda
