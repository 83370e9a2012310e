// Internal helpers of the optimized CPU kernels (OpenMP). Not part of the public API.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace rsnn::kernels::cpu_detail {

// Loops over fewer elements than this stay serial: starting threads costs more than the
// work (about 10 us of thread wake-up vs ~1 ns per element).
constexpr int64_t kParallelMin = 32768;

// dst[j] = (accumulate ? dst[j] : 0) + sum over o < outer of f(o, j), for j < inner.
// Wide rows are split by columns (each thread owns a block of dst); narrow rows by row
// ranges with one partial row per thread, added in thread order (deterministic for a given
// thread count).
template <class T, class F>
void colsum_into(T* dst, int64_t outer, int64_t inner, bool accumulate, F f) {
  if (inner == 0) return;
  const int threads = omp_get_max_threads();
  if (outer * inner <= kParallelMin || threads == 1) {
    if (!accumulate) std::fill(dst, dst + inner, T(0));
    for (int64_t o = 0; o < outer; ++o) {
#pragma omp simd
      for (int64_t j = 0; j < inner; ++j) dst[j] += f(o, j);
    }
    return;
  }
  if (inner >= 256 * int64_t(threads)) {
    const int64_t block = 256;
    const int64_t blocks = (inner + block - 1) / block;
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t j0 = b * block, j1 = std::min(inner, j0 + block);
      if (!accumulate) std::fill(dst + j0, dst + j1, T(0));
      for (int64_t o = 0; o < outer; ++o) {
#pragma omp simd
        for (int64_t j = j0; j < j1; ++j) dst[j] += f(o, j);
      }
    }
    return;
  }
  std::vector<T> partial(static_cast<size_t>(threads * inner), T(0));
#pragma omp parallel num_threads(threads)
  {
    T* p = partial.data() + omp_get_thread_num() * inner;
#pragma omp for schedule(static)
    for (int64_t o = 0; o < outer; ++o) {
#pragma omp simd
      for (int64_t j = 0; j < inner; ++j) p[j] += f(o, j);
    }
  }
  if (!accumulate) std::fill(dst, dst + inner, T(0));
  for (int t = 0; t < threads; ++t) {
    const T* p = partial.data() + t * inner;
    for (int64_t j = 0; j < inner; ++j) dst[j] += p[j];
  }
}

}  // namespace rsnn::kernels::cpu_detail
