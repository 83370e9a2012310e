// The Gaussian voltage noise of the converted LIF network (spec rate-to-spiking.md §3.4:
// randn(N,1)/10 every step): one standard normal per neuron-step, 4 M per Go-NoGo trial, the
// bulk of a trial's arithmetic. The normals come from the same Philox4x32-10 blocks as
// models/rate/rng.h normal4 (element i of a stream = word i % 4 of block i / 4; Box-Muller on words
// (0, 1) and (2, 3)), but the transform is our own float arithmetic instead of libm:
//   log:  x = m 2^e with m in (sqrt(1/2), sqrt(2)], log m = 2 atanh(f / (2 + f)), f = m - 1,
//         odd series to s^9 (truncation < 1e-9); e ln2 with ln2 split in two floats.
//   sin/cos(2 pi u): quadrant q = round(4u), x = 2 pi (u - q/4) in [-pi/4, pi/4], Taylor
//         series to x^9 / x^10 (truncation < 1e-9), rotated by q quarter turns.
// Measured against double-precision libm (tests/test_rate_lif_noise.cpp): log 1.4e-7
// relative error at most over (0, 1] (bound tested: 2.5e-7); sin and cos 1e-7 absolute at
// most over [0, 1] (bound tested: 2e-7). The normals differ from a libm Box-Muller of the
// same uniforms (models/rate/rng.h normal4) by < 5e-6 and pass the same moment and KS checks.
//
// Bit-identical everywhere: only +, -, *, / and sqrt (all correctly rounded in IEEE float on
// both backends: nvcc's defaults -prec-div, -prec-sqrt, no --use_fast_math), never contracted
// into FMA (the CUDA path rounds every product and sum with __fmul_rn/__fadd_rn, the
// vectorized CPU run is compiled with fp-contract off, and baseline x86-64 host code has no
// FMA). So the vectorized CPU run (normal4_run), the scalar normal4 and the CUDA kernel draw
// the very same numbers for (seed, stream, index).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "runtime/cuda_entry.h"
#include "runtime/hd.h"
#include "runtime/philox.h"

namespace rsnn::kernels::rate_lif::noise {

// Products and sums rounded on their own (no FMA contraction on the GPU).
RSNN_HD float mul(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
RSNN_HD float add(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

// The bits of a float as uint32_t and back (memcpy: a register move on both sides).
template <class To, class From>
RSNN_HD To bit_cast32(From x) {
  static_assert(sizeof(To) == 4 && sizeof(From) == 4, "bit_cast32: 32-bit types");
  To y;
  memcpy(&y, &x, sizeof y);
  return y;
}

// 24 random bits to (0, 1]: (x >> 8 + 0.5) 2^-24, the value of philox::to_unit_float
// (x >> 8 < 2^24 converts exactly through int32, which vectorizes).
RSNN_HD float unit_float(uint32_t x) {
  return (float(int32_t(x >> 8)) + 0.5f) * (1.0f / 16777216.0f);
}

// Natural log of a normal positive float x (here x in (0, 1]).
RSNN_HD float log_pos(float x) {
  const uint32_t b = bit_cast32<uint32_t>(x), frac = b & 0x7fffffu;
  // x = m 2^e with m in (sqrt(1/2), sqrt(2)]: mantissas above sqrt(2) (0x3504f3) take
  // exponent -1 instead of 0.
  const uint32_t big = frac > 0x3504f3u ? 1u : 0u;
  const float m = bit_cast32<float>(frac | (0x3f800000u - (big << 23)));
  const int e = int((b >> 23) & 0xffu) - 127 + int(big);
  const float f = add(m, -1.0f);  // exact (Sterbenz)
  const float s = f / add(2.0f, f);
  const float s2 = mul(s, s);
  float p = 2.0f / 9.0f;
  p = add(mul(p, s2), 2.0f / 7.0f);
  p = add(mul(p, s2), 2.0f / 5.0f);
  p = add(mul(p, s2), 2.0f / 3.0f);
  const float log_m = add(add(s, s), mul(mul(s, s2), p));
  const float ef = float(e);
  const float ln2_hi = 0.693145752f;         // 15 bits: e ln2_hi is exact for |e| < 2^9
  const float ln2_lo = 1.42860677e-06f;      // ln2 - ln2_hi
  return add(mul(ef, ln2_hi), add(mul(ef, ln2_lo), log_m));
}

// sin(2 pi u) and cos(2 pi u) for u in [0, 1].
RSNN_HD void sincos_2pi(float u, float& s, float& c) {
  const int q = int(add(mul(u, 4.0f), 0.5f));  // round(4u) in 0..4
  const float r = add(u, mul(float(q), -0.25f));  // [-1/8, 1/8], exact
  const float x = mul(r, 6.28318531f);
  const float x2 = mul(x, x);
  float ps = add(mul(x2, 1.0f / 362880.0f), -1.0f / 5040.0f);
  ps = add(mul(ps, x2), 1.0f / 120.0f);
  ps = add(mul(ps, x2), -1.0f / 6.0f);
  const float sn = add(x, mul(mul(x, x2), ps));
  float pc = add(mul(x2, -1.0f / 3628800.0f), 1.0f / 40320.0f);
  pc = add(mul(pc, x2), -1.0f / 720.0f);
  pc = add(mul(pc, x2), 1.0f / 24.0f);
  pc = add(mul(pc, x2), -0.5f);
  const float cs = add(1.0f, mul(x2, pc));
  // rotate by q quarter turns: (s, c) -> (c, -s) per turn
  const bool swap = (q & 1) != 0;
  const float s1 = swap ? cs : sn, c1 = swap ? sn : cs;
  s = (q & 2) ? -s1 : s1;
  c = ((q + 1) & 2) ? -c1 : c1;
}

// Box-Muller on two 32-bit words: z0 = rho cos(theta), z1 = rho sin(theta).
RSNN_HD void box_muller(uint32_t a, uint32_t b, float& z0, float& z1) {
  const float rho = sqrtf(mul(-2.0f, log_pos(unit_float(a))));
  float sn, cs;
  sincos_2pi(unit_float(b), sn, cs);
  z0 = mul(rho, cs);
  z1 = mul(rho, sn);
}

// Four standard normals from Philox block `blk` of a stream.
RSNN_HD void normal4(uint64_t seed, uint64_t stream, uint64_t blk, float out[4]) {
  const philox::Words w = philox::block(seed, stream, blk);
  box_muller(w.v[0], w.v[1], out[0], out[1]);
  box_muller(w.v[2], w.v[3], out[2], out[3]);
}

// Element `index` of the stream (four per block).
RSNN_HD float normal_at(uint64_t seed, uint64_t stream, uint64_t index) {
  float v[4];
  normal4(seed, stream, index >> 2, v);
  return v[index & 3];
}

// CPU: normal4 of blocks first_blk .. first_blk + nblk - 1 into out[0 .. 4 nblk), the same
// bits as the scalar normal4, vectorized over blocks (rate_lif_noise.cpp).
void normal4_run(uint64_t seed, uint64_t stream, uint64_t first_blk, int64_t nblk, float* out);
// The same without the AVX2 Philox path (what CPUs without AVX2 run; for tests).
void normal4_run_portable(uint64_t seed, uint64_t stream, uint64_t first_blk, int64_t nblk, float* out);
// The same numbers drawn on the GPU (one block of four per thread; rate_lif.cu), copied into
// the host array out[0 .. 4 nblk). Throws when the build has no CUDA or no device is usable.
RSNN_CUDA_ENTRY("LIF noise",
                void normal4_run_cuda(uint64_t seed, uint64_t stream, uint64_t first_blk,
                                      int64_t nblk, float* out));

}  // namespace rsnn::kernels::rate_lif::noise
