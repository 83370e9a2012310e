// Many Philox4x32-10 blocks at once on the CPU (runtime/philox.h has the generator). Lane j
// of `count` is philox::block(seed, stream0 + j * stream_step, index0 + j * index_step), and
// its four words go to out[k * stride + j], k = 0..3 (word-major, ready for vector loops).
// Consecutive blocks of one stream (index_step 1) or one block of consecutive streams
// (stream_step 1, e.g. one stream per neuron) are the two uses. On a CPU with AVX2 the ten
// rounds run on four lanes per register; Philox is integer arithmetic, so every path gives
// philox::block's bits.
#pragma once
#include <cstdint>

namespace rsnn::philox {

void blocks(uint64_t seed, uint64_t stream0, uint64_t stream_step, uint64_t index0, uint64_t index_step,
            int64_t count, uint32_t* out, int64_t stride);
// The same, block by block through philox::block (the reference of the vector path).
void blocks_portable(uint64_t seed, uint64_t stream0, uint64_t stream_step, uint64_t index0,
                     uint64_t index_step, int64_t count, uint32_t* out, int64_t stride);

}  // namespace rsnn::philox
