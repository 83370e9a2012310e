#include "runtime/cuda_backend.h"
#include "runtime/cuda_check.h"

namespace rsnn::cuda_backend {

int device_count(std::string* reason) {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    // Any error here (no driver, driver too old, no device) means "no usable device".
    if (reason) *reason = cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error
    return 0;
  }
  if (n == 0 && reason) *reason = "no CUDA device found";
  return n;
}

void set_device(int device) { RSNN_CUDA_CHECK(cudaSetDevice(device)); }

void* malloc_on(int device, size_t bytes) {
  set_device(device);
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, bytes);
  if (err != cudaSuccess) {
    cudaGetLastError();
    RSNN_FAIL("CUDA out of memory: could not allocate ", bytes, " bytes on cuda:", device, " (",
              cudaGetErrorString(err), ")");
  }
  return p;
}

void free_on(int device, void* p) {
  set_device(device);
  RSNN_CUDA_CHECK(cudaFree(p));
}

void memcpy_async(void* dst, const void* src, size_t bytes, int kind, void* stream) {
  static const cudaMemcpyKind kinds[] = {cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost,
                                         cudaMemcpyDeviceToDevice, cudaMemcpyHostToHost};
  auto s = static_cast<cudaStream_t>(stream);
  RSNN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kinds[kind], s));
  // Host memory here is pageable: make the copy complete before returning so the caller
  // may reuse or free the host buffer.
  if (kind != 2) RSNN_CUDA_CHECK(cudaStreamSynchronize(s));
}

void memset_async(void* p, size_t bytes, void* stream, int device) {
  set_device(device);
  RSNN_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, static_cast<cudaStream_t>(stream)));
}

void* stream_create(int device) {
  set_device(device);
  cudaStream_t s;
  RSNN_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return s;
}

void stream_destroy(void* s) { RSNN_CUDA_CHECK(cudaStreamDestroy(static_cast<cudaStream_t>(s))); }
void stream_sync(void* s) { RSNN_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(s))); }
void device_sync(int device) {
  set_device(device);
  RSNN_CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace rsnn::cuda_backend
