// Vectorized CPU run of the LIF noise generator (rate_lif_noise.h). Blocks are processed in
// chunks of 16 counters laid out word by word: the ten Philox rounds run through
// runtime/philox_batch.h (AVX2 registers when the CPU has them, else block by block),
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
#include "runtime/philox_batch.h"

namespace rsnn::kernels::rate_lif::noise {

namespace {

constexpr int kChunk = 16;  // blocks per chunk (64 normals)

// The four Philox words of kChunk consecutive blocks, word-major: w[k][j] = word k of block j.
struct ChunkWords {
  alignas(32) uint32_t w[4][kChunk];
};

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
  ChunkWords cw;
  for (int64_t j0 = 0; j0 < nblk; j0 += kChunk) {
    const uint64_t b0 = first_blk + uint64_t(j0);
    if (avx2)
      philox::blocks(seed, stream, 0, b0, 1, kChunk, &cw.w[0][0], kChunk);
    else
      philox::blocks_portable(seed, stream, 0, b0, 1, kChunk, &cw.w[0][0], kChunk);
    box_muller_chunk(cw, int(std::min<int64_t>(kChunk, nblk - j0)), out + 4 * j0);
  }
}
}  // namespace

void normal4_run(uint64_t seed, uint64_t stream, uint64_t first_blk, int64_t nblk, float* out) {
  run(seed, stream, first_blk, nblk, out, true);
}

void normal4_run_portable(uint64_t seed, uint64_t stream, uint64_t first_blk, int64_t nblk, float* out) {
  run(seed, stream, first_blk, nblk, out, false);
}

}  // namespace rsnn::kernels::rate_lif::noise

