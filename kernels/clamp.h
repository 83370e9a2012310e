// In-place clamp: x = min(max(x, lo), hi) element-wise, for float32/float64 tensors.
// NaN stays NaN (as torch.clamp). Used by optimizer post-step hooks to keep weights in a
// range (e.g. [0, 1] for probabilities, >= 0 for Dale's-law magnitudes).
#pragma once
#include <cstdint>

#include "runtime/cuda_entry.h"
#include "runtime/hd.h"
#include "runtime/tensor.h"

namespace rsnn::kernels {

// The per-element body both backends run. Comparisons with NaN are false, so NaN passes.
template <class T>
RSNN_HD T clamp_element(T x, T lo, T hi) {
  return x < lo ? lo : (x > hi ? hi : x);
}

// CPU reference: one plain loop. x: n values.
template <class T>
void clamp_ref(T* x, int64_t n, T lo, T hi) {
  for (int64_t i = 0; i < n; ++i) x[i] = clamp_element(x[i], lo, hi);
}

// Optimized CPU (OpenMP threads + SIMD); same arguments as clamp_ref.
void clamp_cpu(float* x, int64_t n, float lo, float hi);
void clamp_cpu(double* x, int64_t n, double lo, double hi);

// Clamps t in place to [lo, hi] (lo <= hi; either may be +-infinity for a one-sided clamp).
// The bounds are rounded to t's dtype.
void clamp_(Tensor& t, double lo, double hi, Stream stream = Stream{});

namespace cuda {
// CUDA launcher: same argument order as clamp_cpu; x lives on stream.device.
RSNN_CUDA_ENTRY("clamp",
                void clamp(void* x, int64_t n, DType t, double lo, double hi, Stream stream));
}  // namespace cuda

}  // namespace rsnn::kernels
