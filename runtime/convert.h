// Element-wise dtype conversion and fill on host memory (used by Tensor and the readers).
#pragma once
#include <cstddef>

#include "runtime/dtype.h"

namespace rsnn {
void convert_elements(void* dst, DType dst_type, const void* src, DType src_type, size_t n);
void fill_elements(void* dst, DType type, size_t n, double value);
}  // namespace rsnn
