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

// Sums split into fixed chunks: the chunks, never the threads, decide the order of the
// additions, so every sum below has the same bits for any thread count (as the fused LIF op
// does): the threads only pick which chunks they add up.
constexpr int64_t kSumChunk = 4096;  // terms per chunk

// sum over i < n of f(i): chunks of kSumChunk terms (each in the order of `omp simd`, fixed
// by the compiled loop), the chunk sums added in chunk order.
template <class T, class F>
T chunked_sum(int64_t n, F f) {
  const int64_t chunks = (n + kSumChunk - 1) / kSumChunk;
  auto chunk = [&](int64_t c) {
    const int64_t i0 = c * kSumChunk, i1 = std::min(n, i0 + kSumChunk);
    T s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t i = i0; i < i1; ++i) s += f(i);
    return s;
  };
  if (chunks <= 1) return chunks == 1 ? T(0) + chunk(0) : T(0);
  std::vector<T> part(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(static) if (n > kParallelMin)
  for (int64_t c = 0; c < chunks; ++c) part[c] = chunk(c);
  T s = 0;
  for (int64_t c = 0; c < chunks; ++c) s += part[c];
  return s;
}

// dst[j] = (accumulate ? dst[j] : 0) + sum over o < outer of f(o, j), for j < inner. Small
// sums, and rows of at least 512 columns (split by columns: each thread owns a block of dst),
// add the rows in order; narrower rows are cut into chunks of rows, one partial row per
// chunk, the partials added in chunk order. Which of the three depends on the sizes only.
template <class T, class F>
void colsum_into(T* dst, int64_t outer, int64_t inner, bool accumulate, F f) {
  if (inner == 0) return;
  if (outer * inner <= kParallelMin) {
    if (!accumulate) std::fill(dst, dst + inner, T(0));
    for (int64_t o = 0; o < outer; ++o) {
#pragma omp simd
      for (int64_t j = 0; j < inner; ++j) dst[j] += f(o, j);
    }
    return;
  }
  if (inner >= 512) {
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
  const int64_t rows = std::max<int64_t>(1, 16 * kSumChunk / inner);  // ~64 K terms per chunk
  const int64_t chunks = (outer + rows - 1) / rows;
  std::vector<T> partial(static_cast<size_t>(chunks * inner), T(0));
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    T* p = partial.data() + c * inner;
    for (int64_t o = c * rows; o < std::min(outer, (c + 1) * rows); ++o) {
#pragma omp simd
      for (int64_t j = 0; j < inner; ++j) p[j] += f(o, j);
    }
  }
  if (!accumulate) std::fill(dst, dst + inner, T(0));
  for (int64_t c = 0; c < chunks; ++c) {
    const T* p = partial.data() + c * inner;
    for (int64_t j = 0; j < inner; ++j) dst[j] += p[j];
  }
}

}  // namespace rsnn::kernels::cpu_detail
