// dst += src, element-wise, for float32/float64 tensors of the same shape on one device.
// Used by the autograd engine to add gradient contributions.
#pragma once
#include "runtime/cuda_entry.h"
#include "runtime/tensor.h"

namespace rsnn::kernels {

// CPU reference: one plain loop. dst, src: n values.
template <class T>
void accumulate_ref(T* dst, const T* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

// Dispatches on device and dtype; checks shapes, dtypes and devices.
void accumulate_(Tensor& dst, const Tensor& src, Stream stream = Stream{});

namespace cuda {
RSNN_CUDA_ENTRY("accumulate",
                void accumulate(void* dst, const void* src, int64_t n, DType t, Stream stream));
}

}  // namespace rsnn::kernels
