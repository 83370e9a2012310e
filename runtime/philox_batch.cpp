// Philox blocks in batches (contract in runtime/philox_batch.h). The AVX2 path keeps one
// block per 64-bit lane, its 32-bit words in the low halves: _mm256_mul_epu32 reads only the
// low halves and only the low halves are stored, so the high halves may hold anything. Four
// registers of four lanes are interleaved to hide the multiply latency.
#include "runtime/philox_batch.h"

#include "runtime/philox.h"

#if defined(__GNUC__) && defined(__x86_64__)
#define RSNN_PHILOX_AVX2 1
#include <immintrin.h>
#else
#define RSNN_PHILOX_AVX2 0
#endif

namespace rsnn::philox {

void blocks_portable(uint64_t seed, uint64_t stream0, uint64_t stream_step, uint64_t index0,
                     uint64_t index_step, int64_t count, uint32_t* out, int64_t stride) {
  for (int64_t j = 0; j < count; ++j) {
    const Words w = block(seed, stream0 + uint64_t(j) * stream_step, index0 + uint64_t(j) * index_step);
    for (int k = 0; k < 4; ++k) out[k * stride + j] = w.v[k];
  }
}

#if RSNN_PHILOX_AVX2
namespace {

constexpr int kGroups = 4;  // registers of 4 lanes per batch: 16 blocks

// Low 64 bits of a * b in each 64-bit lane.
__attribute__((target("avx2"), always_inline)) inline __m256i mul64(__m256i a, __m256i b) {
  const __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b),
                                         _mm256_mul_epu32(a, _mm256_srli_epi64(b, 32)));
  return _mm256_add_epi64(_mm256_mul_epu32(a, b), _mm256_slli_epi64(cross, 32));
}

// 16 lanes starting at lane j0.
__attribute__((target("avx2"))) void blocks16_avx2(uint64_t seed, uint64_t stream0, uint64_t stream_step,
                                                   uint64_t index0, uint64_t index_step, int64_t j0,
                                                   uint32_t* out, int64_t stride) {
  const __m256i m0 = _mm256_set1_epi64x(0xD2511F53), m1 = _mm256_set1_epi64x(0xCD9E8D57);
  const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
  const __m256i pick = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  const __m256i istep = _mm256_set1_epi64x(int64_t(index_step)), sstep = _mm256_set1_epi64x(int64_t(stream_step));
  __m256i c0[kGroups], c1[kGroups], c2[kGroups], c3[kGroups];
  for (int g = 0; g < kGroups; ++g) {
    // lane l of group g is j = j0 + 4 g + l: index0 + j * index_step (mod 2^64), likewise the stream
    const __m256i j = _mm256_add_epi64(_mm256_set1_epi64x(j0 + 4 * g), lane);
    const __m256i idx = _mm256_add_epi64(_mm256_set1_epi64x(int64_t(index0)), mul64(j, istep));
    const __m256i str = _mm256_add_epi64(_mm256_set1_epi64x(int64_t(stream0)), mul64(j, sstep));
    c0[g] = idx;
    c1[g] = _mm256_srli_epi64(idx, 32);
    c2[g] = str;
    c3[g] = _mm256_srli_epi64(str, 32);
  }
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    const __m256i kv0 = _mm256_set1_epi64x(k0), kv1 = _mm256_set1_epi64x(k1);
    for (int g = 0; g < kGroups; ++g) {
      const __m256i p0 = _mm256_mul_epu32(c0[g], m0), p1 = _mm256_mul_epu32(c2[g], m1);
      c0[g] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1[g]), kv0);
      c2[g] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3[g]), kv1);
      c1[g] = p1;
      c3[g] = p0;
    }
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  for (int g = 0; g < kGroups; ++g) {
    const __m256i* c[4] = {&c0[g], &c1[g], &c2[g], &c3[g]};
    for (int k = 0; k < 4; ++k)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k * stride + j0 + 4 * g),
                       _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(*c[k], pick)));
  }
}

bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}

}  // namespace
#endif

void blocks(uint64_t seed, uint64_t stream0, uint64_t stream_step, uint64_t index0, uint64_t index_step,
            int64_t count, uint32_t* out, int64_t stride) {
  int64_t j = 0;
#if RSNN_PHILOX_AVX2
  if (has_avx2())
    for (; j + 4 * kGroups <= count; j += 4 * kGroups)
      blocks16_avx2(seed, stream0, stream_step, index0, index_step, j, out, stride);
#endif
  // The tail (and every lane without AVX2): lane j of the batch, block by block.
  blocks_portable(seed, stream0 + uint64_t(j) * stream_step, stream_step, index0 + uint64_t(j) * index_step,
                  index_step, count - j, out + j, stride);
}

}  // namespace rsnn::philox
