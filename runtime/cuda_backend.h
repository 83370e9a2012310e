// Internal: the CUDA half of device.cpp, implemented in cuda_backend.cu. Only called when
// RSNN_WITH_CUDA is defined.
#pragma once
#include <cstddef>
#include <string>

namespace rsnn::cuda_backend {
int device_count(std::string* reason);  // 0 and a reason when CUDA cannot be used
void* malloc_on(int device, size_t bytes);
void free_on(int device, void* p);
// kind: 0 h2d, 1 d2h, 2 d2d, 3 h2h
void memcpy_async(void* dst, const void* src, size_t bytes, int kind, void* stream);
void memset_async(void* p, size_t bytes, void* stream, int device);
void* stream_create(int device);
void stream_destroy(void* s);
void stream_sync(void* s);
void device_sync(int device);
void set_device(int device);
}  // namespace rsnn::cuda_backend
