// One declaration per CUDA entry point. With the CUDA backend (RSNN_WITH_CUDA, which CMake
// sets on every rsnn target through rsnn_options) RSNN_CUDA_ENTRY is the declaration and the
// entry's .cu file defines it; without, it is an inline definition that throws "<name> on
// CUDA: rsnn was built without the CUDA backend". So no .cpp file keeps stand-ins whose
// signatures repeat the header's.
//   template <class T>
//   RSNN_CUDA_ENTRY("sum_all", void sum_all(T* out, const T* in, int64_t n, Stream stream));
#pragma once

namespace rsnn::detail {
[[noreturn]] void fail_without_cuda(const char* name);
}  // namespace rsnn::detail

#ifdef RSNN_WITH_CUDA
#define RSNN_CUDA_ENTRY(name, ...) __VA_ARGS__
#else
#define RSNN_CUDA_ENTRY(name, ...) \
  inline __VA_ARGS__ { ::rsnn::detail::fail_without_cuda(name); }
#endif
