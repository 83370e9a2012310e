// Random draws of the rate-to-spiking models, all from the counter-based Philox generator
// (runtime/philox.h). Every draw is a pure function of (seed, stream, index), and the
// stream names what is drawn and for which trial, so generating trials in a batch, one at
// a time, on any thread count or on the GPU gives the same numbers.
#pragma once
#include <cmath>
#include <cstdint>

#include "runtime/hd.h"
#include "runtime/philox.h"

namespace rsnn::rate {

// What a stream is used for; the high 16 bits of the 64-bit stream id.
enum class Draw : uint64_t {
  net_init = 1,     // network construction (cell types, sparsity, weights, w_in, w_out, taus)
  task = 2,         // a trial's random stimulus (Go/NoGo, signs, Mante noise, context)
  rate_x0 = 3,      // the rate model's initial state x[0]
  rate_noise = 4,   // the rate model's recurrent noise
  lif_init = 5,     // the LIF network's initial membrane potentials
  lif_noise = 6,    // the LIF network's voltage noise
  lif_stim = 7,     // the LIF stimulation's coin of each step
};

// Trial ids by purpose. Each set owns [base, base + 2^40): a trial's stimulus and noise are
// keyed by (seed, purpose of the draw, trial id), so for the same seed an evaluation or a grid
// search never sees a training trial's stimulus or noise (the original draws fresh trials).
// The bases of the evaluation sets are those rsnn always used (2^40, 2^44, 2^45).
inline constexpr uint64_t kTrialSetSpan = uint64_t(1) << 40;
enum class TrialSet : uint64_t {
  train = 0,        // training trials (step x batch + b)
  train_eval = 1,   // the evaluations during training
  rate_eval = 16,   // `rsnn rate eval`
  lif_eval = 32,    // `rsnn spiking eval`
  grid = 48,        // the 1/lambda grid search
};
// Trial k of set s; k must be below kTrialSetSpan (checked by the callers that take counts
// from the user: training's max_trials, the grid's factors x trials, the evaluations' trials).
RSNN_HD uint64_t trial_id(TrialSet s, uint64_t k) {
  return static_cast<uint64_t>(s) * kTrialSetSpan + (k & (kTrialSetSpan - 1));
}

// Stream id of draw `what` for trial (or item) `trial`; trial < 2^48.
RSNN_HD uint64_t stream_id(Draw what, uint64_t trial) {
  return (static_cast<uint64_t>(what) << 48) | (trial & ((uint64_t(1) << 48) - 1));
}

// Four standard normal numbers from one Philox block (Box-Muller on two pairs of 32-bit
// uniforms): element k of block `blk` of a stream. Float resolution (24 bits) suffices for
// noise; the spec's noise (std 0.1) is far above it.
RSNN_HD void normal4(uint64_t seed, uint64_t stream, uint64_t blk, float out[4]) {
  const philox::Words w = philox::block(seed, stream, blk);
  const float u1 = philox::to_unit_float(w.v[0]), u2 = philox::to_unit_float(w.v[1]);
  const float u3 = philox::to_unit_float(w.v[2]), u4 = philox::to_unit_float(w.v[3]);
  const float ra = sqrtf(-2.0f * logf(u1)), rb = sqrtf(-2.0f * logf(u3));
  float sa, ca, sb, cb;
  sincosf(6.2831853071795865f * u2, &sa, &ca);
  sincosf(6.2831853071795865f * u4, &sb, &cb);
  out[0] = ra * ca;
  out[1] = ra * sa;
  out[2] = rb * cb;
  out[3] = rb * sb;
}

// normal4 for blocks first_blk .. first_blk + nblk - 1 into out[0 .. 4 nblk).
inline void normal4_run(uint64_t seed, uint64_t stream, uint64_t first_blk, int nblk, float* out) {
  for (int j = 0; j < nblk; ++j) normal4(seed, stream, first_blk + uint64_t(j), out + 4 * j);
}

// Element `index` of a stream of standard normals laid out four per block.
RSNN_HD float normal_at(uint64_t seed, uint64_t stream, uint64_t index) {
  float v[4];
  normal4(seed, stream, index >> 2, v);
  return v[index & 3];
}

}  // namespace rsnn::rate
