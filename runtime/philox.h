// Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11). A number is a pure
// function of (seed, stream, index), so any thread on either backend computes the same
// value for the same triple: results do not depend on thread count, launch shape or the
// order in which elements are visited.
//
// Counter layout: ctr = {block lo, block hi, stream lo, stream hi}, key = {seed lo, seed hi};
// one block yields four 32-bit words, so element `index` uses word index % 4 of block index / 4.
#pragma once
#include <cmath>
#include <cstdint>

#include "runtime/hd.h"

namespace rsnn::philox {

struct Words {
  uint32_t v[4];
};

RSNN_HD uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// The raw generator: ten rounds on a 128-bit counter with a 64-bit key.
RSNN_HD Words philox4x32_10(Words ctr, uint32_t k0, uint32_t k1) {
  const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    const uint32_t lo0 = mulhilo(M0, ctr.v[0], &hi0);
    const uint32_t lo1 = mulhilo(M1, ctr.v[2], &hi1);
    Words n;
    n.v[0] = hi1 ^ ctr.v[1] ^ k0;
    n.v[1] = lo1;
    n.v[2] = hi0 ^ ctr.v[3] ^ k1;
    n.v[3] = lo0;
    ctr = n;
    k0 += W0;
    k1 += W1;
  }
  return ctr;
}

RSNN_HD Words block(uint64_t seed, uint64_t stream, uint64_t blk) {
  Words c;
  c.v[0] = static_cast<uint32_t>(blk);
  c.v[1] = static_cast<uint32_t>(blk >> 32);
  c.v[2] = static_cast<uint32_t>(stream);
  c.v[3] = static_cast<uint32_t>(stream >> 32);
  return philox4x32_10(c, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

RSNN_HD uint32_t u32(uint64_t seed, uint64_t stream, uint64_t index) {
  return block(seed, stream, index >> 2).v[index & 3];
}

// 24 random bits mapped to the open interval (0, 1): never 0, never 1.
RSNN_HD float to_unit_float(uint32_t x) {
  return (static_cast<float>(x >> 8) + 0.5f) * (1.0f / 16777216.0f);
}
// 53 random bits from two words mapped to (0, 1).
RSNN_HD double to_unit_double(uint32_t a, uint32_t b) {
  const uint64_t m = (static_cast<uint64_t>(a) << 21) ^ (static_cast<uint64_t>(b) >> 11);
  return (static_cast<double>(m & ((uint64_t(1) << 53) - 1)) + 0.5) * (1.0 / 9007199254740992.0);
}

// Uniform on (0, 1), float precision: element `index` of stream `stream`.
RSNN_HD float uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  return to_unit_float(u32(seed, stream, index));
}

// Uniform on (0, 1), double precision: uses two words, so index i takes words 2i, 2i+1.
RSNN_HD double uniform_f64(uint64_t seed, uint64_t stream, uint64_t index) {
  const Words w = block(seed, stream, index >> 1);
  const int k = static_cast<int>(index & 1) * 2;
  return to_unit_double(w.v[k], w.v[k + 1]);
}

// Standard normal by Box-Muller: element `index` uses all four words of block `index`.
RSNN_HD double normal(uint64_t seed, uint64_t stream, uint64_t index) {
  const Words w = block(seed, stream, index);
  const double u1 = to_unit_double(w.v[0], w.v[1]);
  const double u2 = to_unit_double(w.v[2], w.v[3]);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

// Bernoulli(p): 1 with probability p (float-resolution uniform, exact for p = 0 and 1).
RSNN_HD bool bernoulli(uint64_t seed, uint64_t stream, uint64_t index, float p) {
  return uniform(seed, stream, index) < p;
}

}  // namespace rsnn::philox
