// Internal: the per-element body shared by the CPU and CUDA random fills.
#pragma once
#include <cstdint>

#include "runtime/philox.h"

namespace rsnn::detail {

template <class T>
RSNN_HD T random_element(int kind, uint64_t seed, uint64_t stream, uint64_t i, double a, double b) {
  if (kind == 0) {
    if (sizeof(T) == 8) return static_cast<T>(a + (b - a) * philox::uniform_f64(seed, stream, i));
    return static_cast<T>(a + (b - a) * static_cast<double>(philox::uniform(seed, stream, i)));
  }
  if (kind == 1) return static_cast<T>(a + b * philox::normal(seed, stream, i));
  return static_cast<T>(philox::bernoulli(seed, stream, i, static_cast<float>(a)) ? 1 : 0);
}

}  // namespace rsnn::detail
