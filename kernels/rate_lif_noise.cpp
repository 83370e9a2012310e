// Vectorized CPU run of the LIF noise generator (rate_lif_noise.h). Blocks are processed in
// chunks of 16 counters laid out word by word: the ten Philox rounds run on AVX2 integer
// registers when the CPU has them (else block by block through the portable philox::block),
// and the Box-Muller loop is auto-vectorized, compiled for baseline x86-64 and x86-64-v3
// (AVX2), picked at load time. Every path gives the same bits: Philox is integer arithmetic,
// the float arithmetic is never contracted into FMA (the pragma below), and +, -, *, / and
// sqrt round the same in SSE and AVX.
#if defined(__GNUC__) && !defined(__clang__)
// (clang contracts only within one expression: mul() and add() are separate calls there)
#pragma GCC optimize("fp-contract=off")
#endif

#include "kernels/rate_lif_noise.h"

#include <algorithm>

#include "runtime/multiversion.h"

#if RSNN_MULTIVERSION_X86
#include <immintrin.h>
#endif

namespace rsnn::kernels::rate_lif::noise {

namespace {

constexpr int kChunk = 16;  // blocks per chunk (64 normals)

// The four Philox words of kChunk consecutive blocks, word-major: w[k][j] = word k of block j.
struct ChunkWords {
  alignas(32) uint32_t w[4][kChunk];
};

// Portable: one philox::block per counter.
void philox_chunk_scalar(uint64_t seed, uint64_t stream, uint64_t blk0, ChunkWords& cw) {
  for (int j = 0; j < kChunk; ++j) {
    const philox::Words b = philox::block(seed, stream, blk0 + uint64_t(j));
    for (int k = 0; k < 4; ++k) cw.w[k][j] = b.v[k];
  }
}

#if RSNN_MULTIVERSION_X86
// AVX2: four counters per register, one per 64-bit lane whose low half holds the 32-bit word
// (the high half is don't-care: _mm256_mul_epu32 reads only the low halves, and the output
// takes only the low halves). A round is then 2 multiplies, 2 shifts and 4 xors per 4 blocks,
// the same arithmetic as philox::philox4x32_10.
__attribute__((target("avx2"))) void philox_chunk_avx2(uint64_t seed, uint64_t stream, uint64_t blk0,
                                                        ChunkWords& cw) {
  const __m256i m0 = _mm256_set1_epi64x(0xD2511F53), m1 = _mm256_set1_epi64x(0xCD9E8D57);
  const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
  const __m256i pick = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  constexpr int G = kChunk / 4;  // register groups, interleaved to hide the multiply latency
  __m256i c0[G], c1[G], c2[G], c3[G];
  for (int g = 0; g < G; ++g) {
    const __m256i b = _mm256_add_epi64(_mm256_set1_epi64x(int64_t(blk0 + uint64_t(4 * g))), lane);
    c0[g] = b;
    c1[g] = _mm256_srli_epi64(b, 32);
    c2[g] = _mm256_set1_epi64x(int64_t(uint32_t(stream)));
    c3[g] = _mm256_set1_epi64x(int64_t(stream >> 32));
  }
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    const __m256i kv0 = _mm256_set1_epi64x(k0), kv1 = _mm256_set1_epi64x(k1);
    for (int g = 0; g < G; ++g) {
      const __m256i p0 = _mm256_mul_epu32(c0[g], m0), p1 = _mm256_mul_epu32(c2[g], m1);
      c0[g] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1[g]), kv0);
      c2[g] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3[g]), kv1);
      c1[g] = p1;
      c3[g] = p0;
    }
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  for (int g = 0; g < G; ++g) {
    const __m256i* c[4] = {&c0[g], &c1[g], &c2[g], &c3[g]};
    for (int k = 0; k < 4; ++k)
      _mm_store_si128(reinterpret_cast<__m128i*>(&cw.w[k][4 * g]),
                      _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(*c[k], pick)));
  }
}

bool has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#endif

// Box-Muller on a chunk, written interleaved as normal4 lays it out: out[4 j + k].
RSNN_MULTIVERSION void box_muller_chunk(const ChunkWords& cw, int n, float* out) {
  alignas(32) float z0[kChunk], z1[kChunk], z2[kChunk], z3[kChunk];
#pragma omp simd
  for (int j = 0; j < kChunk; ++j) {
    box_muller(cw.w[0][j], cw.w[1][j], z0[j], z1[j]);
    box_muller(cw.w[2][j], cw.w[3][j], z2[j], z3[j]);
  }
#pragma omp simd
  for (int j = 0; j < n; ++j) {
    out[4 * j] = z0[j];
    out[4 * j + 1] = z1[j];
    out[4 * j + 2] = z2[j];
    out[4 * j + 3] = z3[j];
  }
}

void run(uint64_t seed, uint64_t stream, uint64_t first_blk, int64_t nblk, float* out, bool avx2) {
  (void)avx2;
  ChunkWords cw;
  for (int64_t j0 = 0; j0 < nblk; j0 += kChunk) {
    const uint64_t b0 = first_blk + uint64_t(j0);
#if RSNN_MULTIVERSION_X86
    if (avx2)
      philox_chunk_avx2(seed, stream, b0, cw);
    else
#endif
      philox_chunk_scalar(seed, stream, b0, cw);
    box_muller_chunk(cw, int(std::min<int64_t>(kChunk, nblk - j0)), out + 4 * j0);
  }
}
}  // namespace

void normal4_run(uint64_t seed, uint64_t stream, uint64_t first_blk, int64_t nblk, float* out) {
#if RSNN_MULTIVERSION_X86
  run(seed, stream, first_blk, nblk, out, has_avx2());
#else
  run(seed, stream, first_blk, nblk, out, false);
#endif
}

void normal4_run_portable(uint64_t seed, uint64_t stream, uint64_t first_blk, int64_t nblk, float* out) {
  run(seed, stream, first_blk, nblk, out, false);
}

}  // namespace rsnn::kernels::rate_lif::noise

