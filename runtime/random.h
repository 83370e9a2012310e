// Fill tensors with counter-based random numbers (see philox.h). Element i of the tensor
// (flat, row-major) gets the number for (seed, stream, i), on either backend and any
// thread count, so the same call always gives the same tensor.
#pragma once
#include <cstdint>

#include "runtime/cuda_entry.h"
#include "runtime/tensor.h"

namespace rsnn {

// float32/float64 tensors: uniform on (lo, hi).
void fill_uniform(Tensor& t, uint64_t seed, uint64_t stream, double lo, double hi);
// float32/float64 tensors: normal with the given mean and standard deviation.
void fill_normal(Tensor& t, uint64_t seed, uint64_t stream, double mean, double stddev);
// float32/float64/uint8 tensors: 1 with probability p, else 0.
void fill_bernoulli(Tensor& t, uint64_t seed, uint64_t stream, double p);

namespace detail {
// CUDA halves (random.cu); `kind` 0 uniform, 1 normal, 2 bernoulli.
RSNN_CUDA_ENTRY("random fill",
                void fill_random_cuda(Tensor& t, int kind, uint64_t seed, uint64_t stream, double a,
                                      double b));
}  // namespace detail

}  // namespace rsnn
