// runtime/philox_batch.h against philox::block, lane by lane: consecutive blocks of one
// stream and one block of consecutive streams, counts that leave a tail after the 16-lane
// vector batches, a stride wider than the count, and 64-bit wrap-around of the lane formula.
#include <gtest/gtest.h>

#include <vector>

#include "runtime/philox.h"
#include "runtime/philox_batch.h"

using namespace rsnn;

namespace {
void expect_lanes(uint64_t seed, uint64_t s0, uint64_t ss, uint64_t i0, uint64_t is, int64_t count) {
  const int64_t stride = count + 3;
  std::vector<uint32_t> fast(4 * stride, 7u), plain(4 * stride, 7u);
  philox::blocks(seed, s0, ss, i0, is, count, fast.data(), stride);
  philox::blocks_portable(seed, s0, ss, i0, is, count, plain.data(), stride);
  for (int64_t j = 0; j < count; ++j) {
    const philox::Words w = philox::block(seed, s0 + uint64_t(j) * ss, i0 + uint64_t(j) * is);
    for (int k = 0; k < 4; ++k) {
      ASSERT_EQ(fast[k * stride + j], w.v[k]) << "lane " << j << " word " << k << " count " << count;
      ASSERT_EQ(plain[k * stride + j], w.v[k]) << "lane " << j << " word " << k;
    }
  }
  for (int k = 0; k < 4; ++k)  // nothing written past the lanes
    for (int64_t j = count; j < stride; ++j) ASSERT_EQ(fast[k * stride + j], 7u);
}
}  // namespace

TEST(PhiloxBatch, EqualsBlockLaneByLane) {
  for (int64_t count : {0, 1, 15, 16, 17, 47, 100}) {
    expect_lanes(0x1234'5678'9ABCull, 99, 0, 5, 1, count);                // consecutive blocks
    expect_lanes(77, (uint64_t(0x6D63) << 48) | 1000, 1, 12345, 0, count);  // consecutive streams
    expect_lanes(3, ~uint64_t(0) - 5, 3, ~uint64_t(0) - 20, 0x1'0000'0001ull, count);  // wraps
  }
}
